/*
 * Checks of the network around the tunnel that culvertd cannot fix by
 * itself, each explained with the command that fixes it: the mistakes
 * that make a hand-built VPN fail silently. culvertd logs what it finds
 * at start; `culvertctl diagnose` runs them all and prints them.
 */
#ifndef CULVERT_NETCHECK_H
#define CULVERT_NETCHECK_H

#include <stdbool.h>

#include "addr.h"
#include "config.h"
#include "netlink.h"
#include "plugin.h"

enum netcheck_kind {
	NETCHECK_OK,		/* checked, and fine */
	NETCHECK_PROBLEM,	/* wrong: what, and the commands that fix it */
	NETCHECK_NOTE,		/* not checked, or a reminder: what to do where */
};

/* One finding. what is one sentence; fix holds commands, one a line
 * (a problem's fix, a note's advice), or is NULL. */
typedef void netcheck_report_fn(enum netcheck_kind kind, const char *what,
				const char *fix, void *arg);

/* One transport of the config, as its plugin's table describes it. */
struct netcheck_transport {
	const char *name;
	struct plugin plugin;		/* transport NULL: not loaded */
	const struct cv_wire *wire;	/* NULL: unknown (a note said why) */
};

struct netcheck {
	const struct config *cfg;
	struct nl *nl;
	struct nl_link tun;	/* ifindex 0: the device is not there */
	netcheck_report_fn *report;
	void *arg;
	unsigned int problems;
	/* netcheck_load_transports(): cfg's transports, in its order. */
	struct netcheck_transport transports[CONFIG_MAX_TRANSPORTS];
	unsigned int n_transports;
	bool plugins_ready;
	/* A client that routes for a site: the networks its server routes
	 * to it, and its inner IPv4 address (family 0: none), as culvertd's
	 * status says. Their interfaces count as the tunnel's too. */
	const struct cv_prefix *networks;
	unsigned int n_networks;
	struct cv_addr inner4;
	bool tunnel_up;		/* a client whose session is up */
};

/* Report a finding; fix may be NULL. */
void netcheck_found(struct netcheck *nc, enum netcheck_kind kind,
		    const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Load the plugin of each transport in nc->cfg from its plugin-dir, only
 * to read its table's `wire` (what it adds on the wire: culvert-
 * transport(7)); no instance is created. A plugin that does not load, or
 * whose table does not say, gets a note, and the checks that need it
 * (MTU, firewall) skip that transport. netcheck_unload_transports()
 * unloads them.
 */
void netcheck_load_transports(struct netcheck *nc);
void netcheck_unload_transports(struct netcheck *nc);

/* 1 when the kernel forwards IPv4 (IPv6) between interfaces, 0 when
 * not, a negative errno when it cannot tell. */
int netcheck_ipv4_forwarding(void);
int netcheck_ipv6_forwarding(void);

/* Server pushing routes: forwarding on, globally and on the interfaces
 * the forwarded packets come in through. */
void netcheck_forwarding(struct netcheck *nc);
/* Strict reverse-path filtering on the TUN device or, on a server, on
 * the interfaces towards the pushed routes. */
void netcheck_rp_filter(struct netcheck *nc);
/* Server: that each pushed network is reachable, and not through the
 * tunnel; and a reminder that its hosts need a route back to the pool. */
void netcheck_pushed_routes(struct netcheck *nc);
/* Routes through the TUN device that another route takes traffic from:
 * an overlapping, more specific or preferred route elsewhere. server is
 * the client's gateway address (its route must not use the tunnel), or
 * NULL on a server. */
void netcheck_route_conflicts(struct netcheck *nc,
			      const struct cv_addr *server);
/* Whether tun_mtu plus the framing of each datagram transport fits the
 * interface towards server (a client) or the listen address (a server). */
void netcheck_mtu(struct netcheck *nc, unsigned int tun_mtu,
		  const struct cv_addr *server);
/* Server: whether the nftables ruleset lets clients reach the listen port
 * of each transport, and lets forwarded traffic between the pool and the
 * pushed networks through; each finding with the nft command that lets
 * it pass. In netcheck_firewall.c, linked into culvertctl only: reading
 * the ruleset needs jansson (and libnftables or nft). */
void netcheck_firewall(struct netcheck *nc);

/* A client that routes for a site (nc->networks): forwarding on for the
 * families of its networks, and the hosts there answering a packet from
 * the tunnel's address, which they do only when their route back (their
 * default route, mostly) leads to this router. In netcheck_site.c,
 * culvertctl only: the probe needs a raw socket. */
void netcheck_site(struct netcheck *nc);

/* device-type = tap, in netcheck_tap.c (culvertctl only). On the
 * gateway: its TAP device a port of the bridge the config names, the
 * bridge there, up, with the LAN's device in it. On a client whose
 * tunnel is up: an address on the TAP device (the DHCP client's job). */
void netcheck_tap_gateway(struct netcheck *nc);
void netcheck_tap_client(struct netcheck *nc);

/* culvertd at start: warn about what would keep clients from the
 * networks the server pushes. Returns how many warnings it logged. */
int netcheck_server(const struct config *cfg);

#endif
