/* The packet path, through a socket pair standing in for the TUN device.
 *
 * From TUN: what one wakeup reads goes out in order, each packet once,
 * when the message table fills in the middle of the batch and
 * make_room() must send and start over while a packet just read waits
 * in its buffer (the buffer swap); and a segment whose size is below
 * what a peer takes whole is split into packets instead.
 *
 * From a peer: a large segment whose segment size is absurd (1 byte,
 * which the kernel would make 30,000 packets of) or larger than the
 * tunnel MTU is dropped as malformed, and nothing reaches TUN. */
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#include "config.h"
#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "offload.h"
#include "plugin_host.h"
#include "proto.h"
#include "session.h"
#include "wire.h"

#define HDR 40		/* IPv4 20, TCP 20 */
/* Whole: a segment of 13 wire segments of the smallest size sent whole;
 * make_room() keeps room to split it, 13 messages. */
#define WHOLE_SEGS 13
#define WHOLE_PAYLOAD (WHOLE_SEGS * OFFLOAD_GSO_SIZE_MIN)
/* Split: 500 one-byte segments, 500 packets; after one of them the
 * table (512) has no room for the next whole segment's 13. */
#define SPLIT_PAYLOAD 500
#define PAIRS 12

struct sent {
	uint8_t type;
	uint32_t seq;
	size_t len;
};

static struct sent seen[PAIRS * (1 + SPLIT_PAYLOAD)];
static unsigned int n_seen;

/* The transport: each message's type and sequence number. */
static int record_send(struct cv_instance *inst, struct cv_link *link,
		       const struct cv_msg *msgs, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const uint8_t *m = msgs[i].data;
		size_t hdr = m[0] == PROTO_DATA_GSO ? PROTO_DATA_GSO_HDR : 1;
		ck_assert_uint_lt(n_seen, sizeof(seen) / sizeof(seen[0]));
		seen[n_seen++] = (struct sent){
			.type = m[0],
			.seq = get32(m + hdr + 20 + 4),
			.len = msgs[i].len,
		};
	}
	return (int)count;
}

static const struct cv_transport fake = {
	.name = "fake", .flags = CV_TRANSPORT_GSO, .send = record_send,
};

/* A TCP packet from 203.0.113.2 to 198.51.100.2, `seq` its sequence
 * number, payload bytes of it, into ip (room for HDR + payload). */
static void tcp_packet(uint8_t *ip, uint32_t seq, size_t payload)
{
	uint8_t *tcp = ip + 20;

	memset(ip, 0, HDR + payload);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(HDR + payload));
	ip[6] = 0x40;				/* DF */
	ip[8] = 64;
	ip[9] = 6;				/* TCP */
	memcpy(ip + 12, (const uint8_t[]){ 203, 0, 113, 2, 198, 51, 100, 2 }, 8);
	put16(tcp, 40000);
	put16(tcp + 2, 5001);
	put32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;				/* ACK */
	memset(tcp + 20, (int)seq, payload);
}

/* A TSO segment as TUN hands it over, after its virtio-net header: the
 * TCP checksum left to do. */
static void write_segment(int fd, uint32_t seq, size_t payload,
			  uint16_t gso_size)
{
	uint8_t *buf = calloc(1, VNET_HDR_LEN + HDR + payload);
	uint8_t *vnet = buf;

	ck_assert_ptr_nonnull(buf);
	vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vnet[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	vnet[2] = HDR;				/* hdr_len, little endian */
	vnet[4] = gso_size & 0xff;
	vnet[5] = gso_size >> 8;
	vnet[6] = 20;				/* csum_start */
	vnet[8] = 16;				/* csum_offset */
	tcp_packet(buf + VNET_HDR_LEN, seq, payload);
	ssize_t n = send(fd, buf, VNET_HDR_LEN + HDR + payload, 0);
	ck_assert_int_eq(n, (ssize_t)(VNET_HDR_LEN + HDR + payload));
	free(buf);
}

static void stop(void *arg)
{
	loop_stop(arg);
}

struct bench {
	struct core core;
	struct cv_host host;
	struct cv_session s;
	struct datapath *dp;
	int sv[2];
};

static void bench_up(struct bench *b)
{
	memset(b, 0, sizeof(*b));
	n_seen = 0;
	b->host = (struct cv_host){ .core = &b->core, .t = &fake };
	b->s = (struct cv_session){
		.core = &b->core, .transport = &b->host, .state = SESSION_UP,
		.data_gso = true, .mtu = 1400,
	};
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0,
				    b->sv), 0);
	int size = 4 << 20;
	setsockopt(b->sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(b->sv[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	ck_assert_int_eq(config_parse_string("u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n",
					     &b->core.cfg), 0);
	ck_assert_int_eq(loop_new(&b->core.loop), 0);
	b->core.tun = (struct tun){ .fd = b->sv[0], .vnet_hdr = true,
				    .name = "tun" };
	ck_assert_int_eq(datapath_new(&b->core, &b->dp), 0);
	datapath_set_session(b->dp, &b->s);
}

static void bench_down(struct bench *b)
{
	datapath_free(b->dp);
	loop_free(b->core.loop);
	config_free(b->core.cfg);
	close(b->sv[0]);
	close(b->sv[1]);
}

START_TEST(full_table_mid_batch)
{
	struct bench b;

	bench_up(&b);
	ck_assert_int_eq(datapath_start(b.dp), 0);
	/* Whole, split, whole, split...: each whole one after the first
	 * finds the table too full for its room, so the one before is
	 * sent and the table starts over while it waits in its buffer. */
	for (uint32_t i = 0; i < PAIRS; i++) {
		write_segment(b.sv[1], 2 * i * 100000, WHOLE_PAYLOAD,
			      OFFLOAD_GSO_SIZE_MIN);
		write_segment(b.sv[1], (2 * i + 1) * 100000, SPLIT_PAYLOAD, 1);
	}

	/* One wakeup reads them all; then the timer ends the loop. */
	struct loop_timer *t = loop_timer_new(b.core.loop, stop, b.core.loop);
	loop_timer_arm(t, 100);
	ck_assert_int_eq(loop_run(b.core.loop), 0);

	ck_assert_uint_eq(n_seen, PAIRS * (1 + SPLIT_PAYLOAD));
	unsigned int k = 0;
	for (uint32_t i = 0; i < PAIRS; i++) {
		const struct sent *w = &seen[k++];
		ck_assert_msg(w->type == PROTO_DATA_GSO &&
			      w->seq == 2 * i * 100000 &&
			      w->len == PROTO_DATA_GSO_HDR + HDR + WHOLE_PAYLOAD,
			      "message %u: type %u, segment %u, %zu bytes; expected the whole segment %u",
			      k - 1, w->type, w->seq, w->len, 2 * i * 100000);
		for (uint32_t j = 0; j < SPLIT_PAYLOAD; j++) {
			const struct sent *p = &seen[k++];
			ck_assert_msg(p->type == PROTO_DATA &&
				      p->seq == (2 * i + 1) * 100000 + j &&
				      p->len == 1 + HDR + 1,
				      "message %u: type %u, sequence %u; expected one byte at %u",
				      k - 1, p->type, p->seq,
				      (2 * i + 1) * 100000 + j);
		}
	}
	ck_assert_uint_eq(b.core.counters.gso_whole, PAIRS);
	ck_assert_uint_eq(b.core.counters.gso_split, PAIRS);
	ck_assert_uint_eq(b.core.counters.malformed, 0);

	loop_timer_free(t);
	loop_unwatch(b.core.loop, b.sv[0]);
	bench_down(&b);
}
END_TEST

/* A PROTO_DATA_GSO message from the peer, gso_size as given, payload
 * bytes of TCP. */
static void deliver_segment(struct bench *b, uint16_t gso_size, size_t payload)
{
	uint8_t *msg = calloc(1, PROTO_DATA_GSO_HDR + HDR + payload);
	struct cv_segmentation seg = {
		.flags = CV_MSG_NEEDS_CSUM, .gso_type = CV_GSO_TCPV4,
		.gso_size = gso_size,
	};

	ck_assert_ptr_nonnull(msg);
	proto_put_data_gso(msg, &seg);
	tcp_packet(msg + PROTO_DATA_GSO_HDR, 7, payload);
	struct cv_msg m = { .data = msg, .len = PROTO_DATA_GSO_HDR + HDR + payload };
	datapath_deliver(b->dp, &b->s, &m, 1);
	free(msg);
}

/* What TUN got: the number of writes waiting on the other end. */
static unsigned int tun_writes(struct bench *b)
{
	uint8_t buf[70000];
	unsigned int n = 0;

	while (recv(b->sv[1], buf, sizeof(buf), 0) > 0)
		n++;
	return n;
}

START_TEST(absurd_segment_size_refused)
{
	struct bench b;
	static const struct {
		uint16_t gso_size;
		size_t payload;
		bool taken;
	} cases[] = {
		{ 1, 30000, false },		/* 30,000 one-byte packets */
		{ OFFLOAD_GSO_SIZE_MIN - 1, 30000, false },
		{ OFFLOAD_GSO_SIZE_MIN, 30000, true },
		{ 1360, 30000, true },		/* 40 + 1360: the MTU, 1400 */
		{ 1361, 30000, false },		/* one byte more than it */
		{ 60000, 30000, false },
	};

	bench_up(&b);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t malformed = b.core.counters.malformed;
		deliver_segment(&b, cases[i].gso_size, cases[i].payload);
		ck_assert_msg(tun_writes(&b) == (cases[i].taken ? 1u : 0u),
			      "gso size %u: %s TUN", cases[i].gso_size,
			      cases[i].taken ? "nothing written to" : "written to");
		ck_assert_uint_eq(b.core.counters.malformed,
				  malformed + !cases[i].taken);
	}
	bench_down(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("from TUN");
	TCase *peer = tcase_create("from a peer");

	log_open("test_datapath", true, LOG_WARNING);
	tcase_add_test(tc, full_table_mid_batch);
	suite_add_tcase(s, tc);
	tcase_add_test(peer, absurd_segment_size_refused);
	suite_add_tcase(s, peer);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
