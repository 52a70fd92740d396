/*
 * udp_rx.c - the udp transport from a received batch of datagrams to
 * deliver(): its peers by address (a server makes a link for each new
 * one, if the core takes it) and the runs of one peer's datagrams that go
 * up together. No sockets here: on_readable() in udp.c fills the batch
 * (dgram_rx_batch), and the fuzzer (tests/fuzz/fuzz_udp_rx.c) fills it
 * too. The table itself is ../common/peer_table.h's.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include "../common/plugin_util.h"
#include "udp.h"

/* ---- peers by address */

static struct cv_link *link_of(struct peer_node *node)
{
	return node ? container_of(node, struct cv_link, node) : NULL;
}

static struct cv_link *add_link(struct cv_instance *inst,
				const struct sockaddr_storage *peer,
				socklen_t peer_len, uint64_t hash)
{
	if (peer_table_make_room(&inst->by_addr) < 0)
		return NULL;
	struct cv_link *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->inst = inst;
	l->peer = *peer;
	l->peer_len = peer_len;
	l->node.addr = &l->peer;
	peer_table_insert(&inst->by_addr, &l->node, hash);
	return l;
}

void udp_peer_remove(struct cv_instance *inst, struct cv_link *link)
{
	peer_table_remove(&inst->by_addr, &link->node);
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
	const struct sockaddr_storage *from = &inst->rx.addr[i];
	uint64_t hash = peer_hash(&inst->by_addr, from);
	struct cv_link *link =
		link_of(peer_table_find(&inst->by_addr, from, hash));
	if (link)
		return link;
	link = add_link(inst, from, inst->rx.msg[i].msg_hdr.msg_namelen, hash);
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
	struct msghdr *mh = &inst->rx.msg[i].msg_hdr;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int size;
			memcpy(&size, CMSG_DATA(c), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	return 0;
}

void udp_rx_dispatch(void *arg, unsigned int n)
{
	struct cv_instance *inst = arg;
	struct cv_msg *msgs = inst->rx_msgs;
	/* Runs of datagrams from one peer go up as one batch. The core may
	 * close a link while it handles the run, so each run's link is
	 * looked up afresh. */
	struct cv_link *run = NULL;
	unsigned int m = 0;

	for (unsigned int i = 0; i < n; i++) {
		bool same = run &&
			    (!inst->server ||
			     peer_same(&run->peer, &inst->rx.addr[i], true));
		if (!same) {
			deliver_run(inst, run, msgs, m);
			m = 0;
			run = link_for(inst, i);
		}
		size_t len = inst->rx.msg[i].msg_len;
		if (inst->rx.msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
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
				.data = dgram_rx_data(&inst->rx, i) + off,
				.len = l };
			if (len == 0)
				break;
		}
	}
	deliver_run(inst, run, msgs, m);
}
