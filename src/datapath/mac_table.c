/*
 * The MAC table (mac_table.h): linear probing over a power-of-two
 * array, deletion by shifting the following entries back (no
 * tombstones, as route.c does), grown when half full.
 */
#include "mac_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define FIRST_CAPACITY 64u

struct mac_entry {
	uint64_t key;		/* the address + 1: 0 marks an empty slot */
	struct mac_port *owner;	/* NULL: seen on the LAN */
	int64_t seen;
};

struct mac_table {
	struct mac_entry *entries;
	uint32_t mask;		/* capacity - 1 */
	uint32_t count, lan;
	uint64_t seed;
};

static uint64_t key_of(const uint8_t *mac)
{
	uint64_t k = 0;

	for (int i = 0; i < MAC_LEN; i++)
		k = k << 8 | mac[i];
	return k + 1;
}

/* murmur3's finaliser over the key mixed with the table's secret. */
static uint32_t hash_of(const struct mac_table *t, uint64_t k)
{
	uint64_t x = k ^ t->seed;

	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return (uint32_t)x;
}

/* The entry holding k, or the empty one ending its probe. */
static struct mac_entry *probe(const struct mac_table *t, uint64_t k)
{
	for (uint32_t i = hash_of(t, k) & t->mask;; i = (i + 1) & t->mask) {
		struct mac_entry *e = &t->entries[i];
		if (!e->key || e->key == k)
			return e;
	}
}

int mac_table_new(struct mac_table **out)
{
	struct mac_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->entries = calloc(FIRST_CAPACITY, sizeof(*t->entries));
	if (!t->entries) {
		free(t);
		return -ENOMEM;
	}
	t->mask = FIRST_CAPACITY - 1;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t;
	*out = t;
	return 0;
}

void mac_table_free(struct mac_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t);
}

/* Twice the room, every entry placed again. */
static int grow(struct mac_table *t)
{
	uint32_t cap = (t->mask + 1) * 2;
	struct mac_entry *old = t->entries, *e = calloc(cap, sizeof(*e));
	uint32_t old_cap = t->mask + 1;

	if (!e)
		return -ENOMEM;
	t->entries = e;
	t->mask = cap - 1;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*probe(t, old[i].key) = old[i];
	free(old);
	return 0;
}

static struct mac_entry *insert(struct mac_table *t, uint64_t k,
				struct mac_port *owner, int64_t now)
{
	if ((t->count + 1) * 2 > t->mask + 1 && grow(t) < 0)
		return NULL;
	struct mac_entry *e = probe(t, k);
	*e = (struct mac_entry){ .key = k, .owner = owner, .seen = now };
	t->count++;
	if (!owner)
		t->lan++;
	return e;
}

/* Empty slot i, and shift back the entries after it that probed past
 * it, so that every probe still ends where it should. */
static void remove_at(struct mac_table *t, uint32_t i)
{
	if (!t->entries[i].owner)
		t->lan--;
	t->count--;
	for (uint32_t j = (i + 1) & t->mask; t->entries[j].key;
	     j = (j + 1) & t->mask) {
		uint32_t home = hash_of(t, t->entries[j].key) & t->mask;
		/* j's entry may fill i when its home is not in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->entries[i] = t->entries[j];
			i = j;
		}
	}
	t->entries[i].key = 0;
	t->entries[i].owner = NULL;
}

static void remove_key(struct mac_table *t, uint64_t k)
{
	struct mac_entry *e = probe(t, k);

	if (e->key)
		remove_at(t, (uint32_t)(e - t->entries));
}

struct mac_port *mac_port_new(struct mac_table *t, void *session)
{
	struct mac_port *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->table = t;
	p->session = session;
	return p;
}

void mac_port_free(struct mac_port *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->n; i++)
		remove_key(p->table, key_of(p->macs[i]));
	free(p);
}

/* mac is no longer p's: out of its list (the table is the caller's). */
static void port_drop(struct mac_port *p, uint64_t k)
{
	for (unsigned int i = 0; i < p->n; i++)
		if (key_of(p->macs[i]) == k) {
			memcpy(p->macs[i], p->macs[--p->n], MAC_LEN);
			return;
		}
}

enum mac_learned mac_port_learn(struct mac_port *p, const uint8_t *mac,
				unsigned int max, int64_t now)
{
	struct mac_table *t = p->table;
	uint64_t k = key_of(mac);
	struct mac_entry *e = probe(t, k);

	if (e->key) {
		if (e->owner != p)
			return MAC_TAKEN;
		e->seen = now;
		return MAC_OWN;
	}
	if (p->n >= max || p->n >= CONFIG_MAX_MACS)
		return MAC_FULL;
	if (!insert(t, k, p, now))
		return MAC_NOMEM;
	memcpy(p->macs[p->n++], mac, MAC_LEN);
	return MAC_NEW;
}

struct mac_port *mac_table_lookup(const struct mac_table *t,
				  const uint8_t *mac, bool *known)
{
	const struct mac_entry *e = probe(t, key_of(mac));

	*known = e->key != 0;
	return e->owner;
}

void mac_table_seen_on_lan(struct mac_table *t, const uint8_t *mac,
			   int64_t now)
{
	uint64_t k = key_of(mac);
	struct mac_entry *e = probe(t, k);

	if (e->key) {
		if (!e->owner)
			e->seen = now;
		return;
	}
	if (t->lan < MAC_TABLE_LAN_MAX)
		insert(t, k, NULL, now);
}

void mac_table_age(struct mac_table *t, int64_t before)
{
	/* A removal may shift an entry into the slot just looked at (look
	 * again), or one from the start to the end (looked at twice:
	 * harmless). */
	for (uint32_t i = 0; i <= t->mask;) {
		struct mac_entry *e = &t->entries[i];
		if (!e->key || e->seen >= before) {
			i++;
			continue;
		}
		if (e->owner)
			port_drop(e->owner, e->key);
		remove_at(t, i);
	}
}

char *mac_str(const uint8_t *mac, char buf[MAC_STRLEN])
{
	snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

unsigned int mac_table_count(const struct mac_table *t, unsigned int *lan)
{
	if (lan)
		*lan = t->lan;
	return t->count;
}
