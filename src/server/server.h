/*
 * The server: what culvertd holds when mode = server. The address pools
 * and the gateway's own inner addresses, the route table from an inner
 * address to its session, the counts of sessions before and after hello,
 * and password authentication (the checks on a worker thread, the
 * back-off after failures, and the password files reloads replaced).
 *
 * server.c sets it up and takes it down; session_server.c is what the
 * server does with each of its sessions, from the link up to the end.
 */
#ifndef CULVERT_SERVER_H
#define CULVERT_SERVER_H

#include <culvert/transport.h>

#include "addr.h"

struct auth;
struct auth_worker;
struct config;
struct core;
struct cv_host;
struct cv_session;
struct pool;
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
	struct route_table *routes;	/* inner address -> session */
	unsigned int n_pending;		/* sessions that have not said hello */
	unsigned int n_up;		/* sessions past hello */
	struct auth *auth;		/* when auth includes password */
	struct auth_worker *auth_worker;
	struct throttle *throttle;
	/* Password files replaced by reloads: a check may still be using
	 * one, so they live until the server ends. */
	struct retired_auth *retired_auth;
	struct stateless_reset *reset;	/* NULL: no resets (no secret) */
};

/* The password checks, the pools and the route table; touches no
 * device. Returns 0 or a negative errno, logged; server_free cleans up
 * either way. */
int server_new(struct core *core, struct server **out);
/* The TUN device up, with the gateway's inner addresses on it; and the
 * network around it checked (netcheck_server). */
int server_start(struct server *srv);
void server_free(struct server *srv);

/* A reload: the password file and PAM service of cfg, loaded into *out
 * (NULL when cfg's auth needs none), then put in force by
 * server_reload_auth_commit. Returns 0 or a negative errno, logged. */
int server_reload_auth_load(struct server *srv, const struct config *cfg,
			    struct auth **out);
int server_reload_auth_commit(struct server *srv, struct auth *auth);

/* session_server.c: a transport's link came up (struct cv_host's
 * link_up): its session, or NULL when too many wait for their hello. */
struct cv_session *server_link_up(void *srv, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info);
/* The token of a stateless reset to peer over h (struct cv_host's
 * reset_token): 0, -EAGAIN past the rate, -ENOTSUP without a secret. */
int server_reset_token(void *srv, struct cv_host *h,
		       const struct sockaddr *peer, socklen_t peer_len,
		       uint8_t *token);

#endif
