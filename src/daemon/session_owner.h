/*
 * A session and its owner: the server (of each of its sessions) or the
 * client's connection (of its one). The owner creates the session when a
 * transport brings a link up, and installs a table of callbacks; the
 * session calls them at the turns of its life and never calls its owner
 * by name, so session.c knows neither role. For the owners' files only
 * (session_server.c; connection.c and session_client.c).
 */
#ifndef CULVERT_SESSION_OWNER_H
#define CULVERT_SESSION_OWNER_H

#include "hook.h"
#include "session.h"

struct session_ops {
	/* The part of the handshake only this side speaks: a hello on a
	 * server, a welcome on a client. Returns false when it ended the
	 * session, which is then freed. */
	bool (*handshake)(struct cv_session *s, struct proto_msg *m);
	/* The session's timer fired before it was up: no hello in time on
	 * a server, time to say hello again on a client. */
	void (*hello_timer)(struct cv_session *s);
	/* The session is up (session_up): addresses assigned, data flows. */
	void (*up)(struct cv_session *s);
	/* The session ends: the owner gives back what it holds for it. s
	 * is unlinked and freed when this returns. */
	void (*ended)(struct cv_session *s);
	/* Optional. Server: a peer without a session sent len bytes that
	 * only a peer with one sends (session_stray); s is freed after. */
	void (*stray)(struct cv_session *s, size_t len);
	/* Optional. The peer of an up session may be gone: nothing heard
	 * for two keepalive intervals, or the plugin's sign (ICMP). The
	 * session goes on; why: for the log. */
	void (*doubt)(struct cv_session *s, const char *why);
	/* Optional. Client: the gateway of an up session is drained and
	 * says to move to another now (PROTO_MOVE); the session goes on. */
	void (*move)(struct cv_session *s);
};

/* A link came up: a new session for owner, in core->sessions, its timer
 * made but not armed. NULL when out of memory. */
struct cv_session *session_new(struct core *core,
			       const struct session_ops *ops, void *owner,
			       struct cv_host *transport, struct cv_link *link,
			       const struct cv_link_info *info);
/* session_new in two steps, for a link that came up on another loop
 * (host_api.c): that loop makes the shell, all it reads of a session
 * before loop 0 has opened it (its link, loop and state: hello), and
 * hands it to the plugin at once; loop 0 opens it later, in order with
 * the loop's other upcalls. session_open returns NULL when out of
 * memory, the shell then as it was; one not opened (refused or out of
 * memory) is given up with session_abandon: its link closed, its memory
 * freed once no loop can hold it. */
struct cv_session *session_shell(struct core *core, struct cv_host *transport,
				 struct cv_link *link);
struct cv_session *session_open(struct cv_session *shell,
				const struct session_ops *ops, void *owner,
				const struct cv_link_info *info);
void session_abandon(struct cv_session *shell);
/* The handshake is done: the session is up, its owner told (ops->up),
 * keepalives every interval_s from now on, dead after timeout_s. Returns
 * 0, or -ENOMEM, and then the caller ends the session. */
int session_up(struct cv_session *s, unsigned int interval_s,
	       unsigned int timeout_s);

bool session_is_server(const struct cv_session *s);
bool session_reliable(const struct cv_session *s);
/* Whether this side takes PROTO_DATA_GSO on s: a TUN with offloads, and
 * a transport that carries large messages whole (CV_TRANSPORT_GSO). */
bool session_takes_gso(const struct cv_session *s);
/* Whether this side takes PROTO_DATA_GSO of large UDP segments too: a
 * TUN with USO, and a transport that carries them (as for TCP). */
bool session_takes_uso(const struct cv_session *s);
/* Whether this end takes PROTO_DATA_PARTIAL. */
bool session_takes_partial(const struct cv_session *s);

/* Control messages go out `copies` times in one batch (at most 3). */
int session_send_control(struct cv_session *s, const struct proto_msg *m,
			 unsigned int copies);
void session_send_refuse(struct cv_session *s, uint8_t reason,
			 const char *text);
/* Free s now; close its link unless the link is already gone. */
void session_free(struct cv_session *s, bool link_gone, const char *why);
/* A client refuses what its server sent: log it, say bye with reason,
 * end the session without installing anything (the connection then
 * tries again after its back-off). what: "a welcome this client
 * refuses". */
void session_refuse_server(struct cv_session *s, uint8_t reason,
			   const char *what, const char *problem);

/* The tunnel MTU s can carry: mtu, or less when its link carries less. */
unsigned int session_mtu(const struct cv_session *s, unsigned int mtu);
/* What a data message adds to an inner packet of that MTU: the type
 * byte, and with device-type = tap an Ethernet header and a VLAN tag
 * (TAP_OVERHEAD). */
size_t session_overhead(const struct cv_session *s);
/* IPv6 needs links of 1280 bytes at least (RFC 8200 5); below that
 * Linux takes IPv6 off the device, and the tunnel runs on IPv4 alone. */
#define SESSION_IPV6_MIN_MTU 1280

/* Run script (if set) for event, with the session's CULVERT_* variables;
 * done as in hook_run. */
struct hook *session_hook(struct cv_session *s, const char *script,
			  const char *event, hook_done_cb *done);

#endif
