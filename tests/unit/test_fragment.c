/* IPv4 fragmentation: pieces that fit, offsets in 8-byte units, MF on
 * all but the last, right header checksums, options copied only where
 * RFC 791 says, and the pieces joined give back the packet. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "fragment.h"

#define HEAD 1	/* the type byte the datapath writes before each */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t sum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A UDP packet of len bytes, header ihl bytes (options after 20), from
 * 198.51.100.2 to 203.0.113.2, its payload counting up. */
static void udp_packet(uint8_t *pkt, size_t len, size_t ihl, uint16_t frag)
{
	for (size_t i = 0; i < len; i++)
		pkt[i] = (uint8_t)(i * 7);
	memset(pkt, 0, 20);
	pkt[0] = (uint8_t)(0x40 | ihl / 4);
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[4] = 0x12;
	pkt[5] = 0x34;		/* id */
	pkt[6] = (uint8_t)(frag >> 8);
	pkt[7] = (uint8_t)frag;
	pkt[8] = 64;
	pkt[9] = 17;
	inet_pton(AF_INET, "198.51.100.2", pkt + 12);
	inet_pton(AF_INET, "203.0.113.2", pkt + 16);
}

/* Put the fragments' data back in place by their offsets; returns the
 * data bytes seen, and checks every fragment's header. */
static size_t join(const struct cv_msg *msgs, unsigned int n, size_t mtu,
		   uint8_t *data, size_t base_off, bool last_mf)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *f = msgs[i].data + HEAD;
		size_t len = msgs[i].len - HEAD, hl = (size_t)(f[0] & 0x0f) * 4;
		uint16_t frag = get16(f + 6);
		ck_assert_uint_le(len, mtu);
		ck_assert_uint_eq(get16(f + 2), len);
		ck_assert_uint_eq(sum16(f, hl), 0xffff);
		ck_assert_uint_eq(get16(f + 4), 0x1234);	/* same id */
		ck_assert_uint_eq(frag & 0x4000, 0);		/* no DF */
		bool mf = frag & 0x2000;
		ck_assert(i + 1 < n ? mf : mf == last_mf);
		if (i + 1 < n)
			ck_assert_uint_eq((len - hl) % 8, 0);
		size_t off = (size_t)(frag & 0x1fff) * 8 - base_off;
		memcpy(data + off, f + hl, len - hl);
		total += len - hl;
	}
	return total;
}

START_TEST(cut_and_joined)
{
	uint8_t pkt[1400], out[4096], data[1400];
	struct cv_msg msgs[8];
	size_t bytes;

	udp_packet(pkt, sizeof(pkt), 20, 0);
	ck_assert(fragment_allowed(pkt, sizeof(pkt)));
	unsigned int n = fragment_count(pkt, sizeof(pkt), 1214, HEAD, &bytes);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(bytes, 2 * HEAD + 20 + 20 + 1380);
	n = fragment_ipv4(pkt, sizeof(pkt), 1214, HEAD, out, sizeof(out), msgs, 8);
	ck_assert_uint_eq(n, 2);
	/* 1214 - 20 = 1194, down to 1192 bytes of data in the first. */
	ck_assert_uint_eq(msgs[0].len, HEAD + 20 + 1192);
	ck_assert_uint_eq(join(msgs, n, 1214, data, 0, false), 1380);
	ck_assert_mem_eq(data, pkt + 20, 1380);
	/* Room for the type byte is left before each. */
	ck_assert_ptr_eq(msgs[0].data, out);
	ck_assert_ptr_eq(msgs[1].data, out + msgs[0].len);
}
END_TEST

START_TEST(small_mtu_many_pieces)
{
	uint8_t pkt[1400], out[8192], data[1400];
	struct cv_msg msgs[16];
	size_t bytes;

	udp_packet(pkt, sizeof(pkt), 20, 0);
	unsigned int n = fragment_count(pkt, sizeof(pkt), 576, HEAD, &bytes);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(fragment_ipv4(pkt, sizeof(pkt), 576, HEAD, out,
					sizeof(out), msgs, 16), 3);
	ck_assert_uint_eq(join(msgs, 3, 576, data, 0, false), 1380);
	ck_assert_mem_eq(data, pkt + 20, 1380);
	/* Too little room, or too few messages: nothing. */
	ck_assert_uint_eq(fragment_ipv4(pkt, sizeof(pkt), 576, HEAD, out,
					bytes - 1, msgs, 16), 0);
	ck_assert_uint_eq(fragment_ipv4(pkt, sizeof(pkt), 576, HEAD, out,
					sizeof(out), msgs, 2), 0);
}
END_TEST

START_TEST(options_copied_only_when_marked)
{
	uint8_t pkt[1000], out[4096], data[1000];
	struct cv_msg msgs[8];

	udp_packet(pkt, sizeof(pkt), 32, 0);
	/* NOP, then a 4-byte option not copied (0x44: timestamp class),
	 * then a 3-byte one that is (0x82), then EOL and padding. */
	const uint8_t opts[12] = { 1, 0x44, 4, 0, 0, 0x82, 3, 9, 0, 0, 0, 0 };
	memcpy(pkt + 20, opts, sizeof(opts));
	unsigned int n = fragment_ipv4(pkt, sizeof(pkt), 500, HEAD, out,
				       sizeof(out), msgs, 8);
	ck_assert_uint_ge(n, 2);
	/* The first keeps them all. */
	ck_assert_uint_eq(msgs[0].data[HEAD] & 0x0f, 8);
	ck_assert_mem_eq(msgs[0].data + HEAD + 20, opts, sizeof(opts));
	/* The others only the copied one, padded to 4 bytes. */
	const uint8_t *f = msgs[1].data + HEAD;
	ck_assert_uint_eq(f[0] & 0x0f, 6);
	const uint8_t later[4] = { 0x82, 3, 9, 0 };
	ck_assert_mem_eq(f + 20, later, 4);
	ck_assert_uint_eq(join(msgs, n, 500, data, 0, false), 1000 - 32);
	ck_assert_mem_eq(data, pkt + 32, 1000 - 32);
}
END_TEST

START_TEST(a_fragment_cut_again)
{
	uint8_t pkt[1400], out[4096], data[1400];
	struct cv_msg msgs[8];

	/* A middle fragment (MF, offset 185 * 8 = 1480) keeps both. */
	udp_packet(pkt, sizeof(pkt), 20, 0x2000 | 185);
	unsigned int n = fragment_ipv4(pkt, sizeof(pkt), 1000, HEAD, out,
				       sizeof(out), msgs, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(get16(msgs[0].data + HEAD + 6) & 0x1fff, 185);
	ck_assert_uint_eq(join(msgs, n, 1000, data, 1480, true), 1380);
	ck_assert_mem_eq(data, pkt + 20, 1380);
	/* The last fragment of a packet keeps MF off. */
	udp_packet(pkt, sizeof(pkt), 20, 185);
	n = fragment_ipv4(pkt, sizeof(pkt), 1000, HEAD, out, sizeof(out), msgs, 8);
	ck_assert_uint_eq(join(msgs, n, 1000, data, 1480, false), 1380);
}
END_TEST

START_TEST(not_cut)
{
	uint8_t pkt[1400];
	size_t bytes;

	udp_packet(pkt, sizeof(pkt), 20, 0x4000);
	ck_assert(!fragment_allowed(pkt, sizeof(pkt)));	/* DF */
	udp_packet(pkt, sizeof(pkt), 20, 0);
	ck_assert(!fragment_allowed(pkt, sizeof(pkt) - 1));	/* length lies */
	pkt[0] = 0x60;
	ck_assert(!fragment_allowed(pkt, sizeof(pkt)));	/* IPv6 */
	udp_packet(pkt, sizeof(pkt), 20, 0);
	/* An MTU with no room for 8 bytes after the header. */
	ck_assert_uint_eq(fragment_count(pkt, sizeof(pkt), 27, HEAD, &bytes), 0);
	/* A packet that fits is one piece. */
	ck_assert_uint_eq(fragment_count(pkt, sizeof(pkt), 1400, HEAD, &bytes), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fragment");
	TCase *tc = tcase_create("ipv4");

	tcase_add_test(tc, cut_and_joined);
	tcase_add_test(tc, small_mtu_many_pieces);
	tcase_add_test(tc, options_copied_only_when_marked);
	tcase_add_test(tc, a_fragment_cut_again);
	tcase_add_test(tc, not_cut);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
