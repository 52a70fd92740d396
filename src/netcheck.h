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
#include "netlink.h"

struct config;

enum netcheck_kind {
	NETCHECK_OK,		/* checked, and fine */
	NETCHECK_PROBLEM,	/* wrong: what, and the commands that fix it */
	NETCHECK_NOTE,		/* not checked, or a reminder: what to do where */
};

/* One finding. what is one sentence; fix holds commands, one a line
 * (a problem's fix, a note's advice), or is NULL. */
typedef void netcheck_report_fn(enum netcheck_kind kind, const char *what,
				const char *fix, void *arg);

struct netcheck {
	const struct config *cfg;
	struct nl *nl;
	struct nl_link tun;	/* ifindex 0: the device is not there */
	netcheck_report_fn *report;
	void *arg;
	unsigned int problems;
};

/* Report a finding; fix may be NULL. */
void netcheck_found(struct netcheck *nc, enum netcheck_kind kind,
		    const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* What a transport adds to each inner packet on the wire. A datagram
 * transport (overhead > 0) sends one outer packet per inner packet, so
 * the TUN MTU plus the overhead must fit the path; a stream transport
 * (TCP) cuts its stream to the path itself. */
struct netcheck_transport {
	const char *name;
	int ipproto;		/* IPPROTO_UDP or IPPROTO_TCP */
	unsigned int overhead;	/* bytes besides the IP and UDP headers */
	bool at_least;		/* overhead is the least it adds */
};
/* NULL for a transport this table does not know. */
const struct netcheck_transport *netcheck_transport(const char *name);

/* 1 when the kernel forwards IPv4 between interfaces, 0 when not, a
 * negative errno when it cannot tell. */
int netcheck_ipv4_forwarding(void);

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

/* culvertd at start: warn about what would keep clients from the
 * networks the server pushes. Returns how many warnings it logged. */
int netcheck_server(const struct config *cfg);

#endif
