/*
 * libFuzzer harness: what a malicious server can push to a client. Every
 * input is decoded as a WELCOME (its first byte is forced to 0x02), then
 * put through what the client does with a welcome before it touches the
 * host (src/client/session_client.c, client_session_welcome and install).
 *
 * The asserts below are the decoder's promises the client depends on;
 * then welcome_policy_check() (src/client/welcome_policy.c) decides, as the
 * client does, and what it accepts must have a usable address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "fuzz.h"
#include "proto.h"
#include "welcome_policy.h"

/* As client_welcome(): a welcome it would install, for a client that
 * connected to 192.0.2.1 and accepts default routes (the widest policy). */
static bool client_accepts(const struct proto_welcome *w)
{
	struct cv_addr outer = { .family = AF_INET,
				 .v4.s_addr = htonl(0xc0000201) };
	struct welcome_policy p = { .outer = &outer, .n_outer = 1,
				    .accept_default_route = true };
	char why[256];

	int err = welcome_policy_check(w, &p, why, sizeof(why));
	fuzz_assert(err == 0 || (why[0] && strlen(why) < sizeof(why)),
		    "refused without a reason");
	if (err < 0)
		return false;
	fuzz_assert(w->addr4.addr.family != AF_INET || w->addr4.len >= 8,
		    "accepted address length %u", w->addr4.len);
	/* A site's router: no route takes its own network from it, and
	 * its networks do not overlap. */
	for (unsigned int i = 0; i < w->n_networks; i++) {
		for (unsigned int j = 0; j < w->n_routes; j++)
			fuzz_assert(!prefix_inside(&w->routes[j], &w->networks[i]),
				    "accepted route %u inside network %u", j, i);
		for (unsigned int j = 0; j < i; j++)
			fuzz_assert(!prefix_overlap(&w->networks[j], &w->networks[i]),
				    "accepted overlapping networks %u and %u", j, i);
	}
	/* An IPv6-only welcome: nothing of IPv4 may come with it. */
	if (w->addr4.addr.family != AF_INET) {
		fuzz_assert(w->server4.family == 0, "accepted SERVER4 without ADDR4");
		for (unsigned int i = 0; i < w->n_routes; i++)
			fuzz_assert(w->routes[i].addr.family == AF_INET6,
				    "accepted ROUTE4 without ADDR4");
	}
	return true;
}

/* As session_mtu(): the MTU the client sets, for a transport that carries
 * messages of at most max_msg bytes (0: no limit). */
static unsigned int client_mtu(size_t max_msg, unsigned int mtu)
{
	if (max_msg && max_msg - 1 < mtu)
		return (unsigned int)max_msg - 1;
	return mtu;
}

static bool host_bits_zero(const struct cv_prefix *p)
{
	unsigned int bits = p->addr.family == AF_INET ? 32 : 128;

	for (unsigned int i = p->len; i < bits; i++)
		if (p->addr.bytes[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static void check_welcome(const struct proto_welcome *w)
{
	char buf[ADDR_STRLEN], line[512] = "";
	size_t used = 0;

	/* A layer 2 welcome (FRAMES) leases no address: the bridge's
	 * DHCP does. */
	fuzz_assert(w->frames == PROTO_FRAMES_ETHERNET ||
			    w->addr4.addr.family == AF_INET ||
			    w->addr6.addr.family == AF_INET6,
		    "neither ADDR4 nor ADDR6 nor FRAMES");
	fuzz_assert(w->addr4.addr.family == 0 ||
			    (w->addr4.addr.family == AF_INET &&
			     w->addr4.len >= 1 && w->addr4.len <= 32),
		    "address %s", prefix_str(&w->addr4, buf));
	fuzz_assert(w->server4.family == 0 || w->server4.family == AF_INET,
		    "server4 family %u", w->server4.family);
	fuzz_assert(w->addr6.addr.family == 0 ||
			    (w->addr6.addr.family == AF_INET6 &&
			     w->addr6.len >= 1 && w->addr6.len <= 128),
		    "address6 %s", prefix_str(&w->addr6, buf));
	fuzz_assert(w->server6.family == 0 || w->server6.family == AF_INET6,
		    "server6 family %u", w->server6.family);
	fuzz_assert(w->mtu >= 576, "MTU %u", w->mtu);
	fuzz_assert(w->keepalive_interval >= 1 &&
			    w->keepalive_timeout > w->keepalive_interval,
		    "keepalive %u, %u", w->keepalive_interval,
		    w->keepalive_timeout);
	fuzz_assert(w->n_routes <= PROTO_MAX_ROUTES, "%u routes", w->n_routes);
	for (unsigned int i = 0; i < w->n_routes; i++) {
		const struct cv_prefix *r = &w->routes[i];
		fuzz_assert((r->addr.family == AF_INET && r->len <= 32) ||
				    (r->addr.family == AF_INET6 && r->len <= 128),
			    "route %u: family %u, length %u", i,
			    r->addr.family, r->len);
		fuzz_assert(host_bits_zero(r), "route %u: %s has host bits", i,
			    prefix_str(r, buf));
		/* What a welcome_check() would look at: the pushed routes
		 * against the pushed address. */
		(void)prefix_overlap(r, &w->addr4);
		/* As log_tunnel_up() lists them. */
		if (used < sizeof(line)) {
			int n = snprintf(line + used, sizeof(line) - used,
					 "%s%s", i ? ", " : "",
					 prefix_str(r, buf));
			if (n > 0)
				used += (size_t)n;
		}
	}
	/* DNS goes to resolved and into scripts' environment (src/client/dns.c). */
	fuzz_assert(w->n_dns <= PROTO_MAX_DNS &&
			    w->n_dns_domains <= PROTO_MAX_DNS,
		    "%u DNS servers, %u domains", w->n_dns, w->n_dns_domains);
	for (unsigned int i = 0; i < w->n_dns; i++)
		fuzz_assert(w->dns[i].family == AF_INET ||
				    w->dns[i].family == AF_INET6,
			    "DNS %u: family %u", i, w->dns[i].family);
	for (unsigned int i = 0; i < w->n_dns_domains; i++)
		fuzz_assert(proto_dns_domain_valid(w->dns_domains[i]),
			    "DNS domain %u is not a domain name", i);
	if (w->server4.family == AF_INET) {
		struct cv_addr server = w->server4;
		(void)prefix_contains(&w->addr4, &server);
		(void)addr_str(&server, buf);
	}
	if (!client_accepts(w))
		return;
	/* tls frames up to 65535 bytes; udp and dtls take the path's. */
	static const size_t max_msgs[] = { 0, 65535, 1473, 1281 };
	for (size_t i = 0; i < sizeof(max_msgs) / sizeof(max_msgs[0]); i++) {
		unsigned int mtu = client_mtu(max_msgs[i], w->mtu);
		fuzz_assert(mtu >= 576 && mtu <= w->mtu, "MTU %u from %u",
			    mtu, w->mtu);
	}
	/* session_keepalive_start() counts in unsigned milliseconds. */
	unsigned long long ms = w->keepalive_timeout * 1000ULL;
	fuzz_assert(ms <= 0xffffffffULL, "keepalive timeout %u s overflows",
		    w->keepalive_timeout);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_msg m;
	uint8_t buf[PROTO_MAX_CONTROL + 1];
	const char *why = NULL;

	if (size == 0 || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[0] = PROTO_WELCOME;
	int err = proto_decode(buf, size, &m, &why);
	if (err < 0) {
		fuzz_assert(err == -EBADMSG && why && *why, "error %d", err);
		return 0;
	}
	fuzz_assert(m.type == PROTO_WELCOME, "type 0x%02x", m.type);
	check_welcome(&m.welcome);
	return 0;
}
