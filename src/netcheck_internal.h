/* What netcheck.c shares with netcheck_routes.c; not for other callers. */
#ifndef CULVERT_NETCHECK_INTERNAL_H
#define CULVERT_NETCHECK_INTERNAL_H

#include <stdbool.h>

#include "config.h"
#include "netcheck.h"

static inline bool is_server(const struct netcheck *nc)
{
	return nc->cfg->mode == MODE_SERVER;
}

/* The interface's name into buf, "ifN" when it has none. */
const char *netcheck_ifname(struct netcheck *nc, int ifindex,
			    char buf[IFNAMSIZ]);
/* The route the kernel takes into network p: a lookup of a host there
 * that is not this one (the gateway often holds the first). */
int netcheck_lookup_net(struct netcheck *nc, const struct cv_prefix *p,
			struct nl_route *route);

/* The commands that set a sysctl now and at every boot, into buf. */
const char *netcheck_sysctl_fix(char *buf, size_t size, const char *name,
				int value);

#endif
