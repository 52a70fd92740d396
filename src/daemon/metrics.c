#include "metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "plugin.h"
#include "plugin_host.h"
#include "session.h"
#include "shard.h"
#include "status_view.h"

/* ---- the format */

void metrics_family(struct strbuf *out, const char *name, const char *type,
		    const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct strbuf *out, const char *name, const char *labels,
		    double value)
{
	/* Whole numbers (times in seconds, counts) as such; the rest to the
	 * millisecond, which is all any of them means. */
	strbuf_printf(out, value == (double)(int64_t)value ? "%s%s%s%s %.0f\n"
							   : "%s%s%s%s %.3f\n",
		      name, *labels ? "{" : "", labels, *labels ? "}" : "", value);
}

void metrics_sample_u64(struct strbuf *out, const char *name,
			const char *labels, uint64_t value)
{
	strbuf_printf(out, "%s%s%s%s %" PRIu64 "\n", name, *labels ? "{" : "",
		      labels, *labels ? "}" : "", value);
}

void metrics_label(char *buf, size_t size, const char *key, const char *value)
{
	size_t used = strlen(buf);
	int n = snprintf(buf + used, size - used, "%s%s=\"", used ? "," : "", key);

	if (n < 0 || (size_t)n >= size - used)
		return;
	used += (size_t)n;
	for (const char *c = value; *c && used + 3 < size; c++) {
		if (*c == '\\' || *c == '"' || *c == '\n')
			buf[used++] = '\\';
		buf[used++] = *c == '\n' ? 'n' : *c;
	}
	if (used + 1 < size)
		buf[used++] = '"';
	buf[used] = '\0';
}

/* One label, as a fresh string. */
static const char *label1(char *buf, size_t size, const char *key,
			  const char *value)
{
	buf[0] = '\0';
	metrics_label(buf, size, key, value);
	return buf;
}

/* ---- the core's counters */

/* Counters that are one label of a family rather than a family of their
 * own: what was dropped, by reason. Every other counter of
 * CORE_COUNTERS is culvert_NAME_total. */
#define DROP(name) { offsetof(struct counters, name), #name }
static const struct {
	size_t offset;
	const char *reason;
} drops[] = {
	DROP(malformed), DROP(before_hello), DROP(spoofed_source),
	DROP(no_route), DROP(too_big), DROP(tun_full), DROP(send_failed),
	DROP(client_to_client), DROP(after_end), DROP(unknown_type),
};
#undef DROP

static bool is_drop(size_t offset)
{
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		if (drops[i].offset == offset)
			return true;
	return false;
}

static uint64_t counter_at(const struct counters *c, size_t offset)
{
	return *(const uint64_t *)(const void *)((const char *)c + offset);
}

/* A counter family with one sample per name of names, labelled key. */
static void by_label(struct strbuf *out, const char *family, const char *help,
		     const char *key, const char *const *names,
		     const uint64_t *values, size_t n)
{
	char labels[128];

	metrics_family(out, family, "counter", help);
	for (size_t i = 0; i < n; i++)
		metrics_sample_u64(out, family,
				   label1(labels, sizeof(labels), key, names[i]),
				   values[i]);
}

static void core_counters(const struct core *core, struct strbuf *out)
{
	struct counters sum;
	const struct counters *c = &sum;
	char name[96], labels[128];

	shard_counters_sum(core, &sum);

#define COUNTER_FAMILY(field) \
	if (!is_drop(offsetof(struct counters, field))) { \
		snprintf(name, sizeof(name), "culvert_%s_total", #field); \
		metrics_family(out, name, "counter", \
			       "culvertd's counter " #field \
			       " (culvertd(8), DIAGNOSTICS)"); \
		metrics_sample_u64(out, name, "", c->field); \
	}
	CORE_COUNTERS(COUNTER_FAMILY)
#undef COUNTER_FAMILY

	metrics_family(out, "culvert_dropped_packets_total", "counter",
		       "Packets and messages dropped, by reason (culvertd(8), DIAGNOSTICS).");
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		metrics_sample_u64(out, "culvert_dropped_packets_total",
				   label1(labels, sizeof(labels), "reason",
					  drops[i].reason),
				   counter_at(c, drops[i].offset));

	by_label(out, "culvert_refused_peers_total",
		 "Peers the server turned away after their link came up, by reason.",
		 "reason", refusal_names, core->refusals, N_REFUSALS);
	by_label(out, "culvert_logins_total", "Password checks, by result.",
		 "result", login_names, core->logins, N_LOGIN_RESULTS);
}

/* ---- the daemon and its sessions */

static void daemon_metrics(const struct core *core,
			   const struct transports *ts, struct strbuf *out)
{
	struct daemon_view d;
	char labels[256];

	daemon_view(core, &d);
	metrics_family(out, "culvert_info", "gauge",
		       "culvertd's version and role; always 1.");
	labels[0] = '\0';
	metrics_label(labels, sizeof(labels), "version", PACKAGE_VERSION);
	metrics_label(labels, sizeof(labels), "mode", d.mode);
	metrics_sample(out, "culvert_info", labels, 1);
	metrics_family(out, "culvert_start_time_seconds", "gauge",
		       "When culvertd started, in seconds since the Epoch.");
	metrics_sample(out, "culvert_start_time_seconds", "", (double)d.started_at);
	if (d.max_clients) {
		metrics_family(out, "culvert_max_clients", "gauge",
			       "Sessions the server serves at once (max-clients).");
		metrics_sample(out, "culvert_max_clients", "", d.max_clients);
	}
	metrics_family(out, "culvert_sessions", "gauge",
		       "Sessions now, by transport and state (hello: waiting for the hello or its check).");
	for (unsigned int i = 0; i < ts->n; i++) {
		unsigned int up = 0, hello = 0;
		for (const struct cv_session *s = core->sessions; s; s = s->next)
			if (transport_index(ts, s->transport) == i) {
				up += s->state == SESSION_UP;
				hello += s->state != SESSION_UP;
			}
		labels[0] = '\0';
		metrics_label(labels, sizeof(labels), "transport", ts->host[i]->t->name);
		size_t len = strlen(labels);
		metrics_label(labels, sizeof(labels), "state", "up");
		metrics_sample(out, "culvert_sessions", labels, up);
		labels[len] = '\0';
		metrics_label(labels, sizeof(labels), "state", "hello");
		metrics_sample(out, "culvert_sessions", labels, hello);
	}
}

/* Per session: its traffic, its times, and an info series that carries
 * what is text (addresses, protocol, cipher) as labels. Labelled by id,
 * unique in the run, and name. */
static const struct {
	const char *name, *type, *help;
} session_families[] = {
	{ "culvert_session_info", "gauge", "A session now; its text as labels; always 1." },
	{ "culvert_session_received_bytes_total", "counter", "Inner bytes received from the peer." },
	{ "culvert_session_received_packets_total", "counter", "Inner packets received from the peer." },
	{ "culvert_session_sent_bytes_total", "counter", "Inner bytes sent to the peer." },
	{ "culvert_session_sent_packets_total", "counter", "Inner packets sent to the peer." },
	{ "culvert_session_start_time_seconds", "gauge", "When the session's link came up, in seconds since the Epoch." },
	{ "culvert_session_last_heard_seconds", "gauge", "Seconds since the peer was last heard." },
	{ "culvert_session_keys_made_time_seconds", "gauge", "When the keys in use were made (handshake or rekey), in seconds since the Epoch." },
	{ "culvert_session_peer_cert_expiry_time_seconds", "gauge", "When the peer's certificate expires, in seconds since the Epoch." },
};

#define N_SESSION_FAMILIES (sizeof(session_families) / sizeof(session_families[0]))

static void session_sample(const struct session_view *v, size_t family,
			   const char *labels, struct strbuf *out)
{
	const char *name = session_families[family].name;
	char info[1024];

	switch (family) {
	case 0:
		snprintf(info, sizeof(info), "%s", labels);
		metrics_label(info, sizeof(info), "transport", v->transport);
		metrics_label(info, sizeof(info), "state", v->state);
		metrics_label(info, sizeof(info), "outer", v->outer);
		metrics_label(info, sizeof(info), "inner", v->inner ? v->inner : "");
		metrics_label(info, sizeof(info), "inner6", v->inner6 ? v->inner6 : "");
		metrics_label(info, sizeof(info), "protocol",
			      v->link.protocol ? v->link.protocol : "");
		metrics_label(info, sizeof(info), "cipher",
			      v->link.cipher ? v->link.cipher : "");
		metrics_sample(out, name, info, 1);
		break;
	case 1: metrics_sample_u64(out, name, labels, v->rx_bytes); break;
	case 2: metrics_sample_u64(out, name, labels, v->rx_packets); break;
	case 3: metrics_sample_u64(out, name, labels, v->tx_bytes); break;
	case 4: metrics_sample_u64(out, name, labels, v->tx_packets); break;
	case 5: metrics_sample(out, name, labels, (double)v->connected_at); break;
	case 6: metrics_sample(out, name, labels, v->seen_s); break;
	case 7:
		if (v->link.keys_made)
			metrics_sample(out, name, labels, (double)v->link.keys_made);
		break;
	case 8:
		if (v->link.peer_cert_expires)
			metrics_sample(out, name, labels,
				       (double)v->link.peer_cert_expires);
		break;
	}
}

static void session_metrics(const struct core *core, struct strbuf *out)
{
	size_t n = core->n_sessions, i = 0;
	struct session_view *views = n ? calloc(n, sizeof(*views)) : NULL;
	char (*labels)[320] = n ? calloc(n, sizeof(*labels)) : NULL;

	if (n && (!views || !labels)) {
		free(views);
		free(labels);
		return;
	}
	for (const struct cv_session *s = core->sessions; s && i < n; s = s->next, i++) {
		char id[24];
		session_view(core, s, &views[i]);
		snprintf(id, sizeof(id), "%" PRIu64, views[i].id);
		metrics_label(labels[i], sizeof(labels[i]), "id", id);
		metrics_label(labels[i], sizeof(labels[i]), "session", views[i].name);
	}
	/* Family by family: the format wants a family's samples together. */
	for (size_t f = 0; f < N_SESSION_FAMILIES; f++) {
		metrics_family(out, session_families[f].name,
			       session_families[f].type, session_families[f].help);
		for (size_t j = 0; j < i; j++)
			session_sample(&views[j], f, labels[j], out);
	}
	free(views);
	free(labels);
}

/* ---- the transports */

/* Their own counters, gathered first: one family per counter name
 * (culvert_transport_NAME_total{transport=...}), except the
 * handshakes' outcomes, which are one family by result. */
struct tcounter {
	const char *transport;
	char name[64];
	uint64_t value;
};

struct tcounters {
	struct tcounter *v;
	size_t n, cap;
	const char *transport;
};

static void gather(void *arg, const char *name, uint64_t value)
{
	struct tcounters *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct tcounter *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].transport = c->transport;
	snprintf(c->v[c->n].name, sizeof(c->v[c->n].name), "%s", name);
	c->v[c->n++].value = value;
}

static const struct {
	const char *counter, *result;
} handshake_results[] = {
	{ "handshakes", "done" },
	{ "handshake_failed", "failed" },
	{ "handshake_timeout", "timeout" },
	{ "evicted", "evicted" },
};

static const char *handshake_result(const char *counter)
{
	for (size_t i = 0; i < sizeof(handshake_results) / sizeof(handshake_results[0]); i++)
		if (strcmp(handshake_results[i].counter, counter) == 0)
			return handshake_results[i].result;
	return NULL;
}

/* A plugin's counter name as a metric name: [a-z0-9_] only. */
static bool name_ok(const char *name)
{
	if (!*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

static void transport_counters(struct tcounters *c, struct strbuf *out)
{
	char labels[160], name[128];

	metrics_family(out, "culvert_transport_handshakes_total", "counter",
		       "Handshakes of the secure transports, by result (evicted: dropped for a newer one, max-handshakes).");
	for (size_t i = 0; i < c->n; i++) {
		const char *result = handshake_result(c->v[i].name);
		if (!result)
			continue;
		labels[0] = '\0';
		metrics_label(labels, sizeof(labels), "transport", c->v[i].transport);
		metrics_label(labels, sizeof(labels), "result", result);
		metrics_sample_u64(out, "culvert_transport_handshakes_total", labels,
				   c->v[i].value);
	}
	/* The rest: each name once, with a sample per transport. */
	for (size_t i = 0; i < c->n; i++) {
		bool seen = handshake_result(c->v[i].name) || !name_ok(c->v[i].name);
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(c->v[j].name, c->v[i].name) == 0;
		if (seen)
			continue;
		snprintf(name, sizeof(name), "culvert_transport_%s_total", c->v[i].name);
		metrics_family(out, name, "counter",
			       "A transport's own counter (culvertd(8), DIAGNOSTICS).");
		for (size_t j = i; j < c->n; j++)
			if (strcmp(c->v[j].name, c->v[i].name) == 0)
				metrics_sample_u64(out, name,
						   label1(labels, sizeof(labels), "transport",
							  c->v[j].transport),
						   c->v[j].value);
	}
}

/* What the sessions over each transport carried, ended ones included. */
static void transport_traffic(const struct core *core,
			      const struct transports *ts, struct strbuf *out)
{
	static const char *const names[] = {
		"culvert_transport_received_bytes_total",
		"culvert_transport_received_packets_total",
		"culvert_transport_sent_bytes_total",
		"culvert_transport_sent_packets_total",
	};
	static const char *const helps[] = {
		"Inner bytes received from peers over the transport.",
		"Inner packets received from peers over the transport.",
		"Inner bytes sent to peers over the transport.",
		"Inner packets sent to peers over the transport.",
	};
	char labels[96];

	for (size_t f = 0; f < 4; f++) {
		metrics_family(out, names[f], "counter", helps[f]);
		for (unsigned int i = 0; i < ts->n; i++) {
			const struct cv_host *h = ts->host[i];
			uint64_t v[4] = { h->ended_rx_bytes, h->ended_rx_packets,
					  h->ended_tx_bytes, h->ended_tx_packets };
			for (const struct cv_session *s = core->sessions; s; s = s->next)
				if (transport_index(ts, s->transport) == i) {
					v[0] += s->rx_bytes;
					v[1] += s->rx_packets;
					v[2] += s->tx_bytes;
					v[3] += s->tx_packets;
				}
			metrics_sample_u64(out, names[f],
					   label1(labels, sizeof(labels), "transport", h->t->name),
					   v[f]);
		}
	}
}

void metrics_text(const struct core *core, const struct transports *ts,
		  enum metrics_form form, struct strbuf *out)
{
	struct tcounters c = { 0 };

	daemon_metrics(core, ts, out);
	core_counters(core, out);
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		c.transport = h->t->name;
		transport_stats(h, gather, &c);
	}
	transport_counters(&c, out);
	free(c.v);
	transport_traffic(core, ts, out);
	session_metrics(core, out);
	process_metrics(form == METRICS_PROCESS ? "process_" : "culvert_process_",
			out);
}
