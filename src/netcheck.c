#include "netcheck.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "log.h"
#include "netcheck_internal.h"

/* Per-namespace sysctls: what matters is the namespace culvertd runs in,
 * which /proc/sys/net shows. */
#define IPV4_FORWARD "/proc/sys/net/ipv4/ip_forward"
#define IPV6_FORWARD "/proc/sys/net/ipv6/conf/all/forwarding"
/* Where the fixes make a setting last: read at boot, and by
 * systemd-sysctl for an interface when it appears. */
#define SYSCTL_FILE "/etc/sysctl.d/90-culvert.conf"

#define MAX_IFS 16

void netcheck_found(struct netcheck *nc, enum netcheck_kind kind,
		    const char *fix, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (kind == NETCHECK_PROBLEM)
		nc->problems++;
	nc->report(kind, what, fix, nc->arg);
}

/* ---- the transports, as their plugins describe them */

/* The first version of struct cv_wire ends with overhead. */
#define WIRE_V1_SIZE \
	(offsetof(struct cv_wire, overhead) + sizeof(uint32_t))

/* A plugin of any origin: what its table says is checked before use. */
static const struct cv_wire *wire_of(struct netcheck *nc,
				     const struct netcheck_transport *t)
{
	const struct cv_transport *table = t->plugin.transport;

	if (!TRANSPORT_HAS(table, wire)) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "transport %s: its plugin does not say what it adds on the wire (no 'wire' in its table, see culvert-transport(7)): its MTU and firewall checks are skipped",
			       t->name);
		return NULL;
	}
	if (table->wire->size < WIRE_V1_SIZE) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "transport %s: its plugin's wire table has %u bytes, fewer than the %zu of struct cv_wire (damaged, or built from a wrong header): its MTU and firewall checks are skipped",
			       t->name, table->wire->size, WIRE_V1_SIZE);
		return NULL;
	}
	return table->wire;
}

void netcheck_load_transports(struct netcheck *nc)
{
	const struct config *cfg = nc->cfg;

	if (plugin_system_init() < 0)
		return;
	nc->plugins_ready = true;
	for (unsigned int i = 0; i < cfg->n_transports; i++) {
		struct netcheck_transport *t = &nc->transports[i];
		t->name = cfg->transports[i];
		nc->n_transports++;
		/* plugin_load() has logged why it failed. */
		if (plugin_load(cfg->plugin_dir, t->name, &t->plugin) < 0)
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "transport %s: its plugin did not load from %s: its MTU and firewall checks are skipped",
				       t->name, cfg->plugin_dir);
		else
			t->wire = wire_of(nc, t);
	}
}

void netcheck_unload_transports(struct netcheck *nc)
{
	for (unsigned int i = 0; i < nc->n_transports; i++) {
		plugin_unload(&nc->transports[i].plugin);
		nc->transports[i].wire = NULL;
	}
	nc->n_transports = 0;
	if (nc->plugins_ready)
		plugin_system_exit();
	nc->plugins_ready = false;
}

/* ---- sysctls */

static int read_int(const char *path)
{
	FILE *f = fopen(path, "re");
	int value = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &value) != 1)
		value = -1;
	fclose(f);
	return value < 0 ? -EIO : value;
}

int netcheck_ipv4_forwarding(void)
{
	int value = read_int(IPV4_FORWARD);

	return value < 0 ? value : value != 0;
}

int netcheck_ipv6_forwarding(void)
{
	int value = read_int(IPV6_FORWARD);

	return value < 0 ? value : value != 0;
}

/* net.ipv4.conf.IF.KEY and its file; an interface name with a dot
 * (eth0.100) needs the slash form, which sysctl(8) and sysctl.d accept. */
static int conf_read(const char *ifname, const char *key, char *name,
		     size_t size)
{
	char path[128];

	snprintf(name, size, strchr(ifname, '.') ? "net/ipv4/conf/%s/%s"
						 : "net.ipv4.conf.%s.%s",
		 ifname, key);
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", ifname,
		 key);
	return read_int(path);
}

const char *netcheck_sysctl_fix(char *buf, size_t size, const char *name,
				int value)
{
	snprintf(buf, size, "sysctl -w %s=%d\necho '%s = %d' >> " SYSCTL_FILE,
		 name, value, name, value);
	return buf;
}

/* ---- addresses and interfaces */

/* The address a lookup for prefix p uses: its first host. */
static struct cv_addr first_host(const struct cv_prefix *p)
{
	struct cv_addr a = p->addr;
	unsigned int bits = a.family == AF_INET ? 32 : 128;

	if (p->len + 1u < bits) {
		int i = (int)(bits / 8) - 1;
		while (i >= 0 && ++a.bytes[i] == 0)
			i--;
	}
	return a;
}

/* Its last host: the broadcast address (all host bits set) less one. */
static struct cv_addr last_host(const struct cv_prefix *p)
{
	struct cv_addr a = p->addr;
	unsigned int bits = a.family == AF_INET ? 32 : 128;

	for (unsigned int b = p->len; b < bits; b++)
		a.bytes[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	if (p->len + 1u < bits) {
		int i = (int)(bits / 8) - 1;
		while (i >= 0 && a.bytes[i]-- == 0)
			i--;
	}
	return a;
}

/* The route the kernel takes into network p: a lookup of a host there
 * that is not this one (the gateway often holds the first). */
int netcheck_lookup_net(struct netcheck *nc, const struct cv_prefix *p,
			struct nl_route *route)
{
	struct cv_addr a = first_host(p);
	int err = nl_route_lookup(nc->nl, &a, route);

	if (err == 0 && route->type == RTN_LOCAL) {
		a = last_host(p);
		err = nl_route_lookup(nc->nl, &a, route);
	}
	return err;
}

const char *netcheck_ifname(struct netcheck *nc, int ifindex,
			    char buf[IFNAMSIZ])
{
	struct nl_link link;

	if (ifindex == nc->tun.ifindex && nc->tun.ifindex)
		snprintf(buf, IFNAMSIZ, "%s", nc->tun.name);
	else if (nl_link_get(nc->nl, ifindex, NULL, &link) == 0)
		snprintf(buf, IFNAMSIZ, "%s", link.name);
	else
		snprintf(buf, IFNAMSIZ, "if%d", ifindex);
	return buf;
}

/* The interfaces IPv4 packets of the tunnel come in through: the TUN
 * device and, on a server, the ones towards the pushed networks; on a
 * site's router, the ones towards the networks behind it. */
static unsigned int tunnel_ifs(struct netcheck *nc, int ifs[MAX_IFS])
{
	unsigned int n = 0;
	const struct cv_prefix *nets = is_server(nc) ? nc->cfg->routes
						     : nc->networks;
	unsigned int n_nets = is_server(nc) ? nc->cfg->n_routes
					    : nc->n_networks;

	if (nc->tun.ifindex)
		ifs[n++] = nc->tun.ifindex;
	for (unsigned int i = 0; nc->nl && i < n_nets && n < MAX_IFS; i++) {
		const struct cv_prefix *r = &nets[i];
		struct nl_route route;
		if (r->addr.family != AF_INET || netcheck_lookup_net(nc, r, &route) < 0 ||
		    route.type != RTN_UNICAST || !route.oif)
			continue;
		bool seen = false;
		for (unsigned int j = 0; j < n; j++)
			seen |= ifs[j] == route.oif;
		if (!seen)
			ifs[n++] = route.oif;
	}
	return n;
}

/* "cv0, gw1" */
static const char *if_list(struct netcheck *nc, const int *ifs,
			   unsigned int n, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < n && used < size; i++) {
		char name[IFNAMSIZ];
		int len = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
				   netcheck_ifname(nc, ifs[i], name));
		if (len < 0)
			break;
		used += (size_t)len;
	}
	return buf;
}

/* "198.51.100.0/24" or "198.51.100.0/24 and 2 more" */
static const char *routes_text(const struct config *cfg, char *buf,
			       size_t size)
{
	char r[ADDR_STRLEN];

	if (cfg->n_routes > 1)
		snprintf(buf, size, "%s and the other routed networks",
			 prefix_str(&cfg->routes[0], r));
	else
		snprintf(buf, size, "%s", prefix_str(&cfg->routes[0], r));
	return buf;
}

/* ---- forwarding and reverse-path filtering */

void netcheck_forwarding(struct netcheck *nc)
{
	const struct config *cfg = nc->cfg;
	bool v4 = false, v6 = false;
	char fix[512], routes[ADDR_STRLEN + 64];

	/* With pool6 the gateway forwards IPv6 between its clients and
	 * what it pushes: IPv6 forwarding counts even before any route6. */
	v6 = cfg->has_pool6;
	if (!is_server(nc) || (cfg->n_routes == 0 && !v6))
		return;
	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		v4 |= cfg->routes[i].addr.family == AF_INET;
		v6 |= cfg->routes[i].addr.family == AF_INET6;
	}
	routes_text(cfg, routes, sizeof(routes));
	if (v6 && read_int(IPV6_FORWARD) == 0)
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix),
					  "net.ipv6.conf.all.forwarding", 1),
			       "IPv6 forwarding is off (net.ipv6.conf.all.forwarding = 0): clients will reach this gateway but not the IPv6 networks it pushes");
	else if (v6)
		netcheck_found(nc, NETCHECK_OK, NULL, "IPv6 forwarding is on");
	if (!v4)
		return;
	int on = netcheck_ipv4_forwarding();
	if (on < 0) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "cannot read " IPV4_FORWARD ": %s", strerror(-on));
		return;
	}
	if (!on) {
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix), "net.ipv4.ip_forward", 1),
			       "IPv4 forwarding is off (net.ipv4.ip_forward = 0): clients will reach this gateway but not %s behind it",
			       routes);
		return;
	}
	/* ip_forward sets every interface's forwarding; a 0 left on one
	 * was set by hand, and the kernel then drops what comes in there. */
	int ifs[MAX_IFS];
	unsigned int n = tunnel_ifs(nc, ifs), off = 0;
	for (unsigned int i = 0; i < n; i++) {
		char name[IFNAMSIZ], key[128];
		netcheck_ifname(nc, ifs[i], name);
		if (conf_read(name, "forwarding", key, sizeof(key)) != 0)
			continue;
		off++;
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix), key, 1),
			       "forwarding is off on %s (%s = 0): packets that come in there are not forwarded to %s",
			       name, key, ifs[i] == nc->tun.ifindex ? routes
								    : "the clients");
	}
	if (!off)
		netcheck_found(nc, NETCHECK_OK, NULL, "IPv4 forwarding is on");
}

void netcheck_rp_filter(struct netcheck *nc)
{
	int ifs[MAX_IFS];
	unsigned int n = tunnel_ifs(nc, ifs), strict = 0;
	char all_key[64], list[MAX_IFS * (IFNAMSIZ + 2)];
	int all = conf_read("all", "rp_filter", all_key, sizeof(all_key));

	for (unsigned int i = 0; i < n; i++) {
		char name[IFNAMSIZ], key[128], fix[512];
		netcheck_ifname(nc, ifs[i], name);
		int value = conf_read(name, "rp_filter", key, sizeof(key));
		/* The kernel applies the larger of conf/all and conf/IF;
		 * loose (2) on the interface wins over strict (1) in all. */
		if ((value > all ? value : all) != 1)
			continue;
		strict++;
		netcheck_found(nc, NETCHECK_PROBLEM,
			       netcheck_sysctl_fix(fix, sizeof(fix), key, 2),
			       "strict reverse-path filtering on %s (%s = 1) drops packets that come in there from a source the kernel would route out of another interface: replies through the tunnel are lost as soon as routes are asymmetric; loose mode (2) keeps the protection against spoofed sources",
			       name, value == 1 ? key : all_key);
	}
	if (n && !strict)
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "no strict reverse-path filtering on %s",
			       if_list(nc, ifs, n, list, sizeof(list)));
}

/* ---- MTU */

/* The interface that holds the local address a, by name. */
static bool local_if(const struct cv_addr *a, char name[IFNAMSIZ])
{
	struct ifaddrs *ifas;
	bool found = false;

	if (getifaddrs(&ifas) < 0)
		return false;
	for (const struct ifaddrs *i = ifas; i && !found; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;
		if (!sa || sa->sa_family != a->family)
			continue;
		const void *bytes = sa->sa_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(bytes, a->bytes, a->family == AF_INET ? 4 : 16) == 0) {
			snprintf(name, IFNAMSIZ, "%s", i->ifa_name);
			found = true;
		}
	}
	freeifaddrs(ifas);
	return found;
}

static int default_route(const struct nl_route *route, void *arg)
{
	struct nl_route *best = arg;

	if (route->table == RT_TABLE_MAIN && route->dst.len == 0 &&
	    route->type == RTN_UNICAST && route->oif &&
	    (!best->oif || route->priority < best->priority))
		*best = *route;
	return 0;
}

/* The interface the tunnel's outer packets leave through, and the most
 * it takes (a route's or a learned path MTU can be less than the link's).
 * Returns false, after a note, when it cannot tell. */
static bool outer_path(struct netcheck *nc, const struct cv_addr *server,
		       struct nl_link *link, unsigned int *mtu, int *family)
{
	struct nl_route route = { 0 };
	char host[256], port[16], addr[ADDR_STRLEN];
	const char *why;
	struct cv_addr local;

	if (server) {
		*family = server->family;
		if (nl_route_lookup(nc->nl, server, &route) < 0 || !route.oif ||
		    nl_link_get(nc->nl, route.oif, NULL, link) < 0) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "no route to the gateway %s: the MTU was not checked",
				       addr_str(server, addr));
			return false;
		}
	} else if (nc->cfg->listen &&
		   endpoint_split(nc->cfg->listen, host, sizeof(host), port,
				  sizeof(port), &why) == 0 &&
		   addr_parse(host, &local) == 0 &&
		   !(local.family == AF_INET && local.v4.s_addr == INADDR_ANY) &&
		   !(local.family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&local.v6))) {
		char name[IFNAMSIZ];
		*family = local.family;
		if (!local_if(&local, name) ||
		    nl_link_get(nc->nl, 0, name, link) < 0) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "no interface holds the listen address %s: the MTU was not checked",
				       host);
			return false;
		}
	} else {
		/* Listening on every address: clients most likely come
		 * through the default route. */
		*family = AF_INET;
		nl_route_dump(nc->nl, AF_INET, default_route, &route);
		if (!route.oif || nl_link_get(nc->nl, route.oif, NULL, link) < 0) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "listening on every address and no default route: cannot tell which interface clients come through, the MTU was not checked");
			return false;
		}
	}
	*mtu = link->mtu;
	if (route.mtu && route.mtu < *mtu)
		*mtu = route.mtu;
	return true;
}

void netcheck_mtu(struct netcheck *nc, unsigned int tun_mtu,
		  const struct cv_addr *server)
{
	const struct config *cfg = nc->cfg;
	struct nl_link link;
	unsigned int path;
	int family;

	if (!outer_path(nc, server, &link, &path, &family))
		return;
	/* The IP and UDP headers, and the core's type byte that starts
	 * every message. */
	unsigned int outer = (family == AF_INET ? 20 + 8 : 40 + 8) + 1;
	for (unsigned int i = 0; i < nc->n_transports; i++) {
		const struct netcheck_transport *t = &nc->transports[i];
		const struct cv_wire *w = t->wire;
		if (!w)
			continue;	/* a note said why at loading */
		if (w->ipproto == IPPROTO_TCP) {
			netcheck_found(nc, NETCHECK_OK, NULL,
				       "%s runs over TCP, which cuts its stream to the path: the MTU of %s does not limit %s's",
				       t->name, link.name, nc->tun.name);
			continue;
		}
		if (w->ipproto != IPPROTO_UDP) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "%s runs over IP protocol %d, neither UDP nor TCP: the MTU was not checked for it",
				       t->name, (int)w->ipproto);
			continue;
		}
		const char *least = w->flags & CV_WIRE_AT_LEAST ? "at least " : "";
		unsigned int framing = outer + w->overhead;
		unsigned int need = tun_mtu + framing;
		if (need <= path) {
			netcheck_found(nc, NETCHECK_OK, NULL,
				       "%s's MTU %u + %s%u bytes of %s framing = %u fits %s (%u)",
				       nc->tun.name, tun_mtu, least, framing, t->name,
				       need, link.name, path);
			continue;
		}
		char fix[300];
		unsigned int fits = path > framing ? path - framing : 0;
		snprintf(fix, sizeof(fix), "ip link set dev %s mtu %u   # and mtu = %u in %s, to make it last",
			 nc->tun.name, fits, fits,
			 is_server(nc) ? cfg->path : "the gateway's config");
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "%s's MTU %u + %s%u bytes of %s framing = %u is more than the %u bytes %s takes towards %s: full-size packets are %s",
			       nc->tun.name, tun_mtu, least, framing, t->name, need,
			       path, link.name, server ? "the gateway" : "the clients",
			       w->flags & CV_WIRE_DONT_FRAGMENT
				       ? "lost until culvertd's probes find the size that crosses (the transport forbids fragmenting them)"
				       : "fragmented or lost");
	}
}

/* ---- culvertd at start */

static void to_log(enum netcheck_kind kind, const char *what,
		   const char *fix, void *arg)
{
	if (kind != NETCHECK_PROBLEM)
		return;
	/* One log line: the commands joined. */
	char commands[512];
	size_t n = 0;
	for (; fix && *fix && n + 3 < sizeof(commands); fix++) {
		if (*fix == '\n') {
			commands[n++] = ';';
			commands[n++] = ' ';
		} else {
			commands[n++] = *fix;
		}
	}
	commands[n] = '\0';
	log_warn("%s. Fix: %s", what, commands);
}

int netcheck_server(const struct config *cfg)
{
	struct netcheck nc = { .cfg = cfg, .report = to_log };

	netcheck_forwarding(&nc);
	return (int)nc.problems;
}
