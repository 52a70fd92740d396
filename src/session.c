#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "netlink.h"
#include "pool.h"
#include "route.h"

/* Pre-hello sessions held at once; more links are refused. */
#define MAX_PENDING 1024
/* The client's hello back-off on unreliable transports. */
#define RETRANSMIT_FIRST_MS 500
#define RETRANSMIT_MAX_MS 4000
#define WELCOME_TIMEOUT_MS 30000

static bool is_server(const struct cv_session *s)
{
	return s->daemon->cfg->mode == MODE_SERVER;
}

static bool reliable(const struct cv_session *s)
{
	return s->transport->t->flags & CV_TRANSPORT_RELIABLE;
}

const char *session_name(const struct cv_session *s)
{
	return s->identity ? s->identity : s->peer;
}

/* ---- sending */

int session_send(struct cv_session *s, const struct cv_msg *msgs,
		 unsigned int count)
{
	struct cv_host *tr = s->transport;
	int sent = tr->t->send(tr->inst, s->link, msgs, count);

	if (sent < 0) {
		s->daemon->counters.send_failed += count;
		return sent;
	}
	if ((unsigned int)sent < count)
		s->daemon->counters.send_failed += count - (unsigned int)sent;
	s->last_tx = loop_now(s->daemon->loop);
	return sent;
}

/* Control messages go out `copies` times in one batch: on an unreliable
 * transport, a bye that nobody retransmits then survives a lost datagram. */
static int send_control(struct cv_session *s, const struct proto_msg *m,
			unsigned int copies)
{
	uint8_t buf[PROTO_MAX_CONTROL];
	ssize_t len = proto_encode(m, buf, sizeof(buf));

	if (len < 0) {
		log_err("%s: cannot encode %s: %s", session_name(s),
			proto_type_name(m->type), strerror((int)-len));
		return (int)len;
	}
	struct cv_msg msgs[3];
	if (copies > 3)
		copies = 3;
	for (unsigned int i = 0; i < copies; i++)
		msgs[i] = (struct cv_msg){ .data = buf, .len = (size_t)len };
	int sent = session_send(s, msgs, copies);
	return sent < 0 ? sent : 0;
}

static void send_refuse(struct cv_session *s, uint8_t reason, const char *text)
{
	struct proto_msg m = { .type = PROTO_REFUSE };

	m.refuse.reason = reason;
	snprintf(m.refuse.text, sizeof(m.refuse.text), "%s", text);
	send_control(s, &m, reliable(s) ? 1 : 3);
}

/* ---- lifecycle */

static void unlink_session(struct cv_session *s)
{
	struct daemon *d = s->daemon;

	if (s->prev)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	d->n_sessions--;
	if (s->state == SESSION_HELLO && is_server(s))
		d->n_pending--;
	if (s->state == SESSION_UP && is_server(s))
		d->n_up--;
}

static void client_uninstall(struct cv_session *s)
{
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

/* Give back what the session held on the server: its route and lease. */
static void server_release(struct cv_session *s)
{
	if (!s->has_inner)
		return;
	route_del(s->daemon->routes, &s->inner, s);
	pool_release(s->daemon->pool, &s->inner);
	s->has_inner = false;
}

static void session_free(struct cv_session *s, bool link_gone,
			 const char *why)
{
	struct daemon *d = s->daemon;
	bool was_client = !is_server(s);

	if (s->state == SESSION_UP || !is_server(s))
		log_notice("session %s ended: %s", session_name(s), why);
	else
		log_debug("link %s ended before hello: %s", s->peer, why);
	if (!link_gone)
		s->transport->t->close(s->transport->inst, s->link);
	if (is_server(s))
		server_release(s);
	else
		client_uninstall(s);
	if (d->client == s)
		d->client = NULL;
	unlink_session(s);
	d->counters.sessions_closed++;
	loop_timer_free(s->timer);
	free(s->identity);
	free(s);
	if (was_client)
		daemon_client_lost(d);
}

void session_end(struct cv_session *s, uint8_t reason, const char *why)
{
	if (s->state == SESSION_UP) {
		struct proto_msg m = { .type = PROTO_BYE };
		m.bye.reason = reason;
		send_control(s, &m, reliable(s) ? 1 : 3);
	}
	session_free(s, false, why ? why : proto_reason_name(reason));
}

void session_link_lost(struct cv_session *s, int err, const char *why)
{
	char text[300];

	snprintf(text, sizeof(text), "link lost: %s",
		 why ? why : strerror(-err));
	session_free(s, true, text);
}

/* ---- timers */

static void arm_keepalive(struct cv_session *s)
{
	loop_timer_arm(s->timer, s->keepalive_ms);
}

static void on_keepalive_tick(void *arg)
{
	struct cv_session *s = arg;
	int64_t now = loop_now(s->daemon->loop);

	if (now - s->last_rx >= s->timeout_ms) {
		char why[64];
		snprintf(why, sizeof(why), "no sign of life for %u s",
			 s->timeout_ms / 1000);
		session_end(s, PROTO_REASON_TIMEOUT, why);
		return;
	}
	if (now - s->last_tx >= s->keepalive_ms - s->keepalive_ms / 10) {
		struct proto_msg m = { .type = PROTO_KEEPALIVE };
		if (send_control(s, &m, 1) < 0) {
			session_end(s, PROTO_REASON_UNSPECIFIED,
				    "cannot send keepalive");
			return;
		}
	}
	arm_keepalive(s);
}

static void on_hello_timeout(void *arg)
{
	struct cv_session *s = arg;

	session_free(s, false, "no hello in time");
}

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
	int err = send_control(s, &m, 1);
	explicit_bzero(&m, sizeof(m));
	return err;
}

static void on_hello_retransmit(void *arg)
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
	if (reliable(s)) {
		/* The transport delivers it or drops the link: only wait. */
		loop_timer_arm(s->timer, WELCOME_TIMEOUT_MS - (now - s->started));
		return;
	}
	s->retransmit_ms *= 2;
	if (s->retransmit_ms > RETRANSMIT_MAX_MS)
		s->retransmit_ms = RETRANSMIT_MAX_MS;
	loop_timer_arm(s->timer, s->retransmit_ms);
}

struct cv_session *session_new(struct daemon *d, struct cv_host *transport,
			       struct cv_link *link,
			       const struct cv_link_info *info)
{
	bool server = d->cfg->mode == MODE_SERVER;

	if (server && d->n_pending >= MAX_PENDING) {
		d->counters.refused++;
		return NULL;
	}
	if (!server && d->client) {
		log_warn("%s: a second link while one is up; refusing it",
			 transport->t->name);
		return NULL;
	}
	struct cv_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->daemon = d;
	s->transport = transport;
	s->link = link;
	s->state = SESSION_HELLO;
	s->max_msg = info->max_msg;
	s->started = s->last_rx = s->last_tx = loop_now(d->loop);
	if (info->peer && info->peer_len <= sizeof(s->peer_addr)) {
		memcpy(&s->peer_addr, info->peer, info->peer_len);
		sockaddr_str(info->peer, s->peer);
	}
	else
		snprintf(s->peer, sizeof(s->peer), "(unknown)");
	if (info->identity && !(s->identity = strdup(info->identity)))
		goto fail;
	s->timer = loop_timer_new(d->loop,
				  server ? on_hello_timeout : on_hello_retransmit,
				  s);
	if (!s->timer)
		goto fail;

	s->next = d->sessions;
	if (s->next)
		s->next->prev = s;
	d->sessions = s;
	d->n_sessions++;
	d->counters.sessions_opened++;

	if (server) {
		d->n_pending++;
		/* A stranger may make us allocate, but not for long. */
		loop_timer_arm(s->timer, d->cfg->handshake_timeout * 1000);
		log_debug("link from %s over %s", s->peer, transport->t->name);
		return s;
	}
	d->client = s;
	if (getrandom(&s->nonce, sizeof(s->nonce), 0) != sizeof(s->nonce))
		s->nonce = (uint32_t)s->started;
	log_info("link to %s over %s is up; saying hello", s->peer,
		 transport->t->name);
	/* Not sent from here: link_up() runs inside the plugin, which must
	 * not be called back into; a timer of 0 sends the first hello. */
	s->retransmit_ms = RETRANSMIT_FIRST_MS / 2;
	loop_timer_arm(s->timer, 0);
	return s;

fail:
	loop_timer_free(s->timer);
	free(s->identity);
	free(s);
	return NULL;
}

/* ---- server: hello -> welcome or refuse */

/* The tunnel MTU a session can carry: what was asked for, or less when
 * its link cannot carry that much in one message (DTLS in a path MTU). */
static unsigned int session_mtu(const struct cv_session *s, unsigned int mtu)
{
	if (s->max_msg && s->max_msg - 1 < mtu)
		return (unsigned int)s->max_msg - 1;
	return mtu;
}

static void fill_welcome(const struct cv_session *s, struct proto_welcome *w)
{
	const struct config *cfg = s->daemon->cfg;

	memset(w, 0, sizeof(*w));
	w->nonce = s->nonce;
	w->addr4.addr = s->inner;
	w->addr4.len = s->daemon->server_addr.len;
	w->server4 = s->daemon->server_addr.addr;
	w->mtu = (uint16_t)session_mtu(s, cfg->mtu);
	w->keepalive_interval = (uint16_t)cfg->keepalive_interval;
	w->keepalive_timeout = (uint16_t)cfg->keepalive_timeout;
	w->n_routes = cfg->n_routes;
	memcpy(w->routes, cfg->routes, cfg->n_routes * sizeof(cfg->routes[0]));
}

static int send_welcome(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_WELCOME };

	fill_welcome(s, &m.welcome);
	return send_control(s, &m, 1);
}

/* Refuse a peer with a reason for it and one for our log; the session is
 * gone afterwards. */
static bool refuse(struct cv_session *s, uint8_t reason, const char *told,
		   const char *logged)
{
	log_warn("refusing %s: %s", s->peer, logged);
	s->daemon->counters.refused++;
	send_refuse(s, reason, told);
	session_free(s, false, logged);
	return false;
}

/* Whether the peer proved what `auth` asks, and the server has room. On
 * success the session's identity is what was proved. */
static bool server_admit(struct cv_session *s, struct proto_hello *h)
{
	struct daemon *d = s->daemon;
	const struct config *cfg = d->cfg;
	char text[160];

	if (d->n_up >= cfg->max_clients)
		return refuse(s, PROTO_REASON_POLICY, "the server is full",
			      "max-clients reached");
	/* Insecure transports prove nothing; insecure = yes let them in. */
	if (!(s->transport->t->flags & CV_TRANSPORT_SECURE))
		return true;
	if ((cfg->auth & AUTH_METHOD_CERTIFICATE) && !s->identity)
		return refuse(s, PROTO_REASON_AUTH,
			      "a client certificate is required",
			      "no client certificate (auth = certificate)");
	if (!(cfg->auth & AUTH_METHOD_PASSWORD))
		return true;

	const struct sockaddr *sa = (const struct sockaddr *)&s->peer_addr;
	int64_t wait = auth_throttle_wait(d->throttle, sa, loop_now(d->loop));
	if (wait > 0) {
		snprintf(text, sizeof(text),
			 "too many failed logins from your address; try again in %lld s",
			 (long long)(wait + 999) / 1000);
		return refuse(s, PROTO_REASON_AUTH, text,
			      "too many failed logins from this address");
	}
	if (!h->username[0] || !h->password[0])
		return refuse(s, PROTO_REASON_AUTH,
			      "this server needs a username and password",
			      "no username or password (auth = password)");
	/* The name goes into the log: only what a password file may hold. */
	if (!auth_valid_user(h->username)) {
		auth_throttle_failed(d->throttle, sa, loop_now(d->loop));
		d->counters.auth_failed++;
		return refuse(s, PROTO_REASON_AUTH, "wrong username or password",
			      "a user name with characters no user has");
	}
	enum auth_result r = auth_check(d->auth, h->username, h->password);
	explicit_bzero(h->password, sizeof(h->password));
	if (r != AUTH_OK) {
		auth_throttle_failed(d->throttle, sa, loop_now(d->loop));
		d->counters.auth_failed++;
		snprintf(text, sizeof(text), "user '%.64s': %s", h->username,
			 auth_result_str(r));
		/* The same answer for every failure: it must not tell a
		 * stranger which users exist. */
		return refuse(s, PROTO_REASON_AUTH, "wrong username or password",
			      text);
	}
	auth_throttle_succeeded(d->throttle, sa);
	if (s->identity && strcmp(s->identity, h->username) != 0)
		log_info("%s: certificate '%s' logs in as user '%s'", s->peer,
			 s->identity, h->username);
	char *name = strdup(h->username);
	if (!name)
		return refuse(s, PROTO_REASON_UNSPECIFIED, "server out of memory",
			      "out of memory");
	free(s->identity);
	s->identity = name;
	return true;
}

static bool server_hello(struct cv_session *s, struct proto_hello *h)
{
	struct daemon *d = s->daemon;
	char buf[ADDR_STRLEN];

	if (s->state == SESSION_UP) {
		if (h->nonce == s->nonce) {
			/* Our welcome was lost: say it again. */
			if (send_welcome(s) < 0) {
				session_end(s, PROTO_REASON_UNSPECIFIED,
					    "cannot send welcome");
				return false;
			}
			return true;
		}
		/* The client started over on the same link. */
		log_info("session %s said hello again: starting over",
			 session_name(s));
		server_release(s);
		s->state = SESSION_HELLO;
		d->n_up--;
		d->n_pending++;
	}
	if (h->version != PROTO_VERSION) {
		char text[80];
		snprintf(text, sizeof(text),
			 "protocol version %u is not spoken here (this server speaks %u)",
			 h->version, PROTO_VERSION);
		return refuse(s, PROTO_REASON_VERSION, text, text);
	}
	if (!server_admit(s, h))
		return false;
	int err = pool_lease(d->pool, s->identity, &s->inner);
	if (err < 0)
		return refuse(s, PROTO_REASON_POOL_EXHAUSTED,
			      "no free inner address",
			      "the address pool is exhausted; widen 'pool'");
	s->has_inner = true;
	if (route_add(d->routes, &s->inner, s) < 0) {
		log_err("cannot route %s to %s: out of memory",
			addr_str(&s->inner, buf), s->peer);
		send_refuse(s, PROTO_REASON_UNSPECIFIED, "server out of memory");
		session_free(s, false, "out of memory");
		return false;
	}
	s->nonce = h->nonce;
	s->state = SESSION_UP;
	d->n_pending--;
	d->n_up++;
	s->keepalive_ms = d->cfg->keepalive_interval * 1000;
	s->timeout_ms = d->cfg->keepalive_timeout * 1000;
	loop_timer_free(s->timer);
	s->timer = loop_timer_new(d->loop, on_keepalive_tick, s);
	if (!s->timer || send_welcome(s) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send welcome");
		return false;
	}
	arm_keepalive(s);
	log_notice("session %s up over %s: inner address %s",
		   session_name(s), s->transport->t->name,
		   addr_str(&s->inner, buf));
	return true;
}

/* ---- client: welcome -> addresses and routes */

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

static bool client_welcome(struct cv_session *s, const struct proto_welcome *w)
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
	struct daemon *d = s->daemon;
	s->state = SESSION_UP;
	s->keepalive_ms = w->keepalive_interval * 1000u;
	s->timeout_ms = w->keepalive_timeout * 1000u;
	loop_timer_free(s->timer);
	s->timer = loop_timer_new(d->loop, on_keepalive_tick, s);
	if (!s->timer) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "out of memory");
		return false;
	}
	arm_keepalive(s);
	d->reconnect_delay_ms = 0;
	log_tunnel_up(s, w);
	return true;
}

/* ---- receiving */

static void malformed(struct cv_session *s, const char *why)
{
	struct daemon *d = s->daemon;
	int64_t now = loop_now(d->loop);

	d->counters.malformed++;
	/* One line a second at most: a stranger must not fill the log. */
	if (now - d->malformed_logged_at >= 1000) {
		d->malformed_logged_at = now;
		log_info("dropped a message from %s: %s", s->peer, why);
	}
}

bool session_control(struct cv_session *s, const uint8_t *msg, size_t len)
{
	struct daemon *d = s->daemon;
	bool server = is_server(s);
	struct proto_msg m;
	const char *why;

	s->last_rx = loop_now(d->loop);
	if (proto_decode(msg, len, &m, &why) < 0) {
		malformed(s, why);
		if (s->state == SESSION_HELLO && server) {
			session_free(s, false, why);
			return false;
		}
		return true;
	}
	switch (m.type) {
	case PROTO_HELLO:
		if (server)
			return server_hello(s, &m.hello);
		malformed(s, "hello sent to a client");
		return true;
	case PROTO_WELCOME:
		if (!server)
			return client_welcome(s, &m.welcome);
		malformed(s, "welcome sent to a server");
		return true;
	case PROTO_REFUSE:
		if (server) {
			malformed(s, "refuse sent to a server");
			return true;
		}
		log_err("server %s refused us: %s%s%s", s->peer,
			proto_reason_name(m.refuse.reason),
			m.refuse.text[0] ? ": " : "", m.refuse.text);
		session_free(s, false, "refused by the server");
		return false;
	case PROTO_KEEPALIVE:
		if (s->state != SESSION_UP)
			d->counters.before_hello++;
		return true;
	case PROTO_BYE: {
		char text[80];
		snprintf(text, sizeof(text), "the peer said bye (%s)",
			 proto_reason_name(m.bye.reason));
		session_free(s, false, text);
		return false;
	}
	}
	return true;
}
