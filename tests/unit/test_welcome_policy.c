/* What a client accepts from a server's welcome: a good one is accepted,
 * and every rule of src/welcome_policy.c (and of the decoder, for the
 * rules that live there) refuses the welcome that breaks it, with a
 * sentence that names the problem. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "welcome_policy.h"

static struct cv_addr outer;		/* the server, 192.0.2.1 */
static struct welcome_policy policy;
static char why[256];

static struct cv_prefix pfx(const char *text)
{
	struct cv_prefix p;
	const char *err;

	ck_assert_msg(prefix_parse(text, true, &p, &err) == 0, "%s: %s", text,
		      err);
	return p;
}

static struct cv_addr addr(const char *text)
{
	struct cv_addr a;

	ck_assert_msg(addr_parse(text, &a) == 0, "%s", text);
	return a;
}

/* The lab's welcome: 203.0.113.2/24, server 203.0.113.1, one route. */
static struct proto_welcome good(void)
{
	struct proto_welcome w = {
		.nonce = 7,
		.addr4 = pfx("203.0.113.2/24"),
		.server4 = addr("203.0.113.1"),
		.mtu = 1400,
		.keepalive_interval = 10,
		.keepalive_timeout = 60,
		.n_routes = 1,
	};

	w.routes[0] = pfx("198.51.100.0/24");
	return w;
}

static void add_route(struct proto_welcome *w, const char *text)
{
	w->routes[w->n_routes++] = pfx(text);
}

static void setup(void)
{
	outer = addr("192.0.2.1");
	policy = (struct welcome_policy){ .outer = &outer, .n_outer = 1 };
	why[0] = '\0';
}

static void accepted(const struct proto_welcome *w)
{
	int err = welcome_policy_check(w, &policy, why, sizeof(why));

	ck_assert_msg(err == 0, "refused: %s", why);
}

static void refused(const struct proto_welcome *w, int expected,
		    const char *phrase)
{
	int err = welcome_policy_check(w, &policy, why, sizeof(why));

	ck_assert_msg(err == expected, "expected %d, got %d (%s)", expected,
		      err, why);
	ck_assert_msg(strstr(why, phrase), "expected \"%s\" in \"%s\"",
		      phrase, why);
}

START_TEST(good_welcome)
{
	struct proto_welcome w = good();

	accepted(&w);
	w.server4.family = 0;			/* SERVER4 is optional */
	accepted(&w);
	w.n_routes = 0;
	accepted(&w);
	w = good();
	w.addr4 = pfx("10.1.2.3/8");		/* the widest pool */
	w.server4 = addr("10.0.0.1");
	add_route(&w, "203.0.113.0/24");	/* the pool elsewhere: fine */
	add_route(&w, "192.0.2.128/25");	/* next to the server, not on it */
	accepted(&w);
	w = good();
	w.addr4 = pfx("203.0.113.9/32");	/* point to point, no server */
	w.server4.family = 0;
	accepted(&w);
	w.addr4 = pfx("203.0.113.8/31");	/* RFC 3021: both are hosts */
	w.server4 = addr("203.0.113.9");
	accepted(&w);
	/* Nothing known about the server's address: nothing to compare. */
	policy.n_outer = 0;
	w = good();
	add_route(&w, "192.0.2.0/24");
	accepted(&w);
}
END_TEST

/* ---- the client's own address and the server's inner address */

static const struct bad_address {
	const char *addr4;
	const char *server4;	/* NULL: none */
	const char *phrase;
} bad_addresses[] = {
	{ "203.0.113.2/7", NULL, "prefix length 7 is shorter than /8" },
	{ "203.0.113.2/1", NULL, "prefix length 1 is shorter than /8" },
	{ "0.0.0.0/24", NULL, "address 0.0.0.0/24 is in 0.0.0.0/8" },
	{ "0.0.0.5/8", NULL, "\"this network\"" },
	{ "127.0.0.2/8", NULL, "address 127.0.0.2/8 is a loopback address" },
	{ "169.254.7.7/16", NULL, "is a link-local address" },
	{ "224.0.0.5/24", NULL, "is a multicast address" },
	{ "239.1.2.3/8", NULL, "is a multicast address" },
	{ "255.255.255.255/32", NULL, "is a reserved or broadcast address" },
	{ "203.0.113.0/24", "203.0.113.1", "is its network's own address" },
	{ "203.0.113.255/24", "203.0.113.1", "is its network's broadcast address" },
	{ "192.0.2.77/24", NULL,
	  "address 192.0.2.77/24 puts the server's address 192.0.2.1 on the tunnel" },
	{ "203.0.113.2/24", "203.0.113.2",
	  "the server's inner address 203.0.113.2 is the client's own" },
	{ "203.0.113.2/24", "198.51.100.1",
	  "the server's inner address 198.51.100.1 lies outside the client's network 203.0.113.2/24" },
	{ "203.0.113.2/32", "203.0.113.1", "lies outside the client's network" },
	{ "203.0.113.2/24", "127.0.0.1",
	  "the server's inner address 127.0.0.1 is a loopback address" },
	{ "203.0.113.2/24", "0.0.0.0", "is in 0.0.0.0/8" },
	{ "203.0.113.2/24", "203.0.113.255", "is the network or broadcast address" },
	{ "203.0.113.2/24", "203.0.113.0", "is the network or broadcast address" },
};

START_TEST(bad_address)
{
	const struct bad_address *b = &bad_addresses[_i];
	struct proto_welcome w = good();

	w.addr4 = pfx(b->addr4);
	if (b->server4)
		w.server4 = addr(b->server4);
	else
		w.server4.family = 0;
	refused(&w, -EPROTO, b->phrase);
}
END_TEST

/* ---- routes */

static const struct bad_route {
	const char *route;
	int err;
	const char *phrase;
} bad_routes[] = {
	{ "127.0.0.0/8", -EPROTO, "route 2 (127.0.0.0/8) leads to loopback addresses" },
	{ "127.0.0.1/32", -EPROTO, "leads to loopback addresses" },
	{ "224.0.0.0/4", -EPROTO, "route 2 (224.0.0.0/4) leads to multicast addresses" },
	{ "239.255.255.250/32", -EPROTO, "leads to multicast addresses" },
	{ "169.254.0.0/16", -EPROTO, "leads to link-local addresses" },
	{ "0.0.0.0/8", -EPROTO, "route 2 (0.0.0.0/8) leads to 0.0.0.0/8, \"this network\"" },
	{ "0.0.0.0/32", -EPROTO, "leads to 0.0.0.0/8" },
	{ "255.255.255.255/32", -EPROTO, "leads to reserved or broadcast addresses" },
	/* The tunnel's own network is on the link already. */
	{ "203.0.113.0/24", -EPROTO,
	  "route 2 (203.0.113.0/24) lies inside the tunnel's own network 203.0.113.2/24" },
	{ "203.0.113.128/25", -EPROTO, "lies inside the tunnel's own network" },
	{ "203.0.113.2/32", -EPROTO, "lies inside the tunnel's own network" },
	/* Routes that would carry the tunnel's own packets. */
	{ "192.0.2.0/24", -EPROTO,
	  "route 2 (192.0.2.0/24) covers the server's address 192.0.2.1, so the tunnel's own packets would loop into it" },
	{ "192.0.2.1/32", -EPROTO, "covers the server's address 192.0.2.1" },
	{ "192.0.0.0/8", -EPROTO, "covers the server's address 192.0.2.1" },
	{ "192.0.0.0/2", -EPROTO, "covers the server's address 192.0.2.1" },
	/* A default route, or either half of the split. */
	{ "0.0.0.0/0", -EPERM,
	  "route 2 (0.0.0.0/0) would send all of this client's traffic through the server, and accept-default-route is no" },
	{ "0.0.0.0/1", -EPERM, "accept-default-route is no" },
	{ "128.0.0.0/1", -EPERM, "accept-default-route is no" },
	/* No inner IPv6 address exists yet: no IPv6 route has a source. */
	{ "2001:db8::/32", -EPROTO,
	  "route 2 (2001:db8::/32) is IPv6, but the server assigned no inner IPv6 address" },
	{ "::/0", -EPROTO, "no inner IPv6 address" },
	/* The same route twice is a server's mistake. */
	{ "198.51.100.0/24", -EPROTO, "route 2 (198.51.100.0/24) repeats route 1" },
};

START_TEST(bad_route)
{
	const struct bad_route *b = &bad_routes[_i];
	struct proto_welcome w = good();

	add_route(&w, b->route);
	refused(&w, b->err, b->phrase);
}
END_TEST

START_TEST(default_route_opt_in)
{
	struct proto_welcome w = good();

	add_route(&w, "0.0.0.0/1");
	add_route(&w, "128.0.0.0/1");
	refused(&w, -EPERM, "route 2 (0.0.0.0/1)");
	policy.accept_default_route = true;
	/* Full-tunnel mode keeps the server's address outside the tunnel;
	 * a default route may cover it. */
	accepted(&w);
	w = good();
	add_route(&w, "0.0.0.0/0");
	accepted(&w);
	/* The opt-in is for default routes only. */
	add_route(&w, "192.0.2.0/24");
	refused(&w, -EPROTO, "route 3 (192.0.2.0/24) covers the server's address");
	w = good();
	add_route(&w, "127.0.0.0/8");
	refused(&w, -EPROTO, "loopback");
}
END_TEST

START_TEST(accept_routes)
{
	struct cv_prefix allowed[] = { pfx("198.51.100.0/24"),
				       pfx("10.0.0.0/8") };
	struct proto_welcome w = good();

	policy.accept = allowed;
	policy.n_accept = 2;
	add_route(&w, "10.20.0.0/16");
	add_route(&w, "10.0.0.0/8");
	accepted(&w);
	add_route(&w, "172.16.0.0/12");
	refused(&w, -EPERM, "route 4 (172.16.0.0/12) lies outside accept-routes");
	w = good();
	add_route(&w, "10.0.0.0/7");		/* wider than allowed */
	refused(&w, -EPERM, "route 2 (10.0.0.0/7) lies outside accept-routes");
	w = good();
	add_route(&w, "0.0.0.0/0");		/* still needs its own opt-in */
	refused(&w, -EPERM, "accept-default-route is no");
}
END_TEST

START_TEST(server_outer_ipv6)
{
	/* A server reached over IPv6: IPv4 routes cannot cover it. */
	struct cv_addr v6 = addr("2001:db8::1");
	struct proto_welcome w = good();

	policy.outer = &v6;
	add_route(&w, "192.0.2.0/24");
	accepted(&w);
}
END_TEST

START_TEST(inner_ipv6)
{
	struct proto_welcome w = good();

	ck_assert(welcome_has_inner(&w, AF_INET));
	ck_assert(!welcome_has_inner(&w, AF_INET6));
	add_route(&w, "2001:db8:200::/64");
	refused(&w, -EPROTO, "assigned no inner IPv6 address");

	w.addr6 = pfx("2001:db8:100::2/64");
	w.server6 = addr("2001:db8:100::1");
	ck_assert(welcome_has_inner(&w, AF_INET6));
	accepted(&w);
	w.mtu = 1279;
	refused(&w, -EPROTO, "below 1280");
	w.mtu = 1400;

	struct proto_welcome bad = w;
	bad.addr6 = pfx("fe80::2/64");
	refused(&bad, -EPROTO, "link-local");
	bad = w;
	bad.addr6 = pfx("2001:db8:100::2/8");
	refused(&bad, -EPROTO, "shorter than /16");
	bad = w;
	bad.server6 = addr("2001:db8:999::1");
	refused(&bad, -EPROTO, "lies outside");
	bad = w;
	bad.server6 = bad.addr6.addr;
	refused(&bad, -EPROTO, "the client's own");
	/* A server reached over IPv6 inside the client's IPv6 network. */
	struct cv_addr v6 = addr("2001:db8:100::99");
	policy.outer = &v6;
	refused(&w, -EPROTO, "loop");
}
END_TEST

/* An IPv6-only tunnel (the server has pool6 and no pool): no ADDR4, and
 * then nothing of IPv4 may come with it. */
START_TEST(ipv6_only)
{
	struct proto_welcome w = good();

	w.addr4.addr.family = 0;
	w.server4.family = 0;
	w.n_routes = 0;
	w.addr6 = pfx("2001:db8:100::2/64");
	w.server6 = addr("2001:db8:100::1");
	add_route(&w, "2001:db8:200::/64");
	ck_assert(!welcome_has_inner(&w, AF_INET));
	accepted(&w);

	struct proto_welcome bad = w;
	bad.server4 = addr("203.0.113.1");
	refused(&bad, -EPROTO, "SERVER4 without ADDR4");
	bad = w;
	add_route(&bad, "198.51.100.0/24");
	refused(&bad, -EPROTO,
		"route 2 (198.51.100.0/24) is IPv4, but the server assigned no inner IPv4 address");
	/* The same rule the other way round. */
	bad = good();
	bad.server6 = addr("2001:db8:100::1");
	refused(&bad, -EPROTO, "SERVER6 without ADDR6");
}
END_TEST

/* A site's router: the networks behind it come with routes that hold
 * them (every site at once), never with one inside them. */
START_TEST(site_networks)
{
	struct proto_welcome w = good();

	w.networks[w.n_networks++] = pfx("198.18.1.0/24");
	add_route(&w, "198.18.0.0/16");
	add_route(&w, "198.18.3.0/24");
	accepted(&w);
	add_route(&w, "198.18.1.128/25");
	refused(&w, -EPROTO, "route 4 (198.18.1.128/25) lies inside 198.18.1.0/24, the network behind this client");
	w = good();
	w.networks[w.n_networks++] = pfx("198.18.1.0/24");
	add_route(&w, "198.18.1.0/24");
	refused(&w, -EPROTO, "route 2 (198.18.1.0/24) lies inside 198.18.1.0/24");

	static const struct {
		const char *net;
		const char *phrase;
	} bad[] = {
		{ "127.0.0.0/8", "network 1 (127.0.0.0/8) is loopback addresses" },
		{ "224.0.0.0/4", "is multicast addresses" },
		{ "203.0.113.128/25", "network 1 (203.0.113.128/25) overlaps the tunnel's own network 203.0.113.2/24" },
		{ "192.0.2.0/24", "network 1 (192.0.2.0/24) holds the server's address 192.0.2.1" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w = good();
		w.networks[w.n_networks++] = pfx(bad[i].net);
		refused(&w, -EPROTO, bad[i].phrase);
	}
	w = good();
	w.networks[w.n_networks++] = pfx("198.18.0.0/16");
	w.networks[w.n_networks++] = pfx("198.18.1.0/24");
	refused(&w, -EPROTO, "network 2 (198.18.1.0/24) overlaps network 1");
	w = good();
	w.n_networks = PROTO_MAX_NETWORKS + 1;
	refused(&w, -EPROTO, "more than 16 networks");
}
END_TEST

START_TEST(route_count)
{
	struct proto_welcome w = good();

	w.n_routes = PROTO_MAX_ROUTES + 1;
	refused(&w, -EPROTO, "more than 64 routes");
}
END_TEST

/* ---- the rules that live in the decoder: shown here on the bytes a
 * server sends, since a welcome reaches the policy only decoded */

static size_t encode_good(uint8_t *buf)
{
	struct proto_msg m = { .type = PROTO_WELCOME };

	m.welcome = good();
	ssize_t n = proto_encode(&m, buf, PROTO_MAX_CONTROL);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
}

/* The offset of attribute type in an encoded welcome. */
static size_t attr_at(const uint8_t *buf, size_t len, uint8_t type)
{
	for (size_t i = 5; i + 1 < len; i += 2 + buf[i + 1])
		if (buf[i] == type)
			return i;
	ck_abort_msg("no attribute 0x%02x", type);
	return 0;
}

static void undecodable(const uint8_t *buf, size_t len, const char *phrase)
{
	struct proto_msg m;
	const char *reason = NULL;

	ck_assert_int_eq(proto_decode(buf, len, &m, &reason), -EBADMSG);
	ck_assert_msg(reason && strstr(reason, phrase),
		      "expected \"%s\", got \"%s\"", phrase,
		      reason ? reason : "(null)");
}

START_TEST(decoder_rules)
{
	uint8_t buf[PROTO_MAX_CONTROL + 64];
	size_t len = encode_good(buf), at;
	struct proto_msg m;
	const char *reason;

	ck_assert_int_eq(proto_decode(buf, len, &m, &reason), 0);

	/* MTU below 576 (the u16 cannot pass 65535). */
	at = attr_at(buf, len, 0x03);
	buf[at + 2] = 0x02, buf[at + 3] = 0x3f;		/* 575 */
	undecodable(buf, len, "MTU 575 out of range 576-65535");
	buf[at + 2] = 0x02, buf[at + 3] = 0x40;		/* 576 */
	ck_assert_int_eq(proto_decode(buf, len, &m, &reason), 0);

	/* Keepalive interval 0; timeout not above the interval. */
	len = encode_good(buf);
	at = attr_at(buf, len, 0x04);
	buf[at + 2] = 0, buf[at + 3] = 0;
	undecodable(buf, len, "keepalive interval 0");
	buf[at + 3] = 60;				/* interval 60 */
	undecodable(buf, len, "keepalive timeout 60 not above interval 60");

	/* 65 routes, and a message past 1024 bytes. */
	ck_assert_int_eq(PROTO_MAX_ROUTES, 64);
	len = encode_good(buf);
	for (int i = 0; i < PROTO_MAX_ROUTES; i++) {
		uint8_t route[] = { 0x02, 5, 10, (uint8_t)i, 0, 0, 16 };
		memcpy(buf + len, route, sizeof(route));
		len += sizeof(route);
	}
	undecodable(buf, len, "more than 64 routes");
	memset(buf + len, 0x7f, sizeof(buf) - len);	/* unknown, skippable */
	undecodable(buf, PROTO_MAX_CONTROL + 1, "oversized control message");

	/* Truncated, and an unknown critical attribute. */
	len = encode_good(buf);
	undecodable(buf, len - 1, "truncated attribute");
	undecodable(buf, 3, "truncated welcome");
	buf[len] = 0x81, buf[len + 1] = 0;
	undecodable(buf, len + 2, "unknown critical attribute 0x81");

	/* A route with host bits; an address with prefix length 0. */
	len = encode_good(buf);
	at = attr_at(buf, len, 0x02);
	buf[at + 5] = 1;				/* 198.51.100.1/24 */
	undecodable(buf, len, "route 1 has host bits set");
	len = encode_good(buf);
	at = attr_at(buf, len, 0x01);
	buf[at + 6] = 0;
	undecodable(buf, len, "ADDR4 prefix length 0 out of range 1-32");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("welcome_policy");
	TCase *tc = tcase_create("policy");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, good_welcome);
	tcase_add_loop_test(tc, bad_address, 0,
			    sizeof(bad_addresses) / sizeof(bad_addresses[0]));
	tcase_add_loop_test(tc, bad_route, 0,
			    sizeof(bad_routes) / sizeof(bad_routes[0]));
	tcase_add_test(tc, default_route_opt_in);
	tcase_add_test(tc, accept_routes);
	tcase_add_test(tc, server_outer_ipv6);
	tcase_add_test(tc, inner_ipv6);
	tcase_add_test(tc, ipv6_only);
	tcase_add_test(tc, route_count);
	tcase_add_test(tc, site_networks);
	tcase_add_test(tc, decoder_rules);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
