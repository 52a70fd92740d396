/* The plugins' table of links by peer address (plugins/common): every
 * node found by its address, by port or by IP alone, through growth;
 * and taken out in any order, also from the one chain of a table by IP
 * that holds thousands of links of the same address. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/common/peer_table.h"

#define N 3000

static struct sockaddr_storage addrs[N];
static struct peer_node nodes[N];

/* Node i: 2001:db8::1 port 1024 + i (same_ip), or 2001:db8::i port 4433. */
static void make(bool same_ip)
{
	memset(nodes, 0, sizeof(nodes));
	for (unsigned int i = 0; i < N; i++) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addrs[i];
		memset(&addrs[i], 0, sizeof(addrs[i]));
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8::", &a->sin6_addr);
		a->sin6_addr.s6_addr[14] = (uint8_t)((same_ip ? 1 : i) >> 8);
		a->sin6_addr.s6_addr[15] = (uint8_t)(same_ip ? 1 : i);
		a->sin6_port = htons(same_ip ? (uint16_t)(1024 + i) : 4433);
		nodes[i].addr = &addrs[i];
	}
}

/* How many nodes of the table have node i's address. */
static unsigned int count(const struct peer_table *t, unsigned int i)
{
	uint64_t h = peer_hash(t, &addrs[i]);
	unsigned int n = 0;

	for (struct peer_node *p = peer_table_find(t, &addrs[i], h); p;
	     p = peer_table_match(t, p->next, &addrs[i], h))
		n++;
	return n;
}

/* Every node in, then out in a shuffled order, half at a time. */
static void in_and_out(bool by_ip)
{
	struct peer_table t;
	unsigned int order[N];

	make(by_ip);
	ck_assert_int_eq(peer_table_init(&t, 12345, by_ip), 0);
	for (unsigned int i = 0; i < N; i++) {
		peer_table_add(&t, &nodes[i]);
		order[i] = i;
	}
	peer_table_add(&t, &nodes[7]);		/* twice: once */
	ck_assert_uint_eq(t.n, N);
	ck_assert_uint_eq(count(&t, 0), by_ip ? N : 1);
	srandom(1);
	for (unsigned int i = N - 1; i > 0; i--) {
		unsigned int j = (unsigned int)random() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned int i = 0; i < N / 2; i++)
		peer_table_remove(&t, &nodes[order[i]]);
	peer_table_remove(&t, &nodes[order[0]]);	/* not in: nothing */
	ck_assert_uint_eq(t.n, N - N / 2);
	for (unsigned int i = 0; i < N; i++) {
		unsigned int k = order[i];
		ck_assert(nodes[k].in_table == (i >= N / 2));
		if (!by_ip)
			ck_assert_uint_eq(count(&t, k), i >= N / 2);
	}
	if (by_ip)
		ck_assert_uint_eq(count(&t, 0), N - N / 2);
	for (unsigned int i = N / 2; i < N; i++)
		peer_table_remove(&t, &nodes[order[i]]);
	ck_assert_uint_eq(t.n, 0);
	for (size_t b = 0; b < t.n_buckets; b++)
		ck_assert_ptr_null(t.buckets[b]);
	peer_table_free(&t);
}

START_TEST(by_address_and_port)
{
	in_and_out(false);
}
END_TEST

START_TEST(by_ip_one_chain)
{
	in_and_out(true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("peer_table");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, by_address_and_port);
	tcase_add_test(tc, by_ip_one_chain);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
