/*
 * A cluster gateway's routes to its sessions, for the routing daemon
 * beside it (culvert.conf(5), CLUSTER). With announce-table set, each
 * session's inner addresses (IPv4 /32, IPv6 /128) and the networks
 * behind it are routes through the TUN device in that table, with
 * rtm_protocol announce-protocol, from its lease to its end. BIRD's or
 * FRR's kernel protocol learns them from there (by table and protocol
 * number, nothing else of the host's) and announces them to the LAN, so
 * that a client's address leads to whichever gateway holds its session
 * now: the same static address on any gateway, no cluster protocol of
 * our own. The gateway's own forwarding does not use that table: the
 * pool's route and the networks' routes in main do.
 */
#include "announce.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "netlink_table.h"
#include "session.h"
#include "session_owner.h"

static void one(struct cv_session *s, bool add, const struct cv_prefix *dst)
{
	const struct core *core = s->core;
	const struct config *cfg = core->cfg;
	char d[ADDR_STRLEN];
	const char *kernel;

	int err = nl_announce_route(core->nl, add, cfg->announce_table,
				    (uint8_t)cfg->announce_protocol,
				    core->tun.ifindex, dst, &kernel);
	/* Gone already: the device went, or someone removed it. */
	if (err < 0 && (add || (err != -ESRCH && err != -ENODEV)))
		session_log(s, LOG_WARNING, "cannot %s the route to %s in table %u (announce-table): %s",
			    add ? "add" : "remove", prefix_str(dst, d),
			    cfg->announce_table,
			    kernel ? kernel : strerror(-err));
}

static void all(struct cv_session *s, bool add)
{
	const struct session_policy *p = s->policy;
	struct cv_prefix host;

	if (s->has_inner) {
		host = prefix_host(&s->inner);
		one(s, add, &host);
	}
	if (s->has_inner6) {
		host = prefix_host(&s->inner6);
		one(s, add, &host);
	}
	for (unsigned int i = 0; p && i < p->n_networks; i++) {
		const struct cv_prefix *net = &p->networks[i];
		if (net->addr.family == AF_INET ? s->has_inner : s->has_inner6)
			one(s, add, net);
	}
}

void announce_session(struct cv_session *s)
{
	if (!s->core->cfg->announce_table || s->announced)
		return;
	all(s, true);
	s->announced = true;
}

void announce_withdraw(struct cv_session *s)
{
	if (!s->announced)
		return;
	all(s, false);
	s->announced = false;
}
