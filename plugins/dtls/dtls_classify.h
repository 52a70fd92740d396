/*
 * dtls_classify.h - what the dtls server decides about a datagram before
 * GnuTLS sees it: whether it is a DTLS record at all, and where it goes
 * (a cookie for a stranger's ClientHello, a roaming trial, a link's
 * handshake or session, or nowhere); and what a cookie is bound to.
 *
 * Pure functions, so that dtls_server.c and the fuzzer
 * (tests/fuzz/fuzz_dtls_classify.c) run the same code.
 */
#ifndef CULVERT_DTLS_CLASSIFY_H
#define CULVERT_DTLS_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The DTLS record header (RFC 6347 4.1): type, version, epoch, seq, length. */
#define REC_HDR 13
/* The longest record a peer may send (RFC 6347 4.1: 2^14 + 2048). */
#define REC_MAX_LEN (16384 + 2048)
#define CT_CHANGE_CIPHER_SPEC 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPLICATION_DATA 23
#define HS_CLIENT_HELLO 1

/* The first record's header of a datagram. */
struct dtls_head {
	unsigned int type;	/* CT_* */
	unsigned int epoch;
	bool hello;		/* a ClientHello in epoch 0 */
};

/* Fills *h and returns true when the len bytes at d start with a DTLS
 * record header (13 bytes, version 0xfe..); false: not DTLS. */
bool dtls_head_parse(const uint8_t *d, size_t len, struct dtls_head *h);

enum dtls_records {
	DTLS_RECORDS_OK,	/* whole records, back to back, to the end */
	DTLS_RECORDS_TRUNCATED,	/* the last one is cut short */
	DTLS_RECORDS_OVERSIZED,	/* one claims more than DTLS allows */
};

/* Whether the len bytes at d are whole DTLS records no longer than DTLS
 * allows: checked before GnuTLS or the cookie code spends anything on
 * the datagram. */
enum dtls_records dtls_records_check(const uint8_t *d, size_t len);

/* What the server knows of the datagram's sender address. */
struct dtls_sender {
	bool known;		/* a link at this address and port */
	bool up;		/* that link's session is up */
	bool successor;		/* ... and a new handshake is under way there */
};

enum dtls_action {
	DTLS_STRAY,		/* dropped and counted */
	DTLS_COOKIE,		/* a ClientHello: the cookie exchange */
	DTLS_ROAM,		/* a record from a new port: try the IP's sessions */
	DTLS_FEED,		/* to the link at this address */
	DTLS_FEED_SUCCESSOR,	/* to its new handshake */
};

enum dtls_action dtls_classify(const struct dtls_head *h,
			       const struct dtls_sender *s);

/* What a cookie is the MAC of: the peer's address and port, and the
 * time slot it was made in. No padding: every byte is set. */
struct dtls_cookie_client {
	uint16_t family;
	uint16_t port;
	uint32_t slot;
	uint8_t addr[16];
};

void dtls_cookie_client(const struct sockaddr_storage *from, uint32_t slot,
			struct dtls_cookie_client *c);

#endif
