/*
 * What a RADIUS server's answer to a login says, read into one
 * structure: Access-Accept, -Reject or -Challenge, the static inner
 * addresses (Framed-IP-Address, Framed-IPv6-Address), the networks
 * behind the client (Framed-Route, Framed-IPv6-Route), its group
 * (Filter-Id, else Class), the timeouts (Session-Timeout, Idle-Timeout)
 * and the accounting interval (Acct-Interim-Interval), the Reply-Message
 * for the client, and the Class values that accounting must echo
 * (RFC 2865 5.25).
 *
 * Pure: the packet in, the structure out, nothing allocated, so that
 * tests/fuzz/fuzz_radius.c can feed it anything. The packet has passed
 * radius_reply_check (radius_packet.h): its lengths add up and its
 * authenticators checked. A reply the server meant but culvert cannot
 * honour (a route that is not a prefix, two addresses) is unusable, and
 * says why: a login is refused rather than served with less than the
 * server said.
 */
#ifndef CULVERT_RADIUS_REPLY_H
#define CULVERT_RADIUS_REPLY_H

#include <stdint.h>

#include "addr.h"
#include "policy.h"
#include "proto.h"
#include "radius_packet.h"
#include "user_name.h"

#define RADIUS_CLASS_MAX 4

struct radius_class {
	uint8_t len;
	uint8_t value[RADIUS_VALUE_MAX];
};

struct radius_reply {
	uint8_t code;			/* enum radius_code */
	/* Static inner addresses; family 0: none, or the pool's choice. */
	struct cv_addr addr4, addr6;
	unsigned int n_networks;
	struct cv_prefix networks[POLICY_MAX_NETWORKS];
	char group[USER_NAME_MAX + 1];	/* "": none */
	unsigned int session_timeout;	/* seconds; 0: none */
	unsigned int idle_timeout;
	unsigned int interim;		/* Acct-Interim-Interval */
	/* The Reply-Messages, printable, one after the other. */
	char message[PROTO_MAX_TEXT + 1];
	unsigned int n_class;
	struct radius_class class[RADIUS_CLASS_MAX];
	/* Why it cannot be used ("" when it can), and what was left out. */
	char problem[200];
	char note[200];
};

/* Read packet into *r. Returns 0, or -EINVAL when it cannot be used
 * (r->problem says why). */
int radius_reply_parse(const uint8_t *packet, struct radius_reply *r);

/* A client's policy for one session: the reply's settings laid over
 * those of its client file (file may be NULL): the reply's addresses,
 * networks and group where it has them, the file's routes and
 * restrict-to-routes. *out borrows from r and file; nothing to free. */
void radius_reply_overlay(const struct radius_reply *r,
			  const struct client_policy *file,
			  const char *identity, struct client_policy *out);

#endif
