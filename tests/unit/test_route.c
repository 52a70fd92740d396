/* route.c: inner prefix -> session, as the fast path looks it up: host
 * addresses by the thousand, and longest matches among networks. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "route.h"

static struct route_table *table;

static void setup(void)
{
	table = NULL;
	ck_assert_int_eq(route_table_new(&table), 0);
	ck_assert_ptr_nonnull(table);
}

static void teardown(void)
{
	route_table_free(table);
}

static struct cv_addr addr(const char *text)
{
	struct cv_addr a;

	ck_assert_msg(addr_parse(text, &a) == 0, "%s", text);
	return a;
}

static struct cv_addr v4(uint32_t host_order)
{
	struct cv_addr a = { .family = AF_INET };

	a.v4.s_addr = htonl(host_order);
	return a;
}

/* Spread over the space, with runs of neighbours and shared v6 heads. */
static struct cv_addr numbered(uint32_t i)
{
	if (i % 2 == 0)
		return v4(0x0a000000 + i / 2);
	struct cv_addr a = { .family = AF_INET6, .bytes = { 0xfd } };
	uint32_t n = htonl(i);

	memcpy(&a.bytes[12], &n, sizeof(n));	/* fd00::<i> */
	return a;
}

/* A client's address, as the server routes it: a host prefix. An
 * unknown family stays unknown. */
static struct cv_prefix host(const struct cv_addr *a)
{
	struct cv_prefix p = { .addr = *a };

	if (a->family == AF_INET || a->family == AF_INET6)
		p = prefix_host(a);
	return p;
}

static int add_host(const struct cv_addr *a, void *session)
{
	struct cv_prefix p = host(a);

	return route_add(table, &p, session);
}

static void del_host(const struct cv_addr *a, const void *session)
{
	struct cv_prefix p = host(a);

	route_del(table, &p, session);
}

/* As the fast path calls it: family and the raw header bytes. */
static void *lookup(const struct cv_addr *a)
{
	return route_lookup(table, a->family, a->bytes);
}

/* Distinct non-NULL sessions without allocating. */
static char sessions[20000];
#define SESSION(i) ((void *)&sessions[i])

START_TEST(add_lookup_del_v4)
{
	struct cv_addr a = addr("10.8.0.2"), b = addr("10.8.0.3");

	ck_assert_uint_eq(route_count(table), 0);
	ck_assert_ptr_null(lookup(&a));
	ck_assert_int_eq(add_host(&a, SESSION(1)), 0);
	ck_assert_int_eq(add_host(&b, SESSION(2)), 0);
	ck_assert_uint_eq(route_count(table), 2);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));

	del_host(&a, SESSION(1));
	ck_assert_ptr_null(lookup(&a));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

START_TEST(add_lookup_del_v6)
{
	struct cv_addr a = addr("fd00::2"), b = addr("fd00::3");

	ck_assert_int_eq(add_host(&a, SESSION(1)), 0);
	ck_assert_int_eq(add_host(&b, SESSION(2)), 0);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));
	del_host(&b, SESSION(2));
	ck_assert_ptr_null(lookup(&b));
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

/* The header bytes of a packet need no alignment. */
START_TEST(lookup_unaligned_header_bytes)
{
	struct cv_addr a = addr("192.0.2.77"), b = addr("2001:db8::77");
	uint8_t packet[64];

	ck_assert_int_eq(add_host(&a, SESSION(1)), 0);
	ck_assert_int_eq(add_host(&b, SESSION(2)), 0);
	memcpy(packet + 17, &a.v4, 4);
	memcpy(packet + 33, &b.v6, 16);
	ck_assert_ptr_eq(route_lookup(table, AF_INET, packet + 17), SESSION(1));
	ck_assert_ptr_eq(route_lookup(table, AF_INET6, packet + 33), SESSION(2));
	ck_assert_ptr_null(route_lookup(table, AF_UNIX, packet + 17));
}
END_TEST

START_TEST(add_twice_is_eexist)
{
	struct cv_addr a = addr("10.8.0.2");

	ck_assert_int_eq(add_host(&a, SESSION(1)), 0);
	ck_assert_int_eq(add_host(&a, SESSION(2)), -EEXIST);
	ck_assert_int_eq(add_host(&a, SESSION(1)), -EEXIST);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

START_TEST(add_refuses_null_session_and_unknown_family)
{
	struct cv_addr a = addr("10.8.0.2"), none = { .family = AF_UNIX };

	ck_assert_int_eq(add_host(&a, NULL), -EINVAL);
	ck_assert_int_eq(add_host(&none, SESSION(1)), -EINVAL);
	ck_assert_uint_eq(route_count(table), 0);
	del_host(&none, SESSION(1));
}
END_TEST

/* A session that lost an address must not remove its new holder's route. */
START_TEST(del_with_other_session_keeps_entry)
{
	struct cv_addr a = addr("10.8.0.2"), other = addr("10.8.0.9");

	ck_assert_int_eq(add_host(&a, SESSION(2)), 0);
	del_host(&a, SESSION(1));
	del_host(&a, NULL);
	del_host(&other, SESSION(2));
	ck_assert_ptr_eq(lookup(&a), SESSION(2));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

/* ::a08:2 ends in the bytes of 10.8.0.2, and fd00:: starts like 253.0.0.0. */
START_TEST(v4_and_v6_are_distinct)
{
	struct cv_addr a4 = addr("10.8.0.2"), a6 = addr("::a08:2");
	struct cv_addr b4 = addr("253.0.0.0"), b6 = addr("fd00::");

	ck_assert_int_eq(add_host(&a4, SESSION(1)), 0);
	ck_assert_int_eq(add_host(&b4, SESSION(3)), 0);
	ck_assert_ptr_null(lookup(&a6));
	ck_assert_ptr_null(lookup(&b6));
	ck_assert_ptr_null(route_lookup(table, AF_INET6, b4.bytes));
	ck_assert_int_eq(add_host(&a6, SESSION(2)), 0);
	ck_assert_int_eq(add_host(&b6, SESSION(4)), 0);
	ck_assert_ptr_eq(lookup(&a4), SESSION(1));
	ck_assert_ptr_eq(lookup(&a6), SESSION(2));
	ck_assert_ptr_eq(lookup(&b4), SESSION(3));
	ck_assert_ptr_eq(lookup(&b6), SESSION(4));
	del_host(&a6, SESSION(2));
	ck_assert_ptr_eq(lookup(&a4), SESSION(1));
	ck_assert_uint_eq(route_count(table), 3);
}
END_TEST

/* In loops, plain checks: a passing ck_assert costs check a write(2). */
static void expect(const struct cv_addr *a, void *session)
{
	void *got = lookup(a);
	char buf[ADDR_STRLEN];

	if (got != session)
		ck_abort_msg("%s: session %p, expected %p", addr_str(a, buf),
			     got, session);
}

START_TEST(grows_to_ten_thousand)
{
	enum { N = 10000 };

	for (uint32_t i = 0; i < N; i++) {
		struct cv_addr a = numbered(i);
		if (add_host(&a, SESSION(i)) != 0)
			ck_abort_msg("add %u failed", i);
	}
	ck_assert_uint_eq(route_count(table), N);
	for (uint32_t i = 0; i < N; i++) {
		struct cv_addr a = numbered(i);
		expect(&a, SESSION(i));
	}
	for (uint32_t i = N; i < 2 * N; i++) {
		struct cv_addr a = numbered(i);
		expect(&a, NULL);
	}
}
END_TEST

/* xorshift32: the same "random" sequence on every run. */
static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Random adds and deletes over a small key space keep the table full of
 * collisions and shifted runs; a plain array says what it must hold. */
START_TEST(churn_matches_model)
{
	enum { KEYS = 3000, STEPS = 200000 };
	static void *model[KEYS];
	uint32_t rng = 2463534242u, count = 0;

	memset(model, 0, sizeof(model));
	for (uint32_t step = 0; step < STEPS; step++) {
		uint32_t k = next_random(&rng) % KEYS;
		struct cv_addr a = numbered(k);
		if (model[k]) {
			del_host(&a, model[k]);
			model[k] = NULL;
			count--;
		} else {
			model[k] = SESSION(k + step % 7);
			if (add_host(&a, model[k]) != 0)
				ck_abort_msg("step %u: add %u failed", step, k);
			count++;
		}
		if (step % 1000 == 0)
			for (uint32_t j = 0; j < KEYS; j++) {
				struct cv_addr b = numbered(j);
				expect(&b, model[j]);
			}
	}
	ck_assert_uint_eq(route_count(table), count);
	for (uint32_t j = 0; j < KEYS; j++) {
		struct cv_addr b = numbered(j);
		expect(&b, model[j]);
	}
}
END_TEST

/* Fill, empty, refill: nothing deleted may linger or hide the rest. */
START_TEST(delete_all_then_reinsert)
{
	enum { N = 5000 };

	for (int round = 0; round < 5; round++) {
		for (uint32_t i = 0; i < N; i++) {
			struct cv_addr a = numbered(i + round);
			if (add_host(&a, SESSION(i)) != 0)
				ck_abort_msg("round %d: add %u failed", round, i);
		}
		/* Every other one first, then the rest from the end. */
		for (uint32_t i = 0; i < N; i += 2) {
			struct cv_addr a = numbered(i + round);
			del_host(&a, SESSION(i));
		}
		for (uint32_t i = 1; i < N; i += 2) {
			struct cv_addr a = numbered(i + round);
			expect(&a, SESSION(i));
			a = numbered(i - 1 + round);
			expect(&a, NULL);
		}
		for (uint32_t i = N; i-- > 0;) {
			struct cv_addr a = numbered(i + round);
			del_host(&a, SESSION(i));
		}
		ck_assert_uint_eq(route_count(table), 0);
		for (uint32_t i = 0; i < N + 5; i++) {
			struct cv_addr a = numbered(i);
			expect(&a, NULL);
		}
	}
}
END_TEST

static struct cv_prefix pfx(const char *text)
{
	struct cv_prefix p;
	const char *why;

	ck_assert_msg(prefix_parse(text, false, &p, &why) == 0, "%s", text);
	return p;
}

static void *at(const char *text)
{
	struct cv_addr a = addr(text);

	return lookup(&a);
}

/* Sites behind clients: the longest prefix holding an address wins,
 * whatever the order they came in; a host route inside a network
 * (a client's own address) beats the network. */
START_TEST(longest_match)
{
	struct cv_prefix wide = pfx("198.18.0.0/16"), site = pfx("198.18.1.0/24");
	struct cv_prefix half = pfx("198.18.1.128/25");
	struct cv_prefix hostp = pfx("198.18.1.200/32");

	ck_assert_int_eq(route_add(table, &site, SESSION(2)), 0);
	ck_assert_int_eq(route_add(table, &wide, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &hostp, SESSION(4)), 0);
	ck_assert_int_eq(route_add(table, &half, SESSION(3)), 0);
	ck_assert_ptr_eq(at("198.18.2.1"), SESSION(1));
	ck_assert_ptr_eq(at("198.18.1.1"), SESSION(2));
	ck_assert_ptr_eq(at("198.18.1.129"), SESSION(3));
	ck_assert_ptr_eq(at("198.18.1.200"), SESSION(4));
	ck_assert_ptr_null(at("198.19.0.1"));
	ck_assert_ptr_eq(route_find(table, &site), SESSION(2));
	ck_assert_ptr_null(route_find(table, &(struct cv_prefix){
		.addr = site.addr, .len = 23 }));
	/* Gone, the next longer one takes over; then nothing. */
	route_del(table, &half, SESSION(3));
	ck_assert_ptr_eq(at("198.18.1.129"), SESSION(2));
	route_del(table, &site, SESSION(2));
	ck_assert_ptr_eq(at("198.18.1.129"), SESSION(1));
	ck_assert_ptr_eq(at("198.18.1.200"), SESSION(4));
	route_del(table, &wide, SESSION(1));
	ck_assert_ptr_null(at("198.18.1.129"));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

START_TEST(longest_match_v6)
{
	struct cv_prefix all = pfx("::/0"), site = pfx("2001:db8:a::/48");
	struct cv_prefix lan = pfx("2001:db8:a:1::/64");
	struct cv_prefix odd = pfx("2001:db8:a:1:8000::/65");
	struct cv_prefix client = pfx("2001:db8:a:1:8000::5/128");

	ck_assert_int_eq(route_add(table, &all, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &site, SESSION(2)), 0);
	ck_assert_int_eq(route_add(table, &lan, SESSION(3)), 0);
	ck_assert_int_eq(route_add(table, &odd, SESSION(4)), 0);
	ck_assert_int_eq(route_add(table, &client, SESSION(5)), 0);
	ck_assert_ptr_eq(at("2001:db9::1"), SESSION(1));
	ck_assert_ptr_eq(at("2001:db8:a:2::1"), SESSION(2));
	ck_assert_ptr_eq(at("2001:db8:a:1::1"), SESSION(3));
	ck_assert_ptr_eq(at("2001:db8:a:1:8000::1"), SESSION(4));
	ck_assert_ptr_eq(at("2001:db8:a:1:8000::5"), SESSION(5));
	/* An IPv6 default route holds no IPv4 address. */
	ck_assert_ptr_null(at("198.18.1.1"));
}
END_TEST

/* A prefix with host bits set could never be matched as written. */
START_TEST(refuses_host_bits_and_long_lengths)
{
	struct cv_prefix bits = { .addr = addr("198.18.1.1"), .len = 24 };
	struct cv_prefix too_long = { .addr = addr("198.18.1.1"), .len = 33 };
	struct cv_prefix too_long6 = { .addr = addr("2001:db8::"), .len = 129 };

	ck_assert_int_eq(route_add(table, &bits, SESSION(1)), -EINVAL);
	ck_assert_int_eq(route_add(table, &too_long, SESSION(1)), -EINVAL);
	ck_assert_int_eq(route_add(table, &too_long6, SESSION(1)), -EINVAL);
	ck_assert_ptr_null(route_find(table, &bits));
	ck_assert_uint_eq(route_count(table), 0);
}
END_TEST

/* A gateway of sites: 1,000 clients, each an address and a network of
 * its own, and lookups of both (the bench measures their cost). */
START_TEST(thousand_sites)
{
	enum { N = 1000 };

	for (uint32_t i = 0; i < N; i++) {
		struct cv_prefix h = { .addr = v4(0x0a000000 + i), .len = 32 };
		struct cv_prefix n = { .addr = v4(0xc6000000 + (i << 8)),
				       .len = 24 };	/* 198.x.y.0/24 */
		if (route_add(table, &h, SESSION(i)) != 0 ||
		    route_add(table, &n, SESSION(i)) != 0)
			ck_abort_msg("add %u failed", i);
	}
	for (uint32_t i = 0; i < N; i++) {
		struct cv_addr h = v4(0x0a000000 + i);
		struct cv_addr in = v4(0xc6000000 + (i << 8) + 77);
		expect(&h, SESSION(i));
		expect(&in, SESSION(i));
	}
	ck_assert_uint_eq(route_count(table), 2 * N);
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *basic = tcase_create("basic");
	TCase *scale = tcase_create("scale");

	tcase_add_checked_fixture(basic, setup, teardown);
	tcase_add_checked_fixture(scale, setup, teardown);
	tcase_add_test(basic, add_lookup_del_v4);
	tcase_add_test(basic, add_lookup_del_v6);
	tcase_add_test(basic, lookup_unaligned_header_bytes);
	tcase_add_test(basic, add_twice_is_eexist);
	tcase_add_test(basic, add_refuses_null_session_and_unknown_family);
	tcase_add_test(basic, del_with_other_session_keeps_entry);
	tcase_add_test(basic, v4_and_v6_are_distinct);
	tcase_add_test(basic, longest_match);
	tcase_add_test(basic, longest_match_v6);
	tcase_add_test(basic, refuses_host_bits_and_long_lengths);
	tcase_add_test(scale, thousand_sites);
	tcase_add_test(scale, grows_to_ten_thousand);
	tcase_add_test(scale, churn_matches_model);
	tcase_add_test(scale, delete_all_then_reinsert);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, scale);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(route_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
