/* The TUN device: opened non-blocking, layer 3, without packet info; or
 * a TAP device (layer 2, Ethernet frames) for device-type = tap. */
#ifndef CULVERT_TUN_H
#define CULVERT_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
	/* Every read and write starts with a struct virtio_net_hdr: the
	 * kernel hands over and takes back TCP segments of up to 64 KiB
	 * (TSO) with their checksum left to do. */
	bool vnet_hdr;
	/* And large UDP segments (USO, Linux 6.2): an application's
	 * UDP_SEGMENT send comes, and goes back, as one datagram that
	 * stands for many (gso_type UDP_L4). */
	bool uso;
	/* A TAP device: every read and write is an Ethernet frame (no FCS),
	 * and the virtio-net header's offsets count from the frame's start. */
	bool tap;
	short flags;		/* TUNSETIFF's: what another queue opens with */
};

/* What a TAP device's frames add to an IP packet: the Ethernet header,
 * and what may be added to a tunnel message beside it, one 802.1Q tag
 * of a bridge that tags. */
#define TAP_ETH_HLEN 14
#define TAP_OVERHEAD 18

/* name: the wanted device name, or NULL/"" to let the kernel choose.
 * Returns 0 or a negative errno, after logging a line that says what to do
 * (no /dev/net/tun, no CAP_NET_ADMIN, name in use). offload: open with
 * IFF_VNET_HDR and turn on TSO and checksum offload (see vnet_hdr),
 * and USO where the kernel has it (see uso).
 * tap: a TAP device instead (IFF_TAP).
 * multi_queue: a device of several queues (IFF_MULTI_QUEUE), one per
 * event loop: tun is the first, and each loop after it opens its own
 * with tun_open_queue into queue (a copy of tun but for its fd). The
 * kernel sends a flow's packets to the queue that last wrote one of
 * it. */
int tun_open(const char *name, bool offload, bool tap, bool multi_queue,
	     struct tun *tun);
/* Another queue of tun: 0 or a negative errno, logged. */
int tun_open_queue(const struct tun *tun, struct tun *queue);
/* Closing the fd deletes the device, and with it its addresses and
 * routes. */
void tun_close(struct tun *tun);
/* The device's carrier (TUNSETCARRIER): a TAP client's is on only while
 * a session is up, as a cable plugged in, so that the host's DHCP
 * client asks when there is a LAN to ask. 0 or a negative errno (an
 * old kernel: EINVAL). */
int tun_set_carrier(const struct tun *tun, bool on);

/*
 * Every read and write of the device is one of these. With vnet_hdr,
 * each packet comes and goes after a struct virtio_net_hdr
 * (VNET_HDR_LEN bytes, offload.h).
 */
/* One packet, its virtio-net header first with vnet_hdr, into buf.
 * Returns its length, or -1 with errno set (EAGAIN: none waiting). */
ssize_t tun_read(const struct tun *tun, uint8_t *buf, size_t size);
/* One packet, after the virtio-net header vnet when the device takes
 * one (vnet NULL: a plain packet, checksums done). Returns 0, or a
 * negative errno when the kernel refused it: its queue is full, and the
 * caller drops the packet as a router would, and counts it. */
int tun_write(const struct tun *tun, const uint8_t *vnet, const uint8_t *pkt,
	      size_t len);
/* One packet in pieces, iov[0] its virtio-net header (vnet_hdr only). */
int tun_writev(const struct tun *tun, const struct iovec *iov, int n);


#endif
