/* The packet path from TUN to a session, through a socket pair standing in
 * for the TUN device: what one wakeup reads goes out in order, each packet
 * once, when the message table fills in the middle of the batch and
 * make_room() must send and start over while a packet just read waits in
 * its buffer (the buffer swap); and what a session whose path carries
 * less than its link's largest message does with a packet too big for
 * it: fragments without DF, ICMP with it. */
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

/* Large segments read from TUN, sent whole (PROTO_DATA_GSO). */
#define PACKETS 40
/* Each is this many wire segments of one byte: make_room() keeps room to
 * split a segment, so a wakeup's message table (512) holds 12 of them
 * beside the room for the next, and the 13th sends them and starts over
 * while it sits in its buffer, the 14th of the batch. */
#define PAYLOAD 500
#define HDR 40		/* IPv4 20, TCP 20 */

static uint32_t seen[2 * PACKETS];
static unsigned int n_seen;

/* The transport: the sequence number of each whole segment sent. */
static int record_send(struct cv_instance *inst, struct cv_link *link,
		       const struct cv_msg *msgs, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const uint8_t *pkt = msgs[i].data + PROTO_DATA_GSO_HDR;
		ck_assert_uint_eq(msgs[i].data[0], PROTO_DATA_GSO);
		ck_assert_uint_eq(msgs[i].len, PROTO_DATA_GSO_HDR + HDR + PAYLOAD);
		ck_assert_uint_lt(n_seen, 2 * PACKETS);
		seen[n_seen++] = get32(pkt + 20 + 4);
	}
	return (int)count;
}

static const struct cv_transport fake = {
	.name = "fake", .flags = CV_TRANSPORT_GSO, .send = record_send,
};

/* A TSO segment as TUN hands it over, after its virtio-net header: the
 * TCP checksum left to do, `seq` as its sequence number. */
static void write_segment(int fd, uint32_t seq)
{
	uint8_t buf[VNET_HDR_LEN + HDR + PAYLOAD] = { 0 };
	uint8_t *vnet = buf, *ip = buf + VNET_HDR_LEN, *tcp = ip + 20;

	vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vnet[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	vnet[2] = HDR;				/* hdr_len, little endian */
	vnet[4] = 1;				/* gso_size */
	vnet[6] = 20;				/* csum_start */
	vnet[8] = 16;				/* csum_offset */
	ip[0] = 0x45;
	put16(ip + 2, HDR + PAYLOAD);
	ip[6] = 0x40;				/* DF */
	ip[8] = 64;
	ip[9] = 6;				/* TCP */
	memcpy(ip + 12, (const uint8_t[]){ 203, 0, 113, 2, 198, 51, 100, 2 }, 8);
	put16(tcp, 40000);
	put16(tcp + 2, 5001);
	put32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;				/* ACK */
	memset(tcp + 20, (int)seq, PAYLOAD);
	ck_assert_int_eq(send(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
}

/* A client's datapath reading a socket pair as its TUN device (tun: the
 * datapath's end, peer: the test's), one session up over transport t. */
struct rig {
	struct core core;
	struct cv_host host;
	struct cv_session s;
	struct datapath *dp;
	int tun, peer;
};

static void rig_up(struct rig *r, const struct cv_transport *t, bool vnet)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	r->tun = sv[0];
	r->peer = sv[1];
	ck_assert_int_eq(config_parse_string("u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n",
					     &r->core.cfg), 0);
	ck_assert_int_eq(loop_new(&r->core.loop), 0);
	r->core.tun = (struct tun){ .fd = r->tun, .vnet_hdr = vnet, .name = "tun" };
	r->host = (struct cv_host){ .core = &r->core, .t = t };
	r->s = (struct cv_session){
		.core = &r->core, .transport = &r->host, .state = SESSION_UP,
	};
	ck_assert_int_eq(datapath_new(&r->core, &r->dp), 0);
	datapath_set_session(r->dp, &r->s);
	ck_assert_int_eq(datapath_start(r->dp), 0);
}

static void stop(void *arg)
{
	loop_stop(arg);
}

/* One wakeup reads what the test wrote; then a timer ends the loop. */
static void rig_run(struct rig *r)
{
	struct loop_timer *t = loop_timer_new(r->core.loop, stop, r->core.loop);

	loop_timer_arm(t, 100);
	ck_assert_int_eq(loop_run(r->core.loop), 0);
	loop_timer_free(t);
}

static void rig_down(struct rig *r)
{
	loop_unwatch(r->core.loop, r->tun);
	datapath_free(r->dp);
	loop_free(r->core.loop);
	config_free(r->core.cfg);
	close(r->tun);
	close(r->peer);
}

START_TEST(full_table_mid_batch)
{
	struct rig r;

	rig_up(&r, &fake, true);
	r.s.data_gso = true;
	for (uint32_t i = 0; i < PACKETS; i++)
		write_segment(r.peer, i);
	rig_run(&r);

	ck_assert_uint_eq(n_seen, PACKETS);
	for (unsigned int i = 0; i < n_seen; i++)
		ck_assert_msg(seen[i] == i, "message %u carries segment %u",
			      i, seen[i]);
	ck_assert_uint_eq(r.core.counters.gso_whole, PACKETS);
	ck_assert_uint_eq(r.core.counters.malformed, 0);
	rig_down(&r);
}
END_TEST

/* ---- a path that carries less */

#define PATH_MAX_MSG 1215	/* what probing found: 1280-byte path, dtls */
static size_t sent_len[8];
static unsigned int n_sent;

static int record_lengths(struct cv_instance *inst, struct cv_link *link,
			  const struct cv_msg *msgs, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		ck_assert_uint_eq(msgs[i].data[0], PROTO_DATA);
		ck_assert_uint_lt(n_sent, 8);
		sent_len[n_sent++] = msgs[i].len;
	}
	return (int)count;
}

static const struct cv_transport datagrams = {
	.name = "datagrams", .send = record_lengths,
};

/* A 1400-byte UDP packet from V to U's inner address, df or not. */
static void write_packet(int fd, bool df)
{
	uint8_t ip[1400] = { 0 };

	ip[0] = 0x45;
	put16(ip + 2, sizeof(ip));
	ip[6] = df ? 0x40 : 0;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (const uint8_t[]){ 198, 51, 100, 2, 203, 0, 113, 2 }, 8);
	ck_assert_int_eq(send(fd, ip, sizeof(ip), 0), (ssize_t)sizeof(ip));
}

START_TEST(path_carries_less)
{
	struct rig r;
	uint8_t icmp[200];

	rig_up(&r, &datagrams, false);
	r.s.max_msg = 1435;
	r.s.path_max = PATH_MAX_MSG;
	write_packet(r.peer, false);
	write_packet(r.peer, true);
	rig_run(&r);

	/* Without DF: two fragments, each a message the path carries. */
	ck_assert_uint_eq(n_sent, 2);
	ck_assert_uint_le(sent_len[0], PATH_MAX_MSG);
	ck_assert_uint_le(sent_len[1], PATH_MAX_MSG);
	ck_assert_uint_eq(sent_len[0] + sent_len[1], 2 + 1400 + 20);
	ck_assert_uint_eq(r.core.counters.fragmented, 1);
	/* With DF: nothing sent; its sender is told the MTU that fits. */
	ck_assert_uint_eq(r.core.counters.too_big, 1);
	ssize_t n = recv(r.peer, icmp, sizeof(icmp), 0);
	ck_assert_int_eq(n, 20 + 8 + 28);
	ck_assert_uint_eq(icmp[20], 3);			/* unreachable */
	ck_assert_uint_eq(icmp[21], 4);			/* fragmentation needed */
	ck_assert_uint_eq(get16(icmp + 26), PATH_MAX_MSG - 1);
	rig_down(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("from TUN");

	log_open("test_datapath", true, LOG_WARNING);
	tcase_add_test(tc, full_table_mid_batch);
	tcase_add_test(tc, path_carries_less);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
