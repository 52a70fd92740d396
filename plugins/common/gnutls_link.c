/*
 * The link of a GnuTLS transport, as tls and dtls share it: its life,
 * its ends, its handshake, and an instance's reload. See gnutls_link.h.
 */
#include "gnutls_link.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint.h"

#define LOG(s, prio, ...) (s)->api->log((s)->host, prio, __VA_ARGS__)

/* The core's handle of a link: the plugin's struct cv_link, whose first
 * member l is. */
static struct cv_link *core_link(struct glink *l)
{
	return (struct cv_link *)(void *)l;
}

static const char *proto_name(const struct glinks *s)
{
	return s->tls.datagram ? "DTLS" : "TLS";
}

/* ---- the instance's part */

static void on_recheck(void *arg);

int glinks_config(struct glinks *s, const struct cv_host_api *api,
		  struct cv_host *host, const struct glink_ops *ops,
		  const char *peer_log_what)
{
	s->api = api;
	s->host = host;
	s->ops = ops;
	s->peer_log_what = peer_log_what;
	const char *mode = api->config_get(host, "mode");
	s->server = mode && strcmp(mode, "server") == 0;
	int err = plugin_config_number(api, host, "handshake-timeout", 10, 1,
				       3600, &s->handshake_timeout);
	if (err == 0)
		err = plugin_config_number(api, host, "max-handshakes", 256, 1,
					   1000000, &s->max_handshakes);
	if (err == 0)
		err = plugin_config_number(api, host, "rekey-interval", 3600, 1,
					   604800, &s->rekey.interval);
	if (err == 0)
		err = plugin_config_bytes(api, host, "rekey-bytes", 1ULL << 36,
					  1ULL << 20, 1ULL << 50, &s->rekey.bytes);
	unsigned int records = 0;
	if (err == 0)
		err = plugin_config_number(api, host, "rekey-records", 1U << 24,
					   100, 4294967295UL, &records);
	s->rekey.records = records;
	return err;
}

int glinks_start(struct glinks *s, const char *default_priority)
{
	/* A client checks the server's certificate against the host of
	 * 'remote' unless server-name says otherwise. */
	const char *remote = s->api->config_get(s->host, "remote"), *port;
	char name[256] = "";

	if (s->server || !remote ||
	    endpoint_parse(remote, name, sizeof(name), &port) < 0)
		name[0] = '\0';
	int err = gtls_init(&s->tls, s->api, s->host, s->server,
			    name[0] ? name : NULL, default_priority);
	if (err < 0)
		return err;
	s->recheck_timer = s->api->timer_new(s->host, on_recheck, s);
	return s->recheck_timer ? 0 : -ENOMEM;
}

void glinks_deinit(struct glinks *s)
{
	/* One link per turn, each removing itself from the list. */
	while (s->all)
		glink_close_now(s->all);
	if (s->recheck_timer)
		s->api->timer_free(s->recheck_timer);
	s->recheck_timer = NULL;
	gtls_deinit(&s->tls);
}

/* The links glinks_reload() doomed, ended from the loop: a plugin never
 * calls link_down() from inside a call the core made to it. One at a
 * time, looked up again after each upcall, which may end others. */
static void on_recheck(void *arg)
{
	struct glinks *s = arg;

	for (;;) {
		struct glink *l = s->all;
		while (l && !l->doom.why)
			l = l->next;
		if (!l)
			return;
		char why[512];
		snprintf(why, sizeof(why), "%s", l->doom.why);
		glink_refuse(l, l->doom.err, why);
	}
}

int glinks_reload(struct glinks *s)
{
	unsigned int doomed = 0;
	int err = gtls_reload(&s->tls);

	if (err < 0)
		return err;
	for (struct glink *l = s->all; l; l = l->next)
		if (l->state == GLINK_UP && l->session && !l->closed &&
		    !l->doom.why)
			doomed += gtls_doom_check(&s->tls, l->tls, l->peer_name,
						  &l->doom);
	if (doomed)
		s->api->timer_arm(s->recheck_timer, 0);
	return 0;
}

const char *glinks_clients_need(const struct glinks *s)
{
	return s->tls.require_client_cert
		       ? "need a certificate signed by 'ca'"
		       : "need no certificate (auth = password or radius)";
}

/* ---- one link: life */

int glink_init(struct glink *l, struct glinks *s, cv_timer_cb *on_timer)
{
	l->set = s;
	l->timer = s->api->timer_new(s->host, on_timer, l);
	if (!l->timer)
		return -ENOMEM;
	l->next = s->all;
	if (l->next)
		l->next->prev = l;
	s->all = l;
	return 0;
}

void glink_release(struct glink *l)
{
	struct glinks *s = l->set;

	if (l->prev)
		l->prev->next = l->next;
	else
		s->all = l->next;
	if (l->next)
		l->next->prev = l->prev;
	hs_queue_leave(&s->handshakes, &l->hs);
	gtls_session_free(l->tls);
	l->tls = NULL;
	free(l->doom.why);
	s->api->timer_free(l->timer);
	if (l->addrs)
		freeaddrinfo(l->addrs);
}

void glink_set_peer(struct glink *l, const struct sockaddr *sa,
		    socklen_t len)
{
	l->peer_len = endpoint_unmap(sa, len, &l->peer);
	endpoint_format((const struct sockaddr *)&l->peer, l->peer_len,
			l->peer_name, sizeof(l->peer_name));
}

void glink_close_now(struct glink *l)
{
	const struct glink_ops *ops = l->set->ops;

	if (l->state == GLINK_UP && l->tls && (!ops->drain || ops->drain(l)))
		gnutls_bye(l->tls, GNUTLS_SHUT_WR);
	ops->free(l);
}

void glink_close(struct glink *l)
{
	if (l->upcalls) {
		l->closed = true;
		return;
	}
	glink_close_now(l);
}

/* Free l, then tell the core why (copied first): nothing the core does
 * in link_down() can meet the link. */
static void link_ends(struct glink *l, struct cv_session *session, int err,
		      const char *why)
{
	struct glinks *s = l->set;
	char text[512];

	snprintf(text, sizeof(text), "%s", why);
	glink_free(l);
	s->api->link_down(s->host, session, err, text);
}

void glink_lost(struct glink *l, int err, const char *why)
{
	link_ends(l, l->session, err, why);
}

void glink_refuse(struct glink *l, int err, const char *why)
{
	const struct glink_ops *ops = l->set->ops;

	/* Not in the middle of a record GnuTLS could not finish: the
	 * alert would corrupt it. */
	if (!ops->drain || ops->drain(l))
		gtls_send_recheck_alert(l->tls, err);
	glink_lost(l, err, why);
}

void glink_client_fail(struct glink *l, int err, const char *why)
{
	link_ends(l, NULL, err, why);
}

/* ---- one link: a client's addresses */

const struct addrinfo *glink_next_address(struct glink *l)
{
	const struct addrinfo *ai = l->next_addr;

	if (!ai || l->tries >= GLINK_CONNECT_TRIES)
		return NULL;
	l->next_addr = ai->ai_next;
	l->tries++;
	return ai;
}

void glink_failf(struct glink *l, int err, const char *fmt, ...)
{
	va_list ap;

	l->fail_err = err;
	va_start(ap, fmt);
	vsnprintf(l->fail_why, sizeof(l->fail_why), fmt, ap);
	va_end(ap);
}

void glink_address_failed(struct glink *l, int err, const char *why)
{
	glink_failf(l, err, "%s", why);
	if (l->next_addr)
		LOG(l->set, CV_LOG_INFO, "%s; trying the next address of 'remote'",
		    why);
}

void glink_client_give_up(struct glink *l)
{
	glink_client_fail(l, l->fail_err, l->fail_why);
}

/* ---- one link: the handshake */

/* A TLS 1.3 KeyUpdate arrived: new keys both ways, for the client asks
 * for the server's with its own, and the server answers with its own. GnuTLS names only the session: its
 * pointer is the credentials, whose owner is the instance's gtls, the
 * first member of the glinks; key updates come once in rekey-interval,
 * so looking the link up among all is cheap. */
static int on_key_update(gnutls_session_t session, unsigned int htype,
			 unsigned int when, unsigned int incoming,
			 const gnutls_datum_t *msg)
{
	const struct gtls_cred *c = gnutls_session_get_ptr(session);
	struct glinks *s = container_of(c->owner, struct glinks, tls);

	/* Ours went out too: counting the peer's alone counts each once,
	 * whichever side asked. */
	if (!incoming)
		return 0;
	for (struct glink *l = s->all; l; l = l->next)
		if (l->tls == session) {
			l->keys_made = time(NULL);
			l->rekeys++;
			break;
		}
	return 0;
}

int glink_session_new(struct glink *l, unsigned int flags)
{
	struct glinks *s = l->set;
	int ret = gtls_session_new(&s->tls, flags, &l->tls);

	if (ret < 0) {
		LOG(s, CV_LOG_ERR, "cannot start a %s session: %s",
		    proto_name(s), gnutls_strerror(ret));
		l->tls = NULL;
		return -ENOMEM;
	}
	gnutls_handshake_set_hook_function(l->tls, GNUTLS_HANDSHAKE_KEY_UPDATE,
					   GNUTLS_HOOK_POST, on_key_update);
	l->state = GLINK_HANDSHAKE;
	return 0;
}

/* A storm of returning clients (a gateway's restart: 100,000 of them
 * within seconds) fills max-handshakes with handshakes that all finish
 * if left alone. Pushing out the oldest there threw away the work
 * nearest its end, and with newcomers arriving faster than handshakes
 * finish, few did. So only a handshake under way this long gives way;
 * a newcomer that finds every place younger is turned away before any
 * work on it (a dtls client sends its ClientHello again after a
 * second, a tls one connects again after its back-off), if its source
 * has handshakes under way already. A flood that stalls holds each
 * place no longer than this. (Not "since its peer
 * was last heard": a staller's retransmissions would keep it young.) */
#define HS_GRACE_MS 1000

/* Whether l's source (its IPv4 address, its IPv6 /64: what one host
 * holds) has a handshake under way already. The grace is
 * for a storm's own: a newcomer from a source with none always gets a
 * place, or a flood that reopens as fast as it is cut (its places all
 * young) would keep every other client out (tls_abuse.sh). Only when
 * full: at most max-handshakes steps. */
static bool source_waits(const struct glinks *s, const struct glink *l)
{
	for (const struct hs_entry *e = s->handshakes.oldest; e; e = e->next)
		if (endpoint_same_source(&container_of(e, struct glink, hs)->peer,
					 &l->peer, 64))
			return true;
	return false;
}

bool glink_handshake_enter(struct glink *l)
{
	struct glinks *s = l->set;
	int64_t now = plugin_now_ms();

	if (s->handshakes.n >= s->max_handshakes) {
		/* Full: the oldest handshake goes, not the newest. A real
		 * client finishes within a round trip or two and is hardly
		 * ever the oldest; a flood that holds every place, and
		 * takes each freed one back at once, would otherwise keep
		 * real clients out for as long as it lasts. */
		struct glink *oldest =
			container_of(s->handshakes.oldest, struct glink, hs);
		if (now - oldest->hs_since < HS_GRACE_MS && source_waits(s, l)) {
			s->counts.turned_away++;
			return false;
		}
		s->counts.evicted++;
		GLINK_PEER_LOG(s, CV_LOG_INFO,
			       "dropped %s: the oldest of %u handshakes under way, making room for %s (max-handshakes)",
			       oldest->peer_name, s->handshakes.n, l->peer_name);
		glink_free(oldest);
	}
	l->hs_since = now;
	hs_queue_enter(&s->handshakes, &l->hs);
	return true;
}

int glink_handshake(struct glink *l)
{
	int ret = GNUTLS_E_AGAIN;

	/* Warning alerts and the like are not fatal: go on, a few times. */
	for (unsigned int i = 0; i < 8; i++) {
		ret = gnutls_handshake(l->tls);
		if (ret == 0 || ret == GNUTLS_E_AGAIN || gnutls_error_is_fatal(ret))
			break;
	}
	return ret == 0 || gnutls_error_is_fatal(ret) ? ret : GNUTLS_E_AGAIN;
}

void glink_handshake_failed(struct glink *l, int ret, struct glink_failure *f)
{
	struct glinks *s = l->set;

	f->err = gtls_handshake_error(&s->tls, l->tls, ret, f->why,
				      sizeof(f->why));
	f->certificate = f->err == -EACCES || ret == GNUTLS_E_FATAL_ALERT_RECEIVED;
	/* Tell the peer why, so that its log can say it; best effort on a
	 * non-blocking socket. */
	gtls_send_alert(&s->tls, l->tls, ret);
}

void glink_refused(struct glink *l, int prio, const char *why)
{
	GLINK_PEER_LOG(l->set, prio, "refused %s: %s", l->peer_name, why);
	glink_close_now(l);
}

void glink_handshake_timed_out(struct glink *l)
{
	struct glinks *s = l->set;
	char why[100];

	s->counts.handshake_timeout++;
	snprintf(why, sizeof(why), "no %s handshake within %u s (handshake-timeout)",
		 proto_name(s), s->handshake_timeout);
	glink_refused(l, CV_LOG_INFO, why);
}

void glink_handshake_too_large(struct glink *l, const char *what)
{
	struct glinks *s = l->set;
	char why[300];

	s->counts.handshake_too_large++;
	snprintf(why, sizeof(why), "%s than the %u KiB any real %s handshake needs",
		 what, GLINK_HANDSHAKE_MAX / 1024, proto_name(s));
	if (l->state == GLINK_UP && l->session)
		glink_lost(l, -EMSGSIZE, why);
	else if (s->server)
		glink_refused(l, CV_LOG_INFO, why);
	else
		glink_client_fail(l, -EMSGSIZE, why);
}

bool glink_handshake_done(struct glink *l, char **identity,
			  const char *extra)
{
	struct glinks *s = l->set;
	char desc[128], why[400];

	*identity = NULL;
	s->api->timer_arm(l->timer, -1);
	hs_queue_leave(&s->handshakes, &l->hs);
	l->state = GLINK_UP;
	s->counts.handshakes++;
	/* A handshake that began before a reload ran on the old ca and
	 * crl: the new ones have the last word. */
	if (gtls_recheck_stale(&s->tls, l->tls, why, sizeof(why)) < 0) {
		glink_refused(l, CV_LOG_WARNING, why);
		return false;
	}
	if (s->server && s->tls.require_client_cert) {
		/* GnuTLS required and verified the certificate; one
		 * without a usable name still identifies nobody. */
		int err = gtls_peer_identity(l->tls, identity);
		if (err < 0 || !*identity) {
			glink_refused(l, CV_LOG_WARNING,
				      "its certificate names no subject");
			return false;
		}
	}
	l->keys_made = time(NULL);
	l->peer_expires = gtls_peer_expires(l->tls);
	gtls_describe(l->tls, desc, sizeof(desc));
	if (s->server)
		LOG(s, CV_LOG_DEBUG, "handshake with %s done: %s%s%s%s",
		    l->peer_name, desc, *identity ? ", certificate of " : "",
		    *identity ? *identity : "", extra);
	else
		LOG(s, CV_LOG_INFO, "%s with %s: %s; certificate valid for '%s'%s",
		    proto_name(s), l->peer_name, desc, s->tls.server_name, extra);
	return true;
}

void glink_describe(const struct glink *l, struct cv_link_desc *desc)
{
	if (l->state != GLINK_UP || !l->tls)
		return;
	desc->protocol =
		gnutls_protocol_get_name(gnutls_protocol_get_version(l->tls));
	desc->cipher = gnutls_cipher_get_name(gnutls_cipher_get(l->tls));
	desc->peer_cert_expires = l->peer_expires;
	desc->keys_made = l->keys_made;
	desc->rekeys = l->rekeys;
}

bool glink_up(struct glink *l, char *identity, size_t max_msg)
{
	struct glinks *s = l->set;
	struct cv_link_info info = {
		.identity = identity,
		.peer = (const struct sockaddr *)&l->peer,
		.peer_len = l->peer_len,
		.max_msg = max_msg,
	};

	glink_upcall_begin(l);
	struct cv_session *session = s->api->link_up(s->host, core_link(l), &info);
	free(identity);
	if (!glink_upcall_end(l))
		return false;
	if (!session) {
		/* The core refused it and said why. */
		glink_close_now(l);
		return false;
	}
	l->session = session;
	/* Before anything is delivered: the hello that follows may need it. */
	char *group = NULL;
	if (s->server && CV_HOST_API_HAS(s->api, link_group) &&
	    gtls_peer_group(l->tls, &group) == 0 && group)
		s->api->link_group(s->host, session, group);
	free(group);
	return true;
}
