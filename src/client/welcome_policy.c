/*
 * What a client accepts from a WELCOME: one pure function over the
 * decoded message and what the client knows. doc/PROTOCOL.md, "What a
 * client accepts", lists the rules for people; this file is their one
 * implementation.
 *
 * The wire's own rules (lengths, MTU 576-65535, keepalive interval at
 * least 1 and timeout above it, at most PROTO_MAX_ROUTES routes, no host
 * bits in routes) live in proto_decode and nowhere else: a welcome
 * reaches this function only after the decoder accepted it.
 */
#include "welcome_policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The smallest on-link prefix a client takes: a /7 or wider would put a
 * large part of the internet on the tunnel device. Servers push their
 * pool's length, which culvert's `pool` keeps within /8 to /30; /31 and
 * /32 (an address with no neighbours, as point-to-point VPNs hand out)
 * are fine too. */
#define ADDR4_MIN_LEN 8
/* The same for IPv6: servers hand out /16 to /64 (pool6), and an
 * address alone (/128) is fine too. */
#define ADDR6_MIN_LEN 16
/* What IPv6 requires of every link (RFC 8200). */
#define IPV6_MIN_MTU 1280

/* Addresses no tunnel may hand out or route: they belong to the host
 * itself or to its own link, or mean "nobody" or "everybody". */
struct special {
	sa_family_t family;
	uint8_t bytes[16];
	uint8_t len;
	const char *what;	/* "a loopback address", for an address */
	const char *range;	/* "loopback addresses", for a route */
};

static const struct special specials[] = {
	{ AF_INET, { 0 }, 8, "in 0.0.0.0/8, \"this network\" (RFC 1122)",
	  "0.0.0.0/8, \"this network\" (RFC 1122)" },
	{ AF_INET, { 127 }, 8, "a loopback address", "loopback addresses" },
	{ AF_INET, { 169, 254 }, 16, "a link-local address",
	  "link-local addresses" },
	{ AF_INET, { 224 }, 4, "a multicast address", "multicast addresses" },
	/* 240/4 is reserved; 255.255.255.255, the broadcast, is in it. */
	{ AF_INET, { 240 }, 4, "a reserved or broadcast address",
	  "reserved or broadcast addresses" },
	{ AF_INET6, { 0 }, 128, "the unspecified address",
	  "the unspecified address" },
	{ AF_INET6, { [15] = 1 }, 128, "the loopback address",
	  "the loopback address" },
	{ AF_INET6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96,
	  "an IPv4-mapped address", "IPv4-mapped addresses" },
	{ AF_INET6, { 0xfe, 0x80 }, 10, "a link-local address",
	  "link-local addresses" },
	{ AF_INET6, { 0xff }, 8, "a multicast address", "multicast addresses" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct cv_prefix special_prefix(const struct special *s)
{
	struct cv_prefix p = { .addr.family = s->family, .len = s->len };

	memcpy(p.addr.bytes, s->bytes, sizeof(s->bytes));
	return p;
}

/* The special range p lies in, or NULL. */
static const struct special *special_of(const struct cv_prefix *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(specials); i++) {
		struct cv_prefix s = special_prefix(&specials[i]);
		if (prefix_inside(p, &s))
			return &specials[i];
	}
	return NULL;
}

static const struct special *special_addr(const struct cv_addr *a)
{
	struct cv_prefix p = { .addr = *a, .len = a->family == AF_INET ? 32
								       : 128 };
	return special_of(&p);
}

__attribute__((format(printf, 4, 5)))
static int refuse(int err, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return err;
}

/* The bits of a past the first len, all zero (-1), all one (1), or
 * mixed (0): an IPv4 network's own address and its broadcast. */
static int host_part(const struct cv_addr *a, unsigned int len)
{
	uint32_t ones = len ? 0xffffffffu >> len : 0xffffffffu;
	uint32_t host = ntohl(a->v4.s_addr) & ones;

	if (host == 0)
		return -1;
	return host == ones ? 1 : 0;
}

/* The client's network must not hold the server's outer address: the
 * tunnel's own packets would then loop into it. */
static int check_not_outer(const struct cv_prefix *a,
			   const struct welcome_policy *p, char *why,
			   size_t size)
{
	char buf[ADDR_STRLEN], other[ADDR_STRLEN];

	for (unsigned int i = 0; i < p->n_outer; i++)
		if (prefix_contains(a, &p->outer[i]))
			return refuse(-EPROTO, why, size,
				      "address %s puts the server's address %s on the tunnel, "
				      "so the tunnel's own packets would loop into it",
				      prefix_str(a, buf),
				      addr_str(&p->outer[i], other));
	return 0;
}

/* SERVER4 or SERVER6, when sent: a host of the client's network a, and
 * not the client itself. */
static int check_server(const struct cv_prefix *a, const struct cv_addr *srv,
			char *why, size_t size)
{
	char buf[ADDR_STRLEN], other[ADDR_STRLEN];
	const struct special *s;

	if (srv->family == 0)
		return 0;
	prefix_str(a, buf);
	addr_str(srv, other);
	if ((s = special_addr(srv)))
		return refuse(-EPROTO, why, size,
			      "the server's inner address %s is %s", other,
			      s->what);
	if (addr_equal(srv, &a->addr))
		return refuse(-EPROTO, why, size,
			      "the server's inner address %s is the client's own",
			      other);
	if (!prefix_contains(a, srv))
		return refuse(-EPROTO, why, size,
			      "the server's inner address %s lies outside the client's network %s",
			      other, buf);
	if (srv->family == AF_INET && a->len <= 30 &&
	    host_part(srv, a->len) != 0)
		return refuse(-EPROTO, why, size,
			      "the server's inner address %s is the network or broadcast address of %s",
			      other, buf);
	return 0;
}

bool welcome_has_inner(const struct proto_welcome *w, int family)
{
	if (family == AF_INET6)
		return w->addr6.addr.family == AF_INET6;
	return family == AF_INET && w->addr4.addr.family == AF_INET;
}

/* ADDR6 and SERVER6, when the server sent them: the same rules as for
 * IPv4 but the broadcast, which IPv6 has none of. */
static int check_address6(const struct proto_welcome *w,
			  const struct welcome_policy *p, char *why,
			  size_t size)
{
	const struct cv_prefix *a = &w->addr6;
	char buf[ADDR_STRLEN];
	const struct special *s;

	if (a->addr.family != AF_INET6)
		return w->server6.family == 0 ? 0 :
		       refuse(-EPROTO, why, size,
			      "SERVER6 without ADDR6: the server gave its own inner IPv6 address "
			      "but none to this client");
	prefix_str(a, buf);
	if (a->len < ADDR6_MIN_LEN)
		return refuse(-EPROTO, why, size,
			      "address %s: prefix length %u is shorter than /%d",
			      buf, a->len, ADDR6_MIN_LEN);
	if ((s = special_addr(&a->addr)))
		return refuse(-EPROTO, why, size, "address %s is %s", buf,
			      s->what);
	int err = check_not_outer(a, p, why, size);
	return err < 0 ? err : check_server(a, &w->server6, why, size);
}

static int check_address(const struct proto_welcome *w,
			 const struct welcome_policy *p, char *why,
			 size_t size)
{
	const struct cv_prefix *a = &w->addr4;
	char buf[ADDR_STRLEN];
	const struct special *s;

	/* An IPv6-only tunnel; the decoder saw to it that ADDR6 is there.
	 * A SERVER4 alone has no network to lie in, as a ROUTE4 alone
	 * (check_route) has no address to come from. */
	if (a->addr.family != AF_INET)
		return w->server4.family == 0 ? 0 :
		       refuse(-EPROTO, why, size,
			      "SERVER4 without ADDR4: the server gave its own inner IPv4 address "
			      "but none to this client");
	prefix_str(a, buf);
	if (a->len < ADDR4_MIN_LEN)
		return refuse(-EPROTO, why, size,
			      "address %s: prefix length %u is shorter than /%d, "
			      "which would put much of the internet on the tunnel",
			      buf, a->len, ADDR4_MIN_LEN);
	if ((s = special_addr(&a->addr)))
		return refuse(-EPROTO, why, size, "address %s is %s", buf,
			      s->what);
	/* On /31 and /32 every address is a host (RFC 3021). */
	if (a->len <= 30 && host_part(&a->addr, a->len) < 0)
		return refuse(-EPROTO, why, size,
			      "address %s is its network's own address", buf);
	if (a->len <= 30 && host_part(&a->addr, a->len) > 0)
		return refuse(-EPROTO, why, size,
			      "address %s is its network's broadcast address",
			      buf);
	int err = check_not_outer(a, p, why, size);
	return err < 0 ? err : check_server(a, &w->server4, why, size);
}

/* A default route, or half of the 0/1 + 128/1 split that overrides one
 * without replacing it: either takes (at least half of) all traffic. */
static bool is_default(const struct cv_prefix *r)
{
	return r->len <= 1;
}

static int check_route(const struct proto_welcome *w,
		       const struct welcome_policy *p, unsigned int i,
		       char *why, size_t size)
{
	const struct cv_prefix *r = &w->routes[i];
	char buf[ADDR_STRLEN], other[ADDR_STRLEN];
	const struct special *s;

	prefix_str(r, buf);
	if (!welcome_has_inner(w, r->addr.family))
		return refuse(-EPROTO, why, size,
			      "route %u (%s) is %s, but the server assigned no inner %s address",
			      i + 1, buf, r->addr.family == AF_INET6 ? "IPv6" : "IPv4",
			      r->addr.family == AF_INET6 ? "IPv6" : "IPv4");
	for (unsigned int j = 0; j < i; j++)
		if (w->routes[j].len == r->len &&
		    addr_equal(&w->routes[j].addr, &r->addr))
			return refuse(-EPROTO, why, size,
				      "route %u (%s) repeats route %u", i + 1,
				      buf, j + 1);
	if (is_default(r)) {
		if (!p->accept_default_route)
			return refuse(-EPERM, why, size,
				      "route %u (%s) would send all of this client's traffic "
				      "through the server, and accept-default-route is no",
				      i + 1, buf);
		/* Full-tunnel mode pins the server's address outside the
		 * tunnel before it installs such routes. */
		return 0;
	}
	if ((s = special_of(r)))
		return refuse(-EPROTO, why, size, "route %u (%s) leads to %s",
			      i + 1, buf, s->range);
	if (r->addr.family == AF_INET && prefix_inside(r, &w->addr4))
		return refuse(-EPROTO, why, size,
			      "route %u (%s) lies inside the tunnel's own network %s",
			      i + 1, buf, prefix_str(&w->addr4, other));
	/* This client's own network would be routed away from it. A wider
	 * route that holds it (all the sites at once) is fine: the client
	 * keeps its networks out of the tunnel's table. */
	for (unsigned int k = 0; k < w->n_networks; k++)
		if (prefix_inside(r, &w->networks[k]))
			return refuse(-EPROTO, why, size,
				      "route %u (%s) lies inside %s, the network behind this client",
				      i + 1, buf, prefix_str(&w->networks[k], other));
	for (unsigned int k = 0; k < p->n_outer; k++)
		if (prefix_contains(r, &p->outer[k]))
			return refuse(-EPROTO, why, size,
				      "route %u (%s) covers the server's address %s, "
				      "so the tunnel's own packets would loop into it",
				      i + 1, buf, addr_str(&p->outer[k], other));
	if (p->n_accept == 0)
		return 0;
	for (unsigned int k = 0; k < p->n_accept; k++)
		if (prefix_inside(r, &p->accept[k]))
			return 0;
	return refuse(-EPERM, why, size,
		      "route %u (%s) lies outside accept-routes", i + 1, buf);
}

/* A network the server says lies behind this client: a real network,
 * not the tunnel's, not the server's outer address. */
static int check_network(const struct proto_welcome *w,
			 const struct welcome_policy *p, unsigned int i,
			 char *why, size_t size)
{
	const struct cv_prefix *n = &w->networks[i];
	char buf[ADDR_STRLEN], other[ADDR_STRLEN];
	const struct special *s;

	prefix_str(n, buf);
	if ((s = special_of(n)))
		return refuse(-EPROTO, why, size,
			      "network %u (%s) is %s", i + 1, buf, s->range);
	for (unsigned int j = 0; j < i; j++)
		if (prefix_overlap(&w->networks[j], n))
			return refuse(-EPROTO, why, size,
				      "network %u (%s) overlaps network %u", i + 1,
				      buf, j + 1);
	const struct cv_prefix *tunnel = n->addr.family == AF_INET ? &w->addr4
								   : &w->addr6;
	if (tunnel->addr.family == n->addr.family && prefix_overlap(n, tunnel))
		return refuse(-EPROTO, why, size,
			      "network %u (%s) overlaps the tunnel's own network %s",
			      i + 1, buf, prefix_str(tunnel, other));
	for (unsigned int k = 0; k < p->n_outer; k++)
		if (prefix_contains(n, &p->outer[k]))
			return refuse(-EPROTO, why, size,
				      "network %u (%s) holds the server's address %s",
				      i + 1, buf, addr_str(&p->outer[k], other));
	return 0;
}

int welcome_policy_check(const struct proto_welcome *w,
			 const struct welcome_policy *p, char *why,
			 size_t why_size)
{
	/* Bounded by the decoder; checked here only so that this function
	 * never reads past routes[] whatever it is given. */
	if (w->n_routes > PROTO_MAX_ROUTES)
		return refuse(-EPROTO, why, why_size, "more than %d routes",
			      PROTO_MAX_ROUTES);
	int err = check_address(w, p, why, why_size);
	if (err == 0)
		err = check_address6(w, p, why, why_size);
	if (err < 0)
		return err;
	/* IPv6 needs 1280 on every link; ready for when ADDR6 comes. */
	if (welcome_has_inner(w, AF_INET6) && w->mtu < IPV6_MIN_MTU)
		return refuse(-EPROTO, why, why_size,
			      "MTU %u is below %d, the least an IPv6 tunnel may have",
			      w->mtu, IPV6_MIN_MTU);
	if (w->n_networks > PROTO_MAX_NETWORKS)
		return refuse(-EPROTO, why, why_size, "more than %d networks",
			      PROTO_MAX_NETWORKS);
	for (unsigned int i = 0; i < w->n_networks; i++) {
		err = check_network(w, p, i, why, why_size);
		if (err < 0)
			return err;
	}
	for (unsigned int i = 0; i < w->n_routes; i++) {
		err = check_route(w, p, i, why, why_size);
		if (err < 0)
			return err;
	}
	return 0;
}
