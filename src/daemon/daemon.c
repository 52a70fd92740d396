#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "client.h"
#include "control.h"
#include "control_request.h"
#include "datapath.h"
#include "hook.h"
#include "identity_index.h"
#include "log.h"
#include "loop.h"
#ifdef HAVE_MICROHTTPD
#include "metrics_http.h"
#endif
#include "netlink.h"
#include "plugin_host.h"
#include "policy.h"
#include "privilege.h"
#include "radius_config.h"
#include "secret_file.h"
#include "server.h"
#include "session.h"
#include "shard.h"
#include "status.h"
#include "tunnel_routes.h"

/* ---- signals */

static void shutdown_sessions(struct daemon *d)
{
	d->core.stopping = true;
	while (d->core.sessions)
		session_end(d->core.sessions, PROTO_REASON_SHUTDOWN,
			    "culvertd is stopping");
}

static void on_stop_signal(void *arg, int signo)
{
	struct daemon *d = arg;

	log_notice("%s: stopping", strsignal(signo));
#ifdef HAVE_SYSTEMD
	sd_notify(0, "STOPPING=1");
#endif
	shutdown_sessions(d);
	loop_stop(d->core.loop);
}

static void on_counters_signal(void *arg, int signo)
{
	struct daemon *d = arg;

	status_log(&d->core, &d->transports);
}

static void on_reload_signal(void *arg, int signo)
{
	daemon_reload(arg);
}

/* ---- setup */

static int setup_signals(struct daemon *d)
{
	int err = 0;

	signal(SIGPIPE, SIG_IGN);
	err |= loop_signal(d->core.loop, SIGINT, on_stop_signal, d);
	err |= loop_signal(d->core.loop, SIGTERM, on_stop_signal, d);
	err |= loop_signal(d->core.loop, SIGUSR1, on_counters_signal, d);
	err |= loop_signal(d->core.loop, SIGHUP, on_reload_signal, d);
	if (err) {
		log_err("cannot set up signal handling");
		return -EIO;
	}
	return 0;
}

static int drop_privileges(struct daemon *d)
{
	char path[4096];

	control_path(d->core.cfg, path, sizeof(path));
	return privilege_drop(d->core.cfg, d->control ? path : NULL, &d->run);
}

int daemon_check(struct config *cfg)
{
	struct daemon d = { .core.cfg = cfg, .core.tun.fd = -1 };
	struct policy_set *policy = NULL;
	int err = loop_new(&d.core.loop);

	struct radius_config *radius = NULL;
	if (err == 0 && cfg->mode == MODE_SERVER)
		err = server_policy_load(cfg, &policy);
	policy_set_free(policy);
	if (err == 0)
		err = secret_files_check(cfg);
	/* The servers resolved, the secret read: what a start would do. */
	if (err == 0 && cfg->mode == MODE_SERVER &&
	    (cfg->auth & AUTH_METHOD_RADIUS))
		err = radius_config_load(cfg, &radius);
	radius_config_unref(radius);
	if (err == 0)
		err = privilege_check(cfg);
	if (err == 0)
		err = transports_load(&d.transports, &d.core);
	transports_unload(&d.transports);
	loop_free(d.core.loop);
	return err;
}

static int on_control_reload(void *arg)
{
	return daemon_reload(arg);
}

static int on_control_drain(void *arg, bool on, char *out, size_t size)
{
	struct daemon *d = arg;

	if (!d->server)
		return -EOPNOTSUPP;
	return server_drain(d->server, on, out, size);
}

/* Where the transports' upcalls go: links to the role the daemon plays,
 * data to the datapath. */
static void point_transports(struct daemon *d)
{
	for (unsigned int i = 0; i < d->transports.n; i++) {
		struct cv_host *h = d->transports.host[i];
		h->datapath = d->datapath;
		if (d->server) {
			h->owner = d->server;
			h->link_up = server_link_up;
			h->reset_token = server_reset_token;
		} else {
			h->owner = d->client;
			h->link_up = client_link_up;
			h->connect_failed = client_connect_failed;
		}
	}
}

static int start_server(struct daemon *d)
{
	int err;

	if ((err = server_new(&d->core, &d->server)) < 0 ||
	    (err = server_start(d->server)) < 0)
		return err;
	if ((err = datapath_serve(d->datapath, d->server->routes,
				  d->server->site_networks,
				  &d->server->addr4.addr,
				  &d->server->addr6.addr)) < 0)
		return err;
	point_transports(d);
	unsigned int loops = shard_loops(d->core.cfg), shared = 0;
	for (unsigned int i = 0; i < d->transports.n; i++)
		shared += !!(d->transports.host[i]->t->flags & CV_TRANSPORT_LOOPS);
	if (loops > 1 && !shared) {
		log_info("no transport here runs on several event loops: one loop carries every session");
		loops = 1;
	}
	if (loops > 1 &&
	    ((err = shards_new(&d->core, loops, d->datapath)) < 0 ||
	     (err = shards_add_transports(&d->core, &d->transports)) < 0 ||
	     (err = shards_serve(&d->core, d->server->routes,
				 d->server->site_networks,
				 &d->server->addr4.addr,
				 &d->server->addr6.addr)) < 0))
		return err;
	for (unsigned int i = 0; i < d->transports.n; i++) {
		struct cv_host *h = d->transports.host[i];
		if ((err = h->t->listen(h->inst)) < 0)
			return err;
	}
	if ((err = shards_listen(&d->core)) < 0 ||
	    (err = drop_privileges(d)) < 0)
		return err;
	return shards_start(&d->core);
}

static int start_client(struct daemon *d)
{
	int err;

	tunnel_routes_clean_stale(d->core.nl, d->core.cfg);
	if ((err = client_new(&d->core, &d->transports, d->datapath,
			      &d->client)) < 0)
		return err;
	point_transports(d);
	if (d->core.tun.tap) {
		if ((err = client_tap_setup(&d->core)) < 0)
			return err;
	} else {
		log_notice("%s created; waiting for the server to assign an address",
			   d->core.tun.name);
	}
	if ((err = drop_privileges(d)) < 0)
		return err;
	client_connect(d->client);
	return 0;
}

int daemon_init(struct daemon *d, struct config *cfg, bool detached)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->core.cfg = cfg;
	d->core.tun.fd = -1;
	d->core.started_at = time(NULL);
	if ((err = secret_files_check(cfg)) < 0 ||
	    (err = loop_new(&d->core.loop)) < 0 || (err = setup_signals(d)) < 0)
		return err;
	d->core.started_ms = loop_now(d->core.loop);
	if ((err = transports_load(&d->transports, &d->core)) < 0)
		return err;
	transports_warn_insecure(&d->transports);
	if ((err = run_dir_make(&d->run, cfg, detached)) < 0 ||
	    (err = control_open(&d->core, &d->transports, on_control_reload,
				on_control_drain, d,
				&d->control)) < 0 ||
	    (err = run_dir_write_pid(&d->run)) < 0)
		return err;
#ifdef HAVE_MICROHTTPD
	if (cfg->metrics_listen &&
	    (err = metrics_http_open(&d->core, &d->transports, &d->metrics)) < 0)
		return err;
#endif
	if ((err = tun_open(cfg->device, cfg->offload, cfg->tap,
			    shard_loops(cfg) > 1, &d->core.tun)) < 0)
		return err;
	if ((err = nl_open(&d->core.nl)) < 0) {
		log_err("cannot open a netlink socket: %s", strerror(-err));
		return err;
	}
	const char *why;
	/* Without IPv6 in the kernel there is nothing to turn off. A TAP
	 * client keeps it: it is a host on the LAN, and its IPv6 comes from
	 * the router advertisements there. */
	bool autoconf = cfg->tap && cfg->mode == MODE_CLIENT;
	if (!autoconf &&
	    nl_link_no_ipv6_autoconf(d->core.nl, d->core.tun.ifindex, &why) < 0)
		log_debug("cannot turn off IPv6 autoconfiguration on %s: %s",
			  d->core.tun.name, why ? why : "kernel refused");
	if ((err = datapath_new(&d->core, &d->datapath)) < 0 ||
	    (err = datapath_start(d->datapath)) < 0) {
		log_err("cannot start the data path: %s", strerror(-err));
		return err;
	}
	return cfg->mode == MODE_SERVER ? start_server(d) : start_client(d);
}

int daemon_run(struct daemon *d)
{
	int err = loop_run(d->core.loop);

	if (err < 0)
		shutdown_sessions(d);
	return err;
}

void daemon_cleanup(struct daemon *d)
{
	shutdown_sessions(d);
	/* The other loops send the byes, close the links, and end; then
	 * their instances go, before the plugins are unloaded. */
	shards_free(&d->core);
	/* Before the roles: a plugin's destroy() may still report a
	 * connect() that never came up. */
	transports_unload(&d->transports);
	client_free(d->client);
	server_free(d->server);
	control_close(d->control);
#ifdef HAVE_MICROHTTPD
	metrics_http_close(d->metrics);
#endif
	run_dir_clean(&d->run);
	hook_abandon_all(&d->core.hooks);
	identity_index_free(&d->core);
	datapath_free(d->datapath);
	if (d->core.loop && d->core.tun.fd >= 0)
		loop_unwatch(d->core.loop, d->core.tun.fd);
	tun_close(&d->core.tun);
	nl_close(d->core.nl);
	config_free(d->core.cfg);	/* and every config a reload retired */
	loop_free(d->core.loop);
	memset(d, 0, sizeof(*d));
}
