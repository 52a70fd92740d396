/*
 * The route table: open addressing with linear probing over a power-of-two
 * array. Deletion shifts the following entries back instead of leaving
 * tombstones, so a lookup never walks past deleted entries and a table
 * that churns through sessions for months stays as fast as a new one.
 */
#include "route.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FIRST_CAPACITY 16u

struct route_entry {
	struct cv_addr addr;
	uint32_t hash;		/* kept: fills padding, saves rehashing */
	void *session;		/* NULL: the entry is empty */
};

struct route_table {
	struct route_entry *entries;
	uint32_t mask;		/* capacity - 1 */
	uint32_t count;
};

static size_t family_size(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* murmur3's 64-bit finaliser: every input bit reaches every output bit,
 * so neighbouring client addresses do not fill neighbouring slots. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

/* bytes may be unaligned: straight from a packet header. */
static uint32_t addr_hash(int family, const void *bytes)
{
	uint64_t seed = (uint64_t)family << 32;

	if (family == AF_INET) {
		uint32_t word;
		memcpy(&word, bytes, sizeof(word));
		return (uint32_t)mix64(seed | word);
	}
	uint64_t high, low;
	memcpy(&high, bytes, sizeof(high));
	memcpy(&low, (const uint8_t *)bytes + 8, sizeof(low));
	return (uint32_t)mix64(high ^ mix64(low ^ seed));
}

static bool entry_matches(const struct route_entry *e, uint32_t hash,
			  int family, const void *bytes)
{
	return e->hash == hash && e->addr.family == family &&
	       memcmp(e->addr.bytes, bytes, family_size(family)) == 0;
}

/* The entry holding the address, or the empty entry ending its probe. */
static struct route_entry *probe(const struct route_table *table,
				 uint32_t hash, int family, const void *bytes)
{
	for (uint32_t i = hash & table->mask;; i = (i + 1) & table->mask) {
		struct route_entry *e = &table->entries[i];
		if (!e->session || entry_matches(e, hash, family, bytes))
			return e;
	}
}

static int table_alloc(struct route_table *table, uint32_t capacity)
{
	table->entries = calloc(capacity, sizeof(*table->entries));
	if (!table->entries)
		return -ENOMEM;
	table->mask = capacity - 1;
	return 0;
}

static int table_grow(struct route_table *table)
{
	struct route_table old = *table;

	if (table_alloc(table, (old.mask + 1) * 2) < 0) {
		*table = old;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= old.mask; i++) {
		const struct route_entry *e = &old.entries[i];
		if (e->session)
			*probe(table, e->hash, e->addr.family, e->addr.bytes) = *e;
	}
	free(old.entries);
	return 0;
}

/* Linear probing slows sharply past ~70% full. */
static bool too_full(const struct route_table *table, uint32_t count)
{
	return (uint64_t)count * 10 > (uint64_t)(table->mask + 1) * 7;
}

int route_table_new(struct route_table **out)
{
	struct route_table *table = calloc(1, sizeof(*table));

	if (!table)
		return -ENOMEM;
	if (table_alloc(table, FIRST_CAPACITY) < 0) {
		free(table);
		return -ENOMEM;
	}
	*out = table;
	return 0;
}

void route_table_free(struct route_table *table)
{
	if (!table)
		return;
	free(table->entries);
	free(table);
}

/* A NULL session would read as "no route", so it is refused. */
int route_add(struct route_table *table, const struct cv_addr *addr,
	      void *session)
{
	if (!session || !family_size(addr->family))
		return -EINVAL;

	uint32_t hash = addr_hash(addr->family, addr->bytes);
	struct route_entry *e = probe(table, hash, addr->family, addr->bytes);
	if (e->session)
		return -EEXIST;
	if (too_full(table, table->count + 1)) {
		if (table_grow(table) < 0)
			return -ENOMEM;
		e = probe(table, hash, addr->family, addr->bytes);
	}

	memset(e, 0, sizeof(*e));
	e->addr.family = addr->family;
	memcpy(e->addr.bytes, addr->bytes, family_size(addr->family));
	e->hash = hash;
	e->session = session;
	table->count++;
	return 0;
}

/* Whether slot lies cyclically in [from, to): an entry whose probe
 * starts at from and ends at to passes through it. */
static bool on_probe_path(uint32_t slot, uint32_t from, uint32_t to,
			  uint32_t mask)
{
	return ((slot - from) & mask) < ((to - from) & mask);
}

/* Empties entries[hole], then pulls back later entries of the same run
 * that could no longer be found across the gap. */
static void remove_at(struct route_table *table, uint32_t hole)
{
	uint32_t mask = table->mask;

	for (uint32_t i = (hole + 1) & mask;; i = (i + 1) & mask) {
		struct route_entry *e = &table->entries[i];
		if (!e->session)
			break;
		if (on_probe_path(hole, e->hash & mask, i, mask)) {
			table->entries[hole] = *e;
			hole = i;
		}
	}
	table->entries[hole].session = NULL;
	table->count--;
}

void route_del(struct route_table *table, const struct cv_addr *addr,
	       const void *session)
{
	if (!family_size(addr->family))
		return;

	uint32_t hash = addr_hash(addr->family, addr->bytes);
	struct route_entry *e = probe(table, hash, addr->family, addr->bytes);
	if (e->session && e->session == session)
		remove_at(table, (uint32_t)(e - table->entries));
}

void *route_lookup(const struct route_table *table, int family,
		   const void *addr)
{
	if (!family_size(family))
		return NULL;
	return probe(table, addr_hash(family, addr), family, addr)->session;
}

unsigned int route_count(const struct route_table *table)
{
	return table->count;
}
