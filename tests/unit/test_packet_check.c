/* The server's checks of a client's inner packets: a packet from any
 * address but the session's lease is refused, and so is one to another
 * client; packets that are no IP at all pass neither way. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include "packet_check.h"

static struct cv_addr a4(const char *text)
{
	struct cv_addr a;

	ck_assert(addr_parse(text, &a) == 0);
	return a;
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
	struct cv_addr lease = a4("203.0.113.2");

	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(packet_source_allowed(pkt, 20, &lease));
	/* Another client's address, the server's, anything else. */
	ipv4(pkt, "203.0.113.3", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease));
	ipv4(pkt, "203.0.113.1", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease));
	ipv4(pkt, "198.51.100.9", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, &lease));
	/* No lease yet: nothing passes. */
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_source_allowed(pkt, 20, NULL));
	/* Too short for an IPv4 header, or not IPv4 at all. */
	ck_assert(!packet_source_allowed(pkt, 19, &lease));
	ck_assert(!packet_source_allowed(pkt, 0, &lease));
	pkt[0] = 0x00;
	ck_assert(!packet_source_allowed(pkt, 20, &lease));
	/* IPv6: no inner IPv6 address is leased, so none passes, even one
	 * whose bytes at the IPv4 source offset match the lease. */
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x60;
	memcpy(pkt + 12, &lease.v4, 4);
	ck_assert(!packet_source_allowed(pkt, 40, &lease));
}
END_TEST

START_TEST(client_to_client_refused)
{
	uint8_t pkt[20];
	struct cv_prefix pool = { .addr = a4("203.0.113.0"), .len = 24 };
	struct cv_addr server = a4("203.0.113.1");

	ipv4(pkt, "203.0.113.2", "203.0.113.3");
	ck_assert(packet_to_other_client(pkt, 20, &pool, &server));
	ipv4(pkt, "203.0.113.2", "203.0.113.255");
	ck_assert(packet_to_other_client(pkt, 20, &pool, &server));
	/* To the server itself, or beyond it: not another client. */
	ipv4(pkt, "203.0.113.2", "203.0.113.1");
	ck_assert(!packet_to_other_client(pkt, 20, &pool, &server));
	ipv4(pkt, "203.0.113.2", "198.51.100.2");
	ck_assert(!packet_to_other_client(pkt, 20, &pool, &server));
	ck_assert(!packet_to_other_client(pkt, 19, &pool, &server));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("packet_check");
	TCase *tc = tcase_create("checks");

	tcase_add_test(tc, source_must_be_the_lease);
	tcase_add_test(tc, client_to_client_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
