/* RADIUS packets and replies: a request hides its password and signs
 * itself as RFC 2865, 2866 and 3579 say; a reply is believed only when
 * its lengths add up and it is signed with our secret, and each way it
 * is not has its own verdict; an Access-Accept's attributes become the
 * client's settings, or a reason why they cannot. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "policy.h"
#include "radius_packet.h"
#include "radius_reply.h"
#include "wire.h"

static const uint8_t secret[] = "s3cret";
#define SECRET secret, 6

/* A reply to request of code with attrs, signed as a server with sec
 * would (Response Authenticator; the Message-Authenticator too when
 * attrs hold one at ma_at, counted from the first attribute). */
static size_t reply(uint8_t *out, const struct radius_packet *request,
		    uint8_t code, const uint8_t *attrs, size_t len,
		    const uint8_t *sec, size_t sec_len, size_t ma_at)
{
	size_t total = RADIUS_HEADER + len;
	gnutls_hash_hd_t h;

	out[0] = code;
	out[1] = request->buf[1];
	put16(out + 2, (uint16_t)total);
	memcpy(out + 4, request->buf + 4, RADIUS_AUTH_LEN);
	memcpy(out + RADIUS_HEADER, attrs, len);
	if (ma_at) {
		uint8_t mac[16];
		memset(out + RADIUS_HEADER + ma_at, 0, 16);
		gnutls_hmac_fast(GNUTLS_MAC_MD5, sec, sec_len, out, total, mac);
		memcpy(out + RADIUS_HEADER + ma_at, mac, 16);
	}
	ck_assert_int_eq(gnutls_hash_init(&h, GNUTLS_DIG_MD5), 0);
	gnutls_hash(h, out, total);
	gnutls_hash(h, sec, sec_len);
	gnutls_hash_deinit(h, out + 4);
	return total;
}

static void access_request(struct radius_packet *p, uint8_t id)
{
	ck_assert_int_eq(radius_packet_start(p, RADIUS_ACCESS_REQUEST, id), 0);
	ck_assert_int_eq(radius_add_message_authenticator(p), 0);
	ck_assert_int_eq(radius_add_text(p, RADIUS_USER_NAME, "alice"), 0);
	ck_assert_int_eq(radius_add_password(p, "pw", SECRET), 0);
	ck_assert_int_eq(radius_seal(p, SECRET), 0);
}

START_TEST(password_hidden)
{
	static const uint8_t want[32] = {
		0xa0, 0xdd, 0x16, 0x2d, 0x18, 0xa3, 0xf6, 0xc7, 0xb4, 0x3f,
		0x8a, 0x4a, 0x12, 0x39, 0xe3, 0x31, 0xc6, 0xb7, 0xe8, 0x83,
		0xdd, 0x9a, 0x3d, 0xbc, 0x7a, 0x63, 0x0e, 0x4f, 0x7a, 0xf6,
		0x21, 0x50,
	};
	struct radius_packet p;

	ck_assert_int_eq(radius_packet_start(&p, RADIUS_ACCESS_REQUEST, 7), 0);
	for (int i = 0; i < 16; i++)
		p.buf[4 + i] = (uint8_t)i;	/* a known authenticator */
	ck_assert_int_eq(radius_add_password(&p, "correct horse battery", SECRET), 0);
	ck_assert_uint_eq(p.len, RADIUS_HEADER + 2 + 32);
	ck_assert_uint_eq(p.buf[RADIUS_HEADER], RADIUS_USER_PASSWORD);
	ck_assert_uint_eq(p.buf[RADIUS_HEADER + 1], 34);
	ck_assert_mem_eq(p.buf + RADIUS_HEADER + 2, want, 32);

	char longest[RADIUS_PASSWORD_MAX + 2];
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	ck_assert_int_eq(radius_add_password(&p, longest, SECRET), -EINVAL);
	longest[RADIUS_PASSWORD_MAX] = '\0';
	ck_assert_int_eq(radius_add_password(&p, longest, SECRET), 0);
	/* An empty password is 16 bytes of padding, hidden. */
	ck_assert_int_eq(radius_add_password(&p, "", SECRET), 0);
	ck_assert_uint_eq(p.buf[p.len - 17], 18);
}
END_TEST

START_TEST(requests_sealed)
{
	struct radius_packet p;
	uint8_t mac[16], auth[16];
	gnutls_hash_hd_t h;

	access_request(&p, 9);
	ck_assert_uint_eq(get16(p.buf + 2), p.len);
	ck_assert_uint_eq(p.buf[RADIUS_HEADER], RADIUS_MESSAGE_AUTHENTICATOR);
	/* The Message-Authenticator: HMAC-MD5 with itself zeroed. */
	uint8_t copy[RADIUS_PACKET_MAX];
	memcpy(copy, p.buf, p.len);
	memset(copy + p.ma_at, 0, 16);
	gnutls_hmac_fast(GNUTLS_MAC_MD5, SECRET, copy, p.len, mac);
	ck_assert_mem_eq(p.buf + p.ma_at, mac, 16);

	/* Accounting: MD5 over the packet with a zero authenticator and
	 * the secret (RFC 2866 3). */
	ck_assert_int_eq(radius_packet_start(&p, RADIUS_ACCOUNTING_REQUEST, 1), 0);
	ck_assert_int_eq(radius_add_u32(&p, RADIUS_ACCT_STATUS_TYPE, 1), 0);
	ck_assert_int_eq(radius_seal(&p, SECRET), 0);
	memcpy(copy, p.buf, p.len);
	memset(copy + 4, 0, 16);
	gnutls_hash_init(&h, GNUTLS_DIG_MD5);
	gnutls_hash(h, copy, p.len);
	gnutls_hash(h, SECRET);
	gnutls_hash_deinit(h, auth);
	ck_assert_mem_eq(p.buf + 4, auth, 16);

	/* Too long a value, and a full packet. */
	uint8_t big[300] = { 0 };
	ck_assert_int_eq(radius_add(&p, RADIUS_CLASS, big, 254), -EINVAL);
	while (radius_add(&p, RADIUS_CLASS, big, 253) == 0)
		;
	ck_assert_int_eq(radius_add(&p, RADIUS_CLASS, big, 253), -EMSGSIZE);
	ck_assert_uint_le(p.len, RADIUS_PACKET_MAX);
}
END_TEST

START_TEST(replies_checked)
{
	struct radius_packet req;
	uint8_t r[RADIUS_PACKET_MAX + 16];
	uint8_t attrs[64] = { RADIUS_REPLY_MESSAGE, 4, 'h', 'i' };
	const char *why;
	size_t n;

	access_request(&req, 33);
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, 4, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_OK);
	/* Padding past the Length field is ignored. */
	ck_assert_int_eq(radius_reply_check(r, n + 3, &req, SECRET, &why), RADIUS_REPLY_OK);

	/* Another secret: the verdict that names it. */
	n = reply(r, &req, RADIUS_ACCESS_REJECT, attrs, 4, (const uint8_t *)"other", 5, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why),
			 RADIUS_REPLY_BAD_AUTHENTICATOR);
	ck_assert_ptr_nonnull(strstr(why, "shared secret"));

	/* Another request's answer. */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, 4, SECRET, 0);
	r[1]++;
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_OTHER_ID);

	/* Lengths that do not add up. */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, 4, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, 19, &req, SECRET, &why), RADIUS_REPLY_MALFORMED);
	ck_assert_int_eq(radius_reply_check(r, n - 1, &req, SECRET, &why), RADIUS_REPLY_MALFORMED);
	attrs[1] = 9;	/* past the end */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, 4, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_MALFORMED);
	attrs[1] = 1;	/* shorter than its header */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, 4, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_MALFORMED);
	attrs[1] = 4;
	ck_assert_int_eq(radius_reply_check(r, RADIUS_PACKET_MAX + 1, &req, SECRET, &why),
			 RADIUS_REPLY_TOO_BIG);

	/* A Message-Authenticator is checked when there is one. */
	uint8_t with_ma[22] = { RADIUS_MESSAGE_AUTHENTICATOR, 18 };
	memcpy(with_ma + 18, attrs, 4);
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, with_ma, 22, SECRET, 2);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_OK);
	with_ma[5] ^= 1;	/* signed, then changed: recompute only the outer */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, with_ma, 22, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why),
			 RADIUS_REPLY_BAD_MESSAGE_AUTHENTICATOR);
	with_ma[1] = 17;	/* of the wrong length */
	n = reply(r, &req, RADIUS_ACCESS_ACCEPT, with_ma, 21, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_MALFORMED);

	/* An Accounting-Response to an Access-Request. */
	n = reply(r, &req, RADIUS_ACCOUNTING_RESPONSE, attrs, 4, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why),
			 RADIUS_REPLY_UNEXPECTED_CODE);
}
END_TEST

/* An Access-Accept of attrs, checked, then read. */
static int parse(const uint8_t *attrs, size_t len, struct radius_reply *out)
{
	static struct radius_packet req;
	static uint8_t r[RADIUS_PACKET_MAX];
	const char *why;

	access_request(&req, 1);
	size_t n = reply(r, &req, RADIUS_ACCESS_ACCEPT, attrs, len, SECRET, 0);
	ck_assert_int_eq(radius_reply_check(r, n, &req, SECRET, &why), RADIUS_REPLY_OK);
	return radius_reply_parse(r, out);
}

/* attrs as "type:value" words: addresses and the integers of the
 * timeouts in their binary form, unless the value starts with a quote;
 * else text. */
static size_t encode(uint8_t *out, const char *const *words)
{
	size_t n = 0;

	for (; *words; words++) {
		unsigned int type = (unsigned int)atoi(*words);
		const char *v = strchr(*words, ':') + 1;
		struct cv_addr a;
		out[n] = (uint8_t)type;
		if (*v == '\'') {
			v++;
			out[n + 1] = (uint8_t)(2 + strlen(v));
			memcpy(out + n + 2, v, strlen(v));
		} else if (type == RADIUS_FRAMED_IP_ADDRESS && addr_parse(v, &a) == 0) {
			out[n + 1] = 6;
			memcpy(out + n + 2, &a.v4, 4);
		} else if (type == RADIUS_FRAMED_IPV6_ADDRESS && addr_parse(v, &a) == 0) {
			out[n + 1] = 18;
			memcpy(out + n + 2, &a.v6, 16);
		} else if (type == RADIUS_SESSION_TIMEOUT || type == RADIUS_IDLE_TIMEOUT ||
			   type == RADIUS_ACCT_INTERIM_INTERVAL) {
			out[n + 1] = 6;
			put32(out + n + 2, (uint32_t)atoi(v));
		} else {
			out[n + 1] = (uint8_t)(2 + strlen(v));
			memcpy(out + n + 2, v, strlen(v));
		}
		n += out[n + 1];
	}
	return n;
}

START_TEST(accept_read)
{
	static const char *const words[] = {
		"8:203.0.113.50", "168:2001:db8:100::50",
		"22:198.18.1.0/24 0.0.0.0 1", "99:2001:db8:a::/48 :: 1",
		"22:198.18.9.7", "11:engineering", "25:some-class",
		"27:3600", "28:300", "85:60",
		"18:Welcome,\n", "18:alice", "26:vendor stuff", NULL,
	};
	uint8_t attrs[1024];
	struct radius_reply r;
	char a[ADDR_STRLEN];

	ck_assert_int_eq(parse(attrs, encode(attrs, words), &r), 0);
	ck_assert_str_eq(r.problem, "");
	ck_assert_str_eq(addr_str(&r.addr4, a), "203.0.113.50");
	ck_assert_str_eq(addr_str(&r.addr6, a), "2001:db8:100::50");
	ck_assert_uint_eq(r.n_networks, 3);
	ck_assert_str_eq(prefix_str(&r.networks[0], a), "198.18.1.0/24");
	ck_assert_str_eq(prefix_str(&r.networks[1], a), "2001:db8:a::/48");
	ck_assert_str_eq(prefix_str(&r.networks[2], a), "198.18.9.7/32");
	ck_assert_str_eq(r.group, "engineering");
	ck_assert_uint_eq(r.session_timeout, 3600);
	ck_assert_uint_eq(r.idle_timeout, 300);
	ck_assert_uint_eq(r.interim, 60);
	ck_assert_str_eq(r.message, "Welcome, alice");
	ck_assert_uint_eq(r.n_class, 1);
	ck_assert_mem_eq(r.class[0].value, "some-class", 10);

	/* The overlay on a client file: the reply's where it speaks. */
	struct cv_prefix route = { .addr.family = AF_INET, .len = 16 };
	struct client_policy file = {
		.name = "alice", .file = "clients/alice", .group = "sales",
		.restrict_to_routes = 1, .routes = { 1, &route, NULL },
	}, out;
	radius_reply_overlay(&r, &file, "alice", &out);
	ck_assert_str_eq(out.group, "engineering");
	ck_assert_uint_eq(out.networks.n, 3);
	ck_assert_uint_eq(out.routes.n, 1);
	ck_assert_int_eq(out.restrict_to_routes, 1);
	ck_assert(addr_equal(&out.addr4, &r.addr4));

	/* Class as the group, without a Filter-Id; 255.255.255.254: the
	 * pool chooses. */
	static const char *const more[] = { "25:staff", "8:255.255.255.254", NULL };
	ck_assert_int_eq(parse(attrs, encode(attrs, more), &r), 0);
	ck_assert_str_eq(r.group, "staff");
	ck_assert_uint_eq(r.addr4.family, 0);
	radius_reply_overlay(&r, NULL, "bob", &out);
	ck_assert_int_eq(out.restrict_to_routes, -1);
	ck_assert_str_eq(out.group, "staff");

	/* A Filter-Id that no group could be named after: a note. */
	static const char *const odd[] = { "11:acl 1 in", NULL };
	ck_assert_int_eq(parse(attrs, encode(attrs, odd), &r), 0);
	ck_assert_str_eq(r.group, "");
	ck_assert_ptr_nonnull(strstr(r.note, "no group name"));
}
END_TEST

static const struct {
	const char *words[3];
	const char *problem;
} unusable[] = {
	{ { "22:198.18.1.5/24", NULL }, "Framed-Route '198.18.1.5/24' has host bits set" },
	{ { "22:banana", NULL }, "Framed-Route 'banana' is not a prefix" },
	{ { "22:2001:db8::/48", NULL }, "Framed-Route '2001:db8::/48' is not IPv4" },
	{ { "22:0.0.0.0/0", NULL }, "would take every address" },
	{ { "22:198.18.0.0/16", "22:198.18.1.0/24" }, "overlaps another of its networks" },
	{ { "8:203.0.113.5", "8:203.0.113.6" }, "two Framed-IP-Addresses" },
	{ { "8:0.0.0.0", NULL }, "0.0.0.0" },
	{ { "168:ff02::1", NULL }, "is no host's" },
	{ { "27:'x", NULL }, "Session-Timeout is 1 bytes long, not 4" },
};

START_TEST(accept_unusable)
{
	uint8_t attrs[512];
	struct radius_reply r;

	ck_assert_int_eq(parse(attrs, encode(attrs, unusable[_i].words), &r), -EINVAL);
	ck_assert_msg(strstr(r.problem, unusable[_i].problem),
		      "'%s' does not say '%s'", r.problem, unusable[_i].problem);
}
END_TEST

START_TEST(too_many_networks)
{
	uint8_t attrs[2048];
	const char *words[POLICY_MAX_NETWORKS + 2];
	char nets[POLICY_MAX_NETWORKS + 1][32];
	struct radius_reply r;

	for (int i = 0; i <= POLICY_MAX_NETWORKS; i++) {
		snprintf(nets[i], sizeof(nets[i]), "22:198.18.%d.0/24", i);
		words[i] = nets[i];
	}
	words[POLICY_MAX_NETWORKS + 1] = NULL;
	ck_assert_int_eq(parse(attrs, encode(attrs, words), &r), -EINVAL);
	ck_assert_ptr_nonnull(strstr(r.problem, "more than"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("radius");
	TCase *packets = tcase_create("packets");
	TCase *replies = tcase_create("replies");

	tcase_add_test(packets, password_hidden);
	tcase_add_test(packets, requests_sealed);
	tcase_add_test(packets, replies_checked);
	tcase_add_test(replies, accept_read);
	tcase_add_loop_test(replies, accept_unusable, 0,
			    sizeof(unusable) / sizeof(unusable[0]));
	tcase_add_test(replies, too_many_networks);
	suite_add_tcase(s, packets);
	suite_add_tcase(s, replies);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
