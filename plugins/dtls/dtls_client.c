/*
 * dtls_client.c - the dtls client's way to the server: a connected UDP
 * socket to each address of 'remote' in turn, the ClientHello sent from
 * the loop (never from inside connect()), the receive loop, and a
 * failure told in words: no answer at all (UDP blocked?), a port nobody
 * listens on, or a handshake that did not finish. The session itself is
 * dtls_link.c's; a link whose address failed hands back to this file
 * through its timer, in GLINK_START.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/dgram_errors.h"
#include "../common/endpoint.h"
#include "dtls.h"

static void on_client_readable(void *arg, int fd, uint32_t events);

/* Open a connected socket to the next address of 'remote' and send the
 * ClientHello. False when no address is left; fail_err and fail_why
 * then say why. */
static bool try_next(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	const struct cv_host_api *api = inst->gl.api;
	struct cv_host *host = inst->gl.host;
	const struct addrinfo *ai;

	while ((ai = glink_next_address(&link->g))) {
		link_set_peer(link, ai->ai_addr, ai->ai_addrlen);
		link->heard = link->refused = false;
		int fd = socket(ai->ai_family,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				IPPROTO_UDP);
		if (fd < 0) {
			glink_failf(&link->g, -errno,
				    "cannot open a UDP socket for %s: %s",
				    link->g.peer_name, strerror(errno));
			continue;
		}
		endpoint_buffers(fd, inst->socket_buffer);
		dgram_errors_on(fd, ai->ai_family);
		endpoint_dont_fragment(api, host, fd, ai->ai_family, true);
		/* A mark that cannot be set is logged by endpoint_mark. */
		int err = endpoint_mark(api, host, fd);
		if (err == 0)
			err = endpoint_bind_source(api, host, fd, ai->ai_family,
						   false);
		if (err == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			err = -errno;
		if (err == 0)
			err = api->watch(host, fd, CV_EV_IN, on_client_readable,
					 inst);
		if (err < 0) {
			glink_failf(&link->g, err, "cannot reach %s: %s",
				    link->g.peer_name, strerror(-err));
			close(fd);
			continue;
		}
		inst->fd = fd;
		if (link_start_tls(link) < 0) {
			glink_failf(&link->g, -ENOMEM,
				    "cannot start a DTLS session");
			endpoint_close(api, host, &inst->fd);
			continue;
		}
		/* Sends the ClientHello, and arms the retransmission timer
		 * (or fails at once, then the timer tries the next). */
		link_handshake_step(link);
		return true;
	}
	return false;
}

/* One batch from the socket (dgram_rx_batch's handler). */
static void client_batch(void *arg, unsigned int n)
{
	struct cv_instance *inst = arg;

	for (unsigned int i = 0; i < n; i++) {
		struct cv_link *link = inst->client;
		if (!link || inst->fd < 0)
			break;
		if (inst->rx.msg[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		const uint8_t *d = dgram_rx_data(&inst->rx, i);
		size_t len = inst->rx.msg[i].msg_len;
		link->heard = true;
		if (dtls_reset_received(link, d, len))
			break;
		if (link->g.state == GLINK_HANDSHAKE) {
			link->cur = d;
			link->cur_len = len;
			link_handshake_step(link);
		} else if (link->g.state == GLINK_UP) {
			struct cv_link *succ = link->successor;
			if (succ && dtls_rekey_for_successor(link, d, len)) {
				/* The handshake of its new keys. */
				succ->cur = d;
				succ->cur_len = len;
				link_handshake_step(succ);
			} else if (!link_read(link, d, len)) {
				break;
			}
		}
	}
	run_flush(inst);
}

static void on_client_readable(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	/* ICMP errors first: an error event stays until they are read. */
	bool refused = (events & CV_EV_ERR) && inst->client && inst->fd >= 0 &&
		       dgram_errors_read(inst->fd,
					 (const struct sockaddr *)&inst->client->addr,
					 inst->client->addr_len);
	/* inst->fd, not fd: the core may have closed the link, and with it
	 * the socket, while dgram_errors_read reported. */
	int err = dgram_rx_batch(&inst->rx, inst->fd, client_batch, inst);
	if ((err == -ECONNREFUSED || refused) && inst->client)
		link_port_unreachable(inst->client);
}

/* The link's timer: in GLINK_START the next address, or the end; in the
 * other states the link's own. */
static void on_client_timer(void *arg)
{
	struct cv_link *link = arg;

	if (link->g.state != GLINK_START) {
		link_on_timer(link);
		return;
	}
	if (!try_next(link))
		glink_client_give_up(&link->g);
}

int dtls_client_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	/* A client has one link and one socket: one still starting is
	 * abandoned (the core calls connect() again only after the last
	 * link went down, so there is no up one to close). */
	if (inst->client)
		glink_close_now(&inst->client->g);
	int err = endpoint_resolve(inst->gl.api, inst->gl.host, "remote",
				   SOCK_DGRAM, false, &ai);
	if (err < 0)
		return err;
	struct cv_link *link = link_new(inst, on_client_timer);
	if (!link) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	inst->client = link;
	link->g.addrs = link->g.next_addr = ai;
	glink_failf(&link->g, -EHOSTUNREACH, "'remote' has no address to try");
	/* The ClientHello leaves from the loop, never from inside connect(). */
	link->g.state = GLINK_START;
	inst->gl.api->timer_arm(link->g.timer, 0);
	return 0;
}
