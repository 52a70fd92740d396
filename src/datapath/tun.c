#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "log.h"
#include "offload.h"

static const char tun_path[] = "/dev/net/tun";

static void log_open_error(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		log_err("cannot open %s: %s (load the tun module: modprobe tun)",
			tun_path, strerror(err));
		break;
	case EPERM:
	case EACCES:
		log_err("cannot open %s: %s (run as root or with CAP_NET_ADMIN)",
			tun_path, strerror(err));
		break;
	default:
		log_err("cannot open %s: %s", tun_path, strerror(err));
	}
}

static void log_setiff_error(const char *name, bool tap, int err)
{
	const char *shown = *name ? name : "(any name)";
	const char *kind = tap ? "TAP" : "TUN";

	switch (err) {
	case EPERM:
	case EACCES:
		log_err("cannot create %s device %s: %s (run as root or with CAP_NET_ADMIN)",
			kind, shown, strerror(err));
		break;
	case EBUSY:
		log_err("device %s is in use by another program", shown);
		break;
	case EINVAL:
		/* The kernel also says EINVAL when the name belongs to a
		 * device that is not a TUN device, or a TUN device when a
		 * TAP one is asked for (and the other way round). */
		log_err("cannot create %s device %s: the name is invalid or taken by a device that is not %s",
			kind, shown, kind);
		break;
	default:
		log_err("cannot create %s device %s: %s", kind, shown,
			strerror(err));
	}
}

/* Linux 6.2's USO, for build hosts with older headers. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

/* Checksum offload and TSO for IPv4 and IPv6 on a device opened with
 * IFF_VNET_HDR, and USO where the kernel has it: UDP sent with
 * UDP_SEGMENT then comes whole too (an older kernel says EINVAL, and
 * cuts it before TUN). TSO_ECN: segments with CWR set come whole too.
 * A kernel without any still works, with small packets only. One line
 * says what is on. */
static void enable_offload(struct tun *tun)
{
	int hdr_size = (int)sizeof(struct virtio_net_hdr);
	unsigned int features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
				TUN_F_TSO_ECN;

	tun->uso = false;
	if (ioctl(tun->fd, TUNSETVNETHDRSZ, &hdr_size) < 0) {
		log_info("%s: no TSO offload (%s): packets go one by one",
			 tun->name, strerror(errno));
		return;
	}
	if (ioctl(tun->fd, TUNSETOFFLOAD,
		  features | TUN_F_USO4 | TUN_F_USO6) == 0) {
		tun->uso = true;
		log_info("%s: offloads on: checksums, TSO and USO (large TCP and UDP segments)",
			 tun->name);
	} else if (ioctl(tun->fd, TUNSETOFFLOAD, features) == 0) {
		log_info("%s: offloads on: checksums and TSO; no USO in this kernel (Linux 6.2 has it): UDP sent with UDP_SEGMENT is cut before %s",
			 tun->name, tun->name);
	} else {
		log_info("%s: no TSO offload (%s): packets go one by one",
			 tun->name, strerror(errno));
	}
}

/* /dev/net/tun opened into *fd: 0, or a negative errno, logged. */
static int open_tun(int *fd)
{
	*fd = open(tun_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	int err = errno;
	log_open_error(err);
	return -err;
}

int tun_open(const char *name, bool offload, bool tap, bool multi_queue,
	     struct tun *tun)
{
	struct ifreq ifr = { .ifr_flags = (tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI };
	int err;

	tun->fd = -1;
	tun->ifindex = 0;
	tun->name[0] = '\0';
	tun->vnet_hdr = false;
	tun->uso = false;
	tun->tap = tap;
	if (offload)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	tun->flags = ifr.ifr_flags;
	if (!name)
		name = "";
	if (strlen(name) >= IFNAMSIZ) {
		log_err("device name '%s' is too long (at most %d characters)",
			name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	strcpy(ifr.ifr_name, name);

	if ((err = open_tun(&tun->fd)) < 0)
		return err;
	if (ioctl(tun->fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		log_setiff_error(name, tap, err);
		tun_close(tun);
		return -err;
	}
	/* An empty or "%d" name is completed by the kernel. */
	memcpy(tun->name, ifr.ifr_name, IFNAMSIZ);
	tun->name[IFNAMSIZ - 1] = '\0';
	tun->ifindex = (int)if_nametoindex(tun->name);
	if (!tun->ifindex) {
		err = errno;
		log_err("%s device %s vanished right after creation: %s",
			tap ? "TAP" : "TUN", tun->name, strerror(err));
		tun_close(tun);
		return -err;
	}
	if (offload) {
		tun->vnet_hdr = true;
		enable_offload(tun);
	}
	return 0;
}

int tun_open_queue(const struct tun *tun, struct tun *queue)
{
	struct ifreq ifr = { .ifr_flags = tun->flags };
	int err;

	*queue = *tun;
	memcpy(ifr.ifr_name, tun->name, IFNAMSIZ);
	if ((err = open_tun(&queue->fd)) < 0)
		return err;
	if (ioctl(queue->fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		log_err("cannot open another queue of %s: %s", tun->name,
			strerror(err));
		tun_close(queue);
		return -err;
	}
	return 0;
}

void tun_close(struct tun *tun)
{
	if (tun->fd >= 0)
		close(tun->fd);
	tun->fd = -1;
}

int tun_set_carrier(const struct tun *tun, bool on)
{
	int carrier = on;

	return ioctl(tun->fd, TUNSETCARRIER, &carrier) < 0 ? -errno : 0;
}

ssize_t tun_read(const struct tun *tun, uint8_t *buf, size_t size)
{
	return read(tun->fd, buf, size);
}

int tun_write(const struct tun *tun, const uint8_t *vnet, const uint8_t *pkt,
	      size_t len)
{
	static const uint8_t plain[VNET_HDR_LEN];
	struct iovec iov[2] = {
		{ (void *)(vnet ? vnet : plain), VNET_HDR_LEN },
		{ (void *)pkt, len },
	};

	return tun->vnet_hdr ? tun_writev(tun, iov, 2)
			     : tun_writev(tun, iov + 1, 1);
}

int tun_writev(const struct tun *tun, const struct iovec *iov, int n)
{
	return writev(tun->fd, iov, n) < 0 ? -errno : 0;
}
