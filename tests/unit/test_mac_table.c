/* mac_table.c: which session owns each Ethernet source address, and
 * which the LAN uses: learned first come, limited per session, aged,
 * and given back; checked against a model through heavy churn. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mac_table.h"

static struct mac_table *table;
static int sessions[3];		/* what the ports stand for */

static void setup(void)
{
	ck_assert_int_eq(mac_table_new(&table), 0);
}

static void teardown(void)
{
	mac_table_free(table);
}

static void mac_of(unsigned int n, uint8_t mac[MAC_LEN])
{
	mac[0] = 0x02;	/* locally administered, unicast */
	mac[1] = 0x00;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static struct mac_port *owner(unsigned int n, bool *known)
{
	uint8_t mac[MAC_LEN];

	mac_of(n, mac);
	return mac_table_lookup(table, mac, known);
}

static enum mac_learned learn(struct mac_port *p, unsigned int n,
			      unsigned int max, int64_t now)
{
	uint8_t mac[MAC_LEN];

	mac_of(n, mac);
	return mac_port_learn(p, mac, max, now);
}

START_TEST(first_come_limited_taken)
{
	struct mac_port *a = mac_port_new(table, &sessions[0]);
	struct mac_port *b = mac_port_new(table, &sessions[1]);
	bool known;

	ck_assert_int_eq(learn(a, 1, 2, 0), MAC_NEW);
	ck_assert_int_eq(learn(a, 1, 2, 1), MAC_OWN);
	ck_assert_int_eq(learn(a, 2, 2, 1), MAC_NEW);
	ck_assert_int_eq(learn(a, 3, 2, 1), MAC_FULL);
	ck_assert_int_eq(learn(b, 1, 2, 1), MAC_TAKEN);
	ck_assert_ptr_eq(owner(1, &known), a);
	ck_assert(known);
	ck_assert_ptr_eq(owner(1, &known)->session, &sessions[0]);
	ck_assert_ptr_null(owner(3, &known));
	ck_assert(!known);
	ck_assert_uint_eq(a->n, 2);

	/* Given back with the port: another may take them. */
	mac_port_free(a);
	ck_assert_ptr_null(owner(1, &known));
	ck_assert(!known);
	ck_assert_int_eq(learn(b, 1, 2, 2), MAC_NEW);
	ck_assert_uint_eq(mac_table_count(table, NULL), 1);
	mac_port_free(b);
	ck_assert_uint_eq(mac_table_count(table, NULL), 0);
}
END_TEST

START_TEST(lan_addresses)
{
	struct mac_port *a = mac_port_new(table, &sessions[0]);
	uint8_t mac[MAC_LEN];
	unsigned int lan;
	bool known;

	mac_of(7, mac);
	mac_table_seen_on_lan(table, mac, 0);
	ck_assert_ptr_null(mac_table_lookup(table, mac, &known));
	ck_assert(known);
	/* A LAN host's address is not a client's to take. */
	ck_assert_int_eq(learn(a, 7, 4, 1), MAC_TAKEN);
	/* A client's seen from the LAN stays the client's. */
	ck_assert_int_eq(learn(a, 8, 4, 1), MAC_NEW);
	mac_of(8, mac);
	mac_table_seen_on_lan(table, mac, 2);
	ck_assert_ptr_eq(mac_table_lookup(table, mac, &known), a);
	ck_assert_uint_eq(mac_table_count(table, &lan), 2);
	ck_assert_uint_eq(lan, 1);
	mac_port_free(a);
}
END_TEST

START_TEST(aging)
{
	struct mac_port *a = mac_port_new(table, &sessions[0]);
	uint8_t mac[MAC_LEN];
	bool known;

	ck_assert_int_eq(learn(a, 1, 4, 1000), MAC_NEW);
	ck_assert_int_eq(learn(a, 2, 4, 1000), MAC_NEW);
	mac_of(3, mac);
	mac_table_seen_on_lan(table, mac, 1000);
	/* Seen again: kept past the sweep that ends the others. */
	ck_assert_int_eq(learn(a, 2, 4, 5000), MAC_OWN);
	mac_table_age(table, 2000);
	ck_assert(!(owner(1, &known), known));
	ck_assert_ptr_eq(owner(2, &known), a);
	ck_assert(!(owner(3, &known), known));
	ck_assert_uint_eq(a->n, 1);
	ck_assert_uint_eq(mac_table_count(table, NULL), 1);
	/* Its place is free again for the session. */
	ck_assert_int_eq(learn(a, 9, 2, 6000), MAC_NEW);
	ck_assert_int_eq(learn(a, 10, 2, 6000), MAC_FULL);
	mac_port_free(a);
}
END_TEST

/* Thousands of addresses of three ports and the LAN, in and out at
 * random, aged in part now and then, against a model: every lookup
 * right after each step, and each port's count. */
START_TEST(churn_matches_model)
{
	enum { N = 3000, OWNERS = 4 };	/* owner 3: the LAN */
	static int model[N];		/* -1: absent */
	static int seen[N];
	struct mac_port *ports[3];
	unsigned int seed = 21;

	for (int i = 0; i < 3; i++)
		ports[i] = mac_port_new(table, &sessions[i]);
	for (int i = 0; i < N; i++)
		model[i] = -1;
	for (int step = 0; step < 40000; step++) {
		unsigned int n = (unsigned int)rand_r(&seed) % N;
		int who = rand_r(&seed) % OWNERS;
		uint8_t mac[MAC_LEN];
		mac_of(n, mac);
		if (who == 3) {
			mac_table_seen_on_lan(table, mac, step);
			if (model[n] < 0)
				model[n] = 3;
			if (model[n] == 3)
				seen[n] = step;
		} else {
			enum mac_learned r = mac_port_learn(ports[who], mac,
							    CONFIG_MAX_MACS, step);
			if (model[n] < 0 && r == MAC_NEW)
				model[n] = who;
			else
				ck_assert(r == (model[n] == who ? MAC_OWN
						: model[n] < 0 ? MAC_FULL
							       : MAC_TAKEN));
			if (model[n] == who)
				seen[n] = step;
		}
		if (step % 1000 == 999) {
			/* What was not seen in the last 300 steps goes. */
			mac_table_age(table, step - 300);
			for (int i = 0; i < N; i++)
				if (model[i] >= 0 && seen[i] < step - 300)
					model[i] = -1;
		}
		bool known;
		struct mac_port *p = mac_table_lookup(table, mac, &known);
		ck_assert(known == (model[n] >= 0));
		ck_assert_ptr_eq(p, model[n] >= 0 && model[n] < 3
					    ? ports[model[n]]
					    : NULL);
	}
	unsigned int per[4] = { 0 };
	for (int i = 0; i < N; i++) {
		bool known;
		struct mac_port *p = owner((unsigned int)i, &known);
		ck_assert(known == (model[i] >= 0));
		ck_assert_ptr_eq(p, model[i] >= 0 && model[i] < 3
					    ? ports[model[i]]
					    : NULL);
		if (model[i] >= 0)
			per[model[i]]++;
	}
	unsigned int lan;
	ck_assert_uint_eq(mac_table_count(table, &lan),
			  per[0] + per[1] + per[2] + per[3]);
	ck_assert_uint_eq(lan, per[3]);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(ports[i]->n, per[i]);
		mac_port_free(ports[i]);
	}
	ck_assert_uint_eq(mac_table_count(table, NULL), per[3]);
}
END_TEST

START_TEST(group_addresses)
{
	const uint8_t bcast[MAC_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint8_t v6mc[MAC_LEN] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t uni[MAC_LEN] = { 0x02, 0, 0, 0, 0, 1 };
	char text[MAC_STRLEN];

	ck_assert(mac_is_group(bcast));
	ck_assert(mac_is_group(v6mc));
	ck_assert(!mac_is_group(uni));
	ck_assert_str_eq(mac_str(v6mc, text), "33:33:00:00:00:01");
}
END_TEST

static Suite *mac_table_suite(void)
{
	Suite *s = suite_create("mac_table");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_come_limited_taken);
	tcase_add_test(tc, lan_addresses);
	tcase_add_test(tc, aging);
	tcase_add_test(tc, churn_matches_model);
	tcase_add_test(tc, group_addresses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(mac_table_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
