/*
 * Password checks off the event loop. A yescrypt hash costs tens of
 * milliseconds and PAM may take seconds; done on the loop, every login
 * would stall every tunnel. A worker thread checks, and the answer comes
 * back to the loop as a callback.
 */
#ifndef CULVERT_AUTH_WORKER_H
#define CULVERT_AUTH_WORKER_H

#include <stdint.h>

#include "auth.h"

struct loop;
struct auth_worker;
struct auth_job;

typedef void auth_done_cb(void *arg, enum auth_result result);

/* The thread starts with the first job, so that a daemon that forks after
 * setting up (culvertd without -f) forks before any thread exists.
 * *skipped (if not NULL) counts the jobs cancelled before their check. */
int auth_worker_new(struct loop *loop, struct auth *auth, uint64_t *skipped,
		    struct auth_worker **out);
/* Waits for the check in progress, if any; pending callbacks are not
 * called. */
void auth_worker_free(struct auth_worker *w);

/* Check user's password; done(arg, result) runs later on the loop. NULL
 * when the queue is full (too many logins at once) or out of memory. */
struct auth_job *auth_worker_submit(struct auth_worker *w, const char *user,
				    const char *password, auth_done_cb *done,
				    void *arg);
/* Check later jobs against auth (a reloaded password file). A check in
 * progress finishes with the old one, which the caller keeps until
 * auth_worker_free. */
void auth_worker_set_auth(struct auth_worker *w, struct auth *auth);

/* The job's callback will not run (its session is gone), and if its
 * check has not begun, it will not be made. */
void auth_job_cancel(struct auth_worker *w, struct auth_job *job);

#endif
