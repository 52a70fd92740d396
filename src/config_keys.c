/* The table of configuration keys, and one small parser per kind of value.
 * culvert.conf(5) documents every key here; a test holds them together. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "config_radius.h"
#include "proto.h"

int config_unsigned(const char *value, unsigned long min, unsigned long max,
		    unsigned int *out)
{
	char *end;

	if (!isdigit((unsigned char)*value))
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_mode(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	enum config_mode *mode = field;

	if (strcmp(value, "server") == 0)
		*mode = MODE_SERVER;
	else if (strcmp(value, "client") == 0)
		*mode = MODE_CLIENT;
	else {
		*why = "is not a mode (expected server or client)";
		return -EINVAL;
	}
	return 0;
}

static int parse_transports(struct config *cfg, void *field,
			    const char *value, const char **why)
{
	char names[CONFIG_MAX_TRANSPORTS][CONFIG_NAME_MAX];
	unsigned int n = 0;
	const char *s = value;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t len = strcspn(s, ", \t");
		if (len == 0 || len >= CONFIG_NAME_MAX) {
			*why = "is not a list of transport names (expected NAME[, NAME...])";
			return -EINVAL;
		}
		if (n == CONFIG_MAX_TRANSPORTS) {
			*why = "names more than 4 transports";
			return -EINVAL;
		}
		memcpy(names[n], s, len);
		names[n][len] = '\0';
		for (const char *c = names[n]; *c; c++)
			if (!islower((unsigned char)*c) &&
			    !isdigit((unsigned char)*c) && *c != '-' &&
			    *c != '_') {
				*why = "has a transport name with characters other than a-z, 0-9, '-' and '_'";
				return -EINVAL;
			}
		for (unsigned int i = 0; i < n; i++)
			if (strcmp(names[i], names[n]) == 0) {
				*why = "names the same transport twice";
				return -EINVAL;
			}
		n++;
		s += len;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == ',') {
			s++;
			if (!*s) {
				*why = "ends with a comma";
				return -EINVAL;
			}
		} else if (*s) {
			*why = "is not a list of transport names (separate them with commas)";
			return -EINVAL;
		}
	}
	memcpy(cfg->transports, names, sizeof(names));
	cfg->n_transports = n;
	return 0;
}

static int set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int parse_endpoint(struct config *cfg, void *field, const char *value,
			  const char **why)
{
	char host[256], port[8];

	if (endpoint_split(value, host, sizeof(host), port, sizeof(port),
			   why) < 0)
		return -EINVAL;
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	return 0;
}

/* remote: one gateway, or a cluster's gateways separated by commas;
 * the client tries them in an order of its own (connection.c). */
static int parse_remote(struct config *cfg, void *field, const char *value,
			const char **why)
{
	char *list[CONFIG_MAX_REMOTES] = { 0 };
	unsigned int n = 0;
	const char *s = value;

	for (;;) {
		char one[300], host[256], port[8];
		size_t len = strcspn(s, ",");

		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (n == CONFIG_MAX_REMOTES) {
			*why = "names more than 16 gateways";
			goto fail;
		}
		if (len >= sizeof(one)) {
			*why = "has a gateway too long to be HOST:PORT";
			goto fail;
		}
		memcpy(one, s, len);
		one[len] = '\0';
		if (endpoint_split(one, host, sizeof(host), port, sizeof(port),
				   why) < 0)
			goto fail;
		if (!(list[n++] = strdup(one))) {
			*why = "could not be stored: out of memory";
			goto fail;
		}
		s += strcspn(s, ",");
		if (!*s)
			break;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		goto fail;
	}
	for (unsigned int i = 0; i < cfg->n_remotes; i++)
		free(cfg->remotes[i]);
	memcpy(cfg->remotes, list, sizeof(list));
	cfg->n_remotes = n;
	return 0;
fail:
	for (unsigned int i = 0; i < n; i++)
		free(list[i]);
	return -EINVAL;
}

/* metrics-listen: an endpoint, for a culvertd that can serve HTTP. */
static int parse_metrics_listen(struct config *cfg, void *field,
				const char *value, const char **why)
{
#ifndef HAVE_MICROHTTPD
	*why = "cannot be served: this culvertd was built without libmicrohttpd "
	       "(culvertctl metrics prints the same)";
	return -EINVAL;
#else
	return parse_endpoint(cfg, field, value, why);
#endif
}

static int parse_ifname(struct config *cfg, void *field, const char *value,
			const char **why)
{
	if (strlen(value) >= IFNAMSIZ) {
		*why = "is too long for a device name (at most 15 characters)";
		return -EINVAL;
	}
	for (const char *c = value; *c; c++)
		if (*c == '/' || *c == ':' || isspace((unsigned char)*c)) {
			*why = "is not a device name ('/', ':' and spaces are not allowed)";
			return -EINVAL;
		}
	if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0) {
		*why = "is not a device name";
		return -EINVAL;
	}
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	return 0;
}

static int parse_device_type(struct config *cfg, void *field,
			     const char *value, const char **why)
{
	bool *tap = field;

	if (strcmp(value, "tun") == 0)
		*tap = false;
	else if (strcmp(value, "tap") == 0)
		*tap = true;
	else {
		*why = "is not a device type (expected tun, for IP packets, or tap, for Ethernet frames)";
		return -EINVAL;
	}
	return 0;
}

static int parse_max_macs(struct config *cfg, void *field, const char *value,
			  const char **why)
{
	if (config_unsigned(value, 1, CONFIG_MAX_MACS, field) < 0) {
		*why = "is not a number of MAC addresses from 1 to 64";
		return -EINVAL;
	}
	return 0;
}

/* address: a TAP client's own address on the LAN, IPv4 or IPv6, with
 * the LAN's prefix length (198.51.100.60/24); host bits expected. */
static int parse_address(struct config *cfg, void *field, const char *value,
			 const char **why)
{
	struct cv_prefix a;

	if (prefix_parse(value, true, &a, why) < 0)
		return -EINVAL;
	if (a.len == 0) {
		*why = "is not an address on a LAN (a prefix length of 0 holds every address)";
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->n_addresses; i++)
		if (addr_equal(&cfg->addresses[i].addr, &a.addr)) {
			*why = "is already set by an earlier line";
			return -EINVAL;
		}
	if (cfg->n_addresses == CONFIG_MAX_ADDRESSES) {
		*why = "is one address too many (at most 8)";
		return -EINVAL;
	}
	cfg->addresses[cfg->n_addresses++] = a;
	return 0;
}

static int parse_mtu(struct config *cfg, void *field, const char *value,
		     const char **why)
{
	/* 576: the smallest datagram every IPv4 host must accept. */
	if (config_unsigned(value, 576, 65535, field) < 0) {
		*why = "is not an MTU (expected 576-65535)";
		return -EINVAL;
	}
	return 0;
}

/* A pool of family, its length from min to max: a length out of that
 * range is said as such, not as the 0-32 of any prefix. */
static int parse_pool_prefix(const char *value, int family, unsigned int min,
			     unsigned int max, const char *range,
			     const char *other_family, struct cv_prefix *pool,
			     const char **why)
{
	const char *slash = strchr(value, '/');
	unsigned int len;

	if (prefix_parse(value, false, pool, why) < 0) {
		/* 10.8.0.0/33: not the prefix's 0-32, but this range. */
		if (slash && config_unsigned(slash + 1, 0, 1000, &len) == 0 &&
		    (len < min || len > max))
			*why = range;
		return -EINVAL;
	}
	if (pool->addr.family != family) {
		*why = other_family;
		return -EINVAL;
	}
	if (pool->len < min || pool->len > max) {
		*why = range;
		return -EINVAL;
	}
	return 0;
}

static int parse_pool(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	if (parse_pool_prefix(value, AF_INET, 8, 30,
			      "is not a usable pool (expected an IPv4 prefix from /8 to /30)",
			      "is not an IPv4 prefix (an IPv6 pool is 'pool6')",
			      field, why) < 0)
		return -EINVAL;
	cfg->has_pool = true;
	return 0;
}

static int parse_pool6(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	if (parse_pool_prefix(value, AF_INET6, 16, 64,
			      "is not a usable IPv6 pool (expected a prefix from /16 to /64)",
			      "is not an IPv6 prefix (IPv4 addresses go in 'pool')",
			      field, why) < 0)
		return -EINVAL;
	cfg->has_pool6 = true;
	return 0;
}

static int parse_route(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	struct cv_prefix route;

	/* "default": everything into the tunnel, IPv6 too once the tunnel
	 * carries it (see tunnel_routes.c). */
	if (strcmp(value, "default") == 0) {
		memset(&route, 0, sizeof(route));
		route.addr.family = AF_INET;
		cfg->route_default = true;
	} else if (prefix_parse(value, false, &route, why) < 0) {
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].len == route.len &&
		    addr_equal(&cfg->routes[i].addr, &route.addr)) {
			*why = "is already routed by an earlier line";
			return -EINVAL;
		}
	if (cfg->n_routes == CONFIG_MAX_ROUTES) {
		*why = "is one route too many (at most 64)";
		return -EINVAL;
	}
	cfg->routes[cfg->n_routes++] = route;
	return 0;
}

/* accept-routes: a comma-separated list of prefixes, repeatable, IPv4
 * or IPv6 (the welcome policy judges both). */
static int parse_accept_routes(struct config *cfg, void *field,
			       const char *value, const char **why)
{
	char item[ADDR_STRLEN + 8];
	const char *s = value;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t len = strcspn(s, ",");
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(item)) {
			*why = "is not a list of prefixes (expected ADDRESS/LENGTH[, ...])";
			return -EINVAL;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		if (cfg->n_accept_routes == CONFIG_MAX_ROUTES) {
			*why = "lists too many prefixes (at most 64)";
			return -EINVAL;
		}
		struct cv_prefix *p = &cfg->accept_routes[cfg->n_accept_routes];
		if (prefix_parse(item, false, p, why) < 0)
			return -EINVAL;
		cfg->n_accept_routes++;
		s += strcspn(s, ",");
		if (*s == ',' && !*++s) {
			*why = "ends with a comma";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_keepalive(struct config *cfg, void *field,
			   const char *value, const char **why)
{
	unsigned int interval, timeout;
	char first[16];
	const char *comma = strchr(value, ',');
	size_t len = comma ? (size_t)(comma - value) : strlen(value);

	*why = "is not a keepalive (expected INTERVAL, TIMEOUT in seconds, "
	       "1-3600, TIMEOUT at least twice INTERVAL)";
	if (len >= sizeof(first))
		return -EINVAL;
	memcpy(first, value, len);
	first[len] = '\0';
	while (len > 0 && isspace((unsigned char)first[len - 1]))
		first[--len] = '\0';
	if (config_unsigned(first, 1, 3600, &interval) < 0)
		return -EINVAL;
	if (comma) {
		const char *t = comma + 1;
		while (isspace((unsigned char)*t))
			t++;
		if (config_unsigned(t, 2, 7200, &timeout) < 0)
			return -EINVAL;
	} else {
		timeout = interval * 6;
	}
	/* One lost keepalive must not end a session. */
	if (timeout < 2 * interval)
		return -EINVAL;
	cfg->keepalive_interval = interval;
	cfg->keepalive_timeout = timeout;
	return 0;
}

static int parse_bool(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	bool *b = field;

	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "on") || !strcmp(value, "1"))
		*b = true;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "off") || !strcmp(value, "0"))
		*b = false;
	else {
		*why = "is not yes or no";
		return -EINVAL;
	}
	return 0;
}

static int parse_path(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	if (value[0] != '/') {
		*why = "is not an absolute path";
		return -EINVAL;
	}
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	return 0;
}

static int parse_auth(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	unsigned int *auth = field;

	if (strcmp(value, "certificate") == 0)
		*auth = AUTH_METHOD_CERTIFICATE;
	else if (strcmp(value, "password") == 0)
		*auth = AUTH_METHOD_PASSWORD;
	else if (strcmp(value, "certificate+password") == 0)
		*auth = AUTH_METHOD_CERTIFICATE | AUTH_METHOD_PASSWORD;
	else if (strcmp(value, "radius") == 0)
		*auth = AUTH_METHOD_RADIUS;
	else if (strcmp(value, "certificate+radius") == 0)
		*auth = AUTH_METHOD_CERTIFICATE | AUTH_METHOD_RADIUS;
	else {
		*why = "is not an authentication method (expected certificate, password, radius, certificate+password or certificate+radius)";
		return -EINVAL;
	}
	return 0;
}

/* A name to check the server's certificate against, or a user name: no
 * spaces or control characters, which no certificate or login carries. */
static int parse_name(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	if (strlen(value) > 253) {
		*why = "is too long (at most 253 characters)";
		return -EINVAL;
	}
	for (const char *c = value; *c; c++)
		if (!isgraph((unsigned char)*c)) {
			*why = "contains a space or a control character";
			return -EINVAL;
		}
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	return 0;
}

static int parse_text(struct config *cfg, void *field, const char *value,
		      const char **why)
{
	if (set_string(field, value) < 0) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	return 0;
}

static int parse_count(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	if (config_unsigned(value, 1, 1000000, field) < 0) {
		*why = "is not a number from 1 to 1000000";
		return -EINVAL;
	}
	return 0;
}

/* threads: "auto" (0: one loop per CPU online) or a count. */
static int parse_threads(struct config *cfg, void *field, const char *value,
			 const char **why)
{
	if (strcmp(value, "auto") == 0) {
		*(unsigned int *)field = 0;
		return 0;
	}
	if (config_unsigned(value, 1, CONFIG_MAX_THREADS, field) < 0) {
		*why = "is neither auto nor a number of loops from 1 to " CONFIG_MAX_THREADS_TEXT;
		return -EINVAL;
	}
	return 0;
}

static int parse_seconds(struct config *cfg, void *field, const char *value,
			 const char **why)
{
	if (config_unsigned(value, 1, 3600, field) < 0) {
		*why = "is not a number of seconds from 1 to 3600";
		return -EINVAL;
	}
	return 0;
}

/* Seconds, or 0 for "never". */
static int parse_retry(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	if (config_unsigned(value, 0, 86400, field) < 0) {
		*why = "is not a number of seconds from 0 (never) to 86400 (a day)";
		return -EINVAL;
	}
	return 0;
}

/* 0 for never: culvertd stops instead. */
static int parse_refused_retry(struct config *cfg, void *field,
			       const char *value, const char **why)
{
	if (strcmp(value, "never") == 0) {
		*(unsigned int *)field = 0;
		return 0;
	}
	if (config_unsigned(value, 1, 604800, field) < 0) {
		*why = "is neither 'never' nor a number of seconds from 1 to 604800 (a week)";
		return -EINVAL;
	}
	return 0;
}

static int parse_rekey(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	if (config_unsigned(value, 1, 604800, field) < 0) {
		*why = "is not a number of seconds from 1 to 604800 (a week)";
		return -EINVAL;
	}
	return 0;
}

static int parse_cert_group(struct config *cfg, void *field,
			    const char *value, const char **why)
{
	bool *ou = field;

	if (strcmp(value, "ou") == 0)
		*ou = true;
	else if (strcmp(value, "none") == 0)
		*ou = false;
	else {
		*why = "is not where a certificate names a group (expected ou or none)";
		return -EINVAL;
	}
	return 0;
}

/* An amount of bytes: a number, or one with K, M, G or T after it
 * (powers of 1024), from 1M to 1024T. */
static int parse_bytes(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	static const char units[] = "KMGT";
	uint64_t *out = field;
	char *end;

	*why = "is not an amount of bytes from 1M to 1024T (a number, or one with K, M, G or T after it)";
	if (!isdigit((unsigned char)*value))
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	const char *unit = *end ? strchr(units, *end) : NULL;
	if (errno || (*end && (!unit || end[1])))
		return -EINVAL;
	for (int shift = unit ? (int)(unit - units) + 1 : 0; shift > 0; shift--) {
		if (v > (1ULL << 50))
			return -EINVAL;
		v <<= 10;
	}
	if (v < (1ULL << 20) || v > (1ULL << 50))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_records(struct config *cfg, void *field, const char *value,
			 const char **why)
{
	if (config_unsigned(value, 100, 4294967295UL, field) < 0) {
		*why = "is not a number of records from 100 to 4294967295";
		return -EINVAL;
	}
	return 0;
}

/* A routing table or a firewall mark: the kernel's u32, but not 0 (no
 * table, no mark) nor the tables the kernel itself uses (253-255). */
static int parse_table(struct config *cfg, void *field, const char *value,
		       const char **why)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 0);
	if (!isdigit((unsigned char)*value) || *end || errno || v < 1 ||
	    v > 0xffffffffUL || (v >= 253 && v <= 255)) {
		*why = "is not a table number (expected 1-4294967295, not 253-255)";
		return -EINVAL;
	}
	*(unsigned int *)field = (unsigned int)v;
	return 0;
}

/* announce-protocol: an rtm_protocol above the kernel's own (0-4), so
 * that a routing daemon tells culvert's routes from everyone else's. */
static int parse_protocol(struct config *cfg, void *field, const char *value,
			  const char **why)
{
	if (config_unsigned(value, 5, 255, field) < 0) {
		*why = "is not a route protocol number from 5 to 255 (0-4 are the kernel's)";
		return -EINVAL;
	}
	return 0;
}

/* failover-spread: seconds, to the millisecond, stored in ms. */
static int parse_spread(struct config *cfg, void *field, const char *value,
			const char **why)
{
	char *end;

	errno = 0;
	double v = strtod(value, &end);
	if (!isdigit((unsigned char)*value) || *end || errno || v < 0 ||
	    v > 60) {
		*why = "is not a number of seconds from 0 to 60 (0.5 for half a second)";
		return -EINVAL;
	}
	*(unsigned int *)field = (unsigned int)(v * 1000 + 0.5);
	return 0;
}

static int parse_fwmark(struct config *cfg, void *field, const char *value,
			const char **why)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(value, &end, 0);
	if (!isdigit((unsigned char)*value) || *end || errno || v < 1 ||
	    v > 0xffffffffUL) {
		*why = "is not a firewall mark (expected 1-0xffffffff)";
		return -EINVAL;
	}
	*(unsigned int *)field = (unsigned int)v;
	return 0;
}

static int parse_dns(struct config *cfg, void *field, const char *value,
		     const char **why)
{
	struct cv_addr a;

	if (addr_parse(value, &a) < 0) {
		*why = "is not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	if (cfg->n_dns == CONFIG_MAX_DNS) {
		*why = "is one DNS server too many (at most 8)";
		return -EINVAL;
	}
	cfg->dns[cfg->n_dns++] = a;
	return 0;
}

/* A search domain as resolvers take it: letters, digits, '-', '_' and
 * dots, with a leading '~' for a routing-only domain (systemd-resolved).
 * Nothing else, since it ends up in a hook's environment too. */
static int parse_dns_domain(struct config *cfg, void *field,
			    const char *value, const char **why)
{
	if (!proto_dns_domain_valid(value)) {
		*why = "is not a domain name (letters, digits, '-', '_' and '.', at most 253; '~' first for a routing-only domain)";
		return -EINVAL;
	}
	if (cfg->n_dns_domains == CONFIG_MAX_DNS) {
		*why = "is one domain too many (at most 8)";
		return -EINVAL;
	}
	snprintf(cfg->dns_domains[cfg->n_dns_domains++],
		 sizeof(cfg->dns_domains[0]), "%s", value);
	return 0;
}

#define FIELD(name) offsetof(struct config, name)

const struct config_key config_keys[] = {
	{ "mode", parse_mode, FIELD(mode), NULL, "server|client", KEY_RESTART,
	  "whether this culvertd accepts clients or connects to a server" },
	{ "transport", parse_transports, FIELD(n_transports), NULL,
	  "NAME[, NAME...]", KEY_RESTART,
	  "transport plugins: a server listens on each, a client tries them in order" },
	{ "listen", parse_endpoint, FIELD(listen), NULL, "ADDRESS:PORT",
	  KEY_SERVER | KEY_RESTART, "where the server accepts clients ([::]:PORT for IPv6)" },
	{ "remote", parse_remote, FIELD(remote), NULL, "HOST:PORT[, HOST:PORT...]",
	  KEY_CLIENT | KEY_RESTART,
	  "the server a client connects to, or a cluster's gateways (culvert.conf(5), CLUSTER)" },
	{ "device", parse_ifname, FIELD(device), NULL, "NAME", KEY_RESTART,
	  "name of the TUN or TAP device (default: chosen by the kernel, tunN or tapN)" },
	{ "device-type", parse_device_type, FIELD(tap), "tun", "tun|tap",
	  KEY_RESTART,
	  "tun: IP packets through the tunnel; tap: Ethernet frames, the client on the LAN's segment (default tun)" },
	{ "bridge", parse_ifname, FIELD(bridge), NULL, "NAME",
	  KEY_SERVER | KEY_TAP | KEY_RESTART,
	  "device-type = tap: the Linux bridge the gateway's TAP device joins (required)" },
	{ "max-macs", parse_max_macs, FIELD(max_macs), "4", "COUNT",
	  KEY_SERVER | KEY_TAP,
	  "MAC addresses a client may send from: the first it shows (default 4)" },
	{ "mac-age", parse_seconds, FIELD(mac_age), "300", "SECONDS",
	  KEY_SERVER | KEY_TAP,
	  "a MAC address not seen this long is forgotten (default 300)" },
	{ "flood-rate", parse_count, FIELD(flood_rate), "100", "FRAMES",
	  KEY_SERVER | KEY_TAP,
	  "broadcast, multicast and unknown unicast frames a client may send a second (default 100)" },
	{ "address", parse_address, FIELD(n_addresses), NULL, "ADDRESS/LENGTH",
	  KEY_CLIENT | KEY_TAP | KEY_REPEATABLE,
	  "device-type = tap: a static address for the TAP device (default: none; DHCP and router advertisements)" },
	{ "mtu", parse_mtu, FIELD(mtu), "1400", "BYTES",
	  KEY_SERVER | KEY_CORE_ONLY,
	  "MTU of the tunnel, pushed to clients (default 1400)" },
	{ "pool", parse_pool, FIELD(pool), NULL, "ADDRESS/LENGTH",
	  KEY_SERVER | KEY_TUN | KEY_RESTART,
	  "inner IPv4 addresses: the server takes the first, clients the rest" },
	{ "pool6", parse_pool6, FIELD(pool6), NULL, "ADDRESS/LENGTH",
	  KEY_SERVER | KEY_TUN | KEY_RESTART,
	  "inner IPv6 addresses too, /16 to /64: the server takes ::1, clients the rest" },
	{ "route", parse_route, FIELD(n_routes), NULL, "ADDRESS/LENGTH|default",
	  KEY_TUN | KEY_REPEATABLE,
	  "server: a network pushed to clients; client: one it routes into the tunnel itself (repeatable)" },
	{ "keepalive", parse_keepalive, FIELD(keepalive_interval), "10, 60",
	  "INTERVAL, TIMEOUT", KEY_SERVER,
	  "seconds between keepalives, and of silence before a peer is dead (default 10, 60)" },
	{ "insecure", parse_bool, FIELD(insecure), "no", "yes|no", 0,
	  "allow transports without encryption (udp); never on an untrusted network" },
	{ "plugin-dir", parse_path, FIELD(plugin_dir), PLUGINDIR, "PATH", KEY_RESTART,
	  "where transport plugins are found (default " PLUGINDIR ")" },
	{ "control-socket", parse_path, FIELD(control_socket), NULL, "PATH", KEY_RESTART,
	  "the control socket for culvertctl (default /run/culvert/NAME/control.sock for NAME.conf)" },
	{ "pid-file", parse_path, FIELD(pid_file), NULL, "PATH", KEY_RESTART,
	  "where culvertd writes its process id (default when detached: /run/culvert/NAME/culvertd.pid)" },
	{ "state-dir", parse_path, FIELD(state_dir), "/var/lib/culvert", "PATH",
	  KEY_SERVER | KEY_RESTART,
	  "what outlives a server: the secret of its stateless resets (default /var/lib/culvert)" },
	{ "metrics-listen", parse_metrics_listen, FIELD(metrics_listen), NULL,
	  "ADDRESS:PORT", KEY_RESTART,
	  "serve the metrics to Prometheus at http://ADDRESS:PORT/metrics (default: not served)" },
	{ "admin-group", parse_name, FIELD(admin_group), NULL, "NAME", 0,
	  "members of this group may kick and reload through the control socket (default: root only)" },
	{ "user", parse_name, FIELD(user), NULL, "NAME", KEY_RESTART,
	  "after setup, run as this user with CAP_NET_ADMIN only (default: stay root)" },
	{ "group", parse_name, FIELD(group), NULL, "NAME", KEY_RESTART,
	  "the group to run as, and the control socket's group (default: the user's)" },
	{ "up-script", parse_path, FIELD(up_script), NULL, "PATH", KEY_CLIENT,
	  "run when the tunnel is up, with CULVERT_* variables (culvert.conf(5))" },
	{ "down-script", parse_path, FIELD(down_script), NULL, "PATH",
	  KEY_CLIENT, "run when the tunnel goes down" },
	{ "client-connect-script", parse_path, FIELD(client_connect_script),
	  NULL, "PATH", KEY_SERVER,
	  "run before a client is welcomed; a non-zero exit refuses it" },
	{ "client-disconnect-script", parse_path,
	  FIELD(client_disconnect_script), NULL, "PATH", KEY_SERVER,
	  "run when a client's session ends" },
	{ "cert", parse_path, FIELD(cert), NULL, "PATH", 0,
	  "this side's certificate, PEM (server: required by tls and dtls)" },
	{ "key", parse_path, FIELD(key), NULL, "PATH", 0,
	  "the private key of cert, PEM" },
	{ "ca", parse_path, FIELD(ca), NULL, "PATH", 0,
	  "CA certificate(s), PEM: a client checks the server against it, a server its clients" },
	{ "crl", parse_path, FIELD(crl), NULL, "PATH", KEY_SERVER,
	  "certificate revocation list, PEM, signed by ca: clients it lists are refused" },
	{ "server-name", parse_name, FIELD(server_name), NULL, "NAME",
	  KEY_CLIENT,
	  "the name the server's certificate must carry (default: the host in remote)" },
	{ "priority", parse_text, FIELD(priority), NULL, "STRING", 0,
	  "GnuTLS priority string (default: TLS 1.3, or (D)TLS 1.2 with ECDHE; AEAD ciphers only)" },
	{ "auth", parse_auth, FIELD(auth), "certificate",
	  "certificate|password|radius|certificate+password|certificate+radius",
	  KEY_SERVER, "what a client must prove (default certificate)" },
	{ "cert-user-match", parse_bool, FIELD(cert_user_match), "yes", "yes|no",
	  KEY_SERVER,
	  "auth = certificate+password or +radius: the user name must be the certificate's name (default yes)" },
	{ "password-file", parse_path, FIELD(password_file), NULL, "PATH", 0,
	  "server: user:crypt-hash lines (culvertctl passwd); client: a file holding the password" },
	{ "strict-modes", parse_bool, FIELD(strict_modes), "yes", "yes|no", 0,
	  "refuse to start when 'key' or 'password-file' can be read by any user (default yes)" },
	{ "pam-service", parse_name, FIELD(pam_service), NULL, "NAME",
	  KEY_SERVER, "check passwords of users not in password-file with this PAM service" },
	{ "radius-server", config_parse_radius_server, FIELD(radius.servers),
	  NULL, "HOST[:PORT]", KEY_SERVER | KEY_REPEATABLE,
	  "auth = radius: a RADIUS server (port 1812), tried in the order given (repeatable, at most 4)" },
	{ "radius-accounting-server", config_parse_radius_acct,
	  FIELD(radius.acct_servers), NULL, "HOST[:PORT]|none",
	  KEY_SERVER | KEY_REPEATABLE,
	  "where accounting goes (default: each radius-server's host, port 1813; none: no accounting)" },
	{ "radius-secret-file", parse_path, FIELD(radius.secret_file), NULL,
	  "PATH", KEY_SERVER,
	  "a file holding the RADIUS shared secret on its first line, mode 600 or 640" },
	{ "radius-config", config_parse_radius_config, FIELD(radius.config), NULL,
	  "PATH", KEY_SERVER,
	  "a radcli configuration file (authserver, acctserver, servers, timeouts) instead of the keys above" },
	{ "radius-timeout", config_parse_radius_timeout, FIELD(radius.timeout),
	  "3", "SECONDS", KEY_SERVER,
	  "how long a RADIUS request waits for its answer before it is sent again (default 3)" },
	{ "radius-retries", config_parse_radius_retries, FIELD(radius.retries),
	  "2", "COUNT", KEY_SERVER,
	  "how often a request is sent again to one server before the next is tried (default 2)" },
	{ "radius-nas-identifier", parse_name, FIELD(radius.nas_identifier),
	  NULL, "NAME", KEY_SERVER,
	  "the NAS-Identifier culvertd gives RADIUS (default: the host name)" },
	{ "radius-nas-address", config_parse_address, FIELD(radius.nas_address),
	  NULL, "ADDRESS", KEY_SERVER,
	  "RADIUS requests leave from this address, and name it as NAS-IP-Address (default: the route's source)" },
	{ "radius-interim-interval", config_parse_radius_interim,
	  FIELD(radius.interim), "0", "SECONDS", KEY_SERVER,
	  "seconds between accounting updates unless the reply says (Acct-Interim-Interval); 0: none (default)" },
	{ "username", parse_name, FIELD(username), NULL, "NAME", KEY_CLIENT,
	  "the user name a client logs in with (auth = password)" },
	{ "max-clients", parse_count, FIELD(max_clients), "1024", "COUNT",
	  KEY_SERVER, "sessions served at once (default 1024)" },
	{ "announce-table", parse_table, FIELD(announce_table), NULL,
	  "NUMBER", KEY_SERVER | KEY_TUN | KEY_RESTART,
	  "a host route per session into this table, for BIRD or FRR to announce (default: none)" },
	{ "announce-protocol", parse_protocol, FIELD(announce_protocol), "147",
	  "NUMBER", KEY_SERVER | KEY_TUN | KEY_RESTART,
	  "the route protocol number of those routes (default 147)" },
	{ "duplicate-identity", parse_bool, FIELD(duplicate_identity), "no",
	  "yes|no", KEY_SERVER,
	  "let sessions share an identity; else a new one ends the old and takes its addresses and networks (default no)" },
	{ "handshake-timeout", parse_seconds, FIELD(handshake_timeout), "10",
	  "SECONDS", 0,
	  "time a peer has for its TLS handshake, and for its login after its hello (default 10)" },
	{ "hello-timeout", parse_seconds, FIELD(hello_timeout), "5", "SECONDS",
	  KEY_SERVER,
	  "time a client has to say hello once its link is up (default 5)" },
	{ "threads", parse_threads, FIELD(threads), "auto", "auto|COUNT",
	  KEY_SERVER | KEY_RESTART,
	  "event loops, each on a core of its own, that carry the sessions (default auto: one per CPU)" },
	{ "max-handshakes", parse_count, FIELD(max_handshakes), "256", "COUNT",
	  KEY_SERVER, "connections still in their handshake at once (default 256)" },
	{ "rekey-interval", parse_rekey, FIELD(rekey_interval), "3600",
	  "SECONDS", KEY_CLIENT,
	  "seconds between fresh keys on tls and dtls, both ways; the client asks (default 3600)" },
	{ "rekey-bytes", parse_bytes, FIELD(rekey_bytes), "64G", "BYTES", 0,
	  "bytes one key protects before keys are renewed, K/M/G/T suffixes (default 64G)" },
	{ "rekey-records", parse_records, FIELD(rekey_records), "16777216",
	  "COUNT", 0,
	  "records one key protects before keys are renewed (default 16777216, 2^24)" },
	{ "fallback-timeout", parse_seconds, FIELD(fallback_timeout), "5",
	  "SECONDS", KEY_CLIENT,
	  "time a transport has to come up before the client tries the next (default 5)" },
	{ "fallback-retry", parse_retry, FIELD(fallback_retry), "300",
	  "SECONDS", KEY_CLIENT,
	  "on a later transport, try the first again this often; 0: never (default 300)" },
	{ "refused-retry", parse_refused_retry, FIELD(refused_retry), "600",
	  "SECONDS|never", KEY_CLIENT,
	  "after a refusal that trying again cannot fix (password, certificate), wait this long, or stop (default 600)" },
	{ "failover-spread", parse_spread, FIELD(failover_spread), "5",
	  "SECONDS", KEY_CLIENT,
	  "several gateways: a client whose gateway died moves within this, in a slot of its inner address (default 5)" },
	{ "client-to-client", parse_bool, FIELD(client_to_client), "no",
	  "yes|no", KEY_SERVER,
	  "let clients reach each other through the server (default no)" },
	{ "client-config-dir", parse_path, FIELD(client_config_dir), NULL,
	  "PATH", KEY_SERVER | KEY_TUN,
	  "a file per client identity: static address, routes, networks behind it, group" },
	{ "group-config-dir", parse_path, FIELD(group_config_dir), NULL,
	  "PATH", KEY_SERVER | KEY_TUN,
	  "a file per group: the routes its members are pushed, restrict-to-routes" },
	{ "restrict-to-routes", parse_bool, FIELD(restrict_to_routes), "no",
	  "yes|no", KEY_SERVER | KEY_TUN,
	  "drop what a client sends where none of its routes leads (default no)" },
	{ "cert-group", parse_cert_group, FIELD(cert_group), "none", "ou|none",
	  KEY_SERVER,
	  "take a client's group from its certificate's OU (default none)" },
	{ "route-table", parse_table, FIELD(route_table), "51821", "NUMBER",
	  KEY_CLIENT | KEY_RESTART,
	  "the routing table of the tunnel's routes, chosen before main by a rule (default 51821)" },
	{ "fwmark", parse_fwmark, FIELD(fwmark), "51821", "MARK",
	  KEY_CLIENT | KEY_RESTART,
	  "the mark on the transport's own sockets, which keeps them off the tunnel (default 51821)" },
	{ "block-ipv6", parse_bool, FIELD(block_ipv6), "no", "yes|no",
	  KEY_CLIENT | KEY_TUN,
	  "drop IPv6 that the tunnel does not carry instead of letting it go around it (default no)" },
	{ "kill-switch", parse_bool, FIELD(kill_switch), "no", "yes|no",
	  KEY_CLIENT | KEY_TUN | KEY_RESTART,
	  "after a full-tunnel session ends, block what the tunnel carried until the next one (default no)" },
	{ "dns", parse_dns, FIELD(n_dns), NULL, "ADDRESS",
	  KEY_SERVER | KEY_TUN | KEY_REPEATABLE,
	  "a DNS server pushed to clients (repeatable, at most 8)" },
	{ "dns-domain", parse_dns_domain, FIELD(n_dns_domains), NULL, "NAME",
	  KEY_SERVER | KEY_TUN | KEY_REPEATABLE,
	  "a search domain pushed to clients (repeatable, at most 8)" },
	{ "accept-default-route", parse_bool, FIELD(accept_default_route),
	  "no", "yes|no", KEY_CLIENT | KEY_TUN,
	  "let the server route all of this client's traffic through the tunnel (default no)" },
	{ "accept-routes", parse_accept_routes, FIELD(n_accept_routes), NULL,
	  "PREFIX[, PREFIX...]", KEY_CLIENT | KEY_TUN | KEY_REPEATABLE,
	  "install only pushed routes inside these prefixes (default: any that is safe)" },
	{ "offload", parse_bool, FIELD(offload), "yes", "yes|no", KEY_RESTART,
	  "large TCP segments between TUN and peers that take them (default yes)" },
	{ 0 },
};

bool config_key_holds_string(const struct config_key *k)
{
	return k->parse == parse_endpoint || k->parse == parse_remote ||
	       k->parse == parse_metrics_listen ||
	       k->parse == parse_ifname || k->parse == parse_path ||
	       k->parse == parse_name || k->parse == parse_text;
}

_Static_assert(sizeof(config_keys) / sizeof(config_keys[0]) <= CONFIG_MAX_KEYS,
	       "raise CONFIG_MAX_KEYS");
