#include "datapath.h"
#include "datapath_internal.h"

#include <errno.h>
#include <limits.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "fragment.h"
#include "gro.h"
#include "icmp.h"
#include "l2.h"
#include "log.h"
#include "loop.h"
#include "offload.h"
#include "packet_check.h"
#include "path_mtu.h"
#include "proto.h"
#include "route.h"
#include "session.h"
#include "tun.h"

int datapath_new(struct core *core, struct datapath **out)
{
	return datapath_new_queue(core, core->loop, &core->tun, &core->counters,
				  0, out);
}

int datapath_new_queue(struct core *core, struct loop *loop,
		       const struct tun *tun, struct counters *counters,
		       unsigned int index, struct datapath **out)
{
	struct datapath *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->core = core;
	dp->loop = loop;
	dp->tun = tun;
	dp->counters = counters;
	dp->index = index;
	for (int i = 0; i < BATCH; i++) {
		/* Large and untouched until used: the kernel backs only the
		 * pages a packet actually reaches. */
		dp->buf[i] = malloc(HEAD + PACKET_MAX);
		if (!dp->buf[i]) {
			datapath_free(dp);
			return -ENOMEM;
		}
	}
	dp->split = malloc(SPLIT_CAP);
	if (!dp->split) {
		datapath_free(dp);
		return -ENOMEM;
	}
	gro_init(&dp->gro, dp->tun);
	dp->l2 = dp->tun->tap ? TAP_ETH_HLEN : 0;
	*out = dp;
	return 0;
}

void datapath_free(struct datapath *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < BATCH; i++)
		free(dp->buf[i]);
	free(dp->split);
	l2_free(dp->eth);
	free(dp);
}

int datapath_serve(struct datapath *dp, const struct route_table *routes,
		   const struct route_table *networks,
		   const struct cv_addr *gateway4,
		   const struct cv_addr *gateway6)
{
	if (dp->l2 && !dp->eth) {
		int err = l2_new(dp->core, &dp->eth);
		if (err < 0) {
			log_err("cannot set up the MAC table: %s", strerror(-err));
			return err;
		}
	}
	dp->routes = routes;
	dp->networks = networks;
	dp->gateway4 = *gateway4;
	dp->gateway6 = *gateway6;
	return 0;
}

void datapath_set_session(struct datapath *dp, struct cv_session *s)
{
	dp->session = s;
}

/* The session pkt goes to, or NULL. A TAP server's frame may go to
 * every session instead (*flood), but the one it came from (*except). */
static struct cv_session *session_for(struct datapath *dp, const uint8_t *pkt,
				      size_t len, bool *flood,
				      struct cv_session **except)
{
	*flood = false;
	if (!dp->routes)
		return dp->session;
	if (dp->eth)
		return l2_destination(dp->eth, pkt, len, flood, except);
	const uint8_t *dst;
	int family = packet_addr(pkt, len, false, &dst);
	if (!family)
		return NULL;
	struct cv_session *s = route_lookup(dp->routes, family, dst);
	return s && s->state == SESSION_UP && !s->closed ? s : NULL;
}

void datapath_to_tun(struct datapath *dp, const uint8_t *vnet,
		     const uint8_t *pkt, size_t len)
{
	if (tun_write(dp->tun, vnet, pkt, len) < 0)
		dp->counters->tun_full++;
}

/* Send the run of messages under way, msgs[first..n). */
static void flush_run(struct datapath *dp)
{
	struct cv_session *s = dp->run;
	unsigned int first = dp->first, count = dp->n - first;

	dp->run = NULL;
	dp->first = dp->n;
	if (!s || count == 0)
		return;
	int err = session_send(s, dp->msgs + first, count);
	if (err < 0) {
		char why[96];
		snprintf(why, sizeof(why), "cannot send: %s", strerror(-err));
		session_end(s, PROTO_REASON_UNSPECIFIED, why);
	}
}

/* Room for `msgs` more messages and `bytes` of split pieces: when there
 * is none, send what is queued and start over with every buffer free.
 * Called before the next packet's session is looked up: the send may end
 * a session. */
static void make_room(struct datapath *dp, unsigned int msgs, size_t bytes)
{
	if (dp->n + msgs <= MSGS_MAX && dp->split_used + bytes <= SPLIT_CAP &&
	    dp->slot < BATCH)
		return;
	flush_run(dp);
	/* A packet just read into buf[slot] is yet to be queued: it moves
	 * to the first slot, which is the one it will take. */
	if (dp->slot > 0 && dp->slot < BATCH) {
		uint8_t *b = dp->buf[0];
		dp->buf[0] = dp->buf[dp->slot];
		dp->buf[dp->slot] = b;
	}
	dp->slot = dp->n = dp->first = 0;
	dp->split_used = 0;
}

/* Messages msgs[n..n+count) are for s: runs for one session go out in
 * one send(). Ending the previous run's session here cannot free s. */
static void queue(struct datapath *dp, struct cv_session *s,
		  unsigned int count)
{
	if (s != dp->run) {
		flush_run(dp);
		dp->run = s;
	}
	dp->n += count;
}

/* A packet larger than its session's link carries: tell the sender the
 * size that fits, as a router on the path would. pkt is what was read
 * (a frame on TAP, answered in a frame back to its sender); fits, the
 * IP packet that fits. */
static void too_big(struct datapath *dp, const uint8_t *pkt, size_t len,
		    size_t fits)
{
	uint8_t answer[TAP_ETH_HLEN + ICMP6_ANSWER_MAX];
	uint8_t *icmp = answer + dp->l2;
	const uint8_t *ip = dp->l2 ? l2_ip(pkt, len) : pkt;
	size_t iplen = len - dp->l2;
	/* Sent as if from the packet's destination: the kernel drops what
	 * arrives on cv0 from one of its own addresses (the gateway's inner
	 * address), and a sender takes the MTU from any ICMP error that
	 * quotes its packet. */
	struct cv_addr from;
	const uint8_t *dst;
	size_t n = 0;

	dp->counters->too_big++;
	/* A frame to a group address has no host to answer as. */
	if (!ip || (dp->l2 && (pkt[0] & 1)))
		return;
	from.family = (sa_family_t)packet_addr(ip, iplen, false, &dst);
	if (from.family == AF_INET) {
		memcpy(&from.v4, dst, 4);
		n = icmp_frag_needed(ip, iplen, &from,
				     (uint16_t)(fits < 65535 ? fits : 65535),
				     icmp);
	} else if (from.family == AF_INET6) {
		memcpy(&from.v6, dst, 16);
		n = icmp6_packet_too_big(ip, iplen, &from, (uint32_t)fits, icmp);
	}
	if (n == 0)
		return;
	if (dp->l2)
		l2_answer_header(answer, pkt);
	datapath_to_tun(dp, NULL, answer, dp->l2 + n);
}

/* Messages msgs[n..n+count) carry a frame's pieces, each after `at`
 * bytes of message header: each piece gets the frame's Ethernet header
 * there. Nothing on TUN. */
static void put_l2(struct datapath *dp, const uint8_t *frame,
		   unsigned int count, size_t at)
{
	for (unsigned int i = 0; dp->l2 && i < count; i++)
		memcpy(dp->msgs[dp->n + i].data + at, frame, dp->l2);
}

/* Whether s's peer takes the large segment seg whole: it takes
 * PROTO_DATA_GSO, of UDP too for a UDP one, of that segment size. */
static bool peer_takes_whole(const struct cv_session *s,
			     const struct cv_segmentation *seg)
{
	return s->data_gso && seg->gso_size >= OFFLOAD_GSO_SIZE_MIN &&
	       (seg->gso_type != CV_GSO_UDP_L4 || s->data_uso);
}

/* Count a large segment that went whole (or in large pieces), or split. */
static void count_large(struct datapath *dp, const struct cv_segmentation *seg,
			bool whole)
{
	bool udp = seg->gso_type == CV_GSO_UDP_L4;

	if (whole) {
		dp->counters->gso_whole++;
		dp->counters->udp_gso_tx += udp;
	} else {
		dp->counters->gso_split++;
		dp->counters->udp_gso_split += udp;
	}
}

/*
 * A large segment read from TUN (checked) for session s. To a peer that
 * takes them, whole as PROTO_DATA_GSO (in pieces of several segments if
 * the link's messages are smaller, or a UDP one stands for more
 * datagrams than a kernel takes at once); to anyone else split into
 * packets that fit one wire segment each, checksums done. pkt is what
 * was read: with TAP, a frame, whose Ethernet header each piece gets.
 */
static void queue_large(struct datapath *dp, struct cv_session *s,
			uint8_t *pkt, size_t len,
			const struct cv_segmentation *seg)
{
	unsigned int per = 1, count;
	size_t room = 1, l2 = dp->l2;
	const uint8_t *ip = pkt + l2;
	size_t iplen = len - l2;
	struct cv_segmentation out_seg;
	size_t max = session_max_msg(s);
	unsigned int most = seg->gso_type == CV_GSO_UDP_L4
				    ? OFFLOAD_UDP_SEGMENTS_MAX
				    : UINT_MAX;

	/* Segments smaller than a peer takes whole go as packets. */
	if (peer_takes_whole(s, seg)) {
		if ((!max || PROTO_DATA_GSO_HDR + len <= max) &&
		    offload_segments(iplen, seg) <= most) {
			proto_put_data_gso(pkt - PROTO_DATA_GSO_HDR, seg);
			dp->msgs[dp->n] = (struct cv_msg){
				.data = pkt - PROTO_DATA_GSO_HDR,
				.len = PROTO_DATA_GSO_HDR + len,
				.seg = *seg,
			};
			dp->slot++;
			queue(dp, s, 1);
			count_large(dp, seg, true);
			return;
		}
		per = max ? (unsigned int)((max - PROTO_DATA_GSO_HDR - l2 -
					    seg->hdr_len) / seg->gso_size)
			  : most;
		per = per < most ? per : most;
		/* Pieces of one segment each go as packets. */
		if (per > 1)
			room = PROTO_DATA_GSO_HDR;
		else
			per = 1;
	}
	/* A peer that takes PROTO_DATA_PARTIAL gets the pieces with their
	 * TCP or UDP checksum left to do: its kernel (or nobody, when the packet
	 * stays on the host) fills it in, so neither end sums every byte. */
	bool leave = per == 1 && s->data_partial;
	size_t need = offload_split_size(iplen, seg, per, room + l2);
	count = offload_split(ip, iplen, seg, per, leave, room + l2,
			      dp->split + dp->split_used,
			      SPLIT_CAP - dp->split_used, dp->msgs + dp->n,
			      MSGS_MAX - dp->n, &out_seg);
	if (count == 0) {
		dp->counters->malformed++;	/* cannot happen: sized above */
		return;
	}
	for (unsigned int i = 0; i < count; i++) {
		struct cv_msg *m = &dp->msgs[dp->n + i];
		if (per == 1)
			m->data[0] = leave ? PROTO_DATA_PARTIAL : PROTO_DATA;
		else
			proto_put_data_gso(m->data, &out_seg);
		m->seg = out_seg;
	}
	put_l2(dp, pkt, count, room);
	dp->split_used += need;
	queue(dp, s, count);
	count_large(dp, seg, per > 1);
	if (leave)
		dp->counters->csum_left += count;
}

/* The IP packet that fits s's link, with TAP within the MTU its TAP
 * device was given: the gateway's own takes the bridge's MTU, and may
 * read frames larger than a client's. */
static size_t fitting(const struct datapath *dp, const struct cv_session *s)
{
	size_t fits = session_max_msg(s) - 1 - dp->l2;

	return dp->l2 && s->mtu && s->mtu < fits ? s->mtu : fits;
}

/*
 * A packet too large for its session's link: what a router may cut (IPv4
 * without DF) in fragments that fit, queued for the session (looked up
 * again: making room may send what is queued, and end sessions); the
 * rest is told the size that fits. Returns the session, or NULL when
 * the packet was not queued.
 */
static struct cv_session *queue_fragments(struct datapath *dp,
					  struct cv_session *s, uint8_t *pkt,
					  size_t len, struct cv_segmentation *seg)
{
	size_t l2 = dp->l2, bytes, mtu = fitting(dp, s);
	uint8_t *ip = pkt + l2;
	size_t iplen = len - l2;
	bool flood;
	struct cv_session *except;
	unsigned int n = (!l2 || l2_ip(pkt, len)) && fragment_allowed(ip, iplen)
				 ? fragment_count(ip, iplen, mtu, 1 + l2, &bytes)
				 : 0;

	if (n == 0) {
		too_big(dp, pkt, len, mtu);
		return NULL;
	}
	if (seg->flags & CV_MSG_NEEDS_CSUM)
		offload_finish_csum(ip, iplen, seg);
	make_room(dp, n, bytes);
	s = session_for(dp, pkt, len, &flood, &except);
	n = s ? fragment_ipv4(ip, iplen, fitting(dp, s), 1 + l2,
			      dp->split + dp->split_used,
			      SPLIT_CAP - dp->split_used, dp->msgs + dp->n,
			      MSGS_MAX - dp->n)
	      : 0;
	if (n == 0) {
		dp->counters->no_route++;	/* the session ended meanwhile */
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		dp->msgs[dp->n + i].data[0] = PROTO_DATA;
		dp->split_used += dp->msgs[dp->n + i].len;
	}
	put_l2(dp, pkt, n, 1);
	queue(dp, s, n);
	dp->counters->fragmented++;
	return s;
}

/* Whether a packet whose checksum the kernel left to do has it where a
 * PROTO_DATA_PARTIAL receiver looks: right after the IP header, in the
 * TCP or UDP header. */
static bool partial_as_peer_sees_it(const uint8_t *pkt, size_t len,
				    const struct cv_segmentation *seg)
{
	struct cv_segmentation peer = { .flags = CV_MSG_NEEDS_CSUM };
	const char *why;

	return offload_check(pkt, len, &peer, &why) == 0 &&
	       peer.csum_start == seg->csum_start &&
	       peer.csum_offset == seg->csum_offset;
}

/*
 * A TAP server's frame for every session that is up but except: sent at
 * once to each, after what is queued, as plain frames with their
 * checksums done (a large segment cut in software first): floods are
 * broadcasts and unknown destinations, few and small, not worth a batch
 * per session.
 */
static void flood(struct datapath *dp, uint8_t *pkt, size_t len,
		  struct cv_segmentation *seg, struct cv_session *except)
{
	struct core *core = dp->core;
	struct cv_msg *msgs = dp->msgs + dp->n;
	unsigned int count = 1;
	struct cv_segmentation out_seg;

	flush_run(dp);
	if (seg->gso_type != CV_GSO_NONE) {
		count = offload_split(pkt + dp->l2, len - dp->l2, seg, 1, false,
				      1 + dp->l2, dp->split + dp->split_used,
				      SPLIT_CAP - dp->split_used, msgs,
				      MSGS_MAX - dp->n, &out_seg);
		for (unsigned int i = 0; i < count; i++)
			msgs[i].data[0] = PROTO_DATA;
		put_l2(dp, pkt, count, 1);
	} else {
		if (seg->flags & CV_MSG_NEEDS_CSUM)
			offload_finish_csum(pkt + dp->l2, len - dp->l2, seg);
		pkt[-1] = PROTO_DATA;
		msgs[0] = (struct cv_msg){ .data = pkt - 1, .len = len + 1 };
	}
	struct cv_session *next;
	for (struct cv_session *s = core->sessions; s; s = next) {
		next = s->next;
		if (s == except || s->state != SESSION_UP)
			continue;
		size_t max = session_max_msg(s);
		if (max && msgs[0].len > max) {
			dp->counters->too_big++;
			continue;
		}
		s->tx_packets++;
		s->tx_bytes += (uint64_t)len;
		if (session_send(s, msgs, count) < 0)
			session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send");
	}
	dp->counters->tx_packets++;
	dp->counters->tx_bytes += (uint64_t)len;
}

/* One packet read from TUN at buf + HEAD, len bytes, with its
 * segmentation metadata: to its session's queue, or dropped. With TAP,
 * a frame: the offsets and checks are its IP packet's. */
static void from_tun(struct datapath *dp, uint8_t *buf, size_t len,
		     struct cv_segmentation *seg)
{
	uint8_t *pkt = buf + HEAD;
	size_t l2 = dp->l2;
	uint8_t *ip = pkt + l2;
	size_t iplen = len - l2;
	const char *why;
	bool flooded;
	struct cv_session *except;

	if (len < l2 || (l2 && !l2_from_vnet(pkt, len, seg))) {
		dp->counters->malformed++;
		return;
	}
	if (seg->gso_type != CV_GSO_NONE) {
		if (offload_check(ip, iplen, seg, &why) < 0) {
			dp->counters->malformed++;
			return;
		}
		/* Split pieces are the most room it may need. */
		make_room(dp, offload_segments(iplen, seg),
			  offload_split_size(iplen, seg, 1, 1 + l2));
	}
	struct cv_session *s = session_for(dp, pkt, len, &flooded, &except);
	if (flooded) {
		flood(dp, pkt, len, seg, except);
		return;
	}
	if (!s) {
		dp->counters->no_route++;
		return;
	}
	if (s->loop != dp->index) {
		/* Its link is another loop's: that loop sends it, counting
		 * it there. */
		dp->handoff(dp->handoff_arg, dp, s, pkt, len, seg);
		return;
	}
	size_t max = session_max_msg(s);
	if (seg->gso_type != CV_GSO_NONE) {
		/* One wire segment must fit the link, as a packet would,
		 * and the session's MTU, as the peer checks. */
		size_t wire = (size_t)seg->hdr_len + seg->gso_size;
		if (max && wire + l2 + 1 > max) {
			too_big(dp, pkt, len, max - 1 - l2);
			return;
		}
		if (s->mtu && wire > s->mtu) {
			too_big(dp, pkt, len, s->mtu);
			return;
		}
		queue_large(dp, s, pkt, len, seg);
	} else if (max && (len + 1 > max || (l2 && len - l2 > fitting(dp, s)))) {
		s = queue_fragments(dp, s, pkt, len, seg);
		if (!s)
			return;
	} else {
		bool leave = (seg->flags & CV_MSG_NEEDS_CSUM) && s->data_partial &&
			     partial_as_peer_sees_it(ip, iplen, seg);
		if ((seg->flags & CV_MSG_NEEDS_CSUM) && !leave)
			offload_finish_csum(ip, iplen, seg);
		pkt[-1] = leave ? PROTO_DATA_PARTIAL : PROTO_DATA;
		dp->counters->csum_left += leave;
		dp->msgs[dp->n] = (struct cv_msg){ .data = pkt - 1,
						   .len = len + 1 };
		dp->slot++;
		queue(dp, s, 1);
	}
	dp->counters->tx_packets++;
	dp->counters->tx_bytes += (uint64_t)len;
	s->tx_packets++;
	s->tx_bytes += (uint64_t)len;
}

static void on_tun_readable(void *arg, int fd, uint32_t events)
{
	struct datapath *dp = arg;
	bool vnet = dp->tun->vnet_hdr;

	dp->slot = dp->n = dp->first = 0;
	dp->split_used = 0;
	dp->run = NULL;
	/* Bounded also when every packet is dropped, so that a flood into
	 * TUN cannot starve the other fds. */
	size_t bytes = 0;
	for (unsigned int reads = 0;
	     reads < 2 * BATCH && bytes < TUN_BYTES_PER_WAKEUP; reads++) {
		make_room(dp, 1, 0);
		uint8_t *buf = dp->buf[dp->slot];
		uint8_t *at = vnet ? buf + HEAD - VNET_HDR_LEN : buf + HEAD;
		size_t hdr = vnet ? VNET_HDR_LEN : 0;
		ssize_t len = tun_read(dp->tun, at, PACKET_MAX + hdr);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("reading %s: %s", dp->tun->name,
					 strerror(errno));
			break;
		}
		bytes += (size_t)len;
		struct cv_segmentation seg = { 0 };
		if (vnet) {
			if ((size_t)len < hdr) {
				dp->counters->malformed++;
				continue;
			}
			offload_from_vnet(at, &seg);
		}
		from_tun(dp, buf, (size_t)len - hdr, &seg);
	}
	flush_run(dp);
}

void datapath_set_handoff(struct datapath *dp, datapath_handoff *fn,
			  void *arg)
{
	dp->handoff = fn;
	dp->handoff_arg = arg;
}

void datapath_handed(struct datapath *dp, const uint8_t *pkt, size_t len,
		     const struct cv_segmentation *seg)
{
	struct cv_segmentation copy = *seg;

	if (len > PACKET_MAX)
		return;
	dp->slot = dp->n = dp->first = 0;
	dp->split_used = 0;
	dp->run = NULL;
	memcpy(dp->buf[0] + HEAD, pkt, len);
	from_tun(dp, dp->buf[0], len, &copy);
	flush_run(dp);
}

int datapath_start(struct datapath *dp)
{

	return loop_watch(dp->loop, dp->tun->fd, CV_EV_IN, on_tun_readable, dp);
}

