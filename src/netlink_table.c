/* Policy routing through rtnetlink: rules, and routes in a given table. */
#include "netlink_table.h"

#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "netlink_internal.h"

static size_t addr_size(int family)
{
	return family == AF_INET ? sizeof(struct in_addr)
				 : sizeof(struct in6_addr);
}

static int rule_request(struct nl *nl, uint16_t type, uint16_t flags,
			const struct nl_rule *rule, const char **why)
{
	if (why)
		*why = NULL;
	if (rule->family != AF_INET && rule->family != AF_INET6)
		return -EINVAL;
	if (rule->has_dst && rule->dst.addr.family != rule->family)
		return -EINVAL;

	struct nlmsghdr *nlh = nl_request(nl, type, flags);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = (uint8_t)rule->family;
	frh->action = FR_ACT_TO_TBL;
	if (rule->invert)
		frh->flags |= FIB_RULE_INVERT;
	/* Tables above 255 exist only as FRA_TABLE. */
	frh->table = rule->table < 256 ? (uint8_t)rule->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, rule->table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, rule->priority);
	if (rule->has_fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, rule->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffff);
	}
	if (rule->has_dst) {
		frh->dst_len = rule->dst.len;
		if (rule->dst.len)
			mnl_attr_put(nlh, FRA_DST, addr_size(rule->family),
				     rule->dst.addr.bytes);
	}
	return nl_transact(nl, nlh, why, NULL, NULL);
}

int nl_rule_add(struct nl *nl, const struct nl_rule *rule, const char **why)
{
	return rule_request(nl, RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, rule,
			    why);
}

int nl_rule_del(struct nl *nl, const struct nl_rule *rule, const char **why)
{
	return rule_request(nl, RTM_DELRULE, 0, rule, why);
}

struct rule_walk {
	nl_rule_fn *fn;
	void *arg;
	int err;
};

static int rule_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type <= FRA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static bool attr_u32(const struct nlattr *attr, uint32_t *out)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(attr);
	return true;
}

static int on_rule(const struct nlmsghdr *nlh, void *data)
{
	struct rule_walk *w = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1] = { 0 };
	struct nl_rule rule = { 0 };

	/* A rule we cannot read, or one after fn said stop, is skipped; the
	 * rest of the dump must still be read from the socket. */
	if (w->err || nlh->nlmsg_type != RTM_NEWRULE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh) ||
	    (frh->family != AF_INET && frh->family != AF_INET6) ||
	    mnl_attr_parse(nlh, sizeof(*frh), rule_attr, tb) < 0)
		return MNL_CB_OK;
	rule.family = frh->family;
	rule.invert = frh->flags & FIB_RULE_INVERT;
	rule.table = frh->table;
	attr_u32(tb[FRA_TABLE], &rule.table);
	attr_u32(tb[FRA_PRIORITY], &rule.priority);
	rule.has_fwmark = attr_u32(tb[FRA_FWMARK], &rule.fwmark);
	if (tb[FRA_DST] &&
	    mnl_attr_get_payload_len(tb[FRA_DST]) == addr_size(frh->family)) {
		rule.has_dst = true;
		rule.dst.addr.family = frh->family;
		rule.dst.len = frh->dst_len;
		memcpy(rule.dst.addr.bytes, mnl_attr_get_payload(tb[FRA_DST]),
		       addr_size(frh->family));
	}
	w->err = w->fn(&rule, w->arg);
	return MNL_CB_OK;
}

int nl_rule_dump(struct nl *nl, int family, nl_rule_fn *fn, void *arg)
{
	struct nlmsghdr *nlh = nl_dump_request(nl, RTM_GETRULE);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	struct rule_walk w = { fn, arg, 0 };

	frh->family = (uint8_t)family;
	int err = nl_transact(nl, nlh, NULL, on_rule, &w);
	return err < 0 ? err : w.err;
}

static int table_route(struct nl *nl, uint16_t type, uint16_t flags,
		       uint32_t table, uint8_t protocol, uint8_t rtype,
		       int ifindex, const struct cv_prefix *dst,
		       const char **why)
{
	if (why)
		*why = NULL;
	if ((dst->addr.family != AF_INET && dst->addr.family != AF_INET6) ||
	    dst->len > addr_size(dst->addr.family) * 8)
		return -EINVAL;

	struct nlmsghdr *nlh = nl_request(nl, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = dst->addr.family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = protocol;
	rtm->rtm_type = rtype;
	/* Through a point-to-point device there is no gateway: the peer is
	 * on the link. Unreachable and blackhole routes go nowhere. */
	rtm->rtm_scope = rtype == RTN_UNICAST ? RT_SCOPE_LINK
					      : RT_SCOPE_UNIVERSE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (dst->len)
		mnl_attr_put(nlh, RTA_DST, addr_size(dst->addr.family),
			     dst->addr.bytes);
	if (ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_transact(nl, nlh, why, NULL, NULL);
}

int nl_table_route_add(struct nl *nl, uint32_t table, uint8_t type,
		       int ifindex, const struct cv_prefix *dst,
		       const char **why)
{
	return table_route(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, table,
			   RTPROT_STATIC, type, ifindex, dst, why);
}

int nl_table_route_replace(struct nl *nl, uint32_t table, uint8_t type,
			   int ifindex, const struct cv_prefix *dst,
			   const char **why)
{
	return table_route(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE,
			   table, RTPROT_STATIC, type, ifindex, dst, why);
}

int nl_table_route_del(struct nl *nl, uint32_t table, uint8_t type,
		       int ifindex, const struct cv_prefix *dst,
		       const char **why)
{
	return table_route(nl, RTM_DELROUTE, 0, table, RTPROT_STATIC, type,
			   ifindex, dst, why);
}

int nl_announce_route(struct nl *nl, bool add, uint32_t table,
		      uint8_t protocol, int ifindex,
		      const struct cv_prefix *dst, const char **why)
{
	if (add)
		return table_route(nl, RTM_NEWROUTE,
				   NLM_F_CREATE | NLM_F_REPLACE, table,
				   protocol, RTN_UNICAST, ifindex, dst, why);
	return table_route(nl, RTM_DELROUTE, 0, table, protocol, RTN_UNICAST,
			   ifindex, dst, why);
}
