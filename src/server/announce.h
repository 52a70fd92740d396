/*
 * A cluster gateway's host routes to its sessions, in announce-table
 * with announce-protocol, for BIRD or FRR to announce (announce.c).
 */
#ifndef CULVERT_ANNOUNCE_H
#define CULVERT_ANNOUNCE_H

struct cv_session;

/* s's addresses and networks into announce-table (when it is set). */
void announce_session(struct cv_session *s);
/* And out again; harmless when they are not in. */
void announce_withdraw(struct cv_session *s);

#endif
