/*
 * peer_table.h - a server's links by their peer's address, for the
 * transports that serve every peer on one UDP socket (udp, dtls): a
 * chained hash table, keyed by the IP address and port, or by the IP
 * address alone (dtls's roaming clients).
 *
 * The hash is FNV-1a seeded per instance (a random seed), finished with a
 * multiply-xorshift: strangers, who choose their source addresses, cannot
 * choose addresses that collide. The table doubles when it holds as many
 * entries as it has buckets.
 *
 * Intrusive: a link embeds one struct peer_node per table it is in, which
 * points at the link's own copy of the address. The lookups are inline,
 * because they run for every datagram a server receives.
 */
#ifndef CULVERT_PEER_TABLE_H
#define CULVERT_PEER_TABLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct peer_node {
	struct peer_node *next;			/* chain */
	/* What points at this node (the bucket, or the previous node's
	 * next): removal in O(1), also from the one chain that holds every
	 * link of an IP address in the table by IP (25,000 clients behind
	 * one NAT, or one load generator). */
	struct peer_node **pprev;
	uint64_t hash;
	/* The owner's address; it does not change while the node is in a
	 * table (a link that moves leaves, changes, and enters again). */
	const struct sockaddr_storage *addr;
	bool in_table;
};

struct peer_table {
	struct peer_node **buckets;		/* NULL until peer_table_init() */
	size_t n_buckets, n;
	uint64_t seed;
	bool by_ip;				/* the IP address alone */
};

/* An empty table of 64 buckets. Returns 0 or -ENOMEM. */
int peer_table_init(struct peer_table *t, uint64_t seed, bool by_ip);
/* The buckets; the nodes are their owners'. */
void peer_table_free(struct peer_table *t);

/* Double the table if it is full. Returns 0, or -ENOMEM: then it stays
 * as it is, and takes more entries all the same, on longer chains. */
int peer_table_make_room(struct peer_table *t);
/* Enter node (its addr set) with hash = peer_hash(t, node->addr). Does
 * not grow the table: peer_table_make_room() first. */
void peer_table_insert(struct peer_table *t, struct peer_node *node,
		       uint64_t hash);
/* Enter node, growing the table if it can: nothing when node is in the
 * table already, or the table was never made (a client's). */
void peer_table_add(struct peer_table *t, struct peer_node *node);
/* Take node out; nothing when it is not in the table. */
void peer_table_remove(struct peer_table *t, struct peer_node *node);
/* Take every node out, each handed to drop(): for freeing every link at
 * the end. */
void peer_table_drain(struct peer_table *t, void (*drop)(struct peer_node *));

static inline const uint8_t *peer_ip_bytes(const struct sockaddr_storage *ss,
					   size_t *len, uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		*len = 4;
		*port = in->sin_port;
		return (const uint8_t *)&in->sin_addr;
	}
	const struct sockaddr_in6 *in6 = (const void *)ss;
	*len = 16;
	*port = in6->sin6_port;
	return (const uint8_t *)&in6->sin6_addr;
}

static inline uint64_t peer_hash(const struct peer_table *t,
				 const struct sockaddr_storage *ss)
{
	size_t len;
	uint16_t port;
	const uint8_t *bytes = peer_ip_bytes(ss, &len, &port);
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ bytes[i]) * 0x100000001b3ull;
	if (!t->by_ip)
		h = (h ^ port) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* Whether a and b are the same IP address, and with_port the same port. */
static inline bool peer_same(const struct sockaddr_storage *a,
			     const struct sockaddr_storage *b, bool with_port)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return (!with_port || x->sin_port == y->sin_port) &&
		       x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return (!with_port || x->sin6_port == y->sin6_port) &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* The first node from n on, along its chain, for addr (hash from
 * peer_hash()), or NULL. */
static inline struct peer_node *
peer_table_match(const struct peer_table *t, struct peer_node *n,
		 const struct sockaddr_storage *addr, uint64_t hash)
{
	while (n && !(n->hash == hash && peer_same(n->addr, addr, !t->by_ip)))
		n = n->next;
	return n;
}

/* The node for addr, or NULL; by IP address, the first of them (the
 * next with peer_table_match(t, node->next, addr, hash)). */
static inline struct peer_node *
peer_table_find(const struct peer_table *t, const struct sockaddr_storage *addr,
		uint64_t hash)
{
	return peer_table_match(t, t->buckets[hash & (t->n_buckets - 1)], addr,
				hash);
}

#endif /* CULVERT_PEER_TABLE_H */
