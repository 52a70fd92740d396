/*
 * libFuzzer harness: a RADIUS server's answer to a login, as culvertd
 * checks it (radius_reply_check, src/server/radius_packet.c) and reads
 * it into a client's policy (radius_reply_parse and _overlay,
 * src/server/radius_reply.c, then policy_merge).
 *
 * The first byte chooses: with its high bit set the rest is a datagram
 * as received, checked against a request and never believed unless it
 * passes; else its low bits choose the code (Accept, Reject, Challenge)
 * and the rest are the attributes of a reply that the harness signs with
 * the shared secret, so that the reading is reached too. Every reply
 * read must keep the reader's promises.
 */
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "policy.h"
#include "radius_packet.h"
#include "radius_reply.h"
#include "session.h"
#include "user_name.h"
#include "wire.h"

static const uint8_t secret[] = "fuzzing secret";
#define SECRET secret, sizeof(secret) - 1

static struct config *cfg;
static struct radius_packet request;

static void quiet(int priority, const char *line, void *arg)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open("fuzz_radius", true, LOG_DEBUG);
	log_set_sink(quiet, NULL);
	if (config_parse_string("gw.conf",
				"mode = server\ntransport = udp\n"
				"listen = 192.0.2.1:4433\npool = 203.0.113.0/24\n"
				"pool6 = 2001:db8:100::/64\nroute = 198.18.2.0/24\n",
				&cfg) < 0 ||
	    radius_packet_start(&request, RADIUS_ACCESS_REQUEST, 42) < 0 ||
	    radius_add_message_authenticator(&request) < 0 ||
	    radius_add_text(&request, RADIUS_USER_NAME, "alice") < 0 ||
	    radius_add_password(&request, "pw", SECRET) < 0 ||
	    radius_seal(&request, SECRET) < 0)
		abort();
	return 0;
}

/* The reply of code with attrs, signed as the server would. */
static size_t signed_reply(uint8_t *out, uint8_t code, const uint8_t *attrs,
			   size_t len)
{
	gnutls_hash_hd_t h;

	out[0] = code;
	out[1] = request.buf[1];
	put16(out + 2, (uint16_t)(RADIUS_HEADER + len));
	memcpy(out + 4, request.buf + 4, RADIUS_AUTH_LEN);
	memcpy(out + RADIUS_HEADER, attrs, len);
	if (gnutls_hash_init(&h, GNUTLS_DIG_MD5) < 0)
		abort();
	gnutls_hash(h, out, RADIUS_HEADER + len);
	gnutls_hash(h, SECRET);
	gnutls_hash_deinit(h, out + 4);
	return RADIUS_HEADER + len;
}

static void check_read(const struct radius_reply *r, int err)
{
	fuzz_assert(r->n_networks <= POLICY_MAX_NETWORKS, "%u networks", r->n_networks);
	fuzz_assert(r->n_class <= RADIUS_CLASS_MAX, "%u classes", r->n_class);
	fuzz_assert(!r->group[0] || group_name_valid(r->group), "group '%s'", r->group);
	for (const char *c = r->message; *c; c++)
		fuzz_assert(*c >= 0x20 && *c < 0x7f, "an unprintable message");
	fuzz_assert((err < 0) == (r->problem[0] != '\0') ||
		    r->code != RADIUS_ACCESS_ACCEPT, "problem '%s' with %d", r->problem, err);
	if (err < 0 || r->code != RADIUS_ACCESS_ACCEPT)
		return;
	for (unsigned int i = 0; i < r->n_networks; i++) {
		fuzz_assert(r->networks[i].len > 0, "a network of length 0");
		for (unsigned int j = 0; j < i; j++)
			fuzz_assert(!prefix_overlap(&r->networks[i], &r->networks[j]),
				    "overlapping networks");
	}
	/* Into a session's policy, as radius_session_policy does. */
	struct client_policy c;
	struct session_policy *p = NULL;
	radius_reply_overlay(r, NULL, "alice", &c);
	if (policy_merge(&c, NULL, c.group, cfg, "alice", &p) == 0) {
		fuzz_assert(p && p->n_networks == r->n_networks,
			    "networks lost in the merge");
		fuzz_assert(addr_equal(&p->addr4, &r->addr4) || !r->addr4.family,
			    "the address lost in the merge");
	}
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t codes[] = {
		RADIUS_ACCESS_ACCEPT, RADIUS_ACCESS_REJECT,
		RADIUS_ACCESS_CHALLENGE, RADIUS_ACCOUNTING_RESPONSE,
	};
	uint8_t packet[RADIUS_PACKET_MAX + RADIUS_HEADER];
	const uint8_t *reply = data + 1;
	size_t len = size ? size - 1 : 0;
	const char *why;

	if (size < 1)
		return 0;
	if (!(data[0] & 0x80)) {
		if (len > RADIUS_PACKET_MAX - RADIUS_HEADER)
			return 0;
		len = signed_reply(packet, codes[data[0] & 3], data + 1, len);
		reply = packet;
	}
	enum radius_check c = radius_reply_check(reply, len, &request, SECRET, &why);
	fuzz_assert(why, "no words for the verdict");
	if (c != RADIUS_REPLY_OK)
		return 0;
	fuzz_assert(len >= RADIUS_HEADER && get16(reply + 2) <= len, "a short reply passed");
	struct radius_reply r;
	check_read(&r, radius_reply_parse(reply, &r));
	return 0;
}
