/* The server's RADIUS: its servers, and the threads that ask them
 * (radius.h). */
#include "radius.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "auth_worker.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "session.h"
#include "source_table.h"

/* "198.51.100.10:1812, then 198.51.100.11:1812" */
static void names(const struct radius_servers *list, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < list->n && used < size; i++) {
		int n = snprintf(buf + used, size - used, "%s%s",
				 i ? ", then " : "", list->s[i].name);
		used += n > 0 ? (size_t)n : 0;
	}
}

static void say_servers(const struct radius_config *rc)
{
	char auth[700], acct[700];

	names(&rc->auth, auth, sizeof(auth));
	names(&rc->acct, acct, sizeof(acct));
	log_info("RADIUS: logins asked of %s (%u s a try, %u tr%s each), accounting %s%s; NAS-Identifier %s",
		 auth, rc->timeout_ms / 1000, rc->tries,
		 rc->tries == 1 ? "y" : "ies", rc->acct.n ? "to " : "off",
		 acct, rc->nas_identifier);
}

/* The thread for accounting: one, so that records go out in the order
 * they were made (a session's Start before its Stop), all of them one
 * source with a long queue. */
static int start_accounting(struct radius *r)
{
	int err = auth_worker_new(r->core->loop, NULL, 1, NULL, &r->accounting);

	if (err == 0)
		auth_worker_set_limits(r->accounting, RADIUS_ACCT_QUEUE_MAX,
				       RADIUS_ACCT_QUEUE_MAX);
	return err;
}

int radius_new(struct core *core, struct radius **out)
{
	struct radius *r = calloc(1, sizeof(*r));
	uint8_t run[8];
	int err;

	*out = r;
	if (!r)
		return -ENOMEM;
	r->core = core;
	if ((err = radius_config_load(core->cfg, &r->rc)) < 0)
		return err;
	if (gnutls_rnd(GNUTLS_RND_NONCE, run, sizeof(run)) < 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(run); i++)
		snprintf(r->run_id + 2 * i, 3, "%02x", run[i]);
	/* Logins wait for the network, not a processor: as many threads
	 * as the password checks may have. */
	err = auth_worker_new(core->loop, NULL, AUTH_THREADS_MAX, NULL, &r->logins);
	if (err == 0 && r->rc->acct.n)
		err = start_accounting(r);
	if (err < 0) {
		log_err("cannot set up RADIUS: %s", strerror(-err));
		return err;
	}
	say_servers(r->rc);
	return 0;
}

static bool any_alive(const struct radius_servers *list)
{
	int64_t now = radius_now();

	for (unsigned int i = 0; i < list->n; i++)
		if (__atomic_load_n(&list->s[i].dead_until, __ATOMIC_RELAXED) <= now)
			return true;
	return false;
}

void radius_free(struct radius *r)
{
	if (!r)
		return;
	if (r->accounting) {
		/* Not for servers that stopped answering: they would hold
		 * culvertd's exit for nothing. */
		int64_t wait = any_alive(&r->rc->acct) ? RADIUS_ACCT_DRAIN_MS : 0;
		unsigned int left = auth_worker_drain(r->accounting, wait);
		if (left)
			log_warn("RADIUS: %u accounting record%s not sent: no accounting server answered %s",
				 left, left == 1 ? "" : "s",
				 wait ? "in time" : "lately");
	}
	auth_worker_free(r->logins);
	auth_worker_free(r->accounting);
	radius_config_unref(r->rc);
	free(r);
}

/* A server that did not answer lately is still passed over under the
 * new config, when it is still there. */
static void keep_dead(const struct radius_servers *old, struct radius_servers *new)
{
	for (unsigned int i = 0; i < new->n; i++)
		for (unsigned int j = 0; j < old->n; j++)
			if (strcmp(new->s[i].name, old->s[j].name) == 0)
				new->s[i].dead_until =
					__atomic_load_n(&old->s[j].dead_until,
							__ATOMIC_RELAXED);
}

void radius_set_config(struct radius *r, struct radius_config *rc)
{
	keep_dead(&r->rc->auth, &rc->auth);
	keep_dead(&r->rc->acct, &rc->acct);
	radius_config_unref(r->rc);
	r->rc = rc;
	if (rc->acct.n && !r->accounting && start_accounting(r) < 0)
		log_err("RADIUS: cannot start accounting");
	say_servers(rc);
}

/* ---- requests */

void radius_session_id(const struct radius *r, const struct cv_session *s,
		       char out[40])
{
	snprintf(out, 40, "%s-%" PRIx64, r->run_id, s->id);
}

/* The client's outer address without its port; an IPv4 client of a
 * dual-stack socket as IPv4. */
static void calling_station(const struct cv_session *s, char buf[ADDR_STRLEN])
{
	const struct sockaddr_storage *ss = &s->peer_addr;
	struct cv_addr a = { .family = ss->ss_family };

	if (ss->ss_family == AF_INET) {
		a.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	} else if (ss->ss_family == AF_INET6) {
		a.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a.v6)) {
			a.family = AF_INET;
			memcpy(&a.v4, a.v6.s6_addr + 12, 4);
		}
	} else {
		snprintf(buf, ADDR_STRLEN, "%s", s->peer);
		return;
	}
	addr_str(&a, buf);
}

int radius_request_init(const struct radius *r, const struct cv_session *s,
			const char *user, uint8_t code,
			struct radius_request *req)
{
	struct radius_packet *p = &req->attrs;
	char station[ADDR_STRLEN], id[40];
	int err;

	req->code = code;
	req->what[0] = '\0';
	req->event_ms = radius_now();
	req->password[0] = '\0';
	snprintf(req->session, sizeof(req->session), "%" PRIu64, s->id);
	snprintf(req->user, sizeof(req->user), "%s", user);
	snprintf(req->peer, sizeof(req->peer), "%s", s->peer);
	snprintf(req->transport, sizeof(req->transport), "%s",
		 s->transport->t->name);
	calling_station(s, station);
	radius_session_id(r, s, id);
	if ((err = radius_packet_start(p, RADIUS_ACCOUNTING_REQUEST, 0)) < 0 ||
	    (err = radius_add_text(p, RADIUS_USER_NAME, user)) < 0 ||
	    (err = radius_add_text(p, RADIUS_NAS_IDENTIFIER,
				   r->rc->nas_identifier)) < 0 ||
	    (err = radius_add_u32(p, RADIUS_NAS_PORT, (uint32_t)s->id)) < 0 ||
	    (err = radius_add_u32(p, RADIUS_NAS_PORT_TYPE, 5)) < 0 || /* Virtual */
	    (err = radius_add_text(p, RADIUS_CALLING_STATION_ID, station)) < 0 ||
	    (err = radius_add_text(p, RADIUS_ACCT_SESSION_ID, id)) < 0)
		return err;
	return 0;
}

static void count(struct core *core, const struct radius_outcome *o)
{
	core->counters.radius_timeouts += o->timeouts;
	core->counters.radius_bad_authenticator += o->bad_authenticator;
	core->counters.radius_malformed += o->malformed;
}

/* ---- logins */

struct login_job {
	struct auth_work work;		/* first: the worker's handle */
	struct radius *r;
	struct radius_config *rc;	/* the servers when it was asked */
	radius_answer_cb *done;
	struct radius_request req;
	struct radius_outcome out;
};

static void login_run(struct auth_work *w)
{
	struct login_job *j = (struct login_job *)w;

	radius_exchange(j->rc, &j->req, &j->out);
	explicit_bzero(j->req.password, sizeof(j->req.password));
}

static void login_done(void *arg, struct auth_work *w)
{
	struct login_job *j = (struct login_job *)w;
	struct radius_answer *a = calloc(1, sizeof(*a));

	if (!a)
		return;		/* the session's handshake-timeout ends it */
	a->result = j->out.result;
	a->server = j->out.server;
	if (a->result == RADIUS_ANSWERED)
		a->unusable = radius_reply_parse(j->out.reply, &a->reply) < 0;
	j->done(arg, a);
	free(a);
}

/* Counted here, whether the session waited for the answer or not. */
static void login_release(struct auth_work *w)
{
	struct login_job *j = (struct login_job *)w;
	struct core *core = j->r->core;

	count(core, &j->out);
	if (j->out.result == RADIUS_ANSWERED) {
		uint8_t code = j->out.reply[0];
		core->counters.radius_accepted += code == RADIUS_ACCESS_ACCEPT;
		core->counters.radius_rejected += code == RADIUS_ACCESS_REJECT;
		core->counters.radius_challenged += code == RADIUS_ACCESS_CHALLENGE;
	}
	radius_config_unref(j->rc);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

struct auth_job *radius_login(struct radius *r, const struct source_key *source,
			      struct cv_session *s, const char *user,
			      const char *password, radius_answer_cb *done)
{
	struct login_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->work = (struct auth_work){ login_run, login_done, login_release };
	j->r = r;
	j->done = done;
	if (radius_request_init(r, s, user, RADIUS_ACCESS_REQUEST, &j->req) < 0 ||
	    radius_add_u32(&j->req.attrs, RADIUS_SERVICE_TYPE, 2) < 0) { /* Framed */
		free(j);
		return NULL;
	}
	snprintf(j->req.password, sizeof(j->req.password), "%s", password);
	snprintf(j->req.what, sizeof(j->req.what), "%s's login", user);
	j->rc = radius_config_ref(r->rc);
	struct auth_job *job = auth_worker_submit_work(r->logins, source, &j->work, s);
	if (!job) {
		radius_config_unref(j->rc);
		explicit_bzero(j, sizeof(*j));
		free(j);
	}
	return job;
}

void radius_login_cancel(struct radius *r, struct auth_job *job)
{
	auth_job_cancel(r->logins, job);
}

/* ---- accounting */

struct acct_job {
	struct auth_work work;
	struct radius *r;
	struct radius_config *rc;
	struct radius_request req;
	struct radius_outcome out;
};

static void acct_run(struct auth_work *w)
{
	struct acct_job *j = (struct acct_job *)w;

	radius_exchange(j->rc, &j->req, &j->out);
}

static void acct_release(struct auth_work *w)
{
	struct acct_job *j = (struct acct_job *)w;
	struct core *core = j->r->core;

	count(core, &j->out);
	if (j->out.result == RADIUS_ANSWERED)
		core->counters.radius_acct_sent++;
	else
		core->counters.radius_acct_lost++;
	radius_config_unref(j->rc);
	free(j);
}

void radius_account(struct radius *r, const struct radius_request *req)
{
	static const struct source_key all;
	struct acct_job *j;

	if (!r->accounting || !r->rc->acct.n)
		return;
	j = malloc(sizeof(*j));
	if (j) {
		j->work = (struct auth_work){ acct_run, NULL, acct_release };
		j->r = r;
		j->req = *req;
		memset(&j->out, 0, sizeof(j->out));
		j->rc = radius_config_ref(r->rc);
		if (auth_worker_submit_work(r->accounting, &all, &j->work, NULL))
			return;
		radius_config_unref(j->rc);
		free(j);
	}
	r->core->counters.radius_acct_lost++;
	int64_t now = loop_now(r->core->loop);
	if (!r->dropped_said || now - r->dropped_said >= 60000) {
		r->dropped_said = now;	/* one line a minute at most */
		log_warn("RADIUS: %s dropped: %d records already wait for the accounting servers",
			 req->what, RADIUS_ACCT_QUEUE_MAX);
	}
}
