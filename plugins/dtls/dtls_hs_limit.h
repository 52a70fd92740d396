/*
 * dtls_hs_limit.h - how much of an unfinished DTLS handshake the peer
 * could make GnuTLS hold, read off the datagrams before GnuTLS sees them.
 *
 * GnuTLS allocates a handshake message whole, at the length its first
 * fragment announces (up to 16 MiB), and keeps the fragments until the
 * message is complete. In epoch 0 the handshake is in the clear, so the
 * lengths announced can be added up before GnuTLS believes them: each
 * message (by sequence number, type and length) once, however often it
 * is sent again. Records of later epochs (the Finished, or application
 * data that overtook it) cannot be read; their bytes are added instead.
 * A handshake whose sum passes the limit is ended before GnuTLS
 * allocates anything for it.
 *
 * Pure: no GnuTLS, no sockets (tests/unit/test_dtls_hs_limit.c).
 */
#ifndef CULVERT_DTLS_HS_LIMIT_H
#define CULVERT_DTLS_HS_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct handshake messages a peer may send in one handshake: a real
 * client sends at most six (ClientHello, Certificate, ClientKeyExchange,
 * CertificateVerify, ChangeCipherSpec is no message, Finished), a server
 * seven with the HelloVerifyRequest. */
#define DTLS_HS_MESSAGES 10

struct dtls_hs_msg {
	uint32_t length;
	uint16_t seq;
	uint8_t type;
};

struct dtls_hs_limit {
	struct dtls_hs_msg msg[DTLS_HS_MESSAGES];
	unsigned int n;
	size_t held;		/* lengths announced, and sealed bytes */
	uint32_t largest;	/* the largest length announced, for the log */
};

/*
 * Add what the datagram d (whole DTLS records: dtls_records_check passed
 * it) makes GnuTLS hold. False when the sum passes max, or the peer
 * sends more distinct messages than a handshake has: the handshake must
 * end, and h->largest says what it announced.
 */
bool dtls_hs_limit_take(struct dtls_hs_limit *h, const uint8_t *d, size_t len,
			size_t max);

#endif
