/* A session's life: creation, the keepalive timers, sending, ending,
 * and the dispatch of control messages to the server or client half. */
#include "session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "config.h"
#include "core.h"
#include "dns.h"
#include "hook.h"
#include "identity_index.h"
#include "log.h"
#include "loop.h"
#include "mac_table.h"
#include "path_mtu.h"
#include "plugin_host.h"
#include "session_owner.h"
#include "shard.h"

bool session_is_server(const struct cv_session *s)
{
	return s->core->cfg->mode == MODE_SERVER;
}

bool session_reliable(const struct cv_session *s)
{
	return s->transport->t->flags & CV_TRANSPORT_RELIABLE;
}

bool session_takes_gso(const struct cv_session *s)
{
	return s->core->tun.vnet_hdr &&
	       (s->transport->t->flags & CV_TRANSPORT_GSO);
}

bool session_takes_uso(const struct cv_session *s)
{
	return s->core->tun.uso && session_takes_gso(s);
}

/* Any transport carries a packet with its checksum left to do; writing
 * it so into TUN needs the virtio-net header. */
bool session_takes_partial(const struct cv_session *s)
{
	return s->core->tun.vnet_hdr;
}

/* CULVERT_GROUP and CULVERT_NETWORKS, the networks behind the client
 * separated by spaces, when the session has them. */
static void policy_env(const struct cv_session *s, struct hook_env *env)
{
	const struct session_policy *p = s->policy;
	char nets[PROTO_MAX_NETWORKS * ADDR_STRLEN] = "", buf[ADDR_STRLEN];
	size_t used = 0;

	if (!p)
		return;
	if (p->group)
		hook_env_add(env, "CULVERT_GROUP", "%s", p->group);
	for (unsigned int i = 0; i < p->n_networks && used < sizeof(nets); i++) {
		int n = snprintf(nets + used, sizeof(nets) - used, "%s%s",
				 i ? " " : "", prefix_str(&p->networks[i], buf));
		used += n > 0 ? (size_t)n : 0;
	}
	if (p->n_networks)
		hook_env_add(env, "CULVERT_NETWORKS", "%s", nets);
}

struct hook *session_hook(struct cv_session *s, const char *script,
			  const char *event, hook_done_cb *done)
{
	struct core *core = s->core;
	struct hook_env env = { 0 };
	char buf[ADDR_STRLEN];

	if (!script)
		return NULL;
	hook_env_add(&env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	hook_env_add(&env, "CULVERT_EVENT", "%s", event);
	hook_env_add(&env, "CULVERT_DEVICE", "%s", core->tun.name);
	hook_env_add(&env, "CULVERT_TRANSPORT", "%s", s->transport->t->name);
	hook_env_add(&env, "CULVERT_OUTER_ADDRESS", "%s", s->peer);
	if (s->identity)
		hook_env_add(&env, "CULVERT_IDENTITY", "%s", s->identity);
	if (s->has_inner)
		hook_env_add(&env, "CULVERT_INNER_ADDRESS", "%s",
			     addr_str(&s->inner, buf));
	if (s->has_inner6)
		hook_env_add(&env, "CULVERT_INNER_ADDRESS6", "%s",
			     addr_str(&s->inner6, buf));
	if (s->addr6_installed)
		hook_env_add(&env, "CULVERT_INNER_ADDRESS6", "%s",
			     prefix_str(&s->addr6, buf));
	if (s->addr_installed)
		hook_env_add(&env, "CULVERT_INNER_ADDRESS", "%s",
			     prefix_str(&s->addr, buf));
	policy_env(s, &env);
	/* A client's tunnel: IPv4, IPv6 or both (an IPv6-only server sends
	 * no IPv4 address, and CULVERT_INNER_ADDRESS is then absent). */
	if (s->addr_installed || s->addr6_installed) {
		/* Room for every route whole. */
		char routes[TUNNEL_MAX_ROUTES * ADDR_STRLEN] = "";
		size_t used = 0;
		for (unsigned int i = 0; s->tunnel && i < s->tunnel->n_routes; i++) {
			const struct tunnel_route *r = &s->tunnel->routes[i];
			if (r->type != RTN_UNICAST)
				continue;
			int n = snprintf(routes + used, sizeof(routes) - used,
					 "%s%s", used ? " " : "",
					 prefix_str(&r->dst, buf));
			if (n < 0 || (size_t)n >= sizeof(routes) - used)
				break;
			used += (size_t)n;
		}
		hook_env_add(&env, "CULVERT_ROUTES", "%s", routes);
		dns_hook_env(s->dns, &env);
	}
	struct hook *h = hook_run(core->loop, &core->hooks, script, event, &env,
				  done, s);
	hook_env_free(&env);
	return h;
}

const char *session_name(const struct cv_session *s)
{
	return s->identity ? s->identity : s->peer;
}

/* Who the session is: on a server the user it logged in as (or the
 * name its certificate proved, or is being checked), on a client ours. */
static const char *session_user(const struct cv_session *s)
{
	if (!session_is_server(s))
		return s->core->cfg->username;
	return s->identity ? s->identity : s->login;
}

void session_log(const struct cv_session *s, int priority, const char *fmt,
		 ...)
{
	char id[24];
	const struct log_fields f = {
		.session = id,
		.user = session_user(s),
		.peer = s->peer,
		.transport = s->transport->t->name,
	};
	va_list ap;

	snprintf(id, sizeof(id), "%" PRIu64, s->id);
	va_start(ap, fmt);
	log_fields_vmsg(priority, &f, NULL, fmt, ap);
	va_end(ap);
}

/* ---- sending */

int session_send(struct cv_session *s, const struct cv_msg *msgs,
		 unsigned int count)
{
	struct cv_host *tr = s->transport;

	if (s->loop != shard_here()) {
		/* Loop 0's control message, for another loop's link. */
		s->last_tx = loop_now(s->core->loop);
		return shard_send(s, msgs, count);
	}
	/* Its loop's plugin lost the link, and loop 0 has not heard yet:
	 * the link is freed, the session about to end. */
	if (s->link_gone)
		return 0;
	int sent = tr->t->send(tr->inst, s->link, msgs, count);
	struct counters *counters = shard_counters(s->core);

	if (sent < 0) {
		counters->send_failed += count;
		return sent;
	}
	if ((unsigned int)sent < count)
		counters->send_failed += count - (unsigned int)sent;
	s->last_tx = loop_now(tr->loop);
	return sent;
}

/* Control messages go out `copies` times in one batch: on an unreliable
 * transport, a bye that nobody retransmits then survives a lost datagram. */
int session_send_control(struct cv_session *s, const struct proto_msg *m,
			unsigned int copies)
{
	uint8_t buf[PROTO_MAX_CONTROL];
	ssize_t len = proto_encode(m, buf, sizeof(buf));

	if (len < 0) {
		session_log(s, LOG_ERR,
			    "%s: cannot encode %s: %s",
			    session_name(s), proto_type_name(m->type),
			    strerror((int)-len));
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

void session_send_refuse(struct cv_session *s, uint8_t reason, const char *text)
{
	struct proto_msg m = { .type = PROTO_REFUSE };

	m.refuse.reason = reason;
	snprintf(m.refuse.text, sizeof(m.refuse.text), "%s", text);
	session_send_control(s, &m, session_reliable(s) ? 1 : 3);
}

/* ---- lifecycle */

static void unlink_session(struct cv_session *s)
{
	struct core *core = s->core;

	if (s->prev)
		s->prev->next = s->next;
	else
		core->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	core->n_sessions--;
	identity_index_remove(core, s);
}

void session_free(struct cv_session *s, bool link_gone, const char *why)
{
	if (s->state == SESSION_UP || !session_is_server(s))
		session_log(s, LOG_NOTICE,
			    "session %s ended: %s",
			    session_name(s), why);
	else
		session_log(s, LOG_DEBUG,
			    "link %s ended before hello: %s",
			    s->peer, why);
	s->closed = true;
	if (!link_gone) {
		if (s->loop == shard_here())
			s->transport->t->close(s->transport->inst, s->link);
		else
			shard_close(s);	/* by its loop, after what it sends */
	}
	path_mtu_stop(s);
	mac_port_free(s->macs);
	s->macs = NULL;
	s->ops->ended(s);
	/* The transport's totals, on whichever loop it carried them. */
	struct cv_host *totals = s->transport->origin ? s->transport->origin
						      : s->transport;
	totals->ended_rx_packets += s->rx_packets;
	totals->ended_rx_bytes += s->rx_bytes;
	totals->ended_tx_packets += s->tx_packets;
	totals->ended_tx_bytes += s->tx_bytes;
	unlink_session(s);
	s->core->counters.sessions_closed++;
	loop_timer_free(s->timer);
	free(s->identity);
	free(s->login);
	free(s->cert_group);
	free(s->tunnel);
	/* Another loop's data path may hold these until its turn ends. */
	shard_release(s->core, s->policy);
	shard_release(s->core, s);
}

struct ending {
	struct cv_session *s;
	uint8_t reason;
	const char *why;
};

static void end_on_main(void *arg)
{
	struct ending *e = arg;

	if (!e->s->closed)
		session_end(e->s, e->reason, e->why);
}

void session_end(struct cv_session *s, uint8_t reason, const char *why)
{
	if (shard_here() != 0) {
		/* The data path of another loop could not send. */
		struct ending e = { s, reason, why };
		shard_call_main(s->core, end_on_main, &e);
		return;
	}
	if (s->state == SESSION_UP) {
		struct proto_msg m = { .type = PROTO_BYE };
		m.bye.reason = reason;
		session_send_control(s, &m, session_reliable(s) ? 1 : 3);
	}
	session_free(s, false, why ? why : proto_reason_name(reason));
}

void session_end_soon(struct cv_session *s, uint8_t reason, const char *why)
{
	if (s->end_why)
		return;
	s->end_why = why;
	s->end_reason = reason;
	loop_timer_arm(s->timer, 0);
}

/* A timer that fires for session_end_soon, whichever it is now. */
static bool ended_soon(struct cv_session *s)
{
	if (!s->end_why)
		return false;
	session_end(s, s->end_reason, s->end_why);
	return true;
}

void session_link_lost(struct cv_session *s, int err, const char *why)
{
	char text[300];

	/* The plugin checked a stateless reset against our token. */
	if (err == -ESTALE) {
		s->reset = true;
		s->core->counters.resets_received++;
	}
	snprintf(text, sizeof(text), "link lost: %s",
		 why ? why : strerror(-err));
	s->link_err = err;
	s->end_cause = SESSION_END_LOST;
	session_free(s, true, text);
}

/* ---- timers */

static void arm_keepalive(struct cv_session *s)
{
	loop_timer_arm(s->timer, s->end_why ? 0 : s->keepalive_ms);
}

static void on_keepalive_tick(void *arg);

/* From now on keepalives every interval_s, dead after timeout_s. */
static int keepalive_start(struct cv_session *s, unsigned int interval_s,
			   unsigned int timeout_s)
{
	s->keepalive_ms = interval_s * 1000;
	s->timeout_ms = timeout_s * 1000;
	loop_timer_free(s->timer);
	s->timer = loop_timer_new(s->core->loop, on_keepalive_tick, s);
	if (!s->timer)
		return -ENOMEM;
	arm_keepalive(s);
	return 0;
}

size_t session_overhead(const struct cv_session *s)
{
	return 1 + (s->core->tun.tap ? TAP_OVERHEAD : 0);
}

unsigned int session_mtu(const struct cv_session *s, unsigned int mtu)
{
	size_t over = session_overhead(s);

	if (s->max_msg && s->max_msg - over < mtu)
		return (unsigned int)(s->max_msg - over);
	return mtu;
}

static void on_keepalive_tick(void *arg)
{
	struct cv_session *s = arg;
	int64_t now = loop_now(s->core->loop);

	if (ended_soon(s))
		return;
	if (now - s->last_rx >= s->timeout_ms) {
		char why[64];
		snprintf(why, sizeof(why), "no sign of life for %u s",
			 s->timeout_ms / 1000);
		s->end_cause = SESSION_END_LOST;
		session_end(s, PROTO_REASON_TIMEOUT, why);
		return;
	}
	if (now - s->last_tx >= s->keepalive_ms - s->keepalive_ms / 10) {
		struct proto_msg m = { .type = PROTO_KEEPALIVE };
		/* A client asks a server that answers: a keepalive that
		 * proves both ways, and one a restarted server can answer
		 * with a reset. */
		int err = s->probes_answered && !session_is_server(s)
				  ? session_probe(s)
				  : session_send_control(s, &m, 1);
		if (err < 0) {
			session_end(s, PROTO_REASON_UNSPECIFIED,
				    "cannot send keepalive");
			return;
		}
	}
	arm_keepalive(s);
}

static void set_peer(struct cv_session *s, const struct sockaddr *sa,
		     socklen_t len)
{
	if (sa && len <= sizeof(s->peer_addr)) {
		memset(&s->peer_addr, 0, sizeof(s->peer_addr));
		memcpy(&s->peer_addr, sa, len);
		sockaddr_str(sa, s->peer);
	} else {
		snprintf(s->peer, sizeof(s->peer), "(unknown)");
	}
}

void session_moved(struct cv_session *s, const struct sockaddr *sa,
		   socklen_t len)
{
	char old[sizeof(s->peer)];

	snprintf(old, sizeof(old), "%s", s->peer);
	set_peer(s, sa, len);
	session_log(s, LOG_DEBUG,
		    "session %s: outer address %s -> %s",
		    session_name(s), old, s->peer);
}

/* Kept whatever the configuration says now: a reload may turn
 * cert-group on, and the session's group is decided at its hello. */
void session_group_proved(struct cv_session *s, const char *group)
{
	char *copy = strdup(group);

	if (!copy)
		return;
	free(s->cert_group);
	s->cert_group = copy;
}

static void on_hello_timer(void *arg)
{
	struct cv_session *s = arg;

	if (!ended_soon(s))
		s->ops->hello_timer(s);
}

struct cv_session *session_shell(struct core *core, struct cv_host *transport,
				 struct cv_link *link)
{
	struct cv_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->core = core;
	s->transport = transport;
	s->link = link;
	s->loop = transport->loop_index;
	s->state = SESSION_HELLO;
	return s;
}

struct cv_session *session_open(struct cv_session *s,
				const struct session_ops *ops, void *owner,
				const struct cv_link_info *info)
{
	struct core *core = s->core;

	s->ops = ops;
	s->owner = owner;
	/* Numbered as opened: a session keeps its number in status and
	 * the journal while its name changes from its address to its user. */
	s->id = ++core->last_session_id;
	s->refused_reason = -1;
	s->max_msg = info->max_msg;
	s->started = s->last_rx = s->last_tx = loop_now(core->loop);
	s->connected_at = time(NULL);
	set_peer(s, info->peer, info->peer_len);
	if (info->identity && !(s->identity = strdup(info->identity)))
		return NULL;
	s->timer = loop_timer_new(core->loop, on_hello_timer, s);
	if (!s->timer) {
		free(s->identity);
		s->identity = NULL;
		return NULL;
	}

	s->next = core->sessions;
	if (s->next)
		s->next->prev = s;
	core->sessions = s;
	core->n_sessions++;
	identity_index_add(core, s);
	core->counters.sessions_opened++;
	return s;
}

struct cv_session *session_new(struct core *core,
			       const struct session_ops *ops, void *owner,
			       struct cv_host *transport, struct cv_link *link,
			       const struct cv_link_info *info)
{
	struct cv_session *s = session_shell(core, transport, link);

	if (s && !session_open(s, ops, owner, info)) {
		free(s);
		return NULL;
	}
	return s;
}

void session_abandon(struct cv_session *s)
{
	s->closed = true;
	shard_close(s);
	shard_release(s->core, s);
}

int session_up(struct cv_session *s, unsigned int interval_s,
	       unsigned int timeout_s)
{
	s->state = SESSION_UP;
	s->core->counters.sessions_up++;
	s->ops->up(s);
	return keepalive_start(s, interval_s, timeout_s);
}

void session_refuse_server(struct cv_session *s, uint8_t reason,
			   const char *what, const char *problem)
{
	session_log(s, LOG_ERR,
		    "server %s sent %s: %s; installing nothing and disconnecting",
		    s->peer, what, problem);
	/* A bye even before the session is up: the server learns why at
	 * once instead of waiting out its keepalive timeout. */
	struct proto_msg m = { .type = PROTO_BYE };
	m.bye.reason = reason;
	session_send_control(s, &m, session_reliable(s) ? 1 : 3);
	session_free(s, false, "this client refused what the server sent");
}

/* ---- receiving */

/* A dropped message: counted by the caller, logged here. */
static void log_dropped(struct cv_session *s, const char *why)
{
	struct core *core = s->core;
	int64_t now = loop_now(core->loop);

	/* One line a second at most: a stranger must not fill the log. */
	if (now - core->malformed_logged_at >= 1000) {
		core->malformed_logged_at = now;
		session_log(s, LOG_INFO,
			    "dropped a message from %s: %s",
			    s->peer, why);
	}
}

/* What a client sends only inside a session: data, keepalives, probes
 * and their answers. */
static bool in_session_type(uint8_t type)
{
	return type == PROTO_DATA || type == PROTO_DATA_GSO ||
	       type == PROTO_DATA_PARTIAL || type == PROTO_KEEPALIVE ||
	       type == PROTO_PROBE || type == PROTO_PROBE_ACK;
}

bool session_stray(struct cv_session *s, const uint8_t *msg, size_t len)
{
	if (s->state != SESSION_HELLO || s->hello_seen ||
	    !in_session_type(msg[0]) || !session_is_server(s) ||
	    session_reliable(s))
		return false;
	s->core->counters.before_hello++;
	if (s->ops->stray)
		s->ops->stray(s, len);
	session_free(s, false, "a message for a session this server does not have");
	return true;
}

int session_probe(struct cv_session *s)
{
	/* Any answer will do, and any message from the server at all
	 * proves it there: the id (0) matters to nobody. */
	uint8_t probe[PROTO_PROBE_LIVENESS_LEN] = { 0 };
	struct cv_msg m = { .data = probe, .len = sizeof(probe) };
	int64_t now = loop_now(s->core->loop);

	if (!s->probes_answered || s->state != SESSION_UP ||
	    session_is_server(s))
		return 0;
	proto_put_probe(probe, 0);
	if (!s->probe_at)
		s->probe_at = now;
	s->probe_sent_at = now;
	int sent = session_send(s, &m, 1);
	return sent < 0 ? sent : 0;
}

void session_suspect(struct cv_session *s, const char *why)
{
	if (s->state == SESSION_UP && s->ops->doubt)
		s->ops->doubt(s, why);
}

/* A stateless reset's token against this session's, in constant time:
 * how long the comparison takes must not say how much of a guess was
 * right. */
static bool reset_token_matches(const struct cv_session *s,
				const uint8_t token[PROTO_RESET_TOKEN_LEN])
{
	uint8_t diff = 0;

	for (size_t i = 0; i < PROTO_RESET_TOKEN_LEN; i++)
		diff |= s->reset_token[i] ^ token[i];
	return s->has_reset_token && diff == 0;
}

/* A RESET (udp): the server lost the session, if it is ours. */
static bool reset_received(struct cv_session *s, const struct proto_msg *m)
{
	if (session_is_server(s) || s->state != SESSION_UP ||
	    !reset_token_matches(s, m->reset.token)) {
		session_malformed(s, "a reset that is not for this session");
		return true;
	}
	s->reset = true;
	s->core->counters.resets_received++;
	session_free(s, false, "the server has lost the session (it restarted?): stateless reset");
	return false;
}

struct malformed {
	struct cv_session *s;
	const char *why;
};

static void malformed_on_main(void *arg)
{
	struct malformed *m = arg;

	session_malformed(m->s, m->why);
}

void session_malformed(struct cv_session *s, const char *why)
{
	if (shard_here() != 0) {
		/* Its log line is rate-limited by loop 0. */
		struct malformed m = { s, why };
		shard_call_main(s->core, malformed_on_main, &m);
		return;
	}
	s->core->counters.malformed++;
	log_dropped(s, why);
}

bool session_control(struct cv_session *s, const uint8_t *msg, size_t len)
{
	struct core *core = s->core;
	bool server = session_is_server(s);
	struct proto_msg m;
	const char *why;

	s->last_rx = loop_now(core->loop);
	if (proto_decode(msg, len, &m, &why) < 0) {
		/* Before its welcome a client expects one answer; one it
		 * cannot decode is the server's error, not noise to wait
		 * out (the socket takes datagrams from the server only). */
		if (!server && s->state == SESSION_HELLO) {
			/* why lasts until the next encode: the bye's. */
			char problem[128];
			snprintf(problem, sizeof(problem), "%s", why);
			core->counters.malformed++;
			session_refuse_server(s, PROTO_REASON_PROTOCOL,
					     "a message this client cannot decode",
					     problem);
			return false;
		}
		/* A type no version-1 peer sends is counted apart from a
		 * garbled message of a known type: a probe, or a newer peer. */
		if (msg[0] > PROTO_MOVE) {
			core->counters.unknown_type++;
			log_dropped(s, why);
		} else {
			session_malformed(s, why);
		}
		if (s->state == SESSION_HELLO && server) {
			session_free(s, false, why);
			return false;
		}
		return true;
	}
	switch (m.type) {
	case PROTO_HELLO:
		if (server) {
			s->hello_seen = true;
			return s->ops->handshake(s, &m);
		}
		session_malformed(s, "hello sent to a client");
		return true;
	case PROTO_WELCOME:
		if (!server)
			return s->ops->handshake(s, &m);
		session_malformed(s, "welcome sent to a server");
		return true;
	case PROTO_REFUSE:
		if (server) {
			session_malformed(s, "refuse sent to a server");
			return true;
		}
		session_log(s, LOG_ERR,
			    "server %s refused us: %s%s%s",
			    s->peer, proto_reason_name(m.refuse.reason),
			    m.refuse.text[0] ? ": " : "", m.refuse.text);
		s->refused_reason = m.refuse.reason;
		session_free(s, false, "refused by the server");
		return false;
	case PROTO_KEEPALIVE:
		if (s->state != SESSION_UP)
			core->counters.before_hello++;
		return true;
	case PROTO_RESET:
		return reset_received(s, &m);
	case PROTO_MOVE:
		if (server || s->state != SESSION_UP || !s->ops->move) {
			session_malformed(s, server ? "move sent to a server"
					  : "move to a client that does not take it");
			return true;
		}
		s->ops->move(s);
		return true;
	case PROTO_BYE: {
		char text[80];
		s->bye_reason = m.bye.reason;
		snprintf(text, sizeof(text), "the peer said bye (%s)",
			 proto_reason_name(m.bye.reason));
		s->end_cause = SESSION_END_PEER;
		session_free(s, false, text);
		return false;
	}
	}
	return true;
}
