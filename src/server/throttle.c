/*
 * The back-off after failed password attempts, per source: an IPv4
 * address, or the /64 of an IPv6 address (what one host, or one customer
 * of a provider, gets: rotating addresses inside it buys nothing).
 *
 * Three failures cost nothing, so that typos are forgiven; after that
 * each attempt waits 1 s, 2 s, 4 s ... up to a minute. A source that
 * fails for the last time and then stays away for ten minutes is
 * forgotten, and so is one that logs in.
 *
 * The table has a fixed size: when it is full, the source whose last
 * failure is the oldest makes room. A list ordered by last failure finds
 * it without a search, and makes forgetting cheap.
 */
#include "throttle.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define THROTTLE_SLOTS 4096
#define THROTTLE_BUCKETS 8192		/* a power of two */
#define THROTTLE_FREE_FAILURES 3
#define THROTTLE_FIRST_MS 1000
#define THROTTLE_MAX_MS 60000
#define THROTTLE_FORGET_MS (10 * 60 * 1000)
#define NONE UINT16_MAX

enum source_kind {
	SOURCE_UNUSED = 0,
	SOURCE_IPV4,
	SOURCE_IPV6_64,
	SOURCE_OTHER,		/* not IP: all such share one entry */
};

struct source {
	uint64_t key;		/* the IPv4 address, or the /64 */
	int64_t last;		/* the last failure, ms */
	uint32_t failures;
	uint8_t kind;
	uint16_t chain;		/* next in the same bucket, or the free list */
	uint16_t older, newer;	/* neighbours by last failure */
};

struct throttle {
	uint64_t seed;		/* so that nobody can aim at one bucket */
	uint16_t oldest, newest;
	uint16_t free;
	uint16_t bucket[THROTTLE_BUCKETS];
	struct source s[THROTTLE_SLOTS];
};

int throttle_new(struct throttle **out)
{
	struct throttle *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return -ENOMEM;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(t->seed)) {
		/* Early in boot: a weaker seed only costs lookup speed. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t->seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
			  (uint64_t)(uintptr_t)t;
	}
	t->oldest = t->newest = NONE;
	for (size_t i = 0; i < THROTTLE_BUCKETS; i++)
		t->bucket[i] = NONE;
	for (size_t i = 0; i < THROTTLE_SLOTS; i++)
		t->s[i].chain = i + 1 < THROTTLE_SLOTS ? (uint16_t)(i + 1) : NONE;
	t->free = 0;
	*out = t;
	return 0;
}

void throttle_free(struct throttle *t)
{
	free(t);
}

static enum source_kind source_of(const struct sockaddr *sa, uint64_t *key)
{
	*key = 0;
	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, (const char *)sa + offsetof(struct sockaddr_in,
							sin_addr), 4);
		return SOURCE_IPV4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		struct in6_addr a;
		memcpy(&a, (const char *)sa + offsetof(struct sockaddr_in6,
						       sin6_addr), sizeof(a));
		/* An IPv4 client of a dual-stack socket: without this, all
		 * of them would share ::ffff:0:0/64. */
		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			memcpy(key, &a.s6_addr[12], 4);
			return SOURCE_IPV4;
		}
		memcpy(key, a.s6_addr, 8);
		return SOURCE_IPV6_64;
	}
	return SOURCE_OTHER;
}

static size_t bucket_of(const struct throttle *t, enum source_kind kind,
			uint64_t key)
{
	/* splitmix64's finalizer, keyed by the seed */
	uint64_t x = (key ^ t->seed) + (uint64_t)kind * 0x9e3779b97f4a7c15u;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	x ^= x >> 31;
	return (size_t)(x & (THROTTLE_BUCKETS - 1));
}

static uint16_t find(const struct throttle *t, enum source_kind kind,
		     uint64_t key)
{
	uint16_t i = t->bucket[bucket_of(t, kind, key)];

	while (i != NONE && (t->s[i].kind != kind || t->s[i].key != key))
		i = t->s[i].chain;
	return i;
}

/* ---- the list by last failure, oldest first */

static void list_remove(struct throttle *t, uint16_t i)
{
	struct source *s = &t->s[i];

	if (s->older != NONE)
		t->s[s->older].newer = s->newer;
	else
		t->oldest = s->newer;
	if (s->newer != NONE)
		t->s[s->newer].older = s->older;
	else
		t->newest = s->older;
}

static void list_append(struct throttle *t, uint16_t i)
{
	struct source *s = &t->s[i];

	s->older = t->newest;
	s->newer = NONE;
	if (t->newest != NONE)
		t->s[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
}

static void forget(struct throttle *t, uint16_t i)
{
	struct source *s = &t->s[i];
	uint16_t *link = &t->bucket[bucket_of(t, s->kind, s->key)];

	while (*link != i)
		link = &t->s[*link].chain;
	*link = s->chain;
	list_remove(t, i);
	memset(s, 0, sizeof(*s));
	s->chain = t->free;
	t->free = i;
}

static bool stale(const struct source *s, int64_t now)
{
	return now - s->last >= THROTTLE_FORGET_MS;
}

static void forget_stale(struct throttle *t, int64_t now)
{
	while (t->oldest != NONE && stale(&t->s[t->oldest], now))
		forget(t, t->oldest);
}

static uint16_t add(struct throttle *t, enum source_kind kind,
		    uint64_t key)
{
	if (t->free == NONE)
		forget(t, t->oldest);
	uint16_t i = t->free;
	struct source *s = &t->s[i];
	uint16_t *head = &t->bucket[bucket_of(t, kind, key)];

	t->free = s->chain;
	s->kind = kind;
	s->key = key;
	s->failures = 0;
	s->chain = *head;
	*head = i;
	return i;
}

/* The wait after this many failures, before the next attempt. */
static int64_t delay_ms(uint32_t failures)
{
	if (failures < THROTTLE_FREE_FAILURES)
		return 0;
	uint32_t doublings = failures - THROTTLE_FREE_FAILURES;
	if (doublings >= 16)
		return THROTTLE_MAX_MS;
	int64_t ms = (int64_t)THROTTLE_FIRST_MS << doublings;
	return ms < THROTTLE_MAX_MS ? ms : THROTTLE_MAX_MS;
}

int64_t throttle_wait(struct throttle *t, const struct sockaddr *sa,
			   int64_t now)
{
	uint64_t key;
	enum source_kind kind = source_of(sa, &key);
	uint16_t i = find(t, kind, key);

	if (i == NONE)
		return 0;
	if (stale(&t->s[i], now)) {
		forget(t, i);
		return 0;
	}
	int64_t delay = delay_ms(t->s[i].failures);
	int64_t left = t->s[i].last + delay - now;
	if (left < 0)
		return 0;
	return left < delay ? left : delay;	/* even if the clock stepped back */
}

void throttle_failed(struct throttle *t, const struct sockaddr *sa,
			  int64_t now)
{
	uint64_t key;
	enum source_kind kind = source_of(sa, &key);

	forget_stale(t, now);
	uint16_t i = find(t, kind, key);
	if (i == NONE)
		i = add(t, kind, key);
	else
		list_remove(t, i);
	struct source *s = &t->s[i];
	if (s->failures < UINT32_MAX)
		s->failures++;
	s->last = now;
	list_append(t, i);
}

void throttle_succeeded(struct throttle *t,
			     const struct sockaddr *sa)
{
	uint64_t key;
	enum source_kind kind = source_of(sa, &key);
	uint16_t i = find(t, kind, key);

	if (i != NONE)
		forget(t, i);
}
