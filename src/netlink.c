#include "netlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

struct nl {
	struct mnl_socket *sock;
	unsigned int seq;
	unsigned int portid;
	char why[256];		/* the last extended ack message */
	size_t bufsize;
	char buf[];		/* one request out, then its answer in */
};

/* What the NLMSG_ERROR answer to one request said. */
struct nl_answer {
	int err;
	const char *msg;
};

int nl_open(struct nl **out)
{
	size_t bufsize = MNL_SOCKET_BUFFER_SIZE;
	struct nl *nl = calloc(1, sizeof(*nl) + bufsize);
	int one = 1, err;

	if (!nl)
		return -ENOMEM;
	nl->bufsize = bufsize;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		err = -errno;
		free(nl);
		return err;
	}
	/* Older kernels lack extended acks; errors then come without text. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		nl_close(nl);
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	*out = nl;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

static int extack_attr(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* libmnl's own NLMSG_ERROR handler drops the extended ack, so read it
 * here: the TLVs follow the echoed request, which is cut to its header
 * when the kernel sets NLM_F_CAPPED. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct nl_answer *answer = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh), off = sizeof(*e);

	if (len < sizeof(*e)) {
		answer->err = -EBADMSG;
		return MNL_CB_STOP;
	}
	answer->err = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && off <= len)
		mnl_attr_parse(nlh, off, extack_attr, &answer->msg);
	return MNL_CB_STOP;
}

static struct nlmsghdr *request(struct nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	/* 0 would turn off libmnl's sequence check. */
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	return nlh;
}

/* Send the request built in nl->buf and wait for its ack. */
static int transact(struct nl *nl, const struct nlmsghdr *nlh,
		    const char **why)
{
	mnl_cb_t ctl[NLMSG_ERROR + 1] = { [NLMSG_ERROR] = on_error };
	struct nl_answer answer = { -EPROTO, NULL };
	int ret = MNL_CB_OK;
	ssize_t n;

	if (why)
		*why = NULL;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, nl->bufsize);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, NULL,
				  &answer, ctl, MNL_ARRAY_SIZE(ctl));
		if (ret < 0)
			return -errno;
	} while (ret > MNL_CB_STOP);
	if (answer.msg) {
		snprintf(nl->why, sizeof(nl->why), "%s", answer.msg);
		if (why)
			*why = nl->why;
	}
	return answer.err;
}

/* Bytes of an address of this family, or 0 when unsupported. */
static size_t family_size(const struct cv_prefix *p)
{
	switch (p->addr.family) {
	case AF_INET:
		return p->len <= 32 ? sizeof(struct in_addr) : 0;
	case AF_INET6:
		return p->len <= 128 ? sizeof(struct in6_addr) : 0;
	}
	return 0;
}

int nl_link_set(struct nl *nl, int ifindex, unsigned int mtu, bool up,
		const char **why)
{
	struct nlmsghdr *nlh = request(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return transact(nl, nlh, why);
}

int nl_link_no_ipv6_autoconf(struct nl *nl, int ifindex, const char **why)
{
	struct nlmsghdr *nlh = request(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	return transact(nl, nlh, why);
}

static int addr_request(struct nl *nl, uint16_t type, uint16_t flags,
			int ifindex, const struct cv_prefix *local,
			const char **why)
{
	size_t size = family_size(local);

	if (why)
		*why = NULL;
	if (!size)
		return -EINVAL;

	struct nlmsghdr *nlh = request(nl, type, flags);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = local->addr.family;
	ifa->ifa_prefixlen = local->len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	/* IPv4 keeps the local address and the peer (IFA_ADDRESS) apart; on
	 * a device without a peer both are ours. */
	if (local->addr.family == AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, size, local->addr.bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, size, local->addr.bytes);
	return transact(nl, nlh, why);
}

int nl_addr_add(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why)
{
	return addr_request(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
			    ifindex, local, why);
}

int nl_addr_del(struct nl *nl, int ifindex, const struct cv_prefix *local,
		const char **why)
{
	return addr_request(nl, RTM_DELADDR, 0, ifindex, local, why);
}

static int route_request(struct nl *nl, uint16_t type, uint16_t flags,
			 int ifindex, const struct cv_prefix *dst,
			 const char **why)
{
	size_t size = family_size(dst);

	if (why)
		*why = NULL;
	if (!size)
		return -EINVAL;

	struct nlmsghdr *nlh = request(nl, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = dst->addr.family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	/* No gateway: the peer sits at the other end of the device. */
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	/* A default route is the absence of a destination. */
	if (dst->len)
		mnl_attr_put(nlh, RTA_DST, size, dst->addr.bytes);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	return transact(nl, nlh, why);
}

int nl_route_add(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why)
{
	return route_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
			     ifindex, dst, why);
}

int nl_route_del(struct nl *nl, int ifindex, const struct cv_prefix *dst,
		 const char **why)
{
	return route_request(nl, RTM_DELROUTE, 0, ifindex, dst, why);
}
