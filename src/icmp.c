#include "icmp.h"

#include <string.h>

#define IP_DF 0x4000
#define IP_OFFSET 0x1fff
#define PROTO_ICMP 1
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

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
