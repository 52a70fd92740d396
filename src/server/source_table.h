/*
 * Where a stranger comes from, as the server's limits count it, and a
 * table of such sources that never grows.
 *
 * A host is one IPv4 address, or one IPv6 /64: what one machine, or one
 * customer of a provider, is given, so that rotating addresses inside a
 * /64 buys nothing. Its network is the IPv4 /24 or the IPv6 /48 around
 * it: what one site or one customer's network is given, so that an
 * attacker with a /48 (65,536 /64s) or a /24 still counts as one. An
 * IPv4 client of a dual-stack socket (::ffff:a.b.c.d) is that IPv4
 * address. A key may also name a user at a host, for the password
 * back-off (throttle.c).
 *
 * The table holds a fixed number of entries of one caller's type, found
 * by key in a hash keyed with a random seed (nobody can aim at one
 * bucket), and kept in the order they were last touched, so that the
 * least recently used one makes room when the table is full.
 */
#ifndef CULVERT_SOURCE_TABLE_H
#define CULVERT_SOURCE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

enum source_scope {
	SOURCE_HOST,		/* an IPv4 address, an IPv6 /64 */
	SOURCE_NETWORK,		/* an IPv4 /24, an IPv6 /48 */
};

struct source_key {
	uint64_t bits;		/* the address or prefix, network order */
	uint64_t user;		/* a user name's hash, or 0 */
	uint8_t kind;		/* what bits holds (source_table.c) */
};

/* The host or network sa comes from; a peer that is not IP (a test's
 * transport) is one source of its own. */
void source_key(const struct sockaddr *sa, enum source_scope scope,
		struct source_key *k);
/* k, narrowed to user at that source: name hashed with seed. */
void source_key_user(struct source_key *k, uint64_t seed, const char *name);
/* "192.0.2.7", "192.0.2.0/24", "2001:db8:1:2::/64", for log lines. */
const char *source_str(const struct source_key *k, char buf[ADDR_STRLEN]);
/* Whether two keys name the same source (and user). */
bool source_equal(const struct source_key *a, const struct source_key *b);

/* A random seed, for the table's hash and for user names. */
uint64_t source_seed(void);

struct source_table;

/* Room for `slots` entries of entry_size bytes each. */
int source_table_new(unsigned int slots, size_t entry_size,
		     struct source_table **out);
void source_table_free(struct source_table *t);

/* k's entry, or NULL. */
void *source_table_find(const struct source_table *t,
			const struct source_key *k);
/* k's entry, made (zeroed) when it had none: when the table is full,
 * the least recently touched entry makes room. The entry becomes the
 * most recently touched. */
void *source_table_get(struct source_table *t, const struct source_key *k);
/* e becomes the most recently touched entry. */
void source_table_touch(struct source_table *t, void *e);
void source_table_remove(struct source_table *t, void *e);
/* The least recently touched entry, or NULL when the table is empty;
 * and the entry touched just after e, or NULL. */
void *source_table_oldest(const struct source_table *t);
void *source_table_newer(const struct source_table *t, const void *e);
bool source_table_full(const struct source_table *t);
const struct source_key *source_table_key(const struct source_table *t,
					  const void *e);

#endif
