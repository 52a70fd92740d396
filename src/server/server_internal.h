/* What server.c shares with server_reload.c, which changes what it set
 * up. Not for other files. */
#ifndef CULVERT_SERVER_INTERNAL_H
#define CULVERT_SERVER_INTERNAL_H

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

/* session_server.c: the group s belongs to besides what its client's
 * file says: the password file's for a password login, else its
 * certificate's OU when cert-group = ou; NULL when none. */
const char *server_session_group(const struct cv_session *s);

#endif
