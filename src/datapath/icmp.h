/*
 * ICMP errors the tunnel itself must send: an inner packet too big for the
 * link it would cross is answered with "fragmentation needed" (RFC 1191),
 * so the sender's path MTU discovery shrinks its packets instead of
 * losing them silently.
 */
#ifndef CULVERT_ICMP_H
#define CULVERT_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Room for the answer: IP header, ICMP header, and the quoted IP header
 * (up to 60 bytes) with 8 bytes of its payload. */
#define ICMP_ANSWER_MAX (20 + 8 + 60 + 8)

/* The ICMP "fragmentation needed" answer to the IPv4 packet pkt, from
 * address `from`, telling the sender that `mtu` is the largest packet that
 * fits. Returns its length, or 0 when pkt gets no answer: not IPv4, not
 * the first fragment, DF not set (the kernel may fragment it), or itself
 * an ICMP error (RFC 1122: never answer an error with an error). */
size_t icmp_frag_needed(const uint8_t *pkt, size_t len,
			const struct cv_addr *from, uint16_t mtu,
			uint8_t out[ICMP_ANSWER_MAX]);

/* An ICMPv6 error may quote the packet up to the IPv6 minimum MTU
 * (RFC 4443 2.4 c); we quote up to this, the answer's whole size. */
#define ICMP6_ANSWER_MAX 1280

/* The ICMPv6 "packet too big" answer (RFC 4443 3.2) to the IPv6 packet
 * pkt, from address `from`, telling the sender that `mtu` fits. Returns
 * its length, or 0 when pkt gets no answer: not IPv6, from the
 * unspecified or a multicast address, or itself an ICMPv6 error. */
size_t icmp6_packet_too_big(const uint8_t *pkt, size_t len,
			    const struct cv_addr *from, uint32_t mtu,
			    uint8_t out[ICMP6_ANSWER_MAX]);

#endif
