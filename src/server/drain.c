/*
 * culvertctl drain: a gateway taken out of a cluster for maintenance.
 * It refuses new sessions (REFUSE, reason draining) and moves those up
 * to other gateways, make before break: a client that knows other
 * gateways (PROTO_HELLO_MOVE) is told MOVE, starts a session with its
 * next gateway beside this one, asking its addresses back, and ends this
 * one once welcomed there; the packets in flight meanwhile still cross
 * here. A client that cannot move so (one gateway only, an older one),
 * or is still here DRAIN_GRACE_MS after its first MOVE, is ended with
 * BYE, reason draining (doc/PROTOCOL.md, "Reasons"). Each session's host
 * routes leave announce-table as it ends, and the routing daemon
 * withdraws them. The MOVEs and byes go a batch every tenth of a second,
 * so that a gateway with thousands of clients does not send them all to
 * the next gateway in the same instant. culvertctl undrain takes clients
 * again.
 */
#include "server.h"

#include <stdio.h>

#include "core.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "session.h"
#include "session_owner.h"

/* 50 sessions a tenth of a second: 500 a second moved, no more
 * handshakes a second than one gateway easily takes (bench/scale.sh). */
#define DRAIN_BATCH 50
#define DRAIN_EVERY_MS 100
/* A MOVE again every second (a datagram may be lost), and a bye when
 * the client has not gone after this long: a handshake's time and more. */
#define MOVE_AGAIN_MS 1000
#define DRAIN_GRACE_MS 10000

static unsigned int up_sessions(const struct server *srv)
{
	unsigned int n = 0;

	for (const struct cv_session *s = srv->core->sessions; s; s = s->next)
		if (s->owner == srv && s->state == SESSION_UP)
			n++;
	return n;
}

static void tell_move(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_MOVE };

	session_send_control(s, &m, 1);
}

/* One session's turn: true when it took one of the batch's places. */
static bool drain_one(struct cv_session *s, int64_t now)
{
	if (s->takes_move && !s->move_sent_at) {
		session_log(s, LOG_INFO, "session %s: told to move (drained)",
			    session_name(s));
		s->move_sent_at = now;
		tell_move(s);
		return true;
	}
	if (s->takes_move && now - s->move_sent_at < DRAIN_GRACE_MS) {
		if ((now - s->move_sent_at) % MOVE_AGAIN_MS < DRAIN_EVERY_MS)
			tell_move(s);
		return false;
	}
	session_log(s, LOG_INFO, "session %s: ended, %s (drained)",
		    session_name(s), s->takes_move ? "still here after its move"
						    : "it cannot be told to move");
	session_end(s, PROTO_REASON_DRAINING, "the gateway is drained");
	return true;
}

static void on_drain(void *arg)
{
	struct server *srv = arg;
	int64_t now = loop_now(srv->core->loop);
	unsigned int done = 0;

	if (!srv->core->drained)
		return;
	for (struct cv_session *s = srv->core->sessions, *next;
	     s && done < DRAIN_BATCH; s = next) {
		next = s->next;
		if (s->owner == srv && s->state == SESSION_UP)
			done += drain_one(s, now);
	}
	if (up_sessions(srv))
		loop_timer_arm(srv->drain, DRAIN_EVERY_MS);
	else
		log_notice("drained: no session left");
}

int server_drain(struct server *srv, bool on, char *out, size_t size)
{
	unsigned int n = up_sessions(srv);

	if (!srv->drain &&
	    !(srv->drain = loop_timer_new(srv->core->loop, on_drain, srv))) {
		snprintf(out, size, "out of memory\n");
		return -1;
	}
	srv->core->drained = on;
	if (!on) {
		loop_timer_arm(srv->drain, -1);
		for (struct cv_session *s = srv->core->sessions; s; s = s->next)
			if (s->owner == srv)
				s->move_sent_at = 0;
		log_notice("undrained: taking new sessions again");
		snprintf(out, size, "undrained: taking new sessions again\n");
		return 0;
	}
	log_notice("drained: refusing new sessions, telling %u to move to another gateway", n);
	snprintf(out, size, "drained: refusing new sessions; %u session%s told to move to another gateway\n",
		 n, n == 1 ? "" : "s");
	loop_timer_arm(srv->drain, 0);
	return (int)n;
}
