#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static unsigned int addr_bits(sa_family_t family)
{
	return family == AF_INET ? 32 : 128;
}

static const uint8_t *addr_bytes(const struct cv_addr *a)
{
	return a->family == AF_INET ? (const uint8_t *)&a->v4 : a->bytes;
}

int addr_parse(const char *text, struct cv_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &out->v4) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &out->v6) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* Whether the first len bits of a and b agree. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned int len)
{
	unsigned int whole = len / 8, rest = len % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

static bool host_bits_zero(const struct cv_prefix *p)
{
	const uint8_t *b = addr_bytes(&p->addr);
	unsigned int bits = addr_bits(p->addr.family);

	for (unsigned int i = p->len; i < bits; i++)
		if (b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

int prefix_parse(const char *text, bool allow_host_bits,
		 struct cv_prefix *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);

	memset(out, 0, sizeof(*out));
	if (!slash) {
		*why = "is not a prefix (expected ADDRESS/LENGTH)";
		return -EINVAL;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		*why = "is not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (addr_parse(host, &out->addr) < 0) {
		*why = "is not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end || errno ||
	    len > addr_bits(out->addr.family)) {
		*why = out->addr.family == AF_INET
			       ? "is not a prefix (expected ADDRESS/0-32)"
			       : "is not a prefix (expected ADDRESS/0-128)";
		return -EINVAL;
	}
	out->len = (uint8_t)len;
	if (!allow_host_bits && !host_bits_zero(out)) {
		*why = "has host bits set (did you mean the network address?)";
		return -EINVAL;
	}
	return 0;
}

const char *addr_str(const struct cv_addr *a, char buf[ADDR_STRLEN])
{
	if (!inet_ntop(a->family, addr_bytes(a), buf, ADDR_STRLEN))
		snprintf(buf, ADDR_STRLEN, "(none)");
	return buf;
}

const char *prefix_str(const struct cv_prefix *p, char buf[ADDR_STRLEN])
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->addr.family, addr_bytes(&p->addr), a, sizeof(a)))
		snprintf(a, sizeof(a), "(none)");
	snprintf(buf, ADDR_STRLEN, "%s/%u", a, p->len);
	return buf;
}

const char *sockaddr_str(const void *sa, char buf[ADDR_STRLEN])
{
	const struct sockaddr *s = sa;
	char a[INET6_ADDRSTRLEN];

	if (s->sa_family == AF_INET) {
		const struct sockaddr_in *in = sa;
		inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
		snprintf(buf, ADDR_STRLEN, "%s:%u", a, ntohs(in->sin_port));
	} else if (s->sa_family == AF_INET6 &&
		   IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr)) {
		/* An IPv4 peer of a dual-stack [::] socket: shown as the
		 * IPv4 address it is, as the tls and dtls plugins do. */
		const struct sockaddr_in6 *in6 = sa;
		inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], a, sizeof(a));
		snprintf(buf, ADDR_STRLEN, "%s:%u", a, ntohs(in6->sin6_port));
	} else if (s->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
		snprintf(buf, ADDR_STRLEN, "[%s]:%u", a, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, ADDR_STRLEN, "(family %d)", s->sa_family);
	}
	return buf;
}

int addr_from_sockaddr(const void *sa, struct cv_addr *out)
{
	const struct sockaddr *s = sa;

	memset(out, 0, sizeof(*out));
	if (s->sa_family == AF_INET) {
		out->family = AF_INET;
		out->v4 = ((const struct sockaddr_in *)sa)->sin_addr;
		return 0;
	}
	if (s->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		out->family = AF_INET;
		memcpy(&out->v4, &a6->s6_addr[12], 4);
	} else {
		out->family = AF_INET6;
		out->v6 = *a6;
	}
	return 0;
}

bool addr_equal(const struct cv_addr *a, const struct cv_addr *b)
{
	return a->family == b->family &&
	       memcmp(addr_bytes(a), addr_bytes(b),
		      addr_bits(a->family) / 8) == 0;
}

bool prefix_contains(const struct cv_prefix *p, const struct cv_addr *a)
{
	return p->addr.family == a->family &&
	       bits_equal(addr_bytes(&p->addr), addr_bytes(a), p->len);
}

bool prefix_inside(const struct cv_prefix *p, const struct cv_prefix *q)
{
	return p->len >= q->len && prefix_contains(q, &p->addr);
}

bool prefix_equal(const struct cv_prefix *a, const struct cv_prefix *b)
{
	return a->len == b->len && addr_equal(&a->addr, &b->addr);
}

struct cv_prefix prefix_host(const struct cv_addr *a)
{
	return (struct cv_prefix){ .addr = *a,
				   .len = (uint8_t)addr_bits(a->family) };
}

bool prefix_overlap(const struct cv_prefix *a, const struct cv_prefix *b)
{
	unsigned int len = a->len < b->len ? a->len : b->len;

	return a->addr.family == b->addr.family &&
	       bits_equal(addr_bytes(&a->addr), addr_bytes(&b->addr), len);
}

int endpoint_split(const char *text, char *host, size_t host_size,
		   char *port, size_t port_size, const char **why)
{
	const char *hstart = text, *hend, *colon;

	if (text[0] == '[') {
		hstart = text + 1;
		hend = strchr(hstart, ']');
		if (!hend || hend[1] != ':') {
			*why = "is not an endpoint (expected [IPV6]:PORT)";
			return -EINVAL;
		}
		colon = hend + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon) {
			*why = "is not an endpoint (expected HOST:PORT or [IPV6]:PORT)";
			return -EINVAL;
		}
		hend = colon;
	}
	size_t hlen = (size_t)(hend - hstart);
	if (hlen == 0 || hlen >= host_size) {
		*why = "has no host before the port";
		return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || p == 0 ||
	    p > 65535 || strlen(colon + 1) >= port_size) {
		*why = "has no valid port (expected 1-65535)";
		return -EINVAL;
	}
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	snprintf(port, port_size, "%lu", p);
	return 0;
}
