/*
 * TUN offloads: large TCP and UDP segments and checksums left to do.
 *
 * With IFF_VNET_HDR each packet read from or written to TUN starts with a
 * struct virtio_net_hdr. A read may then return one TCP segment of up to
 * 64 KiB that the kernel has not split (gso_type set, gso_size payload
 * bytes per wire packet: TSO), or, where the kernel has USO (Linux 6.2),
 * one UDP datagram that an application sent with UDP_SEGMENT and that
 * stands for gso_size-byte datagrams (gso_type CV_GSO_UDP_L4); any
 * packet may come with its L4 checksum not yet computed (NEEDS_CSUM: the
 * checksum field holds only the sum of the pseudo-header). This file
 * converts between that header and struct cv_segmentation, checks
 * segmentation metadata that came from a peer, and splits a large
 * segment into smaller ones in software for a link that cannot carry it
 * whole. Joining segments back is gro.c.
 */
#ifndef CULVERT_OFFLOAD_H
#define CULVERT_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

/* sizeof(struct virtio_net_hdr): the header TUN reads and writes. */
#define VNET_HDR_LEN 10

/* The smallest segment size a large segment from a peer may have: TCP's
 * default MSS (RFC 9293, 3.7.1), which every IPv4 path carries. A
 * smaller one would make one message thousands of tiny packets on the
 * LAN (gso size 1: 30,000 of them); a flow whose MSS is smaller still
 * (a peer that advertised one) is split before it is sent. */
#define OFFLOAD_GSO_SIZE_MIN 536
/* The most datagrams one large UDP segment may stand for: what Linux
 * lets an application send in one UDP_SEGMENT send (UDP_MAX_SEGMENTS
 * before Linux 6.14), so that any receiver's kernel takes it. */
#define OFFLOAD_UDP_SEGMENTS_MAX 64

/* virtio_net_hdr (little endian, as TUN uses it) <-> cv_segmentation. */
void offload_from_vnet(const uint8_t vnet[VNET_HDR_LEN],
		       struct cv_segmentation *seg);
/* For a packet pkt checked by offload_check. */
void offload_to_vnet(const uint8_t *pkt, const struct cv_segmentation *seg,
		     uint8_t vnet[VNET_HDR_LEN]);
/* The offsets of vnet counted from `by` bytes earlier: for a frame of a
 * TAP device, whose IP packet comes after its Ethernet header. */
void offload_vnet_shift(uint8_t vnet[VNET_HDR_LEN], size_t by);

/*
 * Check seg against pkt and fill what follows from the headers:
 * csum_start and csum_offset (TCP or UDP after the IP header), hdr_len
 * (IP and TCP or UDP headers). For segments from a peer (PROTO_DATA_GSO)
 * and from TUN alike: the kernel's hdr_len is not the header length.
 * Only a TCP segment (gso_type TCPV4 or TCPV6, as the IP version) or a
 * UDP one (UDP_L4) over IPv4 or IPv6 without extension headers may have
 * a gso_type. Returns 0 or -EINVAL (*why says what was wrong).
 */
int offload_check(const uint8_t *pkt, size_t len, struct cv_segmentation *seg,
		  const char **why);

/* Fill in a checksum left to do (CV_MSG_NEEDS_CSUM), in place. */
void offload_finish_csum(uint8_t *pkt, size_t len,
			 const struct cv_segmentation *seg);

/*
 * Split the large segment pkt (checked by offload_check) into packets of
 * `per` wire segments each: per == 1 gives plain packets with every
 * checksum computed (TCP: sequence numbers and flags fixed up; UDP: each
 * datagram's length, and a checksum of 0 sent as 0xffff), or with the
 * TCP or UDP checksum left to do when
 * leave_csum (for a peer that takes PROTO_DATA_PARTIAL); per > 1 gives
 * smaller large segments whose checksum is left to do. out_seg
 * describes each packet (the same for all).
 * Each packet is written to out after `room` bytes left free for the
 * caller (a type byte, a header); msgs[i] points at those free bytes,
 * len counting them. Returns the number of packets, or 0 when out
 * (cap bytes) or max messages are too few (see offload_split_size).
 */
unsigned int offload_split(const uint8_t *pkt, size_t len,
			   const struct cv_segmentation *seg, unsigned int per,
			   bool leave_csum, size_t room, uint8_t *out, size_t cap,
			   struct cv_msg *msgs, unsigned int max,
			   struct cv_segmentation *out_seg);

/* Wire segments in pkt, and the bytes offload_split needs for them. */
unsigned int offload_segments(size_t len, const struct cv_segmentation *seg);
size_t offload_split_size(size_t len, const struct cv_segmentation *seg,
			  unsigned int per, size_t room);

/* The Internet checksum (RFC 1071), not yet complemented, of len bytes
 * added to sum; in the byte order of the data (store it with memcpy). */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t csum_fold(uint32_t sum);
/* The pseudo-header of an IPv4 (src, dst 4 bytes) or IPv6 (16 bytes)
 * TCP or UDP packet, l4_len bytes of transport header and payload. */
uint32_t csum_pseudo(const uint8_t *ip, int version, uint8_t proto,
		     uint32_t l4_len);

#endif
