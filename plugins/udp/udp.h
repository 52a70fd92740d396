/*
 * udp.h - what the files of the udp transport share: udp.c (the
 * instance, its sockets, sending) and udp_rx.c (peers by address, and a
 * received batch up to deliver()). Private to plugins/udp/.
 */
#ifndef CULVERT_UDP_H
#define CULVERT_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <culvert/transport.h>

/* Datagrams per recvmmsg/sendmmsg: one syscall for a burst. */
#define BATCH 64
/* The largest UDP payload over IPv4. */
#define DATAGRAM_MAX 65507
#define DEFAULT_SOCKET_BUFFER (4 << 20)

struct cv_link {
	struct cv_instance *inst;
	struct cv_session *session;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint64_t hash;
	struct cv_link *next;	/* hash chain */
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	int socket_buffer;
	int fd;
	bool server;
	uint64_t seed;		/* keyed hash: strangers cannot pick collisions */

	/* Server: peers by address. */
	struct cv_link **buckets;
	size_t n_buckets, n_links;

	/* Client: the one link, and the timer that reports it up. */
	struct cv_link *client;
	struct cv_timer *up_timer;

	struct mmsghdr rx[BATCH];
	struct cv_msg rx_msgs[BATCH];
	struct iovec rx_iov[BATCH];
	struct sockaddr_storage rx_addr[BATCH];
	uint8_t *rx_buf[BATCH];
	struct mmsghdr tx[BATCH];
	struct iovec tx_iov[BATCH];
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)

/* udp_rx.c: peers by address, and a received batch. */

/* Hand the n datagrams received into rx, rx_addr and rx_buf to their
 * links: runs of one peer's datagrams go up in one deliver(). A server
 * makes a link for a new peer and asks the core (link_up); the core may
 * close any link inside an upcall. */
void udp_rx_dispatch(struct cv_instance *inst, unsigned int n);
/* Take a server's link out of the table, and free it. */
void udp_peer_remove(struct cv_instance *inst, struct cv_link *link);

#endif
