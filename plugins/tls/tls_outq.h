/*
 * tls_outq.h - a tls link's send queue: framed messages waiting for
 * GnuTLS and the socket, in two lanes, so that a small packet does not
 * wait behind a bulk transfer's backlog.
 *
 * A message of at most TLS_OUTQ_SMALL bytes (a ping, a TCP ACK, DNS, a
 * keystroke, a voice frame) takes the express lane while it has room;
 * every other message, and a small one when the express lane is full,
 * takes the bulk lane (and so does every small one after it, until it
 * is on its way: small messages keep their order), which holds at most
 * TLS_OUTQ_BULK_MAX bytes:
 * beyond it a message is refused (dropped, as a full router queue drops
 * it, and the sender's TCP slows down). GnuTLS is handed one lane's
 * bytes per call, which it makes into one record of at most 16 KiB:
 * when both lanes wait, they take turns at frame boundaries (a frame is
 * never cut by another's bytes), so that a small packet waits for at
 * most the rest of one bulk frame, and a flood of small packets takes
 * at most half of the link. As fq_codel gives sparse flows their turn
 * first, by size rather than by flow: a bulk flow's own short tail
 * segment may overtake its long ones, which TCP takes as a reordering.
 *
 * A record that met EAGAIN is held inside GnuTLS, already encrypted: the
 * next call sends it and says how many bytes of its lane it carried, so
 * that lane goes next (tls_outq_blocked()).
 *
 * Pure: no GnuTLS, no socket (tests/unit/test_tls_outq.c).
 */
#ifndef CULVERT_TLS_OUTQ_H
#define CULVERT_TLS_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest message the express lane takes, and its room: one
 * record's worth of small frames. */
#define TLS_OUTQ_SMALL 256
#define TLS_OUTQ_EXPRESS_MAX (16 * 1024)
/* A lane's first buffer for a small need, and what tls_outq_trim takes
 * back once drained if no more waited (tls_outq.c). */
#define TLS_OUTQ_SMALL_BUF 2048
/* Bytes one peer that is not reading may have queued in the bulk lane. */
#define TLS_OUTQ_BULK_MAX (1 << 20)

enum tls_outq_lane { TLS_OUTQ_NONE, TLS_OUTQ_EXPRESS, TLS_OUTQ_BULK };

struct tls_outq_buf {
	uint8_t *data;
	size_t off, len, cap;	/* data[off..len) waits */
	size_t mid;		/* bytes left of a frame partly sent */
	size_t high;		/* the most that waited since the last trim */
};

struct tls_outq {
	struct tls_outq_buf express, bulk;
	enum tls_outq_lane held;	/* GnuTLS holds a record of it */
	enum tls_outq_lane last;	/* the lane of the last chunk */
	size_t small_in_bulk;		/* small messages queued in bulk */
};

/* Frame the message (1 to TLS_FRAME_MAX bytes) into its lane. Returns 1
 * when queued, 0 when the bulk lane is full (the message is dropped),
 * -ENOMEM. */
int tls_outq_add(struct tls_outq *q, const uint8_t *msg, size_t len);

/* Whether anything waits. */
bool tls_outq_pending(const struct tls_outq *q);

/* The bytes to hand GnuTLS next (*data, the count returned; 0 when
 * nothing waits): the lane GnuTLS holds a record of, else the lane whose
 * turn it is. */
size_t tls_outq_next(struct tls_outq *q, const uint8_t **data);

/* GnuTLS took n bytes of the chunk tls_outq_next() gave. */
void tls_outq_sent(struct tls_outq *q, size_t n);

/* GnuTLS met EAGAIN (or EINTR) with the chunk tls_outq_next() gave: it
 * holds a record of it, and that lane goes next. */
void tls_outq_blocked(struct tls_outq *q);

/* Whether GnuTLS holds a record half sent (nothing may come between). */
bool tls_outq_held(const struct tls_outq *q);

/* Once drained, the buffers that grew past keep bytes are given back. */
void tls_outq_trim(struct tls_outq *q, size_t keep);

void tls_outq_free(struct tls_outq *q);

#endif
