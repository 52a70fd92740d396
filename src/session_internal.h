/* What the parts of a session share: session.c (lifecycle, timers,
 * dispatch), session_server.c and session_client.c. Not for other files. */
#ifndef CULVERT_SESSION_INTERNAL_H
#define CULVERT_SESSION_INTERNAL_H

#include "hook.h"
#include "session.h"

bool session_is_server(const struct cv_session *s);
bool session_reliable(const struct cv_session *s);
/* Whether this side takes PROTO_DATA_GSO on s: a TUN with offloads, and
 * a transport that carries large messages whole (CV_TRANSPORT_GSO). */
bool session_takes_gso(const struct cv_session *s);
/* Whether this end takes PROTO_DATA_PARTIAL. */
bool session_takes_partial(const struct cv_session *s);

/* Control messages go out `copies` times in one batch (at most 3). */
int session_send_control(struct cv_session *s, const struct proto_msg *m,
			 unsigned int copies);
void session_send_refuse(struct cv_session *s, uint8_t reason,
			 const char *text);
/* Free s now; close its link unless the link is already gone. */
void session_free(struct cv_session *s, bool link_gone, const char *why);

/* From now on keepalives every interval_s, dead after timeout_s. */
int session_keepalive_start(struct cv_session *s, unsigned int interval_s,
			    unsigned int timeout_s);
/* The tunnel MTU s can carry: mtu, or less when its link carries less. */
unsigned int session_mtu(const struct cv_session *s, unsigned int mtu);
/* IPv6 needs links of 1280 bytes at least (RFC 8200 5); below that
 * Linux takes IPv6 off the device, and the tunnel runs on IPv4 alone. */
#define SESSION_IPV6_MIN_MTU 1280

/* Run script (if set) for event, with the session's CULVERT_* variables;
 * done as in hook_run. */
struct hook *session_hook(struct cv_session *s, const char *script,
			  const char *event, hook_done_cb *done);

/* session_server.c */
bool server_hello(struct cv_session *s, struct proto_hello *h);
void server_release(struct cv_session *s);
void server_hello_timeout(void *arg);

/* session_client.c */
/* A new client session: say hello, again until answered. */
void client_start(struct cv_session *s);
void client_hello_retransmit(void *arg);
bool client_welcome(struct cv_session *s, const struct proto_welcome *w);
void client_uninstall(struct cv_session *s);
/* The server sent what this client will not act on: log it, say bye with
 * reason, end the session without installing anything (the daemon then
 * reconnects after its back-off). what: "a welcome this client refuses". */
void client_refuse_server(struct cv_session *s, uint8_t reason,
			  const char *what, const char *problem);

#endif
