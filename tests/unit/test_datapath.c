/* The packet path, through a socket pair standing in for the TUN device.
 *
 * From TUN: what one wakeup reads goes out in order, each packet once,
 * when the message table fills in the middle of the batch and
 * make_room() must send and start over while a packet just read waits
 * in its buffer (the buffer swap); a segment whose size is below what a
 * peer takes whole is split into packets instead; and what a session
 * whose path carries less than its link's largest message does with a
 * packet too big for it: fragments without DF, ICMP with it.
 *
 * From a peer: a large segment whose segment size is absurd (1 byte,
 * which the kernel would make 30,000 packets of) or larger than the
 * tunnel MTU is dropped as malformed, and nothing reaches TUN. Large
 * UDP segments go whole, and are taken, only between peers with USO. And on a
 * server with sites: which sources and destinations each session may
 * use, and the counter that names each drop. */
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
	/* Room for a whole batch of writes before the datapath reads. */
	int size = 4 << 20;
	setsockopt(r->peer, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(r->tun, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	n_seen = 0;
	ck_assert_int_eq(config_parse_string("u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n",
					     &r->core.cfg), 0);
	ck_assert_int_eq(loop_new(&r->core.loop), 0);
	r->core.tun = (struct tun){ .fd = r->tun, .vnet_hdr = vnet, .name = "tun" };
	r->host = (struct cv_host){ .core = &r->core, .loop = r->core.loop, .t = t };
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

START_TEST(full_table_mid_batch)
{
	struct rig r;

	rig_up(&r, &fake, true);
	r.s.data_gso = true;
	/* Whole, split, whole, split...: each whole one after the first
	 * finds the table too full for its room, so the one before is
	 * sent and the table starts over while it waits in its buffer. */
	for (uint32_t i = 0; i < PAIRS; i++) {
		write_segment(r.peer, 2 * i * 100000, WHOLE_PAYLOAD,
			      OFFLOAD_GSO_SIZE_MIN);
		write_segment(r.peer, (2 * i + 1) * 100000, SPLIT_PAYLOAD, 1);
	}

	rig_run(&r);

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
	ck_assert_uint_eq(r.core.counters.gso_whole, PAIRS);
	ck_assert_uint_eq(r.core.counters.gso_split, PAIRS);
	ck_assert_uint_eq(r.core.counters.malformed, 0);

	rig_down(&r);
}
END_TEST

/* A PROTO_DATA_GSO message from the peer, gso_size as given, payload
 * bytes of TCP. */
static void deliver_segment(struct rig *r, uint16_t gso_size, size_t payload)
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
	datapath_deliver(r->dp, &r->s, &m, 1);
	free(msg);
}

/* What TUN got: the number of writes waiting on the other end. */
static unsigned int tun_writes(struct rig *r)
{
	uint8_t buf[70000];
	unsigned int n = 0;

	while (recv(r->peer, buf, sizeof(buf), 0) > 0)
		n++;
	return n;
}

START_TEST(absurd_segment_size_refused)
{
	struct rig r;
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

	rig_up(&r, &fake, true);
	r.s.data_gso = true;
	r.s.mtu = 1400;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t malformed = r.core.counters.malformed;
		deliver_segment(&r, cases[i].gso_size, cases[i].payload);
		ck_assert_msg(tun_writes(&r) == (cases[i].taken ? 1u : 0u),
			      "gso size %u: %s TUN", cases[i].gso_size,
			      cases[i].taken ? "nothing written to" : "written to");
		ck_assert_uint_eq(r.core.counters.malformed,
				  malformed + !cases[i].taken);
	}
	rig_down(&r);
}
END_TEST

/* ---- large UDP segments (USO): whole only to a peer that takes them */

#define UDP_SEG 1200	/* QUIC's datagrams */

/* A large UDP segment from 203.0.113.2 to 198.51.100.2 standing for
 * `count` datagrams, into ip; returns its length. */
static size_t udp_large(uint8_t *ip, unsigned int count)
{
	size_t len = 28 + (size_t)count * UDP_SEG;

	memset(ip, 0, len);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)len);
	ip[8] = 64;
	ip[9] = 17;				/* UDP */
	memcpy(ip + 12, (const uint8_t[]){ 203, 0, 113, 2, 198, 51, 100, 2 }, 8);
	put16(ip + 20, 40000);
	put16(ip + 22, 443);
	put16(ip + 24, (uint16_t)(len - 20));
	return len;
}

START_TEST(udp_segment_whole_with_uso)
{
	static uint8_t buf[VNET_HDR_LEN + 28 + 65 * UDP_SEG];
	struct rig r;

	for (int uso = 0; uso <= 1; uso++) {
		rig_up(&r, &fake, true);
		r.s.data_gso = true;
		r.s.data_uso = uso;
		/* As TUN hands it over: its virtio-net header first. */
		size_t n = VNET_HDR_LEN + udp_large(buf + VNET_HDR_LEN, 10);
		memcpy(buf, (const uint8_t[]){ VIRTIO_NET_HDR_F_NEEDS_CSUM,
					       CV_GSO_UDP_L4, 0, 0,
					       UDP_SEG & 0xff, UDP_SEG >> 8,
					       20, 0, 6, 0 }, VNET_HDR_LEN);
		ck_assert_int_eq(send(r.peer, buf, n, 0), (ssize_t)n);
		rig_run(&r);
		/* Without USO at the peer: ten datagrams, each on its own. */
		ck_assert_uint_eq(n_seen, uso ? 1 : 10);
		ck_assert_uint_eq(seen[0].type, uso ? PROTO_DATA_GSO : PROTO_DATA);
		ck_assert_uint_eq(r.core.counters.udp_gso_tx, uso);
		ck_assert_uint_eq(r.core.counters.udp_gso_split, !uso);
		rig_down(&r);
	}
}
END_TEST

/* From the peer: a large UDP segment only when we said we take them,
 * and of no more datagrams than a kernel sends in one. */
START_TEST(udp_segment_from_peer)
{
	static uint8_t msg[PROTO_DATA_GSO_HDR + 28 + 65 * UDP_SEG];
	static const struct {
		bool uso;
		unsigned int count;
		bool taken;
	} cases[] = {
		{ false, 40, false }, { true, 40, true }, { true, 65, false },
	};
	struct rig r;
	uint8_t out[VNET_HDR_LEN + 28 + 40 * UDP_SEG];

	rig_up(&r, &fake, true);
	r.s.data_gso = true;
	r.s.mtu = 1400;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t malformed = r.core.counters.malformed;
		r.s.data_uso = cases[i].uso;
		size_t n = udp_large(msg + PROTO_DATA_GSO_HDR, cases[i].count);
		struct cv_segmentation seg = {
			.flags = CV_MSG_NEEDS_CSUM, .gso_type = CV_GSO_UDP_L4,
			.gso_size = UDP_SEG,
		};
		proto_put_data_gso(msg, &seg);
		struct cv_msg m = { .data = msg, .len = PROTO_DATA_GSO_HDR + n };
		datapath_deliver(r.dp, &r.s, &m, 1);
		ssize_t got = recv(r.peer, out, sizeof(out), 0);
		ck_assert_msg((got > 0) == cases[i].taken, "case %zu: %zd", i, got);
		if (cases[i].taken)
			ck_assert_uint_eq(out[1], CV_GSO_UDP_L4);
		ck_assert_uint_eq(r.core.counters.malformed,
				  malformed + !cases[i].taken);
	}
	ck_assert_uint_eq(r.core.counters.udp_gso_rx, 1);
	rig_down(&r);
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
	host.loop = core.loop;
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
	TCase *peer = tcase_create("from a peer");
	TCase *server = tcase_create("from sessions");

	log_open("test_datapath", true, LOG_WARNING);
	tcase_add_test(tc, full_table_mid_batch);
	tcase_add_test(tc, path_carries_less);
	suite_add_tcase(s, tc);
	tcase_add_test(tc, udp_segment_whole_with_uso);
	tcase_add_test(peer, absurd_segment_size_refused);
	tcase_add_test(peer, udp_segment_from_peer);
	suite_add_tcase(s, peer);
	tcase_add_test(server, site_sources_and_routes);
	suite_add_tcase(s, server);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
