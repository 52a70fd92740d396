/*
 * The daemon: the state one culvertd holds, and its life from the config
 * file to a clean exit. Server and client share all of it; the mode only
 * decides who starts the conversation and who owns the address pool.
 */
#ifndef CULVERT_DAEMON_H
#define CULVERT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "config.h"
#include "core.h"
#include "host.h"
#include "tunnel_routes.h"

struct loop;
struct loop_timer;
struct nl;
struct pool;
struct route_table;
struct datapath;
struct auth;
struct throttle;
struct auth_worker;
struct control;
struct hook;
struct retired_auth;

struct daemon {
	struct core core;
	struct datapath *datapath;

	struct transports transports;

	unsigned int n_pending;		/* sessions that have not said hello */

	/* Server. */
	struct pool *pool;
	struct route_table *routes;
	struct cv_prefix server_addr;
	struct pool *pool6;		/* NULL without pool6 */
	struct cv_prefix server_addr6;	/* family 0 without pool6 */
	unsigned int n_up;		/* sessions past hello */
	struct auth *auth;		/* when auth includes password */
	struct auth_worker *auth_worker;
	struct throttle *throttle;

	/* Client: the one session, and the way back after losing it. */
	struct cv_session *client;
	char *password;			/* for auth = password servers */
	struct cv_addr previous_addr;	/* of the last session, to ask back */
	struct cv_addr previous_addr6;	/* and its IPv6 one (family 0: none) */
	unsigned int next_transport;	/* which transport to try next */
	unsigned int reconnect_delay_ms;
	/* A client's kill switch: the blocked routes of the session that
	 * ended, until the next one takes them over or culvertd stops. */
	struct tunnel_routes blocked;
	struct loop_timer *reconnect;
	struct loop_timer *fallback;	/* gives up on a slow transport */
	bool connecting;

	struct control *control;
	/* Password files replaced by reloads: a check may still be using
	 * one, so they live until the daemon ends. */
	struct retired_auth *retired_auth;

};

/* Takes cfg: daemon_cleanup frees it, also when this fails. */
int daemon_init(struct daemon *d, struct config *cfg);
/* Loads and checks everything a run would, then stops: --check-config. */
int daemon_check(struct config *cfg);
int daemon_run(struct daemon *d);
void daemon_cleanup(struct daemon *d);

/* The client lost its session (or never got one): try again later. */
void daemon_client_lost(struct daemon *d);
/* The client's connect() is over: its link came up, or it failed. */
void daemon_connect_done(struct daemon *d);
/* Read the config file again (SIGHUP, culvertctl reload). New settings
 * apply to new sessions; live ones stay up. Each transport with a reload
 * entry loads its credentials again (and may end peers that no longer
 * pass). A file that does not parse, changes a key that needs a restart,
 * or names credentials that do not load, leaves everything as it was.
 * Returns 0 or a negative errno, after logging why. */
int daemon_reload(struct daemon *d);
/* The password files reloads replaced (reload.c). */
void daemon_free_retired(struct daemon *d);

#endif
