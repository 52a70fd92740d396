/*
 * One peer: the state machine of the control protocol over one link
 * (hello, welcome or refuse, keepalive, bye), its inner address, and its
 * timers. On the server a session exists per link; on the client there is
 * at most one. Its owner (the server, or the client's connection) creates
 * it and hears of its turns through callbacks: session_owner.h.
 */
#ifndef CULVERT_SESSION_H
#define CULVERT_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <culvert/transport.h>

#include "addr.h"
#include "pending.h"
#include "proto.h"
#include "tunnel_routes.h"

struct core;
struct session_ops;
struct loop_timer;
struct auth_job;
struct hook;
struct dns_state;
struct path_mtu;
struct radius_session;
struct mac_port;

/* What a session may do beyond its inner addresses. On a server, its
 * client's policy (server/policy.h) merged for this session; on a
 * client, the networks behind it that its welcome named. Owned by the
 * session, one allocation; NULL when there is nothing to say. */
struct session_policy {
	/* Server: static inner addresses (family 0: leased from the pool);
	 * leased: one a RADIUS reply gave, taken from the pool by address
	 * for this session, not reserved there like a client file's. */
	struct cv_addr addr4, addr6;
	bool addr4_leased, addr6_leased;
	char *group;			/* server: its group, or NULL */
	bool restrict_to_routes;	/* server: only where routes lead */
	unsigned int n_routes;		/* server: the routes pushed to it */
	unsigned int n_networks;	/* the networks behind it */
	struct cv_prefix *routes;	/* both point into prefixes[] */
	struct cv_prefix *networks;
	struct cv_prefix prefixes[];
};

enum session_state {
	SESSION_HELLO,	/* server: waiting for hello; client: for welcome */
	SESSION_UP,	/* addresses assigned, data flows */
};

/* Why a session ended, as far as accounting tells causes apart (RADIUS's
 * Acct-Terminate-Cause, radius_session.c). Set where it ends; the
 * default is the server's own decision (a reload, a newer session of
 * the same client, an error). */
enum session_end_cause {
	SESSION_END_SERVER = 0,
	SESSION_END_PEER,	/* the peer said bye */
	SESSION_END_LOST,	/* its link lost, or no sign of life */
	SESSION_END_KICKED,	/* culvertctl kick */
	SESSION_END_IDLE,	/* Idle-Timeout */
	SESSION_END_TIMEOUT,	/* Session-Timeout */
};

struct cv_session {
	struct core *core;
	/* Its owner, the server or the client's connection, and what the
	 * owner does at the turns of the session's life (session_owner.h). */
	const struct session_ops *ops;
	void *owner;
	struct cv_host *transport;
	struct cv_link *link;
	/* The event loop of its link (shard.h): 0, the main thread's,
	 * unless the gateway runs several. Its packets go through that
	 * loop; its control, through loop 0. */
	unsigned int loop;
	/* Set by loop 0 when it ends the session: another loop's data
	 * path then stops carrying its packets. */
	_Atomic bool closed;
	/* Its loop's: the plugin lost its link, or was told to close it. */
	bool link_gone;
	struct cv_session *prev, *next;	/* core->sessions */
	/* core's sessions by identity (identity_index.c) */
	struct cv_session *id_next, **id_pprev;
	uint32_t id_hash;
	bool id_missed;
	uint64_t id;			/* unique in this run, from 1: status, logs (SESSION=) */

	enum session_state state;
	char peer[ADDR_STRLEN];		/* outer address, for logs */
	struct sockaddr_storage peer_addr; /* and for the login throttle */
	char *identity;			/* what the handshake proved, or NULL */
	char *login;			/* server: user whose password is checked */
	struct auth_job *auth_job;	/* server: that check, until it answers */
	bool login_radius;		/* server: auth_job asks RADIUS */
	struct sockaddr_storage login_from; /* server: peer_addr at the check */
	struct hook *connect_hook;	/* server: client-connect-script */
	struct pending_place pending;	/* server: a place until hello */
	bool gave_way;			/* server: ended for a newer link */
	uint32_t nonce;
	bool hello_seen;		/* server: the peer said hello */
	/* Client: what a stateless reset of this session ends with, from
	 * the welcome; and whether one ended it. */
	bool has_reset_token;
	uint8_t reset_token[PROTO_RESET_TOKEN_LEN];
	bool reset;
	uint8_t bye_reason;		/* the peer's bye, when it said one */
	/* Client: the first "are you there?" probe not answered yet (0:
	 * none), and the last one sent (session_probe). */
	int64_t probe_at, probe_sent_at;
	size_t max_msg;			/* 0: no limit */
	/* Datagram transports: what probing found the path carries now,
	 * below max_msg (0: max_msg holds); the search itself. */
	size_t path_max;
	struct path_mtu *pmtu;
	bool probes_answered;		/* the peer answers PROTO_PROBE */
	bool takes_move;		/* server: the client takes PROTO_MOVE */
	int64_t move_sent_at;		/* server, drained: its first MOVE */
	unsigned int mtu;		/* the tunnel MTU of the welcome */
	bool data_gso;			/* both sides take PROTO_DATA_GSO */
	bool data_partial;		/* and PROTO_DATA_PARTIAL */
	bool data_uso;			/* and PROTO_DATA_GSO of UDP too */

	bool has_inner;
	struct cv_addr inner;		/* the peer's inner address (server) */
	struct cv_addr previous4;	/* server: what the client had before */
	bool has_inner6;		/* server, with pool6: its IPv6 too */
	struct cv_addr inner6;
	struct cv_addr previous6;
	struct session_policy *policy;	/* NULL: none */
	bool announced;			/* server: in announce-table */
	/* Server, device-type = tap: the MAC addresses it owns and its
	 * flood budget (mac_table.h), from its first frame; NULL before. */
	struct mac_port *macs;
	/* Server: where its group may come from besides its client file:
	 * the password file (it logged in by password) or its certificate's
	 * OU (cert-group = ou), as the transport reported it. */
	bool password_login;
	char *cert_group;
	/* Server: what RADIUS said of its login, its accounting; NULL when
	 * it did not log in through RADIUS. */
	struct radius_session *radius;
	/* End it at the next turn of the loop (session_end_soon). */
	const char *end_why;
	uint8_t end_reason;
	enum session_end_cause end_cause;

	int64_t started, last_rx, last_tx;	/* loop_now() milliseconds */
	time_t connected_at;			/* wall clock, for status */
	uint64_t rx_packets, rx_bytes;		/* inner packets from the peer */
	uint64_t tx_packets, tx_bytes;		/* and to it */
	struct loop_timer *timer;
	unsigned int retransmit_ms;	/* client: hello back-off */
	unsigned int keepalive_ms, timeout_ms;

	/* Client: what ended it, so that the connection knows whether
	 * trying again can help: the server's REFUSE reason (-1: none),
	 * the error the transport reported losing the link (0: none). */
	int refused_reason;
	int link_err;

	/* Client: what was installed, so that exactly that is removed. */
	bool addr_installed;
	struct cv_prefix addr;
	bool addr6_installed;
	struct cv_prefix addr6;
	/* routes, rules, block-ipv6; NULL until installed: 4 KiB that a
	 * server's 100,000 sessions never use. */
	struct tunnel_routes *tunnel;
	struct dns_state *dns;		/* pushed DNS, or NULL */
};

/* A control message from the peer (type byte first). Returns false when
 * the message ended the session, which is then freed. */
bool session_control(struct cv_session *s, const uint8_t *msg, size_t len);

/* Send messages on the session's link and account for them. Returns the
 * plugin's answer; on a negative one the caller ends the session. */
int session_send(struct cv_session *s, const struct cv_msg *msgs,
		 unsigned int count);

/* End the session: tell the peer (bye with reason) unless the link is
 * already gone, close the link, give back the address, free it. */
void session_end(struct cv_session *s, uint8_t reason, const char *why);
/* End the session from the loop's next turn, not from inside the call
 * under way: for a session that another one replaces while a transport's
 * upcall runs, which must not close a link of that transport. why must
 * be a string that lives on (a literal). */
void session_end_soon(struct cv_session *s, uint8_t reason, const char *why);
/* The plugin reports the link lost; the session ends without a bye. */
void session_link_lost(struct cv_session *s, int err, const char *why);
/* The transport saw the peer come from another outer address. */
void session_moved(struct cv_session *s, const struct sockaddr *sa,
		   socklen_t len);

/* A server's session over an unreliable transport that has not said
 * hello gets msg, a message only a peer with a session sends: the
 * server lost that session (it restarted), and says so with a
 * stateless reset where it may. Returns true when s ended (it is freed
 * then); false, at once, for every other session and message. */
bool session_stray(struct cv_session *s, const uint8_t *msg, size_t len);
/* Client: ask the server whether it is there (a small PROTO_PROBE,
 * which it answers with a PROTO_PROBE_ACK), when it said it answers
 * them (s->probes_answered); s->probe_at says since when the question
 * stands. Returns the send's result. */
int session_probe(struct cv_session *s);
/* The plugin's sign that the peer may be gone (ICMP port unreachable):
 * the owner hears of it; the session stays. */
void session_suspect(struct cv_session *s, const char *why);
/* The transport proved the peer's group (its certificate's OU). */
void session_group_proved(struct cv_session *s, const char *group);

/* A message from s that was dropped as malformed: counted, and logged
 * once a second at most. */
void session_malformed(struct cv_session *s, const char *why);

/* The largest message s's link carries now (0: no limit): max_msg, or
 * less when probing found the path carries less. */
static inline size_t session_max_msg(const struct cv_session *s)
{
	return s->path_max ? s->path_max : s->max_msg;
}

/* For logs: the identity, or the outer address. */
const char *session_name(const struct cv_session *s);
/* A line about s, carrying its fields for the journal (struct
 * log_fields): its number, its user, its outer address, its transport. */
void session_log(const struct cv_session *s, int priority, const char *fmt,
		 ...) __attribute__((format(printf, 3, 4)));

#endif
