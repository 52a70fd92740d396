/*
 * The back-off after failed password attempts, per user at a host and
 * per host (source_table.h says what a host is).
 *
 * Each is a count of failures, plus the checks under way, which count
 * as failures until they answer: 200 guesses sent at once see the first
 * few still being checked and wait, instead of all being checked before
 * the first has failed. Past the free failures (THROTTLE_FREE_*) each
 * attempt waits 1 s, 2 s, 4 s ... up to a minute after the last one.
 *
 * Why two counts: per user alone, one host could try one password on
 * thousands of users; per host alone, a login to one's own account
 * would forget the failures at someone else's (it did), and typos of
 * many users behind one NAT would add up too soon. A success forgets
 * its own user's count; a host's count is forgotten only ten minutes
 * after its last failure.
 *
 * One table of fixed size holds both: when it is full, the entry least
 * recently touched makes room.
 */
#include "throttle.h"

#include <errno.h>
#include <stdlib.h>

#include "source_table.h"

#define THROTTLE_SLOTS 8192
#define THROTTLE_FIRST_MS 1000
#define THROTTLE_MAX_MS 60000
#define THROTTLE_FORGET_MS (10 * 60 * 1000)

struct attempts {
	int64_t last;		/* the last attempt checked, or failure */
	uint32_t failures;
	uint32_t checking;	/* checks under way */
};

struct throttle {
	struct source_table *table;
	uint64_t seed;		/* for user names */
};

int throttle_new(struct throttle **out)
{
	struct throttle *t = calloc(1, sizeof(*t));
	int err;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	err = source_table_new(THROTTLE_SLOTS, sizeof(struct attempts),
			       &t->table);
	if (err < 0) {
		free(t);
		return err;
	}
	t->seed = source_seed();
	*out = t;
	return 0;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	source_table_free(t->table);
	free(t);
}

/* The host of sa, and the user there (user NULL: the host only). */
static void keys(const struct throttle *t, const struct sockaddr *sa,
		 const char *user, struct source_key *host,
		 struct source_key *at)
{
	source_key(sa, SOURCE_HOST, host);
	*at = *host;
	if (user)
		source_key_user(at, t->seed, user);
}

/* A check under way keeps its entry, but not for ever: none lasts an
 * hour (handshake-timeout is at most one), so by then its count was
 * lost (a caller that never said its end). */
static bool stale(const struct attempts *a, int64_t now)
{
	return now - a->last >= (a->checking ? 6 * THROTTLE_FORGET_MS
					     : THROTTLE_FORGET_MS);
}

static void forget_stale(struct throttle *t, int64_t now)
{
	struct attempts *a;

	while ((a = source_table_oldest(t->table)) && stale(a, now))
		source_table_remove(t->table, a);
}

/* The wait after this many failures, before the next attempt. */
static int64_t delay_ms(uint32_t failures, uint32_t free_failures)
{
	if (failures < free_failures)
		return 0;
	uint32_t doublings = failures - free_failures;
	if (doublings >= 16)
		return THROTTLE_MAX_MS;
	int64_t ms = (int64_t)THROTTLE_FIRST_MS << doublings;
	return ms < THROTTLE_MAX_MS ? ms : THROTTLE_MAX_MS;
}

static int64_t wait_of(struct throttle *t, const struct source_key *k,
		       uint32_t free_failures, int64_t now)
{
	struct attempts *a = source_table_find(t->table, k);

	if (!a)
		return 0;
	if (stale(a, now)) {
		source_table_remove(t->table, a);
		return 0;
	}
	int64_t delay = delay_ms(a->failures + a->checking, free_failures);
	int64_t left = a->last + delay - now;
	if (left <= 0)
		return 0;
	return left < delay ? left : delay;	/* even if the clock stepped back */
}

int64_t throttle_wait(struct throttle *t, const struct sockaddr *sa,
		      const char *user, int64_t now)
{
	struct source_key host, at;

	keys(t, sa, user, &host, &at);
	int64_t wait = wait_of(t, &host, THROTTLE_FREE_PER_HOST, now);
	if (user) {
		int64_t w = wait_of(t, &at, THROTTLE_FREE_PER_USER, now);
		wait = w > wait ? w : wait;
	}
	return wait;
}

static void begin(struct throttle *t, const struct source_key *k, int64_t now)
{
	struct attempts *a = source_table_get(t->table, k);

	if (a->checking < UINT32_MAX)
		a->checking++;
	a->last = now;
}

void throttle_begin(struct throttle *t, const struct sockaddr *sa,
		    const char *user, int64_t now)
{
	struct source_key host, at;

	forget_stale(t, now);
	keys(t, sa, user, &host, &at);
	begin(t, &host, now);
	if (user)
		begin(t, &at, now);
}

/* One check of k answered. The entry may be gone (the table made room):
 * a failure is remembered anew, a success has nothing to forget. */
static void end(struct throttle *t, const struct source_key *k, bool ok,
		bool forget_on_success, int64_t now)
{
	struct attempts *a = ok ? source_table_find(t->table, k)
				: source_table_get(t->table, k);

	if (!a)
		return;
	if (a->checking > 0)
		a->checking--;
	if (ok && forget_on_success) {
		source_table_remove(t->table, a);
		return;
	}
	if (ok)
		return;
	if (a->failures < UINT32_MAX)
		a->failures++;
	a->last = now;
}

void throttle_end(struct throttle *t, const struct sockaddr *sa,
		  const char *user, bool ok, int64_t now)
{
	struct source_key host, at;

	keys(t, sa, user, &host, &at);
	end(t, &host, ok, false, now);
	if (user)
		end(t, &at, ok, true, now);
}

static void uncount(struct throttle *t, const struct source_key *k)
{
	struct attempts *a = source_table_find(t->table, k);

	if (a && a->checking > 0)
		a->checking--;
}

void throttle_cancel(struct throttle *t, const struct sockaddr *sa,
		     const char *user)
{
	struct source_key host, at;

	keys(t, sa, user, &host, &at);
	uncount(t, &host);
	if (user)
		uncount(t, &at);
}

void throttle_failed(struct throttle *t, const struct sockaddr *sa,
		     const char *user, int64_t now)
{
	throttle_begin(t, sa, user, now);
	throttle_end(t, sa, user, false, now);
}
