/* A RADIUS server's answer to a login, read (radius_reply.h). */
#include "radius_reply.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wire.h"

__attribute__((format(printf, 2, 3)))
static int unusable(struct radius_reply *r, const char *fmt, ...)
{
	va_list ap;

	if (r->problem[0])
		return -EINVAL;		/* the first problem tells */
	va_start(ap, fmt);
	vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

__attribute__((format(printf, 2, 3)))
static void note(struct radius_reply *r, const char *fmt, ...)
{
	size_t used = strlen(r->note);
	va_list ap;

	if (used + 3 >= sizeof(r->note))
		return;
	if (used)
		used += (size_t)snprintf(r->note + used, sizeof(r->note) - used, "; ");
	va_start(ap, fmt);
	vsnprintf(r->note + used, sizeof(r->note) - used, fmt, ap);
	va_end(ap);
}

/* value as text for a log line: printable ASCII, the rest as '?', at
 * most size - 1 bytes. */
static const char *printable(const uint8_t *value, size_t len, char *buf,
			     size_t size)
{
	size_t n = len < size - 1 ? len : size - 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = value[i] >= 0x20 && value[i] < 0x7f ? (char)value[i] : '?';
	buf[n] = '\0';
	return buf;
}

static int integer(struct radius_reply *r, const char *name,
		   const uint8_t *value, size_t len, unsigned int *out)
{
	if (len != 4)
		return unusable(r, "its %s is %zu bytes long, not 4", name, len);
	*out = get32(value);
	return 0;
}

/* Framed-IP-Address (RFC 2865 5.8): 255.255.255.254 asks the NAS to
 * choose, 255.255.255.255 lets the user choose (which a VPN client
 * cannot): both are the pool's choice. */
static int address4(struct radius_reply *r, const uint8_t *value, size_t len)
{
	if (len != 4)
		return unusable(r, "its Framed-IP-Address is %zu bytes long, not 4", len);
	if (r->addr4.family)
		return unusable(r, "it gives two Framed-IP-Addresses");
	uint32_t a = get32(value);
	if (a == 0xfffffffe || a == 0xffffffff)
		return 0;
	if (a == 0)
		return unusable(r, "its Framed-IP-Address is 0.0.0.0");
	r->addr4.family = AF_INET;
	memcpy(&r->addr4.v4, value, 4);
	return 0;
}

static int address6(struct radius_reply *r, const uint8_t *value, size_t len)
{
	char a[ADDR_STRLEN];

	if (len != 16)
		return unusable(r, "its Framed-IPv6-Address is %zu bytes long, not 16", len);
	if (r->addr6.family)
		return unusable(r, "it gives two Framed-IPv6-Addresses");
	r->addr6.family = AF_INET6;
	memcpy(&r->addr6.v6, value, 16);
	if (IN6_IS_ADDR_UNSPECIFIED(&r->addr6.v6) ||
	    IN6_IS_ADDR_MULTICAST(&r->addr6.v6))
		return unusable(r, "its Framed-IPv6-Address %s is no host's",
				addr_str(&r->addr6, a));
	return 0;
}

/* Framed-Route (RFC 2865 5.22), Framed-IPv6-Route (RFC 3162 2.5):
 * "PREFIX [GATEWAY [METRIC...]]", the prefix a network behind the
 * client. The gateway and metrics say nothing to a tunnel: the network
 * goes to the session either way. */
static int network(struct radius_reply *r, uint8_t type, const uint8_t *value,
		   size_t len)
{
	const char *name = type == RADIUS_FRAMED_ROUTE ? "Framed-Route"
						       : "Framed-IPv6-Route";
	int family = type == RADIUS_FRAMED_ROUTE ? AF_INET : AF_INET6;
	char text[RADIUS_VALUE_MAX + 1], shown[RADIUS_VALUE_MAX + 1];
	struct cv_prefix p;
	const char *why;

	printable(value, len, shown, sizeof(shown));
	memcpy(text, value, len);
	text[len] = '\0';
	text[strcspn(text, " \t")] = '\0';
	if (!strchr(text, '/')) {
		/* A bare address is that one host. */
		if (addr_parse(text, &p.addr) < 0)
			return unusable(r, "its %s '%s' is not a prefix", name, shown);
		p = prefix_host(&p.addr);
	} else if (prefix_parse(text, false, &p, &why) < 0) {
		return unusable(r, "its %s '%s' %s", name, shown, why);
	}
	if (p.addr.family != family)
		return unusable(r, "its %s '%s' is not IPv%d", name, shown,
				family == AF_INET ? 4 : 6);
	if (p.len == 0)
		return unusable(r, "its %s '%s' would take every address", name,
				shown);
	if (r->n_networks == POLICY_MAX_NETWORKS)
		return unusable(r, "it gives more than %d networks (Framed-Route)",
				POLICY_MAX_NETWORKS);
	for (unsigned int i = 0; i < r->n_networks; i++)
		if (prefix_overlap(&r->networks[i], &p))
			return unusable(r, "its %s '%s' overlaps another of its networks",
					name, shown);
	r->networks[r->n_networks++] = p;
	return 0;
}

/* Filter-Id names the group; a Class does when it is a group's name and
 * no Filter-Id did. Either way it must be a name group-config-dir could
 * hold. */
static void group(struct radius_reply *r, uint8_t type, const uint8_t *value,
		  size_t len)
{
	const char *name = type == RADIUS_FILTER_ID ? "Filter-Id" : "Class";
	char text[RADIUS_VALUE_MAX + 1];

	if (type == RADIUS_CLASS && r->n_class < RADIUS_CLASS_MAX) {
		r->class[r->n_class].len = (uint8_t)len;
		memcpy(r->class[r->n_class++].value, value, len);
	}
	memcpy(text, value, len);
	text[len] = '\0';
	bool valid = strlen(text) == len && group_name_valid(text);
	if (type == RADIUS_CLASS && (!valid || r->group[0]))
		return;		/* a Class is often no name at all */
	if (!valid) {
		note(r, "%s '%s' is no group name (letters, digits, '.', '_', '-'): no group from it",
		     name, printable(value, len, text, 64));
		return;
	}
	snprintf(r->group, sizeof(r->group), "%s", text);
}

/* Reply-Messages, one after the other, as the client will read them. */
static void message(struct radius_reply *r, const uint8_t *value, size_t len)
{
	size_t used = strlen(r->message);
	char text[RADIUS_VALUE_MAX + 1];

	printable(value, len, text, sizeof(text));
	/* Servers often end it with a newline, now a '?'. */
	size_t n = strlen(text);
	while (n && (text[n - 1] == '?' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (!n)
		return;
	snprintf(r->message + used, sizeof(r->message) - used, "%s%s",
		 used ? " " : "", text);
}

static int attribute(struct radius_reply *r, uint8_t type,
		     const uint8_t *value, size_t len)
{
	switch (type) {
	case RADIUS_FRAMED_IP_ADDRESS:
		return address4(r, value, len);
	case RADIUS_FRAMED_IPV6_ADDRESS:
		return address6(r, value, len);
	case RADIUS_FRAMED_ROUTE:
	case RADIUS_FRAMED_IPV6_ROUTE:
		return network(r, type, value, len);
	case RADIUS_FILTER_ID:
	case RADIUS_CLASS:
		group(r, type, value, len);
		return 0;
	case RADIUS_SESSION_TIMEOUT:
		return integer(r, "Session-Timeout", value, len, &r->session_timeout);
	case RADIUS_IDLE_TIMEOUT:
		return integer(r, "Idle-Timeout", value, len, &r->idle_timeout);
	case RADIUS_ACCT_INTERIM_INTERVAL:
		return integer(r, "Acct-Interim-Interval", value, len, &r->interim);
	case RADIUS_REPLY_MESSAGE:
		message(r, value, len);
		return 0;
	}
	return 0;	/* others say nothing to culvert */
}

int radius_reply_parse(const uint8_t *packet, struct radius_reply *r)
{
	struct radius_attrs it;
	const uint8_t *value;
	uint8_t type;
	size_t len;
	int err = 0;

	memset(r, 0, sizeof(*r));
	r->code = packet[0];
	radius_attrs_init(&it, packet);
	while (radius_attrs_next(&it, &type, &value, &len))
		if (attribute(r, type, value, len) < 0)
			err = -EINVAL;
	/* Only an Accept's settings are applied; a refusal keeps only its
	 * message. */
	if (r->code != RADIUS_ACCESS_ACCEPT)
		return 0;
	return err;
}

void radius_reply_overlay(const struct radius_reply *r,
			  const struct client_policy *file,
			  const char *identity, struct client_policy *out)
{
	if (file)
		*out = *file;
	else
		*out = (struct client_policy){ .restrict_to_routes = -1 };
	/* Borrowed, read only: policy_merge takes it const. */
	out->name = (char *)identity;
	out->file = file ? file->file : "the RADIUS reply";
	if (r->addr4.family)
		out->addr4 = r->addr4;
	if (r->addr6.family)
		out->addr6 = r->addr6;
	if (r->n_networks) {
		out->networks.n = r->n_networks;
		out->networks.p = (struct cv_prefix *)r->networks;
		out->networks.line = NULL;
	}
	if (r->group[0])
		out->group = (char *)r->group;
}
