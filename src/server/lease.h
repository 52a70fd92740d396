/*
 * What a session holds on the server while it lives, and gives back at
 * its end: its inner addresses (its policy's static ones, or leased from
 * pool and pool6) and the networks behind it (a site), each in the route
 * table, and the networks as kernel routes through the TUN device too,
 * so that the gateway's own routing sends their traffic into the tunnel.
 *
 * One session per client: a new session of the same client (the same
 * identity; over udp, which proves none, the same IP asking back the
 * address an older session holds) replaces the older one, which gives
 * back its addresses and networks at once, for the new one to take, and
 * ends at the loop's next turn (BYE, replaced; sessions_replaced). A
 * client that restarted, a site router back before its old session
 * timed out, a client that tried a new session beside one it doubted:
 * each comes back with what it had. duplicate-identity = yes keeps both
 * sessions, for an identity shared on purpose; a static address or a
 * network is still in one place at a time, and the new session is
 * refused it (busy: it may come back once the older one has ended).
 */
#ifndef CULVERT_LEASE_H
#define CULVERT_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

struct cv_session;

/* Why a session could not have what it needs: what the client is told,
 * and what the server's log says. */
struct lease_refusal {
	enum refusal counted;		/* culvert_refused_peers_total's label */
	uint8_t reason;			/* enum proto_reason */
	char told[128];
	char logged[320];
};

/* s's addresses and networks, as s->policy (NULL: the pools only) says,
 * once the older sessions of its client gave theirs back. Returns 0, or
 * -1 with *why filled, everything given back. */
int lease_take(struct cv_session *s, struct lease_refusal *why);
/* Gives back what lease_take took; again is harmless. */
void lease_give_back(struct cv_session *s);

#endif
