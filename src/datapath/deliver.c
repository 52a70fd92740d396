/* The datapath's other half: what peers deliver, checked (a server
 * takes from each session only its own sources, or on TAP its own MAC
 * addresses), into the TUN or TAP device, large segments whole and
 * small ones joined (gro.c); control messages to the session. */
#include "datapath.h"
#include "datapath_internal.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "l2.h"
#include "loop.h"
#include "offload.h"
#include "packet_check.h"
#include "path_mtu.h"
#include "proto.h"
#include "route.h"
#include "session.h"

/* Where a packet from a session may come from. A client forwards for
 * anything behind it; a server accepts from a session only the sources
 * the route table gives it (its inner addresses, the networks behind
 * it): anything else would let one client speak as another. Returns
 * NULL when allowed, else the counter to count it in. */
static uint64_t *source_refused(struct datapath *dp, const struct cv_session *s,
				const uint8_t *pkt, size_t len)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	if (!dp->routes)
		return family ? NULL : &dp->counters->spoofed_source;
	if (packet_source_is(pkt, len, dp->routes, s))
		return NULL;
	/* Named apart when it lies in another client's network: a site
	 * that forwards what it should not, not a random forgery. */
	const char *owner = family && dp->networks
				    ? route_lookup(dp->networks, family, src)
				    : NULL;
	if (owner && (!s->identity || strcmp(owner, s->identity) != 0))
		return &dp->counters->spoofed_network;
	return &dp->counters->spoofed_source;
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

/* What an IP server refuses of a packet from s: NULL when it passes,
 * else the counter to count it in. */
static uint64_t *ip_refused(struct datapath *dp, struct cv_session *s,
			    const uint8_t *pkt, size_t len)
{
	uint64_t *refused = source_refused(dp, s, pkt, len);

	if (refused)
		return refused;
	if (to_other_client(dp, s, pkt, len))
		return &dp->counters->client_to_client;
	if (outside_routes(dp, s, pkt, len))
		return &dp->counters->outside_routes;
	return NULL;
}

/* What a TAP device takes from s: on a server, frames from its own MAC
 * addresses within its flood budget (l2.c); on a client, any frame. */
static uint64_t *frame_refused(struct datapath *dp, struct cv_session *s,
			       const uint8_t *frame, size_t len)
{
	if (len < TAP_ETH_HLEN)
		return &dp->counters->malformed;
	return dp->eth ? l2_refused(dp->eth, s, frame, len) : NULL;
}

/* The checks every packet from a peer passes before TUN: false when it
 * was dropped (and counted). A large segment is one flow: its first
 * header speaks for every segment in it. With TAP, pkt is a frame. */
static bool data_allowed(struct datapath *dp, struct cv_session *s,
			 const uint8_t *pkt, size_t len)
{

	if (s->state != SESSION_UP) {
		dp->counters->before_hello++;
		return false;
	}
	uint64_t *refused = dp->l2 ? frame_refused(dp, s, pkt, len)
				   : ip_refused(dp, s, pkt, len);
	if (refused) {
		(*refused)++;
		return false;
	}
	dp->counters->rx_packets++;
	dp->counters->rx_bytes += len;
	s->rx_packets++;
	s->rx_bytes += len;
	return true;
}

static void deliver_data(struct datapath *dp, struct cv_session *s,
			 const uint8_t *pkt, size_t len)
{
	if (!data_allowed(dp, s, pkt, len))
		return;
	if (dp->tun->vnet_hdr)
		gro_packet(&dp->gro, pkt, len, NULL);
	else
		datapath_to_tun(dp, NULL, pkt, len);
}

/* The IP packet in a message's pkt: pkt itself on TUN, what the frame
 * carries on TAP (NULL: it is not plain IP, and carries no offloads). */
static const uint8_t *ip_of(const struct datapath *dp, const uint8_t *pkt,
			    size_t len)
{
	return dp->l2 ? l2_ip(pkt, len) : pkt;
}

/* A PROTO_DATA_PARTIAL message: a TCP or UDP packet whose checksum holds
 * only the pseudo-header's sum, into TUN for the kernel to finish. Only
 * a peer we told that we take them sends it. */
static void deliver_partial(struct datapath *dp, struct cv_session *s,
			    const uint8_t *pkt, size_t len)
{
	struct cv_segmentation seg = { .flags = CV_MSG_NEEDS_CSUM };
	const char *why = "not an IP packet";
	const uint8_t *ip = ip_of(dp, pkt, len);

	if (!s->data_partial) {
		session_malformed(s, "a packet with its checksum left to do, which we never offered to take");
		return;
	}
	if (!ip || offload_check(ip, len - dp->l2, &seg, &why) < 0) {
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
 * was welcomed with; a UDP one, for datagrams this kernel takes at once
 * (OFFLOAD_UDP_SEGMENTS_MAX). */
static bool gso_size_sane(const struct cv_session *s,
			  const struct cv_segmentation *seg, size_t len,
			  const char **why)
{
	if (seg->gso_size < OFFLOAD_GSO_SIZE_MIN) {
		*why = "segment size below 536 bytes";
		return false;
	}
	if (s->mtu && (size_t)seg->hdr_len + seg->gso_size > s->mtu) {
		*why = "segments larger than the tunnel MTU";
		return false;
	}
	if (seg->gso_type == CV_GSO_UDP_L4 &&
	    offload_segments(len, seg) > OFFLOAD_UDP_SEGMENTS_MAX) {
		*why = "a UDP segment of more than 64 datagrams";
		return false;
	}
	return true;
}

/* A PROTO_DATA_GSO message: its metadata checked against the packet,
 * then into TUN whole, for the kernel to split or deliver as one. Only
 * a peer we told that we take them (large UDP ones: PROTO_HELLO_DATA_USO
 * or PROTO_FEATURE_DATA_USO) sends it. */
static void deliver_large(struct datapath *dp, struct cv_session *s,
			  const uint8_t *msg, size_t len)
{
	const char *why = "truncated";
	const uint8_t *pkt = msg + PROTO_DATA_GSO_HDR;
	size_t plen = len - PROTO_DATA_GSO_HDR;
	struct cv_segmentation seg;
	uint8_t vnet[VNET_HDR_LEN];

	if (!dp->tun->vnet_hdr || !s->data_gso) {
		session_malformed(s, "a large segment, which we never offered to take");
		return;
	}
	const uint8_t *ip = len > PROTO_DATA_GSO_HDR ? ip_of(dp, pkt, plen) : NULL;
	if (!ip)
		why = "not an IP packet";
	if (!ip || proto_get_data_gso(msg, len, &seg) < 0 ||
	    offload_check(ip, plen - dp->l2, &seg, &why) < 0 ||
	    !gso_size_sane(s, &seg, plen - dp->l2, &why)) {
		char text[120];
		snprintf(text, sizeof(text), "large segment: %s", why);
		session_malformed(s, text);
		return;
	}
	if (seg.gso_type == CV_GSO_UDP_L4 && !s->data_uso) {
		session_malformed(s, "a large UDP segment, which we never offered to take");
		return;
	}
	if (!data_allowed(dp, s, pkt, plen))
		return;
	dp->counters->udp_gso_rx += seg.gso_type == CV_GSO_UDP_L4;
	gro_flush(&dp->gro);	/* in order with what came before */
	offload_to_vnet(ip, &seg, vnet);
	offload_vnet_shift(vnet, dp->l2);
	datapath_to_tun(dp, vnet, pkt, plen);
}

/* What gro.c counted, into the core's counters. */
static void gro_done(struct datapath *dp)
{

	gro_flush(&dp->gro);
	dp->counters->gro_joined += dp->gro.joined;
	dp->counters->tun_full += dp->gro.write_failed;
	dp->gro.joined = dp->gro.write_failed = 0;
}

void datapath_deliver(struct datapath *dp, struct cv_session *s,
		      const struct cv_msg *msgs, unsigned int count)
{

	for (unsigned int i = 0; i < count; i++) {
		if (msgs[i].len == 0) {
			dp->counters->malformed++;
			continue;
		}
		if (session_stray(s, msgs[i].data, msgs[i].len)) {
			dp->counters->after_end += count - i - 1;
			return;
		}
		if (msgs[i].data[0] == PROTO_DATA) {
			s->last_rx = loop_now(dp->loop);
			deliver_data(dp, s, msgs[i].data + 1, msgs[i].len - 1);
			continue;
		}
		if (msgs[i].data[0] == PROTO_DATA_GSO) {
			s->last_rx = loop_now(dp->loop);
			deliver_large(dp, s, msgs[i].data, msgs[i].len);
			continue;
		}
		if (msgs[i].data[0] == PROTO_DATA_PARTIAL) {
			s->last_rx = loop_now(dp->loop);
			deliver_partial(dp, s, msgs[i].data + 1,
					msgs[i].len - 1);
			continue;
		}
		if (msgs[i].data[0] == PROTO_PROBE ||
		    msgs[i].data[0] == PROTO_PROBE_ACK) {
			s->last_rx = loop_now(dp->loop);
			path_mtu_received(s, msgs[i].data, msgs[i].len);
			continue;
		}
		/* Packets before a control message go first: it may end
		 * the session. */
		gro_done(dp);
		if (!session_control(s, msgs[i].data, msgs[i].len)) {
			/* The session ended: the rest of the batch has no
			 * one to go to. */
			dp->counters->after_end += count - i - 1;
			return;
		}
	}
	gro_done(dp);
}
