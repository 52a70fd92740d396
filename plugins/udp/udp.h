/*
 * udp.h - what the files of the udp transport share. Private to
 * plugins/udp/. Files, each calling only those below it:
 *
 *   udp.c       the instance, its sockets, sending, the table
 *     udp_rx.c    peers by address, and a received batch up to deliver()
 *                 (no sockets: fuzzed)
 *       ../common/  peer_table, dgram_batch, endpoint
 */
#ifndef CULVERT_UDP_H
#define CULVERT_UDP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <culvert/transport.h>

#include "../common/dgram_batch.h"
#include "../common/peer_table.h"

/* The largest UDP payload over IPv4. */
#define DATAGRAM_MAX 65507
/* Datagrams sent per sendmmsg() call, in runs of equal size that each
 * leave as one UDP_SEGMENT send (the kernel cuts them: one trip down the
 * stack for a run); and the messages one wakeup's reads may make once
 * UDP_GRO has joined datagrams. */
#define TX_IOV 256
#define GSO_SEGMENTS 64
#define RX_MSGS 1024
#define DEFAULT_SOCKET_BUFFER (4 << 20)

struct cv_link {
	struct cv_instance *inst;
	struct cv_session *session;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct peer_node node;	/* server: in the table of peers */
};

struct cv_instance {
	const struct cv_host_api *api;
	struct cv_host *host;
	int socket_buffer;
	int fd;
	bool server;
	uint64_t seed;		/* keyed hash: strangers cannot pick collisions */

	/* Server: peers by address. */
	struct peer_table by_addr;

	/* Client: the one link, and the timer that reports it up. */
	struct cv_link *client;
	struct cv_timer *up_timer;

	/* For stats(): udp reads no message, so its only drops are peers
	 * the core refused, datagrams cut short, and sends that failed. */
	uint64_t peers, refused_peer, truncated_datagram, send_failed;

	struct dgram_rx rx;
	struct cv_msg rx_msgs[RX_MSGS];
	struct mmsghdr tx[DGRAM_BATCH];
	struct iovec tx_iov[TX_IOV];
	unsigned int tx_run[DGRAM_BATCH];	/* messages in each tx[] */
	uint8_t tx_ctrl[DGRAM_BATCH][DGRAM_GSO_CTRL];
	bool no_gso;			/* UDP_SEGMENT refused: one by one */
};

#define LOG(inst, prio, ...) (inst)->api->log((inst)->host, prio, __VA_ARGS__)

/* udp_rx.c: peers by address, and a received batch. */

/* Hand the n datagrams received into rx to their links: runs of one
 * peer's datagrams go up in one deliver(), and a datagram UDP_GRO joined
 * (its size in rx's cmsg) goes up as the datagrams it was made of. A
 * server makes a link for a new peer and asks the core (link_up); the
 * core may close any link inside an upcall. dgram_rx_batch()'s handler:
 * inst is the struct cv_instance. */
void udp_rx_dispatch(void *inst, unsigned int n);
/* Take a server's link out of the table, and free it. */
void udp_peer_remove(struct cv_instance *inst, struct cv_link *link);

#endif
