/*
 * RADIUS packets (RFC 2865, 2866) as culvertd speaks them to its RADIUS
 * servers: a request built attribute by attribute, then sealed with the
 * shared secret (the User-Password hidden, the Message-Authenticator of
 * RFC 3579 or the Accounting Request Authenticator computed); and a
 * reply checked before anything in it is believed: its length, its
 * identifier, its Response Authenticator, its Message-Authenticator when
 * it carries one. Pure functions, no sockets; MD5 and HMAC-MD5 come from
 * GnuTLS.
 *
 * Why not radcli's: radcli 1.2.11 (Debian 12) reads a reply whose
 * Response Authenticator does not check as a good one (rc_send_server
 * loses rc_check_reply's verdict), so a forged Access-Accept would let
 * anyone in, and a wrong shared secret cannot be told from a refusal.
 */
#ifndef CULVERT_RADIUS_PACKET_H
#define CULVERT_RADIUS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RADIUS_PACKET_MAX 4096	/* RFC 2865 3 */
#define RADIUS_HEADER 20
#define RADIUS_AUTH_LEN 16
#define RADIUS_VALUE_MAX 253	/* one attribute's value */
#define RADIUS_PASSWORD_MAX 128	/* RFC 2865 5.2 */
#define RADIUS_SECRET_MAX 256

enum radius_code {
	RADIUS_ACCESS_REQUEST = 1,
	RADIUS_ACCESS_ACCEPT = 2,
	RADIUS_ACCESS_REJECT = 3,
	RADIUS_ACCOUNTING_REQUEST = 4,
	RADIUS_ACCOUNTING_RESPONSE = 5,
	RADIUS_ACCESS_CHALLENGE = 11,
};

/* The attributes culvertd sends or reads (RFC 2865, 2866, 2869, 3162,
 * 6911). */
enum radius_attr {
	RADIUS_USER_NAME = 1,
	RADIUS_USER_PASSWORD = 2,
	RADIUS_NAS_IP_ADDRESS = 4,
	RADIUS_NAS_PORT = 5,
	RADIUS_SERVICE_TYPE = 6,
	RADIUS_FRAMED_IP_ADDRESS = 8,
	RADIUS_FILTER_ID = 11,
	RADIUS_REPLY_MESSAGE = 18,
	RADIUS_FRAMED_ROUTE = 22,
	RADIUS_CLASS = 25,
	RADIUS_SESSION_TIMEOUT = 27,
	RADIUS_IDLE_TIMEOUT = 28,
	RADIUS_CALLING_STATION_ID = 31,
	RADIUS_NAS_IDENTIFIER = 32,
	RADIUS_ACCT_STATUS_TYPE = 40,
	RADIUS_ACCT_DELAY_TIME = 41,
	RADIUS_ACCT_INPUT_OCTETS = 42,
	RADIUS_ACCT_OUTPUT_OCTETS = 43,
	RADIUS_ACCT_SESSION_ID = 44,
	RADIUS_ACCT_AUTHENTIC = 45,
	RADIUS_ACCT_SESSION_TIME = 46,
	RADIUS_ACCT_INPUT_PACKETS = 47,
	RADIUS_ACCT_OUTPUT_PACKETS = 48,
	RADIUS_ACCT_TERMINATE_CAUSE = 49,
	RADIUS_ACCT_INPUT_GIGAWORDS = 52,
	RADIUS_ACCT_OUTPUT_GIGAWORDS = 53,
	RADIUS_EVENT_TIMESTAMP = 55,
	RADIUS_NAS_PORT_TYPE = 61,
	RADIUS_CONNECT_INFO = 77,
	RADIUS_MESSAGE_AUTHENTICATOR = 80,
	RADIUS_ACCT_INTERIM_INTERVAL = 85,
	RADIUS_NAS_IPV6_ADDRESS = 95,
	RADIUS_FRAMED_IPV6_ROUTE = 99,
	RADIUS_FRAMED_IPV6_ADDRESS = 168,
};

/* A request being built, and sealed. */
struct radius_packet {
	size_t len;
	size_t ma_at;		/* where the Message-Authenticator's value
				 * is; 0: none */
	uint8_t buf[RADIUS_PACKET_MAX];
};

/* The header of a request of code with identifier id; an Access-Request
 * gets its random Request Authenticator here (-EIO when the system has
 * no randomness to give). */
int radius_packet_start(struct radius_packet *p, uint8_t code, uint8_t id);
/* One attribute. -EINVAL for a value over 253 bytes, -EMSGSIZE when the
 * packet is full. */
int radius_add(struct radius_packet *p, uint8_t type, const void *value,
	       size_t len);
int radius_add_u32(struct radius_packet *p, uint8_t type, uint32_t value);
int radius_add_text(struct radius_packet *p, uint8_t type, const char *text);
/* Attributes already encoded (type, length, value...), as
 * radius_packet.len - RADIUS_HEADER bytes of another packet hold them. */
int radius_add_raw(struct radius_packet *p, const uint8_t *attrs, size_t len);
/* User-Password, hidden with the secret and the Request Authenticator
 * (RFC 2865 5.2). -EINVAL above RADIUS_PASSWORD_MAX bytes. */
int radius_add_password(struct radius_packet *p, const char *password,
			const uint8_t *secret, size_t secret_len);
/* A Message-Authenticator (RFC 3579 3.2), filled by radius_seal. First
 * in a request, as servers that fend off the forgeries of CVE-2024-3596
 * ("Blast-RADIUS") look for it there. */
int radius_add_message_authenticator(struct radius_packet *p);
/* The length in the header, then what the secret signs: an
 * Access-Request's Message-Authenticator, an Accounting-Request's
 * Request Authenticator (RFC 2866 3). -EIO when GnuTLS will not compute
 * MD5 (a system in FIPS mode). */
int radius_seal(struct radius_packet *p, const uint8_t *secret,
		size_t secret_len);

enum radius_check {
	RADIUS_REPLY_OK = 0,
	RADIUS_REPLY_MALFORMED,		/* lengths that do not add up */
	RADIUS_REPLY_TOO_BIG,		/* over 4096 bytes */
	RADIUS_REPLY_OTHER_ID,		/* an answer to another request */
	RADIUS_REPLY_BAD_AUTHENTICATOR,	/* not signed with our secret */
	RADIUS_REPLY_BAD_MESSAGE_AUTHENTICATOR,
	RADIUS_REPLY_UNEXPECTED_CODE,	/* no answer to this request */
};

/* Whether reply (len bytes, as received) is the server's answer to
 * request, sealed with the same secret. *why: a phrase for the log. */
enum radius_check radius_reply_check(const uint8_t *reply, size_t len,
				     const struct radius_packet *request,
				     const uint8_t *secret, size_t secret_len,
				     const char **why);

/* The attributes of a packet that passed radius_reply_check (or of a
 * request), in order. */
struct radius_attrs {
	const uint8_t *at, *end;
};
void radius_attrs_init(struct radius_attrs *it, const uint8_t *packet);
bool radius_attrs_next(struct radius_attrs *it, uint8_t *type,
		       const uint8_t **value, size_t *len);

#endif
