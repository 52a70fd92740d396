#include "datapath.h"

#include <errno.h>
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
#include "log.h"
#include "loop.h"
#include "offload.h"
#include "packet_check.h"
#include "path_mtu.h"
#include "proto.h"
#include "route.h"
#include "session.h"
#include "tun.h"

/* Packets read from TUN per wakeup: enough to amortise the wakeup and the
 * plugin's send over many packets, few enough to stay fair to peers. */
#define BATCH 64
/* A TUN read never returns more than the largest IP packet. */
#define PACKET_MAX 65535
/* Where a read packet starts in its buffer: room before it for the
 * virtio-net header TUN puts there, and for the type byte or the
 * PROTO_DATA_GSO header that makes it a message without a copy. */
#define HEAD 16
/* Messages per wakeup, and the room for the pieces of large segments
 * split in software: a few 64 KiB segments' worth. */
#define MSGS_MAX 512
#define SPLIT_CAP (512 * 1024)

struct datapath {
	struct core *core;
	/* Where packets from TUN go: by destination through routes (a
	 * server), or all to the one session that is up (a client). */
	const struct route_table *routes;
	const struct route_table *networks;	/* server: network -> name */
	struct cv_session *session;
	struct cv_addr gateway4, gateway6;	/* server: its own, inside */

	/* One buffer per batch slot; the packet at HEAD. */
	uint8_t *buf[BATCH];
	struct cv_msg msgs[MSGS_MAX];
	uint8_t *split;		/* SPLIT_CAP bytes */
	struct gro gro;		/* into TUN, with offloads */

	/* The batch under way in on_tun_readable(). */
	unsigned int slot, n, first;
	size_t split_used;
	struct cv_session *run;	/* whose messages msgs[first..n) are */
};

int datapath_new(struct core *core, struct datapath **out)
{
	struct datapath *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->core = core;
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
	gro_init(&dp->gro, &core->tun);
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
	free(dp);
}

void datapath_serve(struct datapath *dp, const struct route_table *routes,
		    const struct route_table *networks,
		    const struct cv_addr *gateway4,
		    const struct cv_addr *gateway6)
{
	dp->routes = routes;
	dp->networks = networks;
	dp->gateway4 = *gateway4;
	dp->gateway6 = *gateway6;
}

void datapath_set_session(struct datapath *dp, struct cv_session *s)
{
	dp->session = s;
}

static struct cv_session *session_for(struct datapath *dp, const uint8_t *pkt,
				      size_t len)
{
	if (!dp->routes)
		return dp->session;
	const uint8_t *dst;
	int family = packet_addr(pkt, len, false, &dst);
	if (!family)
		return NULL;
	struct cv_session *s = route_lookup(dp->routes, family, dst);
	return s && s->state == SESSION_UP ? s : NULL;
}

/* Into TUN; when the kernel's queue is full, dropped, as a router would. */
static void to_tun(struct datapath *dp, const uint8_t *vnet, const uint8_t *pkt,
		   size_t len)
{
	if (tun_write(&dp->core->tun, vnet, pkt, len) < 0)
		dp->core->counters.tun_full++;
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
 * size that fits, as a router on the path would. */
static void too_big(struct datapath *dp, const uint8_t *pkt, size_t len,
		    size_t fits)
{
	struct core *core = dp->core;
	uint8_t answer[ICMP6_ANSWER_MAX];
	/* Sent as if from the packet's destination: the kernel drops what
	 * arrives on cv0 from one of its own addresses (the gateway's inner
	 * address), and a sender takes the MTU from any ICMP error that
	 * quotes its packet. */
	struct cv_addr from;
	const uint8_t *dst;
	size_t n = 0;

	from.family = (sa_family_t)packet_addr(pkt, len, false, &dst);
	if (from.family == AF_INET) {
		memcpy(&from.v4, dst, 4);
		n = icmp_frag_needed(pkt, len, &from,
				     (uint16_t)(fits < 65535 ? fits : 65535),
				     answer);
	} else if (from.family == AF_INET6) {
		memcpy(&from.v6, dst, 16);
		n = icmp6_packet_too_big(pkt, len, &from, (uint32_t)fits,
					 answer);
	}
	core->counters.too_big++;
	if (n > 0)
		to_tun(dp, NULL, answer, n);
}

/*
 * A large segment read from TUN (checked) for session s. To a peer that
 * takes them, whole as PROTO_DATA_GSO (in pieces of several segments if
 * the link's messages are smaller); to anyone else split into packets
 * that fit one wire segment each, checksums done.
 */
static void queue_large(struct datapath *dp, struct cv_session *s,
			uint8_t *pkt, size_t len,
			const struct cv_segmentation *seg)
{
	struct core *core = dp->core;
	unsigned int per = 1, count;
	size_t room = 1;
	struct cv_segmentation out_seg;
	size_t max = session_max_msg(s);

	/* Segments smaller than a peer takes whole go as packets. */
	if (s->data_gso && seg->gso_size >= OFFLOAD_GSO_SIZE_MIN) {
		if (!max || PROTO_DATA_GSO_HDR + len <= max) {
			proto_put_data_gso(pkt - PROTO_DATA_GSO_HDR, seg);
			dp->msgs[dp->n] = (struct cv_msg){
				.data = pkt - PROTO_DATA_GSO_HDR,
				.len = PROTO_DATA_GSO_HDR + len,
				.seg = *seg,
			};
			dp->slot++;
			queue(dp, s, 1);
			core->counters.gso_whole++;
			return;
		}
		per = (unsigned int)((max - PROTO_DATA_GSO_HDR - seg->hdr_len) /
				     seg->gso_size);
		room = PROTO_DATA_GSO_HDR;
	}
	/* A peer that takes PROTO_DATA_PARTIAL gets the pieces with their
	 * TCP checksum left to do: its kernel (or nobody, when the packet
	 * stays on the host) fills it in, so neither end sums every byte. */
	bool leave = per == 1 && s->data_partial;
	size_t need = offload_split_size(len, seg, per, room);
	count = offload_split(pkt, len, seg, per, leave, room,
			      dp->split + dp->split_used,
			      SPLIT_CAP - dp->split_used, dp->msgs + dp->n,
			      MSGS_MAX - dp->n, &out_seg);
	if (count == 0) {
		core->counters.malformed++;	/* cannot happen: sized above */
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
	dp->split_used += need;
	queue(dp, s, count);
	if (per > 1)
		core->counters.gso_whole++;
	else
		core->counters.gso_split++;
	if (leave)
		core->counters.csum_left += count;
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
	struct core *core = dp->core;
	size_t bytes, mtu = session_max_msg(s) - 1;
	unsigned int n = fragment_allowed(pkt, len)
				 ? fragment_count(pkt, len, mtu, 1, &bytes) : 0;

	if (n == 0) {
		too_big(dp, pkt, len, mtu);
		return NULL;
	}
	if (seg->flags & CV_MSG_NEEDS_CSUM)
		offload_finish_csum(pkt, len, seg);
	make_room(dp, n, bytes);
	s = session_for(dp, pkt, len);
	n = s ? fragment_ipv4(pkt, len, session_max_msg(s) - 1, 1,
			      dp->split + dp->split_used,
			      SPLIT_CAP - dp->split_used, dp->msgs + dp->n,
			      MSGS_MAX - dp->n)
	      : 0;
	if (n == 0) {
		core->counters.no_route++;	/* the session ended meanwhile */
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		dp->msgs[dp->n + i].data[0] = PROTO_DATA;
		dp->split_used += dp->msgs[dp->n + i].len;
	}
	queue(dp, s, n);
	core->counters.fragmented++;
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

/* One packet read from TUN at buf + HEAD, len bytes, with its
 * segmentation metadata: to its session's queue, or dropped. */
static void from_tun(struct datapath *dp, uint8_t *buf, size_t len,
		     struct cv_segmentation *seg)
{
	struct core *core = dp->core;
	uint8_t *pkt = buf + HEAD;
	const char *why;

	if (seg->gso_type != CV_GSO_NONE) {
		if (offload_check(pkt, len, seg, &why) < 0) {
			core->counters.malformed++;
			return;
		}
		/* Split pieces are the most room it may need. */
		make_room(dp, offload_segments(len, seg),
			  offload_split_size(len, seg, 1, 1));
	}
	struct cv_session *s = session_for(dp, pkt, len);
	if (!s) {
		core->counters.no_route++;
		return;
	}
	size_t max = session_max_msg(s);
	if (seg->gso_type != CV_GSO_NONE) {
		/* One wire segment must fit the link, as a packet would,
		 * and the session's MTU, as the peer checks. */
		size_t wire = (size_t)seg->hdr_len + seg->gso_size;
		if (max && wire + 1 > max) {
			too_big(dp, pkt, len, max - 1);
			return;
		}
		if (s->mtu && wire > s->mtu) {
			too_big(dp, pkt, len, s->mtu);
			return;
		}
		queue_large(dp, s, pkt, len, seg);
	} else if (max && len + 1 > max) {
		s = queue_fragments(dp, s, pkt, len, seg);
		if (!s)
			return;
	} else {
		bool leave = (seg->flags & CV_MSG_NEEDS_CSUM) && s->data_partial &&
			     partial_as_peer_sees_it(pkt, len, seg);
		if ((seg->flags & CV_MSG_NEEDS_CSUM) && !leave)
			offload_finish_csum(pkt, len, seg);
		pkt[-1] = leave ? PROTO_DATA_PARTIAL : PROTO_DATA;
		core->counters.csum_left += leave;
		dp->msgs[dp->n] = (struct cv_msg){ .data = pkt - 1,
						   .len = len + 1 };
		dp->slot++;
		queue(dp, s, 1);
	}
	core->counters.tx_packets++;
	core->counters.tx_bytes += (uint64_t)len;
	s->tx_packets++;
	s->tx_bytes += (uint64_t)len;
}

static void on_tun_readable(void *arg, int fd, uint32_t events)
{
	struct datapath *dp = arg;
	struct core *core = dp->core;
	bool vnet = core->tun.vnet_hdr;

	dp->slot = dp->n = dp->first = 0;
	dp->split_used = 0;
	dp->run = NULL;
	/* Bounded also when every packet is dropped, so that a flood into
	 * TUN cannot starve the other fds. */
	for (unsigned int reads = 0; reads < 2 * BATCH; reads++) {
		make_room(dp, 1, 0);
		uint8_t *buf = dp->buf[dp->slot];
		uint8_t *at = vnet ? buf + HEAD - VNET_HDR_LEN : buf + HEAD;
		size_t hdr = vnet ? VNET_HDR_LEN : 0;
		ssize_t len = tun_read(&core->tun, at, PACKET_MAX + hdr);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("reading %s: %s", core->tun.name,
					 strerror(errno));
			break;
		}
		struct cv_segmentation seg = { 0 };
		if (vnet) {
			if ((size_t)len < hdr) {
				core->counters.malformed++;
				continue;
			}
			offload_from_vnet(at, &seg);
		}
		from_tun(dp, buf, (size_t)len - hdr, &seg);
	}
	flush_run(dp);
}

int datapath_start(struct datapath *dp)
{
	struct core *core = dp->core;

	return loop_watch(core->loop, core->tun.fd, CV_EV_IN, on_tun_readable, dp);
}

/* Where a packet from a session may come from. A client forwards for
 * anything behind it; a server accepts from a session only the sources
 * the route table gives it (its inner addresses, the networks behind
 * it): anything else would let one client speak as another. Returns
 * NULL when allowed, else the counter to count it in. */
static uint64_t *source_refused(struct datapath *dp, const struct cv_session *s,
				const uint8_t *pkt, size_t len)
{
	struct core *core = dp->core;
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	if (!dp->routes)
		return family ? NULL : &core->counters.spoofed_source;
	if (packet_source_is(pkt, len, dp->routes, s))
		return NULL;
	/* Named apart when it lies in another client's network: a site
	 * that forwards what it should not, not a random forgery. */
	const char *owner = family && dp->networks
				    ? route_lookup(dp->networks, family, src)
				    : NULL;
	if (owner && (!s->identity || strcmp(owner, s->identity) != 0))
		return &core->counters.spoofed_network;
	return &core->counters.spoofed_source;
}

/* A client restricted to its routes (restrict-to-routes) sends only
 * where they lead, and to the gateway's own inner addresses. */
static bool outside_routes(const struct datapath *dp,
			   const struct cv_session *s, const uint8_t *pkt,
			   size_t len)
{
	const struct session_policy *p = s->policy;

	if (!dp->routes || !p || !p->restrict_to_routes)
		return false;
	return !packet_to_routes(pkt, len, p->routes, p->n_routes,
				 &dp->gateway4, &dp->gateway6);
}

/* Whether pkt (whose source passed source_refused) comes from the client
 * itself, its inner address, rather than from a network behind it. */
static bool from_the_client(const struct cv_session *s, const uint8_t *pkt,
			    size_t len)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);
	const struct cv_addr *own = family == AF_INET ? &s->inner : &s->inner6;
	bool has = family == AF_INET ? s->has_inner : s->has_inner6;

	return has && memcmp(src, own->bytes, family == AF_INET ? 4 : 16) == 0;
}

/* Whether a server should refuse to pass pkt from one client to another:
 * clients are strangers to each other unless client-to-client = yes. A
 * site's hosts are not clients: like the gateway's own LAN, they answer
 * the road warriors their routes let in. */
static bool to_other_client(const struct datapath *dp,
			    const struct cv_session *s, const uint8_t *pkt,
			    size_t len)
{
	const struct config *cfg = dp->core->cfg;

	if (cfg->mode != MODE_SERVER || cfg->client_to_client ||
	    !from_the_client(s, pkt, len))
		return false;
	return packet_to_other_client(pkt, len, &cfg->pool, &dp->gateway4,
				      cfg->has_pool6 ? &cfg->pool6 : NULL,
				      &dp->gateway6);
}

/* The checks every packet from a peer passes before TUN: false when it
 * was dropped (and counted). A large segment is one flow: its first
 * header speaks for every segment in it. */
static bool data_allowed(struct datapath *dp, struct cv_session *s,
			 const uint8_t *pkt, size_t len)
{
	struct core *core = dp->core;

	if (s->state != SESSION_UP) {
		core->counters.before_hello++;
		return false;
	}
	uint64_t *refused = source_refused(dp, s, pkt, len);
	if (refused) {
		(*refused)++;
		return false;
	}
	if (to_other_client(dp, s, pkt, len)) {
		core->counters.client_to_client++;
		return false;
	}
	if (outside_routes(dp, s, pkt, len)) {
		core->counters.outside_routes++;
		return false;
	}
	core->counters.rx_packets++;
	core->counters.rx_bytes += len;
	s->rx_packets++;
	s->rx_bytes += len;
	return true;
}

static void deliver_data(struct datapath *dp, struct cv_session *s,
			 const uint8_t *pkt, size_t len)
{
	if (!data_allowed(dp, s, pkt, len))
		return;
	if (dp->core->tun.vnet_hdr)
		gro_packet(&dp->gro, pkt, len, NULL);
	else
		to_tun(dp, NULL, pkt, len);
}

/* A PROTO_DATA_PARTIAL message: a TCP or UDP packet whose checksum holds
 * only the pseudo-header's sum, into TUN for the kernel to finish. Only
 * a peer we told that we take them sends it. */
static void deliver_partial(struct datapath *dp, struct cv_session *s,
			    const uint8_t *pkt, size_t len)
{
	struct cv_segmentation seg = { .flags = CV_MSG_NEEDS_CSUM };
	const char *why = "truncated";

	if (!s->data_partial) {
		session_malformed(s, "a packet with its checksum left to do, which we never offered to take");
		return;
	}
	if (offload_check(pkt, len, &seg, &why) < 0) {
		char text[120];
		snprintf(text, sizeof(text), "packet with its checksum left to do: %s",
			 why);
		session_malformed(s, text);
		return;
	}
	if (data_allowed(dp, s, pkt, len))
		gro_packet(&dp->gro, pkt, len, &seg);
}

/* Whether a peer's segment size is one its kernel could have made: not
 * below OFFLOAD_GSO_SIZE_MIN, and each segment within the tunnel MTU it
 * was welcomed with. */
static bool gso_size_sane(const struct cv_session *s,
			  const struct cv_segmentation *seg, const char **why)
{
	if (seg->gso_size < OFFLOAD_GSO_SIZE_MIN) {
		*why = "segment size below 536 bytes";
		return false;
	}
	if (s->mtu && (size_t)seg->hdr_len + seg->gso_size > s->mtu) {
		*why = "segments larger than the tunnel MTU";
		return false;
	}
	return true;
}

/* A PROTO_DATA_GSO message: its metadata checked against the packet,
 * then into TUN whole, for the kernel to split or deliver as one. Only
 * a peer we told that we take them sends it. */
static void deliver_large(struct datapath *dp, struct cv_session *s,
			  const uint8_t *msg, size_t len)
{
	struct core *core = dp->core;
	const char *why = "truncated";
	const uint8_t *pkt = msg + PROTO_DATA_GSO_HDR;
	struct cv_segmentation seg;
	uint8_t vnet[VNET_HDR_LEN];

	if (!core->tun.vnet_hdr || !s->data_gso) {
		session_malformed(s, "a large segment, which we never offered to take");
		return;
	}
	if (proto_get_data_gso(msg, len, &seg) < 0 ||
	    offload_check(pkt, len - PROTO_DATA_GSO_HDR, &seg, &why) < 0 ||
	    !gso_size_sane(s, &seg, &why)) {
		char text[120];
		snprintf(text, sizeof(text), "large segment: %s", why);
		session_malformed(s, text);
		return;
	}
	if (!data_allowed(dp, s, pkt, len - PROTO_DATA_GSO_HDR))
		return;
	gro_flush(&dp->gro);	/* in order with what came before */
	offload_to_vnet(pkt, &seg, vnet);
	to_tun(dp, vnet, pkt, len - PROTO_DATA_GSO_HDR);
}

/* What gro.c counted, into the core's counters. */
static void gro_done(struct datapath *dp)
{
	struct core *core = dp->core;

	gro_flush(&dp->gro);
	core->counters.gro_joined += dp->gro.joined;
	core->counters.tun_full += dp->gro.write_failed;
	dp->gro.joined = dp->gro.write_failed = 0;
}

void datapath_deliver(struct datapath *dp, struct cv_session *s,
		      const struct cv_msg *msgs, unsigned int count)
{
	struct core *core = dp->core;

	for (unsigned int i = 0; i < count; i++) {
		if (msgs[i].len == 0) {
			core->counters.malformed++;
			continue;
		}
		if (session_stray(s, msgs[i].data, msgs[i].len)) {
			core->counters.after_end += count - i - 1;
			return;
		}
		if (msgs[i].data[0] == PROTO_DATA) {
			s->last_rx = loop_now(core->loop);
			deliver_data(dp, s, msgs[i].data + 1, msgs[i].len - 1);
			continue;
		}
		if (msgs[i].data[0] == PROTO_DATA_GSO) {
			s->last_rx = loop_now(core->loop);
			deliver_large(dp, s, msgs[i].data, msgs[i].len);
			continue;
		}
		if (msgs[i].data[0] == PROTO_DATA_PARTIAL) {
			s->last_rx = loop_now(core->loop);
			deliver_partial(dp, s, msgs[i].data + 1,
					msgs[i].len - 1);
			continue;
		}
		if (msgs[i].data[0] == PROTO_PROBE ||
		    msgs[i].data[0] == PROTO_PROBE_ACK) {
			s->last_rx = loop_now(core->loop);
			path_mtu_received(s, msgs[i].data, msgs[i].len);
			continue;
		}
		/* Packets before a control message go first: it may end
		 * the session. */
		gro_done(dp);
		if (!session_control(s, msgs[i].data, msgs[i].len)) {
			/* The session ended: the rest of the batch has no
			 * one to go to. */
			core->counters.after_end += count - i - 1;
			return;
		}
	}
	gro_done(dp);
}
