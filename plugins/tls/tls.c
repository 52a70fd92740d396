/*
 * The tls transport: culvert's messages inside TLS over TCP.
 *
 * A server accepts any number of connections on one listening socket; a
 * client connects to 'remote', trying each of its addresses in turn. A
 * link comes up only once the TLS handshake, and GnuTLS's verification
 * of the peer's certificate, have succeeded (gnutls_common.c sets that
 * up, and explains a refusal).
 *
 * tls_link.c carries one connection's messages, and says how they are
 * framed inside the TLS stream.
 *
 * TCP is reliable and ordered, so the core need not retransmit over it:
 * CV_TRANSPORT_RELIABLE. It is also head-of-line blocking, which is why
 * dtls is preferred where UDP gets through and tls is the fallback.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/endpoint.h"
#include "tls.h"

/* TLS 1.3, or 1.2 at least; the server's order of ciphers wins. */
#define DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"

#define ACCEPTS_PER_WAKEUP 64
#define ACCEPT_PAUSE_MS 1000
#define CONNECT_TRIES 8		/* addresses of 'remote' tried per connect() */

/* ---- configuration */

/* ---- links */

/* An IPv4 client of a [::] listener arrives as ::ffff:a.b.c.d; the core
 * and the log see it as the IPv4 address it is. */
static void set_peer(struct cv_link *link, const struct sockaddr *sa,
		     socklen_t len)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;
	char host[INET6_ADDRSTRLEN], port[8];

	if (sa->sa_family == AF_INET6 && len >= sizeof(*in6) &&
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct sockaddr_in in = { .sin_family = AF_INET,
					  .sin_port = in6->sin6_port };
		memcpy(&in.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		memcpy(&link->peer, &in, sizeof(in));
		link->peer_len = sizeof(in);
	} else {
		if (len > sizeof(link->peer))
			len = sizeof(link->peer);
		memcpy(&link->peer, sa, len);
		link->peer_len = len;
	}
	if (getnameinfo((const struct sockaddr *)&link->peer, link->peer_len,
			host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(link->peer_name, sizeof(link->peer_name), "(unknown)");
		return;
	}
	snprintf(link->peer_name, sizeof(link->peer_name),
		 link->peer.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
		 port);
}

struct cv_link *link_new(struct cv_instance *inst)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->fd = -1;
	link->timer = inst->api->timer_new(inst->host, link_on_timer, link);
	link->rekey_timer = inst->api->timer_new(inst->host, link_on_rekey, link);
	if (!link->timer || !link->rekey_timer) {
		if (link->timer)
			inst->api->timer_free(link->timer);
		if (link->rekey_timer)
			inst->api->timer_free(link->rekey_timer);
		free(link);
		return NULL;
	}
	link->next = inst->links;
	if (link->next)
		link->next->prev = link;
	inst->links = link;
	return link;
}

static void close_fd(struct cv_link *link)
{
	if (link->fd < 0)
		return;
	link->inst->api->unwatch(link->inst->host, link->fd);
	close(link->fd);
	link->fd = -1;
	link->events = 0;
}

/* The queue of server handshakes under way, for max-handshakes. */
void handshake_queue_enter(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	link->hs_prev = inst->hs_newest;
	link->hs_next = NULL;
	if (inst->hs_newest)
		inst->hs_newest->hs_next = link;
	else
		inst->hs_oldest = link;
	inst->hs_newest = link;
	inst->n_handshaking++;
}

void handshake_queue_leave(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->hs_prev)
		link->hs_prev->hs_next = link->hs_next;
	else
		inst->hs_oldest = link->hs_next;
	if (link->hs_next)
		link->hs_next->hs_prev = link->hs_prev;
	else
		inst->hs_newest = link->hs_prev;
	link->hs_prev = link->hs_next = NULL;
	inst->n_handshaking--;
}

/* Free at once, without a word to the peer or the core. */
void link_free(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->prev)
		link->prev->next = link->next;
	else
		inst->links = link->next;
	if (link->next)
		link->next->prev = link->prev;
	if (inst->server && link->state == LINK_HANDSHAKE)
		handshake_queue_leave(link);
	close_fd(link);
	gtls_session_free(link->tls);
	free(link->doom.why);
	inst->api->timer_free(link->timer);
	inst->api->timer_free(link->rekey_timer);
	free(link->carry);
	free(link->out);
	if (link->addrs)
		freeaddrinfo(link->addrs);
	free(link);
}

static void tcp_nodelay(int fd)
{
	int on = 1;

	/* Nagle would hold back a small record (an ACK of the tunnelled
	 * TCP) until the previous one is acknowledged: the inner TCP's
	 * ACK clock stalls and throughput halves. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* ---- client */

/* Start a non-blocking connect to the next address of 'remote'. False
 * when none is left; fail_err and fail_why then say why. */
static bool client_try_next(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	close_fd(link);
	while (link->next_addr && link->tries < CONNECT_TRIES) {
		struct addrinfo *ai = link->next_addr;
		link->next_addr = ai->ai_next;
		link->tries++;
		set_peer(link, ai->ai_addr, ai->ai_addrlen);
		int fd = socket(ai->ai_family,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
				IPPROTO_TCP);
		if (fd < 0) {
			link->fail_err = -errno;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot open a TCP socket for %s: %s",
				 link->peer_name, strerror(errno));
			continue;
		}
		tcp_nodelay(fd);
		int err = endpoint_mark(inst->api, inst->host, fd);
		if (err < 0) {
			link->fail_err = err;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot mark the socket for %s with fwmark",
				 link->peer_name);
			close(fd);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			link->fail_err = -errno;
			snprintf(link->fail_why, sizeof(link->fail_why),
				 "cannot reach %s: %s", link->peer_name,
				 strerror(errno));
			close(fd);
			continue;
		}
		/* Even a connect that completed at once is reported by
		 * the loop, never from inside connect(). */
		link->fd = fd;
		link_set_events(link, CV_EV_OUT);
		inst->api->timer_arm(link->timer,
				     (int64_t)inst->handshake_timeout * 1000);
		return true;
	}
	return false;
}

static void connect_failed(struct cv_link *link, int err)
{
	link->fail_err = -err;
	if (err == ECONNREFUSED)
		snprintf(link->fail_why, sizeof(link->fail_why),
			 "%s refused the TCP connection (is culvertd running there, with transport tls?)",
			 link->peer_name);
	else
		snprintf(link->fail_why, sizeof(link->fail_why),
			 "cannot reach %s: %s", link->peer_name, strerror(err));
	if (link->next_addr)
		LOG(link->inst, CV_LOG_INFO,
		    "%s; trying the next address of 'remote'", link->fail_why);
	if (!client_try_next(link))
		link_client_fail(link, link->fail_err, link->fail_why);
}

void client_connected(struct cv_link *link)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(link->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(link, err);
		return;
	}
	if (link_start_tls(link) < 0) {
		link_client_fail(link, -ENOMEM, "cannot start a TLS session");
		return;
	}
	link_handshake_step(link);
}

void client_timed_out(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	link->fail_err = -ETIMEDOUT;
	snprintf(link->fail_why, sizeof(link->fail_why),
		 "no answer from %s within %u s (is 'remote' right? a firewall?)",
		 link->peer_name, inst->handshake_timeout);
	if (!client_try_next(link))
		link_client_fail(link, link->fail_err, link->fail_why);
}

static int tls_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	/* A client has one connection; one still starting is abandoned. */
	for (struct cv_link *l = inst->links, *next; l; l = next) {
		next = l->next;
		if (l->state != LINK_UP)
			link_free(l);
	}
	int err = endpoint_resolve(inst->api, inst->host, "remote", SOCK_STREAM,
				   false, &ai);
	if (err < 0)
		return err;
	struct cv_link *link = link_new(inst);
	if (!link) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	link->state = LINK_CONNECTING;
	link->addrs = link->next_addr = ai;
	if (!client_try_next(link)) {
		/* Reported from the loop, as any other failure. */
		link->state = LINK_FAILED;
		inst->api->timer_arm(link->timer, 0);
	}
	return 0;
}

/* ---- server */

static void on_accept(void *arg, int fd, uint32_t events);

static void on_accept_resume(void *arg)
{
	struct cv_instance *inst = arg;

	if (inst->listen_fd >= 0)
		inst->api->watch(inst->host, inst->listen_fd, CV_EV_IN, on_accept,
				 inst);
}

static void accept_one(struct cv_instance *inst, int fd,
		       const struct sockaddr_storage *ss, socklen_t len)
{
	struct cv_link *link = link_new(inst);

	if (!link) {
		close(fd);
		return;
	}
	link->fd = fd;
	set_peer(link, (const struct sockaddr *)ss, len);
	if (inst->n_handshaking >= inst->max_handshakes) {
		/* Full: the oldest handshake goes, not the newest. A real
		 * client finishes within a round trip or two and is hardly
		 * ever the oldest; a flood that holds every place, and
		 * takes each freed one back at once, would otherwise keep
		 * real clients out for as long as it lasts. */
		struct cv_link *oldest = inst->hs_oldest;
		inst->stats.evicted++;
		PEER_LOG(inst, CV_LOG_INFO,
			 "dropped %s: the oldest of %u handshakes under way, making room for %s (max-handshakes)",
			 oldest->peer_name, inst->n_handshaking, link->peer_name);
		link_free(oldest);
	}
	tcp_nodelay(fd);
	if (link_start_tls(link) < 0) {
		link_free(link);
		return;
	}
	link_set_events(link, CV_EV_IN);
}

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	for (unsigned int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int conn = accept4(inst->listen_fd, (struct sockaddr *)&ss, &len,
				   SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (conn >= 0) {
			accept_one(inst, conn, &ss, len);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* The connection stays queued and the listener
			 * readable: without a pause the loop would spin. */
			inst->stats.accept_paused++;
			PEER_LOG(inst, CV_LOG_WARNING,
				 "cannot accept connections: %s; pausing for %d ms (raise the open files limit?)",
				 strerror(errno), ACCEPT_PAUSE_MS);
			inst->api->unwatch(inst->host, inst->listen_fd);
			inst->api->timer_arm(inst->accept_timer, ACCEPT_PAUSE_MS);
			return;
		}
		LOG(inst, CV_LOG_ERR, "accept: %s", strerror(errno));
		return;
	}
}

static int tls_listen(struct cv_instance *inst)
{
	const char *where = inst->api->config_get(inst->host, "listen");
	struct addrinfo *ai;
	int err = endpoint_resolve(inst->api, inst->host, "listen", SOCK_STREAM,
				   true, &ai);

	if (err < 0)
		return err;
	inst->accept_timer = inst->api->timer_new(inst->host, on_accept_resume,
						  inst);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);
	if (!inst->accept_timer || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		LOG(inst, CV_LOG_ERR, "cannot open a TCP socket: %s", strerror(-err));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err;
	}
	int on = 1;
	/* A restarted server must not wait out TIME_WAIT of its old
	 * connections before it can listen again. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	endpoint_dual_stack(fd, ai->ai_family);	/* [::] takes IPv4 clients too */
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot listen on %s (TCP): %s%s", where,
		    strerror(errno),
		    errno == EADDRINUSE ? " (another program, or another culvertd, has it)"
		    : errno == EADDRNOTAVAIL ? " (no interface here has that address)"
		    : "");
		close(fd);
		freeaddrinfo(ai);
		return err;
	}
	freeaddrinfo(ai);
	err = inst->api->watch(inst->host, fd, CV_EV_IN, on_accept, inst);
	if (err < 0) {
		close(fd);
		return err;
	}
	inst->listen_fd = fd;
	LOG(inst, CV_LOG_NOTICE, "listening on %s (TCP); clients %s", where,
	    inst->tls.require_client_cert
		    ? "need a certificate signed by 'ca'"
		    : "need no certificate (auth = password)");
	return 0;
}

/* ---- reloading */

/* The links tls_reload() doomed, ended from the loop: a plugin never
 * calls link_down() from inside a call the core made to it. One at a
 * time, looked up again after each upcall, which may end others. */
static void on_recheck(void *arg)
{
	struct cv_instance *inst = arg;

	for (;;) {
		struct cv_link *link = inst->links;
		while (link && !link->doom.why)
			link = link->next;
		if (!link)
			return;
		char why[512];
		snprintf(why, sizeof(why), "%s", link->doom.why);
		link_refuse(link, link->doom.err, why);
	}
}

/* New credentials for new connections; every peer up now is checked
 * against the new ca and crl, and those that fail are ended. */
static int tls_reload(struct cv_instance *inst)
{
	unsigned int doomed = 0;
	int err = gtls_reload(&inst->tls);

	if (err < 0)
		return err;
	for (struct cv_link *link = inst->links; link; link = link->next)
		if (link->state == LINK_UP && link->session && !link->closed &&
		    !link->doom.why)
			doomed += gtls_doom_check(&inst->tls, link->tls,
						  link->peer_name, &link->doom);
	if (doomed)
		inst->api->timer_arm(inst->recheck_timer, 0);
	return 0;
}

/* ---- the table's entry points */

static int tls_create(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));
	char remote_host[256] = "";
	const char *port;

	if (!inst)
		return -ENOMEM;
	inst->api = api;
	inst->host = host;
	inst->listen_fd = -1;
	const char *mode = api->config_get(host, "mode");
	inst->server = mode && strcmp(mode, "server") == 0;
	int err = plugin_config_number(api, host, "handshake-timeout", 10, 1, 3600,
			       &inst->handshake_timeout);
	if (err == 0)
		err = plugin_config_number(api, host, "max-handshakes", 256, 1, 1000000,
				   &inst->max_handshakes);
	if (err == 0)
		err = plugin_config_number(api, host, "rekey-interval", 3600, 1, 604800,
				   &inst->rekey_interval);
	const char *remote = api->config_get(host, "remote");
	if (!inst->server && remote &&
	    endpoint_parse(remote, remote_host, sizeof(remote_host), &port) < 0)
		remote_host[0] = '\0';
	if (err == 0)
		err = gtls_init(&inst->tls, api, host, inst->server,
				remote_host[0] ? remote_host : NULL,
				DEFAULT_PRIORITY);
	if (err < 0) {
		free(inst);
		return err;
	}
	inst->recheck_timer = api->timer_new(host, on_recheck, inst);
	if (!inst->recheck_timer) {
		gtls_deinit(&inst->tls);
		free(inst);
		return -ENOMEM;
	}
	*out = inst;
	return 0;
}

static int tls_send(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count)
{
	return link_send(link, msgs, count);
}

static void tls_close(struct cv_instance *inst, struct cv_link *link)
{
	link_close(link);
}

static void tls_destroy(struct cv_instance *inst)
{
	/* One link per turn, each removing itself from the list. */
	while (inst->links)
		link_close_now(inst->links);
	if (inst->listen_fd >= 0) {
		inst->api->unwatch(inst->host, inst->listen_fd);
		close(inst->listen_fd);
	}
	if (inst->accept_timer)
		inst->api->timer_free(inst->accept_timer);
	inst->api->timer_free(inst->recheck_timer);
	gtls_deinit(&inst->tls);
	free(inst);
}

static void tls_stats(struct cv_instance *inst,
		      void (*emit)(void *arg, const char *name, uint64_t value),
		      void *arg)
{
#define TLS_STATS_EMIT(name) emit(arg, #name, inst->stats.name);
	TLS_STATS(TLS_STATS_EMIT)
#undef TLS_STATS_EMIT
}

static const struct cv_option tls_options[] = {
	{ "listen", "where tls listens, if not the global listen (e.g. 0.0.0.0:443)" },
	{ "remote", "the server's tls endpoint, if not the global remote" },
	{ "priority", "GnuTLS priority string for tls only (default: TLS 1.3, or 1.2 at least)" },
	{ NULL, NULL },
};

/* A TCP stream: each message framed by its 2-byte length, inside TLS
 * records that add their header and tag once per up to 16 KiB. */
static const struct cv_wire tls_wire = {
	.size = sizeof(struct cv_wire),
	.flags = CV_WIRE_AT_LEAST,
	.ipproto = IPPROTO_TCP,
	.overhead = FRAME_HDR,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "tls",
	.description = "TLS over TCP (GnuTLS), with X.509 certificates; the fallback where UDP is blocked",
	.flags = CV_TRANSPORT_SECURE | CV_TRANSPORT_RELIABLE | CV_TRANSPORT_GSO,
	.options = tls_options,
	.create = tls_create,
	.listen = tls_listen,
	.connect = tls_connect,
	.send = tls_send,
	.close = tls_close,
	.destroy = tls_destroy,
	.reload = tls_reload,
	.stats = tls_stats,
	.wire = &tls_wire,
};
