/*
 * The neighbour table through rtnetlink (libmnl): the hosts an interface
 * has talked to lately, for the checks of a site's LAN (netcheck_site.c).
 * Calls return 0 or the kernel's negative errno, as in netlink.h.
 */
#ifndef CULVERT_NETLINK_NEIGH_H
#define CULVERT_NETLINK_NEIGH_H

#include <stdbool.h>

#include "addr.h"

struct nl;

struct nl_neigh {
	int ifindex;
	struct cv_addr addr;
	bool reachable;		/* answered lately: not FAILED or INCOMPLETE */
};

/* Calls fn for every neighbour of family; fn returns 0 to go on. */
typedef int nl_neigh_fn(const struct nl_neigh *neigh, void *arg);
int nl_neigh_dump(struct nl *nl, int family, nl_neigh_fn *fn, void *arg);

#endif
