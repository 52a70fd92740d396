#include "host.h"

#include <stdarg.h>
#include <stdio.h>

#include "daemon.h"
#include "datapath.h"
#include "log.h"
#include "loop.h"
#include "session.h"

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
	return loop_watch(host->daemon->core.loop, fd, events, cb, arg);
}

static void host_unwatch(struct cv_host *host, int fd)
{
	loop_unwatch(host->daemon->core.loop, fd);
}

/* A cv_timer is a loop_timer: the plugin only ever holds the pointer. */
static struct cv_timer *host_timer_new(struct cv_host *host, cv_timer_cb *cb,
				       void *arg)
{
	return (struct cv_timer *)loop_timer_new(host->daemon->core.loop, cb, arg);
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
	return config_get(host->daemon->core.cfg, host->t->name, key);
}

static struct cv_session *host_link_up(struct cv_host *host,
				       struct cv_link *link,
				       const struct cv_link_info *info)
{
	struct daemon *d = host->daemon;

	if (d->core.stopping)
		return NULL;
	if (d->core.cfg->mode == MODE_CLIENT)
		daemon_connect_done(d);
	return session_new(d, host, link, info);
}

static void host_link_down(struct cv_host *host, struct cv_session *session,
			   int err, const char *why)
{
	struct daemon *d = host->daemon;

	if (session) {
		session_link_lost(session, err, why);
		return;
	}
	/* A connect() that never came up. */
	log_warn("%s: cannot connect to %s: %s", host->t->name, d->core.cfg->remote,
		 why ? why : "no reason given");
	daemon_connect_done(d);
	daemon_client_lost(d);
}

static void host_deliver(struct cv_host *host, struct cv_session *session,
			 const struct cv_msg *msgs, unsigned int count)
{
	datapath_deliver(host->daemon->datapath, session, msgs, count);
}

static void host_link_moved(struct cv_host *host, struct cv_session *session,
			    const struct sockaddr *peer, socklen_t peer_len)
{
	session_moved(session, peer, peer_len);
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
	.link_down = host_link_down,
	.deliver = host_deliver,
};
