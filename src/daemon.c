#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "auth.h"
#include "auth_worker.h"
#include "throttle.h"
#include "control.h"
#include "datapath.h"
#include "hook.h"
#include "host.h"
#include "log.h"
#include "loop.h"
#include "netcheck.h"
#include "netlink.h"
#include "password.h"
#include "pool.h"
#include "privilege.h"
#include "status.h"
#include "route.h"
#include "session.h"
#include "tunnel_routes.h"

#define RECONNECT_FIRST_MS 1000
#define RECONNECT_MAX_MS 60000

/* ---- the client's way back */

static void client_connect(struct daemon *d)
{
	struct cv_host *h = &d->transports.host[d->next_transport];

	log_info("connecting to %s over %s", d->core.cfg->remote, h->t->name);
	d->connecting = true;
	/* With another transport to try, a silent one (UDP dropped on the
	 * way) must not hold the client for a whole handshake timeout. */
	if (d->transports.n > 1)
		loop_timer_arm(d->fallback, d->core.cfg->fallback_timeout * 1000);
	int err = h->inst ? h->t->connect(h->inst) : -ENODEV;
	if (err < 0) {
		loop_timer_arm(d->fallback, -1);
		d->connecting = false;
		daemon_client_lost(d);
	}
}

static void on_reconnect(void *arg)
{
	client_connect(arg);
}

void daemon_connect_done(struct daemon *d)
{
	d->connecting = false;
	loop_timer_arm(d->fallback, -1);
}

static void on_fallback(void *arg)
{
	struct daemon *d = arg;
	struct cv_host *from = &d->transports.host[d->next_transport];

	if (!d->connecting)
		return;
	d->next_transport = (d->next_transport + 1) % d->transports.n;
	log_notice("no %s link to %s after %u s; falling back to %s",
		   from->t->name, d->core.cfg->remote, d->core.cfg->fallback_timeout,
		   d->transports.host[d->next_transport].t->name);
	transport_restart(from);
	d->connecting = false;
	client_connect(d);
}

void daemon_client_lost(struct daemon *d)
{
	if (d->core.stopping || d->core.cfg->mode != MODE_CLIENT || d->connecting)
		return;
	d->next_transport = (d->next_transport + 1) % d->transports.n;
	unsigned int delay = d->reconnect_delay_ms ? d->reconnect_delay_ms * 2
						   : RECONNECT_FIRST_MS;
	if (delay > RECONNECT_MAX_MS)
		delay = RECONNECT_MAX_MS;
	d->reconnect_delay_ms = delay;
	/* Jitter of +-25%: clients that lost one server together must not
	 * all come back in the same millisecond. */
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)loop_now(d->core.loop);
	unsigned int jittered = delay - delay / 4 + r % (delay / 2 + 1);
	log_notice("reconnecting in %.1f s", jittered / 1000.0);
	loop_timer_arm(d->reconnect, jittered);
}

static struct cv_session *daemon_link_up(void *owner, struct cv_host *h,
					 struct cv_link *link,
					 const struct cv_link_info *info)
{
	struct daemon *d = owner;

	if (d->core.cfg->mode == MODE_CLIENT)
		daemon_connect_done(d);
	return session_new(d, h, link, info);
}

static void daemon_connect_failed(void *owner, struct cv_host *h)
{
	daemon_connect_done(owner);
	daemon_client_lost(owner);
}

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

/* pool6: the gateway's ::1 on the TUN device, clients lease the rest. */
static int setup_server_ipv6(struct daemon *d)
{
	const struct config *cfg = d->core.cfg;
	char buf[ADDR_STRLEN];
	const char *why;
	int err = pool_new(&cfg->pool6, &d->pool6);

	if (err < 0) {
		log_err("cannot set up the IPv6 address pool: %s", strerror(-err));
		return err;
	}
	d->server_addr6 = pool_server_addr(d->pool6);
	err = nl_addr_add(d->core.nl, d->core.tun.ifindex, &d->server_addr6, &why);
	if (err < 0) {
		log_err("cannot add address %s to %s: %s",
			prefix_str(&d->server_addr6, buf), d->core.tun.name,
			why ? why : strerror(-err));
		return err;
	}
	log_notice("%s has %s too, %u client IPv6 addresses", d->core.tun.name,
		   prefix_str(&d->server_addr6, buf), pool_size(d->pool6));
	return 0;
}

static int setup_server_tun(struct daemon *d)
{
	const struct config *cfg = d->core.cfg;
	char buf[ADDR_STRLEN];
	const char *why;
	int err;

	/* An IPv6-only tunnel (pool6, no pool) leaves d->pool NULL and
	 * d->server_addr of family 0. */
	err = cfg->has_pool ? pool_new(&cfg->pool, &d->pool) : 0;
	if (err == 0)
		err = route_table_new(&d->routes);
	if (err < 0) {
		log_err("cannot set up the address pool: %s", strerror(-err));
		return err;
	}
	if (d->pool)
		d->server_addr = pool_server_addr(d->pool);
	err = nl_link_set(d->core.nl, d->core.tun.ifindex, cfg->mtu, true, &why);
	if (err < 0) {
		log_err("cannot set %s up with MTU %u: %s", d->core.tun.name, cfg->mtu,
			why ? why : strerror(-err));
		return err;
	}
	if (d->pool) {
		err = nl_addr_add(d->core.nl, d->core.tun.ifindex, &d->server_addr, &why);
		if (err < 0) {
			log_err("cannot add address %s to %s: %s",
				prefix_str(&d->server_addr, buf), d->core.tun.name,
				why ? why : strerror(-err));
			return err;
		}
		log_notice("%s is up: %s, mtu %u, %u client addresses",
			   d->core.tun.name, prefix_str(&d->server_addr, buf),
			   cfg->mtu, pool_size(d->pool));
	} else {
		log_notice("%s is up: mtu %u, IPv6 only (no pool)", d->core.tun.name,
			   cfg->mtu);
	}
	if (cfg->has_pool6 && (err = setup_server_ipv6(d)) < 0)
		return err;
	netcheck_server(cfg);
	return 0;
}

static int setup_server_auth(struct daemon *d)
{
	const struct config *cfg = d->core.cfg;
	int err;

	if (!(cfg->auth & AUTH_METHOD_PASSWORD))
		return 0;
	if (!cfg->password_file && !cfg->pam_service) {
		log_err("%s: auth = %s needs 'password-file' or 'pam-service'",
			cfg->path, cfg->auth & AUTH_METHOD_CERTIFICATE
					   ? "certificate+password"
					   : "password");
		return -EINVAL;
	}
	if ((err = auth_new(cfg->password_file, cfg->pam_service, &d->auth)) < 0)
		return err;
	if ((err = throttle_new(&d->throttle)) < 0 ||
	    (err = auth_worker_new(d->core.loop, d->auth, &d->core.counters.auth_skipped,
				   &d->auth_worker)) < 0)
		log_err("cannot set up password checks: %s", strerror(-err));
	return err;
}

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
	return privilege_drop(d->core.cfg, d->control ? path : NULL);
}

int daemon_check(struct config *cfg)
{
	struct daemon d = { .core.cfg = cfg, .core.tun.fd = -1 };
	int err = loop_new(&d.core.loop);

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

/* Where the transports' upcalls go: links to the daemon's role, data to
 * the datapath. */
static void point_transports(struct daemon *d)
{
	for (unsigned int i = 0; i < d->transports.n; i++) {
		struct cv_host *h = &d->transports.host[i];
		h->datapath = d->datapath;
		h->owner = d;
		h->link_up = daemon_link_up;
		h->connect_failed = d->core.cfg->mode == MODE_CLIENT
					    ? daemon_connect_failed
					    : NULL;
	}
}

int daemon_init(struct daemon *d, struct config *cfg)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->core.cfg = cfg;
	d->core.tun.fd = -1;
	if ((err = loop_new(&d->core.loop)) < 0 || (err = setup_signals(d)) < 0)
		return err;
	if ((err = transports_load(&d->transports, &d->core)) < 0)
		return err;
	transports_warn_insecure(&d->transports);
	if ((err = control_open(&d->core, &d->transports, on_control_reload, d,
				&d->control)) < 0)
		return err;
	if ((err = tun_open(cfg->device, cfg->offload, &d->core.tun)) < 0)
		return err;
	if ((err = nl_open(&d->core.nl)) < 0) {
		log_err("cannot open a netlink socket: %s", strerror(-err));
		return err;
	}
	const char *why;
	/* Without IPv6 in the kernel there is nothing to turn off. */
	if (nl_link_no_ipv6_autoconf(d->core.nl, d->core.tun.ifindex, &why) < 0)
		log_debug("cannot turn off IPv6 autoconfiguration on %s: %s",
			  d->core.tun.name, why ? why : "kernel refused");
	if ((err = datapath_new(d, &d->datapath)) < 0 ||
	    (err = datapath_start(d->datapath)) < 0) {
		log_err("cannot start the data path: %s", strerror(-err));
		return err;
	}
	point_transports(d);
	if (cfg->mode == MODE_SERVER) {
		if ((err = setup_server_auth(d)) < 0 ||
		    (err = setup_server_tun(d)) < 0)
			return err;
		for (unsigned int i = 0; i < d->transports.n; i++) {
			struct cv_host *h = &d->transports.host[i];
			if ((err = h->t->listen(h->inst)) < 0)
				return err;
		}
		return drop_privileges(d);
	}
	tunnel_routes_clean_stale(d->core.nl, cfg);
	if ((err = password_load(cfg, &d->password)) < 0)
		return err;
	d->reconnect = loop_timer_new(d->core.loop, on_reconnect, d);
	d->fallback = loop_timer_new(d->core.loop, on_fallback, d);
	if (!d->reconnect || !d->fallback)
		return -ENOMEM;
	log_notice("%s created; waiting for the server to assign an address",
		   d->core.tun.name);
	if ((err = drop_privileges(d)) < 0)
		return err;
	client_connect(d);
	return 0;
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
	d->core.stopping = true;
	while (d->core.sessions)
		session_end(d->core.sessions, PROTO_REASON_SHUTDOWN, "culvertd is stopping");
	tunnel_routes_down(&d->blocked, d->core.nl, d->core.cfg, d->core.tun.ifindex);
	transports_unload(&d->transports);
	auth_worker_free(d->auth_worker);
	control_close(d->control);
	hook_abandon_all(&d->core.hooks);
	daemon_free_retired(d);
	loop_timer_free(d->reconnect);
	loop_timer_free(d->fallback);
	datapath_free(d->datapath);
	if (d->core.loop && d->core.tun.fd >= 0)
		loop_unwatch(d->core.loop, d->core.tun.fd);
	tun_close(&d->core.tun);
	nl_close(d->core.nl);
	route_table_free(d->routes);
	pool_free(d->pool);
	pool_free(d->pool6);
	config_free(d->core.cfg);	/* and every config a reload retired */
	auth_free(d->auth);
	throttle_free(d->throttle);
	password_free(d->password);
	loop_free(d->core.loop);
	memset(d, 0, sizeof(*d));
}
