/*
 * Password checks off the event loop. A yescrypt hash costs tens of
 * milliseconds and PAM may take seconds; done on the loop, every login
 * would stall every tunnel. Worker threads check (one per core, up to
 * AUTH_THREADS_MAX), and each answer comes back to the loop as a
 * callback.
 *
 * The checks wait in one queue per source (a host, source_table.h),
 * served in turn: a burst from one host delays another host's login by
 * at most one check per host waiting, not by the whole burst. A source
 * may hold at most AUTH_SOURCE_QUEUE_MAX of the AUTH_QUEUE_MAX places,
 * and at most half of the threads (at least one) at once, so that a
 * thread is free for the others.
 */
#ifndef CULVERT_AUTH_WORKER_H
#define CULVERT_AUTH_WORKER_H

#include <stdint.h>

#include "auth.h"

#define AUTH_THREADS_MAX 8
#define AUTH_QUEUE_MAX 256
#define AUTH_SOURCE_QUEUE_MAX 16

struct loop;
struct auth_worker;
struct auth_job;
struct source_key;

typedef void auth_done_cb(void *arg, enum auth_result result);

/* threads: how many checks run at once; 0 for one per online CPU (at
 * most AUTH_THREADS_MAX). The threads start with the first job, so that
 * a daemon that forks after setting up (culvertd without -f) forks
 * before any thread exists. *skipped (if not NULL) counts the jobs
 * cancelled before their check. */
int auth_worker_new(struct loop *loop, struct auth *auth, unsigned int threads,
		    uint64_t *skipped, struct auth_worker **out);
/* Waits for the checks in progress, if any; pending callbacks are not
 * called. */
void auth_worker_free(struct auth_worker *w);
/* The number of threads it runs (or will, once started). */
unsigned int auth_worker_threads(const struct auth_worker *w);

/* Check user's password for a login from source; done(arg, result) runs
 * later on the loop. NULL when the queue, or source's share of it, is
 * full (too many logins at once), or out of memory. */
struct auth_job *auth_worker_submit(struct auth_worker *w,
				    const struct source_key *source,
				    const char *user, const char *password,
				    auth_done_cb *done, void *arg);
/* Check later jobs against auth (a reloaded password file). A check in
 * progress finishes with the old one, which the caller keeps until
 * auth_worker_free. */
void auth_worker_set_auth(struct auth_worker *w, struct auth *auth);

/* The job's callback will not run (its session is gone), and if its
 * check has not begun, it will not be made. */
void auth_job_cancel(struct auth_worker *w, struct auth_job *job);

#endif
