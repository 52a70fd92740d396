#include "datapath.h"

#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "icmp.h"
#include "log.h"
#include "loop.h"
#include "proto.h"
#include "route.h"
#include "session.h"

/* Packets read from TUN per wakeup: enough to amortise the wakeup and the
 * plugin's send over many packets, few enough to stay fair to peers. */
#define BATCH 64
/* A TUN read never returns more than the largest IP packet. */
#define PACKET_MAX 65535

struct datapath {
	struct daemon *daemon;
	/* One buffer per batch slot; byte 0 is the type byte, so a packet
	 * read at offset 1 is a data message without a copy. */
	uint8_t *buf[BATCH];
	struct cv_msg msgs[BATCH];
};

int datapath_new(struct daemon *d, struct datapath **out)
{
	struct datapath *dp = calloc(1, sizeof(*dp));

	if (!dp)
		return -ENOMEM;
	dp->daemon = d;
	for (int i = 0; i < BATCH; i++) {
		/* Large and untouched until used: the kernel backs only the
		 * pages a packet actually reaches. */
		dp->buf[i] = malloc(PACKET_MAX + 1);
		if (!dp->buf[i]) {
			datapath_free(dp);
			return -ENOMEM;
		}
		dp->buf[i][0] = PROTO_DATA;
	}
	*out = dp;
	return 0;
}

void datapath_free(struct datapath *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < BATCH; i++)
		free(dp->buf[i]);
	free(dp);
}

/* The family and the address at `field` (IPv4: 12 source, 16
 * destination; IPv6: 8 and 24) of an IP packet, or 0 if it is too short
 * to be one. */
static int packet_addr(const uint8_t *pkt, size_t len, bool source,
		       const uint8_t **addr)
{
	if (len >= sizeof(struct iphdr) && pkt[0] >> 4 == 4) {
		*addr = pkt + (source ? 12 : 16);
		return AF_INET;
	}
	if (len >= sizeof(struct ip6_hdr) && pkt[0] >> 4 == 6) {
		*addr = pkt + (source ? 8 : 24);
		return AF_INET6;
	}
	return 0;
}

static struct cv_session *session_for(struct daemon *d, const uint8_t *pkt,
				      size_t len)
{
	if (d->cfg->mode == MODE_CLIENT)
		return d->client && d->client->state == SESSION_UP ? d->client
								   : NULL;
	const uint8_t *dst;
	int family = packet_addr(pkt, len, false, &dst);
	if (!family)
		return NULL;
	struct cv_session *s = route_lookup(d->routes, family, dst);
	return s && s->state == SESSION_UP ? s : NULL;
}

static void flush(struct datapath *dp, struct cv_session *s,
		  const struct cv_msg *msgs, unsigned int count)
{
	if (!s || count == 0)
		return;
	if (session_send(s, msgs, count) < 0)
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send");
}

/* A packet larger than its session's link carries: tell the sender the
 * size that fits, as a router on the path would. */
static void too_big(struct datapath *dp, const uint8_t *pkt, size_t len,
		    size_t fits)
{
	struct daemon *d = dp->daemon;
	uint8_t answer[ICMP6_ANSWER_MAX];
	/* Sent as if from the packet's destination: the kernel drops what
	 * arrives on cv0 from one of its own addresses (the gateway's inner
	 * address), and a sender takes the MTU from any ICMP error that
	 * quotes its packet. */
	struct cv_addr from;
	const uint8_t *dst;
	size_t n = 0;

	from.family = (sa_family_t)packet_addr(pkt, len, false, &dst);
	if (from.family == AF_INET) {
		memcpy(&from.v4, dst, 4);
		n = icmp_frag_needed(pkt, len, &from,
				     (uint16_t)(fits < 65535 ? fits : 65535),
				     answer);
	} else if (from.family == AF_INET6) {
		memcpy(&from.v6, dst, 16);
		n = icmp6_packet_too_big(pkt, len, &from, (uint32_t)fits,
					 answer);
	}
	d->counters.too_big++;
	if (n > 0 && write(d->tun.fd, answer, n) < 0)
		d->counters.tun_full++;
}

static void on_tun_readable(void *arg, int fd, uint32_t events)
{
	struct datapath *dp = arg;
	struct daemon *d = dp->daemon;
	struct cv_session *batch_session = NULL;
	unsigned int first = 0, n = 0, reads = 0;

	/* Runs of packets for the same session go out in one send(). */
	/* Bounded also when every packet is dropped, so that a flood into
	 * TUN cannot starve the other fds. */
	while (n < BATCH && reads++ < 2 * BATCH) {
		ssize_t len = read(fd, dp->buf[n] + 1, PACKET_MAX);
		if (len < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("reading %s: %s", d->tun.name,
					 strerror(errno));
			break;
		}
		struct cv_session *s = session_for(d, dp->buf[n] + 1, (size_t)len);
		if (!s) {
			d->counters.no_route++;
			continue;
		}
		if (s->max_msg && (size_t)len + 1 > s->max_msg) {
			too_big(dp, dp->buf[n] + 1, (size_t)len, s->max_msg - 1);
			continue;
		}
		if (s != batch_session) {
			/* Ending batch_session here cannot free s. */
			flush(dp, batch_session, dp->msgs + first, n - first);
			batch_session = s;
			first = n;
		}
		dp->msgs[n] = (struct cv_msg){ .data = dp->buf[n],
					       .len = (size_t)len + 1 };
		d->counters.tx_packets++;
		d->counters.tx_bytes += (uint64_t)len;
		s->tx_packets++;
		s->tx_bytes += (uint64_t)len;
		n++;
	}
	flush(dp, batch_session, dp->msgs + first, n - first);
}

int datapath_start(struct datapath *dp)
{
	struct daemon *d = dp->daemon;

	return loop_watch(d->loop, d->tun.fd, CV_EV_IN, on_tun_readable, dp);
}

/* The same for IPv6: only the address leased from pool6. A link-local
 * source is refused too: culvertd gives the tunnel none, so one can only
 * be made up, and the gateway would forward nothing from it anyway. */
static bool source6_allowed(const struct cv_session *s, const uint8_t *src)
{
	return s->has_inner6 && memcmp(src, &s->inner6.v6, 16) == 0;
}

/* A server accepts from a session only packets from the address it
 * leased to it; anything else would let one client speak as another. */
static bool source_allowed(const struct cv_session *s, const uint8_t *pkt,
			   size_t len)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	if (s->daemon->cfg->mode == MODE_CLIENT)
		return family != 0;	/* the server forwards for many */
	if (family == AF_INET6)
		return source6_allowed(s, src);
	if (family != AF_INET || !s->has_inner)
		return false;
	return memcmp(src, &s->inner.v4, 4) == 0;
}

/* to_other_client for an IPv6 destination dst (16 bytes): inside pool6,
 * and not the gateway's own ::1. */
static bool to_other_client6(const struct daemon *d, const uint8_t *dst)
{
	struct cv_addr a = { .family = AF_INET6 };

	if (!d->cfg->has_pool6)
		return false;
	memcpy(&a.v6, dst, 16);
	return prefix_contains(&d->cfg->pool6, &a) &&
	       !addr_equal(&a, &d->server_addr6.addr);
}

/* Whether a server should refuse to pass pkt from one client to another:
 * clients are strangers to each other unless client-to-client = yes. */
static bool to_other_client(const struct daemon *d, const uint8_t *pkt,
			    size_t len)
{
	const uint8_t *dst;

	if (d->cfg->mode != MODE_SERVER || d->cfg->client_to_client)
		return false;
	int family = packet_addr(pkt, len, false, &dst);
	if (family == AF_INET6)
		return to_other_client6(d, dst);
	if (family != AF_INET)
		return false;
	struct cv_addr a = { .family = AF_INET };
	memcpy(&a.v4, dst, 4);
	return prefix_contains(&d->cfg->pool, &a) &&
	       !addr_equal(&a, &d->server_addr.addr);
}

static void deliver_data(struct datapath *dp, struct cv_session *s,
			 const uint8_t *pkt, size_t len)
{
	struct daemon *d = dp->daemon;

	if (s->state != SESSION_UP) {
		d->counters.before_hello++;
		return;
	}
	if (!source_allowed(s, pkt, len)) {
		d->counters.spoofed_source++;
		return;
	}
	if (to_other_client(d, pkt, len)) {
		d->counters.client_to_client++;
		return;
	}
	if (write(d->tun.fd, pkt, len) < 0) {
		/* The kernel's queue is full: drop, as a router would. */
		d->counters.tun_full++;
		return;
	}
	d->counters.rx_packets++;
	d->counters.rx_bytes += len;
	s->rx_packets++;
	s->rx_bytes += len;
}

void datapath_deliver(struct datapath *dp, struct cv_session *s,
		      const struct cv_msg *msgs, unsigned int count)
{
	struct daemon *d = dp->daemon;

	for (unsigned int i = 0; i < count; i++) {
		if (msgs[i].len == 0) {
			d->counters.malformed++;
			continue;
		}
		if (msgs[i].data[0] == PROTO_DATA) {
			s->last_rx = loop_now(d->loop);
			deliver_data(dp, s, msgs[i].data + 1, msgs[i].len - 1);
			continue;
		}
		if (!session_control(s, msgs[i].data, msgs[i].len)) {
			/* The session ended: the rest of the batch has no
			 * one to go to. */
			d->counters.after_end += count - i - 1;
			return;
		}
	}
}
