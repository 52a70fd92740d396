#include "status.h"

#include <inttypes.h>
#include <stdbool.h>
#include <time.h>

#include <stdio.h>

#include "addr.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "session.h"

static const char *state_name(const struct cv_session *s)
{
	return s->state == SESSION_UP ? "up" : "hello";
}

/* The session's inner address: the lease on a server, the assigned
 * address on a client, "-" before either. */
static const char *inner_str(const struct cv_session *s, char buf[ADDR_STRLEN])
{
	if (s->has_inner)
		return addr_str(&s->inner, buf);
	if (s->addr_installed)
		return addr_str(&s->addr.addr, buf);
	return "-";
}

/* The session's IPv6 inner address (pool6), or "-". */
static const char *inner6_str(const struct cv_session *s, char buf[ADDR_STRLEN])
{
	if (s->has_inner6)
		return addr_str(&s->inner6, buf);
	if (s->addr6_installed)
		return addr_str(&s->addr6.addr, buf);
	return "-";
}

static void iso_time(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double seconds_ago(const struct core *core, int64_t ms)
{
	return (double)(loop_now(core->loop) - ms) / 1000.0;
}

/* ---- the transports' own counters (their optional stats() entry) */

struct emit_ctx {
	struct strbuf *out;
	const char *transport;
	bool json;
	bool first;
};

static void emit_counter(void *arg, const char *name, uint64_t value)
{
	struct emit_ctx *c = arg;

	if (!c->json) {
		strbuf_printf(c->out, "%s.%s: %" PRIu64 "\n", c->transport, name,
			      value);
		return;
	}
	strbuf_printf(c->out, "%s", c->first ? "" : ",");
	strbuf_json_string(c->out, name);
	strbuf_printf(c->out, ":%" PRIu64, value);
	c->first = false;
}

/* Text: "tls.truncated_record: 12" lines. JSON: a "transports" member,
 * {"tls":{"truncated_record":12,...},...}, with a leading comma. */
static void transport_counters(const struct transports *ts,
			       struct strbuf *out, bool json)
{
	if (json)
		strbuf_printf(out, ",\"transports\":{");
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		struct emit_ctx c = { out, h->t->name, json, true };
		if (json) {
			strbuf_printf(out, "%s", i ? "," : "");
			strbuf_json_string(out, h->t->name);
			strbuf_printf(out, ":{");
		}
		if (h->inst && TRANSPORT_HAS(h->t, stats))
			h->t->stats(h->inst, emit_counter, &c);
		if (json)
			strbuf_printf(out, "}");
	}
	if (json)
		strbuf_printf(out, "}");
}

void status_text(const struct core *core, const struct transports *ts,
		 struct strbuf *out)
{
	strbuf_printf(out, "%-20s %-9s %-22s %-15s %-22s %-20s %12s %9s %12s %9s %9s\n",
		      "IDENTITY", "TRANSPORT", "OUTER", "INNER", "INNER6", "SINCE",
		      "RX_BYTES", "RX_PKTS", "TX_BYTES", "TX_PKTS", "SEEN_AGO");
	for (const struct cv_session *s = core->sessions; s; s = s->next) {
		char inner[ADDR_STRLEN], inner6[ADDR_STRLEN], since[32];
		iso_time(s->connected_at, since);
		strbuf_printf(out,
			      "%-20s %-9s %-22s %-15s %-22s %-20s %12" PRIu64 " %9" PRIu64
			      " %12" PRIu64 " %9" PRIu64 " %8.1fs%s\n",
			      session_name(s), s->transport->t->name, s->peer,
			      inner_str(s, inner), inner6_str(s, inner6), since,
			      s->rx_bytes,
			      s->rx_packets, s->tx_bytes, s->tx_packets,
			      seconds_ago(core, s->last_rx),
			      s->state == SESSION_UP ? "" : " (hello)");
	}
	strbuf_printf(out, "sessions: %u\n", core->n_sessions);
#define COUNTER_LINE(name) \
	strbuf_printf(out, "%s: %" PRIu64 "\n", #name, core->counters.name);
	CORE_COUNTERS(COUNTER_LINE)
#undef COUNTER_LINE
	transport_counters(ts, out, false);
}

void status_json(const struct core *core, const struct transports *ts,
		 struct strbuf *out)
{
	strbuf_printf(out, "{\"sessions\":[");
	for (const struct cv_session *s = core->sessions; s; s = s->next) {
		char inner[ADDR_STRLEN], inner6[ADDR_STRLEN], since[32];
		iso_time(s->connected_at, since);
		strbuf_printf(out, "%s{\"identity\":", s == core->sessions ? "" : ",");
		strbuf_json_string(out, session_name(s));
		strbuf_printf(out, ",\"transport\":");
		strbuf_json_string(out, s->transport->t->name);
		strbuf_printf(out, ",\"state\":\"%s\",\"outer\":", state_name(s));
		strbuf_json_string(out, s->peer);
		strbuf_printf(out, ",\"inner\":");
		strbuf_json_string(out, inner_str(s, inner));
		strbuf_printf(out, ",\"inner6\":");
		strbuf_json_string(out, inner6_str(s, inner6));
		strbuf_printf(out,
			      ",\"since\":\"%s\",\"rx_bytes\":%" PRIu64
			      ",\"rx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64
			      ",\"tx_packets\":%" PRIu64 ",\"last_seen_s\":%.1f}",
			      since, s->rx_bytes, s->rx_packets, s->tx_bytes,
			      s->tx_packets, seconds_ago(core, s->last_rx));
	}
	strbuf_printf(out, "],\"counters\":{\"sessions\":%u", core->n_sessions);
#define COUNTER_JSON(name) \
	strbuf_printf(out, ",\"%s\":%" PRIu64, #name, core->counters.name);
	CORE_COUNTERS(COUNTER_JSON)
#undef COUNTER_JSON
	strbuf_printf(out, "}");
	transport_counters(ts, out, true);
	strbuf_printf(out, "}\n");
}

/* ---- one log line */

struct counter_line {
	char *line;
	size_t size, used;
	const char *transport;
};

static void append_transport_counter(void *arg, const char *name,
				     uint64_t value)
{
	struct counter_line *c = arg;

	if (c->used < c->size)
		c->used += (size_t)snprintf(c->line + c->used, c->size - c->used,
					    " %s.%s=%llu", c->transport, name,
					    (unsigned long long)value);
}

void status_log(const struct core *core, const struct transports *ts)
{
	char line[2048];
	size_t used = 0;

#define COUNTER_PRINT(name) \
	if (used < sizeof(line)) \
		used += (size_t)snprintf(line + used, sizeof(line) - used, \
					 " " #name "=%llu", \
					 (unsigned long long)core->counters.name);
	CORE_COUNTERS(COUNTER_PRINT)
#undef COUNTER_PRINT
	/* The transports' own counters, as tls.NAME=VALUE. */
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		struct counter_line c = { line, sizeof(line), used, h->t->name };
		if (h->inst && TRANSPORT_HAS(h->t, stats))
			h->t->stats(h->inst, append_transport_counter, &c);
		used = c.used;
	}
	log_notice("counters: sessions=%u%s", core->n_sessions, line);
}
