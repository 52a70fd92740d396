/*
 * What a client accepts from a server's WELCOME before it touches the
 * host. proto_decode has already enforced the wire's rules (lengths, the
 * MTU's and keepalive's ranges, at most PROTO_MAX_ROUTES routes, no host
 * bits in a route); this decides whether the addresses and routes make
 * sense for this client, so that a malicious or misconfigured server
 * cannot take the client's loopback, loop the tunnel into itself, or
 * take all of its traffic unless the client said it may.
 */
#ifndef CULVERT_WELCOME_POLICY_H
#define CULVERT_WELCOME_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "proto.h"

/* What the client knows besides the welcome. */
struct welcome_policy {
	/* The server's outer address(es) this client connects to: no route
	 * but a default may cover one (it would loop the tunnel into
	 * itself). */
	const struct cv_addr *outer;
	unsigned int n_outer;
	/* accept-default-route: a route of length 0 or 1 (0.0.0.0/0, or
	 * the 0.0.0.0/1 + 128.0.0.0/1 split) takes all of the client's
	 * traffic; only with the client's consent. */
	bool accept_default_route;
	/* accept-routes: when n_accept > 0, every route must lie inside
	 * one of these. */
	const struct cv_prefix *accept;
	unsigned int n_accept;
};

/* 0 when the client may install w. Otherwise -EPROTO when the server
 * sent something no client should install (the client says bye with
 * reason PROTOCOL), or -EPERM when only this client's configuration
 * refuses it (reason POLICY); why then holds a sentence naming what is
 * wrong, e.g. "route 1 (192.0.2.0/24) covers the server's address
 * 192.0.2.1 ...". Pure: no I/O, no state. */
int welcome_policy_check(const struct proto_welcome *w,
			 const struct welcome_policy *p, char *why,
			 size_t why_size);

/* Whether w gives the client an inner address of family (AF_INET or
 * AF_INET6): a route of a family without one has nowhere to come from. */
bool welcome_has_inner(const struct proto_welcome *w, int family);

#endif
