/* A RADIUS session: its reply, its accounting, its timeouts
 * (radius_session.h). */
#include "radius_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "policy.h"
#include "session.h"

/* Shorter accounting updates would have thousands of sessions flood
 * the server (config_radius.c's floor, for replies too). */
#define INTERIM_MIN 5

enum acct_status { ACCT_START = 1, ACCT_STOP = 2, ACCT_INTERIM = 3 };

struct radius_session {
	struct radius *r;
	struct radius_reply reply;
	char server[300];
	char acct_id[40];
	struct loop_timer *timer;
	int64_t up_ms;			/* loop_now() when it came up */
	unsigned int interim;		/* seconds; 0: none */
	int64_t next_interim;
	uint64_t idle_rx;		/* rx_packets at the last look */
	int64_t idle_since;
	bool started;			/* its Start went out */
};

int radius_session_new(struct radius *r, struct cv_session *s,
		       const struct radius_answer *answer)
{
	struct radius_session *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return -ENOMEM;
	rs->r = r;
	rs->reply = answer->reply;
	snprintf(rs->server, sizeof(rs->server), "%s", answer->server);
	radius_session_id(r, s, rs->acct_id);
	rs->interim = rs->reply.interim ? rs->reply.interim : r->rc->interim;
	if (rs->interim && rs->interim < INTERIM_MIN)
		rs->interim = INTERIM_MIN;
	radius_session_end(s);
	s->radius = rs;
	return 0;
}

int radius_session_policy(const struct policy_set *set,
			  const struct config *cfg, const struct cv_session *s,
			  const char *group, struct session_policy **out)
{
	const struct radius_reply *reply = &s->radius->reply;
	struct client_policy c;

	radius_reply_overlay(reply, policy_client(set, s->identity), s->identity, &c);
	if (c.group)
		group = c.group;
	int err = policy_merge(&c, policy_group(set, group), group, cfg,
			       s->identity, out);
	if (err == 0 && *out) {
		(*out)->addr4_leased = reply->addr4.family != 0;
		(*out)->addr6_leased = reply->addr6.family != 0;
	}
	return err;
}

/* ---- accounting */

/* RFC 2866 5.10: what ended it, as accounting servers count causes. */
static uint32_t terminate_cause(const struct cv_session *s)
{
	if (s->core->stopping)
		return 7;	/* Admin-Reboot: culvertd is stopped */
	switch (s->end_cause) {
	case SESSION_END_PEER:
		return 1;	/* User-Request */
	case SESSION_END_LOST:
		return 2;	/* Lost-Carrier */
	case SESSION_END_IDLE:
		return 4;	/* Idle-Timeout */
	case SESSION_END_TIMEOUT:
		return 5;	/* Session-Timeout */
	case SESSION_END_KICKED:
		return 6;	/* Admin-Reset */
	case SESSION_END_SERVER:
		break;
	}
	return 10;		/* NAS-Request */
}

/* Octets past 2^32 count in Gigawords (RFC 2869 5.1, 5.2). */
static int add_counts(struct radius_packet *p, const struct cv_session *s,
		      int64_t now)
{
	const struct radius_session *rs = s->radius;
	int err;

	if ((err = radius_add_u32(p, RADIUS_ACCT_SESSION_TIME,
				  (uint32_t)((now - rs->up_ms) / 1000))) < 0 ||
	    (err = radius_add_u32(p, RADIUS_ACCT_INPUT_OCTETS,
				  (uint32_t)s->rx_bytes)) < 0 ||
	    (err = radius_add_u32(p, RADIUS_ACCT_INPUT_GIGAWORDS,
				  (uint32_t)(s->rx_bytes >> 32))) < 0 ||
	    (err = radius_add_u32(p, RADIUS_ACCT_OUTPUT_OCTETS,
				  (uint32_t)s->tx_bytes)) < 0 ||
	    (err = radius_add_u32(p, RADIUS_ACCT_OUTPUT_GIGAWORDS,
				  (uint32_t)(s->tx_bytes >> 32))) < 0 ||
	    (err = radius_add_u32(p, RADIUS_ACCT_INPUT_PACKETS,
				  (uint32_t)s->rx_packets)) < 0)
		return err;
	return radius_add_u32(p, RADIUS_ACCT_OUTPUT_PACKETS,
			      (uint32_t)s->tx_packets);
}

/* The addresses it had, and the Class values its Accept asked to see
 * again (RFC 2865 5.25). */
static int add_session(struct radius_packet *p, const struct cv_session *s)
{
	const struct radius_reply *reply = &s->radius->reply;
	int err = 0;

	if (s->has_inner)
		err = radius_add(p, RADIUS_FRAMED_IP_ADDRESS, &s->inner.v4, 4);
	if (err == 0 && s->has_inner6)
		err = radius_add(p, RADIUS_FRAMED_IPV6_ADDRESS, &s->inner6.v6, 16);
	for (unsigned int i = 0; err == 0 && i < reply->n_class; i++)
		err = radius_add(p, RADIUS_CLASS, reply->class[i].value,
				 reply->class[i].len);
	return err;
}

static void account(struct cv_session *s, enum acct_status status)
{
	static const char *const names[] = {
		[ACCT_START] = "Start", [ACCT_STOP] = "Stop",
		[ACCT_INTERIM] = "Interim-Update",
	};
	struct radius_session *rs = s->radius;
	struct radius_request *req = malloc(sizeof(*req));
	int64_t now = loop_now(s->core->loop);
	int err = -ENOMEM;

	if (req)
		err = radius_request_init(rs->r, s, s->identity,
					  RADIUS_ACCOUNTING_REQUEST, req);
	struct radius_packet *p = req ? &req->attrs : NULL;
	if (err == 0)
		err = radius_add_u32(p, RADIUS_ACCT_STATUS_TYPE, status);
	if (err == 0)
		err = radius_add_u32(p, RADIUS_ACCT_AUTHENTIC, 1);	/* RADIUS */
	if (err == 0)
		err = radius_add_u32(p, RADIUS_EVENT_TIMESTAMP, (uint32_t)time(NULL));
	if (err == 0)
		err = add_session(p, s);
	if (err == 0 && status != ACCT_START)
		err = add_counts(p, s, now);
	if (err == 0 && status == ACCT_STOP)
		err = radius_add_u32(p, RADIUS_ACCT_TERMINATE_CAUSE,
				     terminate_cause(s));
	if (err < 0) {
		session_log(s, LOG_ERR, "session %s: cannot make its accounting %s: %s",
			    session_name(s), names[status], strerror(-err));
		s->core->counters.radius_acct_lost++;
	} else {
		snprintf(req->what, sizeof(req->what), "the accounting %s of session %s",
			 names[status], session_name(s));
		radius_account(rs->r, req);
	}
	free(req);
}

/* ---- its timers: Session-Timeout, Idle-Timeout, Interim-Update */

/* How often idleness is looked at: a tenth of Idle-Timeout, so that a
 * session ends within 10% of it after its last packet. */
static int64_t idle_step(const struct radius_session *rs)
{
	int64_t step = (int64_t)rs->reply.idle_timeout * 100;

	return step < 1000 ? 1000 : step;
}

static void arm(struct radius_session *rs, int64_t now)
{
	int64_t next = INT64_MAX;

	if (rs->reply.session_timeout)
		next = rs->up_ms + (int64_t)rs->reply.session_timeout * 1000;
	if (rs->reply.idle_timeout && now + idle_step(rs) < next)
		next = now + idle_step(rs);
	if (rs->interim && rs->next_interim < next)
		next = rs->next_interim;
	if (next != INT64_MAX)
		loop_timer_arm(rs->timer, next > now ? next - now : 0);
}

static void end(struct cv_session *s, enum session_end_cause cause,
		const char *why, unsigned int seconds)
{
	char text[120];

	snprintf(text, sizeof(text), "%s of %u s from RADIUS", why, seconds);
	s->end_cause = cause;
	session_end(s, PROTO_REASON_TIMEOUT, text);
}

static void on_timer(void *arg)
{
	struct cv_session *s = arg;
	struct radius_session *rs = s->radius;
	int64_t now = loop_now(s->core->loop);

	if (rs->reply.session_timeout &&
	    now >= rs->up_ms + (int64_t)rs->reply.session_timeout * 1000) {
		end(s, SESSION_END_TIMEOUT, "Session-Timeout",
		    rs->reply.session_timeout);
		return;
	}
	if (rs->reply.idle_timeout) {
		if (s->rx_packets != rs->idle_rx) {
			rs->idle_rx = s->rx_packets;
			rs->idle_since = now;
		} else if (now - rs->idle_since >=
			   (int64_t)rs->reply.idle_timeout * 1000) {
			end(s, SESSION_END_IDLE, "no packet within its Idle-Timeout",
			    rs->reply.idle_timeout);
			return;
		}
	}
	if (rs->interim && now >= rs->next_interim) {
		account(s, ACCT_INTERIM);
		rs->next_interim = now + (int64_t)rs->interim * 1000;
	}
	arm(rs, now);
}

void radius_session_up(struct cv_session *s)
{
	struct radius_session *rs = s->radius;
	int64_t now = loop_now(s->core->loop);

	rs->up_ms = rs->idle_since = now;
	rs->idle_rx = s->rx_packets;
	rs->next_interim = now + (int64_t)rs->interim * 1000;
	rs->timer = loop_timer_new(s->core->loop, on_timer, s);
	if (!rs->timer)
		session_log(s, LOG_ERR, "session %s: out of memory: its RADIUS timeouts and accounting updates will not run",
			    session_name(s));
	else
		arm(rs, now);
	account(s, ACCT_START);
	rs->started = true;
}

void radius_session_end(struct cv_session *s)
{
	struct radius_session *rs = s->radius;

	if (!rs)
		return;
	if (rs->started)
		account(s, ACCT_STOP);
	loop_timer_free(rs->timer);
	free(rs);
	s->radius = NULL;
}

void radius_session_view(const struct cv_session *s,
			 struct radius_session_view *v)
{
	const struct radius_session *rs = s->radius;

	*v = (struct radius_session_view){
		.server = rs->server,
		.acct_session_id = rs->acct_id,
		.session_timeout = rs->reply.session_timeout,
		.idle_timeout = rs->reply.idle_timeout,
		.interim = rs->interim,
	};
}
