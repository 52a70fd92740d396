/*
 * Stateless resets, the server's half (doc/PROTOCOL.md, "Stateless
 * reset"): a secret that outlives culvertd, kept in state-dir/reset.key,
 * the token it gives each session over a datagram transport, and the
 * rate at which a restarted server may answer strangers' records with
 * the reset that ends in that token.
 */
#ifndef CULVERT_STATELESS_RESET_H
#define CULVERT_STATELESS_RESET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "proto.h"

struct config;
struct stateless_reset;

/* The secret's length, and the file under state-dir that holds it. */
#define RESET_SECRET_LEN 32
#define RESET_SECRET_FILE "reset.key"
/* Resets a server sends a second at most: enough for every client of a
 * large gateway to learn of its restart within a few seconds, too few
 * to matter as a flood (each is shorter than what triggered it). */
#define RESET_RATE 1000

/* Read cfg's state-dir/reset.key, or make it (the directory 0700, the
 * file 0600, 32 random bytes). *out is NULL when that cannot be done,
 * and the server then runs without resets: logged, not an error.
 * Returns 0, or -ENOMEM. */
int stateless_reset_new(const struct config *cfg,
			struct stateless_reset **out);
void stateless_reset_free(struct stateless_reset *r);

/* The token for a client at peer on transport (its name, its listen
 * value): the same across restarts, for as long as the secret lives. An
 * IPv4 peer of an IPv6 socket counts as the IPv4 address it is. */
void stateless_reset_token(const struct stateless_reset *r,
			   const char *transport, const char *listen,
			   const struct sockaddr *peer, socklen_t peer_len,
			   uint8_t token[PROTO_RESET_TOKEN_LEN]);

/* Whether one more reset may leave event loop `loop` now (now: that
 * loop's milliseconds), at its share of RESET_RATE a second (the
 * server's loops share it evenly), bursts of as many. Each loop calls
 * it for itself alone. */
bool stateless_reset_allowed(struct stateless_reset *r, unsigned int loop,
			     int64_t now);

/* ---- the server's use of them (server.h has server_reset_token) */

struct cv_session;

/* A reset is shorter than what it answers, and at most this long. */
#define RESET_MAX_LEN 64

/* The token for s's welcome, when s's transport is not reliable, the
 * server has a secret, and the welcome w has room left for it. */
void server_welcome_reset_token(const struct cv_session *s,
				struct proto_welcome *w);
/* A stranger on an unreliable transport sent len bytes only a peer with
 * a session sends (session_ops.stray): a RESET back, when the rate
 * allows and len leaves room for a shorter one. */
void server_session_stray(struct cv_session *s, size_t len);

#endif
