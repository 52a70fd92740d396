/*
 * dgram_batch.h - datagrams in batches, as udp and dtls read and write
 * them: recvmmsg(2) into a set of slots, one batch per wakeup, and
 * runs of equal-sized datagrams that leave as one UDP_SEGMENT send.
 *
 * What is done with a batch is the transport's: dgram_rx_batch() calls
 * its handler once per batch (not per datagram), and the handler reads
 * the slots with the inline accessors.
 */
#ifndef CULVERT_DGRAM_BATCH_H
#define CULVERT_DGRAM_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include <culvert/transport.h>

/* Datagrams per recvmmsg/sendmmsg: one syscall for a burst. */
#define DGRAM_BATCH 64
/* Room for one int-sized control message: UDP_GRO's size. */
#define DGRAM_RX_CTRL CMSG_SPACE(sizeof(int))
/* Room for UDP_SEGMENT's size. */
#define DGRAM_GSO_CTRL CMSG_SPACE(sizeof(uint16_t))

struct dgram_rx {
	struct mmsghdr msg[DGRAM_BATCH];
	struct iovec iov[DGRAM_BATCH];
	struct sockaddr_storage addr[DGRAM_BATCH];	/* with names */
	uint8_t ctrl[DGRAM_BATCH][DGRAM_RX_CTRL];	/* with control */
	uint8_t *buf;			/* DGRAM_BATCH slots of slot bytes */
	size_t slot;
	bool names;			/* a server's socket: who sent it */
	bool control;			/* control messages (UDP_GRO) */
};

/* Slots of slot bytes (the largest datagram taken whole), on the heap.
 * Returns 0 or -ENOMEM. */
int dgram_rx_init(struct dgram_rx *rx, size_t slot, bool names, bool control);
void dgram_rx_free(struct dgram_rx *rx);

/*
 * One batch from fd, handed to handle(arg, n) with n datagrams in the
 * first n slots; nothing when fd is below 0 (the core may have closed a
 * client's link, and its socket, earlier in this turn of the loop).
 * One batch a wakeup, then back to the loop: the loop's other fds (TUN,
 * where the answers and ACKs going the other way wait) are served after
 * at most DGRAM_BATCH datagrams' work, never after several rounds of it,
 * and the socket stays readable for the next turn if it holds more.
 * Returns 0, or recvmmsg's negative errno.
 */
int dgram_rx_batch(struct dgram_rx *rx, int fd,
		   void (*handle)(void *arg, unsigned int n), void *arg);

static inline uint8_t *dgram_rx_data(const struct dgram_rx *rx, unsigned int i)
{
	return rx->buf + (size_t)i * rx->slot;
}

/* Let mh's datagrams leave as one UDP_SEGMENT send of segments of size
 * bytes (the last may be shorter), the control message in ctrl
 * (DGRAM_GSO_CTRL bytes). */
static inline void dgram_gso_set(struct msghdr *mh, uint8_t *ctrl,
				 uint16_t size)
{
	mh->msg_control = ctrl;
	mh->msg_controllen = DGRAM_GSO_CTRL;
	struct cmsghdr *c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &size, sizeof(size));
}

/*
 * sendmmsg() failed with err on mh, a run of run datagrams (one
 * UDP_SEGMENT send when run > 1). Whether the caller sends the run
 * again:
 *  - EIO: the path takes no UDP_SEGMENT (no checksum offload, IPsec):
 *    *no_gso is set, one line says that what (e.g. "datagrams") now
 *    leave one by one, and true;
 *  - EINVAL: a segment larger than the interface's MTU (datagrams carry
 *    DF and are never cut: endpoint_dont_fragment), or UDP_SEGMENT
 *    refused some other way. The run leaves here one datagram at a
 *    time, and those too large are lost, as the path would lose them;
 *    when none was, UDP_SEGMENT was refused: *no_gso as for EIO. False;
 *  - anything else: false, the run is lost.
 */
bool dgram_gso_failed(int fd, const struct msghdr *mh, int err,
		      unsigned int run, bool *no_gso,
		      const struct cv_host_api *api, struct cv_host *host,
		      const char *what);

#endif /* CULVERT_DGRAM_BATCH_H */
