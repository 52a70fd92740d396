/*
 * One tls link: its socket and GnuTLS session, from the handshake to the
 * close_notify.
 *
 * On the wire, inside the TLS stream, each message is a 2-byte big-endian
 * length and that many bytes (tls_frame.c); a length of 0 never occurs
 * and ends the link. Messages read in one burst go up in one deliver(); a batch to
 * send is framed into one buffer and leaves in as few 16 KiB records as
 * GnuTLS makes of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "tls.h"

/* Rounds per wakeup: 512 KiB from one peer, then the loop serves others. */
#define READ_ROUNDS 8
/* gnutls_record_recv() calls per round; records may be tiny. */
#define RECV_CALLS 256
/* Bytes queued for one peer that is not reading; beyond it send()
 * accepts fewer messages, as a full router queue would drop them. */
#define BACKLOG_MAX (1 << 20)
/* A send buffer that grew past this is given back once it drains. */
#define OUT_KEEP (256 * 1024)

static void on_link_event(void *arg, int fd, uint32_t events);

/* ---- watching the socket */

void link_set_events(struct cv_link *link, uint32_t events)
{
	if (link->events == events || link->fd < 0)
		return;
	int err = link->inst->api->watch(link->inst->host, link->fd, events,
					 on_link_event, link);
	if (err < 0)
		LOG(link->inst, CV_LOG_ERR, "cannot watch the connection to %s: %s",
		    link->peer_name, strerror(-err));
	else
		link->events = events;
}

/* ---- sending */

static bool out_pending(const struct cv_link *link)
{
	return link->out_off < link->out_len;
}

static int out_reserve(struct cv_link *link, size_t need)
{
	if (!out_pending(link))
		link->out_off = link->out_len = 0;
	if (link->out_len + need <= link->out_cap)
		return 0;
	/* A record that met EAGAIN is already encrypted inside GnuTLS;
	 * moving the bytes not yet handed over is safe. */
	if (link->out_off) {
		memmove(link->out, link->out + link->out_off,
			link->out_len - link->out_off);
		link->out_len -= link->out_off;
		link->out_off = 0;
		if (link->out_len + need <= link->out_cap)
			return 0;
	}
	size_t cap = link->out_cap ? link->out_cap * 2 : 16 * 1024;
	while (cap < link->out_len + need)
		cap *= 2;
	uint8_t *p = realloc(link->out, cap);
	if (!p)
		return -ENOMEM;
	link->out = p;
	link->out_cap = cap;
	return 0;
}

/*
 * Hand the queue to GnuTLS, one record per call. Not under
 * gnutls_record_cork(): cork overwrites GnuTLS's record of a pending TLS
 * 1.3 key update (its own after 2^24 records, or one the peer asked
 * for), which would then never happen. Our own buffer gives the same
 * full records, with the same one copy.
 * Returns 0 (all sent, or the socket is full: watch for CV_EV_OUT), or a
 * GnuTLS error.
 */
static int flush_out(struct cv_link *link)
{
	unsigned int interrupted = 0;

	while (out_pending(link)) {
		ssize_t n = gnutls_record_send(link->tls, link->out + link->out_off,
					       link->out_len - link->out_off);
		if (n > 0) {
			link->out_off += (size_t)n;
			continue;
		}
		if (n == GNUTLS_E_AGAIN)
			return 0;
		if (n == GNUTLS_E_INTERRUPTED && interrupted++ < 8)
			continue;
		return n < 0 ? (int)n : GNUTLS_E_PUSH_ERROR;
	}
	link->out_off = link->out_len = 0;
	if (link->out_cap > OUT_KEEP) {
		free(link->out);
		link->out = NULL;
		link->out_cap = 0;
	}
	return 0;
}

static void watch_up(struct cv_link *link)
{
	link_set_events(link, CV_EV_IN | (out_pending(link) ? CV_EV_OUT : 0));
}

/* The table's send(): frame the batch into the send buffer, then hand
 * the socket what it takes now. */
int link_send(struct cv_link *link, const struct cv_msg *msgs,
	      unsigned int count)
{
	struct cv_instance *inst = link->inst;
	unsigned int accepted = 0;

	if (link->state != LINK_UP || link->closed)
		return -ENOTCONN;
	for (unsigned int i = 0; i < count; i++) {
		size_t len = msgs[i].len;
		if (len == 0 || len > MSG_MAX)
			continue;	/* cannot be framed: dropped */
		if (link->out_len - link->out_off + FRAME_HDR + len > BACKLOG_MAX)
			break;
		if (out_reserve(link, FRAME_HDR + len) < 0)
			break;
		link->out_len += tls_frame_put(link->out + link->out_len,
					       msgs[i].data, len);
		accepted++;
	}
	int ret = flush_out(link);
	if (ret < 0) {
		LOG(inst, CV_LOG_INFO, "cannot send to %s: %s", link->peer_name,
		    gnutls_strerror(ret));
		return -EPIPE;
	}
	watch_up(link);
	return (int)accepted;
}

/* ---- closing */

/* Best effort and never blocking: what the socket takes now, then a
 * close_notify, so that the peer tells a clean end from a cut one. */
void link_close_now(struct cv_link *link)
{
	if (link->state == LINK_UP && link->fd >= 0 &&
	    flush_out(link) == 0 && !out_pending(link))
		gnutls_bye(link->tls, GNUTLS_SHUT_WR);
	link_free(link);
}

/* The table's close(). Inside an upcall for this link only marked: the
 * code that made the upcall frees it (upcall_done). */
void link_close(struct cv_link *link)
{
	if (link->upcalls) {
		link->closed = true;
		return;
	}
	link_close_now(link);
}

/* After an upcall: false when the core closed the link meanwhile (it is
 * freed here, then). */
static bool upcall_done(struct cv_link *link)
{
	link->upcalls--;
	if (link->upcalls == 0 && link->closed) {
		link_close_now(link);
		return false;
	}
	return true;
}

/* The peer or the network ended an up link: free it, then tell the
 * core. Freed first, so that nothing the core does in link_down() can
 * meet it. */
void link_lost(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;
	struct cv_session *session = link->session;
	char text[512];

	snprintf(text, sizeof(text), "%s", why);
	link_free(link);
	inst->api->link_down(inst->host, session, err, text);
}

void link_refuse(struct cv_link *link, int err, const char *why)
{
	/* Not in the middle of a record GnuTLS could not finish: the
	 * alert would corrupt it. */
	if (flush_out(link) == 0 && !out_pending(link))
		gtls_send_recheck_alert(link->tls, err);
	link_lost(link, err, why);
}

/* A client's connect() failed before any link came up. */
void link_client_fail(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;
	char text[512];

	snprintf(text, sizeof(text), "%s", why);
	link_free(link);
	inst->api->link_down(inst->host, NULL, err, text);
}

/* ---- receiving */

static bool deliver(struct cv_link *link, unsigned int count)
{
	struct cv_instance *inst = link->inst;

	link->upcalls++;
	inst->api->deliver(inst->host, link->session, inst->msgs, count);
	return upcall_done(link);
}

/* Deliver every whole frame in buf. *used is what was consumed; returns
 * 1 when the link is gone, -EPROTO on a zero length, else 0. */
static int deliver_frames(struct cv_link *link, const uint8_t *buf,
			  size_t len, size_t *used)
{
	struct cv_instance *inst = link->inst;
	size_t off = 0;

	for (;;) {
		unsigned int n;
		size_t took;
		enum tls_frame_status status =
			tls_frame_split(buf + off, len - off, inst->msgs,
					DELIVER_BATCH, &n, &took);
		off += took;
		if (n && !deliver(link, n))
			return 1;
		if (status == TLS_FRAME_FULL)
			continue;
		*used = off;
		return status == TLS_FRAME_ZERO ? -EPROTO : 0;
	}
}

/* Why an up link's read ended, for link_down(). */
static int read_error(struct cv_link *link, ssize_t ret, int saved_errno,
		      char *why, size_t size)
{
	struct cv_instance *inst = link->inst;
	const char *alert;

	if (ret == 0) {
		snprintf(why, size, "%s closed the TLS connection", link->peer_name);
		return -ECONNRESET;
	}
	switch (ret) {
	case GNUTLS_E_PREMATURE_TERMINATION:
		snprintf(why, size, "%s closed the TCP connection without a TLS close_notify",
			 link->peer_name);
		return -ECONNRESET;
	case GNUTLS_E_PULL_ERROR:
		snprintf(why, size, "the connection to %s failed: %s",
			 link->peer_name,
			 saved_errno ? strerror(saved_errno) : "receive error");
		return saved_errno ? -saved_errno : -EIO;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		/* In TLS 1.3 a client's handshake is over before the server
		 * has checked the client's certificate; its verdict is the
		 * first thing the client then reads. */
		if (!inst->server && !link->got_data)
			return gtls_handshake_error(&inst->tls, link->tls, (int)ret,
						    why, size);
		alert = gnutls_alert_get_name(gnutls_alert_get(link->tls));
		snprintf(why, size, "%s sent TLS alert '%s'", link->peer_name,
			 alert ? alert : "unknown");
		return -ECONNRESET;
	case GNUTLS_E_REHANDSHAKE:
		snprintf(why, size, "%s asked for a TLS renegotiation, which culvert does not do",
			 link->peer_name);
		return -EPROTO;
	default:
		snprintf(why, size, "TLS error from %s: %s", link->peer_name,
			 gnutls_strerror((int)ret));
		return -EPROTO;
	}
}

/*
 * Read what the peer sent: up to READ_ROUNDS rounds of RX_READ bytes,
 * each round's whole frames delivered as one batch. A partial frame
 * moves to the front of the buffer for the next round, and into the
 * link's carry at the end. Returns false when the link is gone.
 */
static bool link_read(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	uint8_t *rx = inst->rx;
	size_t used = link->carry_len;

	if (used)
		memcpy(rx, link->carry, used);
	link->carry_len = 0;
	for (unsigned int round = 0;; round++) {
		size_t limit = used + RX_READ;
		ssize_t status = 1;	/* 1: more to read, AGAIN: drained, else the end */
		int saved_errno = 0;

		for (unsigned int calls = 0; used < limit && calls < RECV_CALLS;
		     calls++) {
			errno = 0;
			ssize_t n = gnutls_record_recv(link->tls, rx + used,
						       limit - used);
			if (n > 0) {
				used += (size_t)n;
				link->got_data = true;
				continue;
			}
			if (n == GNUTLS_E_AGAIN) {
				status = n;
				break;
			}
			/* Warning alerts and the like: read on. A client
			 * ignores a TLS 1.2 HelloRequest; a server asked to
			 * renegotiate ends the link (read_error). */
			if (n < 0 && (n == GNUTLS_E_REHANDSHAKE
					      ? !inst->server
					      : !gnutls_error_is_fatal((int)n)))
				continue;
			saved_errno = errno;
			status = n;
			break;
		}

		size_t consumed = 0;
		int framing = deliver_frames(link, rx, used, &consumed);
		if (framing > 0)
			return false;
		memmove(rx, rx + consumed, used - consumed);
		used -= consumed;
		if (framing < 0) {
			char why[200];
			inst->stats.zero_length_frame++;
			snprintf(why, sizeof(why),
				 "%s sent a message of length 0, which culvert never sends (not a culvert peer?)",
				 link->peer_name);
			link_lost(link, -EPROTO, why);
			return false;
		}
		if (status != 1 && status != GNUTLS_E_AGAIN) {
			char why[512];
			int err = read_error(link, status, saved_errno, why,
					     sizeof(why));
			link_lost(link, err, why);
			return false;
		}
		if (status == GNUTLS_E_AGAIN)
			break;
		if (round + 1 == READ_ROUNDS) {
			/* More may wait inside GnuTLS, where epoll cannot
			 * see it: come back from the loop. */
			inst->api->timer_arm(link->timer, 0);
			break;
		}
	}
	if (used) {
		uint8_t *p = realloc(link->carry, used);
		if (!p) {
			link_lost(link, -ENOMEM, "out of memory");
			return false;
		}
		memcpy(p, rx, used);
		link->carry = p;
		link->carry_len = used;
	}
	return true;
}

/* ---- the handshake */

static void handshake_done(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	char *identity = NULL;
	char desc[128], why[400];

	inst->api->timer_arm(link->timer, -1);
	if (inst->server)
		handshake_queue_leave(link);
	link->state = LINK_UP;
	inst->stats.handshakes++;
	/* The client rekeys; the server answers. Two KeyUpdate requests
	 * crossing each other end the session in GnuTLS 3.7. */
	if (!inst->server)
		inst->api->timer_arm(link->rekey_timer,
				     (int64_t)inst->rekey_interval * 1000);
	/* A handshake that began before a reload ran on the old ca and
	 * crl: the new ones have the last word. */
	if (gtls_recheck_stale(&inst->tls, link->tls, why, sizeof(why)) < 0) {
		PEER_LOG(inst, CV_LOG_WARNING, "refused %s: %s", link->peer_name,
			 why);
		link_close_now(link);
		return;
	}
	if (inst->server && inst->tls.require_client_cert) {
		/* GnuTLS required and verified the certificate; one
		 * without a usable name still identifies nobody. */
		int err = gtls_peer_identity(link->tls, &identity);
		if (err < 0 || !identity) {
			PEER_LOG(inst, CV_LOG_WARNING,
				 "refused %s: its certificate names no subject",
				 link->peer_name);
			link_close_now(link);
			return;
		}
	}
	gtls_describe(link->tls, desc, sizeof(desc));
	if (inst->server)
		LOG(inst, CV_LOG_DEBUG, "handshake with %s done: %s%s%s",
		    link->peer_name, desc, identity ? ", certificate of " : "",
		    identity ? identity : "");
	else
		LOG(inst, CV_LOG_INFO, "TLS with %s: %s; certificate valid for '%s'",
		    link->peer_name, desc, inst->tls.server_name);

	struct cv_link_info info = {
		.identity = identity,
		.peer = (const struct sockaddr *)&link->peer,
		.peer_len = link->peer_len,
		.max_msg = MSG_MAX,
	};
	link->upcalls++;
	struct cv_session *session = inst->api->link_up(inst->host, link, &info);
	free(identity);
	if (!upcall_done(link))
		return;
	if (!session) {
		/* The core refused it and said why. */
		link_close_now(link);
		return;
	}
	link->session = session;
	watch_up(link);
	/* The peer's first messages may have come with its last handshake
	 * flight: GnuTLS holds them already and epoll will not say so. */
	link_read(link);
}

/* Why a stranger's handshake failed, by the kind of abuse it was: a
 * record longer than TLS allows, bytes that are no TLS at all, a record
 * cut off by the end of the connection, or a connection that closed
 * before saying anything (a port check). */
static void count_failure(struct cv_link *link, int ret)
{
	struct tls_stats *st = &link->inst->stats;

	switch (ret) {
	case GNUTLS_E_RECORD_OVERFLOW:
		st->oversized_record++;
		return;
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
	case GNUTLS_E_UNEXPECTED_PACKET:
	case GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET:
	case GNUTLS_E_DECRYPTION_FAILED:
		st->junk++;
		return;
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_PULL_ERROR:
		if (link->heard)
			st->truncated_record++;
		else
			st->closed_early++;
		return;
	default:
		st->handshake_failed++;
	}
}

static void handshake_failed(struct cv_link *link, int ret)
{
	struct cv_instance *inst = link->inst;
	char why[400];
	int err = gtls_handshake_error(&inst->tls, link->tls, ret, why, sizeof(why));

	/* Tell the peer why, so that its log can say it; best effort on a
	 * non-blocking socket. */
	gtls_send_alert(&inst->tls, link->tls, ret);
	if (!inst->server) {
		link_client_fail(link, err, why);
		return;
	}
	count_failure(link, ret);
	/* A refused certificate, or a client that refused ours, is worth a
	 * warning; scanners and stray protocols are not. */
	PEER_LOG(inst,
		 err == -EACCES || ret == GNUTLS_E_FATAL_ALERT_RECEIVED
			 ? CV_LOG_WARNING : CV_LOG_INFO,
		 "refused %s: %s", link->peer_name, why);
	link_free(link);
}

void link_handshake_step(struct cv_link *link)
{
	int ret = GNUTLS_E_AGAIN;
	int queued = 0;

	/* Whether a stranger that fails sent anything at all: a cut-off
	 * record is abuse worth counting, a bare connect a port check. */
	if (link->inst->server && !link->heard &&
	    ioctl(link->fd, FIONREAD, &queued) == 0 && queued > 0)
		link->heard = true;

	/* Warning alerts and the like are not fatal: go on, a few times. */
	for (unsigned int i = 0; i < 8; i++) {
		ret = gnutls_handshake(link->tls);
		if (ret == 0 || ret == GNUTLS_E_AGAIN || gnutls_error_is_fatal(ret))
			break;
	}
	if (ret == 0) {
		handshake_done(link);
		return;
	}
	if (ret < 0 && gnutls_error_is_fatal(ret)) {
		handshake_failed(link, ret);
		return;
	}
	link_set_events(link, gnutls_record_get_direction(link->tls) ? CV_EV_OUT
								: CV_EV_IN);
}

int link_start_tls(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	int ret = gtls_session_new(&inst->tls, 0, &link->tls);

	if (ret < 0) {
		LOG(inst, CV_LOG_ERR, "cannot start a TLS session: %s",
		    gnutls_strerror(ret));
		return -ENOMEM;
	}
	gnutls_transport_set_int(link->tls, link->fd);
	link->state = LINK_HANDSHAKE;
	if (inst->server)
		handshake_queue_enter(link);
	inst->api->timer_arm(link->timer, (int64_t)inst->handshake_timeout * 1000);
	return 0;
}

/* ---- rekeying */

/* TLS 1.3 lets either side replace the traffic keys of both directions
 * with a KeyUpdate, in band and without a handshake: records in flight
 * under the old keys are still read, so no packet is lost. TLS 1.2 has
 * only renegotiation, which culvert does not do. */
void link_on_rekey(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;

	if (link->state != LINK_UP)
		return;
	if (gnutls_protocol_get_version(link->tls) != GNUTLS_TLS1_3) {
		LOG(inst, CV_LOG_INFO,
		    "TLS 1.2 with %s: not rekeyed (only TLS 1.3 updates keys in place)",
		    link->peer_name);
		return;
	}
	/* A record GnuTLS could not finish sending must go out first: it
	 * would be corrupted by a KeyUpdate sent in between. */
	if (link->out_off < link->out_len) {
		inst->api->timer_arm(link->rekey_timer, 1000);
		return;
	}
	int ret = gnutls_session_key_update(link->tls, GNUTLS_KU_PEER);
	if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
		inst->api->timer_arm(link->rekey_timer, 1000);
		return;
	}
	if (ret < 0) {
		LOG(inst, CV_LOG_WARNING, "cannot rekey with %s: %s",
		    link->peer_name, gnutls_strerror(ret));
	} else {
		link->rekeys++;
		LOG(inst, CV_LOG_INFO, "new TLS keys with %s (rekey %u)",
		    link->peer_name, link->rekeys);
	}
	inst->api->timer_arm(link->rekey_timer,
			     (int64_t)inst->rekey_interval * 1000);
}

/* ---- events */

void link_on_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	char why[200];

	switch (link->state) {
	case LINK_FAILED:
		link_client_fail(link, link->fail_err, link->fail_why);
		return;
	case LINK_CONNECTING:
		client_timed_out(link);
		return;
	case LINK_HANDSHAKE:
		if (!inst->server) {
			snprintf(why, sizeof(why),
				 "the TLS handshake with %s did not finish within %u s (handshake-timeout)",
				 link->peer_name, inst->handshake_timeout);
			link_client_fail(link, -ETIMEDOUT, why);
			return;
		}
		inst->stats.handshake_timeout++;
		PEER_LOG(inst, CV_LOG_INFO,
			 "refused %s: no TLS handshake within %u s (handshake-timeout)",
			 link->peer_name, inst->handshake_timeout);
		link_free(link);
		return;
	case LINK_UP:
		link_read(link);
		return;
	}
}

static void on_link_event(void *arg, int fd, uint32_t events)
{
	struct cv_link *link = arg;

	switch (link->state) {
	case LINK_CONNECTING:
		client_connected(link);
		return;
	case LINK_HANDSHAKE:
		link_handshake_step(link);
		return;
	case LINK_FAILED:
		return;
	case LINK_UP:
		break;
	}
	if (events & CV_EV_OUT) {
		int ret = flush_out(link);
		if (ret < 0) {
			char why[300];
			snprintf(why, sizeof(why), "cannot send to %s: %s",
				 link->peer_name, gnutls_strerror(ret));
			link_lost(link, -EPIPE, why);
			return;
		}
		watch_up(link);
	}
	if (events & (CV_EV_IN | CV_EV_ERR | CV_EV_HUP))
		link_read(link);
}
