/*
 * The back-off after failed logins, counted twice: per user at a host
 * (an IPv4 address, or an IPv6 /64), and per host whatever the user.
 * A few failures are free (typos); after that each attempt waits 1 s,
 * 2 s, 4 s ... up to a minute, so that guessing is slow and one host
 * cannot lock out another. A check under way counts as a failure until
 * it answers, so that parallel guesses are no faster than serial ones.
 * A login that succeeds forgets its own user's failures at that host,
 * and nothing else: only time forgets a host's.
 *
 * The server asks before it checks a password (throttle_wait), says
 * when a check begins, and tells its outcome after.
 */
#ifndef CULVERT_THROTTLE_H
#define CULVERT_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Free failures per user at a host, and per host over all its users. */
#define THROTTLE_FREE_PER_USER 3
#define THROTTLE_FREE_PER_HOST 8

struct throttle;

int throttle_new(struct throttle **out);
void throttle_free(struct throttle *t);
/* Milliseconds an attempt by user from sa must still wait before it is
 * checked: 0 when it may be checked now. now is monotonic ms. */
int64_t throttle_wait(struct throttle *t, const struct sockaddr *sa,
		      const char *user, int64_t now);
/* A check of user's password from sa begins: until throttle_end, it
 * counts as a failure of both. */
void throttle_begin(struct throttle *t, const struct sockaddr *sa,
		    const char *user, int64_t now);
/* The check's outcome. */
void throttle_end(struct throttle *t, const struct sockaddr *sa,
		  const char *user, bool ok, int64_t now);
/* The check's session ended before its outcome: it no longer counts,
 * neither as a failure nor as a success. */
void throttle_cancel(struct throttle *t, const struct sockaddr *sa,
		     const char *user);
/* A failure without a check (a name no user can have). */
void throttle_failed(struct throttle *t, const struct sockaddr *sa,
		     const char *user, int64_t now);

#endif
