/*
 * dtls_link.c - one DTLS session of the dtls transport: GnuTLS's
 * transport functions, the handshake with its retransmission timer,
 * reading records into runs for deliver(), sending and closing. The
 * server's socket is dtls_server.c's, the client's dtls_client.c's.
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
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "dtls.h"

/* ---- GnuTLS's transport */

/* Sending one datagram. Never "try again": a full socket buffer or an
 * ICMP error loses the datagram, as the network could; GnuTLS
 * retransmits its handshake flights, and the core its control messages. */
static ssize_t link_push(gnutls_transport_ptr_t ptr, const void *data,
			 size_t len)
{
	struct cv_link *link = ptr;
	struct cv_instance *inst = link->inst;

	if (inst->fd < 0)
		return (ssize_t)len;
	if (inst->tx_batching && len <= inst->tx_slot) {
		unsigned int i = inst->tx_n++;
		uint8_t *slot = inst->tx_buf + i * inst->tx_slot;
		memcpy(slot, data, len);
		inst->tx_iov[i] = (struct iovec){ slot, len };
		inst->tx[i].msg_hdr = (struct msghdr){
			.msg_name = inst->server ? &link->peer : NULL,
			.msg_namelen = inst->server ? link->peer_len : 0,
			.msg_iov = &inst->tx_iov[i],
			.msg_iovlen = 1,
		};
		if (inst->tx_n == BATCH)
			tx_flush(inst);
		return (ssize_t)len;
	}
	ssize_t n = inst->server
			    ? sendto(inst->fd, data, len, MSG_DONTWAIT,
				     (const struct sockaddr *)&link->peer,
				     link->peer_len)
			    : send(inst->fd, data, len, MSG_DONTWAIT);
	if (n < 0 && errno == ECONNREFUSED)
		link->refused = true;
	return (ssize_t)len;
}

/* Group tx[from..] into runs for one UDP_SEGMENT send each: records to
 * one peer, of equal size but the last, 64 KiB at most. Returns how
 * many groups tx_gso[] now holds. */
static unsigned int tx_group(struct cv_instance *inst, unsigned int from)
{
	unsigned int ng = 0, i = from;

	while (i < inst->tx_n && ng < BATCH) {
		size_t size = inst->tx_iov[i].iov_len, total = size;
		unsigned int k = 1;
		while (!inst->no_gso && i + k < inst->tx_n && k < 64 &&
		       inst->tx[i + k].msg_hdr.msg_name == inst->tx[i].msg_hdr.msg_name &&
		       inst->tx_iov[i + k].iov_len <= size &&
		       total + inst->tx_iov[i + k].iov_len <= 65000) {
			size_t len = inst->tx_iov[i + k].iov_len;
			total += len;
			k++;
			if (len < size)
				break;
		}
		struct msghdr *mh = &inst->tx_gso[ng].msg_hdr;
		*mh = inst->tx[i].msg_hdr;
		mh->msg_iovlen = k;
		if (k > 1) {
			mh->msg_control = inst->tx_gso_ctrl[ng];
			mh->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
			struct cmsghdr *c = CMSG_FIRSTHDR(mh);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			uint16_t seg = (uint16_t)size;
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		inst->tx_gso_run[ng++] = k;
		i += k;
	}
	return ng;
}

void tx_flush(struct cv_instance *inst)
{
	unsigned int done = 0;

	while (done < inst->tx_n && inst->fd >= 0) {
		unsigned int ng = tx_group(inst, done), g = 0;
		while (g < ng && inst->fd >= 0) {
			int sent = sendmmsg(inst->fd, inst->tx_gso + g, ng - g,
					    MSG_DONTWAIT);
			if (sent < 0) {
				if ((errno == EIO || errno == EINVAL) &&
				    inst->tx_gso_run[g] > 1 && !inst->no_gso) {
					LOG(inst, CV_LOG_INFO,
					    "UDP segmentation offload refused (%s): sending records one by one",
					    strerror(errno));
					inst->no_gso = true;
					break;	/* regroup from done */
				}
				if (errno == ECONNREFUSED && inst->client)
					inst->client->refused = true;
				/* lose the one that failed, go on */
				done += inst->tx_gso_run[g++];
				continue;
			}
			if (sent == 0)
				goto out;
			for (int k = 0; k < sent; k++)
				done += inst->tx_gso_run[g++];
		}
	}
out:
	inst->tx_n = 0;
}

static ssize_t link_pull(gnutls_transport_ptr_t ptr, void *data, size_t size)
{
	struct cv_link *link = ptr;

	if (!link->cur) {
		gnutls_transport_set_errno(link->tls, EAGAIN);
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

/* ---- links */

static void on_link_timer(void *arg);

struct cv_link *link_new(struct cv_instance *inst)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->timer = inst->api->timer_new(inst->host, on_link_timer, link);
	if (!link->timer) {
		free(link);
		return NULL;
	}
	link->next = inst->links;
	if (link->next)
		link->next->prev = link;
	inst->links = link;
	return link;
}

/* peer: as the socket has it; shown: an IPv4 client of a [::] socket as
 * the IPv4 address it is, for the core and the log. */
void link_set_peer(struct cv_link *link, const struct sockaddr *sa,
		   socklen_t len)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;

	if (len > sizeof(link->peer))
		len = sizeof(link->peer);
	memset(&link->peer, 0, sizeof(link->peer));
	memcpy(&link->peer, sa, len);
	link->peer_len = len;
	if (sa->sa_family == AF_INET6 && len >= sizeof(*in6) &&
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = in6->sin6_port };
		memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		memset(&link->shown, 0, sizeof(link->shown));
		memcpy(&link->shown, &in, sizeof(in));
		link->shown_len = sizeof(in);
	} else {
		link->shown = link->peer;
		link->shown_len = len;
	}
	dtls_format_addr((const struct sockaddr *)&link->shown, link->shown_len,
			 link->peer_name, sizeof(link->peer_name));
}

/* Free at once, without a word to the peer or the core. */
void link_free(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->prev)
		link->prev->next = link->next;
	else
		inst->links = link->next;
	if (link->next)
		link->next->prev = link->prev;
	if (inst->run == link) {
		inst->run = NULL;
		inst->n_msgs = 0;
		inst->arena_used = 0;
	}
	if (link->in_hs_queue)
		dtls_handshake_queue_leave(link);
	if (link->ip_hashed)
		dtls_ip_remove(link);
	if (link->hashed)
		dtls_hash_remove(link);
	if (link->predecessor)
		link->predecessor->successor = NULL;
	if (link->successor) {
		/* A restarted client's new handshake goes on alone, in the
		 * place this link leaves. */
		struct cv_link *s = link->successor;
		s->predecessor = NULL;
		dtls_hash_insert(s);
	}
	if (inst->client == link) {
		inst->client = NULL;
		dtls_client_close_socket(inst);
	}
	if (link->replays || link->forged || link->oversize)
		LOG(inst, CV_LOG_DEBUG,
		    "link to %s ends; dropped over its life: %llu replayed records, %llu that failed authentication, %llu messages too large",
		    link->peer_name, (unsigned long long)link->replays,
		    (unsigned long long)link->forged,
		    (unsigned long long)link->oversize);
	gtls_session_free(link->tls);
	free(link->doom.why);
	inst->api->timer_free(link->timer);
	if (link->addrs)
		freeaddrinfo(link->addrs);
	free(link);
}

/* Best effort and never blocking: a close_notify, so that the peer tells
 * a clean end from a lost one without waiting for its keepalive timeout. */
void link_close_now(struct cv_link *link)
{
	if (link->state == LINK_UP && link->tls)
		gnutls_bye(link->tls, GNUTLS_SHUT_WR);
	link_free(link);
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

/* The peer or the network ended an up link: free it, then tell the core.
 * Freed first, so that nothing the core does in link_down() can meet it. */
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
	gtls_send_recheck_alert(link->tls, err);
	link_lost(link, err, why);
}

int link_start_tls(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	int ret = gtls_session_new(&inst->tls, GNUTLS_DATAGRAM, &link->tls);

	if (ret < 0) {
		LOG(inst, CV_LOG_ERR, "cannot start a DTLS session: %s",
		    gnutls_strerror(ret));
		link->tls = NULL;
		return -ENOMEM;
	}
	gnutls_transport_set_ptr(link->tls, link);
	gnutls_transport_set_push_function(link->tls, link_push);
	gnutls_transport_set_pull_function(link->tls, link_pull);
	gnutls_transport_set_pull_timeout_function(link->tls, link_pull_timeout);
	/* Handshake records, fragmented, and data records fit one IP
	 * packet of the path MTU: never an IP fragment. */
	unsigned int overhead = link->shown.ss_family == AF_INET ? OVERHEAD_IPV4
								 : OVERHEAD_IPV6;
	gnutls_dtls_set_mtu(link->tls, inst->path_mtu - overhead);
	gnutls_dtls_set_timeouts(link->tls, 1000,
				 inst->handshake_timeout * 1000 + 1000);
	link->state = LINK_HANDSHAKE;
	link->deadline = dtls_now_ms() + (int64_t)inst->handshake_timeout * 1000;
	return 0;
}

/* ---- runs of messages for deliver() */

/* Hand the run to the core. Returns false when its link is gone now
 * (the core closed it inside deliver()). */
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
	link->upcalls++;
	inst->api->deliver(inst->host, link->session, inst->msgs, n);
	/* The messages were lent for the call: the arena is free again. */
	inst->arena_used = 0;
	return upcall_done(link);
}

/* The record of len bytes that GnuTLS just wrote at the arena's end joins
 * the link's run. False when the link is gone. */
bool link_take_record(struct cv_link *link, size_t len, const uint8_t seq[8])
{
	struct cv_instance *inst = link->inst;

	dtls_seen_mark(&link->seen, dtls_be64(seq));
	inst->msgs[inst->n_msgs++] = (struct cv_msg){
		.data = inst->arena + inst->arena_used,
		.len = len,
	};
	inst->arena_used += len;
	inst->run = link;
	if (inst->n_msgs == DELIVER_MAX || inst->arena_used > ARENA_SIZE - RECORD_MAX) {
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
		snprintf(why, size, "%s closed the DTLS session", link->peer_name);
		return -ECONNRESET;
	}
	if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		alert = gnutls_alert_get_name(gnutls_alert_get(link->tls));
		snprintf(why, size, "%s sent DTLS alert '%s'", link->peer_name,
			 alert ? alert : "unknown");
		return -ECONNRESET;
	}
	snprintf(why, size, "DTLS error from %s: %s", link->peer_name,
		 gnutls_strerror((int)ret));
	return -EPROTO;
}

/*
 * The next record of the current datagram, or of what GnuTLS still holds
 * from an earlier one, decrypted to the arena's end: its length, or 0 or
 * a GnuTLS error, or GNUTLS_E_AGAIN when nothing is left. GnuTLS says
 * "again" also after it dropped a record, with more records of the same
 * datagram still in its buffer: only twice "again" with nothing dropped
 * means empty, so that no record stays behind for the next datagram (nor
 * for a roaming trial, where it would pass for the stranger's).
 */
ssize_t link_recv_record(struct cv_link *link, uint8_t seq[8])
{
	struct cv_instance *inst = link->inst;
	unsigned int quiet = 0;

	for (unsigned int i = 0; i < RECORDS_PER_DATAGRAM; i++) {
		unsigned int before = gnutls_record_get_discarded(link->tls);
		ssize_t n = gnutls_record_recv_seq(link->tls,
						   inst->arena + inst->arena_used,
						   RECORD_MAX, seq);
		if (n != GNUTLS_E_AGAIN)
			return n;
		if (gnutls_record_get_discarded(link->tls) != before)
			quiet = 0;
		else if (++quiet == 2)
			break;
	}
	return GNUTLS_E_AGAIN;
}

/*
 * Decrypt the datagram (or, with dgram NULL, what GnuTLS still holds)
 * into the link's run. Every record is one message. GnuTLS drops, and
 * we count, records that are replayed or fail authentication; they do
 * not hurt the link. Returns false when the link is gone.
 */
bool link_read(struct cv_link *link, const uint8_t *dgram, size_t len)
{
	struct cv_instance *inst = link->inst;
	unsigned int before = gnutls_record_get_discarded(link->tls);
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
		if (!run_flush(inst))
			return false;
		char why[300];
		int err = read_error(link, n, why, sizeof(why));
		link_lost(link, err, why);
		return false;
	}
	link->cur = NULL;
	dtls_account_drops(link, before, kind);
	return true;
}

/* ---- the handshake */

static void arm_handshake_timer(struct cv_link *link)
{
	int64_t left = link->deadline - dtls_now_ms();
	int64_t next = gnutls_dtls_get_timeout(link->tls);

	if (next > left)
		next = left;
	/* Never a busy loop on a timeout of 0. */
	if (next < 10)
		next = 10;
	link->inst->api->timer_arm(link->timer, next);
}

static void handshake_done(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	char *identity = NULL;
	char desc[128], why[400];
	uint8_t seq[8];

	inst->api->timer_arm(link->timer, -1);
	if (link->in_hs_queue)
		dtls_handshake_queue_leave(link);
	link->state = LINK_UP;
	inst->handshakes++;
	/* GnuTLS measures its total handshake timeout from the start of the
	 * handshake even afterwards: the peer's last flight again (ours was
	 * lost) would no longer be answered, but read as GNUTLS_E_TIMEDOUT.
	 * 24 days, not GNUTLS_INDEFINITE_TIMEOUT: that means 0 ms there. */
	gnutls_dtls_set_timeouts(link->tls, 1000, INT32_MAX);
	link->data_mtu = gnutls_dtls_get_data_mtu(link->tls);
	/* Every record before the handshake's end counts as seen. */
	if (gnutls_record_get_state(link->tls, 1, NULL, NULL, NULL, seq) == 0 &&
	    dtls_be64(seq) > 0) {
		link->seen = (struct seen_window){ .top = dtls_be64(seq) - 1,
						   .bits = ~0ull, .valid = true };
	}
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
		LOG(inst, CV_LOG_DEBUG,
		    "handshake with %s done: %s%s%s; records carry up to %zu bytes",
		    link->peer_name, desc, identity ? ", certificate of " : "",
		    identity ? identity : "", link->data_mtu);
	else
		LOG(inst, CV_LOG_INFO,
		    "DTLS with %s: %s; certificate valid for '%s'; records carry up to %zu bytes (path MTU %u)",
		    link->peer_name, desc, inst->tls.server_name, link->data_mtu,
		    inst->path_mtu);

	if (link->predecessor) {
		/* The client at this address restarted: its new session
		 * takes the old one's place, and the old one ends. */
		struct cv_link *old = link->predecessor;
		snprintf(why, sizeof(why),
			 "%s began a new DTLS session (did it restart?); the old one ends",
			 old->peer_name);
		old->successor = NULL;
		link->predecessor = NULL;
		link_lost(old, -ECONNRESET, why);
		dtls_hash_insert(link);
	}
	if (inst->server)
		dtls_ip_insert(link);

	struct cv_link_info info = {
		.identity = identity,
		.peer = (const struct sockaddr *)&link->shown,
		.peer_len = link->shown_len,
		.max_msg = link->data_mtu,
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
	/* Records that came with the handshake's last flight. (No run is
	 * open: the receive loop flushes one before it feeds another link,
	 * and timers run outside it.) */
	link_read(link, NULL, 0);
}

static void handshake_failed(struct cv_link *link, int ret)
{
	struct cv_instance *inst = link->inst;
	char why[400];
	int err = gtls_handshake_error(&inst->tls, link->tls, ret, why, sizeof(why));

	/* Tell the peer why, so that its log can say it; best effort. */
	gtls_send_alert(&inst->tls, link->tls, ret);
	if (!inst->server) {
		/* A refused certificate is the same at every address. */
		if (err == -EACCES || ret == GNUTLS_E_FATAL_ALERT_RECEIVED) {
			dtls_client_fail(link, err, why);
			return;
		}
		dtls_client_address_failed(link, err, why);
		return;
	}
	inst->handshake_failed++;
	PEER_LOG(inst,
		 err == -EACCES || ret == GNUTLS_E_FATAL_ALERT_RECEIVED
			 ? CV_LOG_WARNING : CV_LOG_INFO,
		 "refused %s: %s", link->peer_name, why);
	link_free(link);
}

/* Go on with the handshake: with link->cur set when a datagram came,
 * without when a timer fired (GnuTLS retransmits when it is time). */
void link_handshake_step(struct cv_link *link)
{
	int ret = GNUTLS_E_AGAIN;

	/* Warning alerts and the like are not fatal: go on, a few times. */
	for (unsigned int i = 0; i < 8; i++) {
		ret = gnutls_handshake(link->tls);
		if (ret == 0 || ret == GNUTLS_E_AGAIN || gnutls_error_is_fatal(ret))
			break;
	}
	link->cur = NULL;
	if (ret == 0) {
		handshake_done(link);
		return;
	}
	if (ret < 0 && gnutls_error_is_fatal(ret)) {
		handshake_failed(link, ret);
		return;
	}
	if (!link->inst->server && link->refused && !link->heard) {
		dtls_client_refused(link->inst);
		return;
	}
	arm_handshake_timer(link);
}

static void on_link_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	char why[300];

	switch (link->state) {
	case LINK_START:
		dtls_client_next(link);
		return;
	case LINK_FAILED:
		dtls_client_fail(link, link->fail_err, link->fail_why);
		return;
	case LINK_UP:
		return;
	case LINK_HANDSHAKE:
		break;
	}
	if (dtls_now_ms() < link->deadline) {
		link_handshake_step(link);	/* GnuTLS retransmits if due */
		/* A handshake done here may have read records already. */
		run_flush(inst);
		return;
	}
	if (!inst->server) {
		if (!link->heard)
			snprintf(why, sizeof(why),
				 "no DTLS answer from %s within %u s (is UDP blocked?)",
				 link->peer_name, inst->handshake_timeout);
		else
			snprintf(why, sizeof(why),
				 "the DTLS handshake with %s did not finish within %u s (handshake-timeout)",
				 link->peer_name, inst->handshake_timeout);
		dtls_client_address_failed(link, -ETIMEDOUT, why);
		return;
	}
	inst->handshakes_timed_out++;
	PEER_LOG(inst, CV_LOG_INFO,
		 "refused %s: no DTLS handshake within %u s (handshake-timeout)",
		 link->peer_name, inst->handshake_timeout);
	link_free(link);
}

/* ---- sending */

int dtls_link_send(struct cv_instance *inst, struct cv_link *link,
		   const struct cv_msg *msgs, unsigned int count)
{
	unsigned int accepted = 0, oversize = 0;
	int result = 0;

	if (link->state != LINK_UP || link->closed)
		return -ENOTCONN;
	/* One record per message, one datagram per record; they leave
	 * together in sendmmsg() calls of up to BATCH. */
	inst->tx_batching = true;
	for (unsigned int i = 0; i < count; i++) {
		if (msgs[i].len == 0)
			continue;
		if (msgs[i].len > link->data_mtu) {
			oversize++;
			continue;
		}
		ssize_t ret = gnutls_record_send(link->tls, msgs[i].data,
						 msgs[i].len);
		if (ret >= 0) {
			accepted++;
			continue;
		}
		if (ret == GNUTLS_E_LARGE_PACKET) {
			oversize++;
			continue;
		}
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
			continue;	/* lost, as the network may lose it */
		LOG(inst, CV_LOG_INFO, "cannot send to %s: %s", link->peer_name,
		    gnutls_strerror((int)ret));
		result = -EPIPE;
		break;
	}
	tx_flush(inst);
	inst->tx_batching = false;
	if (oversize) {
		link->oversize += oversize;
		link->oversize_unlogged += oversize;
		inst->oversize += oversize;
		dtls_arm_report(inst);
	}
	return result < 0 ? result : (int)accepted;
}
