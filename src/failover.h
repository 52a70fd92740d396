/*
 * When a client of a cluster moves to its next gateway (culvert.conf(5),
 * CLUSTER): culvertd's client (src/client/gateways.c) and culvert-loadgen
 * (bench/failover.sh) follow the same rule.
 *
 * After the gateway died (its session lost), the pause is the client's
 * slot of failover-spread: 32 slots, the slot the last byte of its inner
 * address modulo 32, plus a jitter of up to a quarter slot. Clients with
 * neighbouring addresses (a pool's leases, static addresses handed out
 * in a row) then never come back in the same slot, which random pauses
 * alone cannot promise, and a thousand clients of one gateway come back
 * about thirty at a time. After a draining gateway's bye (which the
 * gateway paces itself), a random pause of up to 100 ms.
 */
#ifndef CULVERT_FAILOVER_H
#define CULVERT_FAILOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

#define FAILOVER_SLOTS 32
#define FAILOVER_DRAIN_PAUSE_MS 100

/* The pause in ms: a, the inner address the client had (family 0: none,
 * then a random slot); spread_ms, failover-spread; r, a random number. */
unsigned int failover_pause_ms(const struct cv_addr *a, unsigned int spread_ms,
			       bool draining, uint32_t r);

#endif
