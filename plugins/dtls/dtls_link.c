/*
 * dtls_link.c - one DTLS session of the dtls transport: GnuTLS's pull
 * side, the handshake with its retransmission timer, reading records
 * into runs for deliver(), and the end of a link. What tls and dtls
 * links share (the upcall guard, how a link ends, the handshake's
 * verdict, link_up) is ../common/gnutls_link.c's; the push side and
 * send() are dtls_send.c's; the sockets are the roles', dtls_server.c's
 * and dtls_client.c's.
 *
 * GnuTLS never touches a socket here. Its push function sends one
 * datagram to the link's peer (on the server's one socket, or the
 * client's connected one); its pull function hands it the datagram that
 * the instance's receive loop is processing for this link ("cur"), once,
 * and says EAGAIN after that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/endpoint.h"
#include "dtls.h"

_Static_assert(offsetof(struct cv_link, g) == 0,
	       "the core's struct cv_link * must be the glink's address");

#define OVERHEAD_IPV4 28	/* IPv4 + UDP headers */
#define OVERHEAD_IPV6 48	/* IPv6 + UDP headers */
/* The handshake's flights are cut to fit this, whatever [dtls] mtu says:
 * every datagram carries DF, and a path that carries less than the
 * configured MTU (which the core's probes find only once the session is
 * up) must not lose a certificate chain. IPv6's minimum MTU, which
 * nearly every IPv4 path carries too. */
#define HANDSHAKE_MTU 1280
/* gnutls_record_recv() calls per datagram: records may be tiny. */
#define RECORDS_PER_DATAGRAM 64

/* ---- GnuTLS's pull side */

static ssize_t link_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
	struct cv_link *link = ptr;

	if (!link->cur) {
		/* errno, not gnutls_transport_set_errno(link->g.tls): the
		 * session reading may be the link's old one (dtls_rekey.c). */
		errno = EAGAIN;
		return -1;
	}
	size_t n = link->cur_len < size ? link->cur_len : size;
	memcpy(data, link->cur, n);
	link->cur = NULL;
	return (ssize_t)n;
}

/* Non-blocking: GnuTLS asks with ms = 0 whether a datagram is there. */
static int link_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	const struct cv_link *link = ptr;

	return link->cur ? 1 : 0;
}

/* ---- the link's life */

struct cv_link *link_new(struct cv_instance *inst, cv_timer_cb *on_timer)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->by_addr.addr = link->by_ip.addr = &link->addr;
	if (glink_init(&link->g, &inst->gl, on_timer) < 0) {
		free(link);
		return NULL;
	}
	return link;
}

void link_set_peer(struct cv_link *link, const struct sockaddr *sa,
		   socklen_t len)
{
	if (len > sizeof(link->addr))
		len = sizeof(link->addr);
	memset(&link->addr, 0, sizeof(link->addr));
	memcpy(&link->addr, sa, len);
	link->addr_len = len;
	glink_set_peer(&link->g, sa, len);
}

/* Free at once, without a word to the peer or the core (ops.free). */
static void link_free(struct glink *g)
{
	struct cv_link *link = container_of(g, struct cv_link, g);
	struct cv_instance *inst = link->inst;

	if (inst->run == link) {
		inst->run = NULL;
		inst->n_msgs = 0;
		inst->arena_used = 0;
	}
	peer_table_remove(&inst->by_ip, &link->by_ip);
	peer_table_remove(&inst->by_addr, &link->by_addr);
	if (link->predecessor)
		link->predecessor->successor = NULL;
	if (link->successor) {
		struct cv_link *s = link->successor;
		s->predecessor = NULL;
		link->successor = NULL;
		if (inst->gl.server && !s->rk.marked)
			/* A restarted client's new handshake goes on
			 * alone, in the place this link leaves. */
			peer_table_add(&inst->by_addr, &s->by_addr);
		else
			/* New keys for this link: no use without it. */
			glink_free(&s->g);
	}
	dtls_rekey_link_free(link);
	if (inst->client == link) {
		inst->client = NULL;
		endpoint_close(inst->gl.api, inst->gl.host, &inst->fd);
	}
	dtls_drops_link_end(link);
	glink_release(&link->g);
	free(link);
}

/* A datagram leaves whole or not at all: nothing is ever half sent, so
 * no drain. */
const struct glink_ops dtls_link_ops = {
	.free = link_free,
};

/* Records, handshake fragments too, fit one IP packet of mtu bytes:
 * never an IP fragment. */
static void link_set_mtu(struct cv_link *link, unsigned int mtu)
{
	unsigned int overhead = link->g.peer.ss_family == AF_INET ? OVERHEAD_IPV4
								  : OVERHEAD_IPV6;

	gnutls_dtls_set_mtu(link->g.tls, mtu - overhead);
}

int link_start_tls(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	gnutls_session_t tls;

	if (glink_session_new(&link->g, GNUTLS_DATAGRAM) < 0)
		return -ENOMEM;
	tls = link->g.tls;
	gnutls_transport_set_ptr(tls, link);
	gnutls_transport_set_push_function(tls, dtls_push);
	gnutls_transport_set_pull_function(tls, link_pull);
	gnutls_transport_set_pull_timeout_function(tls, link_pull_timeout);
	link_set_mtu(link, inst->path_mtu < HANDSHAKE_MTU ? inst->path_mtu
							   : HANDSHAKE_MTU);
	gnutls_dtls_set_timeouts(tls, 1000,
				 inst->gl.handshake_timeout * 1000 + 1000);
	memset(&link->hs_limit, 0, sizeof(link->hs_limit));
	link->deadline = plugin_now_ms() +
			 (int64_t)inst->gl.handshake_timeout * 1000;
	if (dtls_rekey_session_init(link) < 0) {
		gtls_session_free(link->g.tls);
		link->g.tls = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- a client's addresses */

void link_address_failed(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;

	glink_address_failed(&link->g, err, why);
	gtls_session_free(link->g.tls);
	link->g.tls = NULL;
	endpoint_close(inst->gl.api, inst->gl.host, &inst->fd);
	link->g.state = GLINK_START;
	inst->gl.api->timer_arm(link->g.timer, 0);
}

void link_port_unreachable(struct cv_link *link)
{
	const struct cv_host_api *api = link->inst->gl.api;
	char why[300];

	if (link->g.state == GLINK_UP && link->g.session &&
	    CV_HOST_API_HAS(api, link_suspect)) {
		/* Up: a sign for the core, which may try a new session
		 * beside this one; ICMP is no proof to end it on. */
		snprintf(why, sizeof(why),
			 "ICMP port unreachable from %s: nothing listens there now",
			 link->g.peer_name);
		glink_upcall_begin(&link->g);
		api->link_suspect(link->inst->gl.host, link->g.session, why);
		glink_upcall_end(&link->g);
		return;
	}
	if (link->g.state != GLINK_HANDSHAKE || link->heard)
		return;
	snprintf(why, sizeof(why),
		 "%s refused: nothing listens on that UDP port (is culvertd running there, with transport dtls?)",
		 link->g.peer_name);
	link_address_failed(link, -ECONNREFUSED, why);
}

/* ---- runs of messages for deliver() */

bool run_flush(struct cv_instance *inst)
{
	struct cv_link *link = inst->run;
	unsigned int n = inst->n_msgs;

	inst->run = NULL;
	inst->n_msgs = 0;
	if (!link || n == 0) {
		inst->arena_used = 0;
		return true;
	}
	glink_upcall_begin(&link->g);
	inst->gl.api->deliver(inst->gl.host, link->g.session, inst->msgs, n);
	/* The messages were lent for the call: the arena is free again. */
	inst->arena_used = 0;
	return glink_upcall_end(&link->g);
}

/* The record of len bytes that GnuTLS just wrote at the arena's end. */
bool link_take_record(struct cv_link *link, size_t len, const uint8_t seq[8])
{
	dtls_seen_mark(&link->seen, dtls_be64(seq));
	dtls_rekey_count(link, &link->rk.rx_bytes, &link->rk.rx_records, len, 1);
	return run_add(link, len);
}

bool run_add(struct cv_link *link, size_t len)
{
	struct cv_instance *inst = link->inst;

	inst->msgs[inst->n_msgs++] = (struct cv_msg){
		.data = inst->arena + inst->arena_used,
		.len = len,
	};
	inst->arena_used += len;
	inst->run = link;
	if (inst->n_msgs == DELIVER_MAX ||
	    inst->arena_used > ARENA_SIZE - RECORD_MAX) {
		if (!run_flush(inst))
			return false;
		inst->run = link;
	}
	return true;
}

/* Why an up link's read ended, for link_down(). */
static int read_error(struct cv_link *link, ssize_t ret, char *why, size_t size)
{
	const char *alert;

	if (ret == 0) {
		snprintf(why, size, "%s closed the DTLS session", link->g.peer_name);
		return -ECONNRESET;
	}
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		alert = gnutls_alert_get_name(gnutls_alert_get(link->g.tls));
		snprintf(why, size, "%s sent DTLS alert '%s'", link->g.peer_name,
			 alert ? alert : "unknown");
		return -ECONNRESET;
	}
	snprintf(why, size, "DTLS error from %s: %s", link->g.peer_name,
		 gnutls_strerror((int)ret));
	return -EPROTO;
}

/*
 * GnuTLS says "again" also after it dropped a record, with more records
 * of the same datagram still in its buffer: only twice "again" with
 * nothing dropped means empty, so that no record stays behind for the
 * next datagram (nor for a roaming trial, where it would pass for the
 * stranger's).
 */
ssize_t session_recv_record(struct cv_instance *inst, gnutls_session_t s,
			    uint8_t seq[8])
{
	unsigned int quiet = 0;

	for (unsigned int i = 0; i < RECORDS_PER_DATAGRAM; i++) {
		unsigned int before = gnutls_record_get_discarded(s);
		ssize_t n = gnutls_record_recv_seq(s, inst->arena + inst->arena_used,
						   RECORD_MAX, seq);
		if (n != GNUTLS_E_AGAIN)
			return n;
		if (gnutls_record_get_discarded(s) != before)
			quiet = 0;
		else if (++quiet == 2)
			break;
	}
	return GNUTLS_E_AGAIN;
}

ssize_t link_recv_record(struct cv_link *link, uint8_t seq[8])
{
	return session_recv_record(link->inst, link->g.tls, seq);
}

bool link_read_ended(struct cv_link *link, ssize_t ret)
{
	char why[300];

	link->cur = NULL;
	if (!run_flush(link->inst))
		return false;
	int err = read_error(link, ret, why, sizeof(why));
	glink_lost(&link->g, err, why);
	return false;
}

bool link_read(struct cv_link *link, const uint8_t *dgram, size_t len)
{
	if (dtls_rekey_reading(link))
		return dtls_rekey_read(link, dgram, len);
	return link_read_keys(link, dgram, len);
}

/*
 * Every record is one message. GnuTLS drops, and we count, records that
 * are replayed or fail authentication; they do not hurt the link.
 */
bool link_read_keys(struct cv_link *link, const uint8_t *dgram, size_t len)
{
	struct cv_instance *inst = link->inst;
	unsigned int before = gnutls_record_get_discarded(link->g.tls);
	enum drop_kind kind = dgram ? dtls_drop_kind(link, dgram, len)
				    : DROP_FORGED;

	link->cur = dgram;
	link->cur_len = len;
	inst->run = link;
	for (unsigned int i = 0; i < RECORDS_PER_DATAGRAM; i++) {
		uint8_t seq[8];
		ssize_t n = link_recv_record(link, seq);
		if (n > 0) {
			if (!link_take_record(link, (size_t)n, seq))
				return false;
			continue;
		}
		if (n == GNUTLS_E_AGAIN)
			break;
		/* A warning alert, a renegotiation we do not do (the
		 * ClientHello is dropped by GnuTLS), and the like; and
		 * "timed out", which GnuTLS says of a handshake record it
		 * does not want long after the handshake, and drops. */
		if (n < 0 && (n == GNUTLS_E_REHANDSHAKE || n == GNUTLS_E_TIMEDOUT ||
			      !gnutls_error_is_fatal((int)n)))
			continue;
		link->cur = NULL;
		dtls_account_drops(link, before, kind);
		return link_read_ended(link, n);
	}
	link->cur = NULL;
	dtls_account_drops(link, before, kind);
	return true;
}

/* ---- the handshake */

static void arm_handshake_timer(struct cv_link *link)
{
	int64_t left = link->deadline - plugin_now_ms();
	int64_t next = gnutls_dtls_get_timeout(link->g.tls);

	if (next > left)
		next = left;
	/* Never a busy loop on a timeout of 0. */
	if (next < 10)
		next = 10;
	link->inst->gl.api->timer_arm(link->g.timer, next);
}

/* The client at this address restarted: its new session (link) takes
 * the old one's place, and the old one ends. */
static void replace_predecessor(struct cv_link *link)
{
	struct cv_link *old = link->predecessor;
	char why[300];

	snprintf(why, sizeof(why),
		 "%s began a new DTLS session (did it restart?); the old one ends",
		 old->g.peer_name);
	old->successor = NULL;
	link->predecessor = NULL;
	glink_lost(&old->g, -ECONNRESET, why);
	peer_table_add(&link->inst->by_addr, &link->by_addr);
}

static void handshake_done(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	char *identity, extra[96];
	uint8_t seq[8];

	/* Data records as large as [dtls] mtu allows: the core finds
	 * whether the path carries them (culvert-transport(7)). A rekey's
	 * new session as well: it carries the link's records from now on. */
	link_set_mtu(link, inst->path_mtu);
	if (link->predecessor && link->rk.marked) {
		dtls_rekey_handshake_done(link);
		return;
	}
	link->data_mtu = gnutls_dtls_get_data_mtu(link->g.tls);
	if (inst->gl.server)
		snprintf(extra, sizeof(extra), "; records carry up to %zu bytes",
			 link->data_mtu);
	else
		snprintf(extra, sizeof(extra),
			 "; records carry up to %zu bytes (path MTU %u)",
			 link->data_mtu, inst->path_mtu);
	if (!glink_handshake_done(&link->g, &identity, extra))
		return;
	/* GnuTLS measures its total handshake timeout from the start of the
	 * handshake even afterwards: the peer's last flight again (ours was
	 * lost) would no longer be answered, but read as GNUTLS_E_TIMEDOUT.
	 * 24 days, not GNUTLS_INDEFINITE_TIMEOUT: that means 0 ms there. */
	gnutls_dtls_set_timeouts(link->g.tls, 1000, INT32_MAX);
	/* Every record before the handshake's end counts as seen. */
	if (gnutls_record_get_state(link->g.tls, 1, NULL, NULL, NULL, seq) == 0)
		dtls_seen_start(&link->seen, seq);
	if (link->predecessor)
		replace_predecessor(link);
	if (inst->gl.server)
		peer_table_add(&inst->by_ip, &link->by_ip);
	if (!glink_up(&link->g, identity, link->data_mtu))
		return;
	dtls_rekey_up(link);
	/* Records that came with the handshake's last flight. (No run is
	 * open: the receive loop flushes one before it feeds another link,
	 * and timers run outside it.) */
	link_read(link, NULL, 0);
}

static void handshake_failed(struct cv_link *link, int ret)
{
	struct cv_instance *inst = link->inst;
	struct glink_failure f;

	glink_handshake_failed(&link->g, ret, &f);
	if (!inst->gl.server && link->rk.marked) {
		dtls_rekey_failed(link, f.why);
		return;
	}
	if (!inst->gl.server) {
		/* A refused certificate is the same at every address. */
		if (f.certificate)
			glink_client_fail(&link->g, f.err, f.why);
		else
			link_address_failed(link, f.err, f.why);
		return;
	}
	inst->gl.counts.handshake_failed++;
	glink_refused(&link->g, f.certificate ? CV_LOG_WARNING : CV_LOG_INFO,
		      f.why);
}

/* The peer's handshake would make GnuTLS hold more than
 * GLINK_HANDSHAKE_MAX: the link ends before GnuTLS sees the datagram. */
static void handshake_too_large(struct cv_link *link)
{
	char what[100];

	link->cur = NULL;
	if (!link->inst->gl.server && link->rk.marked) {
		dtls_rekey_failed(link, "the server's handshake was too large");
		return;
	}
	if (link->hs_limit.largest > GLINK_HANDSHAKE_MAX)
		snprintf(what, sizeof(what),
			 "announced a handshake message of %u KiB, more",
			 link->hs_limit.largest / 1024);
	else
		snprintf(what, sizeof(what), "sent more of its handshake");
	glink_handshake_too_large(&link->g, what);
}

void link_handshake_step(struct cv_link *link)
{
	if (link->rk.done) {
		dtls_rekey_step(link);
		return;
	}
	if (link->cur &&
	    !dtls_hs_limit_take(&link->hs_limit, link->cur, link->cur_len,
				GLINK_HANDSHAKE_MAX)) {
		handshake_too_large(link);
		return;
	}
	int ret = glink_handshake(&link->g);

	link->cur = NULL;
	if (ret == 0) {
		handshake_done(link);
		return;
	}
	if (ret < 0 && gnutls_error_is_fatal(ret)) {
		handshake_failed(link, ret);
		return;
	}
	if (!link->inst->gl.server && link->refused && !link->heard) {
		link_port_unreachable(link);
		return;
	}
	arm_handshake_timer(link);
}

void link_on_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	char why[300];

	if (link->g.state != GLINK_HANDSHAKE)
		return;
	if (link->rk.done) {
		dtls_rekey_step(link);
		return;
	}
	if (plugin_now_ms() < link->deadline) {
		link_handshake_step(link);	/* GnuTLS retransmits if due */
		/* A handshake done here may have read records already. */
		run_flush(inst);
		return;
	}
	if (inst->gl.server) {
		glink_handshake_timed_out(&link->g);
		return;
	}
	if (link->rk.marked) {
		dtls_rekey_failed(link, "no handshake within handshake-timeout");
		return;
	}
	if (!link->heard)
		snprintf(why, sizeof(why),
			 "no DTLS answer from %s within %u s (is UDP blocked?)",
			 link->g.peer_name, inst->gl.handshake_timeout);
	else
		snprintf(why, sizeof(why),
			 "the DTLS handshake with %s did not finish within %u s (handshake-timeout)",
			 link->g.peer_name, inst->gl.handshake_timeout);
	link_address_failed(link, -ETIMEDOUT, why);
}
