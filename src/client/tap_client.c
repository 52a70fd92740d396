/* A TAP client (device-type = tap): a host on the LAN's Ethernet
 * segment. Its addresses are its own, not the server's to give: static
 * ones (`address`) put on the device at start, or what the host's DHCP
 * client and the LAN's router advertisements give it once the carrier
 * is on. culvertd runs no DHCP client; it turns the carrier on while a
 * session is up, as a cable plugged in. */
#include "client.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "netlink.h"
#include "plugin_host.h"
#include "session.h"
#include "session_owner.h"

int client_tap_setup(struct core *core)
{
	const struct config *cfg = core->cfg;
	const struct tun *tap = &core->tun;
	char buf[ADDR_STRLEN];
	const char *why;
	int err;

	/* No carrier yet: a DHCP client waits for the link, and nothing
	 * the kernel sends is read into a tunnel that is not there. */
	if ((err = tun_set_carrier(tap, false)) < 0)
		log_debug("%s: cannot turn the carrier off (%s): it stays on between sessions",
			  tap->name, strerror(-err));
	if ((err = nl_link_set(core->nl, tap->ifindex, 0, true, &why)) < 0) {
		log_err("cannot set %s up: %s", tap->name,
			why ? why : strerror(-err));
		return err;
	}
	for (unsigned int i = 0; i < cfg->n_addresses; i++) {
		err = nl_addr_add(core->nl, tap->ifindex, &cfg->addresses[i],
				  &why);
		if (err < 0 && err != -EEXIST) {
			log_err("%s: cannot add address %s to %s: %s", cfg->path,
				prefix_str(&cfg->addresses[i], buf), tap->name,
				why ? why : strerror(-err));
			return err;
		}
	}
	log_notice("%s (TAP) created%s%s; its addresses come from the LAN once the tunnel is up",
		   tap->name, cfg->n_addresses ? ", static address " : "",
		   cfg->n_addresses ? prefix_str(&cfg->addresses[0], buf) : "");
	return 0;
}

/* Only Ethernet frames may cross: a welcome that says otherwise is for
 * a TUN client. */
bool client_tap_agrees(struct cv_session *s, const struct proto_welcome *w)
{
	bool tap = s->core->tun.tap;

	if (tap == (w->frames == PROTO_FRAMES_ETHERNET))
		return true;
	session_refuse_server(s, PROTO_REASON_POLICY, "a welcome this client refuses",
			     tap ? "it carries IP packets (the server's device-type = tun) and this client Ethernet frames (device-type = tap): set the same device-type on both"
				 : "it carries Ethernet frames (the server's device-type = tap) and this client IP packets (device-type = tun): set the same device-type on both");
	return false;
}

int client_tap_up(struct cv_session *s, const struct proto_welcome *w)
{
	const struct core *core = s->core;
	const char *why;
	int err;

	s->mtu = session_mtu(s, w->mtu);
	if ((err = nl_link_set(core->nl, core->tun.ifindex, s->mtu, true,
			       &why)) < 0) {
		session_log(s, LOG_ERR, "cannot set %s up with MTU %u: %s",
			    core->tun.name, s->mtu, why ? why : strerror(-err));
		return err;
	}
	tun_set_carrier(&core->tun, true);
	session_log(s, LOG_NOTICE,
		    "tunnel up: %s (TAP) on the server's LAN over %s to %s, mtu %u",
		    core->tun.name, s->transport->t->name, s->peer, s->mtu);
	return 0;
}

void client_tap_down(struct cv_session *s)
{
	tun_set_carrier(&s->core->tun, false);
}
