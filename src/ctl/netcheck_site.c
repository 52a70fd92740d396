/* culvertctl diagnose on a site's router: what breaks a site in practice
 * besides culvertd itself. Forwarding off here, and a host of the site
 * whose route back (its default route, mostly) leads to another router:
 * the tunnel brings its packets in, and its answers never come back.
 * Part of netcheck.h; culvertctl only (the probe needs a raw socket). */
#include "netcheck.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <linux/rtnetlink.h>

#include "netcheck_internal.h"
#include "netlink_neigh.h"

/* Hosts probed per network: the site's hosts the router talked to last;
 * each probe waits PROBE_MS at most. */
#define MAX_HOSTS 8
#define PROBE_MS 1000

static void check_forwarding(struct netcheck *nc)
{
	bool v4 = false, v6 = false;
	char fix[512], net[ADDR_STRLEN];

	for (unsigned int i = 0; i < nc->n_networks; i++) {
		v4 |= nc->networks[i].addr.family == AF_INET;
		v6 |= nc->networks[i].addr.family == AF_INET6;
	}
	prefix_str(&nc->networks[0], net);
	if (v4 && netcheck_ipv4_forwarding() == 0)
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix),
						   "net.ipv4.ip_forward", 1),
			       "IPv4 forwarding is off (net.ipv4.ip_forward = 0): the gateway routes %s to this router, but it does not pass the packets on to the site",
			       net);
	else if (v4)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "IPv4 forwarding is on, for the site behind this router");
	if (v6 && netcheck_ipv6_forwarding() == 0)
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix),
						   "net.ipv6.conf.all.forwarding", 1),
			       "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0): the gateway routes IPv6 networks to this router, but it does not pass the packets on to the site");
}

/* ---- the site's hosts, asked whether their answers come back here */

struct hosts {
	const struct cv_prefix *net;
	int ifindex;
	unsigned int n;
	struct cv_addr addr[MAX_HOSTS];
};

static int site_host(const struct nl_neigh *neigh, void *arg)
{
	struct hosts *h = arg;

	if (neigh->reachable && neigh->ifindex == h->ifindex &&
	    prefix_contains(h->net, &neigh->addr) && h->n < MAX_HOSTS)
		h->addr[h->n++] = neigh->addr;
	return 0;
}

static uint16_t icmp_sum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* A socket that sends echo requests from src: -errno when it cannot. */
static int probe_socket(const struct cv_addr *src)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = src->v4 };

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void send_echo(int fd, const struct cv_addr *to, uint16_t id)
{
	struct icmphdr echo = { .type = ICMP_ECHO };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = to->v4 };

	echo.un.echo.id = htons(id);
	echo.un.echo.sequence = htons(1);
	echo.checksum = icmp_sum(&echo, sizeof(echo));
	sendto(fd, &echo, sizeof(echo), 0, (struct sockaddr *)&sa, sizeof(sa));
}

/* Whether the datagram in buf is from's echo reply to id. */
static bool is_reply(const uint8_t *buf, ssize_t n, const struct cv_addr *from,
		     uint16_t id)
{
	const struct iphdr *ip = (const struct iphdr *)buf;

	if (n < (ssize_t)sizeof(*ip))
		return false;
	size_t hl = (size_t)ip->ihl * 4;
	if ((size_t)n < hl + sizeof(struct icmphdr) ||
	    ip->saddr != from->v4.s_addr)
		return false;
	const struct icmphdr *icmp = (const struct icmphdr *)(buf + hl);
	return icmp->type == ICMP_ECHOREPLY && ntohs(icmp->un.echo.id) == id;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Echo requests to host from both sources at once; which answered,
 * within PROBE_MS. A raw socket sees every ICMP packet: only host's
 * replies to our ids count. */
static void probe(int fd[2], const struct cv_addr *host, bool answered[2])
{
	uint16_t id[2] = { (uint16_t)(getpid() ^ 0x5a5a), (uint16_t)(getpid() ^ 0xa5a5) };
	int64_t deadline = now_ms() + PROBE_MS;

	answered[0] = answered[1] = false;
	for (int i = 0; i < 2; i++)
		send_echo(fd[i], host, id[i]);
	while (!(answered[0] && answered[1])) {
		struct pollfd p[2] = { { fd[0], POLLIN, 0 }, { fd[1], POLLIN, 0 } };
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(p, 2, (int)left) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			uint8_t buf[256];
			ssize_t n;
			if (!(p[i].revents & POLLIN))
				continue;
			while ((n = recv(fd[i], buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				answered[i] |= is_reply(buf, n, host, id[i]);
		}
	}
}

/* One IPv4 network: its hosts answer the router's LAN address (they are
 * there and take pings) but not the tunnel's: their way back to what the
 * tunnel brings does not lead here. */
static void check_hosts(struct netcheck *nc, const struct cv_prefix *net)
{
	struct nl_route route;
	struct hosts h = { .net = net };
	char n[ADDR_STRLEN], host[ADDR_STRLEN], lan[ADDR_STRLEN],
		inner[ADDR_STRLEN], fix[400], name[IFNAMSIZ];

	prefix_str(net, n);
	if (netcheck_lookup_net(nc, net, &route) < 0 || !route.oif ||
	    route.oif == nc->tun.ifindex || !route.has_prefsrc) {
		netcheck_found(nc, NETCHECK_PROBLEM,
			       "ip addr add ADDRESS/LENGTH dev LAN-INTERFACE   # this router's address on the site",
			       "the gateway routes %s to this router, but no interface here leads there: the site's hosts cannot be reached",
			       n);
		return;
	}
	h.ifindex = route.oif;
	nl_neigh_dump(nc->nl, AF_INET, site_host, &h);
	if (!h.n) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "no host of %s on %s has talked to this router lately: whether their routes back lead here was not checked",
			       n, netcheck_ifname(nc, route.oif, name));
		return;
	}
	int fd[2] = { probe_socket(&route.prefsrc), probe_socket(&nc->inner4) };
	if (fd[0] < 0 || fd[1] < 0) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "cannot send a ping from this router (%s; run as root): the routes back of the hosts of %s were not checked",
			       strerror(-(fd[0] < 0 ? fd[0] : fd[1])), n);
		for (int i = 0; i < 2; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return;
	}
	addr_str(&route.prefsrc, lan);
	addr_str(&nc->inner4, inner);
	unsigned int good = 0, silent = 0;
	for (unsigned int i = 0; i < h.n; i++) {
		bool answered[2];
		probe(fd, &h.addr[i], answered);
		addr_str(&h.addr[i], host);
		if (answered[1]) {
			good++;
		} else if (answered[0]) {
			snprintf(fix, sizeof(fix),
				 "ip route replace default via %s   # on %s, or a route for every network of the tunnel via %s",
				 lan, host, lan);
			netcheck_found(nc, NETCHECK_PROBLEM, fix,
				       "host %s of %s answers this router from %s but not from the tunnel's address %s: its route back (its default route?) does not lead here, so the answers to what comes through the tunnel go elsewhere",
				       host, n, lan, inner);
		} else {
			silent++;
		}
	}
	close(fd[0]);
	close(fd[1]);
	if (good)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "%u host%s of %s answer%s from the tunnel's address: their routes back lead here",
			       good, good == 1 ? "" : "s", n, good == 1 ? "s" : "");
	if (silent)
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "%u host%s of %s answered no ping at all: not checked",
			       silent, silent == 1 ? "" : "s", n);
}

void netcheck_site(struct netcheck *nc)
{
	if (!nc->n_networks)
		return;
	check_forwarding(nc);
	for (unsigned int i = 0; i < nc->n_networks; i++)
		if (nc->networks[i].addr.family == AF_INET &&
		    nc->inner4.family == AF_INET)
			check_hosts(nc, &nc->networks[i]);
}
