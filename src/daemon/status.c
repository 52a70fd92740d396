/*
 * culvertctl status and show, as text for a person: a header (what runs,
 * since when, where, how many sessions), a few lines per session, and
 * the counters, those at 0 left out unless asked for. Sizes and times in
 * human units; the JSON (status_json.c) keeps exact numbers.
 */
#include "status.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "core.h"
#include "human_units.h"
#include "log.h"
#include "plugin.h"
#include "plugin_host.h"
#include "session.h"
#include "shard.h"
#include "status_view.h"

static const char *utc(time_t t, char buf[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* ---- the header */

/* "192.0.2.1:4433 (tls, dtls)": the transports grouped by endpoint. */
static void endpoints(const struct core *core, const struct transports *ts,
		      struct strbuf *out)
{
	for (unsigned int i = 0; i < ts->n; i++) {
		const char *e = transport_endpoint(core, ts->host[i]);
		bool seen = false;
		for (unsigned int j = 0; j < i; j++)
			seen |= strcmp(e, transport_endpoint(core, ts->host[j])) == 0;
		if (seen)
			continue;
		strbuf_printf(out, "%s%s (", i ? ", " : "", e);
		for (unsigned int j = i, first = 1; j < ts->n; j++)
			if (strcmp(e, transport_endpoint(core, ts->host[j])) == 0) {
				strbuf_printf(out, "%s%s", first ? "" : ", ",
					      ts->host[j]->t->name);
				first = 0;
			}
		strbuf_printf(out, ")");
	}
}

static void header(const struct core *core, const struct transports *ts,
		   struct strbuf *out)
{
	struct daemon_view d;
	char span[HUMAN_MAX], date[32];

	daemon_view(core, &d);
	strbuf_printf(out, "culvertd %s: %s, up %s (since %s)\n",
		      PACKAGE_VERSION, d.mode, human_span(d.uptime_s, span),
		      utc(d.started_at, date));
	strbuf_printf(out, "%s: ", core->cfg->mode == MODE_SERVER ? "listen" : "remote");
	endpoints(core, ts, out);
	strbuf_printf(out, "\nsessions: %u up, %u pending", d.up, d.pending);
	if (d.max_clients)
		strbuf_printf(out, " (max-clients %u)", d.max_clients);
	if (d.drained)
		strbuf_printf(out, "; drained: new sessions refused (culvertctl undrain)");
	strbuf_printf(out, "\n");
	if (d.loops > 1)
		strbuf_printf(out, "loops: %u\n", d.loops);
}

/* ---- one session */

/* "TLS1.3, AES-256-GCM", or "" for a transport that says nothing. */
static void protection(const struct session_view *v, struct strbuf *out)
{
	if (v->link.protocol)
		strbuf_printf(out, ", %s", v->link.protocol);
	if (v->link.cipher)
		strbuf_printf(out, ", %s", v->link.cipher);
}

static void ago(struct strbuf *out, const char *label, int64_t seconds)
{
	char when[HUMAN_MAX];

	strbuf_printf(out, "%s%s", label, human_when(-seconds, when));
}

static void transfer(const struct session_view *v, struct strbuf *out)
{
	char rx[HUMAN_MAX], tx[HUMAN_MAX];

	strbuf_printf(out, "received %s in %" PRIu64 " packets, sent %s in %" PRIu64
			   " packets",
		      human_bytes(v->rx_bytes, rx), v->rx_packets,
		      human_bytes(v->tx_bytes, tx), v->tx_packets);
}

/* "  radius: 198.51.100.10:1812, session timeout 1 hour, idle timeout
 * 5 minutes, accounting every 60 s": what its RADIUS reply set. */
static void radius_line(const struct session_view *v, struct strbuf *out)
{
	char when[HUMAN_MAX];

	strbuf_printf(out, "  radius: %s", v->rad.server);
	if (v->rad.session_timeout)
		strbuf_printf(out, ", session timeout %s",
			      human_span(v->rad.session_timeout, when));
	if (v->rad.idle_timeout)
		strbuf_printf(out, ", idle timeout %s",
			      human_span(v->rad.idle_timeout, when));
	if (v->rad.interim)
		strbuf_printf(out, ", accounting every %u s", v->rad.interim);
	strbuf_printf(out, "\n");
}

/* A few lines: what `status` shows of each session. */
/* " 198.18.1.0/24 2001:db8:a::/48", or " -" */
static void networks(const struct session_view *v, struct strbuf *out)
{
	char n[ADDR_STRLEN];

	for (unsigned int i = 0; i < v->n_networks; i++)
		strbuf_printf(out, " %s", prefix_str(&v->networks[i], n));
	if (!v->n_networks)
		strbuf_printf(out, " -");
}

/* " 02:00:5e:10:00:01 ...", or " -" */
static void macs(const struct session_view *v, struct strbuf *out)
{
	for (unsigned int i = 0; i < v->n_macs; i++)
		strbuf_printf(out, " %s", v->macs[i]);
	if (!v->n_macs)
		strbuf_printf(out, " -");
}

static void session_brief(const struct session_view *v, struct strbuf *out)
{
	time_t now = time(NULL);

	strbuf_printf(out, "\nsession %s: %s over %s", v->name,
		      v->up ? "up" : "waiting for hello",
		      v->transport);
	protection(v, out);
	strbuf_printf(out, "\n  outer: %s  inner: %s%s%s\n", v->outer,
		      v->inner ? v->inner : "-", v->inner6 ? " " : "",
		      v->inner6 ? v->inner6 : "");
	if (v->group || v->n_networks) {
		strbuf_printf(out, "  group: %s  networks:", v->group ? v->group : "-");
		networks(v, out);
		strbuf_printf(out, "\n");
	}
	if (v->radius)
		radius_line(v, out);
	if (v->n_macs) {
		strbuf_printf(out, "  macs:");
		macs(v, out);
		strbuf_printf(out, "\n");
	}
	ago(out, "  connected: ", v->connected_s);
	if (v->link.keys_made)
		ago(out, "  keys made: ", (int64_t)now - v->link.keys_made);
	if (v->link.peer_cert_expires) {
		char when[HUMAN_MAX];
		strbuf_printf(out, "  certificate: %s %s",
			      v->link.peer_cert_expires < now ? "expired" : "expires",
			      human_when(v->link.peer_cert_expires - now, when));
	}
	strbuf_printf(out, "\n  ");
	transfer(v, out);
	ago(out, "; last heard ", (int64_t)v->seen_s);
	strbuf_printf(out, "\n");
}

/* Everything, one thing a line: `show NAME`. */
static void session_full(const struct session_view *v, struct strbuf *out)
{
	time_t now = time(NULL);
	char date[32], when[HUMAN_MAX];

	strbuf_printf(out, "session %s\n", v->name);
	strbuf_printf(out, "  id: %" PRIu64 "\n", v->id);
	strbuf_printf(out, "  state: %s\n", v->state);
	strbuf_printf(out, "  transport: %s\n", v->transport);
	strbuf_printf(out, "  loop: %u\n", v->loop);
	strbuf_printf(out, "  protocol: %s\n", v->link.protocol ? v->link.protocol : "-");
	strbuf_printf(out, "  cipher: %s\n", v->link.cipher ? v->link.cipher : "-");
	strbuf_printf(out, "  outer address: %s\n", v->outer);
	strbuf_printf(out, "  inner address: %s\n", v->inner ? v->inner : "-");
	strbuf_printf(out, "  inner IPv6 address: %s\n", v->inner6 ? v->inner6 : "-");
	strbuf_printf(out, "  login: %s\n", v->login ? v->login : "-");
	if (v->radius) {
		strbuf_printf(out, "  RADIUS server: %s\n", v->rad.server);
		strbuf_printf(out, "  Acct-Session-Id: %s\n", v->rad.acct_session_id);
		strbuf_printf(out, "  session timeout: %u s\n  idle timeout: %u s\n",
			      v->rad.session_timeout, v->rad.idle_timeout);
		strbuf_printf(out, "  accounting updates: every %u s\n", v->rad.interim);
	}
	strbuf_printf(out, "  group: %s\n", v->group ? v->group : "-");
	strbuf_printf(out, "  networks behind it:");
	networks(v, out);
	strbuf_printf(out, "\n  macs:");
	macs(v, out);
	strbuf_printf(out, "\n");
	strbuf_printf(out, "  connected: %s (%s)\n", utc(v->connected_at, date),
		      human_when(-v->connected_s, when));
	if (v->link.keys_made)
		strbuf_printf(out, "  keys made: %s (%s), %u rekeys since the handshake\n",
			      utc((time_t)v->link.keys_made, date),
			      human_when(v->link.keys_made - now, when),
			      v->link.rekeys);
	else
		strbuf_printf(out, "  keys made: -\n");
	if (v->link.peer_cert_expires)
		strbuf_printf(out, "  peer certificate expires: %s (%s)\n",
			      utc((time_t)v->link.peer_cert_expires, date),
			      human_when(v->link.peer_cert_expires - now, when));
	else
		strbuf_printf(out, "  peer certificate expires: - (none shown)\n");
	strbuf_printf(out, "  last heard: %s\n", human_when(-(int64_t)v->seen_s, when));
	strbuf_printf(out, "  received: %" PRIu64 " bytes (%s) in %" PRIu64 " packets\n",
		      v->rx_bytes, human_bytes(v->rx_bytes, when), v->rx_packets);
	strbuf_printf(out, "  sent: %" PRIu64 " bytes (%s) in %" PRIu64 " packets\n",
		      v->tx_bytes, human_bytes(v->tx_bytes, when), v->tx_packets);
	if (v->max_msg)
		strbuf_printf(out, "  largest message: %zu bytes\n", v->max_msg);
	else
		strbuf_printf(out, "  largest message: no limit\n");
	strbuf_printf(out, "  large segments whole: %s%s; checksums left to the far side: %s\n",
		      v->data_gso ? "yes" : "no",
		      v->data_uso ? " (TCP and UDP)" : "",
		      v->data_partial ? "yes" : "no");
}

/* ---- the counters */

struct emit_ctx {
	struct strbuf *out;
	const char *transport;
	bool all;
};

static void counter_line(struct strbuf *out, const char *prefix,
			 const char *name, uint64_t value)
{
	size_t len = strlen(name);
	char human[HUMAN_MAX];

	if (len > 6 && strcmp(name + len - 6, "_bytes") == 0 && value >= 1024)
		strbuf_printf(out, "  %s%s: %" PRIu64 " (%s)\n", prefix, name,
			      value, human_bytes(value, human));
	else
		strbuf_printf(out, "  %s%s: %" PRIu64 "\n", prefix, name, value);
}

static void emit_counter(void *arg, const char *name, uint64_t value)
{
	struct emit_ctx *c = arg;
	char prefix[CONFIG_NAME_MAX + 2];

	if (!value && !c->all)
		return;
	snprintf(prefix, sizeof(prefix), "%s.", c->transport);
	counter_line(c->out, prefix, name, value);
}

static void counters(const struct core *core, const struct transports *ts,
		     bool all, struct strbuf *out)
{
	struct counters sum;

	shard_counters_sum(core, &sum);
	strbuf_printf(out, "\ncounters%s:\n",
		      all ? "" : " (those at 0 left out: status --all shows them)");
#define COUNTER_LINE(name) \
	if (sum.name || all) \
		counter_line(out, "", #name, sum.name);
	CORE_COUNTERS(COUNTER_LINE)
#undef COUNTER_LINE
	for (size_t i = 0; i < N_REFUSALS; i++)
		if (core->refusals[i] || all)
			counter_line(out, "refused.", refusal_names[i], core->refusals[i]);
	for (size_t i = 0; i < N_LOGIN_RESULTS; i++)
		if (core->logins[i] || all)
			counter_line(out, "logins.", login_names[i], core->logins[i]);
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		struct emit_ctx c = { out, h->t->name, all };
		transport_stats(h, emit_counter, &c);
	}
}

/* What the page left out, and how to see it. */
static void page_note(const struct session_page *p, struct strbuf *out)
{
	if (!p->page || (p->from <= 1 && p->count == p->total))
		return;
	if (!p->count)
		strbuf_printf(out, "no page %u: %u session%s, %u page%s\n",
			      p->page, p->total, p->total == 1 ? "" : "s",
			      p->pages, p->pages == 1 ? "" : "s");
	else
		strbuf_printf(out, "sessions %u-%u of %u listed (page %u of %u)%s\n",
			      p->from, p->from + p->count - 1, p->total, p->page,
			      p->pages, p->page < p->pages
					? ": culvertctl status --page N for the others, --page all for every one"
					: "");
}

void status_text(const struct core *core, const struct transports *ts,
		 bool all, unsigned int page, unsigned int page_size,
		 struct strbuf *out)
{
	struct session_page p;
	const struct cv_session *s;
	unsigned int i = 0;

	header(core, ts, out);
	session_page(core, page, page_size, &p);
	for (s = p.first; s && i < p.count; s = s->next, i++) {
		struct session_view v;
		session_view(core, s, &v);
		session_brief(&v, out);
	}
	page_note(&p, out);
	counters(core, ts, all, out);
}

unsigned int status_show(const struct core *core, const char *name,
			 struct strbuf *out)
{
	unsigned int found = 0;

	for (const struct cv_session *s = core->sessions; s; s = s->next) {
		if (!session_called(s, name))
			continue;
		struct session_view v;
		session_view(core, s, &v);
		strbuf_printf(out, "%s", found++ ? "\n" : "");
		session_full(&v, out);
	}
	return found;
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
	char line[LOG_LINE_MAX - 64];
	size_t used = 0;
	struct counters sum;

	shard_counters_sum(core, &sum);
#define COUNTER_PRINT(name) \
	if (used < sizeof(line)) \
		used += (size_t)snprintf(line + used, sizeof(line) - used, \
					 " " #name "=%llu", \
					 (unsigned long long)sum.name);
	CORE_COUNTERS(COUNTER_PRINT)
#undef COUNTER_PRINT
	/* The transports' own counters, as tls.NAME=VALUE. */
	for (unsigned int i = 0; i < ts->n; i++) {
		const struct cv_host *h = ts->host[i];
		struct counter_line c = { line, sizeof(line), used, h->t->name };
		transport_stats(h, append_transport_counter, &c);
		used = c.used;
	}
	log_notice("counters: sessions=%u%s", core->n_sessions, line);
}
