/* The TUN device: opened non-blocking, layer 3, without packet info. */
#ifndef CULVERT_TUN_H
#define CULVERT_TUN_H

#include <net/if.h>

struct tun {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
};

/* name: the wanted device name, or NULL/"" to let the kernel choose.
 * Returns 0 or a negative errno, after logging a line that says what to do
 * (no /dev/net/tun, no CAP_NET_ADMIN, name in use). */
int tun_open(const char *name, struct tun *tun);
/* Closing the fd deletes the device, and with it its addresses and
 * routes. */
void tun_close(struct tun *tun);

#endif
