/*
 * The address pool: inner addresses leased to clients, one pool per
 * family (pool, pool6). The first
 * host address of the prefix is the gateway's own; clients get the rest
 * (network and broadcast addresses excluded). A released address stays
 * tied to the identity that held it, so a client that reconnects gets the
 * same address back unless the pool had to hand it to someone else.
 */
#ifndef CULVERT_POOL_H
#define CULVERT_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct pool;

/* -EINVAL unless the prefix is IPv4 from /8 to /30 or IPv6 from /16 to
 * /126 (an IPv6 pool serves at most 2^24 - 2 clients, however wide);
 * -ENOMEM. */
int pool_new(const struct cv_prefix *prefix, struct pool **out);
void pool_free(struct pool *pool);

/* The gateway's address, with the pool's prefix length. */
struct cv_prefix pool_server_addr(const struct pool *pool);

/* Lease an address to identity (NULL or "" for an anonymous peer, which
 * gets no address back later). The identity's previous address first,
 * then an address never held by anyone else, then the least recently
 * released one. -ENOSPC when every address is in use. */
int pool_lease(struct pool *pool, const char *identity, struct cv_addr *out);
/* The same, but hint first (the address a client held before, say across
 * a server restart) when it is in the pool, free, and not remembered for
 * another identity. */
int pool_lease_hint(struct pool *pool, const char *identity,
		    const struct cv_addr *hint, struct cv_addr *out);
void pool_release(struct pool *pool, const struct cv_addr *addr);

/* Whether addr is one of the pool's client addresses (not its network,
 * the gateway's or the broadcast address). */
bool pool_contains(const struct pool *pool, const struct cv_addr *addr);

/* The addresses that are never leased (static addresses, given out by
 * the server itself): addrs replaces the set before. An address leased
 * now stays leased until released, then is kept off the free list; one
 * no longer reserved becomes free. -EINVAL when one is not a client
 * address of the pool (nothing changes then); -ENOMEM. */
int pool_reserve(struct pool *pool, const struct cv_addr *addrs,
		 unsigned int n);
bool pool_is_reserved(const struct pool *pool, const struct cv_addr *addr);

unsigned int pool_size(const struct pool *pool);	/* client addresses */
unsigned int pool_in_use(const struct pool *pool);

#endif
