/* culvertctl's side of the control socket: one request, one answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "ctl.h"
#include "log.h"
#include "strbuf.h"

static char socket_path[108];

int ctl_set_socket(const char *socket, const char *config)
{
	if (socket) {
		snprintf(socket_path, sizeof(socket_path), "%s", socket);
		return 0;
	}
	struct config *cfg;
	if (config_load(config, &cfg) < 0)
		return -EINVAL;
	control_path(cfg, socket_path, sizeof(socket_path));
	config_free(cfg);
	return 0;
}

static int connect_daemon(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (!socket_path[0]) {
		log_err("which daemon? give -c FILE (its config) or -s SOCKET");
		return -EINVAL;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", socket_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = -errno;
		log_err("cannot reach culvertd at %s: %s (is it running?)",
			socket_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

int ctl_request(const char *request)
{
	int fd = connect_daemon();

	if (fd < 0)
		return 1;
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* One write, and no SIGPIPE: the daemon may answer and close as soon
	 * as it has read the line. */
	char line[600];
	int len = snprintf(line, sizeof(line), "%s\n", request);
	if (len < 0 || (size_t)len >= sizeof(line) ||
	    send(fd, line, (size_t)len, MSG_NOSIGNAL) != len) {
		log_err("cannot talk to culvertd at %s: %s", socket_path,
			strerror(errno));
		close(fd);
		return 1;
	}
	shutdown(fd, SHUT_WR);

	struct strbuf answer = { 0 };
	char buf[4096];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_printf(&answer, "%.*s", (int)n, buf);
	close(fd);
	if (!answer.buf) {
		log_err("culvertd at %s closed without an answer", socket_path);
		return 1;
	}
	char *body = strchr(answer.buf, '\n');
	if (body)
		*body++ = '\0';
	int status = strcmp(answer.buf, "ok") == 0 ? 0 : 1;
	if (body)
		fputs(body, status ? stderr : stdout);
	if (status)
		log_err("%s", strncmp(answer.buf, "error: ", 7) == 0
				      ? answer.buf + 7 : answer.buf);
	free(answer.buf);
	return status;
}
