/* The path MTU search: against a simulated path that carries up to some
 * size and loses the rest, it finds that size to the byte in a few
 * rounds; a probe lost by chance does not make a size look too large;
 * a silent peer is not a small path. */
#include <check.h>
#include <stdlib.h>

#include "path_mtu.h"

#define BASE 1024

/* One round against a path carrying up to path bytes; lose: a size
 * whose every copy is lost anyway (0: none). Returns what
 * path_mtu_search_end_round said. */
static bool round_on(struct path_mtu_search *p, size_t path, size_t lose)
{
	for (unsigned int i = 0; i < p->n; i++)
		if (p->size[i] <= path && p->size[i] != lose)
			ck_assert_int_ge(path_mtu_search_acked(p, p->size[i]), 0);
	return path_mtu_search_end_round(p);
}

/* Search the path from nothing known up to ceiling; how many rounds. */
static unsigned int search(size_t ceiling, size_t path, size_t *found)
{
	struct path_mtu_search p;
	unsigned int rounds = 0;

	path_mtu_search_begin(&p, BASE, 0, ceiling + 1);
	while (path_mtu_search_round(&p) > 0) {
		ck_assert_uint_le(p.n, PATH_MTU_ROUND);
		for (unsigned int i = 1; i < p.n; i++)
			ck_assert_uint_gt(p.size[i], p.size[i - 1]);
		ck_assert(round_on(&p, path, 0));
		ck_assert_uint_lt(++rounds, 20);
	}
	*found = p.lo;
	return rounds;
}

START_TEST(finds_the_byte)
{
	size_t found;

	/* The lab's black hole: 1280 - 28 - 37 = 1215 under dtls. */
	ck_assert_uint_le(search(1401, 1215, &found), 3);
	ck_assert_uint_eq(found, 1215);
	/* A path that carries everything: one round. */
	ck_assert_uint_eq(search(1401, 9000, &found), 1);
	ck_assert_uint_eq(found, 1401);
	/* Every size in range, and the edges. */
	for (size_t path = BASE; path <= 1401; path += 7) {
		ck_assert_uint_le(search(1401, path, &found), 4);
		ck_assert_uint_eq(found, path);
	}
	ck_assert_uint_le(search(65536, 1500, &found), 6);
	ck_assert_uint_eq(found, 1500);
	/* A ceiling below the base: the ceiling alone is tried. */
	ck_assert_uint_eq(search(600, 9000, &found), 1);
	ck_assert_uint_eq(found, 600);
}
END_TEST

START_TEST(first_round_has_base_and_ceiling)
{
	struct path_mtu_search p;

	path_mtu_search_begin(&p, BASE, 0, 1402);
	ck_assert_uint_eq(path_mtu_search_round(&p), PATH_MTU_ROUND);
	ck_assert_uint_eq(p.size[0], BASE);
	ck_assert_uint_eq(p.size[p.n - 1], 1401);
	/* The ceiling answered: nothing larger to wait for. */
	ck_assert_int_eq(path_mtu_search_acked(&p, BASE), 0);
	ck_assert_int_eq(path_mtu_search_acked(&p, 1401), 1);
	ck_assert_int_eq(path_mtu_search_acked(&p, 1300), -1);	/* not asked */
}
END_TEST

START_TEST(lost_probe_is_not_too_large)
{
	struct path_mtu_search p;

	path_mtu_search_begin(&p, BASE, 0, 1402);
	path_mtu_search_round(&p);
	/* The path carries 1401, but the probe of the second size is
	 * lost: a larger one came back, so it was chance, not size. */
	ck_assert(round_on(&p, 1401, p.size[1]));
	ck_assert_uint_eq(p.lo, 1401);
	ck_assert_uint_eq(path_mtu_search_round(&p), 0);
}
END_TEST

START_TEST(silence_is_not_a_small_path)
{
	struct path_mtu_search p;

	path_mtu_search_begin(&p, BASE, 0, 1402);
	path_mtu_search_round(&p);
	ck_assert(!path_mtu_search_end_round(&p));
	ck_assert_uint_eq(p.lo, 0);
	ck_assert_uint_eq(p.hi, 1402);
	/* Searching up from a size known to cross, that size is asked
	 * again: its answer tells "nothing larger" from "nobody there". */
	path_mtu_search_begin(&p, BASE, 1215, 1402);
	ck_assert_uint_gt(path_mtu_search_round(&p), 1);
	ck_assert_uint_eq(p.size[0], 1215);
	ck_assert(round_on(&p, 1215, 0));
	ck_assert_uint_eq(p.lo, 1215);
	ck_assert_uint_lt(p.hi, 1402);
	path_mtu_search_round(&p);
	ck_assert(!path_mtu_search_end_round(&p));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("path_mtu");
	TCase *tc = tcase_create("search");

	tcase_add_test(tc, finds_the_byte);
	tcase_add_test(tc, first_round_has_base_and_ceiling);
	tcase_add_test(tc, lost_probe_is_not_too_large);
	tcase_add_test(tc, silence_is_not_a_small_path);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
