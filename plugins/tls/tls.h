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
 *                       the send buffer, closing
 *         tls_rekey.c     new keys by time and by volume (KeyUpdate)
 *         tls_pmtu.c      the size of its TCP segments: [tls] mtu, and
 *                         the stall (a path MTU black hole) that lowers it
 *         tls_frame.c     the 2-byte length framing (pure; fuzzed)
 *         tls_outq.c      the send queue: an express lane for small
 *                         packets beside the bulk (pure)
 *         ../common/      gnutls_link (what tls and dtls links share),
 *                         gnutls_common, endpoint, plugin_util
 *
 * tls.c calls the listener, the client and the link; the listener and
 * the client call the link (and tls_pmtu, for a new connection's
 * segment size); the link calls tls_rekey, tls_pmtu, tls_frame and
 * common. No file
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
#include "tls_outq.h"

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
	struct cv_timer *rekey_timer;	/* up: the next key update */
	unsigned int rekeys;
	/* Sent under our current keys (rekey-bytes, rekey-records). */
	uint64_t key_bytes, key_records;
	bool rekey_due;			/* by volume: the timer is armed */
	int64_t rekeyed_at;		/* monotonic ms of our last KeyUpdate */

	/* The start of a frame that the last read ended inside. */
	uint8_t *carry;
	size_t carry_len;
	/* Framed messages the socket has not taken yet. */
	struct tls_outq out;

	bool got_data;			/* application data has arrived */
	bool heard;			/* server: the peer sent a byte */
	/* Bytes read for GnuTLS that have not come out of it as
	 * application data since: what it may hold of a handshake message
	 * (GLINK_HANDSHAKE_MAX), during the handshake and after. */
	size_t held;
	bool too_large;			/* held reached the limit */

	/* The path MTU its segments are cut for (0: the kernel's own), and
	 * on a server, after a stall: writes of at most chunk bytes, each
	 * its own segment (0: as GnuTLS writes). tls_pmtu.c. */
	unsigned int mtu;
	size_t chunk;
	int64_t stall_seen;		/* a retransmission first seen, or 0 */
	/* The watch on stalls, armed while segments are in flight. */
	struct cv_timer *watch_timer;
	bool watched;
	/* A client's stall: a new connection asks whether the server is
	 * there (tls_pmtu.c); -1 when none is under way. */
	int ask_fd;
	int64_t asked_at;
	bool path_answered;		/* it did, during this stall */
	/* A send failed (said once, in words): every later one fails
	 * without a word, with this errno. */
	int send_err;
};

/* Server: a host whose connections stalled on segments too large for
 * its path, and the packet size its connections get until `until`. */
#define TLS_CLAMPS 64
struct tls_clamp {
	struct sockaddr_storage host;
	unsigned int mtu;
	int64_t until;			/* plugin_now_ms() */
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
	int listen_fd;
	struct cv_timer *accept_timer;	/* re-watches the listener after EMFILE */
	struct tls_stats stats;
	/* Segment sizes (tls_pmtu.c): [tls] mtu (0: auto); a server's
	 * clamps per host (a client's is the process's). */
	unsigned int mtu;
	struct tls_clamp clamps[TLS_CLAMPS];

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

/* ---- tls_pmtu.c: the size of a link's segments */

/* [tls] mtu: create()'s part. Returns 0, or a negative errno after
 * logging. */
int tls_pmtu_init(struct cv_instance *inst);
/* Client: link->fd, of family, before connect(): TCP_MAXSEG when [tls]
 * mtu or a stall says so. */
void tls_pmtu_connecting(struct cv_link *link, int family);
/* Server: the listening socket fd, of family, before listen(). */
void tls_pmtu_listening(struct cv_instance *inst, int fd, int family);
/* Server: a connection just accepted (its GnuTLS session made): small
 * writes when its host's connections stalled before. */
void tls_pmtu_accepted(struct cv_link *link);
/* The link handed its socket bytes: watch it for a stall until
 * nothing is in flight. */
void tls_pmtu_watch(struct cv_link *link);
/* The link's connection closes: what its watch had open goes too. */
void tls_pmtu_forget(struct cv_link *link);
/* The link goes: its watch too. */
void tls_pmtu_unwatch(struct cv_link *link);

/* ---- tls_rekey.c: new keys */

/* The link is up: a client counts rekey-interval. */
void tls_rekey_up(struct cv_link *link);
/* After send(): keys that protected rekey-bytes or rekey-records are
 * renewed from the loop. */
void tls_rekey_sent(struct cv_link *link);
/* The link's rekey timer. */
void tls_rekey_on_timer(void *arg);

#endif /* CULVERT_TLS_H */
