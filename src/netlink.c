#include "netlink.h"
#include "netlink_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
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

/* What the kernel answered to one request: the NLMSG_ERROR (or, for a
 * dump, NLMSG_DONE) status, and the objects it sent, passed to fn. */
struct nl_answer {
	int err;
	const char *msg;
	mnl_cb_t fn;
	void *arg;
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

/* The end of a dump carries the dump's status. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct nl_answer *answer = data;

	answer->err = 0;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		answer->err = *(const int *)mnl_nlmsg_get_payload(nlh);
	return MNL_CB_STOP;
}

static int on_object(const struct nlmsghdr *nlh, void *data)
{
	struct nl_answer *answer = data;

	return answer->fn ? answer->fn(nlh, answer->arg) : MNL_CB_OK;
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

static struct nlmsghdr *dump_request(struct nl *nl, uint16_t type)
{
	struct nlmsghdr *nlh = request(nl, type, NLM_F_DUMP);

	/* A dump ends with NLMSG_DONE, not with an ack. */
	nlh->nlmsg_flags &= (uint16_t)~NLM_F_ACK;
	return nlh;
}

/* Send the request built in nl->buf and wait for its ack, or the end of
 * the dump; fn (when not NULL) reads each object the kernel sends. */
static int transact_read(struct nl *nl, const struct nlmsghdr *nlh,
			 const char **why, mnl_cb_t fn, void *arg)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_error,
					 [NLMSG_DONE] = on_done };
	struct nl_answer answer = { -EPROTO, NULL, fn, arg };
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
		ret = mnl_cb_run2(nl->buf, n, nl->seq, nl->portid, on_object,
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

static int transact(struct nl *nl, const struct nlmsghdr *nlh,
		    const char **why)
{
	return transact_read(nl, nlh, why, NULL, NULL);
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

int nl_link_set_master(struct nl *nl, int ifindex, int master,
		       const char **why)
{
	struct nlmsghdr *nlh = request(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return transact(nl, nlh, why);
}

int nl_bridge_port_hairpin(struct nl *nl, int ifindex, bool on,
			   const char **why)
{
	struct nlmsghdr *nlh = request(nl, RTM_SETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	/* The bridge's own settings of its port: AF_BRIDGE, IFLA_PROTINFO.
	 * The kernel reads the nest only with NLA_F_NESTED set; without,
	 * its first byte would be taken for the port's STP state. */
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = ifindex;
	struct nlattr *port = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	port->nla_type |= NLA_F_NESTED;
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MODE, on ? 1 : 0);
	mnl_attr_nest_end(nlh, port);
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
	/* An IPv6 address would wait out duplicate address detection (a
	 * second or more, dropping traffic) though the tunnel has no one
	 * else on it to collide with: usable at once. */
	if (local->addr.family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
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

/* ---- reading routes and links */

/* Attributes by type into tb[0..max]. */
struct attrs {
	const struct nlattr **tb;
	int max;
};

static int attr_by_type(const struct nlattr *attr, void *data)
{
	struct attrs *a = data;
	int type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return MNL_CB_OK;
}

static int metrics_attr(const struct nlattr *attr, void *data)
{
	struct nl_route *route = data;

	if (mnl_attr_get_type(attr) == RTAX_MTU &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		route->mtu = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

/* An address attribute of the route's family, or false. */
static bool route_addr(const struct nlattr *attr, int family,
		       struct cv_addr *out)
{
	size_t size = family == AF_INET ? sizeof(struct in_addr)
					: sizeof(struct in6_addr);

	if (!attr || mnl_attr_get_payload_len(attr) != size)
		return false;
	memset(out, 0, sizeof(*out));
	out->family = (sa_family_t)family;
	memcpy(out->bytes, mnl_attr_get_payload(attr), size);
	return true;
}

static bool u32_attr(const struct nlattr *attr, uint32_t *out)
{
	if (!attr || mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return false;
	*out = mnl_attr_get_u32(attr);
	return true;
}

static int route_parse(const struct nlmsghdr *nlh, struct nl_route *route)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct attrs attrs = { tb, RTA_MAX };
	uint32_t oif = 0;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm) ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) ||
	    mnl_attr_parse(nlh, sizeof(*rtm), attr_by_type, &attrs) < 0)
		return -EBADMSG;
	memset(route, 0, sizeof(*route));
	/* A default route is the absence of a destination. */
	if (!route_addr(tb[RTA_DST], rtm->rtm_family, &route->dst.addr))
		route->dst.addr.family = rtm->rtm_family;
	route->dst.len = rtm->rtm_dst_len;
	route->has_gateway =
		route_addr(tb[RTA_GATEWAY], rtm->rtm_family, &route->gateway);
	route->has_prefsrc =
		route_addr(tb[RTA_PREFSRC], rtm->rtm_family, &route->prefsrc);
	u32_attr(tb[RTA_OIF], &oif);
	route->oif = (int)oif;
	u32_attr(tb[RTA_PRIORITY], &route->priority);
	if (tb[RTA_METRICS])
		mnl_attr_parse_nested(tb[RTA_METRICS], metrics_attr, route);
	route->table = rtm->rtm_table;
	u32_attr(tb[RTA_TABLE], &route->table);
	route->type = rtm->rtm_type;
	route->protocol = rtm->rtm_protocol;
	return 0;
}

static int linkinfo_attr(const struct nlattr *attr, void *data)
{
	struct nl_link *link = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
	    mnl_attr_validate(attr, MNL_TYPE_STRING) == 0)
		snprintf(link->kind, sizeof(link->kind), "%.*s",
			 (int)strnlen(mnl_attr_get_str(attr),
				      mnl_attr_get_payload_len(attr)),
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static int link_parse(const struct nlmsghdr *nlh, struct nl_link *link)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct attrs attrs = { tb, IFLA_MAX };

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi) ||
	    mnl_attr_parse(nlh, sizeof(*ifi), attr_by_type, &attrs) < 0 ||
	    !tb[IFLA_IFNAME] ||
	    mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) < 0)
		return -EBADMSG;
	memset(link, 0, sizeof(*link));
	link->ifindex = ifi->ifi_index;
	link->up = ifi->ifi_flags & IFF_UP;
	link->running = link->up && (ifi->ifi_flags & IFF_RUNNING);
	snprintf(link->name, sizeof(link->name), "%s",
		 mnl_attr_get_str(tb[IFLA_IFNAME]));
	u32_attr(tb[IFLA_MTU], &link->mtu);
	uint32_t master = 0;
	u32_attr(tb[IFLA_MASTER], &master);
	link->master = (int)master;
	if (tb[IFLA_LINKINFO])
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_attr, link);
	return 0;
}

/* What a read asks for: one object into route or link, or every object
 * of a dump passed to route_fn or link_fn. */
struct walk {
	struct nl_route *route;
	struct nl_link *link;
	nl_route_fn *route_fn;
	nl_link_fn *link_fn;
	void *arg;
	int err;	/* -ENOENT until the one object came; what fn said */
};

static int on_read(const struct nlmsghdr *nlh, void *data)
{
	struct walk *w = data;
	struct nl_route route;
	struct nl_link link;

	/* An object we cannot read is skipped. */
	if (nlh->nlmsg_type == RTM_NEWROUTE && route_parse(nlh, &route) == 0) {
		if (w->route) {
			*w->route = route;
			w->err = 0;
		} else if (w->route_fn) {
			w->err = w->route_fn(&route, w->arg);
		}
	} else if (nlh->nlmsg_type == RTM_NEWLINK && link_parse(nlh, &link) == 0) {
		if (w->link) {
			*w->link = link;
			w->err = 0;
		} else if (w->link_fn) {
			w->err = w->link_fn(&link, w->arg);
		}
	}
	/* Stopping mid-dump would leave the rest of it in the socket: read
	 * it, unseen. */
	if (w->err && (w->route_fn || w->link_fn))
		w->route_fn = NULL, w->link_fn = NULL;
	return MNL_CB_OK;
}

static int read_objects(struct nl *nl, const struct nlmsghdr *nlh,
			struct walk *w)
{
	int err = transact_read(nl, nlh, NULL, on_read, w);

	return err < 0 ? err : w->err;
}

int nl_route_dump(struct nl *nl, int family, nl_route_fn *fn, void *arg)
{
	struct nlmsghdr *nlh = dump_request(nl, RTM_GETROUTE);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct walk w = { .route_fn = fn, .arg = arg };

	rtm->rtm_family = (unsigned char)family;
	return read_objects(nl, nlh, &w);
}

int nl_route_lookup(struct nl *nl, const struct cv_addr *dst,
		    struct nl_route *out)
{
	return nl_route_lookup_mark(nl, dst, 0, out);
}

int nl_route_lookup_mark(struct nl *nl, const struct cv_addr *dst,
			 uint32_t mark, struct nl_route *out)
{
	struct cv_prefix host = { .addr = *dst,
				  .len = dst->family == AF_INET ? 32 : 128 };
	size_t size = family_size(&host);

	if (!size)
		return -EINVAL;

	struct nlmsghdr *nlh = request(nl, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct walk w = { .route = out, .err = -ENOENT };

	rtm->rtm_family = dst->family;
	rtm->rtm_dst_len = host.len;
	mnl_attr_put(nlh, RTA_DST, size, dst->bytes);
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	return read_objects(nl, nlh, &w);
}

int nl_link_get(struct nl *nl, int ifindex, const char *name,
		struct nl_link *out)
{
	struct nlmsghdr *nlh = request(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct walk w = { .link = out, .err = -ENODEV };

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (!ifindex) {
		if (!name || !*name || strlen(name) >= IFNAMSIZ)
			return -ENODEV;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	}
	return read_objects(nl, nlh, &w);
}

int nl_link_dump(struct nl *nl, nl_link_fn *fn, void *arg)
{
	struct nlmsghdr *nlh = dump_request(nl, RTM_GETLINK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct walk w = { .link_fn = fn, .arg = arg };

	ifi->ifi_family = AF_UNSPEC;
	return read_objects(nl, nlh, &w);
}

/* ---- for netlink_table.c, which builds its own requests */

struct nlmsghdr *nl_request(struct nl *nl, uint16_t type, uint16_t flags)
{
	return request(nl, type, flags);
}

struct nlmsghdr *nl_dump_request(struct nl *nl, uint16_t type)
{
	return dump_request(nl, type);
}

int nl_transact(struct nl *nl, const struct nlmsghdr *nlh, const char **why,
		int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	return transact_read(nl, nlh, why, fn, arg);
}
