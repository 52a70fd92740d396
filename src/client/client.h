/*
 * The client's connection: what culvertd holds when mode = client. One
 * session at a time with the server at 'remote', over the transports in
 * the order of 'transport'. A transport that brings no link up within
 * fallback-timeout gives way to the next; a session lost, or never had,
 * is followed by another after a back-off with jitter; each hello asks
 * for the inner addresses of the last session back; and with the kill
 * switch, what a full tunnel carried stays blocked until the next
 * session takes it over.
 *
 * When the session up is in doubt (nothing heard for two keepalive
 * intervals, ICMP port unreachable from the server), or runs over a
 * later transport than the first for fallback-retry seconds, the client
 * tries a new session beside it, on a spare instance of the transport:
 * welcomed, it takes the old one's place (and addresses); failed, the
 * old one goes on.
 *
 * A refusal that trying again cannot fix (a password, a certificate)
 * holds the client for refused-retry instead of the back-off.
 *
 * With several gateways in 'remote' (gateways.c), each connect goes to
 * one of them, in the client's own order; a session lost, or a gateway
 * draining, moves the client to the next.
 *
 * connection.c keeps the connection; session_client.c is its sessions'
 * half of the protocol: hello, then the welcome installed, and removed at
 * the end; beside.c the session tried beside the one up; liveness.c
 * watches it; path_watch.c the way to the server; refused.c the holds.
 */
#ifndef CULVERT_CLIENT_H
#define CULVERT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "addr.h"
#include "config.h"
#include "tunnel_routes.h"

struct core;
struct cv_host;
struct cv_session;
struct datapath;
struct loop_timer;
struct path_watch;
struct proto_msg;
struct session_ops;
struct transports;

/* How the server's silence is watched (liveness.c). */
struct client_liveness {
	struct loop_timer *timer;
	const struct cv_session *session;	/* what rx_seen counts */
	uint64_t rx_seen;		/* the session's rx_packets, last look */
	uint64_t tx_seen;		/* and its tx_packets */
	bool busy;			/* packets came, or went unanswered,
					 * since the last probe */
};

/* The gateways of 'remote', in this client's order (gateways.c). */
struct client_gateways {
	unsigned int n;			/* 0: remote names one */
	unsigned int order[CONFIG_MAX_REMOTES];	/* into cfg->remotes */
	unsigned int at;		/* the one in use: order[at] */
	/* A session in doubt: the try beside it on the next gateway waits
	 * for the client's slot (client_gateways_doubt). */
	struct loop_timer *move;
	bool moving;			/* move armed */
	char why[256];
};

/* A session tried beside the one up (beside.c). */
struct client_beside {
	struct cv_host *host;		/* the spare it connects on, or NULL */
	struct cv_session *session;	/* once its link is up */
	struct loop_timer *deadline;	/* welcomed by then, or given up */
	int64_t started_at;		/* loop ms, for the pause between two */
	unsigned int gateway;		/* where it connects: gateways.at */
};

struct client {
	struct core *core;
	struct transports *transports;
	struct datapath *datapath;	/* sends every packet to the session */
	struct cv_session *session;	/* the one session, or NULL */
	struct client_beside beside;
	struct client_gateways gateways;
	struct client_liveness liveness;
	struct path_watch *path;	/* the way to the server, or NULL */
	struct loop_timer *retry_first;	/* fallback-retry */
	char *password;			/* for auth = password servers */
	struct cv_addr previous4;	/* of the last session, to ask back */
	struct cv_addr previous6;	/* and its IPv6 one (family 0: none) */
	unsigned int next_transport;	/* which transport to try next */
	unsigned int reconnect_delay_ms;
	/* The routes and addresses of the session that ended, held into
	 * the tunnel for CLIENT_HOLD_MS while the client connects again;
	 * after that, with the kill switch, its routes blocked until the
	 * next session takes them over or culvertd stops. */
	struct tunnel_routes blocked;
	struct cv_prefix held_addr[2];	/* IPv4, IPv6 */
	bool held_addr_on[2];
	struct loop_timer *hold;
	struct loop_timer *reconnect;
	struct loop_timer *fallback;	/* gives up on a slow transport */
	bool connecting;		/* a connect() is under way */
	/* Why the last attempt cannot succeed by trying again (refused.c),
	 * or NULL; held: waiting refused-retry for the next one, which a
	 * way back to the server (path_watch.c) does not cut short. */
	const char *refused_why;
	bool held;
};

/* The password (password-file, or asked on the terminal) and the
 * timers; connects nothing yet. Returns 0 or a negative errno, logged;
 * client_free cleans up either way. */
int client_new(struct core *core, struct transports *ts, struct datapath *dp,
	       struct client **out);
/* Lifts what the kill switch still blocks. */
void client_free(struct client *c);
/* Connect over the first transport; from then on, keep a session. */
void client_connect(struct client *c);

/* The transports' upcalls (struct cv_host's link_up, connect_failed). */
struct cv_session *client_link_up(void *c, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info,
				  struct cv_session *shell);
void client_connect_failed(void *c, struct cv_host *h, int err);
/* No session, and none coming: the next attempt after the back-off,
 * or after refused-retry when trying again cannot help (client_hold). */
void client_lost(struct client *c);
/* The way to the server is back (why: for the log): a client waiting
 * out its back-off connects now, keeping the back-off's length; one
 * waiting refused-retry keeps waiting. */
void client_connect_now(struct client *c, const char *why);
/* The sessions' turns (session_ops), for beside.c's sessions too. */
extern const struct session_ops client_session_ops;

/* gateways.c: the gateways of a cluster. */
/* Their order for this client (and the transports aimed at the first). */
void client_gateways_init(struct client *c);
/* The gateway at position pos of the order, HOST:PORT. */
const char *client_gateway(const struct client *c, unsigned int pos);
/* The position after the one in use. */
unsigned int client_gateway_next(const struct client *c);
/* h connects to the gateway at pos from its next connect() on. */
void client_gateway_aim(struct client *c, struct cv_host *h, unsigned int pos);
/* The session up ended (draining: the gateway said so): the next
 * gateway, after the client's slot of failover-spread. */
void client_failover(struct client *c, bool draining);
/* The session up is in doubt (why: for the log): a session beside it on
 * the next gateway, after the client's slot; true when that is the
 * plan (several gateways), false when the doubt is the caller's. */
bool client_gateways_doubt(struct client *c, const char *why);
/* The session ended, or the client stops: no move beside it. */
void client_gateways_stop(struct client *c);

/* beside.c: a session tried beside the one up. */
/* Start one over transport i to the gateway at position gateway (why:
 * for the log), unless one is under way or the last began less than a
 * second ago. */
void client_beside_start(struct client *c, unsigned int i,
			 unsigned int gateway, const char *why);
/* A link came up on h: the session beside, when h is its spare (*out,
 * NULL when refused), and true; false when h is not. */
bool client_beside_link_up(struct client *c, struct cv_host *h,
			   struct cv_link *link,
			   const struct cv_link_info *info,
			   struct cv_session **out);
/* h's connect() failed: true when h was the spare (the try is over). */
bool client_beside_failed(struct client *c, struct cv_host *h);
/* s, the session beside, ends before it was welcomed: the try is over. */
void client_beside_ended(struct client *c);
/* s is welcomed: when it is the session beside, the one up ends now,
 * its addresses and routes removed, for s to install its own. */
void client_beside_welcomed(struct client *c, struct cv_session *s);
/* s is up: when it is the session beside, it becomes the session, its
 * spare its transport's instance. */
void client_beside_up(struct client *c, struct cv_session *s);
void client_beside_free(struct client *c);
/* fallback-retry: armed while the session runs over a later transport
 * than the first. */
void client_retry_first_arm(struct client *c);

/* liveness.c: watch the session up (from its up to its end). */
void client_liveness_start(struct client *c);
void client_liveness_stop(struct client *c);
/* The session up is in doubt (why: for the log): a session beside it. */
void client_doubt(struct client *c, const char *why);

/* refused.c, for connection.c: refusals that trying again cannot fix (a
 * wrong password, a certificate refused either way, another protocol
 * version, the server's policy), told from those that pass. */
/* What ended the attempt: the server's REFUSE reason (-1: none) and the
 * transport's error (0: none). */
void client_note_end(struct client *c, int refused_reason, int err);
/* Instead of the usual back-off after such a refusal: the next attempt
 * after refused-retry, or culvertd stops (refused-retry = never), said
 * in the log. Returns false when trying again may help. */
bool client_hold(struct client *c);
/* A reload (SIGHUP, culvertctl reload): the password file read again,
 * and a held client tries again at once. */
void client_reload(struct client *c);

/* session_client.c, for connection.c: the part of a session's life that
 * is the protocol's. */
/* A new session: say hello, again until answered. */
void client_session_start(struct cv_session *s);
/* The session's ops->handshake and ops->hello_timer. */
bool client_session_welcome(struct cv_session *s, struct proto_msg *m);
void client_session_hello_again(struct cv_session *s);
/* The session ends: what its welcome installed, held for the next
 * session (c->blocked, c->held_addr) for CLIENT_HOLD_MS, or removed at
 * once when culvertd stops. */
#define CLIENT_HOLD_MS 10000
void client_session_uninstall(struct cv_session *s);
/* The hold is over: routes removed (or, with the kill switch, blocked)
 * and addresses removed. */
void client_hold_release(struct client *c);

/* tap_client.c, device-type = tap. At start: the TAP device up, carrier
 * off, its static addresses on (0 or a negative errno, logged). */
int client_tap_setup(struct core *core);
/* Whether the welcome carries what this client does (frames or
 * packets); when not, the session was refused, and is gone. */
bool client_tap_agrees(struct cv_session *s, const struct proto_welcome *w);
/* The session's MTU on the device, and the carrier on; then off. */
int client_tap_up(struct cv_session *s, const struct proto_welcome *w);
void client_tap_down(struct cv_session *s);

#endif
