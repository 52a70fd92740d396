/*
 * tls_frame.h - how the tls transport cuts the byte stream that GnuTLS
 * delivers into culvert's messages, and frames messages into it: each
 * message is a 2-byte big-endian length and that many bytes. A length of
 * 0 never occurs; reading one means the peer is not a culvert peer.
 *
 * Pure functions on buffers, so that tls_link.c and the fuzzer
 * (tests/fuzz/fuzz_tls_frame.c) run the same code.
 */
#ifndef CULVERT_TLS_FRAME_H
#define CULVERT_TLS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

#define TLS_FRAME_HDR 2
#define TLS_FRAME_MAX 65535	/* the most a 2-byte length frames */
/* What tls_frame_split() can leave unconsumed: the start of one frame.
 * A receive buffer of TLS_FRAME_PARTIAL_MAX + N bytes therefore always
 * has room for N more bytes after a split. */
#define TLS_FRAME_PARTIAL_MAX (TLS_FRAME_HDR + TLS_FRAME_MAX - 1)

/* Frame a message of len bytes (1 to TLS_FRAME_MAX) at out, which has
 * room for TLS_FRAME_HDR + len bytes. Returns the bytes written. */
size_t tls_frame_put(uint8_t *out, const uint8_t *msg, size_t len);

enum tls_frame_status {
	TLS_FRAME_OK,		/* whole frames taken; the rest is a frame's start */
	TLS_FRAME_FULL,		/* max messages taken; call again for more */
	TLS_FRAME_ZERO,		/* a frame of length 0: end the link */
};

/* Take up to max whole frames from the len bytes at buf: msgs[i] point
 * into buf. *count is how many, *used the bytes they took. With
 * TLS_FRAME_OK, len - *used <= TLS_FRAME_PARTIAL_MAX. */
enum tls_frame_status tls_frame_split(const uint8_t *buf, size_t len,
				      struct cv_msg *msgs, unsigned int max,
				      unsigned int *count, size_t *used);

#endif
