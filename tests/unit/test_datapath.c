/* The packet path from TUN to a session, through a socket pair standing in
 * for the TUN device: what one wakeup reads goes out in order, each packet
 * once, when the message table fills in the middle of the batch and
 * make_room() must send and start over while a packet just read waits in
 * its buffer (the buffer swap). */
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

static void stop(void *arg)
{
	loop_stop(arg);
}

START_TEST(full_table_mid_batch)
{
	struct core core = { 0 };
	struct cv_host host = { .core = &core, .t = &fake };
	struct cv_session s = {
		.core = &core, .transport = &host, .state = SESSION_UP,
		.data_gso = true,
	};
	struct datapath *dp;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(config_parse_string("u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n",
					     &core.cfg), 0);
	ck_assert_int_eq(loop_new(&core.loop), 0);
	core.tun = (struct tun){ .fd = sv[0], .vnet_hdr = true, .name = "tun" };
	ck_assert_int_eq(datapath_new(&core, &dp), 0);
	datapath_set_session(dp, &s);
	ck_assert_int_eq(datapath_start(dp), 0);
	for (uint32_t i = 0; i < PACKETS; i++)
		write_segment(sv[1], i);

	/* One wakeup reads them all; then the timer ends the loop. */
	struct loop_timer *t = loop_timer_new(core.loop, stop, core.loop);
	loop_timer_arm(t, 100);
	ck_assert_int_eq(loop_run(core.loop), 0);

	ck_assert_uint_eq(n_seen, PACKETS);
	for (unsigned int i = 0; i < n_seen; i++)
		ck_assert_msg(seen[i] == i, "message %u carries segment %u",
			      i, seen[i]);
	ck_assert_uint_eq(core.counters.gso_whole, PACKETS);
	ck_assert_uint_eq(core.counters.malformed, 0);

	loop_timer_free(t);
	loop_unwatch(core.loop, sv[0]);
	datapath_free(dp);
	loop_free(core.loop);
	config_free(core.cfg);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("from TUN");

	log_open("test_datapath", true, LOG_WARNING);
	tcase_add_test(tc, full_table_mid_batch);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
