/*
 * Log lines about refused logins, limited per host (source_table.h): a
 * host gets REFUSAL_LOG_BURST lines in each window of
 * REFUSAL_LOG_WINDOW_MS, and all hosts together at most
 * REFUSAL_LOG_PER_SECOND lines a second. What is not logged is counted,
 * and said at the end of the host's window in one line:
 *
 *   192.0.2.7: 295 more refused logins in the last 10 s were not logged
 *
 * so that a stranger with no credentials cannot fill the log, while the
 * first refusals of every host, and how many followed, are still there.
 */
#ifndef CULVERT_REFUSAL_LOG_H
#define CULVERT_REFUSAL_LOG_H

#include <stdint.h>
#include <sys/socket.h>

#define REFUSAL_LOG_BURST 5
#define REFUSAL_LOG_WINDOW_MS 10000
#define REFUSAL_LOG_PER_SECOND 20

struct loop;
struct refusal_log;

/* *unlogged (if not NULL) counts the lines not logged. */
int refusal_log_new(struct loop *loop, uint64_t *unlogged,
		    struct refusal_log **out);
/* The summaries still owed are logged first. */
void refusal_log_free(struct refusal_log *r);

/* A line about a login refused to a peer at sa, at priority, unless the
 * limits say it is one too many. */
void refusal_log(struct refusal_log *r, const struct sockaddr *sa,
		 int priority, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
