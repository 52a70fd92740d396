/* Per-client policy: lookups, the checks across a whole set, and the
 * merge for one session (policy.h). */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pool.h"
#include "session.h"

/* ---- the set */

void client_policy_clear(struct client_policy *p)
{
	free(p->name);
	free(p->file);
	free(p->group);
	free(p->routes.p);
	free(p->routes.line);
	free(p->networks.p);
	free(p->networks.line);
	memset(p, 0, sizeof(*p));
	p->restrict_to_routes = -1;
}

void policy_set_free(struct policy_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_clients; i++)
		client_policy_clear(&set->clients[i]);
	for (size_t i = 0; i < set->n_groups; i++)
		client_policy_clear(&set->groups[i]);
	free(set->clients);
	free(set->groups);
	free(set);
}

int policy_prefixes_add(struct policy_prefixes *list,
			const struct cv_prefix *p, unsigned int line)
{
	struct cv_prefix *ps = reallocarray(list->p, list->n + 1, sizeof(*ps));

	if (!ps)
		return -ENOMEM;
	list->p = ps;
	unsigned int *lines = reallocarray(list->line, list->n + 1,
					   sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	list->line = lines;
	list->p[list->n] = *p;
	list->line[list->n++] = line;
	return 0;
}

static int by_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct client_policy *)elem)->name);
}

const struct client_policy *policy_client(const struct policy_set *set,
					  const char *identity)
{
	if (!set || !identity || !set->n_clients)
		return NULL;
	return bsearch(identity, set->clients, set->n_clients,
		       sizeof(*set->clients), by_name);
}

const struct client_policy *policy_group(const struct policy_set *set,
					 const char *group)
{
	if (!set || !group || !set->n_groups)
		return NULL;
	return bsearch(group, set->groups, set->n_groups, sizeof(*set->groups),
		       by_name);
}

/* ---- checks across the set */

/* A static address: a client address of the pool of its family. */
static unsigned int check_address(const struct client_policy *c,
				  const struct cv_addr *a, unsigned int line,
				  const struct config *cfg, struct pool *pool,
				  const struct cv_prefix *prefix)
{
	char addr[ADDR_STRLEN], p[ADDR_STRLEN];
	const char *key = a->family == AF_INET ? "pool" : "pool6";

	if (!pool) {
		log_err("%s:%u: address %s: there is no '%s' in %s to hold it",
			c->file, line, addr_str(a, addr), key, cfg->path);
		return 1;
	}
	if (pool_contains(pool, a))
		return 0;
	log_err("%s:%u: address %s is not a client address of %s %s (the network's, the gateway's and the broadcast address are not)",
		c->file, line, addr_str(a, addr), key, prefix_str(prefix, p));
	return 1;
}

/* One static address or network of one client, for the sorted sweeps. */
struct claim {
	const struct client_policy *owner;
	struct cv_prefix p;
	unsigned int line;
};

static int claim_order(const void *x, const void *y)
{
	const struct claim *a = x, *b = y;

	if (a->p.addr.family != b->p.addr.family)
		return a->p.addr.family < b->p.addr.family ? -1 : 1;
	int c = memcmp(a->p.addr.bytes, b->p.addr.bytes,
		       a->p.addr.family == AF_INET ? 4 : 16);
	if (c)
		return c;
	return a->p.len < b->p.len ? -1 : a->p.len > b->p.len;
}

/* b clashes with a, found before it: said at b's line, naming a's. */
static void log_clash(const struct claim *a, const struct claim *b,
		      bool address)
{
	char pa[ADDR_STRLEN], pb[ADDR_STRLEN];

	if (address) {
		addr_str(&b->p.addr, pb);
		if (a->owner == b->owner)
			log_err("%s:%u: address %s is given twice (first on line %u)",
				b->owner->file, b->line, pb, a->line);
		else
			log_err("%s:%u: address %s is given to '%s' too (%s:%u): a static address is one client's",
				b->owner->file, b->line, pb, a->owner->name,
				a->owner->file, a->line);
		return;
	}
	prefix_str(&a->p, pa);
	prefix_str(&b->p, pb);
	if (a->owner == b->owner)
		log_err("%s:%u: network %s overlaps its network %s (line %u)",
			b->owner->file, b->line, pb, pa, a->line);
	else
		log_err("%s:%u: network %s overlaps network %s of '%s' (%s:%u): a network lies behind one client",
			b->owner->file, b->line, pb, pa, a->owner->name,
			a->owner->file, a->line);
}

/* Sorted by address, prefixes either nest or are apart: one that starts
 * inside the widest reach so far overlaps the prefix that reaches it. */
static unsigned int sweep(struct claim *claims, size_t n, bool addresses)
{
	unsigned int errors = 0;
	const struct claim *reach = NULL;

	if (n > 1)
		qsort(claims, n, sizeof(*claims), claim_order);
	for (size_t i = 0; i < n; i++) {
		const struct claim *c = &claims[i];
		if (reach && prefix_overlap(&reach->p, &c->p)) {
			log_clash(reach, c, addresses);
			errors++;
			continue;	/* the wider one still reaches on */
		}
		reach = c;
	}
	return errors;
}

/* Static addresses: each in its pool, none given twice. */
static unsigned int check_addresses(const struct policy_set *set,
				    const struct config *cfg)
{
	struct pool *pool4 = NULL, *pool6 = NULL;
	struct claim *claims = calloc(2 * set->n_clients + 1, sizeof(*claims));
	unsigned int errors = 0;
	size_t n = 0;

	if (!claims || (cfg->has_pool && pool_new(&cfg->pool, &pool4) < 0) ||
	    (cfg->has_pool6 && pool_new(&cfg->pool6, &pool6) < 0)) {
		log_err("%s: out of memory", cfg->path);
		errors = 1;
		goto out;
	}
	for (size_t i = 0; i < set->n_clients; i++) {
		const struct client_policy *c = &set->clients[i];
		if (c->addr4.family) {
			errors += check_address(c, &c->addr4, c->addr4_line, cfg,
						pool4, &cfg->pool);
			claims[n++] = (struct claim){ c, prefix_host(&c->addr4),
						      c->addr4_line };
		}
		if (c->addr6.family) {
			errors += check_address(c, &c->addr6, c->addr6_line, cfg,
						pool6, &cfg->pool6);
			claims[n++] = (struct claim){ c, prefix_host(&c->addr6),
						      c->addr6_line };
		}
	}
	errors += sweep(claims, n, true);
out:
	pool_free(pool4);
	pool_free(pool6);
	free(claims);
	return errors;
}

/* One network against the pools and the gateway's own addresses. */
static unsigned int check_network(const struct client_policy *c,
				  unsigned int i, const struct config *cfg,
				  const struct policy_local *local,
				  size_t n_local)
{
	const struct cv_prefix *net = &c->networks.p[i];
	unsigned int line = c->networks.line[i], errors = 0;
	char n[ADDR_STRLEN], o[ADDR_STRLEN];

	if ((cfg->has_pool && prefix_overlap(net, &cfg->pool)) ||
	    (cfg->has_pool6 && prefix_overlap(net, &cfg->pool6))) {
		const struct cv_prefix *pool = net->addr.family == AF_INET
						       ? &cfg->pool : &cfg->pool6;
		log_err("%s:%u: network %s overlaps %s %s in %s: the pool's addresses are the clients' own",
			c->file, line, prefix_str(net, n),
			net->addr.family == AF_INET ? "pool" : "pool6",
			prefix_str(pool, o), cfg->path);
		errors++;
	}
	for (size_t j = 0; j < n_local; j++) {
		if (!prefix_contains(net, &local[j].addr))
			continue;
		log_err("%s:%u: network %s holds %s, an address of this gateway (on %s): its packets would go to the client instead",
			c->file, line, prefix_str(net, n),
			addr_str(&local[j].addr, o), local[j].ifname);
		errors++;
	}
	return errors;
}

static unsigned int check_networks(const struct policy_set *set,
				   const struct config *cfg,
				   const struct policy_local *local,
				   size_t n_local)
{
	size_t total = 0, n = 0;
	unsigned int errors = 0;

	for (size_t i = 0; i < set->n_clients; i++)
		total += set->clients[i].networks.n;
	struct claim *claims = calloc(total + 1, sizeof(*claims));
	if (!claims) {
		log_err("%s: out of memory", cfg->path);
		return 1;
	}
	for (size_t i = 0; i < set->n_clients; i++) {
		const struct client_policy *c = &set->clients[i];
		for (unsigned int j = 0; j < c->networks.n; j++) {
			errors += check_network(c, j, cfg, local, n_local);
			claims[n++] = (struct claim){ c, c->networks.p[j],
						      c->networks.line[j] };
		}
	}
	errors += sweep(claims, n, false);
	free(claims);
	return errors;
}

/* A route or network of a family without a pool: the client would have
 * no address of that family to send from, as for cfg's own routes. */
static unsigned int check_families(const struct client_policy *c,
				   const struct config *cfg)
{
	const struct policy_prefixes *lists[] = { &c->routes, &c->networks };
	const char *what[] = { "route", "network" };
	unsigned int errors = 0;
	char p[ADDR_STRLEN];

	for (size_t k = 0; k < 2; k++)
		for (unsigned int i = 0; i < lists[k]->n; i++) {
			const struct cv_prefix *x = &lists[k]->p[i];
			bool v6 = x->addr.family == AF_INET6;
			if (v6 ? cfg->has_pool6 : cfg->has_pool)
				continue;
			log_err("%s:%u: %s %s is IPv%d, but %s has no '%s': the client would have no IPv%d address",
				c->file, lists[k]->line[i], what[k],
				prefix_str(x, p), v6 ? 6 : 4, cfg->path,
				v6 ? "pool6" : "pool", v6 ? 6 : 4);
			errors++;
		}
	return errors;
}

/* What one client's welcome holds on top of cfg's (group as the file
 * names it): routes and networks must fit one control message. */
static unsigned int check_welcome(const struct client_policy *c,
				  const struct client_policy *group,
				  const struct config *cfg)
{
	size_t size = config_welcome_size(cfg);
	unsigned int routes = cfg->n_routes;
	const struct client_policy *parts[] = { group, c };

	for (size_t k = 0; k < 2; k++) {
		if (!parts[k])
			continue;
		routes += parts[k]->routes.n;
		for (unsigned int i = 0; i < parts[k]->routes.n; i++)
			size += config_prefix_attr_size(&parts[k]->routes.p[i]);
		for (unsigned int i = 0; i < parts[k]->networks.n; i++)
			size += config_prefix_attr_size(&parts[k]->networks.p[i]);
	}
	if (routes <= POLICY_MAX_ROUTES && size <= PROTO_MAX_CONTROL)
		return 0;
	log_err("%s: the routes of %s, %s%s and its own make %u routes in a welcome of %zu bytes, more than %d routes or %d bytes: aggregate routes",
		c->file, cfg->path, group ? "of its group's file " : "",
		group ? group->file : "", routes, size, POLICY_MAX_ROUTES,
		PROTO_MAX_CONTROL);
	return 1;
}

unsigned int policy_set_check(const struct policy_set *set,
			      const struct config *cfg,
			      const struct policy_local *local,
			      size_t n_local)
{
	unsigned int errors = check_addresses(set, cfg);

	errors += check_networks(set, cfg, local, n_local);
	for (size_t i = 0; i < set->n_clients; i++) {
		const struct client_policy *c = &set->clients[i];
		errors += check_families(c, cfg);
		errors += check_welcome(c, policy_group(set, c->group), cfg);
	}
	for (size_t i = 0; i < set->n_groups; i++) {
		errors += check_families(&set->groups[i], cfg);
		errors += check_welcome(&set->groups[i], NULL, cfg);
	}
	return errors;
}

/* ---- one session's merged policy */

/* The routes for a session: each once, none inside its own networks. */
struct route_list {
	unsigned int n;
	struct cv_prefix r[3 * POLICY_MAX_ROUTES];
};

static void add_routes(struct route_list *l, const struct cv_prefix *rs,
		       unsigned int n, const struct policy_prefixes *own)
{
	for (unsigned int i = 0; i < n; i++) {
		bool skip = false;
		for (unsigned int j = 0; j < l->n && !skip; j++)
			skip = prefix_equal(&l->r[j], &rs[i]);
		for (unsigned int j = 0; own && j < own->n && !skip; j++)
			skip = prefix_inside(&rs[i], &own->p[j]);
		if (!skip && l->n < sizeof(l->r) / sizeof(l->r[0]))
			l->r[l->n++] = rs[i];
	}
}

static struct session_policy *policy_alloc(unsigned int n_routes,
					   unsigned int n_networks,
					   const char *group)
{
	size_t prefixes = (size_t)n_routes + n_networks;
	size_t glen = group ? strlen(group) + 1 : 0;
	struct session_policy *p = calloc(1, sizeof(*p) +
					     prefixes * sizeof(p->prefixes[0]) +
					     glen);

	if (!p)
		return NULL;
	p->n_routes = n_routes;
	p->n_networks = n_networks;
	p->routes = p->prefixes;
	p->networks = p->prefixes + n_routes;
	if (group)
		p->group = memcpy((char *)(p->prefixes + prefixes), group, glen);
	return p;
}

int policy_for_session(const struct policy_set *set, const struct config *cfg,
		       const char *identity, const char *group,
		       struct session_policy **out)
{
	const struct client_policy *c = policy_client(set, identity);

	if (c && c->group)
		group = c->group;
	return policy_merge(c, policy_group(set, group), group, cfg, identity,
			    out);
}

int policy_merge(const struct client_policy *c, const struct client_policy *g,
		 const char *group, const struct config *cfg,
		 const char *identity, struct session_policy **out)
{
	static const struct policy_prefixes none = { 0 };

	*out = NULL;
	int restrict_to = c && c->restrict_to_routes >= 0 ? c->restrict_to_routes
			  : g && g->restrict_to_routes >= 0 ? g->restrict_to_routes
							    : cfg->restrict_to_routes;
	if (!c && !group && !restrict_to)
		return 0;

	const struct policy_prefixes *own = c ? &c->networks : &none;
	struct route_list *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	add_routes(l, cfg->routes, cfg->n_routes, own);
	if (g)
		add_routes(l, g->routes.p, g->routes.n, own);
	if (c)
		add_routes(l, c->routes.p, c->routes.n, own);
	/* A group the file did not name (the password file's, the
	 * certificate's) was not counted by policy_set_check. */
	size_t size = config_welcome_size(cfg);
	for (unsigned int i = 0; i < cfg->n_routes; i++)
		size -= config_prefix_attr_size(&cfg->routes[i]);
	for (unsigned int i = 0; i < l->n; i++)
		size += config_prefix_attr_size(&l->r[i]);
	for (unsigned int i = 0; i < own->n; i++)
		size += config_prefix_attr_size(&own->p[i]);
	if (l->n > POLICY_MAX_ROUTES || size > PROTO_MAX_CONTROL) {
		log_err("%s: the routes of %s, %s%s and %s make %u routes in a welcome of %zu bytes, more than %d routes or %d bytes: aggregate routes",
			identity ? identity : "(a session without identity)", cfg->path,
			g ? "of " : "", g ? g->file : "no group",
			c ? c->file : "none of its own", l->n, size,
			POLICY_MAX_ROUTES, PROTO_MAX_CONTROL);
		free(l);
		return -E2BIG;
	}
	struct session_policy *p = policy_alloc(l->n, own->n, group);
	if (p) {
		memcpy(p->routes, l->r, l->n * sizeof(l->r[0]));
		if (own->n)	/* a client without networks has no array */
			memcpy(p->networks, own->p,
			       own->n * sizeof(own->p[0]));
		p->restrict_to_routes = restrict_to;
		if (c) {
			p->addr4 = c->addr4;
			p->addr6 = c->addr6;
		}
	}
	free(l);
	*out = p;
	return p ? 0 : -ENOMEM;
}

struct session_policy *session_policy_copy(const struct session_policy *p,
					   bool *failed)
{
	*failed = false;
	if (!p)
		return NULL;
	struct session_policy *q = policy_alloc(p->n_routes, p->n_networks,
						p->group);
	if (!q) {
		*failed = true;
		return NULL;
	}
	/* Through the pointers, not prefixes[]: p may be a copy on the
	 * stack of another's head. */
	memcpy(q->routes, p->routes, p->n_routes * sizeof(p->routes[0]));
	memcpy(q->networks, p->networks, p->n_networks * sizeof(p->networks[0]));
	q->addr4 = p->addr4;
	q->addr6 = p->addr6;
	q->restrict_to_routes = p->restrict_to_routes;
	return q;
}

static bool same_addr(const struct cv_addr *a, const struct cv_addr *b)
{
	return a->family == b->family && (!a->family || addr_equal(a, b));
}

static bool same_prefixes(const struct cv_prefix *a, unsigned int na,
			  const struct cv_prefix *b, unsigned int nb)
{
	if (na != nb)
		return false;
	for (unsigned int i = 0; i < na; i++)
		if (!prefix_equal(&a[i], &b[i]))
			return false;
	return true;
}

/* A NULL policy pushes cfg's routes and nothing else. */
static const struct session_policy *or_defaults(const struct session_policy *p,
						const struct config *cfg,
						struct session_policy *buf)
{
	if (p)
		return p;
	memset(buf, 0, sizeof(*buf));
	buf->n_routes = cfg->n_routes;
	buf->routes = (struct cv_prefix *)cfg->routes;
	return buf;
}

const char *session_policy_change(const struct config *cfg,
				  const struct session_policy *old,
				  const struct session_policy *new)
{
	struct session_policy da, db;
	const struct session_policy *a = or_defaults(old, cfg, &da);
	const struct session_policy *b = or_defaults(new, cfg, &db);

	if (!same_addr(&a->addr4, &b->addr4) || !same_addr(&a->addr6, &b->addr6))
		return "its static address";
	if (!same_prefixes(a->networks, a->n_networks, b->networks,
			   b->n_networks))
		return "its networks";
	if (!same_prefixes(a->routes, a->n_routes, b->routes, b->n_routes))
		return "its routes";
	return NULL;
}
