/*
 * What the two halves of the datapath share: datapath.c (from the TUN
 * or TAP device to the sessions) and deliver.c (from the sessions into
 * the device). Not for other files.
 *
 * With a TAP device every packet is an Ethernet frame: `l2` bytes of
 * header (TAP_ETH_HLEN) before the IP packet the offloads, checks and
 * ICMP look at, 0 with TUN. Segmentation metadata (struct
 * cv_segmentation) always counts from the IP packet.
 */
#ifndef CULVERT_DATAPATH_INTERNAL_H
#define CULVERT_DATAPATH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "addr.h"
#include "datapath.h"
#include "gro.h"

/* Packets read from TUN per wakeup: enough to amortise the wakeup and the
 * plugin's send over many packets, few enough to stay fair to peers. */
#define BATCH 64
/* Bytes read from TUN per wakeup, at most: with segmentation offload a
 * read may be 64 KiB, and a wakeup that encrypts megabytes keeps the
 * packets waiting on the other side (ACKs, a ping's answer) waiting as
 * long. About a third of a millisecond of encryption. */
#define TUN_BYTES_PER_WAKEUP (128 * 1024)
/* A TUN read never returns more than the largest IP packet (with its
 * Ethernet header, from TAP). */
#define PACKET_MAX (65535 + TAP_ETH_HLEN)
/* Where a read packet starts in its buffer: room before it for the
 * virtio-net header TUN puts there, and for the type byte or the
 * PROTO_DATA_GSO header that makes it a message without a copy. */
#define HEAD 16
/* Messages per wakeup, and the room for the pieces of large segments
 * split in software: a few 64 KiB segments' worth. */
#define MSGS_MAX 512
#define SPLIT_CAP (512 * 1024)

struct core;
struct counters;
struct cv_session;
struct l2;
struct loop;
struct tun;
struct route_table;

struct datapath {
	struct core *core;
	/* The loop it runs on, its queue of the device, and the counters
	 * it counts in: the core's own for loop 0, its loop's for the
	 * others (shard.h), so that no two threads write one counter. */
	struct loop *loop;
	const struct tun *tun;
	struct counters *counters;
	unsigned int index;		/* its loop's: 0 is the main thread */
	/* A packet from TUN for a session of another loop: handed to it,
	 * as if that loop had read it (datapath_set_handoff). */
	datapath_handoff *handoff;
	void *handoff_arg;
	/* Where packets from TUN go: by destination through routes (a
	 * server), or all to the one session that is up (a client). */
	const struct route_table *routes;
	const struct route_table *networks;	/* server: network -> name */
	struct cv_session *session;
	struct cv_addr gateway4, gateway6;	/* server: its own, inside */
	size_t l2;		/* TAP_ETH_HLEN with a TAP device, else 0 */
	struct l2 *eth;		/* a TAP server's MAC table; else NULL */

	/* One buffer per batch slot; the packet at HEAD. */
	uint8_t *buf[BATCH];
	struct cv_msg msgs[MSGS_MAX];
	uint8_t *split;		/* SPLIT_CAP bytes */
	struct gro gro;		/* into TUN, with offloads */

	/* The batch under way in on_tun_readable(). */
	unsigned int slot, n, first;
	size_t split_used;
	struct cv_session *run;	/* whose messages msgs[first..n) are */
};

/* Into the device (vnet: its virtio-net header, or NULL); when the
 * kernel's queue is full, dropped, as a router would, and counted. */
void datapath_to_tun(struct datapath *dp, const uint8_t *vnet,
		     const uint8_t *pkt, size_t len);

#endif
