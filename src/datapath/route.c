/*
 * The prefix table: one open-addressing hash of every prefix, keyed by
 * (family, length, address with its host bits cleared), and per family
 * the list of lengths present, longest first. A lookup masks the address
 * to each present length in turn and probes once; the first hit is the
 * longest match.
 *
 * The hash uses linear probing over a power-of-two array. Deletion
 * shifts the following entries back instead of leaving tombstones, so a
 * lookup never walks past deleted entries and a table that churns
 * through sessions for months stays as fast as a new one.
 */
#include "route.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FIRST_CAPACITY 16u
#define MAX_LEN 128

/* An address as two big-endian numbers, so that masking is arithmetic:
 * IPv4 in the top 32 bits of hi. */
struct route_key {
	uint64_t hi, lo;
	uint8_t v6;		/* 0: IPv4, 1: IPv6 */
	uint8_t len;
};

struct route_entry {
	struct route_key key;
	uint32_t hash;		/* kept: fills padding, saves rehashing */
	void *session;		/* NULL: the entry is empty */
};

struct route_table {
	struct route_entry *entries;
	uint32_t mask;		/* capacity - 1 */
	uint32_t count;
	/* Per family: how many entries each length has, and the lengths
	 * that have any, longest first (what a lookup walks). */
	uint32_t per_len[2][MAX_LEN + 1];
	uint8_t lens[2][MAX_LEN + 1];
	unsigned int n_lens[2];
	route_observer *observer;	/* told of every change */
	void *observer_arg;
};

static unsigned int family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

/* bytes may be unaligned: straight from a packet header. */
static struct route_key key_of(int family, const void *bytes)
{
	struct route_key k = { .v6 = family == AF_INET6 };

	if (family == AF_INET) {
		uint32_t word;
		memcpy(&word, bytes, sizeof(word));
		k.hi = (uint64_t)be32toh(word) << 32;
	} else {
		memcpy(&k.hi, bytes, 8);
		memcpy(&k.lo, (const uint8_t *)bytes + 8, 8);
		k.hi = be64toh(k.hi);
		k.lo = be64toh(k.lo);
	}
	return k;
}

/* The top len bits of a 64-bit half, the rest cleared. */
static uint64_t top_bits(unsigned int len)
{
	return len >= 64 ? UINT64_MAX : len ? UINT64_MAX << (64 - len) : 0;
}

/* k cut to len bits. An IPv4 length counts from the top of hi too. */
static struct route_key masked(struct route_key k, unsigned int len)
{
	k.len = (uint8_t)len;
	k.hi &= top_bits(len);
	k.lo &= len > 64 ? top_bits(len - 64) : 0;
	return k;
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

/* IPv4 leaves the low 32 bits of hi free for the length: one mix. */
static uint32_t key_hash(const struct route_key *k)
{
	if (!k->v6)
		return (uint32_t)mix64(k->hi | k->len);
	return (uint32_t)mix64(k->hi ^ mix64(k->lo ^ ((uint64_t)k->len << 1 | 1)));
}

static bool key_equal(const struct route_key *a, const struct route_key *b)
{
	return a->hi == b->hi && a->lo == b->lo && a->v6 == b->v6 &&
	       a->len == b->len;
}

/* The entry holding k, or the empty entry ending its probe. */
static struct route_entry *probe(const struct route_table *table,
				 uint32_t hash, const struct route_key *k)
{
	for (uint32_t i = hash & table->mask;; i = (i + 1) & table->mask) {
		struct route_entry *e = &table->entries[i];
		if (!e->session || (e->hash == hash && key_equal(&e->key, k)))
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
	struct route_entry *old = table->entries;
	uint32_t old_mask = table->mask;

	if (table_alloc(table, (old_mask + 1) * 2) < 0) {
		table->entries = old;
		table->mask = old_mask;
		return -ENOMEM;
	}
	for (uint32_t i = 0; i <= old_mask; i++) {
		const struct route_entry *e = &old[i];
		if (e->session)
			*probe(table, e->hash, &e->key) = *e;
	}
	free(old);
	return 0;
}

/* Linear probing slows sharply past ~70% full. */
static bool too_full(const struct route_table *table, uint32_t count)
{
	return (uint64_t)count * 10 > (uint64_t)(table->mask + 1) * 7;
}

/* The lengths of family v6 that have entries, longest first: rebuilt
 * only when a length appears or disappears. */
static void lengths_changed(struct route_table *table, unsigned int v6)
{
	unsigned int n = 0;

	for (int len = MAX_LEN; len >= 0; len--)
		if (table->per_len[v6][len])
			table->lens[v6][n++] = (uint8_t)len;
	table->n_lens[v6] = n;
}

static void count_len(struct route_table *table, const struct route_key *k,
		      int delta)
{
	uint32_t *n = &table->per_len[k->v6][k->len];

	*n += (uint32_t)delta;
	if (*n == (delta > 0 ? 1u : 0u))
		lengths_changed(table, k->v6);
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

/* p as a key: 0, or -EINVAL when it is no prefix (host bits set too,
 * since such a route could never be matched as written). */
static int prefix_key(const struct cv_prefix *p, struct route_key *k)
{
	unsigned int bits = family_bits(p->addr.family);

	if (!bits || p->len > bits)
		return -EINVAL;
	*k = key_of(p->addr.family, p->addr.bytes);
	struct route_key m = masked(*k, p->len);
	if (!key_equal(&m, &(struct route_key){ k->hi, k->lo, k->v6, p->len }))
		return -EINVAL;
	*k = m;
	return 0;
}

/* A NULL session would read as "no route", so it is refused. */
int route_add(struct route_table *table, const struct cv_prefix *p,
	      void *session)
{
	struct route_key k;

	if (!session || prefix_key(p, &k) < 0)
		return -EINVAL;

	uint32_t hash = key_hash(&k);
	struct route_entry *e = probe(table, hash, &k);
	if (e->session)
		return -EEXIST;
	if (too_full(table, table->count + 1)) {
		if (table_grow(table) < 0)
			return -ENOMEM;
		e = probe(table, hash, &k);
	}
	*e = (struct route_entry){ .key = k, .hash = hash, .session = session };
	table->count++;
	count_len(table, &k, 1);
	if (table->observer)
		table->observer(table->observer_arg, p, session, true);
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
	struct route_key gone = table->entries[hole].key;

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
	count_len(table, &gone, -1);
}

void route_del(struct route_table *table, const struct cv_prefix *p,
	       const void *session)
{
	struct route_key k;

	if (prefix_key(p, &k) < 0)
		return;
	struct route_entry *e = probe(table, key_hash(&k), &k);
	if (!e->session || e->session != session)
		return;
	void *e_session = e->session;	/* the same, but not const */
	remove_at(table, (uint32_t)(e - table->entries));
	if (table->observer)
		table->observer(table->observer_arg, p, e_session, false);
}

void route_table_observe(struct route_table *table, route_observer *fn,
			 void *arg)
{
	table->observer = fn;
	table->observer_arg = arg;
}

/* A key back as the prefix it was made of. */
static struct cv_prefix prefix_of(const struct route_key *k)
{
	struct cv_prefix p = { .len = k->len };
	uint64_t hi = htobe64(k->hi), lo = htobe64(k->lo);

	p.addr.family = k->v6 ? AF_INET6 : AF_INET;
	memcpy(p.addr.bytes, &hi, k->v6 ? 8 : 4);
	if (k->v6)
		memcpy(p.addr.bytes + 8, &lo, 8);
	return p;
}

int route_table_copy(const struct route_table *from, struct route_table *to)
{
	for (uint32_t i = 0; i <= from->mask; i++) {
		const struct route_entry *e = &from->entries[i];
		if (!e->session)
			continue;
		struct cv_prefix p = prefix_of(&e->key);
		int err = route_add(to, &p, e->session);
		if (err < 0)
			return err;
	}
	return 0;
}

void *route_find(const struct route_table *table, const struct cv_prefix *p)
{
	struct route_key k;

	if (prefix_key(p, &k) < 0)
		return NULL;
	return probe(table, key_hash(&k), &k)->session;
}

void *route_lookup(const struct route_table *table, int family,
		   const void *addr)
{
	if (!family_bits(family))
		return NULL;
	struct route_key full = key_of(family, addr);
	unsigned int v6 = full.v6;

	for (unsigned int i = 0; i < table->n_lens[v6]; i++) {
		struct route_key k = masked(full, table->lens[v6][i]);
		struct route_entry *e = probe(table, key_hash(&k), &k);
		if (e->session)
			return e->session;
	}
	return NULL;
}

unsigned int route_count(const struct route_table *table)
{
	return table->count;
}
