/*
 * What every part of culvertd shares, whichever role it plays: the config
 * in force, the loop, netlink, the TUN device, the list of sessions, the
 * administrator's scripts still running, and the counters. The daemon
 * sets it up and owns it; the server, the client's connection, the
 * sessions, the datapath, the control socket and the status read it, and
 * count into it. It holds data only: nothing calls upward through it.
 */
#ifndef CULVERT_CORE_H
#define CULVERT_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "tun.h"

struct config;
struct loop;
struct nl;
struct hook;
struct cv_session;

/* What happened, and what was dropped by reason: logged on SIGUSR1 and
 * shown by culvertctl status. One list, so that the names shown cannot
 * drift from the fields. */
#define CORE_COUNTERS(X) \
	X(rx_packets) X(tx_packets) X(rx_bytes) X(tx_bytes) \
	X(malformed) X(before_hello) X(spoofed_source) X(no_route) \
	X(too_big) X(tun_full) X(send_failed) X(refused) \
	X(auth_failed) X(client_to_client) X(after_end) \
	X(sessions_opened) X(sessions_closed) X(sessions_replaced) \
	X(resets_sent) X(resets_limited) X(resets_received) \
	X(gso_whole) X(gso_split) X(gro_joined) \
	X(sessions_up) X(unknown_type) X(auth_skipped) X(csum_left)

struct counters {
#define COUNTER_FIELD(name) uint64_t name;
	CORE_COUNTERS(COUNTER_FIELD)
#undef COUNTER_FIELD
};

struct core {
	struct config *cfg;		/* in force: a reload replaces it */
	struct loop *loop;
	struct nl *nl;
	struct tun tun;
	/* Every session, of either role: for shutdown, status and kick. */
	struct cv_session *sessions;
	unsigned int n_sessions;
	struct hook *hooks;		/* scripts still running */
	struct counters counters;
	int64_t malformed_logged_at;	/* to rate-limit that log line */
	bool stopping;			/* culvertd is ending every session */
};

#endif
