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

/* Put node first in the chain at head. */
static void link_at(struct peer_node **head, struct peer_node *node)
{
	node->next = *head;
	if (node->next)
		node->next->pprev = &node->next;
	node->pprev = head;
	*head = node;
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
			struct peer_node **head = &b[node->hash & (n - 1)];
			t->buckets[i] = node->next;
			link_at(head, node);
		}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
	return 0;
}

void peer_table_insert(struct peer_table *t, struct peer_node *node,
		       uint64_t hash)
{
	node->hash = hash;
	link_at(&t->buckets[hash & (t->n_buckets - 1)], node);
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
	*node->pprev = node->next;
	if (node->next)
		node->next->pprev = node->pprev;
	t->n--;
	node->next = NULL;
	node->pprev = NULL;
	node->in_table = false;
}

void peer_table_drain(struct peer_table *t, void (*drop)(struct peer_node *))
{
	for (size_t i = 0; i < t->n_buckets; i++)
		while (t->buckets[i]) {
			struct peer_node *node = t->buckets[i];
			t->buckets[i] = node->next;
			if (node->next)
				node->next->pprev = &t->buckets[i];
			node->next = NULL;
			node->pprev = NULL;
			node->in_table = false;
			t->n--;
			drop(node);
		}
}
