/* The server's checks of a client's inner packets: a packet from any
 * address but the session's lease or its networks is refused, and so is
 * one to another client, or, restricted, one where no route leads;
 * packets that are no IP at all pass neither way. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include "packet_check.h"
#include "route.h"

static struct cv_addr addr_of(const char *text)
{
	struct cv_addr a;

	ck_assert(addr_parse(text, &a) == 0);
	return a;
}

/* A 40-byte IPv6 header from src to dst. */
static void ipv6(uint8_t pkt[40], const char *src, const char *dst)
{
	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	inet_pton(AF_INET6, src, pkt + 8);
	inet_pton(AF_INET6, dst, pkt + 24);
}

/* A 20-byte IPv4 header from src to dst (nothing else is looked at). */
static void ipv4(uint8_t pkt[20], const char *src, const char *dst)
{
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	inet_pton(AF_INET, src, pkt + 12);
	inet_pton(AF_INET, dst, pkt + 16);
}

/* Distinct sessions without allocating. */
static char sessions[4];
#define ME ((void *)&sessions[0])
#define OTHER ((void *)&sessions[1])

static void route(struct route_table *t, const char *prefix, void *session)
{
	struct cv_prefix p;
	const char *why;

	ck_assert_msg(prefix_parse(prefix, false, &p, &why) == 0, "%s", prefix);
	ck_assert_int_eq(route_add(t, &p, session), 0);
}

START_TEST(source_must_be_the_lease)
{
	uint8_t pkt[40];
	struct route_table *t;
	struct cv_addr lease = addr_of("203.0.113.2");

	ck_assert_int_eq(route_table_new(&t), 0);
	/* No lease yet: nothing passes. */
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	route(t, "203.0.113.2/32", ME);
	route(t, "203.0.113.3/32", OTHER);
	ck_assert(packet_source_is(pkt, 20, t, ME));
	/* Another client's address, the server's, anything else. */
	ipv4(pkt, "203.0.113.3", "198.51.100.2");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	ipv4(pkt, "203.0.113.1", "198.51.100.2");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	ipv4(pkt, "198.51.100.9", "198.51.100.2");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	/* Too short for an IPv4 header, or not IPv4 at all. */
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_source_is(pkt, 19, t, ME));
	ck_assert(!packet_source_is(pkt, 0, t, ME));
	pkt[0] = 0x00;
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	/* IPv6 without an IPv6 lease: none passes, even one whose bytes at
	 * the IPv4 source offset match the IPv4 lease. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	memcpy(pkt + 12, &lease.v4, 4);
	ck_assert(!packet_source_is(pkt, 40, t, ME));
	route_table_free(t);
}
END_TEST

START_TEST(ipv6_source_must_be_the_lease)
{
	uint8_t pkt[40];
	struct route_table *t;

	ck_assert_int_eq(route_table_new(&t), 0);
	route(t, "203.0.113.2/32", ME);
	route(t, "2001:db8:100::2/128", ME);
	route(t, "2001:db8:100::3/128", OTHER);
	ipv6(pkt, "2001:db8:100::2", "2001:db8:200::11");
	ck_assert(packet_source_is(pkt, 40, t, ME));
	ck_assert(!packet_source_is(pkt, 39, t, ME));
	ipv6(pkt, "2001:db8:100::3", "2001:db8:200::11");
	ck_assert(!packet_source_is(pkt, 40, t, ME));
	route_table_free(t);
}
END_TEST

/* A site: its router's address and the network behind it are its own;
 * another site's network, or an address in it, is not. */
START_TEST(source_in_a_network)
{
	uint8_t pkt[40];
	struct route_table *t;

	ck_assert_int_eq(route_table_new(&t), 0);
	route(t, "203.0.113.2/32", ME);
	route(t, "198.18.1.0/24", ME);
	route(t, "2001:db8:a::/48", ME);
	route(t, "198.18.3.0/24", OTHER);
	route(t, "198.18.3.128/25", ME);	/* nested: the longest wins */
	ipv4(pkt, "198.18.1.10", "198.18.2.10");
	ck_assert(packet_source_is(pkt, 20, t, ME));
	ipv4(pkt, "198.18.3.10", "198.18.2.10");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	ck_assert(packet_source_is(pkt, 20, t, OTHER));
	ipv4(pkt, "198.18.3.200", "198.18.2.10");
	ck_assert(packet_source_is(pkt, 20, t, ME));
	ipv4(pkt, "198.18.2.10", "198.18.1.10");
	ck_assert(!packet_source_is(pkt, 20, t, ME));
	ipv6(pkt, "2001:db8:a:1::10", "2001:db8:b::10");
	ck_assert(packet_source_is(pkt, 40, t, ME));
	ipv6(pkt, "2001:db8:b::10", "2001:db8:a:1::10");
	ck_assert(!packet_source_is(pkt, 40, t, ME));
	route_table_free(t);
}
END_TEST

/* restrict-to-routes: inside a route, or to the gateway itself. */
START_TEST(to_routes_only)
{
	uint8_t pkt[40];
	struct cv_prefix routes[2];
	struct cv_addr gw4 = addr_of("203.0.113.1");
	struct cv_addr gw6 = addr_of("2001:db8:100::1");
	const char *why;

	ck_assert_int_eq(prefix_parse("198.51.100.0/24", false, &routes[0], &why), 0);
	ck_assert_int_eq(prefix_parse("2001:db8:200::/48", false, &routes[1], &why), 0);
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(packet_to_routes(pkt, 20, routes, 2, &gw4, &gw6));
	ipv4(pkt, "203.0.113.2", "198.18.3.10");
	ck_assert(!packet_to_routes(pkt, 20, routes, 2, &gw4, &gw6));
	ipv4(pkt, "203.0.113.2", "203.0.113.1");
	ck_assert(packet_to_routes(pkt, 20, routes, 2, &gw4, &gw6));
	ipv4(pkt, "203.0.113.2", "203.0.113.3");
	ck_assert(!packet_to_routes(pkt, 20, routes, 2, &gw4, &gw6));
	ck_assert(!packet_to_routes(pkt, 19, routes, 2, &gw4, &gw6));
	ipv6(pkt, "2001:db8:100::2", "2001:db8:200:5::1");
	ck_assert(packet_to_routes(pkt, 40, routes, 2, &gw4, &gw6));
	ipv6(pkt, "2001:db8:100::2", "2001:db8:100::1");
	ck_assert(packet_to_routes(pkt, 40, routes, 2, &gw4, &gw6));
	ipv6(pkt, "2001:db8:100::2", "2001:db8:300::1");
	ck_assert(!packet_to_routes(pkt, 40, routes, 2, &gw4, &gw6));
	/* No routes: only the gateway. */
	ck_assert(!packet_to_routes(pkt, 40, routes, 0, &gw4, &gw6));
}
END_TEST

START_TEST(client_to_client_refused)
{
	uint8_t pkt[20];
	struct cv_prefix pool = { .addr = addr_of("203.0.113.0"), .len = 24 };
	struct cv_addr server = addr_of("203.0.113.1");

	ipv4(pkt, "203.0.113.2", "203.0.113.3");
	ck_assert(packet_to_other_client(pkt, 20, &pool, &server, NULL, NULL));
	ipv4(pkt, "203.0.113.2", "203.0.113.255");
	ck_assert(packet_to_other_client(pkt, 20, &pool, &server, NULL, NULL));
	/* To the server itself, or beyond it: not another client. */
	ipv4(pkt, "203.0.113.2", "203.0.113.1");
	ck_assert(!packet_to_other_client(pkt, 20, &pool, &server, NULL, NULL));
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_to_other_client(pkt, 20, &pool, &server, NULL, NULL));
	ck_assert(!packet_to_other_client(pkt, 19, &pool, &server, NULL, NULL));
}
END_TEST

START_TEST(ipv6_client_to_client_refused)
{
	uint8_t pkt[40];
	struct cv_prefix pool = { .addr = addr_of("203.0.113.0"), .len = 24 };
	struct cv_addr server = addr_of("203.0.113.1");
	struct cv_prefix pool6 = { .addr = addr_of("2001:db8:100::"), .len = 64 };
	struct cv_addr server6 = addr_of("2001:db8:100::1");

	ipv6(pkt, "2001:db8:100::2", "2001:db8:100::3");
	ck_assert(packet_to_other_client(pkt, 40, &pool, &server, &pool6,
					 &server6));
	/* Without pool6 there are no IPv6 clients to protect. */
	ck_assert(!packet_to_other_client(pkt, 40, &pool, &server, NULL,
					  NULL));
	ipv6(pkt, "2001:db8:100::2", "2001:db8:100::1");
	ck_assert(!packet_to_other_client(pkt, 40, &pool, &server, &pool6,
					  &server6));
	ipv6(pkt, "2001:db8:100::2", "2001:db8:200::11");
	ck_assert(!packet_to_other_client(pkt, 40, &pool, &server, &pool6,
					  &server6));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("packet_check");
	TCase *tc = tcase_create("checks");

	tcase_add_test(tc, source_must_be_the_lease);
	tcase_add_test(tc, client_to_client_refused);
	tcase_add_test(tc, ipv6_source_must_be_the_lease);
	tcase_add_test(tc, source_in_a_network);
	tcase_add_test(tc, to_routes_only);
	tcase_add_test(tc, ipv6_client_to_client_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
