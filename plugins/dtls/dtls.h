/*
 * dtls.h - what the files of the dtls transport share. Nothing here is
 * seen outside the plugin.
 *
 * Files, by role, each calling only those below it:
 *
 *   dtls.c            the instance: create, destroy, reload, stats, the table
 *     dtls_server.c     the server's one socket: strangers and their
 *                       cookies, roaming clients, the receive loop
 *     dtls_client.c     the client's socket: each address of 'remote' in
 *                       turn, the receive loop, a port nobody listens on
 *       dtls_rekey.c      new keys for an up link: a new session made
 *                         beside the old one, bound to it, then switched
 *                         to while both are read
 *       dtls_link.c       one DTLS session: GnuTLS's pull side, the
 *                         handshake and its timer, records into runs for
 *                         deliver(), the end of a link
 *         dtls_send.c       GnuTLS's push side: records batched into
 *                           sendmmsg and UDP_SEGMENT sends; send()
 *           dtls_drops.c      replays and forgeries told apart, counted,
 *                             and reported at most once a second
 *           dtls_reset.c      stateless resets: sent for a stranger's
 *                             record, recognised by a client
 *           dtls_classify.c   a datagram's first look (pure; fuzzed)
 *           dtls_hs_limit.c   what a handshake's datagrams would make
 *                             GnuTLS hold (pure)
 *           ../common/        gnutls_link (what tls and dtls links share),
 *                             peer_table, dgram_batch, gnutls_common,
 *                             endpoint, plugin_util
 *
 * dtls.c calls the server, the client, the link and the sender; the
 * server and the client call the link (and the drops, classify); the
 * link calls the sender, the drops and common. A link reports to the
 * client without calling it: a failed address sets GLINK_START and arms
 * the link's timer, whose callback is the client's.
 */
#ifndef CULVERT_DTLS_H
#define CULVERT_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include <culvert/transport.h>

#include "../common/dgram_batch.h"
#include "../common/gnutls_link.h"
#include "../common/peer_table.h"
/* The DTLS record header, and the server's first look at a datagram. */
#include "dtls_classify.h"
#include "dtls_hs_limit.h"

/* The largest UDP datagram; one may hold several DTLS records. */
#define DATAGRAM_MAX 65535
/* The most one DTLS record decrypts to (RFC 6347: 2^14). */
#define RECORD_MAX 16384
/* Decrypted messages waiting for one deliver(); a run of one peer's
 * records goes up when the next datagram is someone else's, or when
 * this fills up. */
#define ARENA_SIZE (512 * 1024)
#define DELIVER_MAX 256

#define PATH_MTU_DEFAULT 1500
#define PATH_MTU_MIN 576	/* what every IPv4 host must take */
#define PATH_MTU_MAX 65535
/* [dtls] socket-buffer: what each UDP socket may hold, each way (the
 * kernel doubles it for its bookkeeping). A queue a loop drains in about
 * a millisecond at 3 Gbit/s: a bulk transfer that outruns the loop
 * learns it from loss, as from a router's bounded queue, rather than
 * filling megabytes that every ping of every client then waits behind
 * (bench/README.md, "Latency under load"). */
#define SOCKET_BUFFER_DEFAULT (512 * 1024)
#define SOCKET_BUFFER_MIN (64 * 1024)
#define SOCKET_BUFFER_MAX (64 * 1024 * 1024)

/* DTLS 1.2 with AEAD ciphers and ECDHE only. */
#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-DTLS1.2:" GTLS_AEAD_ECDHE_ONLY

/* A rekey's binding record: "cvrk", version 1, 'c' or 's' (who sends
 * it), and 32 bytes exported from the old session with the new one's
 * own export as context (dtls_rekey.c). */
#define DTLS_BIND_LEN 38

/*
 * Rekeying (dtls_rekey.c). A link renews its keys with a whole new DTLS
 * session, made beside the old one by a successor link and then moved
 * into this link; the old session is still read for a while.
 */
struct dtls_rekey {
	/* Up: the next rekey by time (client), the old keys' end, keys
	 * worn out by volume. NULL before the link is up. */
	struct cv_timer *timer;
	gnutls_session_t old;		/* the keys before the switch */
	int64_t old_until;		/* monotonic ms: old is dropped then */
	int64_t next_at;		/* client: keys due by time */
	int64_t not_before;		/* client: the next rekey's earliest */
	uint64_t tx_bytes, tx_records;	/* under the current keys */
	uint64_t rx_bytes, rx_records;
	bool worn;			/* by volume: the timer is armed */
	/* Until bind_until, the peer's binding record may come again
	 * (dropped; a server answers once more with ours). */
	uint8_t peer_bind[DTLS_BIND_LEN], own_bind[DTLS_BIND_LEN];
	int64_t bind_until;		/* monotonic ms; 0 once past */

	/* In the successor that makes the new session: */
	bool marked;			/* its ClientHello says "rekey" */
	bool done;			/* handshake over; awaits the binding */
};

/* Which records GnuTLS accepted, to tell a replay from a forgery when it
 * drops one (it says only that it dropped). Sequence numbers are the
 * record header's 64 bits, epoch included. */
struct seen_window {
	uint64_t top;
	uint64_t bits;		/* bit i: top - i was accepted */
	bool valid;
};

/* A link's state is g.state; a client's link is in GLINK_START while the
 * loop is to try the next address of 'remote'. */
struct cv_link {
	struct glink g;				/* first: see gnutls_link.h */
	struct cv_instance *inst;
	/* Server: in the table by address, and once up by IP alone
	 * (roaming). */
	struct peer_node by_addr, by_ip;
	/* Server: a client at this address that began a new handshake while
	 * this link is up (it restarted). The successor replaces this link
	 * when its handshake is done; until then this one carries data. */
	struct cv_link *successor, *predecessor;

	int64_t deadline;		/* handshake: monotonic ms */
	/* What the handshake's datagrams would make GnuTLS hold. */
	struct dtls_hs_limit hs_limit;
	/* The address datagrams come from and go to, as the socket has it
	 * (an IPv4 peer of a [::] socket is ::ffff:a.b.c.d here, a.b.c.d in
	 * g.peer, as the core and the log see it). */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	size_t data_mtu;		/* up: the most one record carries */

	/* The datagram GnuTLS's pull function reads next, or NULL. */
	const uint8_t *cur;
	size_t cur_len;

	/* Drops, for the log (dtls_drops.c). */
	struct seen_window seen;
	uint64_t replays, forged, oversize;
	unsigned int replays_unlogged, forged_unlogged, oversize_unlogged;
	/* In the instance's to_report while a drop is unlogged. */
	struct cv_link *report_next, **report_prev;

	/* Client: how this address of 'remote' is going. */
	bool heard;			/* a datagram came back from the server */
	bool refused;			/* ICMP port unreachable came back */
	/* Client: what a stateless reset of this session ends with. */
	bool has_reset_token;
	uint8_t reset_token[CV_RESET_TOKEN_LEN];

	struct dtls_rekey rk;
};

struct cv_instance {
	struct glinks gl;		/* the GnuTLS setup, every link */
	unsigned int path_mtu;
	int socket_buffer;		/* [dtls] socket-buffer, bytes */
	int fd;
	/* Keyed hashes: strangers cannot pick collisions. */
	uint64_t seed;
	gnutls_datum_t cookie_key;

	struct cv_link *client;		/* client: the one link */
	/* Server: links by address, and up links by IP only (roaming). */
	struct peer_table by_addr, by_ip;

	/* Keys used this much are renewed (a server, which cannot start a
	 * rekey, ends the link at twice the limits): gl.rekey, or twice. */
	uint64_t worn_bytes, worn_records;
	/* Counts for the debug log, the timer that reports drops, and the
	 * links it has to report on (not every link: a pass looks only
	 * at those, however many links there are). */
	struct cv_timer *report_timer;
	bool report_armed;
	struct cv_link *to_report;
	uint64_t replays, forged, stale, oversize, strays, cookies_sent, roams;
	uint64_t resets_sent;
	/* And for stats(): what strangers sent that was dropped unread. */
	uint64_t junk, bad_cookie, truncated_record, oversized_record;
	/* Records read under keys a rekey had replaced (dtls_rekey.c). */
	uint64_t old_key_records;
	int64_t roam_second;
	unsigned int roam_trials;

	/* Receiving: one batch of datagrams, then the run of messages of one
	 * link that the next deliver() takes, decrypted into the arena. */
	struct dgram_rx rx;
	struct cv_link *run;
	struct cv_msg msgs[DELIVER_MAX];
	unsigned int n_msgs;
	uint8_t *arena;
	size_t arena_used;

	/* Sending: inside send(), records collect here for one sendmmsg. */
	bool tx_batching;
	unsigned int tx_n;
	size_t tx_slot;			/* bytes per slot: the path MTU */
	struct mmsghdr tx[DGRAM_BATCH];
	struct iovec tx_iov[DGRAM_BATCH];
	uint8_t *tx_buf;		/* DGRAM_BATCH * tx_slot */
	/* Runs of records of one size leave as one UDP_SEGMENT send. */
	struct mmsghdr tx_gso[DGRAM_BATCH];
	unsigned int tx_gso_run[DGRAM_BATCH];
	uint8_t tx_gso_ctrl[DGRAM_BATCH][DGRAM_GSO_CTRL];
	bool no_gso;			/* UDP_SEGMENT refused: one by one */
};

#define LOG(inst, prio, ...) \
	(inst)->gl.api->log((inst)->gl.host, prio, __VA_ARGS__)
#define PEER_LOG(inst, prio, ...) GLINK_PEER_LOG(&(inst)->gl, prio, __VA_ARGS__)

/* ---- dtls_server.c: the server's one socket */

/* The table's listen(). */
int dtls_server_listen(struct cv_instance *inst);

/* ---- dtls_client.c: the client's socket */

/* The table's connect(). */
int dtls_client_connect(struct cv_instance *inst);

/* ---- dtls_link.c: one DTLS session */

extern const struct glink_ops dtls_link_ops;

/* A link on the instance's list; its timer calls on_timer, which is
 * link_on_timer or a role's handler that passes the link's own states
 * on to it. */
struct cv_link *link_new(struct cv_instance *inst, cv_timer_cb *on_timer);
/* Where datagrams come from and go to (addr), and the peer as the core
 * sees it (g.peer, g.peer_name). */
void link_set_peer(struct cv_link *link, const struct sockaddr *sa,
		   socklen_t len);
/* A GnuTLS session over the instance's socket, in GLINK_HANDSHAKE, with
 * its deadline. */
int link_start_tls(struct cv_link *link);
/* Go on with the handshake: with link->cur set when a datagram came,
 * without when a timer fired (GnuTLS retransmits when it is time). */
void link_handshake_step(struct cv_link *link);
/* The link's timer in GLINK_HANDSHAKE (retransmission, deadline). */
void link_on_timer(void *arg);
/* Client: this address failed (err, why): the session and socket go,
 * and the link's timer, in GLINK_START, tries the next. */
void link_address_failed(struct cv_link *link, int err, const char *why);
/* Client: ICMP port unreachable came back before any answer. */
void link_port_unreachable(struct cv_link *link);

/* The next record of the datagram GnuTLS session s is reading, or of
 * what it still holds, decrypted to the arena's end: its length, or 0 or
 * a GnuTLS error, or GNUTLS_E_AGAIN when nothing is left; seq: its
 * sequence number. */
ssize_t session_recv_record(struct cv_instance *inst, gnutls_session_t s,
			    uint8_t seq[8]);
/* The same on the link's session. */
ssize_t link_recv_record(struct cv_link *link, uint8_t seq[8]);
/* That record joins the link's run: marked seen (link_take_record), or
 * not (run_add: a record of the old keys). False when the link is gone. */
bool link_take_record(struct cv_link *link, size_t len, const uint8_t seq[8]);
bool run_add(struct cv_link *link, size_t len);
/* An up link's datagram (or, with dgram NULL, what GnuTLS still holds)
 * decrypted into its run. False when the link is gone. */
bool link_read(struct cv_link *link, const uint8_t *dgram, size_t len);
/* The same on the link's session alone (link_read, while no rekey is
 * under way or just over). */
bool link_read_keys(struct cv_link *link, const uint8_t *dgram, size_t len);
/* The link's session ended reading with ret (0 or fatal): the run goes
 * up, then the link is lost, saying why. Returns false. */
bool link_read_ended(struct cv_link *link, ssize_t ret);
/* Hand the run to the core. False when its link is gone now. */
bool run_flush(struct cv_instance *inst);

/* ---- dtls_rekey.c: new keys for an up link */

/* A new GnuTLS session for link: the "rekey" mark in its ClientHello
 * (a client's successor), or the ear for it (a server). */
int dtls_rekey_session_init(struct cv_link *link);
/* The link is up: its rekey timer; a client counts rekey-interval. */
void dtls_rekey_up(struct cv_link *link);
/* The link is freed: its old session and timer. */
void dtls_rekey_link_free(struct cv_link *link);
/* The link's keys are worn (worn_bytes, worn_records): a client renews
 * them, a server ends the link; from the loop. */
void dtls_rekey_worn(struct cv_link *link);
/* Whether datagrams of link may be another session's than its own. */
static inline bool dtls_rekey_reading(const struct cv_link *link)
{
	return link->rk.old || link->rk.bind_until ||
	       (link->successor && link->successor->rk.done);
}
/* link_read while dtls_rekey_reading(): each session in turn. */
bool dtls_rekey_read(struct cv_link *link, const uint8_t *dgram, size_t len);
/* Client: whether the datagram is for link's successor's handshake. */
bool dtls_rekey_for_successor(const struct cv_link *link, const uint8_t *d,
			      size_t len);
/* A marked successor's handshake is over: now the binding. */
void dtls_rekey_handshake_done(struct cv_link *succ);
/* A successor whose handshake is over: a datagram (succ->cur) or its
 * timer (binding sent again, or given up). */
void dtls_rekey_step(struct cv_link *succ);
/* Client: the successor failed (why); the old keys stay, and the link
 * tries again later. succ is freed. */
void dtls_rekey_failed(struct cv_link *succ, const char *why);

/* ---- dtls_send.c: GnuTLS's push side, and send() */

/* GnuTLS's push function: one datagram to the link's peer, or into the
 * batch while send() runs. */
ssize_t dtls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len);
/* The table's send(). */
int dtls_send(struct cv_instance *inst, struct cv_link *link,
	      const struct cv_msg *msgs, unsigned int count);

/* ---- dtls_drops.c: records GnuTLS dropped, and messages too large */

/* The report timer. Returns 0 or -ENOMEM; deinit also when it failed. */
int dtls_drops_init(struct cv_instance *inst);
void dtls_drops_deinit(struct cv_instance *inst);

uint64_t dtls_be64(const uint8_t *p);
/* A record with sequence number seq was accepted. */
void dtls_seen_mark(struct seen_window *w, uint64_t seq);
/* After the handshake: every record before next_seq counts as seen. */
void dtls_seen_start(struct seen_window *w, const uint8_t next_seq[8]);
/* Whether seq is newer than every record accepted so far. */
bool dtls_seen_newer(const struct seen_window *w, const uint8_t seq[8]);

enum drop_kind { DROP_REPLAY, DROP_STALE, DROP_FORGED };
/* What it means if GnuTLS drops records of this datagram (asked before
 * GnuTLS sees it). */
enum drop_kind dtls_drop_kind(const struct cv_link *link, const uint8_t *d,
			      size_t len);
/* GnuTLS dropped records since it said before (its discarded count):
 * count them as kind, and report them. */
void dtls_account_drops(struct cv_link *link, unsigned int before,
			enum drop_kind kind);
/* send() dropped n messages larger than one record carries. */
void dtls_count_oversize(struct cv_link *link, unsigned int n);
/* The link ends: one debug line with what it dropped over its life. */
void dtls_drops_link_end(struct cv_link *link);

/* A record of len bytes under the link's current keys, sent (tx) or
 * received: renewed once they carried worn_bytes or worn_records. */
static inline void dtls_rekey_count(struct cv_link *link, uint64_t *bytes,
				    uint64_t *records, size_t len,
				    unsigned int n)
{
	const struct cv_instance *inst = link->inst;

	*bytes += len;
	*records += n;
	if ((*bytes >= inst->worn_bytes || *records >= inst->worn_records) &&
	    !link->rk.worn)
		dtls_rekey_worn(link);
}

/* ---- dtls_reset.c: stateless resets */

/* A reset: a record header and the token at least, 64 bytes at most. */
#define DTLS_RESET_MIN (REC_HDR + CV_RESET_TOKEN_LEN)
#define DTLS_RESET_MAX 64

/* A reset for a datagram of trigger_len bytes, into out (room for
 * DTLS_RESET_MAX): its length, shorter than trigger_len, or 0 when
 * trigger_len is too short to answer so. */
size_t dtls_reset_build(uint8_t *out, size_t trigger_len,
			const uint8_t token[CV_RESET_TOKEN_LEN]);
/* Whether the len bytes at d are a reset that ends with token. */
bool dtls_reset_matches(const uint8_t *d, size_t len,
			const uint8_t token[CV_RESET_TOKEN_LEN]);
/* Server: a record of trigger_len bytes came from to, where no link
 * is: a reset back, if the core gives a token (its rate allows). */
void dtls_reset_send(struct cv_instance *inst, size_t trigger_len,
		     const struct sockaddr_storage *to, socklen_t to_len);
/* The table's set_reset_token. */
void dtls_set_reset_token(struct cv_instance *inst, struct cv_link *link,
			  const uint8_t token[CV_RESET_TOKEN_LEN]);
/* Client: a datagram on the up link that is its reset ends the link
 * (link_down with -ESTALE) and returns true. */
bool dtls_reset_received(struct cv_link *link, const uint8_t *d, size_t len);

#endif /* CULVERT_DTLS_H */
