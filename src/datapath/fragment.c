#include "fragment.h"
#include "offload.h"
#include "wire.h"

#include <string.h>

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_COPIED 0x80

/* The header's length, or 0 when pkt is no IPv4 packet we would cut. */
static size_t header_len(const uint8_t *pkt, size_t len)
{
	if (len < 20 || pkt[0] >> 4 != 4)
		return 0;
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < 20 || ihl >= len || get16(pkt + 2) != len)
		return 0;
	return ihl;
}

bool fragment_allowed(const uint8_t *pkt, size_t len)
{
	return header_len(pkt, len) && !(get16(pkt + 6) & IP_DF);
}

/* The header of the fragments after the first: the fixed part and the
 * options whose copied flag is set, padded with EOL to 4 bytes. Returns
 * its length. */
static size_t later_header(const uint8_t *pkt, size_t ihl, uint8_t out[60])
{
	size_t n = 20, i = 20;

	memcpy(out, pkt, 20);
	while (i < ihl) {
		uint8_t type = pkt[i];
		if (type == OPT_EOL)
			break;
		if (type == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= ihl || pkt[i + 1] < 2 || i + pkt[i + 1] > ihl)
			break;		/* malformed: copy no more */
		if (type & OPT_COPIED) {
			memcpy(out + n, pkt + i, pkt[i + 1]);
			n += pkt[i + 1];
		}
		i += pkt[i + 1];
	}
	while (n % 4)
		out[n++] = OPT_EOL;
	out[0] = (uint8_t)(0x40 | n / 4);
	return n;
}

/* Data bytes per fragment with a header of hl bytes: a multiple of 8,
 * since the offset field counts 8-byte units. */
static size_t per_fragment(size_t mtu, size_t hl)
{
	return mtu > hl ? (mtu - hl) & ~(size_t)7 : 0;
}

unsigned int fragment_count(const uint8_t *pkt, size_t len, size_t mtu,
			    size_t head, size_t *bytes)
{
	uint8_t later[60];
	size_t ihl = header_len(pkt, len);

	if (!ihl)
		return 0;
	size_t lhl = later_header(pkt, ihl, later);
	size_t first = per_fragment(mtu, ihl), rest = per_fragment(mtu, lhl);
	if (first == 0 || rest == 0)
		return 0;
	size_t data = len - ihl;
	if (len <= mtu) {
		*bytes = head + len;
		return 1;
	}
	size_t n = 1 + (data - first + rest - 1) / rest;
	*bytes = n * head + ihl + (n - 1) * lhl + data;
	return (unsigned int)n;
}

/* One fragment: hdr (hl bytes) with its length, offset and checksum
 * set, then n data bytes, at out. */
static void put_fragment(uint8_t *out, const uint8_t *hdr, size_t hl,
			 const uint8_t *data, size_t n, uint16_t frag)
{
	memcpy(out, hdr, hl);
	memcpy(out + hl, data, n);
	put16(out + 2, (uint16_t)(hl + n));
	put16(out + 6, frag);
	put16(out + 10, 0);
	/* In the data's byte order, as csum_add sums it. */
	uint16_t csum = (uint16_t)~csum_fold(csum_add(0, out, hl));
	memcpy(out + 10, &csum, 2);
}

unsigned int fragment_ipv4(const uint8_t *pkt, size_t len, size_t mtu,
			   size_t head, uint8_t *out, size_t room,
			   struct cv_msg *msgs, unsigned int max_msgs)
{
	uint8_t later[60];
	size_t bytes;
	unsigned int count = fragment_count(pkt, len, mtu, head, &bytes);

	if (count == 0 || count > max_msgs || bytes > room)
		return 0;
	size_t ihl = header_len(pkt, len), lhl = later_header(pkt, ihl, later);
	/* The packet may be a fragment itself: its pieces keep its offset,
	 * and the last keeps its MF. */
	uint16_t frag = get16(pkt + 6);
	size_t offset = (size_t)(frag & IP_OFFSET) * 8;
	const uint8_t *data = pkt + ihl;
	size_t left = len - ihl, at = 0;

	for (unsigned int i = 0; i < count; i++) {
		const uint8_t *hdr = i == 0 ? pkt : later;
		size_t hl = i == 0 ? ihl : lhl;
		size_t n = per_fragment(mtu, hl);
		bool last = n >= left;
		if (last)
			n = left;
		uint16_t f = (uint16_t)((frag & ~(IP_OFFSET | IP_MF)) |
					((offset / 8) & IP_OFFSET) |
					(last ? frag & IP_MF : IP_MF));
		put_fragment(out + at + head, hdr, hl, data, n, f);
		msgs[i] = (struct cv_msg){ .data = out + at, .len = head + hl + n };
		at += head + hl + n;
		data += n;
		left -= n;
		offset += n;
	}
	return count;
}
