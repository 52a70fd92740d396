/*
 * Where an inner packet goes, and who may send from where: one prefix
 * table from inner prefixes to the sessions that hold them. A client's
 * inner address is a host prefix (/32, /128); the networks behind a
 * client (a site) are shorter ones. The fast path asks it twice per
 * packet: the destination of a packet from TUN (which session to send
 * it to), and the source of a packet from a session (whether that
 * session may send from there: the longest match must be its own).
 *
 * Longest match in constant time in the number of sessions: one hash
 * probe per prefix length present, longest first. A gateway holds a few
 * lengths (32 and 128 for the clients, the lengths of its sites'
 * networks), so a lookup costs the same with ten sessions as with
 * 100,000.
 *
 * Lookups never write to the table. A table is one thread's: a gateway
 * on several loops keeps a replica on each loop after the first, which
 * the observer of loop 0's table keeps in step (shard.h).
 */
#ifndef CULVERT_ROUTE_H
#define CULVERT_ROUTE_H

#include <stdbool.h>

#include "addr.h"

struct route_table;

int route_table_new(struct route_table **out);
void route_table_free(struct route_table *table);

/* Route prefix p to session. -EEXIST when p (the same prefix, not an
 * overlapping one) is routed already; -EINVAL for a NULL session, an
 * unknown family, a length past the family's or host bits set; -ENOMEM. */
int route_add(struct route_table *table, const struct cv_prefix *p,
	      void *session);
/* Removes p only while it still points at session. */
void route_del(struct route_table *table, const struct cv_prefix *p,
	       const void *session);
/* The session of the longest prefix holding addr: family AF_INET, addr
 * points at 4 bytes; AF_INET6, 16 bytes (both as in the IP header, no
 * alignment needed). NULL when none does. */
void *route_lookup(const struct route_table *table, int family,
		   const void *addr);
/* The session routed exactly p, or NULL. */
void *route_find(const struct route_table *table, const struct cv_prefix *p);
unsigned int route_count(const struct route_table *table);

/* fn(arg, p, session, added) after each route_add that added, and each
 * route_del that removed, p. One observer per table; NULL: none. */
typedef void route_observer(void *arg, const struct cv_prefix *p,
			    void *session, bool added);
void route_table_observe(struct route_table *table, route_observer *fn,
			 void *arg);
/* Every route of from added to to: 0 or a negative errno. */
int route_table_copy(const struct route_table *from, struct route_table *to);

#endif
