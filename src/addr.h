/* Inner addresses and prefixes: one type for IPv4 and IPv6, and the text
 * forms every log line and config error uses. */
#ifndef CULVERT_ADDR_H
#define CULVERT_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cv_addr {
	sa_family_t family;	/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

struct cv_prefix {
	struct cv_addr addr;
	uint8_t len;		/* 0-32 or 0-128 */
};

/* Long enough for "ffff:...:ffff/128" and "[v6]:65535". */
#define ADDR_STRLEN (INET6_ADDRSTRLEN + 8)

/* "192.0.2.0/24", "2001:db8::/32". Host bits set are an error unless
 * allow_host_bits (an interface address like 192.0.2.1/24). Returns 0, or
 * -EINVAL with *why set to a phrase for the error message. */
int prefix_parse(const char *text, bool allow_host_bits,
		 struct cv_prefix *out, const char **why);
/* "192.0.2.1" or "2001:db8::1". */
int addr_parse(const char *text, struct cv_addr *out);

const char *addr_str(const struct cv_addr *a, char buf[ADDR_STRLEN]);
const char *prefix_str(const struct cv_prefix *p, char buf[ADDR_STRLEN]);
/* An outer socket address, "192.0.2.1:4433" or "[2001:db8::1]:4433". */
const char *sockaddr_str(const void *sa, char buf[ADDR_STRLEN]);

/* The address of an outer socket address: an IPv4 peer of a [::]
 * socket (::ffff:a.b.c.d) as the IPv4 address it is. -EAFNOSUPPORT for
 * another family. */
int addr_from_sockaddr(const void *sa, struct cv_addr *out);

bool addr_equal(const struct cv_addr *a, const struct cv_addr *b);
/* Whether a lies inside p. */
bool prefix_contains(const struct cv_prefix *p, const struct cv_addr *a);
/* Whether p lies wholly inside q (or is q). */
bool prefix_inside(const struct cv_prefix *p, const struct cv_prefix *q);
bool prefix_equal(const struct cv_prefix *a, const struct cv_prefix *b);
/* a alone: /32 or /128. */
struct cv_prefix prefix_host(const struct cv_addr *a);
/* Whether the prefixes share any address. */
bool prefix_overlap(const struct cv_prefix *a, const struct cv_prefix *b);

/* Split "host:port", "[v6]:port" into its parts (no lookup). */
int endpoint_split(const char *text, char *host, size_t host_size,
		   char *port, size_t port_size, const char **why);

#endif
