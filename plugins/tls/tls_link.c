/*
 * One tls link: its connection and GnuTLS session, from the handshake to
 * the close_notify. What tls and dtls links share (the upcall guard, how
 * a link ends, the handshake's verdict, link_up) is
 * ../common/gnutls_link.c's; the roles that make links are
 * tls_listener.c and tls_client.c.
 *
 * On the wire, inside the TLS stream, each message is a 2-byte big-endian
 * length and that many bytes (tls_frame.c); a length of 0 never occurs
 * and ends the link. Messages read in one burst go up in one deliver();
 * a batch to send is framed into one buffer and leaves in as few 16 KiB
 * records as GnuTLS makes of it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "tls.h"

_Static_assert(offsetof(struct cv_link, g) == 0,
	       "the core's struct cv_link * must be the glink's address");

/* Rounds per wakeup: 512 KiB from one peer, then the loop serves others. */
#define READ_ROUNDS 8
/* gnutls_record_recv() calls per round; records may be tiny. */
#define RECV_CALLS 256
/* Unsent bytes the kernel holds for us (TCP_NOTSENT_LOWAT): enough to
 * keep the link busy while the loop comes back to refill it. */
#define NOTSENT_LOWAT (128 * 1024)
/* A send buffer that grew past this is given back once it drains. */
#define OUT_KEEP (256 * 1024)

static void on_link_event(void *arg, int fd, uint32_t events);

/* ---- the link's life */

struct cv_link *link_new(struct cv_instance *inst, cv_timer_cb *on_timer)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->fd = -1;
	link->ask_fd = -1;
	link->rekey_timer = inst->gl.api->timer_new(inst->gl.host,
						    tls_rekey_on_timer, link);
	if (!link->rekey_timer) {
		free(link);
		return NULL;
	}
	if (glink_init(&link->g, &inst->gl, on_timer) < 0) {
		inst->gl.api->timer_free(link->rekey_timer);
		free(link);
		return NULL;
	}
	return link;
}

void link_attach(struct cv_link *link, int fd)
{
	int on = 1, lowat = NOTSENT_LOWAT;

	link->fd = fd;
	/* Nagle would hold back a small record (an ACK of the tunnelled
	 * TCP) until the previous one is acknowledged: the inner TCP's
	 * ACK clock stalls and throughput halves. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	/* The kernel keeps at most this much unsent: the backlog of a bulk
	 * transfer waits in our queue instead, where a small packet goes
	 * ahead of it (tls_outq.c), not in the socket, where it could not. */
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

void link_close_fd(struct cv_link *link)
{
	tls_pmtu_forget(link);
	endpoint_close(link->inst->gl.api, link->inst->gl.host, &link->fd);
	link->events = 0;
}

/* Free at once, without a word to the peer or the core (ops.free). */
static void link_free(struct glink *g)
{
	struct cv_link *link = container_of(g, struct cv_link, g);

	link_close_fd(link);
	tls_pmtu_unwatch(link);
	link->inst->gl.api->timer_free(link->rekey_timer);
	free(link->carry);
	tls_outq_free(&link->out);
	glink_release(&link->g);
	free(link);
}

/* ---- GnuTLS's pull side */

/*
 * recv(), as GnuTLS's own, but never past GLINK_HANDSHAKE_MAX bytes that
 * have not come out as application data: no more of a handshake message
 * than that reaches GnuTLS, which would gather a message of any length
 * it announces. Application data resets the count (link_read), so a
 * steady stream never meets the limit: GnuTLS reads one record (16 KiB
 * and a little) at a time.
 */
static ssize_t link_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
	struct cv_link *link = ptr;
	size_t room = GLINK_HANDSHAKE_MAX - link->held;

	if (room == 0) {
		link->too_large = true;
		errno = EMSGSIZE;
		return -1;
	}
	ssize_t n = recv(link->fd, data, size < room ? size : room, 0);
	if (n > 0)
		link->held += (size_t)n;
	return n;
}

/* GnuTLS waits with a timeout only on a blocking session: never here,
 * but then it polls the link's socket, not the pointer. */
static int link_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	const struct cv_link *link = ptr;
	struct pollfd p = { .fd = link->fd, .events = POLLIN };

	return poll(&p, 1, ms > INT32_MAX ? -1 : (int)ms);
}

/* ---- watching the socket */

void link_set_events(struct cv_link *link, uint32_t events)
{
	if (link->events == events || link->fd < 0)
		return;
	int err = link->inst->gl.api->watch(link->inst->gl.host, link->fd,
					    events, on_link_event, link);
	if (err < 0)
		LOG(link->inst, CV_LOG_ERR, "cannot watch the connection to %s: %s",
		    link->g.peer_name, strerror(-err));
	else
		link->events = events;
}

/* ---- sending */

/*
 * A send failed: say why once, in words (a peer that went away shows
 * as GnuTLS's "Error in the push function", and every send after it as
 * "The specified session has been invalidated"), and return the errno
 * that every send from now on returns.
 */
static int send_failed(struct cv_link *link, int ret, int saved_errno)
{
	const char *peer = link->g.peer_name;
	char why[300];

	if (link->send_err)
		return link->send_err;
	switch (ret) {
	case GNUTLS_E_PUSH_ERROR:
		link->send_err = saved_errno ? -saved_errno : -EPIPE;
		snprintf(why, sizeof(why), "the connection to %s broke while sending: %s%s",
			 peer, strerror(-link->send_err),
			 saved_errno == ECONNRESET || saved_errno == EPIPE
				 ? " (the peer closed it, or went away)" : "");
		break;
	case GNUTLS_E_PREMATURE_TERMINATION:
		link->send_err = -ECONNRESET;
		snprintf(why, sizeof(why),
			 "%s closed the TCP connection without a TLS close_notify (it went away)",
			 peer);
		break;
	default:
		link->send_err = -EPROTO;
		snprintf(why, sizeof(why), "cannot send to %s: TLS error: %s",
			 peer, gnutls_strerror(ret));
	}
	LOG(link->inst, CV_LOG_INFO, "%s", why);
	return link->send_err;
}

/*
 * Hand the queue to GnuTLS, one record per call, each from one lane of
 * the queue (tls_outq.c). Not under gnutls_record_cork(): cork
 * overwrites GnuTLS's record of a pending TLS 1.3 key update (its own
 * after 2^24 records, or one the peer asked for), which would then
 * never happen. Our own buffer gives the same full records, with the
 * same one copy.
 * Returns 0 (all sent, or the socket is full: watch for CV_EV_OUT), or a
 * negative errno (said in words, once).
 */
static int flush_out(struct cv_link *link)
{
	unsigned int interrupted = 0;
	const uint8_t *data;
	size_t len;

	if (link->send_err)
		return link->send_err;
	while ((len = tls_outq_next(&link->out, &data)) > 0) {
		ssize_t n = gnutls_record_send(link->g.tls, data, len);
		if (n > 0) {
			tls_outq_sent(&link->out, (size_t)n);
			link->key_bytes += (size_t)n;
			link->key_records++;
			tls_pmtu_watch(link);
			continue;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			tls_outq_blocked(&link->out);
		if (n == GNUTLS_E_AGAIN)
			return 0;
		if (n == GNUTLS_E_INTERRUPTED && interrupted++ < 8)
			continue;
		return send_failed(link, n < 0 ? (int)n : GNUTLS_E_PUSH_ERROR,
				   errno);
	}
	tls_outq_trim(&link->out, OUT_KEEP);
	return 0;
}

/* Hand the socket what it takes now: true when no record is left half
 * sent (ops.drain). */
static bool link_drain(struct glink *g)
{
	struct cv_link *link = container_of(g, struct cv_link, g);

	return link->fd >= 0 && flush_out(link) == 0 &&
	       !tls_outq_pending(&link->out);
}

const struct glink_ops tls_link_ops = {
	.free = link_free,
	.drain = link_drain,
};

static void watch_up(struct cv_link *link)
{
	link_set_events(link, CV_EV_IN |
				      (tls_outq_pending(&link->out) ? CV_EV_OUT : 0));
}

/* The table's send(): frame the batch into the send queue, then hand
 * the socket what it takes now. A message the queue has no room for is
 * dropped, as a full router queue drops it; a small one behind it may
 * still go (the express lane), so all are offered. */
int link_send(struct cv_link *link, const struct cv_msg *msgs,
	      unsigned int count)
{
	unsigned int accepted = 0;

	if (link->g.state != GLINK_UP || link->g.closed)
		return -ENOTCONN;
	if (link->send_err)
		return link->send_err;
	for (unsigned int i = 0; i < count; i++) {
		size_t len = msgs[i].len;
		if (len == 0 || len > MSG_MAX)
			continue;	/* cannot be framed: dropped */
		int ret = tls_outq_add(&link->out, msgs[i].data, len);
		if (ret < 0)
			break;
		accepted += (unsigned int)ret;
	}
	int ret = flush_out(link);
	if (ret < 0)
		return ret;
	watch_up(link);
	tls_rekey_sent(link);
	return (int)accepted;
}

/* ---- receiving */

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
		if (n && !glink_deliver(&link->g, inst->msgs, n))
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
		snprintf(why, size, "%s closed the TLS connection",
			 link->g.peer_name);
		return -ECONNRESET;
	}
	switch (ret) {
	case GNUTLS_E_PREMATURE_TERMINATION:
		snprintf(why, size, "%s closed the TCP connection without a TLS close_notify",
			 link->g.peer_name);
		return -ECONNRESET;
	case GNUTLS_E_PULL_ERROR:
		snprintf(why, size, "the connection to %s failed: %s",
			 link->g.peer_name,
			 saved_errno ? strerror(saved_errno) : "receive error");
		return saved_errno ? -saved_errno : -EIO;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		/* In TLS 1.3 a client's handshake is over before the server
		 * has checked the client's certificate; its verdict is the
		 * first thing the client then reads. */
		if (!inst->gl.server && !link->got_data)
			return gtls_handshake_error(&inst->gl.tls, link->g.tls,
						    (int)ret, why, size);
		alert = gnutls_alert_get_name(gnutls_alert_get(link->g.tls));
		snprintf(why, size, "%s sent TLS alert '%s'", link->g.peer_name,
			 alert ? alert : "unknown");
		return -ECONNRESET;
	case GNUTLS_E_REHANDSHAKE:
		snprintf(why, size, "%s asked for a TLS renegotiation, which culvert does not do",
			 link->g.peer_name);
		return -EPROTO;
	default:
		snprintf(why, size, "TLS error from %s: %s", link->g.peer_name,
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
			ssize_t n = gnutls_record_recv(link->g.tls, rx + used,
						       limit - used);
			if (n > 0) {
				used += (size_t)n;
				link->got_data = true;
				link->held = 0;
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
					      ? !inst->gl.server
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
				 link->g.peer_name);
			glink_lost(&link->g, -EPROTO, why);
			return false;
		}
		if (status != 1 && status != GNUTLS_E_AGAIN && link->too_large) {
			/* A post-handshake message (KeyUpdate and the like)
			 * that never ends. */
			glink_handshake_too_large(&link->g,
						  "sent a TLS handshake message larger");
			return false;
		}
		if (status != 1 && status != GNUTLS_E_AGAIN) {
			char why[512];
			int err = read_error(link, status, saved_errno, why,
					     sizeof(why));
			glink_lost(&link->g, err, why);
			return false;
		}
		if (status == GNUTLS_E_AGAIN)
			break;
		if (round + 1 == READ_ROUNDS) {
			/* More may wait inside GnuTLS, where epoll cannot
			 * see it: come back from the loop. */
			inst->gl.api->timer_arm(link->g.timer, 0);
			break;
		}
	}
	if (used) {
		uint8_t *p = realloc(link->carry, used);
		if (!p) {
			glink_lost(&link->g, -ENOMEM, "out of memory");
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
	char *identity;

	if (!glink_handshake_done(&link->g, &identity, ""))
		return;
	tls_rekey_up(link);
	if (!glink_up(&link->g, identity, MSG_MAX))
		return;
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
	struct cv_instance *inst = link->inst;
	struct tls_stats *st = &inst->stats;

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
		inst->gl.counts.handshake_failed++;
	}
}

static void handshake_failed(struct cv_link *link, int ret)
{
	struct glink_failure f;

	if (link->too_large) {
		/* No alert: the peer is still sending, and not listening. */
		glink_handshake_too_large(&link->g,
					  "sent more of its handshake");
		return;
	}
	glink_handshake_failed(&link->g, ret, &f);
	if (!link->inst->gl.server) {
		glink_client_fail(&link->g, f.err, f.why);
		return;
	}
	count_failure(link, ret);
	/* A refused certificate, or a client that refused ours, is worth a
	 * warning; scanners and stray protocols are not. */
	glink_refused(&link->g, f.certificate ? CV_LOG_WARNING : CV_LOG_INFO,
		      f.why);
}

void link_handshake_step(struct cv_link *link)
{
	int queued = 0;

	/* Whether a stranger that fails sent anything at all: a cut-off
	 * record is abuse worth counting, a bare connect a port check. */
	if (link->inst->gl.server && !link->heard &&
	    ioctl(link->fd, FIONREAD, &queued) == 0 && queued > 0)
		link->heard = true;

	int ret = glink_handshake(&link->g);
	if (ret == 0) {
		handshake_done(link);
		return;
	}
	if (ret < 0 && gnutls_error_is_fatal(ret)) {
		handshake_failed(link, ret);
		return;
	}
	link_set_events(link, gnutls_record_get_direction(link->g.tls)
				      ? CV_EV_OUT : CV_EV_IN);
}

int link_start_tls(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (glink_session_new(&link->g, 0) < 0)
		return -ENOMEM;
	link->held = 0;
	link->too_large = false;
	/* GnuTLS's own writes to the socket; reads through link_pull. */
	gnutls_transport_set_ptr2(link->g.tls, link,
				  (gnutls_transport_ptr_t)(intptr_t)link->fd);
	gnutls_transport_set_pull_function(link->g.tls, link_pull);
	gnutls_transport_set_pull_timeout_function(link->g.tls,
						   link_pull_timeout);
	inst->gl.api->timer_arm(link->g.timer,
				(int64_t)inst->gl.handshake_timeout * 1000);
	return 0;
}

/* ---- events */

void link_on_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	char why[200];

	switch (link->g.state) {
	case GLINK_HANDSHAKE:
		if (inst->gl.server) {
			glink_handshake_timed_out(&link->g);
			return;
		}
		snprintf(why, sizeof(why),
			 "the TLS handshake with %s did not finish within %u s (handshake-timeout)",
			 link->g.peer_name, inst->gl.handshake_timeout);
		glink_client_fail(&link->g, -ETIMEDOUT, why);
		return;
	case GLINK_UP:
		link_read(link);
		return;
	case GLINK_START:
	case GLINK_FAILED:
		return;		/* the client's (tls_client.c) */
	}
}

static void on_link_event(void *arg, int fd, uint32_t events)
{
	struct cv_link *link = arg;

	if (link->g.state == GLINK_HANDSHAKE) {
		link_handshake_step(link);
		return;
	}
	if (link->g.state != GLINK_UP)
		return;
	if (events & CV_EV_OUT) {
		int ret = flush_out(link);
		if (ret < 0) {
			char why[300];
			snprintf(why, sizeof(why), "cannot send to %s: %s",
				 link->g.peer_name, strerror(-ret));
			glink_lost(&link->g, ret, why);
			return;
		}
		watch_up(link);
	}
	if (events & (CV_EV_IN | CV_EV_ERR | CV_EV_HUP))
		link_read(link);
}
