/*
 * The server: what culvertd holds when mode = server. The address pools
 * and the gateway's own inner addresses, the per-client policy, the
 * route table from an inner prefix to its session, the counts of
 * sessions before and after hello, the places of links still waiting
 * for hello (pending.h), the log of refused logins (refusal_log.h), and
 * password authentication (the checks on worker threads, the back-off
 * after failures, and the
 * password files reloads replaced).
 *
 * server.c sets it up and takes it down; session_server.c is what the
 * server does with each of its sessions, from the link up to the end,
 * with lease.c for what a session holds; server_reload.c is what a
 * reload changes.
 */
#ifndef CULVERT_SERVER_H
#define CULVERT_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <culvert/transport.h>

#include "addr.h"

struct auth;
struct auth_worker;
struct config;
struct core;
struct cv_host;
struct cv_session;
struct loop_timer;
struct pending;
struct policy_set;
struct pool;
struct radius;
struct radius_config;
struct refusal_log;
struct retired_auth;
struct route_table;
struct stateless_reset;
struct throttle;

struct server {
	struct core *core;
	struct pool *pool;		/* NULL on an IPv6-only tunnel */
	struct pool *pool6;		/* NULL without pool6 */
	struct cv_prefix addr4;		/* the gateway's; family 0 without pool */
	struct cv_prefix addr6;		/* family 0 without pool6 */
	/* Inner prefix -> session: the sessions' addresses and the networks
	 * behind them, while they are up. */
	struct route_table *routes;
	struct policy_set *policy;	/* per-client and per-group settings */
	/* Every configured network -> its client's name, up or not: what
	 * the datapath names a drop after (spoofed_network). */
	struct route_table *site_networks;
	unsigned int n_pending;		/* sessions not up yet */
	unsigned int n_up;		/* sessions past hello */
	struct pending *pending;	/* those that have not said hello */
	struct refusal_log *refusals;	/* lines about refused logins */
	struct auth *auth;		/* when auth includes password */
	struct auth_worker *auth_worker;
	struct radius *radius;		/* when auth includes radius */
	struct throttle *throttle;
	/* Password files replaced by reloads: a check may still be using
	 * one, so they live until the server ends. */
	struct retired_auth *retired_auth;
	struct stateless_reset *reset;	/* NULL: no resets (no secret) */
	/* culvertctl drain (drain.c): new sessions refused, and those up
	 * ended a batch at a time, each told to move to another gateway. */
	struct loop_timer *drain;	/* core->drained: the byes' pace */
};

/* The password checks, the pools and the route table; touches no
 * device. Returns 0 or a negative errno, logged; server_free cleans up
 * either way. */
int server_new(struct core *core, struct server **out);
/* The TUN device up, with the gateway's inner addresses on it; and the
 * network around it checked (netcheck_server). A TAP device joins its
 * bridge instead. */
int server_start(struct server *srv);

/* bridge_port.c, device-type = tap: the TAP device a port of `bridge`,
 * at its MTU, up; and the bridge's hairpin on that port as
 * client-to-client says (again at a reload). 0 or a negative errno,
 * logged. */
int server_bridge_join(struct server *srv);
int server_bridge_hairpin(struct server *srv);
void server_free(struct server *srv);

/* drain.c: culvertctl drain (on) and undrain. Returns the number of
 * sessions that will be told to move; the words for culvertctl in out. */
int server_drain(struct server *srv, bool on, char *out, size_t size);

/* The per-client policy of cfg (client-config-dir, group-config-dir),
 * loaded and checked against cfg and this gateway's own addresses into
 * *out. Returns 0 or a negative errno, each error logged as FILE:LINE. */
int server_policy_load(const struct config *cfg, struct policy_set **out);

/* server_reload.c. A reload: the password file and PAM service of cfg,
 * loaded into *out (NULL when cfg's auth needs none), then put in force
 * by server_reload_auth_commit. Returns 0 or a negative errno, logged. */
int server_reload_auth_load(struct server *srv, const struct config *cfg,
			    struct auth **out);
int server_reload_auth_commit(struct server *srv, struct auth *auth);
/* The RADIUS servers of cfg (auth = radius), loaded into *out (NULL
 * when cfg asks no RADIUS), then put in force for the requests from
 * then on. Returns 0 or a negative errno, logged. */
int server_reload_radius_load(struct server *srv, const struct config *cfg,
			      struct radius_config **out);
void server_reload_radius_commit(struct server *srv, struct radius_config *rc);
/* The new policy in force (cfg is in force already): new sessions get
 * it; a live session whose client's or group's settings changed what it
 * was told (its static address, routes, networks), or whose address is
 * now another client's, ends so that it connects again; one where only
 * its group's name or restrict-to-routes changed is updated in place;
 * the others stay as they are. Takes set. */
void server_reload_policy_commit(struct server *srv, struct policy_set *set);

/* session_server.c: a transport's link came up (struct cv_host's
 * link_up): its session (shell, opened, when another loop made one), or
 * NULL when out of memory. When too many wait for their hello, the
 * oldest of them gives way (pending.h). */
struct cv_session *server_link_up(void *srv, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info,
				  struct cv_session *shell);
/* The token of a stateless reset to peer over h (struct cv_host's
 * reset_token): 0, -EAGAIN past the rate, -ENOTSUP without a secret.
 * Runs on h's own event loop, whichever: it reads the secret, fixed
 * while the server lives, and counts against that loop's own rate. */
int server_reset_token(void *srv, struct cv_host *h,
		       const struct sockaddr *peer, socklen_t peer_len,
		       uint8_t *token);

#endif
