#include "dtls_classify.h"

#include <netinet/in.h>
#include <string.h>

bool dtls_head_parse(const uint8_t *d, size_t len, struct dtls_head *h)
{
	if (len < REC_HDR || d[1] != 0xfe)
		return false;
	h->type = d[0];
	h->epoch = (unsigned int)d[3] << 8 | d[4];
	h->hello = h->type == CT_HANDSHAKE && h->epoch == 0 && len > REC_HDR &&
		   d[REC_HDR] == HS_CLIENT_HELLO;
	return true;
}

enum dtls_records dtls_records_check(const uint8_t *d, size_t len)
{
	for (size_t off = 0; off < len;) {
		if (len - off < REC_HDR)
			return DTLS_RECORDS_TRUNCATED;
		size_t rec = (size_t)d[off + 11] << 8 | d[off + 12];
		if (rec > REC_MAX_LEN)
			return DTLS_RECORDS_OVERSIZED;
		if (rec > len - off - REC_HDR)
			return DTLS_RECORDS_TRUNCATED;
		off += REC_HDR + rec;
	}
	return DTLS_RECORDS_OK;
}

enum dtls_action dtls_classify(const struct dtls_head *h,
			       const struct dtls_sender *s)
{
	if (!s->known)
		return h->hello ? DTLS_COOKIE
		       : h->type == CT_APPLICATION_DATA && h->epoch ? DTLS_ROAM
								    : DTLS_STRAY;
	if (!s->up)
		return DTLS_FEED;		/* its handshake */
	if (s->successor && (h->epoch == 0 || h->type != CT_APPLICATION_DATA))
		return DTLS_FEED_SUCCESSOR;	/* its new handshake */
	if (h->hello)
		/* Not for the up session: a restarted client (or a replay),
		 * which must prove itself with a cookie, and may then replace
		 * the session if it finishes a handshake of its own. */
		return DTLS_COOKIE;
	/* Also the client's last flight again, when our last one was
	 * lost: GnuTLS sends it once more. */
	return DTLS_FEED;
}

void dtls_cookie_client(const struct sockaddr_storage *from, uint32_t slot,
			struct dtls_cookie_client *c)
{
	memset(c, 0, sizeof(*c));
	c->family = from->ss_family;
	c->slot = slot;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)from;
		c->port = in->sin_port;
		memcpy(c->addr, &in->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)from;
		c->port = in6->sin6_port;
		memcpy(c->addr, &in6->sin6_addr, 16);
	}
}
