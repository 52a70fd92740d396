/* A TAP gateway's device as a port of the LAN's bridge (device-type =
 * tap, bridge = NAME): attached through netlink (IFLA_MASTER), at the
 * bridge's MTU, with the bridge's hairpin for client-to-client. */
#include "server.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "netlink.h"

int server_bridge_hairpin(struct server *srv)
{
	const struct core *core = srv->core;
	const char *why;
	bool on = core->cfg->client_to_client;
	/* Frames from one client to another come back out of the port
	 * they went in by (the bridge's table has both behind it): only
	 * with hairpin does the bridge send them there. */
	int err = nl_bridge_port_hairpin(core->nl, core->tun.ifindex, on, &why);

	if (err < 0)
		log_err("cannot turn %s the bridge's hairpin on %s (client-to-client = %s): %s",
			on ? "on" : "off", core->tun.name, on ? "yes" : "no",
			why ? why : strerror(-err));
	return err;
}

/* The bridge cfg names, which must exist and be one. */
static int find_bridge(struct server *srv, struct nl_link *br)
{
	const struct config *cfg = srv->core->cfg;
	int err = nl_link_get(srv->core->nl, 0, cfg->bridge, br);

	if (err == -ENODEV) {
		log_err("%s: bridge '%s' does not exist: make it first and give it the LAN's port (ip link add %s type bridge; ip link set LANDEV master %s)",
			cfg->path, cfg->bridge, cfg->bridge, cfg->bridge);
		return err;
	}
	if (err < 0) {
		log_err("cannot read device %s: %s", cfg->bridge, strerror(-err));
		return err;
	}
	if (strcmp(br->kind, "bridge") != 0) {
		log_err("%s: bridge = %s names a device that is not a bridge (it is %s)",
			cfg->path, cfg->bridge, br->kind[0] ? br->kind : "a plain device");
		return -EINVAL;
	}
	return 0;
}

int server_bridge_join(struct server *srv)
{
	const struct core *core = srv->core;
	const struct tun *tap = &core->tun;
	struct nl_link br;
	const char *why;
	int err;

	if ((err = find_bridge(srv, &br)) < 0)
		return err;
	/* The bridge's MTU, so that joining it lowers it for nobody; what
	 * a client's link cannot carry is answered with ICMP too-big. */
	if ((err = nl_link_set_master(core->nl, tap->ifindex, br.ifindex,
				      &why)) < 0) {
		log_err("cannot add %s to bridge %s: %s", tap->name, br.name,
			why ? why : strerror(-err));
		return err;
	}
	if ((err = nl_link_set(core->nl, tap->ifindex, br.mtu, true, &why)) < 0) {
		log_err("cannot set %s up with MTU %u: %s", tap->name, br.mtu,
			why ? why : strerror(-err));
		return err;
	}
	if ((err = server_bridge_hairpin(srv)) < 0)
		return err;
	log_notice("%s (TAP) is up, a port of bridge %s, mtu %u; clients get mtu %u at most; each may send from %u MAC address%s, flood %u frames a second; client-to-client %s",
		   tap->name, br.name, br.mtu, core->cfg->mtu,
		   core->cfg->max_macs, core->cfg->max_macs == 1 ? "" : "es",
		   core->cfg->flood_rate,
		   core->cfg->client_to_client ? "yes (hairpin)" : "no");
	if (!br.up)
		log_warn("bridge %s is down: nothing reaches the LAN until it is up (ip link set %s up)",
			 br.name, br.name);
	return 0;
}
