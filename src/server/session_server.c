/* What the server does with each of its sessions: the link taken (the
 * oldest silent one giving way when too many wait for hello), a hello
 * admitted (version, limits, certificate, password) or refused, its
 * client's policy merged, its addresses and networks taken (lease.c),
 * the welcome; and at the end, all of it given back. The server's
 * counts follow each session's state here. */
#include "server.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "lease.h"
#include "log.h"
#include "loop.h"
#include "path_mtu.h"
#include "pending.h"
#include "plugin_host.h"
#include "policy.h"
#include "radius_session.h"
#include "refusal_log.h"
#include "server_internal.h"
#include "session_owner.h"
#include "shard.h"
#include "source_table.h"
#include "stateless_reset.h"
#include "throttle.h"
#include "user_name.h"

/* The session's timer before it is up: no hello within hello-timeout,
 * a login not done within handshake-timeout of its hello, or a newer
 * link it gives way to (server_link_up). */
static void hello_timeout(struct cv_session *s)
{
	const char *why = "no hello in time";

	if (s->gave_way)
		why = "gave way to a newer link (too many wait for hello)";
	else if (s->auth_job || s->connect_hook)
		why = "login not done within handshake-timeout";
	session_free(s, false, why);
}

/* Routes only of a family the client has an address in: a client
 * without an IPv6 one (a session below 1280 bytes) could use IPv6 routes
 * only with sources the datapath drops, and the config has no IPv4
 * routes without a pool. The same for the networks behind it, which
 * lease.c routed only in the families it carries. */
static bool family_carried(const struct cv_session *s, const struct cv_prefix *p)
{
	return p->addr.family == AF_INET6 ? s->has_inner6 : s->has_inner;
}

static void fill_routes(const struct cv_session *s, struct proto_welcome *w)
{
	const struct config *cfg = s->core->cfg;
	const struct session_policy *p = s->policy;
	const struct cv_prefix *routes = p ? p->routes : cfg->routes;
	unsigned int n = p ? p->n_routes : cfg->n_routes;

	for (unsigned int i = 0; i < n && w->n_routes < PROTO_MAX_ROUTES; i++)
		if (family_carried(s, &routes[i]))
			w->routes[w->n_routes++] = routes[i];
	for (unsigned int i = 0; p && i < p->n_networks &&
				 w->n_networks < PROTO_MAX_NETWORKS; i++)
		if (family_carried(s, &p->networks[i]))
			w->networks[w->n_networks++] = p->networks[i];
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
	w->mtu = (uint16_t)s->mtu;
	w->keepalive_interval = (uint16_t)cfg->keepalive_interval;
	w->keepalive_timeout = (uint16_t)cfg->keepalive_timeout;
	fill_routes(s, w);
	w->n_dns = cfg->n_dns;
	memcpy(w->dns, cfg->dns, cfg->n_dns * sizeof(cfg->dns[0]));
	w->n_dns_domains = cfg->n_dns_domains;
	for (unsigned int i = 0; i < cfg->n_dns_domains; i++)
		snprintf(w->dns_domains[i], sizeof(w->dns_domains[i]), "%s",
			 cfg->dns_domains[i]);
	if (s->core->tun.tap)
		w->frames = PROTO_FRAMES_ETHERNET;
	if (session_takes_gso(s))
		w->features |= PROTO_FEATURE_DATA_GSO;
	if (session_takes_partial(s))
		w->features |= PROTO_FEATURE_DATA_PARTIAL;
	if (session_takes_uso(s))
		w->features |= PROTO_FEATURE_DATA_USO;
	w->features |= PROTO_FEATURE_PATH_MTU;
	server_welcome_reset_token(s, w);
}

static int send_welcome(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_WELCOME };

	fill_welcome(s, &m.welcome);
	return session_send_control(s, &m, 1);
}

bool server_refuse(struct cv_session *s, enum refusal why, uint8_t reason,
		   const char *told, const char *logged)
{
	struct server *srv = s->owner;

	refusal_log(srv->refusals, (const struct sockaddr *)&s->peer_addr,
		    LOG_WARNING, "refusing %s: %s", s->peer, logged);
	s->core->counters.refused++;
	s->core->refusals[why]++;
	session_send_refuse(s, reason, told);
	session_free(s, false, logged);
	return false;
}

/* Both ends carry the same: IP packets (TUN) or Ethernet frames (TAP).
 * Frames taken for packets, or the reverse, would be garbage on both
 * sides: refused before anything else, saying which side to change. */
static bool device_types_agree(struct cv_session *s, const struct proto_hello *h)
{
	bool tap = s->core->tun.tap;
	char told[160], logged[200];

	if (tap == (h->frames == PROTO_FRAMES_ETHERNET))
		return true;
	snprintf(told, sizeof(told),
		 "this gateway carries %s (device-type = %s): set device-type = %s on the client",
		 tap ? "Ethernet frames" : "IP packets", tap ? "tap" : "tun",
		 tap ? "tap" : "tun");
	snprintf(logged, sizeof(logged),
		 "the client's device is %s (device-type = %s), this gateway's %s (device-type = %s): set device-type = %s on the client",
		 tap ? "TUN" : "TAP", tap ? "tun" : "tap", tap ? "TAP" : "TUN",
		 tap ? "tap" : "tun", tap ? "tap" : "tun");
	return server_refuse(s, REFUSAL_device_type, PROTO_REASON_POLICY, told,
			     logged);
}

/* Whether the peer may go on: the limits, and what `auth` asks that the
 * hello itself shows. A password is checked by a worker afterwards
 * (s->auth_job set, session_login.c); everything else is decided here. */
static bool admit(struct cv_session *s, struct proto_hello *h)
{
	struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;
	char text[IDENTITY_MAX + 200];

	if (srv->n_up >= cfg->max_clients)
		return server_refuse(s, REFUSAL_full, PROTO_REASON_BUSY,
				     "the server is full",
				     "max-clients reached");
	if (s->core->drained)
		return server_refuse(s, REFUSAL_draining, PROTO_REASON_DRAINING,
				     "this gateway is drained: connect to another",
				     "drained (culvertctl undrain takes clients again)");
	/* Insecure transports prove nothing; insecure = yes let them in. */
	if (!(s->transport->t->flags & CV_TRANSPORT_SECURE))
		return true;
	if ((cfg->auth & AUTH_METHOD_CERTIFICATE) && !s->identity)
		return server_refuse(s, REFUSAL_no_certificate, PROTO_REASON_AUTH,
				     "a client certificate is required",
				     "no client certificate (auth = certificate)");
	/* It names the session in logs, status, kick and the scripts'
	 * CULVERT_IDENTITY: nothing a shell would read as syntax. */
	if (s->identity && !identity_valid(s->identity)) {
		snprintf(text, sizeof(text),
			 "the name in its certificate, '%s', holds characters other than letters, digits, spaces and . _ @ + - , = (IDENTITIES in culvert.conf(5))",
			 s->identity);
		return server_refuse(s, REFUSAL_bad_identity, PROTO_REASON_AUTH,
				     "the name in your certificate holds characters this server does not take",
				     text);
	}
	if (!(cfg->auth & (AUTH_METHOD_PASSWORD | AUTH_METHOD_RADIUS)))
		return true;
	bool ok = server_login(s, h);
	explicit_bzero(h->password, sizeof(h->password));
	return ok;
}

/* A hello (the session's ops->handshake on a server). */
static bool hello(struct cv_session *s, struct proto_msg *m)
{
	struct server *srv = s->owner;
	struct proto_hello *h = &m->hello;

	if (s->auth_job || s->connect_hook)
		return true;	/* a retransmission: the answer is coming */
	if (s->state == SESSION_HELLO) {
		/* Its first hello: no longer a silent stranger holding a
		 * place, and what is left of its login (the password
		 * check, the script) has handshake-timeout. */
		pending_leave(srv->pending, &s->pending);
		s->gave_way = false;
		loop_timer_arm(s->timer, s->core->cfg->handshake_timeout * 1000);
	} else {
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
		session_log(s, LOG_INFO,
			    "session %s said hello again: starting over",
			    session_name(s));
		radius_session_end(s);
		lease_give_back(s);
		s->state = SESSION_HELLO;
		srv->n_up--;
		srv->n_pending++;
	}
	if (h->version != PROTO_VERSION) {
		char text[80];
		snprintf(text, sizeof(text),
			 "protocol version %u is not spoken here (this server speaks %u)",
			 h->version, PROTO_VERSION);
		return server_refuse(s, REFUSAL_version, PROTO_REASON_VERSION, text,
				     text);
	}
	if (!device_types_agree(s, h))
		return false;
	s->nonce = h->nonce;
	s->data_gso = session_takes_gso(s) && (h->flags & PROTO_HELLO_DATA_GSO);
	s->data_partial = session_takes_partial(s) &&
			  (h->flags & PROTO_HELLO_DATA_PARTIAL);
	s->data_uso = s->data_gso && session_takes_uso(s) &&
		      (h->flags & PROTO_HELLO_DATA_USO);
	s->probes_answered = h->flags & PROTO_HELLO_PATH_MTU;
	s->takes_move = h->flags & PROTO_HELLO_MOVE;
	s->previous4 = h->previous4;
	s->previous6 = h->previous6;
	if (!admit(s, h))
		return false;
	return s->auth_job ? true : server_accept(s);
}

/* "; networks 198.18.1.0/24; group sites" for the log line of a session
 * that has them. */
static void policy_text(const struct cv_session *s, char *buf, size_t size)
{
	const struct session_policy *p = s->policy;
	size_t used = 0;
	char n[ADDR_STRLEN];

	buf[0] = '\0';
	for (unsigned int i = 0; p && i < p->n_networks && used < size; i++) {
		int len = snprintf(buf + used, size - used, "%s%s",
				   i ? ", " : "; networks ",
				   prefix_str(&p->networks[i], n));
		used += len > 0 ? (size_t)len : 0;
	}
	if (p && p->group && used < size)
		snprintf(buf + used, size - used, "; group %s", p->group);
}

/* The session is up: keepalives, the welcome. */
static bool bring_up(struct cv_session *s)
{
	const struct config *cfg = s->core->cfg;
	char buf[ADDR_STRLEN], buf6[ADDR_STRLEN], more[400];

	if (session_up(s, cfg->keepalive_interval, cfg->keepalive_timeout) < 0 ||
	    send_welcome(s) < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send welcome");
		return false;
	}
	path_mtu_start(s, session_mtu(s, cfg->mtu));
	if (s->core->tun.tap) {
		session_log(s, LOG_NOTICE,
			    "session %s up over %s: layer 2, on bridge %s, mtu %u",
			    session_name(s), s->transport->t->name, cfg->bridge,
			    s->mtu);
		return true;
	}
	policy_text(s, more, sizeof(more));
	session_log(s, LOG_NOTICE,
		    "session %s up over %s: inner address %s%s%s%s",
		    session_name(s), s->transport->t->name,
		    s->has_inner ? addr_str(&s->inner, buf) : "",
		    s->has_inner && s->has_inner6 ? " and " : "",
		    s->has_inner6 ? addr_str(&s->inner6, buf6) : "", more);
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
	server_refuse(s, REFUSAL_script, PROTO_REASON_POLICY,
		      "refused by the server's policy", text);
}

const char *server_session_group(const struct cv_session *s)
{
	const struct server *srv = s->owner;
	const char *group = NULL;

	if (s->password_login)
		group = auth_user_group(srv->auth, s->identity);
	/* An OU that no group could be named after is none. */
	if (!group && s->core->cfg->cert_group && group_name_valid(s->cert_group))
		group = s->cert_group;
	return group;
}

int server_session_policy(const struct policy_set *set,
			  const struct cv_session *s, struct session_policy **out)
{
	const struct config *cfg = s->core->cfg;

	if (s->radius)
		return radius_session_policy(set, cfg, s, server_session_group(s),
					     out);
	return policy_for_session(set, cfg, s->identity, server_session_group(s),
				  out);
}

bool server_accept(struct cv_session *s)
{
	struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;
	struct lease_refusal why;

	s->mtu = session_mtu(s, cfg->mtu);
	if (cfg->cert_group && s->cert_group && !group_name_valid(s->cert_group))
		session_log(s, LOG_WARNING, "session %s: its certificate's OU '%s' is not a group name (letters, digits, '.', '_', '-'): no group from it",
			 session_name(s), s->cert_group);
	shard_release(s->core, s->policy);
	int err = server_session_policy(srv->policy, s, &s->policy);
	if (err == -E2BIG)
		return server_refuse(s, REFUSAL_too_many_routes, PROTO_REASON_POLICY,
				     "the server has too many routes for this client",
				     "its routes do not fit a welcome");
	if (err < 0)
		return server_refuse(s, REFUSAL_no_memory, PROTO_REASON_UNSPECIFIED,
				     "server out of memory",
				     "out of memory");
	if (lease_take(s, &why) < 0)
		return server_refuse(s, why.counted, why.reason, why.told, why.logged);
	if (!cfg->client_connect_script)
		return bring_up(s);
	s->connect_hook = session_hook(s, cfg->client_connect_script,
				       "client-connect", on_client_connect_done);
	if (!s->connect_hook)
		return server_refuse(s, REFUSAL_script, PROTO_REASON_POLICY,
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
	if (s->radius)
		radius_session_up(s);
}

static void on_ended(struct cv_session *s)
{
	struct server *srv = s->owner;

	if (s->auth_job)
		server_login_cancel(s);
	if (s->connect_hook)
		hook_cancel(s->connect_hook);
	pending_leave(srv->pending, &s->pending);
	if (s->state == SESSION_UP) {
		session_hook(s, s->core->cfg->client_disconnect_script,
			     "client-disconnect", NULL);
		srv->n_up--;
	} else {
		srv->n_pending--;
	}
	/* Its accounting Stop still names its addresses. */
	radius_session_end(s);
	lease_give_back(s);
}

static const struct session_ops server_session = {
	.handshake = hello,
	.hello_timer = hello_timeout,
	.up = on_up,
	.ended = on_ended,
	.stray = server_session_stray,
};

/* The oldest link that holds a place the newcomer from sa needs gives
 * way: its place at once, its session from its timer (a link of this
 * same transport is not closed inside the upcall for another). */
static void make_room(struct server *srv, const struct sockaddr *sa,
		      const char *newcomer)
{
	static const char *const whose[] = {
		[PENDING_HOST] = "from its host",
		[PENDING_NETWORK] = "from its network",
		[PENDING_ALL] = "in all",
	};
	enum pending_level level;
	struct pending_place *pl;

	/* Each turn frees a place of the host, the network or everyone:
	 * three turns leave room in all of them. */
	for (int i = 0; i < 3 && (pl = pending_full(srv->pending, sa, &level));
	     i++) {
		struct cv_session *old = (struct cv_session *)(void *)
			((char *)pl - offsetof(struct cv_session, pending));
		pending_leave(srv->pending, pl);
		old->gave_way = true;
		loop_timer_arm(old->timer, 0);
		srv->core->counters.pending_evicted++;
		refusal_log(srv->refusals,
			    (const struct sockaddr *)&old->peer_addr, LOG_WARNING,
			    "ending %s (no hello after %.1f s) to make room for %s: %u links %s already wait for hello, the most allowed",
			    old->peer,
			    (double)(loop_now(srv->core->loop) - old->started) / 1000,
			    newcomer, pending_share(level), whose[level]);
	}
}

struct cv_session *server_link_up(void *arg, struct cv_host *h,
				  struct cv_link *link,
				  const struct cv_link_info *info,
				  struct cv_session *shell)
{
	struct server *srv = arg;
	struct cv_session *s = shell ? session_open(shell, &server_session,
						    srv, info)
				     : session_new(srv->core, &server_session,
						   srv, h, link, info);

	if (!s)
		return NULL;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer_addr;
	srv->n_pending++;
	make_room(srv, sa, s->peer);
	if (pending_enter(srv->pending, &s->pending, sa) < 0) {
		srv->core->counters.refused++;
		srv->core->refusals[REFUSAL_waiting]++;
		/* Refused on the spot, the plugin closes the link; once
		 * another loop gave it a session, the core does. */
		session_free(s, !shell, "no place to wait for hello");
		return NULL;
	}
	/* A stranger may make us allocate, but not for long. */
	loop_timer_arm(s->timer, srv->core->cfg->hello_timeout * 1000);
	session_log(s, LOG_DEBUG, "link from %s over %s", s->peer, h->t->name);
	return s;
}
