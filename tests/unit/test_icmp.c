/* The "fragmentation needed" answer: right fields, right checksums, and
 * silence where RFC 1122 and RFC 1191 ask for it. */
#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "icmp.h"

static uint16_t sum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A 1500-byte TCP packet from 198.51.100.2 to 203.0.113.2, DF set. */
static void tcp_packet(uint8_t *pkt, size_t len)
{
	memset(pkt, 0xab, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[6] = 0x40;		/* DF */
	pkt[7] = 0;
	pkt[8] = 63;
	pkt[9] = 6;		/* TCP */
	inet_pton(AF_INET, "198.51.100.2", pkt + 12);
	inet_pton(AF_INET, "203.0.113.2", pkt + 16);
}

static struct cv_addr gateway(void)
{
	struct cv_addr a = { .family = AF_INET };

	inet_pton(AF_INET, "203.0.113.1", &a.v4);
	return a;
}

START_TEST(answer_fields)
{
	uint8_t pkt[1500], out[ICMP_ANSWER_MAX];
	struct cv_addr gw = gateway();

	tcp_packet(pkt, sizeof(pkt));
	size_t n = icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out);
	ck_assert_uint_eq(n, 20 + 8 + 20 + 8);
	ck_assert_uint_eq(out[0], 0x45);
	ck_assert_uint_eq((size_t)(out[2] << 8 | out[3]), n);
	ck_assert_uint_eq(out[9], 1);				/* ICMP */
	ck_assert_mem_eq(out + 12, &gw.v4, 4);			/* from the gateway */
	ck_assert_mem_eq(out + 16, pkt + 12, 4);		/* to the sender */
	ck_assert_uint_eq(sum16(out, 20), 0xffff);		/* IP checksum */
	ck_assert_uint_eq(out[20], 3);				/* unreachable */
	ck_assert_uint_eq(out[21], 4);				/* fragmentation needed */
	ck_assert_uint_eq(out[26] << 8 | out[27], 1371);	/* next-hop MTU */
	ck_assert_mem_eq(out + 28, pkt, 28);			/* header + 8 bytes */
	ck_assert_uint_eq(sum16(out + 20, n - 20), 0xffff);	/* ICMP checksum */
}
END_TEST

START_TEST(no_answer)
{
	uint8_t pkt[1500], out[ICMP_ANSWER_MAX];
	struct cv_addr gw = gateway();

	tcp_packet(pkt, sizeof(pkt));
	pkt[6] = 0;		/* no DF: it may be fragmented */
	ck_assert_uint_eq(icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out), 0);

	tcp_packet(pkt, sizeof(pkt));
	pkt[6] = 0x40;
	pkt[7] = 0x10;		/* not the first fragment */
	ck_assert_uint_eq(icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out), 0);

	tcp_packet(pkt, sizeof(pkt));
	pkt[9] = 1;		/* ICMP ... */
	pkt[20] = 3;		/* ... an error itself */
	ck_assert_uint_eq(icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out), 0);
	pkt[20] = 8;		/* an echo request gets its answer */
	ck_assert_uint_gt(icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out), 0);

	tcp_packet(pkt, sizeof(pkt));
	pkt[0] = 0x60;		/* IPv6 */
	ck_assert_uint_eq(icmp_frag_needed(pkt, sizeof(pkt), &gw, 1371, out), 0);

	tcp_packet(pkt, sizeof(pkt));
	pkt[0] = 0x4f;		/* a header longer than the packet */
	ck_assert_uint_eq(icmp_frag_needed(pkt, 40, &gw, 1371, out), 0);
	ck_assert_uint_eq(icmp_frag_needed(pkt, 10, &gw, 1371, out), 0);
}
END_TEST

START_TEST(short_payload_quoted_whole)
{
	uint8_t pkt[24], out[ICMP_ANSWER_MAX];
	struct cv_addr gw = gateway();

	tcp_packet(pkt, sizeof(pkt));
	size_t n = icmp_frag_needed(pkt, sizeof(pkt), &gw, 600, out);
	ck_assert_uint_eq(n, 20 + 8 + 24);
	ck_assert_uint_eq(sum16(out + 20, n - 20), 0xffff);
}
END_TEST

/* A 1400-byte IPv6 TCP packet from 2001:db8:200::2 to 2001:db8:100::2. */
static void tcp6_packet(uint8_t *pkt, size_t len)
{
	memset(pkt, 0xab, len);
	pkt[0] = 0x60;
	pkt[1] = pkt[2] = pkt[3] = 0;
	pkt[4] = (uint8_t)((len - 40) >> 8);
	pkt[5] = (uint8_t)(len - 40);
	pkt[6] = 6;		/* TCP */
	pkt[7] = 63;
	inet_pton(AF_INET6, "2001:db8:200::2", pkt + 8);
	inet_pton(AF_INET6, "2001:db8:100::2", pkt + 24);
}

/* The ICMPv6 checksum over the pseudo-header and the message: 0xffff
 * when right (RFC 8200 8.1). */
static uint16_t icmp6_sum(const uint8_t *ip)
{
	size_t len = (size_t)(ip[4] << 8 | ip[5]);
	uint8_t pseudo[40];

	memcpy(pseudo, ip + 8, 32);
	pseudo[32] = pseudo[33] = 0;
	pseudo[34] = (uint8_t)(len >> 8);
	pseudo[35] = (uint8_t)len;
	pseudo[36] = pseudo[37] = pseudo[38] = 0;
	pseudo[39] = 58;
	uint32_t sum = (uint32_t)sum16(pseudo, 40) + sum16(ip + 40, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

START_TEST(packet_too_big_v6)
{
	uint8_t pkt[1400], out[ICMP6_ANSWER_MAX];
	struct cv_addr from = { .family = AF_INET6 };

	inet_pton(AF_INET6, "2001:db8:100::2", &from.v6);
	tcp6_packet(pkt, sizeof(pkt));
	size_t n = icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1334, out);
	ck_assert_uint_eq(n, 1280);	/* quoted up to the IPv6 minimum */
	ck_assert_uint_eq(out[0] >> 4, 6);
	ck_assert_uint_eq((size_t)(out[4] << 8 | out[5]), n - 40);
	ck_assert_uint_eq(out[6], 58);				/* ICMPv6 */
	ck_assert_mem_eq(out + 8, &from.v6, 16);
	ck_assert_mem_eq(out + 24, pkt + 8, 16);		/* to the sender */
	ck_assert_uint_eq(out[40], 2);				/* packet too big */
	ck_assert_uint_eq(out[41], 0);
	ck_assert_uint_eq((uint32_t)out[44] << 24 | (uint32_t)out[45] << 16 |
			  (uint32_t)out[46] << 8 | out[47], 1334);
	ck_assert_mem_eq(out + 48, pkt, n - 48);
	ck_assert_uint_eq(icmp6_sum(out), 0xffff);

	/* A short packet is quoted whole. */
	n = icmp6_packet_too_big(pkt, 60, &from, 1280, out);
	ck_assert_uint_eq(n, 40 + 8 + 60);
	ck_assert_uint_eq(icmp6_sum(out), 0xffff);

	/* No answer to an ICMPv6 error, to ::, to a group, or to IPv4. */
	pkt[6] = 58;
	pkt[40] = 1;		/* destination unreachable */
	ck_assert_uint_eq(icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1280, out), 0);
	pkt[40] = 128;		/* echo request: answered */
	ck_assert_uint_gt(icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1280, out), 0);
	tcp6_packet(pkt, sizeof(pkt));
	memset(pkt + 8, 0, 16);
	ck_assert_uint_eq(icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1280, out), 0);
	pkt[8] = 0xff;
	ck_assert_uint_eq(icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1280, out), 0);
	tcp_packet(pkt, sizeof(pkt));
	ck_assert_uint_eq(icmp6_packet_too_big(pkt, sizeof(pkt), &from, 1280, out), 0);
	tcp6_packet(pkt, sizeof(pkt));
	ck_assert_uint_eq(icmp6_packet_too_big(pkt, 39, &from, 1280, out), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("icmp");
	TCase *tc = tcase_create("frag_needed");

	tcase_add_test(tc, answer_fields);
	tcase_add_test(tc, no_answer);
	tcase_add_test(tc, short_payload_quoted_whole);
	tcase_add_test(tc, packet_too_big_v6);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
