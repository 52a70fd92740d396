/*
 * How a client learns that its server is gone long before the keepalive
 * timeout. Where the server answers probes (PROTO_FEATURE_PROBE):
 *
 *   - when the server goes quiet for a second after packets came from
 *     it, or after the client sent some (a server that hears them and
 *     has nothing to say still answers a probe), the client asks (a
 *     PROBE), and again every second while no
 *     answer comes. A server that restarted answers the first probe
 *     that reaches it with a stateless reset; one that is gone answers
 *     nothing, or ICMP port unreachable (the plugin's link_suspect);
 *   - a probe unanswered for two seconds puts the session in doubt.
 *
 * And whatever the server: nothing heard for two keepalive intervals
 * (two of its keepalives missing) puts it in doubt too. A session in
 * doubt is not ended (a probe and its answer may both have been lost):
 * a new one is tried beside it (beside.c).
 */
#include "client.h"

#include <stdio.h>

#include "core.h"
#include "loop.h"
#include "plugin_host.h"
#include "session.h"

#define WATCH_MS 500
/* Quiet after traffic for this long: ask. */
#define QUIET_MS 1000
#define PROBE_EVERY_MS 1000
/* Unanswered for this long: in doubt. Two or three probes, all lost on
 * a path that loses 5% is one time in 8,000. */
#define PROBE_DOUBT_MS 2000

void client_doubt(struct client *c, const char *why)
{
	const struct cv_session *s = c->session;
	char text[256];

	if (!s)
		return;
	snprintf(text, sizeof(text), "the session with %s is in doubt: %s",
		 s->peer, why);
	/* In a cluster, beside it on the next gateway, in the client's
	 * slot: the same address there, and this one may be gone. */
	if (client_gateways_doubt(c, text))
		return;
	client_beside_start(c, transport_index(c->transports, s->transport),
			    c->gateways.at, text);
}

static void watch(struct client *c, struct cv_session *s, int64_t now)
{
	struct client_liveness *l = &c->liveness;
	int64_t quiet = now - s->last_rx;
	char why[96];

	if (l->session != s) {
		*l = (struct client_liveness){ .timer = l->timer, .session = s,
					      .rx_seen = s->rx_packets,
					      .tx_seen = s->tx_packets };
	}
	if (s->rx_packets != l->rx_seen) {
		l->rx_seen = s->rx_packets;
		l->busy = true;
	}
	/* Sent into a silence: over tls, a path that swallows our large
	 * packets looks just like this, and the beside session a probe's
	 * doubt starts is what finds the size that passes. */
	if (s->tx_packets != l->tx_seen) {
		l->tx_seen = s->tx_packets;
		if (s->last_tx > s->last_rx)
			l->busy = true;
	}
	if (s->probe_at && s->last_rx >= s->probe_at)
		s->probe_at = 0;	/* answered: the server is there */
	if (!s->probe_at && l->busy && quiet >= QUIET_MS) {
		l->busy = false;
		session_probe(s);
	} else if (s->probe_at) {
		if (now - s->probe_sent_at >= PROBE_EVERY_MS)
			session_probe(s);
		if (now - s->probe_at >= PROBE_DOUBT_MS) {
			snprintf(why, sizeof(why), "no answer to a probe for %.1f s",
				 (now - s->probe_at) / 1000.0);
			client_doubt(c, why);
		}
	}
	if (quiet >= 2 * (int64_t)s->keepalive_ms) {
		snprintf(why, sizeof(why), "nothing heard for %lld s",
			 (long long)quiet / 1000);
		client_doubt(c, why);
	}
}

static void on_watch(void *arg)
{
	struct client *c = arg;
	struct cv_session *s = c->session;

	if (!s || s->state != SESSION_UP)
		return;
	watch(c, s, loop_now(c->core->loop));
	/* The doubt may have changed the session; this one still stands. */
	if (c->session == s)
		loop_timer_arm(c->liveness.timer, WATCH_MS);
}

void client_liveness_start(struct client *c)
{
	struct client_liveness *l = &c->liveness;

	if (!l->timer && !(l->timer = loop_timer_new(c->core->loop, on_watch, c)))
		return;
	loop_timer_arm(l->timer, WATCH_MS);
}

void client_liveness_stop(struct client *c)
{
	if (c->liveness.timer)
		loop_timer_arm(c->liveness.timer, -1);
	c->liveness.session = NULL;
}
