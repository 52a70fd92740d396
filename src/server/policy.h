/*
 * Per-client policy: what the server's configuration says of one client
 * identity (a certificate's common name, or a user name) or of one group:
 * a static inner address, the routes pushed to it, the networks behind
 * it (a site's LAN), its group, and whether it may send only where its
 * routes lead. One structure, whatever fills it: the files of
 * client-config-dir and group-config-dir (policy_file.c), and later the
 * attributes of a RADIUS reply.
 *
 * This file merges what applies to one session (its client's policy,
 * its group's, the config's own routes) into the struct session_policy
 * the session keeps (session.h), and checks a whole set against the
 * pools and the gateway's own addresses, since two clients claiming one
 * network or one address cannot both be served.
 */
#ifndef CULVERT_POLICY_H
#define CULVERT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "proto.h"

struct config;
struct session_policy;

/* Per client or group. */
#define POLICY_MAX_ROUTES PROTO_MAX_ROUTES
#define POLICY_MAX_NETWORKS PROTO_MAX_NETWORKS

/* Prefixes, with the line each was given on, for errors. */
struct policy_prefixes {
	unsigned int n;
	struct cv_prefix *p;
	unsigned int *line;
};

struct client_policy {
	char *name;		/* the identity or group it is for */
	char *file;		/* where it was read, for errors and logs */
	/* Static inner addresses, family 0 when the pool chooses; line 0
	 * when not given. */
	struct cv_addr addr4, addr6;
	unsigned int addr4_line, addr6_line;
	char *group;		/* a client's group, or NULL */
	unsigned int group_line;
	int restrict_to_routes;	/* -1: not said here; 0 or 1 */
	struct policy_prefixes routes;	/* pushed, besides the config's */
	struct policy_prefixes networks; /* behind a client */
};

/* Every client and group policy the server knows, each array sorted by
 * name. Read-only once loaded: a reload builds a new set. */
struct policy_set {
	struct client_policy *clients;
	size_t n_clients;
	struct client_policy *groups;
	size_t n_groups;
};

/* One of the gateway's own addresses, for the check that no client's
 * network holds it. */
struct policy_local {
	struct cv_addr addr;
	char ifname[16];
};

void policy_set_free(struct policy_set *set);
void client_policy_clear(struct client_policy *p);
int policy_prefixes_add(struct policy_prefixes *list,
			const struct cv_prefix *p, unsigned int line);

/* The policy of identity (or group), or NULL: none, or name NULL. */
const struct client_policy *policy_client(const struct policy_set *set,
					  const char *identity);
const struct client_policy *policy_group(const struct policy_set *set,
					 const char *group);

/* What cannot be served, across the whole set and against cfg: a static
 * address outside the pool of its family or given twice; networks that
 * overlap each other, a pool, or hold one of the gateway's own
 * addresses (local); more routes for one client than a welcome carries.
 * Each is logged as "FILE:LINE: ..." naming the other party. Returns the
 * number of errors. */
unsigned int policy_set_check(const struct policy_set *set,
			      const struct config *cfg,
			      const struct policy_local *local,
			      size_t n_local);

/*
 * What applies to one session of identity, merged: the client's own
 * settings first, then its group's, then cfg's. group is where its group
 * comes from besides the client's file (the password file, the
 * certificate), or NULL. The routes are cfg's, the group's and the
 * client's, each once, without those inside its own networks (a site
 * routes its own LAN itself). *out is NULL when nothing goes beyond the
 * defaults (no client or group settings, restrict-to-routes off).
 * Returns 0, -ENOMEM, or -E2BIG (logged) when its routes do not fit one
 * welcome.
 */
int policy_for_session(const struct policy_set *set, const struct config *cfg,
		       const char *identity, const char *group,
		       struct session_policy **out);

/* The merge itself, of a client's policy c (from a file, or later a
 * RADIUS reply) and its group's g, either NULL, for a session of
 * identity in group (its name even without a file). As
 * policy_for_session, which looks c and g up in a set. */
int policy_merge(const struct client_policy *c, const struct client_policy *g,
		 const char *group, const struct config *cfg,
		 const char *identity, struct session_policy **out);

/* What differs between two merged policies for the client itself (what
 * its welcome said): "its static address", "its routes", "its
 * networks"; NULL when nothing does. A NULL policy is cfg's routes. */
const char *session_policy_change(const struct config *cfg,
				  const struct session_policy *old,
				  const struct session_policy *new);
/* A copy, or NULL for NULL (and when out of memory: *failed). */
struct session_policy *session_policy_copy(const struct session_policy *p,
					   bool *failed);

#endif
