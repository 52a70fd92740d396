/* What the server's files share among themselves (server.c,
 * session_server.c, session_login.c, server_reload.c, claims.c). Not for
 * other files. */
#ifndef CULVERT_SERVER_INTERNAL_H
#define CULVERT_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "server.h"

/* A password file a reload replaced: a check may still be using it. */
struct retired_auth {
	struct auth *auth;
	struct retired_auth *next;
};

/* Put set in force: its static addresses out of the pools' reach, its
 * networks in site_networks. *old gets the policy before, for the caller
 * to free. Returns 0 or a negative errno, logged (set is in force either
 * way). */
int server_policy_apply(struct server *srv, struct policy_set *set,
			struct policy_set **old);

struct policy_local;

/* The gateway's own addresses, which no client's network may hold;
 * *out to free. */
size_t server_local_addresses(struct policy_local **out);

struct policy_set;
struct proto_hello;
struct session_policy;

/* session_server.c: refuse s, with a reason for it (told) and one for
 * the log; s is gone afterwards. Returns false. */
bool server_refuse(struct cv_session *s, enum refusal why, uint8_t reason,
		   const char *told, const char *logged);
/* An admitted peer: its policy, its addresses and networks; then, once
 * the administrator's client-connect-script (if any) agrees, the
 * welcome. Returns false when it refused s instead. */
bool server_accept(struct cv_session *s);
/* The policy of s in set: its client's and group's files merged with
 * the config, or its RADIUS reply laid over them. */
int server_session_policy(const struct policy_set *set,
			  const struct cv_session *s, struct session_policy **out);

/* session_login.c: the login of a hello (auth = password or radius):
 * refused at once, or on its way (s->auth_job set). Returns false when
 * it refused s. */
bool server_login(struct cv_session *s, const struct proto_hello *h);
/* s ends before its login's answer: the answer will not be heard. */
void server_login_cancel(struct cv_session *s);

/* session_server.c: the group s belongs to besides what its client's
 * file says: the password file's for a password login, else its
 * certificate's OU when cert-group = ou; NULL when none. */
const char *server_session_group(const struct cv_session *s);

#endif
