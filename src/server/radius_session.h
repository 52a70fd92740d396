/*
 * What a session that logged in through RADIUS holds of it (s->radius):
 * the Access-Accept's reply, whose addresses, networks and group make
 * its client's policy (laid over its client file); its accounting
 * (Start when it is up, Interim-Update every Acct-Interim-Interval,
 * Stop with its counts and the cause of its end); and the limits the
 * reply set: Session-Timeout ends it on time, Idle-Timeout after that
 * long without a packet from the client.
 */
#ifndef CULVERT_RADIUS_SESSION_H
#define CULVERT_RADIUS_SESSION_H

#include <stdint.h>

#include "radius.h"

struct config;
struct cv_session;
struct policy_set;
struct session_policy;

/* A login RADIUS accepted: s keeps what answer says. Returns 0 or
 * -ENOMEM. */
int radius_session_new(struct radius *r, struct cv_session *s,
		       const struct radius_answer *answer);
/* s's policy: its reply over its client file in set, merged with its
 * group's (the reply's, else group) and cfg's, as policy_merge does. */
int radius_session_policy(const struct policy_set *set,
			  const struct config *cfg, const struct cv_session *s,
			  const char *group, struct session_policy **out);
/* s is up: the accounting Start, the timers. */
void radius_session_up(struct cv_session *s);
/* s ends: the accounting Stop, if it started; s->radius freed. */
void radius_session_end(struct cv_session *s);

/* For status: what its reply set, and where it stands. */
struct radius_session_view {
	const char *server;		/* the server that accepted it */
	const char *acct_session_id;
	unsigned int session_timeout;	/* seconds; 0: none */
	unsigned int idle_timeout;
	unsigned int interim;		/* accounting updates; 0: none */
};
void radius_session_view(const struct cv_session *s,
			 struct radius_session_view *v);

#endif
