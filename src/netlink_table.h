/*
 * Policy routing through rtnetlink (libmnl): routes in a table of their
 * own, and the rules (ip-rule(8)) that send packets to a table. Calls
 * return 0 or the kernel's negative errno, as in netlink.h.
 */
#ifndef CULVERT_NETLINK_TABLE_H
#define CULVERT_NETLINK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct nl;

/* One rule: packets of family (and, when set, to dst, or carrying
 * fwmark) look up table; rules are tried by ascending priority. */
struct nl_rule {
	int family;		/* AF_INET or AF_INET6 */
	uint32_t priority;
	uint32_t table;
	bool has_fwmark;
	uint32_t fwmark;	/* matched exactly (mask 0xffffffff) */
	bool invert;		/* "not": packets that do not match */
	bool has_dst;
	struct cv_prefix dst;
};

int nl_rule_add(struct nl *nl, const struct nl_rule *rule, const char **why);
/* Deletes the rule that matches every field of rule; -ENOENT if none. */
int nl_rule_del(struct nl *nl, const struct nl_rule *rule, const char **why);
/* Calls fn for every rule of family; fn returns 0 to go on. */
typedef int nl_rule_fn(const struct nl_rule *rule, void *arg);
int nl_rule_dump(struct nl *nl, int family, nl_rule_fn *fn, void *arg);

/* A route to dst in table: type RTN_UNICAST through the point-to-point
 * device ifindex, or RTN_UNREACHABLE / RTN_BLACKHOLE (ifindex 0). */
int nl_table_route_add(struct nl *nl, uint32_t table, uint8_t type,
		       int ifindex, const struct cv_prefix *dst,
		       const char **why);
/* Adds the route, or changes the one to dst in one step (no moment
 * without a route to dst). */
int nl_table_route_replace(struct nl *nl, uint32_t table, uint8_t type,
			   int ifindex, const struct cv_prefix *dst,
			   const char **why);
int nl_table_route_del(struct nl *nl, uint32_t table, uint8_t type,
		       int ifindex, const struct cv_prefix *dst,
		       const char **why);

/* A cluster gateway's route to dst through ifindex in table, with
 * rtm_protocol protocol, for a routing daemon to learn and announce:
 * added (or replaced, one left from before taken over), or deleted. */
int nl_announce_route(struct nl *nl, bool add, uint32_t table,
		      uint8_t protocol, int ifindex,
		      const struct cv_prefix *dst, const char **why);

#endif
