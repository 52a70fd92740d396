/*
 * The address pool. Every client address has a slot, indexed from the
 * first client address. Three structures keep each lease O(1) even for a
 * /16 with thousands of clients:
 *
 *   - a cursor: slots at or past it have never been leased, so "an address
 *     nobody held" is just the cursor. The slot array only grows to the
 *     cursor, so a /8 costs memory for the addresses used, not 16M slots.
 *   - the free list: released slots, doubly linked through the slots, oldest
 *     release at the head, so the least recently released is the head and an
 *     identity can take its own slot back from the middle.
 *   - the identity map: identity -> the slot it was last given, chained
 *     through the slots, so a returning client finds its address at once.
 *
 * An identity remembers one address, the latest it was given: a second
 * session under the same identity takes the name over, and the first
 * session's address becomes anonymous.
 *
 * Reserved addresses (the static addresses of per-client policy) are never
 * leased: a sorted array of their slots, for the cursor to step over, and
 * a flag in the slots the cursor has passed, which keeps them off the free
 * list. The server hands them out itself.
 */
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NO_SLOT UINT32_MAX
#define FIRST_CAPACITY 256u

struct slot {
	char *identity;		/* last holder's, kept after release; NULL
				 * when anonymous or given away since */
	uint32_t identity_hash;
	uint32_t chain_next;	/* next slot in the same identity bucket */
	uint32_t lru_prev, lru_next;	/* free list links while released */
	bool leased;
	bool reserved;		/* never leased, never on the free list */
};

struct pool {
	struct cv_prefix prefix;	/* host bits cleared */
	uint32_t size;		/* client addresses */
	uint32_t in_use;

	struct slot *slots;
	uint32_t capacity;	/* slots allocated, at most size */
	uint32_t never_used;	/* slots [never_used, size) were never leased */

	uint32_t lru_head, lru_tail;	/* released slots, oldest first */

	uint32_t *buckets;	/* identity map: first slot of each chain */
	uint32_t bucket_mask;	/* bucket count - 1, a power of two */

	uint32_t *reserved;	/* slots never leased, ascending */
	uint32_t n_reserved;
};

/* An address is the network plus an offset: the gateway is offset 1 and
 * slot N is offset N + 2. Offsets stay below 2^32, so only the last four
 * bytes of the address change, IPv4 and IPv6 alike; for IPv6 those bytes
 * are all host bits (pool_new sizes the pool so). */
static struct cv_addr address_at(const struct pool *pool, uint32_t offset)
{
	struct cv_addr a = pool->prefix.addr;
	size_t last = pool->prefix.addr.family == AF_INET ? 0 : 12;
	uint32_t low;

	memcpy(&low, a.bytes + last, 4);
	low = htonl(ntohl(low) + offset);
	memcpy(a.bytes + last, &low, 4);
	return a;
}

/* The slot of addr, or a value past every slot when addr is not a client
 * address of the pool. */
static uint32_t slot_of(const struct pool *pool, const struct cv_addr *addr)
{
	size_t last = pool->prefix.addr.family == AF_INET ? 0 : 12;
	uint32_t net, low;

	if (addr->family != pool->prefix.addr.family ||
	    memcmp(addr->bytes, pool->prefix.addr.bytes, last) != 0)
		return NO_SLOT;
	memcpy(&net, pool->prefix.addr.bytes + last, 4);
	memcpy(&low, addr->bytes + last, 4);
	/* Unsigned wrap-around sends addresses below the first client
	 * address past every slot too. */
	return ntohl(low) - ntohl(net) - 2;
}

/* FNV-1a: an identity is what authentication proved (a certificate
 * subject, a user name), not what any packet says, so nobody unauthenticated
 * can aim collisions at the map and a simple hash is enough. */
static uint32_t identity_hash(const char *identity)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)identity; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* ---- identity map */

static uint32_t *bucket_of(struct pool *pool, uint32_t hash)
{
	return &pool->buckets[hash & pool->bucket_mask];
}

static void identity_link(struct pool *pool, uint32_t slot)
{
	uint32_t *head = bucket_of(pool, pool->slots[slot].identity_hash);

	pool->slots[slot].chain_next = *head;
	*head = slot;
}

static void identity_unlink(struct pool *pool, uint32_t slot)
{
	uint32_t *link = bucket_of(pool, pool->slots[slot].identity_hash);

	while (*link != slot)
		link = &pool->slots[*link].chain_next;
	*link = pool->slots[slot].chain_next;
}

static uint32_t identity_find(struct pool *pool, const char *identity)
{
	uint32_t hash = identity_hash(identity);
	uint32_t slot = *bucket_of(pool, hash);

	while (slot != NO_SLOT) {
		const struct slot *s = &pool->slots[slot];
		if (s->identity_hash == hash && strcmp(s->identity, identity) == 0)
			return slot;
		slot = s->chain_next;
	}
	return NO_SLOT;
}

/* Detaches the slot's identity from the map and hands the string over. */
static char *identity_take(struct pool *pool, uint32_t slot)
{
	char *identity = pool->slots[slot].identity;

	if (identity) {
		identity_unlink(pool, slot);
		pool->slots[slot].identity = NULL;
	}
	return identity;
}

static void identity_give(struct pool *pool, uint32_t slot, char *identity)
{
	pool->slots[slot].identity = identity;
	pool->slots[slot].identity_hash = identity_hash(identity);
	identity_link(pool, slot);
}

/* One bucket per slot keeps the chains short; rebuilt as the slots grow. */
static int identity_map_resize(struct pool *pool)
{
	uint32_t count = 1;

	while (count < pool->capacity)
		count <<= 1;
	if (pool->buckets && count == pool->bucket_mask + 1)
		return 0;

	uint32_t *buckets = malloc(count * sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	memset(buckets, 0xff, count * sizeof(*buckets));	/* NO_SLOT */
	free(pool->buckets);
	pool->buckets = buckets;
	pool->bucket_mask = count - 1;
	for (uint32_t i = 0; i < pool->never_used; i++)
		if (pool->slots[i].identity)
			identity_link(pool, i);
	return 0;
}

/* ---- free list of released slots */

static void lru_append(struct pool *pool, uint32_t slot)
{
	struct slot *s = &pool->slots[slot];

	s->lru_prev = pool->lru_tail;
	s->lru_next = NO_SLOT;
	if (pool->lru_tail != NO_SLOT)
		pool->slots[pool->lru_tail].lru_next = slot;
	else
		pool->lru_head = slot;
	pool->lru_tail = slot;
}

static void lru_unlink(struct pool *pool, uint32_t slot)
{
	struct slot *s = &pool->slots[slot];

	if (s->lru_prev != NO_SLOT)
		pool->slots[s->lru_prev].lru_next = s->lru_next;
	else
		pool->lru_head = s->lru_next;
	if (s->lru_next != NO_SLOT)
		pool->slots[s->lru_next].lru_prev = s->lru_prev;
	else
		pool->lru_tail = s->lru_prev;
}

/* ---- slots */

static int slots_reserve(struct pool *pool, uint32_t needed)
{
	if (needed <= pool->capacity)
		return 0;

	uint32_t capacity = pool->capacity * 2;
	if (capacity < needed)
		capacity = needed;
	if (capacity > pool->size)
		capacity = pool->size;

	struct slot *slots = realloc(pool->slots, capacity * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	pool->slots = slots;
	pool->capacity = capacity;
	return identity_map_resize(pool);
}

static int by_slot(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool is_reserved(const struct pool *pool, uint32_t slot)
{
	return pool->n_reserved &&
	       bsearch(&slot, pool->reserved, pool->n_reserved,
		       sizeof(*pool->reserved), by_slot);
}

/* The slot at the cursor, made: reserved or not, it is past the cursor
 * from now on. */
static int pass_cursor(struct pool *pool, uint32_t *slot)
{
	int err = slots_reserve(pool, pool->never_used + 1);

	if (err)
		return err;
	*slot = pool->never_used++;
	pool->slots[*slot] = (struct slot){
		.reserved = is_reserved(pool, *slot),
	};
	return 0;
}

/* An address nobody held, else the least recently released one. */
static int take_free_slot(struct pool *pool, uint32_t *out)
{
	/* Bounded: the cursor steps over each reserved slot once. */
	while (pool->never_used < pool->size) {
		int err = pass_cursor(pool, out);
		if (err)
			return err;
		if (!pool->slots[*out].reserved)
			return 0;
	}
	if (pool->lru_head == NO_SLOT)
		return -ENOSPC;
	*out = pool->lru_head;
	lru_unlink(pool, *out);
	free(identity_take(pool, *out));	/* its last holder loses it */
	return 0;
}

/* ---- the API */

int pool_new(const struct cv_prefix *prefix, struct pool **out)
{
	/* /8 is the widest IPv4 pool we size for; past /30 no client
	 * address is left once the network, gateway and broadcast addresses
	 * are out. IPv6 has no broadcast address: up to /126. */
	bool v6 = prefix->addr.family == AF_INET6;
	if ((prefix->addr.family != AF_INET || prefix->len < 8 || prefix->len > 30) &&
	    (!v6 || prefix->len < 16 || prefix->len > 126))
		return -EINVAL;

	struct pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	unsigned int host_bits = (v6 ? 128u : 32u) - prefix->len;
	pool->prefix = *prefix;
	/* Clear the host bits: a pool is named by its network. */
	for (unsigned int i = 0; i < (v6 ? 16u : 4u); i++) {
		unsigned int keep = prefix->len > i * 8 ? prefix->len - i * 8 : 0;
		if (keep < 8)
			pool->prefix.addr.bytes[i] &= (uint8_t)(0xff00u >> keep);
	}
	if (!v6)
		pool->size = (UINT32_C(1) << host_bits) - 3; /* net, gw, bcast */
	else if (host_bits < 24)
		pool->size = (UINT32_C(1) << host_bits) - 2; /* net, gw */
	else
		pool->size = (UINT32_C(1) << 24) - 2;	/* as many as a /8 */
	pool->lru_head = pool->lru_tail = NO_SLOT;

	uint32_t first = pool->size < FIRST_CAPACITY ? pool->size : FIRST_CAPACITY;
	if (slots_reserve(pool, first) < 0) {
		pool_free(pool);
		return -ENOMEM;
	}
	*out = pool;
	return 0;
}

void pool_free(struct pool *pool)
{
	if (!pool)
		return;
	for (uint32_t i = 0; i < pool->never_used; i++)
		free(pool->slots[i].identity);
	free(pool->slots);
	free(pool->buckets);
	free(pool->reserved);
	free(pool);
}

struct cv_prefix pool_server_addr(const struct pool *pool)
{
	struct cv_prefix server = pool->prefix;

	server.addr = address_at(pool, 1);
	return server;
}

static void lease_slot(struct pool *pool, uint32_t slot, struct cv_addr *out)
{
	pool->slots[slot].leased = true;
	pool->in_use++;
	*out = address_at(pool, slot + 2);
}

int pool_lease(struct pool *pool, const char *identity, struct cv_addr *out)
{
	bool named = identity && identity[0];
	uint32_t held = named ? identity_find(pool, identity) : NO_SLOT;

	if (held != NO_SLOT && !pool->slots[held].leased &&
	    !pool->slots[held].reserved) {
		/* Its previous address, released and not given away since. */
		lru_unlink(pool, held);
		lease_slot(pool, held, out);
		return 0;
	}

	/* Copy the name before taking a slot, so that failing leaves the
	 * pool as it was. An identity already holding a leased slot moves
	 * its name over instead. */
	char *name = NULL;
	if (named && held == NO_SLOT && !(name = strdup(identity)))
		return -ENOMEM;

	uint32_t slot;
	int err = take_free_slot(pool, &slot);
	if (err) {
		free(name);
		return err;
	}
	if (held != NO_SLOT)
		name = identity_take(pool, held);
	if (name)
		identity_give(pool, slot, name);
	lease_slot(pool, slot, out);
	return 0;
}

void pool_release(struct pool *pool, const struct cv_addr *addr)
{
	uint32_t slot = slot_of(pool, addr);

	if (slot >= pool->never_used || !pool->slots[slot].leased)
		return;
	pool->slots[slot].leased = false;
	pool->in_use--;
	if (!pool->slots[slot].reserved)
		lru_append(pool, slot);
}

unsigned int pool_size(const struct pool *pool)
{
	return pool->size;
}

unsigned int pool_in_use(const struct pool *pool)
{
	return pool->in_use;
}

/* Make slot, not yet reached by the cursor, free to take: the never used
 * slots before it join the free list, so the cursor stays a boundary. */
static int claim_unused(struct pool *pool, uint32_t slot)
{
	int err = slots_reserve(pool, slot + 1);

	if (err)
		return err;
	while (pool->never_used <= slot) {
		uint32_t skipped = 0;
		if ((err = pass_cursor(pool, &skipped)) < 0)
			return err;
		if (skipped < slot && !pool->slots[skipped].reserved)
			lru_append(pool, skipped);
	}
	return 0;
}

/* Whether identity may have the free slot: nobody else is remembered
 * for it. */
static bool may_take(const struct pool *pool, uint32_t slot,
		     const char *identity)
{
	const char *held = pool->slots[slot].identity;

	return !held || (identity && strcmp(held, identity) == 0);
}

int pool_lease_hint(struct pool *pool, const char *identity,
		    const struct cv_addr *hint, struct cv_addr *out)
{
	if (!hint || hint->family != pool->prefix.addr.family)
		return pool_lease(pool, identity, out);
	uint32_t slot = slot_of(pool, hint);
	if (slot >= pool->size || is_reserved(pool, slot) ||
	    (slot < pool->never_used && (pool->slots[slot].leased ||
					 !may_take(pool, slot, identity))))
		return pool_lease(pool, identity, out);

	bool named = identity && identity[0];
	uint32_t held = named ? identity_find(pool, identity) : NO_SLOT;
	char *name = NULL;
	if (named && held == NO_SLOT && !(name = strdup(identity)))
		return -ENOMEM;
	if (slot >= pool->never_used) {
		int err = claim_unused(pool, slot);
		if (err) {
			free(name);
			return err;
		}
	} else {
		lru_unlink(pool, slot);
	}
	if (named && held != slot) {
		if (held != NO_SLOT)
			name = identity_take(pool, held);
		identity_give(pool, slot, name);
	}
	lease_slot(pool, slot, out);
	return 0;
}

bool pool_contains(const struct pool *pool, const struct cv_addr *addr)
{
	return slot_of(pool, addr) < pool->size;
}

bool pool_is_reserved(const struct pool *pool, const struct cv_addr *addr)
{
	uint32_t slot = slot_of(pool, addr);

	return slot < pool->size && is_reserved(pool, slot);
}

/* A slot the cursor passed leaves the free list when reserved, and joins
 * it again when no longer reserved; a leased one only changes its flag
 * (pool_release then keeps it off the free list, or puts it on). Nobody
 * gets a reserved address back by name. */
static void mark_reserved(struct pool *pool, uint32_t slot, bool reserved)
{
	struct slot *s = &pool->slots[slot];

	if (s->reserved == reserved)
		return;
	s->reserved = reserved;
	if (s->leased)
		return;
	if (reserved) {
		lru_unlink(pool, slot);
		free(identity_take(pool, slot));
	} else {
		lru_append(pool, slot);
	}
}

int pool_reserve(struct pool *pool, const struct cv_addr *addrs,
		 unsigned int n)
{
	uint32_t *slots = n ? calloc(n, sizeof(*slots)) : NULL;

	if (n && !slots)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		slots[i] = slot_of(pool, &addrs[i]);
		if (slots[i] >= pool->size) {
			free(slots);
			return -EINVAL;
		}
	}
	if (n > 1)
		qsort(slots, n, sizeof(*slots), by_slot);
	for (uint32_t i = 0; i < pool->n_reserved; i++)
		if (pool->reserved[i] < pool->never_used)
			mark_reserved(pool, pool->reserved[i], false);
	free(pool->reserved);
	pool->reserved = slots;
	pool->n_reserved = n;
	for (uint32_t i = 0; i < n; i++)
		if (slots[i] < pool->never_used)
			mark_reserved(pool, slots[i], true);
	return 0;
}
