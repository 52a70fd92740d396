/*
 * The MAC table of a TAP gateway (device-type = tap), beside the route
 * table of a TUN one: which session owns each Ethernet source address,
 * and which addresses were seen on the LAN (read from the TAP device,
 * that is from the bridge).
 *
 * A session owns the addresses it showed first, up to a maximum
 * (max-macs): a frame from an address the LAN or another session owns
 * is refused, so that no client can take over another's traffic, or a
 * LAN host's (its router's, say) by sending from its address. An entry
 * not seen for mac-age is forgotten, as a bridge forgets; a session's
 * go with it when it ends.
 *
 * Lookups are one hash probe, whatever the number of sessions: an
 * open-addressing table keyed by the 48-bit address, mixed with a
 * random key so that nobody can choose addresses that collide. Learning
 * writes to the table, and so does the datapath: the table is its own
 * (unlike the route table, which the server writes).
 */
#ifndef CULVERT_MAC_TABLE_H
#define CULVERT_MAC_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

#define MAC_LEN 6
/* Addresses learned from the LAN at most: past it, new ones are not
 * remembered (a frame to one is then unknown unicast, as it would be to
 * a bridge whose table is full). */
#define MAC_TABLE_LAN_MAX 65536

struct mac_table;

/* One session's addresses, and its budget for flooded frames (l2.c). */
struct mac_port {
	struct mac_table *table;
	void *session;			/* whose, for the datapath */
	unsigned int n;
	uint8_t macs[CONFIG_MAX_MACS][MAC_LEN];
	/* The token bucket of flood-rate, in thousandths of a frame. */
	uint64_t tokens;
	int64_t refilled_at;		/* loop_now() milliseconds */
};

enum mac_learned {
	MAC_OWN,	/* already the port's (seen again) */
	MAC_NEW,	/* learned: now the port's */
	MAC_TAKEN,	/* the LAN's or another session's */
	MAC_FULL,	/* the port has its maximum already */
	MAC_NOMEM,
};

int mac_table_new(struct mac_table **out);
/* Every port must have been freed. */
void mac_table_free(struct mac_table *t);

/* A port for session; NULL when out of memory. */
struct mac_port *mac_port_new(struct mac_table *t, void *session);
/* The port's addresses are forgotten, and the port freed (NULL: none). */
void mac_port_free(struct mac_port *p);

/* The source address of a frame from p's session, seen at now. */
enum mac_learned mac_port_learn(struct mac_port *p, const uint8_t *mac,
				unsigned int max, int64_t now);

/* Where mac is: the port that owns it (NULL: none), and whether the
 * table knows it at all (a port's, or seen on the LAN). */
struct mac_port *mac_table_lookup(const struct mac_table *t,
				  const uint8_t *mac, bool *known);
/* The source address of a frame read from the LAN, seen at now: learned
 * (or refreshed) unless a port owns it. */
void mac_table_seen_on_lan(struct mac_table *t, const uint8_t *mac,
			   int64_t now);

/* Forget every entry last seen before `before`, a port's too. */
void mac_table_age(struct mac_table *t, int64_t before);
/* Entries: of every port, and of the LAN. */
unsigned int mac_table_count(const struct mac_table *t, unsigned int *lan);

/* "02:00:5e:10:00:01" */
#define MAC_STRLEN 18
char *mac_str(const uint8_t *mac, char buf[MAC_STRLEN]);

/* Whether mac is a group address (multicast, broadcast): bit 0 of its
 * first byte. Such an address is never a source. */
static inline bool mac_is_group(const uint8_t *mac)
{
	return mac[0] & 1;
}

#endif
