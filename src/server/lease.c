/* A session's addresses and networks on the server: taken, routed, given
 * back (lease.h). */
#include "lease.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "claims.h"
#include "config.h"
#include "core.h"
#include "identity_index.h"
#include "log.h"
#include "netlink.h"
#include "plugin_host.h"
#include "pool.h"
#include "route.h"
#include "server.h"
#include "session_owner.h"

__attribute__((format(printf, 5, 6)))
static int refused(struct lease_refusal *why, enum refusal counted,
		   uint8_t reason, const char *told, const char *fmt, ...)
{
	va_list ap;

	why->counted = counted;
	why->reason = reason;
	snprintf(why->told, sizeof(why->told), "%s", told);
	va_start(ap, fmt);
	vsnprintf(why->logged, sizeof(why->logged), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- one session per client */

/* Whether o's outer address has s's IP (any port). */
static bool same_outer_ip(const struct cv_session *o, const struct cv_session *s)
{
	struct cv_addr a, b;

	return addr_from_sockaddr(&o->peer_addr, &a) == 0 &&
	       addr_from_sockaddr(&s->peer_addr, &b) == 0 && addr_equal(&a, &b);
}

/* Whether o is the same client as s: the same identity; or, where
 * nothing proves one (udp), the same IP asking back the address o
 * holds. */
static bool same_client(const struct cv_session *o, const struct cv_session *s)
{
	if (s->identity || o->identity)
		return s->identity && o->identity &&
		       strcmp(s->identity, o->identity) == 0;
	return same_outer_ip(o, s) &&
	       ((o->has_inner && addr_equal(&o->inner, &s->previous4)) ||
		(o->has_inner6 && addr_equal(&o->inner6, &s->previous6)));
}

/* "203.0.113.2, 198.18.1.0/24": what o holds, for the log. */
static void holdings(const struct cv_session *o, char *buf, size_t size)
{
	const struct server *srv = o->owner;
	const struct session_policy *p = o->policy;
	char a[ADDR_STRLEN];
	size_t used = 0;
	int len;

	buf[0] = '\0';
	if (o->has_inner) {
		len = snprintf(buf, size, "%s", addr_str(&o->inner, a));
		used += len > 0 ? (size_t)len : 0;
	}
	if (o->has_inner6 && used < size) {
		len = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
			       addr_str(&o->inner6, a));
		used += len > 0 ? (size_t)len : 0;
	}
	for (unsigned int i = 0; p && i < p->n_networks && used < size; i++) {
		if (route_find(srv->routes, &p->networks[i]) != o)
			continue;
		len = snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
			       prefix_str(&p->networks[i], a));
		used += len > 0 ? (size_t)len : 0;
	}
}

/* One session per client: an older session of s's client (one that
 * restarted, or that tried a new session beside one it thought dead)
 * gives back what it holds, addresses and networks, for s to take
 * (its hello asked its addresses back; static ones are its anyway),
 * and ends at the loop's next turn: never a link of the transport
 * closed inside the upcall for another. Not with duplicate-identity,
 * for identities shared on purpose: take_over then refuses s what the
 * older one still holds. */
static void replace_older(struct cv_session *s)
{
	struct core *core = s->core;
	char held[320];

	if (core->cfg->duplicate_identity)
		return;
	/* A client with an identity: its sessions alone, from the index
	 * (a walk of 100,000 sessions at every login was the restart
	 * storm's cost); one without, or an index that missed one: all. */
	bool indexed = s->identity && !core->id_missed;
	struct cv_session *o = indexed ? identity_index_first(core, s->identity)
				       : core->sessions;
	for (; o; o = indexed ? identity_index_next(o) : o->next) {
		/* Those that hold: up, or waiting for their
		 * client-connect-script, and not ending already. */
		if (o == s || o->owner != s->owner || o->end_why ||
		    (o->state != SESSION_UP && !o->connect_hook) ||
		    !same_client(o, s))
			continue;
		holdings(o, held, sizeof(held));
		session_log(s, LOG_NOTICE,
			    "session %s from %s replaces its session from %s, which ends%s%s",
			    session_name(s), s->peer, o->peer,
			    held[0] ? " and gives back " : "", held);
		core->counters.sessions_replaced++;
		lease_give_back(o);
		session_end_soon(o, PROTO_REASON_REPLACED,
				 "replaced by a new session of the same client");
	}
}

/* claim (a static address or a network) must be free: replace_older
 * freed those of s's own client, unless duplicate-identity keeps that
 * one's session, which then keeps them too (an address or a network is
 * in one place at a time); one of another client cannot hold it (the
 * policy's checks saw to it). Either way, s is refused. */
static int take_over(struct cv_session *s, const struct cv_prefix *claim,
		     struct lease_refusal *why)
{
	struct server *srv = s->owner;
	struct cv_session *old = route_find(srv->routes, claim);
	char c[ADDR_STRLEN];

	if (!old || old == s)
		return 0;
	if (claim->len == (claim->addr.family == AF_INET ? 32 : 128))
		addr_str(&claim->addr, c);
	else
		prefix_str(claim, c);
	if (old->identity && s->identity &&
	    strcmp(old->identity, s->identity) == 0)
		return refused(why, REFUSAL_address_in_use, PROTO_REASON_BUSY,
			       "another session of your identity holds your address or network",
			       "%s is held by its session from %s: duplicate-identity = yes lets an identity have two sessions, never its static address or networks twice (the new one may come back when the old one ends)",
			       c, old->peer);
	return refused(why, REFUSAL_address_in_use, PROTO_REASON_POLICY,
		       "its address or network is in use",
		       "%s is held by session %s", c, session_name(old));
}

/* A static address a RADIUS reply gave: the pool's, taken from it for
 * this session (a client file's is reserved there instead). */
static int take_static(struct cv_session *s, struct pool *pool,
		       const struct cv_addr *a, const char *key,
		       struct lease_refusal *why)
{
	char buf[ADDR_STRLEN];
	int err = pool_take(pool, a, s->identity);

	addr_str(a, buf);
	if (err == -EINVAL)
		return refused(why, REFUSAL_radius_reply, PROTO_REASON_POLICY,
			       "the server cannot give the address RADIUS names for you",
			       "RADIUS gives it %s, which is not a client address of '%s': the address of its reply must lie in the pool",
			       buf, key);
	if (err == -EPERM || err == -EADDRINUSE)
		return refused(why, REFUSAL_address_in_use, PROTO_REASON_POLICY,
			       "its address or network is in use",
			       "RADIUS gives it %s, which is %s", buf,
			       err == -EPERM ? "another client's static address (client-config-dir)"
					     : "in use");
	if (err < 0)
		return refused(why, REFUSAL_no_memory, PROTO_REASON_UNSPECIFIED,
			       "server out of memory", "out of memory");
	return 0;
}

static int route_inner(struct cv_session *s, const struct cv_addr *a,
		       struct lease_refusal *why)
{
	struct server *srv = s->owner;
	struct cv_prefix host = prefix_host(a);

	if (route_add(srv->routes, &host, s) == 0)
		return 0;
	return refused(why, REFUSAL_no_memory, PROTO_REASON_UNSPECIFIED, "server out of memory",
		       "out of memory");
}

/* The static IPv4 address, or one from pool; none on an IPv6-only
 * tunnel. */
static int lease4(struct cv_session *s, struct lease_refusal *why)
{
	struct server *srv = s->owner;
	const struct session_policy *p = s->policy;
	int err;

	if (!srv->pool)
		return 0;
	if (p && p->addr4.family == AF_INET) {
		struct cv_prefix host = prefix_host(&p->addr4);
		if (take_over(s, &host, why) < 0 ||
		    (p->addr4_leased &&
		     take_static(s, srv->pool, &p->addr4, "pool", why) < 0))
			return -1;
		s->inner = p->addr4;
	} else if ((err = pool_lease_hint(srv->pool, s->identity, &s->previous4,
					  &s->inner)) < 0) {
		return refused(why, REFUSAL_pool_exhausted, PROTO_REASON_POOL_EXHAUSTED,
			       "no free inner address",
			       "the address pool is exhausted; widen 'pool'");
	}
	s->has_inner = true;
	return route_inner(s, &s->inner, why);
}

/* With pool6, the session's IPv6 address as well: static, or its
 * previous one when it can, as for IPv4. */
static int lease6(struct cv_session *s, struct lease_refusal *why)
{
	struct server *srv = s->owner;
	const struct session_policy *p = s->policy;
	unsigned int mtu = session_mtu(s, s->core->cfg->mtu);

	if (!srv->pool6)
		return 0;
	if (mtu < SESSION_IPV6_MIN_MTU && !srv->pool)
		/* IPv6-only: without IPv6 the session would have no address. */
		return refused(why, REFUSAL_mtu, PROTO_REASON_POLICY,
			       "tunnel MTU too small for IPv6",
			       "the tunnel MTU over %s is %u, below IPv6's minimum of %u, and this server has only IPv6 inside (raise the transport's mtu)",
			       s->transport->t->name, mtu, SESSION_IPV6_MIN_MTU);
	if (mtu < SESSION_IPV6_MIN_MTU) {
		session_log(s, LOG_WARNING, "%s: no IPv6 inside: the tunnel MTU over %s is %u, below IPv6's minimum of %u (raise the transport's mtu)",
			 s->peer, s->transport->t->name, mtu,
			 SESSION_IPV6_MIN_MTU);
		return 0;
	}
	if (p && p->addr6.family == AF_INET6) {
		struct cv_prefix host = prefix_host(&p->addr6);
		if (take_over(s, &host, why) < 0 ||
		    (p->addr6_leased &&
		     take_static(s, srv->pool6, &p->addr6, "pool6", why) < 0))
			return -1;
		s->inner6 = p->addr6;
	} else if (pool_lease_hint(srv->pool6, s->identity, &s->previous6,
				   &s->inner6) < 0) {
		return refused(why, REFUSAL_pool_exhausted, PROTO_REASON_POOL_EXHAUSTED,
			       "no free inner IPv6 address",
			       "the IPv6 address pool is exhausted; widen 'pool6'");
	}
	s->has_inner6 = true;
	return route_inner(s, &s->inner6, why);
}

/* Whether s carries net's family: a network of a family it has no
 * address in could not answer anybody. */
static bool carried(const struct cv_session *s, const struct cv_prefix *net)
{
	return net->addr.family == AF_INET ? s->has_inner : s->has_inner6;
}

/* One network: the kernel's route through TUN first, then the route
 * table's entry, so that an entry of s always has its kernel route. */
static int route_network(struct cv_session *s, const struct cv_prefix *net,
			 struct lease_refusal *why)
{
	struct server *srv = s->owner;
	const struct core *core = s->core;
	char n[ADDR_STRLEN], clash[200];
	const char *kernel;

	prefix_str(net, n);
	if (claims_check_network(s, net, clash, sizeof(clash)) < 0)
		return refused(why, REFUSAL_address_in_use, PROTO_REASON_POLICY,
			       "its address or network is in use",
			       "its network %s %s", n, clash);
	if (take_over(s, net, why) < 0)
		return -1;
	int err = nl_route_add(core->nl, core->tun.ifindex, net, &kernel);
	if (err < 0)
		return refused(why, REFUSAL_network_route, PROTO_REASON_UNSPECIFIED,
			       "the server cannot route its network",
			       "cannot route network %s to %s: %s%s", n,
			       core->tun.name, kernel ? kernel : strerror(-err),
			       err == -EEXIST ? " (a route for it exists already: ip route show exact NETWORK)" : "");
	if (route_add(srv->routes, net, s) < 0) {
		nl_route_del(core->nl, core->tun.ifindex, net, NULL);
		return refused(why, REFUSAL_no_memory, PROTO_REASON_UNSPECIFIED,
			       "server out of memory", "out of memory");
	}
	return 0;
}

static int route_networks(struct cv_session *s, struct lease_refusal *why)
{
	const struct session_policy *p = s->policy;
	char n[ADDR_STRLEN];

	for (unsigned int i = 0; p && i < p->n_networks; i++) {
		if (!carried(s, &p->networks[i])) {
			session_log(s, LOG_WARNING, "session %s: network %s left out: the session carries no IPv%d",
				 session_name(s), prefix_str(&p->networks[i], n),
				 p->networks[i].addr.family == AF_INET ? 4 : 6);
			continue;
		}
		if (route_network(s, &p->networks[i], why) < 0)
			return -1;
	}
	return 0;
}

int lease_take(struct cv_session *s, struct lease_refusal *why)
{
	replace_older(s);
	if (lease4(s, why) < 0 || lease6(s, why) < 0 ||
	    route_networks(s, why) < 0) {
		lease_give_back(s);
		return -1;
	}
	announce_session(s);
	return 0;
}

static void unroute_networks(struct cv_session *s)
{
	struct server *srv = s->owner;
	const struct core *core = s->core;
	const struct session_policy *p = s->policy;
	char n[ADDR_STRLEN];
	const char *kernel;

	for (unsigned int i = 0; p && i < p->n_networks; i++) {
		const struct cv_prefix *net = &p->networks[i];
		if (route_find(srv->routes, net) != s)
			continue;
		route_del(srv->routes, net, s);
		int err = nl_route_del(core->nl, core->tun.ifindex, net, &kernel);
		if (err < 0 && err != -ESRCH && err != -ENODEV)
			log_warn("cannot remove the route of network %s from %s: %s",
				 prefix_str(net, n), core->tun.name,
				 kernel ? kernel : strerror(-err));
	}
}

/* A client file's static address goes back to nobody: the pool never
 * leases it. */
static void give_back_inner(struct cv_session *s, struct pool *pool,
			    const struct cv_addr *a, bool *has,
			    const struct cv_addr *fixed, bool leased)
{
	struct server *srv = s->owner;
	struct cv_prefix host = prefix_host(a);

	if (!*has)
		return;
	route_del(srv->routes, &host, s);
	if (!fixed || !fixed->family || leased)
		pool_release(pool, a);
	*has = false;
}

void lease_give_back(struct cv_session *s)
{
	struct server *srv = s->owner;
	const struct session_policy *p = s->policy;

	announce_withdraw(s);
	unroute_networks(s);
	give_back_inner(s, srv->pool6, &s->inner6, &s->has_inner6,
			p ? &p->addr6 : NULL, p && p->addr6_leased);
	give_back_inner(s, srv->pool, &s->inner, &s->has_inner,
			p ? &p->addr4 : NULL, p && p->addr4_leased);
}
