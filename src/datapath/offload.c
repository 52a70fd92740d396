#include "offload.h"
#include "wire.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/virtio_net.h>

#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* ---- checksums */

/* Ones' complement sums are byte-order independent (RFC 1071, 2.B):
 * add the data as native words and store the result as it came out. */
uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t s = sum, v;

	for (; len >= 32; p += 32, len -= 32)
		for (int i = 0; i < 4; i++) {
			memcpy(&v, p + 8 * i, 8);
			s += v;
			s += s < v;	/* end-around carry */
		}
	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		s += v;
		s += s < v;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;
		memcpy(&w, p, 1);
		s += w;
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t csum_pseudo(const uint8_t *ip, int version, uint8_t proto,
		     uint32_t l4_len)
{
	uint32_t sum = version == 4 ? csum_add(0, ip + 12, 8)
				    : csum_add(0, ip + 8, 32);

	return sum + htons(proto) + htons((uint16_t)(l4_len >> 16)) +
	       htons((uint16_t)l4_len);
}

static void store_csum(uint8_t *field, uint16_t value)
{
	memcpy(field, &value, 2);
}

static void ipv4_header_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	store_csum(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, ihl)));
}

/* ---- the virtio-net header */

void offload_from_vnet(const uint8_t vnet[VNET_HDR_LEN],
		       struct cv_segmentation *seg)
{
	seg->flags = vnet[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM ? CV_MSG_NEEDS_CSUM
							   : 0;
	/* The ECN bit says CWR is set; the TCP header says it too. */
	seg->gso_type = vnet[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	seg->hdr_len = le16(vnet + 2);
	seg->gso_size = le16(vnet + 4);
	seg->csum_start = le16(vnet + 6);
	seg->csum_offset = le16(vnet + 8);
}

void offload_to_vnet(const uint8_t *pkt, const struct cv_segmentation *seg,
		     uint8_t vnet[VNET_HDR_LEN])
{
	vnet[0] = seg->flags & CV_MSG_NEEDS_CSUM ? VIRTIO_NET_HDR_F_NEEDS_CSUM
						 : 0;
	vnet[1] = seg->gso_type;
	/* CWR set: the kernel must keep it on the first segment only. */
	if ((seg->gso_type == CV_GSO_TCPV4 || seg->gso_type == CV_GSO_TCPV6) &&
	    (pkt[seg->csum_start + 13] & TCP_CWR))
		vnet[1] |= VIRTIO_NET_HDR_GSO_ECN;
	put_le16(vnet + 2, seg->hdr_len);
	put_le16(vnet + 4, seg->gso_size);
	put_le16(vnet + 6, seg->csum_start);
	put_le16(vnet + 8, seg->csum_offset);
}

void offload_vnet_shift(uint8_t vnet[VNET_HDR_LEN], size_t by)
{
	if (vnet[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		put_le16(vnet + 6, (uint16_t)(le16(vnet + 6) + by));
	if (le16(vnet + 2))
		put_le16(vnet + 2, (uint16_t)(le16(vnet + 2) + by));
}

/* ---- checking metadata */

/* The transport protocol a gso type segments over IP version `version`,
 * or 0 when the type is unknown or for the other version. */
static uint8_t gso_proto(uint8_t gso_type, int version)
{
	switch (gso_type) {
	case CV_GSO_TCPV4:
		return version == 4 ? PROTO_TCP : 0;
	case CV_GSO_TCPV6:
		return version == 6 ? PROTO_TCP : 0;
	case CV_GSO_UDP_L4:
		return PROTO_UDP;
	default:
		return 0;
	}
}

int offload_check(const uint8_t *pkt, size_t len, struct cv_segmentation *seg,
		  const char **why)
{
	size_t l4;
	uint8_t proto;
	int version = len ? pkt[0] >> 4 : 0;

	if (version == 4) {
		if (len < 20 || (size_t)(pkt[0] & 0x0f) * 4 < 20 ||
		    (size_t)(pkt[0] & 0x0f) * 4 > len || get16(pkt + 2) != len) {
			*why = "bad IPv4 header";
			return -EINVAL;
		}
		l4 = (size_t)(pkt[0] & 0x0f) * 4;
		proto = pkt[9];
		if (seg->gso_type != CV_GSO_NONE && (get16(pkt + 6) & 0x3fff)) {
			*why = "a fragment cannot be segmented";
			return -EINVAL;
		}
	} else if (version == 6) {
		if (len < 40 || get16(pkt + 4) + 40u != len) {
			*why = "bad IPv6 header";
			return -EINVAL;
		}
		l4 = 40;
		proto = pkt[6];
	} else {
		*why = "not an IP packet";
		return -EINVAL;
	}
	seg->csum_start = seg->csum_offset = 0;
	seg->hdr_len = 0;
	if (seg->gso_type != CV_GSO_NONE) {
		if (gso_proto(seg->gso_type, version) != proto) {
			*why = "segmentation type does not match the packet";
			return -EINVAL;
		}
		if (!(seg->flags & CV_MSG_NEEDS_CSUM) || seg->gso_size == 0) {
			*why = "segmentation without checksum offload or size";
			return -EINVAL;
		}
	}
	if (seg->flags & CV_MSG_NEEDS_CSUM) {
		size_t l4_min = proto == PROTO_TCP ? 20 : 8;
		if ((proto != PROTO_TCP && proto != PROTO_UDP) || l4 + l4_min > len) {
			*why = "checksum offload for a packet that is not TCP or UDP";
			return -EINVAL;
		}
		seg->csum_start = (uint16_t)l4;
		seg->csum_offset = proto == PROTO_TCP ? 16 : 6;
		seg->hdr_len = (uint16_t)(l4 + l4_min);
	}
	/* A UDP segment's headers end with its 8-byte UDP header. */
	if (seg->gso_type != CV_GSO_NONE && proto == PROTO_TCP) {
		size_t thl = (size_t)(pkt[l4 + 12] >> 4) * 4;
		if (thl < 20 || l4 + thl > len) {
			*why = "bad TCP header";
			return -EINVAL;
		}
		seg->hdr_len = (uint16_t)(l4 + thl);
	}
	return 0;
}

void offload_finish_csum(uint8_t *pkt, size_t len,
			 const struct cv_segmentation *seg)
{
	size_t start = seg->csum_start, field = start + seg->csum_offset;

	if (!(seg->flags & CV_MSG_NEEDS_CSUM) || field + 2 > len)
		return;
	/* The field holds the pseudo-header's sum: sum it with the rest. */
	uint16_t c = (uint16_t)~csum_fold(csum_add(0, pkt + start, len - start));
	if (c == 0 && seg->csum_offset == 6)
		c = 0xffff;	/* UDP: 0 would mean "no checksum" */
	store_csum(pkt + field, c);
}

/* ---- splitting */

unsigned int offload_segments(size_t len, const struct cv_segmentation *seg)
{
	size_t payload = len - seg->hdr_len;

	return payload ? (unsigned int)((payload + seg->gso_size - 1) /
					seg->gso_size)
		       : 1;
}

size_t offload_split_size(size_t len, const struct cv_segmentation *seg,
			  unsigned int per, size_t room)
{
	unsigned int n = (offload_segments(len, seg) + per - 1) / per;

	return len - seg->hdr_len + n * (room + seg->hdr_len);
}

/* The transport header of piece k of n, whose payload starts `off`
 * bytes into the large segment's and which has l4_len bytes of
 * transport header and payload: TCP's sequence number and flags (CWR on
 * the first piece only; FIN and PSH on the last), UDP's length. */
static void fix_l4(uint8_t *l4h, bool udp, uint32_t seq, size_t off,
		   size_t l4_len, unsigned int k, unsigned int n)
{
	if (udp) {
		put16(l4h + 4, (uint16_t)l4_len);
		return;
	}
	put32(l4h + 4, seq + (uint32_t)off);
	if (k > 0)
		l4h[13] &= (uint8_t)~TCP_CWR;
	if (k + 1 < n)
		l4h[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
}

/* A piece's checksum: whole (`done`), or only the pseudo-header's sum,
 * left to the kernel that finally sends or receives it. */
static void piece_csum(uint8_t *ip, int version, size_t l4, size_t total,
		       const struct cv_segmentation *seg, bool done)
{
	bool udp = seg->gso_type == CV_GSO_UDP_L4;
	uint8_t *l4h = ip + l4, *field = l4h + seg->csum_offset;
	uint32_t l4_len = (uint32_t)(total - l4);
	uint32_t pseudo = csum_pseudo(ip, version, udp ? PROTO_UDP : PROTO_TCP,
				      l4_len);

	if (!done) {
		store_csum(field, csum_fold(pseudo));
		return;
	}
	field[0] = field[1] = 0;
	uint16_t c = (uint16_t)~csum_fold(csum_add(pseudo, l4h, l4_len));
	if (udp && c == 0)
		c = 0xffff;	/* UDP: 0 would mean "no checksum" */
	store_csum(field, c);
}

unsigned int offload_split(const uint8_t *pkt, size_t len,
			   const struct cv_segmentation *seg, unsigned int per,
			   bool leave_csum, size_t room, uint8_t *out, size_t cap,
			   struct cv_msg *msgs, unsigned int max,
			   struct cv_segmentation *out_seg)
{
	size_t hl = seg->hdr_len, l4 = seg->csum_start;
	size_t payload = len - hl, chunk = (size_t)per * seg->gso_size;
	unsigned int n = (offload_segments(len, seg) + per - 1) / per;
	int version = pkt[0] >> 4;
	bool udp = seg->gso_type == CV_GSO_UDP_L4;
	uint32_t seq = get32(pkt + l4 + 4);
	uint16_t id = version == 4 ? get16(pkt + 4) : 0;
	size_t used = 0;

	if (n > max || offload_split_size(len, seg, per, room) > cap)
		return 0;
	for (unsigned int k = 0; k < n; k++) {
		size_t off = k * chunk;
		size_t plen = payload - off < chunk ? payload - off : chunk;
		size_t total = hl + plen;
		uint8_t *ip = out + used + room;

		memcpy(ip, pkt, hl);
		memcpy(ip + hl, pkt + hl + off, plen);
		if (version == 4) {
			put16(ip + 2, (uint16_t)total);
			put16(ip + 4, (uint16_t)(id + k));
			ipv4_header_csum(ip, l4);
		} else {
			put16(ip + 4, (uint16_t)(total - 40));
		}
		fix_l4(ip + l4, udp, seq, off, total - l4, k, n);
		piece_csum(ip, version, l4, total, seg, per == 1 && !leave_csum);
		msgs[k] = (struct cv_msg){ .data = out + used,
					   .len = room + total };
		used += room + total;
	}
	if (per > 1)
		*out_seg = *seg;
	else if (leave_csum)
		*out_seg = (struct cv_segmentation){
			.flags = CV_MSG_NEEDS_CSUM,
			.csum_start = seg->csum_start,
			.csum_offset = seg->csum_offset,
			.hdr_len = seg->hdr_len,
		};
	else
		*out_seg = (struct cv_segmentation){ 0 };
	return n;
}
