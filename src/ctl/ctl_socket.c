/* culvertctl's side of the control socket: one request, one answer. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control_request.h"
#include "ctl.h"
#include "log.h"
#include "strbuf.h"

static char socket_path[108];
static char config_path[4096];

int ctl_set_socket(const char *socket, const char *config)
{
	config_path[0] = '\0';
	if (socket) {
		snprintf(socket_path, sizeof(socket_path), "%s", socket);
		return 0;
	}
	snprintf(config_path, sizeof(config_path), "%s", config);
	struct config *cfg;
	if (config_load(config, &cfg) < 0)
		return -EINVAL;
	control_path(cfg, socket_path, sizeof(socket_path));
	config_free(cfg);
	return 0;
}

const char *ctl_socket_path(void)
{
	return socket_path;
}

const char *ctl_config_path(void)
{
	return config_path[0] ? config_path : NULL;
}

/* A connected socket, or a negative errno (logged unless quiet). */
static int connect_daemon(bool quiet)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (!socket_path[0]) {
		int err = ctl_find_instance(quiet);
		if (err < 0)
			return err;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;
		if (!quiet)
			log_err("cannot reach culvertd at %s: %s (is it running?)",
				socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

/* Send request, read the whole answer into *answer (NUL-terminated).
 * Returns 0 or a negative errno, logged unless quiet. */
static int exchange(const char *request, struct strbuf *answer, bool quiet)
{
	int fd = connect_daemon(quiet);

	if (fd < 0)
		return fd;
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* One write, and no SIGPIPE: the daemon may answer and close as soon
	 * as it has read the line. */
	char line[CONTROL_REQUEST_MAX];
	int len = snprintf(line, sizeof(line), "%s\n", request);
	if (len < 0 || (size_t)len >= sizeof(line) ||
	    send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		int err = len < 0 || (size_t)len >= sizeof(line) ? -EMSGSIZE : -errno;
		if (!quiet)
			log_err("cannot talk to culvertd at %s: %s", socket_path,
				strerror(-err));
		close(fd);
		return err;
	}
	shutdown(fd, SHUT_WR);

	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		/* A daemon gone wrong must not take all our memory. */
		if (answer->len + (size_t)n > CONTROL_ANSWER_MAX) {
			close(fd);
			if (!quiet)
				log_err("culvertd at %s answered more than %u MiB; gave up",
					socket_path, CONTROL_ANSWER_MAX >> 20);
			free(answer->buf);
			answer->buf = NULL;
			return -EMSGSIZE;
		}
		strbuf_append(answer, buf, (size_t)n);
	}
	close(fd);
	if (!answer->buf) {
		if (!quiet)
			log_err("culvertd at %s closed without an answer",
				socket_path);
		return -ECONNRESET;
	}
	return 0;
}

int ctl_request(const char *request)
{
	struct strbuf answer = { 0 };

	if (exchange(request, &answer, false) < 0)
		return 1;
	struct control_answer a = control_answer_parse(answer.buf, answer.len);
	int status = a.ok ? 0 : 1;
	fwrite(a.body, 1, a.body_len, status ? stderr : stdout);
	if (status)
		log_err("%s", a.message);
	free(answer.buf);
	return status;
}

int ctl_send(enum control_op op, const char *name)
{
	char request[CONTROL_REQUEST_MAX];
	int n = control_request_format(op, name, request, sizeof(request));

	if (n == -EINVAL)
		return CTL_USAGE;	/* empty, or a control character */
	if (n < 0) {
		/* What the request's words take of the line the daemon reads. */
		int words = control_request_format(op, "x", request, sizeof(request)) - 1;
		log_err("a session name is at most %d bytes",
			CONTROL_REQUEST_MAX - 1 - words);
		return 1;
	}
	request[n - 1] = '\0';	/* ctl_request adds the newline */
	return ctl_request(request);
}

int ctl_query(const char *request, struct strbuf *body)
{
	struct strbuf answer = { 0 };
	int err = exchange(request, &answer, true);

	if (err < 0)
		return err;
	struct control_answer a = control_answer_parse(answer.buf, answer.len);
	if (body && a.body_len)
		strbuf_append(body, a.body, a.body_len);
	free(answer.buf);
	return a.ok ? 0 : -EPROTO;
}
