/*
 * One RADIUS request asked of the servers in turn, on a worker thread
 * (it blocks for as long as they take): each server tried `tries` times,
 * `timeout_ms` apart, with the same packet (RFC 5080 2.2.1), until one
 * answers with a reply signed with its secret; a server that did not
 * answer is passed over (tried last) for RADIUS_DEAD_MS, so that a dead
 * primary does not hold every login for its whole timeout.
 *
 * Each way it goes wrong is logged as it happens, in words that say what
 * to do: which server did not answer, after how long, which is tried
 * next; a reply not signed with our secret (a wrong shared secret, or a
 * forgery); a malformed or oversized reply (discarded: the real answer
 * may still come).
 */
#ifndef CULVERT_RADIUS_CLIENT_H
#define CULVERT_RADIUS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "radius_config.h"
#include "radius_packet.h"

#define RADIUS_DEAD_MS 30000

/* What a request carries before the client adds, per server, its
 * identifier, NAS address, hidden password and signatures. */
struct radius_request {
	uint8_t code;			/* Access- or Accounting-Request */
	/* The attributes, built with radius_add() and friends after a
	 * header that is not sent. */
	struct radius_packet attrs;
	char password[PROTO_MAX_TEXT + 1];	/* Access-Request */
	int64_t event_ms;		/* radius_now(): for Acct-Delay-Time */
	/* For the log lines: what it is ("alice's login", "the
	 * accounting Stop of session 12"), and the session's fields. */
	char what[120];
	char session[24], user[300], peer[64], transport[32];
};

enum radius_result {
	RADIUS_NO_ANSWER,		/* no server answered (logged) */
	RADIUS_ANSWERED,		/* reply holds a checked answer */
};

struct radius_outcome {
	enum radius_result result;
	char server[300];		/* the one that answered */
	size_t reply_len;
	uint8_t reply[RADIUS_PACKET_MAX];
	/* For the counters: servers that did not answer, and replies
	 * discarded as not ours or malformed. */
	unsigned int timeouts, bad_authenticator, malformed;
	int64_t took_ms;
};

/* Ask rc's servers: its auth servers for an Access-Request, its acct
 * servers for an Accounting-Request. */
void radius_exchange(struct radius_config *rc, const struct radius_request *req,
		     struct radius_outcome *out);

#endif
