/*
 * libFuzzer harness: the tls transport's framing (plugins/tls/tls_frame.c),
 * which cuts what a TLS peer sends, after decryption, into messages.
 *
 * The input's first three bytes choose how the stream arrives and is
 * taken (chunk sizes, messages per deliver); the rest is the stream. It
 * is fed as tls_link.c's link_read() feeds it: chunks appended to a
 * receive buffer, whole frames split off in batches, the partial frame
 * moved to the front. Properties:
 *   - the buffer is exactly TLS_FRAME_PARTIAL_MAX + the largest chunk, on
 *     the heap: what split leaves always fits with the next chunk (ASan
 *     sees any overflow);
 *   - every message lies inside the buffer, is 1..65535 bytes, and the
 *     messages are the same, and end at the same zero length, whatever
 *     the chunks and the batch size;
 *   - framing the messages again with tls_frame_put gives back the bytes
 *     that were consumed (a round trip).
 */
#include <stdbool.h>
#include <string.h>

#include "../../plugins/tls/tls_frame.h"
#include "fuzz.h"

#define CHUNK_MAX 300
#define BATCH_MAX 16

struct result {
	uint8_t *reframed;	/* the messages, framed again */
	size_t len;
	unsigned int count;
	bool zero;		/* ended at a zero length */
};

static void take(struct result *r, const struct cv_msg *msgs, unsigned int n,
		 const uint8_t *lo, const uint8_t *hi)
{
	for (unsigned int i = 0; i < n; i++) {
		fuzz_assert(msgs[i].len >= 1 && msgs[i].len <= TLS_FRAME_MAX,
			    "message of %zu bytes", msgs[i].len);
		fuzz_assert(msgs[i].data >= lo + TLS_FRAME_HDR &&
				    msgs[i].data + msgs[i].len <= hi,
			    "message outside the buffer");
		r->len += tls_frame_put(r->reframed + r->len, msgs[i].data,
					msgs[i].len);
		r->count++;
	}
}

/* The whole stream at once, as many messages as it holds. */
static void at_once(const uint8_t *s, size_t len, struct result *r)
{
	struct cv_msg *msgs = calloc(len / 3 + 1, sizeof(*msgs));
	unsigned int n;
	size_t used;

	fuzz_assert(msgs, "out of memory");
	enum tls_frame_status st =
		tls_frame_split(s, len, msgs, (unsigned int)(len / 3 + 1), &n, &used);
	fuzz_assert(st != TLS_FRAME_FULL, "full with room for every frame");
	take(r, msgs, n, s, s + len);
	fuzz_assert(used == r->len, "used %zu, messages %zu", used, r->len);
	r->zero = st == TLS_FRAME_ZERO;
	if (!r->zero)
		fuzz_assert(len - used <= TLS_FRAME_PARTIAL_MAX &&
				    (len - used < TLS_FRAME_HDR ||
				     len - used < TLS_FRAME_HDR +
							  ((size_t)s[used] << 8 | s[used + 1])),
			    "left %zu bytes that hold a whole frame", len - used);
	free(msgs);
}

/* As link_read(): chunks into a bounded buffer, split in batches. */
static void chunked(const uint8_t *s, size_t len, unsigned int seed,
		    unsigned int chunk_max, unsigned int batch,
		    struct result *r)
{
	size_t size = TLS_FRAME_PARTIAL_MAX + chunk_max;
	uint8_t *rx = malloc(size);
	struct cv_msg msgs[BATCH_MAX];
	size_t used = 0, off = 0;

	fuzz_assert(rx, "out of memory");
	while (off < len && !r->zero) {
		seed = seed * 1103515245u + 12345u;
		size_t chunk = 1 + (seed >> 16) % chunk_max;
		if (chunk > len - off)
			chunk = len - off;
		fuzz_assert(used + chunk <= size, "no room: %zu + %zu", used, chunk);
		memcpy(rx + used, s + off, chunk);
		used += chunk;
		off += chunk;

		size_t consumed = 0;
		for (;;) {
			unsigned int n;
			size_t took;
			enum tls_frame_status st = tls_frame_split(
				rx + consumed, used - consumed, msgs, batch, &n, &took);
			fuzz_assert(n <= batch, "%u messages for %u", n, batch);
			take(r, msgs, n, rx + consumed, rx + used);
			consumed += took;
			if (st == TLS_FRAME_FULL)
				continue;
			if (st == TLS_FRAME_ZERO)
				r->zero = true;
			break;
		}
		memmove(rx, rx + consumed, used - consumed);
		used -= consumed;
		if (!r->zero)
			fuzz_assert(used <= TLS_FRAME_PARTIAL_MAX,
				    "%zu bytes left after a split", used);
	}
	free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	unsigned int seed = data[0];
	unsigned int chunk_max = 1 + data[1] % CHUNK_MAX;
	unsigned int batch = 1 + data[2] % BATCH_MAX;
	const uint8_t *s = data + 3;
	size_t len = size - 3;
	struct result whole = { .reframed = malloc(len + 1) };
	struct result parts = { .reframed = malloc(len + 1) };

	fuzz_assert(whole.reframed && parts.reframed, "out of memory");
	at_once(s, len, &whole);
	fuzz_assert(memcmp(whole.reframed, s, whole.len) == 0,
		    "framing the messages again does not give the stream back");
	chunked(s, len, seed, chunk_max, batch, &parts);
	fuzz_assert(parts.count == whole.count && parts.len == whole.len &&
			    parts.zero == whole.zero &&
			    memcmp(parts.reframed, whole.reframed, whole.len) == 0,
		    "%u messages in chunks, %u at once", parts.count, whole.count);
	free(whole.reframed);
	free(parts.reframed);
	return 0;
}
