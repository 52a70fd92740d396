#include "metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "addr.h"
#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

/* Prometheus scrapes one at a time; a few more for people and their
 * curl, and none may hold the loop or much memory. */
#define MAX_CONNECTIONS 8
#define MAX_PER_ADDRESS 4
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_MEMORY (32 * 1024)

#if MHD_VERSION < 0x00097002
typedef int MHD_Result;
#else
typedef enum MHD_Result MHD_Result;
#endif

struct metrics_http {
	struct core *core;
	const struct transports *ts;
	struct MHD_Daemon *mhd;
	int epoll_fd;
	struct loop_timer *timer;
};

static MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	MHD_Result ret;

	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static MHD_Result on_request(void *arg, struct MHD_Connection *c,
			     const char *url, const char *method,
			     const char *version, const char *upload,
			     size_t *upload_size, void **state)
{
	struct metrics_http *m = arg;
	static char not_found[] = "culvertd serves its metrics at /metrics\n";
	static char not_allowed[] = "only GET and HEAD\n";
	const char *text = "text/plain; charset=utf-8";

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, not_allowed,
			     strlen(not_allowed), false);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, text, not_found,
			     strlen(not_found), false);
	struct strbuf body = { 0 };
	metrics_text(m->core, m->ts, METRICS_PROCESS, &body);
	if (!body.buf)
		return MHD_NO;
	/* MHD frees the buffer with free(), as strbuf allocated it. */
	return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		     body.buf, body.len, true);
}

/* Run what MHD has to do now, and wake up when its next timeout is due. */
static void run(struct metrics_http *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(m->mhd);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		loop_timer_arm(m->timer, (int64_t)ms);
	else
		loop_timer_arm(m->timer, -1);
}

static void on_ready(void *arg, int fd, uint32_t events)
{
	run(arg);
}

static void on_timer(void *arg)
{
	run(arg);
}

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_info("metrics-listen: %s", line);
}

/* The listening socket, bound here so that its errors name the key. */
static int listen_socket(const char *endpoint)
{
	char host[256], port[8];
	const char *why;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	int fd, err, one = 1;

	if (endpoint_split(endpoint, host, sizeof(host), port, sizeof(port),
			   &why) < 0)
		return -EINVAL;	/* the config parser checked it */
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		log_err("metrics-listen %s: %s", endpoint, gai_strerror(err));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		log_err("metrics-listen %s: cannot listen: %s", endpoint,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	return fd;
}

int metrics_http_open(struct core *core, const struct transports *ts,
		      struct metrics_http **out)
{
	const char *endpoint = core->cfg->metrics_listen;
	struct metrics_http *m = calloc(1, sizeof(*m));
	int fd, err;

	if (!m)
		return -ENOMEM;
	m->core = core;
	m->ts = ts;
	m->epoll_fd = -1;
	fd = listen_socket(endpoint);
	if (fd < 0) {
		free(m);
		return fd;
	}
	m->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)MAX_PER_ADDRESS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_END);
	if (!m->mhd) {
		log_err("metrics-listen %s: libmicrohttpd would not start", endpoint);
		close(fd);
		free(m);
		return -EIO;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->epoll_fd = info ? info->epoll_fd : -1;
	m->timer = loop_timer_new(core->loop, on_timer, m);
	err = m->epoll_fd < 0 || !m->timer ? -ENOMEM
		: loop_watch(core->loop, m->epoll_fd, EPOLLIN, on_ready, m);
	if (err < 0) {
		log_err("metrics-listen %s: cannot watch its connections", endpoint);
		metrics_http_close(m);
		return err;
	}
	log_notice("metrics on http://%s/metrics", endpoint);
	*out = m;
	return 0;
}

void metrics_http_close(struct metrics_http *m)
{
	if (!m)
		return;
	if (m->epoll_fd >= 0)
		loop_unwatch(m->core->loop, m->epoll_fd);
	loop_timer_free(m->timer);
	if (m->mhd)
		MHD_stop_daemon(m->mhd);	/* closes the listening socket */
	free(m);
}
