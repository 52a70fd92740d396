/* The server's state: set up (password checks, pools, per-client
 * policy, the TUN device's addresses), and taken down. */
#include "server.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "netcheck.h"
#include "netlink.h"
#include "pending.h"
#include "policy.h"
#include "policy_file.h"
#include "pool.h"
#include "radius.h"
#include "refusal_log.h"
#include "route.h"
#include "server_internal.h"
#include "stateless_reset.h"
#include "throttle.h"

/* auth = radius: the servers, the threads that ask them, the back-off
 * after the logins they refuse. */
static int setup_radius(struct server *srv)
{
	int err = throttle_new(&srv->throttle);

	if (err < 0 || (err = radius_new(srv->core, &srv->radius)) < 0)
		return err;
	return 0;
}

static int setup_auth(struct server *srv)
{
	const struct config *cfg = srv->core->cfg;
	int err;

	if (cfg->auth & AUTH_METHOD_RADIUS)
		return setup_radius(srv);
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
	    (err = auth_worker_new(srv->core->loop, srv->auth, 0,
				   &srv->core->counters.auth_skipped,
				   &srv->auth_worker)) < 0)
		log_err("cannot set up password checks: %s", strerror(-err));
	else
		log_info("passwords are checked on %u thread%s",
			 auth_worker_threads(srv->auth_worker),
			 auth_worker_threads(srv->auth_worker) == 1 ? "" : "s");
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

/* ---- per-client policy */

/* The gateway's own addresses, which no client's network may hold. */
size_t server_local_addresses(struct policy_local **out)
{
	struct ifaddrs *ifas;
	size_t n = 0, cap = 0;

	*out = NULL;
	if (getifaddrs(&ifas) < 0)
		return 0;
	for (const struct ifaddrs *i = ifas; i; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct policy_local *l = reallocarray(*out, cap, sizeof(*l));
			if (!l)
				break;
			*out = l;
		}
		struct policy_local *l = &(*out)[n++];
		memset(l, 0, sizeof(*l));
		l->addr.family = sa->sa_family;
		if (sa->sa_family == AF_INET)
			l->addr.v4 = ((const struct sockaddr_in *)sa)->sin_addr;
		else
			l->addr.v6 = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		snprintf(l->ifname, sizeof(l->ifname), "%s", i->ifa_name);
	}
	freeifaddrs(ifas);
	return n;
}

int server_policy_load(const struct config *cfg, struct policy_set **out)
{
	struct policy_local *local;
	int err = policy_load(cfg, out);

	if (err < 0)
		return err;
	size_t n = server_local_addresses(&local);
	unsigned int errors = policy_set_check(*out, cfg, local, n);
	free(local);
	if (errors) {
		policy_set_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	if ((*out)->n_clients || (*out)->n_groups)
		log_info("per-client policy: %zu client%s, %zu group%s",
			 (*out)->n_clients, (*out)->n_clients == 1 ? "" : "s",
			 (*out)->n_groups, (*out)->n_groups == 1 ? "" : "s");
	return 0;
}

/* The static addresses of set, of one family, out of reach of the pool. */
static int reserve(struct pool *pool, const struct policy_set *set,
		   bool v6)
{
	struct cv_addr *addrs;
	unsigned int n = 0;

	if (!pool)
		return 0;
	addrs = calloc(set->n_clients + 1, sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_clients; i++) {
		const struct cv_addr *a = v6 ? &set->clients[i].addr6
					     : &set->clients[i].addr4;
		if (a->family)
			addrs[n++] = *a;
	}
	int err = pool_reserve(pool, addrs, n);
	free(addrs);
	return err;
}

/* The site networks table, from the policy before to set's. */
static int index_networks(struct server *srv, const struct policy_set *old,
			  const struct policy_set *set)
{
	for (size_t i = 0; old && i < old->n_clients; i++) {
		const struct client_policy *c = &old->clients[i];
		for (unsigned int j = 0; j < c->networks.n; j++)
			route_del(srv->site_networks, &c->networks.p[j], c->name);
	}
	for (size_t i = 0; i < set->n_clients; i++) {
		const struct client_policy *c = &set->clients[i];
		for (unsigned int j = 0; j < c->networks.n; j++)
			if (route_add(srv->site_networks, &c->networks.p[j],
				      c->name) == -ENOMEM)
				return -ENOMEM;
	}
	return 0;
}

int server_policy_apply(struct server *srv, struct policy_set *set,
			struct policy_set **old)
{
	int err = reserve(srv->pool, set, false);

	if (err == 0)
		err = reserve(srv->pool6, set, true);
	if (err == 0)
		err = index_networks(srv, srv->policy, set);
	*old = srv->policy;
	srv->policy = set;
	if (err < 0)
		log_err("cannot put the per-client policy in force: %s",
			strerror(-err));
	return err;
}

static int setup_policy(struct server *srv)
{
	struct policy_set *set, *none;
	int err = route_table_new(&srv->site_networks);

	if (err < 0 || (err = server_policy_load(srv->core->cfg, &set)) < 0)
		return err;
	return server_policy_apply(srv, set, &none);
}

int server_new(struct core *core, struct server **out)
{
	struct server *srv = calloc(1, sizeof(*srv));
	int err;

	*out = srv;
	if (!srv)
		return -ENOMEM;
	srv->core = core;
	if ((err = pending_new(&srv->pending)) < 0 ||
	    (err = refusal_log_new(core->loop, &core->counters.refusals_unlogged,
				   &srv->refusals)) < 0) {
		log_err("cannot set up the server: %s", strerror(-err));
		return err;
	}
	if ((err = setup_auth(srv)) < 0 ||
	    (err = stateless_reset_new(core->cfg, &srv->reset)) < 0 ||
	    (err = setup_pools(srv)) < 0)
		return err;
	return setup_policy(srv);
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

	if (tun->tap)
		return server_bridge_join(srv);
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
	radius_free(srv->radius);
	loop_timer_free(srv->drain);
	while (srv->retired_auth) {
		struct retired_auth *r = srv->retired_auth;
		srv->retired_auth = r->next;
		auth_free(r->auth);
		free(r);
	}
	auth_free(srv->auth);
	throttle_free(srv->throttle);
	refusal_log_free(srv->refusals);
	pending_free(srv->pending);
	route_table_free(srv->routes);
	route_table_free(srv->site_networks);
	policy_set_free(srv->policy);
	pool_free(srv->pool);
	pool_free(srv->pool6);
	stateless_reset_free(srv->reset);
	free(srv);
}
