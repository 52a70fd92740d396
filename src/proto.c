/*
 * The control protocol codec, version 1. doc/PROTOCOL.md is the
 * specification; this file follows it section by section.
 *
 * Everything decoded here comes from the network before (and after)
 * authentication, so the decoder checks every length against the bytes it
 * was given, never against a length field alone, and allocates nothing.
 */
#include "proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "wire.h"

/* Bytes before the attributes, type byte included. */
#define HELLO_FIXED 7	/* type, version, flags, nonce */
#define WELCOME_FIXED 5	/* type, nonce */
#define REFUSE_FIXED 2	/* type, reason */
#define BYE_LEN 2	/* type, reason; nothing may follow */
#define TLV_HEADER 2	/* attribute type, value length */

/* Attribute types. Bit 0x80 marks an attribute as critical: a receiver
 * that does not know it must reject the message instead of skipping it,
 * because acting on the rest without it would be wrong. */
enum attr_type {
	ATTR_ADDR4 = 0x01,
	ATTR_ROUTE4 = 0x02,
	ATTR_MTU = 0x03,
	ATTR_KEEPALIVE = 0x04,
	ATTR_SERVER4 = 0x05,
	ATTR_MESSAGE = 0x06,
	ATTR_ROUTE6 = 0x07,
	ATTR_USERNAME = 0x09,
	ATTR_PASSWORD = 0x0a,
	ATTR_PREVIOUS4 = 0x0b,
	/* The inner IPv6 address. Non-critical: a client that predates them
	 * skips them and runs the tunnel on IPv4 alone. */
	ATTR_ADDR6 = 0x08,
	ATTR_SERVER6 = 0x0c,
	ATTR_PREVIOUS6 = 0x0d,
	ATTR_DNS = 0x0e,
	ATTR_DNS_DOMAIN = 0x0f,
	ATTR_FEATURES = 0x11,
	/* Networks behind the client. Non-critical: a client that predates
	 * them runs as a road warrior, and its site is reached only when it
	 * forwards by itself. */
	ATTR_NETWORK4 = 0x12,
	ATTR_NETWORK6 = 0x13,
	/* Non-critical: a client that cannot use it runs as before. */
	ATTR_RESET_TOKEN = 0x14,
	ATTR_CRITICAL = 0x80,
	/* What data messages carry: Ethernet frames (a TAP device). Critical:
	 * a peer that does not know it would take frames for IP packets. */
	ATTR_FRAMES = 0xa0,
};

#define BIT(n) (1u << (n))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The attribute types a message has shown: one bit for each of 256. */
struct attr_seen {
	uint64_t bits[4];
};

static bool attr_seen(const struct attr_seen *seen, unsigned int type)
{
	return seen->bits[type / 64] & (UINT64_C(1) << type % 64);
}

static void attr_see(struct attr_seen *seen, unsigned int type)
{
	seen->bits[type / 64] |= UINT64_C(1) << type % 64;
}

/* How one attribute value is checked and stored. v holds exactly the
 * length the table allows. */
typedef int attr_parser(const uint8_t *v, size_t len, struct proto_msg *m,
			const char **why);

struct attr {
	const char *name;	/* as errors and doc/PROTOCOL.md name it */
	uint8_t len;		/* exact value length; 0: 1-255 bytes */
	bool repeatable;
	unsigned int allowed;	/* BIT(message type) where it may appear */
	unsigned int required;	/* BIT(message type) where it must */
	attr_parser *parse;
};

static attr_parser parse_addr4, parse_route4, parse_route6, parse_mtu,
	parse_keepalive, parse_server4, parse_message, parse_username,
	parse_password, parse_previous4, parse_addr6, parse_server6,
	parse_previous6, parse_dns, parse_dns_domain, parse_features,
	parse_network4, parse_network6, parse_reset_token, parse_frames;

#define IN_HELLO BIT(PROTO_HELLO)
#define IN_WELCOME BIT(PROTO_WELCOME)
#define IN_REFUSE BIT(PROTO_REFUSE)

static const struct attr attrs[] = {
	/* Not required: a welcome needs ADDR4 or ADDR6, which
	 * decode_welcome checks, since the table has no "one of". */
	[ATTR_ADDR4] = { .name = "ADDR4", .len = 5, .allowed = IN_WELCOME,
			 .parse = parse_addr4 },
	[ATTR_ROUTE4] = { .name = "ROUTE4", .len = 5, .repeatable = true,
			  .allowed = IN_WELCOME, .parse = parse_route4 },
	[ATTR_MTU] = { .name = "MTU", .len = 2, .allowed = IN_WELCOME,
		       .required = IN_WELCOME, .parse = parse_mtu },
	[ATTR_KEEPALIVE] = { .name = "KEEPALIVE", .len = 4,
			     .allowed = IN_WELCOME, .required = IN_WELCOME,
			     .parse = parse_keepalive },
	[ATTR_SERVER4] = { .name = "SERVER4", .len = 4, .allowed = IN_WELCOME,
			   .parse = parse_server4 },
	[ATTR_MESSAGE] = { .name = "MESSAGE", .len = 0, .allowed = IN_REFUSE,
			   .parse = parse_message },
	[ATTR_ROUTE6] = { .name = "ROUTE6", .len = 17, .repeatable = true,
			  .allowed = IN_WELCOME, .parse = parse_route6 },
	[ATTR_USERNAME] = { .name = "USERNAME", .len = 0, .allowed = IN_HELLO,
			    .parse = parse_username },
	[ATTR_PASSWORD] = { .name = "PASSWORD", .len = 0, .allowed = IN_HELLO,
			    .parse = parse_password },
	[ATTR_PREVIOUS4] = { .name = "PREVIOUS4", .len = 4, .allowed = IN_HELLO,
			     .parse = parse_previous4 },
	[ATTR_ADDR6] = { .name = "ADDR6", .len = 17, .allowed = IN_WELCOME,
			 .parse = parse_addr6 },
	[ATTR_SERVER6] = { .name = "SERVER6", .len = 16, .allowed = IN_WELCOME,
			   .parse = parse_server6 },
	[ATTR_PREVIOUS6] = { .name = "PREVIOUS6", .len = 16,
			     .allowed = IN_HELLO, .parse = parse_previous6 },
	/* len 0: DNS is 4 or 16 bytes, which parse_dns checks. */
	[ATTR_DNS] = { .name = "DNS", .len = 0, .repeatable = true,
		       .allowed = IN_WELCOME, .parse = parse_dns },
	[ATTR_DNS_DOMAIN] = { .name = "DNS_DOMAIN", .len = 0,
			      .repeatable = true, .allowed = IN_WELCOME,
			      .parse = parse_dns_domain },
	[ATTR_FEATURES] = { .name = "FEATURES", .len = 1, .allowed = IN_WELCOME,
			    .parse = parse_features },
	[ATTR_NETWORK4] = { .name = "NETWORK4", .len = 5, .repeatable = true,
			    .allowed = IN_WELCOME, .parse = parse_network4 },
	[ATTR_NETWORK6] = { .name = "NETWORK6", .len = 17, .repeatable = true,
			    .allowed = IN_WELCOME, .parse = parse_network6 },
	[ATTR_FRAMES] = { .name = "FRAMES", .len = 1,
			  .allowed = IN_HELLO | IN_WELCOME, .parse = parse_frames },
	[ATTR_RESET_TOKEN] = { .name = "RESET_TOKEN",
			       .len = PROTO_RESET_TOKEN_LEN,
			       .allowed = IN_WELCOME,
			       .parse = parse_reset_token },
};

static const struct attr *attr_find(uint8_t type)
{
	if (type >= ARRAY_SIZE(attrs) || !attrs[type].name)
		return NULL;
	return &attrs[type];
}

/* ---- reasons for rejecting a message */

/* Most reasons are string literals. The few that quote a value from the
 * wire ("route 3 has host bits set") are formatted into this buffer:
 * static storage, so nothing is allocated and the caller frees nothing;
 * per thread, so loops on different threads cannot overwrite each other's
 * reason. The phrase stays valid until the next proto_decode (or
 * proto_encode) on the same thread, long enough to log it. */
static _Thread_local char why_buf[96];

static int bad(const char **why, const char *phrase)
{
	*why = phrase;
	return -EBADMSG;
}

__attribute__((format(printf, 2, 3)))
static int badf(const char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why_buf, sizeof(why_buf), fmt, ap);
	va_end(ap);
	*why = why_buf;
	return -EBADMSG;
}

/* ---- attribute values */

static size_t family_bytes(sa_family_t family)
{
	return family == AF_INET ? 4 : 16;
}

/* An address and a prefix length, as ADDR4, ROUTE4 and ROUTE6 carry them.
 * cv_addr's bytes[] overlays v4 and v6, so one copy serves both. */
static void get_prefix(const uint8_t *v, sa_family_t family,
		       struct cv_prefix *p)
{
	size_t n = family_bytes(family);

	p->addr.family = family;
	memcpy(p->addr.bytes, v, n);
	p->len = v[n];
}

/* Whether every bit after the first len of the n-byte address a is 0. */
static bool host_bits_zero(const uint8_t *a, size_t n, unsigned int len)
{
	for (size_t i = len / 8; i < n; i++) {
		uint8_t host = i == len / 8 ? (uint8_t)(0xff >> len % 8) : 0xff;
		if (a[i] & host)
			return false;
	}
	return true;
}

static int parse_addr4(const uint8_t *v, size_t len, struct proto_msg *m,
		       const char **why)
{
	struct cv_prefix *p = &m->welcome.addr4;

	get_prefix(v, AF_INET, p);
	/* The length is the pool's: it tells the client which addresses are
	 * on the tunnel. /0 would put the whole internet there. */
	if (p->len < 1 || p->len > 32)
		return badf(why, "ADDR4 prefix length %u out of range 1-32",
			    p->len);
	return 0;
}

static int parse_addr6(const uint8_t *v, size_t len, struct proto_msg *m,
		       const char **why)
{
	struct cv_prefix *p = &m->welcome.addr6;

	get_prefix(v, AF_INET6, p);
	/* As for ADDR4: the pool's length; ::/0 on the tunnel is wrong. */
	if (p->len < 1 || p->len > 128)
		return badf(why, "ADDR6 prefix length %u out of range 1-128",
			    p->len);
	return 0;
}

/* ROUTE4 and ROUTE6 share one numbering, and one limit, so a peer cannot
 * get past PROTO_MAX_ROUTES by mixing families. Routes are counted from 1
 * in the order they appear, as a person reading a dump would. */
static int parse_route(const uint8_t *v, sa_family_t family,
		       struct proto_msg *m, const char **why)
{
	struct proto_welcome *w = &m->welcome;
	size_t n = family_bytes(family);
	unsigned int nth = w->n_routes + 1, bits = (unsigned int)n * 8;

	if (w->n_routes == PROTO_MAX_ROUTES)
		return badf(why, "more than %d routes", PROTO_MAX_ROUTES);
	if (v[n] > bits)
		return badf(why, "route %u prefix length %u out of range 0-%u",
			    nth, v[n], bits);
	/* A route with host bits is a typo on the server ("198.51.100.1/24");
	 * installing it as a network would hide which one was meant. */
	if (!host_bits_zero(v, n, v[n]))
		return badf(why, "route %u has host bits set", nth);
	get_prefix(v, family, &w->routes[w->n_routes++]);
	return 0;
}

static int parse_route4(const uint8_t *v, size_t len, struct proto_msg *m,
			const char **why)
{
	return parse_route(v, AF_INET, m, why);
}

static int parse_route6(const uint8_t *v, size_t len, struct proto_msg *m,
			const char **why)
{
	return parse_route(v, AF_INET6, m, why);
}

/* NETWORK4 and NETWORK6 share one numbering and one limit, as routes
 * do. A network of length 0 would be every address: no site is. */
static int parse_network(const uint8_t *v, sa_family_t family,
			 struct proto_msg *m, const char **why)
{
	struct proto_welcome *w = &m->welcome;
	size_t n = family_bytes(family);
	unsigned int nth = w->n_networks + 1, bits = (unsigned int)n * 8;

	if (w->n_networks == PROTO_MAX_NETWORKS)
		return badf(why, "more than %d networks", PROTO_MAX_NETWORKS);
	if (v[n] < 1 || v[n] > bits)
		return badf(why, "network %u prefix length %u out of range 1-%u",
			    nth, v[n], bits);
	if (!host_bits_zero(v, n, v[n]))
		return badf(why, "network %u has host bits set", nth);
	get_prefix(v, family, &w->networks[w->n_networks++]);
	return 0;
}

static int parse_network4(const uint8_t *v, size_t len, struct proto_msg *m,
			  const char **why)
{
	return parse_network(v, AF_INET, m, why);
}

static int parse_network6(const uint8_t *v, size_t len, struct proto_msg *m,
			  const char **why)
{
	return parse_network(v, AF_INET6, m, why);
}

static int parse_mtu(const uint8_t *v, size_t len, struct proto_msg *m,
		     const char **why)
{
	m->welcome.mtu = get16(v);
	/* 576 is the datagram every IPv4 host must accept (RFC 791); a
	 * smaller tunnel MTU cannot carry the traffic users expect. */
	if (m->welcome.mtu < 576)
		return badf(why, "MTU %u out of range 576-65535",
			    m->welcome.mtu);
	return 0;
}

static int parse_keepalive(const uint8_t *v, size_t len, struct proto_msg *m,
			   const char **why)
{
	struct proto_welcome *w = &m->welcome;

	w->keepalive_interval = get16(v);
	w->keepalive_timeout = get16(v + 2);
	/* Interval 0 would make the client send keepalives without pause; a
	 * timeout not above the interval would end healthy, idle sessions. */
	if (w->keepalive_interval < 1)
		return bad(why, "keepalive interval 0, expected at least 1");
	if (w->keepalive_timeout <= w->keepalive_interval)
		return badf(why, "keepalive timeout %u not above interval %u",
			    w->keepalive_timeout, w->keepalive_interval);
	return 0;
}

static int parse_server4(const uint8_t *v, size_t len, struct proto_msg *m,
			 const char **why)
{
	m->welcome.server4.family = AF_INET;
	memcpy(m->welcome.server4.bytes, v, 4);
	return 0;
}

static int parse_server6(const uint8_t *v, size_t len, struct proto_msg *m,
			 const char **why)
{
	m->welcome.server6.family = AF_INET6;
	memcpy(m->welcome.server6.bytes, v, 16);
	return 0;
}

static int parse_message(const uint8_t *v, size_t len, struct proto_msg *m,
			 const char **why)
{
	/* The text ends up in logs and on terminals: anything but printable
	 * ASCII could forge log lines or send escape sequences. */
	for (size_t i = 0; i < len; i++)
		m->refuse.text[i] = v[i] >= 0x20 && v[i] <= 0x7e ? (char)v[i]
								  : '?';
	m->refuse.text[len] = '\0';
	return 0;
}

/* A credential is a C string to the rest of culvertd: a NUL inside
 * would cut it short, so that user "alice\0x" could pass as "alice". */
static int get_credential(const uint8_t *v, size_t len, char *out,
			  const char *name, const char **why)
{
	if (memchr(v, '\0', len))
		return badf(why, "%s contains a NUL byte", name);
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

static int parse_username(const uint8_t *v, size_t len, struct proto_msg *m,
			  const char **why)
{
	return get_credential(v, len, m->hello.username, "USERNAME", why);
}

static int parse_password(const uint8_t *v, size_t len, struct proto_msg *m,
			  const char **why)
{
	return get_credential(v, len, m->hello.password, "PASSWORD", why);
}

static int parse_previous4(const uint8_t *v, size_t len, struct proto_msg *m,
			   const char **why)
{
	m->hello.previous4.family = AF_INET;
	memcpy(m->hello.previous4.bytes, v, 4);
	return 0;
}

static int parse_previous6(const uint8_t *v, size_t len, struct proto_msg *m,
			   const char **why)
{
	m->hello.previous6.family = AF_INET6;
	memcpy(m->hello.previous6.bytes, v, 16);
	return 0;
}

static int parse_dns(const uint8_t *v, size_t len, struct proto_msg *m,
		     const char **why)
{
	struct proto_welcome *w = &m->welcome;

	if (len != 4 && len != 16)
		return badf(why, "DNS length %zu, expected 4 or 16", len);
	if (w->n_dns == PROTO_MAX_DNS)
		return badf(why, "more than %d DNS servers", PROTO_MAX_DNS);
	struct cv_addr *a = &w->dns[w->n_dns++];
	a->family = len == 4 ? AF_INET : AF_INET6;
	memcpy(a->bytes, v, len);
	return 0;
}

bool proto_dns_domain_valid(const char *name)
{
	bool routing_only = *name == '~';

	if (routing_only)
		name++;
	size_t len = strlen(name);
	/* "~." is resolved's "every domain": send every query here. */
	if (routing_only && strcmp(name, ".") == 0)
		return true;
	if (len == 0)
		return false;
	if (len > 253 || *name == '.' || strstr(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
		      *c == '.'))
			return false;
	return true;
}

static int parse_dns_domain(const uint8_t *v, size_t len, struct proto_msg *m,
			    const char **why)
{
	struct proto_welcome *w = &m->welcome;
	unsigned int nth = w->n_dns_domains + 1;

	if (w->n_dns_domains == PROTO_MAX_DNS)
		return badf(why, "more than %d DNS domains", PROTO_MAX_DNS);
	char *out = w->dns_domains[w->n_dns_domains];
	if (memchr(v, '\0', len))
		return badf(why, "DNS_DOMAIN %u contains a NUL byte", nth);
	memcpy(out, v, len);
	out[len] = '\0';
	if (!proto_dns_domain_valid(out))
		return badf(why, "DNS_DOMAIN %u is not a domain name", nth);
	w->n_dns_domains++;
	return 0;
}

/* Bits this version does not know are a later version's: kept, since
 * the receiver acts only on the bits it knows. */
static int parse_features(const uint8_t *v, size_t len, struct proto_msg *m,
			  const char **why)
{
	m->welcome.features = v[0];
	return 0;
}

/* Ethernet is the one kind of frame there is; another value is a
 * later version's, which this one cannot carry. */
static int parse_frames(const uint8_t *v, size_t len, struct proto_msg *m,
			const char **why)
{
	if (v[0] != PROTO_FRAMES_ETHERNET)
		return badf(why, "FRAMES %u unknown, expected %u (Ethernet)",
			    v[0], PROTO_FRAMES_ETHERNET);
	if (m->type == PROTO_HELLO)
		m->hello.frames = v[0];
	else
		m->welcome.frames = v[0];
	return 0;
}

static int parse_reset_token(const uint8_t *v, size_t len,
			     struct proto_msg *m, const char **why)
{
	m->welcome.has_reset_token = true;
	memcpy(m->welcome.reset_token, v, PROTO_RESET_TOKEN_LEN);
	return 0;
}

/* ---- decoding */

/* Whether vlen is a length the table allows for a. */
static int check_len(const struct attr *a, size_t vlen, const char **why)
{
	if (a->len == 0 && vlen == 0)
		return badf(why, "%s length 0, expected 1-255", a->name);
	if (a->len != 0 && vlen != a->len)
		return badf(why, "%s length %zu, expected %u", a->name, vlen,
			    a->len);
	return 0;
}

/* The attributes that follow a message's fixed part, up to len. */
static int decode_attrs(const uint8_t *p, size_t len, struct proto_msg *m,
			const char **why)
{
	struct attr_seen seen = { { 0 } };
	const char *msg = proto_type_name(m->type);

	while (len > 0) {
		if (len < TLV_HEADER || p[1] > len - TLV_HEADER)
			return bad(why, "truncated attribute");
		uint8_t type = p[0], vlen = p[1];
		const uint8_t *v = p + TLV_HEADER;
		p += TLV_HEADER + vlen;
		len -= TLV_HEADER + vlen;

		const struct attr *a = attr_find(type);
		if (!a) {
			if (type & ATTR_CRITICAL)
				return badf(why,
					    "unknown critical attribute 0x%02x",
					    type);
			continue;	/* a newer peer's extra: safe to skip */
		}
		if (!(a->allowed & BIT(m->type)))
			return badf(why, "%s not allowed in %s", a->name, msg);
		if (attr_seen(&seen, type) && !a->repeatable)
			return badf(why, "duplicate %s in %s", a->name, msg);
		attr_see(&seen, type);
		int err = check_len(a, vlen, why);
		if (err == 0)
			err = a->parse(v, vlen, m, why);
		if (err)
			return err;
	}
	for (size_t t = 0; t < ARRAY_SIZE(attrs); t++)
		if ((attrs[t].required & BIT(m->type)) &&
		    !attr_seen(&seen, (unsigned int)t))
			return badf(why, "%s without %s", msg, attrs[t].name);
	return 0;
}

static int decode_hello(const uint8_t *buf, size_t len, struct proto_msg *m,
			const char **why)
{
	if (len < HELLO_FIXED)
		return bad(why, "truncated hello");
	m->hello.version = buf[1];
	/* Flags this version does not know are ignored: a later version
	 * may define bits without breaking version 1 servers. */
	m->hello.flags = buf[2];
	m->hello.nonce = get32(buf + 3);
	/* Another version's attributes mean what that version says. Decode
	 * only what every version shares, so the session can answer with a
	 * REFUSE "unsupported protocol version" instead of a protocol
	 * error about an attribute it was never meant to understand. */
	if (m->hello.version != PROTO_VERSION)
		return 0;
	return decode_attrs(buf + HELLO_FIXED, len - HELLO_FIXED, m, why);
}

/* A layer 2 client is a host on the LAN: its addresses, routes and DNS
 * come from there (DHCP, router advertisements) or its own
 * configuration, so a welcome that names any is a server's mistake. */
static int layer2_welcome_check(const struct proto_welcome *w,
				const char **why)
{
	const char *what = NULL;

	if (w->addr4.addr.family || w->server4.family)
		what = "ADDR4 or SERVER4";
	else if (w->addr6.addr.family || w->server6.family)
		what = "ADDR6 or SERVER6";
	else if (w->n_routes)
		what = "ROUTE4 or ROUTE6";
	else if (w->n_networks)
		what = "NETWORK4 or NETWORK6";
	else if (w->n_dns || w->n_dns_domains)
		what = "DNS or DNS_DOMAIN";
	return what ? badf(why, "%s in a welcome with FRAMES (layer 2)", what)
		    : 0;
}

static int decode_welcome(const uint8_t *buf, size_t len,
			  struct proto_msg *m, const char **why)
{
	if (len < WELCOME_FIXED)
		return bad(why, "truncated welcome");
	m->welcome.nonce = get32(buf + 1);
	int err = decode_attrs(buf + WELCOME_FIXED, len - WELCOME_FIXED, m,
			       why);
	if (err)
		return err;
	if (m->welcome.frames)
		return layer2_welcome_check(&m->welcome, why);
	/* An IPv4-only, dual-stack or IPv6-only tunnel: at least one inner
	 * address, or the client has nothing to put on its device. */
	if (m->welcome.addr4.addr.family != AF_INET &&
	    m->welcome.addr6.addr.family != AF_INET6)
		return bad(why, "welcome without ADDR4 or ADDR6");
	return 0;
}

static int decode_refuse(const uint8_t *buf, size_t len, struct proto_msg *m,
			 const char **why)
{
	if (len < REFUSE_FIXED)
		return bad(why, "truncated refuse");
	/* Any reason byte is accepted: a newer peer may know more reasons,
	 * and proto_reason_name() says "unknown" for them. */
	m->refuse.reason = buf[1];
	return decode_attrs(buf + REFUSE_FIXED, len - REFUSE_FIXED, m, why);
}

static int decode_bye(const uint8_t *buf, size_t len, struct proto_msg *m,
		      const char **why)
{
	if (len < BYE_LEN)
		return bad(why, "truncated bye");
	if (len > BYE_LEN)
		return bad(why, "bye with trailing bytes");
	m->bye.reason = buf[1];
	return 0;
}

/* Whatever comes before the token is padding, of any value: the
 * receiver compares the token and nothing else. */
static int decode_reset(const uint8_t *buf, size_t len, struct proto_msg *m,
			const char **why)
{
	if (len < PROTO_RESET_MIN)
		return bad(why, "truncated reset");
	m->reset.len = (uint16_t)len;
	memcpy(m->reset.token, buf + len - PROTO_RESET_TOKEN_LEN,
	       PROTO_RESET_TOKEN_LEN);
	return 0;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *m,
		 const char **why)
{
	memset(m, 0, sizeof(*m));
	if (len == 0)
		return bad(why, "empty message");
	m->type = buf[0];
	if (m->type == PROTO_DATA)
		return bad(why, "data is not a control message");
	if (len > PROTO_MAX_CONTROL)
		return badf(why, "oversized control message (%zu bytes, at most %d)",
			    len, PROTO_MAX_CONTROL);
	switch (m->type) {
	case PROTO_HELLO:
		return decode_hello(buf, len, m, why);
	case PROTO_WELCOME:
		return decode_welcome(buf, len, m, why);
	case PROTO_REFUSE:
		return decode_refuse(buf, len, m, why);
	case PROTO_KEEPALIVE:
		return len == 1 ? 0 : bad(why, "keepalive with trailing bytes");
	case PROTO_MOVE:
		return len == 1 ? 0 : bad(why, "move with trailing bytes");
	case PROTO_BYE:
		return decode_bye(buf, len, m, why);
	case PROTO_RESET:
		return decode_reset(buf, len, m, why);
	default:
		return badf(why, "unknown message type 0x%02x", m->type);
	}
}

/* ---- the fast path's one header: PROTO_DATA_GSO */

#define DATA_GSO_F_NEEDS_CSUM 0x01

void proto_put_data_gso(uint8_t h[PROTO_DATA_GSO_HDR],
			const struct cv_segmentation *seg)
{
	h[0] = PROTO_DATA_GSO;
	h[1] = seg->flags & CV_MSG_NEEDS_CSUM ? DATA_GSO_F_NEEDS_CSUM : 0;
	h[2] = seg->gso_type;
	put16(h + 3, seg->gso_size);
}

int proto_get_data_gso(const uint8_t *msg, size_t len,
		       struct cv_segmentation *seg)
{
	*seg = (struct cv_segmentation){ 0 };
	if (len <= PROTO_DATA_GSO_HDR)
		return -EBADMSG;
	seg->flags = msg[1] & DATA_GSO_F_NEEDS_CSUM ? CV_MSG_NEEDS_CSUM : 0;
	seg->gso_type = msg[2];
	seg->gso_size = get16(msg + 3);
	return 0;
}

/* ---- probes: PROTO_PROBE and PROTO_PROBE_ACK */

void proto_put_probe(uint8_t h[PROTO_PROBE_HDR], uint32_t id)
{
	h[0] = PROTO_PROBE;
	put32(h + 1, id);
}

int proto_get_probe(const uint8_t *msg, size_t len, uint32_t *id)
{
	if (len < PROTO_PROBE_HDR)
		return -EBADMSG;
	*id = get32(msg + 1);
	return 0;
}

void proto_put_probe_ack(uint8_t out[PROTO_PROBE_ACK_LEN], uint32_t id,
			 size_t size)
{
	out[0] = PROTO_PROBE_ACK;
	put32(out + 1, id);
	put16(out + 5, (uint16_t)(size < 65535 ? size : 65535));
}

int proto_get_probe_ack(const uint8_t *msg, size_t len, uint32_t *id,
			size_t *size)
{
	if (len != PROTO_PROBE_ACK_LEN)
		return -EBADMSG;
	*id = get32(msg + 1);
	*size = get16(msg + 5);
	return 0;
}

/* ---- encoding */

/* Appends to buf until something does not fit; then it only remembers
 * that, so the encoders can write straight through and check once. */
struct writer {
	uint8_t *buf;
	size_t size;
	size_t len;
	bool full;
};

static void append(struct writer *w, const void *data, size_t n)
{
	if (w->full || n > w->size - w->len) {
		w->full = true;
		return;
	}
	memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void append8(struct writer *w, uint8_t x)
{
	append(w, &x, 1);
}

static void append32(struct writer *w, uint32_t x)
{
	uint8_t b[4];

	put32(b, x);
	append(w, b, sizeof(b));
}

static void append_attr(struct writer *w, uint8_t type, const void *v, size_t n)
{
	append8(w, type);
	append8(w, (uint8_t)n);
	append(w, v, n);
}

static void append_prefix(struct writer *w, uint8_t type,
		       const struct cv_prefix *p)
{
	uint8_t v[17];
	size_t n = family_bytes(p->addr.family);

	memcpy(v, p->addr.bytes, n);
	v[n] = p->len;
	append_attr(w, type, v, n + 1);
}

static void encode_hello(struct writer *w, const struct proto_hello *h)
{
	append8(w, PROTO_HELLO);
	append8(w, h->version);
	append8(w, h->flags);
	append32(w, h->nonce);
	if (h->frames)
		append_attr(w, ATTR_FRAMES, &h->frames, 1);
	size_t user = strnlen(h->username, PROTO_MAX_TEXT);
	size_t pass = strnlen(h->password, PROTO_MAX_TEXT);
	if (user > 0)
		append_attr(w, ATTR_USERNAME, h->username, user);
	if (pass > 0)
		append_attr(w, ATTR_PASSWORD, h->password, pass);
	if (h->previous4.family == AF_INET)
		append_attr(w, ATTR_PREVIOUS4, h->previous4.bytes, 4);
	if (h->previous6.family == AF_INET6)
		append_attr(w, ATTR_PREVIOUS6, h->previous6.bytes, 16);
}

/* What the wire cannot express at all; values it can express but the
 * peer would reject are caught by proto_encode's check of its output. */
static bool welcome_encodable(const struct proto_welcome *w)
{
	if (w->n_dns > PROTO_MAX_DNS || w->n_dns_domains > PROTO_MAX_DNS)
		return false;
	for (unsigned int i = 0; i < w->n_dns; i++)
		if (w->dns[i].family != AF_INET && w->dns[i].family != AF_INET6)
			return false;
	if (!w->frames && w->addr4.addr.family != AF_INET &&
	    w->addr6.addr.family != AF_INET6)
		return false;
	if (w->n_routes > PROTO_MAX_ROUTES ||
	    (w->addr4.addr.family != 0 && w->addr4.addr.family != AF_INET) ||
	    (w->server4.family != 0 && w->server4.family != AF_INET) ||
	    (w->addr6.addr.family != 0 && w->addr6.addr.family != AF_INET6) ||
	    (w->server6.family != 0 && w->server6.family != AF_INET6))
		return false;
	for (unsigned int i = 0; i < w->n_routes; i++)
		if (w->routes[i].addr.family != AF_INET &&
		    w->routes[i].addr.family != AF_INET6)
			return false;
	if (w->n_networks > PROTO_MAX_NETWORKS)
		return false;
	for (unsigned int i = 0; i < w->n_networks; i++)
		if (w->networks[i].addr.family != AF_INET &&
		    w->networks[i].addr.family != AF_INET6)
			return false;
	return true;
}

static void encode_welcome(struct writer *w, const struct proto_welcome *m)
{
	uint8_t v[4];

	append8(w, PROTO_WELCOME);
	append32(w, m->nonce);
	if (m->frames)
		append_attr(w, ATTR_FRAMES, &m->frames, 1);
	if (m->addr4.addr.family)
		append_prefix(w, ATTR_ADDR4, &m->addr4);
	if (m->server4.family)
		append_attr(w, ATTR_SERVER4, m->server4.bytes, 4);
	if (m->addr6.addr.family)
		append_prefix(w, ATTR_ADDR6, &m->addr6);
	if (m->server6.family)
		append_attr(w, ATTR_SERVER6, m->server6.bytes, 16);
	put16(v, m->mtu);
	append_attr(w, ATTR_MTU, v, 2);
	put16(v, m->keepalive_interval);
	put16(v + 2, m->keepalive_timeout);
	append_attr(w, ATTR_KEEPALIVE, v, 4);
	for (unsigned int i = 0; i < m->n_routes; i++) {
		const struct cv_prefix *r = &m->routes[i];
		append_prefix(w, r->addr.family == AF_INET ? ATTR_ROUTE4
							: ATTR_ROUTE6, r);
	}
	for (unsigned int i = 0; i < m->n_dns; i++)
		append_attr(w, ATTR_DNS, m->dns[i].bytes,
			 family_bytes(m->dns[i].family));
	for (unsigned int i = 0; i < m->n_dns_domains; i++) {
		size_t n = strnlen(m->dns_domains[i], PROTO_MAX_TEXT);
		append_attr(w, ATTR_DNS_DOMAIN, m->dns_domains[i], n);
	}
	if (m->features)
		append_attr(w, ATTR_FEATURES, &m->features, 1);
	for (unsigned int i = 0; i < m->n_networks; i++) {
		const struct cv_prefix *n = &m->networks[i];
		append_prefix(w, n->addr.family == AF_INET ? ATTR_NETWORK4
							: ATTR_NETWORK6, n);
	}
	if (m->has_reset_token)
		append_attr(w, ATTR_RESET_TOKEN, m->reset_token,
			    PROTO_RESET_TOKEN_LEN);
}

static void encode_refuse(struct writer *w, const struct proto_refuse *r)
{
	size_t n = strnlen(r->text, PROTO_MAX_TEXT);

	append8(w, PROTO_REFUSE);
	append8(w, r->reason);
	if (n > 0)
		append_attr(w, ATTR_MESSAGE, r->text, n);
}

static void encode_reset(struct writer *w, const struct proto_reset *r)
{
	static const uint8_t zeros[PROTO_MAX_CONTROL];

	append8(w, PROTO_RESET);
	/* Shorter than PROTO_RESET_MIN is made that long; longer than a
	 * control message may be fills the writer, and fails. */
	if (r->len > PROTO_RESET_MIN)
		append(w, zeros, r->len - PROTO_RESET_MIN);
	append(w, r->token, PROTO_RESET_TOKEN_LEN);
}

ssize_t proto_encode(const struct proto_msg *m, uint8_t *buf, size_t size)
{
	struct writer w = {
		.buf = buf,
		/* Past PROTO_MAX_CONTROL the peer would reject it anyway. */
		.size = size < PROTO_MAX_CONTROL ? size : PROTO_MAX_CONTROL,
	};

	switch (m->type) {
	case PROTO_HELLO:
		encode_hello(&w, &m->hello);
		break;
	case PROTO_WELCOME:
		if (!welcome_encodable(&m->welcome))
			return -EINVAL;
		encode_welcome(&w, &m->welcome);
		break;
	case PROTO_REFUSE:
		encode_refuse(&w, &m->refuse);
		break;
	case PROTO_KEEPALIVE:
	case PROTO_MOVE:
		append8(&w, m->type);
		break;
	case PROTO_BYE:
		append8(&w, PROTO_BYE);
		append8(&w, m->bye.reason);
		break;
	case PROTO_RESET:
		encode_reset(&w, &m->reset);
		break;
	default:
		return -EINVAL;
	}
	if (w.full)
		return -ENOSPC;

	/* A value the peer would reject (MTU 100, a route with host bits) is
	 * a bug or a bad configuration on this side: refuse to send it, so
	 * the error shows up here rather than as a refusal over there. */
	struct proto_msg check;
	const char *why;
	int err = proto_decode(buf, w.len, &check, &why);
	/* The copy may hold a password. */
	explicit_bzero(&check, sizeof(check));
	return err < 0 ? -EINVAL : (ssize_t)w.len;
}

/* ---- names for logs */

const char *proto_type_name(uint8_t type)
{
	static const char *const names[] = {
		[PROTO_DATA] = "data",		[PROTO_HELLO] = "hello",
		[PROTO_WELCOME] = "welcome",	[PROTO_REFUSE] = "refuse",
		[PROTO_KEEPALIVE] = "keepalive", [PROTO_BYE] = "bye",
		[PROTO_PROBE] = "probe",	[PROTO_PROBE_ACK] = "probe_ack",
		[PROTO_RESET] = "reset",	[PROTO_MOVE] = "move",
	};

	return type < ARRAY_SIZE(names) && names[type] ? names[type] : "unknown";
}

const char *proto_reason_name(uint8_t reason)
{
	static const char *const names[] = {
		[PROTO_REASON_UNSPECIFIED] = "unspecified",
		[PROTO_REASON_VERSION] = "unsupported protocol version",
		[PROTO_REASON_POOL_EXHAUSTED] = "address pool exhausted",
		[PROTO_REASON_SHUTDOWN] = "shutting down",
		[PROTO_REASON_TIMEOUT] = "keepalive timeout",
		[PROTO_REASON_PROTOCOL] = "protocol error",
		[PROTO_REASON_AUTH] = "authentication failed",
		[PROTO_REASON_POLICY] = "refused by policy",
		[PROTO_REASON_BUSY] = "busy, try again later",
		[PROTO_REASON_REPLACED] = "replaced by a new session",
		[PROTO_REASON_DRAINING] = "draining: connect to another gateway",
	};

	return reason < ARRAY_SIZE(names) ? names[reason] : "unknown";
}
