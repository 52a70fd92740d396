/*
 * The daemon: one culvertd from its config file to a clean exit. It sets
 * up what every role shares (struct core: the loop, the TUN device,
 * netlink; and the transports, the datapath, the control socket), then
 * plays one role: the server (server.h) or the client's connection
 * (client.h). What lies below reports upward through the callbacks the
 * daemon installs; nothing calls into the daemon.
 */
#ifndef CULVERT_DAEMON_H
#define CULVERT_DAEMON_H

#include "core.h"
#include "plugin_host.h"
#include "run_dir.h"

struct client;
struct config;
struct control;
struct datapath;
struct metrics_http;
struct server;

struct daemon {
	struct core core;
	struct transports transports;
	struct datapath *datapath;
	struct control *control;
	struct metrics_http *metrics;	/* metrics-listen, or NULL */
	struct run_dir run;		/* its directory under /run */
	struct server *server;		/* mode = server */
	struct client *client;		/* mode = client */
};

/* Takes cfg: daemon_cleanup frees it, also when this fails. detached:
 * culvertd runs without -f (a pid file by default). */
int daemon_init(struct daemon *d, struct config *cfg, bool detached);
/* Loads and checks everything a run would, then stops: --check-config. */
int daemon_check(struct config *cfg);
int daemon_run(struct daemon *d);
void daemon_cleanup(struct daemon *d);

/* Read the config file again (SIGHUP, culvertctl reload). New settings
 * apply to new sessions; live ones stay up. Each transport with a reload
 * entry loads its credentials again (and may end peers that no longer
 * pass). A file that does not parse, changes a key that needs a restart,
 * or names credentials that do not load, leaves everything as it was.
 * Returns 0 or a negative errno, after logging why. */
int daemon_reload(struct daemon *d);

#endif
