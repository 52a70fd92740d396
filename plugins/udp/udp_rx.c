/*
 * udp_rx.c - the udp transport from a received batch of datagrams to
 * deliver(): its peers by address (a server makes a link for each new
 * one, if the core takes it) and the runs of one peer's datagrams that go
 * up together. No sockets here: on_readable() in udp.c fills the batch,
 * and the fuzzer (tests/fuzz/fuzz_udp_rx.c) fills it too.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include "udp.h"

/* ---- peers by address */

static uint64_t peer_hash(const struct cv_instance *inst,
			  const struct sockaddr_storage *ss)
{
	const uint8_t *bytes;
	size_t len;
	uint16_t port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		bytes = (const uint8_t *)&in->sin_addr;
		len = 4;
		port = in->sin_port;
	} else {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		bytes = (const uint8_t *)&in6->sin6_addr;
		len = 16;
		port = in6->sin6_port;
	}
	/* FNV-1a, seeded per instance, finished with a multiply-xorshift. */
	uint64_t h = 0xcbf29ce484222325ull ^ inst->seed;
	for (size_t i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 0x100000001b3ull;
	h = (h ^ port) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static bool same_peer(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

static struct cv_link *find_link(const struct cv_instance *inst,
				 const struct sockaddr_storage *peer,
				 uint64_t hash)
{
	struct cv_link *l = inst->buckets[hash & (inst->n_buckets - 1)];

	while (l && !(l->hash == hash && same_peer(&l->peer, peer)))
		l = l->next;
	return l;
}

static int grow_buckets(struct cv_instance *inst)
{
	size_t n = inst->n_buckets * 2;
	struct cv_link **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < inst->n_buckets; i++)
		while (inst->buckets[i]) {
			struct cv_link *l = inst->buckets[i];
			inst->buckets[i] = l->next;
			l->next = b[l->hash & (n - 1)];
			b[l->hash & (n - 1)] = l;
		}
	free(inst->buckets);
	inst->buckets = b;
	inst->n_buckets = n;
	return 0;
}

static struct cv_link *add_link(struct cv_instance *inst,
				const struct sockaddr_storage *peer,
				socklen_t peer_len, uint64_t hash)
{
	if (inst->n_links >= inst->n_buckets && grow_buckets(inst) < 0)
		return NULL;
	struct cv_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->inst = inst;
	l->peer = *peer;
	l->peer_len = peer_len;
	l->hash = hash;
	size_t i = hash & (inst->n_buckets - 1);
	l->next = inst->buckets[i];
	inst->buckets[i] = l;
	inst->n_links++;
	return l;
}

void udp_peer_remove(struct cv_instance *inst, struct cv_link *link)
{
	struct cv_link **p = &inst->buckets[link->hash & (inst->n_buckets - 1)];

	while (*p && *p != link)
		p = &(*p)->next;
	if (*p) {
		*p = link->next;
		inst->n_links--;
	}
	free(link);
}

/* ---- receiving */

static void deliver_run(struct cv_instance *inst, struct cv_link *link,
			struct cv_msg *msgs, unsigned int count)
{
	if (link && count)
		inst->api->deliver(inst->host, link->session, msgs, count);
}

/* The link for a datagram's sender; a new one for a new peer (server). */
static struct cv_link *link_for(struct cv_instance *inst, unsigned int i)
{
	if (!inst->server)
		return inst->client && inst->client->session ? inst->client
							     : NULL;
	uint64_t hash = peer_hash(inst, &inst->rx_addr[i]);
	struct cv_link *link = find_link(inst, &inst->rx_addr[i], hash);
	if (link)
		return link;
	link = add_link(inst, &inst->rx_addr[i], inst->rx[i].msg_hdr.msg_namelen,
			hash);
	if (!link)
		return NULL;
	struct cv_link_info info = {
		.peer = (const struct sockaddr *)&link->peer,
		.peer_len = link->peer_len,
	};
	inst->peers++;
	link->session = inst->api->link_up(inst->host, link, &info);
	if (!link->session) {
		inst->refused_peer++;
		udp_peer_remove(inst, link);
		return NULL;
	}
	return link;
}

/* The size of the datagrams UDP_GRO joined into rx[i], or 0. */
static size_t gro_size(struct cv_instance *inst, unsigned int i)
{
	struct msghdr *mh = &inst->rx[i].msg_hdr;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	return 0;
}

void udp_rx_dispatch(struct cv_instance *inst, unsigned int n)
{
	struct cv_msg *msgs = inst->rx_msgs;
	/* Runs of datagrams from one peer go up as one batch. The core may
	 * close a link while it handles the run, so each run's link is
	 * looked up afresh. */
	struct cv_link *run = NULL;
	unsigned int m = 0;

	for (unsigned int i = 0; i < n; i++) {
		bool same = run && (!inst->server ||
				    same_peer(&run->peer, &inst->rx_addr[i]));
		if (!same) {
			deliver_run(inst, run, msgs, m);
			m = 0;
			run = link_for(inst, i);
		}
		size_t len = inst->rx[i].msg_len;
		if (inst->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
			/* Cut short: never a whole message. */
			inst->truncated_datagram++;
			len = 0;
		}
		size_t seg = gro_size(inst, i);
		if (!seg || seg > len)
			seg = len ? len : 1;
		for (size_t off = 0; off < len || (len == 0 && off == 0);
		     off += seg) {
			if (m == RX_MSGS) {
				deliver_run(inst, run, msgs, m);
				m = 0;
				run = link_for(inst, i);
			}
			size_t l = len - off < seg ? len - off : seg;
			msgs[m++] = (struct cv_msg){
				.data = inst->rx_buf[i] + off, .len = l };
			if (len == 0)
				break;
		}
	}
	deliver_run(inst, run, msgs, m);
}
