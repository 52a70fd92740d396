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
 * `unreachable ::/0`. On a site's router it also holds `throw NETWORK`
 * for each network the server routes to this client: a pushed route that
 * holds the site's own LAN (198.18.0.0/16, every site at once) then does
 * not take the LAN's traffic, whose lookup goes on to main. A lookup that finds nothing there goes on to main,
 * so split tunnels keep working; a more specific route that someone adds
 * to main later (a rogue DHCP server: "TunnelVision") is never consulted
 * for what the tunnel's table covers. Everything is removed when the
 * session ends, unless the kill switch holds it (below); what a crash
 * leaves is removed at the next start.
 *
 * Kill switch: when a session that carried a default route ends and
 * culvertd will try again, each of its routes is replaced by an
 * unreachable one and the rules stay, so that nothing the tunnel carried
 * leaves the physical way in the clear meanwhile. The next session takes
 * the blocked routes over (replacing each in one step) and drops those it
 * does not carry; culvertd's exit removes them.
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
/* Pushed routes and the client's own, ::/0 for block-ipv6, and the
 * networks behind the client. */
#define TUNNEL_MAX_ROUTES (2 * PROTO_MAX_ROUTES + 2 + PROTO_MAX_NETWORKS)

struct tunnel_route {
	struct cv_prefix dst;
	uint8_t type;		/* RTN_UNICAST, RTN_UNREACHABLE or RTN_THROW */
};

/* "", "unreachable " or "throw ": how ip-route(8) writes the type. */
const char *tunnel_route_type(uint8_t type);

/* What one session installed, so that exactly that is removed. */
struct tunnel_routes {
	bool blocked;			/* tunnel_routes_block made them so */
	unsigned int n_rules;
	struct nl_rule rules[4];
	unsigned int n_routes;
	struct tunnel_route routes[TUNNEL_MAX_ROUTES];
};

/* Install w's routes and cfg's own `route` lines through ifindex, the
 * rules, and block-ipv6's route. tr is empty, or what
 * tunnel_routes_block left of the session before. On error, what was
 * installed stays in tr for tunnel_routes_down. Returns 0 or a negative
 * errno, logged. */
int tunnel_routes_up(struct tunnel_routes *tr, struct nl *nl,
		     const struct config *cfg, int ifindex, const char *ifname,
		     const struct proto_welcome *w);
void tunnel_routes_down(struct tunnel_routes *tr, struct nl *nl,
			const struct config *cfg, int ifindex);
/* Make every route of tr unreachable, in place, keeping the rules: for
 * tunnel_routes_up of the next session (tr handed over as it is) or
 * tunnel_routes_down. Returns how many routes it blocked. */
unsigned int tunnel_routes_block(struct tunnel_routes *tr, struct nl *nl,
				 const struct config *cfg);
/* Whether tr sends all of family into the tunnel (a default route). */
bool tunnel_routes_default(const struct tunnel_routes *tr, int family);
/* At start: the rules and unreachable routes of cfg's table and mark
 * that a culvertd that crashed left behind. */
void tunnel_routes_clean_stale(struct nl *nl, const struct config *cfg);

#endif
