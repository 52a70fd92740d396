/*
 * tls.h - what the two halves of the tls transport share: tls.c (the
 * instance: config, listening and accepting, connecting, the exported
 * table) and tls_link.c (one connection: framing, reading and delivering,
 * the send buffer, the handshake, closing). Private to plugins/tls/.
 */
#ifndef CULVERT_TLS_H
#define CULVERT_TLS_H

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include <culvert/transport.h>

#include "../common/gnutls_common.h"
#include "../common/plugin_util.h"
#include "tls_frame.h"

#define FRAME_HDR TLS_FRAME_HDR
#define MSG_MAX TLS_FRAME_MAX	/* the most a 2-byte length frames */
/* Read per round: four full records. */
#define RX_READ (64 * 1024)
/* A frame the previous round ended inside (at most
 * TLS_FRAME_PARTIAL_MAX bytes), then one round's reading after it. */
#define RX_SIZE (FRAME_HDR + MSG_MAX + RX_READ)
#define DELIVER_BATCH 256		/* messages per deliver() */

enum link_state {
	LINK_CONNECTING,	/* client: TCP connect under way */
	LINK_HANDSHAKE,
	LINK_UP,		/* the core has it */
	LINK_FAILED,		/* client: failed inside connect(); reported by timer */
};

struct cv_link {
	struct cv_instance *inst;
	struct cv_link *prev, *next;
	/* Server: the queue of handshakes under way, oldest first. */
	struct cv_link *hs_prev, *hs_next;
	enum link_state state;
	int fd;
	uint32_t events;		/* what the loop watches for now */
	gnutls_session_t tls;
	struct cv_session *session;
	/* Handshake deadline; once up, "read on" after a long burst. */
	struct cv_timer *timer;
	struct cv_timer *rekey_timer;	/* up: the next TLS 1.3 key update */
	unsigned int rekeys;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_name[INET6_ADDRSTRLEN + 8];

	/* The start of a frame that the last read ended inside. */
	uint8_t *carry;
	size_t carry_len;
	/* Framed messages the socket has not taken yet. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;

	/* Re-entrancy: inside deliver() or link_up() the core may close()
	 * this very link. While upcalls > 0, close() only sets `closed`; the
	 * code that made the upcall frees the link when it returns. */
	unsigned int upcalls;
	bool closed;
	bool got_data;			/* application data has arrived */
	/* A reload found that the peer's certificate no longer passes: why,
	 * for the link_down() that the recheck timer makes, and its
	 * gtls_recheck() error. */
	struct gtls_doom doom;
	bool heard;			/* server: the peer sent a byte */

	/* Client: the addresses of 'remote', and the last failure. */
	struct addrinfo *addrs, *next_addr;
	unsigned int tries;
	int fail_err;
	char fail_why[400];
};

/* What the instance counted, for the table's stats(): chiefly what it
 * dropped before the core could see it. One list, so the names shown by
 * culvertctl status cannot drift from the fields. */
#define TLS_STATS(X) \
	X(handshakes) X(handshake_failed) X(handshake_timeout) \
	X(junk) X(truncated_record) X(oversized_record) X(closed_early) \
	X(evicted) X(zero_length_frame) X(accept_paused)

struct tls_stats {
#define TLS_STATS_FIELD(name) uint64_t name;
	TLS_STATS(TLS_STATS_FIELD)
#undef TLS_STATS_FIELD
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	struct gtls tls;
	bool server;
	unsigned int handshake_timeout;	/* seconds */
	unsigned int rekey_interval;	/* seconds */
	unsigned int max_handshakes;
	int listen_fd;
	struct cv_timer *accept_timer;	/* re-watches the listener after EMFILE */
	struct cv_timer *recheck_timer;	/* ends the links a reload doomed */
	struct cv_link *links;
	/* Server links still in their handshake, oldest first. */
	struct cv_link *hs_oldest, *hs_newest;
	unsigned int n_handshaking;

	struct peer_log peer_log;	/* about refused strangers */
	struct tls_stats stats;

	struct cv_msg msgs[DELIVER_BATCH];
	uint8_t rx[RX_SIZE];
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)

/* ---- tls.c: the instance, its links, accepting and connecting */



#define PEER_LOG(inst, prio, ...) \
	do { \
		if (peer_log_allowed(&(inst)->peer_log, (inst)->api,     \
				     (inst)->host, "refused connections")) \
			LOG(inst, prio, __VA_ARGS__); \
	} while (0)

/* A link on the instance's list, with its timer, and no socket yet. */
struct cv_link *link_new(struct cv_instance *inst);
/* Free at once, without a word to the peer or the core. */
void link_free(struct cv_link *link);

/* The queue of server handshakes under way, for max-handshakes. */
void handshake_queue_enter(struct cv_link *link);
void handshake_queue_leave(struct cv_link *link);

/* Client: the TCP connect finished (or failed), or took too long. */
void client_connected(struct cv_link *link);
void client_timed_out(struct cv_link *link);

/* ---- tls_link.c: one link's I/O, handshake and closing */

/* The link's timer: the handshake deadline, or "read on". */
void link_on_timer(void *arg);
/* The rekey timer: fresh keys both ways (TLS 1.3 KeyUpdate). */
void link_on_rekey(void *arg);
/* What the loop watches the link's socket for now (CV_EV_*). */
void link_set_events(struct cv_link *link, uint32_t events);
/* A GnuTLS session on link->fd, in LINK_HANDSHAKE, its deadline armed. */
int link_start_tls(struct cv_link *link);
/* Take the handshake as far as the socket allows. */
void link_handshake_step(struct cv_link *link);
/* A client's connect() failed before any link came up: free, then tell
 * the core. */
void link_client_fail(struct cv_link *link, int err, const char *why);
/* The table's send() and close(). */
int link_send(struct cv_link *link, const struct cv_msg *msgs,
	      unsigned int count);
void link_close(struct cv_link *link);
/* Flush what the socket takes, send close_notify, free. */
void link_close_now(struct cv_link *link);
/* The peer or the network ended an up link: free, then tell the core. */
void link_lost(struct cv_link *link, int err, const char *why);
/* A reload found the peer's certificate no longer passes (err from
 * gtls_recheck): an alert that says so, then link_lost(). */
void link_refuse(struct cv_link *link, int err, const char *why);

#endif /* CULVERT_TLS_H */
