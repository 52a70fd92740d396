/* A hello's login: the password checked on the worker threads against
 * the password file and PAM, or asked of the RADIUS servers; the
 * answer back to the session, which goes on (server_accept) or is
 * refused. Both ways pass the same checks first: the name's form, the
 * certificate's name when both are asked for, the back-off after
 * failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "radius.h"
#include "radius_session.h"
#include "server_internal.h"
#include "identity_index.h"
#include "session_owner.h"
#include "source_table.h"
#include "throttle.h"
#include "user_name.h"

/* The name a login proved: it names the session and keeps its lease. */
static bool take_login(struct cv_session *s)
{
	if (s->identity && strcmp(s->identity, s->login) != 0)
		session_log(s, LOG_INFO,
			    "%s: certificate '%s' logs in as user '%s'",
			    s->peer, s->identity, s->login);
	identity_index_remove(s->core, s);
	free(s->identity);
	s->identity = s->login;
	s->login = NULL;
	identity_index_add(s->core, s);
	return true;
}

static enum login_result login_result(enum auth_result result)
{
	switch (result) {
	case AUTH_OK:
		return LOGIN_ok;
	case AUTH_UNKNOWN_USER:
		return LOGIN_unknown_user;
	case AUTH_WRONG_PASSWORD:
		return LOGIN_wrong_password;
	case AUTH_LOCKED:
		return LOGIN_locked;
	case AUTH_BAD_HASH:
		return LOGIN_bad_hash;
	case AUTH_ERROR:
		break;
	}
	return LOGIN_error;
}

/* The worker's answer about the password of s->login. */
static void on_password_checked(void *arg, enum auth_result result)
{
	struct cv_session *s = arg;
	struct server *srv = s->owner;
	/* Where the check was counted, even if the peer moved since. */
	const struct sockaddr *sa = (const struct sockaddr *)&s->login_from;
	char text[160];

	s->auth_job = NULL;
	s->core->logins[login_result(result)]++;
	throttle_end(srv->throttle, sa, s->login, result == AUTH_OK,
		     loop_now(s->core->loop));
	if (result != AUTH_OK) {
		s->core->counters.auth_failed++;
		snprintf(text, sizeof(text), "user '%s': %s", s->login,
			 auth_result_str(result));
		/* The same answer for every failure: it must not tell a
		 * stranger which users exist. */
		server_refuse(s, REFUSAL_login_failed, PROTO_REASON_AUTH,
			      "wrong username or password", text);
		return;
	}
	take_login(s);
	s->password_login = true;
	server_accept(s);
}

/* Access-Reject: the server's Reply-Message is what the client reads;
 * its words are the RADIUS administrator's to choose. */
static void rejected(struct cv_session *s, const struct radius_answer *a)
{
	const char *message = a->reply.message;
	char text[PROTO_MAX_TEXT + 400];

	s->core->logins[LOGIN_rejected]++;
	s->core->counters.auth_failed++;
	snprintf(text, sizeof(text), "user '%s': RADIUS server %s says no%s%s%s",
		 s->login, a->server, message[0] ? " (\"" : "", message,
		 message[0] ? "\")" : "");
	server_refuse(s, REFUSAL_login_failed, PROTO_REASON_AUTH,
		      message[0] ? message : "wrong username or password", text);
}

/* Access-Challenge asks for more (a one-time code) in a round culvert's
 * protocol has no room for yet: a refusal that says so. */
static void challenged(struct cv_session *s, const struct radius_answer *a)
{
	char text[PROTO_MAX_TEXT + 400];

	s->core->logins[LOGIN_rejected]++;
	snprintf(text, sizeof(text), "user '%s': RADIUS server %s asks a challenge%s%s%s, which culvert does not support yet",
		 s->login, a->server, a->reply.message[0] ? " (\"" : "",
		 a->reply.message, a->reply.message[0] ? "\")" : "");
	server_refuse(s, REFUSAL_radius_reply, PROTO_REASON_AUTH,
		      "the RADIUS server asks for more (a challenge, such as a one-time code), which this server does not support yet",
		      text);
}

/* The RADIUS servers' answer about s->login's password. */
static void on_radius_answer(struct cv_session *s, const struct radius_answer *a)
{
	struct server *srv = s->owner;
	const struct sockaddr *sa = (const struct sockaddr *)&s->login_from;
	int64_t now = loop_now(s->core->loop);
	char text[PROTO_MAX_TEXT + 400];
	uint8_t code = a->reply.code;

	s->auth_job = NULL;
	s->login_radius = false;
	if (a->result != RADIUS_ANSWERED || code == RADIUS_ACCESS_CHALLENGE) {
		/* Not the user's failure: it costs no back-off. */
		throttle_cancel(srv->throttle, sa, s->login);
		if (code == RADIUS_ACCESS_CHALLENGE) {
			challenged(s, a);
			return;
		}
		s->core->logins[LOGIN_unanswered]++;
		snprintf(text, sizeof(text), "user '%s': no RADIUS server answered",
			 s->login);
		server_refuse(s, REFUSAL_radius_unanswered, PROTO_REASON_BUSY,
			      "the server cannot reach its RADIUS server",
			      text);
		return;
	}
	throttle_end(srv->throttle, sa, s->login, code == RADIUS_ACCESS_ACCEPT, now);
	if (code != RADIUS_ACCESS_ACCEPT) {
		rejected(s, a);
		return;
	}
	s->core->logins[LOGIN_ok]++;
	if (a->unusable) {
		snprintf(text, sizeof(text), "user '%s': the Access-Accept of RADIUS server %s cannot be used: %s (fix the server's reply)",
			 s->login, a->server, a->reply.problem);
		server_refuse(s, REFUSAL_radius_reply, PROTO_REASON_POLICY,
			      "this server cannot use what RADIUS says of you", text);
		return;
	}
	if (a->reply.note[0])
		session_log(s, LOG_WARNING, "user '%s': RADIUS server %s: %s",
			    s->login, a->server, a->reply.note);
	session_log(s, LOG_INFO, "%s: RADIUS server %s accepts user '%s'",
		    s->peer, a->server, s->login);
	take_login(s);
	if (radius_session_new(srv->radius, s, a) < 0) {
		server_refuse(s, REFUSAL_no_memory, PROTO_REASON_UNSPECIFIED,
			      "server out of memory", "out of memory");
		return;
	}
	server_accept(s);
}

bool server_login(struct cv_session *s, const struct proto_hello *h)
{
	struct server *srv = s->owner;
	const struct config *cfg = s->core->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer_addr;
	int64_t now = loop_now(s->core->loop);
	char text[IDENTITY_MAX + 200];

	bool radius = cfg->auth & AUTH_METHOD_RADIUS;

	if (!h->username[0] || !h->password[0])
		return server_refuse(s, REFUSAL_no_password, PROTO_REASON_AUTH,
				     "this server needs a username and password",
				     radius ? "no username or password (auth = radius)"
				     : "no username or password (auth = password)");
	if (radius && strlen(h->password) > RADIUS_PASSWORD_MAX)
		return server_refuse(s, REFUSAL_login_failed, PROTO_REASON_AUTH,
				     "a password longer than 128 bytes, which RADIUS cannot carry",
				     "a password longer than RADIUS carries (128 bytes)");
	/* The name goes into the log: only what a password file may hold. */
	if (!user_name_valid(h->username)) {
		throttle_failed(srv->throttle, sa, NULL, now);
		s->core->counters.auth_failed++;
		s->core->logins[LOGIN_bad_name]++;
		return server_refuse(s, REFUSAL_login_failed, PROTO_REASON_AUTH,
				     "wrong username or password",
				     "a user name with characters no user has");
	}
	/* Checked before the password: a certificate's holder learns
	 * nothing of another user's password. */
	if ((cfg->auth & AUTH_METHOD_CERTIFICATE) && cfg->cert_user_match &&
	    strcmp(s->identity, h->username) != 0) {
		s->core->counters.auth_failed++;
		snprintf(text, sizeof(text),
			 "certificate '%s' with the password of user '%s': the user name must be the certificate's name (cert-user-match)",
			 s->identity, h->username);
		return server_refuse(s, REFUSAL_cert_user_mismatch, PROTO_REASON_AUTH,
				     "the username is not the name in your certificate",
				     text);
	}
	int64_t wait = throttle_wait(srv->throttle, sa, h->username, now);
	if (wait > 0) {
		s->core->counters.auth_throttled++;
		snprintf(text, sizeof(text),
			 "too many failed logins from your address; try again in %lld s",
			 (long long)(wait + 999) / 1000);
		return server_refuse(s, REFUSAL_throttled, PROTO_REASON_BUSY, text,
				     "too many failed logins from this address");
	}
	struct source_key source;
	source_key(sa, SOURCE_HOST, &source);
	s->login = strdup(h->username);
	s->login_radius = radius;
	if (s->login && radius)
		s->auth_job = radius_login(srv->radius, &source, s, h->username,
					   h->password, on_radius_answer);
	else if (s->login)
		s->auth_job = auth_worker_submit(srv->auth_worker, &source,
						 h->username, h->password,
						 on_password_checked, s);
	if (!s->auth_job)
		return server_refuse(s, REFUSAL_busy, PROTO_REASON_BUSY,
				     "the server is busy checking logins; try again",
				     "too many logins waiting for a password check");
	s->login_from = s->peer_addr;
	throttle_begin(srv->throttle, sa, s->login, now);
	return true;
}

void server_login_cancel(struct cv_session *s)
{
	struct server *srv = s->owner;

	if (s->login_radius)
		radius_login_cancel(srv->radius, s->auth_job);
	else
		auth_job_cancel(srv->auth_worker, s->auth_job);
	throttle_cancel(srv->throttle, (const struct sockaddr *)&s->login_from,
			s->login);
	s->auth_job = NULL;
}
