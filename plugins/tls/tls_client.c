/*
 * tls_client.c - a tls client's connect(): a non-blocking TCP connect to
 * each address of 'remote' in turn, each socket marked with the core's
 * fwmark, and a failure told in words (refused: is culvertd running
 * there? no answer: a firewall?). Once TCP is connected the link's
 * handshake takes over (tls_link.c); until then this file owns the
 * link's socket callback and its timer's states GLINK_START and
 * GLINK_FAILED.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "tls.h"

static void on_connect_event(void *arg, int fd, uint32_t events);

/* Start a non-blocking connect to the next address of 'remote'. False
 * when none is left; fail_err and fail_why then say why. */
static bool try_next(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	const struct cv_host_api *api = inst->gl.api;
	const struct addrinfo *ai;

	link_close_fd(link);
	while ((ai = glink_next_address(&link->g))) {
		glink_set_peer(&link->g, ai->ai_addr, ai->ai_addrlen);
		const char *peer = link->g.peer_name;
		int fd = socket(ai->ai_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				IPPROTO_TCP);
		if (fd < 0) {
			glink_failf(&link->g, -errno,
				    "cannot open a TCP socket for %s: %s", peer,
				    strerror(errno));
			continue;
		}
		link_attach(link, fd);
		endpoint_dont_fragment(api, inst->gl.host, fd, ai->ai_family,
				       false);
		tls_pmtu_connecting(link, ai->ai_family);
		int err = endpoint_mark(api, inst->gl.host, fd);
		if (err == 0)
			err = endpoint_bind_source(api, inst->gl.host, fd,
						   ai->ai_family, true);
		if (err < 0) {
			glink_failf(&link->g, err,
				    "cannot mark or bind the socket for %s",
				    peer);
			link_close_fd(link);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			glink_failf(&link->g, -errno, "cannot reach %s: %s",
				    peer, strerror(errno));
			link_close_fd(link);
			continue;
		}
		/* Even a connect that completed at once is reported by
		 * the loop, never from inside connect(). */
		err = api->watch(inst->gl.host, fd, CV_EV_OUT, on_connect_event,
				 link);
		if (err < 0) {
			glink_failf(&link->g, err, "cannot reach %s: %s",
				    peer, strerror(-err));
			link_close_fd(link);
			continue;
		}
		link->g.state = GLINK_START;
		api->timer_arm(link->g.timer,
			       (int64_t)inst->gl.handshake_timeout * 1000);
		return true;
	}
	return false;
}

/* This address failed (fail_err, fail_why): the next one, or the end. */
static void next_or_fail(struct cv_link *link)
{
	if (!try_next(link))
		glink_client_give_up(&link->g);
}

static void on_connect_event(void *arg, int fd, uint32_t events)
{
	struct cv_link *link = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		char why[sizeof(link->g.fail_why)];
		if (err == ECONNREFUSED)
			snprintf(why, sizeof(why),
				 "%s refused the TCP connection (is culvertd running there, with transport tls?)",
				 link->g.peer_name);
		else
			snprintf(why, sizeof(why), "cannot reach %s: %s",
				 link->g.peer_name, strerror(err));
		glink_address_failed(&link->g, -err, why);
		next_or_fail(link);
		return;
	}
	if (link_start_tls(link) < 0) {
		glink_client_fail(&link->g, -ENOMEM, "cannot start a TLS session");
		return;
	}
	link_handshake_step(link);
}

/* The link's timer: while connecting, the deadline; in GLINK_FAILED, the
 * report from the loop; in the other states the link's own. */
static void on_client_timer(void *arg)
{
	struct cv_link *link = arg;

	if (link->g.state == GLINK_FAILED) {
		glink_client_give_up(&link->g);
	} else if (link->g.state == GLINK_START) {
		glink_failf(&link->g, -ETIMEDOUT,
			    "no answer from %s within %u s (is 'remote' right? a firewall?)",
			    link->g.peer_name, link->inst->gl.handshake_timeout);
		next_or_fail(link);
	} else {
		link_on_timer(link);
	}
}

int tls_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	/* A client has one connection; one still starting is abandoned. */
	for (struct glink *l = inst->gl.all, *next; l; l = next) {
		next = l->next;
		if (l->state != GLINK_UP)
			glink_free(l);
	}
	int err = endpoint_resolve(inst->gl.api, inst->gl.host, "remote",
				   SOCK_STREAM, false, &ai);
	if (err < 0)
		return err;
	struct cv_link *link = link_new(inst, on_client_timer);
	if (!link) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	link->g.addrs = link->g.next_addr = ai;
	if (!try_next(link)) {
		/* Reported from the loop, as any other failure. */
		link->g.state = GLINK_FAILED;
		inst->gl.api->timer_arm(link->g.timer, 0);
	}
	return 0;
}
