/*
 * culvertctl status --json and show --json: every field, always, with
 * null where a value is absent (no inner IPv6 address, a transport that
 * tells no cipher), exact numbers, times in UTC as "YYYY-MM-DDTHH:MM:SSZ".
 * culvertctl(8) documents each field; a field is only ever added.
 */
#include "status.h"

#include <inttypes.h>
#include <stdbool.h>
#include <time.h>

#include "config.h"
#include "core.h"
#include "plugin.h"
#include "plugin_host.h"
#include "session.h"
#include "shard.h"
#include "status_view.h"

/* ,"key": */
static void key(struct strbuf *out, const char *k)
{
	strbuf_printf(out, ",\"%s\":", k);
}

static void string_or_null(struct strbuf *out, const char *k, const char *v)
{
	key(out, k);
	if (v)
		strbuf_json_string(out, v);
	else
		strbuf_printf(out, "null");
}

static void time_or_null(struct strbuf *out, const char *k, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[32];

	key(out, k);
	if (!t) {
		strbuf_printf(out, "null");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	strbuf_printf(out, "\"%s\"", buf);
}

static void number(struct strbuf *out, const char *k, uint64_t v)
{
	key(out, k);
	strbuf_printf(out, "%" PRIu64, v);
}

/* A count, or null when absent. */
static void count_or_null(struct strbuf *out, const char *k, bool has,
			  uint64_t v)
{
	key(out, k);
	if (has)
		strbuf_printf(out, "%" PRIu64, v);
	else
		strbuf_printf(out, "null");
}

/* ,"k":{"name":value,...} */
static void object(struct strbuf *out, const char *k,
		   const char *const *names, const uint64_t *values, size_t n)
{
	key(out, k);
	strbuf_printf(out, "{");
	for (size_t i = 0; i < n; i++) {
		strbuf_printf(out, "%s", i ? "," : "");
		strbuf_json_string(out, names[i]);
		strbuf_printf(out, ":%" PRIu64, values[i]);
	}
	strbuf_printf(out, "}");
}

static void boolean(struct strbuf *out, const char *k, bool v)
{
	key(out, k);
	strbuf_printf(out, "%s", v ? "true" : "false");
}

static void session_json(const struct core *core, const struct cv_session *s,
			 struct strbuf *out)
{
	struct session_view v;
	time_t now = time(NULL);

	session_view(core, s, &v);
	strbuf_printf(out, "{\"id\":%" PRIu64, v.id);
	string_or_null(out, "name", v.name);
	string_or_null(out, "identity", s->identity);
	string_or_null(out, "transport", v.transport);
	number(out, "loop", v.loop);
	string_or_null(out, "state", v.state);
	string_or_null(out, "outer", v.outer);
	string_or_null(out, "inner", v.inner);
	string_or_null(out, "inner6", v.inner6);
	string_or_null(out, "group", v.group);
	string_or_null(out, "login", v.login);
	key(out, "radius");
	if (v.radius) {
		strbuf_printf(out, "{");
		strbuf_json_string(out, "server");
		strbuf_printf(out, ":");
		strbuf_json_string(out, v.rad.server);
		string_or_null(out, "acct_session_id", v.rad.acct_session_id);
		count_or_null(out, "session_timeout", v.rad.session_timeout,
			      v.rad.session_timeout);
		count_or_null(out, "idle_timeout", v.rad.idle_timeout,
			      v.rad.idle_timeout);
		count_or_null(out, "interim", v.rad.interim, v.rad.interim);
		strbuf_printf(out, "}");
	} else {
		strbuf_printf(out, "null");
	}
	key(out, "networks");
	strbuf_printf(out, "[");
	for (unsigned int i = 0; i < v.n_networks; i++) {
		char n[ADDR_STRLEN];
		strbuf_printf(out, "%s", i ? "," : "");
		strbuf_json_string(out, prefix_str(&v.networks[i], n));
	}
	strbuf_printf(out, "]");
	key(out, "macs");
	strbuf_printf(out, "[");
	for (unsigned int i = 0; i < v.n_macs; i++) {
		strbuf_printf(out, "%s", i ? "," : "");
		strbuf_json_string(out, v.macs[i]);
	}
	strbuf_printf(out, "]");
	time_or_null(out, "since", v.connected_at);
	number(out, "connected_s", (uint64_t)v.connected_s);
	string_or_null(out, "protocol", v.link.protocol);
	string_or_null(out, "cipher", v.link.cipher);
	time_or_null(out, "peer_cert_expires", v.link.peer_cert_expires);
	time_or_null(out, "keys_made", v.link.keys_made);
	count_or_null(out, "keys_age_s", v.link.keys_made,
		      (uint64_t)((int64_t)now - v.link.keys_made));
	count_or_null(out, "rekeys", v.link.keys_made, v.link.rekeys);
	number(out, "rx_bytes", v.rx_bytes);
	number(out, "rx_packets", v.rx_packets);
	number(out, "tx_bytes", v.tx_bytes);
	number(out, "tx_packets", v.tx_packets);
	key(out, "last_seen_s");
	strbuf_printf(out, "%.1f", v.seen_s);
	count_or_null(out, "max_msg", v.max_msg, v.max_msg);
	boolean(out, "data_gso", v.data_gso);
	boolean(out, "data_partial", v.data_partial);
	boolean(out, "data_uso", v.data_uso);
	strbuf_printf(out, "}");
}

static void daemon_json(const struct core *core, const struct transports *ts,
			struct strbuf *out)
{
	struct daemon_view d;

	daemon_view(core, &d);
	strbuf_printf(out, "\"culvertd\":{\"version\":");
	strbuf_json_string(out, PACKAGE_VERSION);
	string_or_null(out, "mode", d.mode);
	time_or_null(out, "started", d.started_at);
	number(out, "uptime_s", (uint64_t)d.uptime_s);
	number(out, "sessions_up", d.up);
	number(out, "sessions_pending", d.pending);
	count_or_null(out, "max_clients", d.max_clients, d.max_clients);
	boolean(out, "drained", d.drained);
	number(out, "loops", d.loops);
	key(out, "transports");
	strbuf_printf(out, "[");
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		strbuf_printf(out, "%s{\"name\":", i ? "," : "");
		strbuf_json_string(out, h->t->name);
		string_or_null(out, core->cfg->mode == MODE_SERVER ? "listen" : "remote",
			       transport_endpoint(core, h));
		boolean(out, "secure", h->t->flags & CV_TRANSPORT_SECURE);
		strbuf_printf(out, "}");
	}
	strbuf_printf(out, "]}");
}

/* ---- the transports' own counters (their optional stats() entry) */

struct emit_ctx {
	struct strbuf *out;
	bool first;
};

static void emit_counter(void *arg, const char *name, uint64_t value)
{
	struct emit_ctx *c = arg;

	strbuf_printf(c->out, "%s", c->first ? "" : ",");
	strbuf_json_string(c->out, name);
	strbuf_printf(c->out, ":%" PRIu64, value);
	c->first = false;
}

/* ,"transports":{"tls":{"truncated_record":12,...},...} */
static void transport_counters(const struct transports *ts,
			       struct strbuf *out)
{
	strbuf_printf(out, ",\"transports\":{");
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		struct emit_ctx c = { out, true };
		strbuf_printf(out, "%s", i ? "," : "");
		strbuf_json_string(out, h->t->name);
		strbuf_printf(out, ":{");
		transport_stats(h, emit_counter, &c);
		strbuf_printf(out, "}");
	}
	strbuf_printf(out, "}");
}

/* ,"page":{"page":2,"pages":100,"from":1001,"count":1000,"total":100000};
 * page 0 for every session. */
static void page_json(const struct session_page *p, struct strbuf *out)
{
	strbuf_printf(out, ",\"page\":{\"page\":%u,\"pages\":%u,\"from\":%u,"
			   "\"count\":%u,\"total\":%u}",
		      p->page, p->pages, p->from, p->count, p->total);
}

void status_json(const struct core *core, const struct transports *ts,
		 unsigned int page, unsigned int page_size, struct strbuf *out)
{
	struct session_page p;
	const struct cv_session *s;
	unsigned int i = 0;

	session_page(core, page, page_size, &p);
	strbuf_printf(out, "{");
	daemon_json(core, ts, out);
	strbuf_printf(out, ",\"sessions\":[");
	for (s = p.first; s && i < p.count; s = s->next, i++) {
		strbuf_printf(out, "%s", i ? "," : "");
		session_json(core, s, out);
	}
	strbuf_printf(out, "]");
	page_json(&p, out);
	struct counters sum;
	shard_counters_sum(core, &sum);
	strbuf_printf(out, ",\"counters\":{\"sessions\":%u", core->n_sessions);
#define COUNTER_JSON(name) number(out, #name, sum.name);
	CORE_COUNTERS(COUNTER_JSON)
#undef COUNTER_JSON
	strbuf_printf(out, "}");
	object(out, "refused", refusal_names, core->refusals, N_REFUSALS);
	object(out, "logins", login_names, core->logins, N_LOGIN_RESULTS);
	transport_counters(ts, out);
	strbuf_printf(out, "}\n");
}

unsigned int status_show_json(const struct core *core, const char *name,
			      struct strbuf *out)
{
	unsigned int found = 0;

	strbuf_printf(out, "{\"sessions\":[");
	for (const struct cv_session *s = core->sessions; s; s = s->next) {
		if (!session_called(s, name))
			continue;
		strbuf_printf(out, "%s", found++ ? "," : "");
		session_json(core, s, out);
	}
	strbuf_printf(out, "]}\n");
	return found;
}
