/* addr.c: prefix and endpoint parsing, containment, and the text forms
 * that log lines and config errors print. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "failover.h"

static struct cv_prefix prefix(const char *text)
{
	struct cv_prefix p;
	const char *why = NULL;

	ck_assert_msg(prefix_parse(text, false, &p, &why) == 0, "%s: %s", text,
		      why);
	return p;
}

static struct cv_addr addr(const char *text)
{
	struct cv_addr a;

	ck_assert_msg(addr_parse(text, &a) == 0, "%s", text);
	return a;
}

/* Fails the test unless text is refused, with why containing phrase. */
static void assert_prefix_refused(const char *text, bool allow_host_bits,
				  const char *phrase)
{
	struct cv_prefix p;
	const char *why = NULL;

	ck_assert_msg(prefix_parse(text, allow_host_bits, &p, &why) == -EINVAL,
		      "'%s' was accepted", text);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, phrase), "'%s': '%s' lacks '%s'", text, why,
		      phrase);
}

/* ---- prefix_parse */

START_TEST(prefix_parse_accepts_networks)
{
	char buf[ADDR_STRLEN];
	struct cv_prefix p = prefix("10.8.0.0/24");

	ck_assert_int_eq(p.addr.family, AF_INET);
	ck_assert_uint_eq(p.len, 24);
	ck_assert_uint_eq(ntohl(p.addr.v4.s_addr), 0x0a080000);

	p = prefix("2001:db8::/32");
	ck_assert_int_eq(p.addr.family, AF_INET6);
	ck_assert_uint_eq(p.len, 32);
	ck_assert_str_eq(addr_str(&p.addr, buf), "2001:db8::");

	ck_assert_uint_eq(prefix("0.0.0.0/0").len, 0);
	ck_assert_uint_eq(prefix("192.0.2.1/32").len, 32);
	ck_assert_uint_eq(prefix("::/0").len, 0);
	ck_assert_uint_eq(prefix("2001:db8::1/128").len, 128);
	ck_assert_uint_eq(prefix("10.8.0.0/15").len, 15);
}
END_TEST

START_TEST(prefix_parse_refuses_bad_lengths)
{
	assert_prefix_refused("10.0.0.0/33", false, "0-32");
	assert_prefix_refused("10.0.0.0/", false, "0-32");
	assert_prefix_refused("10.0.0.0/-1", false, "0-32");
	assert_prefix_refused("10.0.0.0/+8", false, "0-32");
	assert_prefix_refused("10.0.0.0/ 8", false, "0-32");
	assert_prefix_refused("10.0.0.0/8x", false, "0-32");
	assert_prefix_refused("10.0.0.0/99999999999999999999", false, "0-32");
	assert_prefix_refused("2001:db8::/129", false, "0-128");
}
END_TEST

START_TEST(prefix_parse_refuses_bad_addresses)
{
	assert_prefix_refused("10.0.0.0", false, "expected ADDRESS/LENGTH");
	assert_prefix_refused("", false, "expected ADDRESS/LENGTH");
	assert_prefix_refused("garbage", false, "expected ADDRESS/LENGTH");
	assert_prefix_refused("garbage/24", false, "not an IPv4 or IPv6");
	assert_prefix_refused("/24", false, "not an IPv4 or IPv6");
	assert_prefix_refused("10.0.0/24", false, "not an IPv4 or IPv6");
	assert_prefix_refused("256.0.0.0/8", false, "not an IPv4 or IPv6");
	assert_prefix_refused(" 10.0.0.0/8", false, "not an IPv4 or IPv6");
	assert_prefix_refused("2001:db8:::/48", false, "not an IPv4 or IPv6");
	/* Longer than any address text: must not overflow the copy. */
	assert_prefix_refused("1111111111111111111111111111111111111111111111"
			      "1111111111111111111/8", false, "not an IPv4");
}
END_TEST

START_TEST(prefix_parse_host_bits)
{
	struct cv_prefix p;
	const char *why = NULL;
	char buf[ADDR_STRLEN];

	assert_prefix_refused("10.8.0.1/24", false, "host bits");
	assert_prefix_refused("10.8.1.0/23", false, "host bits");
	assert_prefix_refused("2001:db8::1/64", false, "host bits");
	assert_prefix_refused("0.0.0.1/0", false, "host bits");

	/* An interface address keeps its host part. */
	ck_assert_int_eq(prefix_parse("10.8.0.1/24", true, &p, &why), 0);
	ck_assert_str_eq(prefix_str(&p, buf), "10.8.0.1/24");
	ck_assert_int_eq(prefix_parse("2001:db8::1/64", true, &p, &why), 0);
	ck_assert_str_eq(prefix_str(&p, buf), "2001:db8::1/64");

	/* allow_host_bits does not relax anything else. */
	assert_prefix_refused("10.8.0.1/33", true, "0-32");
	assert_prefix_refused("10.8.0.1", true, "ADDRESS/LENGTH");
}
END_TEST

START_TEST(addr_parse_forms)
{
	struct cv_addr a;

	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_uint_eq(ntohl(a.v4.s_addr), 0xc0000201);
	ck_assert_int_eq(addr_parse("2001:db8::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_uint_eq(a.bytes[0], 0x20);
	ck_assert_uint_eq(a.bytes[15], 0x01);
	ck_assert_int_eq(addr_parse("192.0.2.1/32", &a), -EINVAL);
	ck_assert_int_eq(addr_parse("host.example", &a), -EINVAL);
	ck_assert_int_eq(addr_parse("", &a), -EINVAL);
}
END_TEST

/* ---- containment */

START_TEST(addr_equal_needs_same_family)
{
	struct cv_addr a = addr("10.0.0.1"), b = addr("10.0.0.1");

	ck_assert(addr_equal(&a, &b));
	b = addr("10.0.0.2");
	ck_assert(!addr_equal(&a, &b));
	/* ::a00:1 has 10.0.0.1 in its last bytes but is another address. */
	b = addr("::a00:1");
	ck_assert(!addr_equal(&a, &b));
	b = addr("a00:1::");	/* starts with the same four bytes */
	ck_assert(!addr_equal(&a, &b));
	ck_assert(!addr_equal(&b, &a));
	a = addr("2001:db8::1");
	b = addr("2001:db8:0::1");
	ck_assert(addr_equal(&a, &b));
}
END_TEST

START_TEST(prefix_contains_edges)
{
	struct cv_prefix p = prefix("10.8.0.0/24");
	struct cv_addr a;

	a = addr("10.8.0.0");
	ck_assert(prefix_contains(&p, &a));
	a = addr("10.8.0.255");
	ck_assert(prefix_contains(&p, &a));
	a = addr("10.8.1.0");
	ck_assert(!prefix_contains(&p, &a));
	a = addr("10.7.255.255");
	ck_assert(!prefix_contains(&p, &a));

	/* Lengths that cut a byte. */
	p = prefix("10.8.0.0/23");
	a = addr("10.8.1.200");
	ck_assert(prefix_contains(&p, &a));
	a = addr("10.8.2.0");
	ck_assert(!prefix_contains(&p, &a));
	p = prefix("10.8.0.128/25");
	a = addr("10.8.0.127");
	ck_assert(!prefix_contains(&p, &a));
	a = addr("10.8.0.128");
	ck_assert(prefix_contains(&p, &a));

	p = prefix("192.0.2.1/32");
	a = addr("192.0.2.1");
	ck_assert(prefix_contains(&p, &a));
	a = addr("192.0.2.0");
	ck_assert(!prefix_contains(&p, &a));

	p = prefix("0.0.0.0/0");
	a = addr("203.0.113.9");
	ck_assert(prefix_contains(&p, &a));
	a = addr("2001:db8::1");
	ck_assert(!prefix_contains(&p, &a));	/* other family */

	p = prefix("2001:db8:1::/48");
	a = addr("2001:db8:1:ffff::1");
	ck_assert(prefix_contains(&p, &a));
	a = addr("2001:db8:2::1");
	ck_assert(!prefix_contains(&p, &a));
	a = addr("10.0.0.1");
	ck_assert(!prefix_contains(&p, &a));
}
END_TEST

static void assert_overlap(const char *a, const char *b, bool expected)
{
	struct cv_prefix pa = prefix(a), pb = prefix(b);

	ck_assert_msg(prefix_overlap(&pa, &pb) == expected, "%s %s", a, b);
	ck_assert_msg(prefix_overlap(&pb, &pa) == expected, "%s %s", b, a);
}

START_TEST(prefix_overlap_cases)
{
	assert_overlap("10.0.0.0/8", "10.8.0.0/16", true);
	assert_overlap("10.8.0.0/24", "10.8.0.0/24", true);
	assert_overlap("10.8.0.0/24", "10.8.1.0/24", false);
	assert_overlap("10.8.0.0/23", "10.8.1.0/24", true);
	assert_overlap("10.8.0.0/25", "10.8.0.128/25", false);
	assert_overlap("0.0.0.0/0", "192.0.2.1/32", true);
	assert_overlap("2001:db8::/32", "2001:db8:ff::/48", true);
	assert_overlap("2001:db8::/32", "2001:db9::/32", false);
	assert_overlap("0.0.0.0/0", "::/0", false);
	assert_overlap("10.0.0.0/8", "::a00:0/104", false);
}
END_TEST

/* ---- endpoint_split */

struct endpoint {
	char host[64];
	char port[8];
	const char *why;
};

static int split(const char *text, struct endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	strcpy(ep->host, "untouched");
	return endpoint_split(text, ep->host, sizeof(ep->host), ep->port,
			      sizeof(ep->port), &ep->why);
}

START_TEST(endpoint_split_good)
{
	struct endpoint ep;

	ck_assert_int_eq(split("192.0.2.1:4433", &ep), 0);
	ck_assert_str_eq(ep.host, "192.0.2.1");
	ck_assert_str_eq(ep.port, "4433");

	ck_assert_int_eq(split("[2001:db8::1]:443", &ep), 0);
	ck_assert_str_eq(ep.host, "2001:db8::1");
	ck_assert_str_eq(ep.port, "443");

	ck_assert_int_eq(split("host.example:1", &ep), 0);
	ck_assert_str_eq(ep.host, "host.example");
	ck_assert_str_eq(ep.port, "1");

	ck_assert_int_eq(split("gw:65535", &ep), 0);
	ck_assert_str_eq(ep.port, "65535");
}
END_TEST

static void assert_endpoint_refused(const char *text, const char *phrase)
{
	struct endpoint ep;

	ck_assert_msg(split(text, &ep) == -EINVAL, "'%s' was accepted", text);
	ck_assert_ptr_nonnull(ep.why);
	ck_assert_msg(strstr(ep.why, phrase), "'%s': '%s' lacks '%s'", text,
		      ep.why, phrase);
	ck_assert_str_eq(ep.host, "untouched");
}

START_TEST(endpoint_split_bad)
{
	assert_endpoint_refused("192.0.2.1", "expected HOST:PORT");
	assert_endpoint_refused("192.0.2.1:", "1-65535");
	assert_endpoint_refused("192.0.2.1:0", "1-65535");
	assert_endpoint_refused("192.0.2.1:70000", "1-65535");
	assert_endpoint_refused("192.0.2.1:65536", "1-65535");
	assert_endpoint_refused("192.0.2.1:-1", "1-65535");
	assert_endpoint_refused("192.0.2.1:44x", "1-65535");
	assert_endpoint_refused("192.0.2.1:99999999999999999999999", "1-65535");
	assert_endpoint_refused("[::1]443", "expected [IPV6]:PORT");
	assert_endpoint_refused("[::1:443", "expected [IPV6]:PORT");
	assert_endpoint_refused("a:b:c", "expected HOST:PORT");
	assert_endpoint_refused("2001:db8::1:443", "expected HOST:PORT");
	assert_endpoint_refused(":443", "no host");
	assert_endpoint_refused("[]:443", "no host");
	assert_endpoint_refused("", "expected HOST:PORT");
}
END_TEST

START_TEST(endpoint_split_respects_buffer_sizes)
{
	char host[8], port[3];
	const char *why = NULL;

	ck_assert_int_eq(endpoint_split("a.example:1", host, sizeof(host), port,
					sizeof(port), &why), -EINVAL);
	ck_assert_int_eq(endpoint_split("example:443", host, sizeof(host), port,
					sizeof(port), &why), -EINVAL);
	ck_assert_int_eq(endpoint_split("example:44", host, sizeof(host), port,
					sizeof(port), &why), 0);
	ck_assert_str_eq(host, "example");
	ck_assert_str_eq(port, "44");
}
END_TEST

/* ---- text forms */

START_TEST(addr_and_prefix_strings)
{
	char buf[ADDR_STRLEN];
	struct cv_addr a = addr("192.0.2.1");
	struct cv_prefix p;
	const char *why;

	ck_assert_str_eq(addr_str(&a, buf), "192.0.2.1");
	ck_assert_ptr_eq(addr_str(&a, buf), buf);
	a = addr("2001:0db8:0000:0000:0000:0000:0000:0001");
	ck_assert_str_eq(addr_str(&a, buf), "2001:db8::1");
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(addr_str(&a, buf), "(none)");

	ck_assert_str_eq(prefix_str((p = prefix("10.8.0.0/24"), &p), buf),
			 "10.8.0.0/24");
	ck_assert_str_eq(prefix_str((p = prefix("2001:db8::/32"), &p), buf),
			 "2001:db8::/32");
	/* The longest text fits. */
	ck_assert_int_eq(prefix_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
				      false, &p, &why), 0);
	ck_assert_str_eq(prefix_str(&p, buf),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}
END_TEST

/* A cluster's clients: neighbouring inner addresses move in slots of
 * their own, within failover-spread; a drained gateway's at once. */
START_TEST(failover_slots)
{
	struct cv_addr a;
	char text[32];
	unsigned int prev = 0;

	for (unsigned int i = 11; i <= 30; i++) {
		snprintf(text, sizeof(text), "203.0.113.%u", i);
		ck_assert_int_eq(addr_parse(text, &a), 0);
		unsigned int lo = failover_pause_ms(&a, 5000, false, 0);
		unsigned int hi = failover_pause_ms(&a, 5000, false, 0xffffffffu);
		ck_assert_uint_eq(lo, i * 156);
		ck_assert_uint_le(hi, i * 156 + 39);
		if (i > 11)
			ck_assert_uint_ge(lo - prev, 156 - 39);
		prev = hi;
	}
	ck_assert_int_eq(addr_parse("2001:db8::3f", &a), 0);
	ck_assert_uint_eq(failover_pause_ms(&a, 3200, false, 0), 31 * 100);
	ck_assert_uint_lt(failover_pause_ms(&a, 3200, true, 12345), 100);
	a.family = 0;
	ck_assert_uint_lt(failover_pause_ms(&a, 3200, false, 0xdeadbeef), 3200);
	ck_assert_uint_eq(failover_pause_ms(&a, 0, false, 7), 0);
}
END_TEST

START_TEST(sockaddr_strings)
{
	char buf[ADDR_STRLEN];
	struct sockaddr_in in = { .sin_family = AF_INET,
				  .sin_port = htons(4433) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6,
				    .sin6_port = htons(443) };
	struct sockaddr_storage other = { .ss_family = AF_UNIX };

	inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	ck_assert_str_eq(sockaddr_str(&in, buf), "192.0.2.1:4433");
	ck_assert_str_eq(sockaddr_str(&in6, buf), "[2001:db8::1]:443");
	ck_assert_str_eq(sockaddr_str(&other, buf), "(family 1)");
}
END_TEST

static Suite *addr_suite(void)
{
	Suite *s = suite_create("addr");
	TCase *parse = tcase_create("parse");
	TCase *contain = tcase_create("contain");
	TCase *endpoint = tcase_create("endpoint");
	TCase *text = tcase_create("text");

	tcase_add_test(parse, prefix_parse_accepts_networks);
	tcase_add_test(parse, prefix_parse_refuses_bad_lengths);
	tcase_add_test(parse, prefix_parse_refuses_bad_addresses);
	tcase_add_test(parse, prefix_parse_host_bits);
	tcase_add_test(parse, addr_parse_forms);
	tcase_add_test(contain, addr_equal_needs_same_family);
	tcase_add_test(contain, prefix_contains_edges);
	tcase_add_test(contain, prefix_overlap_cases);
	tcase_add_test(endpoint, endpoint_split_good);
	tcase_add_test(contain, failover_slots);
	tcase_add_test(endpoint, endpoint_split_bad);
	tcase_add_test(endpoint, endpoint_split_respects_buffer_sizes);
	tcase_add_test(text, addr_and_prefix_strings);
	tcase_add_test(text, sockaddr_strings);
	suite_add_tcase(s, parse);
	suite_add_tcase(s, contain);
	suite_add_tcase(s, endpoint);
	suite_add_tcase(s, text);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(addr_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
