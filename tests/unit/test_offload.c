/* Unit tests for src/datapath/offload.c and gro.c: a large TCP segment
 * split in software comes out as valid packets, and gro.c joins them back
 * into the same segment; a corrupted one is not joined. */
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

#define PAYLOAD 10000
#define MSS 1400
#define HDR 52		/* IPv4 20, TCP 20 + 12 of options */

static uint8_t pkt[HDR + PAYLOAD];

/* A TSO segment as TUN hands it over: checksum left to do. */
static void make_large(struct cv_segmentation *seg)
{
	static const uint8_t hdr[HDR] = {
		0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,
		203, 0, 113, 2, 198, 51, 100, 2,
		0x9c, 0x40, 0x13, 0x89, 0x10, 0x00, 0x00, 0x01,
		0x20, 0x00, 0x00, 0x01, 0x80, 0x18, 0x01, 0xf5, 0, 0, 0, 0,
		1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
	};
	memcpy(pkt, hdr, HDR);
	pkt[2] = (uint8_t)((HDR + PAYLOAD) >> 8);
	pkt[3] = (uint8_t)(HDR + PAYLOAD);
	srand(7);
	for (size_t i = HDR; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)rand();
	uint16_t ipc = (uint16_t)~csum_fold(csum_add(0, pkt, 20));
	memcpy(pkt + 10, &ipc, 2);
	uint16_t c = csum_fold(csum_pseudo(pkt, 4, 6, sizeof(pkt) - 20));
	memcpy(pkt + 36, &c, 2);
	*seg = (struct cv_segmentation){ .flags = CV_MSG_NEEDS_CSUM,
					 .gso_type = CV_GSO_TCPV4,
					 .gso_size = MSS };
}

static bool csum_ok(const uint8_t *p, size_t len)
{
	return csum_fold(csum_add(0, p, 20)) == 0xffff &&
	       csum_fold(csum_add(csum_pseudo(p, 4, 6, (uint32_t)(len - 20)),
				  p + 20, len - 20)) == 0xffff;
}

static uint8_t out[HDR * 8 + PAYLOAD + 64];
static struct cv_msg msgs[16];

static struct cv_segmentation out_seg;

static unsigned int split_with(bool leave_csum)
{
	struct cv_segmentation seg;
	const char *why = NULL;

	make_large(&seg);
	ck_assert_int_eq(offload_check(pkt, sizeof(pkt), &seg, &why), 0);
	ck_assert_uint_eq(seg.hdr_len, HDR);
	ck_assert_uint_eq(seg.csum_start, 20);
	ck_assert_uint_eq(seg.csum_offset, 16);
	return offload_split(pkt, sizeof(pkt), &seg, 1, leave_csum, 1, out,
			     sizeof(out), msgs, 16, &out_seg);
}

static unsigned int split(void)
{
	return split_with(false);
}

START_TEST(test_split)
{
	unsigned int n = split();

	ck_assert_uint_eq(n, (PAYLOAD + MSS - 1) / MSS);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = msgs[i].data + 1;
		size_t len = msgs[i].len - 1;
		size_t plen = i + 1 < n ? MSS : PAYLOAD - (n - 1) * MSS;
		ck_assert_uint_eq(len, HDR + plen);
		ck_assert_uint_eq(get16(p + 2), len);
		ck_assert_msg(csum_ok(p, len), "segment %u: bad checksum", i);
		ck_assert_uint_eq(get32(p + 24), 0x10000001u + i * MSS);
		ck_assert_uint_eq(p[33] & 0x08, i + 1 < n ? 0 : 0x08); /* PSH */
		ck_assert_mem_eq(p + HDR, pkt + HDR + i * MSS, plen);
	}
}
END_TEST

/* For a peer that takes PROTO_DATA_PARTIAL: the same pieces, each TCP
 * checksum holding the pseudo-header's sum, which offload_finish_csum
 * completes into the right one. */
START_TEST(test_split_partial)
{
	unsigned int n = split_with(true);

	ck_assert_uint_eq(n, (PAYLOAD + MSS - 1) / MSS);
	ck_assert(out_seg.flags & CV_MSG_NEEDS_CSUM);
	ck_assert_uint_eq(out_seg.gso_type, CV_GSO_NONE);
	ck_assert_uint_eq(out_seg.csum_start, 20);
	ck_assert_uint_eq(out_seg.csum_offset, 16);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = msgs[i].data + 1;
		size_t len = msgs[i].len - 1;
		uint16_t pseudo = csum_fold(csum_pseudo(p, 4, 6,
							(uint32_t)(len - 20)));
		ck_assert_mem_eq(p + 36, &pseudo, 2);
		ck_assert_msg(!csum_ok(p, len), "segment %u: checksum done", i);
		offload_finish_csum(p, len, &out_seg);
		ck_assert_msg(csum_ok(p, len), "segment %u: bad checksum", i);
	}
}
END_TEST

START_TEST(test_bad_metadata)
{
	struct cv_segmentation seg;
	const char *why = NULL;

	make_large(&seg);
	seg.gso_type = CV_GSO_TCPV6;
	ck_assert_int_eq(offload_check(pkt, sizeof(pkt), &seg, &why), -EINVAL);
	ck_assert_ptr_nonnull(why);
	make_large(&seg);
	ck_assert_int_eq(offload_check(pkt, sizeof(pkt) - 1, &seg, &why), -EINVAL);
	make_large(&seg);
	seg.flags = 0;
	ck_assert_int_eq(offload_check(pkt, sizeof(pkt), &seg, &why), -EINVAL);
}
END_TEST

/* What gro.c wrote, one datagram per write. */
static ssize_t next_write(int fd, uint8_t *buf, size_t size)
{
	return recv(fd, buf, size, MSG_DONTWAIT);
}

START_TEST(test_join)
{
	unsigned int n = split();
	int sv[2];
	struct gro g;
	static uint8_t buf[70000];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	int size = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	struct tun tun = { .fd = sv[0], .vnet_hdr = true };
	gro_init(&g, &tun);
	for (unsigned int i = 0; i < n; i++)
		gro_packet(&g, msgs[i].data + 1, msgs[i].len - 1, NULL);
	gro_flush(&g);
	ck_assert_uint_eq(g.joined, n - 1);

	ssize_t len = next_write(sv[1], buf, sizeof(buf));
	ck_assert_int_eq(len, VNET_HDR_LEN + (ssize_t)sizeof(pkt));
	struct cv_segmentation seg;
	offload_from_vnet(buf, &seg);
	ck_assert_uint_eq(seg.gso_type, CV_GSO_TCPV4);
	ck_assert_uint_eq(seg.gso_size, MSS);
	ck_assert_uint_eq(seg.csum_start, 20);
	ck_assert_uint_eq(seg.csum_offset, 16);
	ck_assert(seg.flags & CV_MSG_NEEDS_CSUM);
	/* The large segment again, byte for byte. */
	ck_assert_mem_eq(buf + VNET_HDR_LEN, pkt, sizeof(pkt));
	ck_assert_int_lt(next_write(sv[1], buf, sizeof(buf)), 0);

	/* A corrupted third piece: the first two are joined, the third goes
	 * alone for the kernel to drop, the rest are joined again. */
	msgs[2].data[1 + HDR + 5] ^= 1;
	for (unsigned int i = 0; i < n; i++)
		gro_packet(&g, msgs[i].data + 1, msgs[i].len - 1, NULL);
	gro_flush(&g);
	ck_assert_int_eq(next_write(sv[1], buf, sizeof(buf)),
			 VNET_HDR_LEN + HDR + 2 * MSS);
	ck_assert_int_eq(next_write(sv[1], buf, sizeof(buf)),
			 VNET_HDR_LEN + HDR + MSS);
	ck_assert_uint_eq(buf[1], VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_int_eq(next_write(sv[1], buf, sizeof(buf)),
			 VNET_HDR_LEN + HDR + PAYLOAD - 3 * MSS);
	ck_assert_int_lt(next_write(sv[1], buf, sizeof(buf)), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Pieces with their checksums left to do are joined without a check
 * into the same large segment; one that cannot be joined goes alone with
 * a header that leaves its checksum to the kernel. */
START_TEST(test_join_partial)
{
	unsigned int n = split_with(true);
	int sv[2];
	struct gro g;
	static uint8_t buf[70000];
	struct cv_segmentation seg;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	int size = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	struct tun tun = { .fd = sv[0], .vnet_hdr = true };
	gro_init(&g, &tun);
	for (unsigned int i = 0; i < n; i++)
		gro_packet(&g, msgs[i].data + 1, msgs[i].len - 1, &out_seg);
	gro_flush(&g);
	ck_assert_uint_eq(g.joined, n - 1);
	ck_assert_int_eq(next_write(sv[1], buf, sizeof(buf)),
			 VNET_HDR_LEN + (ssize_t)sizeof(pkt));
	offload_from_vnet(buf, &seg);
	ck_assert_uint_eq(seg.gso_type, CV_GSO_TCPV4);
	ck_assert(seg.flags & CV_MSG_NEEDS_CSUM);
	ck_assert_mem_eq(buf + VNET_HDR_LEN, pkt, sizeof(pkt));

	/* The last piece alone (out of order: not joined to anything). */
	gro_packet(&g, msgs[n - 1].data + 1, msgs[n - 1].len - 1, &out_seg);
	gro_flush(&g);
	ssize_t len = next_write(sv[1], buf, sizeof(buf));
	ck_assert_int_eq(len, VNET_HDR_LEN + (ssize_t)msgs[n - 1].len - 1);
	offload_from_vnet(buf, &seg);
	ck_assert_uint_eq(seg.gso_type, CV_GSO_NONE);
	ck_assert(seg.flags & CV_MSG_NEEDS_CSUM);
	ck_assert_uint_eq(seg.csum_start, 20);
	ck_assert_uint_eq(seg.csum_offset, 16);
	ck_assert_int_lt(next_write(sv[1], buf, sizeof(buf)), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("offload");

	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_bad_metadata);
	tcase_add_test(tc, test_join);
	tcase_add_test(tc, test_split_partial);
	tcase_add_test(tc, test_join_partial);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
