/*
 * culvert transport plugin ABI, version 1.
 *
 * This is the only header a transport plugin sees. A transport carries
 * opaque messages between culvertd and its peers over the untrusted
 * network; the core (culvertd) owns everything else: the TUN device,
 * routes, sessions, the control protocol and policy.
 *
 * Lifecycle, as the core drives it:
 *
 *   dlopen ──> culvert_transport (the exported table) checked:
 *              abi_version == CULVERT_TRANSPORT_ABI, size large enough
 *     │
 *   create(host)                    one instance per daemon (or per loop)
 *     │
 *   listen()  (server)   or   connect()  (client)
 *     │                           │
 *     │   handshake done:  host->link_up(link, info) ──> core's session
 *     │                           │
 *     ├── host->deliver(session, msgs, n)   messages from the peer
 *     ├── send(link, msgs, n)               messages to the peer
 *     │
 *     ├── host->link_down(session, err, why)   the plugin lost the link
 *     │   or close(link)                        the core ends the link
 *     │
 *   destroy()                       every link is gone after this
 *
 *   reload()  (optional, any time between create and destroy: SIGHUP
 *             or culvertctl reload; see struct cv_transport)
 *
 * Ownership:
 *  - Whoever allocates frees. Buffers passed in a call (message data, the
 *    link info, strings) are lent for the duration of that call only; copy
 *    what you keep.
 *  - A link belongs to the plugin. After the core calls close(link), or
 *    after the plugin calls link_down() for it, neither side uses it again:
 *    close() never triggers link_down(), and link_down() never needs close().
 *  - A plugin never calls an upcall from inside a call the core made to
 *    it (send, close, listen, connect): upcalls come from its own fd and
 *    timer callbacks, so the core never sees its state change under it.
 *    The other way round is allowed: inside deliver() or link_up() the core
 *    may end the session and close() that very link, so the plugin must not
 *    touch a link after an upcall for it returns; look it up again.
 *  - The plugin keeps no global mutable state: everything hangs off the
 *    instance create() returned, so the core may run one instance per
 *    thread, each on its own loop.
 *
 * Errors are negative errno values. The plugin also logs one line, through
 * host->log, that tells the user what to do about it.
 *
 * Messages are opaque to the plugin: the first byte is the core's type byte
 * (data or control). A plugin must deliver each message exactly as it was
 * sent, or not at all; it need not deliver in order, or at all, unless it
 * sets CV_TRANSPORT_RELIABLE.
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

/* Opaque handles. cv_instance and cv_link are the plugin's; cv_host,
 * cv_session and cv_timer are the core's. */
struct cv_instance;
struct cv_link;
struct cv_host;
struct cv_session;
struct cv_timer;

/*
 * Segmentation metadata, carried per message. A message may be a large
 * TCP segment that the kernel has not split (TUN with IFF_VNET_HDR): the
 * same fields as struct virtio_net_hdr, in host byte order. The core only
 * hands a message with gso_type != CV_GSO_NONE to a plugin whose table sets
 * CV_TRANSPORT_GSO; such a plugin either carries it whole or splits it into
 * gso_size pieces itself.
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

/* What a handshake proved about the peer, passed with link_up(). */
struct cv_link_info {
	const char *identity;		/* certificate subject, or NULL */
	const struct sockaddr *peer;	/* outer address of the peer */
	socklen_t peer_len;
	/* Largest message this link carries whole, type byte included, or 0
	 * for no limit below 64 KiB. The core sizes the TUN MTU from it. */
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

/* Events for watch(): the epoll(7) values. */
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
 */
struct cv_host_api {
	uint32_t size;

	/* Log one line, prefixed by the core with the plugin's name. */
	void (*log)(struct cv_host *host, int priority, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Watch fd with the core's loop; events is a CV_EV_* mask. The same
	 * fd watched again replaces its events. */
	int (*watch)(struct cv_host *host, int fd, uint32_t events,
		     cv_fd_cb *cb, void *arg);
	void (*unwatch)(struct cv_host *host, int fd);

	/* One-shot timers: created disarmed, armed for msec from now
	 * (re-arming moves it), disarmed with msec < 0. */
	struct cv_timer *(*timer_new)(struct cv_host *host, cv_timer_cb *cb,
				      void *arg);
	void (*timer_arm)(struct cv_timer *timer, int64_t msec);
	void (*timer_free)(struct cv_timer *timer);

	/* A configuration value: the plugin's own [name] section first,
	 * then the global keys (listen, remote, and the like). NULL when
	 * unset. The string lives as long as the instance, also across
	 * reloads: inside reload() this returns the new file's values, and
	 * strings returned before stay valid. */
	const char *(*config_get)(struct cv_host *host, const char *key);

	/*
	 * Upcalls. link_up() returns the core's session for the new link,
	 * or NULL when the core refuses it (the plugin then closes and
	 * frees the link itself, without calling link_down()).
	 * link_down() with session == NULL reports a connect() that failed
	 * before any link came up. err is a negative errno value, why a
	 * sentence for the log.
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
};

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

/* cv_transport.flags */
#define CV_TRANSPORT_SECURE 0x01   /* authenticates and encrypts */
#define CV_TRANSPORT_RELIABLE 0x02 /* delivers every message, in order */
#define CV_TRANSPORT_GSO 0x04	   /* accepts messages with gso_type set */

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
				    * fragmented (IP_PMTUDISC_DO): one too big
				    * for the path is lost, not fragmented */

/*
 * The table each plugin exports as CULVERT_TRANSPORT_SYMBOL. The core
 * refuses abi_version != CULVERT_TRANSPORT_ABI, and a size smaller than the
 * version-1 table.
 *
 * Optional entries are appended at the end, never inserted, and the ABI
 * version stays 1: the core calls an entry only when the plugin's `size`
 * covers it and it is not NULL, so a plugin built against an older header
 * (a smaller table) keeps working, without the newer entries.
 */
struct cv_transport {
	uint32_t abi_version;
	uint32_t size;			/* sizeof(struct cv_transport) */
	const char *name;
	const char *description;
	uint32_t flags;			/* CV_TRANSPORT_* */
	const struct cv_option *options; /* ends with { NULL, NULL } */

	/* Read the config through host, open nothing yet. */
	int (*create)(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out);
	/* Server: open the listening socket(s) from "listen". */
	int (*listen)(struct cv_instance *inst);
	/* Client: start connecting to "remote"; the result comes later, as
	 * link_up() or link_down(NULL, ...). */
	int (*connect)(struct cv_instance *inst);
	/* Send a batch of messages on one link. Returns how many were
	 * accepted (the rest are dropped), or a negative errno when the
	 * link is broken: the core then closes it with close(). */
	int (*send)(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count);
	/* End one link now and free it. */
	void (*close)(struct cv_instance *inst, struct cv_link *link);
	/* Close every link and socket, free the instance. */
	void (*destroy)(struct cv_instance *inst);

	/*
	 * Optional (may be NULL or beyond `size`). The config file was read
	 * again: config_get() now returns the new values. Load what the
	 * plugin can change without dropping a link (tls and dtls: cert,
	 * key, ca and crl) for the links that come up from now on; links up
	 * now keep working. A plugin that checks its peers may check them
	 * again and end those that no longer pass, with link_down(), but
	 * from a timer (armed for 0 ms), never from inside reload(). On
	 * error, log why (the key, the file, the reason), keep everything as
	 * it was, and return a negative errno: the core then reports the
	 * reload as failed.
	 */
	int (*reload)(struct cv_instance *inst);

	/*
	 * Optional (NULL, or a table whose size ends before it): the
	 * plugin's own counters, chiefly what it dropped and why (junk
	 * datagrams, bad cookies, truncated or oversized records), which
	 * the core never sees. The core asks when `culvertctl status` or
	 * SIGUSR1 wants them; the plugin calls emit once per counter, with
	 * a short lower_case name (the core shows it as "tls.NAME") and
	 * the total since create(). No upcall may be made from inside.
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
};

#ifdef __cplusplus
}
#endif

#endif /* CULVERT_TRANSPORT_H */
