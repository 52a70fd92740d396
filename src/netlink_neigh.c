/* The neighbour table through rtnetlink (netlink_neigh.h). */
#include "netlink_neigh.h"

#include <string.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "netlink_internal.h"

struct neigh_walk {
	nl_neigh_fn *fn;
	void *arg;
	int err;
};

static int neigh_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **dst = data;

	if (mnl_attr_get_type(attr) == NDA_DST)
		*dst = attr;
	return MNL_CB_OK;
}

static int on_neigh(const struct nlmsghdr *nlh, void *arg)
{
	struct neigh_walk *w = arg;
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *dst = NULL;
	struct nl_neigh n = { 0 };

	/* A neighbour we cannot read is skipped; after fn said stop, the
	 * rest of the dump is read unseen. */
	if (w->err || nlh->nlmsg_type != RTM_NEWNEIGH ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*nd) ||
	    mnl_attr_parse(nlh, sizeof(*nd), neigh_attr, &dst) < 0 || !dst)
		return MNL_CB_OK;
	size_t size = nd->ndm_family == AF_INET ? 4 : 16;
	if ((nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) ||
	    mnl_attr_get_payload_len(dst) != size)
		return MNL_CB_OK;
	n.ifindex = nd->ndm_ifindex;
	n.addr.family = nd->ndm_family;
	memcpy(n.addr.bytes, mnl_attr_get_payload(dst), size);
	n.reachable = nd->ndm_state != NUD_NONE &&
		      !(nd->ndm_state & (NUD_FAILED | NUD_INCOMPLETE | NUD_NOARP));
	w->err = w->fn(&n, w->arg);
	return MNL_CB_OK;
}

int nl_neigh_dump(struct nl *nl, int family, nl_neigh_fn *fn, void *arg)
{
	struct nlmsghdr *nlh = nl_dump_request(nl, RTM_GETNEIGH);
	struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	struct neigh_walk w = { fn, arg, 0 };

	nd->ndm_family = (uint8_t)family;
	int err = nl_transact(nl, nlh, NULL, on_neigh, &w);
	return err < 0 ? err : w.err;
}
