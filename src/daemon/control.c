#include "control.h"
#include "control_request.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "session.h"
#include "status.h"

struct control {
	struct core *core;
	const struct transports *transports;
	control_reload_fn *reload;
	control_drain_fn *drain;
	void *reload_arg;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- requests */

/* Write all of buf; the peer is culvertctl, reading as we write. A
 * send timeout bounds how long a stuck reader holds the loop. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void answer(int fd, const char *status, const struct strbuf *body)
{
	write_all(fd, status, strlen(status));
	write_all(fd, "\n", 1);
	if (body && body->len)
		write_all(fd, body->buf, body->len);
}

/* End every session called name. Returns how many it ended. */
static unsigned int kick(struct core *core, const char *name,
			 struct strbuf *out)
{
	unsigned int ended = 0;
	struct cv_session *s = core->sessions;

	while (s) {
		struct cv_session *next = s->next;
		if (strcmp(session_name(s), name) == 0) {
			session_log(s, LOG_NOTICE,
				    "session %s kicked by the administrator",
				    session_name(s));
			s->end_cause = SESSION_END_KICKED;
			session_end(s, PROTO_REASON_POLICY,
				    "kicked by the administrator");
			ended++;
		}
		s = next;
	}
	strbuf_printf(out, "%u session%s ended\n", ended, ended == 1 ? "" : "s");
	return ended;
}

/* Whether gid is the peer's group, or one of its supplementary groups
 * (SO_PEERGROUPS, Linux 4.13; without it, the primary group only). */
static bool peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (cred->gid == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* Status is for whoever may connect (the socket's mode and group say
 * who); kick and reload change what runs, and are root's, and
 * admin-group's if set. */
static bool peer_may_change(const struct control *c, int fd, const char *what)
{
	const char *admins = c->core->cfg->admin_group;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	if (cred.uid == 0)
		return true;
	const struct group *gr = admins ? getgrnam(admins) : NULL;
	if (gr && peer_in_group(fd, &cred, gr->gr_gid))
		return true;
	if (admins && !gr)
		log_warn("%s: admin-group '%s' does not exist", c->core->cfg->path,
			 admins);
	log_warn("control socket: refused '%s' from uid %u (pid %d): only root%s%s may kick and reload",
		 what, (unsigned int)cred.uid, (int)cred.pid,
		 admins ? " and members of admin-group " : "",
		 admins ? admins : "");
	return false;
}

static void drain_request(struct control *c, int fd, bool on)
{
	char words[160];
	struct strbuf body = { 0 };

	if (c->drain(c->reload_arg, on, words, sizeof(words)) < 0) {
		answer(fd, "error: only a gateway (mode = server) drains", NULL);
		return;
	}
	strbuf_printf(&body, "%s", words);
	answer(fd, "ok", &body);
	free(body.buf);
}

static void handle(struct control *c, int fd, char *request, size_t len)
{
	struct strbuf body = { 0 };
	struct control_request r = control_request_parse(request, len);
	char error[80];

	if ((r.op == CONTROL_KICK || r.op == CONTROL_RELOAD ||
	     r.op == CONTROL_DRAIN || r.op == CONTROL_UNDRAIN) &&
	    !peer_may_change(c, fd, control_op_word(r.op))) {
		answer(fd, "error: permission denied: kick, reload and drain are for root and admin-group (culvert.conf(5))",
		       NULL);
		return;
	}
	switch (r.op) {
	case CONTROL_STATUS:
	case CONTROL_STATUS_ALL:
		status_text(c->core, c->transports, r.op == CONTROL_STATUS_ALL,
			    r.page, r.page_size, &body);
		answer(fd, "ok", &body);
		break;
	case CONTROL_STATUS_JSON:
		status_json(c->core, c->transports, r.page, r.page_size, &body);
		answer(fd, "ok", &body);
		break;
	case CONTROL_SHOW:
	case CONTROL_SHOW_JSON:
		if ((r.op == CONTROL_SHOW ? status_show : status_show_json)(
			    c->core, r.arg, &body))
			answer(fd, "ok", &body);
		else
			answer(fd, "error: no session of that name", NULL);
		break;
	case CONTROL_METRICS:
		metrics_text(c->core, c->transports, METRICS_TEXTFILE, &body);
		answer(fd, "ok", &body);
		break;
	case CONTROL_KICK:
		answer(fd, kick(c->core, r.arg, &body) ? "ok"
						 : "error: no session of that name",
		       &body);
		break;
	case CONTROL_RELOAD:
		answer(fd, c->reload(c->reload_arg) == 0
				   ? "ok"
				   : "error: the new config was refused; see the log",
		       NULL);
		break;
	case CONTROL_DRAIN:
	case CONTROL_UNDRAIN:
		drain_request(c, fd, r.op == CONTROL_DRAIN);
		break;
	case CONTROL_BAD:
		snprintf(error, sizeof(error), "error: %s", r.why);
		answer(fd, error, NULL);
		break;
	}
	free(body.buf);
}

static void on_client(void *arg, int fd, uint32_t events)
{
	struct control *c = arg;
	char request[CONTROL_REQUEST_MAX];
	ssize_t n = read(fd, request, sizeof(request) - 1);

	loop_unwatch(c->core->loop, fd);
	if (n > 0) {
		struct timeval tv = { .tv_sec = 1 };
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		int flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
		handle(c, fd, request, (size_t)n);
	}
	close(fd);
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct control *c = arg;

	for (int i = 0; i < 16; i++) {
		int conn = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn < 0)
			return;
		if (loop_watch(c->core->loop, conn, EPOLLIN, on_client, c) < 0)
			close(conn);
	}
}

/* ---- the socket */

/* Whether a daemon answers on path: then it is not ours to remove. */
static bool in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used = fd >= 0 &&
		    connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;

	if (fd >= 0)
		close(fd);
	return used;
}

/* The socket is born 0660 (the umask of bind makes its mode), never
 * reachable by everyone for a moment as a chmod after bind would leave
 * it; culvertd has no other thread yet that the umask could surprise.
 * privilege_drop later gives its group to the daemon's group. */
static int bind_private(int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0117);
	int ret = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));

	umask(old);
	return ret;
}

int control_open(struct core *core, const struct transports *ts,
		 control_reload_fn *reload, control_drain_fn *drain, void *arg,
		 struct control **out)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int err;

	if (!c)
		return -ENOMEM;
	c->core = core;
	c->transports = ts;
	c->reload = reload;
	c->drain = drain;
	c->reload_arg = arg;
	control_path(core->cfg, c->path, sizeof(c->path));
	if (!c->path[0]) {
		log_err("%s: its name cannot name a directory %s/NAME (too long, or starting with '.'): set control-socket",
			core->cfg->path, CONTROL_RUN_DIR);
		free(c);
		return -EINVAL;
	}
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		log_err("control socket path %s is too long", c->path);
		free(c);
		return -ENAMETOOLONG;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->path);
	if (in_use(&sun)) {
		log_err("another culvertd answers on %s; stop it first, or set control-socket",
			c->path);
		free(c);
		return -EADDRINUSE;
	}
	unlink(c->path);	/* left by a daemon that did not stop cleanly */
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind_private(c->fd, &sun) < 0 || listen(c->fd, 16) < 0) {
		err = -errno;
		log_err("cannot open the control socket %s: %s", c->path,
			strerror(errno));
		control_close(c);
		return err;
	}
	err = loop_watch(core->loop, c->fd, EPOLLIN, on_accept, c);
	if (err < 0) {
		control_close(c);
		return err;
	}
	log_info("control socket: %s", c->path);
	*out = c;
	return 0;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		loop_unwatch(c->core->loop, c->fd);
		close(c->fd);
		unlink(c->path);
	}
	free(c);
}
