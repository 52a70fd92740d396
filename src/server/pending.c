/* The places of links that have not said hello, shared out per host and
 * per network (pending.h says why). Each place is in three lists, oldest
 * first: its host's, its network's and everyone's. */
#include "pending.h"

#include <errno.h>
#include <stdlib.h>

#include "source_table.h"

struct pending_group {
	struct pending_place *oldest, *newest;
	unsigned int n;
};

struct pending {
	/* Hosts and networks with a place; never full, since each has at
	 * least one of the PENDING_MAX places. */
	struct source_table *groups;
	struct pending_group all;
};

static const unsigned int share[] = {
	[PENDING_HOST] = PENDING_PER_HOST,
	[PENDING_NETWORK] = PENDING_PER_NETWORK,
	[PENDING_ALL] = PENDING_MAX,
};

unsigned int pending_share(enum pending_level level)
{
	return share[level];
}

int pending_new(struct pending **out)
{
	struct pending *p = calloc(1, sizeof(*p));
	int err;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	err = source_table_new(2 * PENDING_MAX, sizeof(struct pending_group),
			       &p->groups);
	if (err < 0) {
		free(p);
		return err;
	}
	*out = p;
	return 0;
}

void pending_free(struct pending *p)
{
	if (!p)
		return;
	source_table_free(p->groups);
	free(p);
}

static void group_append(struct pending_group *g, struct pending_place *pl,
			 enum pending_level level)
{
	pl->older[level] = g->newest;
	pl->newer[level] = NULL;
	if (g->newest)
		g->newest->newer[level] = pl;
	else
		g->oldest = pl;
	g->newest = pl;
	g->n++;
}

static void group_remove(struct pending_group *g, struct pending_place *pl,
			 enum pending_level level)
{
	if (pl->older[level])
		pl->older[level]->newer[level] = pl->newer[level];
	else
		g->oldest = pl->newer[level];
	if (pl->newer[level])
		pl->newer[level]->older[level] = pl->older[level];
	else
		g->newest = pl->older[level];
	g->n--;
}

struct pending_place *pending_full(struct pending *p, const struct sockaddr *sa,
				   enum pending_level *level)
{
	struct source_key k;
	struct pending_group *g;

	for (int i = PENDING_HOST; i <= PENDING_NETWORK; i++) {
		source_key(sa, i == PENDING_HOST ? SOURCE_HOST : SOURCE_NETWORK,
			   &k);
		g = source_table_find(p->groups, &k);
		if (g && g->n >= share[i]) {
			*level = (enum pending_level)i;
			return g->oldest;
		}
	}
	if (p->all.n >= PENDING_MAX) {
		*level = PENDING_ALL;
		return p->all.oldest;
	}
	return NULL;
}

int pending_enter(struct pending *p, struct pending_place *pl,
		  const struct sockaddr *sa)
{
	struct source_key k[2];

	if (pl->held)
		return 0;
	/* Two groups at most per place: room unless the caller took more
	 * places than pending_full allows. */
	if (p->all.n >= PENDING_MAX)
		return -ENOSPC;
	for (int i = PENDING_HOST; i <= PENDING_NETWORK; i++)
		source_key(sa, i == PENDING_HOST ? SOURCE_HOST : SOURCE_NETWORK,
			   &k[i]);
	for (int i = PENDING_HOST; i <= PENDING_NETWORK; i++)
		pl->group[i] = source_table_get(p->groups, &k[i]);
	group_append(pl->group[PENDING_HOST], pl, PENDING_HOST);
	group_append(pl->group[PENDING_NETWORK], pl, PENDING_NETWORK);
	group_append(&p->all, pl, PENDING_ALL);
	pl->held = true;
	return 0;
}

void pending_leave(struct pending *p, struct pending_place *pl)
{
	if (!pl->held)
		return;
	for (int i = PENDING_HOST; i <= PENDING_NETWORK; i++) {
		struct pending_group *g = pl->group[i];
		group_remove(g, pl, (enum pending_level)i);
		if (g->n == 0)
			source_table_remove(p->groups, g);
		pl->group[i] = NULL;
	}
	group_remove(&p->all, pl, PENDING_ALL);
	pl->held = false;
}

unsigned int pending_count(const struct pending *p)
{
	return p->all.n;
}
