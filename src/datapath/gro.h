/*
 * Receive coalescing in userspace (GRO): consecutive TCP segments of one
 * connection that a peer sent as separate packets (over udp and dtls)
 * are joined into one large segment and written into TUN at once, with
 * a virtio-net header that lets the kernel treat it as one packet, or
 * split it again where it must. One write instead of dozens is most of
 * the receiving side's cost.
 *
 * Only the plain case is joined, as the kernel's own GRO does: IPv4
 * without options or IPv6 without extension headers, TCP with ACK (and
 * PSH on the last), no SYN, FIN, RST, URG or ECN signal, equal headers
 * and options, sequence numbers in order, all but the last segment of
 * the same size. Where the kernel takes large UDP segments (USO),
 * consecutive UDP datagrams of one flow are joined too, all but the
 * last of the same size: the kernel cuts them apart again at the same
 * places (or hands them whole to a socket that asked, UDP_GRO), so one
 * write carries what an application sent with UDP_SEGMENT. Checksums of joined packets are verified first, since
 * the joined packet's checksum is left to the kernel, unless the peer
 * left them to do in the first place (PROTO_DATA_PARTIAL). Anything
 * else is written as it came.
 *
 * Packets are borrowed: they must stay valid until gro_flush().
 *
 * On a TAP device packets are Ethernet frames: only frames with the
 * same Ethernet header are joined, and the segment written carries it.
 */
#ifndef CULVERT_GRO_H
#define CULVERT_GRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "offload.h"
#include "tun.h"

/* Segments joined into one write at most (64 KiB of 1400-byte ones). */
#define GRO_MAX_SEGMENTS 64

struct gro {
	const struct tun *tun;	/* opened with offloads (vnet_hdr) */
	size_t l2;		/* a frame's Ethernet header (TAP), or 0 */
	uint64_t joined;	/* packets that went out inside another */
	uint64_t write_failed;	/* writes the kernel refused (queue full) */

	unsigned int n;		/* segments held; 0: none */
	const uint8_t *first;	/* the first one, as it came (a frame on TAP) */
	size_t first_len;
	size_t hdr_len, l4;	/* its IP + TCP (UDP) header length; IP alone
				 * (after the Ethernet header on TAP) */
	size_t payload;		/* bytes after the headers, all segments */
	size_t mss;		/* the first segment's payload */
	uint32_t next_seq;
	bool checked;		/* the first segment's checksums verified */
	bool partial;		/* the first one's checksum left to do */
	struct cv_segmentation first_seg;	/* then, where it is */
	bool closed;		/* the last one was short or had PSH */
	bool udp;		/* the held ones are UDP datagrams */
	uint8_t head[VNET_HDR_LEN + TAP_ETH_HLEN + 60 + 60];
	struct iovec iov[GRO_MAX_SEGMENTS + 1];
};

void gro_init(struct gro *g, const struct tun *tun);
/* Take one packet for TUN: join it to the held ones, or write those and
 * hold this one, or write both. Counts what it writes into TUN. partial:
 * NULL for a packet with its checksums done, or where its checksum left
 * to do is (from offload_check, counted from the IP packet on TAP). */
void gro_packet(struct gro *g, const uint8_t *pkt, size_t len,
		const struct cv_segmentation *partial);
/* Write what is held. */
void gro_flush(struct gro *g);

#endif
