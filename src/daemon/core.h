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
#include <time.h>

#include "tun.h"

struct config;
struct loop;
struct nl;
struct hook;
struct cv_session;
struct shards;

/* What happened, and what was dropped by reason: logged on SIGUSR1 and
 * shown by culvertctl status. One list, so that the names shown cannot
 * drift from the fields. */
#define CORE_COUNTERS(X) \
	X(rx_packets) X(tx_packets) X(rx_bytes) X(tx_bytes) \
	X(malformed) X(before_hello) X(spoofed_source) X(spoofed_network) \
	X(spoofed_mac) X(mac_limit) X(flood_limited) \
	X(no_route) X(too_big) X(fragmented) X(pmtu_probes) X(pmtu_lowered) \
	X(tun_full) X(send_failed) X(refused) \
	X(pending_evicted) X(refusals_unlogged) \
	X(auth_failed) X(auth_throttled) \
	X(radius_accepted) X(radius_rejected) X(radius_challenged) \
	X(radius_timeouts) X(radius_bad_authenticator) X(radius_malformed) \
	X(radius_acct_sent) X(radius_acct_lost) \
	X(client_to_client) X(outside_routes) \
	X(after_end) \
	X(sessions_opened) X(sessions_closed) X(sessions_replaced) \
	X(resets_sent) X(resets_limited) X(resets_received) \
	X(gso_whole) X(gso_split) X(gro_joined) \
	X(udp_gso_tx) X(udp_gso_split) X(udp_gso_rx) \
	X(sessions_up) X(unknown_type) X(auth_skipped) X(csum_left) \
	X(handed_off) X(handoff_full)

struct counters {
#define COUNTER_FIELD(name) uint64_t name;
	CORE_COUNTERS(COUNTER_FIELD)
#undef COUNTER_FIELD
};

/* Why a server turned peers away after their link came up (refused
 * counts them all), and how password checks ended (auth_failed counts
 * the failures): the reason and result labels of culvert_refused_total
 * and culvert_logins_total in the metrics (culvertd(8), METRICS). */
#define REFUSAL_REASONS(X) \
	X(waiting) X(version) X(full) X(draining) X(no_certificate) X(bad_identity) \
	X(device_type) \
	X(throttled) X(no_password) X(login_failed) X(cert_user_mismatch) \
	X(busy) X(too_many_routes) X(pool_exhausted) X(address_in_use) \
	X(network_route) X(mtu) X(script) X(no_memory) \
	X(radius_unanswered) X(radius_reply)
#define LOGIN_RESULTS(X) \
	X(ok) X(unknown_user) X(wrong_password) X(locked) X(bad_hash) \
	X(error) X(bad_name) X(rejected) X(unanswered)

#define REASON_ENUM(name) REFUSAL_##name,
enum refusal { REFUSAL_REASONS(REASON_ENUM) N_REFUSALS };
#undef REASON_ENUM
#define RESULT_ENUM(name) LOGIN_##name,
enum login_result { LOGIN_RESULTS(RESULT_ENUM) N_LOGIN_RESULTS };
#undef RESULT_ENUM

struct core {
	struct config *cfg;		/* in force: a reload replaces it */
	struct loop *loop;
	struct nl *nl;
	struct tun tun;		/* loop 0's queue of it */
	/* A gateway's event loops after the first (shard.h); NULL with one. */
	struct shards *shards;
	/* Every session, of either role: for shutdown, status and kick. */
	struct cv_session *sessions;
	unsigned int n_sessions;
	/* The sessions by identity (identity_index.c). */
	struct cv_session **id_buckets;
	size_t id_n_buckets, id_n;
	unsigned int id_missed;		/* with an identity, not in it */
	struct hook *hooks;		/* scripts still running */
	struct counters counters;
	uint64_t refusals[N_REFUSALS];
	/* Server: culvertctl drain (drain.c): new sessions refused. */
	bool drained;
	uint64_t logins[N_LOGIN_RESULTS];
	time_t started_at;		/* wall clock, for status */
	int64_t started_ms;		/* loop_now(), for the uptime */
	uint64_t last_session_id;	/* each session's id is one more */
	int64_t malformed_logged_at;	/* to rate-limit that log line */
	bool stopping;			/* culvertd is ending every session */
	int exit_status;		/* culvertd's, when the loop stopped
					 * for a reason with its own status */
};

#endif
