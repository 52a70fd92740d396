/* Unit tests for src/datapath/offload.c and gro.c with large UDP
 * segments (USO: what an application sent with UDP_SEGMENT, gso_type
 * UDP_L4): checked, split in software into datagrams of their own with
 * the right lengths and UDP checksums over IPv4 and IPv6 (whole, or left
 * to do and then finished), split into smaller large segments, described
 * to TUN without TCP's ECN bit, and joined back by gro.c into the same
 * large segment where the kernel takes them. */
#include "gro.h"
#include "offload.h"
#include "wire.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#define SEG 1200		/* what QUIC stacks send */
#define COUNT 40
#define LAST 500		/* the last datagram is shorter */
#define PAYLOAD ((COUNT - 1) * SEG + LAST)
#define UDP_HDR 8
#define PROTO_UDP 17

static uint8_t pkt[40 + UDP_HDR + PAYLOAD];
static size_t pkt_len, l4;
static uint8_t out[(COUNT + 1) * (1 + 48) + PAYLOAD + 64];
static struct cv_msg msgs[COUNT + 4];
static struct cv_segmentation out_seg;

/* A large UDP segment as TUN hands it over: the lengths those of the
 * whole, the checksum field the pseudo-header's sum over it. */
static void make_large(int version, struct cv_segmentation *seg)
{
	static const uint8_t v4[20] = {
		0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, PROTO_UDP, 0, 0,
		198, 18, 0, 2, 198, 51, 100, 2,
	};
	static const uint8_t v6[40] = {
		0x60, 0, 0, 0, 0, 0, PROTO_UDP, 64,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
		0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	};
	l4 = version == 4 ? 20 : 40;
	pkt_len = l4 + UDP_HDR + PAYLOAD;
	memcpy(pkt, version == 4 ? v4 : v6, l4);
	if (version == 4)
		put16(pkt + 2, (uint16_t)pkt_len);
	else
		put16(pkt + 4, (uint16_t)(pkt_len - 40));
	uint8_t *udp = pkt + l4;
	put16(udp, 40000);
	put16(udp + 2, 4433);
	put16(udp + 4, (uint16_t)(UDP_HDR + PAYLOAD));
	srand(11);
	for (size_t i = l4 + UDP_HDR; i < pkt_len; i++)
		pkt[i] = (uint8_t)rand();
	if (version == 4) {
		uint16_t ipc = (uint16_t)~csum_fold(csum_add(0, pkt, 20));
		memcpy(pkt + 10, &ipc, 2);
	}
	uint16_t c = csum_fold(csum_pseudo(pkt, version, PROTO_UDP,
					   (uint32_t)(pkt_len - l4)));
	memcpy(udp + 6, &c, 2);
	*seg = (struct cv_segmentation){ .flags = CV_MSG_NEEDS_CSUM,
					 .gso_type = CV_GSO_UDP_L4,
					 .gso_size = SEG };
}

/* A datagram's UDP checksum (and IPv4 header checksum) verify. */
static bool csum_ok(const uint8_t *p, size_t len)
{
	int version = p[0] >> 4;
	size_t at = version == 4 ? 20 : 40;
	uint16_t field;

	memcpy(&field, p + at + 6, 2);
	if (field == 0)
		return false;	/* "no checksum": never sent */
	if (version == 4 && csum_fold(csum_add(0, p, 20)) != 0xffff)
		return false;
	uint32_t sum = csum_pseudo(p, version, PROTO_UDP, (uint32_t)(len - at));
	return csum_fold(csum_add(sum, p + at, len - at)) == 0xffff;
}

static unsigned int split(int version, unsigned int per, bool leave_csum)
{
	struct cv_segmentation seg;
	const char *why = NULL;

	make_large(version, &seg);
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), 0);
	ck_assert_uint_eq(seg.hdr_len, l4 + UDP_HDR);
	ck_assert_uint_eq(seg.csum_start, l4);
	ck_assert_uint_eq(seg.csum_offset, 6);
	ck_assert_uint_eq(offload_segments(pkt_len, &seg), COUNT);
	return offload_split(pkt, pkt_len, &seg, per, leave_csum, 1, out,
			     sizeof(out), msgs, COUNT + 4, &out_seg);
}

/* Every datagram of the split: its length, payload and checksums. */
static void check_datagrams(int version, unsigned int n)
{
	ck_assert_uint_eq(n, COUNT);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = msgs[i].data + 1;
		size_t len = msgs[i].len - 1;
		size_t plen = i + 1 < n ? SEG : LAST;
		ck_assert_uint_eq(len, l4 + UDP_HDR + plen);
		if (version == 4) {
			ck_assert_uint_eq(get16(p + 2), len);
			ck_assert_uint_eq(get16(p + 4), 0x1234 + i);
		} else {
			ck_assert_uint_eq(get16(p + 4), len - 40);
		}
		ck_assert_uint_eq(get16(p + l4 + 4), UDP_HDR + plen);
		ck_assert_uint_eq(get16(p + l4), 40000);
		ck_assert_msg(csum_ok(p, len), "datagram %u: bad checksum", i);
		ck_assert_mem_eq(p + l4 + UDP_HDR,
				 pkt + l4 + UDP_HDR + i * SEG, plen);
	}
}

START_TEST(test_split_v4)
{
	check_datagrams(4, split(4, 1, false));
	ck_assert_uint_eq(out_seg.flags, 0);
	ck_assert_uint_eq(out_seg.gso_type, CV_GSO_NONE);
}
END_TEST

START_TEST(test_split_v6)
{
	check_datagrams(6, split(6, 1, false));
}
END_TEST

/* For a peer that takes PROTO_DATA_PARTIAL: each datagram's checksum
 * holds its own pseudo-header's sum, which offload_finish_csum (or the
 * far kernel) completes. */
START_TEST(test_split_partial)
{
	for (int version = 4; version <= 6; version += 2) {
		unsigned int n = split(version, 1, true);
		ck_assert(out_seg.flags & CV_MSG_NEEDS_CSUM);
		ck_assert_uint_eq(out_seg.csum_offset, 6);
		for (unsigned int i = 0; i < n; i++) {
			uint8_t *p = msgs[i].data + 1;
			size_t len = msgs[i].len - 1;
			uint16_t pseudo = csum_fold(csum_pseudo(
				p, version, PROTO_UDP, (uint32_t)(len - l4)));
			ck_assert_mem_eq(p + l4 + 6, &pseudo, 2);
			offload_finish_csum(p, len, &out_seg);
		}
		check_datagrams(version, n);
	}
}
END_TEST

/* A datagram whose checksum comes out as 0 is sent with 0xffff: 0 would
 * tell the receiver there is none (and IPv6 drops such datagrams). */
START_TEST(test_zero_checksum)
{
	struct cv_segmentation seg;

	split(6, 1, false);
	uint16_t c, w;
	memcpy(&c, msgs[0].data + 1 + 40 + 6, 2);
	/* Add the checksum into a payload word of the first datagram: its
	 * sum becomes 0xffff, its checksum 0. */
	uint8_t *word = pkt + 40 + UDP_HDR + 10;
	memcpy(&w, word, 2);
	uint32_t sum = (uint32_t)w + c;
	w = (uint16_t)((sum & 0xffff) + (sum >> 16));
	make_large(6, &seg);
	memcpy(word, &w, 2);
	const char *why;
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), 0);
	ck_assert_uint_eq(offload_split(pkt, pkt_len, &seg, 1, false, 1, out,
					sizeof(out), msgs, COUNT + 4, &out_seg),
			  COUNT);
	ck_assert_uint_eq(get16(msgs[0].data + 1 + 40 + 6), 0xffff);
	ck_assert(csum_ok(msgs[0].data + 1, msgs[0].len - 1));
}
END_TEST

/* Smaller large segments, for a link whose messages are smaller: each
 * piece's UDP length is its own, and its checksum field the sum of its
 * own pseudo-header, as the receiving kernel expects to fix it up. */
START_TEST(test_split_pieces)
{
	unsigned int per = 16, n = split(4, per, false);

	ck_assert_uint_eq(n, (COUNT + per - 1) / per);
	ck_assert_uint_eq(out_seg.gso_type, CV_GSO_UDP_L4);
	ck_assert_uint_eq(out_seg.gso_size, SEG);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = msgs[i].data + 1;
		size_t len = msgs[i].len - 1;
		ck_assert_uint_eq(get16(p + 2), len);
		ck_assert_uint_eq(get16(p + 20 + 4), len - 20);
		uint16_t pseudo = csum_fold(csum_pseudo(p, 4, PROTO_UDP,
							(uint32_t)(len - 20)));
		ck_assert_mem_eq(p + 26, &pseudo, 2);
		struct cv_segmentation again = out_seg;
		const char *why;
		ck_assert_int_eq(offload_check(p, len, &again, &why), 0);
		ck_assert_uint_eq(again.hdr_len, 28);
	}
	ck_assert_uint_eq(msgs[n - 1].len - 1, 28 + (COUNT - 2 * per - 1) * SEG + LAST);
}
END_TEST

START_TEST(test_bad_metadata)
{
	struct cv_segmentation seg;
	const char *why = NULL;

	/* TCP's gso types are not for UDP. */
	make_large(4, &seg);
	seg.gso_type = CV_GSO_TCPV4;
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	/* Nor UDP's for TCP. */
	make_large(6, &seg);
	pkt[6] = 6;
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), -EINVAL);
	/* Without its checksum left to do. */
	make_large(6, &seg);
	seg.flags = 0;
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), -EINVAL);
	/* Too short for its UDP header. */
	make_large(4, &seg);
	put16(pkt + 2, 24);
	ck_assert_int_eq(offload_check(pkt, 24, &seg, &why), -EINVAL);
}
END_TEST

/* The virtio-net header of a large UDP segment: type UDP_L4 and never
 * the ECN bit, whatever its payload holds where TCP's flags would be. */
START_TEST(test_vnet)
{
	struct cv_segmentation seg, back;
	uint8_t vnet[VNET_HDR_LEN];
	const char *why;

	make_large(4, &seg);
	pkt[20 + 13] = 0x80;
	ck_assert_int_eq(offload_check(pkt, pkt_len, &seg, &why), 0);
	offload_to_vnet(pkt, &seg, vnet);
	ck_assert_uint_eq(vnet[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(vnet[1], CV_GSO_UDP_L4);
	offload_from_vnet(vnet, &back);
	ck_assert_uint_eq(back.gso_type, CV_GSO_UDP_L4);
	ck_assert_uint_eq(back.gso_size, SEG);
	ck_assert_uint_eq(back.csum_start, 20);
	ck_assert_uint_eq(back.csum_offset, 6);
}
END_TEST

/* The n datagrams of the last split through gro.c, into a socket pair
 * standing in for TUN: the number of writes; the first in buf, its
 * length in *first. */
static unsigned int join_all(bool uso, bool partial, unsigned int n,
			     uint8_t *buf, size_t size, ssize_t *first)
{
	static uint8_t more[70000];
	struct gro g;
	int sv[2], sndbuf = 1 << 20;
	unsigned int writes = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	struct tun tun = { .fd = sv[0], .vnet_hdr = true, .uso = uso };
	gro_init(&g, &tun);
	for (unsigned int i = 0; i < n; i++)
		gro_packet(&g, msgs[i].data + 1, msgs[i].len - 1,
			   partial ? &out_seg : NULL);
	gro_flush(&g);
	*first = recv(sv[1], buf, size, MSG_DONTWAIT);
	if (*first > 0)
		writes++;
	while (recv(sv[1], more, sizeof(more), MSG_DONTWAIT) > 0)
		writes++;
	close(sv[0]);
	close(sv[1]);
	return writes;
}

/* gro.c joins the datagrams back into the large segment they came from,
 * byte for byte, where the kernel takes large UDP segments (uso), with
 * their checksums done or left to do; one by one where it does not. */
START_TEST(test_join)
{
	static uint8_t buf[70000];
	struct cv_segmentation seg;
	ssize_t len;

	for (int partial = 0; partial <= 1; partial++) {
		unsigned int n = split(partial ? 4 : 6, 1, partial);
		ck_assert_uint_eq(join_all(false, partial, n, buf, sizeof(buf), &len), n);
		ck_assert_uint_eq(join_all(true, partial, n, buf, sizeof(buf), &len), 1);
		ck_assert_int_eq(len, VNET_HDR_LEN + (ssize_t)pkt_len);
		offload_from_vnet(buf, &seg);
		ck_assert_uint_eq(seg.gso_type, CV_GSO_UDP_L4);
		ck_assert_uint_eq(seg.gso_size, SEG);
		ck_assert_uint_eq(seg.csum_start, l4);
		ck_assert_uint_eq(seg.csum_offset, 6);
		ck_assert(seg.flags & CV_MSG_NEEDS_CSUM);
		ck_assert_mem_eq(buf + VNET_HDR_LEN, pkt, pkt_len);
	}
	/* A datagram with a bad checksum is not joined: it goes alone, for
	 * the kernel to drop; those before and after it are joined. */
	unsigned int n = split(4, 1, false);
	msgs[5].data[1 + 28 + 3] ^= 1;
	ck_assert_uint_eq(join_all(true, false, n, buf, sizeof(buf), &len), 3);
	ck_assert_int_eq(len, VNET_HDR_LEN + 28 + 5 * SEG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("offload_udp");
	TCase *tc = tcase_create("offload_udp");

	tcase_add_test(tc, test_split_v4);
	tcase_add_test(tc, test_split_v6);
	tcase_add_test(tc, test_split_partial);
	tcase_add_test(tc, test_zero_checksum);
	tcase_add_test(tc, test_split_pieces);
	tcase_add_test(tc, test_bad_metadata);
	tcase_add_test(tc, test_vnet);
	tcase_add_test(tc, test_join);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
