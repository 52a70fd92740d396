/*
 * dtls_server.c - the dtls server's one UDP socket: its sessions by peer
 * address, the strangers on it (cookies first, a link only for a
 * ClientHello that returns a valid one), roaming clients, and the receive
 * loop that hands each datagram to its link and runs of messages to
 * deliver(). See dtls.c for the whole picture.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtls.h"

#include "../common/endpoint.h"

/* ---- peers by address, and by IP address alone */

static const uint8_t *ip_bytes(const struct sockaddr_storage *ss, size_t *len,
			       uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		*len = 4;
		*port = in->sin_port;
		return (const uint8_t *)&in->sin_addr;
	}
	const struct sockaddr_in6 *in6 = (const void *)ss;
	*len = 16;
	*port = in6->sin6_port;
	return (const uint8_t *)&in6->sin6_addr;
}

static uint64_t peer_hash(const struct cv_instance *inst,
			  const struct sockaddr_storage *ss, bool with_port)
{
	size_t len;
	uint16_t port;
	const uint8_t *bytes = ip_bytes(ss, &len, &port);

	/* FNV-1a, seeded per instance, finished with a multiply-xorshift. */
	uint64_t h = 0xcbf29ce484222325ull ^ inst->seed;
	for (size_t i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 0x100000001b3ull;
	if (with_port)
		h = (h ^ port) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static bool same_ip(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	size_t la, lb;
	uint16_t pa, pb;
	const uint8_t *x = ip_bytes(a, &la, &pa), *y = ip_bytes(b, &lb, &pb);

	return a->ss_family == b->ss_family && la == lb && memcmp(x, y, la) == 0;
}

static bool same_peer(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	size_t la, lb;
	uint16_t pa, pb;
	const uint8_t *x = ip_bytes(a, &la, &pa), *y = ip_bytes(b, &lb, &pb);

	return a->ss_family == b->ss_family && pa == pb && la == lb &&
	       memcmp(x, y, la) == 0;
}

static struct cv_link *find_link(const struct cv_instance *inst,
				 const struct sockaddr_storage *peer,
				 uint64_t hash)
{
	struct cv_link *l = inst->buckets[hash & (inst->n_buckets - 1)];

	while (l && !(l->hash == hash && same_peer(&l->peer, peer)))
		l = l->hnext;
	return l;
}

/* Both tables double together when the address table holds as many
 * links as it has buckets. On ENOMEM they stay as they are: longer
 * chains, still correct. */
static void grow_buckets(struct cv_instance *inst)
{
	size_t n = inst->n_buckets * 2;
	struct cv_link **b = calloc(n, sizeof(*b));
	struct cv_link **ib = calloc(n, sizeof(*ib));

	if (!b || !ib) {
		free(b);
		free(ib);
		return;
	}
	for (size_t i = 0; i < inst->n_buckets; i++) {
		while (inst->buckets[i]) {
			struct cv_link *l = inst->buckets[i];
			inst->buckets[i] = l->hnext;
			l->hnext = b[l->hash & (n - 1)];
			b[l->hash & (n - 1)] = l;
		}
		while (inst->ip_buckets[i]) {
			struct cv_link *l = inst->ip_buckets[i];
			inst->ip_buckets[i] = l->ipnext;
			l->ipnext = ib[l->iphash & (n - 1)];
			ib[l->iphash & (n - 1)] = l;
		}
	}
	free(inst->buckets);
	free(inst->ip_buckets);
	inst->buckets = b;
	inst->ip_buckets = ib;
	inst->n_buckets = n;
}

void dtls_hash_insert(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->hashed || !inst->buckets)
		return;
	if (inst->n_hashed >= inst->n_buckets)
		grow_buckets(inst);
	link->hash = peer_hash(inst, &link->peer, true);
	size_t i = link->hash & (inst->n_buckets - 1);
	link->hnext = inst->buckets[i];
	inst->buckets[i] = link;
	link->hashed = true;
	inst->n_hashed++;
}

void dtls_hash_remove(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	struct cv_link **p = &inst->buckets[link->hash & (inst->n_buckets - 1)];

	while (*p && *p != link)
		p = &(*p)->hnext;
	if (*p) {
		*p = link->hnext;
		inst->n_hashed--;
	}
	link->hnext = NULL;
	link->hashed = false;
}

void dtls_ip_insert(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->ip_hashed || !inst->ip_buckets)
		return;
	link->iphash = peer_hash(inst, &link->peer, false);
	size_t i = link->iphash & (inst->n_buckets - 1);
	link->ipnext = inst->ip_buckets[i];
	inst->ip_buckets[i] = link;
	link->ip_hashed = true;
}

void dtls_ip_remove(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	struct cv_link **p =
		&inst->ip_buckets[link->iphash & (inst->n_buckets - 1)];

	while (*p && *p != link)
		p = &(*p)->ipnext;
	if (*p)
		*p = link->ipnext;
	link->ipnext = NULL;
	link->ip_hashed = false;
}

/* ---- the queue of server handshakes under way, for max-handshakes */

void dtls_handshake_queue_enter(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	link->hs_prev = inst->hs_newest;
	link->hs_next = NULL;
	if (inst->hs_newest)
		inst->hs_newest->hs_next = link;
	else
		inst->hs_oldest = link;
	inst->hs_newest = link;
	inst->n_handshaking++;
	link->in_hs_queue = true;
}

void dtls_handshake_queue_leave(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->hs_prev)
		link->hs_prev->hs_next = link->hs_next;
	else
		inst->hs_oldest = link->hs_next;
	if (link->hs_next)
		link->hs_next->hs_prev = link->hs_prev;
	else
		inst->hs_newest = link->hs_prev;
	link->hs_prev = link->hs_next = NULL;
	inst->n_handshaking--;
	link->in_hs_queue = false;
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
	return (uint32_t)(dtls_now_ms() / 1000 / COOKIE_SLOT_SECS);
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
	struct cv_link *link = link_new(inst);
	if (!link)
		return;
	link_set_peer(link, (const struct sockaddr *)from, from_len);
	if (link_start_tls(link) < 0) {
		link_free(link);
		return;
	}
	gnutls_dtls_prestate_set(link->tls, &prestate);
	if (inst->n_handshaking >= inst->max_handshakes) {
		/* Full: the oldest handshake goes, not the newest. A real
		 * client finishes within a round trip or two and is hardly
		 * ever the oldest; a flood that holds every place would
		 * otherwise keep real clients out while it lasts. */
		struct cv_link *oldest = inst->hs_oldest;
		inst->evicted++;
		PEER_LOG(inst, CV_LOG_INFO,
			 "dropped %s: the oldest of %u handshakes under way, making room for %s (max-handshakes)",
			 oldest->peer_name, inst->n_handshaking, link->peer_name);
		link_free(oldest);
	}
	dtls_handshake_queue_enter(link);
	if (up) {
		up->successor = link;
		link->predecessor = up;
		LOG(inst, CV_LOG_DEBUG,
		    "%s began a new handshake while its session is up; the session stays until it is done",
		    link->peer_name);
	} else {
		dtls_hash_insert(link);
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
	char old[sizeof(link->peer_name)];

	snprintf(old, sizeof(old), "%s", link->peer_name);
	if (link->successor)
		link_free(link->successor);	/* a handshake at the old address */
	dtls_hash_remove(link);
	dtls_ip_remove(link);
	link_set_peer(link, (const struct sockaddr *)to, to_len);
	dtls_hash_insert(link);
	dtls_ip_insert(link);
	inst->roams++;
	PEER_LOG(inst, CV_LOG_NOTICE, "%s moved to %s", old, link->peer_name);
	if (link->session && CV_HOST_API_HAS(inst->api, link_moved))
		inst->api->link_moved(inst->host, link->session,
				      (const struct sockaddr *)&link->shown,
				      link->shown_len);
}

/* An application-data record from an unknown address: maybe a client
 * whose NAT gave it a new port. Only a session that authenticates the
 * record (GnuTLS checks its MAC and replay window) takes the address. */
static void roam(struct cv_instance *inst, const uint8_t *d, size_t len,
		 const struct sockaddr_storage *from, socklen_t from_len)
{
	struct cv_link *cand[ROAM_CANDIDATES];
	unsigned int n = 0;
	int64_t second = dtls_now_ms() / 1000;
	uint64_t iphash = peer_hash(inst, from, false);

	if (second != inst->roam_second) {
		inst->roam_second = second;
		inst->roam_trials = 0;
	}
	for (struct cv_link *l = inst->ip_buckets[iphash & (inst->n_buckets - 1)];
	     l && n < ROAM_CANDIDATES; l = l->ipnext)
		if (l->iphash == iphash && same_ip(&l->peer, from) &&
		    l->state == LINK_UP && !l->closed && !l->upcalls)
			cand[n++] = l;
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
			if (!l->seen.valid || dtls_be64(seq) > l->seen.top)
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
	uint64_t hash = peer_hash(inst, from, true);

	/* Twice at most: a run of another link goes up first, and the
	 * core may change the tables while it takes it. */
	for (int pass = 0; pass < 2; pass++) {
		struct cv_link *link = find_link(inst, from, hash);
		struct dtls_sender sender = {
			.known = link != NULL,
			.up = link && link->state == LINK_UP,
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
		if (target->state == LINK_UP) {
			link_read(target, d, len);
		} else {
			target->cur = d;
			target->cur_len = len;
			link_handshake_step(target);
		}
		return;
	}
}

static void on_server_readable(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	for (int round = 0; round < RX_ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++) {
			inst->rx_iov[i] = (struct iovec){
				inst->rx_buf + (size_t)i * DATAGRAM_MAX, DATAGRAM_MAX
			};
			inst->rx[i].msg_hdr = (struct msghdr){
				.msg_name = &inst->rx_addr[i],
				.msg_namelen = sizeof(inst->rx_addr[i]),
				.msg_iov = &inst->rx_iov[i],
				.msg_iovlen = 1,
			};
		}
		int n = recvmmsg(inst->fd, inst->rx, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (inst->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
				inst->strays++;
				continue;
			}
			server_datagram(inst, inst->rx_buf + (size_t)i * DATAGRAM_MAX,
					inst->rx[i].msg_len, &inst->rx_addr[i],
					inst->rx[i].msg_hdr.msg_namelen);
		}
		run_flush(inst);
		if (n < BATCH)
			return;
	}
}

int dtls_server_listen(struct cv_instance *inst)
{
	const char *where = inst->api->config_get(inst->host, "listen");
	struct addrinfo *ai;
	int err = endpoint_resolve(inst->api, inst->host, "listen", SOCK_DGRAM,
				   true, &ai);

	if (err < 0)
		return err;
	inst->n_buckets = 64;
	inst->buckets = calloc(inst->n_buckets, sizeof(*inst->buckets));
	inst->ip_buckets = calloc(inst->n_buckets, sizeof(*inst->ip_buckets));
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);
	if (!inst->buckets || !inst->ip_buckets || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		LOG(inst, CV_LOG_ERR, "cannot open a UDP socket: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	int size = DEFAULT_SOCKET_BUFFER;
	endpoint_dual_stack(fd, ai->ai_family);	/* [::] takes IPv4 clients too */
	/* One socket for every client: a burst must not overflow it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot listen on %s (UDP): %s%s", where,
		    strerror(errno),
		    errno == EADDRINUSE ? " (another program, or another culvertd, has it)"
		    : errno == EADDRNOTAVAIL ? " (no interface here has that address)"
		    : "");
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	inst->fd = fd;
	err = inst->api->watch(inst->host, fd, CV_EV_IN, on_server_readable, inst);
	if (err < 0) {
		close(fd);
		inst->fd = -1;
		return err;
	}
	LOG(inst, CV_LOG_NOTICE, "listening on %s (UDP, path MTU %u); clients %s",
	    where, inst->path_mtu,
	    inst->tls.require_client_cert
		    ? "need a certificate signed by 'ca'"
		    : "need no certificate (auth = password)");
	return 0;
}

