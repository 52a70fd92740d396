/*
 * Packetization-layer path MTU discovery (RFC 8899, DPLPMTUD) for a
 * session over a datagram transport (one without CV_TRANSPORT_RELIABLE).
 *
 * Such a transport sends every message as one datagram with DF set and
 * never fragments it (culvert-transport(7)), so a message too large for
 * the path is lost without a word when a router on the way sends no ICMP
 * (a black hole). The core finds the largest message that crosses by
 * itself: it sends PROTO_PROBE messages padded to the sizes it tries,
 * the peer answers each that arrives with a PROTO_PROBE_ACK, and the
 * largest size answered is what the session's link carries. Larger inner
 * packets are then answered with ICMP "fragmentation needed" or "packet
 * too big", or fragmented when IPv4 allows it (the datapath does that
 * with session_max_msg()).
 *
 * When: right after the session is up (data meanwhile goes at the full
 * size, as before); then a confirmation every 15 s while data flows,
 * whose loss three times in a row means the path shrank (a new black
 * hole) and starts a new search; and every 10 minutes a try at the sizes
 * above, when the path carried less than the tunnel's MTU (RFC 8899's
 * PMTU_RAISE_TIMER), since paths grow back too.
 *
 * Only with a peer that said it answers probes (PROTO_HELLO_PATH_MTU,
 * PROTO_FEATURE_PATH_MTU): an older one would take them for garbage.
 */
#ifndef CULVERT_PATH_MTU_H
#define CULVERT_PATH_MTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cv_session;

/* Start finding what s's link carries, below the tunnel's MTU mtu (the
 * largest data message is mtu + session_overhead(s) bytes: a type byte,
 * and an Ethernet header and tag on a TAP device): from a timer, after the
 * welcome. Nothing when the transport is reliable or the peer does not
 * answer probes. Called again (a client that said hello again), it
 * starts over. */
void path_mtu_start(struct cv_session *s, unsigned int mtu);
/* The session ends: its search and timer go. */
void path_mtu_stop(struct cv_session *s);

/* A PROTO_PROBE or PROTO_PROBE_ACK from the peer: a probe is answered,
 * an answer taken by the search under way. */
void path_mtu_received(struct cv_session *s, const uint8_t *msg, size_t len);

/* ---- the search itself: pure, for tests/unit/test_path_mtu.c */

/* Sizes tried at once: one round trip finds the range, a second or a
 * third the byte. */
#define PATH_MTU_ROUND 8

struct path_mtu_search {
	size_t base;		/* the least any link carries: tried first */
	size_t lo;		/* the largest size known to cross; 0: none */
	size_t hi;		/* the smallest known not to (or ceiling + 1) */
	unsigned int n;		/* this round's sizes, ascending */
	size_t size[PATH_MTU_ROUND];
	bool acked[PATH_MTU_ROUND];
};

/* A search between lo (crosses; 0: unknown) and hi (does not, or the
 * ceiling + 1), never below base unless hi is. */
void path_mtu_search_begin(struct path_mtu_search *p, size_t base, size_t lo,
			   size_t hi);
/* This round's sizes into p->size[]: how many, 0 when the search is over
 * (hi == lo + 1: lo is the answer). */
unsigned int path_mtu_search_round(struct path_mtu_search *p);
/* A probe of size was answered. -1: no size of this round; 1: no larger
 * one of the round is left to wait for (the round may end); 0: wait. */
int path_mtu_search_acked(struct path_mtu_search *p, size_t size);
/* The round is over: a size not answered is taken as too large, unless
 * a larger one was answered (then it was lost by chance). False when
 * nothing at all was answered: lo and hi stay as they were. */
bool path_mtu_search_end_round(struct path_mtu_search *p);

#endif
