/*
 * The control protocol codec (src/proto.c) against doc/PROTOCOL.md.
 *
 * Every decode goes through a heap copy of exactly the bytes under test,
 * so AddressSanitizer or valgrind report any read past the end. The hex
 * examples are read from doc/PROTOCOL.md itself, so the document cannot
 * drift from the code.
 */
#include "proto.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NONCE 0x2a5f13c7u

/* ---- building messages by hand, for what the encoder would never write */

struct wire {
	uint8_t b[2 * PROTO_MAX_CONTROL];
	size_t len;
};

static void add(struct wire *w, const uint8_t *bytes, size_t n)
{
	ck_assert_uint_le(w->len + n, sizeof(w->b));
	memcpy(w->b + w->len, bytes, n);
	w->len += n;
}

#define ADD(w, ...)                                      \
	add(w, (const uint8_t[]){ __VA_ARGS__ },         \
	    sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* The parts of a valid welcome, so a test can leave one out or add to it. */
#define W_HEAD 0x02, 0x2a, 0x5f, 0x13, 0xc7
#define W_ADDR4 0x01, 0x05, 203, 0, 113, 2, 24
#define W_MTU 0x03, 0x02, 0x05, 0x78
#define W_KEEPALIVE 0x04, 0x04, 0x00, 0x0a, 0x00, 0x3c

static void welcome_base(struct wire *w)
{
	w->len = 0;
	ADD(w, W_HEAD, W_ADDR4, W_MTU, W_KEEPALIVE);
}

/* ---- decoding and comparing */

/* Decodes a heap copy of exactly len bytes: a read past the end is a
 * sanitizer or valgrind error, not a silent pass. */
static int decode(const uint8_t *bytes, size_t len, struct proto_msg *m,
		  const char **why)
{
	uint8_t *copy = malloc(len);

	ck_assert(len == 0 || copy);
	if (len)
		memcpy(copy, bytes, len);
	*why = NULL;
	int err = proto_decode(copy, len, m, why);
	free(copy);
	return err;
}

static void expect_ok(const struct wire *w, struct proto_msg *m)
{
	const char *why;
	int err = decode(w->b, w->len, m, &why);

	ck_assert_msg(err == 0, "decode failed (%d): %s", err, why);
}

static void expect_bad(const struct wire *w, const char *phrase)
{
	struct proto_msg m;
	const char *why;
	int err = decode(w->b, w->len, &m, &why);

	ck_assert_msg(err == -EBADMSG, "expected \"%s\", got %d", phrase, err);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why, phrase);
}

static struct cv_prefix prefix(const char *text)
{
	struct cv_prefix p;
	const char *why;

	ck_assert_msg(prefix_parse(text, true, &p, &why) == 0, "%s %s", text,
		      why);
	return p;
}

static struct cv_addr addr(const char *text)
{
	struct cv_addr a;

	ck_assert_msg(addr_parse(text, &a) == 0, "%s", text);
	return a;
}

static void assert_prefix_eq(const struct cv_prefix *a,
			     const struct cv_prefix *b)
{
	char sa[ADDR_STRLEN], sb[ADDR_STRLEN];

	ck_assert_msg(addr_equal(&a->addr, &b->addr) && a->len == b->len,
		      "%s != %s", prefix_str(a, sa), prefix_str(b, sb));
}

static void assert_welcome_eq(const struct proto_welcome *a,
			      const struct proto_welcome *b)
{
	ck_assert_uint_eq(a->nonce, b->nonce);
	assert_prefix_eq(&a->addr4, &b->addr4);
	ck_assert_uint_eq(a->server4.family, b->server4.family);
	if (a->server4.family)
		ck_assert(addr_equal(&a->server4, &b->server4));
	ck_assert_uint_eq(a->addr6.addr.family, b->addr6.addr.family);
	if (a->addr6.addr.family)
		assert_prefix_eq(&a->addr6, &b->addr6);
	ck_assert_uint_eq(a->server6.family, b->server6.family);
	if (a->server6.family)
		ck_assert(addr_equal(&a->server6, &b->server6));
	ck_assert_uint_eq(a->mtu, b->mtu);
	ck_assert_uint_eq(a->keepalive_interval, b->keepalive_interval);
	ck_assert_uint_eq(a->keepalive_timeout, b->keepalive_timeout);
	ck_assert_uint_eq(a->n_routes, b->n_routes);
	for (unsigned int i = 0; i < a->n_routes; i++)
		assert_prefix_eq(&a->routes[i], &b->routes[i]);
	ck_assert_uint_eq(a->n_networks, b->n_networks);
	for (unsigned int i = 0; i < a->n_networks; i++)
		assert_prefix_eq(&a->networks[i], &b->networks[i]);
	ck_assert_uint_eq(a->frames, b->frames);
	ck_assert_uint_eq(a->has_reset_token, b->has_reset_token);
	if (a->has_reset_token)
		ck_assert_mem_eq(a->reset_token, b->reset_token,
				 PROTO_RESET_TOKEN_LEN);
}

static void assert_msg_eq(const struct proto_msg *a, const struct proto_msg *b)
{
	ck_assert_uint_eq(a->type, b->type);
	switch (a->type) {
	case PROTO_HELLO:
		ck_assert_uint_eq(a->hello.version, b->hello.version);
		ck_assert_uint_eq(a->hello.nonce, b->hello.nonce);
		ck_assert_uint_eq(a->hello.frames, b->hello.frames);
		ck_assert_uint_eq(a->hello.previous6.family,
				  b->hello.previous6.family);
		if (a->hello.previous6.family)
			ck_assert(addr_equal(&a->hello.previous6,
					     &b->hello.previous6));
		break;
	case PROTO_WELCOME:
		assert_welcome_eq(&a->welcome, &b->welcome);
		break;
	case PROTO_REFUSE:
		ck_assert_uint_eq(a->refuse.reason, b->refuse.reason);
		ck_assert_str_eq(a->refuse.text, b->refuse.text);
		break;
	case PROTO_BYE:
		ck_assert_uint_eq(a->bye.reason, b->bye.reason);
		break;
	case PROTO_RESET:
		ck_assert_uint_eq(a->reset.len < PROTO_RESET_MIN ? PROTO_RESET_MIN
								 : a->reset.len,
				  b->reset.len);
		ck_assert_mem_eq(a->reset.token, b->reset.token,
				 PROTO_RESET_TOKEN_LEN);
		break;
	}
}

/* Encodes in, decodes the result into out, and returns the length. */
static size_t round_trip(const struct proto_msg *in, uint8_t *buf,
			 struct proto_msg *out)
{
	ssize_t n = proto_encode(in, buf, PROTO_MAX_CONTROL);
	const char *why;

	ck_assert_msg(n > 0, "encode %s: %zd", proto_type_name(in->type), n);
	ck_assert_msg(decode(buf, (size_t)n, out, &why) == 0, "decode: %s",
		      why);
	assert_msg_eq(in, out);
	return (size_t)n;
}

/* The WELCOME of doc/PROTOCOL.md's example. */
static void doc_welcome(struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PROTO_WELCOME;
	m->welcome.nonce = NONCE;
	m->welcome.addr4 = prefix("203.0.113.2/24");
	m->welcome.server4 = addr("203.0.113.1");
	m->welcome.mtu = 1400;
	m->welcome.keepalive_interval = 10;
	m->welcome.keepalive_timeout = 60;
	m->welcome.routes[m->welcome.n_routes++] = prefix("198.51.100.0/24");
}

static void add_route(struct proto_msg *m, const char *text)
{
	ck_assert_uint_lt(m->welcome.n_routes, PROTO_MAX_ROUTES);
	m->welcome.routes[m->welcome.n_routes++] = prefix(text);
}

/* ---- names */

START_TEST(test_names)
{
	ck_assert_str_eq(proto_type_name(PROTO_DATA), "data");
	ck_assert_str_eq(proto_type_name(PROTO_HELLO), "hello");
	ck_assert_str_eq(proto_type_name(PROTO_WELCOME), "welcome");
	ck_assert_str_eq(proto_type_name(PROTO_REFUSE), "refuse");
	ck_assert_str_eq(proto_type_name(PROTO_KEEPALIVE), "keepalive");
	ck_assert_str_eq(proto_type_name(PROTO_BYE), "bye");
	ck_assert_str_eq(proto_type_name(PROTO_PROBE), "probe");
	ck_assert_str_eq(proto_type_name(PROTO_PROBE_ACK), "probe_ack");
	ck_assert_str_eq(proto_type_name(PROTO_RESET), "reset");
	ck_assert_str_eq(proto_type_name(PROTO_MOVE), "move");
	ck_assert_str_eq(proto_type_name(0x06), "unknown");
	ck_assert_str_eq(proto_type_name(0xff), "unknown");

	ck_assert_str_eq(proto_reason_name(0), "unspecified");
	ck_assert_str_eq(proto_reason_name(1), "unsupported protocol version");
	ck_assert_str_eq(proto_reason_name(2), "address pool exhausted");
	ck_assert_str_eq(proto_reason_name(3), "shutting down");
	ck_assert_str_eq(proto_reason_name(4), "keepalive timeout");
	ck_assert_str_eq(proto_reason_name(5), "protocol error");
	ck_assert_str_eq(proto_reason_name(6), "authentication failed");
	ck_assert_str_eq(proto_reason_name(7), "refused by policy");
	ck_assert_str_eq(proto_reason_name(8), "busy, try again later");
	ck_assert_str_eq(proto_reason_name(9), "replaced by a new session");
	ck_assert_str_eq(proto_reason_name(10), "draining: connect to another gateway");
	ck_assert_str_eq(proto_reason_name(11), "unknown");
	ck_assert_str_eq(proto_reason_name(0xff), "unknown");
}
END_TEST

/* ---- round trips */

START_TEST(test_hello_round_trip)
{
	static const uint32_t nonces[] = { 0, 1, 0xdeadbeef, 0xffffffff };
	struct proto_msg in = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	for (size_t i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		in.hello.version = PROTO_VERSION;
		in.hello.nonce = nonces[i];
		ck_assert_uint_eq(round_trip(&in, buf, &out), 7);
		ck_assert_uint_eq(buf[2], 0);	/* flags sent as zero */
	}
}
END_TEST

START_TEST(test_hello_flags_ignored)
{
	struct wire w = { .len = 0 };
	struct proto_msg m;

	ADD(&w, 0x01, 0x01, 0xff, 0x01, 0x02, 0x03, 0x04);
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.hello.version, 1);
	ck_assert_uint_eq(m.hello.nonce, 0x01020304);
}
END_TEST

/* The DATA_GSO offer: a hello flag one way, a FEATURES attribute the
 * other; both survive the round trip, unknown bits included, and an old
 * welcome (no FEATURES) decodes as no features. */
/* The fast path's one header, bytes as doc/PROTOCOL.md draws them, and
 * the segmentation read back from them. */
START_TEST(test_data_gso_header)
{
	const struct cv_segmentation seg = {
		.flags = CV_MSG_NEEDS_CSUM, .gso_type = CV_GSO_TCPV6,
		.gso_size = 0x0586,
	};
	uint8_t msg[PROTO_DATA_GSO_HDR + 1] = { [PROTO_DATA_GSO_HDR] = 0x60 };
	const uint8_t want[PROTO_DATA_GSO_HDR] = { 0x06, 0x01, 0x04, 0x05, 0x86 };
	struct cv_segmentation got;

	proto_put_data_gso(msg, &seg);
	ck_assert_mem_eq(msg, want, sizeof(want));
	ck_assert_int_eq(proto_get_data_gso(msg, sizeof(msg), &got), 0);
	ck_assert_uint_eq(got.flags, CV_MSG_NEEDS_CSUM);
	ck_assert_uint_eq(got.gso_type, CV_GSO_TCPV6);
	ck_assert_uint_eq(got.gso_size, 0x0586);
	/* No checksum flag: no CV_MSG_NEEDS_CSUM; other flag bits mean nothing. */
	msg[1] = 0xfe;
	ck_assert_int_eq(proto_get_data_gso(msg, sizeof(msg), &got), 0);
	ck_assert_uint_eq(got.flags, 0);
	/* A header and no packet. */
	ck_assert_int_eq(proto_get_data_gso(msg, PROTO_DATA_GSO_HDR, &got),
			 -EBADMSG);
}
END_TEST

/* PROBE and PROBE_ACK, bytes as doc/PROTOCOL.md draws them: the probe's
 * padding is the probe's own business, the answer is exactly 7 bytes. */
START_TEST(test_probe_and_ack)
{
	uint8_t probe[1300] = { 0 }, ack[PROTO_PROBE_ACK_LEN];
	const uint8_t want_probe[PROTO_PROBE_HDR] = { 0x08, 0xde, 0xad, 0xbe, 0xef };
	const uint8_t want_ack[PROTO_PROBE_ACK_LEN] = {
		0x09, 0xde, 0xad, 0xbe, 0xef, 0x05, 0x14
	};
	uint32_t id;
	size_t size;

	proto_put_probe(probe, 0xdeadbeef);
	ck_assert_mem_eq(probe, want_probe, sizeof(want_probe));
	ck_assert_int_eq(proto_get_probe(probe, sizeof(probe), &id), 0);
	ck_assert_uint_eq(id, 0xdeadbeef);
	ck_assert_int_eq(proto_get_probe(probe, PROTO_PROBE_HDR - 1, &id), -EBADMSG);
	proto_put_probe_ack(ack, id, sizeof(probe));
	ck_assert_mem_eq(ack, want_ack, sizeof(want_ack));
	ck_assert_int_eq(proto_get_probe_ack(ack, sizeof(ack), &id, &size), 0);
	ck_assert_uint_eq(id, 0xdeadbeef);
	ck_assert_uint_eq(size, 1300);
	ck_assert_int_eq(proto_get_probe_ack(ack, sizeof(ack) - 1, &id, &size),
			 -EBADMSG);
	ck_assert_int_eq(proto_get_probe_ack(probe, sizeof(probe), &id, &size),
			 -EBADMSG);
	/* A size past 16 bits is said as 65535. */
	proto_put_probe_ack(ack, id, 70000);
	ck_assert_int_eq(proto_get_probe_ack(ack, sizeof(ack), &id, &size), 0);
	ck_assert_uint_eq(size, 65535);
}
END_TEST

START_TEST(test_data_gso_offer)
{
	struct proto_msg in = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w;

	in.hello.version = PROTO_VERSION;
	in.hello.flags = PROTO_HELLO_DATA_GSO;
	ck_assert_uint_eq(round_trip(&in, buf, &out), 7);
	ck_assert_uint_eq(buf[2], 0x01);
	ck_assert_uint_eq(out.hello.flags, PROTO_HELLO_DATA_GSO);

	welcome_base(&w);
	expect_ok(&w, &out);
	ck_assert_uint_eq(out.welcome.features, 0);
	ADD(&w, 0x11, 0x01, 0x81);
	expect_ok(&w, &out);
	ck_assert_uint_eq(out.welcome.features, 0x81);
	ADD(&w, 0x11, 0x01, 0x01);
	expect_bad(&w, "duplicate FEATURES in welcome");
	welcome_base(&w);
	ADD(&w, 0x11, 0x02, 0x01, 0x00);
	expect_bad(&w, "FEATURES length 2, expected 1");

	memset(&in, 0, sizeof(in));
	in.type = PROTO_WELCOME;
	in.welcome.addr4 = prefix("203.0.113.2/24");
	in.welcome.mtu = 1400;
	in.welcome.keepalive_interval = 10;
	in.welcome.keepalive_timeout = 60;
	in.welcome.features = PROTO_FEATURE_DATA_GSO;
	size_t n = (size_t)round_trip(&in, buf, &out);
	ck_assert_uint_eq(out.welcome.features, PROTO_FEATURE_DATA_GSO);
	ck_assert_mem_eq(buf + n - 3, ((const uint8_t[]){ 0x11, 0x01, 0x01 }), 3);
}
END_TEST

/* A hello of another version decodes, whatever its attributes, so the
 * session can refuse it with "unsupported protocol version". */
START_TEST(test_hello_other_version)
{
	static const uint8_t versions[] = { 0, 2, 0xff };
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(versions); i++) {
		struct wire w = { .len = 0 };
		ADD(&w, 0x01, versions[i], 0x00, 0xca, 0xfe, 0xf0, 0x0d);
		ADD(&w, 0x80, 0x00, 0x01, 0x02, 0xff);	/* v1 would reject */
		expect_ok(&w, &m);
		ck_assert_uint_eq(m.type, PROTO_HELLO);
		ck_assert_uint_eq(m.hello.version, versions[i]);
		ck_assert_uint_eq(m.hello.nonce, 0xcafef00d);

		w.len = 6;
		expect_bad(&w, "truncated hello");
	}
}
END_TEST

START_TEST(test_hello_v1_attributes)
{
	struct wire w = { .len = 0 };
	struct proto_msg m;

	ADD(&w, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2a);
	ADD(&w, 0x40, 0x03, 'x', 'y', 'z');	/* unknown, not critical */
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.hello.nonce, 42);

	ADD(&w, W_MTU);
	expect_bad(&w, "MTU not allowed in hello");

	w.len = 12;
	ADD(&w, 0x81, 0x00);
	expect_bad(&w, "unknown critical attribute 0x81");
}
END_TEST

START_TEST(test_welcome_round_trip)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	doc_welcome(&in);
	add_route(&in, "192.0.2.0/25");
	add_route(&in, "2001:db8::/32");
	add_route(&in, "0.0.0.0/0");
	add_route(&in, "2001:db8:1:2::/64");
	add_route(&in, "2001:db8::1/128");
	add_route(&in, "::/0");
	add_route(&in, "198.51.100.7/32");
	size_t n = round_trip(&in, buf, &out);
	/* fixed 5, ADDR4 7, SERVER4 6, MTU 4, KEEPALIVE 6, 4 ROUTE4 of 7,
	 * 4 ROUTE6 of 19 */
	ck_assert_uint_eq(n, 5 + 7 + 6 + 4 + 6 + 4 * 7 + 4 * 19);
	ck_assert_uint_eq(out.welcome.routes[2].addr.family, AF_INET6);
	ck_assert_uint_eq(out.welcome.routes[2].len, 32);
}
END_TEST

START_TEST(test_welcome_without_server4)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	doc_welcome(&in);
	memset(&in.welcome.server4, 0, sizeof(in.welcome.server4));
	ck_assert_uint_eq(round_trip(&in, buf, &out), 35 - 6);
	ck_assert_uint_eq(out.welcome.server4.family, 0);
	for (size_t i = 5; i < 35 - 6; i += 2u + buf[i + 1])
		ck_assert_uint_ne(buf[i], 0x05);
}
END_TEST

/* The encoder writes ADDR4, SERVER4, MTU, KEEPALIVE, then the routes in
 * the order given; ROUTE6 for IPv6 routes. */
START_TEST(test_welcome_encoding_order)
{
	static const uint8_t expected[] = {
		W_HEAD, W_ADDR4,
		0x05, 0x04, 203, 0, 113, 1,
		W_MTU, W_KEEPALIVE,
		0x02, 0x05, 198, 51, 100, 0, 24,
		0x07, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 48,
		0x02, 0x05, 192, 0, 2, 128, 25,
	};
	struct proto_msg in;
	uint8_t buf[PROTO_MAX_CONTROL];

	doc_welcome(&in);
	add_route(&in, "2001:db8:1::/48");
	add_route(&in, "192.0.2.128/25");
	ssize_t n = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(n, sizeof(expected));
	ck_assert_mem_eq(buf, expected, sizeof(expected));
}
END_TEST

/* IPv6 inside: ADDR6 and SERVER6 after SERVER4, before MTU. */
#define W_ADDR6 0x08, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 2, 64
#define W_SERVER6 0x0c, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, \
	0, 0, 0, 0, 0, 0, 0, 1

START_TEST(test_welcome_ipv6_inside)
{
	static const uint8_t expected[] = {
		W_HEAD, W_ADDR4,
		0x05, 0x04, 203, 0, 113, 1,
		W_ADDR6, W_SERVER6,
		W_MTU, W_KEEPALIVE,
		0x02, 0x05, 198, 51, 100, 0, 24,
	};
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	doc_welcome(&in);
	in.welcome.addr6 = prefix("2001:db8:100::2/64");
	in.welcome.server6 = addr("2001:db8:100::1");
	ssize_t n = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(n, sizeof(expected));
	ck_assert_mem_eq(buf, expected, sizeof(expected));
	round_trip(&in, buf, &out);
	ck_assert_uint_eq(out.welcome.addr6.addr.family, AF_INET6);
	ck_assert_uint_eq(out.welcome.addr6.len, 64);

	/* Without them, as before: nothing of IPv6 decoded. */
	doc_welcome(&in);
	round_trip(&in, buf, &out);
	ck_assert_uint_eq(out.welcome.addr6.addr.family, 0);
	ck_assert_uint_eq(out.welcome.server6.family, 0);
}
END_TEST

START_TEST(test_addr6_rules)
{
	struct wire w;
	struct proto_msg m;

	welcome_base(&w);
	ADD(&w, W_ADDR6);
	expect_ok(&w, &m);
	ADD(&w, W_ADDR6);
	expect_bad(&w, "duplicate ADDR6 in welcome");

	welcome_base(&w);
	ADD(&w, 0x08, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 2, 0);
	expect_bad(&w, "ADDR6 prefix length 0 out of range 1-128");
	welcome_base(&w);
	ADD(&w, 0x08, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 2, 129);
	expect_bad(&w, "ADDR6 prefix length 129 out of range 1-128");
	welcome_base(&w);
	ADD(&w, 0x08, 0x05, 203, 0, 113, 2, 24);
	expect_bad(&w, "ADDR6 length 5, expected 17");
	welcome_base(&w);
	ADD(&w, 0x0c, 0x04, 203, 0, 113, 1);
	expect_bad(&w, "SERVER6 length 4, expected 16");
	welcome_base(&w);
	ADD(&w, W_SERVER6, W_SERVER6);
	expect_bad(&w, "duplicate SERVER6 in welcome");

	struct wire h = { .len = 0 };
	ADD(&h, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2a, W_ADDR6);
	expect_bad(&h, "ADDR6 not allowed in hello");
	h.len = 0;
	ADD(&h, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2a,
	    0x0d, 0x04, 203, 0, 113, 2);
	expect_bad(&h, "PREVIOUS6 length 4, expected 16");
	welcome_base(&w);
	ADD(&w, 0x0d, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 2);
	expect_bad(&w, "PREVIOUS6 not allowed in welcome");
}
END_TEST

/* An IPv6-only tunnel (pool6, no pool): ADDR6 stands in for ADDR4, which
 * is left out; the bytes are those of the dual-stack welcome without
 * ADDR4 and SERVER4. */
START_TEST(test_welcome_ipv6_only)
{
	static const uint8_t expected[] = {
		W_HEAD, W_ADDR6, W_SERVER6, W_MTU, W_KEEPALIVE,
		0x07, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 64,
	};
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	doc_welcome(&in);
	memset(&in.welcome.addr4, 0, sizeof(in.welcome.addr4));
	memset(&in.welcome.server4, 0, sizeof(in.welcome.server4));
	in.welcome.n_routes = 0;
	add_route(&in, "2001:db8:200::/64");
	in.welcome.addr6 = prefix("2001:db8:100::2/64");
	in.welcome.server6 = addr("2001:db8:100::1");
	ssize_t n = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(n, sizeof(expected));
	ck_assert_mem_eq(buf, expected, sizeof(expected));
	round_trip(&in, buf, &out);
	ck_assert_uint_eq(out.welcome.addr4.addr.family, 0);
	ck_assert_uint_eq(out.welcome.server4.family, 0);
	ck_assert_uint_eq(out.welcome.addr6.addr.family, AF_INET6);

	/* Decoded from bytes too, ADDR6 the only address. */
	struct wire w = { .len = 0 };
	ADD(&w, W_HEAD, W_MTU, W_ADDR6, W_KEEPALIVE);
	expect_ok(&w, &out);
	ck_assert_uint_eq(out.welcome.addr6.len, 64);
	/* The encoder will not write a welcome with neither address. */
	in.welcome.addr6.addr.family = 0;
	ck_assert_int_eq(proto_encode(&in, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_hello_previous6)
{
	struct proto_msg in = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	in.hello.version = PROTO_VERSION;
	in.hello.nonce = NONCE;
	in.hello.previous4 = addr("203.0.113.9");
	in.hello.previous6 = addr("2001:db8:100::9");
	/* fixed 7, PREVIOUS4 6, PREVIOUS6 18 */
	ck_assert_uint_eq(round_trip(&in, buf, &out), 7 + 6 + 18);
	ck_assert_uint_eq(buf[13], 0x0d);
	ck_assert_uint_eq(buf[14], 16);
	ck_assert(addr_equal(&out.hello.previous4, &in.hello.previous4));
}
END_TEST

START_TEST(test_refuse_round_trip)
{
	struct proto_msg in = { .type = PROTO_REFUSE }, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	in.refuse.reason = PROTO_REASON_AUTH;
	strcpy(in.refuse.text, "bad password for alice");
	ck_assert_uint_eq(round_trip(&in, buf, &out), 2 + 2 + 22);
	ck_assert_uint_eq(buf[2], 0x06);

	/* No text, no MESSAGE attribute. */
	in.refuse.reason = PROTO_REASON_POOL_EXHAUSTED;
	in.refuse.text[0] = '\0';
	ck_assert_uint_eq(round_trip(&in, buf, &out), 2);
	ck_assert_str_eq(out.refuse.text, "");

	/* A reason this version does not know still travels. */
	in.refuse.reason = 200;
	round_trip(&in, buf, &out);
}
END_TEST

START_TEST(test_refuse_longest_text)
{
	struct proto_msg in = { .type = PROTO_REFUSE }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	char expected[PROTO_MAX_TEXT + 1];

	/* All 256 bytes set, no NUL: the encoder stops at 255. */
	memset(in.refuse.text, 'a', sizeof(in.refuse.text));
	memset(expected, 'a', PROTO_MAX_TEXT);
	expected[PROTO_MAX_TEXT] = '\0';
	ssize_t n = proto_encode(&in, buf, sizeof(buf));
	ck_assert_int_eq(n, 2 + 2 + PROTO_MAX_TEXT);
	ck_assert_uint_eq(buf[3], 255);
	const char *why;
	ck_assert_int_eq(decode(buf, (size_t)n, &out, &why), 0);
	ck_assert_str_eq(out.refuse.text, expected);
}
END_TEST

START_TEST(test_keepalive_and_bye)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w = { .len = 0 };

	in.type = PROTO_KEEPALIVE;
	ck_assert_uint_eq(round_trip(&in, buf, &out), 1);
	ck_assert_uint_eq(buf[0], 0x04);
	ADD(&w, 0x04, 0x00);
	expect_bad(&w, "keepalive with trailing bytes");

	/* MOVE: the type alone, as KEEPALIVE (doc/PROTOCOL.md, "Move"). */
	in.type = PROTO_MOVE;
	ck_assert_uint_eq(round_trip(&in, buf, &out), 1);
	ck_assert_uint_eq(buf[0], 0x0b);
	ck_assert_uint_eq(out.type, PROTO_MOVE);
	w.len = 0;
	ADD(&w, 0x0b, 0x00);
	expect_bad(&w, "move with trailing bytes");
	w.len = 0;

	in.type = PROTO_BYE;
	for (unsigned int r = 0; r <= 0xff; r += 0x33) {
		in.bye.reason = (uint8_t)r;
		ck_assert_uint_eq(round_trip(&in, buf, &out), 2);
	}
	w.len = 0;
	ADD(&w, 0x05);
	expect_bad(&w, "truncated bye");
	ADD(&w, 0x03, 0x00);
	expect_bad(&w, "bye with trailing bytes");
}
END_TEST

/* A stateless reset: the token is the last 16 bytes, whatever comes
 * before; the padding makes it as long as asked, up to a control
 * message's limit. */
START_TEST(test_reset)
{
	struct proto_msg in = { .type = PROTO_RESET }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w = { .len = 0 };

	for (unsigned int i = 0; i < PROTO_RESET_TOKEN_LEN; i++)
		in.reset.token[i] = (uint8_t)(0xa0 + i);
	ck_assert_uint_eq(round_trip(&in, buf, &out), PROTO_RESET_MIN);
	ck_assert_uint_eq(buf[0], 0x0a);
	ck_assert_mem_eq(buf + 1, in.reset.token, PROTO_RESET_TOKEN_LEN);
	in.reset.len = 60;
	ck_assert_uint_eq(round_trip(&in, buf, &out), 60);
	ck_assert_mem_eq(buf + 60 - PROTO_RESET_TOKEN_LEN, in.reset.token,
			 PROTO_RESET_TOKEN_LEN);
	in.reset.len = PROTO_MAX_CONTROL + 1;
	ck_assert_int_eq(proto_encode(&in, buf, sizeof(buf)), -ENOSPC);

	/* Padding of any value is padding. */
	ADD(&w, 0x0a, 0xff, 0x17, 0xfe, 0xfd);
	add(&w, in.reset.token, PROTO_RESET_TOKEN_LEN);
	expect_ok(&w, &out);
	ck_assert_uint_eq(out.reset.len, w.len);
	ck_assert_mem_eq(out.reset.token, in.reset.token, PROTO_RESET_TOKEN_LEN);
	w.len = PROTO_RESET_MIN - 1;
	expect_bad(&w, "truncated reset");
}
END_TEST

/* A client's "are you there?" is a PROBE like the path MTU's, small:
 * long enough for a shorter RESET to answer it, shorter than any size a
 * path MTU search tries, so that its answer is never taken for one. It
 * is no control message: the codec leaves it to the fast path. */
START_TEST(test_liveness_probe)
{
	uint8_t probe[PROTO_PROBE_LIVENESS_LEN] = { 0 };
	struct proto_msg out;
	const char *why;
	uint32_t id;

	ck_assert_uint_gt(PROTO_PROBE_LIVENESS_LEN, PROTO_RESET_MIN);
	ck_assert_uint_lt(PROTO_PROBE_LIVENESS_LEN, PROTO_MAX_CONTROL);
	proto_put_probe(probe, 0);
	ck_assert_uint_eq(probe[0], 0x08);
	ck_assert_int_eq(proto_get_probe(probe, sizeof(probe), &id), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(decode(probe, sizeof(probe), &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "unknown message type 0x08");
}
END_TEST

/* RESET_TOKEN: 16 bytes, in a welcome only, once. */
START_TEST(test_reset_token)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w;

	doc_welcome(&in);
	in.welcome.has_reset_token = true;
	memset(in.welcome.reset_token, 0x5c, PROTO_RESET_TOKEN_LEN);
	size_t n = round_trip(&in, buf, &out);
	ck_assert_uint_eq(buf[n - 18], 0x14);
	ck_assert_uint_eq(buf[n - 17], 16);

	welcome_base(&w);
	expect_ok(&w, &out);
	ck_assert(!out.welcome.has_reset_token);
	ADD(&w, 0x14, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	expect_ok(&w, &out);
	ck_assert(out.welcome.has_reset_token);
	ck_assert_uint_eq(out.welcome.reset_token[15], 16);
	ADD(&w, 0x14, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
	expect_bad(&w, "duplicate RESET_TOKEN in welcome");
	welcome_base(&w);
	ADD(&w, 0x14, 0x04, 1, 2, 3, 4);
	expect_bad(&w, "RESET_TOKEN length 4, expected 16");
	w.len = 0;
	ADD(&w, 0x03, 0x02, 0x14, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    13, 14, 15, 16);
	expect_bad(&w, "RESET_TOKEN not allowed in refuse");
}
END_TEST

/* ---- route limits */

static void fill_routes(struct proto_msg *m, unsigned int v4, unsigned int v6)
{
	char text[64];

	doc_welcome(m);
	m->welcome.n_routes = 0;
	for (unsigned int i = 0; i < v4; i++) {
		snprintf(text, sizeof(text), "10.%u.0.0/16", i);
		add_route(m, text);
	}
	for (unsigned int i = 0; i < v6; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x::/48", i);
		add_route(m, text);
	}
}

START_TEST(test_max_routes)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	fill_routes(&in, PROTO_MAX_ROUTES, 0);
	round_trip(&in, buf, &out);
	fill_routes(&in, PROTO_MAX_ROUTES - 12, 12);
	round_trip(&in, buf, &out);

	in.welcome.n_routes = PROTO_MAX_ROUTES + 1;
	ck_assert_int_eq(proto_encode(&in, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* ROUTE4 and ROUTE6 count toward one limit. */
START_TEST(test_too_many_routes_decoded)
{
	struct wire w;

	welcome_base(&w);
	for (unsigned int i = 0; i < PROTO_MAX_ROUTES; i++)
		ADD(&w, 0x02, 0x05, 10, (uint8_t)i, 0, 0, 16);
	struct proto_msg m;
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.welcome.n_routes, PROTO_MAX_ROUTES);
	ck_assert_uint_eq(m.welcome.routes[63].addr.bytes[1], 63);

	size_t full = w.len;
	ADD(&w, 0x02, 0x05, 10, 99, 0, 0, 16);
	expect_bad(&w, "more than 64 routes");
	w.len = full;
	ADD(&w, 0x07, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 32);
	expect_bad(&w, "more than 64 routes");
}
END_TEST

/* 1024 bytes hold 52 ROUTE6 at most; the encoder says so with -ENOSPC. */
START_TEST(test_route6_fill_the_message)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];

	fill_routes(&in, 0, 52);
	ck_assert_uint_eq(round_trip(&in, buf, &out), 28 + 52 * 19);
	fill_routes(&in, 0, 53);
	ck_assert_int_eq(proto_encode(&in, buf, sizeof(buf)), -ENOSPC);
	fill_routes(&in, 0, PROTO_MAX_ROUTES);
	uint8_t big[4 * PROTO_MAX_CONTROL];
	ck_assert_int_eq(proto_encode(&in, big, sizeof(big)), -ENOSPC);
}
END_TEST

/* ---- truncation and size */

START_TEST(test_truncated_hello)
{
	struct proto_msg in = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;

	in.hello.version = PROTO_VERSION;
	in.hello.nonce = NONCE;
	size_t n = round_trip(&in, buf, &out);
	ck_assert_int_eq(decode(buf, 0, &out, &why), -EBADMSG);
	ck_assert_str_eq(why, "empty message");
	for (size_t len = 1; len < n; len++) {
		ck_assert_int_eq(decode(buf, len, &out, &why), -EBADMSG);
		ck_assert_str_eq(why, "truncated hello");
	}
}
END_TEST

/* Without routes the last attribute is a required one, so every shorter
 * length is an error. */
START_TEST(test_truncated_welcome)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;

	doc_welcome(&in);
	in.welcome.n_routes = 0;
	size_t n = round_trip(&in, buf, &out);
	for (size_t len = 0; len < n; len++) {
		ck_assert_int_eq(decode(buf, len, &out, &why), -EBADMSG);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

/* With routes, a cut between two whole attributes after the required ones
 * leaves a valid welcome with fewer routes (the transport, not the
 * message, carries the length); every other cut is an error. */
START_TEST(test_truncated_welcome_with_routes)
{
	struct proto_msg in, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;

	doc_welcome(&in);
	add_route(&in, "2001:db8::/32");
	add_route(&in, "192.0.2.0/24");
	size_t n = round_trip(&in, buf, &out);
	/* ends[i]: where the welcome with i routes ends */
	static const size_t ends[] = { 28, 28 + 7, 28 + 7 + 19 };
	unsigned int accepted = 0;

	ck_assert_uint_eq(n, 28 + 7 + 19 + 7);
	for (size_t len = 0; len < n; len++) {
		int err = decode(buf, len, &out, &why);
		unsigned int routes = 0;
		while (routes < 3 && ends[routes] != len)
			routes++;
		if (routes == 3) {
			ck_assert_msg(err == -EBADMSG, "length %zu accepted", len);
			continue;
		}
		ck_assert_msg(err == 0, "length %zu: %s", len, why);
		in.welcome.n_routes = routes;
		assert_welcome_eq(&in.welcome, &out.welcome);
		accepted++;
	}
	ck_assert_uint_eq(accepted, 3);
}
END_TEST

START_TEST(test_oversized)
{
	struct wire w;
	struct proto_msg m;

	/* Pad a valid welcome with an unknown attribute to exactly 1024. */
	welcome_base(&w);
	size_t pad = PROTO_MAX_CONTROL - w.len;
	while (pad > 0) {
		size_t v = pad - 2 > 255 ? 255 : pad - 2;
		ADD(&w, 0x7f, (uint8_t)v);
		memset(w.b + w.len, 'p', v);
		w.len += v;
		pad -= 2 + v;
	}
	ck_assert_uint_eq(w.len, PROTO_MAX_CONTROL);
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.welcome.mtu, 1400);

	w.b[w.len++] = 0x00;
	expect_bad(&w, "oversized control message (1025 bytes, at most 1024)");

	/* Data packets are not the codec's business, whatever their size. */
	w.b[0] = PROTO_DATA;
	expect_bad(&w, "data is not a control message");
	w.len = 1;
	expect_bad(&w, "data is not a control message");
}
END_TEST

START_TEST(test_unknown_type)
{
	struct wire w = { .len = 0 };

	ADD(&w, 0x06);
	expect_bad(&w, "unknown message type 0x06");
	w.b[0] = 0xff;
	expect_bad(&w, "unknown message type 0xff");
	ADD(&w, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00);
	w.b[0] = 0x80;
	expect_bad(&w, "unknown message type 0x80");
}
END_TEST

START_TEST(test_hello_credentials)
{
	struct proto_msg m = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = 0x01020304;
	strcpy(m.hello.username, "alice");
	strcpy(m.hello.password, "correct horse battery staple");
	ssize_t len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(len, 7);
	ck_assert_int_eq(decode(buf, (size_t)len, &out, &why), 0);
	ck_assert_str_eq(out.hello.username, "alice");
	ck_assert_str_eq(out.hello.password, "correct horse battery staple");
	ck_assert_int_eq(out.hello.previous4.family, 0);

	/* The address of the last session, asked back. */
	m.hello.previous4.family = AF_INET;
	inet_pton(AF_INET, "203.0.113.7", &m.hello.previous4.v4);
	len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(decode(buf, (size_t)len, &out, &why), 0);
	ck_assert_int_eq(out.hello.previous4.family, AF_INET);
	ck_assert_mem_eq(&out.hello.previous4.v4, &m.hello.previous4.v4, 4);
	ck_assert_uint_eq(out.hello.nonce, 0x01020304);

	/* A NUL inside would let "alice\0x" pass as "alice". */
	struct wire w = { .len = 0 };
	ADD(&w, 0x01, 0x01, 0x00, 0, 0, 0, 1);
	ADD(&w, 0x09, 0x03, 'a', 0x00, 'b');
	expect_bad(&w, "USERNAME contains a NUL byte");

	/* Credentials belong in hello only. */
	struct wire r = { .len = 0 };
	ADD(&r, 0x03, 0x06, 0x0a, 0x02, 'p', 'w');
	expect_bad(&r, "PASSWORD not allowed in refuse");
}
END_TEST

/* ---- attributes */

START_TEST(test_unknown_attributes_skipped)
{
	struct wire w;
	struct proto_msg m, expected;

	doc_welcome(&expected);
	expected.welcome.n_routes = 0;
	memset(&expected.welcome.server4, 0, sizeof(expected.welcome.server4));

	welcome_base(&w);
	ADD(&w, 0x3c, 0x00);			/* empty */
	ADD(&w, 0x7f, 0x02, 0x02, 0x05);	/* looks like a TLV inside */
	ADD(&w, 0x3d, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 2, 64);
	ADD(&w, 0x3d, 0x01, 0xff);
	ADD(&w, 0x40, 0xff);
	memset(w.b + w.len, 0x80, 255);
	w.len += 255;
	expect_ok(&w, &m);
	assert_welcome_eq(&m.welcome, &expected.welcome);

	struct wire r = { .len = 0 };
	ADD(&r, 0x03, 0x01, 0x10, 0x00, 0x06, 0x02, 'n', 'o');
	expect_ok(&r, &m);
	ck_assert_str_eq(m.refuse.text, "no");
}
END_TEST

START_TEST(test_dns)
{
	struct proto_msg m = { .type = PROTO_WELCOME }, out;
	struct proto_welcome *w = &m.welcome;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;

	doc_welcome(&m);
	w->n_dns = 2;
	addr_parse("198.51.100.53", &w->dns[0]);
	addr_parse("2001:db8::53", &w->dns[1]);
	w->n_dns_domains = 2;
	strcpy(w->dns_domains[0], "corp.example");
	strcpy(w->dns_domains[1], "~internal.example");
	ssize_t n = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(decode(buf, (size_t)n, &out, &why), 0);
	ck_assert_uint_eq(out.welcome.n_dns, 2);
	ck_assert(addr_equal(&out.welcome.dns[0], &w->dns[0]));
	ck_assert(addr_equal(&out.welcome.dns[1], &w->dns[1]));
	ck_assert_uint_eq(out.welcome.n_dns_domains, 2);
	ck_assert_str_eq(out.welcome.dns_domains[0], "corp.example");
	ck_assert_str_eq(out.welcome.dns_domains[1], "~internal.example");
	/* A domain a resolver or a script should never see. */
	strcpy(w->dns_domains[1], "x; rm -rf /");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);

	struct wire b;
	welcome_base(&b);
	ADD(&b, 0x0e, 0x05, 198, 51, 100, 53, 0);
	expect_bad(&b, "DNS length 5, expected 4 or 16");
	welcome_base(&b);
	ADD(&b, 0x0e, 0x00);
	expect_bad(&b, "DNS length 0, expected 1-255");
	welcome_base(&b);
	ADD(&b, 0x0f, 0x03, 'a', ' ', 'b');
	expect_bad(&b, "DNS_DOMAIN 1 is not a domain name");
	welcome_base(&b);
	ADD(&b, 0x0f, 0x02, 'o', 'k', 0x0f, 0x03, 'a', 0, 'b');
	expect_bad(&b, "DNS_DOMAIN 2 contains a NUL byte");
	welcome_base(&b);
	for (int i = 0; i < PROTO_MAX_DNS + 1; i++)
		ADD(&b, 0x0e, 0x04, 198, 51, 100, (uint8_t)i);
	expect_bad(&b, "more than 8 DNS servers");
	b.len = 0;
	ADD(&b, 0x01, 0x01, 0x00, 0x2a, 0x5f, 0x13, 0xc7, 0x0e, 0x04, 1, 2, 3, 4);
	expect_bad(&b, "DNS not allowed in hello");

	ck_assert(proto_dns_domain_valid("a-b_c.example"));
	ck_assert(proto_dns_domain_valid("~."));
	ck_assert(!proto_dns_domain_valid(""));
	ck_assert(!proto_dns_domain_valid("~"));
	ck_assert(!proto_dns_domain_valid(".example"));
	ck_assert(!proto_dns_domain_valid("a..b"));
	ck_assert(!proto_dns_domain_valid("$(id)"));
}
END_TEST

START_TEST(test_unknown_critical_rejected)
{
	struct wire w;

	welcome_base(&w);
	ADD(&w, 0x80, 0x00);
	expect_bad(&w, "unknown critical attribute 0x80");

	welcome_base(&w);
	ADD(&w, 0xfe, 0x02, 0x00, 0x00);
	expect_bad(&w, "unknown critical attribute 0xfe");

	w.len = 0;
	ADD(&w, 0x03, 0x00, 0xff, 0x00);
	expect_bad(&w, "unknown critical attribute 0xff");
}
END_TEST

/* FRAMES (layer 2): a critical attribute of hello and welcome; a layer
 * 2 welcome carries no address, route, network or DNS. */
START_TEST(test_frames)
{
	struct proto_msg m = { .type = PROTO_HELLO }, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w;

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = NONCE;
	m.hello.frames = PROTO_FRAMES_ETHERNET;
	round_trip(&m, buf, &out);
	ck_assert_uint_eq(out.hello.frames, PROTO_FRAMES_ETHERNET);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	m.welcome.nonce = NONCE;
	m.welcome.mtu = 1400;
	m.welcome.keepalive_interval = 10;
	m.welcome.keepalive_timeout = 60;
	m.welcome.frames = PROTO_FRAMES_ETHERNET;
	round_trip(&m, buf, &out);
	/* Without FRAMES, no address is an error, as before. */
	m.welcome.frames = 0;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);

	w.len = 0;
	ADD(&w, W_HEAD, 0xa0, 0x01, 0x01, W_ADDR4, W_MTU, W_KEEPALIVE);
	expect_bad(&w, "ADDR4 or SERVER4 in a welcome with FRAMES (layer 2)");
	w.len = 0;
	ADD(&w, W_HEAD, W_MTU, W_KEEPALIVE, 0x02, 0x05, 198, 51, 100, 0, 24,
	    0xa0, 0x01, 0x01);
	expect_bad(&w, "ROUTE4 or ROUTE6 in a welcome with FRAMES (layer 2)");
	w.len = 0;
	ADD(&w, W_HEAD, 0xa0, 0x01, 0x02, W_MTU, W_KEEPALIVE);
	expect_bad(&w, "FRAMES 2 unknown, expected 1 (Ethernet)");
	w.len = 0;
	ADD(&w, 0x01, 0x01, 0x00, 0x2a, 0x5f, 0x13, 0xc7, 0xa0, 0x01, 0x01,
	    0xa0, 0x01, 0x01);
	expect_bad(&w, "duplicate FRAMES in hello");
	w.len = 0;
	ADD(&w, 0x03, 0x07, 0xa0, 0x01, 0x01);
	expect_bad(&w, "FRAMES not allowed in refuse");
	w.len = 0;
	ADD(&w, 0x01, 0x01, 0x00, 0x2a, 0x5f, 0x13, 0xc7, 0xa0, 0x00);
	expect_bad(&w, "FRAMES length 0, expected 1");
}
END_TEST

START_TEST(test_truncated_attribute)
{
	struct wire w;

	welcome_base(&w);
	ADD(&w, 0x40);				/* type without length */
	expect_bad(&w, "truncated attribute");

	welcome_base(&w);
	ADD(&w, 0x40, 0x03, 0x00, 0x00);	/* one byte short */
	expect_bad(&w, "truncated attribute");

	welcome_base(&w);
	ADD(&w, 0x02, 0xff, 198, 51, 100, 0, 24);
	expect_bad(&w, "truncated attribute");
}
END_TEST

START_TEST(test_bad_lengths)
{
	static const struct {
		uint8_t type, len;
		const char *phrase;
	} cases[] = {
		{ 0x01, 4, "ADDR4 length 4, expected 5" },
		{ 0x01, 6, "ADDR4 length 6, expected 5" },
		{ 0x02, 0, "ROUTE4 length 0, expected 5" },
		{ 0x02, 17, "ROUTE4 length 17, expected 5" },
		{ 0x03, 1, "MTU length 1, expected 2" },
		{ 0x03, 4, "MTU length 4, expected 2" },
		{ 0x04, 2, "KEEPALIVE length 2, expected 4" },
		{ 0x05, 16, "SERVER4 length 16, expected 4" },
		{ 0x07, 5, "ROUTE6 length 5, expected 17" },
		{ 0x07, 18, "ROUTE6 length 18, expected 17" },
	};
	struct wire w;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		w.len = 0;
		ADD(&w, W_HEAD);
		/* The bad one first, so nothing else is checked before it. */
		ADD(&w, cases[i].type, cases[i].len);
		memset(w.b + w.len, 0, cases[i].len);
		w.len += cases[i].len;
		ADD(&w, W_ADDR4, W_MTU, W_KEEPALIVE);
		expect_bad(&w, cases[i].phrase);
	}

	w.len = 0;
	ADD(&w, 0x03, 0x00, 0x06, 0x00);
	expect_bad(&w, "MESSAGE length 0, expected 1-255");
}
END_TEST

START_TEST(test_duplicates)
{
	struct wire w;
	struct proto_msg m;

	welcome_base(&w);
	ADD(&w, W_ADDR4);
	expect_bad(&w, "duplicate ADDR4 in welcome");
	welcome_base(&w);
	ADD(&w, W_MTU);
	expect_bad(&w, "duplicate MTU in welcome");
	welcome_base(&w);
	ADD(&w, W_KEEPALIVE);
	expect_bad(&w, "duplicate KEEPALIVE in welcome");
	welcome_base(&w);
	ADD(&w, 0x05, 0x04, 203, 0, 113, 1, 0x05, 0x04, 203, 0, 113, 1);
	expect_bad(&w, "duplicate SERVER4 in welcome");

	w.len = 0;
	ADD(&w, 0x03, 0x00, 0x06, 0x01, 'a', 0x06, 0x01, 'b');
	expect_bad(&w, "duplicate MESSAGE in refuse");

	/* Routes repeat, even the same one. */
	welcome_base(&w);
	ADD(&w, 0x02, 0x05, 198, 51, 100, 0, 24);
	ADD(&w, 0x02, 0x05, 198, 51, 100, 0, 24);
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.welcome.n_routes, 2);
}
END_TEST

START_TEST(test_not_allowed)
{
	struct wire w = { .len = 0 };

	ADD(&w, 0x03, 0x05, 0x02, 0x05, 198, 51, 100, 0, 24);
	expect_bad(&w, "ROUTE4 not allowed in refuse");

	welcome_base(&w);
	ADD(&w, 0x06, 0x02, 'h', 'i');
	expect_bad(&w, "MESSAGE not allowed in welcome");

	w.len = 0;
	ADD(&w, 0x01, 0x01, 0x00, 0, 0, 0, 0, W_ADDR4);
	expect_bad(&w, "ADDR4 not allowed in hello");
}
END_TEST

START_TEST(test_missing_required)
{
	struct wire w = { .len = 0 };

	ADD(&w, W_HEAD, W_MTU, W_KEEPALIVE);
	expect_bad(&w, "welcome without ADDR4 or ADDR6");
	w.len = 0;
	ADD(&w, W_HEAD, W_MTU, W_KEEPALIVE, 0x05, 0x04, 203, 0, 113, 1);
	expect_bad(&w, "welcome without ADDR4 or ADDR6");
	w.len = 0;
	ADD(&w, W_HEAD, W_KEEPALIVE, W_ADDR4);
	expect_bad(&w, "welcome without MTU");
	w.len = 0;
	ADD(&w, W_HEAD, W_ADDR4, W_MTU, 0x05, 0x04, 203, 0, 113, 1);
	expect_bad(&w, "welcome without KEEPALIVE");
	w.len = 0;
	ADD(&w, W_HEAD);
	expect_bad(&w, "welcome without MTU");
	w.len = 4;
	expect_bad(&w, "truncated welcome");
	w.len = 0;
	ADD(&w, 0x03);
	expect_bad(&w, "truncated refuse");
}
END_TEST

/* ---- value ranges */

static void welcome_with(struct wire *w, const uint8_t *attr, size_t n)
{
	w->len = 0;
	ADD(w, W_HEAD, W_ADDR4);
	add(w, attr, n);
}

START_TEST(test_mtu_range)
{
	static const struct {
		uint16_t mtu;
		const char *phrase;	/* NULL: valid */
	} cases[] = {
		{ 0, "MTU 0 out of range 576-65535" },
		{ 12, "MTU 12 out of range 576-65535" },
		{ 575, "MTU 575 out of range 576-65535" },
		{ 576, NULL },
		{ 1280, NULL },
		{ 65535, NULL },
	};
	struct wire w;
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t mtu = cases[i].mtu;
		uint8_t attr[] = { 0x03, 0x02, (uint8_t)(mtu >> 8),
				   (uint8_t)mtu, W_KEEPALIVE };
		welcome_with(&w, attr, sizeof(attr));
		if (cases[i].phrase) {
			expect_bad(&w, cases[i].phrase);
			continue;
		}
		expect_ok(&w, &m);
		ck_assert_uint_eq(m.welcome.mtu, mtu);
	}

	/* The encoder will not send what the peer must reject. */
	uint8_t buf[PROTO_MAX_CONTROL];
	doc_welcome(&m);
	m.welcome.mtu = 575;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_keepalive_range)
{
	static const struct {
		uint16_t interval, timeout;
		const char *phrase;	/* NULL: valid */
	} cases[] = {
		{ 0, 10, "keepalive interval 0, expected at least 1" },
		{ 0, 0, "keepalive interval 0, expected at least 1" },
		{ 10, 10, "keepalive timeout 10 not above interval 10" },
		{ 60, 10, "keepalive timeout 10 not above interval 60" },
		{ 1, 2, NULL },
		{ 10, 60, NULL },
		{ 65534, 65535, NULL },
	};
	struct wire w;
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t iv = cases[i].interval, to = cases[i].timeout;
		uint8_t attr[] = { W_MTU, 0x04, 0x04, (uint8_t)(iv >> 8),
				   (uint8_t)iv, (uint8_t)(to >> 8),
				   (uint8_t)to };
		welcome_with(&w, attr, sizeof(attr));
		if (cases[i].phrase) {
			expect_bad(&w, cases[i].phrase);
			continue;
		}
		expect_ok(&w, &m);
		ck_assert_uint_eq(m.welcome.keepalive_interval, iv);
		ck_assert_uint_eq(m.welcome.keepalive_timeout, to);
	}

	uint8_t buf[PROTO_MAX_CONTROL];
	doc_welcome(&m);
	m.welcome.keepalive_timeout = m.welcome.keepalive_interval;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_addr4_prefix_length)
{
	struct wire w = { .len = 0 };
	struct proto_msg m;

	ADD(&w, W_HEAD, 0x01, 0x05, 203, 0, 113, 2, 0, W_MTU, W_KEEPALIVE);
	expect_bad(&w, "ADDR4 prefix length 0 out of range 1-32");
	w.b[5 + 6] = 33;
	expect_bad(&w, "ADDR4 prefix length 33 out of range 1-32");
	w.b[5 + 6] = 32;
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.welcome.addr4.addr.family, AF_INET);
	ck_assert_uint_eq(m.welcome.addr4.len, 32);
	ck_assert_mem_eq(m.welcome.addr4.addr.bytes, w.b + 7, 4);
}
END_TEST

START_TEST(test_route_host_bits)
{
	static const struct {
		const char *route;
		const char *phrase;	/* NULL: valid */
	} cases[] = {
		{ "198.51.100.1/24", "route 2 has host bits set" },
		{ "198.51.100.128/24", "route 2 has host bits set" },
		{ "198.51.100.192/25", "route 2 has host bits set" },
		{ "0.0.0.1/0", "route 2 has host bits set" },
		{ "2001:db8::1/64", "route 2 has host bits set" },
		{ "2001:db8:0:1::/63", "route 2 has host bits set" },
		{ "::1/127", "route 2 has host bits set" },
		{ "198.51.100.128/25", NULL },
		{ "0.0.0.0/0", NULL },
		{ "203.0.113.7/32", NULL },
		{ "2001:db8:0:2::/63", NULL },
		{ "2001:db8::1/128", NULL },
		{ "::/0", NULL },
	};
	struct wire w;
	struct proto_msg m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cv_prefix p = prefix(cases[i].route);
		bool v4 = p.addr.family == AF_INET;

		welcome_base(&w);
		ADD(&w, 0x02, 0x05, 192, 0, 2, 0, 24);	/* route 1 is fine */
		ADD(&w, v4 ? 0x02 : 0x07, v4 ? 0x05 : 0x11);
		add(&w, p.addr.bytes, v4 ? 4 : 16);
		ADD(&w, p.len);
		if (cases[i].phrase) {
			expect_bad(&w, cases[i].phrase);
			continue;
		}
		expect_ok(&w, &m);
		ck_assert_uint_eq(m.welcome.n_routes, 2);
		assert_prefix_eq(&m.welcome.routes[1], &p);
	}

	uint8_t buf[PROTO_MAX_CONTROL];
	doc_welcome(&m);
	m.welcome.routes[0] = prefix("198.51.100.1/24");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* NETWORK4 and NETWORK6: the networks behind the client, numbered and
 * limited together, with no host bits and a length of at least 1. */
START_TEST(test_networks)
{
	struct proto_msg m, out;
	uint8_t buf[PROTO_MAX_CONTROL];
	struct wire w;

	doc_welcome(&m);
	m.welcome.networks[m.welcome.n_networks++] = prefix("198.18.1.0/24");
	m.welcome.networks[m.welcome.n_networks++] = prefix("2001:db8:a::/48");
	size_t n = round_trip(&m, buf, &out);
	/* Last, after the routes: 7 and 19 bytes. */
	ck_assert_uint_eq(buf[n - 26], 0x12);
	ck_assert_uint_eq(buf[n - 19], 0x13);

	welcome_base(&w);
	ADD(&w, 0x12, 0x05, 198, 18, 1, 1, 24);
	expect_bad(&w, "network 1 has host bits set");
	welcome_base(&w);
	ADD(&w, 0x12, 0x05, 198, 18, 1, 0, 24, 0x12, 0x05, 0, 0, 0, 0, 0);
	expect_bad(&w, "network 2 prefix length 0 out of range 1-32");
	welcome_base(&w);
	ADD(&w, 0x13, 0x11, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 129);
	expect_bad(&w, "network 1 prefix length 129 out of range 1-128");
	welcome_base(&w);
	ADD(&w, 0x12, 0x04, 198, 18, 1, 0);
	expect_bad(&w, "NETWORK4 length 4, expected 5");
	welcome_base(&w);
	for (int i = 0; i <= PROTO_MAX_NETWORKS; i++)
		ADD(&w, 0x12, 0x05, 198, 18, (uint8_t)i, 0, 24);
	expect_bad(&w, "more than 16 networks");
	/* Not in a hello. */
	w.len = 0;
	ADD(&w, 0x01, 0x01, 0x00, 0x2a, 0x5f, 0x13, 0xc7,
	    0x12, 0x05, 198, 18, 1, 0, 24);
	expect_bad(&w, "NETWORK4 not allowed in hello");
	/* The encoder refuses what the decoder would. */
	m.welcome.networks[0] = prefix("198.18.1.1/24");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(test_route_prefix_length)
{
	struct wire w;

	welcome_base(&w);
	ADD(&w, 0x02, 0x05, 0, 0, 0, 0, 33);
	expect_bad(&w, "route 1 prefix length 33 out of range 0-32");

	welcome_base(&w);
	ADD(&w, 0x07, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    129);
	expect_bad(&w, "route 1 prefix length 129 out of range 0-128");
}
END_TEST

START_TEST(test_message_sanitized)
{
	struct wire w = { .len = 0 };
	struct proto_msg m;

	ADD(&w, 0x03, 0x06, 0x06, 14, 'o', 'k', 0x01, '\n', 0x00, 0x1b, 0x7f,
	    0x80, 0xff, ' ', '~', 'e', 'n', 'd');
	expect_ok(&w, &m);
	ck_assert_uint_eq(m.refuse.reason, PROTO_REASON_AUTH);
	ck_assert_str_eq(m.refuse.text, "ok??????? ~end");
}
END_TEST

/* ---- encoding limits */

/* For every buffer smaller than the message, -ENOSPC and nothing written
 * past the end (the buffer is a heap block of exactly that size). */
static void check_too_small(const struct proto_msg *m)
{
	uint8_t full[PROTO_MAX_CONTROL];
	ssize_t n = proto_encode(m, full, sizeof(full));

	ck_assert_int_gt(n, 0);
	for (size_t size = 0; size < (size_t)n; size++) {
		uint8_t *buf = malloc(size);
		ck_assert(size == 0 || buf);
		ck_assert_int_eq(proto_encode(m, buf, size), -ENOSPC);
		free(buf);
	}
	uint8_t *buf = malloc((size_t)n);
	ck_assert_int_eq(proto_encode(m, buf, (size_t)n), n);
	ck_assert_mem_eq(buf, full, (size_t)n);
	free(buf);
}

START_TEST(test_encode_too_small)
{
	struct proto_msg m = { .type = PROTO_HELLO };

	m.hello.version = PROTO_VERSION;
	check_too_small(&m);
	doc_welcome(&m);
	add_route(&m, "2001:db8::/32");
	check_too_small(&m);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_REFUSE;
	strcpy(m.refuse.text, "shutting down for maintenance");
	check_too_small(&m);
	m.type = PROTO_KEEPALIVE;
	check_too_small(&m);
	m.type = PROTO_BYE;
	check_too_small(&m);
}
END_TEST

START_TEST(test_encode_invalid)
{
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_CONTROL];

	memset(&m, 0, sizeof(m));
	m.type = PROTO_DATA;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.type = 0x06;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);

	doc_welcome(&m);
	m.welcome.addr4.addr.family = 0;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	doc_welcome(&m);
	m.welcome.addr4 = prefix("2001:db8::2/64");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	doc_welcome(&m);
	m.welcome.server4 = addr("2001:db8::1");
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	doc_welcome(&m);
	m.welcome.routes[0].addr.family = AF_UNIX;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	/* Too many routes is -EINVAL even when the buffer is also too small. */
	fill_routes(&m, PROTO_MAX_ROUTES, 0);
	m.welcome.n_routes = PROTO_MAX_ROUTES + 1;
	ck_assert_int_eq(proto_encode(&m, buf, 1), -EINVAL);
}
END_TEST

/* ---- the examples in doc/PROTOCOL.md */

/* doc/PROTOCOL.md under the source tree: $CULVERT_SRCDIR under make
 * check, else found from where this file was compiled. */
static void doc_path(char *path, size_t size)
{
	const char *top = getenv("CULVERT_SRCDIR");
	const char *file = __FILE__, *self = "tests/unit/test_proto.c";
	size_t n = strlen(file), tail = strlen(self);

	if (top) {
		snprintf(path, size, "%s/doc/PROTOCOL.md", top);
		return;
	}
	ck_assert_msg(n >= tail && strcmp(file + n - tail, self) == 0,
		      "set CULVERT_SRCDIR to the source tree");
	snprintf(path, size, "%.*sdoc/PROTOCOL.md", (int)(n - tail), file);
}

/* The bytes of the block after "<!-- checked by tests/unit/test_proto.c:
 * NAME -->": each line holds hex byte pairs, then a description. */
static size_t doc_example(const char *name, uint8_t *out, size_t size)
{
	char path[4096], marker[128], line[512];
	int state = 0;		/* 0: before marker, 1: before ```, 2: in */
	size_t n = 0;

	doc_path(path, sizeof(path));
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot open %s (set CULVERT_SRCDIR)", path);
	snprintf(marker, sizeof(marker),
		 "<!-- checked by tests/unit/test_proto.c: %s -->", name);
	while (state < 3 && fgets(line, sizeof(line), f)) {
		if (state == 0 && strncmp(line, marker, strlen(marker)) == 0)
			state = 1;
		else if (state == 1 && strncmp(line, "```", 3) == 0)
			state = 2;
		else if (state == 2 && strncmp(line, "```", 3) == 0)
			state = 3;
		else if (state == 2)
			for (char *tok = strtok(line, " \t\n"); tok &&
			     strlen(tok) == 2 && isxdigit((unsigned char)tok[0]) &&
			     isxdigit((unsigned char)tok[1]);
			     tok = strtok(NULL, " \t\n")) {
				ck_assert_uint_lt(n, size);
				out[n++] = (uint8_t)strtoul(tok, NULL, 16);
			}
	}
	fclose(f);
	ck_assert_msg(state == 3, "no example \"%s\" in %s", name, path);
	return n;
}

static void check_doc_example(const char *name, const struct proto_msg *m)
{
	uint8_t doc[PROTO_MAX_CONTROL], buf[PROTO_MAX_CONTROL];
	size_t n = doc_example(name, doc, sizeof(doc));
	ssize_t len = proto_encode(m, buf, sizeof(buf));
	struct proto_msg out;
	const char *why;

	ck_assert_int_eq(len, n);
	ck_assert_mem_eq(buf, doc, n);
	ck_assert_msg(decode(doc, n, &out, &why) == 0, "%s: %s", name, why);
	assert_msg_eq(m, &out);
}

START_TEST(test_doc_examples)
{
	struct proto_msg m = { .type = PROTO_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = NONCE;
	check_doc_example("hello", &m);

	doc_welcome(&m);
	check_doc_example("welcome", &m);
	m.welcome.addr6 = prefix("2001:db8:100::2/64");
	m.welcome.server6 = addr("2001:db8:100::1");
	check_doc_example("welcome6", &m);
	memset(&m.welcome.addr4, 0, sizeof(m.welcome.addr4));
	memset(&m.welcome.server4, 0, sizeof(m.welcome.server4));
	m.welcome.n_routes = 0;
	add_route(&m, "2001:db8:200::/64");
	check_doc_example("welcome6only", &m);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_HELLO;
	m.hello.version = PROTO_VERSION;
	m.hello.nonce = NONCE;
	m.hello.frames = PROTO_FRAMES_ETHERNET;
	check_doc_example("hello2", &m);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_WELCOME;
	m.welcome.nonce = NONCE;
	m.welcome.mtu = 1381;
	m.welcome.keepalive_interval = 10;
	m.welcome.keepalive_timeout = 60;
	m.welcome.frames = PROTO_FRAMES_ETHERNET;
	check_doc_example("welcome2", &m);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REFUSE;
	m.refuse.reason = PROTO_REASON_POOL_EXHAUSTED;
	strcpy(m.refuse.text, "pool full");
	check_doc_example("refuse", &m);

	doc_welcome(&m);
	m.welcome.has_reset_token = true;
	for (unsigned int i = 0; i < PROTO_RESET_TOKEN_LEN; i++)
		m.welcome.reset_token[i] = (uint8_t)(0x10 * (i % 16) + i % 16);
	check_doc_example("welcome_reset_token", &m);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_RESET;
	m.reset.len = 24;
	for (unsigned int i = 0; i < PROTO_RESET_TOKEN_LEN; i++)
		m.reset.token[i] = (uint8_t)(0x10 * (i % 16) + i % 16);
	check_doc_example("reset", &m);
}
END_TEST

/* ---- robustness: whatever the bytes, no crash, and what is accepted
 * survives a round trip */

static void decode_any(const uint8_t *bytes, size_t len)
{
	struct proto_msg m, again;
	uint8_t buf[PROTO_MAX_CONTROL];
	const char *why;
	int err = decode(bytes, len, &m, &why);

	if (err) {
		ck_assert_int_eq(err, -EBADMSG);
		ck_assert_ptr_nonnull(why);
		ck_assert_uint_gt(strlen(why), 0);
		return;
	}
	/* Unknown attributes are dropped and text sanitized, so compare the
	 * decoded fields, not the bytes. */
	ssize_t n = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(decode(buf, (size_t)n, &again, &why), 0);
	assert_msg_eq(&m, &again);
}

START_TEST(test_every_byte_changed)
{
	struct proto_msg m;
	uint8_t good[PROTO_MAX_CONTROL], bytes[PROTO_MAX_CONTROL];

	doc_welcome(&m);
	add_route(&m, "2001:db8::/32");
	size_t n = (size_t)proto_encode(&m, good, sizeof(good));
	for (size_t i = 0; i < n; i++) {
		memcpy(bytes, good, n);
		for (unsigned int v = 0; v <= 0xff; v++) {
			bytes[i] = (uint8_t)v;
			decode_any(bytes, n);
		}
		/* and the byte left out */
		memcpy(bytes, good, i);
		memcpy(bytes + i, good + i + 1, n - i - 1);
		decode_any(bytes, n - 1);
	}
}
END_TEST

/* xorshift32: the same sequence on every run, so a failure repeats. */
static uint32_t next_random(uint32_t *x)
{
	*x ^= (uint32_t)(*x << 13);
	*x ^= *x >> 17;
	*x ^= (uint32_t)(*x << 5);
	return *x;
}

/* Random attribute soups after each message type's fixed part: mostly
 * known attribute types and lengths, so the value checks get exercised
 * rather than the first length check. */
START_TEST(test_random_messages)
{
	static const uint8_t lens[] = { 0, 1, 2, 4, 5, 17, 255 };
	uint32_t x = 2463534242u;
	uint8_t bytes[PROTO_MAX_CONTROL + 64];

	for (int round = 0; round < 20000; round++) {
		size_t len = 0;
		uint32_t r = next_random(&x);
		bytes[len++] = (uint8_t)(r % 7);
		for (int i = 0; i < 6; i++)
			bytes[len++] = (uint8_t)(r >> (i * 4));
		while (len < sizeof(bytes) - 2 - 255 &&
		       (r = next_random(&x)) % 11 != 0) {
			uint8_t t = r % 4 ? (uint8_t)(r % 10) : (uint8_t)(r >> 8);
			uint8_t l = r % 3 ? lens[(r >> 16) % sizeof(lens)]
					  : (uint8_t)(r >> 24);
			bytes[len++] = t;
			bytes[len++] = l;
			for (unsigned int j = 0; j < l; j++)
				bytes[len++] = (uint8_t)(r >> (j % 24));
		}
		r = next_random(&x);
		decode_any(bytes, len - (r % 4 == 0 ? r % (len + 1) : 0));
	}
}
END_TEST

static Suite *proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *codec = tcase_create("codec");
	TCase *robust = tcase_create("robustness");

	tcase_add_test(codec, test_names);
	tcase_add_test(codec, test_hello_credentials);
	tcase_add_test(codec, test_hello_round_trip);
	tcase_add_test(codec, test_frames);
	tcase_add_test(codec, test_hello_flags_ignored);
	tcase_add_test(codec, test_data_gso_offer);
	tcase_add_test(codec, test_data_gso_header);
	tcase_add_test(codec, test_probe_and_ack);
	tcase_add_test(codec, test_hello_other_version);
	tcase_add_test(codec, test_hello_v1_attributes);
	tcase_add_test(codec, test_welcome_round_trip);
	tcase_add_test(codec, test_welcome_without_server4);
	tcase_add_test(codec, test_welcome_ipv6_only);
	tcase_add_test(codec, test_welcome_encoding_order);
	tcase_add_test(codec, test_welcome_ipv6_inside);
	tcase_add_test(codec, test_addr6_rules);
	tcase_add_test(codec, test_hello_previous6);
	tcase_add_test(codec, test_refuse_round_trip);
	tcase_add_test(codec, test_refuse_longest_text);
	tcase_add_test(codec, test_keepalive_and_bye);
	tcase_add_test(codec, test_reset);
	tcase_add_test(codec, test_reset_token);
	tcase_add_test(codec, test_liveness_probe);
	tcase_add_test(codec, test_max_routes);
	tcase_add_test(codec, test_too_many_routes_decoded);
	tcase_add_test(codec, test_route6_fill_the_message);
	tcase_add_test(codec, test_truncated_hello);
	tcase_add_test(codec, test_truncated_welcome);
	tcase_add_test(codec, test_truncated_welcome_with_routes);
	tcase_add_test(codec, test_oversized);
	tcase_add_test(codec, test_unknown_type);
	tcase_add_test(codec, test_unknown_attributes_skipped);
	tcase_add_test(codec, test_unknown_critical_rejected);
	tcase_add_test(codec, test_dns);
	tcase_add_test(codec, test_truncated_attribute);
	tcase_add_test(codec, test_bad_lengths);
	tcase_add_test(codec, test_duplicates);
	tcase_add_test(codec, test_not_allowed);
	tcase_add_test(codec, test_missing_required);
	tcase_add_test(codec, test_mtu_range);
	tcase_add_test(codec, test_keepalive_range);
	tcase_add_test(codec, test_addr4_prefix_length);
	tcase_add_test(codec, test_route_host_bits);
	tcase_add_test(codec, test_route_prefix_length);
	tcase_add_test(codec, test_networks);
	tcase_add_test(codec, test_message_sanitized);
	tcase_add_test(codec, test_encode_too_small);
	tcase_add_test(codec, test_encode_invalid);
	tcase_add_test(codec, test_doc_examples);
	suite_add_tcase(s, codec);

	/* Tens of thousands of decodes: room for valgrind. */
	tcase_set_timeout(robust, 120);
	tcase_add_test(robust, test_every_byte_changed);
	tcase_add_test(robust, test_random_messages);
	suite_add_tcase(s, robust);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(proto_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? 1 : 0;
}
