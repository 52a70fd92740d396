/* What the server does with each of its sessions: the link taken (or
 * refused when too many wait), a hello admitted (version, limits,
 * certificate, password) or refused, an address leased, the welcome; and
 * at the end, the lease and route given back. The server's counts follow
 * each session's state here. */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "pool.h"
#include "route.h"
#include "session_owner.h"
#include "stateless_reset.h"
#include "throttle.h"
#include "user_name.h"

/* Pre-hello sessions held at once; more links are refused. */
#define MAX_PENDING 1024

/* Give back what the session held on the server: its route and lease. */
static void release(struct cv_session *s)
{
	struct server *srv = s->owner;

	if (s->has_inner6) {
		route_del(srv->routes, &s->inner6, s);
		pool_release(srv->pool6, &s->inner6);
		s->has_inner6 = false;
	}
	if (!s->has_inner)
		return;
	route_del(srv->routes, &s->inner, s);
	pool_release(srv->pool, &s->inner);
	s->has_inner = false;
}

/* With pool6, the session's IPv6 address as well: its previous one when
 * it can, as for IPv4. -ENOSPC when pool6 is exhausted, -ENOMEM. */
static int lease_inner6(struct cv_session *s)
{
	struct server *srv = s->owner;
	int err;

	if (!srv->pool6)
		return 0;
	unsigned int mtu = session_mtu(s, s->core->cfg->mtu);
	/* IPv6-only: without IPv6 the session would have no address. */
	if (mtu < SESSION_IPV6_MIN_MTU && !srv->pool)
		return -EMSGSIZE;
	if (mtu < SESSION_IPV6_MIN_MTU) {
		log_warn("%s: no IPv6 inside: the tunnel MTU over %s is %u, below IPv6's minimum of %u (raise the transport's mtu)",
			 s->peer, s->transport->t->name, mtu,
			 SESSION_IPV6_MIN_MTU);
		return 0;
	}
	err = pool_lease_hint(srv->pool6, s->identity, &s->previous6,
			      &s->inner6);
	if (err < 0)
		return err;
	s->has_inner6 = true;
	return route_add(srv->routes, &s->inner6, s);
}

static void hello_timeout(struct cv_session *s)
{
	session_free(s, false, "no hello in time");
}

static void fill_welcome(const struct cv_session *s, struct proto_welcome *w)
{
	const struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;

	memset(w, 0, sizeof(*w));
	w->nonce = s->nonce;
	if (s->has_inner) {	/* not on an IPv6-only tunnel */
		w->addr4.addr = s->inner;
		w->addr4.len = srv->addr4.len;
		w->server4 = srv->addr4.addr;
	}
	if (s->has_inner6) {
		w->addr6.addr = s->inner6;
		w->addr6.len = srv->addr6.len;
		w->server6 = srv->addr6.addr;
	}
	w->mtu = (uint16_t)session_mtu(s, cfg->mtu);
	w->keepalive_interval = (uint16_t)cfg->keepalive_interval;
	w->keepalive_timeout = (uint16_t)cfg->keepalive_timeout;
	/* Routes only of a family the client has an address in: a client
	 * without an IPv6 one (a session below 1280 bytes) could use IPv6
	 * routes only with sources the datapath drops, and the config has
	 * no IPv4 routes without a pool. */
	for (unsigned int i = 0; i < cfg->n_routes; i++)
		if (cfg->routes[i].addr.family == AF_INET6 ? s->has_inner6
							    : s->has_inner)
			w->routes[w->n_routes++] = cfg->routes[i];
	w->n_dns = cfg->n_dns;
	memcpy(w->dns, cfg->dns, cfg->n_dns * sizeof(cfg->dns[0]));
	w->n_dns_domains = cfg->n_dns_domains;
	for (unsigned int i = 0; i < cfg->n_dns_domains; i++)
		snprintf(w->dns_domains[i], sizeof(w->dns_domains[i]), "%s",
			 cfg->dns_domains[i]);
	if (session_takes_gso(s))
		w->features |= PROTO_FEATURE_DATA_GSO;
	if (session_takes_partial(s))
		w->features |= PROTO_FEATURE_DATA_PARTIAL;
	w->features |= PROTO_FEATURE_PROBE;
	server_welcome_reset_token(s, w);
}

static int send_welcome(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_WELCOME };

	fill_welcome(s, &m.welcome);
	return session_send_control(s, &m, 1);
}

/* Refuse a peer with a reason for it and one for our log; the session is
 * gone afterwards. */
static bool refuse(struct cv_session *s, uint8_t reason, const char *told,
		   const char *logged)
{
	log_warn("refusing %s: %s", s->peer, logged);
	s->core->counters.refused++;
	session_send_refuse(s, reason, told);
	session_free(s, false, logged);
	return false;
}

/* The name a login proved: it names the session and keeps its lease. */
static bool take_login(struct cv_session *s)
{
	if (s->identity && strcmp(s->identity, s->login) != 0)
		log_info("%s: certificate '%s' logs in as user '%s'", s->peer,
			 s->identity, s->login);
	free(s->identity);
	s->identity = s->login;
	s->login = NULL;
	return true;
}

static bool accept_peer(struct cv_session *s);

/* The worker's answer about the password of s->login. */
static void on_password_checked(void *arg, enum auth_result result)
{
	struct cv_session *s = arg;
	struct server *srv = s->owner;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer_addr;
	char text[160];

	s->auth_job = NULL;
	if (result != AUTH_OK) {
		throttle_failed(srv->throttle, sa, loop_now(s->core->loop));
		s->core->counters.auth_failed++;
		snprintf(text, sizeof(text), "user '%s': %s", s->login,
			 auth_result_str(result));
		/* The same answer for every failure: it must not tell a
		 * stranger which users exist. */
		refuse(s, PROTO_REASON_AUTH, "wrong username or password", text);
		return;
	}
	throttle_succeeded(srv->throttle, sa);
	take_login(s);
	accept_peer(s);
}

/* Whether the peer may go on: the limits, and what `auth` asks that the
 * hello itself shows. A password is checked by the worker afterwards
 * (s->auth_job set); everything else is decided here. */
static bool admit(struct cv_session *s, struct proto_hello *h)
{
	struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;
	int64_t now = loop_now(s->core->loop);
	char text[160];

	if (srv->n_up >= cfg->max_clients)
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
	int64_t wait = throttle_wait(srv->throttle, sa, now);
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
	if (!user_name_valid(h->username)) {
		throttle_failed(srv->throttle, sa, now);
		s->core->counters.auth_failed++;
		return refuse(s, PROTO_REASON_AUTH, "wrong username or password",
			      "a user name with characters no user has");
	}
	s->login = strdup(h->username);
	if (s->login)
		s->auth_job = auth_worker_submit(srv->auth_worker, h->username,
						 h->password, on_password_checked,
						 s);
	explicit_bzero(h->password, sizeof(h->password));
	if (!s->auth_job)
		return refuse(s, PROTO_REASON_AUTH,
			      "the server is busy checking logins; try again",
			      "too many logins waiting for a password check");
	return true;
}

/* A hello (the session's ops->handshake on a server). */
static bool hello(struct cv_session *s, struct proto_msg *m)
{
	struct server *srv = s->owner;
	struct proto_hello *h = &m->hello;

	if (s->auth_job || s->connect_hook)
		return true;	/* a retransmission: the answer is coming */
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
		release(s);
		s->state = SESSION_HELLO;
		srv->n_up--;
		srv->n_pending++;
	}
	if (h->version != PROTO_VERSION) {
		char text[80];
		snprintf(text, sizeof(text),
			 "protocol version %u is not spoken here (this server speaks %u)",
			 h->version, PROTO_VERSION);
		return refuse(s, PROTO_REASON_VERSION, text, text);
	}
	s->nonce = h->nonce;
	s->data_gso = session_takes_gso(s) && (h->flags & PROTO_HELLO_DATA_GSO);
	s->data_partial = session_takes_partial(s) &&
			  (h->flags & PROTO_HELLO_DATA_PARTIAL);
	s->previous4 = h->previous4;
	s->previous6 = h->previous6;
	if (!admit(s, h))
		return false;
	return s->auth_job ? true : accept_peer(s);
}

/* The session is up: keepalives, the welcome. */
static bool bring_up(struct cv_session *s)
{
	const struct config *cfg = s->core->cfg;
	char buf[ADDR_STRLEN];

	if (session_up(s, cfg->keepalive_interval, cfg->keepalive_timeout) < 0 ||
	    send_welcome(s) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send welcome");
		return false;
	}
	char buf6[ADDR_STRLEN];
	log_notice("session %s up over %s: inner address %s%s%s",
		   session_name(s), s->transport->t->name,
		   s->has_inner ? addr_str(&s->inner, buf) : "",
		   s->has_inner && s->has_inner6 ? " and " : "",
		   s->has_inner6 ? addr_str(&s->inner6, buf6) : "");
	return true;
}

static void on_client_connect_done(void *arg, int status)
{
	struct cv_session *s = arg;
	char text[80];

	s->connect_hook = NULL;
	if (status == 0) {
		bring_up(s);
		return;
	}
	snprintf(text, sizeof(text), "client-connect-script said no (exit status %d)",
		 status);
	refuse(s, PROTO_REASON_POLICY, "refused by the server's policy", text);
}

/* Whether o's outer address has s's IP (any port). */
static bool same_outer_ip(const struct cv_session *o, const struct cv_session *s)
{
	struct cv_addr a, b;

	return addr_from_sockaddr(&o->peer_addr, &a) == 0 &&
	       addr_from_sockaddr(&s->peer_addr, &b) == 0 && addr_equal(&a, &b);
}

/* Whether o, an up session, is the same client as s, which just
 * authenticated: the same identity; or, where nothing proves one (udp),
 * the same IP asking back the address o holds. */
static bool same_client(const struct cv_session *o, const struct cv_session *s)
{
	if (s->identity || o->identity)
		return s->identity && o->identity &&
		       strcmp(s->identity, o->identity) == 0;
	return same_outer_ip(o, s) &&
	       ((o->has_inner && addr_equal(&o->inner, &s->previous4)) ||
		(o->has_inner6 && addr_equal(&o->inner6, &s->previous6)));
}

/* One session per client: a new one ends the old one (a client that
 * restarted, or that tried a new session beside one it thought dead),
 * whose addresses the new one then leases again. Not with
 * duplicate-identity, for identities shared on purpose. */
static void replace_older(struct cv_session *s)
{
	struct core *core = s->core;
	struct cv_session *o, *next;

	if (core->cfg->duplicate_identity)
		return;
	for (o = core->sessions; o; o = next) {
		next = o->next;
		if (o == s || o->owner != s->owner || o->state != SESSION_UP ||
		    !same_client(o, s))
			continue;
		log_notice("session %s: a new session from %s takes its place",
			   session_name(o), s->peer);
		core->counters.sessions_replaced++;
		session_end(o, PROTO_REASON_REPLACED,
			    "replaced by a new session of the same client");
	}
}

/* An admitted peer: its address and route; then, once the administrator's
 * client-connect-script (if any) agrees, the welcome. */
static bool accept_peer(struct cv_session *s)
{
	struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;
	int err = 0;

	replace_older(s);
	/* No pool: an IPv6-only tunnel, lease_inner6 gives the address. */
	if (srv->pool)
		err = pool_lease_hint(srv->pool, s->identity, &s->previous4,
				      &s->inner);
	if (err < 0)
		return refuse(s, PROTO_REASON_POOL_EXHAUSTED,
			      "no free inner address",
			      "the address pool is exhausted; widen 'pool'");
	s->has_inner = srv->pool != NULL;
	if (s->has_inner && route_add(srv->routes, &s->inner, s) < 0)
		return refuse(s, PROTO_REASON_UNSPECIFIED, "server out of memory",
			      "out of memory");
	err = lease_inner6(s);
	if (err == -EMSGSIZE) {
		char text[160];
		snprintf(text, sizeof(text),
			 "the tunnel MTU over %s is %u, below IPv6's minimum of %u, and this server has only IPv6 inside (raise the transport's mtu)",
			 s->transport->t->name, session_mtu(s, cfg->mtu),
			 SESSION_IPV6_MIN_MTU);
		return refuse(s, PROTO_REASON_POLICY,
			      "tunnel MTU too small for IPv6", text);
	}
	if (err == -ENOSPC)
		return refuse(s, PROTO_REASON_POOL_EXHAUSTED,
			      "no free inner IPv6 address",
			      "the IPv6 address pool is exhausted; widen 'pool6'");
	if (err < 0)
		return refuse(s, PROTO_REASON_UNSPECIFIED, "server out of memory",
			      "out of memory");
	if (!cfg->client_connect_script)
		return bring_up(s);
	s->connect_hook = session_hook(s, cfg->client_connect_script,
				       "client-connect", on_client_connect_done);
	if (!s->connect_hook)
		return refuse(s, PROTO_REASON_POLICY,
			      "refused by the server's policy",
			      "client-connect-script could not run");
	return true;
}

/* ---- the session's turns, and its counts */

static void on_up(struct cv_session *s)
{
	struct server *srv = s->owner;

	srv->n_pending--;
	srv->n_up++;
}

static void on_ended(struct cv_session *s)
{
	struct server *srv = s->owner;

	if (s->auth_job)
		auth_job_cancel(srv->auth_worker, s->auth_job);
	if (s->connect_hook)
		hook_cancel(s->connect_hook);
	if (s->state == SESSION_UP) {
		session_hook(s, s->core->cfg->client_disconnect_script,
			     "client-disconnect", NULL);
		srv->n_up--;
	} else {
		srv->n_pending--;
	}
	release(s);
}

static const struct session_ops server_session = {
	.handshake = hello,
	.hello_timer = hello_timeout,
	.up = on_up,
	.ended = on_ended,
	.stray = server_session_stray,
};

struct cv_session *server_link_up(void *arg, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info)
{
	struct server *srv = arg;

	if (srv->n_pending >= MAX_PENDING) {
		srv->core->counters.refused++;
		return NULL;
	}
	struct cv_session *s = session_new(srv->core, &server_session, srv, h,
					   link, info);
	if (!s)
		return NULL;
	srv->n_pending++;
	/* A stranger may make us allocate, but not for long. */
	loop_timer_arm(s->timer, srv->core->cfg->handshake_timeout * 1000);
	log_debug("link from %s over %s", s->peer, h->t->name);
	return s;
}
