/*
 * The table of services and upcalls the core hands every plugin
 * (struct cv_host_api): its log, the loop of its instance (fds, timers),
 * its configuration, and the upcalls, routed where the daemon pointed
 * the instance's cv_host. An instance on another event loop than the
 * main one (shard.h) has its upcalls run on loop 0, but for data.
 */
#include "plugin_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "mailbox.h"
#include "proto.h"
#include "session.h"
#include "session_owner.h"
#include "shard.h"

__attribute__((format(printf, 3, 4)))
static void host_log(struct cv_host *host, int priority, const char *fmt, ...)
{
	char prefix[CONFIG_NAME_MAX + 4];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", host->t->name);
	va_start(ap, fmt);
	log_vmsg(priority, prefix, fmt, ap);
	va_end(ap);
}

static int host_watch(struct cv_host *host, int fd, uint32_t events,
		      cv_fd_cb *cb, void *arg)
{
	return loop_watch(host->loop, fd, events, cb, arg);
}

static void host_unwatch(struct cv_host *host, int fd)
{
	loop_unwatch(host->loop, fd);
}

/* A cv_timer is a loop_timer: the plugin only ever holds the pointer. */
static struct cv_timer *host_timer_new(struct cv_host *host, cv_timer_cb *cb,
				       void *arg)
{
	return (struct cv_timer *)loop_timer_new(host->loop, cb, arg);
}

static void host_timer_arm(struct cv_timer *timer, int64_t msec)
{
	loop_timer_arm((struct loop_timer *)timer, msec);
}

static void host_timer_free(struct cv_timer *timer)
{
	loop_timer_free((struct loop_timer *)timer);
}

static const char *host_config_get(struct cv_host *host, const char *key)
{
	/* What the plugin needs to know is how many loops share its
	 * port, not what the file said ("auto"). */
	if (strcmp(key, "threads") == 0) {
		snprintf(host->loops, sizeof(host->loops), "%u",
			 host->t->flags & CV_TRANSPORT_LOOPS
				 ? shard_loops(host->core->cfg) : 1);
		return host->loops;
	}
	return transport_config_get(host, key);
}

/*
 * The upcalls. Those of a copy on another loop (shard.h) run on loop 0,
 * later, each loop's in order, the loop going on; but for data of a
 * session that is up, which its own loop's datapath takes, and a reset
 * token, which the owner makes on the loop that asks. One upcall, its
 * arguments and its result, as loop 0 runs it:
 */
struct upcall {
	enum { LINK_UP, LINK_DOWN, DELIVER, MOVED, GROUP, SUSPECT } what;
	struct cv_host *host;
	struct cv_session *session;	/* LINK_UP: the shell, or NULL */
	struct cv_link *link;
	const struct cv_link_info *info; /* LINK_UP: or in text, peer, max_msg */
	size_t max_msg;
	int err;
	const char *text;		/* why, the group, or the identity */
	const struct cv_msg *msgs;
	unsigned int count;
	const struct sockaddr *peer;
	socklen_t peer_len;
	struct cv_session *up;		/* LINK_UP's result */
};

static void connect_failed(struct cv_host *host, int err, const char *why)
{
	if (!host->connect_failed)
		return;		/* a spare given up, or a server */
	/* A connect() that never came up. */
	log_warn("%s: cannot connect to %s: %s", host->t->name,
		 transport_config_get(host, "remote"), why ? why : "no reason given");
	host->connect_failed(host->owner, host, err);
}

static void link_up(struct upcall *u)
{
	struct cv_host *host = u->host;
	struct cv_link_info copy = { .identity = u->text, .peer = u->peer,
				     .peer_len = u->peer_len,
				     .max_msg = u->max_msg };
	const struct cv_link_info *info = u->info ? u->info : &copy;

	u->up = host->core->stopping || !host->link_up
			? NULL
			: host->link_up(host->owner, host, u->link, info,
					u->session);
	/* Refused before it was opened: its loop still holds the shell. */
	if (!u->up && u->session && !u->session->closed)
		session_abandon(u->session);
}

static void run_upcall(void *arg)
{
	struct upcall *u = arg;
	struct cv_host *host = u->host;
	struct cv_session *s = u->session;

	/* Loop 0 ended s, and its loop has not closed the link yet. */
	if (s && s->closed)
		return;
	switch (u->what) {
	case LINK_UP:
		link_up(u);
		break;
	case LINK_DOWN:
		if (s)
			session_link_lost(s, u->err, u->text);
		else
			connect_failed(host, u->err, u->text);
		break;
	case DELIVER:
		datapath_deliver(host->datapath, s, u->msgs, u->count);
		break;
	case MOVED:
		session_moved(s, u->peer, u->peer_len);
		break;
	case GROUP:
		session_group_proved(s, u->text);
		break;
	case SUSPECT:
		session_suspect(s, u->text);
		break;
	}
}

/* An upcall with a result: the loop waits for it. */
static void upcall(struct upcall *u)
{
	shard_call_main(u->host->core, run_upcall, u);
}

/* A letter to loop 0 with an upcall and copies of what it points to. */
struct later {
	struct letter l;
	struct upcall u;
	struct cv_msg msgs[];		/* then the bytes */
};

static void run_later(void *arg)
{
	run_upcall(&((struct later *)arg)->u);
}

/* An upcall with no result: another loop goes on at once, and loop 0
 * runs it later, in order with the loop's other upcalls. The plugin
 * lends what u points to for the call only: copied. */
static bool upcall_later(const struct upcall *u)
{
	if (u->host->loop_index == 0) {
		run_upcall((struct upcall *)u);
		return true;
	}
	size_t text = u->text ? strlen(u->text) + 1 : 0, bytes = text;
	for (unsigned int i = 0; i < u->count; i++)
		bytes += u->msgs[i].len;
	if (u->peer)
		bytes += u->peer_len;
	struct later *c = malloc(sizeof(*c) + u->count * sizeof(*u->msgs) +
				 bytes);
	if (!c) {
		log_err("event loop %u: an upcall of %s lost: out of memory",
			u->host->loop_index, u->host->t->name);
		return false;
	}
	uint8_t *at = (uint8_t *)(c->msgs + u->count);
	c->l = (struct letter){ .fn = run_later, .arg = c };
	c->u = *u;
	for (unsigned int i = 0; i < u->count; i++) {
		c->msgs[i] = u->msgs[i];
		c->msgs[i].data = memcpy(at, u->msgs[i].data, u->msgs[i].len);
		at += u->msgs[i].len;
	}
	c->u.msgs = c->msgs;
	if (u->peer) {
		c->u.peer = memcpy(at, u->peer, u->peer_len);
		at += u->peer_len;
	}
	if (u->text)
		c->u.text = memcpy(at, u->text, text);
	shard_post(u->host->core, 0, &c->l);
	return true;
}

static struct cv_session *host_link_up(struct cv_host *host,
				       struct cv_link *link,
				       const struct cv_link_info *info)
{
	if (host->loop_index == 0) {
		struct upcall u = { .what = LINK_UP, .host = host,
				    .link = link, .info = info };
		run_upcall(&u);
		return u.up;
	}
	/* Another loop goes on with a shell that loop 0 opens later
	 * (session_owner.h): waiting for a loop 0 busy with handshakes
	 * of its own would make this loop's handshakes, and its packets,
	 * wait too. A refusal then closes the link (session_abandon). */
	struct cv_session *shell = session_shell(host->core, host, link);
	if (!shell)
		return NULL;
	struct upcall u = { .what = LINK_UP, .host = host, .session = shell,
			    .link = link, .text = info->identity,
			    .peer = info->peer, .peer_len = info->peer_len,
			    .max_msg = info->max_msg };
	if (!upcall_later(&u)) {
		free(shell);
		return NULL;
	}
	return shell;
}

static void host_link_down(struct cv_host *host, struct cv_session *session,
			   int err, const char *why)
{
	struct upcall u = { .what = LINK_DOWN, .host = host,
			    .session = session, .err = err, .text = why };

	/* From now on the link is no longer the core's to close, nor
	 * for loop 0 to describe (status): the plugin frees it when this
	 * returns. So another loop need not wait for loop 0 to hear. */
	if (session)
		shard_link_gone(session);
	if (!upcall_later(&u))
		upcall(&u);	/* out of memory: the loop waits instead */
}

/* Whether the data path of another loop takes msg of s itself. */
static bool data_here(const struct cv_session *s, const struct cv_msg *msg)
{
	uint8_t type = msg->len ? msg->data[0] : 0;

	return s->state == SESSION_UP && !s->closed &&
	       (type == PROTO_DATA || type == PROTO_DATA_GSO ||
		type == PROTO_DATA_PARTIAL);
}

static void host_deliver(struct cv_host *host, struct cv_session *session,
			 const struct cv_msg *msgs, unsigned int count)
{
	if (host->loop_index == 0) {
		datapath_deliver(host->datapath, session, msgs, count);
		return;
	}
	/* Runs of data here, anything else on loop 0, in order. */
	for (unsigned int i = 0, n; i < count; i += n) {
		bool here = data_here(session, &msgs[i]);
		for (n = 1; i + n < count &&
			    data_here(session, &msgs[i + n]) == here;
		     n++)
			;
		if (here) {
			datapath_deliver(host->datapath, session, msgs + i, n);
			continue;
		}
		struct upcall u = { .what = DELIVER, .host = host,
				    .session = session, .msgs = msgs + i,
				    .count = n };
		upcall_later(&u);
	}
}

static void host_link_moved(struct cv_host *host, struct cv_session *session,
			    const struct sockaddr *peer, socklen_t peer_len)
{
	struct upcall u = { .what = MOVED, .host = host, .session = session,
			    .peer = peer, .peer_len = peer_len };

	upcall_later(&u);
}

static void host_link_group(struct cv_host *host, struct cv_session *session,
			    const char *group)
{
	struct upcall u = { .what = GROUP, .host = host, .session = session,
			    .text = group };

	upcall_later(&u);
}

/* Not an upcall: the owner answers on this loop (server.h). */
static int host_reset_token(struct cv_host *host, const struct sockaddr *peer,
			    socklen_t peer_len, uint8_t token[CV_RESET_TOKEN_LEN])
{
	if (!host->reset_token || host->core->stopping)
		return -ENOTSUP;
	return host->reset_token(host->owner, host, peer, peer_len, token);
}

static void host_link_suspect(struct cv_host *host, struct cv_session *session,
			      const char *why)
{
	struct upcall u = { .what = SUSPECT, .host = host, .session = session,
			    .text = why };

	upcall_later(&u);
}

const struct cv_host_api host_api = {
	.size = sizeof(struct cv_host_api),
	.log = host_log,
	.watch = host_watch,
	.unwatch = host_unwatch,
	.timer_new = host_timer_new,
	.timer_arm = host_timer_arm,
	.timer_free = host_timer_free,
	.config_get = host_config_get,
	.link_up = host_link_up,
	.link_moved = host_link_moved,
	.link_group = host_link_group,
	.reset_token = host_reset_token,
	.link_suspect = host_link_suspect,
	.link_down = host_link_down,
	.deliver = host_deliver,
};
