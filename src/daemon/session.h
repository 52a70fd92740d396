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
#include "proto.h"
#include "tunnel_routes.h"

struct core;
struct session_ops;
struct loop_timer;
struct auth_job;
struct hook;
struct dns_state;

enum session_state {
	SESSION_HELLO,	/* server: waiting for hello; client: for welcome */
	SESSION_UP,	/* addresses assigned, data flows */
};

struct cv_session {
	struct core *core;
	/* Its owner, the server or the client's connection, and what the
	 * owner does at the turns of the session's life (session_owner.h). */
	const struct session_ops *ops;
	void *owner;
	struct cv_host *transport;
	struct cv_link *link;
	struct cv_session *prev, *next;	/* core->sessions */

	enum session_state state;
	char peer[ADDR_STRLEN];		/* outer address, for logs */
	struct sockaddr_storage peer_addr; /* and for the login throttle */
	char *identity;			/* what the handshake proved, or NULL */
	char *login;			/* server: user whose password is checked */
	struct auth_job *auth_job;	/* server: that check, until it answers */
	struct hook *connect_hook;	/* server: client-connect-script */
	uint32_t nonce;
	bool hello_seen;		/* server: the peer said hello */
	/* Client: what a stateless reset of this session ends with, from
	 * the welcome; and whether one ended it. */
	bool has_reset_token;
	uint8_t reset_token[PROTO_RESET_TOKEN_LEN];
	bool reset;
	uint8_t bye_reason;		/* the peer's bye, when it said one */
	/* Client: the server answers PROTO_PROBE; the first probe not
	 * answered yet (0: none), and the last one sent. */
	bool peer_answers_probes;
	int64_t probe_at, probe_sent_at;
	size_t max_msg;			/* 0: no limit */
	bool data_gso;			/* both sides take PROTO_DATA_GSO */
	bool data_partial;		/* and PROTO_DATA_PARTIAL */

	bool has_inner;
	struct cv_addr inner;		/* the peer's inner address (server) */
	struct cv_addr previous4;	/* server: what the client had before */
	bool has_inner6;		/* server, with pool6: its IPv6 too */
	struct cv_addr inner6;
	struct cv_addr previous6;

	int64_t started, last_rx, last_tx;	/* loop_now() milliseconds */
	time_t connected_at;			/* wall clock, for status */
	uint64_t rx_packets, rx_bytes;		/* inner packets from the peer */
	uint64_t tx_packets, tx_bytes;		/* and to it */
	struct loop_timer *timer;
	unsigned int retransmit_ms;	/* client: hello back-off */
	unsigned int keepalive_ms, timeout_ms;

	/* Client: what was installed, so that exactly that is removed. */
	bool addr_installed;
	struct cv_prefix addr;
	bool addr6_installed;
	struct cv_prefix addr6;
	struct tunnel_routes tunnel;	/* routes, rules, block-ipv6 */
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
/* Client: ask the server whether it is there (a PROTO_PROBE, which it
 * answers), when it said it answers them; s->probe_at says since when
 * the question stands. Returns the send's result. */
int session_probe(struct cv_session *s);
/* The plugin's sign that the peer may be gone (ICMP port unreachable):
 * the owner hears of it; the session stays. */
void session_suspect(struct cv_session *s, const char *why);

/* A message from s that was dropped as malformed: counted, and logged
 * once a second at most. */
void session_malformed(struct cv_session *s, const char *why);

/* For logs: the identity, or the outer address. */
const char *session_name(const struct cv_session *s);

#endif
