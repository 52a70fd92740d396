/*
 * Layer 2 (device-type = tap): what the datapath decides about Ethernet
 * frames, beside what it does with the IP packets inside them.
 *
 * A TAP gateway is one port of a Linux bridge, shared by every client,
 * as a switch's uplink is. From a session a frame goes into the TAP
 * device (the bridge takes it on) once its source address is one the
 * session may use (mac_table.h) and, when it floods (broadcast,
 * multicast, an address nobody is known to hold), once the session's
 * flood budget (flood-rate, a token bucket) allows it: one client's
 * storm cannot starve the others or the LAN. From the TAP device a
 * frame goes to the session that owns its destination, or, broadcast,
 * multicast or unknown, to every session; never back to the session it
 * came from. Frames between two clients take the bridge's hairpin (the
 * server turns it on with client-to-client = yes): the bridge, not
 * culvertd, switches them, and its table and ours agree.
 *
 * The frame helpers below serve both roles: a TAP client too reads and
 * writes frames.
 */
#ifndef CULVERT_L2_H
#define CULVERT_L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "tun.h"

struct core;
struct cv_session;
struct l2;

/* A gateway's layer 2: the MAC table, its aging. */
int l2_new(struct core *core, struct l2 **out);
void l2_free(struct l2 *l2);

/*
 * A frame read from the TAP device: the session it goes to, or NULL.
 * With NULL, *flood says whether it goes to every session that is up
 * (broadcast, multicast, unknown unicast) rather than nowhere (to a
 * LAN host: the bridge flooded it). *except: the session it came from
 * (a client's frame the bridge hairpinned), which never gets it back,
 * or NULL. Learns the frame's source when it is a LAN host's.
 */
struct cv_session *l2_destination(struct l2 *l2, const uint8_t *frame,
				  size_t len, bool *flood,
				  struct cv_session **except);

/* Whether session s may send frame into the TAP device: NULL when it
 * may, else the counter the drop goes into. Learns its source. */
uint64_t *l2_refused(struct l2 *l2, struct cv_session *s,
		     const uint8_t *frame, size_t len);

/* ---- frames */

/* The IP packet an untagged IPv4 or IPv6 frame carries (EtherType
 * 0x0800 or 0x86dd), or NULL: offloads, checksums and ICMP apply to
 * these only. */
const uint8_t *l2_ip(const uint8_t *frame, size_t len);

/*
 * A frame read from a TAP device with offloads: the kernel's
 * virtio-net offsets count from the frame's start; from here on they
 * count from the IP packet's, as for TUN. A checksum left to do in a
 * frame that is not plain IP (a VLAN tag) is done now. False when seg
 * cannot be kept: a large segment in such a frame (dropped as
 * malformed).
 */
bool l2_from_vnet(uint8_t *frame, size_t len, struct cv_segmentation *seg);

/* The Ethernet header of an answer to frame (an ICMP error): from its
 * destination to its source, of its EtherType. */
void l2_answer_header(uint8_t out[TAP_ETH_HLEN], const uint8_t *frame);

#endif
