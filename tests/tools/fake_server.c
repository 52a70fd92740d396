/*
 * A malicious server for tests/net/malicious_server.sh: it speaks the
 * plain udp transport (one control message per datagram, type byte
 * first, as plugins/udp/udp.c frames them) and answers every HELLO with
 * a WELCOME crafted by scenario, built with culvert's own codec
 * (src/proto.c) and then, for what the codec refuses to encode, edited
 * byte by byte.
 *
 *   fake_server ADDRESS PORT SCENARIO [SECONDS]
 *
 * It prints one line per event on stdout ("hello from ...", "welcome
 * SCENARIO: N bytes", "bye from ...: reason R"), so the test can see
 * what the client answered, and exits after SECONDS (default 60).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The largest datagram a scenario builds: past PROTO_MAX_CONTROL on
 * purpose for "oversized". */
#define OUT_MAX 2048

static struct cv_prefix pfx(const char *text)
{
	struct cv_prefix p;
	const char *why;

	if (prefix_parse(text, true, &p, &why) < 0) {
		fprintf(stderr, "fake_server: bad prefix %s: %s\n", text, why);
		exit(2);
	}
	return p;
}

/* The lab's welcome (tests/net/lab.sh): 203.0.113.2/24, the server at
 * 203.0.113.1, MTU 1400, keepalive 10/60, the LAN 198.51.100.0/24. */
static struct proto_welcome lab_welcome(uint32_t nonce)
{
	struct proto_welcome w = {
		.nonce = nonce,
		.addr4 = pfx("203.0.113.2/24"),
		.mtu = 1400,
		.keepalive_interval = 10,
		.keepalive_timeout = 60,
		.n_routes = 1,
	};

	addr_parse("203.0.113.1", &w.server4);
	w.routes[0] = pfx("198.51.100.0/24");
	return w;
}

static size_t encode(const struct proto_welcome *w, uint8_t *out)
{
	struct proto_msg m = { .type = PROTO_WELCOME, .welcome = *w };
	ssize_t n = proto_encode(&m, out, PROTO_MAX_CONTROL);

	if (n < 0) {
		fprintf(stderr, "fake_server: cannot encode: %s\n",
			strerror((int)-n));
		exit(2);
	}
	return (size_t)n;
}

/* The offset of the first attribute of type in an encoded welcome. */
static size_t find_attr(const uint8_t *buf, size_t len, uint8_t type)
{
	for (size_t i = 5; i + 1 < len; i += 2 + (size_t)buf[i + 1])
		if (buf[i] == type)
			return i;
	fprintf(stderr, "fake_server: no attribute 0x%02x\n", type);
	exit(2);
}

/* Each scenario fills out with the datagram to send; returns its length. */
typedef size_t scenario_fn(uint32_t nonce, uint8_t *out);

static size_t with_route(uint32_t nonce, uint8_t *out, const char *route)
{
	struct proto_welcome w = lab_welcome(nonce);

	w.routes[w.n_routes++] = pfx(route);
	return encode(&w, out);
}

static size_t s_good(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);

	return encode(&w, out);
}

static size_t s_bad_address(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);

	w.addr4 = pfx("127.0.0.2/8");
	w.server4.family = 0;
	return encode(&w, out);
}

static size_t s_loopback_route(uint32_t nonce, uint8_t *out)
{
	return with_route(nonce, out, "127.0.0.0/8");
}

static size_t s_multicast_route(uint32_t nonce, uint8_t *out)
{
	return with_route(nonce, out, "224.0.0.0/4");
}

static size_t s_route_covers_server(uint32_t nonce, uint8_t *out)
{
	return with_route(nonce, out, "192.0.2.0/24");
}

static size_t s_default_route(uint32_t nonce, uint8_t *out)
{
	return with_route(nonce, out, "0.0.0.0/0");
}

static size_t s_route6(uint32_t nonce, uint8_t *out)
{
	return with_route(nonce, out, "2001:db8::/32");
}

/* An IPv6-only welcome (ADDR6, no ADDR4) with something of IPv4 in it. */
static struct proto_welcome ipv6_only_welcome(uint32_t nonce)
{
	struct proto_welcome w = lab_welcome(nonce);

	memset(&w.addr4, 0, sizeof(w.addr4));
	memset(&w.server4, 0, sizeof(w.server4));
	w.n_routes = 0;
	w.addr6 = pfx("2001:db8:100::2/64");
	return w;
}

static size_t s_server4_alone(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = ipv6_only_welcome(nonce);

	addr_parse("203.0.113.1", &w.server4);
	return encode(&w, out);
}

static size_t s_route4_alone(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = ipv6_only_welcome(nonce);

	w.routes[w.n_routes++] = pfx("198.51.100.0/24");
	return encode(&w, out);
}

/* Neither ADDR4 nor ADDR6: the encoder refuses, so ADDR4 is cut out. */
static size_t s_no_address(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);
	size_t len = encode(&w, out);
	size_t at = find_attr(out, len, 0x01);		/* ADDR4 */

	memmove(out + at, out + at + 7, len - at - 7);
	return len - 7;
}

static size_t s_tiny_mtu(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);
	size_t len = encode(&w, out);
	size_t at = find_attr(out, len, 0x03);		/* MTU */

	out[at + 2] = 500 >> 8;
	out[at + 3] = 500 & 0xff;
	return len;
}

static size_t s_too_many_routes(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);

	/* The codec encodes at most 64; the 65th goes on by hand. */
	w.n_routes = PROTO_MAX_ROUTES;
	for (unsigned int i = 0; i < PROTO_MAX_ROUTES; i++) {
		char text[32];
		snprintf(text, sizeof(text), "10.%u.0.0/16", i);
		w.routes[i] = pfx(text);
	}
	size_t len = encode(&w, out);
	const uint8_t extra[] = { 0x02, 5, 10, 200, 0, 0, 16 };
	memcpy(out + len, extra, sizeof(extra));
	return len + sizeof(extra);
}

static size_t s_oversized(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);
	size_t len = encode(&w, out);

	/* Unknown non-critical attributes (0x7f), which a receiver would
	 * skip, up to 1100 bytes: past the limit of 1024. */
	while (len + 2 + 100 <= 1100) {
		out[len] = 0x7f;
		out[len + 1] = 100;
		memset(out + len + 2, 0, 100);
		len += 102;
	}
	return len;
}

static size_t s_truncated(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);

	return encode(&w, out) - 1;	/* the route's length byte is cut */
}

static size_t s_garbage(uint32_t nonce, uint8_t *out)
{
	/* A welcome's type byte and the right nonce, then noise. */
	out[0] = PROTO_WELCOME;
	for (int i = 0; i < 4; i++)
		out[1 + i] = (uint8_t)(nonce >> (24 - 8 * i));
	for (unsigned int i = 0; i < 40; i++)
		out[5 + i] = (uint8_t)(0xa5 ^ (i * 37));
	return 5 + 40;
}

static size_t s_critical_attr(uint32_t nonce, uint8_t *out)
{
	struct proto_welcome w = lab_welcome(nonce);
	size_t len = encode(&w, out);

	out[len] = 0x81;	/* unknown, critical */
	out[len + 1] = 2;
	out[len + 2] = 0;
	out[len + 3] = 0;
	return len + 4;
}

static const struct scenario {
	const char *name;
	scenario_fn *build;
} scenarios[] = {
	{ "good", s_good },
	{ "bad-address", s_bad_address },
	{ "loopback-route", s_loopback_route },
	{ "multicast-route", s_multicast_route },
	{ "route-covers-server", s_route_covers_server },
	{ "default-route", s_default_route },
	{ "route6", s_route6 },
	{ "server4-alone", s_server4_alone },
	{ "route4-alone", s_route4_alone },
	{ "no-address", s_no_address },
	{ "tiny-mtu", s_tiny_mtu },
	{ "too-many-routes", s_too_many_routes },
	{ "oversized", s_oversized },
	{ "truncated", s_truncated },
	{ "garbage", s_garbage },
	{ "critical-attr", s_critical_attr },
};

static void usage(void)
{
	fprintf(stderr, "usage: fake_server ADDRESS PORT SCENARIO [SECONDS]\nscenarios:");
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		fprintf(stderr, " %s", scenarios[i].name);
	fprintf(stderr, "\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5)
		usage();
	const struct scenario *sc = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (strcmp(argv[3], scenarios[i].name) == 0)
			sc = &scenarios[i];
	if (!sc)
		usage();
	double seconds = argc == 5 ? atof(argv[4]) : 60;
	if (seconds <= 0 || seconds > 600)
		usage();

	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		usage();
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("fake_server: socket");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("listening on %s:%s, scenario %s\n", argv[1], argv[2], sc->name);

	double end = now() + seconds;
	uint8_t in[65536], out[OUT_MAX];
	for (double left; (left = end - now()) > 0;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		struct sockaddr_in peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t n = recvfrom(fd, in, sizeof(in), 0,
				     (struct sockaddr *)&peer, &peer_len);
		if (n <= 0)
			continue;
		char who[ADDR_STRLEN];
		sockaddr_str(&peer, who);
		struct proto_msg m;
		const char *why;
		if (proto_decode(in, (size_t)n, &m, &why) < 0) {
			printf("undecodable message from %s: %s\n", who, why);
			continue;
		}
		if (m.type == PROTO_BYE) {
			printf("bye from %s: reason %u (%s)\n", who, m.bye.reason,
			       proto_reason_name(m.bye.reason));
			continue;
		}
		if (m.type != PROTO_HELLO) {
			printf("%s from %s\n", proto_type_name(m.type), who);
			continue;
		}
		printf("hello from %s, nonce %08x\n", who, m.hello.nonce);
		size_t len = sc->build(m.hello.nonce, out);
		if (sendto(fd, out, len, 0, (struct sockaddr *)&peer,
			   peer_len) < 0)
			printf("cannot send to %s: %s\n", who, strerror(errno));
		else
			printf("welcome %s: %zu bytes\n", sc->name, len);
	}
	close(fd);
	return 0;
}
