/* netcheck_firewall: whether the nftables ruleset lets the tunnel's
 * traffic through, judged by firewall.c. Part of netcheck.h, built into
 * culvertctl only (firewall.c needs jansson). */
#include "netcheck.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "firewall.h"
#include "netcheck_internal.h"

struct verdicts {
	struct netcheck *nc;
	const char *traffic;	/* "udp port 4433", for the messages */
	const char *accept;	/* what the fix inserts */
	unsigned int found;
	char fixes[4][256];	/* given already: one block per fix */
};

static void on_verdict(const struct fw_verdict *v, void *arg)
{
	struct verdicts *vs = arg;
	char fix[256], rule[160];

	if (v->result == FW_PASSES)
		return;
	vs->found++;
	snprintf(fix, sizeof(fix), "nft insert rule %s %s %s %s", v->family,
		 v->table, v->chain, vs->accept);
	for (size_t i = 0; i < sizeof(vs->fixes) / sizeof(vs->fixes[0]); i++) {
		if (strcmp(vs->fixes[i], fix) == 0)
			return;
		if (!vs->fixes[i][0]) {
			snprintf(vs->fixes[i], sizeof(vs->fixes[i]), "%s", fix);
			break;
		}
	}
	if (v->rule_chain)
		snprintf(rule, sizeof(rule), "rule handle %lld in chain %s",
			 v->handle, v->rule_chain);
	else
		snprintf(rule, sizeof(rule), "the drop policy of chain %s",
			 v->chain);
	netcheck_found(vs->nc, NETCHECK_PROBLEM, fix,
		       "nftables: %s of table %s %s %s %s%s",
		       rule, v->family, v->table,
		       v->result == FW_DROPS ? "drops" : "may drop", vs->traffic,
		       v->result == FW_DROPS ? ""
			   : " (it depends on a condition culvertctl cannot judge: see nft list ruleset)");
}

static void check_listen(struct netcheck *nc, const struct firewall *fw)
{
	const struct config *cfg = nc->cfg;
	char host[256], port[16], traffic[64], accept[64];
	const char *why;
	struct cv_prefix daddr;
	int checked = 0;

	if (!cfg->listen || endpoint_split(cfg->listen, host, sizeof(host), port,
					   sizeof(port), &why) < 0)
		return;
	struct fw_packet pkt = { .family = AF_INET, .dport = (unsigned)atoi(port),
				 .ct_state = "new" };
	if (addr_parse(host, &daddr.addr) == 0) {
		pkt.family = daddr.addr.family;
		daddr.len = daddr.addr.family == AF_INET ? 32 : 128;
		if (!(daddr.addr.family == AF_INET && daddr.addr.v4.s_addr == INADDR_ANY) &&
		    !(daddr.addr.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&daddr.addr.v6)))
			pkt.daddr = &daddr;
	}
	for (unsigned int i = 0; i < nc->n_transports; i++) {
		const struct cv_wire *w = nc->transports[i].wire;
		if (!w)
			continue;	/* a note said why at loading */
		if (w->ipproto != IPPROTO_TCP && w->ipproto != IPPROTO_UDP) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "%s runs over IP protocol %d, neither UDP nor TCP: the firewall was not checked for it",
				       nc->transports[i].name, (int)w->ipproto);
			continue;
		}
		if (checked & (1 << (w->ipproto == IPPROTO_TCP)))
			continue;
		checked |= 1 << (w->ipproto == IPPROTO_TCP);
		const char *proto = w->ipproto == IPPROTO_TCP ? "tcp" : "udp";
		snprintf(traffic, sizeof(traffic), "%s port %u, which clients send to",
			 proto, pkt.dport);
		snprintf(accept, sizeof(accept), "%s dport %u accept", proto,
			 pkt.dport);
		struct verdicts vs = { .nc = nc, .traffic = traffic, .accept = accept };
		pkt.l4proto = w->ipproto;
		unsigned int n = firewall_check(fw, "prerouting", &pkt, on_verdict, &vs) +
				 firewall_check(fw, "input", &pkt, on_verdict, &vs);
		if (!vs.found && !n)
			netcheck_found(nc, NETCHECK_OK, NULL,
				       "no nftables filter chain on the input hook: %s port %u comes in",
				       proto, pkt.dport);
		else if (!vs.found)
			netcheck_found(nc, NETCHECK_OK, NULL,
				       "nftables lets %s port %u in (%u filter chain%s on its way)",
				       proto, pkt.dport, n, n == 1 ? "" : "s");
	}
}

static void check_forward(struct netcheck *nc, const struct firewall *fw)
{
	const struct config *cfg = nc->cfg;
	const char *tun = nc->tun.ifindex ? nc->tun.name : cfg->device;
	char pool[ADDR_STRLEN], net[ADDR_STRLEN], lan[IFNAMSIZ];
	char out[160], back[160], out_fix[160], back_fix[160];
	/* The IPv4 pool's forwarding, or pool6's on an IPv6-only tunnel. */
	const struct cv_prefix *inner = cfg->has_pool ? &cfg->pool : &cfg->pool6;
	const char *ip = inner->addr.family == AF_INET ? "ip" : "ip6";
	struct verdicts vo = { .nc = nc, .traffic = out, .accept = out_fix };
	struct verdicts vb = { .nc = nc, .traffic = back, .accept = back_fix };
	unsigned int n = 0;

	prefix_str(inner, pool);
	if (tun) {
		snprintf(out_fix, sizeof(out_fix), "iifname %s %s saddr %s accept",
			 tun, ip, pool);
		snprintf(back_fix, sizeof(back_fix),
			 "oifname %s %s daddr %s ct state established,related accept",
			 tun, ip, pool);
	} else {
		snprintf(out_fix, sizeof(out_fix), "%s saddr %s accept", ip, pool);
		snprintf(back_fix, sizeof(back_fix),
			 "%s daddr %s ct state established,related accept", ip, pool);
	}
	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		const struct cv_prefix *r = &cfg->routes[i];
		struct nl_route route;
		if (r->addr.family != inner->addr.family)
			continue;
		lan[0] = '\0';
		if (netcheck_lookup_net(nc, r, &route) == 0 && route.oif &&
		    route.oif != nc->tun.ifindex)
			netcheck_ifname(nc, route.oif, lan);
		prefix_str(r, net);
		struct fw_packet to = { r->addr.family, 0, 0, tun, lan[0] ? lan : NULL,
					inner, r, "new" };
		struct fw_packet from = { r->addr.family, 0, 0, lan[0] ? lan : NULL, tun,
					  r, inner, "established" };
		snprintf(out, sizeof(out), "what clients (%s) send to %s", pool, net);
		snprintf(back, sizeof(back), "the replies from %s to the clients", net);
		/* Both directions, each fix given once for all networks. */
		n = firewall_check(fw, "forward", &to, on_verdict, &vo);
		firewall_check(fw, "forward", &from, on_verdict, &vb);
	}
	unsigned int found = vo.found + vb.found;
	if (cfg->n_routes && !found && !n)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "no nftables filter chain on the forward hook");
	else if (cfg->n_routes && !found)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "nftables forwards between the pool %s and the pushed networks (%u filter chain%s on the forward hook)",
			       pool, n, n == 1 ? "" : "s");
}

/* iptables-legacy keeps its rules where nft does not look. */
static void check_legacy(struct netcheck *nc)
{
	FILE *f = fopen("/proc/net/ip_tables_names", "re");
	char tables[128] = "", line[32];
	size_t used = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && used < sizeof(tables)) {
		line[strcspn(line, "\n")] = '\0';
		int n = snprintf(tables + used, sizeof(tables) - used, "%s%s",
				 used ? ", " : "", line);
		if (n > 0)
			used += (size_t)n;
	}
	fclose(f);
	if (tables[0])
		netcheck_found(nc, NETCHECK_NOTE, "iptables-legacy -S",
			       "legacy iptables tables are loaded (%s): their rules were not read; list them with:",
			       tables);
}

void netcheck_firewall(struct netcheck *nc)
{
	struct firewall *fw;
	char why[256] = "";

	if (nc->cfg->mode != MODE_SERVER)
		return;
	check_legacy(nc);
	/* Listing the ruleset needs CAP_NET_ADMIN; libnftables would say
	 * so on stderr, out of line with the findings. */
	int err = geteuid() == 0 ? firewall_read(&fw, why, sizeof(why)) : -EPERM;
	if (err == -EPERM && !why[0])
		snprintf(why, sizeof(why), "reading them needs root");
	if (err < 0) {
		netcheck_found(nc, NETCHECK_NOTE, "nft list ruleset",
			       "the nftables rules were not read (%s); look for drops of the listen port and of forwarded traffic with:",
			       why[0] ? why : strerror(-err));
		return;
	}
	check_listen(nc, fw);
	check_forward(nc, fw);
	firewall_free(fw);
}
