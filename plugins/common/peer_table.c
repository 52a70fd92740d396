/*
 * A server's links by their peer's address: growing, entering and
 * leaving the table. The lookups are in peer_table.h.
 */
#include "peer_table.h"

#include <errno.h>
#include <stdlib.h>

#define FIRST_BUCKETS 64

int peer_table_init(struct peer_table *t, uint64_t seed, bool by_ip)
{
	*t = (struct peer_table){ .seed = seed, .by_ip = by_ip };
	t->buckets = calloc(FIRST_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->n_buckets = FIRST_BUCKETS;
	return 0;
}

void peer_table_free(struct peer_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = t->n = 0;
}

int peer_table_make_room(struct peer_table *t)
{
	if (t->n < t->n_buckets)
		return 0;
	size_t n = t->n_buckets * 2;
	struct peer_node **b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_buckets; i++)
		while (t->buckets[i]) {
			struct peer_node *node = t->buckets[i];
			t->buckets[i] = node->next;
			node->next = b[node->hash & (n - 1)];
			b[node->hash & (n - 1)] = node;
		}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

void peer_table_insert(struct peer_table *t, struct peer_node *node,
		       uint64_t hash)
{
	size_t i = hash & (t->n_buckets - 1);

	node->hash = hash;
	node->next = t->buckets[i];
	t->buckets[i] = node;
	node->in_table = true;
	t->n++;
}

void peer_table_add(struct peer_table *t, struct peer_node *node)
{
	if (node->in_table || !t->buckets)
		return;
	peer_table_make_room(t);
	peer_table_insert(t, node, peer_hash(t, node->addr));
}

void peer_table_remove(struct peer_table *t, struct peer_node *node)
{
	if (!node->in_table)
		return;
	struct peer_node **p = &t->buckets[node->hash & (t->n_buckets - 1)];

	while (*p && *p != node)
		p = &(*p)->next;
	if (*p) {
		*p = node->next;
		t->n--;
	}
	node->next = NULL;
	node->in_table = false;
}

void peer_table_drain(struct peer_table *t, void (*drop)(struct peer_node *))
{
	for (size_t i = 0; i < t->n_buckets; i++)
		while (t->buckets[i]) {
			struct peer_node *node = t->buckets[i];
			t->buckets[i] = node->next;
			node->next = NULL;
			node->in_table = false;
			t->n--;
			drop(node);
		}
}
