/* The client's connection: connect, fall back to the next transport,
 * reconnect after a back-off with jitter, and the one session's turns. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "password.h"
#include "path_watch.h"
#include "plugin_host.h"
#include "session_owner.h"

#define RECONNECT_FIRST_MS 1000
#define RECONNECT_MAX_MS 60000
/* After a stateless reset: the longest pause before connecting again. */
#define RESET_PAUSE_MAX_MS 1000

/* ---- the way back */

/* The next transport; after the last, in a cluster, the next gateway. */
static void next_transport(struct client *c)
{
	c->next_transport = (c->next_transport + 1) % c->transports->n;
	if (c->next_transport == 0 && c->gateways.n > 1)
		c->gateways.at = client_gateway_next(c);
}

/* No session, and none coming: try the next transport after the
 * back-off. */
void client_lost(struct client *c)
{
	if (c->core->stopping || c->connecting || client_hold(c))
		return;
	next_transport(c);
	unsigned int delay = c->reconnect_delay_ms ? c->reconnect_delay_ms * 2
						   : RECONNECT_FIRST_MS;
	if (delay > RECONNECT_MAX_MS)
		delay = RECONNECT_MAX_MS;
	c->reconnect_delay_ms = delay;
	/* Jitter of +-25%: clients that lost one server together must not
	 * all come back in the same millisecond. */
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)loop_now(c->core->loop);
	unsigned int jittered = delay - delay / 4 + r % (delay / 2 + 1);
	log_notice("reconnecting in %.1f s", jittered / 1000.0);
	loop_timer_arm(c->reconnect, jittered);
}

/* The connect() under way is over: its link came up, or it failed. */
static void connect_done(struct client *c)
{
	c->connecting = false;
	loop_timer_arm(c->fallback, -1);
}

void client_connect(struct client *c)
{
	struct cv_host *h = c->transports->host[c->next_transport];

	client_gateway_aim(c, h, c->gateways.at);
	log_info("connecting to %s over %s",
		 client_gateway(c, c->gateways.at), h->t->name);
	c->connecting = true;
	/* With another transport to try, a silent one (UDP dropped on the
	 * way) must not hold the client for a whole handshake timeout. */
	if (c->transports->n > 1)
		loop_timer_arm(c->fallback, c->core->cfg->fallback_timeout * 1000);
	int err = h->inst ? h->t->connect(h->inst) : -ENODEV;
	if (err < 0) {
		connect_done(c);
		client_lost(c);
	}
}

/* No session came back while the last one's routes were held. */
static void on_hold_over(void *arg)
{
	client_hold_release(arg);
}

static void on_reconnect(void *arg)
{
	struct client *c = arg;

	c->held = false;
	c->refused_why = NULL;
	client_connect(c);
}

void client_connect_now(struct client *c, const char *why)
{
	if (c->session || c->connecting || c->core->stopping)
		return;
	/* A refusal that trying again cannot fix (a password, a
	 * certificate, the server's policy) is the server's answer, not
	 * the network's: a way back to it does not change it. Only
	 * refused-retry's end, or a reload, ends the wait. */
	if (c->held) {
		log_notice("%s; still waiting refused-retry (%s)", why,
			 c->refused_why ? c->refused_why : "refused");
		return;
	}
	log_notice("%s; connecting now", why);
	loop_timer_arm(c->reconnect, -1);
	client_connect(c);
}

static void on_fallback(void *arg)
{
	struct client *c = arg;
	struct cv_host *from = c->transports->host[c->next_transport];

	if (!c->connecting)
		return;
	const char *gateway = client_gateway(c, c->gateways.at);
	next_transport(c);
	log_notice("no %s link to %s after %u s; falling back to %s with %s",
		   from->t->name, gateway, c->core->cfg->fallback_timeout,
		   c->transports->host[c->next_transport]->t->name,
		   client_gateway(c, c->gateways.at));
	transport_restart(from);
	c->connecting = false;
	client_connect(c);
}

/* The server proved it lost the session (a stateless reset): it is up,
 * on this transport; back at once, after a pause of up to a second so
 * that its clients do not all come back in the same millisecond. */
static void reset(struct client *c, unsigned int transport)
{
	uint32_t r = 0;

	if (c->core->stopping)
		return;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)loop_now(c->core->loop);
	unsigned int pause = r % RESET_PAUSE_MAX_MS;
	c->next_transport = transport;
	c->reconnect_delay_ms = 0;
	log_notice("the server restarted; reconnecting in %.1f s", pause / 1000.0);
	loop_timer_arm(c->reconnect, pause);
}

/* ---- the session's turns */

static void on_up(struct cv_session *s)
{
	struct client *c = s->owner;

	c->reconnect_delay_ms = 0;
	client_beside_up(c, s);
	datapath_set_session(c->datapath, s);
	client_retry_first_arm(c);
	client_liveness_start(c);
}

/* No session up to move from: the next transport after the back-off;
 * a drained gateway's refusal skips its other transports, which it
 * refuses too, for the next gateway (the back-off still applies: two
 * gateways drained at once must not bounce a client between them). */
static void back_off(struct client *c, const struct cv_session *s)
{
	if (s->refused_reason == PROTO_REASON_DRAINING)
		c->next_transport = c->transports->n - 1;
	client_lost(c);
}

static void on_ended(struct cv_session *s)
{
	struct client *c = s->owner;

	client_session_uninstall(s);
	/* Whether trying again can help (refused.c): said by the last
	 * session to end, the one up or the one beside it. */
	client_note_end(c, s->refused_reason, s->link_err);
	if (s == c->beside.session) {
		client_beside_ended(c);
		return;
	}
	datapath_set_session(c->datapath, NULL);
	c->session = NULL;
	client_retry_first_arm(c);
	client_liveness_stop(c);
	client_gateways_stop(c);
	/* A session tried beside this one comes up in its place, or
	 * reports its failure. */
	if (c->beside.host)
		return;
	if (s->bye_reason == PROTO_REASON_REPLACED)
		session_log(s, LOG_WARNING, "the server gave this client's session to a new one of the same identity: another machine with this certificate or user? (if on purpose, set duplicate-identity = yes on the server)");
	if (s->reset)
		reset(c, transport_index(c->transports, s->transport));
	else if (c->gateways.n > 1 && !c->core->stopping &&
		 s->state == SESSION_UP)
		client_failover(c, s->bye_reason == PROTO_REASON_DRAINING);
	else
		back_off(c, s);
}

static void on_move(struct cv_session *s)
{
	struct client *c = s->owner;

	if (s != c->session || c->gateways.n < 2)
		return;
	/* The gateway paces its MOVEs: no slot of our own. */
	client_gateways_stop(c);
	client_beside_start(c, transport_index(c->transports, s->transport),
			    client_gateway_next(c),
			    "the gateway is drained and says to move");
}

static void on_doubt(struct cv_session *s, const char *why)
{
	struct client *c = s->owner;

	if (s == c->session)
		client_doubt(c, why);
}

const struct session_ops client_session_ops = {
	.handshake = client_session_welcome,
	.hello_timer = client_session_hello_again,
	.up = on_up,
	.ended = on_ended,
	.doubt = on_doubt,
	.move = on_move,
};

struct cv_session *client_link_up(void *arg, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info,
				  struct cv_session *shell)
{
	struct client *c = arg;
	struct cv_session *beside;

	(void)shell;	/* NULL: a client runs one loop (shard_loops) */
	if (client_beside_link_up(c, h, link, info, &beside))
		return beside;
	connect_done(c);
	if (c->session) {
		log_warn("%s: a second link while one is up; refusing it",
			 h->t->name);
		return NULL;
	}
	if (info->peer)
		path_watch_server(c->path, info->peer);
	c->session = session_new(c->core, &client_session_ops, c, h, link,
				 info);
	if (c->session)
		client_session_start(c->session);
	return c->session;
}

void client_connect_failed(void *arg, struct cv_host *h, int err)
{
	struct client *c = arg;

	client_note_end(c, -1, err);
	if (client_beside_failed(c, h))
		return;
	connect_done(c);
	client_lost(c);
}

/* ---- setup */

int client_new(struct core *core, struct transports *ts, struct datapath *dp,
	       struct client **out)
{
	struct client *c = calloc(1, sizeof(*c));
	int err;

	*out = c;
	if (!c)
		return -ENOMEM;
	c->core = core;
	c->transports = ts;
	c->datapath = dp;
	if ((err = password_load(core->cfg, &c->password)) < 0)
		return err;
	client_gateways_init(c);
	c->reconnect = loop_timer_new(core->loop, on_reconnect, c);
	c->fallback = loop_timer_new(core->loop, on_fallback, c);
	c->hold = loop_timer_new(core->loop, on_hold_over, c);
	if (!c->reconnect || !c->fallback || !c->hold)
		return -ENOMEM;
	return path_watch_new(c, &c->path);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	const struct core *core = c->core;
	client_hold_release(c);
	tunnel_routes_down(&c->blocked, core->nl, core->cfg, core->tun.ifindex);
	path_watch_free(c->path);
	client_beside_free(c);
	client_liveness_stop(c);
	loop_timer_free(c->liveness.timer);
	loop_timer_free(c->gateways.move);
	loop_timer_free(c->reconnect);
	loop_timer_free(c->fallback);
	loop_timer_free(c->hold);
	password_free(c->password);
	free(c);
}
