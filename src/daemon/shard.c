#include "shard.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "mailbox.h"
#include "plugin.h"
#include "plugin_host.h"
#include "route.h"
#include "session.h"
#include "tun.h"

/* Packets handed to one loop and not yet taken: past it, a loop that
 * cannot keep up drops them, as a full queue of the device would,
 * rather than let them pile up in memory. */
#define HANDOFF_MAX 4096

struct shard {
	unsigned int index;
	struct core *core;
	struct loop *loop;		/* loop 0: core->loop */
	struct mailbox *mail;
	struct datapath *dp;		/* loop 0's: the daemon's */
	/* Loops after the first only: */
	struct tun tun;			/* its queue of the device */
	struct cv_host *hosts[CONFIG_MAX_TRANSPORTS];
	unsigned int n_hosts;
	struct route_table *routes, *networks;	/* replicas */
	struct counters counters;
	atomic_uint handed;		/* handoffs in its mailbox */
	/* Held by this loop while it marks a link of its own gone (the
	 * plugin frees it then), and by loop 0 while it describes one. */
	pthread_mutex_t links;
	pthread_t thread;
	bool started;
	struct letter stop;		/* the last: ends its loop */
	sem_t stopped;
};

struct shards {
	unsigned int n;
	struct shard *loop[CONFIG_MAX_THREADS];
	/* Loop 0's tables, which the replicas follow. */
	struct route_table *routes, *networks;
};

static __thread unsigned int here;

unsigned int shard_loops(const struct config *cfg)
{
	if (cfg->mode != MODE_SERVER || cfg->tap)
		return 1;
	if (cfg->threads)
		return cfg->threads;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > CONFIG_MAX_THREADS ? CONFIG_MAX_THREADS
							 : (unsigned int)cpus;
}

unsigned int shard_count(const struct core *core)
{
	return core->shards ? core->shards->n : 1;
}

unsigned int shard_here(void)
{
	return here;
}

static struct shard *shard_at(const struct core *core, unsigned int i)
{
	return core->shards->loop[i];
}

/* A letter and what it carries, in one allocation: the mailbox frees
 * it after its fn. */
static void *letter_new(size_t size, void (*fn)(void *))
{
	struct letter *l = malloc(size);

	if (l) {
		l->fn = fn;
		l->arg = l;
		l->done = NULL;
	}
	return l;
}

void shard_call_main(struct core *core, void (*fn)(void *), void *arg)
{
	if (here == 0 || !core->shards) {
		fn(arg);
		return;
	}
	sem_t done;
	struct letter l = { .fn = fn, .arg = arg, .done = &done };

	sem_init(&done, 0, 0);
	mailbox_post(shard_at(core, 0)->mail, &l);
	while (sem_wait(&done) < 0 && errno == EINTR)
		;
	sem_destroy(&done);
}

void shard_post(struct core *core, unsigned int to, struct letter *letter)
{
	mailbox_post(shard_at(core, to)->mail, letter);
}

/* ---- loop 0 to a session's loop */

struct posted_send {
	struct letter l;
	struct cv_session *s;
	unsigned int count;
	struct cv_msg msgs[];		/* then their bytes */
};

static void run_send(void *arg)
{
	struct posted_send *p = arg;
	struct cv_session *s = p->s;
	struct cv_host *h = s->transport;

	/* Sent even when loop 0 has ended the session since: its bye is
	 * among these. The link lives until the close posted after. */
	if (s->link_gone)
		return;
	/* From another loop session_end goes to loop 0, which ends s
	 * unless it has meanwhile (closed is checked there again). */
	if (h->t->send(h->inst, s->link, p->msgs, p->count) < 0 && !s->closed)
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send");
}

int shard_send(struct cv_session *s, const struct cv_msg *msgs,
	       unsigned int count)
{
	size_t bytes = 0;

	for (unsigned int i = 0; i < count; i++)
		bytes += msgs[i].len;
	struct posted_send *p = letter_new(sizeof(*p) + count * sizeof(*msgs) +
					   bytes, run_send);
	if (!p)
		return -ENOMEM;
	uint8_t *at = (uint8_t *)(p->msgs + count);
	p->s = s;
	p->count = count;
	for (unsigned int i = 0; i < count; i++) {
		p->msgs[i] = msgs[i];
		p->msgs[i].data = memcpy(at, msgs[i].data, msgs[i].len);
		at += msgs[i].len;
	}
	mailbox_post(shard_at(s->core, s->loop)->mail, &p->l);
	return (int)count;
}

struct posted_close {
	struct letter l;
	struct cv_session *s;
};

static void run_close(void *arg)
{
	struct cv_session *s = ((struct posted_close *)arg)->s;

	if (shard_link_gone(s))
		return;		/* the plugin said it was lost meanwhile */
	s->transport->t->close(s->transport->inst, s->link);
}

/* Loop 0 describes another loop's links for status while that loop
 * goes on: link_gone changes, and the link is freed, only while loop 0
 * is not looking. Once a session, with no lock on the data path. A
 * session of loop 0 needs none: loop 0 is the one that looks. */
static pthread_mutex_t *links_lock(const struct cv_session *s)
{
	pthread_mutex_t *lock = s->loop ? &shard_at(s->core, s->loop)->links
					: NULL;

	if (lock)
		pthread_mutex_lock(lock);
	return lock;
}

static void links_unlock(pthread_mutex_t *lock)
{
	if (lock)
		pthread_mutex_unlock(lock);
}

bool shard_link_gone(struct cv_session *s)
{
	pthread_mutex_t *lock = links_lock(s);
	bool was = s->link_gone;

	s->link_gone = true;
	links_unlock(lock);
	return was;
}

void shard_describe(const struct cv_session *s, struct cv_link_desc *desc)
{
	const struct cv_host *h = s->transport;

	if (!h->inst || !s->link || !TRANSPORT_HAS(h->t, describe))
		return;
	pthread_mutex_t *lock = links_lock(s);
	if (!s->link_gone)
		h->t->describe(h->inst, s->link, desc);
	links_unlock(lock);
}

void shard_close(struct cv_session *s)
{
	struct posted_close *p = letter_new(sizeof(*p), run_close);

	if (!p) {
		/* Nothing else can close it: abandoned, as a link lost. */
		log_err("out of memory closing the link of session %" PRIu64,
			s->id);
		return;
	}
	p->s = s;
	mailbox_post(shard_at(s->core, s->loop)->mail, &p->l);
}

struct posted_reload {
	struct letter l;
	struct cv_host *copy;
};

static void run_reload(void *arg)
{
	struct cv_host *h = ((struct posted_reload *)arg)->copy;
	int err = h->t->reload(h->inst);

	if (err < 0)
		log_err("transport '%s' on event loop %u keeps its old settings: %s",
			h->t->name, h->loop_index, strerror(-err));
}

void shard_reload(struct core *core, struct cv_host *copy)
{
	if (!copy->inst || !TRANSPORT_HAS(copy->t, reload))
		return;
	struct posted_reload *p = letter_new(sizeof(*p), run_reload);
	if (!p) {
		log_err("transport '%s' on event loop %u keeps its old settings: out of memory",
			copy->t->name, copy->loop_index);
		return;
	}
	p->copy = copy;
	mailbox_post(shard_at(core, copy->loop_index)->mail, &p->l);
}

/* ---- freeing what other loops may hold */

struct release {
	struct letter l;
	struct shards *shards;
	unsigned int at;		/* the loop it is on its way to */
	void *ptr;
};

static void pass_release(void *arg);

/* Through loops 1 to n - 1, then loop 0, which frees: loop 0 may have
 * letters about ptr from other loops (their upcalls) in its mailbox,
 * which come before. */
static void release_from(struct shards *shards, unsigned int at, void *ptr)
{
	if (at == 0 && here == 0) {
		free(ptr);
		return;
	}
	struct release *r = letter_new(sizeof(*r), pass_release);
	if (!r)
		return;		/* leaked, rather than freed too soon */
	r->shards = shards;
	r->at = at;
	r->ptr = ptr;
	mailbox_post(shards->loop[at]->mail, &r->l);
}

/* On loop r->at, between two of its turns: nothing it looked up before
 * is still in use there. */
static void pass_release(void *arg)
{
	struct release *r = arg;

	release_from(r->shards, r->at == 0 || r->at + 1 == r->shards->n
					? 0 : r->at + 1, r->ptr);
}

void shard_release(struct core *core, void *ptr)
{
	if (!ptr)
		return;
	if (!core->shards) {
		free(ptr);
		return;
	}
	release_from(core->shards, 1, ptr);
}

/* ---- counters */

struct counters *shard_counters(struct core *core)
{
	return here == 0 ? &core->counters : &shard_at(core, here)->counters;
}

void shard_counters_sum(const struct core *core, struct counters *sum)
{
	*sum = core->counters;
	for (unsigned int i = 1; core->shards && i < core->shards->n; i++) {
		/* Another thread counts in these: each value is read whole
		 * (aligned 64-bit), perhaps a packet behind. */
		const struct counters *c = &shard_at(core, i)->counters;
#define ADD(name) sum->name += __atomic_load_n(&c->name, __ATOMIC_RELAXED);
		CORE_COUNTERS(ADD)
#undef ADD
	}
}

/* ---- packets for another loop's sessions */

struct handed {
	struct letter l;
	struct shard *to;
	size_t len;
	struct cv_segmentation seg;
	uint8_t pkt[];
};

static void run_handed(void *arg)
{
	struct handed *h = arg;

	atomic_fetch_sub_explicit(&h->to->handed, 1, memory_order_relaxed);
	datapath_handed(h->to->dp, h->pkt, h->len, &h->seg);
}

static void handoff(void *arg, struct datapath *dp, const struct cv_session *s,
		    const uint8_t *pkt, size_t len,
		    const struct cv_segmentation *seg)
{
	struct core *core = arg;
	struct counters *c = shard_counters(core);
	struct shard *to = shard_at(core, s->loop);

	(void)dp;
	if (atomic_load_explicit(&to->handed, memory_order_relaxed) >=
	    HANDOFF_MAX) {
		c->handoff_full++;
		return;
	}
	struct handed *h = letter_new(sizeof(*h) + len, run_handed);
	if (!h) {
		c->handoff_full++;
		return;
	}
	h->to = to;
	h->len = len;
	h->seg = *seg;
	memcpy(h->pkt, pkt, len);
	atomic_fetch_add_explicit(&to->handed, 1, memory_order_relaxed);
	c->handed_off++;
	mailbox_post(to->mail, &h->l);
}

/* ---- the replicas */

struct route_change {
	struct letter l;
	struct route_table *table;	/* the replica */
	struct cv_prefix p;
	void *session;
	bool added;
};

static void run_route_change(void *arg)
{
	struct route_change *c = arg;

	if (!c->added)
		route_del(c->table, &c->p, c->session);
	else if (route_add(c->table, &c->p, c->session) < 0)
		log_err("loop %u: cannot copy a route: out of memory", here);
}

/* Which replica of each loop follows a table of loop 0. */
struct follower {
	struct core *core;
	bool networks;
};

static void route_changed(void *arg, const struct cv_prefix *p, void *session,
			  bool added)
{
	const struct follower *f = arg;
	struct shards *shards = f->core->shards;

	for (unsigned int i = 1; i < shards->n; i++) {
		struct shard *sh = shards->loop[i];
		struct route_change *c = letter_new(sizeof(*c),
						    run_route_change);
		if (!c) {
			log_err("loop %u: a route change lost: out of memory",
				i);
			continue;
		}
		c->table = f->networks ? sh->networks : sh->routes;
		c->p = *p;
		c->session = session;
		c->added = added;
		mailbox_post(sh->mail, &c->l);
	}
}

static struct follower follow_routes, follow_networks;

/* ---- setting up */

static void shard_free(struct shard *sh)
{
	if (!sh)
		return;
	mailbox_free(sh->mail);
	pthread_mutex_destroy(&sh->links);
	if (sh->index == 0) {
		free(sh);
		return;
	}
	for (unsigned int i = 0; i < sh->n_hosts; i++)
		transport_copy_free(sh->hosts[i]);
	if (sh->dp && sh->tun.fd >= 0)
		loop_unwatch(sh->loop, sh->tun.fd);
	datapath_free(sh->dp);
	tun_close(&sh->tun);
	route_table_free(sh->routes);
	route_table_free(sh->networks);
	loop_free(sh->loop);
	free(sh);
}

static int shard_new(struct core *core, unsigned int index,
		     struct datapath *dp0, struct shard **out)
{
	struct shard *sh = calloc(1, sizeof(*sh));
	int err;

	if (!sh)
		return -ENOMEM;
	*out = sh;
	sh->index = index;
	sh->core = core;
	sh->tun.fd = -1;
	pthread_mutex_init(&sh->links, NULL);
	if (index == 0) {
		sh->loop = core->loop;
		sh->dp = dp0;
	} else if ((err = loop_new(&sh->loop)) < 0 ||
		   (err = tun_open_queue(&core->tun, &sh->tun)) < 0 ||
		   (err = datapath_new_queue(core, sh->loop, &sh->tun,
					     &sh->counters, index, &sh->dp)) < 0 ||
		   (err = datapath_start(sh->dp)) < 0) {
		return err;
	}
	datapath_set_handoff(sh->dp, handoff, core);
	return mailbox_new(sh->loop, &sh->mail);
}

int shards_new(struct core *core, unsigned int n, struct datapath *dp0)
{
	struct shards *shards = calloc(1, sizeof(*shards));

	if (!shards)
		return -ENOMEM;
	core->shards = shards;
	for (unsigned int i = 0; i < n; i++) {
		int err = shard_new(core, i, dp0, &shards->loop[i]);
		shards->n = i + 1;
		if (err < 0) {
			log_err("cannot set up event loop %u of %u: %s", i, n,
				strerror(-err));
			return err;
		}
	}
	log_info("%u event loops: the main thread and %u more", n, n - 1);
	return 0;
}

int shards_add_transports(struct core *core, struct transports *ts)
{
	for (unsigned int i = 1; core->shards && i < core->shards->n; i++) {
		struct shard *sh = shard_at(core, i);
		for (unsigned int t = 0; t < ts->n; t++) {
			/* Others stay on loop 0 alone. */
			if (!(ts->host[t]->t->flags & CV_TRANSPORT_LOOPS))
				continue;
			int err = transport_copy_new(ts->host[t], sh->loop, i,
						     sh->dp,
						     &sh->hosts[sh->n_hosts]);
			if (err < 0)
				return err;
			sh->n_hosts++;
		}
	}
	return 0;
}

int shards_serve(struct core *core, struct route_table *routes,
		 struct route_table *networks, const struct cv_addr *gateway4,
		 const struct cv_addr *gateway6)
{
	if (!core->shards)
		return 0;
	follow_routes = (struct follower){ core, false };
	follow_networks = (struct follower){ core, true };
	for (unsigned int i = 1; i < core->shards->n; i++) {
		struct shard *sh = shard_at(core, i);
		int err;
		if ((err = route_table_new(&sh->routes)) < 0 ||
		    (err = route_table_new(&sh->networks)) < 0 ||
		    (err = route_table_copy(routes, sh->routes)) < 0 ||
		    (err = route_table_copy(networks, sh->networks)) < 0 ||
		    (err = datapath_serve(sh->dp, sh->routes, sh->networks,
					  gateway4, gateway6)) < 0)
			return err;
	}
	route_table_observe(routes, route_changed, &follow_routes);
	route_table_observe(networks, route_changed, &follow_networks);
	core->shards->routes = routes;
	core->shards->networks = networks;
	return 0;
}

int shards_listen(struct core *core)
{
	for (unsigned int i = 1; core->shards && i < core->shards->n; i++) {
		struct shard *sh = shard_at(core, i);
		for (unsigned int t = 0; t < sh->n_hosts; t++) {
			struct cv_host *h = sh->hosts[t];
			int err = h->t->listen(h->inst);
			if (err < 0)
				return err;
		}
	}
	return 0;
}

static void *shard_main(void *arg)
{
	struct shard *sh = arg;
	char name[16];

	here = sh->index;
	snprintf(name, sizeof(name), "cv-loop%u", sh->index);
	pthread_setname_np(pthread_self(), name);
	int err = loop_run(sh->loop);
	if (err < 0)
		log_err("event loop %u stopped: %s", sh->index, strerror(-err));
	return NULL;
}

int shards_start(struct core *core)
{
	for (unsigned int i = 1; core->shards && i < core->shards->n; i++) {
		struct shard *sh = shard_at(core, i);
		int err = pthread_create(&sh->thread, NULL, shard_main, sh);
		if (err) {
			log_err("cannot start event loop %u: %s", i,
				strerror(err));
			return -err;
		}
		sh->started = true;
	}
	return 0;
}

static void run_stop(void *arg)
{
	loop_stop(arg);
}

void shards_free(struct core *core)
{
	struct shards *shards = core->shards;

	if (!shards)
		return;
	for (unsigned int i = 1; i < shards->n; i++) {
		struct shard *sh = shards->loop[i];
		if (!sh->started)
			continue;
		sem_init(&sh->stopped, 0, 0);
		sh->stop = (struct letter){ .fn = run_stop, .arg = sh->loop,
					    .done = &sh->stopped };
		mailbox_post(sh->mail, &sh->stop);
	}
	/* A loop may be waiting for loop 0 (an upcall) before it gets to
	 * its stop: loop 0's mailbox is served until every one has. */
	for (unsigned int left = shards->n - 1; left;) {
		mailbox_run(shards->loop[0]->mail);
		left = 0;
		for (unsigned int i = 1; i < shards->n; i++) {
			struct shard *sh = shards->loop[i];
			if (!sh->started)
				continue;
			if (sem_trywait(&sh->stopped) == 0) {
				pthread_join(sh->thread, NULL);
				sem_destroy(&sh->stopped);
				sh->started = false;
			} else {
				left++;
			}
		}
		if (left)
			usleep(1000);
	}
	if (shards->routes)
		route_table_observe(shards->routes, NULL, NULL);
	if (shards->networks)
		route_table_observe(shards->networks, NULL, NULL);
	/* What the mailboxes still hold runs here: a release goes on from
	 * loop to loop, once round at most. */
	for (unsigned int pass = 0; pass <= shards->n; pass++)
		for (unsigned int i = 0; i < shards->n; i++)
			mailbox_run(shards->loop[i]->mail);
	for (unsigned int i = 0; i < shards->n; i++)
		shard_free(shards->loop[i]);
	free(shards);
	core->shards = NULL;
}
