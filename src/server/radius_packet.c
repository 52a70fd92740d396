/* RADIUS requests built and sealed, replies checked (radius_packet.h). */
#include "radius_packet.h"

#include <errno.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "wire.h"

#define MD5_LEN 16

int radius_packet_start(struct radius_packet *p, uint8_t code, uint8_t id)
{
	memset(p->buf, 0, RADIUS_HEADER);
	p->buf[0] = code;
	p->buf[1] = id;
	p->len = RADIUS_HEADER;
	p->ma_at = 0;
	/* An Access-Request's authenticator hides the password: it must
	 * be unpredictable (RFC 2865 3). An Accounting-Request's is
	 * computed at the seal. */
	if (code == RADIUS_ACCESS_REQUEST &&
	    gnutls_rnd(GNUTLS_RND_RANDOM, p->buf + 4, RADIUS_AUTH_LEN) < 0)
		return -EIO;
	return 0;
}

int radius_add(struct radius_packet *p, uint8_t type, const void *value,
	       size_t len)
{
	if (len > RADIUS_VALUE_MAX)
		return -EINVAL;
	if (p->len + 2 + len > RADIUS_PACKET_MAX)
		return -EMSGSIZE;
	p->buf[p->len] = type;
	p->buf[p->len + 1] = (uint8_t)(2 + len);
	if (len)
		memcpy(p->buf + p->len + 2, value, len);
	p->len += 2 + len;
	return 0;
}

int radius_add_u32(struct radius_packet *p, uint8_t type, uint32_t value)
{
	uint8_t v[4];

	put32(v, value);
	return radius_add(p, type, v, sizeof(v));
}

int radius_add_text(struct radius_packet *p, uint8_t type, const char *text)
{
	return radius_add(p, type, text, strlen(text));
}

int radius_add_raw(struct radius_packet *p, const uint8_t *attrs, size_t len)
{
	if (p->len + len > RADIUS_PACKET_MAX)
		return -EMSGSIZE;
	memcpy(p->buf + p->len, attrs, len);
	p->len += len;
	return 0;
}

/* MD5 of parts one after the other; -EIO when GnuTLS refuses MD5. */
static int md5(uint8_t out[MD5_LEN], const void *a, size_t alen,
	       const void *b, size_t blen, const void *c, size_t clen,
	       const void *d, size_t dlen)
{
	gnutls_hash_hd_t h;

	if (gnutls_hash_init(&h, GNUTLS_DIG_MD5) < 0)
		return -EIO;
	gnutls_hash(h, a, alen);
	gnutls_hash(h, b, blen);
	if (clen)
		gnutls_hash(h, c, clen);
	if (dlen)
		gnutls_hash(h, d, dlen);
	gnutls_hash_deinit(h, out);
	return 0;
}

int radius_add_password(struct radius_packet *p, const char *password,
			const uint8_t *secret, size_t secret_len)
{
	size_t len = strlen(password);
	uint8_t hidden[RADIUS_PASSWORD_MAX];
	const uint8_t *last = p->buf + 4;	/* the Request Authenticator */

	if (len > RADIUS_PASSWORD_MAX)
		return -EINVAL;
	/* Padded with zeros to a multiple of 16, at least 16. */
	size_t padded = len ? (len + 15) / 16 * 16 : 16;
	memset(hidden, 0, sizeof(hidden));
	memcpy(hidden, password, len);
	for (size_t i = 0; i < padded; i += MD5_LEN) {
		uint8_t b[MD5_LEN];
		if (md5(b, secret, secret_len, last, MD5_LEN, NULL, 0, NULL, 0) < 0)
			return -EIO;
		for (size_t j = 0; j < MD5_LEN; j++)
			hidden[i + j] ^= b[j];
		last = hidden + i;
	}
	int err = radius_add(p, RADIUS_USER_PASSWORD, hidden, padded);
	explicit_bzero(hidden, sizeof(hidden));
	return err;
}

int radius_add_message_authenticator(struct radius_packet *p)
{
	static const uint8_t zero[MD5_LEN];
	int err = radius_add(p, RADIUS_MESSAGE_AUTHENTICATOR, zero, sizeof(zero));

	if (err == 0)
		p->ma_at = p->len - MD5_LEN;
	return err;
}

int radius_seal(struct radius_packet *p, const uint8_t *secret,
		size_t secret_len)
{
	put16(p->buf + 2, (uint16_t)p->len);
	if (p->buf[0] == RADIUS_ACCOUNTING_REQUEST) {
		uint8_t auth[MD5_LEN];
		memset(p->buf + 4, 0, RADIUS_AUTH_LEN);
		if (md5(auth, p->buf, p->len, secret, secret_len, NULL, 0,
			NULL, 0) < 0)
			return -EIO;
		memcpy(p->buf + 4, auth, sizeof(auth));
	}
	if (p->ma_at) {
		uint8_t mac[MD5_LEN];
		memset(p->buf + p->ma_at, 0, MD5_LEN);
		if (gnutls_hmac_fast(GNUTLS_MAC_MD5, secret, secret_len, p->buf,
				     p->len, mac) < 0)
			return -EIO;
		memcpy(p->buf + p->ma_at, mac, sizeof(mac));
	}
	return 0;
}

/* A comparison that takes as long wherever the first difference is. */
static bool same(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

/* The attributes of reply fill its length exactly; where its one
 * Message-Authenticator is (0: none). */
static bool attrs_fit(const uint8_t *reply, size_t len, size_t *ma_at,
		      const char **why)
{
	size_t at = RADIUS_HEADER;

	*ma_at = 0;
	while (at < len) {
		if (len - at < 2 || reply[at + 1] < 2) {
			*why = "an attribute shorter than its own header";
			return false;
		}
		if (reply[at + 1] > len - at) {
			*why = "an attribute runs past the end of the packet";
			return false;
		}
		if (reply[at] == RADIUS_MESSAGE_AUTHENTICATOR) {
			if (reply[at + 1] != 2 + MD5_LEN || *ma_at) {
				*why = "a Message-Authenticator of the wrong length, or two";
				return false;
			}
			*ma_at = at + 2;
		}
		at += reply[at + 1];
	}
	return true;
}

/* RFC 2865 3: MD5(Code, ID, Length, Request Authenticator, Attributes,
 * Secret) is the reply's authenticator. */
static bool authenticator_checks(const uint8_t *reply, size_t len,
				 const uint8_t *request_auth,
				 const uint8_t *secret, size_t secret_len)
{
	uint8_t want[MD5_LEN];

	if (md5(want, reply, 4, request_auth, RADIUS_AUTH_LEN,
		reply + RADIUS_HEADER, len - RADIUS_HEADER, secret,
		secret_len) < 0)
		return false;
	return same(want, reply + 4, MD5_LEN);
}

/* RFC 3579 3.2: HMAC-MD5 over the reply with the Request Authenticator
 * in place of its own and the Message-Authenticator zeroed. */
static bool message_authenticator_checks(const uint8_t *reply, size_t len,
					 size_t ma_at,
					 const uint8_t *request_auth,
					 const uint8_t *secret,
					 size_t secret_len)
{
	uint8_t copy[RADIUS_PACKET_MAX], mac[MD5_LEN];

	memcpy(copy, reply, len);
	memcpy(copy + 4, request_auth, RADIUS_AUTH_LEN);
	memset(copy + ma_at, 0, MD5_LEN);
	if (gnutls_hmac_fast(GNUTLS_MAC_MD5, secret, secret_len, copy, len,
			     mac) < 0)
		return false;
	return same(mac, reply + ma_at, MD5_LEN);
}

static bool answers(uint8_t request, uint8_t reply)
{
	if (request == RADIUS_ACCOUNTING_REQUEST)
		return reply == RADIUS_ACCOUNTING_RESPONSE;
	return reply == RADIUS_ACCESS_ACCEPT || reply == RADIUS_ACCESS_REJECT ||
	       reply == RADIUS_ACCESS_CHALLENGE;
}

enum radius_check radius_reply_check(const uint8_t *reply, size_t len,
				     const struct radius_packet *request,
				     const uint8_t *secret, size_t secret_len,
				     const char **why)
{
	size_t ma_at;

	*why = "";
	if (len < RADIUS_HEADER) {
		*why = "shorter than a RADIUS header";
		return RADIUS_REPLY_MALFORMED;
	}
	if (len > RADIUS_PACKET_MAX) {
		*why = "longer than the 4096 bytes RADIUS allows";
		return RADIUS_REPLY_TOO_BIG;
	}
	/* Bytes past the Length field are padding (RFC 2865 3). */
	size_t length = get16(reply + 2);
	if (length < RADIUS_HEADER || length > len) {
		*why = "its Length field does not fit the datagram";
		return RADIUS_REPLY_MALFORMED;
	}
	if (reply[1] != request->buf[1]) {
		*why = "the answer to another request";
		return RADIUS_REPLY_OTHER_ID;
	}
	if (!attrs_fit(reply, length, &ma_at, why))
		return RADIUS_REPLY_MALFORMED;
	if (!authenticator_checks(reply, length, request->buf + 4, secret,
				  secret_len)) {
		*why = "its Response Authenticator does not check: the server signs with another shared secret (or the answer is forged)";
		return RADIUS_REPLY_BAD_AUTHENTICATOR;
	}
	if (ma_at && !message_authenticator_checks(reply, length, ma_at,
						   request->buf + 4, secret,
						   secret_len)) {
		*why = "its Message-Authenticator does not check";
		return RADIUS_REPLY_BAD_MESSAGE_AUTHENTICATOR;
	}
	if (!answers(request->buf[0], reply[0])) {
		*why = "its code answers no such request";
		return RADIUS_REPLY_UNEXPECTED_CODE;
	}
	return RADIUS_REPLY_OK;
}

void radius_attrs_init(struct radius_attrs *it, const uint8_t *packet)
{
	it->at = packet + RADIUS_HEADER;
	it->end = packet + get16(packet + 2);
}

bool radius_attrs_next(struct radius_attrs *it, uint8_t *type,
		       const uint8_t **value, size_t *len)
{
	if (it->end - it->at < 2 || it->at[1] < 2 || it->at[1] > it->end - it->at)
		return false;
	*type = it->at[0];
	*value = it->at + 2;
	*len = it->at[1] - 2u;
	it->at += it->at[1];
	return true;
}
