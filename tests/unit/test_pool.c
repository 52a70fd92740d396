/* pool.c: which address a client gets, and that leasing stays cheap for a
 * /16 full of clients. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "pool.h"

static struct pool *pool_of(const char *text)
{
	struct cv_prefix p;
	struct pool *pool = NULL;
	const char *why;

	ck_assert_int_eq(prefix_parse(text, true, &p, &why), 0);
	ck_assert_int_eq(pool_new(&p, &pool), 0);
	ck_assert_ptr_nonnull(pool);
	return pool;
}

static int pool_new_of(const char *text)
{
	struct cv_prefix p;
	struct pool *pool = NULL;
	const char *why;

	ck_assert_int_eq(prefix_parse(text, true, &p, &why), 0);
	int err = pool_new(&p, &pool);
	pool_free(pool);
	return err;
}

/* The last byte of the address leased to identity; fails on error. */
static unsigned int lease(struct pool *pool, const char *identity)
{
	struct cv_addr a;

	ck_assert_int_eq(pool_lease(pool, identity, &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	return ntohl(a.v4.s_addr) & 0xff;
}

static struct cv_addr v4(uint32_t host_order)
{
	struct cv_addr a = { .family = AF_INET };

	a.v4.s_addr = htonl(host_order);
	return a;
}

/* Leases 10.8.0.<first> to .<last> anonymously, in that order. */
static void lease_in_order(struct pool *pool, unsigned int first,
			   unsigned int last)
{
	for (unsigned int i = first; i <= last; i++)
		ck_assert_uint_eq(lease(pool, NULL), i);
}

/* Releases 10.8.0.<last>. */
static void release(struct pool *pool, unsigned int last)
{
	struct cv_addr a = v4(0x0a080000 | last);

	pool_release(pool, &a);
}

static void assert_full(struct pool *pool)
{
	struct cv_addr a;

	ck_assert_int_eq(pool_lease(pool, NULL, &a), -ENOSPC);
	ck_assert_int_eq(pool_lease(pool, "someone-new", &a), -ENOSPC);
}

/* ---- shape */

START_TEST(slash24_shape)
{
	struct pool *pool = pool_of("10.8.0.0/24");
	char buf[ADDR_STRLEN];
	struct cv_prefix server = pool_server_addr(pool);

	ck_assert_str_eq(prefix_str(&server, buf), "10.8.0.1/24");
	ck_assert_uint_eq(pool_size(pool), 253);
	ck_assert_uint_eq(pool_in_use(pool), 0);
	ck_assert_uint_eq(lease(pool, NULL), 2);
	ck_assert_uint_eq(pool_in_use(pool), 1);
	pool_free(pool);
}
END_TEST

START_TEST(host_bits_in_prefix_are_ignored)
{
	struct pool *pool = pool_of("10.8.0.77/24");
	char buf[ADDR_STRLEN];
	struct cv_prefix server = pool_server_addr(pool);

	ck_assert_str_eq(prefix_str(&server, buf), "10.8.0.1/24");
	ck_assert_uint_eq(lease(pool, NULL), 2);
	pool_free(pool);
}
END_TEST

START_TEST(slash24_exhausts_after_253)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	lease_in_order(pool, 2, 254);
	ck_assert_uint_eq(pool_in_use(pool), 253);
	assert_full(pool);
	ck_assert_uint_eq(pool_in_use(pool), 253);

	release(pool, 100);
	ck_assert_uint_eq(pool_in_use(pool), 252);
	ck_assert_uint_eq(lease(pool, NULL), 100);
	assert_full(pool);
	pool_free(pool);
}
END_TEST

START_TEST(slash30_has_one_client_address)
{
	struct pool *pool = pool_of("10.8.0.0/30");
	char buf[ADDR_STRLEN];
	struct cv_prefix server = pool_server_addr(pool);

	ck_assert_str_eq(prefix_str(&server, buf), "10.8.0.1/30");
	ck_assert_uint_eq(pool_size(pool), 1);
	ck_assert_uint_eq(lease(pool, "alice"), 2);
	assert_full(pool);
	release(pool, 2);
	ck_assert_uint_eq(lease(pool, "bob"), 2);
	pool_free(pool);
}
END_TEST

START_TEST(refused_prefixes)
{
	ck_assert_int_eq(pool_new_of("10.8.0.0/31"), -EINVAL);
	ck_assert_int_eq(pool_new_of("10.8.0.1/32"), -EINVAL);
	ck_assert_int_eq(pool_new_of("10.0.0.0/7"), -EINVAL);
	ck_assert_int_eq(pool_new_of("0.0.0.0/0"), -EINVAL);
	ck_assert_int_eq(pool_new_of("2001:db8::/127"), -EINVAL);
	ck_assert_int_eq(pool_new_of("2001::/15"), -EINVAL);
	ck_assert_int_eq(pool_new_of("::/0"), -EINVAL);
}
END_TEST

static const char *lease6(struct pool *pool, const char *identity,
			  const char *hint, char buf[ADDR_STRLEN])
{
	struct cv_addr a, h;

	if (hint)
		ck_assert_int_eq(addr_parse(hint, &h), 0);
	ck_assert_int_eq(pool_lease_hint(pool, identity, hint ? &h : NULL, &a),
			 0);
	ck_assert_int_eq(a.family, AF_INET6);
	return addr_str(&a, buf);
}

/* pool6: the gateway ::1, clients from ::2 on, a returning identity or a
 * hint gets its address back, and a /64 is sized like a /8. */
START_TEST(ipv6_pool)
{
	struct pool *pool = pool_of("2001:db8:100::77/64");
	struct cv_prefix server = pool_server_addr(pool);
	char buf[ADDR_STRLEN];
	struct cv_addr a;

	ck_assert_str_eq(prefix_str(&server, buf), "2001:db8:100::1/64");
	ck_assert_uint_eq(pool_size(pool), (1u << 24) - 2);
	ck_assert_str_eq(lease6(pool, "alice", NULL, buf), "2001:db8:100::2");
	ck_assert_str_eq(lease6(pool, "bob", NULL, buf), "2001:db8:100::3");
	/* A hint far out, past the cursor: taken as it is. */
	ck_assert_str_eq(lease6(pool, NULL, "2001:db8:100::1:2", buf),
			 "2001:db8:100::1:2");
	/* Not in the pool (host bits above the last 32 set, or another
	 * network): leased as usual, at the cursor, past the hint. */
	ck_assert_str_eq(lease6(pool, NULL, "2001:db8:100:0:1::5", buf),
			 "2001:db8:100::1:3");
	ck_assert_str_eq(lease6(pool, NULL, "2001:db8:101::5", buf),
			 "2001:db8:100::1:4");
	ck_assert_uint_eq(pool_in_use(pool), 5);
	ck_assert_int_eq(addr_parse("2001:db8:100::2", &a), 0);
	pool_release(pool, &a);
	ck_assert_int_eq(addr_parse("2001:db8:100:0:1::3", &a), 0);
	pool_release(pool, &a);		/* not ours: nothing happens */
	ck_assert_uint_eq(pool_in_use(pool), 4);
	ck_assert_str_eq(lease6(pool, "alice", NULL, buf), "2001:db8:100::2");
	pool_free(pool);

	pool = pool_of("2001:db8::/126");
	ck_assert_uint_eq(pool_size(pool), 2);
	ck_assert_str_eq(lease6(pool, NULL, NULL, buf), "2001:db8::2");
	ck_assert_str_eq(lease6(pool, NULL, NULL, buf), "2001:db8::3");
	ck_assert_int_eq(pool_lease(pool, NULL, &a), -ENOSPC);
	pool_free(pool);
}
END_TEST

/* A /8 is allowed and costs memory only for the addresses leased. */
START_TEST(slash8_is_accepted)
{
	struct pool *pool = pool_of("10.0.0.0/8");
	struct cv_prefix server = pool_server_addr(pool);
	char buf[ADDR_STRLEN];
	struct cv_addr a;

	ck_assert_str_eq(prefix_str(&server, buf), "10.0.0.1/8");
	ck_assert_uint_eq(pool_size(pool), 16777213);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(pool_lease(pool, NULL, &a), 0);
	ck_assert_str_eq(addr_str(&a, buf), "10.0.3.233");	/* 2 + 999 */
	pool_free(pool);
}
END_TEST

/* ---- which address */

START_TEST(identity_gets_its_address_back)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	ck_assert_uint_eq(lease(pool, "bob"), 3);
	release(pool, 2);
	/* Others prefer never-used addresses over alice's. */
	ck_assert_uint_eq(lease(pool, "carol"), 4);
	ck_assert_uint_eq(lease(pool, NULL), 5);
	ck_assert_uint_eq(lease(pool, "alice"), 2);

	/* Also when her address sits in the middle of the released ones. */
	release(pool, 3);
	release(pool, 2);
	release(pool, 4);
	ck_assert_uint_eq(pool_in_use(pool), 1);
	ck_assert_uint_eq(lease(pool, "alice"), 2);
	ck_assert_uint_eq(lease(pool, "carol"), 4);
	ck_assert_uint_eq(lease(pool, "bob"), 3);
	pool_free(pool);
}
END_TEST

/* .2-.6 in a /29, released out of order, come back oldest release first. */
START_TEST(least_recently_released_first)
{
	struct pool *pool = pool_of("10.8.0.0/29");

	ck_assert_uint_eq(pool_size(pool), 5);
	lease_in_order(pool, 2, 6);
	release(pool, 4);
	release(pool, 2);
	release(pool, 6);
	release(pool, 3);
	ck_assert_uint_eq(lease(pool, NULL), 4);
	ck_assert_uint_eq(lease(pool, "new"), 2);
	release(pool, 5);
	ck_assert_uint_eq(lease(pool, NULL), 6);
	ck_assert_uint_eq(lease(pool, NULL), 3);
	ck_assert_uint_eq(lease(pool, NULL), 5);
	assert_full(pool);
	pool_free(pool);
}
END_TEST

START_TEST(anonymous_is_not_sticky)
{
	struct pool *pool = pool_of("10.8.0.0/29");

	ck_assert_uint_eq(lease(pool, NULL), 2);
	release(pool, 2);
	ck_assert_uint_eq(lease(pool, NULL), 3);
	release(pool, 3);
	ck_assert_uint_eq(lease(pool, ""), 4);
	release(pool, 4);
	ck_assert_uint_eq(lease(pool, ""), 5);
	ck_assert_uint_eq(lease(pool, NULL), 6);
	/* Never-used ones gone: oldest release next, even for "" who just
	 * let go of .5. */
	ck_assert_uint_eq(lease(pool, NULL), 2);
	release(pool, 5);
	ck_assert_uint_eq(lease(pool, ""), 3);
	pool_free(pool);
}
END_TEST

/* Once alice's address went to bob, it is bob's to come back to. */
START_TEST(given_away_address_is_forgotten)
{
	struct pool *pool = pool_of("10.8.0.0/29");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	lease_in_order(pool, 3, 6);
	release(pool, 2);
	release(pool, 3);
	ck_assert_uint_eq(lease(pool, "bob"), 2);
	release(pool, 4);
	release(pool, 2);
	/* Released now: .3 (oldest), .4, .2 (bob's). */
	ck_assert_uint_eq(lease(pool, "alice"), 3);
	ck_assert_uint_eq(lease(pool, "bob"), 2);
	release(pool, 3);
	release(pool, 4);	/* already free: no-op */
	ck_assert_uint_eq(lease(pool, "alice"), 3);
	pool_free(pool);
}
END_TEST

/* Leases "alice" twice, then .4-.6, in a /29, and releases .3, .4, .2. */
static struct pool *alice_twice_then_released(void)
{
	struct pool *pool = pool_of("10.8.0.0/29");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	ck_assert_uint_eq(lease(pool, "alice"), 3);
	lease_in_order(pool, 4, 6);
	ck_assert_uint_eq(pool_in_use(pool), 5);
	release(pool, 3);
	release(pool, 4);
	release(pool, 2);
	return pool;
}

/* An identity remembers the latest address it was given... */
START_TEST(identity_with_two_sessions_gets_latest)
{
	struct pool *pool = alice_twice_then_released();

	ck_assert_uint_eq(lease(pool, "alice"), 3);
	pool_free(pool);
}
END_TEST

/* ...and only that one: once .3 goes to bob, .2 is not hers either. */
START_TEST(identity_with_two_sessions_forgets_earlier)
{
	struct pool *pool = alice_twice_then_released();

	ck_assert_uint_eq(lease(pool, "bob"), 3);
	ck_assert_uint_eq(lease(pool, "alice"), 4);
	pool_free(pool);
}
END_TEST

START_TEST(foreign_release_is_harmless)
{
	struct pool *pool = pool_of("10.8.0.0/24");
	struct cv_addr a;

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	ck_assert_uint_eq(lease(pool, "bob"), 3);

	a = v4(0x0a090902);		/* 10.9.9.2: outside */
	pool_release(pool, &a);
	a = v4(0x0a07ffff);		/* just below the prefix */
	pool_release(pool, &a);
	a = v4(0x0a080100);		/* just above */
	pool_release(pool, &a);
	release(pool, 0);		/* network */
	release(pool, 1);		/* gateway */
	release(pool, 255);		/* broadcast */
	release(pool, 100);		/* never leased */
	ck_assert_int_eq(addr_parse("::a08:2", &a), 0);	/* v6, same bytes */
	pool_release(pool, &a);
	ck_assert_uint_eq(pool_in_use(pool), 2);

	/* Double release must not put .3 on the free list twice. */
	release(pool, 3);
	release(pool, 3);
	ck_assert_uint_eq(pool_in_use(pool), 1);
	lease_in_order(pool, 4, 254);
	ck_assert_uint_eq(lease(pool, NULL), 3);
	assert_full(pool);
	ck_assert_uint_eq(pool_in_use(pool), 253);
	pool_free(pool);
}
END_TEST

/* ---- scale */

#define SLASH16_CLIENTS 65533u
#define SLASH16_FIRST 0x0a080002u	/* 10.8.0.2 */

/* Leases to client-<number> (or anonymously for NO_NAME) and fails the
 * test unless the address is expected. Plain comparisons rather than
 * ck_assert: each ck_assert that passes still costs check a write(2). */
#define NO_NAME UINT32_MAX
static void lease_expect(struct pool *pool, uint32_t number, uint32_t expected)
{
	char name[32];
	struct cv_addr a;

	snprintf(name, sizeof(name), "client-%u", number);
	int err = pool_lease(pool, number == NO_NAME ? NULL : name, &a);
	if (err != 0 || ntohl(a.v4.s_addr) != expected)
		ck_abort_msg("%s: error %d, address %08x, expected %08x", name,
			     err, err ? 0 : ntohl(a.v4.s_addr), expected);
}

static void release_host(struct pool *pool, uint32_t host_order)
{
	struct cv_addr a = v4(host_order);

	pool_release(pool, &a);
}

/* A scan per lease would make this quadratic: billions of steps. */
START_TEST(slash16_fills_and_drains_quickly)
{
	struct pool *pool = pool_of("10.8.0.0/16");

	ck_assert_uint_eq(pool_size(pool), SLASH16_CLIENTS);
	for (uint32_t i = 0; i < SLASH16_CLIENTS; i++)
		lease_expect(pool, i, SLASH16_FIRST + i);
	ck_assert_uint_eq(pool_in_use(pool), SLASH16_CLIENTS);
	assert_full(pool);

	for (uint32_t i = 0; i < SLASH16_CLIENTS; i++)
		release_host(pool, SLASH16_FIRST + i);
	ck_assert_uint_eq(pool_in_use(pool), 0);

	/* Back in reverse order, each to its own address. */
	for (uint32_t i = SLASH16_CLIENTS; i-- > 0;)
		lease_expect(pool, i, SLASH16_FIRST + i);
	assert_full(pool);
	pool_free(pool);
}
END_TEST

/* Churn: strangers take released addresses, dropping old names, while
 * the remaining clients keep theirs. */
START_TEST(slash16_churn_with_new_identities)
{
	struct pool *pool = pool_of("10.8.0.0/16");

	for (uint32_t i = 0; i < SLASH16_CLIENTS; i++)
		lease_expect(pool, i, SLASH16_FIRST + i);
	for (uint32_t round = 1; round <= 3; round++) {
		for (uint32_t i = 0; i < 5000; i++)
			release_host(pool, SLASH16_FIRST + i * 13);
		for (uint32_t i = 0; i < 5000; i++)
			lease_expect(pool, round * 100000 + i,
				     SLASH16_FIRST + i * 13);
		assert_full(pool);
	}
	/* Anonymous leases of everything: least recently released first. */
	for (uint32_t i = 0; i < SLASH16_CLIENTS; i++)
		release_host(pool, SLASH16_FIRST + SLASH16_CLIENTS - 1 - i);
	for (uint32_t i = 0; i < SLASH16_CLIENTS; i++)
		lease_expect(pool, NO_NAME, SLASH16_FIRST + SLASH16_CLIENTS - 1 - i);
	assert_full(pool);
	pool_free(pool);
}
END_TEST

/* ---- hints: the address a client held before */

static unsigned int lease_hint(struct pool *pool, const char *identity,
			       unsigned int last)
{
	struct cv_addr hint = v4(0x0a080000 | last), a;

	ck_assert_int_eq(pool_lease_hint(pool, identity, &hint, &a), 0);
	return ntohl(a.v4.s_addr) & 0xff;
}

/* After a server restart nothing was leased yet: the hint is honoured
 * far past the cursor, and the addresses it skipped are still handed
 * out, each once. */
START_TEST(hint_past_cursor_after_restart)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	ck_assert_uint_eq(lease_hint(pool, "carol", 40), 40);
	ck_assert_uint_eq(lease_hint(pool, "alice", 7), 7);
	ck_assert_uint_eq(pool_in_use(pool), 2);
	bool seen[256] = { false };
	seen[40] = seen[7] = true;
	for (unsigned int i = 0; i < 251; i++) {
		unsigned int got = lease(pool, NULL);
		ck_assert_msg(!seen[got], "10.8.0.%u leased twice", got);
		seen[got] = true;
	}
	assert_full(pool);
	pool_free(pool);
}
END_TEST

START_TEST(hint_not_honoured_when_taken)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	/* bob asks for alice's address: he gets another. */
	ck_assert_uint_ne(lease_hint(pool, "bob", 2), 2);
	/* Outside the pool, or the gateway's own: ignored. */
	ck_assert_uint_ne(lease_hint(pool, "carol", 1), 1);
	struct cv_addr far = v4(0x0a090002), a;
	ck_assert_int_eq(pool_lease_hint(pool, "dave", &far, &a), 0);
	ck_assert_uint_eq(ntohl(a.v4.s_addr) >> 8, 0x0a0800);
	pool_free(pool);
}
END_TEST

/* A released address remembered for alice is not given to bob on his
 * say-so; alice asking for it gets it. */
START_TEST(hint_respects_remembered_identity)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	release(pool, 2);
	ck_assert_uint_ne(lease_hint(pool, "bob", 2), 2);
	ck_assert_uint_eq(lease_hint(pool, "alice", 2), 2);
	pool_free(pool);
}
END_TEST

/* An identity's name moves to the hinted address: afterwards it is
 * remembered there, not at its old one. */
START_TEST(hint_moves_identity)
{
	struct pool *pool = pool_of("10.8.0.0/24");

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	release(pool, 2);
	ck_assert_uint_eq(lease_hint(pool, "alice", 9), 9);
	release(pool, 9);
	ck_assert_uint_eq(lease(pool, "alice"), 9);
	pool_free(pool);
}
END_TEST

/* ---- reserved (static) addresses */

static void reserve(struct pool *pool, const unsigned int *last,
		    unsigned int n)
{
	struct cv_addr a[8];

	for (unsigned int i = 0; i < n; i++)
		a[i] = v4(0x0a080000 | last[i]);
	ck_assert_int_eq(pool_reserve(pool, a, n), 0);
}

/* Never leased, wherever the cursor is: before, at and past it; the
 * rest of the pool is leased in full. */
START_TEST(reserved_never_leased)
{
	struct pool *pool = pool_of("10.8.0.0/24");
	const unsigned int kept[] = { 2, 3, 100, 254 };

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	reserve(pool, kept, 4);
	struct cv_addr a = v4(0x0a080064);
	ck_assert(pool_is_reserved(pool, &a));
	ck_assert(pool_contains(pool, &a));
	release(pool, 2);
	bool seen[256] = { false };
	for (unsigned int i = 0; i < 253 - 4; i++) {
		unsigned int got = lease(pool, i % 2 ? "alice" : NULL);
		ck_assert_msg(got != 2 && got != 3 && got != 100 && got != 254,
			      "reserved 10.8.0.%u leased", got);
		ck_assert_msg(!seen[got], "10.8.0.%u leased twice", got);
		seen[got] = true;
	}
	assert_full(pool);
	/* Nor by a hint. */
	struct cv_addr hint = v4(0x0a080064), out;
	ck_assert_int_eq(pool_lease_hint(pool, "bob", &hint, &out), -ENOSPC);
	pool_free(pool);
}
END_TEST

/* A reservation lifted: the address is free again. One replaced by
 * another set: the new one holds. Outside the pool: refused. */
START_TEST(reservations_replaced)
{
	struct pool *pool = pool_of("10.8.0.0/29");	/* .2 to .6 */
	const unsigned int first[] = { 2, 5 }, second[] = { 6 };

	reserve(pool, first, 2);
	ck_assert_uint_eq(lease(pool, NULL), 3);
	ck_assert_uint_eq(lease(pool, NULL), 4);
	ck_assert_uint_eq(lease(pool, NULL), 6);
	assert_full(pool);
	reserve(pool, second, 1);	/* 6 is leased: it stays until released */
	ck_assert_uint_eq(lease(pool, NULL), 2);
	ck_assert_uint_eq(lease(pool, NULL), 5);
	release(pool, 6);
	assert_full(pool);
	reserve(pool, NULL, 0);
	ck_assert_uint_eq(lease(pool, NULL), 6);
	struct cv_addr outside[] = { v4(0x0a080001) }, broadcast = v4(0x0a080007);
	ck_assert_int_eq(pool_reserve(pool, outside, 1), -EINVAL);
	ck_assert(!pool_contains(pool, &outside[0]));
	ck_assert(!pool_contains(pool, &broadcast));
	pool_free(pool);
}
END_TEST

/* An identity whose remembered address became reserved does not get it
 * back by name. */
START_TEST(reserved_forgets_identity)
{
	struct pool *pool = pool_of("10.8.0.0/24");
	const unsigned int kept[] = { 2 };

	ck_assert_uint_eq(lease(pool, "alice"), 2);
	release(pool, 2);
	reserve(pool, kept, 1);
	ck_assert_uint_eq(lease(pool, "alice"), 3);
	pool_free(pool);
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");
	TCase *shape = tcase_create("shape");
	TCase *which = tcase_create("which address");
	TCase *scale = tcase_create("scale");

	tcase_add_test(shape, slash24_shape);
	tcase_add_test(shape, ipv6_pool);
	tcase_add_test(shape, host_bits_in_prefix_are_ignored);
	tcase_add_test(shape, slash24_exhausts_after_253);
	tcase_add_test(shape, slash30_has_one_client_address);
	tcase_add_test(shape, refused_prefixes);
	tcase_add_test(shape, slash8_is_accepted);
	tcase_add_test(which, identity_gets_its_address_back);
	tcase_add_test(which, least_recently_released_first);
	tcase_add_test(which, anonymous_is_not_sticky);
	tcase_add_test(which, given_away_address_is_forgotten);
	tcase_add_test(which, identity_with_two_sessions_gets_latest);
	tcase_add_test(which, identity_with_two_sessions_forgets_earlier);
	tcase_add_test(which, foreign_release_is_harmless);
	tcase_add_test(which, hint_past_cursor_after_restart);
	tcase_add_test(which, hint_not_honoured_when_taken);
	tcase_add_test(which, hint_respects_remembered_identity);
	tcase_add_test(which, hint_moves_identity);
	tcase_add_test(which, reserved_never_leased);
	tcase_add_test(which, reservations_replaced);
	tcase_add_test(which, reserved_forgets_identity);
	/* The default 4 s limit (when check forks) is the speed test: a
	 * linear scan per lease takes minutes here. */
	tcase_add_test(scale, slash16_fills_and_drains_quickly);
	tcase_add_test(scale, slash16_churn_with_new_identities);
	suite_add_tcase(s, shape);
	suite_add_tcase(s, which);
	suite_add_tcase(s, scale);
	return s;
}


int main(void)
{
	SRunner *runner = srunner_create(pool_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
