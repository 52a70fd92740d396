/*
 * tls_listener.c - a tls server's listening socket: every connection it
 * accepts becomes a link in its handshake, in the queue of handshakes
 * under way (max-handshakes: the oldest gives way when it is full;
 * ../common/gnutls_link.c). When the process runs out of file
 * descriptors, the listener rests a second rather than spin. The link
 * itself is tls_link.c's.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "tls.h"

#define ACCEPTS_PER_WAKEUP 64
#define ACCEPT_PAUSE_MS 1000

static void on_accept(void *arg, int fd, uint32_t events);

static void on_accept_resume(void *arg)
{
	struct cv_instance *inst = arg;

	if (inst->listen_fd >= 0)
		inst->gl.api->watch(inst->gl.host, inst->listen_fd, CV_EV_IN,
				    on_accept, inst);
}

static void accept_one(struct cv_instance *inst, int fd,
		       const struct sockaddr_storage *ss, socklen_t len)
{
	struct cv_link *link = link_new(inst, link_on_timer);

	if (!link) {
		close(fd);
		return;
	}
	link_attach(link, fd);
	glink_set_peer(&link->g, (const struct sockaddr *)ss, len);
	if (link_start_tls(link) < 0) {
		glink_free(&link->g);
		return;
	}
	tls_pmtu_accepted(link);
	if (!glink_handshake_enter(&link->g)) {
		glink_free(&link->g);	/* closed: it connects again */
		return;
	}
	link_set_events(link, CV_EV_IN);
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	for (unsigned int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int conn = accept4(inst->listen_fd, (struct sockaddr *)&ss, &len,
				   SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn >= 0) {
			accept_one(inst, conn, &ss, len);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* The connection stays queued and the listener
			 * readable: without a pause the loop would spin. */
			inst->stats.accept_paused++;
			PEER_LOG(inst, CV_LOG_WARNING,
				 "cannot accept connections: %s; pausing for %d ms (raise the open files limit?)",
				 strerror(errno), ACCEPT_PAUSE_MS);
			inst->gl.api->unwatch(inst->gl.host, inst->listen_fd);
			inst->gl.api->timer_arm(inst->accept_timer,
						ACCEPT_PAUSE_MS);
			return;
		}
		LOG(inst, CV_LOG_ERR, "accept: %s", strerror(errno));
		return;
	}
}

int tls_listen(struct cv_instance *inst)
{
	const struct cv_host_api *api = inst->gl.api;
	struct cv_host *host = inst->gl.host;
	const char *where = api->config_get(host, "listen");
	struct addrinfo *ai;
	int err = endpoint_resolve(api, host, "listen", SOCK_STREAM, true, &ai);

	if (err < 0)
		return err;
	inst->accept_timer = api->timer_new(host, on_accept_resume, inst);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);
	if (!inst->accept_timer || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		LOG(inst, CV_LOG_ERR, "cannot open a TCP socket: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	int on = 1;
	/* A restarted server must not wait out TIME_WAIT of its old
	 * connections before it can listen again. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	endpoint_dual_stack(fd, ai->ai_family);	/* [::] takes IPv4 clients too */
	/* Accepted connections inherit both. */
	endpoint_dont_fragment(api, host, fd, ai->ai_family, false);
	tls_pmtu_listening(inst, fd, ai->ai_family);
	if ((err = endpoint_share_port(api, host, fd)) < 0) {
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		err = endpoint_listen_failed(api, host, where, "TCP", errno);
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	err = api->watch(host, fd, CV_EV_IN, on_accept, inst);
	if (err < 0) {
		close(fd);
		return err;
	}
	inst->listen_fd = fd;
	LOG(inst, CV_LOG_NOTICE, "listening on %s (TCP); clients %s", where,
	    glinks_clients_need(&inst->gl));
	return 0;
}
