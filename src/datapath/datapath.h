/*
 * The fast path: inner packets between the TUN device and the sessions.
 * Reads a batch from TUN, finds each packet's session, hands each session
 * its packets in one send(); and writes what peers deliver into TUN after
 * checking that a peer sends only from its own inner address or the
 * networks behind it, and, when restricted, only where its routes lead.
 */
#ifndef CULVERT_DATAPATH_H
#define CULVERT_DATAPATH_H

#include <culvert/transport.h>

#include "addr.h"

struct core;
struct counters;
struct datapath;
struct loop;
struct tun;
struct cv_session;
struct route_table;

/* Reads core's TUN device on core's loop, counts into core's counters:
 * loop 0's. */
int datapath_new(struct core *core, struct datapath **out);
/* Another loop's (shard.h): reads tun, its queue of the device, on
 * loop, counts into counters. */
int datapath_new_queue(struct core *core, struct loop *loop,
		       const struct tun *tun, struct counters *counters,
		       unsigned int index, struct datapath **out);
/* A packet read for a session of another loop (s->loop) goes to fn,
 * which hands it to that loop; unset, none ever is (one loop). */
typedef void datapath_handoff(void *arg, struct datapath *dp,
			      const struct cv_session *s, const uint8_t *pkt,
			      size_t len, const struct cv_segmentation *seg);
void datapath_set_handoff(struct datapath *dp, datapath_handoff *fn,
			  void *arg);
/* A packet another loop read from its queue for a session of this one
 * (the session looked up again here: it may have ended meanwhile). */
void datapath_handed(struct datapath *dp, const uint8_t *pkt, size_t len,
		     const struct cv_segmentation *seg);
void datapath_free(struct datapath *dp);

/* A server's: a packet from TUN goes to the session that routes has for
 * its inner destination, and a session may send only from sources that
 * routes has for it; a packet from one client to another is dropped
 * unless client-to-client (gateway4 and gateway6: the gateway's own
 * inner addresses, family 0 without that pool). networks: every
 * configured network behind a client, to its client's name, to tell a
 * source in another client's network from any other forged one. With
 * a TAP device, frames go by their MAC addresses instead (l2.h), and
 * the MAC table is made here: returns 0 or -ENOMEM. */
int datapath_serve(struct datapath *dp, const struct route_table *routes,
		   const struct route_table *networks,
		   const struct cv_addr *gateway4,
		   const struct cv_addr *gateway6);
/* A client's: every packet from TUN goes to s, the session that is up
 * (NULL: none is, and packets are dropped as no_route). */
void datapath_set_session(struct datapath *dp, struct cv_session *s);

/* Start reading the TUN device. */
int datapath_start(struct datapath *dp);

/* Messages a plugin delivered for session s: data into TUN, control to
 * the session. */
void datapath_deliver(struct datapath *dp, struct cv_session *s,
		      const struct cv_msg *msgs, unsigned int count);

#endif
