/* Lines about refused logins, a few per host and then a summary
 * (refusal_log.h). */
#include "refusal_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "loop.h"
#include "source_table.h"

/* Hosts remembered at once: when more refuse at once, the least recent
 * one is summed up early to make room. */
#define REFUSAL_LOG_HOSTS 1024
/* Summaries of hosts a tick of the timer writes; the rest in one line. */
#define SUMMARIES_PER_TICK 10

struct host_lines {
	int64_t window_start;
	unsigned int lines;		/* logged in this window */
	unsigned int unlogged;		/* and not */
};

struct refusal_log {
	struct loop *loop;
	struct loop_timer *timer;	/* the end of a window with unlogged lines */
	bool armed;
	struct source_table *hosts;
	int64_t second;			/* for REFUSAL_LOG_PER_SECOND */
	unsigned int lines_this_second;
	uint64_t *unlogged;
};

static void on_tick(void *arg);

int refusal_log_new(struct loop *loop, uint64_t *unlogged,
		    struct refusal_log **out)
{
	struct refusal_log *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->unlogged = unlogged;
	r->timer = loop_timer_new(loop, on_tick, r);
	err = r->timer ? source_table_new(REFUSAL_LOG_HOSTS,
					  sizeof(struct host_lines), &r->hosts)
		       : -ENOMEM;
	if (err < 0) {
		refusal_log_free(r);
		return err;
	}
	*out = r;
	return 0;
}

static void summarize(struct refusal_log *r, struct host_lines *h)
{
	char buf[ADDR_STRLEN];

	if (!h->unlogged)
		return;
	log_notice("%s: %u more refused login%s in the last %d s %s not logged",
		   source_str(source_table_key(r->hosts, h), buf), h->unlogged,
		   h->unlogged == 1 ? "" : "s", REFUSAL_LOG_WINDOW_MS / 1000,
		   h->unlogged == 1 ? "was" : "were");
	h->unlogged = 0;
}

/* The windows that ended: their summaries, a few by name, the others in
 * one line. The timer runs again while a window has lines unlogged. */
static void on_tick(void *arg)
{
	struct refusal_log *r = arg;
	int64_t now = loop_now(r->loop);
	unsigned int named = 0, others = 0;
	uint64_t others_unlogged = 0;
	bool owed = false;

	r->armed = false;
	for (struct host_lines *h = source_table_oldest(r->hosts); h;
	     h = source_table_newer(r->hosts, h)) {
		if (!h->unlogged)
			continue;
		if (now - h->window_start < REFUSAL_LOG_WINDOW_MS) {
			owed = true;
			continue;
		}
		if (named++ < SUMMARIES_PER_TICK) {
			summarize(r, h);
		} else {
			others++;
			others_unlogged += h->unlogged;
			h->unlogged = 0;
		}
	}
	if (others)
		log_notice("%" PRIu64 " more refused logins from %u other hosts in the last %d s were not logged",
			   others_unlogged, others, REFUSAL_LOG_WINDOW_MS / 1000);
	if (owed) {
		loop_timer_arm(r->timer, REFUSAL_LOG_WINDOW_MS / 2);
		r->armed = true;
	}
}

void refusal_log_free(struct refusal_log *r)
{
	if (!r)
		return;
	if (r->hosts)
		for (struct host_lines *h = source_table_oldest(r->hosts); h;
		     h = source_table_newer(r->hosts, h))
			summarize(r, h);
	loop_timer_free(r->timer);
	source_table_free(r->hosts);
	free(r);
}

/* The entry of sa's host, its window current. */
static struct host_lines *host_of(struct refusal_log *r,
				  const struct sockaddr *sa, int64_t now)
{
	struct source_key k;

	source_key(sa, SOURCE_HOST, &k);
	if (!source_table_find(r->hosts, &k) && source_table_full(r->hosts))
		summarize(r, source_table_oldest(r->hosts));
	struct host_lines *h = source_table_get(r->hosts, &k);
	if (h->lines == 0 && h->unlogged == 0)
		h->window_start = now;
	if (now - h->window_start >= REFUSAL_LOG_WINDOW_MS) {
		summarize(r, h);
		h->window_start = now;
		h->lines = 0;
	}
	return h;
}

static bool second_allows(struct refusal_log *r, int64_t now)
{
	if (now / 1000 != r->second) {
		r->second = now / 1000;
		r->lines_this_second = 0;
	}
	return r->lines_this_second < REFUSAL_LOG_PER_SECOND;
}

void refusal_log(struct refusal_log *r, const struct sockaddr *sa,
		 int priority, const char *fmt, ...)
{
	int64_t now = loop_now(r->loop);
	struct host_lines *h = host_of(r, sa, now);
	va_list ap;

	if (h->lines < REFUSAL_LOG_BURST && second_allows(r, now)) {
		h->lines++;
		r->lines_this_second++;
		va_start(ap, fmt);
		log_vmsg(priority, "", fmt, ap);
		va_end(ap);
		return;
	}
	h->unlogged++;
	if (r->unlogged)
		(*r->unlogged)++;
	if (!r->armed) {
		int64_t left = h->window_start + REFUSAL_LOG_WINDOW_MS - now;
		loop_timer_arm(r->timer, left > 0 ? left : 0);
		r->armed = true;
	}
}
