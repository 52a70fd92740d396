/* The places of links waiting for hello: each host and each network gets
 * a share, and the oldest link holding a full share gives way to a
 * newcomer; a host can push out only its own links and its network's. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pending.h"
#include "source_table.h"

#define MAX_LINKS (PENDING_MAX + 8)

static struct pending_place places[MAX_LINKS];
static struct sockaddr_storage from[MAX_LINKS];

static struct sockaddr_storage v4(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	sin6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* Link i arrives from ss as server_link_up would take it: whoever must
 * give way first does; returns how many gave way, and the last level. */
static int arrive(struct pending *p, int i, struct sockaddr_storage ss,
		  enum pending_level *level, int *first_victim)
{
	struct pending_place *pl;
	int gave_way = 0;

	*first_victim = -1;
	from[i] = ss;
	while ((pl = pending_full(p, SA(ss), level))) {
		if (*first_victim < 0)
			*first_victim = (int)(pl - places);
		pending_leave(p, pl);
		ck_assert_int_lt(++gave_way, 4);
	}
	ck_assert_int_eq(pending_enter(p, &places[i], SA(ss)), 0);
	return gave_way;
}

static struct pending *fresh(void)
{
	struct pending *p = NULL;

	memset(places, 0, sizeof(places));
	ck_assert_int_eq(pending_new(&p), 0);
	return p;
}

START_TEST(host_share)
{
	struct pending *p = fresh();
	struct sockaddr_storage a = v4("192.0.2.7"), b = v4("192.0.2.8");
	enum pending_level level;
	int victim, i;

	for (i = 0; i < PENDING_PER_HOST; i++)
		ck_assert_int_eq(arrive(p, i, a, &level, &victim), 0);
	/* The host's share is full: its oldest gives way, then the next. */
	ck_assert_int_eq(arrive(p, i, a, &level, &victim), 1);
	ck_assert_int_eq(level, PENDING_HOST);
	ck_assert_int_eq(victim, 0);
	ck_assert_int_eq(arrive(p, ++i, a, &level, &victim), 1);
	ck_assert_int_eq(victim, 1);
	/* Another host of the same /24 has room of its own. */
	ck_assert_int_eq(arrive(p, ++i, b, &level, &victim), 0);
	ck_assert_uint_eq(pending_count(p), PENDING_PER_HOST + 1);
	/* A link that said hello leaves, and its place is free again. */
	pending_leave(p, &places[2]);
	pending_leave(p, &places[2]);	/* twice is harmless */
	ck_assert_int_eq(arrive(p, ++i, a, &level, &victim), 0);
	pending_free(p);
}
END_TEST

START_TEST(network_share)
{
	struct pending *p = fresh();
	struct sockaddr_storage ss;
	enum pending_level level;
	int victim, i = 0;
	char text[64];

	/* An IPv6 /48 with many /64s: the network's share stops it. */
	for (int host = 0; i < PENDING_PER_NETWORK; host++)
		for (int k = 0; k < PENDING_PER_HOST / 2 && i < PENDING_PER_NETWORK; k++, i++) {
			snprintf(text, sizeof(text), "2001:db8:1:%x::%x", host, k + 1);
			ss = v6(text);
			ck_assert_int_eq(arrive(p, i, ss, &level, &victim), 0);
		}
	ss = v6("2001:db8:1:ffff::1");
	ck_assert_int_eq(arrive(p, i, ss, &level, &victim), 1);
	ck_assert_int_eq(level, PENDING_NETWORK);
	ck_assert_int_eq(victim, 0);
	/* Another /48 is not touched. */
	ss = v6("2001:db8:2::1");
	ck_assert_int_eq(arrive(p, ++i, ss, &level, &victim), 0);
	/* IPv4: a /24, and a v4-mapped address is the same host. */
	struct sockaddr_storage mapped = v6("::ffff:198.51.100.9");
	for (int k = 0; k < PENDING_PER_HOST; k++)
		ck_assert_int_eq(arrive(p, ++i, v4("198.51.100.9"), &level,
					&victim), 0);
	ck_assert_int_eq(arrive(p, ++i, mapped, &level, &victim), 1);
	ck_assert_int_eq(level, PENDING_HOST);
	pending_free(p);
}
END_TEST

START_TEST(everyone_full)
{
	struct pending *p = fresh();
	enum pending_level level;
	int victim, i;
	char text[64];

	/* Many networks, a few links each, until every place is taken. */
	for (i = 0; i < PENDING_MAX; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.1", i / 4 / 256, i / 4 % 256);
		ck_assert_int_eq(arrive(p, i, v4(text), &level, &victim), 0);
	}
	ck_assert_uint_eq(pending_count(p), PENDING_MAX);
	ck_assert_int_eq(arrive(p, i, v4("203.0.113.1"), &level, &victim), 1);
	ck_assert_int_eq(level, PENDING_ALL);
	ck_assert_int_eq(victim, 0);
	ck_assert_uint_eq(pending_count(p), PENDING_MAX);
	for (int k = 1; k <= PENDING_MAX; k++)
		pending_leave(p, &places[k]);
	ck_assert_uint_eq(pending_count(p), 0);
	pending_free(p);
}
END_TEST

START_TEST(source_names)
{
	struct sockaddr_storage a = v4("192.0.2.7"), b = v6("2001:db8:1:2:3::4");
	struct source_key k;
	char buf[ADDR_STRLEN];

	source_key(SA(a), SOURCE_HOST, &k);
	ck_assert_str_eq(source_str(&k, buf), "192.0.2.7");
	source_key(SA(a), SOURCE_NETWORK, &k);
	ck_assert_str_eq(source_str(&k, buf), "192.0.2.0/24");
	source_key(SA(b), SOURCE_HOST, &k);
	ck_assert_str_eq(source_str(&k, buf), "2001:db8:1:2::/64");
	source_key(SA(b), SOURCE_NETWORK, &k);
	ck_assert_str_eq(source_str(&k, buf), "2001:db8:1::/48");
	source_key_user(&k, 42, "alice");
	ck_assert_str_eq(source_str(&k, buf), "2001:db8:1::/48");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("places");

	log_open("test_pending", true, LOG_WARNING);
	tcase_add_test(tc, host_share);
	tcase_add_test(tc, network_share);
	tcase_add_test(tc, everyone_full);
	tcase_add_test(tc, source_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
