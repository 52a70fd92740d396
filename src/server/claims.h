/*
 * Whether a network may lie behind a session now, checked when its
 * session takes it. The files of client-config-dir are checked as a
 * whole at start and reload (policy.c); a RADIUS reply's networks
 * (Framed-Route) come one login at a time, so each is checked here
 * against what holds an address now: the pools, the gateway's own
 * addresses, the networks of every client's file, and the networks of
 * every live session. An overlap, not only the same prefix, is a clash:
 * longest match would send part of one client's network to another.
 */
#ifndef CULVERT_CLAIMS_H
#define CULVERT_CLAIMS_H

#include <stddef.h>

#include "addr.h"

struct cv_session;

/* 0 when net may be s's; -1 when it clashes, with what it clashes with
 * in why (for the log). A live session of s's own client that holds an
 * overlapping network gives it up and ends at the next turn, as lease.c
 * does for the same prefix. */
int claims_check_network(struct cv_session *s, const struct cv_prefix *net,
			 char *why, size_t size);

#endif
