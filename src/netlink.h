/*
 * Addresses, routes and link settings through rtnetlink (libmnl): the
 * daemon never runs ip(8). Every call waits for the kernel's answer and
 * returns 0 or its negative errno; on error *why (when not NULL) gets the
 * kernel's extended ack message, if it sent one.
 */
#ifndef CULVERT_NETLINK_H
#define CULVERT_NETLINK_H

#include <stdbool.h>

#include "addr.h"

struct nl;

int nl_open(struct nl **out);
void nl_close(struct nl *nl);

int nl_link_set(struct nl *nl, int ifindex, unsigned int mtu, bool up,
		const char **why);
/* No IPv6 link-local address on ifindex: the tunnel carries only the
 * addresses culvertd assigns, so the kernel sends no router or multicast
 * listener solicitations into it. Call before the link goes up. */
int nl_link_no_ipv6_autoconf(struct nl *nl, int ifindex, const char **why);
/* Address on ifindex; the kernel adds the prefix route itself. */
int nl_addr_add(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why);
int nl_addr_del(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why);
/* A route to dst through the point-to-point device ifindex. */
int nl_route_add(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why);
int nl_route_del(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why);

#endif
