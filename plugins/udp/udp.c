/*
 * The plain UDP transport: one datagram per message, no handshake, no
 * crypto. A server tells its peers apart by address and port on one
 * socket; a client connects its socket to the server so that the kernel
 * drops datagrams from anyone else.
 *
 * It authenticates nothing, so culvertd only loads it with insecure = yes.
 * It is the baseline the secure transports are measured against, and a
 * tool for networks that are already trusted.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <culvert/transport.h>

#include "../common/dgram_errors.h"
#include "../common/endpoint.h"
#include "../common/plugin_util.h"

#include "udp.h"

static int parse_size(const char *text, int *out)
{
	char *end;
	unsigned long long v = strtoull(text, &end, 10);

	if (end == text)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v < 65536 || v > (256u << 20))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int udp_create(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return -ENOMEM;
	inst->api = api;
	inst->host = host;
	inst->fd = -1;
	inst->socket_buffer = DEFAULT_SOCKET_BUFFER;
	const char *size = api->config_get(host, "socket-buffer");
	if (size && parse_size(size, &inst->socket_buffer) < 0) {
		LOG(inst, CV_LOG_ERR,
		    "[udp] socket-buffer: '%s' is not a size (expected 64K to 256M, e.g. 4M)",
		    size);
		free(inst);
		return -EINVAL;
	}
	if (getrandom(&inst->seed, sizeof(inst->seed), 0) != sizeof(inst->seed))
		inst->seed = (uint64_t)(uintptr_t)inst;
	if (dgram_rx_init(&inst->rx, DATAGRAM_MAX, true, true) < 0) {
		free(inst);
		return -ENOMEM;
	}
	*out = inst;
	return 0;
}

static int open_socket(struct cv_instance *inst, const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);

	if (fd < 0)
		return -errno;
	endpoint_dual_stack(fd, ai->ai_family);	/* [::] takes IPv4 clients too */
	endpoint_dont_fragment(inst->api, inst->host, fd, ai->ai_family, true);
	/* A burst from TUN must not overflow a default-sized buffer. */
	endpoint_buffers(fd, inst->socket_buffer);
	/* Datagrams that arrive as one large GSO packet (a veth, a NIC
	 * with GRO) come up whole, their size in a cmsg: one read. */
	int on = 1;
	setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
	return fd;
}

/* ---- receiving */

/* A client's ICMP errors: port unreachable from the server is a sign
 * for the core (link_suspect) that the server is gone; before the
 * session is up, the core's hello retransmissions judge. */
static void client_errors(struct cv_instance *inst)
{
	struct cv_link *link = inst->client;

	if (!link || inst->fd < 0 ||
	    !dgram_errors_read(inst->fd, (const struct sockaddr *)&link->peer,
			       link->peer_len) ||
	    !link->session || !CV_HOST_API_HAS(inst->api, link_suspect))
		return;
	char why[128], peer[64];
	endpoint_format((const struct sockaddr *)&link->peer, link->peer_len,
			peer, sizeof(peer));
	snprintf(why, sizeof(why),
		 "ICMP port unreachable from %s: nothing listens there now", peer);
	inst->api->link_suspect(inst->host, link->session, why);
}

static void on_readable(void *arg, int fd, uint32_t events)
{
	struct cv_instance *inst = arg;

	if (!inst->server && (events & CV_EV_ERR))
		client_errors(inst);
	/* inst->fd, not fd: the core may have closed the client's link,
	 * and with it the socket, just now. An error (say ECONNREFUSED, an
	 * ICMP error for an earlier send while the server is not up yet) is
	 * the core's retransmission's and keepalives' business. */
	dgram_rx_batch(&inst->rx, inst->fd, udp_rx_dispatch, inst);
}

/* ---- server */

static int udp_listen(struct cv_instance *inst)
{
	struct addrinfo *ai;
	int err = endpoint_resolve(inst->api, inst->host, "listen",
				   SOCK_DGRAM, true, &ai);

	if (err < 0)
		return err;
	inst->server = true;
	if (peer_table_init(&inst->by_addr, inst->seed, false) < 0) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	inst->fd = open_socket(inst, ai);
	if (inst->fd < 0) {
		err = inst->fd;
	} else if ((err = endpoint_share_port(inst->api, inst->host,
					      inst->fd)) < 0) {
		/* logged */
	} else if (bind(inst->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = -errno;
		LOG(inst, CV_LOG_ERR, "cannot listen on %s: %s",
		    inst->api->config_get(inst->host, "listen"), strerror(errno));
	} else if ((err = endpoint_steer_datagrams(inst->api, inst->host,
						   inst->fd)) < 0) {
		/* logged */
	} else {
		err = inst->api->watch(inst->host, inst->fd, CV_EV_IN,
				       on_readable, inst);
	}
	freeaddrinfo(ai);
	if (err == 0)
		LOG(inst, CV_LOG_NOTICE, "listening on %s",
		    inst->api->config_get(inst->host, "listen"));
	return err;
}

/* ---- client */

static void client_close(struct cv_instance *inst)
{
	endpoint_close(inst->api, inst->host, &inst->fd);
	free(inst->client);
	inst->client = NULL;
}

static void on_client_up(void *arg)
{
	struct cv_instance *inst = arg;
	struct cv_link *link = inst->client;
	struct cv_link_info info = {
		.peer = (const struct sockaddr *)&link->peer,
		.peer_len = link->peer_len,
	};

	link->session = inst->api->link_up(inst->host, link, &info);
	if (!link->session)
		client_close(inst);	/* refused: the core said why */
}

static int udp_connect(struct cv_instance *inst)
{
	struct addrinfo *ai;
	int err = endpoint_resolve(inst->api, inst->host, "remote",
				   SOCK_DGRAM, false, &ai);

	if (err < 0)
		return err;
	client_close(inst);
	inst->client = calloc(1, sizeof(*inst->client));
	if (!inst->client) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	inst->client->inst = inst;
	/* Each address of 'remote' in getaddrinfo's order, until one has a
	 * route (an IPv6 address on a host without IPv6, say, has none). */
	err = -EHOSTUNREACH;
	for (const struct addrinfo *a = ai; a && err < 0; a = a->ai_next) {
		endpoint_close(inst->api, inst->host, &inst->fd);
		memcpy(&inst->client->peer, a->ai_addr, a->ai_addrlen);
		inst->client->peer_len = a->ai_addrlen;
		inst->fd = open_socket(inst, a);
		if (inst->fd >= 0)
			dgram_errors_on(inst->fd, a->ai_family);
		/* A mark that cannot be set is logged by endpoint_mark. */
		err = inst->fd < 0 ? inst->fd
				   : endpoint_mark(inst->api, inst->host, inst->fd);
		if (err == 0 && connect(inst->fd, a->ai_addr, a->ai_addrlen) < 0)
			err = -errno;
		if (err == 0)
			err = inst->api->watch(inst->host, inst->fd, CV_EV_IN,
					       on_readable, inst);
	}
	freeaddrinfo(ai);
	if (err < 0) {
		LOG(inst, CV_LOG_ERR, "cannot open a socket to %s: %s",
		    inst->api->config_get(inst->host, "remote"), strerror(-err));
		client_close(inst);
		return err;
	}
	if (!inst->up_timer)
		inst->up_timer = inst->api->timer_new(inst->host, on_client_up,
						      inst);
	if (!inst->up_timer) {
		client_close(inst);
		return -ENOMEM;
	}
	/* No handshake: the link is up at once, but reported from the
	 * loop, not from inside connect(). */
	inst->api->timer_arm(inst->up_timer, 0);
	return 0;
}

/* ---- sending */

/* How many of msgs (at most max, within iov room) leave as one
 * UDP_SEGMENT send: equal sizes, the last maybe shorter, 64 KiB at most. */
static unsigned int gso_run(const struct cv_instance *inst,
			    const struct cv_msg *msgs, unsigned int max)
{
	size_t size = msgs[0].len, total = size;
	unsigned int n = 1;

	if (inst->no_gso)
		return 1;
	while (n < max && n < GSO_SEGMENTS && msgs[n].len <= size &&
	       msgs[n].len > 0 && total + msgs[n].len <= DATAGRAM_MAX - 512) {
		total += msgs[n].len;
		if (msgs[n++].len < size)
			break;
	}
	return n;
}

static int udp_send(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count)
{
	unsigned int done = 0;

	while (done < count) {
		unsigned int nm = 0, ni = 0, at = done;
		while (at < count && nm < DGRAM_BATCH && ni < TX_IOV) {
			unsigned int run = gso_run(inst, msgs + at,
						   (count - at < TX_IOV - ni)
							   ? count - at : TX_IOV - ni);
			for (unsigned int k = 0; k < run; k++)
				inst->tx_iov[ni + k] = (struct iovec){
					msgs[at + k].data, msgs[at + k].len };
			struct msghdr *mh = &inst->tx[nm].msg_hdr;
			*mh = (struct msghdr){
				.msg_name = inst->server ? &link->peer : NULL,
				.msg_namelen = inst->server ? link->peer_len : 0,
				.msg_iov = &inst->tx_iov[ni],
				.msg_iovlen = run,
			};
			if (run > 1)
				dgram_gso_set(mh, inst->tx_ctrl[nm],
					      (uint16_t)msgs[at].len);
			inst->tx_run[nm++] = run;
			ni += run;
			at += run;
		}
		int sent = sendmmsg(inst->fd, inst->tx, nm, MSG_DONTWAIT);
		if (sent < 0) {
			/* A full buffer, an ICMP error or a datagram too
			 * large for the path drops datagrams, as the
			 * network would; the link itself is fine. */
			int err = errno;
			if (err == EBADF || err == ENOTSOCK)
				return -err;
			/* No UDP GSO on this path: datagrams one by one
			 * from now on. */
			if (dgram_gso_failed(inst->fd, &inst->tx[0].msg_hdr, err,
					     inst->tx_run[0], &inst->no_gso,
					     inst->api, inst->host, "datagrams"))
				continue;
			/* Skip what failed and go on. */
			inst->send_failed++;
			done += inst->tx_run[0];
			continue;
		}
		for (int k = 0; k < sent; k++)
			done += inst->tx_run[k];
		if (sent < (int)nm)
			break;
	}
	return (int)done;
}

static void udp_close(struct cv_instance *inst, struct cv_link *link)
{
	if (inst->server) {
		udp_peer_remove(inst, link);
		return;
	}
	if (link == inst->client) {
		if (inst->up_timer)
			inst->api->timer_arm(inst->up_timer, -1);
		client_close(inst);
	}
}

static void free_peer(struct peer_node *node)
{
	free(container_of(node, struct cv_link, node));
}

static void udp_destroy(struct cv_instance *inst)
{
	if (inst->server) {
		peer_table_drain(&inst->by_addr, free_peer);
		peer_table_free(&inst->by_addr);
		endpoint_close(inst->api, inst->host, &inst->fd);
	} else {
		client_close(inst);
	}
	if (inst->up_timer)
		inst->api->timer_free(inst->up_timer);
	dgram_rx_free(&inst->rx);
	free(inst);
}

static void udp_stats(struct cv_instance *inst,
		      void (*emit)(void *arg, const char *name, uint64_t value),
		      void *arg)
{
	emit(arg, "peers", inst->peers);
	emit(arg, "refused_peer", inst->refused_peer);
	emit(arg, "truncated_datagram", inst->truncated_datagram);
	emit(arg, "send_failed", inst->send_failed);
}

static const struct cv_option udp_options[] = {
	{ "socket-buffer",
	  "send and receive buffer of the UDP socket, 64K-256M (default 4M)" },
	{ NULL, NULL },
};

/* One datagram per message, and nothing around it. */
static const struct cv_wire udp_wire = {
	.size = sizeof(struct cv_wire),
	.flags = CV_WIRE_DONT_FRAGMENT,
	.ipproto = IPPROTO_UDP,
	.overhead = 0,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "udp",
	.description = "plain UDP datagrams, no encryption (needs insecure = yes)",
	.flags = CV_TRANSPORT_LOOPS,
	.options = udp_options,
	.create = udp_create,
	.listen = udp_listen,
	.connect = udp_connect,
	.send = udp_send,
	.close = udp_close,
	.destroy = udp_destroy,
	.stats = udp_stats,
	.wire = &udp_wire,
};
