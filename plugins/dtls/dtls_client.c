/*
 * dtls_client.c - the dtls client's way to the server: a connected UDP
 * socket to each address of 'remote' in turn, the ClientHello sent from
 * the loop (never from inside connect()), and a failure told in words:
 * no answer at all (UDP blocked?), a port nobody listens on, or a
 * handshake that did not finish. The session itself is dtls_link.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtls.h"

#include "../common/endpoint.h"

void dtls_client_close_socket(struct cv_instance *inst)
{
	if (inst->fd < 0)
		return;
	inst->api->unwatch(inst->host, inst->fd);
	close(inst->fd);
	inst->fd = -1;
}

/* A client's connect() failed before any link came up. */
void dtls_client_fail(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;
	char text[512];

	snprintf(text, sizeof(text), "%s", why);
	link_free(link);
	inst->api->link_down(inst->host, NULL, err, text);
}

/* This address of 'remote' failed (fail_err, fail_why): the loop tries
 * the next one, or reports the failure. */
void dtls_client_address_failed(struct cv_link *link, int err,
				const char *why)
{
	struct cv_instance *inst = link->inst;

	link->fail_err = err;
	snprintf(link->fail_why, sizeof(link->fail_why), "%s", why);
	if (link->next_addr)
		LOG(inst, CV_LOG_INFO, "%s; trying the next address of 'remote'",
		    why);
	gtls_session_free(link->tls);
	link->tls = NULL;
	dtls_client_close_socket(inst);
	link->state = LINK_START;
	inst->api->timer_arm(link->timer, 0);
}

static void set_buffers(int fd)
{
	int size = DEFAULT_SOCKET_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static void on_client_readable(void *arg, int fd, uint32_t events);

/* Open a connected socket to the next address of 'remote' and send the
 * ClientHello. False when no address is left; fail_err and fail_why
 * then say why. */
static bool client_try_next(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	while (link->next_addr && link->tries < CONNECT_TRIES) {
		struct addrinfo *ai = link->next_addr;
		link->next_addr = ai->ai_next;
		link->tries++;
		link_set_peer(link, ai->ai_addr, ai->ai_addrlen);
		link->heard = link->refused = false;
		int fd = socket(ai->ai_family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				IPPROTO_UDP);
		if (fd < 0) {
			link->fail_err = -errno;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot open a UDP socket for %s: %s",
				 link->peer_name, strerror(errno));
			continue;
		}
		set_buffers(fd);
		/* A mark that cannot be set is logged by endpoint_mark. */
		int err = endpoint_mark(inst->api, inst->host, fd);
		if (err == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			err = -errno;
		if (err == 0)
			err = inst->api->watch(inst->host, fd, CV_EV_IN,
					       on_client_readable, inst);
		if (err < 0) {
			link->fail_err = err;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot reach %s: %s", link->peer_name,
				 strerror(-err));
			close(fd);
			continue;
		}
		inst->fd = fd;
		if (link_start_tls(link) < 0) {
			link->fail_err = -ENOMEM;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot start a DTLS session");
			dtls_client_close_socket(inst);
			continue;
		}
		/* Sends the ClientHello, and arms the retransmission timer
		 * (or fails at once, then the timer tries the next). */
		link_handshake_step(link);
		return true;
	}
	return false;
}

/* The server's host said "port unreachable". */
void dtls_client_refused(struct cv_instance *inst)
{
	struct cv_link *link = inst->client;
	char why[300];

	if (!link || link->state != LINK_HANDSHAKE || link->heard)
		return;	/* once up, the core's keepalives judge the path */
	snprintf(why, sizeof(why),
		 "%s refused: nothing listens on that UDP port (is culvertd running there, with transport dtls?)",
		 link->peer_name);
	dtls_client_address_failed(link, -ECONNREFUSED, why);
}

static void on_client_readable(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	for (int round = 0; round < RX_ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++) {
			inst->rx_iov[i] = (struct iovec){
				inst->rx_buf + (size_t)i * DATAGRAM_MAX, DATAGRAM_MAX
			};
			inst->rx[i].msg_hdr = (struct msghdr){
				.msg_iov = &inst->rx_iov[i],
				.msg_iovlen = 1,
			};
		}
		/* inst->fd, not fd: the core may have closed the link, and
		 * with it the socket, in the previous round. */
		if (inst->fd < 0)
			return;
		int n = recvmmsg(inst->fd, inst->rx, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == ECONNREFUSED)
				dtls_client_refused(inst);
			return;
		}
		for (int i = 0; i < n; i++) {
			struct cv_link *link = inst->client;
			if (!link || inst->fd < 0)
				break;
			if (inst->rx[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			const uint8_t *d = inst->rx_buf + (size_t)i * DATAGRAM_MAX;
			size_t len = inst->rx[i].msg_len;
			link->heard = true;
			if (link->state == LINK_HANDSHAKE) {
				link->cur = d;
				link->cur_len = len;
				link_handshake_step(link);
			} else if (link->state == LINK_UP) {
				if (!link_read(link, d, len))
					break;
			}
		}
		run_flush(inst);
		if (n < BATCH)
			return;
	}
}

int dtls_client_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	/* A client has one link and one socket: one still starting is
	 * abandoned (the core calls connect() again only after the last
	 * link went down, so there is no up one to close). */
	if (inst->client)
		link_close_now(inst->client);
	int err = endpoint_resolve(inst->api, inst->host, "remote", SOCK_DGRAM,
				   false, &ai);
	if (err < 0)
		return err;
	struct cv_link *link = link_new(inst);
	if (!link) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	inst->client = link;
	link->addrs = link->next_addr = ai;
	link->fail_err = -EHOSTUNREACH;
	snprintf(link->fail_why, sizeof(link->fail_why),
		 "'remote' has no address to try");
	/* The ClientHello leaves from the loop, never from inside connect(). */
	link->state = LINK_START;
	inst->api->timer_arm(link->timer, 0);
	return 0;
}

/* The timer of a link in LINK_START: the next address, or the end. */
void dtls_client_next(struct cv_link *link)
{
	if (!client_try_next(link))
		dtls_client_fail(link, link->fail_err, link->fail_why);
}
