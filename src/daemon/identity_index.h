/*
 * The sessions by identity (the certificate's name, or the user who
 * logged in): what a new session of a client looks up to replace its
 * older one (lease.c), in O(1) however many sessions the gateway holds,
 * where a walk of every session at every login made a gateway's restart
 * with 100,000 clients quadratic. A chained hash of the core's sessions
 * that have an identity; the nodes are in the sessions.
 */
#ifndef CULVERT_IDENTITY_INDEX_H
#define CULVERT_IDENTITY_INDEX_H

struct core;
struct cv_session;

/* Enter s under its identity (nothing without one, or when it is in
 * already). Call after s->identity is set; the table grows when it can,
 * else takes s all the same, on a longer chain. */
void identity_index_add(struct core *core, struct cv_session *s);
/* Take s out: before its identity changes, and before it is freed. */
void identity_index_remove(struct core *core, struct cv_session *s);
/* The first session entered under identity, or NULL; the next with
 * identity_index_next(). Only while core->id_missed is 0 does it find
 * every one. */
struct cv_session *identity_index_first(const struct core *core,
					const char *identity);
struct cv_session *identity_index_next(const struct cv_session *s);
/* The buckets (the sessions are freed apart). */
void identity_index_free(struct core *core);

#endif
