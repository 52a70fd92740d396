/* The sessions by identity: see identity_index.h. */
#include "identity_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "session.h"

#define FIRST_BUCKETS 64

/* FNV-1a: identities are names that peers choose, but a chain that
 * they lengthen costs only their own logins a walk of their own. */
static uint32_t hash_of(const char *identity)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *c = (const unsigned char *)identity; *c; c++)
		h = (h ^ *c) * 16777619u;
	return h;
}

static void link_at(struct cv_session **head, struct cv_session *s)
{
	s->id_next = *head;
	if (s->id_next)
		s->id_next->id_pprev = &s->id_next;
	s->id_pprev = head;
	*head = s;
}

/* Twice the buckets once there are as many sessions as buckets. */
static void grow(struct core *core)
{
	size_t n = core->id_n_buckets ? core->id_n_buckets * 2 : FIRST_BUCKETS;
	struct cv_session **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < core->id_n_buckets; i++)
		while (core->id_buckets[i]) {
			struct cv_session *s = core->id_buckets[i];
			core->id_buckets[i] = s->id_next;
			link_at(&b[s->id_hash & (n - 1)], s);
		}
	free(core->id_buckets);
	core->id_buckets = b;
	core->id_n_buckets = n;
}

void identity_index_add(struct core *core, struct cv_session *s)
{
	if (!s->identity || s->id_pprev || s->id_missed)
		return;
	if (core->id_n >= core->id_n_buckets)
		grow(core);
	if (!core->id_n_buckets) {
		/* Out of memory: while such a session lives, lease.c
		 * walks every session instead. */
		s->id_missed = true;
		core->id_missed++;
		return;
	}
	s->id_hash = hash_of(s->identity);
	link_at(&core->id_buckets[s->id_hash & (core->id_n_buckets - 1)], s);
	core->id_n++;
}

void identity_index_remove(struct core *core, struct cv_session *s)
{
	if (s->id_missed) {
		s->id_missed = false;
		core->id_missed--;
		return;
	}
	if (!s->id_pprev)
		return;
	*s->id_pprev = s->id_next;
	if (s->id_next)
		s->id_next->id_pprev = s->id_pprev;
	s->id_next = NULL;
	s->id_pprev = NULL;
	core->id_n--;
}

static struct cv_session *match(struct cv_session *s, const char *identity,
				uint32_t h)
{
	while (s && (s->id_hash != h || strcmp(s->identity, identity) != 0))
		s = s->id_next;
	return s;
}

struct cv_session *identity_index_first(const struct core *core,
					const char *identity)
{
	if (!core->id_n_buckets)
		return NULL;
	uint32_t h = hash_of(identity);
	return match(core->id_buckets[h & (core->id_n_buckets - 1)], identity, h);
}

struct cv_session *identity_index_next(const struct cv_session *s)
{
	return match(s->id_next, s->identity, s->id_hash);
}

void identity_index_free(struct core *core)
{
	free(core->id_buckets);
	core->id_buckets = NULL;
	core->id_n_buckets = core->id_n = 0;
}
