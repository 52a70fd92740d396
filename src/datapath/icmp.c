#include "icmp.h"
#include "wire.h"

#include <string.h>

#define IP_DF 0x4000
#define IP_OFFSET 0x1fff
#define PROTO_ICMP 1
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define PROTO_ICMPV6 58
#define ICMPV6_PACKET_TOO_BIG 2
#define IPV6_HEADER 40

/* The Internet checksum (RFC 1071) of len bytes. */
static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ICMP types that report errors; answering them could loop forever. */
static bool is_icmp_error(const uint8_t *pkt, size_t ihl, size_t len)
{
	if (pkt[9] != PROTO_ICMP || len < ihl + 1)
		return false;
	switch (pkt[ihl]) {
	case 3: case 4: case 5: case 11: case 12:
		return true;
	default:
		return false;
	}
}

size_t icmp_frag_needed(const uint8_t *pkt, size_t len,
			const struct cv_addr *from, uint16_t mtu,
			uint8_t out[ICMP_ANSWER_MAX])
{
	if (len < 20 || pkt[0] >> 4 != 4 || from->family != AF_INET)
		return 0;
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	uint16_t frag = get16(pkt + 6);
	if (ihl < 20 || ihl > len || !(frag & IP_DF) || (frag & IP_OFFSET) ||
	    is_icmp_error(pkt, ihl, len))
		return 0;

	size_t quoted = ihl + 8 <= len ? ihl + 8 : len;
	size_t total = 20 + 8 + quoted;
	uint8_t *ip = out, *icmp = out + 20;

	memset(out, 0, 28);
	ip[0] = 0x45;
	ip[1] = 0xc0;		/* precedence: internetwork control */
	put16(ip + 2, (uint16_t)total);
	ip[8] = 64;		/* TTL */
	ip[9] = PROTO_ICMP;
	memcpy(ip + 12, &from->v4, 4);
	memcpy(ip + 16, pkt + 12, 4);	/* back to the sender */
	put16(ip + 10, checksum(ip, 20));

	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	put16(icmp + 6, mtu);
	memcpy(icmp + 8, pkt, quoted);
	put16(icmp + 2, checksum(icmp, 8 + quoted));
	return total;
}

/* The checksum of an ICMPv6 message of len bytes at icmp, between the
 * IPv6 addresses at src and dst: the pseudo-header of RFC 8200 8.1 too. */
static uint16_t icmp6_checksum(const uint8_t *src, const uint8_t *dst,
			       const uint8_t *icmp, size_t len)
{
	uint32_t sum = 0;

	for (int i = 0; i < 16; i += 2)
		sum += get16(src + i) + get16(dst + i);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + PROTO_ICMPV6;
	sum += (uint16_t)~checksum(icmp, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t icmp6_packet_too_big(const uint8_t *pkt, size_t len,
			    const struct cv_addr *from, uint32_t mtu,
			    uint8_t out[ICMP6_ANSWER_MAX])
{
	static const uint8_t unspecified[16];

	if (len < IPV6_HEADER || pkt[0] >> 4 != 6 || from->family != AF_INET6)
		return 0;
	/* Nobody to tell (::), or a group rather than a sender (ff00::/8). */
	if (memcmp(pkt + 8, unspecified, 16) == 0 || pkt[8] == 0xff)
		return 0;
	/* Never an error about an error (RFC 4443 2.4 e): types below 128.
	 * Only a first header of ICMPv6 is looked at; an error behind
	 * extension headers is rare enough to get its answer. */
	if (pkt[6] == PROTO_ICMPV6 && len > IPV6_HEADER &&
	    pkt[IPV6_HEADER] < 128)
		return 0;

	size_t room = ICMP6_ANSWER_MAX - IPV6_HEADER - 8;
	size_t quoted = len < room ? len : room;
	size_t icmp_len = 8 + quoted;
	uint8_t *ip = out, *icmp = out + IPV6_HEADER;

	memset(out, 0, IPV6_HEADER + 8);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)icmp_len);
	ip[6] = PROTO_ICMPV6;
	ip[7] = 64;		/* hop limit */
	memcpy(ip + 8, &from->v6, 16);
	memcpy(ip + 24, pkt + 8, 16);	/* back to the sender */

	icmp[0] = ICMPV6_PACKET_TOO_BIG;
	put16(icmp + 4, (uint16_t)(mtu >> 16));
	put16(icmp + 6, (uint16_t)mtu);
	memcpy(icmp + 8, pkt, quoted);
	put16(icmp + 2, icmp6_checksum(ip + 8, ip + 24, icmp, icmp_len));
	return IPV6_HEADER + icmp_len;
}
