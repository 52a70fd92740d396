/* The routes around the tunnel: what takes traffic from the TUN device's
 * routes, and whether a gateway reaches the networks it pushes and they
 * can answer. Part of netcheck.h. */
#include "netcheck.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "netcheck_internal.h"

/* The routing table, one family. */
struct routes {
	struct nl_route *v;
	size_t n, cap;
	uint32_t tunnel_table;	/* a client's route-table, besides main */
};

static int routes_add(const struct nl_route *route, void *arg)
{
	struct routes *rs = arg;

	if (route->table != RT_TABLE_MAIN && route->table != rs->tunnel_table)
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct nl_route *v = realloc(rs->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->n++] = *route;
	return 0;
}

/* "198.51.100.0/24 via 192.0.2.254 dev u0 metric 100", as ip(8) says it
 * and takes it back in `ip route del`. */
static const char *route_text(struct netcheck *nc, const struct nl_route *r,
			      char *buf, size_t size)
{
	static const char *const types[] = {
		[RTN_BLACKHOLE] = "blackhole ", [RTN_UNREACHABLE] = "unreachable ",
		[RTN_PROHIBIT] = "prohibit ", [RTN_THROW] = "throw ",
	};
	char dst[ADDR_STRLEN], gw[ADDR_STRLEN], name[IFNAMSIZ];
	const char *type = r->type < sizeof(types) / sizeof(types[0]) &&
					   types[r->type] ? types[r->type] : "";
	int n = snprintf(buf, size, "%s%s", type,
			 r->dst.len ? prefix_str(&r->dst, dst) : "default");

	if (n >= 0 && (size_t)n < size && r->has_gateway)
		n += snprintf(buf + n, size - (size_t)n, " via %s",
			      addr_str(&r->gateway, gw));
	if (n >= 0 && (size_t)n < size && r->oif)
		n += snprintf(buf + n, size - (size_t)n, " dev %s",
			      netcheck_ifname(nc, r->oif, name));
	if (n >= 0 && (size_t)n < size && r->priority)
		snprintf(buf + n, size - (size_t)n, " metric %u", r->priority);
	return buf;
}

static bool steers(const struct nl_route *r)
{
	return r->type == RTN_UNICAST || r->type == RTN_BLACKHOLE ||
	       r->type == RTN_UNREACHABLE || r->type == RTN_PROHIBIT;
}

/* Whether other takes traffic that the tunnel's route t should carry. */
static bool takes_from(const struct nl_route *other, const struct nl_route *t,
		       const struct cv_addr *server)
{
	if (!steers(other) || !prefix_overlap(&other->dst, &t->dst) ||
	    other->dst.len < t->dst.len)
		return false;
	if (other->dst.len == t->dst.len)
		return other->priority <= t->priority;
	/* A full tunnel (default, or the two halves of it) leaves the
	 * local networks and the way to the gateway more specific, on
	 * purpose; so does a route to the gateway inside a pushed network. */
	if (t->dst.len <= 1)
		return false;
	return !(server && prefix_contains(&other->dst, server));
}

/* The route the gateway's packets take, leaving the tunnel aside: the
 * longest one containing it. */
static const struct nl_route *outside_route(const struct routes *rs,
					    int tun, const struct cv_addr *a)
{
	const struct nl_route *best = NULL;

	for (size_t i = 0; i < rs->n; i++) {
		const struct nl_route *r = &rs->v[i];
		if (r->oif == tun || r->type != RTN_UNICAST ||
		    !prefix_contains(&r->dst, a))
			continue;
		if (!best || r->dst.len > best->dst.len ||
		    (r->dst.len == best->dst.len && r->priority < best->priority))
			best = r;
	}
	return best;
}

static void check_gateway_route(struct netcheck *nc, const struct routes *rs,
				const struct cv_addr *server)
{
	struct nl_route route;
	char addr[ADDR_STRLEN], text[160], fix[256];

	/* In culvert's own table the route does not count: the transport
	 * marks its packets with fwmark, and the rule skips that table. */
	if (nl_route_lookup(nc->nl, server, &route) < 0 ||
	    route.oif != nc->tun.ifindex || route.table == nc->cfg->route_table)
		return;
	const struct nl_route *out = outside_route(rs, nc->tun.ifindex, server);
	struct nl_route host = out ? *out : (struct nl_route){ 0 };
	host.dst = (struct cv_prefix){ *server, server->family == AF_INET ? 32 : 128 };
	host.priority = 0;
	snprintf(fix, sizeof(fix), "ip route add %s",
		 out ? route_text(nc, &host, text, sizeof(text))
		     : "GATEWAY/32 via YOUR-ROUTER   # no route outside the tunnel reaches it");
	netcheck_found(nc, NETCHECK_PROBLEM, fix,
		       "the route to the gateway %s goes through %s itself: culvert's own packets would loop into the tunnel",
		       addr_str(server, addr), nc->tun.name);
}

static unsigned int check_conflicts(struct netcheck *nc,
				    const struct routes *rs,
				    const struct cv_addr *server,
				    char *list, size_t size)
{
	unsigned int found = 0;
	size_t used = strlen(list);

	for (size_t i = 0; i < rs->n; i++) {
		const struct nl_route *t = &rs->v[i];
		char tt[ADDR_STRLEN], od[ADDR_STRLEN], ot[160], fix[200];
		bool conflict = false;
		if (t->oif != nc->tun.ifindex || t->type != RTN_UNICAST)
			continue;
		int len = snprintf(list + used, size - used, "%s%s",
				   used ? ", " : "", prefix_str(&t->dst, tt));
		if (len > 0 && (size_t)len < size - used)
			used += (size_t)len;
		for (size_t j = 0; j < rs->n; j++) {
			const struct nl_route *o = &rs->v[j];
			/* The tunnel's table is consulted before main: a
			 * route in main takes nothing from it (TunnelVision). */
			if (o->oif == nc->tun.ifindex || o->table != t->table ||
			    !takes_from(o, t, server))
				continue;
			conflict = true;
			found++;
			route_text(nc, o, ot, sizeof(ot));
			snprintf(fix, sizeof(fix), "ip route del %s", ot);
			netcheck_found(nc, NETCHECK_PROBLEM, fix,
				       "the route %s %s the tunnel's route %s dev %s: traffic for %s leaves through it instead of the tunnel (if this host needs that route, the two networks overlap and one must be renumbered)",
				       ot, o->dst.len > t->dst.len ? "is more specific than" : "is preferred to",
				       tt, nc->tun.name, prefix_str(&o->dst, od));
		}
		/* What the table says, the lookup confirms: policy rules or
		 * other tables can still send the traffic elsewhere. */
		struct nl_route got;
		char name[IFNAMSIZ];
		if (conflict || t->dst.len == 0 || netcheck_lookup_net(nc, &t->dst, &got) < 0 ||
		    got.type != RTN_UNICAST || got.oif == nc->tun.ifindex)
			continue;
		found++;
		netcheck_found(nc, NETCHECK_PROBLEM, "ip rule show",
			       "%s has a route for %s, but packets to it leave through %s: a policy routing rule sends them to another table",
			       nc->tun.name, tt, netcheck_ifname(nc, got.oif, name));
	}
	return found;
}

void netcheck_route_conflicts(struct netcheck *nc, const struct cv_addr *server)
{
	static const int families[] = { AF_INET, AF_INET6 };
	char list[512] = "";
	unsigned int found = 0;

	if (!nc->tun.ifindex)
		return;
	for (size_t f = 0; f < 2; f++) {
		struct routes rs = { .tunnel_table = nc->cfg->mode == MODE_CLIENT
							    ? nc->cfg->route_table
							    : RT_TABLE_MAIN };
		int err = nl_route_dump(nc->nl, families[f], routes_add, &rs);
		if (err < 0) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "cannot read the routing table: %s",
				       strerror(-err));
		} else {
			if (server && server->family == families[f])
				check_gateway_route(nc, &rs, server);
			found += check_conflicts(nc, &rs, server, list, sizeof(list));
		}
		free(rs.v);
	}
	if (!list[0])
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "%s carries no routes yet", nc->tun.name);
	else if (!found)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "routes through %s: %s; no other route takes their traffic",
			       nc->tun.name, list);
}

static void remind_route_back(struct netcheck *nc, const struct cv_prefix *r,
			      const struct nl_route *route)
{
	char pool[ADDR_STRLEN], net[ADDR_STRLEN], src[ADDR_STRLEN],
		gw[ADDR_STRLEN], name[IFNAMSIZ], fix[400];

	/* The pool of the route's family: an IPv6 network routes back to
	 * pool6. */
	bool v6 = r->addr.family == AF_INET6 && nc->cfg->has_pool6;
	const char *ip = v6 ? "ip6" : "ip";
	prefix_str(v6 ? &nc->cfg->pool6 : &nc->cfg->pool, pool);
	prefix_str(r, net);
	netcheck_ifname(nc, route->oif, name);
	if (r->len == 0) {
		snprintf(fix, sizeof(fix),
			 "nft add table %s culvert && nft add chain %s culvert nat '{ type nat hook postrouting priority srcnat; }' && nft add rule %s culvert nat %s saddr %s oifname %s masquerade",
			 ip, ip, ip, ip, pool, name);
		netcheck_found(nc, NETCHECK_NOTE, fix,
			       "clients send all their traffic here, and the hosts beyond %s cannot route back to the pool %s: NAT it, for example with:",
			       name, pool);
		return;
	}
	if (!route->has_prefsrc)
		return;
	addr_str(&route->prefsrc, src);
	snprintf(fix, sizeof(fix), "ip route add %s via %s", pool, src);
	if (route->has_gateway)
		netcheck_found(nc, NETCHECK_NOTE, fix,
			       "the router %s towards %s needs a route back to the pool %s through this gateway (or NAT here); on it run:",
			       addr_str(&route->gateway, gw), net, pool);
	else
		netcheck_found(nc, NETCHECK_NOTE, fix,
			       "hosts on %s need a route back to the pool %s through this gateway (%s on %s), unless their default route already points here, or NAT here; on each of them run:",
			       net, pool, src, name);
}

void netcheck_pushed_routes(struct netcheck *nc)
{
	const struct config *cfg = nc->cfg;

	for (unsigned int i = 0; is_server(nc) && i < cfg->n_routes; i++) {
		const struct cv_prefix *r = &cfg->routes[i];
		struct nl_route route;
		char net[ADDR_STRLEN], fix[200], name[IFNAMSIZ];
		prefix_str(r, net);
		int err = netcheck_lookup_net(nc, r, &route);
		if (err < 0) {
			snprintf(fix, sizeof(fix),
				 "ip route add %s via ROUTER   # ROUTER: the next hop towards it",
				 net);
			netcheck_found(nc, NETCHECK_PROBLEM, fix,
				       "this gateway has no route to %s, which it pushes to clients (%s)",
				       net, strerror(-err));
			continue;
		}
		if (route.type == RTN_LOCAL)
			continue;
		if (nc->tun.ifindex && route.oif == nc->tun.ifindex) {
			snprintf(fix, sizeof(fix), "ip route del %s dev %s", net,
				 nc->tun.name);
			netcheck_found(nc, NETCHECK_PROBLEM, fix,
				       "the route to %s, which this gateway pushes, points back into %s",
				       net, nc->tun.name);
			continue;
		}
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "%s, pushed to clients, is reached through %s", net,
			       netcheck_ifname(nc, route.oif, name));
		remind_route_back(nc, r, &route);
	}
}
