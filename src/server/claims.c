/* A network checked against what holds addresses now (claims.h). */
#include "claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "policy.h"
#include "route.h"
#include "server.h"
#include "server_internal.h"
#include "session.h"

static bool same_client(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static int against_pools(const struct config *cfg, const struct cv_prefix *net,
			 char *why, size_t size)
{
	char p[ADDR_STRLEN];
	const struct cv_prefix *pool = NULL;

	if (cfg->has_pool && prefix_overlap(net, &cfg->pool))
		pool = &cfg->pool;
	if (cfg->has_pool6 && prefix_overlap(net, &cfg->pool6))
		pool = &cfg->pool6;
	if (!pool)
		return 0;
	snprintf(why, size, "overlaps %s %s: the pool's addresses are the clients' own",
		 pool == &cfg->pool ? "pool" : "pool6", prefix_str(pool, p));
	return -1;
}

static int against_gateway(const struct cv_prefix *net, char *why, size_t size)
{
	struct policy_local *local;
	size_t n = server_local_addresses(&local);
	char a[ADDR_STRLEN];
	int err = 0;

	for (size_t i = 0; i < n && !err; i++)
		if (prefix_contains(net, &local[i].addr)) {
			snprintf(why, size, "holds %s, an address of this gateway (on %s)",
				 addr_str(&local[i].addr, a), local[i].ifname);
			err = -1;
		}
	free(local);
	return err;
}

/* The networks of every other client's file, connected or not. */
static int against_files(const struct policy_set *set, const char *identity,
			 const struct cv_prefix *net, char *why, size_t size)
{
	char p[ADDR_STRLEN];

	for (size_t i = 0; set && i < set->n_clients; i++) {
		const struct client_policy *c = &set->clients[i];
		if (same_client(c->name, identity))
			continue;
		for (unsigned int j = 0; j < c->networks.n; j++)
			if (prefix_overlap(net, &c->networks.p[j])) {
				snprintf(why, size, "overlaps network %s of '%s' (%s)",
					 prefix_str(&c->networks.p[j], p), c->name,
					 c->file);
				return -1;
			}
	}
	return 0;
}

/* The networks live sessions hold in the route table. An older session
 * of the same client gave its own back already (lease.c's
 * replace_older), unless duplicate-identity keeps it: then it keeps
 * them, and s is refused like anyone else's. */
static int against_sessions(struct cv_session *s, const struct cv_prefix *net,
			    char *why, size_t size)
{
	struct server *srv = s->owner;
	char p[ADDR_STRLEN];

	for (struct cv_session *o = s->core->sessions; o; o = o->next) {
		const struct session_policy *op = o->policy;
		if (o == s || o->owner != srv || !op)
			continue;
		for (unsigned int j = 0; j < op->n_networks; j++) {
			const struct cv_prefix *held = &op->networks[j];
			if (route_find(srv->routes, held) != o ||
			    !prefix_overlap(net, held) || prefix_equal(net, held))
				continue;	/* the same prefix: lease.c's */
			snprintf(why, size, "overlaps network %s of session %s",
				 prefix_str(held, p), session_name(o));
			return -1;
		}
	}
	return 0;
}

int claims_check_network(struct cv_session *s, const struct cv_prefix *net,
			 char *why, size_t size)
{
	const struct server *srv = s->owner;

	if (against_pools(s->core->cfg, net, why, size) < 0 ||
	    against_gateway(net, why, size) < 0 ||
	    against_files(srv->policy, s->identity, net, why, size) < 0 ||
	    against_sessions(s, net, why, size) < 0)
		return -1;
	return 0;
}
