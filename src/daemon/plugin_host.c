#include "plugin_host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "log.h"
#include "loop.h"

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

/* ---- configuration */

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
