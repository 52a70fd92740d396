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
#include "route.h"
#include "session.h"
#include "tunnel_routes.h"

#define RECONNECT_FIRST_MS 1000
#define RECONNECT_MAX_MS 60000

/* ---- transports */

static int check_transport(const struct config *cfg, const struct cv_host *h)
{
	const struct cv_transport *t = h->t;

	if (!(t->flags & CV_TRANSPORT_SECURE) && !cfg->insecure) {
		log_err("%s: transport '%s' neither encrypts nor authenticates anything; "
			"to use it anyway, on a network you trust, set 'insecure = yes'",
			cfg->path, t->name);
		return -EPERM;
	}
	return config_check_section(cfg, t->name, t->options);
}

/* Load every transport named in the config, check it, and create its
 * instance (which reads its config but opens nothing). */
static int load_transports(struct daemon *d)
{
	struct config *cfg = d->core.cfg;
	int err = plugin_system_init();

	if (err < 0)
		return err;
	d->plugins_ready = true;
	for (unsigned int i = 0; i < cfg->n_transports; i++) {
		struct cv_host *h = &d->transports[i];
		h->daemon = d;
		err = plugin_load(cfg->plugin_dir, cfg->transports[i], &h->plugin);
		if (err < 0)
			return err;
		d->n_transports++;
		h->t = h->plugin.transport;
		err = check_transport(cfg, h);
		if (err < 0)
			return err;
		err = h->t->create(&host_api, h, &h->inst);
		if (err < 0) {
			log_err("%s: transport '%s' cannot start: %s", cfg->path,
				h->t->name, strerror(-err));
			return err;
		}
	}
	const struct config_entry *unused = config_unused_section(cfg);
	if (unused)
		log_warn("%s:%u: section [%s] is for a transport not named in 'transport'; it is ignored",
			 cfg->path, unused->line, unused->section);
	return 0;
}

static void unload_transports(struct daemon *d)
{
	for (unsigned int i = 0; i < d->n_transports; i++) {
		struct cv_host *h = &d->transports[i];
		if (h->inst)
			h->t->destroy(h->inst);
		h->inst = NULL;
		plugin_unload(&h->plugin);
	}
	if (d->plugins_ready)
		plugin_system_exit();
	d->plugins_ready = false;
	d->n_transports = 0;
}

static void warn_insecure(const struct daemon *d)
{
	for (unsigned int i = 0; i < d->n_transports; i++)
		if (!(d->transports[i].t->flags & CV_TRANSPORT_SECURE))
			log_warn("INSECURE: transport '%s' sends every packet in clear text and accepts any peer (insecure = yes); use it only on a network you trust",
				 d->transports[i].t->name);
}

/* ---- the client's way back */

static void client_connect(struct daemon *d)
{
	struct cv_host *h = &d->transports[d->next_transport];

	log_info("connecting to %s over %s", d->core.cfg->remote, h->t->name);
	d->connecting = true;
	/* With another transport to try, a silent one (UDP dropped on the
	 * way) must not hold the client for a whole handshake timeout. */
	if (d->n_transports > 1)
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

/* The ABI has no way to cancel a connect(): a fresh instance abandons it,
 * since destroy() closes every socket of the old one. */
static void restart_transport(struct cv_host *h)
{
	h->t->destroy(h->inst);
	h->inst = NULL;
	int err = h->t->create(&host_api, h, &h->inst);
	if (err < 0) {
		h->inst = NULL;
		log_err("transport '%s' cannot start again: %s", h->t->name,
			strerror(-err));
	}
}

static void on_fallback(void *arg)
{
	struct daemon *d = arg;
	struct cv_host *from = &d->transports[d->next_transport];

	if (!d->connecting)
		return;
	d->next_transport = (d->next_transport + 1) % d->n_transports;
	log_notice("no %s link to %s after %u s; falling back to %s",
		   from->t->name, d->core.cfg->remote, d->core.cfg->fallback_timeout,
		   d->transports[d->next_transport].t->name);
	restart_transport(from);
	d->connecting = false;
	client_connect(d);
}

void daemon_client_lost(struct daemon *d)
{
	if (d->core.stopping || d->core.cfg->mode != MODE_CLIENT || d->connecting)
		return;
	d->next_transport = (d->next_transport + 1) % d->n_transports;
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
	daemon_log_counters(arg);
}

static void on_reload_signal(void *arg, int signo)
{
	daemon_reload(arg);
}

struct counter_line {
	char *line;
	size_t size, used;
	const char *transport;
};

static void append_transport_counter(void *arg, const char *name,
				     uint64_t value)
{
	struct counter_line *c = arg;

	if (c->used < c->size)
		c->used += (size_t)snprintf(c->line + c->used, c->size - c->used,
					    " %s.%s=%llu", c->transport, name,
					    (unsigned long long)value);
}

void daemon_log_counters(const struct daemon *d)
{
	char line[2048];
	size_t used = 0;

#define COUNTER_PRINT(name) \
	if (used < sizeof(line)) \
		used += (size_t)snprintf(line + used, sizeof(line) - used, \
					 " " #name "=%llu", \
					 (unsigned long long)d->core.counters.name);
	CORE_COUNTERS(COUNTER_PRINT)
#undef COUNTER_PRINT
	/* The transports' own counters, as tls.NAME=VALUE. */
	for (unsigned int i = 0; i < d->n_transports; i++) {
		const struct cv_host *h = &d->transports[i];
		struct counter_line c = { line, sizeof(line), used, h->t->name };
		if (h->inst && TRANSPORT_HAS(h->t, stats))
			h->t->stats(h->inst, append_transport_counter, &c);
		used = c.used;
	}
	log_notice("counters: sessions=%u%s", d->core.n_sessions, line);
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
		err = load_transports(&d);
	unload_transports(&d);
	loop_free(d.core.loop);
	return err;
}

int daemon_init(struct daemon *d, struct config *cfg)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->core.cfg = cfg;
	d->core.tun.fd = -1;
	if ((err = loop_new(&d->core.loop)) < 0 || (err = setup_signals(d)) < 0)
		return err;
	if ((err = load_transports(d)) < 0)
		return err;
	warn_insecure(d);
	if ((err = control_open(d, &d->control)) < 0)
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
	if (cfg->mode == MODE_SERVER) {
		if ((err = setup_server_auth(d)) < 0 ||
		    (err = setup_server_tun(d)) < 0)
			return err;
		for (unsigned int i = 0; i < d->n_transports; i++) {
			struct cv_host *h = &d->transports[i];
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
	unload_transports(d);
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
