/*
 * The server's checks of an inner packet a client sent, before it enters
 * TUN: pure functions over the packet's bytes, so that each can be shown
 * to refuse (tests/unit/test_packet_check.c). datapath.c applies them.
 */
#ifndef CULVERT_PACKET_CHECK_H
#define CULVERT_PACKET_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* The family of an IP packet and where its source (or destination)
 * address is; 0 when it is too short to be one. */
int packet_addr(const uint8_t *pkt, size_t len, bool source,
		const uint8_t **addr);

/* Whether pkt's source is the address the session was leased in its
 * family (none yet: nothing is allowed): anything else would let one
 * client speak as another. */
bool packet_source_allowed(const uint8_t *pkt, size_t len,
			   const struct cv_addr *leased4,
			   const struct cv_addr *leased6);

/* Whether pkt goes to another client: an address in the pool of its
 * family (NULL: no such pool) that is not the server's own. */
bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool4,
			    const struct cv_addr *server4,
			    const struct cv_prefix *pool6,
			    const struct cv_addr *server6);

#endif
