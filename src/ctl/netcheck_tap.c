/* culvertctl diagnose with device-type = tap: on the gateway, its TAP
 * device a port of the bridge the config names, and that bridge up with
 * the LAN's device in it; on a client, an address on its TAP device
 * once the tunnel is up (the host's DHCP client's job). Part of
 * netcheck.h; culvertctl only. */
#include "netcheck.h"
#include "netcheck_internal.h"

#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ports {
	int bridge;		/* its ifindex */
	int skip;		/* the TAP device's */
	unsigned int n;		/* the other ports */
	char first[IFNAMSIZ];
};

static int count_port(const struct nl_link *link, void *arg)
{
	struct ports *p = arg;

	if (link->master == p->bridge && link->ifindex != p->skip &&
	    p->n++ == 0)
		snprintf(p->first, sizeof(p->first), "%s", link->name);
	return 0;
}

/* The bridge: there, a bridge, up, with the LAN's device among its
 * ports. Returns its ifindex, or 0. */
static int check_bridge(struct netcheck *nc)
{
	const char *name = nc->cfg->bridge;
	struct nl_link br;
	char fix[400];

	if (nl_link_get(nc->nl, 0, name, &br) < 0) {
		snprintf(fix, sizeof(fix),
			 "ip link add %s type bridge\nip link set LANDEV master %s   # the LAN's device\nip link set %s up   # then restart culvertd",
			 name, name, name);
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "bridge %s (bridge = in %s) does not exist: the TAP gateway has no LAN to join",
			       name, nc->cfg->path);
		return 0;
	}
	if (strcmp(br.kind, "bridge") != 0) {
		netcheck_found(nc, NETCHECK_PROBLEM,
			       "name a bridge in bridge = (ip -d link show type bridge lists them)",
			       "%s is not a bridge (it is %s), but bridge = names it",
			       name, br.kind[0] ? br.kind : "a plain device");
		return 0;
	}
	if (!br.up) {
		snprintf(fix, sizeof(fix), "ip link set %s up", name);
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "bridge %s is down: no frame crosses it", name);
	}
	struct ports p = { .bridge = br.ifindex, .skip = nc->tun.ifindex };
	nl_link_dump(nc->nl, count_port, &p);
	if (!p.n) {
		snprintf(fix, sizeof(fix),
			 "ip link set LANDEV master %s   # the LAN's device", name);
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "bridge %s has no port but the tunnel's: the LAN's device is not in it, and clients reach only this host",
			       name);
	} else {
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "bridge %s is %s, with %s%s among its ports", name,
			       br.up ? "up" : "down", p.first,
			       p.n > 1 ? " and others" : "");
	}
	return br.ifindex;
}

void netcheck_tap_gateway(struct netcheck *nc)
{
	int bridge = check_bridge(nc);
	char fix[400], master[IFNAMSIZ];

	if (!nc->tun.ifindex || !bridge)
		return;
	if (nc->tun.master == bridge) {
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "%s (TAP) is a port of bridge %s", nc->tun.name,
			       nc->cfg->bridge);
		return;
	}
	snprintf(fix, sizeof(fix),
		 "ip link set %s master %s   # culvertd does it at start: restarting it does too",
		 nc->tun.name, nc->cfg->bridge);
	if (nc->tun.master)
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "%s (TAP) is a port of %s, not of bridge %s (bridge = in %s): clients reach the wrong LAN",
			       nc->tun.name,
			       netcheck_ifname(nc, nc->tun.master, master),
			       nc->cfg->bridge, nc->cfg->path);
	else
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "%s (TAP) is not attached to any bridge: frames from clients reach no LAN, and the LAN's none of them (it should be a port of %s)",
			       nc->tun.name, nc->cfg->bridge);
}

/* Whether ifname has an address of family that is not link-local. */
static bool has_address(const char *ifname, int family)
{
	struct ifaddrs *ifas;
	bool found = false;

	if (getifaddrs(&ifas) < 0)
		return true;	/* cannot tell: say nothing */
	for (const struct ifaddrs *i = ifas; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		if (!sa || sa->sa_family != family || strcmp(i->ifa_name, ifname))
			continue;
		if (family == AF_INET6) {
			const struct in6_addr *a =
				&((const struct sockaddr_in6 *)sa)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
		}
		found = true;
	}
	freeifaddrs(ifas);
	return found;
}

void netcheck_tap_client(struct netcheck *nc)
{
	const char *dev = nc->tun.name;
	char fix[300];

	if (!nc->tun.ifindex || !nc->tunnel_up)
		return;
	if (has_address(dev, AF_INET)) {
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "%s (TAP) has an IPv4 address on the LAN", dev);
		return;
	}
	snprintf(fix, sizeof(fix),
		 "dhclient %s   # or the DHCP client of your system; or address = in %s",
		 dev, nc->cfg->path);
	netcheck_found(nc, NETCHECK_PROBLEM, fix,
		       "%s (TAP) is on the LAN but has no IPv4 address: culvertd runs no DHCP client, and nothing asked the LAN's DHCP server%s",
		       dev, has_address(dev, AF_INET6) ? " (it has IPv6)" : "");
}
