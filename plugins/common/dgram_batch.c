/*
 * Datagrams in batches: the receive slots and their recvmmsg(2) rounds,
 * and the one line about a path that refuses UDP_SEGMENT. See
 * dgram_batch.h.
 */
#include "dgram_batch.h"

#include <errno.h>
#include <stdlib.h>

int dgram_rx_init(struct dgram_rx *rx, size_t slot, bool names, bool control)
{
	rx->buf = malloc(DGRAM_BATCH * slot);
	if (!rx->buf)
		return -ENOMEM;
	rx->slot = slot;
	rx->names = names;
	rx->control = control;
	return 0;
}

void dgram_rx_free(struct dgram_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
}

/* recvmmsg() writes the lengths back: every round starts afresh. */
static void setup(struct dgram_rx *rx)
{
	for (unsigned int i = 0; i < DGRAM_BATCH; i++) {
		rx->iov[i] = (struct iovec){ dgram_rx_data(rx, i), rx->slot };
		rx->msg[i].msg_hdr = (struct msghdr){
			.msg_name = rx->names ? &rx->addr[i] : NULL,
			.msg_namelen = rx->names ? sizeof(rx->addr[i]) : 0,
			.msg_iov = &rx->iov[i],
			.msg_iovlen = 1,
			.msg_control = rx->control ? rx->ctrl[i] : NULL,
			.msg_controllen = rx->control ? DGRAM_RX_CTRL : 0,
		};
	}
}

int dgram_rx_drain(struct dgram_rx *rx, const int *fd, unsigned int rounds,
		   void (*handle)(void *arg, unsigned int n), void *arg)
{
	for (unsigned int round = 0; round < rounds; round++) {
		setup(rx);
		if (*fd < 0)
			return 0;
		int n = recvmmsg(*fd, rx->msg, DGRAM_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		handle(arg, (unsigned int)n);
		if (n < DGRAM_BATCH)
			return 0;
	}
	return 0;
}

bool dgram_gso_refused(int err, unsigned int run, bool *no_gso,
		       const struct cv_host_api *api, struct cv_host *host,
		       const char *what)
{
	if ((err != EIO && err != EINVAL) || run < 2 || *no_gso)
		return false;
	api->log(host, CV_LOG_INFO,
		 "UDP segmentation offload refused (%s): sending %s one by one",
		 strerror(err), what);
	*no_gso = true;
	return true;
}
