/*
 * Datagrams in batches: the receive slots and a recvmmsg(2) batch,
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

/* recvmmsg() writes the lengths back: every batch starts afresh. */
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

int dgram_rx_batch(struct dgram_rx *rx, int fd,
		   void (*handle)(void *arg, unsigned int n), void *arg)
{
	if (fd < 0)
		return 0;
	setup(rx);
	int n = recvmmsg(fd, rx->msg, DGRAM_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return -errno;
	if (n > 0)
		handle(arg, (unsigned int)n);
	return 0;
}

static void gso_off(int err, bool *no_gso, const struct cv_host_api *api,
		    struct cv_host *host, const char *what)
{
	api->log(host, CV_LOG_INFO,
		 "UDP segmentation offload refused (%s): sending %s one by one",
		 strerror(err), what);
	*no_gso = true;
}

/* Each datagram of mh alone; whether one was too large for the path. */
static bool one_by_one(int fd, const struct msghdr *mh)
{
	bool too_large = false;

	for (size_t i = 0; i < mh->msg_iovlen; i++) {
		struct msghdr one = {
			.msg_name = mh->msg_name,
			.msg_namelen = mh->msg_namelen,
			.msg_iov = &mh->msg_iov[i],
			.msg_iovlen = 1,
		};
		if (sendmsg(fd, &one, MSG_DONTWAIT) < 0 && errno == EMSGSIZE)
			too_large = true;
	}
	return too_large;
}

bool dgram_gso_failed(int fd, const struct msghdr *mh, int err,
		      unsigned int run, bool *no_gso,
		      const struct cv_host_api *api, struct cv_host *host,
		      const char *what)
{
	if (run < 2 || *no_gso)
		return false;
	if (err == EIO) {
		gso_off(err, no_gso, api, host, what);
		return true;
	}
	if (err == EINVAL && !one_by_one(fd, mh))
		gso_off(err, no_gso, api, host, what);
	return false;
}
