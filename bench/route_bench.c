/*
 * route_bench: what the gateway's route table costs per packet, with N
 * sessions each holding an inner address (/32) and a network behind it
 * (a site, /24), IPv4; and the same in IPv6 (/128 and /48). Two lookups
 * a packet: the destination of a packet from TUN (longest match among
 * the networks and the addresses), and the source of a packet from a
 * session (the check that it is its own).
 *
 *   bench/route_bench [N...]     default: 10 100 1000 10000 100000
 *
 * Destinations are drawn at random (a fixed seed) over the sessions, so
 * that the table is probed all over, as by many flows; each figure is the
 * best of five rounds of a million lookups. Not run by make check.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "route.h"

#define LOOKUPS 1000000
#define ROUNDS 5

static uint32_t rng = 2463534242u;

static uint32_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Session i's inner address and network, IPv4: 10.x.y.z/32 and
 * 100.64.0.0/10 cut into /24s (enough for a million sites); IPv6:
 * 2001:db8:ffff::i/128 and 2001:db8:i::/48 (i < 65535). */
static void v4(uint32_t i, struct cv_prefix *host, struct cv_prefix *net)
{
	*host = (struct cv_prefix){ .addr.family = AF_INET, .len = 32 };
	host->addr.v4.s_addr = htonl(0x0a000000 + i + 2);
	*net = (struct cv_prefix){ .addr.family = AF_INET, .len = 24 };
	net->addr.v4.s_addr = htonl(0x64400000 + (i << 8));
}

static void v6(uint32_t i, struct cv_prefix *host, struct cv_prefix *net)
{
	*host = (struct cv_prefix){ .addr.family = AF_INET6, .len = 128 };
	*net = (struct cv_prefix){ .addr.family = AF_INET6, .len = 48 };
	const uint8_t base[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	memcpy(host->addr.bytes, base, 4);
	host->addr.bytes[4] = host->addr.bytes[5] = 0xff;
	memcpy(host->addr.bytes + 12, &(uint32_t){ htonl(i + 2) }, 4);
	memcpy(net->addr.bytes, base, 4);
	net->addr.bytes[4] = (uint8_t)(i >> 8);
	net->addr.bytes[5] = (uint8_t)i;
}

/* ns per lookup of the addresses in keys, best of ROUNDS; fails (returns
 * a negative figure) when a lookup finds the wrong session. */
static double time_lookups(const struct route_table *t, int family,
			   const uint8_t (*keys)[16], void *const *want)
{
	double best = 1e9;

	for (int r = 0; r < ROUNDS; r++) {
		uintptr_t sum = 0;
		double t0 = now();
		for (uint32_t k = 0; k < LOOKUPS; k++)
			sum += (uintptr_t)route_lookup(t, family, keys[k]);
		double ns = (now() - t0) * 1e9 / LOOKUPS;
		if (ns < best)
			best = ns;
		uintptr_t expect = 0;
		for (uint32_t k = 0; k < LOOKUPS; k++)
			expect += (uintptr_t)want[k];
		if (sum != expect)
			return -1;
	}
	return best;
}

static int bench(uint32_t n, int family)
{
	struct route_table *t;
	static uint8_t dst[LOOKUPS][16], src[LOOKUPS][16];
	static void *want[LOOKUPS];
	char *sessions = malloc(n);

	if (!sessions || route_table_new(&t) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct cv_prefix host, net;
		(family == AF_INET ? v4 : v6)(i, &host, &net);
		if (route_add(t, &host, sessions + i) < 0 ||
		    route_add(t, &net, sessions + i) < 0) {
			fprintf(stderr, "route_bench: cannot add session %u\n", i);
			return -1;
		}
	}
	/* A host inside session i's network, and session i's address. */
	for (uint32_t k = 0; k < LOOKUPS; k++) {
		uint32_t i = next_random() % n;
		struct cv_prefix host, net;
		(family == AF_INET ? v4 : v6)(i, &host, &net);
		net.addr.bytes[family == AF_INET ? 3 : 15] = (uint8_t)(k | 1);
		memcpy(dst[k], net.addr.bytes, 16);
		memcpy(src[k], host.addr.bytes, 16);
		want[k] = sessions + i;
	}
	double to_net = time_lookups(t, family, (const uint8_t (*)[16])dst, want);
	double to_host = time_lookups(t, family, (const uint8_t (*)[16])src, want);
	if (to_net < 0 || to_host < 0) {
		fprintf(stderr, "route_bench: a lookup found the wrong session\n");
		return -1;
	}
	printf("%-5s %8u %10u %16.1f %18.1f\n",
	       family == AF_INET ? "IPv4" : "IPv6", n, route_count(t), to_net,
	       to_host);
	route_table_free(t);
	free(sessions);
	return 0;
}

int main(int argc, char *argv[])
{
	static const uint32_t defaults[] = { 10, 100, 1000, 10000, 100000 };
	uint32_t sizes[16];
	size_t n = 0;

	for (int i = 1; i < argc && n < 16; i++)
		sizes[n++] = (uint32_t)strtoul(argv[i], NULL, 10);
	if (!n) {
		memcpy(sizes, defaults, sizeof(defaults));
		n = sizeof(defaults) / sizeof(defaults[0]);
	}
	printf("%-5s %8s %10s %16s %18s\n", "", "sessions", "prefixes",
	       "ns/lookup (net)", "ns/lookup (source)");
	for (size_t i = 0; i < n; i++) {
		if (sizes[i] < 1 || sizes[i] > 1000000) {
			fprintf(stderr, "route_bench: %u sessions: give 1 to 1000000\n",
				sizes[i]);
			return 2;
		}
		if (bench(sizes[i], AF_INET) < 0 ||
		    (sizes[i] < 65535 && bench(sizes[i], AF_INET6) < 0))
			return 1;
	}
	return 0;
}
