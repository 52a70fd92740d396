/*
 * dtls_send.c - GnuTLS's push side of a dtls link, and the table's
 * send(): one record per message, one datagram per record.
 *
 * Outside send(), the push function sends each datagram at once (the
 * handshake's flights, alerts, close_notify). Inside send(), records
 * collect in a batch, and runs of records of one size to one peer leave
 * as one UDP_SEGMENT send each, up to DGRAM_BATCH of them per
 * sendmmsg(): one trip down the stack for a burst.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dtls.h"

/* Group tx[from..] into runs for one UDP_SEGMENT send each: records to
 * one peer, of equal size but the last, 64 KiB at most. Returns how
 * many groups tx_gso[] now holds. */
static unsigned int tx_group(struct cv_instance *inst, unsigned int from)
{
	unsigned int ng = 0, i = from;

	while (i < inst->tx_n && ng < DGRAM_BATCH) {
		size_t size = inst->tx_iov[i].iov_len, total = size;
		unsigned int k = 1;
		while (!inst->no_gso && i + k < inst->tx_n && k < 64 &&
		       inst->tx[i + k].msg_hdr.msg_name == inst->tx[i].msg_hdr.msg_name &&
		       inst->tx_iov[i + k].iov_len <= size &&
		       total + inst->tx_iov[i + k].iov_len <= 65000) {
			size_t len = inst->tx_iov[i + k].iov_len;
			total += len;
			k++;
			if (len < size)
				break;
		}
		struct msghdr *mh = &inst->tx_gso[ng].msg_hdr;
		*mh = inst->tx[i].msg_hdr;
		mh->msg_iovlen = k;
		if (k > 1)
			dgram_gso_set(mh, inst->tx_gso_ctrl[ng], (uint16_t)size);
		inst->tx_gso_run[ng++] = k;
		i += k;
	}
	return ng;
}

static void tx_flush(struct cv_instance *inst)
{
	unsigned int done = 0;

	while (done < inst->tx_n && inst->fd >= 0) {
		unsigned int ng = tx_group(inst, done), g = 0;
		while (g < ng && inst->fd >= 0) {
			int sent = sendmmsg(inst->fd, inst->tx_gso + g, ng - g,
					    MSG_DONTWAIT);
			if (sent < 0) {
				int err = errno;
				if (dgram_gso_failed(inst->fd, &inst->tx_gso[g].msg_hdr,
						     err, inst->tx_gso_run[g],
						     &inst->no_gso, inst->gl.api,
						     inst->gl.host, "records"))
					break;	/* regroup from done */
				if (err == ECONNREFUSED && inst->client)
					inst->client->refused = true;
				/* lose the one that failed, go on */
				done += inst->tx_gso_run[g++];
				continue;
			}
			if (sent == 0)
				goto out;
			for (int k = 0; k < sent; k++)
				done += inst->tx_gso_run[g++];
		}
	}
out:
	inst->tx_n = 0;
}

/* Sending one datagram. Never "try again": a full socket buffer or an
 * ICMP error loses the datagram, as the network could; GnuTLS
 * retransmits its handshake flights, and the core its control messages. */
ssize_t dtls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct cv_link *link = ptr;
	struct cv_instance *inst = link->inst;
	bool server = inst->gl.server;

	if (inst->fd < 0)
		return (ssize_t)len;
	if (inst->tx_batching && len <= inst->tx_slot) {
		unsigned int i = inst->tx_n++;
		uint8_t *slot = inst->tx_buf + i * inst->tx_slot;
		memcpy(slot, data, len);
		inst->tx_iov[i] = (struct iovec){ slot, len };
		inst->tx[i].msg_hdr = (struct msghdr){
			.msg_name = server ? &link->addr : NULL,
			.msg_namelen = server ? link->addr_len : 0,
			.msg_iov = &inst->tx_iov[i],
			.msg_iovlen = 1,
		};
		if (inst->tx_n == DGRAM_BATCH)
			tx_flush(inst);
		return (ssize_t)len;
	}
	ssize_t n = server ? sendto(inst->fd, data, len, MSG_DONTWAIT,
				    (const struct sockaddr *)&link->addr,
				    link->addr_len)
			   : send(inst->fd, data, len, MSG_DONTWAIT);
	if (n < 0 && errno == ECONNREFUSED)
		link->refused = true;
	return (ssize_t)len;
}

int dtls_send(struct cv_instance *inst, struct cv_link *link,
	      const struct cv_msg *msgs, unsigned int count)
{
	unsigned int accepted = 0, oversize = 0;
	size_t bytes = 0;
	int result = 0;

	if (link->g.state != GLINK_UP || link->g.closed)
		return -ENOTCONN;
	/* One record per message, one datagram per record; they leave
	 * together in sendmmsg() calls of up to DGRAM_BATCH. */
	inst->tx_batching = true;
	for (unsigned int i = 0; i < count; i++) {
		if (msgs[i].len == 0)
			continue;
		if (msgs[i].len > link->data_mtu) {
			oversize++;
			continue;
		}
		ssize_t ret = gnutls_record_send(link->g.tls, msgs[i].data,
						 msgs[i].len);
		if (ret >= 0) {
			accepted++;
			bytes += msgs[i].len;
			continue;
		}
		if (ret == GNUTLS_E_LARGE_PACKET) {
			oversize++;
			continue;
		}
		if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
			continue;	/* lost, as the network may lose it */
		LOG(inst, CV_LOG_INFO, "cannot send to %s: %s", link->g.peer_name,
		    gnutls_strerror((int)ret));
		result = -EPIPE;
		break;
	}
	tx_flush(inst);
	inst->tx_batching = false;
	if (oversize)
		dtls_count_oversize(link, oversize);
	/* (The rekey, or a server's end of the link, comes from the loop:
	 * never inside the core's call.) */
	dtls_rekey_count(link, &link->rk.tx_bytes, &link->rk.tx_records, bytes,
			 accepted);
	return result < 0 ? result : (int)accepted;
}
