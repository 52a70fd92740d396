/*
 * dtls_server.c - the dtls server's one UDP socket: its sessions by peer
 * address, the strangers on it (cookies first, a link only for a
 * ClientHello that returns a valid one), roaming clients, and the receive
 * loop that hands each datagram to its link and runs of messages to
 * deliver(). The sessions themselves are dtls_link.c's. See dtls.c for
 * the whole picture.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "dtls.h"

/* Roaming: a record from an unknown port is tried against the sessions
 * of the same IP address, at most this many, at most this often. */
#define ROAM_CANDIDATES 8
#define ROAM_TRIALS_PER_SECOND 1024
/* A cookie is valid in the slot that made it and the next: 30-60 s. */
#define COOKIE_SLOT_SECS 30

static struct cv_link *link_at(const struct cv_instance *inst,
			       const struct sockaddr_storage *from,
			       uint64_t hash)
{
	struct peer_node *n = peer_table_find(&inst->by_addr, from, hash);

	return n ? container_of(n, struct cv_link, by_addr) : NULL;
}

/* ---- strangers: cookies */

struct cookie_dest {
	struct cv_instance *inst;
	const struct sockaddr_storage *to;
	socklen_t to_len;
};

static ssize_t cookie_push(gnutls_transport_ptr_t ptr, const void *data,
			   size_t len)
{
	const struct cookie_dest *d = ptr;

	sendto(d->inst->fd, data, len, MSG_DONTWAIT,
	       (const struct sockaddr *)d->to, d->to_len);
	return (ssize_t)len;
}

static uint32_t cookie_slot(void)
{
	return (uint32_t)(plugin_now_ms() / 1000 / COOKIE_SLOT_SECS);
}

/* Whether a ClientHello (unfragmented, as every client's first is)
 * carries a cookie: a missing one is a first contact, a wrong one a
 * forgery or a replay from another address or time. */
static bool hello_has_cookie(const uint8_t *d, size_t len)
{
	/* Record header, handshake header (12), version (2), random (32). */
	size_t off = REC_HDR + 12 + 2 + 32;

	if (len <= off)
		return false;
	off += 1 + d[off];		/* session id */
	return len > off && d[off] > 0;
}

/* A ClientHello from an address without a link (or with an up link: a
 * client that restarted on the same port). A valid cookie proves the
 * peer receives at that address, and only then is there a link. */
static void stranger_hello(struct cv_instance *inst, const uint8_t *d,
			   size_t len, const struct sockaddr_storage *from,
			   socklen_t from_len, struct cv_link *up)
{
	gnutls_dtls_prestate_st prestate;
	struct dtls_cookie_client c;
	uint32_t slot = cookie_slot();
	int ret = GNUTLS_E_BAD_COOKIE;

	memset(&prestate, 0, sizeof(prestate));
	/* This slot's cookie, or the last one's. */
	for (unsigned int back = 0; back < 2 && ret == GNUTLS_E_BAD_COOKIE; back++) {
		dtls_cookie_client(from, slot - back, &c);
		ret = gnutls_dtls_cookie_verify(&inst->cookie_key, &c, sizeof(c),
						(void *)d, len, &prestate);
	}
	if (ret == GNUTLS_E_BAD_COOKIE) {
		struct cookie_dest dest = { inst, from, from_len };
		if (hello_has_cookie(d, len))
			inst->bad_cookie++;	/* forged, or too old */
		memset(&prestate, 0, sizeof(prestate));
		prestate.record_seq = d[10];	/* echo the ClientHello's */
		dtls_cookie_client(from, slot, &c);
		if (gnutls_dtls_cookie_send(&inst->cookie_key, &c, sizeof(c),
					    &prestate, &dest, cookie_push) >= 0)
			inst->cookies_sent++;
		return;
	}
	if (ret < 0) {
		inst->strays++;
		return;
	}
	struct cv_link *link = link_new(inst, link_on_timer);
	if (!link)
		return;
	link_set_peer(link, (const struct sockaddr *)from, from_len);
	if (link_start_tls(link) < 0) {
		glink_free(&link->g);
		return;
	}
	gnutls_dtls_prestate_set(link->g.tls, &prestate);
	if (!glink_handshake_enter(&link->g)) {
		glink_free(&link->g);	/* its ClientHello comes again */
		return;
	}
	if (up) {
		up->successor = link;
		link->predecessor = up;
		LOG(inst, CV_LOG_DEBUG,
		    "%s began a new handshake while its session is up; the session stays until it is done",
		    link->g.peer_name);
	} else {
		peer_table_add(&inst->by_addr, &link->by_addr);
	}
	link->cur = d;
	link->cur_len = len;
	link_handshake_step(link);
}

/* ---- strangers: roaming */

static void move_link(struct cv_link *link, const struct sockaddr_storage *to,
		      socklen_t to_len)
{
	struct cv_instance *inst = link->inst;
	const struct cv_host_api *api = inst->gl.api;
	char old[sizeof(link->g.peer_name)];

	snprintf(old, sizeof(old), "%s", link->g.peer_name);
	if (link->successor)	/* a handshake at the old address */
		glink_free(&link->successor->g);
	peer_table_remove(&inst->by_addr, &link->by_addr);
	peer_table_remove(&inst->by_ip, &link->by_ip);
	link_set_peer(link, (const struct sockaddr *)to, to_len);
	peer_table_add(&inst->by_addr, &link->by_addr);
	peer_table_add(&inst->by_ip, &link->by_ip);
	inst->roams++;
	PEER_LOG(inst, CV_LOG_NOTICE, "%s moved to %s", old, link->g.peer_name);
	if (link->g.session && CV_HOST_API_HAS(api, link_moved))
		api->link_moved(inst->gl.host, link->g.session,
				(const struct sockaddr *)&link->g.peer,
				link->g.peer_len);
}

/* An application-data record from an unknown address: maybe a client
 * whose NAT gave it a new port. Only a session that authenticates the
 * record (GnuTLS checks its MAC and replay window) takes the address.
 * None does: a client of a session this server does not have (it
 * restarted), told so by a stateless reset. */
static void roam(struct cv_instance *inst, const uint8_t *d, size_t len,
		 const struct sockaddr_storage *from, socklen_t from_len)
{
	struct cv_link *cand[ROAM_CANDIDATES];
	unsigned int n = 0;
	int64_t second = plugin_now_ms() / 1000;
	uint64_t iphash = peer_hash(&inst->by_ip, from);

	if (second != inst->roam_second) {
		inst->roam_second = second;
		inst->roam_trials = 0;
	}
	for (struct peer_node *p = peer_table_find(&inst->by_ip, from, iphash);
	     p && n < ROAM_CANDIDATES;
	     p = peer_table_match(&inst->by_ip, p->next, from, iphash)) {
		struct cv_link *l = container_of(p, struct cv_link, by_ip);
		if (l->g.state == GLINK_UP && !l->g.closed && !l->g.upcalls)
			cand[n++] = l;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct cv_link *l = cand[i];
		uint8_t seq[8];

		if (inst->roam_trials >= ROAM_TRIALS_PER_SECOND)
			break;
		inst->roam_trials++;
		l->cur = d;
		l->cur_len = len;
		ssize_t r = link_recv_record(l, seq);
		l->cur = NULL;
		if (r > 0) {
			/* Only the newest record moves the link: one that
			 * the old port sent before the change, and the
			 * network delivered late, must not move it back. */
			if (dtls_seen_newer(&l->seen, seq))
				move_link(l, from, from_len);
			if (link_take_record(l, (size_t)r, seq))
				link_read(l, NULL, 0);	/* the datagram's other records */
			return;
		}
		if (r == 0 || (r < 0 && gnutls_error_is_fatal((int)r))) {
			/* Authentic, and the end of the session: let the
			 * usual path say why. */
			link_read(l, NULL, 0);
			return;
		}
	}
	inst->strays++;
	dtls_reset_send(inst, len, from, from_len);
}

/* ---- the server's receive loop */

static void server_datagram(struct cv_instance *inst, const uint8_t *d,
			    size_t len, const struct sockaddr_storage *from,
			    socklen_t from_len)
{
	struct dtls_head head;

	if (!dtls_head_parse(d, len, &head)) {	/* not DTLS */
		inst->strays++;
		inst->junk++;
		return;
	}
	switch (dtls_records_check(d, len)) {
	case DTLS_RECORDS_OK:
		break;
	case DTLS_RECORDS_TRUNCATED:
		inst->truncated_record++;
		return;
	case DTLS_RECORDS_OVERSIZED:
		inst->oversized_record++;
		return;
	}
	uint64_t hash = peer_hash(&inst->by_addr, from);

	/* Twice at most: a run of another link goes up first, and the
	 * core may change the tables while it takes it. */
	for (int pass = 0; pass < 2; pass++) {
		struct cv_link *link = link_at(inst, from, hash);
		struct dtls_sender sender = {
			.known = link != NULL,
			.up = link && link->g.state == GLINK_UP,
			.successor = link && link->successor,
		};
		enum dtls_action what = dtls_classify(&head, &sender);
		struct cv_link *target = what == DTLS_FEED ? link
					 : what == DTLS_FEED_SUCCESSOR ? link->successor
					 : NULL;

		if (what == DTLS_STRAY) {
			inst->strays++;
			return;
		}
		if (inst->run && inst->run != target) {
			run_flush(inst);
			continue;
		}
		switch (what) {
		case DTLS_COOKIE:
			stranger_hello(inst, d, len, from, from_len, link);
			return;
		case DTLS_ROAM:
			roam(inst, d, len, from, from_len);
			return;
		case DTLS_STRAY:
		case DTLS_FEED:
		case DTLS_FEED_SUCCESSOR:
			break;
		}
		if (target->g.state == GLINK_UP) {
			link_read(target, d, len);
		} else {
			target->cur = d;
			target->cur_len = len;
			link_handshake_step(target);
		}
		return;
	}
}

/* One batch from the socket (dgram_rx_batch's handler). */
static void server_batch(void *arg, unsigned int n)
{
	struct cv_instance *inst = arg;

	for (unsigned int i = 0; i < n; i++) {
		const struct mmsghdr *m = &inst->rx.msg[i];
		if (m->msg_hdr.msg_flags & MSG_TRUNC) {
			inst->strays++;
			continue;
		}
		server_datagram(inst, dgram_rx_data(&inst->rx, i), m->msg_len,
				&inst->rx.addr[i], m->msg_hdr.msg_namelen);
	}
	run_flush(inst);
}

static void on_server_readable(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	dgram_rx_batch(&inst->rx, inst->fd, server_batch, inst);
}

int dtls_server_listen(struct cv_instance *inst)
{
	const struct cv_host_api *api = inst->gl.api;
	struct cv_host *host = inst->gl.host;
	const char *where = api->config_get(host, "listen");
	struct addrinfo *ai;
	int err = endpoint_resolve(api, host, "listen", SOCK_DGRAM, true, &ai);

	if (err < 0)
		return err;
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);
	if (peer_table_init(&inst->by_addr, inst->seed, false) < 0 ||
	    peer_table_init(&inst->by_ip, inst->seed, true) < 0 || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		LOG(inst, CV_LOG_ERR, "cannot open a UDP socket: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	endpoint_dual_stack(fd, ai->ai_family);	/* [::] takes IPv4 clients too */
	endpoint_dont_fragment(api, host, fd, ai->ai_family, true);
	/* One socket for every client of the loop: [dtls] socket-buffer
	 * bounds what waits in it. */
	endpoint_buffers(fd, inst->socket_buffer);
	if ((err = endpoint_share_port(api, host, fd)) < 0) {
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = endpoint_listen_failed(api, host, where, "UDP", errno);
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	if ((err = endpoint_steer_datagrams(api, host, fd)) < 0) {
		close(fd);
		return err;
	}
	inst->fd = fd;
	err = api->watch(host, fd, CV_EV_IN, on_server_readable, inst);
	if (err < 0) {
		close(fd);
		inst->fd = -1;
		return err;
	}
	LOG(inst, CV_LOG_NOTICE, "listening on %s (UDP, path MTU %u); clients %s",
	    where, inst->path_mtu, glinks_clients_need(&inst->gl));
	return 0;
}
