/*
 * gnutls_link.h - what a link of the tls transport and a link of the
 * dtls transport have in common, and the code that runs it the same way
 * in both.
 *
 * A plugin's struct cv_link begins with a struct glink (its first
 * member, so that the core's struct cv_link * and the glink * are one
 * address), and its instance holds one struct glinks: the GnuTLS setup
 * (struct gtls, gnutls_common.h) and every link. Here:
 *
 *   - the links of an instance, each with its timer, its GnuTLS session,
 *     and its peer as the core and the log see it;
 *   - a server's queue of handshakes under way (max-handshakes): when it
 *     is full the oldest gives way to the newcomer;
 *   - the upcall guard: inside deliver() or link_up() the core may
 *     close() the very link that made the call, so close() then only
 *     marks it, and whoever made the upcall frees it afterwards;
 *   - how a link ends: lost (the core hears why, with the session),
 *     refused after a reload, or a client's connect() that failed;
 *   - reload: new credentials, every live peer checked again, and those
 *     that fail ended from a timer (never from inside reload());
 *   - the handshake: GnuTLS's steps, a failure explained and told to the
 *     peer, the verdict on one that finished (a reload since it began, a
 *     certificate that names nobody), and link_up().
 *
 * The plugin keeps its sockets, GnuTLS's transport, its records and
 * framing, its counters, and its roles (listener, client). It lends two
 * functions (struct glink_ops), which run only when a link ends, never
 * per message; the per-message helpers here are inline.
 */
#ifndef CULVERT_GNUTLS_LINK_H
#define CULVERT_GNUTLS_LINK_H

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>

#include <culvert/transport.h>

#include "gnutls_common.h"
#include "hs_queue.h"
#include "plugin_util.h"

/* Addresses of 'remote' a client tries per connect(). */
#define GLINK_CONNECT_TRIES 8

/*
 * The most an unfinished handshake may make this side hold of what the
 * peer sent: a real one, certificate chain included, needs a few KiB.
 * GnuTLS gathers a handshake message whole before it checks its size
 * (gnutls_handshake_set_max_packet_length bounds only the reassembled
 * transcript), and believes the length the message announces: a peer
 * that announces 16 MiB and keeps sending would have it held. So the
 * plugins count what they hand GnuTLS (tls: bytes read that have not
 * come out as application data; dtls: the lengths the handshake
 * fragments announce) and end a handshake that passes this.
 */
#define GLINK_HANDSHAKE_MAX (64 * 1024)

enum glink_state {
	GLINK_START,		/* client, before the handshake (tls: TCP
				 * connect under way; dtls: the loop tries
				 * the next address) */
	GLINK_HANDSHAKE,
	GLINK_UP,		/* the core has it */
	GLINK_FAILED,		/* client: failed inside connect(); the
				 * loop reports it */
};

struct glinks;

struct glink {
	struct glinks *set;
	struct glink *prev, *next;	/* every link of the instance */
	struct hs_entry hs;		/* server: handshakes under way */
	int64_t hs_since;		/* when it joined them */
	enum glink_state state;
	gnutls_session_t tls;
	struct cv_session *session;	/* up: the core's */
	/* The handshake's deadline (and what else the plugin uses it
	 * for); its callback is the plugin's. */
	struct cv_timer *timer;
	/* The peer as the core and the log see it: an IPv4 peer of a [::]
	 * socket as the IPv4 address it is. */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	char peer_name[INET6_ADDRSTRLEN + 8];

	/* The upcall guard: while upcalls > 0, close() only sets closed. */
	unsigned int upcalls;
	bool closed;
	/* A reload found that the peer's certificate no longer passes: why,
	 * for the link_down() that the recheck timer makes. */
	struct gtls_doom doom;
	/* Up: what describe() tells of it. Wall-clock seconds. */
	int64_t peer_expires;		/* 0: the peer showed no certificate */
	int64_t keys_made;		/* the handshake, or the last KeyUpdate */
	uint32_t rekeys;

	/* Client: the addresses of 'remote', and the last failure. */
	struct addrinfo *addrs, *next_addr;
	unsigned int tries;
	int fail_err;
	char fail_why[400];
};

struct glink_ops {
	/* Free the plugin's link at once, without a word to the peer or
	 * the core: its own part, then glink_release(). */
	void (*free)(struct glink *l);
	/* Hand the socket what the link has queued: true when no record is
	 * left half sent, so that an alert or a close_notify may follow.
	 * NULL: there is never one (a datagram leaves whole or not). */
	bool (*drain)(struct glink *l);
};

/* What every GnuTLS transport counts, for its stats(). */
struct glink_counts {
	uint64_t handshakes, handshake_failed, handshake_timeout, evicted;
	uint64_t turned_away;	/* max-handshakes full of young ones */
	uint64_t handshake_too_large;	/* GLINK_HANDSHAKE_MAX passed */
	uint64_t rekeys;		/* keys renewed on a live link */
};

/*
 * When a link's keys are renewed: rekey-interval (the client asks),
 * rekey-bytes and rekey-records, whichever comes first. The defaults
 * stay well inside what RFC 8446 5.5 allows one AES-GCM key (2^24.5
 * full-size records, about 380 GB): 2^24 records, 64 GiB.
 */
struct glink_rekey {
	unsigned int interval;		/* seconds */
	uint64_t bytes, records;
};

struct glinks {
	struct gtls tls;
	const struct cv_host_api *api;
	struct cv_host *host;
	const struct glink_ops *ops;
	bool server;
	unsigned int handshake_timeout;	/* seconds */
	unsigned int max_handshakes;
	struct glink_rekey rekey;
	struct glink *all;
	struct hs_queue handshakes;	/* server, oldest first */
	struct cv_timer *recheck_timer;	/* ends the links a reload doomed */
	struct peer_log peer_log;	/* about strangers */
	const char *peer_log_what;	/* "N more WHAT were not logged" */
	struct glink_counts counts;
};

/* A line about a peer, within the instance's rate limit. */
#define GLINK_PEER_LOG(set, prio, ...) \
	PEER_LOG_TO(&(set)->peer_log, (set)->api, (set)->host, \
		    (set)->peer_log_what, prio, __VA_ARGS__)

/* ---- the instance's part */

/* Whether keys that protected bytes in records are due for renewal. */
static inline bool glinks_keys_worn(const struct glinks *s, uint64_t bytes,
				    uint64_t records)
{
	return bytes >= s->rekey.bytes || records >= s->rekey.records;
}

/*
 * The first half of create(): mode, handshake-timeout, max-handshakes,
 * rekey-interval, rekey-bytes and rekey-records (their errors logged, as
 * a negative errno). peer_log_what names the
 * lines about peers that the rate limit drops.
 */
int glinks_config(struct glinks *s, const struct cv_host_api *api,
		  struct cv_host *host, const struct glink_ops *ops,
		  const char *peer_log_what);
/*
 * The second half: the GnuTLS setup (gtls_init(), a client's
 * server-name defaulting to the host of 'remote'), and the recheck
 * timer. Undone by glinks_deinit() whether it succeeded or not.
 */
int glinks_start(struct glinks *s, const char *default_priority);
/* Every link closed (close_notify where it is up), the timer and the
 * credentials freed. */
void glinks_deinit(struct glinks *s);
/* The table's reload(): new credentials for new sessions (gtls_reload),
 * and every peer up now checked against the new ca and crl; those that
 * fail are ended from the loop, with an alert that says why. */
int glinks_reload(struct glinks *s);
/* "need a certificate signed by 'ca'", or "need no certificate ...",
 * for a server's "listening on ...; clients ..." line. */
const char *glinks_clients_need(const struct glinks *s);

/* ---- one link: life */

/* Put l (zeroed, in the plugin's calloc'd link) on s's list, with a
 * timer that calls on_timer(l). Returns 0 or -ENOMEM. */
int glink_init(struct glink *l, struct glinks *s, cv_timer_cb *on_timer);
/* glink_init() undone, the session and the addresses freed: the last
 * step of the plugin's free. */
void glink_release(struct glink *l);
/* Set the peer (and its name) from an address as a socket has it. */
void glink_set_peer(struct glink *l, const struct sockaddr *sa,
		    socklen_t len);

/* Free at once: ops->free. */
static inline void glink_free(struct glink *l)
{
	l->set->ops->free(l);
}

/* Best effort and never blocking: when up, what the socket takes now
 * and a close_notify, so that the peer tells a clean end from a cut
 * one; then free. */
void glink_close_now(struct glink *l);
/* The table's close(): inside an upcall for this link only marked; the
 * code that made the upcall frees it (glink_upcall_end). */
void glink_close(struct glink *l);

static inline void glink_upcall_begin(struct glink *l)
{
	l->upcalls++;
}

/* After an upcall: false when the core closed the link meanwhile (it is
 * freed here, then). */
static inline bool glink_upcall_end(struct glink *l)
{
	if (--l->upcalls == 0 && l->closed) {
		glink_close_now(l);
		return false;
	}
	return true;
}

/* The messages up to the core, in one deliver(). False when the link is
 * gone now. */
static inline bool glink_deliver(struct glink *l, const struct cv_msg *msgs,
				 unsigned int count)
{
	glink_upcall_begin(l);
	l->set->api->deliver(l->set->host, l->session, msgs, count);
	return glink_upcall_end(l);
}

/* The peer or the network ended an up link: free it, then tell the core
 * why (copied first). Freed first, so that nothing the core does in
 * link_down() can meet it. */
void glink_lost(struct glink *l, int err, const char *why);
/* A reload found the peer's certificate no longer passes (err from
 * gtls_recheck): an alert that says so, then glink_lost(). */
void glink_refuse(struct glink *l, int err, const char *why);
/* A client's connect() failed before any link came up: free, then tell
 * the core (link_down without a session). */
void glink_client_fail(struct glink *l, int err, const char *why);

/* ---- one link: a client's addresses */

/* The next address of 'remote' to try (at most GLINK_CONNECT_TRIES per
 * connect()), or NULL when none is left: fail_err and fail_why then say
 * why the last one failed. */
const struct addrinfo *glink_next_address(struct glink *l);
/* Why this address failed: fail_err and fail_why. */
void glink_failf(struct glink *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, and one line in the log when another address is left to
 * try: for a failure the user would otherwise not see. */
void glink_address_failed(struct glink *l, int err, const char *why);
/* No address is left: glink_client_fail() with fail_err and fail_why. */
void glink_client_give_up(struct glink *l);

/* ---- one link: the handshake */

/* A GnuTLS session for l (gtls_session_new with flags), in
 * GLINK_HANDSHAKE. Logs and returns -ENOMEM on error. */
int glink_session_new(struct glink *l, unsigned int flags);
/* A server's new handshake joins the queue. When it is full, the
 * oldest one is dropped (counted, logged, freed) to make room if it has
 * been under way HS_GRACE_MS or more; if every one is younger, l is
 * turned away instead: returns false, and the caller frees l. */
bool glink_handshake_enter(struct glink *l);
/* gnutls_handshake(), past warning alerts and the like: 0 (done),
 * GNUTLS_E_AGAIN (waiting for the network), or a fatal error. */
int glink_handshake(struct glink *l);

/* Why a handshake failed, for whoever decides what follows. */
struct glink_failure {
	int err;		/* for link_down(), from gtls_handshake_error */
	/* A certificate was refused, by either side: the same at every
	 * address of 'remote'; worth a warning on a server. */
	bool certificate;
	char why[400];
};

/* The handshake failed with ret (fatal): why, into f, and an alert that
 * tells the peer (best effort). The link stays. */
void glink_handshake_failed(struct glink *l, int ret, struct glink_failure *f);
/* Server: a stranger refused at prio, "refused PEER: why" (within the
 * rate limit), and closed. */
void glink_refused(struct glink *l, int prio, const char *why);
/* Server: a handshake that did not finish within handshake-timeout:
 * counted, logged, freed. */
void glink_handshake_timed_out(struct glink *l);
/* The peer made this side hold more than GLINK_HANDSHAKE_MAX of an
 * unfinished handshake; what completes "... than any real handshake
 * needs" ("announced a handshake message of 16384 KiB, more"). Counted
 * and logged; a server's link is freed, an up link lost, and a client
 * that connects fails (-EMSGSIZE): in every case l is gone. */
void glink_handshake_too_large(struct glink *l, const char *what);

/*
 * The handshake is done: the link leaves the queue, its timer stops, it
 * is up, and counted. Then the verdict: a handshake begun before a reload
 * ran on the old ca and crl, and the new ones have the last word; a
 * server that asks for certificates needs one that names somebody
 * (*identity, malloc'd; NULL otherwise). Refused: logged, closed, false.
 * Passed: the line that says so, with extra at its end ("" or more about
 * the link), and true.
 */
bool glink_handshake_done(struct glink *l, char **identity,
			  const char *extra);
/* The table's describe(): protocol, cipher, the peer's certificate's
 * end, the keys' age. */
void glink_describe(const struct glink *l, struct cv_link_desc *desc);

/* link_up() with identity (freed here) and max_msg. False when the link
 * is gone: the core refused it (and said why; closed here) or closed it
 * inside the call. */
bool glink_up(struct glink *l, char *identity, size_t max_msg);

#endif /* CULVERT_GNUTLS_LINK_H */
