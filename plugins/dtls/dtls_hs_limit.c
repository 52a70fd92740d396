/*
 * The bound on what an unfinished DTLS handshake may make GnuTLS hold.
 * See dtls_hs_limit.h.
 */
#include "dtls_hs_limit.h"

#include "dtls_classify.h"

/* The handshake message header in DTLS (RFC 6347 4.2.2): type, length,
 * message_seq, fragment_offset, fragment_length. */
#define HS_HDR 12

static uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* One message: known already (sent again, or another fragment of it),
 * or new, adding its length. False when it cannot be held. */
static bool take_message(struct dtls_hs_limit *h, uint8_t type, uint16_t seq,
			 uint32_t length, size_t max)
{
	for (unsigned int i = 0; i < h->n; i++)
		if (h->msg[i].seq == seq && h->msg[i].type == type &&
		    h->msg[i].length == length)
			return true;
	if (length > h->largest)
		h->largest = length;
	if (h->n == DTLS_HS_MESSAGES || length > max - h->held)
		return false;
	h->msg[h->n++] = (struct dtls_hs_msg){ length, seq, type };
	h->held += length;
	return true;
}

/* The fragments of one epoch-0 handshake record. A fragment cut short
 * is GnuTLS's to refuse; it holds nothing of it. */
static bool take_fragments(struct dtls_hs_limit *h, const uint8_t *p,
			   size_t len, size_t max)
{
	while (len >= HS_HDR) {
		uint32_t frag = be24(p + 9);
		if (!take_message(h, p[0], (uint16_t)(p[4] << 8 | p[5]),
				  be24(p + 1), max))
			return false;
		if (frag > len - HS_HDR)
			break;
		p += HS_HDR + frag;
		len -= HS_HDR + frag;
	}
	return true;
}

bool dtls_hs_limit_take(struct dtls_hs_limit *h, const uint8_t *d, size_t len,
			size_t max)
{
	size_t off = 0;

	while (len - off >= REC_HDR) {
		size_t rec = (size_t)d[off + 11] << 8 | d[off + 12];
		const uint8_t *body = d + off + REC_HDR;
		bool epoch0 = d[off + 3] == 0 && d[off + 4] == 0;

		if (rec > len - off - REC_HDR)
			break;		/* dtls_records_check refused it */
		if (d[off] == CT_HANDSHAKE && epoch0) {
			if (!take_fragments(h, body, rec, max))
				return false;
		} else if (d[off] != CT_CHANGE_CIPHER_SPEC && d[off] != CT_ALERT) {
			/* Sealed: a Finished, or application data early. */
			if (rec > max - h->held)
				return false;
			h->held += rec;
		}
		off += REC_HDR + rec;
	}
	return true;
}
