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

/* Whether pkt's source is leased, the inner address the session was
 * given (NULL: none yet, so nothing is allowed): anything else would let
 * one client speak as another. */
bool packet_source_allowed(const uint8_t *pkt, size_t len,
			   const struct cv_addr *leased);

/* Whether pkt goes to another client: an address in the pool that is not
 * the server's own. */
bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool,
			    const struct cv_addr *server);

#endif
