/*
 * The back-off after failed logins, per source: an IPv4 address, or the
 * /64 of an IPv6 address. Three failures are free (typos); after that
 * each attempt waits 1 s, 2 s, 4 s ... up to a minute, so that guessing
 * is slow and one address cannot lock out another. The server asks
 * before it checks a password, and tells the outcome after.
 */
#ifndef CULVERT_THROTTLE_H
#define CULVERT_THROTTLE_H

#include <stdint.h>
#include <sys/socket.h>

struct throttle;

int throttle_new(struct throttle **out);
void throttle_free(struct throttle *t);
/* Milliseconds this address must still wait before its next attempt is
 * checked: 0 when it may try now. now is monotonic milliseconds. */
int64_t throttle_wait(struct throttle *t, const struct sockaddr *sa,
		      int64_t now);
void throttle_failed(struct throttle *t, const struct sockaddr *sa,
		     int64_t now);
void throttle_succeeded(struct throttle *t, const struct sockaddr *sa);

#endif
