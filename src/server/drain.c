/*
 * culvertctl drain: a gateway taken out of a cluster for maintenance.
 * It refuses new sessions (REFUSE, reason draining) and ends those up
 * with BYE, reason draining, which tells their clients to connect to
 * their next gateway now, asking their addresses back (doc/PROTOCOL.md,
 * "Reasons"); their host routes leave announce-table with each session,
 * and the routing daemon withdraws them. The byes go a batch every tenth
 * of a second, so that a gateway with thousands of clients does not send
 * them all to the next gateway in the same instant. culvertctl undrain
 * takes clients again.
 */
#include "server.h"

#include <stdio.h>

#include "core.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "session.h"
#include "session_owner.h"

/* 50 byes a tenth of a second: 500 sessions a second moved, no more
 * handshakes a second than one gateway easily takes (bench/scale.sh). */
#define DRAIN_BATCH 50
#define DRAIN_EVERY_MS 100

static unsigned int up_sessions(const struct server *srv)
{
	unsigned int n = 0;

	for (const struct cv_session *s = srv->core->sessions; s; s = s->next)
		if (s->owner == srv && s->state == SESSION_UP)
			n++;
	return n;
}

static void on_drain(void *arg)
{
	struct server *srv = arg;
	unsigned int ended = 0;

	if (!srv->core->drained)
		return;
	for (struct cv_session *s = srv->core->sessions, *next;
	     s && ended < DRAIN_BATCH; s = next) {
		next = s->next;
		if (s->owner != srv || s->state != SESSION_UP)
			continue;
		session_log(s, LOG_INFO, "session %s: told to move (drained)",
			    session_name(s));
		session_end(s, PROTO_REASON_DRAINING, "the gateway is drained");
		ended++;
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
