/*
 * The tls transport: culvert's messages inside TLS over TCP.
 *
 * A server accepts any number of connections on one listening socket; a
 * client connects to 'remote', trying each of its addresses in turn. A
 * link comes up only once the TLS handshake, and GnuTLS's verification
 * of the peer's certificate, have succeeded (gnutls_common.c sets that
 * up, and explains a refusal).
 *
 * On the wire, inside the TLS stream, each message is a 2-byte big-endian
 * length and that many bytes; a length of 0 never occurs and ends the
 * link. Messages read in one burst go up in one deliver(); a batch to
 * send is framed into one buffer and leaves in as few 16 KiB records as
 * GnuTLS makes of it.
 *
 * TCP is reliable and ordered, so the core need not retransmit over it:
 * CV_TRANSPORT_RELIABLE. It is also head-of-line blocking, which is why
 * dtls is preferred where UDP gets through and tls is the fallback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include <culvert/transport.h>

#include "../common/gnutls_common.h"

/* TLS 1.3, or 1.2 at least; the server's order of ciphers wins. */
#define DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

#define FRAME_HDR 2
#define MSG_MAX 65535		/* the most a 2-byte length frames */
/* Read per round: four full records. */
#define RX_READ (64 * 1024)
/* A frame the previous round ended inside (at most FRAME_HDR + MSG_MAX
 * - 1 bytes), then one round's reading after it. */
#define RX_SIZE (FRAME_HDR + MSG_MAX + RX_READ)
/* Rounds per wakeup: 512 KiB from one peer, then the loop serves others. */
#define READ_ROUNDS 8
/* gnutls_record_recv() calls per round; records may be tiny. */
#define RECV_CALLS 256
#define DELIVER_BATCH 256		/* messages per deliver() */
/* Bytes queued for one peer that is not reading; beyond it send()
 * accepts fewer messages, as a full router queue would drop them. */
#define BACKLOG_MAX (1 << 20)
/* A send buffer that grew past this is given back once it drains. */
#define OUT_KEEP (256 * 1024)
#define ACCEPTS_PER_WAKEUP 64
#define ACCEPT_PAUSE_MS 1000
#define CONNECT_TRIES 8		/* addresses of 'remote' tried per connect() */
/* Lines a second about refused strangers: a scan must not fill the log. */
#define PEER_LOG_BURST 20

enum link_state {
	LINK_CONNECTING,	/* client: TCP connect under way */
	LINK_HANDSHAKE,
	LINK_UP,		/* the core has it */
	LINK_FAILED,		/* client: failed inside connect(); reported by timer */
};

struct cv_link {
	struct cv_instance *inst;
	struct cv_link *prev, *next;
	/* Server: the queue of handshakes under way, oldest first. */
	struct cv_link *hs_prev, *hs_next;
	enum link_state state;
	int fd;
	uint32_t events;		/* what the loop watches for now */
	gnutls_session_t tls;
	struct cv_session *session;
	/* Handshake deadline; once up, "read on" after a long burst. */
	struct cv_timer *timer;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_name[INET6_ADDRSTRLEN + 8];

	/* The start of a frame that the last read ended inside. */
	uint8_t *carry;
	size_t carry_len;
	/* Framed messages the socket has not taken yet. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;

	/* Re-entrancy: inside deliver() or link_up() the core may close()
	 * this very link. While upcalls > 0, close() only sets `closed`; the
	 * code that made the upcall frees the link when it returns. */
	unsigned int upcalls;
	bool closed;
	bool got_data;			/* application data has arrived */

	/* Client: the addresses of 'remote', and the last failure. */
	struct addrinfo *addrs, *next_addr;
	unsigned int tries;
	int fail_err;
	char fail_why[400];
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	struct gtls tls;
	bool server;
	unsigned int handshake_timeout;	/* seconds */
	unsigned int max_handshakes;
	int listen_fd;
	struct cv_timer *accept_timer;	/* re-watches the listener after EMFILE */
	struct cv_link *links;
	/* Server links still in their handshake, oldest first. */
	struct cv_link *hs_oldest, *hs_newest;
	unsigned int n_handshaking;

	time_t log_second;
	unsigned int log_lines, log_suppressed;

	struct cv_msg msgs[DELIVER_BATCH];
	uint8_t rx[RX_SIZE];
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)

static void on_link_event(void *arg, int fd, uint32_t events);
static void on_link_timer(void *arg);
static bool link_read(struct cv_link *link);

/* ---- configuration */

static int parse_number(struct cv_instance *inst, const char *key,
			unsigned long def, unsigned long min, unsigned long max,
			unsigned int *out)
{
	const char *text = inst->api->config_get(inst->host, key);
	char *end;

	if (!text) {
		*out = (unsigned int)def;
		return 0;
	}
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || v < min || v > max) {
		LOG(inst, CV_LOG_ERR, "'%s': '%s' is not a number from %lu to %lu",
		    key, text, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

/* "HOST:PORT" or "[IPV6]:PORT" into its parts. The core checks the
 * global keys; a [tls] section's value is checked only here. */
static int split_endpoint(const char *value, char *host, size_t host_size,
			  const char **port)
{
	const char *start = value, *end, *colon;

	if (value[0] == '[') {
		start = value + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon || strchr(value, ':') != colon)
			return -EINVAL;
		end = colon;
	}
	if (end == start || (size_t)(end - start) >= host_size || !colon[1])
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port = colon + 1;
	return 0;
}

static int resolve(struct cv_instance *inst, const char *key, bool passive,
		   struct addrinfo **out)
{
	const char *value = inst->api->config_get(inst->host, key);
	char host[256];
	const char *port;

	if (!value) {
		LOG(inst, CV_LOG_ERR, "'%s' is not set", key);
		return -EINVAL;
	}
	if (split_endpoint(value, host, sizeof(host), &port) < 0) {
		LOG(inst, CV_LOG_ERR,
		    "'%s': '%s' is not an endpoint (expected HOST:PORT or [IPV6]:PORT)",
		    key, value);
		return -EINVAL;
	}
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG,
	};
	int rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0) {
		LOG(inst, CV_LOG_ERR, "cannot resolve %s '%s': %s", key, value,
		    gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* ---- logging about strangers */

/* At most PEER_LOG_BURST lines a second about peers we refuse. */
static bool peer_log_allowed(struct cv_instance *inst)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != inst->log_second) {
		if (inst->log_suppressed)
			LOG(inst, CV_LOG_NOTICE,
			    "%u more refused connections were not logged",
			    inst->log_suppressed);
		inst->log_second = now.tv_sec;
		inst->log_lines = 0;
		inst->log_suppressed = 0;
	}
	if (inst->log_lines >= PEER_LOG_BURST) {
		inst->log_suppressed++;
		return false;
	}
	inst->log_lines++;
	return true;
}

#define PEER_LOG(inst, prio, ...) \
	do { \
		if (peer_log_allowed(inst)) \
			LOG(inst, prio, __VA_ARGS__); \
	} while (0)

/* ---- links */

/* An IPv4 client of a [::] listener arrives as ::ffff:a.b.c.d; the core
 * and the log see it as the IPv4 address it is. */
static void set_peer(struct cv_link *link, const struct sockaddr *sa,
		     socklen_t len)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;
	char host[INET6_ADDRSTRLEN], port[8];

	if (sa->sa_family == AF_INET6 && len >= sizeof(*in6) &&
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = in6->sin6_port };
		memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		memcpy(&link->peer, &in, sizeof(in));
		link->peer_len = sizeof(in);
	} else {
		if (len > sizeof(link->peer))
			len = sizeof(link->peer);
		memcpy(&link->peer, sa, len);
		link->peer_len = len;
	}
	if (getnameinfo((const struct sockaddr *)&link->peer, link->peer_len,
			host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(link->peer_name, sizeof(link->peer_name), "(unknown)");
		return;
	}
	snprintf(link->peer_name, sizeof(link->peer_name),
		 link->peer.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
		 port);
}

static struct cv_link *link_new(struct cv_instance *inst)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->fd = -1;
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

static void close_fd(struct cv_link *link)
{
	if (link->fd < 0)
		return;
	link->inst->api->unwatch(link->inst->host, link->fd);
	close(link->fd);
	link->fd = -1;
	link->events = 0;
}

/* The queue of server handshakes under way, for max-handshakes. */
static void handshake_queue_enter(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	link->hs_prev = inst->hs_newest;
	link->hs_next = NULL;
	if (inst->hs_newest)
		inst->hs_newest->hs_next = link;
	else
		inst->hs_oldest = link;
	inst->hs_newest = link;
	inst->n_handshaking++;
}

static void handshake_queue_leave(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->hs_prev)
		link->hs_prev->hs_next = link->hs_next;
	else
		inst->hs_oldest = link->hs_next;
	if (link->hs_next)
		link->hs_next->hs_prev = link->hs_prev;
	else
		inst->hs_newest = link->hs_prev;
	link->hs_prev = link->hs_next = NULL;
	inst->n_handshaking--;
}

/* Free at once, without a word to the peer or the core. */
static void link_free(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->prev)
		link->prev->next = link->next;
	else
		inst->links = link->next;
	if (link->next)
		link->next->prev = link->prev;
	if (inst->server && link->state == LINK_HANDSHAKE)
		handshake_queue_leave(link);
	close_fd(link);
	if (link->tls)
		gnutls_deinit(link->tls);
	inst->api->timer_free(link->timer);
	free(link->carry);
	free(link->out);
	if (link->addrs)
		freeaddrinfo(link->addrs);
	free(link);
}

static void set_events(struct cv_link *link, uint32_t events)
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

static void tcp_nodelay(int fd)
{
	int on = 1;

	/* Nagle would hold back a small record (an ACK of the tunnelled
	 * TCP) until the previous one is acknowledged: the inner TCP's
	 * ACK clock stalls and throughput halves. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
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
	set_events(link, CV_EV_IN | (out_pending(link) ? CV_EV_OUT : 0));
}

/* ---- closing */

/* Best effort and never blocking: what the socket takes now, then a
 * close_notify, so that the peer tells a clean end from a cut one. */
static void link_close_now(struct cv_link *link)
{
	if (link->state == LINK_UP && link->fd >= 0 &&
	    flush_out(link) == 0 && !out_pending(link))
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

/* The peer or the network ended an up link: free it, then tell the
 * core. Freed first, so that nothing the core does in link_down() can
 * meet it. */
static void link_lost(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;
	struct cv_session *session = link->session;
	char text[512];

	snprintf(text, sizeof(text), "%s", why);
	link_free(link);
	inst->api->link_down(inst->host, session, err, text);
}

/* A client's connect() failed before any link came up. */
static void client_fail(struct cv_link *link, int err, const char *why)
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
	unsigned int n = 0;
	size_t off = 0;
	int result = 0;

	while (len - off >= FRAME_HDR) {
		size_t msg_len = (size_t)buf[off] << 8 | buf[off + 1];
		if (msg_len == 0) {
			result = -EPROTO;
			break;
		}
		if (len - off - FRAME_HDR < msg_len)
			break;
		inst->msgs[n++] = (struct cv_msg){
			.data = (uint8_t *)buf + off + FRAME_HDR,
			.len = msg_len,
		};
		off += FRAME_HDR + msg_len;
		if (n == DELIVER_BATCH) {
			if (!deliver(link, n))
				return 1;
			n = 0;
		}
	}
	if (n && !deliver(link, n))
		return 1;
	*used = off;
	return result;
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
	char desc[128];

	inst->api->timer_arm(link->timer, -1);
	if (inst->server)
		handshake_queue_leave(link);
	link->state = LINK_UP;
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

static void handshake_failed(struct cv_link *link, int ret)
{
	struct cv_instance *inst = link->inst;
	char why[400];
	int err = gtls_handshake_error(&inst->tls, link->tls, ret, why, sizeof(why));

	/* Tell the peer why, so that its log can say it; best effort on a
	 * non-blocking socket. */
	gtls_send_alert(&inst->tls, link->tls, ret);
	if (!inst->server) {
		client_fail(link, err, why);
		return;
	}
	/* A refused certificate, or a client that refused ours, is worth a
	 * warning; scanners and stray protocols are not. */
	PEER_LOG(inst,
		 err == -EACCES || ret == GNUTLS_E_FATAL_ALERT_RECEIVED
			 ? CV_LOG_WARNING : CV_LOG_INFO,
		 "refused %s: %s", link->peer_name, why);
	link_free(link);
}

static void handshake_step(struct cv_link *link)
{
	int ret = GNUTLS_E_AGAIN;

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
	set_events(link, gnutls_record_get_direction(link->tls) ? CV_EV_OUT
								: CV_EV_IN);
}

static int start_tls(struct cv_link *link)
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

/* ---- client */

/* Start a non-blocking connect to the next address of 'remote'. False
 * when none is left; fail_err and fail_why then say why. */
static bool client_try_next(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	close_fd(link);
	while (link->next_addr && link->tries < CONNECT_TRIES) {
		struct addrinfo *ai = link->next_addr;
		link->next_addr = ai->ai_next;
		link->tries++;
		set_peer(link, ai->ai_addr, ai->ai_addrlen);
		int fd = socket(ai->ai_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				IPPROTO_TCP);
		if (fd < 0) {
			link->fail_err = -errno;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot open a TCP socket for %s: %s",
				 link->peer_name, strerror(errno));
			continue;
		}
		tcp_nodelay(fd);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			link->fail_err = -errno;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot reach %s: %s", link->peer_name,
				 strerror(errno));
			close(fd);
			continue;
		}
		/* Even a connect that completed at once is reported by
		 * the loop, never from inside connect(). */
		link->fd = fd;
		set_events(link, CV_EV_OUT);
		inst->api->timer_arm(link->timer,
				     (int64_t)inst->handshake_timeout * 1000);
		return true;
	}
	return false;
}

static void connect_failed(struct cv_link *link, int err)
{
	link->fail_err = -err;
	if (err == ECONNREFUSED)
		snprintf(link->fail_why, sizeof(link->fail_why),
			 "%s refused the TCP connection (is culvertd running there, with transport tls?)",
			 link->peer_name);
	else
		snprintf(link->fail_why, sizeof(link->fail_why),
			 "cannot reach %s: %s", link->peer_name, strerror(err));
	if (!client_try_next(link))
		client_fail(link, link->fail_err, link->fail_why);
}

static void client_connected(struct cv_link *link)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(link, err);
		return;
	}
	if (start_tls(link) < 0) {
		client_fail(link, -ENOMEM, "cannot start a TLS session");
		return;
	}
	handshake_step(link);
}

static int tls_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	/* A client has one connection; one still starting is abandoned. */
	for (struct cv_link *l = inst->links, *next; l; l = next) {
		next = l->next;
		if (l->state != LINK_UP)
			link_free(l);
	}
	int err = resolve(inst, "remote", false, &ai);
	if (err < 0)
		return err;
	struct cv_link *link = link_new(inst);
	if (!link) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	link->state = LINK_CONNECTING;
	link->addrs = link->next_addr = ai;
	if (!client_try_next(link)) {
		/* Reported from the loop, as any other failure. */
		link->state = LINK_FAILED;
		inst->api->timer_arm(link->timer, 0);
	}
	return 0;
}

/* ---- events */

static void on_link_timer(void *arg)
{
	struct cv_link *link = arg;
	struct cv_instance *inst = link->inst;
	char why[200];

	switch (link->state) {
	case LINK_FAILED:
		client_fail(link, link->fail_err, link->fail_why);
		return;
	case LINK_CONNECTING:
		link->fail_err = -ETIMEDOUT;
		snprintf(link->fail_why, sizeof(link->fail_why),
			 "no answer from %s within %u s (is 'remote' right? a firewall?)",
			 link->peer_name, inst->handshake_timeout);
		if (!client_try_next(link))
			client_fail(link, link->fail_err, link->fail_why);
		return;
	case LINK_HANDSHAKE:
		if (!inst->server) {
			snprintf(why, sizeof(why),
				 "the TLS handshake with %s did not finish within %u s (handshake-timeout)",
				 link->peer_name, inst->handshake_timeout);
			client_fail(link, -ETIMEDOUT, why);
			return;
		}
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
		handshake_step(link);
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

/* ---- server */

static void on_accept(void *arg, int fd, uint32_t events);

static void on_accept_resume(void *arg)
{
	struct cv_instance *inst = arg;

	if (inst->listen_fd >= 0)
		inst->api->watch(inst->host, inst->listen_fd, CV_EV_IN, on_accept,
				 inst);
}

static void accept_one(struct cv_instance *inst, int fd,
		       const struct sockaddr_storage *ss, socklen_t len)
{
	struct cv_link *link = link_new(inst);

	if (!link) {
		close(fd);
		return;
	}
	link->fd = fd;
	set_peer(link, (const struct sockaddr *)ss, len);
	if (inst->n_handshaking >= inst->max_handshakes) {
		/* Full: the oldest handshake goes, not the newest. A real
		 * client finishes within a round trip or two and is hardly
		 * ever the oldest; a flood that holds every place, and
		 * takes each freed one back at once, would otherwise keep
		 * real clients out for as long as it lasts. */
		struct cv_link *oldest = inst->hs_oldest;
		PEER_LOG(inst, CV_LOG_INFO,
			 "dropped %s: the oldest of %u handshakes under way, making room for %s (max-handshakes)",
			 oldest->peer_name, inst->n_handshaking, link->peer_name);
		link_free(oldest);
	}
	tcp_nodelay(fd);
	if (start_tls(link) < 0) {
		link_free(link);
		return;
	}
	set_events(link, CV_EV_IN);
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	for (unsigned int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int conn = accept4(inst->listen_fd, (struct sockaddr *)&ss, &len,
				   SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn >= 0) {
			accept_one(inst, conn, &ss, len);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* The connection stays queued and the listener
			 * readable: without a pause the loop would spin. */
			PEER_LOG(inst, CV_LOG_WARNING,
				 "cannot accept connections: %s; pausing for %d ms (raise the open files limit?)",
				 strerror(errno), ACCEPT_PAUSE_MS);
			inst->api->unwatch(inst->host, inst->listen_fd);
			inst->api->timer_arm(inst->accept_timer, ACCEPT_PAUSE_MS);
			return;
		}
		LOG(inst, CV_LOG_ERR, "accept: %s", strerror(errno));
		return;
	}
}

static int tls_listen(struct cv_instance *inst)
{
	const char *where = inst->api->config_get(inst->host, "listen");
	struct addrinfo *ai;
	int err = resolve(inst, "listen", true, &ai);

	if (err < 0)
		return err;
	inst->accept_timer = inst->api->timer_new(inst->host, on_accept_resume,
						  inst);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);
	if (!inst->accept_timer || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		LOG(inst, CV_LOG_ERR, "cannot open a TCP socket: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	int on = 1, off = 0;
	/* A restarted server must not wait out TIME_WAIT of its old
	 * connections before it can listen again. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)	/* [::] takes IPv4 clients too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot listen on %s (TCP): %s%s", where,
		    strerror(errno),
		    errno == EADDRINUSE ? " (another program, or another culvertd, has it)"
		    : errno == EADDRNOTAVAIL ? " (no interface here has that address)"
		    : "");
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	err = inst->api->watch(inst->host, fd, CV_EV_IN, on_accept, inst);
	if (err < 0) {
		close(fd);
		return err;
	}
	inst->listen_fd = fd;
	LOG(inst, CV_LOG_NOTICE, "listening on %s (TCP); clients %s", where,
	    inst->tls.require_client_cert
		    ? "need a certificate signed by 'ca'"
		    : "need no certificate (auth = password)");
	return 0;
}

/* ---- the table's entry points */

static int tls_create(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));
	char remote_host[256] = "";
	const char *port;

	if (!inst)
		return -ENOMEM;
	inst->api = api;
	inst->host = host;
	inst->listen_fd = -1;
	const char *mode = api->config_get(host, "mode");
	inst->server = mode && strcmp(mode, "server") == 0;
	int err = parse_number(inst, "handshake-timeout", 10, 1, 3600,
			       &inst->handshake_timeout);
	if (err == 0)
		err = parse_number(inst, "max-handshakes", 256, 1, 1000000,
				   &inst->max_handshakes);
	const char *remote = api->config_get(host, "remote");
	if (!inst->server && remote &&
	    split_endpoint(remote, remote_host, sizeof(remote_host), &port) < 0)
		remote_host[0] = '\0';
	if (err == 0)
		err = gtls_init(&inst->tls, api, host, inst->server,
				remote_host[0] ? remote_host : NULL,
				DEFAULT_PRIORITY);
	if (err < 0) {
		free(inst);
		return err;
	}
	*out = inst;
	return 0;
}

static int tls_send(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count)
{
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
		uint8_t *p = link->out + link->out_len;
		p[0] = (uint8_t)(len >> 8);
		p[1] = (uint8_t)len;
		memcpy(p + FRAME_HDR, msgs[i].data, len);
		link->out_len += FRAME_HDR + len;
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

static void tls_close(struct cv_instance *inst, struct cv_link *link)
{
	if (link->upcalls) {
		link->closed = true;
		return;
	}
	link_close_now(link);
}

static void tls_destroy(struct cv_instance *inst)
{
	/* One link per turn, each removing itself from the list. */
	while (inst->links)
		link_close_now(inst->links);
	if (inst->listen_fd >= 0) {
		inst->api->unwatch(inst->host, inst->listen_fd);
		close(inst->listen_fd);
	}
	if (inst->accept_timer)
		inst->api->timer_free(inst->accept_timer);
	gtls_deinit(&inst->tls);
	free(inst);
}

static const struct cv_option tls_options[] = {
	{ "listen", "where tls listens, if not the global listen (e.g. 0.0.0.0:443)" },
	{ "remote", "the server's tls endpoint, if not the global remote" },
	{ "priority", "GnuTLS priority string for tls only (default: TLS 1.3, or 1.2 at least)" },
	{ NULL, NULL },
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "tls",
	.description = "TLS over TCP (GnuTLS), with X.509 certificates; the fallback where UDP is blocked",
	.flags = CV_TRANSPORT_SECURE | CV_TRANSPORT_RELIABLE,
	.options = tls_options,
	.create = tls_create,
	.listen = tls_listen,
	.connect = tls_connect,
	.send = tls_send,
	.close = tls_close,
	.destroy = tls_destroy,
};
