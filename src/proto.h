/*
 * The control protocol, version 1: what the core says over every link,
 * whatever the transport. Byte by byte in doc/PROTOCOL.md.
 *
 * Every message starts with a type byte. PROTO_DATA carries one inner IP
 * packet and never goes through this codec (it is the fast path); the
 * others are control messages, encoded and decoded here.
 */
#ifndef CULVERT_PROTO_H
#define CULVERT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <culvert/transport.h>

#include "addr.h"

#define PROTO_VERSION 1
/* Largest control message, type byte included. Fits one datagram on any
 * path that carries IPv6 (1280) with room for transport overhead. */
#define PROTO_MAX_CONTROL 1024
#define PROTO_MAX_ROUTES 64
#define PROTO_MAX_TEXT 255
/* DNS servers, and search domains, in one welcome. */
#define PROTO_MAX_DNS 8
/* Networks behind one client (NETWORK4, NETWORK6) in one welcome. */
#define PROTO_MAX_NETWORKS 16

enum proto_type {
	PROTO_DATA = 0x00,
	PROTO_HELLO = 0x01,
	PROTO_WELCOME = 0x02,
	PROTO_REFUSE = 0x03,
	PROTO_KEEPALIVE = 0x04,
	PROTO_BYE = 0x05,
	/* An inner packet with segmentation metadata (a TCP segment of up
	 * to 64 KiB, or a UDP one when both said so with
	 * PROTO_HELLO_DATA_USO, its checksum maybe left to do), to a peer
	 * that said it
	 * takes them (PROTO_HELLO_DATA_GSO, PROTO_FEATURE_DATA_GSO). Fast
	 * path, like PROTO_DATA; see src/datapath/offload.h. */
	PROTO_DATA_GSO = 0x06,
	/* An inner TCP or UDP packet whose checksum is left to the
	 * receiver's kernel (the field holds the pseudo-header's sum), to a
	 * peer that said it takes them (PROTO_HELLO_DATA_PARTIAL,
	 * PROTO_FEATURE_DATA_PARTIAL). Fast path, like PROTO_DATA. */
	PROTO_DATA_PARTIAL = 0x07,
	/* Probes, to a peer that said it answers them
	 * (PROTO_HELLO_PATH_MTU, PROTO_FEATURE_PATH_MTU): a PROBE is padded
	 * to the size it tries, and may be larger than a control message;
	 * the PROBE_ACK says which size arrived. Handled beside the fast
	 * path, not by the control codec; see src/daemon/path_mtu.h. A
	 * client also asks "are you there?" with a small one
	 * (PROTO_PROBE_LIVENESS_LEN, src/client/liveness.c). */
	PROTO_PROBE = 0x08,
	PROTO_PROBE_ACK = 0x09,
	/* A gateway that lost the session (it restarted) says so, in the
	 * clear, with the token it gave in the session's welcome
	 * (PROTO_RESET_TOKEN_LEN bytes at the end): doc/PROTOCOL.md,
	 * "Stateless reset". */
	PROTO_RESET = 0x0a,
	/* A gateway being drained tells a client that takes it
	 * (PROTO_HELLO_MOVE) to start a session with another gateway now,
	 * beside this one: doc/PROTOCOL.md, "Move". */
	PROTO_MOVE = 0x0b,
};

/* A PROTO_DATA_GSO message is this header, then the packet: type,
 * flags, gso type, gso size (doc/PROTOCOL.md, "Large segments"). */
#define PROTO_DATA_GSO_HDR 5

/* A stateless reset token, and the shortest RESET: type and token. */
#define PROTO_RESET_TOKEN_LEN 16
#define PROTO_RESET_MIN (1 + PROTO_RESET_TOKEN_LEN)

/* proto_hello.flags: the client takes PROTO_DATA_GSO, PROTO_DATA_PARTIAL;
 * it answers PROTO_PROBE; it takes PROTO_MOVE (it knows other gateways);
 * it takes PROTO_DATA_GSO of large UDP segments too (CV_GSO_UDP_L4). */
#define PROTO_HELLO_DATA_GSO 0x01
#define PROTO_HELLO_DATA_PARTIAL 0x02
#define PROTO_HELLO_PATH_MTU 0x04
#define PROTO_HELLO_MOVE 0x08
#define PROTO_HELLO_DATA_USO 0x10
/* proto_welcome.features: the server takes them, and answers them. */
#define PROTO_FEATURE_DATA_GSO 0x01
#define PROTO_FEATURE_DATA_PARTIAL 0x02
#define PROTO_FEATURE_PATH_MTU 0x04
#define PROTO_FEATURE_DATA_USO 0x08

/* proto_hello.frames, proto_welcome.frames: what the session's data
 * messages carry. 0 (no FRAMES attribute): inner IP packets, from a TUN
 * device; PROTO_FRAMES_ETHERNET: Ethernet frames, from a TAP device
 * (device-type = tap). Both ends must say the same. */
#define PROTO_FRAMES_ETHERNET 1

/* A PROTO_PROBE is this header (type, id), then zeros up to its size;
 * a PROTO_PROBE_ACK is exactly type, id and the size that arrived. */
#define PROTO_PROBE_HDR 5
#define PROTO_PROBE_ACK_LEN 7
/* The length of a client's "are you there?" probe: long enough for a
 * RESET shorter than it, on udp, where the message is the datagram;
 * shorter than any size a path MTU search tries (PROTO_MAX_CONTROL and
 * up), so that its answer is never taken for one of the search's. */
#define PROTO_PROBE_LIVENESS_LEN 32

/* Why a peer was refused or said bye; sent as one byte. */
enum proto_reason {
	PROTO_REASON_UNSPECIFIED = 0,
	PROTO_REASON_VERSION = 1,	/* protocol version not spoken */
	PROTO_REASON_POOL_EXHAUSTED = 2,
	PROTO_REASON_SHUTDOWN = 3,	/* the sender is stopping */
	PROTO_REASON_TIMEOUT = 4,	/* no keepalive within the timeout */
	PROTO_REASON_PROTOCOL = 5,	/* a message the sender could not accept */
	PROTO_REASON_AUTH = 6,		/* authentication failed */
	PROTO_REASON_POLICY = 7,	/* refused by configuration */
	PROTO_REASON_BUSY = 8,		/* not now: try again later */
	PROTO_REASON_REPLACED = 9,	/* a new session of the peer took over */
	PROTO_REASON_DRAINING = 10,	/* the gateway is drained: use another */
};

struct proto_hello {
	uint8_t version;
	uint8_t flags;		/* PROTO_HELLO_* */
	uint32_t nonce;		/* the client's choice; echoed in welcome */
	/* Credentials, when the server asks for a password: NUL-terminated,
	 * empty when absent. Sent only over a secure transport. */
	char username[PROTO_MAX_TEXT + 1];
	char password[PROTO_MAX_TEXT + 1];
	/* The inner address the client had before (family 0 when none): the
	 * server gives it back if it can, across its own restart too. */
	struct cv_addr previous4;
	struct cv_addr previous6;	/* the same for IPv6 (pool6) */
	uint8_t frames;			/* 0, or PROTO_FRAMES_ETHERNET */
};

struct proto_welcome {
	uint32_t nonce;
	struct cv_prefix addr4;		/* client's address, pool's length */
	struct cv_addr server4;		/* the gateway's inner address */
	/* IPv6 inside (pool6): family 0 when the server has no pool6. */
	struct cv_prefix addr6;
	struct cv_addr server6;
	uint16_t mtu;
	uint16_t keepalive_interval;	/* seconds */
	uint16_t keepalive_timeout;	/* seconds */
	unsigned int n_routes;
	struct cv_prefix routes[PROTO_MAX_ROUTES];
	/* DNS servers (IPv4 or IPv6) and search domains, in the server's
	 * order; domains checked by proto_dns_domain_valid. */
	unsigned int n_dns;
	struct cv_addr dns[PROTO_MAX_DNS];
	unsigned int n_dns_domains;
	char dns_domains[PROTO_MAX_DNS][PROTO_MAX_TEXT + 1];
	uint8_t features;		/* PROTO_FEATURE_*; 0: none, not sent */
	/* The networks behind this client that the server routes to it (a
	 * site's LAN): for the client to forward for, never to route into
	 * the tunnel. IPv4 and IPv6, in the server's order. */
	unsigned int n_networks;
	struct cv_prefix networks[PROTO_MAX_NETWORKS];
	/* PROTO_FRAMES_ETHERNET: a layer 2 welcome, which carries no
	 * addresses, routes, networks or DNS (the client's come from the
	 * LAN); 0: an IP one. */
	uint8_t frames;
	/* What a RESET from this server for this session will carry. */
	bool has_reset_token;
	uint8_t reset_token[PROTO_RESET_TOKEN_LEN];
};

struct proto_refuse {
	uint8_t reason;			/* enum proto_reason */
	char text[PROTO_MAX_TEXT + 1];	/* printable ASCII, NUL-terminated */
};

struct proto_bye {
	uint8_t reason;
};

/* Encoded as len bytes: the type, len - PROTO_RESET_MIN bytes of zeros,
 * the token. Decoded: the token (the last bytes), and len. */
struct proto_reset {
	uint16_t len;
	uint8_t token[PROTO_RESET_TOKEN_LEN];
};

struct proto_msg {
	uint8_t type;			/* enum proto_type, never PROTO_DATA */
	union {
		struct proto_hello hello;
		struct proto_welcome welcome;
		struct proto_refuse refuse;
		struct proto_bye bye;
		struct proto_reset reset;
	};
};

/* Encode m into buf. Returns the length, -ENOSPC when buf is too small,
 * -EINVAL when m cannot be encoded (an unknown type, too many routes). */
ssize_t proto_encode(const struct proto_msg *m, uint8_t *buf, size_t size);

/* Decode one control message. Returns 0, or -EBADMSG with *why set to a
 * phrase naming what was wrong ("truncated welcome", "route 3 has host
 * bits set"), valid until the next call on this thread: log it at once.
 * Never reads past len; never trusts a length field. */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *m,
		 const char **why);

/* The PROTO_DATA_GSO header of a packet with segmentation seg, into h:
 * the fast path writes it in place, before the packet. */
void proto_put_data_gso(uint8_t h[PROTO_DATA_GSO_HDR],
			const struct cv_segmentation *seg);
/* What the PROTO_DATA_GSO message msg (len bytes) says of its packet:
 * flags, gso_type and gso_size, for offload_check to verify against the
 * packet and complete. -EBADMSG when no packet follows the header. */
int proto_get_data_gso(const uint8_t *msg, size_t len,
		       struct cv_segmentation *seg);

/* The header of a PROTO_PROBE with id, into h. */
void proto_put_probe(uint8_t h[PROTO_PROBE_HDR], uint32_t id);
/* A PROTO_PROBE's id; -EBADMSG when msg is shorter than its header. */
int proto_get_probe(const uint8_t *msg, size_t len, uint32_t *id);
/* The PROTO_PROBE_ACK of a probe with id that arrived with size bytes
 * (more than 65535 is said as 65535). */
void proto_put_probe_ack(uint8_t out[PROTO_PROBE_ACK_LEN], uint32_t id,
			 size_t size);
/* A PROTO_PROBE_ACK's id and size; -EBADMSG unless it is exactly
 * PROTO_PROBE_ACK_LEN bytes. */
int proto_get_probe_ack(const uint8_t *msg, size_t len, uint32_t *id,
			size_t *size);

/* Whether name is a DNS search domain culvert passes on: 1-253 of
 * letters, digits, '-', '_' and '.', or '~' then those (a routing-only
 * domain, as systemd-resolved calls it). It reaches resolvers and the
 * environment of scripts, so nothing else is let through. */
bool proto_dns_domain_valid(const char *name);

const char *proto_type_name(uint8_t type);
const char *proto_reason_name(uint8_t reason);

#endif
