/*
 * tls.h - what the files of the tls transport share. Private to
 * plugins/tls/.
 *
 * Files, by role, each calling only those below it:
 *
 *   tls.c           the instance: create, destroy, reload, stats, the table
 *     tls_listener.c  a server's listening socket: accepting, pausing
 *     tls_client.c    a client's connect(): each address of 'remote' in turn
 *       tls_link.c      one connection: handshake, reading and delivering,
 *                       the send buffer, rekeying, closing
 *         tls_frame.c     the 2-byte length framing (pure; fuzzed)
 *         ../common/      gnutls_link (what tls and dtls links share),
 *                         gnutls_common, endpoint, plugin_util
 *
 * tls.c calls the listener, the client and the link; the listener and
 * the client call the link; the link calls tls_frame and common. No file
 * calls one above it: the client's own states (connecting, failed) are
 * handled by the callbacks it gives the link's socket and timer.
 */
#ifndef CULVERT_TLS_H
#define CULVERT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "../common/gnutls_link.h"
#include "tls_frame.h"

#define FRAME_HDR TLS_FRAME_HDR
#define MSG_MAX TLS_FRAME_MAX	/* the most a 2-byte length frames */
/* Read per round: four full records. */
#define RX_READ (64 * 1024)
/* A frame the previous round ended inside (at most
 * TLS_FRAME_PARTIAL_MAX bytes), then one round's reading after it. */
#define RX_SIZE (FRAME_HDR + MSG_MAX + RX_READ)
#define DELIVER_BATCH 256		/* messages per deliver() */

/* A link's state is g.state: GLINK_START while a client's TCP connect is
 * under way, GLINK_FAILED when a client's connect() found no address to
 * try (reported from the loop). */
struct cv_link {
	struct glink g;			/* first: see gnutls_link.h */
	struct cv_instance *inst;
	int fd;
	uint32_t events;		/* what the loop watches for now */
	struct cv_timer *rekey_timer;	/* up: the next TLS 1.3 key update */
	unsigned int rekeys;

	/* The start of a frame that the last read ended inside. */
	uint8_t *carry;
	size_t carry_len;
	/* Framed messages the socket has not taken yet. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;

	bool got_data;			/* application data has arrived */
	bool heard;			/* server: the peer sent a byte */
	/* A send failed (said once, in words): every later one fails
	 * without a word, with this errno. */
	int send_err;
};

/* What the instance counted besides the handshakes (g.counts), for the
 * table's stats(): chiefly what it dropped before the core could see
 * it. */
struct tls_stats {
	uint64_t junk, truncated_record, oversized_record, closed_early;
	uint64_t zero_length_frame, accept_paused;
};

struct cv_instance {
	struct glinks gl;		/* the GnuTLS setup, every link */
	unsigned int rekey_interval;	/* seconds */
	int listen_fd;
	struct cv_timer *accept_timer;	/* re-watches the listener after EMFILE */
	struct tls_stats stats;

	struct cv_msg msgs[DELIVER_BATCH];
	uint8_t rx[RX_SIZE];
};

#define LOG(inst, prio, ...) \
	(inst)->gl.api->log((inst)->gl.host, prio, __VA_ARGS__)
#define PEER_LOG(inst, prio, ...) GLINK_PEER_LOG(&(inst)->gl, prio, __VA_ARGS__)

/* ---- tls_listener.c: a server's listening socket */

/* The table's listen(). */
int tls_listen(struct cv_instance *inst);

/* ---- tls_client.c: a client's connect() */

/* The table's connect(). */
int tls_connect(struct cv_instance *inst);

/* ---- tls_link.c: one connection */

extern const struct glink_ops tls_link_ops;

/* A link on the instance's list, with its timers (the handshake's
 * calling on_timer, which is link_on_timer or a role's handler that
 * passes the link's own states on to it), and no socket yet. */
struct cv_link *link_new(struct cv_instance *inst, cv_timer_cb *on_timer);
/* The link's connection (TCP_NODELAY set), not watched yet. */
void link_attach(struct cv_link *link, int fd);
/* Unwatch and close the link's connection. */
void link_close_fd(struct cv_link *link);
/* What the loop watches the link's connection for now (CV_EV_*). */
void link_set_events(struct cv_link *link, uint32_t events);
/* A GnuTLS session on link->fd, in GLINK_HANDSHAKE, its deadline armed. */
int link_start_tls(struct cv_link *link);
/* Take the handshake as far as the socket allows. */
void link_handshake_step(struct cv_link *link);
/* The link's timer, in GLINK_HANDSHAKE (the deadline) and GLINK_UP
 * ("read on" after a long burst). */
void link_on_timer(void *arg);
/* The table's send(). */
int link_send(struct cv_link *link, const struct cv_msg *msgs,
	      unsigned int count);

#endif /* CULVERT_TLS_H */
