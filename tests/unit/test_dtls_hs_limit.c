/* What an unfinished DTLS handshake may make GnuTLS hold: the lengths its
 * fragments announce, each message once, and the bytes it cannot read. */
#include <check.h>
#include <string.h>

#include "../../plugins/dtls/dtls_hs_limit.h"

#define MAX (64 * 1024)

/* One epoch-0 handshake record with one fragment: type, the length the
 * message announces, its sequence number, and frag bytes of it. */
static size_t hs_record(uint8_t *p, uint8_t type, uint32_t length,
			uint16_t seq, uint32_t off, uint16_t frag)
{
	size_t body = 12 + frag;

	memset(p, 0, 13 + body);
	p[0] = 22;
	p[1] = 0xfe;
	p[2] = 0xfd;
	p[11] = (uint8_t)(body >> 8);
	p[12] = (uint8_t)body;
	p[13] = type;
	p[14] = (uint8_t)(length >> 16);
	p[15] = (uint8_t)(length >> 8);
	p[16] = (uint8_t)length;
	p[17] = (uint8_t)(seq >> 8);
	p[18] = (uint8_t)seq;
	p[19] = (uint8_t)(off >> 16);
	p[20] = (uint8_t)(off >> 8);
	p[21] = (uint8_t)off;
	p[23] = (uint8_t)(frag >> 8);
	p[24] = (uint8_t)frag;
	return 13 + body;
}

START_TEST(real_handshake_passes)
{
	struct dtls_hs_limit h = { 0 };
	uint8_t d[4096];
	size_t n;

	/* ClientHello, then a 3 KiB Certificate in three fragments, each
	 * sent twice (a retransmitted flight): held once. */
	n = hs_record(d, 1, 200, 1, 0, 200);
	ck_assert(dtls_hs_limit_take(&h, d, n, MAX));
	for (int again = 0; again < 2; again++)
		for (uint32_t off = 0; off < 3072; off += 1024) {
			n = hs_record(d, 11, 3072, 2, off, 1024);
			ck_assert(dtls_hs_limit_take(&h, d, n, MAX));
		}
	ck_assert_uint_eq(h.held, 200 + 3072);
	ck_assert_uint_eq(h.n, 2);
}
END_TEST

START_TEST(huge_message_refused)
{
	struct dtls_hs_limit h = { 0 };
	uint8_t d[2048];
	size_t n = hs_record(d, 11, 0xffffff, 2, 0, 1200);

	ck_assert(!dtls_hs_limit_take(&h, d, n, MAX));
	ck_assert_uint_eq(h.largest, 0xffffff);
	ck_assert_uint_eq(h.held, 0);
}
END_TEST

START_TEST(many_small_messages_refused)
{
	struct dtls_hs_limit h = { 0 };
	uint8_t d[2048];
	unsigned int seq;

	/* Lengths that each pass, but not together. */
	for (seq = 0; seq < 3; seq++)
		ck_assert(dtls_hs_limit_take(&h, d, hs_record(d, 11, 20000, (uint16_t)seq, 0, 100), MAX));
	ck_assert(!dtls_hs_limit_take(&h, d, hs_record(d, 11, 20000, 3, 0, 100), MAX));
	/* The same message announcing another length is another message. */
	h = (struct dtls_hs_limit){ 0 };
	ck_assert(dtls_hs_limit_take(&h, d, hs_record(d, 11, 40000, 2, 0, 100), MAX));
	ck_assert(!dtls_hs_limit_take(&h, d, hs_record(d, 11, 40001, 2, 0, 100), MAX));
	/* More distinct messages than a handshake has. */
	h = (struct dtls_hs_limit){ 0 };
	for (seq = 0; seq < DTLS_HS_MESSAGES; seq++)
		ck_assert(dtls_hs_limit_take(&h, d, hs_record(d, 1, 10, (uint16_t)seq, 0, 10), MAX));
	ck_assert(!dtls_hs_limit_take(&h, d, hs_record(d, 1, 10, (uint16_t)seq, 0, 10), MAX));
}
END_TEST

START_TEST(sealed_bytes_counted)
{
	struct dtls_hs_limit h = { 0 };
	uint8_t d[1500];

	/* An epoch-1 record (a Finished, or data early): its bytes count. */
	memset(d, 0, sizeof(d));
	d[0] = 23;
	d[1] = 0xfe;
	d[2] = 0xfd;
	d[4] = 1;
	d[11] = (uint8_t)(1400 >> 8);
	d[12] = (uint8_t)1400;
	for (int i = 0; i < MAX / 1400; i++)
		ck_assert(dtls_hs_limit_take(&h, d, 13 + 1400, MAX));
	ck_assert(!dtls_hs_limit_take(&h, d, 13 + 1400, MAX));
	/* A record cut short, or a fragment header cut short, holds nothing. */
	h = (struct dtls_hs_limit){ 0 };
	ck_assert(dtls_hs_limit_take(&h, d, 100, MAX));
	ck_assert(dtls_hs_limit_take(&h, d, 5, MAX));
	ck_assert_uint_eq(h.held, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dtls_hs_limit");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, real_handshake_passes);
	tcase_add_test(tc, huge_message_refused);
	tcase_add_test(tc, many_small_messages_refused);
	tcase_add_test(tc, sealed_bytes_counted);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
