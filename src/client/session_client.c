/* The client's side of a session: hello until the server answers, then
 * the pushed address and routes installed, and removed at the end. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "core.h"
#include "dns.h"
#include "log.h"
#include "loop.h"
#include "netcheck.h"
#include "netlink.h"
#include "path_mtu.h"
#include "plugin_host.h"
#include "session_owner.h"
#include "welcome_policy.h"

/* The hello back-off on unreliable transports. */
#define RETRANSMIT_FIRST_MS 500
#define RETRANSMIT_MAX_MS 4000
#define WELCOME_TIMEOUT_MS 30000

static int send_hello(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = s->nonce;
	if (session_takes_gso(s))
		m.hello.flags |= PROTO_HELLO_DATA_GSO;
	if (session_takes_partial(s))
		m.hello.flags |= PROTO_HELLO_DATA_PARTIAL;
	if (session_takes_uso(s))
		m.hello.flags |= PROTO_HELLO_DATA_USO;
	m.hello.flags |= PROTO_HELLO_PATH_MTU;
	/* Only a client with somewhere to go can be told to move. */
	if (((const struct client *)s->owner)->gateways.n > 1)
		m.hello.flags |= PROTO_HELLO_MOVE;
	if (s->core->tun.tap)
		m.hello.frames = PROTO_FRAMES_ETHERNET;
	/* A password goes only where the transport encrypts it and has
	 * proved who the server is. */
	const struct client *c = s->owner;
	if (c->password && (s->transport->t->flags & CV_TRANSPORT_SECURE)) {
		snprintf(m.hello.username, sizeof(m.hello.username), "%s",
			 s->core->cfg->username);
		snprintf(m.hello.password, sizeof(m.hello.password), "%s",
			 c->password);
	}
	/* Ask for the address of the last session back: a server that
	 * restarted knows it no more. */
	m.hello.previous4 = c->previous4;
	m.hello.previous6 = c->previous6;
	int err = session_send_control(s, &m, 1);
	explicit_bzero(&m, sizeof(m));
	return err;
}

void client_session_hello_again(struct cv_session *s)
{
	int64_t now = loop_now(s->core->loop);

	if (now - s->started >= WELCOME_TIMEOUT_MS) {
		session_end(s, PROTO_REASON_TIMEOUT, "no answer from the server");
		return;
	}
	if (send_hello(s) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send hello");
		return;
	}
	if (session_reliable(s)) {
		/* The transport delivers it or drops the link: only wait. */
		loop_timer_arm(s->timer, WELCOME_TIMEOUT_MS - (now - s->started));
		return;
	}
	s->retransmit_ms *= 2;
	if (s->retransmit_ms > RETRANSMIT_MAX_MS)
		s->retransmit_ms = RETRANSMIT_MAX_MS;
	loop_timer_arm(s->timer, s->retransmit_ms);
}

/* An inner address off the TUN device, if it is on. */
static void tun_address_off(const struct core *core,
			    const struct cv_prefix *addr, bool *installed)
{
	char buf[ADDR_STRLEN];
	const char *why;

	if (!*installed)
		return;
	int err = nl_addr_del(core->nl, core->tun.ifindex, addr, &why);
	if (err < 0 && err != -EADDRNOTAVAIL)
		log_warn("cannot remove address %s from %s: %s",
			 prefix_str(addr, buf), core->tun.name,
			 why ? why : strerror(-err));
	*installed = false;
}

/* The session's inner address (IPv4 or IPv6) on the TUN device, kept in
 * *slot so that exactly it is removed. */
static int add_address(struct cv_session *s, const struct cv_prefix *addr,
		       struct cv_prefix *slot, bool *installed)
{
	const struct core *core = s->core;
	char buf[ADDR_STRLEN];
	const char *why;

	if (*installed && prefix_equal(slot, addr))
		return 0;	/* held from the session before */
	tun_address_off(s->core, slot, installed);
	*slot = *addr;
	int err = nl_addr_add(core->nl, core->tun.ifindex, slot, &why);
	if (err < 0 && err != -EEXIST) {
		session_log(s, LOG_ERR,
			    "cannot add address %s to %s: %s",
			    prefix_str(slot, buf), core->tun.name,
			    why ? why : strerror(-err));
		return err;
	}
	*installed = true;
	return 0;
}

/* Whether the routes in tr stay, blocked, once no session carries them:
 * a full tunnel (or one that is still blocked from the session before)
 * of a client that will connect again. */
static bool kill_switch_holds(const struct core *core,
			      const struct tunnel_routes *tr)
{
	return core->cfg->kill_switch && !core->stopping &&
	       (tr->blocked || tunnel_routes_default(tr, AF_INET) ||
		tunnel_routes_default(tr, AF_INET6));
}

/* The held addresses and routes, given up: no session came back in
 * time, or culvertd stops. */
void client_hold_release(struct client *c)
{
	const struct core *core = c->core;

	if (c->hold)
		loop_timer_arm(c->hold, -1);
	if (kill_switch_holds(core, &c->blocked)) {
		if (!c->blocked.blocked) {
			unsigned int n = tunnel_routes_block(&c->blocked,
							     core->nl, core->cfg);
			log_notice("kill-switch: until the next session, what the tunnel carried is unreachable (%u routes in table %u); stopping culvertd lifts it",
				   n, core->cfg->route_table);
		}
	} else {
		tunnel_routes_down(&c->blocked, core->nl, core->cfg,
				   core->tun.ifindex);
	}
	for (int i = 0; i < 2; i++)
		tun_address_off(core, &c->held_addr[i], &c->held_addr_on[i]);
}

void client_session_uninstall(struct cv_session *s)
{
	struct client *c = s->owner;
	const struct core *core = s->core;

	if (s->state == SESSION_UP)
		session_hook(s, core->cfg->down_script, "down", NULL);
	if (core->tun.tap) {
		client_tap_down(s);
		return;
	}

	dns_down(s->dns);
	s->dns = NULL;
	if (!s->addr_installed && !s->addr6_installed &&
	    (!s->tunnel || (!s->tunnel->n_routes && !s->tunnel->n_rules)))
		return;		/* a session that never came up: nothing of it */
	/* Held, as they are, while the client connects again: to the
	 * kernel the tunnel is a link that loses packets for a moment, not
	 * a network that vanished. A send into it fails for no one, so the
	 * connections through it live on: an established one waits out a
	 * lost segment anyway, but a half-open one dies of the first
	 * SYN-ACK the kernel cannot route, and its peer's next segment
	 * meets a reset. Nothing leaks meanwhile: cv0 carries it, and
	 * culvertd drops what no session takes. */
	if (s->tunnel) {
		c->blocked = *s->tunnel;
		memset(s->tunnel, 0, sizeof(*s->tunnel));
	}
	c->held_addr[0] = s->addr;
	c->held_addr_on[0] = s->addr_installed;
	c->held_addr[1] = s->addr6;
	c->held_addr_on[1] = s->addr6_installed;
	s->addr_installed = s->addr6_installed = false;
	if (core->stopping) {
		client_hold_release(c);
		return;
	}
	log_info("the tunnel's addresses and routes stay for %d s while the client connects again: connections through it outlive a short break",
		 CLIENT_HOLD_MS / 1000);
	loop_timer_arm(c->hold, CLIENT_HOLD_MS);
}

/* The session before's addresses and routes, held, now s's. */
static void take_over_hold(struct cv_session *s)
{
	struct client *c = s->owner;

	loop_timer_arm(c->hold, -1);
	*s->tunnel = c->blocked;
	memset(&c->blocked, 0, sizeof(c->blocked));
	s->addr = c->held_addr[0];
	s->addr_installed = c->held_addr_on[0];
	s->addr6 = c->held_addr[1];
	s->addr6_installed = c->held_addr_on[1];
	c->held_addr_on[0] = c->held_addr_on[1] = false;
}

static bool has_route6(const struct proto_welcome *w)
{
	for (unsigned int i = 0; i < w->n_routes; i++)
		if (w->routes[i].addr.family == AF_INET6)
			return true;
	return false;
}

static int install(struct cv_session *s, const struct proto_welcome *w)
{
	const struct core *core = s->core;
	const char *why;
	int err;

	unsigned int mtu = session_mtu(s, w->mtu);
	s->mtu = mtu;
	err = nl_link_set(core->nl, core->tun.ifindex, mtu, true, &why);
	if (err < 0) {
		session_log(s, LOG_ERR,
			    "cannot set %s up with MTU %u: %s",
			    core->tun.name, mtu, why ? why : strerror(-err));
		return err;
	}
	bool ipv4 = w->addr4.addr.family == AF_INET;
	bool ipv6 = mtu >= SESSION_IPV6_MIN_MTU;
	/* What the session before held, taken over: the same addresses
	 * stay (add_address), other ones go. */
	if (!s->tunnel && !(s->tunnel = calloc(1, sizeof(*s->tunnel))))
		return -ENOMEM;
	take_over_hold(s);
	/* An IPv6-only tunnel cannot drop IPv6: nothing would be left. */
	if (!ipv4 && !ipv6) {
		session_log(s, LOG_ERR,
			    "the tunnel MTU %u is below IPv6's minimum of %u, and the server gave no IPv4 address: nothing can cross this tunnel (raise the transport's mtu)",
			    mtu, SESSION_IPV6_MIN_MTU);
		return -EMSGSIZE;
	}
	/* No ADDR4 (an IPv6-only server): no IPv4 address on the device. */
	if (ipv4 && (err = add_address(s, &w->addr4, &s->addr,
				       &s->addr_installed)) < 0)
		return err;
	/* Linux takes IPv6 off a device below 1280 bytes: then the tunnel
	 * runs on IPv4 alone, as if the server had sent no IPv6 at all. */
	struct proto_welcome v4only;
	if (!ipv6 && (w->addr6.addr.family == AF_INET6 || has_route6(w))) {
		session_log(s, LOG_WARNING,
			    "no IPv6 inside: the tunnel MTU %u is below IPv6's minimum of %u; leaving out the IPv6 address and routes",
			    mtu, SESSION_IPV6_MIN_MTU);
		v4only = *w;
		v4only.addr6.addr.family = 0;
		v4only.n_routes = 0;
		for (unsigned int i = 0; i < w->n_routes; i++)
			if (w->routes[i].addr.family == AF_INET)
				v4only.routes[v4only.n_routes++] = w->routes[i];
		w = &v4only;
	}
	if (w->addr6.addr.family == AF_INET6 &&
	    (err = add_address(s, &w->addr6, &s->addr6,
			       &s->addr6_installed)) < 0)
		return err;
	if (!ipv4)
		tun_address_off(s->core, &s->addr, &s->addr_installed);
	if (w->addr6.addr.family != AF_INET6)
		tun_address_off(s->core, &s->addr6, &s->addr6_installed);
	err = tunnel_routes_up(s->tunnel, core->nl, core->cfg,
			       core->tun.ifindex, core->tun.name, w);
	if (err < 0)
		return err;
	/* A full tunnel: the default route of the tunnel's main family. */
	return dns_up(&s->dns, w, core->tun.ifindex, core->tun.name,
		      tunnel_routes_default(s->tunnel,
					    ipv4 ? AF_INET : AF_INET6));
}

static void log_tunnel_up(const struct cv_session *s,
			  const struct proto_welcome *w)
{
	char addr[ADDR_STRLEN] = "", addr6[ADDR_STRLEN + 2] = "";
	char routes[512] = "";
	size_t used = 0;

	const struct tunnel_routes *tr = s->tunnel;

	for (unsigned int i = 0; tr && i < tr->n_routes && used < sizeof(routes); i++) {
		char r[ADDR_STRLEN];
		int n = snprintf(routes + used, sizeof(routes) - used, "%s%s%s",
				 i ? ", " : "",
				 tunnel_route_type(tr->routes[i].type),
				 prefix_str(&tr->routes[i].dst, r));
		if (n > 0)
			used += (size_t)n;
	}
	if (s->addr_installed)
		prefix_str(&w->addr4, addr);
	if (s->addr6_installed) {
		char a[ADDR_STRLEN];
		snprintf(addr6, sizeof(addr6), "%s%s", addr[0] ? " " : "",
			 prefix_str(&w->addr6, a));
	}
	session_log(s, LOG_NOTICE,
		    "tunnel up: %s%s on %s over %s to %s, mtu %u, routes: %s (table %u)",
		    addr, addr6, s->core->tun.name, s->transport->t->name,
		    s->peer, session_mtu(s, w->mtu),
		    tr->n_routes ? routes : "none", s->core->cfg->route_table);
}

/* The networks the server routes to this client (a site's LAN), kept
 * for status and the hooks. -ENOMEM. */
static int keep_networks(struct cv_session *s, const struct proto_welcome *w)
{
	free(s->policy);
	s->policy = NULL;
	if (!w->n_networks)
		return 0;
	s->policy = calloc(1, sizeof(*s->policy) +
				      w->n_networks * sizeof(w->networks[0]));
	if (!s->policy)
		return -ENOMEM;
	s->policy->n_networks = w->n_networks;
	s->policy->routes = s->policy->networks = s->policy->prefixes;
	memcpy(s->policy->networks, w->networks,
	       w->n_networks * sizeof(w->networks[0]));
	return 0;
}

/* A site's router forwards for its LAN; with forwarding off here, the
 * networks the server routes to it are dead ends. Said once per session:
 * what to run is in the line. */
static void check_forwarding(const struct proto_welcome *w)
{
	bool v4 = false, v6 = false;
	char n[ADDR_STRLEN];

	for (unsigned int i = 0; i < w->n_networks; i++) {
		v4 |= w->networks[i].addr.family == AF_INET;
		v6 |= w->networks[i].addr.family == AF_INET6;
	}
	if (v4 && netcheck_ipv4_forwarding() == 0)
		log_warn("the server routes %s to this client, but IPv4 forwarding is off here (net.ipv4.ip_forward = 0): hosts there cannot be reached through the tunnel. Fix: sysctl -w net.ipv4.ip_forward=1",
			 prefix_str(&w->networks[0], n));
	if (v6 && netcheck_ipv6_forwarding() == 0)
		log_warn("the server routes IPv6 networks to this client, but IPv6 forwarding is off here: hosts there cannot be reached through the tunnel. Fix: sysctl -w net.ipv6.conf.all.forwarding=1");
}

/* The server's outer address, as the welcome policy compares it with
 * routes: an IPv4-mapped IPv6 address is the IPv4 address it maps. */
static unsigned int outer_address(const struct cv_session *s,
				  struct cv_addr *out)
{
	return addr_from_sockaddr(&s->peer_addr, out) == 0;
}

/* The token of a stateless reset of this session: the core compares
 * udp's RESET messages with it; a plugin that reads resets in its own
 * framing (dtls) gets a copy. */
static void take_reset_token(struct cv_session *s,
			     const struct proto_welcome *w)
{
	const struct cv_host *h = s->transport;

	if (!w->has_reset_token)
		return;
	s->has_reset_token = true;
	memcpy(s->reset_token, w->reset_token, sizeof(s->reset_token));
	if (TRANSPORT_HAS(h->t, set_reset_token))
		h->t->set_reset_token(h->inst, s->link, s->reset_token);
}

/* The session's features, as both ends said they take them. */
static void take_features(struct cv_session *s, const struct proto_welcome *w)
{
	s->data_gso = session_takes_gso(s) &&
		      (w->features & PROTO_FEATURE_DATA_GSO);
	s->data_partial = session_takes_partial(s) &&
			  (w->features & PROTO_FEATURE_DATA_PARTIAL);
	s->data_uso = s->data_gso && session_takes_uso(s) &&
		      (w->features & PROTO_FEATURE_DATA_USO);
	s->probes_answered = w->features & PROTO_FEATURE_PATH_MTU;
}

/* The session up, once what the welcome asks is installed (installed:
 * 0, or the error that kept it from being); false when it ended. */
static bool come_up(struct cv_session *s, const struct proto_welcome *w,
		    int installed)
{
	if (installed < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED,
			    "cannot configure the tunnel");
		return false;
	}
	if (session_up(s, w->keepalive_interval, w->keepalive_timeout) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "out of memory");
		return false;
	}
	take_features(s, w);
	take_reset_token(s, w);
	return true;
}

/* A layer 2 welcome: nothing to install but the MTU and the carrier. */
static bool tap_welcome(struct cv_session *s, const struct proto_welcome *w)
{
	client_beside_welcomed(s->owner, s);
	if (!come_up(s, w, client_tap_up(s, w)))
		return false;
	path_mtu_start(s, s->mtu);
	session_hook(s, s->core->cfg->up_script, "up", NULL);
	return true;
}

bool client_session_welcome(struct cv_session *s, struct proto_msg *m)
{
	struct client *c = s->owner;
	const struct proto_welcome *w = &m->welcome;
	const struct config *cfg = s->core->cfg;
	struct cv_addr outer;
	char why[256];

	if (s->state == SESSION_UP || w->nonce != s->nonce)
		return true; /* a duplicate, or an answer to an older hello */
	if (!client_tap_agrees(s, w))
		return false;
	if (s->core->tun.tap)
		return tap_welcome(s, w);
	struct welcome_policy policy = {
		.outer = &outer,
		.n_outer = outer_address(s, &outer),
		.accept_default_route = cfg->accept_default_route,
		.accept = cfg->accept_routes,
		.n_accept = cfg->n_accept_routes,
	};
	int err = welcome_policy_check(w, &policy, why, sizeof(why));
	if (err < 0) {
		session_refuse_server(s, err == -EPERM ? PROTO_REASON_POLICY
						      : PROTO_REASON_PROTOCOL,
				     "a welcome this client refuses", why);
		return false;
	}
	/* A session beside the one up takes its place: that one's
	 * addresses and routes go first. */
	client_beside_welcomed(c, s);
	err = keep_networks(s, w);
	if (!come_up(s, w, err < 0 ? err : install(s, w)))
		return false;
	/* The next session's hello asks for these back. */
	c->previous4 = w->addr4.addr;
	c->previous6 = w->addr6.addr;
	path_mtu_start(s, session_mtu(s, w->mtu));
	session_hook(s, cfg->up_script, "up", NULL);
	log_tunnel_up(s, w);
	check_forwarding(w);
	if (s->data_gso)
		session_log(s, LOG_INFO,
			    "large TCP segments cross %s whole (offload)%s",
			    s->transport->t->name,
			    s->data_uso ? ", and UDP ones too (USO)" : "");
	return true;
}


void client_session_start(struct cv_session *s)
{
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)s->started;
	session_log(s, LOG_INFO,
		    "link to %s over %s is up; saying hello",
		    s->peer, s->transport->t->name);
	/* Not sent from here: link_up() runs inside the plugin, which must
	 * not be called back into; a timer of 0 sends the first hello. */
	s->retransmit_ms = RETRANSMIT_FIRST_MS / 2;
	loop_timer_arm(s->timer, 0);
}
