/*
 * Where an inner packet goes: its destination address to the session that
 * holds that address. A hash table, because the fast path asks once per
 * packet and a gateway may hold thousands of sessions.
 */
#ifndef CULVERT_ROUTE_H
#define CULVERT_ROUTE_H

#include "addr.h"

struct route_table;

int route_table_new(struct route_table **out);
void route_table_free(struct route_table *table);

/* -EEXIST when addr is already routed; -EINVAL for a NULL session or an
 * unknown family; -ENOMEM. */
int route_add(struct route_table *table, const struct cv_addr *addr,
	      void *session);
/* Removes addr only while it still points at session. */
void route_del(struct route_table *table, const struct cv_addr *addr,
	       const void *session);
/* family AF_INET: addr points at 4 bytes; AF_INET6: 16 bytes (both as in
 * the IP header). NULL when no session holds it. */
void *route_lookup(const struct route_table *table, int family,
		   const void *addr);
unsigned int route_count(const struct route_table *table);

#endif
