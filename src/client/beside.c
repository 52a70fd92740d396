/*
 * A session tried beside the one up. A client that doubts its session
 * (nothing heard for two keepalive intervals, ICMP port unreachable from
 * the server: signs, not proofs) or that runs over a later transport
 * than the first (fallback-retry) connects again without ending it, on
 * a spare instance of the transport (transport_spare_new: a plugin's
 * connect() would abandon the link of its own instance). Welcomed, the
 * new session takes the old one's place: the old one ends, and the new
 * one installs the same addresses and routes (its hello asked for them
 * back). Failed, the old one goes on as if nothing had happened, until
 * its own timeout, as WireGuard keeps its old keys while a handshake
 * is under way.
 */
#include "client.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "session_owner.h"

/* Between the starts of two tries: a burst of ICMP must not make a
 * burst of handshakes. */
#define BESIDE_GAP_MS 1000

/* The try is over: its spare goes, unless its session took over. */
static void over(struct client *c, bool took_over)
{
	struct client_beside *b = &c->beside;

	if (b->host && took_over)
		transport_spare_promote(c->transports, b->host);
	else if (b->host)
		transport_spare_drop(c->transports, b->host);
	b->host = NULL;
	b->session = NULL;
	loop_timer_arm(b->deadline, -1);
}

/* Not welcomed in time (the session's own hello timer would wait 30 s
 * for a welcome; a handshake has handshake-timeout). */
static void on_deadline(void *arg)
{
	struct client *c = arg;
	struct client_beside *b = &c->beside;

	log_info("the new session beside the one up did not come up in time; keeping the old one");
	if (b->session) {
		/* Its ending comes back through client_beside_ended. */
		session_end(b->session, PROTO_REASON_TIMEOUT,
			    "not welcomed in time");
		return;
	}
	over(c, false);
	if (!c->session)
		client_lost(c);
}

void client_beside_start(struct client *c, unsigned int i,
			 unsigned int gateway, const char *why)
{
	struct client_beside *b = &c->beside;
	const struct core *core = c->core;
	int64_t now = loop_now(core->loop);

	if (b->host || core->stopping ||
	    (b->started_at && now - b->started_at < BESIDE_GAP_MS))
		return;
	if (!b->deadline &&
	    !(b->deadline = loop_timer_new(core->loop, on_deadline, c)))
		return;
	struct cv_host *h = transport_spare_new(c->transports, i,
						client_gateway(c, gateway));
	if (!h)
		return;
	b->host = h;
	b->gateway = gateway;
	b->started_at = now;
	log_notice("%s; trying a new session over %s with %s beside the one up",
		   why, h->t->name, client_gateway(c, gateway));
	loop_timer_arm(b->deadline, (core->cfg->handshake_timeout + 2) * 1000);
	int err = h->t->connect(h->inst);
	if (err < 0) {
		log_info("%s: cannot connect beside the session up: %s",
			 h->t->name, strerror(-err));
		over(c, false);
	}
}

bool client_beside_link_up(struct client *c, struct cv_host *h,
			   struct cv_link *link,
			   const struct cv_link_info *info,
			   struct cv_session **out)
{
	struct client_beside *b = &c->beside;

	if (!b->host || h != b->host)
		return false;
	*out = NULL;
	if (b->session)
		return true;	/* one link per try */
	b->session = session_new(c->core, &client_session_ops, c, h, link,
				 info);
	if (b->session)
		client_session_start(b->session);
	*out = b->session;
	return true;
}

bool client_beside_failed(struct client *c, struct cv_host *h)
{
	if (!c->beside.host || h != c->beside.host)
		return false;
	log_info("%s: no new session beside the one up%s", h->t->name,
		 c->session ? "; keeping it" : "");
	over(c, false);
	if (!c->session)
		client_lost(c);
	return true;
}

void client_beside_ended(struct client *c)
{
	over(c, false);
	if (!c->session)
		client_lost(c);
}

void client_beside_welcomed(struct client *c, struct cv_session *s)
{
	if (s != c->beside.session || !c->session)
		return;
	/* Its on_ended finds the try under way, and leaves the way back
	 * to it. */
	session_end(c->session, PROTO_REASON_REPLACED,
		    "a new session takes its place");
}

void client_beside_up(struct client *c, struct cv_session *s)
{
	if (s != c->beside.session)
		return;
	unsigned int i = transport_index(c->transports, s->transport);
	c->session = s;
	c->next_transport = i;
	c->gateways.at = c->beside.gateway;
	over(c, true);
	session_log(s, LOG_NOTICE, "the new session over %s took over",
		    s->transport->t->name);
}

void client_beside_free(struct client *c)
{
	loop_timer_free(c->beside.deadline);
	c->beside.deadline = NULL;
	loop_timer_free(c->retry_first);
	c->retry_first = NULL;
}

/* ---- fallback-retry */

static void on_retry_first(void *arg)
{
	struct client *c = arg;
	char why[96];

	if (!c->session || c->session->state != SESSION_UP ||
	    transport_index(c->transports, c->session->transport) == 0)
		return;
	snprintf(why, sizeof(why), "over %s for %u s (fallback-retry)",
		 c->session->transport->t->name, c->core->cfg->fallback_retry);
	client_beside_start(c, 0, c->gateways.at, why);
	client_retry_first_arm(c);
}

void client_retry_first_arm(struct client *c)
{
	const struct config *cfg = c->core->cfg;

	if (!c->retry_first &&
	    !(c->retry_first = loop_timer_new(c->core->loop, on_retry_first, c)))
		return;
	if (!c->session || !cfg->fallback_retry ||
	    transport_index(c->transports, c->session->transport) == 0) {
		loop_timer_arm(c->retry_first, -1);
		return;
	}
	loop_timer_arm(c->retry_first, (int64_t)cfg->fallback_retry * 1000);
}
