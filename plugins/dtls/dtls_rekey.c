/*
 * dtls_rekey.c - new keys for an up dtls link, made before the old ones
 * are dropped, so that no packet is lost.
 *
 * DTLS 1.2 has no KeyUpdate, and GnuTLS reads a renegotiated session
 * only under its newest keys: records still in flight under the old ones
 * would be lost. So the client makes a whole new DTLS session beside the
 * old one, on the same socket, in a successor link (a server already
 * keeps a successor for a client that restarted at the same address).
 * Its ClientHello carries an extension that says "rekey", so that the
 * server does not take it for a restart. Then:
 *
 *   1. the client's successor finishes its handshake and sends, under
 *      the new keys, a binding record: a value exported from the OLD
 *      session (RFC 5705) with the new session's own export as context.
 *      Only the old session's peer knows it, and it fits only this new
 *      session; it is sent again every BIND_RESEND_MS until answered.
 *      The client still sends its data under the old keys;
 *   2. the server checks it, moves the new session into the old link
 *      (the core's session never sees a change), sends its own binding
 *      record as the answer, and sends data under the new keys from now
 *      on. It still reads the old keys;
 *   3. the client moves the new session into its link at the answer, or
 *      at the first data under the new keys, whichever comes first, and
 *      sends under them too. It still reads the old keys.
 *
 * Each side reads the old keys for OVERLAP (handshake-timeout and 2 s)
 * after its switch: a datagram that the current keys do not
 * authenticate is tried under the old ones (and under the successor's,
 * before the switch). The binding record never reaches the core, also
 * when it comes again after the switch.
 *
 * When: the client every rekey-interval, and once its keys carried
 * rekey-bytes or rekey-records either way, at most once a second. A
 * server cannot start a rekey in DTLS 1.2 (a new handshake is the
 * client's); it ends a link whose keys carried twice its limits, so
 * that a client that never renews them does not keep them forever.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtls.h"

/* The ClientHello extension that marks a rekey: an unassigned number
 * from the private use range (RFC 8446 4.2: 65280-65535), and version 1
 * of this scheme as its one byte. */
#define REKEY_EXT 0xff5c
#define REKEY_VERSION 1
#define BIND_RESEND_MS 200
/* Rekeys start at least this far apart (a handshake each). */
#define REKEY_SPACING_MS 1000
/* A failed rekey is tried again after this long. */
#define REKEY_RETRY_MS 10000

static int64_t overlap_ms(const struct cv_instance *inst)
{
	return (int64_t)inst->gl.handshake_timeout * 1000 + 2000;
}

/* ---- the mark in the ClientHello */

static int mark_recv(gnutls_session_t s, const unsigned char *data,
		     size_t len)
{
	struct cv_link *link = gnutls_transport_get_ptr(s);

	if (len == 1 && data[0] == REKEY_VERSION)
		link->rk.marked = true;
	return 0;
}

static int mark_send(gnutls_session_t s, gnutls_buffer_t extdata)
{
	const struct cv_link *link = gnutls_transport_get_ptr(s);
	static const unsigned char version = REKEY_VERSION;

	if (link->inst->gl.server || !link->rk.marked)
		return 0;	/* not sent */
	int ret = gnutls_buffer_append_data(extdata, &version, 1);
	return ret < 0 ? ret : 1;
}

int dtls_rekey_session_init(struct cv_link *link)
{
	/* Only a server reads it, and only a client's successor sends it. */
	if (!link->inst->gl.server && !link->rk.marked)
		return 0;
	int ret = gnutls_session_ext_register(link->g.tls, "culvert rekey",
					      REKEY_EXT, GNUTLS_EXT_TLS,
					      mark_recv, mark_send, NULL, NULL,
					      NULL, GNUTLS_EXT_FLAG_CLIENT_HELLO);
	if (ret < 0) {
		LOG(link->inst, CV_LOG_ERR, "cannot set up DTLS rekeying: %s",
		    gnutls_strerror(ret));
		return -ENOMEM;
	}
	return 0;
}

/* ---- the binding */

/* "cvrk", the version, who sends it ('c' or 's'), then 32 bytes the old
 * session exports with the fresh one's own export as context. */
static int binding(gnutls_session_t old, gnutls_session_t fresh, char who,
		   uint8_t out[DTLS_BIND_LEN])
{
	static const char fresh_label[] = "EXPORTER-culvert-rekey-session";
	static const char old_label[] = "EXPORTER-culvert-rekey-binding";
	char context[33];

	memcpy(out, "cvrk", 4);
	out[4] = REKEY_VERSION;
	out[5] = (uint8_t)who;
	context[0] = who;
	int ret = gnutls_prf_rfc5705(fresh, sizeof(fresh_label) - 1, fresh_label,
				     0, NULL, 32, context + 1);
	if (ret == 0)
		ret = gnutls_prf_rfc5705(old, sizeof(old_label) - 1, old_label,
					 sizeof(context), context, 32,
					 (char *)out + 6);
	return ret;
}

/* The record of len bytes at the arena's end is this binding. */
static bool is_binding(const struct cv_instance *inst, size_t len,
		       const uint8_t bind[DTLS_BIND_LEN])
{
	return len == DTLS_BIND_LEN &&
	       memcmp(inst->arena + inst->arena_used, bind, DTLS_BIND_LEN) == 0;
}

static void send_binding(struct cv_link *link, gnutls_session_t s,
			 const uint8_t bind[DTLS_BIND_LEN])
{
	ssize_t ret = gnutls_record_send(s, bind, DTLS_BIND_LEN);

	if (ret < 0 && ret != GNUTLS_E_AGAIN)
		LOG(link->inst, CV_LOG_DEBUG, "cannot send a rekey binding to %s: %s",
		    link->g.peer_name, gnutls_strerror((int)ret));
}

/* ---- the link's timer */

static void arm(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	int64_t now = plugin_now_ms(), at = INT64_MAX;

	if (link->rk.old || link->rk.bind_until)
		at = link->rk.old_until;
	if (inst->gl.server && link->rk.worn)
		at = now;
	if (!inst->gl.server && !link->successor) {
		int64_t due = link->rk.worn ? now : link->rk.next_at;
		if (due < link->rk.not_before)
			due = link->rk.not_before;
		if (due < at)
			at = due;
	}
	if (at != INT64_MAX)
		inst->gl.api->timer_arm(link->rk.timer, at > now ? at - now : 0);
}

static void start(struct cv_link *link);

static void on_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	int64_t now = plugin_now_ms();

	if (link->g.state != GLINK_UP || link->g.closed)
		return;
	if (now >= link->rk.old_until) {
		gtls_session_free(link->rk.old);
		link->rk.old = NULL;
		link->rk.bind_until = 0;
	}
	if (inst->gl.server && link->rk.worn) {
		char why[300];
		snprintf(why, sizeof(why),
			 "the DTLS keys with %s carried twice rekey-bytes or rekey-records, and the client did not renew them",
			 link->g.peer_name);
		glink_lost(&link->g, -EKEYEXPIRED, why);
		return;
	}
	if (!inst->gl.server && !link->successor && now >= link->rk.not_before &&
	    (link->rk.worn || now >= link->rk.next_at))
		start(link);
	arm(link);
}

void dtls_rekey_up(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (!link->rk.timer)
		link->rk.timer = inst->gl.api->timer_new(inst->gl.host, on_timer,
							 link);
	if (!link->rk.timer) {
		LOG(inst, CV_LOG_WARNING,
		    "cannot make a timer: the DTLS keys with %s will not be renewed",
		    link->g.peer_name);
		return;
	}
	link->rk.next_at = plugin_now_ms() + (int64_t)inst->gl.rekey.interval * 1000;
	arm(link);
}

void dtls_rekey_worn(struct cv_link *link)
{
	if (!link->rk.timer || link->g.state != GLINK_UP)
		return;
	link->rk.worn = true;
	link->inst->gl.api->timer_arm(link->rk.timer, 0);
}

void dtls_rekey_link_free(struct cv_link *link)
{
	gtls_session_free(link->rk.old);
	link->rk.old = NULL;
	if (link->rk.timer)
		link->inst->gl.api->timer_free(link->rk.timer);
	link->rk.timer = NULL;
}

/* ---- the client: a successor for new keys */

static void start(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	struct cv_link *succ = link_new(inst, link_on_timer);

	link->rk.not_before = plugin_now_ms() + REKEY_SPACING_MS;
	if (!succ) {
		LOG(inst, CV_LOG_WARNING, "cannot renew the DTLS keys with %s: out of memory",
		    link->g.peer_name);
		return;
	}
	succ->rk.marked = true;
	succ->predecessor = link;
	link->successor = succ;
	link_set_peer(succ, (const struct sockaddr *)&link->addr, link->addr_len);
	if (link_start_tls(succ) < 0) {
		dtls_rekey_failed(succ, "cannot start a DTLS session");
		return;
	}
	LOG(inst, CV_LOG_DEBUG, "renewing the DTLS keys with %s (%s)",
	    link->g.peer_name, link->rk.worn ? "rekey-bytes or rekey-records" : "rekey-interval");
	link_handshake_step(succ);	/* the ClientHello */
}

void dtls_rekey_failed(struct cv_link *succ, const char *why)
{
	struct cv_link *link = succ->predecessor;
	struct cv_instance *inst = succ->inst;

	LOG(inst, CV_LOG_INFO,
	    "cannot renew the DTLS keys with %s: %s; the old keys stay, trying again in %d s",
	    succ->g.peer_name, why, REKEY_RETRY_MS / 1000);
	glink_free(&succ->g);
	if (link) {
		link->rk.not_before = plugin_now_ms() + REKEY_RETRY_MS;
		arm(link);
	}
}

bool dtls_rekey_for_successor(const struct cv_link *link, const uint8_t *d,
			      size_t len)
{
	struct dtls_head h;

	/* Its handshake: the clear epoch, and the Finished after it. */
	return link->successor && dtls_head_parse(d, len, &h) &&
	       (h.epoch == 0 || h.type != CT_APPLICATION_DATA);
}

/* ---- both: the handshake is over, the switch */

/* A server's successor shows the certificate its link showed, if any:
 * new keys, not a new identity. */
static bool same_identity(struct cv_link *succ, char *why, size_t size)
{
	struct cv_link *link = succ->predecessor;
	char *was = NULL, *is = NULL;
	bool same;

	if (!succ->inst->gl.server || !succ->inst->gl.tls.require_client_cert)
		return true;
	gtls_peer_identity(link->g.tls, &was);
	gtls_peer_identity(succ->g.tls, &is);
	same = was && is && strcmp(was, is) == 0;
	if (!same)
		snprintf(why, size, "its new session for new keys shows the certificate of '%s', its session '%s'",
			 is ? is : "nobody", was ? was : "nobody");
	free(was);
	free(is);
	return same;
}

void dtls_rekey_handshake_done(struct cv_link *succ)
{
	struct cv_instance *inst = succ->inst;
	struct cv_link *link = succ->predecessor;
	uint8_t own[DTLS_BIND_LEN];
	char why[400];
	bool server = inst->gl.server;

	if (!same_identity(succ, why, sizeof(why)) ||
	    gtls_recheck_stale(&inst->gl.tls, succ->g.tls, why, sizeof(why)) < 0)
		goto refuse;
	if (binding(link->g.tls, succ->g.tls, server ? 'c' : 's',
		    link->rk.peer_bind) < 0 ||
	    binding(link->g.tls, succ->g.tls, server ? 's' : 'c', own) < 0) {
		snprintf(why, sizeof(why), "cannot export keying material for a rekey binding");
		goto refuse;
	}
	memcpy(link->rk.own_bind, own, DTLS_BIND_LEN);
	succ->rk.done = true;
	/* As for any finished handshake (handshake_done in dtls_link.c). */
	gnutls_dtls_set_timeouts(succ->g.tls, 1000, INT32_MAX);
	if (server) {
		/* The binding must come before the handshake's deadline. */
		int64_t left = succ->deadline - plugin_now_ms();
		inst->gl.api->timer_arm(succ->g.timer, left > 10 ? left : 10);
		return;
	}
	send_binding(link, succ->g.tls, own);
	inst->gl.api->timer_arm(succ->g.timer, BIND_RESEND_MS);
	return;
refuse:
	if (server)
		glink_refused(&succ->g, CV_LOG_WARNING, why);
	else
		dtls_rekey_failed(succ, why);
}

void dtls_rekey_step(struct cv_link *succ)
{
	struct cv_instance *inst = succ->inst;
	struct cv_link *link = succ->predecessor;

	if (succ->cur) {
		/* A handshake record again (ours was lost): GnuTLS answers
		 * it, or drops it. Data comes through the link. */
		uint8_t seq[8];
		for (unsigned int i = 0; i < 8; i++) {
			ssize_t n = session_recv_record(inst, succ->g.tls, seq);
			if (n == GNUTLS_E_AGAIN || n == 0 ||
			    (n < 0 && gnutls_error_is_fatal((int)n)))
				break;
		}
		succ->cur = NULL;
		return;
	}
	if (plugin_now_ms() >= succ->deadline || !link) {
		if (inst->gl.server)
			glink_refused(&succ->g, CV_LOG_INFO,
				      "its new session for new keys was never bound to the old one; the old keys stay");
		else
			dtls_rekey_failed(succ, "the server did not answer the binding");
		return;
	}
	if (!inst->gl.server) {
		send_binding(link, succ->g.tls, link->rk.own_bind);
		inst->gl.api->timer_arm(succ->g.timer, BIND_RESEND_MS);
	}
}

/* The successor's session becomes the link's: the link's own goes to
 * rk.old, still read for the overlap. */
static void switch_keys(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	struct cv_link *succ = link->successor;
	gnutls_session_t fresh = succ->g.tls;
	uint8_t seq[8];

	succ->g.tls = NULL;
	glink_free(&succ->g);		/* link->successor = NULL */
	gtls_session_free(link->rk.old);
	link->rk.old = link->g.tls;
	link->rk.old_until = plugin_now_ms() + overlap_ms(inst);
	link->rk.bind_until = link->rk.old_until;
	link->g.tls = fresh;
	gnutls_transport_set_ptr(fresh, link);
	link->cur = NULL;

	size_t mtu = gnutls_dtls_get_data_mtu(fresh);
	if (mtu < link->data_mtu)
		LOG(inst, CV_LOG_WARNING,
		    "the new DTLS keys with %s carry %zu bytes a record, less than the %zu the tunnel was sized for: larger packets are dropped",
		    link->g.peer_name, mtu, link->data_mtu);
	link->data_mtu = mtu;
	/* The new session's own sequence numbers, from here. */
	link->seen = (struct seen_window){ 0 };
	if (gnutls_record_get_state(fresh, 1, NULL, NULL, NULL, seq) == 0)
		dtls_seen_start(&link->seen, seq);

	link->rk.tx_bytes = link->rk.tx_records = 0;
	link->rk.rx_bytes = link->rk.rx_records = 0;
	link->rk.worn = false;
	/* What status reports, as a KeyUpdate counts on tls. */
	link->g.keys_made = time(NULL);
	link->g.rekeys++;
	inst->gl.counts.rekeys++;
	if (!inst->gl.server)
		link->rk.next_at = plugin_now_ms() +
				   (int64_t)inst->gl.rekey.interval * 1000;
	LOG(inst, CV_LOG_INFO, "new DTLS keys with %s (rekey %u)",
	    link->g.peer_name, link->g.rekeys);
	arm(link);
}

/* ---- reading while more than one session may be the peer's */

enum keys { KEYS_CURRENT, KEYS_NEW, KEYS_OLD };

/*
 * A record that came out of the keys kind: to the run, or the binding.
 * False when the link is gone.
 */
static bool take(struct cv_link *link, enum keys kind, size_t n,
		 const uint8_t seq[8])
{
	struct cv_instance *inst = link->inst;

	switch (kind) {
	case KEYS_CURRENT:
		if (is_binding(inst, n, link->rk.peer_bind) &&
		    plugin_now_ms() < link->rk.bind_until) {
			/* Again, after the switch: our answer was lost. */
			if (inst->gl.server)
				send_binding(link, link->g.tls, link->rk.own_bind);
			return true;
		}
		return link_take_record(link, n, seq);
	case KEYS_NEW:
		if (is_binding(inst, n, link->rk.peer_bind)) {
			/* Proved: the peer of the old keys made these. */
			switch_keys(link);
			if (inst->gl.server)
				send_binding(link, link->g.tls, link->rk.own_bind);
			return true;
		}
		if (inst->gl.server)
			return true;	/* not bound yet: nothing counts */
		/* The server switched, and its answer is late or lost. */
		switch_keys(link);
		return link_take_record(link, n, seq);
	case KEYS_OLD:
		inst->old_key_records++;
		return run_add(link, n);
	}
	return true;
}

/*
 * The datagram to one of the link's sessions. 1: it was that session's
 * (records came out, or it took it in silence); 0: it discarded it all;
 * -1: the link is gone.
 */
static int try_keys(struct cv_link *link, enum keys kind, const uint8_t *d,
		    size_t len)
{
	struct cv_instance *inst = link->inst;
	struct cv_link *feed = kind == KEYS_NEW ? link->successor : link;
	gnutls_session_t s = kind == KEYS_OLD ? link->rk.old : feed->g.tls;
	unsigned int before = gnutls_record_get_discarded(s);
	bool got = false;

	feed->cur = d;
	feed->cur_len = len;
	for (unsigned int i = 0; i < 64; i++) {
		uint8_t seq[8];
		ssize_t n = session_recv_record(inst, s, seq);
		if (n == GNUTLS_E_AGAIN)
			break;
		if (n > 0) {
			got = true;
			if (!take(link, kind, (size_t)n, seq))
				return -1;
			if (kind == KEYS_NEW && !link->successor) {
				/* Switched: s is the link's now. */
				kind = KEYS_CURRENT;
				feed = link;
			}
			continue;
		}
		if (n < 0 && (n == GNUTLS_E_REHANDSHAKE || n == GNUTLS_E_TIMEDOUT ||
			      !gnutls_error_is_fatal((int)n)))
			continue;
		if (kind == KEYS_CURRENT)
			return link_read_ended(link, n) ? 1 : -1;
		/* The old keys, or the successor's, ended: the link goes on. */
		feed->cur = NULL;
		if (kind == KEYS_OLD) {
			gtls_session_free(link->rk.old);
			link->rk.old = NULL;
		} else {
			glink_free(&link->successor->g);
		}
		return 1;
	}
	feed->cur = NULL;
	return got || gnutls_record_get_discarded(s) == before ? 1 : 0;
}

bool dtls_rekey_read(struct cv_link *link, const uint8_t *dgram, size_t len)
{
	if (!dgram)
		return link_read_keys(link, NULL, 0);

	unsigned int before = gnutls_record_get_discarded(link->g.tls);
	enum drop_kind kind = dtls_drop_kind(link, dgram, len);
	enum keys order[] = { KEYS_CURRENT, KEYS_NEW, KEYS_OLD };
	struct dtls_head head;
	/* Handshake records are the current session's (its last flight
	 * again), or the successor's, which has them by another way: the
	 * others read application data only. */
	unsigned int tries = dtls_head_parse(dgram, len, &head) &&
			     head.type == CT_APPLICATION_DATA ? 3 : 1;

	for (unsigned int i = 0; i < tries; i++) {
		if (order[i] == KEYS_NEW &&
		    !(link->successor && link->successor->rk.done))
			continue;
		if (order[i] == KEYS_OLD && !link->rk.old)
			continue;
		int r = try_keys(link, order[i], dgram, len);
		if (r < 0)
			return false;
		if (r > 0)
			return true;
	}
	/* No session of the link's took it: replayed or forged. */
	dtls_account_drops(link, before, kind);
	return true;
}
