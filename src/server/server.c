/* The server's state: set up (password checks, pools, the TUN device's
 * addresses), the password file replaced by reloads, and taken down. */
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "netcheck.h"
#include "netlink.h"
#include "pool.h"
#include "route.h"
#include "stateless_reset.h"
#include "throttle.h"

struct retired_auth {
	struct auth *auth;
	struct retired_auth *next;
};

static int setup_auth(struct server *srv)
{
	const struct config *cfg = srv->core->cfg;
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
	if ((err = auth_new(cfg->password_file, cfg->pam_service,
			    &srv->auth)) < 0)
		return err;
	if ((err = throttle_new(&srv->throttle)) < 0 ||
	    (err = auth_worker_new(srv->core->loop, srv->auth,
				   &srv->core->counters.auth_skipped,
				   &srv->auth_worker)) < 0)
		log_err("cannot set up password checks: %s", strerror(-err));
	return err;
}

/* pool and pool6: the gateway takes the first address of each, clients
 * lease the rest. An IPv6-only tunnel (pool6, no pool) leaves srv->pool
 * NULL and srv->addr4 of family 0. */
static int setup_pools(struct server *srv)
{
	const struct config *cfg = srv->core->cfg;
	int err = cfg->has_pool ? pool_new(&cfg->pool, &srv->pool) : 0;

	if (err == 0)
		err = route_table_new(&srv->routes);
	if (err < 0) {
		log_err("cannot set up the address pool: %s", strerror(-err));
		return err;
	}
	if (srv->pool)
		srv->addr4 = pool_server_addr(srv->pool);
	if (!cfg->has_pool6)
		return 0;
	if ((err = pool_new(&cfg->pool6, &srv->pool6)) < 0) {
		log_err("cannot set up the IPv6 address pool: %s", strerror(-err));
		return err;
	}
	srv->addr6 = pool_server_addr(srv->pool6);
	return 0;
}

int server_new(struct core *core, struct server **out)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int err;

	*out = srv;
	if (!srv)
		return -ENOMEM;
	srv->core = core;
	if ((err = setup_auth(srv)) < 0 ||
	    (err = stateless_reset_new(core->cfg, &srv->reset)) < 0)
		return err;
	return setup_pools(srv);
}

static int add_address(struct server *srv, const struct cv_prefix *addr)
{
	const struct tun *tun = &srv->core->tun;
	char buf[ADDR_STRLEN];
	const char *why;
	int err = nl_addr_add(srv->core->nl, tun->ifindex, addr, &why);

	if (err < 0)
		log_err("cannot add address %s to %s: %s", prefix_str(addr, buf),
			tun->name, why ? why : strerror(-err));
	return err;
}

int server_start(struct server *srv)
{
	const struct config *cfg = srv->core->cfg;
	const struct tun *tun = &srv->core->tun;
	char buf[ADDR_STRLEN];
	const char *why;
	int err = nl_link_set(srv->core->nl, tun->ifindex, cfg->mtu, true, &why);

	if (err < 0) {
		log_err("cannot set %s up with MTU %u: %s", tun->name, cfg->mtu,
			why ? why : strerror(-err));
		return err;
	}
	if (srv->pool) {
		if ((err = add_address(srv, &srv->addr4)) < 0)
			return err;
		log_notice("%s is up: %s, mtu %u, %u client addresses",
			   tun->name, prefix_str(&srv->addr4, buf), cfg->mtu,
			   pool_size(srv->pool));
	} else {
		log_notice("%s is up: mtu %u, IPv6 only (no pool)", tun->name,
			   cfg->mtu);
	}
	if (srv->pool6) {
		if ((err = add_address(srv, &srv->addr6)) < 0)
			return err;
		log_notice("%s has %s too, %u client IPv6 addresses", tun->name,
			   prefix_str(&srv->addr6, buf), pool_size(srv->pool6));
	}
	netcheck_server(cfg);
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	auth_worker_free(srv->auth_worker);
	while (srv->retired_auth) {
		struct retired_auth *r = srv->retired_auth;
		srv->retired_auth = r->next;
		auth_free(r->auth);
		free(r);
	}
	auth_free(srv->auth);
	throttle_free(srv->throttle);
	route_table_free(srv->routes);
	pool_free(srv->pool);
	pool_free(srv->pool6);
	stateless_reset_free(srv->reset);
	free(srv);
}

/* ---- reload */

int server_reload_auth_load(struct server *srv, const struct config *cfg,
			    struct auth **out)
{
	*out = NULL;
	if (!(cfg->auth & AUTH_METHOD_PASSWORD))
		return 0;
	if (!srv->auth_worker) {
		log_err("%s: auth = password needs a restart of culvertd to take effect",
			cfg->path);
		return -EINVAL;
	}
	if (!cfg->password_file && !cfg->pam_service) {
		log_err("%s: auth needs 'password-file' or 'pam-service'", cfg->path);
		return -EINVAL;
	}
	return auth_new(cfg->password_file, cfg->pam_service, out);
}

int server_reload_auth_commit(struct server *srv, struct auth *auth)
{
	if (!auth)
		return 0;
	struct retired_auth *r = malloc(sizeof(*r));
	if (!r) {
		auth_free(auth);
		return -ENOMEM;
	}
	*r = (struct retired_auth){ srv->auth, srv->retired_auth };
	srv->retired_auth = r;
	srv->auth = auth;
	auth_worker_set_auth(srv->auth_worker, auth);
	return 0;
}
