/* The packet path from TUN to a session, through a socket pair standing in
 * for the TUN device: what one wakeup reads goes out in order, each packet
 * once, when the message table fills in the middle of the batch and
 * make_room() must send and start over while a packet just read waits in
 * its buffer (the buffer swap). And the other way, on a server with
 * sites: which sources and destinations each session may use, and the
 * counter that names each drop. */
#include <arpa/inet.h>
#include <check.h>
#include <stddef.h>
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
#include "route.h"
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

/* ---- a server's checks of what sessions send, with sites */

static struct cv_prefix pfx(const char *text)
{
	struct cv_prefix p;
	const char *why;

	ck_assert_msg(prefix_parse(text, false, &p, &why) == 0, "%s", text);
	return p;
}

/* A PROTO_DATA message: an IPv4 header from src to dst, nothing more. */
static void data(uint8_t msg[21], const char *src, const char *dst)
{
	memset(msg, 0, 21);
	msg[0] = PROTO_DATA;
	msg[1] = 0x45;
	inet_pton(AF_INET, src, msg + 13);
	inet_pton(AF_INET, dst, msg + 17);
}

/* What TUN got: the number of packets written since the last call. */
static unsigned int drain(int fd)
{
	uint8_t buf[256];
	unsigned int n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

START_TEST(site_sources_and_routes)
{
	struct core core = { 0 };
	struct cv_host host = { .core = &core, .t = &fake };
	struct cv_session r1 = { .core = &core, .transport = &host,
				 .state = SESSION_UP, .identity = "r1",
				 .has_inner = true };
	struct cv_session r3 = r1, sam = r1;
	struct route_table *routes, *networks;
	struct datapath *dp;
	int sv[2];
	uint8_t m[21];
	struct cv_addr gw4, gw6 = { 0 };

	r3.identity = "r3";
	sam.identity = "sam";
	addr_parse("203.0.113.2", &r1.inner);
	addr_parse("203.0.113.3", &r3.inner);
	addr_parse("203.0.113.4", &sam.inner);
	addr_parse("203.0.113.1", &gw4);
	struct session_policy *restricted = calloc(1, sizeof(*restricted) +
						      sizeof(struct cv_prefix));
	restricted->restrict_to_routes = true;
	restricted->n_routes = 1;
	restricted->routes = restricted->prefixes;
	restricted->routes[0] = pfx("198.18.2.0/24");
	sam.policy = restricted;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(config_parse_string("gw.conf",
					     "mode = server\ntransport = tls\n"
					     "listen = 192.0.2.1:4433\n"
					     "pool = 203.0.113.0/24\n",
					     &core.cfg), 0);
	core.tun = (struct tun){ .fd = sv[0], .name = "tun" };
	ck_assert_int_eq(loop_new(&core.loop), 0);
	ck_assert_int_eq(route_table_new(&routes), 0);
	ck_assert_int_eq(route_table_new(&networks), 0);
	struct { struct cv_session *s; const char *p; } held[] = {
		{ &r1, "203.0.113.2/32" }, { &r1, "198.18.1.0/24" },
		{ &r3, "203.0.113.3/32" }, { &r3, "198.18.3.0/24" },
		{ &sam, "203.0.113.4/32" },
	};
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		struct cv_prefix p = pfx(held[i].p);
		ck_assert_int_eq(route_add(routes, &p, held[i].s), 0);
		if (p.len < 32)
			ck_assert_int_eq(route_add(networks, &p,
						   (void *)held[i].s->identity), 0);
	}
	ck_assert_int_eq(datapath_new(&core, &dp), 0);
	datapath_serve(dp, routes, networks, &gw4, &gw6);

	const struct {
		struct cv_session *from;
		const char *src, *dst;
		bool passes;
		size_t counter;		/* offsetof struct counters, or 0 */
	} cases[] = {
		{ &r1, "198.18.1.10", "198.18.3.10", true, 0 },
		{ &r1, "203.0.113.2", "198.18.2.10", true, 0 },
		/* a site's host answers a road warrior; R1 itself may not */
		{ &r1, "198.18.1.10", "203.0.113.4", true, 0 },
		{ &r1, "203.0.113.2", "203.0.113.4", false,
		  offsetof(struct counters, client_to_client) },
		{ &r1, "198.18.3.77", "198.18.3.10", false,
		  offsetof(struct counters, spoofed_network) },
		{ &r1, "198.18.9.9", "198.18.3.10", false,
		  offsetof(struct counters, spoofed_source) },
		{ &r1, "203.0.113.3", "198.18.2.10", false,
		  offsetof(struct counters, spoofed_source) },
		{ &sam, "203.0.113.4", "198.18.2.10", true, 0 },
		{ &sam, "203.0.113.4", "203.0.113.1", true, 0 },
		{ &sam, "203.0.113.4", "198.18.3.10", false,
		  offsetof(struct counters, outside_routes) },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct counters before = core.counters;
		data(m, cases[i].src, cases[i].dst);
		struct cv_msg msg = { .data = m, .len = sizeof(m) };
		datapath_deliver(dp, cases[i].from, &msg, 1);
		unsigned int got = drain(sv[1]);
		ck_assert_msg(got == cases[i].passes, "%s -> %s: %u packets in TUN",
			      cases[i].src, cases[i].dst, got);
		if (!cases[i].counter)
			continue;
		uint64_t was = *(uint64_t *)((char *)&before + cases[i].counter);
		uint64_t now = *(uint64_t *)((char *)&core.counters + cases[i].counter);
		ck_assert_msg(now == was + 1, "%s -> %s: not counted where expected",
			      cases[i].src, cases[i].dst);
	}
	datapath_free(dp);
	route_table_free(routes);
	route_table_free(networks);
	loop_free(core.loop);
	config_free(core.cfg);
	free(restricted);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("from TUN");
	TCase *server = tcase_create("from sessions");

	log_open("test_datapath", true, LOG_WARNING);
	tcase_add_test(tc, full_table_mid_batch);
	tcase_add_test(server, site_sources_and_routes);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, server);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
