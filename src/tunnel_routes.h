/*
 * The client's routes into the tunnel, installed so that nothing else on
 * the host can pull tunnel traffic out, and the tunnel cannot swallow its
 * own outer packets:
 *
 *   priority 32700  fwmark FWMARK lookup main       the transport's sockets
 *   priority 32701  not fwmark FWMARK lookup TABLE  everything else
 *   (32766          lookup main                  the kernel's own rule)
 *
 * ROUTE-TABLE holds the pushed routes and the client's own `route` lines
 * through the TUN device, and, with block-ipv6 on a tunnel without IPv6,
 * `unreachable ::/0`. A lookup that finds nothing there goes on to main,
 * so split tunnels keep working; a more specific route that someone adds
 * to main later (a rogue DHCP server: "TunnelVision") is never consulted
 * for what the tunnel's table covers. Everything is removed when the
 * session ends; what a crash leaves is removed at the next start.
 */
#ifndef CULVERT_TUNNEL_ROUTES_H
#define CULVERT_TUNNEL_ROUTES_H

#include <stdbool.h>

#include "addr.h"
#include "netlink_table.h"
#include "proto.h"

struct config;
struct nl;

#define TUNNEL_RULE_PRIO_OUTER 32700
#define TUNNEL_RULE_PRIO_TABLE 32701
/* Pushed routes and the client's own, and ::/0 for block-ipv6. */
#define TUNNEL_MAX_ROUTES (2 * PROTO_MAX_ROUTES + 2)

struct tunnel_route {
	struct cv_prefix dst;
	uint8_t type;			/* RTN_UNICAST or RTN_UNREACHABLE */
};

/* What one session installed, so that exactly that is removed. */
struct tunnel_routes {
	unsigned int n_rules;
	struct nl_rule rules[4];
	unsigned int n_routes;
	struct tunnel_route routes[TUNNEL_MAX_ROUTES];
};

/* Install w's routes and cfg's own `route` lines through ifindex, the
 * rules, and block-ipv6's route. On error, what was installed stays in
 * tr for tunnel_routes_down. Returns 0 or a negative errno, logged. */
int tunnel_routes_up(struct tunnel_routes *tr, struct nl *nl,
		     const struct config *cfg, int ifindex, const char *ifname,
		     const struct proto_welcome *w);
void tunnel_routes_down(struct tunnel_routes *tr, struct nl *nl,
			const struct config *cfg, int ifindex);
/* Whether tr sends all of family into the tunnel (a default route). */
bool tunnel_routes_default(const struct tunnel_routes *tr, int family);
/* At start: the rules and unreachable routes of cfg's table and mark
 * that a culvertd that crashed left behind. */
void tunnel_routes_clean_stale(struct nl *nl, const struct config *cfg);

#endif
