/* route.c: inner address -> session, as the fast path looks it up. */
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
	ck_assert_int_eq(route_add(table, &a, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &b, SESSION(2)), 0);
	ck_assert_uint_eq(route_count(table), 2);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));

	route_del(table, &a, SESSION(1));
	ck_assert_ptr_null(lookup(&a));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

START_TEST(add_lookup_del_v6)
{
	struct cv_addr a = addr("fd00::2"), b = addr("fd00::3");

	ck_assert_int_eq(route_add(table, &a, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &b, SESSION(2)), 0);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_ptr_eq(lookup(&b), SESSION(2));
	route_del(table, &b, SESSION(2));
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

	ck_assert_int_eq(route_add(table, &a, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &b, SESSION(2)), 0);
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

	ck_assert_int_eq(route_add(table, &a, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &a, SESSION(2)), -EEXIST);
	ck_assert_int_eq(route_add(table, &a, SESSION(1)), -EEXIST);
	ck_assert_ptr_eq(lookup(&a), SESSION(1));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

START_TEST(add_refuses_null_session_and_unknown_family)
{
	struct cv_addr a = addr("10.8.0.2"), none = { .family = AF_UNIX };

	ck_assert_int_eq(route_add(table, &a, NULL), -EINVAL);
	ck_assert_int_eq(route_add(table, &none, SESSION(1)), -EINVAL);
	ck_assert_uint_eq(route_count(table), 0);
	route_del(table, &none, SESSION(1));
}
END_TEST

/* A session that lost an address must not remove its new holder's route. */
START_TEST(del_with_other_session_keeps_entry)
{
	struct cv_addr a = addr("10.8.0.2"), other = addr("10.8.0.9");

	ck_assert_int_eq(route_add(table, &a, SESSION(2)), 0);
	route_del(table, &a, SESSION(1));
	route_del(table, &a, NULL);
	route_del(table, &other, SESSION(2));
	ck_assert_ptr_eq(lookup(&a), SESSION(2));
	ck_assert_uint_eq(route_count(table), 1);
}
END_TEST

/* ::a08:2 ends in the bytes of 10.8.0.2, and fd00:: starts like 253.0.0.0. */
START_TEST(v4_and_v6_are_distinct)
{
	struct cv_addr a4 = addr("10.8.0.2"), a6 = addr("::a08:2");
	struct cv_addr b4 = addr("253.0.0.0"), b6 = addr("fd00::");

	ck_assert_int_eq(route_add(table, &a4, SESSION(1)), 0);
	ck_assert_int_eq(route_add(table, &b4, SESSION(3)), 0);
	ck_assert_ptr_null(lookup(&a6));
	ck_assert_ptr_null(lookup(&b6));
	ck_assert_ptr_null(route_lookup(table, AF_INET6, b4.bytes));
	ck_assert_int_eq(route_add(table, &a6, SESSION(2)), 0);
	ck_assert_int_eq(route_add(table, &b6, SESSION(4)), 0);
	ck_assert_ptr_eq(lookup(&a4), SESSION(1));
	ck_assert_ptr_eq(lookup(&a6), SESSION(2));
	ck_assert_ptr_eq(lookup(&b4), SESSION(3));
	ck_assert_ptr_eq(lookup(&b6), SESSION(4));
	route_del(table, &a6, SESSION(2));
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
		if (route_add(table, &a, SESSION(i)) != 0)
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
			route_del(table, &a, model[k]);
			model[k] = NULL;
			count--;
		} else {
			model[k] = SESSION(k + step % 7);
			if (route_add(table, &a, model[k]) != 0)
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
			if (route_add(table, &a, SESSION(i)) != 0)
				ck_abort_msg("round %d: add %u failed", round, i);
		}
		/* Every other one first, then the rest from the end. */
		for (uint32_t i = 0; i < N; i += 2) {
			struct cv_addr a = numbered(i + round);
			route_del(table, &a, SESSION(i));
		}
		for (uint32_t i = 1; i < N; i += 2) {
			struct cv_addr a = numbered(i + round);
			expect(&a, SESSION(i));
			a = numbered(i - 1 + round);
			expect(&a, NULL);
		}
		for (uint32_t i = N; i-- > 0;) {
			struct cv_addr a = numbered(i + round);
			route_del(table, &a, SESSION(i));
		}
		ck_assert_uint_eq(route_count(table), 0);
		for (uint32_t i = 0; i < N + 5; i++) {
			struct cv_addr a = numbered(i);
			expect(&a, NULL);
		}
	}
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
