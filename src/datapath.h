/*
 * The fast path: inner packets between the TUN device and the sessions.
 * Reads a batch from TUN, finds each packet's session, hands each session
 * its packets in one send(); and writes what peers deliver into TUN after
 * checking that a peer sends only from its own inner address.
 */
#ifndef CULVERT_DATAPATH_H
#define CULVERT_DATAPATH_H

#include <culvert/transport.h>

struct daemon;
struct datapath;
struct cv_session;

int datapath_new(struct daemon *d, struct datapath **out);
void datapath_free(struct datapath *dp);

/* Start reading the TUN device. */
int datapath_start(struct datapath *dp);

/* Messages a plugin delivered for session s: data into TUN, control to
 * the session. */
void datapath_deliver(struct datapath *dp, struct cv_session *s,
		      const struct cv_msg *msgs, unsigned int count);

#endif
