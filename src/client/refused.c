/* A client refused for a reason that trying again cannot fix: a wrong
 * password, a certificate the server refuses (revoked, expired, another
 * CA) or that we refuse of the server, another protocol version, the
 * server's policy. Retrying every minute would only trip the server's
 * login throttle and bury the cause in the log: the client says so once
 * and waits refused-retry, or stops. What passes by itself (a full
 * server, the throttle, a lost link) takes the usual back-off. */
#include "client.h"

#include <errno.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "password.h"
#include "proto.h"

/* The exit status of culvertd stopped by refused-retry = never:
 * the unit's RestartPreventExitStatus= keeps systemd from restarting it
 * into the same refusal. */
#define EXIT_REFUSED 3

void client_note_end(struct client *c, int refused_reason, int err)
{
	switch (refused_reason) {
	case PROTO_REASON_VERSION:
	case PROTO_REASON_AUTH:
	case PROTO_REASON_POLICY:
		c->refused_why = proto_reason_name((uint8_t)refused_reason);
		return;
	}
	/* What a transport reports for a certificate refused at the
	 * handshake, by either side (gnutls_verdict.c). */
	c->refused_why = err == -EACCES ? "certificate refused" : NULL;
}

bool client_hold(struct client *c)
{
	const struct config *cfg = c->core->cfg;

	if (!c->refused_why)
		return false;
	if (!cfg->refused_retry) {
		log_err("%s: trying again cannot fix that; culvertd stops (refused-retry = never)",
			c->refused_why);
		c->core->exit_status = EXIT_REFUSED;
		loop_stop(c->core->loop);
		return true;
	}
	log_err("%s: trying again cannot fix that; the next attempt in %u s (refused-retry), or at once after a reload",
		c->refused_why, cfg->refused_retry);
	c->held = true;
	loop_timer_arm(c->reconnect, (int64_t)cfg->refused_retry * 1000);
	return true;
}

void client_reload(struct client *c)
{
	const struct config *cfg = c->core->cfg;
	char *password;

	/* Only from the file: a terminal is long gone. */
	if (cfg->username && cfg->password_file &&
	    password_load(cfg, &password) == 0) {
		password_free(c->password);
		c->password = password;
	}
	if (!c->held)
		return;
	log_notice("reloaded: trying again now");
	c->held = false;
	c->refused_why = NULL;
	loop_timer_arm(c->reconnect, 0);
}
