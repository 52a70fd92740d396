#include "gro.h"
#include "l2.h"
#include "wire.h"

#include <string.h>

#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_ACK 0x10
#define TCP_PSH 0x08
#define IP_MAX 65535

void gro_init(struct gro *g, const struct tun *tun)
{
	memset(g, 0, sizeof(*g));
	g->tun = tun;
	g->l2 = tun->tap ? TAP_ETH_HLEN : 0;
}

/* One packet as it came: partial NULL for checksums done (a zero
 * virtio-net header), else where its checksum left to do is. */
static void write_one(struct gro *g, const uint8_t *pkt, size_t len,
		      const struct cv_segmentation *partial)
{
	uint8_t vnet[VNET_HDR_LEN] = { 0 };

	if (partial) {
		offload_to_vnet(pkt + g->l2, partial, vnet);
		offload_vnet_shift(vnet, g->l2);
	}
	/* A full queue drops, as a router would. */
	if (tun_write(g->tun, vnet, pkt, len) < 0)
		g->write_failed++;
}

/* The TCP header length of a TCP packet that may be joined, or 0. */
static size_t tcp_candidate(const uint8_t *tcp, size_t l4, size_t len)
{
	size_t thl = (size_t)(tcp[12] >> 4) * 4;

	/* ACK, maybe PSH, nothing else; and some payload. */
	if (thl < 20 || (tcp[13] & (uint8_t)~TCP_PSH) != TCP_ACK ||
	    (tcp[12] & 0x0f) || l4 + thl >= len)
		return 0;
	return thl;
}

/* The IP and TCP (or UDP) header length of a packet that may be
 * joined, or 0; *udp for UDP, which is joined only where the kernel
 * takes large UDP segments back (uso). */
static size_t candidate(const uint8_t *pkt, size_t len, bool uso, size_t *l4,
			bool *udp)
{
	uint8_t proto;

	if (len < 40)
		return 0;
	if (pkt[0] == 0x45) {
		/* No fragment: DF alone may be set. */
		if (get16(pkt + 2) != len || (get16(pkt + 6) & 0xbfff))
			return 0;
		*l4 = 20;
		proto = pkt[9];
	} else if (pkt[0] >> 4 == 6) {
		if (len < 60 || get16(pkt + 4) + 40u != len)
			return 0;
		*l4 = 40;
		proto = pkt[6];
	} else {
		return 0;
	}
	*udp = proto == PROTO_UDP;
	if (proto == PROTO_TCP) {
		size_t thl = tcp_candidate(pkt + *l4, *l4, len);
		return thl ? *l4 + thl : 0;
	}
	/* UDP: its length that of the packet; some payload. */
	if (!*udp || !uso || get16(pkt + *l4 + 4) != len - *l4 ||
	    *l4 + 8 >= len)
		return 0;
	return *l4 + 8;
}

/* Checksums right: the kernel will not look at them again. (A UDP
 * datagram sent without a checksum, 0, fails: it goes alone.) */
static bool checksums_ok(const uint8_t *pkt, size_t len, size_t l4)
{
	int version = pkt[0] >> 4;
	uint8_t proto = version == 4 ? pkt[9] : pkt[6];

	if (version == 4 && csum_fold(csum_add(0, pkt, 20)) != 0xffff)
		return false;
	uint32_t sum = csum_pseudo(pkt, version, proto, (uint32_t)(len - l4));
	return csum_fold(csum_add(sum, pkt + l4, len - l4)) == 0xffff;
}

/* Whether pkt continues the held segments (pkt and len: the IP packet;
 * the Ethernet header before it, on TAP, the same as the first's). */
static bool joins(const struct gro *g, const uint8_t *pkt, size_t len,
		  size_t hl, size_t l4)
{
	const uint8_t *f = g->first + g->l2, *ft = f + g->l4, *t = pkt + l4;
	size_t plen = len - hl;

	if (g->l2 && memcmp(g->first, pkt - g->l2, g->l2) != 0)
		return false;
	if (g->closed || g->n >= GRO_MAX_SEGMENTS || hl != g->hdr_len ||
	    l4 != g->l4 || plen > g->mss ||
	    g->hdr_len + g->payload + plen > IP_MAX ||
	    (!g->udp && get32(t + 4) != g->next_seq))
		return false;
	if (l4 == 20) {
		/* Same version, TOS, flags, TTL, protocol, addresses. */
		if (memcmp(f, pkt, 2) || memcmp(f + 6, pkt + 6, 4) ||
		    memcmp(f + 12, pkt + 12, 8))
			return false;
	} else if (memcmp(f, pkt, 4) || memcmp(f + 6, pkt + 6, 34)) {
		return false;
	}
	/* UDP: the ports (the protocol is compared above). */
	if (g->udp)
		return memcmp(ft, t, 4) == 0;
	/* Ports; ack, header length, flags but PSH, window; options. */
	return memcmp(ft, t, 4) == 0 && memcmp(ft + 8, t + 8, 5) == 0 &&
	       (ft[13] & (uint8_t)~TCP_PSH) == (t[13] & (uint8_t)~TCP_PSH) &&
	       memcmp(ft + 14, t + 14, 2) == 0 &&
	       memcmp(ft + 20, t + 20, hl - l4 - 20) == 0;
}

static void hold(struct gro *g, const uint8_t *pkt, size_t len, size_t hl,
		 size_t l4, bool udp, const struct cv_segmentation *partial)
{
	g->n = 1;
	g->udp = udp;
	g->first = pkt - g->l2;
	g->first_len = len + g->l2;
	g->hdr_len = hl;
	g->l4 = l4;
	g->payload = g->mss = len - hl;
	g->next_seq = get32(pkt + l4 + 4) + (uint32_t)(len - hl);
	/* A checksum left to do has nothing to verify. */
	g->checked = g->partial = partial != NULL;
	if (partial)
		g->first_seg = *partial;
	g->closed = !udp && (pkt[l4 + 13] & TCP_PSH);
	g->iov[1] = (struct iovec){ (void *)(pkt + hl), len - hl };
}

void gro_flush(struct gro *g)
{
	if (g->n == 0)
		return;
	if (g->n == 1) {
		write_one(g, g->first, g->first_len,
			  g->partial ? &g->first_seg : NULL);
		g->n = 0;
		return;
	}
	/* One large segment: the first header with the total length, and
	 * the TCP or UDP checksum left to the kernel (the pseudo-header's
	 * sum). */
	uint8_t *vnet = g->head, *ip = g->head + VNET_HDR_LEN + g->l2;
	size_t total = g->hdr_len + g->payload;
	int version = g->first[g->l2] >> 4;
	struct cv_segmentation seg = {
		.flags = CV_MSG_NEEDS_CSUM,
		.gso_type = g->udp ? CV_GSO_UDP_L4
			  : version == 4 ? CV_GSO_TCPV4 : CV_GSO_TCPV6,
		.hdr_len = (uint16_t)g->hdr_len,
		.gso_size = (uint16_t)g->mss,
		.csum_start = (uint16_t)g->l4,
		.csum_offset = g->udp ? 6 : 16,
	};

	memcpy(ip - g->l2, g->first, g->l2 + g->hdr_len);
	if (g->udp)
		put16(ip + g->l4 + 4, (uint16_t)(total - g->l4));
	else if (g->closed)
		ip[g->l4 + 13] |= TCP_PSH;
	if (version == 4) {
		put16(ip + 2, (uint16_t)total);
		ip[10] = ip[11] = 0;
		uint16_t c = (uint16_t)~csum_fold(csum_add(0, ip, 20));
		memcpy(ip + 10, &c, 2);
	} else {
		put16(ip + 4, (uint16_t)(total - 40));
	}
	uint16_t c = csum_fold(csum_pseudo(ip, version,
					   g->udp ? PROTO_UDP : PROTO_TCP,
					   (uint32_t)(total - g->l4)));
	memcpy(ip + g->l4 + seg.csum_offset, &c, 2);
	offload_to_vnet(ip, &seg, vnet);
	offload_vnet_shift(vnet, g->l2);
	g->iov[0] = (struct iovec){ g->head, VNET_HDR_LEN + g->l2 + g->hdr_len };
	if (tun_writev(g->tun, g->iov, (int)g->n + 1) < 0)
		g->write_failed++;
	g->joined += g->n - 1;
	g->n = 0;
}

void gro_packet(struct gro *g, const uint8_t *frame, size_t flen,
		const struct cv_segmentation *partial)
{
	/* From here on pkt and len are the IP packet's. */
	const uint8_t *pkt = g->l2 ? l2_ip(frame, flen) : frame;
	size_t len = flen - g->l2, l4 = 0;
	bool udp = false;
	size_t hl = pkt ? candidate(pkt, len, g->tun->uso, &l4, &udp) : 0;

	if (!hl) {
		gro_flush(g);
		write_one(g, frame, flen, partial);
		return;
	}
	if (g->n && udp == g->udp && joins(g, pkt, len, hl, l4)) {
		if (!g->checked &&
		    !checksums_ok(g->first + g->l2, g->first_len - g->l2, g->l4)) {
			/* The held one goes alone; the kernel drops it. */
			gro_flush(g);
			hold(g, pkt, len, hl, l4, udp, partial);
			return;
		}
		g->checked = true;
		if (!partial && !checksums_ok(pkt, len, l4)) {
			gro_flush(g);
			write_one(g, frame, flen, NULL);
			return;
		}
		g->iov[++g->n] = (struct iovec){ (void *)(pkt + hl), len - hl };
		g->payload += len - hl;
		g->next_seq += (uint32_t)(len - hl);
		if (len - hl < g->mss || (!udp && (pkt[l4 + 13] & TCP_PSH)))
			g->closed = true;
		return;
	}
	gro_flush(g);
	hold(g, pkt, len, hl, l4, udp, partial);
}
