/*
 * The server's checks of an inner packet a client sent, before it enters
 * TUN: pure functions over the packet's bytes, so that each can be shown
 * to refuse (tests/unit/test_packet_check.c). datapath.c applies them;
 * whether a session may send from a source is the route table's answer
 * (route.h).
 */
#ifndef CULVERT_PACKET_CHECK_H
#define CULVERT_PACKET_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct route_table;

/* The family of an IP packet and where its source (or destination)
 * address is; 0 when it is too short to be one. */
int packet_addr(const uint8_t *pkt, size_t len, bool source,
		const uint8_t **addr);

/* Whether session may send pkt: the longest prefix of routes that holds
 * its source (one of the session's inner addresses, a network behind
 * it) is the session's own. Anything else would let one client speak as
 * another, or as a site it is not; no IP at all passes neither. */
bool packet_source_is(const uint8_t *pkt, size_t len,
		      const struct route_table *routes, const void *session);

/* Whether pkt's destination lies in one of the n prefixes, or is one of
 * the two addresses (family 0: none): where a client restricted to its
 * routes may send (restrict-to-routes), the gateway's own inner
 * addresses included. */
bool packet_to_routes(const uint8_t *pkt, size_t len,
		      const struct cv_prefix *routes, unsigned int n,
		      const struct cv_addr *also4, const struct cv_addr *also6);

/* Whether pkt goes to another client: an address in the pool of its
 * family (NULL: no such pool) that is not the server's own. */
bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool4,
			    const struct cv_addr *server4,
			    const struct cv_prefix *pool6,
			    const struct cv_addr *server6);

#endif
