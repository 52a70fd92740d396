/* The tls link's send queue: small packets go ahead of a bulk backlog,
 * never inside another frame, a record GnuTLS holds goes first, the
 * bulk lane is bounded in bytes, and an idle link holds no buffer. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/tls/tls_frame.h"
#include "../../plugins/tls/tls_outq.h"

#define RECORD 16384	/* what GnuTLS takes per call */

static uint8_t msg[TLS_FRAME_MAX];

/* A message of len bytes that starts with tag. */
static int add(struct tls_outq *q, uint8_t tag, size_t len)
{
	memset(msg, tag, len);
	return tls_outq_add(q, msg, len);
}

/* Hand GnuTLS the next chunk, which takes one record of it: appended to
 * the stream; returns its length. */
static size_t send_one(struct tls_outq *q, uint8_t *stream, size_t *at)
{
	const uint8_t *data;
	size_t len = tls_outq_next(q, &data);
	size_t n = len < RECORD ? len : RECORD;

	if (!len)
		return 0;	/* nothing waits: no data to copy */
	memcpy(stream + *at, data, n);
	*at += n;
	tls_outq_sent(q, n);
	return n;
}

/* The tags of the messages in the stream, in order. */
static unsigned int tags(const uint8_t *stream, size_t len, uint8_t *out,
			 unsigned int max)
{
	struct cv_msg msgs[256];
	enum tls_frame_status status;
	unsigned int n, count = 0;
	size_t used, off = 0;

	do {
		status = tls_frame_split(stream + off, len - off, msgs, 256, &n,
					 &used);
		ck_assert_int_ne(status, TLS_FRAME_ZERO);
		off += used;
		for (unsigned int i = 0; i < n; i++) {
			/* no other frame's bytes inside */
			ck_assert_uint_eq(msgs[i].data[msgs[i].len - 1],
					  msgs[i].data[0]);
			ck_assert_uint_eq(msgs[i].data[msgs[i].len / 2],
					  msgs[i].data[0]);
			ck_assert_uint_lt(count, max);
			out[count++] = msgs[i].data[0];
		}
	} while (status == TLS_FRAME_FULL);
	ck_assert_uint_eq(off, len);	/* whole frames, nothing cut */
	return count;
}

START_TEST(small_goes_ahead_of_bulk)
{
	struct tls_outq q = { 0 };
	static uint8_t stream[1 << 20];
	size_t at = 0;
	uint8_t t[16];

	for (uint8_t i = 0; i < 4; i++)
		ck_assert_int_eq(add(&q, (uint8_t)('A' + i), 1400), 1);
	ck_assert_int_eq(add(&q, 'p', 84), 1);	/* a ping, read last */
	while (send_one(&q, stream, &at))
		;
	ck_assert(!tls_outq_pending(&q));
	ck_assert_uint_eq(tags(stream, at, t, 16), 5);
	ck_assert_uint_eq(t[0], 'p');
	ck_assert_mem_eq(t + 1, "ABCD", 4);
	tls_outq_free(&q);
}
END_TEST

START_TEST(frame_cut_between_records_is_finished_first)
{
	struct tls_outq q = { 0 };
	static uint8_t stream[1 << 20];
	size_t at = 0;
	uint8_t t[16];

	ck_assert_int_eq(add(&q, 'G', 40000), 1);	/* a GSO message */
	ck_assert_int_eq(add(&q, 'H', 40000), 1);
	ck_assert_uint_eq(send_one(&q, stream, &at), RECORD);
	ck_assert_int_eq(add(&q, 'p', 84), 1);	/* arrives mid-frame */
	while (send_one(&q, stream, &at))
		;
	ck_assert_uint_eq(tags(stream, at, t, 16), 3);
	ck_assert_mem_eq(t, "GpH", 3);
	tls_outq_free(&q);
}
END_TEST

START_TEST(held_record_goes_first)
{
	struct tls_outq q = { 0 };
	const uint8_t *data;

	ck_assert_int_eq(add(&q, 'A', 1400), 1);
	ck_assert_uint_eq(tls_outq_next(&q, &data), TLS_FRAME_HDR + 1400);
	tls_outq_blocked(&q);	/* EAGAIN: GnuTLS holds its record */
	ck_assert(tls_outq_held(&q));
	ck_assert_int_eq(add(&q, 'p', 84), 1);
	/* the call that finishes the held record is the bulk lane's */
	ck_assert_uint_eq(tls_outq_next(&q, &data), TLS_FRAME_HDR + 1400);
	ck_assert_uint_eq(data[TLS_FRAME_HDR], 'A');
	tls_outq_sent(&q, TLS_FRAME_HDR + 1400);
	ck_assert(!tls_outq_held(&q));
	ck_assert_uint_eq(tls_outq_next(&q, &data), TLS_FRAME_HDR + 84);
	ck_assert_uint_eq(data[TLS_FRAME_HDR], 'p');
	tls_outq_sent(&q, TLS_FRAME_HDR + 84);
	ck_assert(!tls_outq_pending(&q));
	tls_outq_free(&q);
}
END_TEST

START_TEST(bulk_is_bounded_in_bytes_small_still_goes)
{
	struct tls_outq q = { 0 };
	size_t queued = 0;
	int ret;

	while ((ret = add(&q, 'B', 1400)) == 1)
		queued += TLS_FRAME_HDR + 1400;
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_le(queued, TLS_OUTQ_BULK_MAX);
	ck_assert_uint_gt(queued + TLS_FRAME_HDR + 1400, TLS_OUTQ_BULK_MAX);
	ck_assert_int_eq(add(&q, 'B', 1400), 0);	/* still none */
	ck_assert_int_eq(add(&q, 'p', 84), 1);	/* the express lane has */
	tls_outq_free(&q);
}
END_TEST

START_TEST(small_flood_takes_turns_with_bulk)
{
	struct tls_outq q = { 0 };
	static uint8_t stream[1 << 20];
	size_t at = 0;
	unsigned int smalls = 0;
	const uint8_t *data;

	ck_assert_int_eq(add(&q, 'B', 1400), 1);
	ck_assert_int_eq(add(&q, 'C', 1400), 1);
	/* more small messages than the express lane holds: the rest take
	 * the bulk lane, in order behind B and C */
	while (add(&q, 's', 200) == 1 &&
	       ++smalls < 2 * TLS_OUTQ_EXPRESS_MAX / 200)
		;
	ck_assert_uint_eq(q.express.len, 81 * (TLS_FRAME_HDR + 200));
	/* the express lane first, then B (its turn), never two express
	 * records in a row while bulk waits */
	ck_assert_uint_eq(tls_outq_next(&q, &data), 81 * (TLS_FRAME_HDR + 200));
	ck_assert_uint_eq(data[TLS_FRAME_HDR], 's');
	tls_outq_sent(&q, 81 * (TLS_FRAME_HDR + 200));
	ck_assert_int_eq(add(&q, 's', 200), 1);
	ck_assert_uint_gt(tls_outq_next(&q, &data), 1400);
	ck_assert_uint_eq(data[TLS_FRAME_HDR], 'B');
	while (send_one(&q, stream, &at))
		;
	ck_assert(!tls_outq_pending(&q));
	tls_outq_free(&q);
}
END_TEST

/* Random sizes, records and EAGAINs: the stream is whole frames, and the
 * bulk messages and the small ones each keep their order. */
START_TEST(random_stream_is_whole_frames_in_order)
{
	struct tls_outq q = { 0 };
	static uint8_t stream[32 << 20];
	static uint8_t t[1 << 16];
	size_t at = 0;
	uint8_t next_small = 0, next_big = 0;
	unsigned int lost = 0, added = 0;

	srand(22);
	for (int round = 0; round < 1500; round++) {
		int op = rand() % 10;
		if (op < 6) {
			bool small = rand() % 3 == 0;
			size_t len = small ? 1 + (size_t)rand() % TLS_OUTQ_SMALL
					   : TLS_OUTQ_SMALL + 1 + (size_t)rand() % 40000;
			/* small tags 1..127, bulk 128..255: each counts up */
			uint8_t tag = small ? (uint8_t)(1 + next_small % 127)
					    : (uint8_t)(128 + next_big % 128);
			int ret = add(&q, tag, len);
			ck_assert_int_ge(ret, 0);
			if (ret == 1) {
				small ? next_small++ : next_big++;
				added++;
			} else {
				lost++;
			}
		} else if (op < 9 && at < sizeof(stream) - RECORD) {
			send_one(&q, stream, &at);
		} else {
			const uint8_t *data;
			if (tls_outq_next(&q, &data))
				tls_outq_blocked(&q);
		}
	}
	while (at < sizeof(stream) - RECORD && send_one(&q, stream, &at))
		;
	ck_assert(!tls_outq_pending(&q));
	unsigned int n = tags(stream, at, t, sizeof(t));
	ck_assert_uint_eq(n, added);
	uint8_t small = 0, big = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (t[i] < 128)
			ck_assert_uint_eq(t[i], 1 + small++ % 127);
		else
			ck_assert_uint_eq(t[i], 128 + big++ % 128);
	}
	ck_assert_uint_gt(lost, 0);	/* the bulk lane filled up */
	tls_outq_free(&q);
}
END_TEST

/* An idle link's keepalive borrows a small buffer and gives it back
 * once sent; a link that carries bulk keeps its buffer while it does,
 * and gives back one that grew past what trim keeps. */
START_TEST(idle_link_holds_no_buffer)
{
	static uint8_t stream[4 * 65536];
	struct tls_outq q = { 0 };
	size_t at = 0;

	ck_assert_int_eq(add(&q, 1, 40), 1);
	ck_assert_ptr_nonnull(q.express.data);
	ck_assert_uint_le(q.express.cap, TLS_OUTQ_SMALL_BUF);
	while (send_one(&q, stream, &at))
		;
	tls_outq_trim(&q, 256 * 1024);
	ck_assert_ptr_null(q.express.data);
	ck_assert_ptr_null(q.bulk.data);

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(add(&q, 2, 1400), 1);
	at = 0;
	while (send_one(&q, stream, &at))
		;
	tls_outq_trim(&q, 256 * 1024);
	ck_assert_ptr_nonnull(q.bulk.data);	/* bulk: kept */
	ck_assert_int_eq(add(&q, 3, 1400), 1);
	at = 0;
	while (send_one(&q, stream, &at))
		;
	tls_outq_trim(&q, 1024);		/* grew past keep */
	ck_assert_ptr_null(q.bulk.data);
	tls_outq_free(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_outq");
	TCase *tc = tcase_create("outq");

	tcase_add_test(tc, small_goes_ahead_of_bulk);
	tcase_add_test(tc, frame_cut_between_records_is_finished_first);
	tcase_add_test(tc, held_record_goes_first);
	tcase_add_test(tc, bulk_is_bounded_in_bytes_small_still_goes);
	tcase_add_test(tc, small_flood_takes_turns_with_bulk);
	tcase_add_test(tc, random_stream_is_whole_frames_in_order);
	tcase_add_test(tc, idle_link_holds_no_buffer);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
