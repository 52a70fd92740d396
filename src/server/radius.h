/*
 * The server's RADIUS (auth = radius, certificate+radius): the servers
 * in force (radius_config.h), and the worker threads that ask them, off
 * the event loop: logins on threads of their own, queued per host and
 * served in turn as password checks are (auth_worker.h); accounting on
 * one more thread, in order, so that a dead accounting server slows no
 * login. Each answer comes back to the loop, counted.
 *
 * radius_session.h is what one session holds of it: its reply, its
 * accounting, its timeouts.
 */
#ifndef CULVERT_RADIUS_H
#define CULVERT_RADIUS_H

#include <stdint.h>

#include "radius_client.h"
#include "radius_reply.h"

struct auth_job;
struct auth_worker;
struct core;
struct cv_session;
struct source_key;

/* Accounting records waiting for the thread, at most. */
#define RADIUS_ACCT_QUEUE_MAX 4096
/* At exit, how long the last records (the Stops) may take to go out. */
#define RADIUS_ACCT_DRAIN_MS 5000

struct radius {
	struct core *core;
	struct radius_config *rc;	/* in force */
	struct auth_worker *logins;
	struct auth_worker *accounting;	/* NULL: no accounting servers */
	/* Random per run: Acct-Session-Ids stay unique across restarts. */
	char run_id[17];
	int64_t dropped_said;		/* when a dropped record was logged */
};

/* What a RADIUS server said of a login, on the loop. */
struct radius_answer {
	enum radius_result result;
	struct radius_reply reply;	/* when answered */
	int unusable;			/* an Accept culvert cannot honour */
	const char *server;		/* the one that answered */
};

typedef void radius_answer_cb(struct cv_session *s,
			      const struct radius_answer *answer);

/* The servers of core->cfg, the threads (started at the first request).
 * Returns 0 or a negative errno, logged. */
int radius_new(struct core *core, struct radius **out);
/* Waits, at most RADIUS_ACCT_DRAIN_MS, for the accounting records still
 * queued, then stops the threads. */
void radius_free(struct radius *r);
/* A reload's servers (takes rc): for requests from now on. */
void radius_set_config(struct radius *r, struct radius_config *rc);

/* Ask the servers about user's password, for session s from source;
 * done(s, answer) on the loop. NULL when too many logins wait (from
 * source, or in all), or out of memory. */
struct auth_job *radius_login(struct radius *r, const struct source_key *source,
			      struct cv_session *s, const char *user,
			      const char *password, radius_answer_cb *done);
void radius_login_cancel(struct radius *r, struct auth_job *job);

/* s's Acct-Session-Id: this run's id and the session's number. */
void radius_session_id(const struct radius *r, const struct cv_session *s,
		       char out[40]);
/* The attributes every request about s carries (User-Name, the NAS's
 * identity and port, Calling-Station-Id, Acct-Session-Id), and its log
 * fields. */
int radius_request_init(const struct radius *r, const struct cv_session *s,
			const char *user, uint8_t code,
			struct radius_request *req);
/* Queue an accounting record (req->attrs filled); counted as lost when
 * the queue is full. */
void radius_account(struct radius *r, const struct radius_request *req);

#endif
