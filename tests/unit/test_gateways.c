/* A cluster client's order of its gateways (src/client/gateways.c):
 * stable for one identity, spread evenly over many, and the second choice
 * of a gateway's clients spread evenly over the others (rendezvous
 * hashing), a gateway added or gone moving only its own clients. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client.h"
#include "config.h"
#include "core.h"
#include "log.h"

#define CLIENTS 1000

static struct config cfg;
static struct core core = { .cfg = &cfg };

static void gateways(unsigned int n)
{
	static char text[CONFIG_MAX_REMOTES][32];

	cfg.n_remotes = n;
	for (unsigned int i = 0; i < n; i++) {
		snprintf(text[i], sizeof(text[i]), "192.0.2.%u:4433", i + 1);
		cfg.remotes[i] = text[i];
	}
}

/* The order of the user called name, as indices of cfg.remotes. */
static void order_of(const char *name, struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->core = &core;
	cfg.username = (char *)name;
	client_gateways_init(c);
}

static unsigned int first(const char *name)
{
	struct client c;

	order_of(name, &c);
	return c.gateways.order[0];
}

START_TEST(stable_and_complete)
{
	struct client a, b;

	gateways(5);
	order_of("alice", &a);
	order_of("alice", &b);
	ck_assert_uint_eq(a.gateways.n, 5);
	ck_assert_mem_eq(a.gateways.order, b.gateways.order,
			 sizeof(a.gateways.order));
	unsigned int seen = 0;
	for (unsigned int i = 0; i < 5; i++)
		seen |= 1u << a.gateways.order[i];
	ck_assert_uint_eq(seen, 0x1f);
	ck_assert_str_eq(client_gateway(&a, 0), cfg.remotes[a.gateways.order[0]]);
	ck_assert_uint_eq(client_gateway_next(&a), 1);
	/* One gateway: no cluster at all. */
	gateways(1);
	order_of("alice", &a);
	ck_assert_uint_eq(a.gateways.n, 0);
}
END_TEST

START_TEST(spread_evenly)
{
	unsigned int count[3] = { 0 }, second[3] = { 0 };
	char name[16];
	struct client c;

	gateways(3);
	for (unsigned int i = 0; i < CLIENTS; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		order_of(name, &c);
		count[c.gateways.order[0]]++;
		if (c.gateways.order[0] == 0)
			second[c.gateways.order[1]]++;
	}
	/* A third each, within 5 standard deviations. */
	for (unsigned int g = 0; g < 3; g++)
		ck_assert_msg(count[g] > 260 && count[g] < 407,
			      "gateway %u first for %u of %u", g, count[g], CLIENTS);
	/* gateway 0's clients would go to 1 and 2 alike. */
	ck_assert_msg(second[1] > count[0] / 2 - count[0] / 5 &&
		      second[2] > count[0] / 2 - count[0] / 5,
		      "after gateway 0: %u to 1, %u to 2", second[1], second[2]);
}
END_TEST

START_TEST(one_gone_moves_its_own)
{
	unsigned int before[CLIENTS], moved = 0;
	char name[16];

	gateways(3);
	for (unsigned int i = 0; i < CLIENTS; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		before[i] = first(name);
	}
	gateways(2);	/* the third gone */
	for (unsigned int i = 0; i < CLIENTS; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		unsigned int now = first(name);
		if (before[i] != 2)
			ck_assert_uint_eq(now, before[i]);
		else
			moved++;
	}
	ck_assert_uint_gt(moved, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gateways");
	TCase *tc = tcase_create("order");

	log_open("test_gateways", true, LOG_WARNING);
	tcase_add_test(tc, stable_and_complete);
	tcase_add_test(tc, spread_evenly);
	tcase_add_test(tc, one_gone_moves_its_own);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
