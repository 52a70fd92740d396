/*
 * dtls.h - what the files of the dtls transport share: dtls.c (the
 * instance, its table and configuration, the drops and their log lines),
 * dtls_server.c (the one socket, strangers, cookies, roaming),
 * dtls_client.c (the way to the server) and dtls_link.c (one DTLS
 * session: GnuTLS's transport, handshake, records, send, close). Nothing
 * here is seen outside the plugin.
 */
#ifndef CULVERT_DTLS_H
#define CULVERT_DTLS_H

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/dtls.h>

#include <culvert/transport.h>

#include "../common/gnutls_common.h"
#include "../common/plugin_util.h"

/* Datagrams per recvmmsg/sendmmsg: one syscall for a burst. */
#define BATCH 64
/* recvmmsg rounds per wakeup, then the loop serves TUN and the others. */
#define RX_ROUNDS 4
/* The largest UDP datagram; one may hold several DTLS records. */
#define DATAGRAM_MAX 65535
/* The most one DTLS record decrypts to (RFC 6347: 2^14). */
#define RECORD_MAX 16384
/* Decrypted messages waiting for one deliver(); a run of one peer's
 * records goes up when the next datagram is someone else's, or when
 * this fills up. */
#define ARENA_SIZE (512 * 1024)
#define DELIVER_MAX 256
/* gnutls_record_recv() calls per datagram: records may be tiny. */
#define RECORDS_PER_DATAGRAM 64

#define PATH_MTU_DEFAULT 1500
#define PATH_MTU_MIN 576	/* what every IPv4 host must take */
#define PATH_MTU_MAX 65535
#define OVERHEAD_IPV4 28	/* IPv4 + UDP headers */
#define OVERHEAD_IPV6 48	/* IPv6 + UDP headers */
#define DEFAULT_SOCKET_BUFFER (4 << 20)

/* DTLS 1.2 with the server's order of ciphers. */
#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-DTLS1.2:%SERVER_PRECEDENCE"

/* The DTLS record header, and the server's first look at a datagram. */
#include "dtls_classify.h"

/* Roaming: a record from an unknown port is tried against the sessions
 * of the same IP address, at most this many, at most this often. */
#define ROAM_CANDIDATES 8
#define ROAM_TRIALS_PER_SECOND 1024
/* A client tries at most this many addresses of 'remote' per connect(). */
#define CONNECT_TRIES 8
/* Lines a second about strangers and drops: a flood must not fill the log. */
/* A cookie is valid in the slot that made it and the next: 30-60 s. */
#define COOKIE_SLOT_SECS 30

enum link_state {
	LINK_START,		/* client: the loop tries the next address */
	LINK_HANDSHAKE,
	LINK_UP,		/* the core has it */
	LINK_FAILED,		/* client: failed; the loop reports it */
};

/* Which records GnuTLS accepted, to tell a replay from a forgery when it
 * drops one (it says only that it dropped). Sequence numbers are the
 * record header's 64 bits, epoch included. */
struct seen_window {
	uint64_t top;
	uint64_t bits;		/* bit i: top - i was accepted */
	bool valid;
};

struct cv_link {
	struct cv_instance *inst;
	struct cv_link *prev, *next;		/* every link of the instance */
	struct cv_link *hnext;			/* server: by address */
	struct cv_link *ipnext;			/* server, up links: by IP only */
	struct cv_link *hs_prev, *hs_next;	/* server: handshakes, oldest first */
	uint64_t hash, iphash;
	bool hashed, ip_hashed, in_hs_queue;
	/* Server: a client at this address that began a new handshake while
	 * this link is up (it restarted). The successor replaces this link
	 * when its handshake is done; until then this one carries data. */
	struct cv_link *successor, *predecessor;

	enum link_state state;
	gnutls_session_t tls;
	struct cv_session *session;
	struct cv_timer *timer;		/* handshake: retransmission and deadline */
	int64_t deadline;		/* handshake: monotonic ms */
	/* The address datagrams come from and go to, as the socket has it,
	 * and as the core and the log see it (an IPv4 peer of a [::] socket
	 * is ::ffff:a.b.c.d in the first, a.b.c.d in the second). */
	struct sockaddr_storage peer, shown;
	socklen_t peer_len, shown_len;
	char peer_name[INET6_ADDRSTRLEN + 8];
	size_t data_mtu;		/* up: the largest message one record takes */

	/* The datagram GnuTLS's pull function reads next, or NULL. */
	const uint8_t *cur;
	size_t cur_len;

	/* Re-entrancy: inside deliver() or link_up() the core may close()
	 * this very link. While upcalls > 0, close() only sets `closed`; the
	 * code that made the upcall frees the link when it returns. */
	unsigned int upcalls;
	bool closed;
	/* A reload found that the peer's certificate no longer passes: why,
	 * for the link_down() that the recheck timer makes, and its
	 * gtls_recheck() error. */
	struct gtls_doom doom;

	/* Drops, for the log (see report_drops()). */
	struct seen_window seen;
	uint64_t replays, forged, oversize;
	unsigned int replays_unlogged, forged_unlogged, oversize_unlogged;

	/* Client: the addresses of 'remote', and how this one is going. */
	struct addrinfo *addrs, *next_addr;
	unsigned int tries;
	bool heard;			/* a datagram came back from the server */
	bool refused;			/* ICMP port unreachable came back */
	int fail_err;
	char fail_why[400];
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	struct gtls tls;
	bool server;
	unsigned int handshake_timeout;	/* seconds */
	unsigned int max_handshakes;
	unsigned int path_mtu;
	int fd;
	uint64_t seed;			/* keyed hashes: strangers cannot pick collisions */
	gnutls_datum_t cookie_key;

	struct cv_link *links;
	struct cv_link *client;		/* client: the one link */
	/* Server: links by address, and up links by IP only (roaming). */
	struct cv_link **buckets, **ip_buckets;
	size_t n_buckets, n_hashed;
	struct cv_link *hs_oldest, *hs_newest;
	unsigned int n_handshaking;

	/* Counts for the debug log, and the timer that reports drops. */
	struct cv_timer *report_timer;
	bool report_armed;
	struct cv_timer *recheck_timer;	/* ends the links a reload doomed */
	uint64_t replays, forged, stale, oversize, strays, cookies_sent, roams;
	/* And for stats(): what strangers sent that was dropped unread. */
	uint64_t junk, bad_cookie, truncated_record, oversized_record;
	uint64_t handshakes, handshake_failed, handshakes_timed_out, evicted;
	int64_t roam_second;
	unsigned int roam_trials;
	struct peer_log peer_log;	/* about strangers and drops */

	/* Receiving: one batch of datagrams, then the run of messages of one
	 * link that the next deliver() takes, decrypted into the arena. */
	struct mmsghdr rx[BATCH];
	struct iovec rx_iov[BATCH];
	struct sockaddr_storage rx_addr[BATCH];
	uint8_t *rx_buf;		/* BATCH * DATAGRAM_MAX */
	struct cv_link *run;
	struct cv_msg msgs[DELIVER_MAX];
	unsigned int n_msgs;
	uint8_t *arena;
	size_t arena_used;

	/* Sending: inside send(), records collect here for one sendmmsg. */
	bool tx_batching;
	unsigned int tx_n;
	size_t tx_slot;			/* bytes per slot: the path MTU */
	struct mmsghdr tx[BATCH];
	struct iovec tx_iov[BATCH];
	uint8_t *tx_buf;		/* BATCH * tx_slot */
	/* Runs of records of one size leave as one UDP_SEGMENT send. */
	struct mmsghdr tx_gso[BATCH];
	unsigned int tx_gso_run[BATCH];
	uint8_t tx_gso_ctrl[BATCH][CMSG_SPACE(sizeof(uint16_t))];
	bool no_gso;			/* UDP_SEGMENT refused: one by one */
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)


#define PEER_LOG(inst, prio, ...) \
	do { \
		if (peer_log_allowed(&(inst)->peer_log, (inst)->api,     \
				     (inst)->host, "lines about peers")) \
			LOG(inst, prio, __VA_ARGS__); \
	} while (0)

/* dtls.c: the instance, small helpers, drops and their log lines. */
int64_t dtls_now_ms(void);
uint64_t dtls_be64(const uint8_t *p);
void dtls_format_addr(const struct sockaddr *sa, socklen_t len, char *buf,
		      size_t size);
void dtls_seen_mark(struct seen_window *w, uint64_t seq);
enum drop_kind { DROP_REPLAY, DROP_STALE, DROP_FORGED };
enum drop_kind dtls_drop_kind(const struct cv_link *link, const uint8_t *d,
			      size_t len);
void dtls_account_drops(struct cv_link *link, unsigned int before,
			enum drop_kind kind);
void dtls_arm_report(struct cv_instance *inst);

/* dtls_server.c: the one socket, its tables, strangers, roaming. */
int dtls_server_listen(struct cv_instance *inst);
void dtls_hash_insert(struct cv_link *link);
void dtls_hash_remove(struct cv_link *link);
void dtls_ip_insert(struct cv_link *link);
void dtls_ip_remove(struct cv_link *link);
void dtls_handshake_queue_enter(struct cv_link *link);
void dtls_handshake_queue_leave(struct cv_link *link);

/* dtls_client.c: the way to the server. */
int dtls_client_connect(struct cv_instance *inst);
void dtls_client_next(struct cv_link *link);
void dtls_client_refused(struct cv_instance *inst);
void dtls_client_fail(struct cv_link *link, int err, const char *why);
void dtls_client_address_failed(struct cv_link *link, int err,
				const char *why);
void dtls_client_close_socket(struct cv_instance *inst);

/* dtls_link.c: one DTLS session. */
struct cv_link *link_new(struct cv_instance *inst);
void link_set_peer(struct cv_link *link, const struct sockaddr *sa,
		   socklen_t len);
int link_start_tls(struct cv_link *link);
void link_free(struct cv_link *link);
void link_close_now(struct cv_link *link);
void link_lost(struct cv_link *link, int err, const char *why);
/* A reload found the peer's certificate no longer passes (err from
 * gtls_recheck): an alert that says so, then link_lost(). */
void link_refuse(struct cv_link *link, int err, const char *why);
void link_handshake_step(struct cv_link *link);
ssize_t link_recv_record(struct cv_link *link, uint8_t seq[8]);
bool link_read(struct cv_link *link, const uint8_t *dgram, size_t len);
bool link_take_record(struct cv_link *link, size_t len, const uint8_t seq[8]);
bool run_flush(struct cv_instance *inst);
int dtls_link_send(struct cv_instance *inst, struct cv_link *link,
		   const struct cv_msg *msgs, unsigned int count);
void tx_flush(struct cv_instance *inst);

#endif /* CULVERT_DTLS_H */
