/*
 * IPv4 fragmentation (RFC 791 3.2, "Fragmentation and reassembly"), for
 * inner packets without DF that are larger than their session's link
 * carries: a router that cannot forward such a packet whole forwards it
 * in pieces, and the tunnel is a router. The receiver's kernel joins
 * them again. (IPv6 packets are never fragmented on the way; they get
 * "packet too big", as IPv4 ones with DF get "fragmentation needed".)
 */
#ifndef CULVERT_FRAGMENT_H
#define CULVERT_FRAGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

/* Whether pkt (len bytes) is an IPv4 packet that may be fragmented: a
 * well-formed header, DF not set. */
bool fragment_allowed(const uint8_t *pkt, size_t len);

/* How many fragments of at most mtu bytes pkt makes, and the bytes they
 * take with head bytes of room before each; 0 when mtu is too small
 * for the header and 8 bytes of data. */
unsigned int fragment_count(const uint8_t *pkt, size_t len, size_t mtu,
			    size_t head, size_t *bytes);

/* Cut pkt into fragments of at most mtu bytes, written one after the
 * other into out (room bytes), each after head bytes left for the
 * caller (a type byte); msgs[i] gets each fragment with its head.
 * Every fragment carries the header, with only the options marked to
 * be copied after the first. Returns how many, 0 when they do not fit
 * out or max_msgs (fragment_count says how much they need). */
unsigned int fragment_ipv4(const uint8_t *pkt, size_t len, size_t mtu,
			   size_t head, uint8_t *out, size_t room,
			   struct cv_msg *msgs, unsigned int max_msgs);

#endif
