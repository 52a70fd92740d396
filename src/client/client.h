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
 * connection.c keeps the connection; session_client.c is its sessions'
 * half of the protocol: hello, then the welcome installed, and removed at
 * the end.
 */
#ifndef CULVERT_CLIENT_H
#define CULVERT_CLIENT_H

#include <stdbool.h>

#include <culvert/transport.h>

#include "addr.h"
#include "tunnel_routes.h"

struct core;
struct cv_host;
struct cv_session;
struct datapath;
struct loop_timer;
struct proto_msg;
struct transports;

struct client {
	struct core *core;
	struct transports *transports;
	struct datapath *datapath;	/* sends every packet to the session */
	struct cv_session *session;	/* the one session, or NULL */
	char *password;			/* for auth = password servers */
	struct cv_addr previous4;	/* of the last session, to ask back */
	struct cv_addr previous6;	/* and its IPv6 one (family 0: none) */
	unsigned int next_transport;	/* which transport to try next */
	unsigned int reconnect_delay_ms;
	/* The kill switch: the blocked routes of the session that ended,
	 * until the next one takes them over or culvertd stops. */
	struct tunnel_routes blocked;
	struct loop_timer *reconnect;
	struct loop_timer *fallback;	/* gives up on a slow transport */
	bool connecting;		/* a connect() is under way */
	/* Why the last attempt cannot succeed by trying again (refused.c),
	 * or NULL; held: waiting refused-retry for the next one. */
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
				  const struct cv_link_info *info);
void client_connect_failed(void *c, struct cv_host *h, int err);

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
/* The session ends: what its welcome installed, removed (or, with the
 * kill switch, its routes blocked into c->blocked). */
void client_session_uninstall(struct cv_session *s);

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
