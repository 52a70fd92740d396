/* The TUN device: opened non-blocking, layer 3, without packet info. */
#ifndef CULVERT_TUN_H
#define CULVERT_TUN_H

#include <net/if.h>
#include <stdbool.h>

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
	/* Every read and write starts with a struct virtio_net_hdr: the
	 * kernel hands over and takes back TCP segments of up to 64 KiB
	 * (TSO) with their checksum left to do. */
	bool vnet_hdr;
};

/* name: the wanted device name, or NULL/"" to let the kernel choose.
 * Returns 0 or a negative errno, after logging a line that says what to do
 * (no /dev/net/tun, no CAP_NET_ADMIN, name in use). offload: open with
 * IFF_VNET_HDR and turn on TSO and checksum offload (see vnet_hdr). */
int tun_open(const char *name, bool offload, struct tun *tun);
/* Closing the fd deletes the device, and with it its addresses and
 * routes. */
void tun_close(struct tun *tun);


#endif
