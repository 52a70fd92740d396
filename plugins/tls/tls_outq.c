#include "tls_outq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tls_frame.h"

static size_t waiting(const struct tls_outq_buf *b)
{
	return b->len - b->off;
}

static struct tls_outq_buf *lane_buf(struct tls_outq *q,
				     enum tls_outq_lane lane)
{
	return lane == TLS_OUTQ_EXPRESS ? &q->express : &q->bulk;
}

/* Room for need more bytes at the end of b: the sent bytes at its start
 * given back first. A record GnuTLS holds is already encrypted inside
 * it, so moving the bytes not yet handed over is safe. */
static int reserve(struct tls_outq_buf *b, size_t need)
{
	if (b->len + need <= b->cap)
		return 0;
	if (b->off) {
		memmove(b->data, b->data + b->off, waiting(b));
		b->len -= b->off;
		b->off = 0;
		if (b->len + need <= b->cap)
			return 0;
	}
	size_t cap = b->cap ? b->cap * 2
		     : need <= TLS_OUTQ_SMALL_BUF ? TLS_OUTQ_SMALL_BUF
						  : 16 * 1024;
	while (cap < b->len + need)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int tls_outq_add(struct tls_outq *q, const uint8_t *msg, size_t len)
{
	size_t need = TLS_FRAME_HDR + len;
	struct tls_outq_buf *b = &q->bulk;

	/* Small messages keep their order among themselves: none goes
	 * express while one that found the lane full waits in bulk. */
	if (len <= TLS_OUTQ_SMALL && !q->small_in_bulk &&
	    waiting(&q->express) + need <= TLS_OUTQ_EXPRESS_MAX)
		b = &q->express;
	else if (waiting(&q->bulk) + need > TLS_OUTQ_BULK_MAX)
		return 0;
	if (reserve(b, need) < 0)
		return -ENOMEM;
	b->len += tls_frame_put(b->data + b->len, msg, len);
	if (waiting(b) > b->high)
		b->high = waiting(b);
	if (b == &q->bulk && len <= TLS_OUTQ_SMALL)
		q->small_in_bulk++;
	return 1;
}

bool tls_outq_pending(const struct tls_outq *q)
{
	return waiting(&q->express) || waiting(&q->bulk);
}

size_t tls_outq_next(struct tls_outq *q, const uint8_t **data)
{
	bool express = waiting(&q->express), bulk = waiting(&q->bulk);
	enum tls_outq_lane lane = q->held;

	/* A frame cut between records is finished before the other lane's
	 * frames come between its pieces in the stream. */
	if (lane == TLS_OUTQ_NONE && q->last != TLS_OUTQ_NONE &&
	    lane_buf(q, q->last)->mid)
		lane = q->last;
	if (lane == TLS_OUTQ_NONE) {
		if (express && bulk)
			lane = q->last == TLS_OUTQ_EXPRESS ? TLS_OUTQ_BULK
							   : TLS_OUTQ_EXPRESS;
		else
			lane = express ? TLS_OUTQ_EXPRESS
			       : bulk ? TLS_OUTQ_BULK : TLS_OUTQ_NONE;
	}
	if (lane == TLS_OUTQ_NONE) {
		*data = NULL;
		return 0;
	}
	struct tls_outq_buf *b = lane_buf(q, lane);
	q->last = lane;
	*data = b->data + b->off;
	/* With the other lane waiting, a frame cut between records ends
	 * its record: the other lane's turn comes right after it. */
	if (b->mid && (lane == TLS_OUTQ_EXPRESS ? bulk : express))
		return b->mid;
	return waiting(b);
}

void tls_outq_sent(struct tls_outq *q, size_t n)
{
	struct tls_outq_buf *b = lane_buf(q, q->last);

	q->held = TLS_OUTQ_NONE;
	if (n > waiting(b))
		n = waiting(b);
	/* Walk the frames sent, to know whether the last one was sent
	 * whole: only then may the other lane go next. */
	while (n) {
		if (b->mid == 0) {
			size_t len = (size_t)b->data[b->off] << 8 |
				     b->data[b->off + 1];
			b->mid = TLS_FRAME_HDR + len;
			if (b == &q->bulk && len <= TLS_OUTQ_SMALL)
				q->small_in_bulk--;	/* on its way */
		}
		size_t k = n < b->mid ? n : b->mid;
		b->off += k;
		b->mid -= k;
		n -= k;
	}
	if (b->off == b->len)
		b->off = b->len = 0;
}

void tls_outq_blocked(struct tls_outq *q)
{
	q->held = q->last;
}

bool tls_outq_held(const struct tls_outq *q)
{
	return q->held != TLS_OUTQ_NONE;
}

/* A lane that drained gives its buffer back when it grew past keep, or
 * when no more than a small buffer's worth waited since the last trim
 * (a keepalive, a ping): an idle link holds none. 100,000 idle links
 * kept 16 KiB each, 1.6 GB, before. A link that carries bulk keeps
 * its buffer while it does. */
static void trim(struct tls_outq_buf *b, size_t keep)
{
	if (waiting(b))
		return;
	bool small = b->high <= TLS_OUTQ_SMALL_BUF;
	b->high = 0;
	if (!b->data || (b->cap <= keep && !small))
		return;
	free(b->data);
	*b = (struct tls_outq_buf){ 0 };
}

void tls_outq_trim(struct tls_outq *q, size_t keep)
{
	trim(&q->express, keep);
	trim(&q->bulk, keep);
}

void tls_outq_free(struct tls_outq *q)
{
	free(q->express.data);
	free(q->bulk.data);
	*q = (struct tls_outq){ 0 };
}
