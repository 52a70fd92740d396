/*
 * culvert transport plugin ABI, version 1.
 *
 * This is the only header a transport plugin sees. With
 * culvert-transport(7) it is all a third party needs to write a fourth
 * transport: doc/examples/transport/plaintcp.c, installed with culvert's
 * documentation, is one, built against this header alone.
 *
 * A transport carries opaque messages between culvertd and its peers over
 * the untrusted network: its sockets, its handshake, its crypto, its
 * framing, and the identity its handshake proved are the plugin's. The
 * core (culvertd) owns everything else: the TUN device, addresses and
 * routes, sessions, the control protocol, passwords and policy.
 *
 * Life cycle, as the core drives it:
 *
 *   dlopen ──> culvert_transport (the exported table) checked: abi_version
 *     │        == CULVERT_TRANSPORT_ABI, size at least version 1's, name
 *     │        == the file's, the six required entries set. (culvertctl
 *     │        diagnose stops here: it reads `wire`, and creates nothing.)
 *   create(api, host, &inst)   one instance per transport named in
 *     │                        `transport`, as root, before culvertd drops
 *     │                        to `user`; --check-config: create, destroy
 *   listen()  (server, still root)    or    connect()  (client, after the
 *     │                                      drop: CAP_NET_ADMIN only)
 *     │   a link is up (handshake done): host->link_up(link, info)
 *     │       ──> the core's session, or NULL: refused
 *     │   a client's connect() failed:   host->link_down(NULL, err, why)
 *     │
 *     ├── host->deliver(session, msgs, n)   messages from the peer
 *     ├── send(link, msgs, n)               messages to the peer
 *     │
 *     ├── host->link_down(session, err, why)   the plugin lost the link
 *     │   or close(link)                        the core ends it
 *     │
 *     │   client: after any of these, and after connect() returned < 0,
 *     │   the core calls connect() AGAIN after a back-off (1 s, doubling
 *     │   up to 60 s, +-25%), on the SAME instance (with several
 *     │   transports, on the next one's, each in turn)
 *     │
 *   destroy()                       the core holds no link of it any more
 *
 *   At any time in between, from the core's loop:
 *   reload()   optional: the config file was read again (SIGHUP, reload)
 *   stats()    optional: the plugin's counters (culvertctl status, SIGUSR1)
 *   describe() optional: one up link's protocol, cipher, peer certificate
 *              and keys' age (culvertctl status and show, metrics)
 *
 * A client with several transports (transport = dtls, tls) uses one at a
 * time, the next after a loss. When the one it connects with brings no
 * link up within fallback-timeout (default 5 s), the core, having no call
 * that cancels a connect(), destroy()s that instance and create()s a new
 * one at once, then connect()s the next transport. That create() runs
 * after the privilege drop (what it reads must be readable by `user`); if
 * it fails, the transport is skipped until culvertd restarts. With one
 * transport there is no such timer: a connect() must end by itself, in
 * link_up() or link_down(NULL, ...), within handshake-timeout.
 *
 * One thread per instance. A server with several event loops (threads in
 * culvert.conf(5)) creates, of a plugin with CV_TRANSPORT_LOOPS, one
 * instance per loop, each listening on the same port (SO_REUSEPORT, see
 * 'threads' below), and gives each a cv_host of its loop. The core calls an instance's entries from its loop's
 * thread, and the plugin calls the host table from that thread only:
 * inside a call the core made, or inside its own fd and timer callbacks.
 * Two exceptions, which only read: stats() and describe() may come from
 * the core's main thread while the instance's loop runs (a counter read
 * a packet late is fine; a link the plugin has reported down or been told
 * to close is never described). Upcalls of an instance on another loop
 * than the main one return without waiting (the core runs them on its
 * main loop later, in order): link_up() there returns a session that
 * the core may still refuse a moment later with close(); the plugin
 * notices nothing else. A plugin that runs
 * a thread hands its results to the loop through an fd it watches (an
 * eventfd, a pipe). Nothing may block the loop: sockets are non-blocking,
 * and a callback with much to do does some, then arms a 0 ms timer to go
 * on. (getaddrinfo() for listen and remote blocks while the resolver
 * works; the shipped plugins accept that once per listen() or connect(),
 * never per peer.)
 *
 * Re-entrancy:
 *  - No upcall (link_up, link_down, deliver, link_moved) from inside a call
 *    the core made to the plugin (create, listen, connect, send, close,
 *    destroy, reload, stats, describe): what happens there (a connect that fails at
 *    once, a link that breaks in send) is reported by a return value or
 *    later, from a 0 ms timer. So the core never sees its state change
 *    under it.
 *  - The other way round is allowed: inside link_up() and deliver() the
 *    core may send() on that link and close() it (inside deliver(): its
 *    answer to a hello, a refusal). So a link can send before link_up()
 *    is called for it; a link the core closes inside an upcall is only
 *    marked, and freed when the upcall returns; and after an upcall the
 *    plugin looks its links up again rather than trusting a pointer it
 *    held across it.
 *  - The core never calls connect(), destroy() or reload() inside an
 *    upcall, and never anything inside link_down().
 *
 * Ownership:
 *  - Whoever allocates frees. Buffers passed in a call are lent for that
 *    call only: message data in send() (copy or send it before
 *    returning), the messages of deliver() and the link info of link_up()
 *    (the core copies what it keeps: identity, peer address).
 *  - A link is the plugin's. The core holds it from a link_up() that
 *    returned a session until close(link) or link_down() for it; after
 *    either, neither side uses it again: close() never triggers
 *    link_down(), and link_down() never needs close(). A link refused by
 *    link_up() (NULL) is the plugin's to close and free, silently.
 *  - A session is the core's, for passing back only, valid over the same
 *    span. Timers are the core's, from timer_new() until timer_free().
 *  - No global mutable state: everything hangs off the instance create()
 *    returned, so one process holds several instances (one per event
 *    loop, each on its own thread), and loading the plugin does nothing (culvertctl
 *    loads it only to read its table).
 *
 * A client link reported down with -ESTALE: the server proved, with a
 * stateless reset (set_reset_token), that it has lost the session; the
 * core connects again at once, on the same transport.
 *
 * Errors are negative errno values. The plugin also logs one line, through
 * host->log, that tells the user what to do about it: a key and its value,
 * a file, a peer. What the core does with each: create() < 0: culvertd
 * does not start; listen() < 0: culvertd stops; connect() < 0: a failed
 * attempt, tried again after the back-off; send() < 0: the link is broken,
 * the core ends the session (it may try to send its bye first) and calls
 * close(); reload() < 0: the reload is refused.
 *
 * Keepalive is the core's: it sends a keepalive at least every interval
 * (10 s by default) and ends a session silent for the timeout (60 s). A
 * plugin needs no idle timer, and must not end an up link for idleness.
 */
#ifndef CULVERT_TRANSPORT_H
#define CULVERT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CULVERT_TRANSPORT_ABI 1

/* The name of the one symbol each plugin exports: a const struct
 * cv_transport. libltdl resolves the per-module prefixed form too. */
#define CULVERT_TRANSPORT_SYMBOL "culvert_transport"

/* Opaque handles. cv_instance and cv_link are the plugin's (it defines
 * the structs); cv_host, cv_session and cv_timer are the core's. */
struct cv_instance;
struct cv_link;
struct cv_host;
struct cv_session;
struct cv_timer;

/*
 * Messages. The first byte of every message is the core's type byte
 * (data, control, ...); the rest is opaque to the plugin. A plugin
 * delivers each message exactly as it was sent, or not at all: never
 * empty, never joined to another or cut. Unless its table sets
 * CV_TRANSPORT_RELIABLE it may lose, reorder or duplicate them, as UDP
 * does, and the core retransmits its control messages itself.
 *
 * Sizes: a control message has at most 1024 bytes, and is sent whatever
 * max_msg says; a data message is one inner packet and its type byte, at
 * most the tunnel's MTU + 1 and never more than the link's max_msg; a
 * large segment (below) at most max_msg, or 65540 bytes when max_msg is 0.
 *
 * Segmentation. With TUN offloads (offload = yes, the default) the core
 * reads from TUN TCP segments of up to 64 KiB that the kernel has not
 * split, UDP datagrams that stand for many (an application's UDP_SEGMENT
 * send, where the kernel has USO: gso_type CV_GSO_UDP_L4), and packets
 * whose TCP or UDP checksum is left to do. What that
 * means for a plugin:
 *  - Each message is complete as it is: the plugin never splits one nor
 *    finishes a checksum. `seg` may describe the packet inside (after the
 *    type byte, or the 5-byte header of a large segment), for information
 *    only; the plugin carries the bytes and may ignore it. In messages it
 *    delivers it leaves seg zero: the core reads all it needs from the
 *    message itself.
 *  - Without CV_TRANSPORT_GSO in its table, the core splits a large
 *    segment into ordinary packets, each fitting one wire segment, before
 *    the plugin sees them.
 *  - With CV_TRANSPORT_GSO, when both ends run with offloads, a large
 *    segment crosses as one message (type DATA_GSO: 5 bytes of header,
 *    then the segment) of up to max_msg bytes (several smaller ones when
 *    it is larger), which the plugin carries whole like any other; the far
 *    core hands it to its TUN as it is. Worth it where the cost is per
 *    message rather than per byte: a stream (tls, plaintcp); a datagram
 *    transport gains nothing (udp and dtls leave it unset).
 *  - A packet may cross with its inner checksum not yet computed (type
 *    DATA_PARTIAL, or a DATA_GSO so flagged, with any transport): the far
 *    kernel computes it over the bytes that arrive. The inner checksum
 *    then catches nothing that went wrong on the way: a transport must
 *    deliver the bytes it was given or nothing (UDP's and TCP's own
 *    checksums, or a MAC, see to that).
 *  - A packet larger than a link carries (max_msg - 1, or less once
 *    the core found by probing that the path carries less, see Path
 *    MTU) is not sent whole: the core cuts an IPv4 packet without DF
 *    into fragments that fit, and answers any other's sender with ICMP
 *    "fragmentation needed" or "packet too big", naming the size.
 *
 * Path MTU. A transport without CV_TRANSPORT_RELIABLE sends each message
 * as one datagram that carries DF and that neither this host nor a
 * router may fragment: setsockopt IP_MTU_DISCOVER (and, on an IPv6
 * socket, IPV6_MTU_DISCOVER too) to IP_PMTUDISC_PROBE, as udp and dtls
 * do, and CV_WIRE_DONT_FRAGMENT in its wire table. A message too large
 * for the path is then lost, not fragmented, and the core finds the
 * largest message that crosses by itself (RFC 8899): it sends, on an
 * up link, messages of its own (type PROBE, doc/PROTOCOL.md) padded to
 * every size it tries up to max_msg, and the peer's core answers those
 * that arrive. So max_msg is the most the link may ever carry (what the
 * transport's own framing allows, and its configured path MTU); the
 * core probes below it, and what it finds is the core's business: no
 * upcall reports it. A plugin never fails a send() because a message
 * was too large for the path (EMSGSIZE, and EINVAL from a UDP_SEGMENT
 * send of segments larger than the interface's MTU): it drops that
 * message, and counts it if it likes; the link is fine. A stream
 * transport (CV_TRANSPORT_RELIABLE) is not probed: the kernel sets DF on
 * its TCP segments and sizes them by its own path MTU discovery (tls sets
 * IP_PMTUDISC_DO to say so, the default for TCP does the same), and the
 * transport handles a path that swallows them without ICMP itself, as
 * tls does (culvert.conf(5), PATH MTU).
 *
 * cv_segmentation holds the fields of struct virtio_net_hdr, in host byte
 * order.
 */
enum cv_gso_type {
	CV_GSO_NONE = 0,
	CV_GSO_TCPV4 = 1,
	CV_GSO_TCPV6 = 4,
	CV_GSO_UDP_L4 = 5,
};

#define CV_MSG_NEEDS_CSUM 0x01 /* checksum from csum_start not yet filled */

struct cv_segmentation {
	uint8_t flags;		/* CV_MSG_* */
	uint8_t gso_type;	/* enum cv_gso_type */
	uint16_t hdr_len;	/* bytes of headers before the payload */
	uint16_t gso_size;	/* payload bytes per segment */
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* One message on a link. data is lent for the call that carries it. */
struct cv_msg {
	uint8_t *data;
	size_t len;
	struct cv_segmentation seg;
};

/*
 * What a handshake proved about the peer, passed with link_up(); the core
 * copies what it keeps.
 *
 * identity: the name the peer proved, or NULL when it proved none (a
 * client always passes NULL for its server; plain transports always do).
 * tls and dtls pass, on a server that asked for a client certificate
 * (auth = certificate, certificate+password or certificate+radius), the first Common Name of
 * the verified certificate, or its whole subject DN when it has no CN,
 * with every byte below 0x20 and 0x7f replaced by '?'; a certificate
 * with an empty CN is refused instead. Whatever a plugin passes must be
 * such printable text: the core uses it as the session's name (in the
 * log, in `culvertctl status`, as CULVERT_IDENTITY for scripts, and for
 * `culvertctl kick NAME`, which cannot send control characters), as the
 * key under which the pool keeps the client's address for its return,
 * and, on a transport with CV_TRANSPORT_SECURE and auth including
 * certificate, as the proof of a certificate: without an identity the
 * core refuses the client. When auth includes password, the user name
 * that logged in replaces it as the session's name and lease key.
 */
struct cv_link_info {
	const char *identity;		/* the proved name, or NULL */
	const struct sockaddr *peer;	/* outer address of the peer */
	socklen_t peer_len;
	/* Largest message this link carries whole, type byte included, or 0
	 * for no limit (65540 bytes then, see Sizes). The core sizes the
	 * tunnel's MTU from it (a client's TUN MTU is at most max_msg - 1).
	 * At least 1024, for the control messages; below 1281 the link
	 * carries no inner IPv6. */
	size_t max_msg;
};

/* Log priorities: the syslog(3) values. */
enum cv_log_priority {
	CV_LOG_ERR = 3,
	CV_LOG_WARNING = 4,
	CV_LOG_NOTICE = 5,
	CV_LOG_INFO = 6,
	CV_LOG_DEBUG = 7,
};

/* Events for watch(): the epoll(7) values. ERR and HUP are reported
 * whether asked for or not. */
#define CV_EV_IN 0x001
#define CV_EV_OUT 0x004
#define CV_EV_ERR 0x008
#define CV_EV_HUP 0x010

typedef void cv_fd_cb(void *arg, int fd, uint32_t events);
typedef void cv_timer_cb(void *arg);

/*
 * What the core offers a plugin. Passed to create() together with the
 * cv_host handle that every call takes back. `size` is sizeof the table
 * the core was built with; a newer core only appends.
 *
 * Both tables, this one and struct cv_transport, grew after the first
 * release, each entry appended after the one before, in this order (a
 * plugin or core built in between knows a prefix of it):
 *   cv_host_api:  link_moved; link_group (sites); reset_token,
 *                 link_suspect (recovery from faults)
 *   cv_transport: reload, stats, wire, describe (status);
 *                 set_reset_token (recovery from faults)
 */
struct cv_host_api {
	uint32_t size;

	/* Log one line (no newline at its end), prefixed by the core with
	 * the plugin's name: "tls: ...". To stderr in the foreground, else
	 * to syslog; CV_LOG_INFO shows with culvertd -v, CV_LOG_DEBUG with
	 * -vv. */
	void (*log)(struct cv_host *host, int priority, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Watch fd with the core's loop, level-triggered; events is a
	 * CV_EV_* mask, and cb(arg, fd, events) is called from the loop
	 * while it holds. The same fd watched again replaces its events,
	 * cb and arg. Returns 0 or a negative errno. unwatch() before
	 * close(fd); it may be called inside fd's own callback. */
	int (*watch)(struct cv_host *host, int fd, uint32_t events,
		     cv_fd_cb *cb, void *arg);
	void (*unwatch)(struct cv_host *host, int fd);

	/* One-shot timers: created disarmed (NULL when out of memory),
	 * armed for msec from now (re-arming moves it; 0 runs it at the
	 * loop's next turn, never inside the call), disarmed with msec < 0.
	 * A callback may re-arm or free its own timer. timer_free() also
	 * disarms; free them all in destroy(). */
	struct cv_timer *(*timer_new)(struct cv_host *host, cv_timer_cb *cb,
				      void *arg);
	void (*timer_arm)(struct cv_timer *timer, int64_t msec);
	void (*timer_free)(struct cv_timer *timer);

	/*
	 * A configuration value: the plugin's own [name] section first (its
	 * first line for key), then the global part (its first line), then
	 * the core's default, for a global key that has one: such a key
	 * never comes back NULL, even where it does not apply to the mode
	 * (fwmark is "51821" on a server too, handshake-timeout "10"). A key
	 * set nowhere that has no default (ca, cert, server-name, a key of
	 * the plugin's own) comes back NULL. Exception: a key that means
	 * something else in a plugin's section than globally (mtu: the
	 * tunnel's MTU globally, the path's in [dtls]) comes from the
	 * plugin's section only.
	 *
	 * The value is the text as written (trimmed, without its comment),
	 * not normalised: "yes", "0x10", "certificate+password". The core has
	 * checked the form of the global keys it knows; of the plugin's
	 * section only that each key is in `options`: the plugin checks
	 * those values itself, in create().
	 *
	 * The string lives as long as the instance, also across reloads:
	 * inside reload() this returns the new file's values, and strings
	 * returned before stay valid.
	 *
	 * Keys a plugin reads (culvert.conf(5) has them all):
	 *   mode           "server" or "client"; always set
	 *   listen         server: where to listen, HOST:PORT or [IPV6]:PORT
	 *                  (always set; a plugin that lists listen in its
	 *                  options lets its section have its own)
	 *   remote         client: the server, HOST:PORT, HOST a name or an
	 *                  address; always set (the same holds)
	 *   fwmark         client: every socket towards remote carries it,
	 *                  setsockopt(SOL_SOCKET, SO_MARK) (default 51821).
	 *                  Not optional: culvertd's routing rules send marked
	 *                  packets by the main table and the rest into the
	 *                  tunnel, so under a full tunnel (route = default)
	 *                  or kill-switch an unmarked socket routes the
	 *                  tunnel into itself. SO_MARK needs CAP_NET_ADMIN,
	 *                  which culvertd keeps after the drop.
	 *   handshake-timeout  seconds a peer has for the handshake (default
	 *                  10); a client's connect() ends within it
	 *   max-handshakes server: links still in their handshake at once
	 *                  (default 256); the oldest gives way to a new one
	 *   threads        the number of event loops, each with an instance
	 *                  of the plugin ("1" on a client): above 1, a
	 *                  server's sockets set SO_REUSEPORT before bind, so
	 *                  that every instance listens on the one port and
	 *                  the kernel gives each peer to one of them, always
	 *                  the same; a transport that follows a peer to a
	 *                  new port sees to it that the new port reaches
	 *                  the same instance (udp and dtls attach a classic
	 *                  BPF program that picks by source address)
	 * and, for a plugin that sets CV_TRANSPORT_SECURE, these, which it must
	 * honour as tls and dtls do (the core checks no certificate itself):
	 *   cert, key      this side's certificate and private key (PEM): a
	 *                  server needs both, a client shows them when set
	 *   ca             the CA(s) (PEM): a client checks the server's chain
	 *                  against it, and refuses to run without it; a server
	 *                  checks its clients' certificates against it
	 *   server-name    client: the name the server's certificate must
	 *                  carry. No default in the core's table (NULL when
	 *                  unset): the plugin falls back to remote's host.
	 *   auth           server: "certificate" (default), "password",
	 *                  "radius", "certificate+password" or
	 *                  "certificate+radius". With certificate in it,
	 *                  require a client certificate that ca signed and
	 *                  pass its identity; with password or radius alone
	 *                  ask for none (passwords are the core's: a plugin
	 *                  never sees one)
	 *   crl            server: revoked client certificates (PEM, by ca)
	 *                  are refused; reload() reads it again
	 *   priority       a GnuTLS priority string; a plugin on another TLS
	 *                  library refuses it or says that it ignores it
	 *   rekey-interval client: seconds between fresh keys (default 3600)
	 *   rekey-bytes, rekey-records  how much one key may protect before
	 *                  the keys are renewed (defaults 64G and 16777216;
	 *                  bytes take K, M, G or T, powers of 1024)
	 * insecure, and everything else, is the core's.
	 */
	const char *(*config_get)(struct cv_host *host, const char *key);

	/*
	 * Upcalls. link_up() returns the core's session for the new link,
	 * or NULL when the core refuses it (culvertd is stopping, too many
	 * links await their hello, a client has its link already): the
	 * plugin then closes and frees the link itself, without
	 * link_down(). On a client, the core says hello from a timer, not
	 * inside link_up(). link_down() with session == NULL reports a
	 * connect() that failed before any link came up. err is a negative
	 * errno value, why one sentence for the log ("no answer from
	 * 192.0.2.1:4433 within 10 s"). deliver() hands up count >= 1
	 * messages of one link, in the order received.
	 */
	struct cv_session *(*link_up)(struct cv_host *host, struct cv_link *link,
				      const struct cv_link_info *info);
	void (*link_down)(struct cv_host *host, struct cv_session *session,
			  int err, const char *why);
	void (*deliver)(struct cv_host *host, struct cv_session *session,
			const struct cv_msg *msgs, unsigned int count);

	/*
	 * Appended after the first release: call it only when
	 * CV_HOST_API_HAS(api, link_moved). The peer of an up link now
	 * sends from another outer address (a client whose NAT gave it a
	 * new port, proven by a record that authenticates); the core shows
	 * the new address in status and in hook environments from then on.
	 */
	void (*link_moved)(struct cv_host *host, struct cv_session *session,
			   const struct sockaddr *peer, socklen_t peer_len);

	/*
	 * Appended after link_moved: call it only when
	 * CV_HOST_API_HAS(api, link_group). A server's plugin whose
	 * handshake proved a group for the peer (tls and dtls: the first
	 * organizational unit, OU, of the client certificate's subject)
	 * reports it right after the link_up() that returned session,
	 * before it delivers anything on that link. group is lent for the
	 * call, printable text; the core uses it as the session's group
	 * only when its configuration says so (cert-group = ou).
	 */
	void (*link_group)(struct cv_host *host, struct cv_session *session,
			   const char *group);

	/*
	 * Appended after link_group (CV_HOST_API_HAS): stateless
	 * resets, for a datagram transport whose server can receive from a
	 * client it has no link for (see set_reset_token below, and
	 * doc/PROTOCOL.md, "Stateless reset").
	 *
	 * A server got, from peer, a record that only a peer with a session
	 * sends (dtls: application data) and has no link for that address:
	 * the server restarted, or the client's session ended here. The
	 * core writes the token of a reset for that peer into token and
	 * returns 0; the plugin then sends one datagram that ends with it,
	 * shorter than the one that triggered it (never an amplifier), and
	 * shaped like its own traffic. -EAGAIN: the core's rate limit says
	 * no more now; -ENOTSUP: resets are off (no secret). The same peer
	 * and transport always give the same token, across restarts of
	 * culvertd, until the secret changes.
	 */
	int (*reset_token)(struct cv_host *host, const struct sockaddr *peer,
			   socklen_t peer_len, uint8_t token[16]);

	/*
	 * Appended after reset_token (CV_HOST_API_HAS). A sign, not a
	 * proof, that the peer of an up client link has lost it: ICMP port
	 * unreachable from the server's own address (nothing listens there
	 * any more). why: one sentence for the log. The core may start a
	 * new connect() beside the link, on another instance, and keeps the
	 * link until that one is up: ICMP is not authenticated.
	 */
	void (*link_suspect)(struct cv_host *host, struct cv_session *session,
			     const char *why);
};

/* The length of a stateless reset token. */
#define CV_RESET_TOKEN_LEN 16

/* Whether the core's table has an entry appended after the first
 * release: its size covers the member, and the member is set. */
#define CV_HOST_API_HAS(api, member) \
	((api)->size >= offsetof(struct cv_host_api, member) + \
			sizeof((api)->member) && \
	 (api)->member != NULL)

/* A key a plugin accepts in its [name] section. */
struct cv_option {
	const char *name;
	const char *help;	/* one line, with the default */
};

/*
 * cv_transport.flags.
 * SECURE: the transport authenticates the server to the client and
 *   encrypts, and checks client certificates as `auth` says (see
 *   config_get). Without it culvertd wants insecure = yes, warns at every
 *   start, and checks no credentials at all on that transport: neither
 *   certificates nor passwords.
 * RELIABLE: every message send() accepted arrives, in order, or the link
 *   goes down; the core then sends each control message once.
 * GSO: the transport carries large segments whole (see Segmentation).
 * LOOPS: instances on several event loops share a server's port (see
 *   'threads' in config_get). Without it a server runs the transport on
 *   its main loop only, whatever 'threads' says: a plugin written before
 *   loops existed still starts.
 */
#define CV_TRANSPORT_SECURE 0x01
#define CV_TRANSPORT_RELIABLE 0x02
#define CV_TRANSPORT_GSO 0x04
#define CV_TRANSPORT_LOOPS 0x08

/*
 * What a transport's messages look like on the wire, for the checks of
 * the network around the tunnel (`culvertctl diagnose`: whether a full
 * tunnel packet fits the path MTU, whether the firewall lets the listen
 * port in). culvertctl loads the plugin only to read this; it creates no
 * instance. Pointed to by struct cv_transport's `wire`.
 */
struct cv_wire {
	uint32_t size;		/* sizeof(struct cv_wire) */
	uint32_t flags;		/* CV_WIRE_* */
	/* The outer protocol, an IPPROTO_* value: IPPROTO_UDP (one datagram
	 * per message: the TUN MTU plus the overhead must fit the path) or
	 * IPPROTO_TCP (a stream, which the kernel cuts to the path itself).
	 * culvertctl checks no other protocol, and says so. */
	int32_t ipproto;
	/* Bytes the transport adds to each message on the wire, besides the
	 * outer IP header and the UDP or TCP header: its own header, its
	 * framing, an authentication tag, padding. Not the message itself,
	 * whose first byte is the core's. */
	uint32_t overhead;
};

/* cv_wire.flags */
#define CV_WIRE_AT_LEAST 0x01	/* overhead is the least (other versions or
				 * ciphers add more): a path that fails the
				 * check surely fails, one that passes may not */
#define CV_WIRE_DONT_FRAGMENT 0x02 /* outer datagrams carry DF and are never
				    * fragmented (IP_PMTUDISC_PROBE): one too
				    * big for the path is lost, not fragmented,
				    * until the core's probes find the size */

/*
 * What one up link is now, as describe() tells it: for `culvertctl status`
 * and `show`, their JSON and the metrics. The core zeroes it and sets
 * size to the sizeof it was built with; the plugin fills what it knows
 * and leaves the rest alone (zero, NULL: unknown or none). Members are
 * only ever appended: those below, through rekeys, are always there; a
 * plugin writes one appended later only when CV_LINK_DESC_HAS(desc,
 * member), for an older core's struct is smaller. The strings are the plugin's (static, or in the link), read
 * by the core before its next call into the plugin.
 */
struct cv_link_desc {
	uint32_t size;			/* the core's sizeof(struct cv_link_desc) */
	/* The protocol and cipher that protect the link, as the crypto
	 * library names them ("TLS1.3", "AES-256-GCM"); NULL for none. */
	const char *protocol;
	const char *cipher;
	/* The peer's certificate's end of validity (notAfter), in seconds
	 * since the Epoch; 0 when the peer showed none (a client without a
	 * certificate, a plain transport). */
	int64_t peer_cert_expires;
	/* When the keys in use were made, in seconds since the Epoch: the
	 * handshake's end, or the last key update (TLS 1.3 KeyUpdate, sent
	 * or received) since; 0 when the link has no keys. */
	int64_t keys_made;
	/* Key updates since the handshake. */
	uint32_t rekeys;
};

/* Whether the core's struct cv_link_desc has room for member. */
#define CV_LINK_DESC_HAS(desc, member) \
	((desc)->size >= offsetof(struct cv_link_desc, member) + \
			 sizeof((desc)->member))

/*
 * The table each plugin exports as CULVERT_TRANSPORT_SYMBOL. The core
 * refuses abi_version != CULVERT_TRANSPORT_ABI, a size smaller than the
 * version-1 table, a name other than the file's, and a required entry
 * left NULL (naming it).
 *
 * Optional entries are appended at the end, never inserted, and the ABI
 * version stays 1: the core calls an entry only when the plugin's `size`
 * covers it and it is not NULL, so a plugin built against an older header
 * (a smaller table) keeps working, without the newer entries.
 */
struct cv_transport {
	uint32_t abi_version;
	uint32_t size;			/* sizeof(struct cv_transport) */
	const char *name;		/* as in `transport`: NAME.so */
	const char *description;	/* one line for people; unused */
	uint32_t flags;			/* CV_TRANSPORT_* */
	/* The keys its [name] section may hold, ending with { NULL, NULL };
	 * any other key there is an error naming the file and line. */
	const struct cv_option *options;

	/* Read and check the config through api->config_get, load
	 * credentials; open no socket (culvertd --check-config calls
	 * create() and destroy() only). See the life cycle for when. */
	int (*create)(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out);
	/* Server, once: open the listening socket(s) from "listen", and
	 * log one line that says where. Runs as root. */
	int (*listen)(struct cv_instance *inst);
	/* Client: start connecting to "remote" (every socket marked with
	 * fwmark) and return at once; the result comes later, from the
	 * loop, as link_up() or link_down(NULL, ...), within
	 * handshake-timeout. Called again on the same instance after every
	 * failure or loss (one still under way then would be abandoned). */
	int (*connect)(struct cv_instance *inst);
	/* Send count >= 1 messages on one link. Returns how many were
	 * accepted (the rest are dropped, as a full network would), or a
	 * negative errno when the link is broken: the core then ends the
	 * session and calls close(). May be called inside link_up() and
	 * deliver() for that link. */
	int (*send)(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count);
	/* End one link now and free it: what can still leave without
	 * blocking leaves (the core's bye was just sent), the peer is told
	 * if the protocol can say so. */
	void (*close)(struct cv_instance *inst, struct cv_link *link);
	/* Close every link and socket, free every timer and the instance,
	 * without an upcall. */
	void (*destroy)(struct cv_instance *inst);

	/*
	 * Optional (may be NULL or beyond `size`). The config file was read
	 * again: config_get() now returns the new values. Called after the
	 * privilege drop. Keys that need a restart (mode, transport,
	 * listen, remote, fwmark...) are as before, for the core refuses a
	 * reload that changes them before asking any plugin; the plugin's
	 * own section may have changed. Load what the plugin can change
	 * without dropping a link (tls and dtls: cert, key, ca and crl) for
	 * the links that come up from now on; links up now keep working. A
	 * plugin that checks its peers may check them again and end those
	 * that no longer pass, with link_down(), but from a timer (armed for
	 * 0 ms), never from inside reload(). On error, log why (the key, the
	 * file, the reason), keep everything as it was, and return a
	 * negative errno: the core then reports the reload as failed
	 * (plugins reloaded before this one keep their new state).
	 */
	int (*reload)(struct cv_instance *inst);

	/*
	 * Optional (NULL, or a table whose size ends before it): the
	 * plugin's own counters, chiefly what it dropped and why (junk
	 * datagrams, bad cookies, truncated or oversized records), which
	 * the core never sees. The core asks, from its loop, when
	 * `culvertctl status` or SIGUSR1 wants them; the plugin calls emit
	 * once per counter, inside stats() only, with a short lower_case
	 * name (the core shows it as "tls.NAME") and the total since
	 * create() (a new instance starts again from 0). No upcall may be
	 * made from inside.
	 */
	void (*stats)(struct cv_instance *inst,
		      void (*emit)(void *arg, const char *name, uint64_t value),
		      void *arg);

	/*
	 * Optional (NULL, or a table whose size ends before it): how this
	 * transport's messages look on the wire (struct cv_wire, a const
	 * the plugin defines). Without it `culvertctl diagnose` cannot check
	 * the MTU or the firewall for this transport, and says so.
	 */
	const struct cv_wire *wire;

	/*
	 * Optional (NULL, or a table whose size ends before it): fill desc
	 * (struct cv_link_desc, above) for one link the core holds (after
	 * link_up() returned its session). The core asks from its loop, when
	 * `culvertctl status` or `show`, or a metrics scrape, wants it; no
	 * upcall may be made from inside, and the link must not change.
	 * Without it, status shows the transport's name alone.
	 */
	void (*describe)(struct cv_instance *inst, struct cv_link *link,
			 struct cv_link_desc *desc);

	/*
	 * Optional (NULL, or a table whose size ends before it; appended
	 * after describe). Client: the server gave this up link a
	 * stateless reset token (CV_RESET_TOKEN_LEN bytes, copied). A
	 * datagram from the
	 * server that the plugin cannot read as its own traffic and that
	 * ends with the token (compared in constant time) means the
	 * server lost the session: the plugin reports the link down with
	 * -ESTALE, and the core connects again at once. A plugin without it
	 * never learns of a restarted server but by silence. Called from
	 * inside deliver(), like send().
	 */
	void (*set_reset_token)(struct cv_instance *inst, struct cv_link *link,
				const uint8_t token[16]);
};

#ifdef __cplusplus
}
#endif

#endif /* CULVERT_TRANSPORT_H */
