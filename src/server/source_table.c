/* Sources of strangers (a host, its network, a user at a host) and a
 * fixed-size table of them in least-recently-used order. */
#include "source_table.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

enum {
	KIND_UNUSED = 0,
	KIND_OTHER,		/* not IP: all such are one source */
	KIND_V4,		/* bits: the address */
	KIND_V4_NET,		/* the /24 */
	KIND_V6,		/* the /64 */
	KIND_V6_NET,		/* the /48 */
	KIND_USER = 0x80,	/* or'ed in: user is set */
};

#define NONE UINT32_MAX

/* ---- keys */

static uint64_t prefix_bits(const uint8_t *bytes, unsigned int len_bits)
{
	uint8_t b[8] = { 0 };

	memcpy(b, bytes, len_bits / 8);
	uint64_t v;
	memcpy(&v, b, sizeof(v));
	return v;
}

void source_key(const struct sockaddr *sa, enum source_scope scope,
		struct source_key *k)
{
	bool net = scope == SOURCE_NETWORK;

	memset(k, 0, sizeof(*k));
	k->kind = KIND_OTHER;
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		k->bits = prefix_bits((const uint8_t *)&sin->sin_addr, net ? 24 : 32);
		k->kind = net ? KIND_V4_NET : KIND_V4;
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			k->bits = prefix_bits(a + 12, net ? 24 : 32);
			k->kind = net ? KIND_V4_NET : KIND_V4;
		} else {
			k->bits = prefix_bits(a, net ? 48 : 64);
			k->kind = net ? KIND_V6_NET : KIND_V6;
		}
	}
}

/* splitmix64's finalizer. */
static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

void source_key_user(struct source_key *k, uint64_t seed, const char *name)
{
	uint64_t h = mix(seed);

	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = mix(h ^ *c);
	k->user = h | 1;	/* never 0, which means no user */
	k->kind |= KIND_USER;
}

const char *source_str(const struct source_key *k, char buf[ADDR_STRLEN])
{
	struct cv_prefix p = { 0 };

	switch (k->kind & ~KIND_USER) {
	case KIND_V4:
	case KIND_V4_NET:
		p.addr.family = AF_INET;
		p.len = (k->kind & ~KIND_USER) == KIND_V4 ? 32 : 24;
		memcpy(&p.addr.v4, &k->bits, 4);
		break;
	case KIND_V6:
	case KIND_V6_NET:
		p.addr.family = AF_INET6;
		p.len = (k->kind & ~KIND_USER) == KIND_V6 ? 64 : 48;
		memcpy(p.addr.bytes, &k->bits, 8);
		break;
	default:
		snprintf(buf, ADDR_STRLEN, "(not IP)");
		return buf;
	}
	return p.len == 32 ? addr_str(&p.addr, buf) : prefix_str(&p, buf);
}

bool source_equal(const struct source_key *a, const struct source_key *b)
{
	return a->kind == b->kind && a->bits == b->bits && a->user == b->user;
}

uint64_t source_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	/* Early in boot: a weaker seed only costs lookup speed. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		   (uint64_t)(uintptr_t)&ts);
}

/* ---- the table */

struct slot {
	struct source_key key;	/* kind KIND_UNUSED: free */
	uint32_t chain;		/* next in the bucket, or in the free list */
	uint32_t older, newer;	/* neighbours by last touch */
};

struct source_table {
	uint64_t seed;
	uint32_t n_slots, n_buckets;	/* n_buckets: a power of two */
	uint32_t used, free;
	uint32_t oldest, newest;
	size_t entry_size;
	uint32_t *bucket;
	struct slot *slot;
	unsigned char *entries;
};

int source_table_new(unsigned int slots, size_t entry_size,
		     struct source_table **out)
{
	struct source_table *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t || slots == 0 || slots >= NONE / 2) {
		free(t);
		return t ? -EINVAL : -ENOMEM;
	}
	t->seed = source_seed();
	t->n_slots = slots;
	t->n_buckets = 1;
	while (t->n_buckets < 2 * slots)
		t->n_buckets *= 2;
	t->entry_size = entry_size ? entry_size : 1;
	t->bucket = malloc(t->n_buckets * sizeof(*t->bucket));
	t->slot = calloc(slots, sizeof(*t->slot));
	t->entries = calloc(slots, t->entry_size);
	if (!t->bucket || !t->slot || !t->entries) {
		source_table_free(t);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->n_buckets; i++)
		t->bucket[i] = NONE;
	for (uint32_t i = 0; i < slots; i++)
		t->slot[i].chain = i + 1 < slots ? i + 1 : NONE;
	t->free = 0;
	t->oldest = t->newest = NONE;
	*out = t;
	return 0;
}

void source_table_free(struct source_table *t)
{
	if (!t)
		return;
	free(t->bucket);
	free(t->slot);
	free(t->entries);
	free(t);
}

static uint32_t bucket_of(const struct source_table *t,
			  const struct source_key *k)
{
	uint64_t x = mix((k->bits ^ t->seed) + k->kind * 0x9e3779b97f4a7c15u);

	return (uint32_t)(mix(x ^ k->user) & (t->n_buckets - 1));
}

static void *entry_at(const struct source_table *t, uint32_t i)
{
	return i == NONE ? NULL : t->entries + (size_t)i * t->entry_size;
}

static uint32_t index_of(const struct source_table *t, const void *e)
{
	return (uint32_t)(((const unsigned char *)e - t->entries) / t->entry_size);
}

static uint32_t find(const struct source_table *t, const struct source_key *k)
{
	uint32_t i = t->bucket[bucket_of(t, k)];

	while (i != NONE && !source_equal(&t->slot[i].key, k))
		i = t->slot[i].chain;
	return i;
}

static void list_remove(struct source_table *t, uint32_t i)
{
	struct slot *s = &t->slot[i];

	if (s->older != NONE)
		t->slot[s->older].newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer != NONE)
		t->slot[s->newer].older = s->older;
	else
		t->newest = s->older;
}

static void list_append(struct source_table *t, uint32_t i)
{
	struct slot *s = &t->slot[i];

	s->older = t->newest;
	s->newer = NONE;
	if (t->newest != NONE)
		t->slot[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
}

static void forget(struct source_table *t, uint32_t i)
{
	struct slot *s = &t->slot[i];
	uint32_t *link = &t->bucket[bucket_of(t, &s->key)];

	while (*link != i)
		link = &t->slot[*link].chain;
	*link = s->chain;
	list_remove(t, i);
	memset(s, 0, sizeof(*s));
	s->chain = t->free;
	t->free = i;
	t->used--;
}

void *source_table_find(const struct source_table *t,
			const struct source_key *k)
{
	return entry_at(t, find(t, k));
}

void *source_table_get(struct source_table *t, const struct source_key *k)
{
	uint32_t i = find(t, k);

	if (i != NONE) {
		list_remove(t, i);
		list_append(t, i);
		return entry_at(t, i);
	}
	if (t->free == NONE)
		forget(t, t->oldest);
	i = t->free;
	struct slot *s = &t->slot[i];
	uint32_t *head = &t->bucket[bucket_of(t, k)];
	t->free = s->chain;
	s->key = *k;
	s->chain = *head;
	*head = i;
	t->used++;
	list_append(t, i);
	memset(entry_at(t, i), 0, t->entry_size);
	return entry_at(t, i);
}

void source_table_touch(struct source_table *t, void *e)
{
	uint32_t i = index_of(t, e);

	list_remove(t, i);
	list_append(t, i);
}

void source_table_remove(struct source_table *t, void *e)
{
	forget(t, index_of(t, e));
}

void *source_table_oldest(const struct source_table *t)
{
	return entry_at(t, t->oldest);
}

void *source_table_newer(const struct source_table *t, const void *e)
{
	return entry_at(t, t->slot[index_of(t, e)].newer);
}

bool source_table_full(const struct source_table *t)
{
	return t->used == t->n_slots;
}

const struct source_key *source_table_key(const struct source_table *t,
					  const void *e)
{
	return &t->slot[index_of(t, e)].key;
}
