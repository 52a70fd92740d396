/*
 * plaintcp - an example culvert transport: culvert's messages over plain
 * TCP, each after its length in two bytes (big-endian). No handshake, no
 * encryption, no authentication: the table does not set
 * CV_TRANSPORT_SECURE, so culvertd loads it only with `insecure = yes`.
 *
 * It is written against the installed <culvert/transport.h> alone, as
 * culvert-transport(7) describes the ABI (its EXAMPLES section walks
 * through this file), to show that a fourth transport is one file:
 *
 *   make                    # pkg-config --cflags culvert-transport
 *   # in culvert.conf, on both ends:
 *   transport  = plaintcp
 *   insecure   = yes
 *   plugin-dir = /the/directory/of/plaintcp.so
 *
 * What it shows: a server that accepts links and a client that connects
 * (connect() again after every failure), the client's socket marked with
 * fwmark, a link that goes up without a handshake, framing a byte stream
 * into messages, batches in both directions, the core closing a link
 * from inside an upcall, counters for `culvertctl status`, and the table
 * that `culvertctl diagnose` reads. Everything hangs off the instance;
 * everything runs on culvertd's loop and never blocks it.
 */
#define _GNU_SOURCE			/* accept4() */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <culvert/transport.h>

#define FRAME_HDR 2			/* the length before each message */
#define MSG_MAX 65535			/* the most two bytes say */
#define READ_SIZE 16384			/* read per round, after a partial frame */
#define READ_ROUNDS 8			/* then back to the loop: fairness */
#define BACKLOG_MAX (1024 * 1024)	/* queued per link before send() drops */
#define DELIVER_MAX 64			/* messages per deliver() */
#define ACCEPTS_PER_WAKEUP 32

struct cv_link {
	struct cv_instance *inst;
	struct cv_link *next;		/* the instance's list */
	struct cv_session *session;	/* the core's, once link_up() took it */
	int fd;
	uint32_t events;		/* what the loop watches it for now */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	/* Inside an upcall for this link the core may close() it: close()
	 * then only marks it, and the code that made the upcall frees it. */
	unsigned int upcalls;
	bool closed;
	/* Framed messages the socket has not taken yet. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	/* What was read and not yet delivered: at most one partial frame,
	 * then one round's reading. */
	size_t in_len;
	uint8_t in[FRAME_HDR + MSG_MAX + READ_SIZE];
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	bool server;
	unsigned int timeout_ms;	/* a client's connect, from handshake-timeout */
	int listen_fd;
	struct cv_link *links;
	struct cv_link *client;		/* the client's one link */
	struct cv_timer *client_timer;	/* its connect deadline */
	struct cv_msg msgs[DELIVER_MAX];
	/* For stats(). */
	uint64_t connections, refused, bad_frame, send_dropped;
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)

/* ---- configuration */

/* "HOST:PORT" or "[IPV6]:PORT" of key ("listen", "remote"), resolved.
 * The core has checked the global keys' shape; a negative errno after a
 * log line that names the key. */
static int resolve(struct cv_instance *inst, const char *key, bool passive,
		   struct addrinfo **out)
{
	const char *value = inst->api->config_get(inst->host, key);
	const char *start, *end, *port = NULL;
	char host[256];

	if (!value) {
		LOG(inst, CV_LOG_ERR, "'%s' is not set", key);
		return -EINVAL;
	}
	if (value[0] == '[') {
		start = value + 1;
		end = strchr(start, ']');
		if (end && end[1] == ':')
			port = end + 2;
	} else {
		start = value;
		end = strrchr(value, ':');
		if (end)
			port = end + 1;
	}
	if (!port || !*port || end == start ||
	    (size_t)(end - start) >= sizeof(host)) {
		LOG(inst, CV_LOG_ERR, "'%s': '%s' is not HOST:PORT or [IPV6]:PORT",
		    key, value);
		return -EINVAL;
	}
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG,
	};
	int rc = getaddrinfo(host, port, &hints, out);
	if (rc != 0) {
		LOG(inst, CV_LOG_ERR, "cannot resolve %s '%s': %s", key, value,
		    gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

/* A number from the config; the core's default comes back when the key
 * is unset (handshake-timeout is 10 then), so def is for older cores. */
static unsigned long config_number(struct cv_instance *inst, const char *key,
				   unsigned long def)
{
	const char *text = inst->api->config_get(inst->host, key);

	return text ? strtoul(text, NULL, 0) : def;
}

/* ---- links */

static struct cv_link *link_new(struct cv_instance *inst, int fd)
{
	struct cv_link *link = calloc(1, sizeof(*link));

	if (!link)
		return NULL;
	link->inst = inst;
	link->fd = fd;
	link->next = inst->links;
	inst->links = link;
	/* Nagle would hold a small message (an inner TCP ACK) back. */
	int on = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return link;
}

static void link_free(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	for (struct cv_link **p = &inst->links; *p; p = &(*p)->next)
		if (*p == link) {
			*p = link->next;
			break;
		}
	if (inst->client == link) {
		inst->client = NULL;
		inst->api->timer_arm(inst->client_timer, -1);
	}
	inst->api->unwatch(inst->host, link->fd);	/* before close() */
	close(link->fd);
	free(link->out);
	free(link);
}

/* The peer or the network ended the link: free it, then tell the core.
 * Never from inside a call the core made; only from the loop's callbacks.
 * A client link that never came up is a failed connect(): session NULL. */
static void link_lost(struct cv_link *link, int err, const char *why)
{
	struct cv_instance *inst = link->inst;
	struct cv_session *session = link->session;

	link_free(link);
	inst->api->link_down(inst->host, session, err, why);
}

/* Write what the socket takes now. 0, or a negative errno: broken. */
static int flush_out(struct cv_link *link)
{
	while (link->out_off < link->out_len) {
		ssize_t n = send(link->fd, link->out + link->out_off,
				 link->out_len - link->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		link->out_off += (size_t)n;
	}
	link->out_off = link->out_len = 0;
	return 0;
}

static int watch(struct cv_link *link);

/* ---- receiving */

/* Hand msgs[0..n) up. False when the core closed the link meanwhile:
 * it is freed here then, and must not be touched. */
static bool deliver(struct cv_link *link, unsigned int n)
{
	struct cv_instance *inst = link->inst;

	if (n == 0)
		return true;
	link->upcalls++;
	inst->api->deliver(inst->host, link->session, inst->msgs, n);
	if (--link->upcalls == 0 && link->closed) {
		link_free(link);
		return false;
	}
	return true;
}

/* Deliver the whole frames in link->in and keep the partial one. 1 when
 * the link is gone, a negative errno for a frame that cannot be, else 0. */
static int deliver_frames(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	size_t off = 0;
	unsigned int n = 0;

	while (link->in_len - off >= FRAME_HDR) {
		uint8_t *p = link->in + off;
		size_t len = (size_t)p[0] << 8 | p[1];
		if (len == 0)
			return -EPROTO;	/* a message has its type byte at least */
		if (link->in_len - off < FRAME_HDR + len)
			break;
		inst->msgs[n++] = (struct cv_msg){ .data = p + FRAME_HDR, .len = len };
		off += FRAME_HDR + len;
		/* The messages point into link->in: deliver before moving it. */
		if (n == DELIVER_MAX) {
			if (!deliver(link, n))
				return 1;
			n = 0;
		}
	}
	if (!deliver(link, n))
		return 1;
	memmove(link->in, link->in + off, link->in_len - off);
	link->in_len -= off;
	return 0;
}

static void link_read(struct cv_link *link)
{
	for (int round = 0; round < READ_ROUNDS; round++) {
		ssize_t n = recv(link->fd, link->in + link->in_len,
				 sizeof(link->in) - link->in_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			link_lost(link, n < 0 ? -errno : -ECONNRESET,
				  n < 0 ? strerror(errno) : "the peer closed the connection");
			return;
		}
		link->in_len += (size_t)n;
		int err = deliver_frames(link);
		if (err == 1)
			return;
		if (err < 0) {
			link->inst->bad_frame++;
			link_lost(link, err, "a frame of length 0: this is no plaintcp peer");
			return;
		}
	}
}

/* The loop's callback for an up link's socket. */
static void on_link_io(void *arg, int fd, uint32_t events)
{
	struct cv_link *link = arg;

	(void)fd;
	if (events & CV_EV_OUT) {
		int err = flush_out(link);
		if (err < 0) {
			link_lost(link, err, strerror(-err));
			return;
		}
		if (watch(link) < 0) {
			link_lost(link, -ENOMEM, "cannot watch the socket");
			return;
		}
	}
	/* ERR and HUP too: the read says what happened. */
	if (events & (CV_EV_IN | CV_EV_ERR | CV_EV_HUP))
		link_read(link);
}

/* Readable always, writable while something waits to be sent; the
 * loop is told only when that changes. */
static int watch(struct cv_link *link)
{
	uint32_t events = CV_EV_IN | (link->out_len ? CV_EV_OUT : 0);

	if (events == link->events)
		return 0;
	link->events = events;
	return link->inst->api->watch(link->inst->host, link->fd, events,
				      on_link_io, link);
}

/* Offer a new link to the core. No handshake here, so it proves no
 * identity; max_msg is what a 2-byte length frames. */
static void link_up(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;
	struct cv_link_info info = {
		.identity = NULL,
		.peer = (const struct sockaddr *)&link->peer,
		.peer_len = link->peer_len,
		.max_msg = MSG_MAX,
	};

	link->upcalls++;
	link->session = inst->api->link_up(inst->host, link, &info);
	link->upcalls--;
	if (!link->session || link->closed) {
		/* Refused (the core said why), or closed at once. */
		inst->refused += !link->session;
		link_free(link);
		return;
	}
	if (watch(link) < 0)
		link_lost(link, -ENOMEM, "cannot watch the socket");
}

/* ---- server */

static void on_accept(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	(void)events;
	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &len,
				  SOCK_NONBLOCK | SOCK_CLOEXEC);
		/* EAGAIN, or a connection that died early. (Out of fds,
		 * the loop would wake us again at once: tls pauses
		 * accepting for a second then; an example does not.) */
		if (cfd < 0)
			return;
		struct cv_link *link = link_new(inst, cfd);
		if (!link) {
			close(cfd);
			return;
		}
		memcpy(&link->peer, &peer, len);
		link->peer_len = len;
		inst->connections++;
		link_up(link);
	}
}

static int plaintcp_listen(struct cv_instance *inst)
{
	struct addrinfo *ai;
	int err = resolve(inst, "listen", true, &ai);

	if (err < 0)
		return err;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);
	int on = 1, off = 0;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)	/* [::] takes IPv4 too */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot listen on %s: %s",
		    inst->api->config_get(inst->host, "listen"), strerror(errno));
	} else {
		err = inst->api->watch(inst->host, fd, CV_EV_IN, on_accept, inst);
	}
	freeaddrinfo(ai);
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	inst->listen_fd = fd;
	LOG(inst, CV_LOG_NOTICE, "listening on %s (TCP, no encryption)",
	    inst->api->config_get(inst->host, "listen"));
	return 0;
}

/* ---- client */

/* The link's connect ended, or never will (no answer in time). */
static void client_fail(struct cv_link *link, int err)
{
	char why[160];

	snprintf(why, sizeof(why), "%s, over TCP",
		 err == -ETIMEDOUT ? "no answer in time" : strerror(-err));
	link_lost(link, err, why);
}

static void on_client_timeout(void *arg)
{
	struct cv_instance *inst = arg;

	if (inst->client && !inst->client->session)
		client_fail(inst->client, -ETIMEDOUT);
}

/* The socket became writable: the connect is done, one way or other. */
static void on_connected(void *arg, int fd, uint32_t events)
{
	struct cv_link *link = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		client_fail(link, -err);
		return;
	}
	link->inst->api->timer_arm(link->inst->client_timer, -1);
	link_up(link);
}

/* A client's socket carries fwmark (SO_MARK): culvertd's rules send
 * marked packets around the tunnel. Without it, under a full tunnel
 * (route = default), the tunnel's own packets would go into the tunnel. */
static int set_mark(struct cv_instance *inst, int fd)
{
	unsigned long mark = config_number(inst, "fwmark", 0);
	unsigned int m = (unsigned int)mark;

	if (mark == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) < 0) {
		int err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot mark the socket with fwmark %u (SO_MARK needs CAP_NET_ADMIN): %s",
		    m, strerror(-err));
		return err;
	}
	return 0;
}

/* Called once at start and again after every failure, on this same
 * instance. Returns at once: the outcome comes from the loop, as
 * link_up() or link_down(NULL, ...), within handshake-timeout. */
static int plaintcp_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;

	if (inst->client && !inst->client->session)
		link_free(inst->client);	/* an attempt still under way */
	int err = resolve(inst, "remote", false, &ai);
	if (err < 0)
		return err;
	/* The first address only: enough for an example. */
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_TCP);
	err = fd < 0 ? -errno : set_mark(inst, fd);
	if (err == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot connect to %s: %s",
		    inst->api->config_get(inst->host, "remote"), strerror(errno));
	}
	struct cv_link *link = err == 0 ? link_new(inst, fd) : NULL;
	if (link) {
		memcpy(&link->peer, ai->ai_addr, ai->ai_addrlen);
		link->peer_len = ai->ai_addrlen;
		inst->client = link;
		/* Even a connect that is done at once is reported by the
		 * loop: never an upcall from inside connect(). */
		err = inst->api->watch(inst->host, fd, CV_EV_OUT, on_connected, link);
		if (err < 0)
			link_free(link);
	} else if (fd >= 0) {
		close(fd);
		err = err ? err : -ENOMEM;
	}
	freeaddrinfo(ai);
	if (err == 0)
		inst->api->timer_arm(inst->client_timer, inst->timeout_ms);
	return err;
}

/* ---- the table's other entries */

static int plaintcp_create(const struct cv_host_api *api, struct cv_host *host,
			   struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return -ENOMEM;
	inst->api = api;
	inst->host = host;
	inst->listen_fd = -1;
	const char *mode = api->config_get(host, "mode");
	inst->server = mode && strcmp(mode, "server") == 0;
	inst->timeout_ms = (unsigned int)config_number(inst, "handshake-timeout", 10) * 1000;
	inst->client_timer = api->timer_new(host, on_client_timeout, inst);
	if (!inst->client_timer) {
		free(inst);
		return -ENOMEM;
	}
	*out = inst;
	return 0;
}

/* Frame the batch into the link's queue, then give the socket what it
 * takes. Returns how many messages were taken: a full queue drops the
 * rest, as a full network would. */
static int plaintcp_send(struct cv_instance *inst, struct cv_link *link,
			 const struct cv_msg *msgs, unsigned int count)
{
	unsigned int taken = 0;

	if (link->closed)
		return -ENOTCONN;
	if (link->out_off && link->out_off >= link->out_cap / 2) {
		/* Room at the front again, so that the queue stays bounded. */
		memmove(link->out, link->out + link->out_off,
			link->out_len - link->out_off);
		link->out_len -= link->out_off;
		link->out_off = 0;
	}
	for (unsigned int i = 0; i < count; i++) {
		size_t len = msgs[i].len, need = link->out_len + FRAME_HDR + len;
		if (len == 0 || len > MSG_MAX ||
		    need - link->out_off > BACKLOG_MAX)
			continue;
		if (need > link->out_cap) {
			size_t cap = need < 65536 ? 65536 : 2 * need;
			uint8_t *out = realloc(link->out, cap);
			if (!out)
				continue;
			link->out = out;
			link->out_cap = cap;
		}
		link->out[link->out_len] = (uint8_t)(len >> 8);
		link->out[link->out_len + 1] = (uint8_t)len;
		memcpy(link->out + link->out_len + FRAME_HDR, msgs[i].data, len);
		link->out_len = need;
		taken++;
	}
	inst->send_dropped += count - taken;
	int err = flush_out(link);
	if (err < 0)
		return err;	/* the core closes the link */
	return watch(link) < 0 ? -ENOMEM : (int)taken;
}

static void plaintcp_close(struct cv_instance *inst, struct cv_link *link)
{
	(void)inst;
	if (link->upcalls) {
		link->closed = true;	/* freed when the upcall returns */
		return;
	}
	flush_out(link);	/* best effort: a last bye, never blocking */
	link_free(link);
}

static void plaintcp_destroy(struct cv_instance *inst)
{
	while (inst->links)
		link_free(inst->links);
	if (inst->listen_fd >= 0) {
		inst->api->unwatch(inst->host, inst->listen_fd);
		close(inst->listen_fd);
	}
	inst->api->timer_free(inst->client_timer);
	free(inst);
}

static void plaintcp_stats(struct cv_instance *inst,
			   void (*emit)(void *arg, const char *name, uint64_t value),
			   void *arg)
{
	emit(arg, "connections", inst->connections);
	emit(arg, "refused", inst->refused);
	emit(arg, "bad_frame", inst->bad_frame);
	emit(arg, "send_dropped", inst->send_dropped);
}

/* The [plaintcp] section takes no keys of its own. */
static const struct cv_option plaintcp_options[] = {
	{ NULL, NULL },
};

/* For culvertctl diagnose: a TCP stream, two bytes before each message. */
static const struct cv_wire plaintcp_wire = {
	.size = sizeof(struct cv_wire),
	.ipproto = IPPROTO_TCP,
	.overhead = FRAME_HDR,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "plaintcp",
	.description = "an example: plain TCP, no encryption (needs insecure = yes)",
	/* TCP delivers every message, in order; large TCP segments from
	 * TUN go whole, in messages of up to max_msg bytes. */
	.flags = CV_TRANSPORT_RELIABLE | CV_TRANSPORT_GSO,
	.options = plaintcp_options,
	.create = plaintcp_create,
	.listen = plaintcp_listen,
	.connect = plaintcp_connect,
	.send = plaintcp_send,
	.close = plaintcp_close,
	.destroy = plaintcp_destroy,
	.stats = plaintcp_stats,
	.wire = &plaintcp_wire,
};
