/* The server's checks of a client's inner packets (packet_check.h). */
#include "packet_check.h"

#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>
#include <sys/socket.h>

/* IPv4: source at 12, destination at 16; IPv6: 8 and 24. */
int packet_addr(const uint8_t *pkt, size_t len, bool source,
		const uint8_t **addr)
{
	if (len >= sizeof(struct iphdr) && pkt[0] >> 4 == 4) {
		*addr = pkt + (source ? 12 : 16);
		return AF_INET;
	}
	if (len >= sizeof(struct ip6_hdr) && pkt[0] >> 4 == 6) {
		*addr = pkt + (source ? 8 : 24);
		return AF_INET6;
	}
	return 0;
}

bool packet_source_allowed(const uint8_t *pkt, size_t len,
			   const struct cv_addr *leased)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	/* Inner addresses are IPv4 only: an IPv6 packet has no lease. */
	if (!leased || family != AF_INET || leased->family != AF_INET)
		return false;
	return memcmp(src, &leased->v4, 4) == 0;
}

bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool,
			    const struct cv_addr *server)
{
	const uint8_t *dst;

	if (packet_addr(pkt, len, false, &dst) != AF_INET)
		return false;
	struct cv_addr a = { .family = AF_INET };
	memcpy(&a.v4, dst, 4);
	return prefix_contains(pool, &a) && !addr_equal(&a, server);
}
