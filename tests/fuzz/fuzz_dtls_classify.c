/*
 * libFuzzer harness: what the dtls server decides about a datagram before
 * GnuTLS decrypts anything (plugins/dtls/dtls_classify.c, used by
 * dtls_server.c's server_datagram and stranger_hello).
 *
 * Input: byte 0 says what the server knows of the sender (a link, up, a
 * new handshake under way); bytes 1-2 pick the sender's address and port;
 * the rest is the datagram, copied to the heap at its exact size.
 *
 * Properties: the header is read inside the datagram (ASan); anything
 * shorter than a record header, or not version 0xfe.., is a stray; only a
 * ClientHello in epoch 0 starts the cookie exchange; only application
 * data of a later epoch from an unknown sender is tried for roaming; a
 * link's new handshake gets only what is not its session's data; and a
 * known sender is never sent a cookie for anything but a ClientHello.
 * The cookie is bound to family, address, port and time slot: two
 * senders that differ in any of them (and in nothing else, the junk in
 * sockaddr_storage aside) get different MAC inputs. Then GnuTLS checks
 * the datagram's cookie with a key the input cannot know: it must never
 * pass.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include "../../plugins/dtls/dtls_classify.h"
#include "fuzz.h"

static gnutls_datum_t key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_assert(gnutls_key_generate(&key, GNUTLS_COOKIE_KEY_SIZE) == 0,
		    "no cookie key");
	return 0;
}

static void sender_addr(uint8_t pick, uint8_t junk, struct sockaddr_storage *ss)
{
	memset(ss, junk, sizeof(*ss));
	if (pick & 1) {
		struct sockaddr_in6 *in6 = (void *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(4433 + (pick >> 4 & 1));
		inet_pton(AF_INET6, pick & 2 ? "::ffff:192.0.2.1" : "2001:db8::1",
			  &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(4433 + (pick >> 4 & 1));
		inet_pton(AF_INET, pick & 2 ? "192.0.2.1" : "198.51.100.1",
			  &in->sin_addr);
	}
}

static void check_cookie_binding(uint8_t pick, uint8_t junk, uint32_t slot)
{
	struct sockaddr_storage a, b;
	struct dtls_cookie_client ca, cb;

	sender_addr(pick, junk, &a);
	sender_addr(pick, (uint8_t)~junk, &b);	/* only the junk differs */
	dtls_cookie_client(&a, slot, &ca);
	dtls_cookie_client(&b, slot, &cb);
	fuzz_assert(memcmp(&ca, &cb, sizeof(ca)) == 0,
		    "the cookie depends on bytes the address does not use");
	for (unsigned int bit = 0; bit < 5; bit++) {	/* one thing changed */
		uint8_t other = pick ^ (uint8_t[]){ 1, 2, 0x10, 0, 0 }[bit];
		uint32_t other_slot = slot + (bit == 3 ? 1 : bit == 4 ? 2 : 0);
		if (bit < 3 && other == pick)
			continue;
		sender_addr(other, junk, &b);
		dtls_cookie_client(&b, other_slot, &cb);
		fuzz_assert(memcmp(&ca, &cb, sizeof(ca)) != 0,
			    "two senders, one cookie (change %u)", bit);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	struct dtls_sender s = {
		.known = data[0] & 1,
		.up = data[0] & 2,
		.successor = data[0] & 4,
	};
	if (!s.known)
		s.up = s.successor = false;
	if (!s.up)
		s.successor = false;
	size_t len = size - 3;
	uint8_t *d = malloc(len ? len : 1);
	fuzz_assert(d, "out of memory");
	memcpy(d, data + 3, len);

	struct dtls_head h;
	if (!dtls_head_parse(d, len, &h)) {
		fuzz_assert(len < REC_HDR || d[1] != 0xfe, "DTLS taken for a stray");
		free(d);
		return 0;
	}
	fuzz_assert(len >= REC_HDR && d[1] == 0xfe, "a stray taken for DTLS");
	fuzz_assert(h.type == d[0] && h.epoch == ((unsigned int)d[3] << 8 | d[4]),
		    "header fields");
	fuzz_assert(h.hello == (h.type == CT_HANDSHAKE && h.epoch == 0 &&
				len > REC_HDR && d[REC_HDR] == HS_CLIENT_HELLO),
		    "hello");
	/* The record walk stays inside the datagram (ASan says if not),
	 * and a single whole record of a legal length is always OK. */
	enum dtls_records r = dtls_records_check(d, len);
	size_t first = (size_t)d[11] << 8 | d[12];
	if (first <= REC_MAX_LEN && len == REC_HDR + first)
		fuzz_assert(r == DTLS_RECORDS_OK, "one whole record refused");
	if (first > REC_MAX_LEN)
		fuzz_assert(r == DTLS_RECORDS_OVERSIZED, "oversized record taken");

	enum dtls_action a = dtls_classify(&h, &s);
	switch (a) {
	case DTLS_STRAY:
		fuzz_assert(!s.known, "a known sender's datagram dropped");
		break;
	case DTLS_COOKIE:
		fuzz_assert(h.hello, "a cookie for something else than a ClientHello");
		fuzz_assert(!s.known || (s.up && !s.successor),
			    "a cookie to a sender in its handshake");
		break;
	case DTLS_ROAM:
		fuzz_assert(!s.known && h.type == CT_APPLICATION_DATA && h.epoch,
			    "roaming for type %u epoch %u", h.type, h.epoch);
		break;
	case DTLS_FEED:
		fuzz_assert(s.known, "fed to no link");
		fuzz_assert(!s.successor ||
				    (h.type == CT_APPLICATION_DATA && h.epoch),
			    "a new handshake's record to the old session");
		break;
	case DTLS_FEED_SUCCESSOR:
		fuzz_assert(s.successor, "fed to a handshake that is not there");
		fuzz_assert(h.epoch == 0 || h.type != CT_APPLICATION_DATA,
			    "session data to the new handshake");
		break;
	default:
		fuzz_assert(0, "action %d", a);
	}

	uint32_t slot = (uint32_t)data[2] << 8 | data[1];
	check_cookie_binding(data[1], data[2], slot);

	if (h.hello) {
		/* As stranger_hello(): this slot's cookie and the last one's. */
		struct sockaddr_storage from;
		struct dtls_cookie_client c;
		gnutls_dtls_prestate_st prestate;
		sender_addr(data[1], data[2], &from);
		for (unsigned int back = 0; back < 2; back++) {
			memset(&prestate, 0, sizeof(prestate));
			dtls_cookie_client(&from, slot - back, &c);
			int ret = gnutls_dtls_cookie_verify(&key, &c, sizeof(c), d,
							    len, &prestate);
			fuzz_assert(ret < 0, "a forged cookie passed");
		}
	}
	free(d);
	return 0;
}
