/* The way to the server, watched through netlink events: see
 * path_watch.h. */
#include "path_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "client.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "session.h"

/* Events come in bursts (a link up, its addresses, its routes): look
 * once they settle. */
#define SETTLE_MS 100

struct path_watch {
	struct client *c;
	struct mnl_socket *sock;
	int fd;
	struct loop_timer *settle;
	bool known;			/* server holds the server's address */
	struct cv_addr server;
	int way;			/* 1: a way, 0: none, -1: not looked */
	uint8_t buf[8192];		/* a netlink datagram, as libmnl sizes them */
};

/* Whether a packet from the client's transport (it carries fwmark) to
 * the server has a route now, out of a link that is up with carrier;
 * the link's name into dev. */
static bool has_way(struct path_watch *pw, char dev[IFNAMSIZ])
{
	const struct core *core = pw->c->core;
	struct nl_route route;
	struct nl_link link;

	dev[0] = '\0';
	if (nl_route_lookup_mark(core->nl, &pw->server, core->cfg->fwmark,
				 &route) < 0 ||
	    route.type != RTN_UNICAST)
		return false;
	if (!route.oif)
		return true;
	if (nl_link_get(core->nl, route.oif, NULL, &link) < 0 || !link.running)
		return false;
	snprintf(dev, IFNAMSIZ, "%s", link.name);
	return true;
}

static void look(struct path_watch *pw)
{
	struct client *c = pw->c;
	char dev[IFNAMSIZ], server[ADDR_STRLEN], why[128];
	int before = pw->way;

	if (!pw->known || !c->core->nl)
		return;
	pw->way = has_way(pw, dev);
	addr_str(&pw->server, server);
	if (pw->way == before || before < 0)
		return;
	if (!pw->way) {
		log_info("no way to %s now (no route, or its link is down)", server);
		return;
	}
	snprintf(why, sizeof(why), "the way to %s is back (through %s)", server,
		 dev[0] ? dev : "a route without a device");
	/* A session that lived through the outage: ask at once whether
	 * the server is still there. None: stop waiting out the back-off. */
	if (c->session) {
		log_info("%s; asking the server", why);
		session_probe(c->session);
		return;
	}
	client_connect_now(c, why);
}

static void on_settle(void *arg)
{
	look(arg);
}

/* Whether a change can matter for the way out: not the tunnel's own
 * device, nor the routes the client puts in its own table. */
static bool matters(const struct path_watch *pw, const struct nlmsghdr *nlh)
{
	const struct core *core = pw->c->core;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK: {
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
		return mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi) &&
		       ifi->ifi_index != core->tun.ifindex;
	}
	case RTM_NEWADDR:
	case RTM_DELADDR: {
		const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
		return mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifa) &&
		       (int)ifa->ifa_index != core->tun.ifindex;
	}
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
		return mnl_nlmsg_get_payload_len(nlh) >= sizeof(*rtm) &&
		       rtm->rtm_table != core->cfg->route_table;
	}
	}
	return false;
}

static void on_events(void *arg, int fd, uint32_t events)
{
	struct path_watch *pw = arg;
	bool changed = false;

	for (unsigned int round = 0; round < 64; round++) {
		int n = (int)recv(pw->fd, pw->buf, sizeof(pw->buf), MSG_DONTWAIT);
		if (n < 0) {
			/* Events lost to a full socket: look anyway. */
			changed |= errno == ENOBUFS;
			if (errno != ENOBUFS)
				break;
			continue;
		}
		for (const struct nlmsghdr *nlh = (const void *)pw->buf;
		     mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n))
			changed |= matters(pw, nlh);
	}
	if (changed)
		loop_timer_arm(pw->settle, SETTLE_MS);
}

void path_watch_server(struct path_watch *pw, const struct sockaddr *sa)
{
	if (!pw || addr_from_sockaddr(sa, &pw->server) < 0)
		return;
	pw->known = true;
}

/* 'remote' as an address, when it is one: a name is resolved by the
 * transport, and known here once a link came up. */
static void remote_address(struct path_watch *pw)
{
	char host[256], port[16];
	const char *why;

	/* A cluster's: the gateway of the client's first choice. */
	if (endpoint_split(client_gateway(pw->c, pw->c->gateways.at), host,
			   sizeof(host), port, sizeof(port), &why) == 0 &&
	    addr_parse(host, &pw->server) == 0)
		pw->known = true;
}

int path_watch_new(struct client *c, struct path_watch **out)
{
	struct path_watch *pw = calloc(1, sizeof(*pw));

	*out = NULL;
	if (!pw)
		return -ENOMEM;
	pw->c = c;
	pw->fd = -1;
	pw->way = -1;
	pw->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!pw->sock ||
	    mnl_socket_bind(pw->sock, RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
				      RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
				      RTMGRP_IPV6_ROUTE,
			    MNL_SOCKET_AUTOPID) < 0 ||
	    !(pw->settle = loop_timer_new(c->core->loop, on_settle, pw)) ||
	    loop_watch(c->core->loop, pw->fd = mnl_socket_get_fd(pw->sock),
		       EPOLLIN, on_events, pw) < 0) {
		log_warn("cannot follow the network's changes (netlink: %s): after an outage the client comes back only after its back-off",
			 strerror(errno));
		if (pw->sock)
			mnl_socket_close(pw->sock);
		loop_timer_free(pw->settle);
		free(pw);
		return 0;
	}
	remote_address(pw);
	look(pw);
	*out = pw;
	return 0;
}

void path_watch_free(struct path_watch *pw)
{
	if (!pw)
		return;
	loop_unwatch(pw->c->core->loop, pw->fd);
	mnl_socket_close(pw->sock);
	loop_timer_free(pw->settle);
	free(pw);
}
