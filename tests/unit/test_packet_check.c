/* The server's checks of a client's inner packets: a packet from any
 * address but the session's lease is refused, and so is one to another
 * client; packets that are no IP at all pass neither way. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include "packet_check.h"

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

START_TEST(source_must_be_the_lease)
{
	uint8_t pkt[40];
	struct cv_addr lease = addr_of("203.0.113.2");

	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(packet_source_allowed(pkt, 20, &lease, NULL));
	/* Another client's address, the server's, anything else. */
	ipv4(pkt, "203.0.113.3", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease, NULL));
	ipv4(pkt, "203.0.113.1", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease, NULL));
	ipv4(pkt, "198.51.100.9", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease, NULL));
	/* No lease yet: nothing passes. */
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, NULL, NULL));
	/* Too short for an IPv4 header, or not IPv4 at all. */
	ck_assert(!packet_source_allowed(pkt, 19, &lease, NULL));
	ck_assert(!packet_source_allowed(pkt, 0, &lease, NULL));
	pkt[0] = 0x00;
	ck_assert(!packet_source_allowed(pkt, 20, &lease, NULL));
	/* IPv6 without an IPv6 lease: none passes, even one whose bytes at
	 * the IPv4 source offset match the IPv4 lease. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	memcpy(pkt + 12, &lease.v4, 4);
	ck_assert(!packet_source_allowed(pkt, 40, &lease, NULL));
}
END_TEST

START_TEST(ipv6_source_must_be_the_lease)
{
	uint8_t pkt[40];
	struct cv_addr lease4 = addr_of("203.0.113.2");
	struct cv_addr lease6 = addr_of("2001:db8:100::2");

	ipv6(pkt, "2001:db8:100::2", "2001:db8:200::11");
	ck_assert(packet_source_allowed(pkt, 40, &lease4, &lease6));
	ck_assert(!packet_source_allowed(pkt, 39, &lease4, &lease6));
	ipv6(pkt, "2001:db8:100::3", "2001:db8:200::11");
	ck_assert(!packet_source_allowed(pkt, 40, &lease4, &lease6));
	/* An IPv4 lease never lets IPv6 through, nor the reverse. */
	ck_assert(!packet_source_allowed(pkt, 40, &lease4, NULL));
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, NULL, &lease6));
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
	tcase_add_test(tc, ipv6_client_to_client_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
