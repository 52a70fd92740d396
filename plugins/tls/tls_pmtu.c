/*
 * tls_pmtu.c - how large the TCP segments of a tls link are: a clamp
 * ([tls] mtu), and the stall that lowers it when a path MTU black hole
 * swallows the full-sized ones.
 *
 * Every segment carries DF (endpoint_dont_fragment), and the kernel
 * sizes them by its path MTU discovery, which needs an ICMP "fragmentation
 * needed" from the router that cannot forward them. Where that ICMP is
 * filtered, full-sized segments vanish while the small ones of the
 * handshake pass: the link comes up and then carries nothing. Linux
 * notices that by itself only with net.ipv4.tcp_mtu_probing, which is
 * the whole host's (per network namespace) and off by default; it
 * offers no such switch per socket, and a connection's segment size,
 * once agreed, cannot be lowered from user space.
 *
 * So each end watches its own sending (TCP_INFO, once a second while a
 * link has segments in flight: a link's own timer, armed when it hands
 * its socket bytes and left alone once all are acknowledged, so that
 * idle links cost nothing and a gateway's 100,000 are never looked at
 * all at once): the oldest unacknowledged segment retransmitted
 * STALL_RETRANSMITS times in a row on timeouts, with nothing
 * acknowledged meanwhile, is a stall (random loss makes that once in
 * millions). It is a black hole only
 * while the peer is still heard: an ACK or data from it since the
 * stall began (its keepalive, at the latest after the keepalive
 * interval), or segments it acknowledged selectively (SACK: small ones
 * after the lost one arrived). A server with nothing to say stays
 * silent, though, and a client's probe waits behind the segments that
 * vanish: so a stalled client asks the path itself, at its second
 * timeout, with a new TCP connection to the server (its SYN and SYN-ACK
 * are small), reset at once; an answer cuts its next connections small
 * at once (the core may try one beside the stalled link before the
 * fourth timeout). An outage, a link down or a peer gone, is silent
 * both ways, that connection too, and must not cost a session that
 * would survive it. The end whose segments vanish ends the connection, and the next
 * one is smaller, for CLAMP_MS:
 *  - a client sets TCP_MAXSEG before it connects: its own segments fit,
 *    and the MSS its SYN announces makes the server's fit too;
 *  - a server cannot choose the segment size of a connection it
 *    accepts, so for the next connections from that address it hands
 *    the socket small writes, each its own segment (MSG_EOR keeps the
 *    kernel from joining them).
 * Either resets the stalled connection (a close would queue its FIN
 * behind the data that does not pass): the other end learns at once,
 * and a client's next session finds its old one gone, and gets its
 * inner address back.
 * Sizes step down 1280 (IPv6's minimum: nearly every path carries it),
 * then 1024, then 576 (IPv4's own minimum); IPv6 stops at 1280.
 */
#include <errno.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "tls.h"

#define WATCH_MS 1000
/* Retransmission timeouts of one segment in a row: 0.2 + 0.4 + 0.8 +
 * 1.6 s on a short path, about 3 s; at 5% random loss, one such stall
 * in several million timeouts. */
#define STALL_RETRANSMITS 4
/* A client's question to the path: after how many timeouts it is asked,
 * how long a connect may take to be an answer, and how often it is
 * asked again while the stall lasts. */
#define ASK_RETRANSMITS 2
#define ASK_TIMEOUT_MS 3000
#define ASK_AGAIN_MS 5000
/* How long a size learnt from a stall holds: as long as the kernel keeps
 * a path MTU it learnt from ICMP (net.ipv4.route.mtu_expires). */
#define CLAMP_MS (600 * 1000)
/* Bytes of TCP options a data segment may carry besides its data: a
 * small write must fit a packet of the clamp with all of them. */
#define TCP_OPTIONS_MAX 40

static const unsigned int steps[] = { 1280, 1024, 576 };

/* IP and TCP headers, without options. */
static unsigned int headers(int family)
{
	return family == AF_INET6 ? 40 + 20 : 20 + 20;
}

/* The next packet size to try below pkt on a path of family, or 0. */
static unsigned int step_below(unsigned int pkt, int family)
{
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] < pkt && (family != AF_INET6 || steps[i] >= 1280))
			return steps[i];
	return 0;
}

static unsigned int smaller(unsigned int a, unsigned int b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* The path MTU link's segments were cut for: its clamp, or the kernel's
 * own path MTU. */
static unsigned int link_pmtu(const struct cv_link *link,
			      const struct tcp_info *ti)
{
	return link->mtu ? link->mtu : ti->tcpi_pmtu;
}

static void on_watch(void *arg);

int tls_pmtu_init(struct cv_instance *inst)
{
	const struct cv_host_api *api = inst->gl.api;
	const char *value = api->config_get(inst->gl.host, "mtu");

	inst->mtu = 0;
	if (value && strcmp(value, "auto") != 0 &&
	    plugin_config_number(api, inst->gl.host, "mtu", 0, 576, 65535,
				 &inst->mtu) < 0)
		return -EINVAL;
	return 0;
}

/* ---- the client: TCP_MAXSEG before connect() */

/* A client's clamp after a stall: the process's, not an instance's. The
 * core tries a session beside one it doubts on a spare instance of the
 * transport, and the path that swallows one instance's segments
 * swallows the spare's: the spare must connect small at once. One word,
 * atomic: the clamp (low 16 bits) and until when, in ms (the rest). */
static _Atomic uint64_t client_clamp;

static void client_clamp_set(unsigned int mtu)
{
	client_clamp = (uint64_t)(plugin_now_ms() + CLAMP_MS) << 16 | mtu;
}

/* The path MTU the client's next connection is cut for: [tls] mtu, or
 * less while a stall's clamp holds; 0: the kernel's. */
static unsigned int client_mtu(struct cv_instance *inst)
{
	uint64_t c = client_clamp;
	unsigned int clamp = (int64_t)(c >> 16) > plugin_now_ms() ? c & 0xffff : 0;

	return smaller(inst->mtu, clamp);
}

void tls_pmtu_connecting(struct cv_link *link, int family)
{
	struct cv_instance *inst = link->inst;
	unsigned int mtu = client_mtu(inst);

	link->mtu = mtu;
	if (!mtu)
		return;
	int mss = (int)(mtu - headers(family));
	if (setsockopt(link->fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0) {
		LOG(inst, CV_LOG_WARNING,
		    "cannot limit TCP segments to %d bytes (TCP_MAXSEG): %s",
		    mss, strerror(errno));
		return;
	}
	LOG(inst, CV_LOG_INFO,
	    "connecting to %s in packets of at most %u bytes (TCP segments of %d)%s",
	    link->g.peer_name, mtu, mss,
	    mtu != inst->mtu ? ", since larger ones vanished" : "");
}

/* ---- the server: the listener's clamp, and small writes per host */

void tls_pmtu_listening(struct cv_instance *inst, int fd, int family)
{
	if (!inst->mtu)
		return;
	/* Accepted connections inherit it: both directions, every client. */
	int mss = (int)(inst->mtu - headers(family));
	if (setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)) < 0)
		LOG(inst, CV_LOG_WARNING,
		    "[tls] mtu = %u: cannot limit TCP segments to %d bytes (TCP_MAXSEG): %s",
		    inst->mtu, mss, strerror(errno));
}

static struct tls_clamp *clamp_of(struct cv_instance *inst,
				  const struct sockaddr_storage *peer)
{
	int64_t now = plugin_now_ms();

	for (unsigned int i = 0; i < TLS_CLAMPS; i++) {
		struct tls_clamp *c = &inst->clamps[i];
		if (c->mtu && now < c->until && endpoint_same_source(&c->host, peer, 128))
			return c;
	}
	return NULL;
}

static void clamp_host(struct cv_instance *inst,
		       const struct sockaddr_storage *peer, unsigned int mtu)
{
	struct tls_clamp *c = clamp_of(inst, peer), *oldest = &inst->clamps[0];

	for (unsigned int i = 0; !c && i < TLS_CLAMPS; i++) {
		if (inst->clamps[i].until < oldest->until)
			oldest = &inst->clamps[i];
	}
	if (!c)
		c = oldest;	/* an expired or the oldest slot */
	c->host = *peer;
	c->mtu = mtu;
	c->until = plugin_now_ms() + CLAMP_MS;
}

/* GnuTLS's push side for a link of small writes: each at most
 * link->chunk bytes, its own segment. */
static ssize_t chunked_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
			    int iovcnt)
{
	struct cv_link *link = ptr;
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left) {
			size_t n = left < link->chunk ? left : link->chunk;
			ssize_t sent = send(link->fd, p, n,
					    MSG_EOR | MSG_NOSIGNAL | MSG_DONTWAIT);
			if (sent < 0) {
				if (total)
					return (ssize_t)total;
				gnutls_transport_set_errno(link->g.tls, errno);
				return -1;
			}
			total += (size_t)sent;
			p += sent;
			left -= (size_t)sent;
			if ((size_t)sent < n)
				return (ssize_t)total;
		}
	}
	return (ssize_t)total;
}

void tls_pmtu_accepted(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	const struct tls_clamp *c = clamp_of(inst, &link->g.peer);

	link->mtu = inst->mtu;
	if (!c || (inst->mtu && inst->mtu <= c->mtu))
		return;
	link->mtu = c->mtu;
	link->chunk = c->mtu - headers(link->g.peer.ss_family) - TCP_OPTIONS_MAX;
	/* Reading stays as the link set it up (link_pull, bounded);
	 * writing is ours. */
	gnutls_transport_ptr_t recv_ptr, send_ptr;
	gnutls_transport_get_ptr2(link->g.tls, &recv_ptr, &send_ptr);
	gnutls_transport_set_ptr2(link->g.tls, recv_ptr, link);
	gnutls_transport_set_vec_push_function(link->g.tls, chunked_push);
	PEER_LOG(inst, CV_LOG_INFO,
		 "%s: sending in packets of at most %u bytes (larger ones vanished before)",
		 link->g.peer_name, c->mtu);
}

/* ---- the stall */

/* Why link stalls, in words. */
static void stall_why(const struct cv_link *link, const struct tcp_info *ti,
		      char *why, size_t size)
{
	int n = snprintf(why, size,
			 "packets of %u bytes to %s vanish while smaller ones pass: %u segments wait, the oldest retransmitted %u times (a path MTU black hole: a link on the way carries less, and no ICMP says so)",
			 link_pmtu(link, ti), link->g.peer_name,
			 ti->tcpi_unacked, ti->tcpi_retransmits);
	if (n < 0)
		why[0] = '\0';
}

/* A client's next connections, smaller: said once per stall. */
static void client_clamps(struct cv_link *link, const struct tcp_info *ti,
			  unsigned int next)
{
	char why[400];

	if (client_mtu(link->inst) && client_mtu(link->inst) <= next)
		return;
	client_clamp_set(next);
	stall_why(link, ti, why, sizeof(why));
	LOG(link->inst, CV_LOG_WARNING,
	    "%s; connecting again in packets of at most %u bytes ([tls] mtu sets a size for good)",
	    why, next);
}

static void stalled(struct cv_link *link, const struct tcp_info *ti,
		    unsigned int next)
{
	struct cv_instance *inst = link->inst;
	char why[400];

	stall_why(link, ti, why, sizeof(why));
	if (!inst->gl.server) {
		client_clamps(link, ti, next);
	} else {
		clamp_host(inst, &link->g.peer, next);
		LOG(inst, CV_LOG_WARNING,
		    "%s; resetting the connection: its next ones get packets of at most %u bytes for %d minutes ([tls] mtu sets a size for every client)",
		    why, next, CLAMP_MS / 60000);
	}
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(link->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	glink_lost(&link->g, -EMSGSIZE, why);
}

/* Whether the peer was heard since the link's stall began. */
static bool peer_heard(const struct cv_link *link, const struct tcp_info *ti,
		       int64_t now)
{
	int64_t since = now - link->stall_seen;

	return ti->tcpi_last_ack_recv < since || ti->tcpi_last_data_recv < since ||
	       ti->tcpi_sacked > 0;
}

/* ---- a client asks the path */

void tls_pmtu_forget(struct cv_link *link)
{
	if (link->ask_fd < 0)
		return;
	/* A reset: the server's end of it goes at once, not after a
	 * handshake timeout. */
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(link->ask_fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	close(link->ask_fd);
	link->ask_fd = -1;
}

static void ask(struct cv_link *link, int64_t now)
{
	struct cv_instance *inst = link->inst;
	const struct sockaddr_storage *peer = &link->g.peer;
	socklen_t len = peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						    : sizeof(struct sockaddr_in);
	int fd = socket(peer->ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	link->asked_at = now;
	if (fd < 0)
		return;
	/* Marked as the link is: the question must take the way the link
	 * takes, never the tunnel's. */
	if (endpoint_mark(inst->gl.api, inst->gl.host, fd) < 0 ||
	    (connect(fd, (const struct sockaddr *)peer, len) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return;
	}
	link->ask_fd = fd;
}

/* Whether the server answered a new connection while link stalls: the
 * answer comes at a later watch (false until then). */
static bool path_answers(struct cv_link *link, int64_t now)
{
	if (link->path_answered)
		return true;
	if (link->ask_fd < 0) {
		if (!link->asked_at || now - link->asked_at >= ASK_AGAIN_MS)
			ask(link, now);
		return false;
	}
	struct pollfd p = { .fd = link->ask_fd, .events = POLLOUT };
	if (poll(&p, 1, 0) <= 0) {
		if (now - link->asked_at >= ASK_TIMEOUT_MS)
			tls_pmtu_forget(link);
		return false;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(link->ask_fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	tls_pmtu_forget(link);
	link->path_answered = err == 0;
	return link->path_answered;
}

enum watch { WATCH_IDLE, WATCH_AGAIN, WATCH_GONE };

/* What link's sending looks like now: nothing in flight (the watch
 * rests until the next send), segments in flight, or a stall (then the
 * link is gone). A client's stall: its segments unanswered twice in a
 * row, while a new connection to the server comes up (small packets
 * pass): the next connections are cut smaller at once, for a session
 * the core tries beside this one; two timeouts later this one goes
 * too. */
static enum watch watch_link(struct cv_link *link)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int64_t now = plugin_now_ms();
	bool server = link->inst->gl.server;

	memset(&ti, 0, sizeof(ti));
	if (link->fd < 0 ||
	    getsockopt(link->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    ti.tcpi_state != TCP_ESTABLISHED || ti.tcpi_retransmits == 0) {
		link->stall_seen = 0;
		link->asked_at = 0;
		link->path_answered = false;
		tls_pmtu_forget(link);
		return ti.tcpi_unacked > 0 ? WATCH_AGAIN : WATCH_IDLE;
	}
	if (!link->stall_seen)
		link->stall_seen = now;
	unsigned int next = step_below(link_pmtu(link, &ti),
				       link->g.peer.ss_family);
	if (!next)
		return WATCH_AGAIN;	/* nothing smaller to try */
	bool answered = !server && ti.tcpi_retransmits >= ASK_RETRANSMITS &&
			path_answers(link, now);
	if (answered)
		client_clamps(link, &ti, next);
	if (ti.tcpi_retransmits < STALL_RETRANSMITS ||
	    (!answered && !peer_heard(link, &ti, now)))
		return WATCH_AGAIN;
	stalled(link, &ti, next);
	return WATCH_GONE;
}

static void on_watch(void *arg)
{
	struct cv_link *link = arg;

	link->watched = false;
	if (link->g.state != GLINK_UP || link->g.closed)
		return;
	/* In an upcall, the core may be ending the link: look later. */
	switch (link->g.upcalls ? WATCH_AGAIN : watch_link(link)) {
	case WATCH_AGAIN:
		link->watched = true;
		link->inst->gl.api->timer_arm(link->watch_timer, WATCH_MS);
		break;
	case WATCH_IDLE:
		break;
	case WATCH_GONE:
		return;		/* the core heard of it: link may be gone */
	}
}

void tls_pmtu_watch(struct cv_link *link)
{
	const struct cv_host_api *api = link->inst->gl.api;

	if (link->watched || link->g.state != GLINK_UP)
		return;
	if (!link->watch_timer &&
	    !(link->watch_timer = api->timer_new(link->inst->gl.host,
						 on_watch, link)))
		return;		/* no watch: a stall ends it by timeout */
	link->watched = true;
	api->timer_arm(link->watch_timer, WATCH_MS);
}

void tls_pmtu_unwatch(struct cv_link *link)
{
	if (link->watch_timer)
		link->inst->gl.api->timer_free(link->watch_timer);
	link->watch_timer = NULL;
	link->watched = false;
}
