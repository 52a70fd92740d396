/* What a reload changes on a server: the password file, the RADIUS
 * servers, and the per-client policy with the live sessions it touches
 * (server.h). */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "policy.h"
#include "pool.h"
#include "radius.h"
#include "server_internal.h"
#include "session.h"
#include "shard.h"

/* ---- the password file */

int server_reload_auth_load(struct server *srv, const struct config *cfg,
			    struct auth **out)
{
	*out = NULL;
	if (!(cfg->auth & AUTH_METHOD_PASSWORD))
		return 0;
	if (!srv->auth_worker) {
		log_err("%s: auth = password needs a restart of culvertd to take effect",
			cfg->path);
		return -EINVAL;
	}
	if (!cfg->password_file && !cfg->pam_service) {
		log_err("%s: auth needs 'password-file' or 'pam-service'", cfg->path);
		return -EINVAL;
	}
	return auth_new(cfg->password_file, cfg->pam_service, out);
}

int server_reload_auth_commit(struct server *srv, struct auth *auth)
{
	if (!auth)
		return 0;
	struct retired_auth *r = malloc(sizeof(*r));
	if (!r) {
		auth_free(auth);
		return -ENOMEM;
	}
	*r = (struct retired_auth){ srv->auth, srv->retired_auth };
	srv->retired_auth = r;
	srv->auth = auth;
	auth_worker_set_auth(srv->auth_worker, auth);
	return 0;
}

/* ---- the RADIUS servers */

int server_reload_radius_load(struct server *srv, const struct config *cfg,
			      struct radius_config **out)
{
	*out = NULL;
	if (!(cfg->auth & AUTH_METHOD_RADIUS))
		return 0;
	if (!srv->radius) {
		log_err("%s: auth = radius needs a restart of culvertd to take effect",
			cfg->path);
		return -EINVAL;
	}
	return radius_config_load(cfg, out);
}

void server_reload_radius_commit(struct server *srv, struct radius_config *rc)
{
	if (rc)
		radius_set_config(srv->radius, rc);
}

/* ---- the per-client policy */

/* Whether s holds, from the pools, an address set now keeps for a
 * client: it must go, so that client can have it. A RADIUS reply's
 * static address is the pool's too. */
static bool holds_reserved(const struct server *srv,
			   const struct cv_session *s)
{
	const struct session_policy *p = s->policy;
	bool static4 = p && p->addr4.family && !p->addr4_leased;
	bool static6 = p && p->addr6.family && !p->addr6_leased;

	return (s->has_inner && !static4 && srv->pool &&
		pool_is_reserved(srv->pool, &s->inner)) ||
	       (s->has_inner6 && !static6 && srv->pool6 &&
		pool_is_reserved(srv->pool6, &s->inner6));
}

/* What the client was told stays (addresses, routes, networks); what
 * only the gateway enforces (its group's name, restrict-to-routes)
 * becomes new's. *failed when out of memory. */
static struct session_policy *updated(const struct session_policy *old,
				      const struct session_policy *new,
				      bool *failed)
{
	if (!old)
		return session_policy_copy(new, failed);
	struct session_policy shape = *old;
	shape.group = new ? new->group : NULL;
	shape.restrict_to_routes = new && new->restrict_to_routes;
	return session_policy_copy(&shape, failed);
}

static bool same_group(const struct session_policy *a,
		       const struct session_policy *b)
{
	const char *ga = a ? a->group : NULL, *gb = b ? b->group : NULL;

	return (!ga && !gb) || (ga && gb && strcmp(ga, gb) == 0);
}

static bool same_restrict(const struct session_policy *a,
			  const struct session_policy *b)
{
	return (a && a->restrict_to_routes) == (b && b->restrict_to_routes);
}

/* One live session against the policy before (old) and set, both merged
 * with the config now in force, so that only a change of its client's
 * or group's settings counts. */
static void recheck(struct server *srv, struct cv_session *s,
		    const struct policy_set *old, const struct policy_set *set)
{
	const struct config *cfg = s->core->cfg;
	struct session_policy *before = NULL, *after = NULL;

	int was = server_session_policy(old, s, &before);
	int is = server_session_policy(set, s, &after);
	if (was == -ENOMEM || is == -ENOMEM) {
		session_end(s, PROTO_REASON_UNSPECIFIED,
			    "out of memory while reloading its policy");
		goto out;
	}
	if (is == -E2BIG) {
		session_end(s, PROTO_REASON_POLICY,
			    "the reload gave it more routes than a welcome carries");
		goto out;
	}
	const char *change = session_policy_change(cfg, before, after);
	if (change || holds_reserved(srv, s)) {
		char why[160];
		snprintf(why, sizeof(why), "the reload changed %s; it connects again for the new one",
			 change ? change : "its address, which is now another client's static address");
		log_notice("session %s: %s", session_name(s), why);
		session_end(s, PROTO_REASON_POLICY, why);
		goto out;
	}
	if (same_group(before, after) && same_restrict(before, after))
		goto out;
	bool failed;
	struct session_policy *p = updated(s->policy, after, &failed);
	if (failed) {
		session_end(s, PROTO_REASON_UNSPECIFIED,
			    "out of memory while reloading its policy");
		goto out;
	}
	log_notice("session %s: now %s%s, restrict-to-routes %s",
		   session_name(s), p && p->group ? "in group " : "in no group",
		   p && p->group ? p->group : "",
		   p && p->restrict_to_routes ? "on" : "off");
	/* The data path of the session's loop may be reading it. */
	shard_release(s->core, s->policy);
	s->policy = p;
out:
	free(before);
	free(after);
}

void server_reload_policy_commit(struct server *srv, struct policy_set *set)
{
	struct policy_set *old;

	/* The set before is kept until every session was compared with it. */
	server_policy_apply(srv, set, &old);
	for (struct cv_session *s = srv->core->sessions, *next; s; s = next) {
		next = s->next;
		if (s->owner == srv && s->state == SESSION_UP)
			recheck(srv, s, old, set);
	}
	policy_set_free(old);
}
