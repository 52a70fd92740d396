/* The client's routes into the tunnel: their own table, the rules that
 * choose it, and block-ipv6. The design is in tunnel_routes.h. */
#include "tunnel_routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "log.h"
#include "netlink.h"

/* Whether the tunnel carries IPv6: when the welcome brings an inner IPv6
 * address (the client leaves it out below IPv6's minimum MTU). */
static bool tunnel_has_ipv6(const struct proto_welcome *w)
{
	return w->addr6.addr.family == AF_INET6;
}

/* The route of tr to dst, or NULL. */
static struct tunnel_route *find_route(struct tunnel_routes *tr,
				       const struct cv_prefix *dst)
{
	for (unsigned int i = 0; i < tr->n_routes; i++)
		if (prefix_equal(&tr->routes[i].dst, dst))
			return &tr->routes[i];
	return NULL;
}

/* The routes the session wants, before any is installed. */
struct wanted {
	unsigned int n;
	struct tunnel_route r[TUNNEL_MAX_ROUTES];
};

static bool wanted(const struct wanted *wt, const struct cv_prefix *dst)
{
	for (unsigned int i = 0; i < wt->n; i++)
		if (prefix_equal(&wt->r[i].dst, dst))
			return true;
	return false;
}

static void want(struct wanted *wt, const struct cv_prefix *dst, uint8_t type)
{
	if (wanted(wt, dst))
		return;
	if (wt->n < TUNNEL_MAX_ROUTES)
		wt->r[wt->n++] = (struct tunnel_route){ *dst, type };
}

static void collect(struct wanted *wt, const struct config *cfg,
		    const struct proto_welcome *w)
{
	struct cv_prefix any6 = { .addr.family = AF_INET6, .len = 0 };

	memset(wt, 0, sizeof(*wt));
	/* The networks behind this client (a site's LAN) first: a pushed
	 * route that holds one (every site at once) must not take its
	 * traffic, and a throw route sends the lookup on to main, where
	 * the LAN's own route is. */
	for (unsigned int i = 0; i < w->n_networks; i++)
		want(wt, &w->networks[i], RTN_THROW);
	for (unsigned int i = 0; i < w->n_routes; i++)
		want(wt, &w->routes[i], RTN_UNICAST);
	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		const struct cv_prefix *r = &cfg->routes[i];
		char buf[ADDR_STRLEN];
		/* An IPv6-only tunnel (no ADDR4) has no IPv4 source for the
		 * client's own IPv4 routes. A full tunnel's 0.0.0.0/0 goes
		 * nowhere instead, so that IPv4 does not leak outside, as
		 * block-ipv6 does for IPv6; the others stay outside. */
		if (r->addr.family == AF_INET &&
		    w->addr4.addr.family != AF_INET) {
			if (r->len == 0)
				want(wt, r, RTN_UNREACHABLE);
			else
				log_warn("route %s: the tunnel carries no IPv4 (the server gave no IPv4 address); leaving it out",
					 prefix_str(r, buf));
			continue;
		}
		want(wt, r, RTN_UNICAST);
	}
	if (cfg->route_default && tunnel_has_ipv6(w))
		want(wt, &any6, RTN_UNICAST);
	/* IPv6 the tunnel does not carry goes nowhere: unreachable, so that
	 * programs fail at once and fall back to IPv4, instead of waiting as
	 * they would for a blackhole. want() keeps a ::/0 into the tunnel. */
	if (cfg->block_ipv6)
		want(wt, &any6, RTN_UNREACHABLE);
}

static bool have_rule(const struct tunnel_routes *tr,
		      const struct nl_rule *rule)
{
	for (unsigned int i = 0; i < tr->n_rules; i++) {
		const struct nl_rule *r = &tr->rules[i];
		if (r->family == rule->family && r->priority == rule->priority &&
		    r->table == rule->table && r->invert == rule->invert &&
		    r->has_fwmark == rule->has_fwmark &&
		    r->fwmark == rule->fwmark && !r->has_dst && !rule->has_dst)
			return true;
	}
	return false;
}

static int add_rule(struct tunnel_routes *tr, struct nl *nl,
		    const struct nl_rule *rule)
{
	char what[64];
	const char *why;

	if (have_rule(tr, rule))
		return 0;	/* kept from the session before (kill-switch) */
	int err = nl_rule_add(nl, rule, &why);

	snprintf(what, sizeof(what), "%sfwmark %u lookup %u",
		 rule->invert ? "not " : "", rule->fwmark, rule->table);
	if (err == -EEXIST) {
		/* Another culvertd with the same route-table and fwmark, or
		 * the administrator's: theirs to keep and remove. */
		log_warn("rule 'priority %u %s' (IPv%d) exists already; leaving it as it is (give each culvertd its own route-table and fwmark)",
			 rule->priority, what, rule->family == AF_INET ? 4 : 6);
		return 0;
	}
	if (err < 0) {
		log_err("cannot add rule 'priority %u %s' (IPv%d): %s",
			rule->priority, what, rule->family == AF_INET ? 4 : 6,
			why ? why : strerror(-err));
		return err;
	}
	tr->rules[tr->n_rules++] = *rule;
	return 0;
}

/* Strict reverse-path filtering checks an incoming packet's source
 * against the route back without the mark, which now leads into the
 * tunnel: the server's answers would be dropped. */
static void warn_rp_filter(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/conf/all/rp_filter", "re");
	int v = 0;

	if (!f)
		return;
	if (fscanf(f, "%d", &v) == 1 && v == 1)
		log_warn("net.ipv4.conf.all.rp_filter is 1 (strict): the server's packets may be dropped now that the tunnel's table comes before main; use 2 (loose)");
	fclose(f);
}

const char *tunnel_route_type(uint8_t type)
{
	return type == RTN_UNICAST ? "" : type == RTN_THROW ? "throw "
							     : "unreachable ";
}

static void del_route(struct nl *nl, const struct config *cfg, int ifindex,
		      const struct tunnel_route *r)
{
	char buf[ADDR_STRLEN];
	const char *why;
	int oif = r->type == RTN_UNICAST ? ifindex : 0;
	int err = nl_table_route_del(nl, cfg->route_table, r->type, oif,
				     &r->dst, &why);

	if (err < 0 && err != -ESRCH && err != -ENODEV)
		log_warn("cannot remove route %s from table %u: %s",
			 prefix_str(&r->dst, buf), cfg->route_table,
			 why ? why : strerror(-err));
}

/* Blocked routes of the session before that the new one does not want.
 * Only blocked ones: tr holds nothing else before tunnel_routes_up. */
static void drop_unwanted(struct tunnel_routes *tr, struct nl *nl,
			  const struct config *cfg, const struct wanted *wt)
{
	unsigned int kept = 0;

	for (unsigned int i = 0; i < tr->n_routes; i++) {
		if (wanted(wt, &tr->routes[i].dst))
			tr->routes[kept++] = tr->routes[i];
		else
			del_route(nl, cfg, 0, &tr->routes[i]);
	}
	tr->n_routes = kept;
}

unsigned int tunnel_routes_block(struct tunnel_routes *tr, struct nl *nl,
				 const struct config *cfg)
{
	char buf[ADDR_STRLEN];
	const char *why;
	unsigned int blocked = 0;

	for (unsigned int i = 0; i < tr->n_routes; i++) {
		struct tunnel_route *r = &tr->routes[i];
		if (r->type != RTN_UNICAST)
			continue;
		int err = nl_table_route_replace(nl, cfg->route_table,
						 RTN_UNREACHABLE, 0, &r->dst,
						 &why);
		if (err < 0) {
			log_err("kill-switch: cannot block %s in table %u: %s",
				prefix_str(&r->dst, buf), cfg->route_table,
				why ? why : strerror(-err));
			continue;
		}
		r->type = RTN_UNREACHABLE;
		blocked++;
	}
	tr->blocked = true;
	return blocked;
}

int tunnel_routes_up(struct tunnel_routes *tr, struct nl *nl,
		     const struct config *cfg, int ifindex, const char *ifname,
		     const struct proto_welcome *w)
{
	struct wanted wt;
	bool family[2] = { false, false };	/* IPv4, IPv6 */
	char buf[ADDR_STRLEN];
	const char *why;
	int err;

	collect(&wt, cfg, w);
	/* What the session before blocked and this one does not carry. */
	drop_unwanted(tr, nl, cfg, &wt);
	/* The routes first: until the rules exist, nothing looks at them. */
	for (unsigned int i = 0; i < wt.n; i++) {
		const struct tunnel_route *r = &wt.r[i];
		int oif = r->type == RTN_UNICAST ? ifindex : 0;
		struct tunnel_route *held = find_route(tr, &r->dst);
		/* A route the kill switch blocked changes in one step. */
		err = held ? nl_table_route_replace(nl, cfg->route_table,
						    r->type, oif, &r->dst, &why)
			   : nl_table_route_add(nl, cfg->route_table, r->type,
						oif, &r->dst, &why);
		if (held && err == 0) {
			held->type = r->type;
		} else if (err == -EEXIST) {
			log_warn("route %s exists already in table %u; leaving it as it is",
				 prefix_str(&r->dst, buf), cfg->route_table);
		} else if (err < 0) {
			log_err("cannot add %sroute %s %s%s to table %u: %s",
				tunnel_route_type(r->type),
				prefix_str(&r->dst, buf),
				r->type == RTN_UNICAST ? "via " : "",
				r->type == RTN_UNICAST ? ifname : "",
				cfg->route_table, why ? why : strerror(-err));
			return err;
		} else if (!held) {
			tr->routes[tr->n_routes++] = *r;
		}
		family[r->dst.addr.family == AF_INET6] = true;
	}
	if (family[0] && cfg->route_default)
		warn_rp_filter();
	/* The mark's rule before the table's: the transport's own packets
	 * must never meet the tunnel's routes, or they would loop. */
	for (int f = 0; f < 2; f++) {
		if (!family[f])
			continue;
		struct nl_rule outer = {
			.family = f ? AF_INET6 : AF_INET,
			.priority = TUNNEL_RULE_PRIO_OUTER,
			.table = RT_TABLE_MAIN,
			.has_fwmark = true,
			.fwmark = cfg->fwmark,
		};
		/* "not fwmark": should main have no route to the server,
		 * its packets must fall through to the next rules, never
		 * into the tunnel's table. */
		struct nl_rule table = {
			.family = outer.family,
			.priority = TUNNEL_RULE_PRIO_TABLE,
			.table = cfg->route_table,
			.has_fwmark = true,
			.fwmark = cfg->fwmark,
			.invert = true,
		};
		if ((err = add_rule(tr, nl, &outer)) < 0 ||
		    (err = add_rule(tr, nl, &table)) < 0)
			return err;
	}
	tr->blocked = false;
	return 0;
}

void tunnel_routes_down(struct tunnel_routes *tr, struct nl *nl,
			const struct config *cfg, int ifindex)
{
	const char *why;
	int err;

	/* The table's rule first: from then on nothing uses the routes. */
	while (tr->n_rules > 0) {
		const struct nl_rule *rule = &tr->rules[--tr->n_rules];
		err = nl_rule_del(nl, rule, &why);
		if (err < 0 && err != -ENOENT)
			log_warn("cannot remove the rule of priority %u (IPv%d): %s",
				 rule->priority,
				 rule->family == AF_INET ? 4 : 6,
				 why ? why : strerror(-err));
	}
	while (tr->n_routes > 0)
		del_route(nl, cfg, ifindex, &tr->routes[--tr->n_routes]);
}

bool tunnel_routes_default(const struct tunnel_routes *tr, int family)
{
	for (unsigned int i = 0; i < tr->n_routes; i++)
		if (tr->routes[i].type == RTN_UNICAST &&
		    tr->routes[i].dst.len == 0 &&
		    tr->routes[i].dst.addr.family == family)
			return true;
	return false;
}

/* ---- what a crash left behind */

struct stale {
	const struct config *cfg;
	unsigned int n_rules, n_routes;
	struct nl_rule rules[8];
	struct cv_prefix routes[TUNNEL_MAX_ROUTES];
	uint8_t types[TUNNEL_MAX_ROUTES];
};

static int stale_rule(const struct nl_rule *rule, void *arg)
{
	struct stale *st = arg;
	bool ours = rule->has_fwmark && rule->fwmark == st->cfg->fwmark &&
		    !rule->has_dst &&
		    ((rule->priority == TUNNEL_RULE_PRIO_OUTER &&
		      !rule->invert && rule->table == RT_TABLE_MAIN) ||
		     (rule->priority == TUNNEL_RULE_PRIO_TABLE &&
		      rule->invert && rule->table == st->cfg->route_table));

	if (ours && st->n_rules < 8)
		st->rules[st->n_rules++] = *rule;
	return 0;
}

/* Routes through the TUN device went with it; only those that go nowhere
 * (block-ipv6's, and what a kill switch blocked) or on (a site's throw
 * routes) outlive the process. */
static int stale_route(const struct nl_route *route, void *arg)
{
	struct stale *st = arg;

	if (route->table == st->cfg->route_table &&
	    (route->type == RTN_UNREACHABLE || route->type == RTN_THROW) &&
	    st->n_routes < TUNNEL_MAX_ROUTES) {
		st->types[st->n_routes] = route->type;
		st->routes[st->n_routes++] = route->dst;
	}
	return 0;
}

void tunnel_routes_clean_stale(struct nl *nl, const struct config *cfg)
{
	struct stale st = { .cfg = cfg };
	char buf[ADDR_STRLEN];

	/* Collected first, removed after: the socket is busy with a dump. */
	nl_rule_dump(nl, AF_INET, stale_rule, &st);
	nl_rule_dump(nl, AF_INET6, stale_rule, &st);
	nl_route_dump(nl, AF_INET6, stale_route, &st);
	nl_route_dump(nl, AF_INET, stale_route, &st);
	for (unsigned int i = 0; i < st.n_rules; i++) {
		const struct nl_rule *rule = &st.rules[i];
		if (nl_rule_del(nl, rule, NULL) == 0)
			log_notice("removed the IPv%d rule of priority %u (table %u) that an earlier culvertd left behind",
				   rule->family == AF_INET ? 4 : 6,
				   rule->priority, rule->table);
	}
	for (unsigned int i = 0; i < st.n_routes; i++)
		if (nl_table_route_del(nl, cfg->route_table, st.types[i], 0,
				       &st.routes[i], NULL) == 0)
			log_notice("removed route %s%s from table %u, left by an earlier culvertd",
				   tunnel_route_type(st.types[i]),
				   prefix_str(&st.routes[i], buf),
				   cfg->route_table);
}
