/* Reloading: the config and password file read again while every
 * session stays up (SIGHUP, culvertctl reload), and each transport that
 * can told to load its credentials again (struct cv_transport's reload). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "client.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "policy.h"
#include "radius_config.h"
#include "secret_file.h"
#include "server.h"
#include "shard.h"

/* Keys a running daemon cannot change (its socket, device, pool): a new
 * value there refuses the whole reload rather than half-apply it. */
static int check_restart_keys(const struct config *old,
			      const struct config *new)
{
	int changed = 0;

	for (const struct config_key *k = config_keys; k->name; k++) {
		if (!(k->flags & KEY_RESTART))
			continue;
		const char *a = config_get(old, NULL, k->name);
		const char *b = config_get(new, NULL, k->name);
		if ((a || b) && (!a || !b || strcmp(a, b) != 0)) {
			log_err("%s: '%s' changed; that needs a restart of culvertd",
				new->path, k->name);
			changed++;
		}
	}
	return changed ? -EINVAL : 0;
}

int daemon_reload(struct daemon *d)
{
	struct config *cfg;
	int err;

	log_notice("reloading %s", d->core.cfg->path);
	if ((err = config_load(d->core.cfg->path, &cfg)) < 0) {
		log_err("reload failed; the running config stays in force");
		return err;
	}
	err = check_restart_keys(d->core.cfg, cfg);
	if (err == 0)
		err = secret_files_check(cfg);
	for (unsigned int i = 0; err == 0 && i < d->transports.n; i++)
		err = config_check_section(cfg, d->transports.host[i]->t->name,
					   d->transports.host[i]->t->options);
	struct auth *auth = NULL;
	struct policy_set *policy = NULL;
	struct radius_config *radius = NULL;
	if (err == 0 && d->server)
		err = server_policy_load(cfg, &policy);
	if (err == 0 && d->server)
		err = server_reload_auth_load(d->server, cfg, &auth);
	if (err == 0 && d->server)
		err = server_reload_radius_load(d->server, cfg, &radius);
	if (err < 0) {
		auth_free(auth);
		radius_config_unref(radius);
		policy_set_free(policy);
		config_free(cfg);
		log_err("reload failed; the running config stays in force");
		return err;
	}
	struct config *old = d->core.cfg;
	bool told = false;
	d->core.cfg = cfg;		/* what the plugins' config_get() sees now */
	for (unsigned int i = 0; err == 0 && i < d->transports.n; i++) {
		struct cv_host *h = d->transports.host[i];
		if (!h->inst || !TRANSPORT_HAS(h->t, reload))
			continue;
		told = true;
		err = h->t->reload(h->inst);
	}
	if (err == 0)
		err = auth ? server_reload_auth_commit(d->server, auth) : 0;
	else
		auth_free(auth);
	if (err == 0 && d->server)
		server_reload_radius_commit(d->server, radius);
	else
		radius_config_unref(radius);
	if (err < 0)
		policy_set_free(policy);
	if (err < 0) {
		/* Each transport keeps its old credentials when it fails.
		 * One before it that succeeded (only when a file changed
		 * between the two reads) keeps the new ones, and may hold
		 * strings of cfg: cfg lives on, retired, like a replaced one. */
		d->core.cfg = old;
		if (told) {
			cfg->retired = old->retired;
			old->retired = cfg;
		} else {
			config_free(cfg);
		}
		log_err("reload failed; the running config stays in force");
		return err;
	}
	cfg->retired = old;
	/* After the password file: a session's group may come from it. */
	if (d->server)
		server_reload_policy_commit(d->server, policy);
	/* client-to-client on a TAP gateway is the bridge's hairpin. */
	if (d->server && d->core.tun.tap &&
	    cfg->client_to_client != old->client_to_client)
		server_bridge_hairpin(d->server);
	/* The other loops' instances read it again on their loops, as loop
	 * 0's did here; it passed, so theirs will (files read a moment
	 * later aside, which they log). */
	for (unsigned int i = 0; i < d->transports.n; i++)
		for (struct cv_host *c = d->transports.host[i]->next_copy; c;
		     c = c->next_copy)
			shard_reload(&d->core, c);
	log_notice("reloaded %s: new settings apply to new sessions", cfg->path);
	if (d->client)
		client_reload(d->client);
	return 0;
}

