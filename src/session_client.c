/* The client's side of a session: hello until the server answers, then
 * the pushed address and routes installed, and removed at the end. */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "session_internal.h"

/* The hello back-off on unreliable transports. */
#define RETRANSMIT_FIRST_MS 500
#define RETRANSMIT_MAX_MS 4000
#define WELCOME_TIMEOUT_MS 30000

static int send_hello(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = s->nonce;
	/* A password goes only where the transport encrypts it and has
	 * proved who the server is. */
	const struct daemon *d = s->daemon;
	if (d->password && (s->transport->t->flags & CV_TRANSPORT_SECURE)) {
		snprintf(m.hello.username, sizeof(m.hello.username), "%s",
			 d->cfg->username);
		snprintf(m.hello.password, sizeof(m.hello.password), "%s",
			 d->password);
	}
	/* Ask for the address of the last session back: a server that
	 * restarted knows it no more. */
	m.hello.previous4 = d->previous_addr;
	int err = session_send_control(s, &m, 1);
	explicit_bzero(&m, sizeof(m));
	return err;
}

void client_hello_retransmit(void *arg)
{
	struct cv_session *s = arg;
	int64_t now = loop_now(s->daemon->loop);

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

void client_uninstall(struct cv_session *s)
{
	if (s->state == SESSION_UP)
		session_hook(s, s->daemon->cfg->down_script, "down", NULL);
	struct daemon *d = s->daemon;
	char buf[ADDR_STRLEN];
	const char *why;

	for (unsigned int i = s->n_routes; i-- > 0;) {
		int err = nl_route_del(d->nl, d->tun.ifindex, &s->routes[i], &why);
		if (err < 0 && err != -ESRCH)
			log_warn("cannot remove route %s from %s: %s",
				 prefix_str(&s->routes[i], buf), d->tun.name,
				 why ? why : strerror(-err));
	}
	s->n_routes = 0;
	if (s->addr_installed) {
		int err = nl_addr_del(d->nl, d->tun.ifindex, &s->addr, &why);
		if (err < 0 && err != -EADDRNOTAVAIL)
			log_warn("cannot remove address %s from %s: %s",
				 prefix_str(&s->addr, buf), d->tun.name,
				 why ? why : strerror(-err));
		s->addr_installed = false;
	}
}

static int client_install(struct cv_session *s, const struct proto_welcome *w)
{
	struct daemon *d = s->daemon;
	char buf[ADDR_STRLEN];
	const char *why;
	int err;

	unsigned int mtu = session_mtu(s, w->mtu);
	err = nl_link_set(d->nl, d->tun.ifindex, mtu, true, &why);
	if (err < 0) {
		log_err("cannot set %s up with MTU %u: %s", d->tun.name, mtu,
			why ? why : strerror(-err));
		return err;
	}
	s->addr = w->addr4;
	err = nl_addr_add(d->nl, d->tun.ifindex, &s->addr, &why);
	if (err < 0 && err != -EEXIST) {
		log_err("cannot add address %s to %s: %s",
			prefix_str(&s->addr, buf), d->tun.name,
			why ? why : strerror(-err));
		return err;
	}
	s->addr_installed = true;
	for (unsigned int i = 0; i < w->n_routes; i++) {
		err = nl_route_add(d->nl, d->tun.ifindex, &w->routes[i], &why);
		if (err == -EEXIST) {
			/* Someone else's route: theirs to keep and remove. */
			log_warn("route %s exists already; leaving it as it is",
				 prefix_str(&w->routes[i], buf));
			continue;
		}
		if (err < 0) {
			log_err("cannot add route %s via %s: %s",
				prefix_str(&w->routes[i], buf), d->tun.name,
				why ? why : strerror(-err));
			return err;
		}
		s->routes[s->n_routes++] = w->routes[i];
	}
	return 0;
}

static void log_tunnel_up(const struct cv_session *s,
			  const struct proto_welcome *w)
{
	char addr[ADDR_STRLEN], routes[512] = "";
	size_t used = 0;

	for (unsigned int i = 0; i < w->n_routes && used < sizeof(routes); i++) {
		char r[ADDR_STRLEN];
		int n = snprintf(routes + used, sizeof(routes) - used, "%s%s",
				 i ? ", " : "", prefix_str(&w->routes[i], r));
		if (n > 0)
			used += (size_t)n;
	}
	log_notice("tunnel up: %s on %s over %s to %s, mtu %u, routes: %s",
		   prefix_str(&w->addr4, addr), s->daemon->tun.name,
		   s->transport->t->name, s->peer, session_mtu(s, w->mtu),
		   w->n_routes ? routes : "none");
}

bool client_welcome(struct cv_session *s, const struct proto_welcome *w)
{
	if (s->state == SESSION_UP || w->nonce != s->nonce)
		return true; /* a duplicate, or an answer to an older hello */
	if (w->addr4.addr.family != AF_INET || w->addr4.len < 8) {
		log_err("server %s pushed an unusable address; disconnecting",
			s->peer);
		session_end(s, PROTO_REASON_PROTOCOL, "unusable welcome");
		return false;
	}
	if (client_install(s, w) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED,
			    "cannot configure the tunnel");
		return false;
	}
	s->state = SESSION_UP;
	s->daemon->counters.sessions_up++;
	if (session_keepalive_start(s, w->keepalive_interval,
				    w->keepalive_timeout) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "out of memory");
		return false;
	}
	s->daemon->reconnect_delay_ms = 0;
	s->daemon->previous_addr = w->addr4.addr;
	session_hook(s, s->daemon->cfg->up_script, "up", NULL);
	log_tunnel_up(s, w);
	return true;
}


void client_start(struct cv_session *s)
{
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)s->started;
	log_info("link to %s over %s is up; saying hello", s->peer,
		 s->transport->t->name);
	/* Not sent from here: link_up() runs inside the plugin, which must
	 * not be called back into; a timer of 0 sends the first hello. */
	s->retransmit_ms = RETRANSMIT_FIRST_MS / 2;
	loop_timer_arm(s->timer, 0);
}
