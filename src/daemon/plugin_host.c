#include "plugin_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "mailbox.h"
#include "proto.h"
#include "session.h"
#include "shard.h"

/* ---- loading */

static int check_transport(const struct config *cfg, const struct cv_host *h)
{
	const struct cv_transport *t = h->t;

	if (!(t->flags & CV_TRANSPORT_SECURE) && !cfg->insecure) {
		log_err("%s: transport '%s' neither encrypts nor authenticates anything; "
			"to use it anyway, on a network you trust, set 'insecure = yes'",
			cfg->path, t->name);
		return -EPERM;
	}
	return config_check_section(cfg, t->name, t->options);
}

int transports_load(struct transports *ts, struct core *core)
{
	const struct config *cfg = core->cfg;
	int err = plugin_system_init();

	if (err < 0)
		return err;
	ts->ready = true;
	for (unsigned int i = 0; i < cfg->n_transports; i++) {
		struct cv_host *h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		ts->host[i] = h;
		h->core = core;
		h->loop = core->loop;
		err = plugin_load(cfg->plugin_dir, cfg->transports[i], &h->plugin);
		if (err < 0) {
			free(h);
			ts->host[i] = NULL;
			return err;
		}
		ts->n++;
		h->t = h->plugin.transport;
		err = check_transport(cfg, h);
		if (err < 0)
			return err;
		err = h->t->create(&host_api, h, &h->inst);
		if (err < 0) {
			log_err("%s: transport '%s' cannot start: %s", cfg->path,
				h->t->name, strerror(-err));
			return err;
		}
	}
	const struct config_entry *unused = config_unused_section(cfg);
	if (unused)
		log_warn("%s:%u: section [%s] is for a transport not named in 'transport'; it is ignored",
			 cfg->path, unused->line, unused->section);
	return 0;
}

static void reap(struct transports *ts);

void transports_unload(struct transports *ts)
{
	/* Spares first, while their plugins are loaded. */
	for (unsigned int i = 0; i < ts->n; i++)
		if (ts->spares[i])
			transport_spare_drop(ts, ts->spares[i]);
	reap(ts);
	loop_timer_free(ts->reaper);
	ts->reaper = NULL;
	for (unsigned int i = 0; i < ts->n; i++) {
		struct cv_host *h = ts->host[i];
		if (h->inst)
			h->t->destroy(h->inst);
		h->inst = NULL;
		plugin_unload(&h->plugin);
		free(h);
		ts->host[i] = NULL;
	}
	if (ts->ready)
		plugin_system_exit();
	ts->ready = false;
	ts->n = 0;
}

void transports_warn_insecure(const struct transports *ts)
{
	for (unsigned int i = 0; i < ts->n; i++)
		if (!(ts->host[i]->t->flags & CV_TRANSPORT_SECURE))
			log_warn("INSECURE: transport '%s' sends every packet in clear text and accepts any peer (insecure = yes); use it only on a network you trust",
				 ts->host[i]->t->name);
}

void transport_restart(struct cv_host *h)
{
	h->t->destroy(h->inst);
	h->inst = NULL;
	int err = h->t->create(&host_api, h, &h->inst);
	if (err < 0) {
		h->inst = NULL;
		log_err("transport '%s' cannot start again: %s", h->t->name,
			strerror(-err));
	}
}

/* ---- spares */

unsigned int transport_index(const struct transports *ts,
			     const struct cv_host *h)
{
	if (h->origin)
		h = h->origin;
	for (unsigned int i = 0; i < ts->n; i++)
		if (ts->host[i] == h || ts->spares[i] == h)
			return i;
	return 0;
}

static void reap(struct transports *ts)
{
	while (ts->n_retired) {
		struct cv_host *h = ts->retired[--ts->n_retired];
		if (h->inst)
			h->t->destroy(h->inst);
		free(h);
	}
}

static void on_reap(void *arg)
{
	reap(arg);
}

/* What the ended sessions of from carried, counted in to's: the totals
 * are the transport's, whichever instance carried them. */
static void carry_totals(struct cv_host *to, struct cv_host *from)
{
	to->ended_rx_packets += from->ended_rx_packets;
	to->ended_rx_bytes += from->ended_rx_bytes;
	to->ended_tx_packets += from->ended_tx_packets;
	to->ended_tx_bytes += from->ended_tx_bytes;
	from->ended_rx_packets = from->ended_rx_bytes = 0;
	from->ended_tx_packets = from->ended_tx_bytes = 0;
}

/* h is done with: destroyed at the next turn of the loop. A connect()
 * it still has under way is abandoned: what its destroy() reports of it
 * goes nowhere. */
static void retire(struct transports *ts, struct cv_host *h)
{
	h->link_up = NULL;
	h->connect_failed = NULL;
	if (!ts->reaper)
		ts->reaper = loop_timer_new(h->core->loop, on_reap, ts);
	/* Never more retired than spares made, each replacing one. */
	ts->retired[ts->n_retired++] = h;
	if (ts->reaper)
		loop_timer_arm(ts->reaper, 0);
	else
		reap(ts);	/* out of memory: now, then */
}

/* A second handle on from's transport, its upcalls going where from's
 * go, without an instance yet nor totals of its own; NULL without
 * memory. */
static struct cv_host *host_dup(const struct cv_host *from)
{
	struct cv_host *h = malloc(sizeof(*h));

	if (!h)
		return NULL;
	*h = *from;
	h->inst = NULL;
	h->next_copy = NULL;
	h->ended_rx_packets = h->ended_rx_bytes = 0;
	h->ended_tx_packets = h->ended_tx_bytes = 0;
	return h;
}

struct cv_host *transport_spare_new(struct transports *ts, unsigned int i,
				    const char *remote)
{
	if (i >= ts->n || ts->spares[i] ||
	    ts->n_retired + 2 > sizeof(ts->retired) / sizeof(ts->retired[0]))
		return NULL;
	struct cv_host *spare = host_dup(ts->host[i]);
	if (!spare)
		return NULL;
	if (remote)
		snprintf(spare->remote, sizeof(spare->remote), "%s", remote);
	int err = spare->t->create(&host_api, spare, &spare->inst);
	if (err < 0) {
		log_err("transport '%s': cannot start a second instance: %s",
			spare->t->name, strerror(-err));
		free(spare);
		return NULL;
	}
	ts->spares[i] = spare;
	return spare;
}

void transport_spare_promote(struct transports *ts, struct cv_host *spare)
{
	unsigned int i = transport_index(ts, spare);

	if (ts->spares[i] != spare)
		return;
	ts->spares[i] = NULL;
	retire(ts, ts->host[i]);
	spare->plugin = ts->host[i]->plugin;
	carry_totals(spare, ts->host[i]);
	ts->host[i] = spare;
}

void transport_spare_drop(struct transports *ts, struct cv_host *spare)
{
	unsigned int i = transport_index(ts, spare);

	if (ts->spares[i] != spare)
		return;
	ts->spares[i] = NULL;
	carry_totals(ts->host[i], spare);
	retire(ts, spare);
}

/* ---- copies on other loops */

int transport_copy_new(struct cv_host *origin, struct loop *loop,
		       unsigned int index, struct datapath *datapath,
		       struct cv_host **out)
{
	struct cv_host *copy = host_dup(origin);

	if (!copy)
		return -ENOMEM;
	copy->loop = loop;
	copy->loop_index = index;
	copy->origin = origin;
	copy->datapath = datapath;
	int err = copy->t->create(&host_api, copy, &copy->inst);
	if (err < 0) {
		log_err("transport '%s': cannot start its instance for event loop %u: %s",
			copy->t->name, index, strerror(-err));
		free(copy);
		return err;
	}
	copy->next_copy = origin->next_copy;
	origin->next_copy = copy;
	*out = copy;
	return 0;
}

void transport_copy_free(struct cv_host *copy)
{
	struct cv_host **at = &copy->origin->next_copy;

	while (*at && *at != copy)
		at = &(*at)->next_copy;
	if (*at)
		*at = copy->next_copy;
	if (copy->inst)
		copy->t->destroy(copy->inst);
	free(copy);
}

/* What the instances of one transport counted, by name. */
struct stat_sum {
	unsigned int n;
	struct {
		const char *name;
		uint64_t value;
	} stat[64];
};

static void add_stat(void *arg, const char *name, uint64_t value)
{
	struct stat_sum *sum = arg;
	unsigned int i = 0;

	while (i < sum->n && strcmp(sum->stat[i].name, name) != 0)
		i++;
	if (i == sum->n) {
		if (sum->n == sizeof(sum->stat) / sizeof(sum->stat[0]))
			return;
		sum->stat[sum->n++].name = name;
		sum->stat[i].value = 0;
	}
	sum->stat[i].value += value;
}

void transport_stats(const struct cv_host *h,
		     void (*emit)(void *arg, const char *name, uint64_t value),
		     void *arg)
{
	if (!h->inst || !TRANSPORT_HAS(h->t, stats))
		return;
	if (!h->next_copy) {
		h->t->stats(h->inst, emit, arg);
		return;
	}
	/* Names are the plugin's static strings, the same in each. The
	 * copies' loops run on meanwhile: stats() only reads counters. */
	struct stat_sum sum = { 0 };
	for (const struct cv_host *c = h; c; c = c->next_copy)
		if (c->inst)
			c->t->stats(c->inst, add_stat, &sum);
	for (unsigned int i = 0; i < sum.n; i++)
		emit(arg, sum.stat[i].name, sum.stat[i].value);
}

/* ---- the host table */

__attribute__((format(printf, 3, 4)))
static void host_log(struct cv_host *host, int priority, const char *fmt, ...)
{
	char prefix[CONFIG_NAME_MAX + 4];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", host->t->name);
	va_start(ap, fmt);
	log_vmsg(priority, prefix, fmt, ap);
	va_end(ap);
}

static int host_watch(struct cv_host *host, int fd, uint32_t events,
		      cv_fd_cb *cb, void *arg)
{
	return loop_watch(host->loop, fd, events, cb, arg);
}

static void host_unwatch(struct cv_host *host, int fd)
{
	loop_unwatch(host->loop, fd);
}

/* A cv_timer is a loop_timer: the plugin only ever holds the pointer. */
static struct cv_timer *host_timer_new(struct cv_host *host, cv_timer_cb *cb,
				       void *arg)
{
	return (struct cv_timer *)loop_timer_new(host->loop, cb, arg);
}

static void host_timer_arm(struct cv_timer *timer, int64_t msec)
{
	loop_timer_arm((struct loop_timer *)timer, msec);
}

static void host_timer_free(struct cv_timer *timer)
{
	loop_timer_free((struct loop_timer *)timer);
}

const char *transport_config_get(const struct cv_host *host, const char *key)
{
	const struct config *cfg = host->core->cfg;
	const char *value = config_get(cfg, host->t->name, key);

	/* The gateway the client chose (before it chose, the first one
	 * listed), unless the plugin's section names a remote of its own. */
	if (strcmp(key, "remote") != 0 || !value || !cfg->remote ||
	    strcmp(value, cfg->remote) != 0)
		return value;
	if (host->remote[0])
		return host->remote;
	return cfg->n_remotes > 1 ? cfg->remotes[0] : value;
}

static const char *host_config_get(struct cv_host *host, const char *key)
{
	/* What the plugin needs to know is how many loops share its
	 * port, not what the file said ("auto"). */
	if (strcmp(key, "threads") == 0) {
		snprintf(host->loops, sizeof(host->loops), "%u",
			 host->t->flags & CV_TRANSPORT_LOOPS
				 ? shard_loops(host->core->cfg) : 1);
		return host->loops;
	}
	return transport_config_get(host, key);
}

/*
 * The upcalls. Those of a copy on another loop (shard.h) run on loop 0,
 * but for data of a session that is up, which its own loop's datapath
 * takes: link_up and reset_token while the loop waits for their result,
 * link_down while it waits to free the link, the others later (the loop
 * goes on), each loop's in order. One
 * upcall, its arguments and its result, as loop 0 runs it:
 */
struct upcall {
	enum { LINK_UP, LINK_DOWN, DELIVER, MOVED, GROUP, RESET_TOKEN,
	       SUSPECT } what;
	struct cv_host *host;
	struct cv_session *session;
	struct cv_link *link;
	const struct cv_link_info *info;
	int err;
	const char *text;		/* why, or the group */
	const struct cv_msg *msgs;
	unsigned int count;
	const struct sockaddr *peer;
	socklen_t peer_len;
	uint8_t *token;
	struct cv_session *up;		/* LINK_UP's result */
	int ret;			/* RESET_TOKEN's */
};

static void connect_failed(struct cv_host *host, int err, const char *why)
{
	if (!host->connect_failed)
		return;		/* a spare given up, or a server */
	/* A connect() that never came up. */
	log_warn("%s: cannot connect to %s: %s", host->t->name,
		 transport_config_get(host, "remote"), why ? why : "no reason given");
	host->connect_failed(host->owner, host, err);
}

static void run_upcall(void *arg)
{
	struct upcall *u = arg;
	struct cv_host *host = u->host;
	struct cv_session *s = u->session;

	/* Loop 0 ended s, and its loop has not closed the link yet. */
	if (s && s->closed)
		return;
	switch (u->what) {
	case LINK_UP:
		u->up = host->core->stopping || !host->link_up
				? NULL
				: host->link_up(host->owner, host, u->link, u->info);
		break;
	case LINK_DOWN:
		if (s)
			session_link_lost(s, u->err, u->text);
		else
			connect_failed(host, u->err, u->text);
		break;
	case DELIVER:
		datapath_deliver(host->datapath, s, u->msgs, u->count);
		break;
	case MOVED:
		session_moved(s, u->peer, u->peer_len);
		break;
	case GROUP:
		session_group_proved(s, u->text);
		break;
	case RESET_TOKEN:
		u->ret = !host->reset_token || host->core->stopping
				 ? -ENOTSUP
				 : host->reset_token(host->owner, host, u->peer,
						     u->peer_len, u->token);
		break;
	case SUSPECT:
		session_suspect(s, u->text);
		break;
	}
}

/* An upcall with a result: the loop waits for it. */
static void upcall(struct upcall *u)
{
	shard_call_main(u->host->core, run_upcall, u);
}

/* A letter to loop 0 with an upcall and copies of what it points to. */
struct later {
	struct letter l;
	struct upcall u;
	struct cv_msg msgs[];		/* then the bytes */
};

static void run_later(void *arg)
{
	run_upcall(&((struct later *)arg)->u);
}

/* An upcall with no result: another loop goes on at once, and loop 0
 * runs it later, in order with the loop's other upcalls. The plugin
 * lends what u points to for the call only: copied. */
static void upcall_later(const struct upcall *u)
{
	if (u->host->loop_index == 0) {
		run_upcall((struct upcall *)u);
		return;
	}
	size_t text = u->text ? strlen(u->text) + 1 : 0, bytes = text;
	for (unsigned int i = 0; i < u->count; i++)
		bytes += u->msgs[i].len;
	if (u->peer)
		bytes += u->peer_len;
	struct later *c = malloc(sizeof(*c) + u->count * sizeof(*u->msgs) +
				 bytes);
	if (!c) {
		log_err("event loop %u: an upcall of %s lost: out of memory",
			u->host->loop_index, u->host->t->name);
		return;
	}
	uint8_t *at = (uint8_t *)(c->msgs + u->count);
	c->l = (struct letter){ .fn = run_later, .arg = c };
	c->u = *u;
	for (unsigned int i = 0; i < u->count; i++) {
		c->msgs[i] = u->msgs[i];
		c->msgs[i].data = memcpy(at, u->msgs[i].data, u->msgs[i].len);
		at += u->msgs[i].len;
	}
	c->u.msgs = c->msgs;
	if (u->peer) {
		c->u.peer = memcpy(at, u->peer, u->peer_len);
		at += u->peer_len;
	}
	if (u->text)
		c->u.text = memcpy(at, u->text, text);
	shard_post(u->host->core, 0, &c->l);
}

static struct cv_session *host_link_up(struct cv_host *host,
				       struct cv_link *link,
				       const struct cv_link_info *info)
{
	struct upcall u = { .what = LINK_UP, .host = host, .link = link,
			    .info = info };

	upcall(&u);
	return u.up;
}

static void host_link_down(struct cv_host *host, struct cv_session *session,
			   int err, const char *why)
{
	struct upcall u = { .what = LINK_DOWN, .host = host,
			    .session = session, .err = err, .text = why };

	/* From now on the link is no longer the core's to close. The
	 * loop waits: the plugin frees the link when this returns, and
	 * loop 0 may be describing it (status) until it has heard. */
	if (session)
		session->link_gone = true;
	upcall(&u);
}

/* Whether the data path of another loop takes msg of s itself. */
static bool data_here(const struct cv_session *s, const struct cv_msg *msg)
{
	uint8_t type = msg->len ? msg->data[0] : 0;

	return s->state == SESSION_UP && !s->closed &&
	       (type == PROTO_DATA || type == PROTO_DATA_GSO ||
		type == PROTO_DATA_PARTIAL);
}

static void host_deliver(struct cv_host *host, struct cv_session *session,
			 const struct cv_msg *msgs, unsigned int count)
{
	if (host->loop_index == 0) {
		datapath_deliver(host->datapath, session, msgs, count);
		return;
	}
	/* Runs of data here, anything else on loop 0, in order. */
	for (unsigned int i = 0, n; i < count; i += n) {
		bool here = data_here(session, &msgs[i]);
		for (n = 1; i + n < count &&
			    data_here(session, &msgs[i + n]) == here;
		     n++)
			;
		if (here) {
			datapath_deliver(host->datapath, session, msgs + i, n);
			continue;
		}
		struct upcall u = { .what = DELIVER, .host = host,
				    .session = session, .msgs = msgs + i,
				    .count = n };
		upcall_later(&u);
	}
}

static void host_link_moved(struct cv_host *host, struct cv_session *session,
			    const struct sockaddr *peer, socklen_t peer_len)
{
	struct upcall u = { .what = MOVED, .host = host, .session = session,
			    .peer = peer, .peer_len = peer_len };

	upcall_later(&u);
}

static void host_link_group(struct cv_host *host, struct cv_session *session,
			    const char *group)
{
	struct upcall u = { .what = GROUP, .host = host, .session = session,
			    .text = group };

	upcall_later(&u);
}

static int host_reset_token(struct cv_host *host, const struct sockaddr *peer,
			    socklen_t peer_len, uint8_t token[CV_RESET_TOKEN_LEN])
{
	struct upcall u = { .what = RESET_TOKEN, .host = host, .peer = peer,
			    .peer_len = peer_len, .token = token };

	upcall(&u);
	return u.ret;
}

static void host_link_suspect(struct cv_host *host, struct cv_session *session,
			      const char *why)
{
	struct upcall u = { .what = SUSPECT, .host = host, .session = session,
			    .text = why };

	upcall_later(&u);
}

const struct cv_host_api host_api = {
	.size = sizeof(struct cv_host_api),
	.log = host_log,
	.watch = host_watch,
	.unwatch = host_unwatch,
	.timer_new = host_timer_new,
	.timer_arm = host_timer_arm,
	.timer_free = host_timer_free,
	.config_get = host_config_get,
	.link_up = host_link_up,
	.link_moved = host_link_moved,
	.link_group = host_link_group,
	.reset_token = host_reset_token,
	.link_suspect = host_link_suspect,
	.link_down = host_link_down,
	.deliver = host_deliver,
};
