/*
 * Addresses, routes and link settings through rtnetlink (libmnl): the
 * daemon never runs ip(8). Every call waits for the kernel's answer and
 * returns 0 or its negative errno; on error *why (when not NULL) gets the
 * kernel's extended ack message, if it sent one.
 */
#ifndef CULVERT_NETLINK_H
#define CULVERT_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct nl;

int nl_open(struct nl **out);
void nl_close(struct nl *nl);

int nl_link_set(struct nl *nl, int ifindex, unsigned int mtu, bool up,
		const char **why);
/* ifindex becomes a port of the bridge master (IFLA_MASTER), as `ip
 * link set DEV master BRIDGE` does. */
int nl_link_set_master(struct nl *nl, int ifindex, int master,
		       const char **why);
/* The bridge port ifindex sends frames back out of itself (hairpin,
 * IFLA_BRPORT_MODE) or not: `bridge link set dev DEV hairpin on|off`. */
int nl_bridge_port_hairpin(struct nl *nl, int ifindex, bool on,
			   const char **why);
/* No IPv6 link-local address on ifindex: the tunnel carries only the
 * addresses culvertd assigns, so the kernel sends no router or multicast
 * listener solicitations into it. Call before the link goes up. */
int nl_link_no_ipv6_autoconf(struct nl *nl, int ifindex, const char **why);
/* Address on ifindex; the kernel adds the prefix route itself. IPv6
 * addresses skip duplicate address detection (IFA_F_NODAD). */
int nl_addr_add(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why);
int nl_addr_del(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why);
/* A route to dst through the point-to-point device ifindex. */
int nl_route_add(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why);
int nl_route_del(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why);

/* ---- reading: for the checks of the network around the tunnel */

struct nl_route {
	struct cv_prefix dst;
	int oif;			/* 0: none (blackhole, unreachable) */
	bool has_gateway, has_prefsrc;
	struct cv_addr gateway;		/* the next hop, when not on-link */
	struct cv_addr prefsrc;		/* the source address it picks */
	uint32_t priority;		/* the metric */
	uint32_t mtu;			/* RTAX_MTU: a route's or a learned
					 * path MTU; 0 when none */
	uint32_t table;
	uint8_t type;			/* RTN_UNICAST, RTN_LOCAL, ... */
	uint8_t protocol;		/* RTPROT_KERNEL, RTPROT_STATIC, ... */
};

/* Calls fn for every route of family (AF_INET or AF_INET6) in every
 * table. fn returns 0 to go on; anything else ends the walk, and the
 * dump returns it. */
typedef int nl_route_fn(const struct nl_route *route, void *arg);
int nl_route_dump(struct nl *nl, int family, nl_route_fn *fn, void *arg);
/* The route the kernel picks for a packet to dst, as `ip route get`:
 * dst becomes a host prefix; -ENETUNREACH when there is none. */
int nl_route_lookup(struct nl *nl, const struct cv_addr *dst,
		    struct nl_route *out);
/* The same for a packet that carries mark (SO_MARK; 0: none), as
 * `ip route get DST mark MARK`: what policy routing gives a client's
 * transport socket. */
int nl_route_lookup_mark(struct nl *nl, const struct cv_addr *dst,
			 uint32_t mark, struct nl_route *out);

struct nl_link {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned int mtu;
	bool up;
	bool running;			/* up, and its carrier too */
	char kind[16];			/* "tun", "veth", ...; "" when none */
	int master;			/* its bridge (or bond); 0: none */
};

/* The link with ifindex, or (ifindex 0) the one called name; -ENODEV when
 * there is none. */
int nl_link_get(struct nl *nl, int ifindex, const char *name,
		struct nl_link *out);
/* Calls fn for every link, as nl_route_dump does. */
typedef int nl_link_fn(const struct nl_link *link, void *arg);
int nl_link_dump(struct nl *nl, nl_link_fn *fn, void *arg);

#endif
