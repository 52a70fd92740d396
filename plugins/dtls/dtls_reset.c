/*
 * dtls_reset.c - stateless resets in DTLS's clothes (doc/PROTOCOL.md,
 * "Stateless reset"). A restarted server has no keys for a client's
 * records, so its reset cannot be a record; it is a datagram that looks
 * like one to the network (a DTLS 1.2 application-data header, random
 * bytes) and ends in the token the core computes. The client takes it
 * only when the tail is the token of its session's welcome. Two pure
 * functions (the shape of a reset), and the two places that use them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/crypto.h>

#include "dtls.h"

size_t dtls_reset_build(uint8_t *out, size_t trigger_len,
			const uint8_t token[CV_RESET_TOKEN_LEN])
{
	/* Shorter than what it answers: never an amplifier. */
	size_t len = trigger_len - 1 < DTLS_RESET_MAX ? trigger_len - 1
						      : DTLS_RESET_MAX;

	if (trigger_len <= DTLS_RESET_MIN)
		return 0;
	if (gnutls_rnd(GNUTLS_RND_NONCE, out, len) < 0)
		return 0;
	out[0] = CT_APPLICATION_DATA;
	out[1] = 0xfe;			/* DTLS 1.2 */
	out[2] = 0xfd;
	/* Bytes 3-10, epoch and sequence number, stay random. */
	out[11] = (uint8_t)((len - REC_HDR) >> 8);
	out[12] = (uint8_t)(len - REC_HDR);
	memcpy(out + len - CV_RESET_TOKEN_LEN, token, CV_RESET_TOKEN_LEN);
	return len;
}

bool dtls_reset_matches(const uint8_t *d, size_t len,
			const uint8_t token[CV_RESET_TOKEN_LEN])
{
	uint8_t diff = 0;

	if (len < DTLS_RESET_MIN || len > DTLS_RESET_MAX)
		return false;
	/* Constant time: how long it takes must not tell how much of a
	 * guessed token was right. */
	for (size_t i = 0; i < CV_RESET_TOKEN_LEN; i++)
		diff |= d[len - CV_RESET_TOKEN_LEN + i] ^ token[i];
	return diff == 0;
}

/* ---- the server: a record from an address without a link */

void dtls_reset_send(struct cv_instance *inst, size_t trigger_len,
		     const struct sockaddr_storage *to, socklen_t to_len)
{
	const struct cv_host_api *api = inst->gl.api;
	uint8_t token[CV_RESET_TOKEN_LEN], buf[DTLS_RESET_MAX];

	if (trigger_len <= DTLS_RESET_MIN || !CV_HOST_API_HAS(api, reset_token) ||
	    api->reset_token(inst->gl.host, (const struct sockaddr *)to, to_len,
			     token) < 0)
		return;
	size_t len = dtls_reset_build(buf, trigger_len, token);
	if (len && sendto(inst->fd, buf, len, MSG_DONTWAIT,
			  (const struct sockaddr *)to, to_len) == (ssize_t)len)
		inst->resets_sent++;
}

/* ---- the client */

void dtls_set_reset_token(struct cv_instance *inst, struct cv_link *link,
			  const uint8_t token[CV_RESET_TOKEN_LEN])
{
	memcpy(link->reset_token, token, CV_RESET_TOKEN_LEN);
	link->has_reset_token = true;
}

bool dtls_reset_received(struct cv_link *link, const uint8_t *d, size_t len)
{
	char why[300];

	if (!link->has_reset_token || link->g.state != GLINK_UP ||
	    !dtls_reset_matches(d, len, link->reset_token))
		return false;
	snprintf(why, sizeof(why),
		 "%s has lost the DTLS session (it restarted?): stateless reset",
		 link->g.peer_name);
	glink_lost(&link->g, -ESTALE, why);
	return true;
}
