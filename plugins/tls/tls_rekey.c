/*
 * tls_rekey.c - new keys for an up tls link, by time and by volume.
 *
 * TLS 1.3 lets either side replace its sending keys with a KeyUpdate, in
 * band and without a handshake: records in flight under the old keys
 * are still read, so no packet is lost. The client replaces both
 * directions' (it asks the server to answer with its own) every
 * rekey-interval; each side replaces its own sending keys once they
 * protected rekey-bytes or rekey-records, at most twice a second
 * (REKEY_SPACING_MS). Only the client ever asks: two requests crossing
 * end the session in GnuTLS 3.7.
 *
 * TLS 1.2 has only renegotiation, which culvert does not do, and which
 * would stall the tunnel while it runs (GnuTLS refuses application data
 * in the middle of it): a TLS 1.2 link whose keys are due ends, and the
 * client connects again, with new keys. Both ends of culvert speak TLS
 * 1.3; TLS 1.2 is negotiated only where 'priority' leaves out 1.3.
 */
#include <errno.h>
#include <stdio.h>

#include "tls.h"

/* Our KeyUpdates are this far apart at least: GnuTLS ends a session
 * whose peer sends more than 8 a second, and each side may receive its
 * peer's own and the answers to its requests. */
#define REKEY_SPACING_MS 500

void tls_rekey_up(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	/* The client asks for new keys both ways in time; the server
	 * renews only its own, by volume (tls_rekey_sent). */
	if (!inst->gl.server)
		inst->gl.api->timer_arm(link->rekey_timer,
					(int64_t)inst->gl.rekey.interval * 1000);
}

void tls_rekey_sent(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	/* Renewed from the loop, never inside the core's call. */
	if (!link->rekey_due &&
	    glinks_keys_worn(&inst->gl, link->key_bytes, link->key_records)) {
		link->rekey_due = true;
		inst->gl.api->timer_arm(link->rekey_timer, 0);
	}
}

static void renew_by_reconnecting(struct cv_link *link)
{
	char why[300];

	snprintf(why, sizeof(why),
		 "the TLS 1.2 keys with %s are due for renewal (%s), which TLS 1.2 cannot do in place: the link ends, to be made again with new keys (TLS 1.3 renews them in place)",
		 link->g.peer_name,
		 link->rekey_due ? "rekey-bytes or rekey-records" : "rekey-interval");
	glink_lost(&link->g, -EKEYEXPIRED, why);
}

void tls_rekey_on_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	bool server = inst->gl.server;

	if (link->g.state != GLINK_UP)
		return;
	if (gnutls_protocol_get_version(link->g.tls) != GNUTLS_TLS1_3) {
		renew_by_reconnecting(link);
		return;
	}
	int64_t wait = link->rekeyed_at + REKEY_SPACING_MS - plugin_now_ms();
	if (link->rekeyed_at && wait > 0) {
		inst->gl.api->timer_arm(link->rekey_timer, wait);
		return;
	}
	/* A record GnuTLS could not finish sending must go out first: it
	 * would be corrupted by a KeyUpdate sent in between. */
	int ret = tls_outq_held(&link->out)
			  ? GNUTLS_E_AGAIN
			  : gnutls_session_key_update(link->g.tls,
						      server ? 0 : GNUTLS_KU_PEER);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		inst->gl.api->timer_arm(link->rekey_timer,
					link->rekey_due ? 20 : 1000);
		return;
	}
	if (ret < 0) {
		LOG(inst, CV_LOG_WARNING, "cannot rekey with %s: %s; trying again in 1 s",
		    link->g.peer_name, gnutls_strerror(ret));
		inst->gl.api->timer_arm(link->rekey_timer, 1000);
		return;
	}
	link->rekeys++;
	inst->gl.counts.rekeys++;
	LOG(inst, CV_LOG_INFO, "new TLS keys with %s (rekey %u, after %llu KiB in %llu records)",
	    link->g.peer_name, link->rekeys,
	    (unsigned long long)(link->key_bytes / 1024),
	    (unsigned long long)link->key_records);
	link->key_bytes = link->key_records = 0;
	link->rekey_due = false;
	link->rekeyed_at = plugin_now_ms();
	tls_rekey_up(link);
}
