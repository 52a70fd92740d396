/* The server's checks of a client's inner packets (packet_check.h). */
#include "packet_check.h"

#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>
#include <sys/socket.h>

#include "route.h"

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

bool packet_source_is(const uint8_t *pkt, size_t len,
		      const struct route_table *routes, const void *session)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	return family && route_lookup(routes, family, src) == session;
}

/* The packet's destination as an address; family 0 when no IP. */
static struct cv_addr destination(const uint8_t *pkt, size_t len)
{
	const uint8_t *dst;
	struct cv_addr a = { .family = (sa_family_t)packet_addr(pkt, len, false,
								&dst) };

	if (a.family)
		memcpy(a.bytes, dst, a.family == AF_INET ? 4 : 16);
	return a;
}

bool packet_to_routes(const uint8_t *pkt, size_t len,
		      const struct cv_prefix *routes, unsigned int n,
		      const struct cv_addr *also4, const struct cv_addr *also6)
{
	struct cv_addr a = destination(pkt, len);

	if (!a.family)
		return false;
	if (addr_equal(&a, a.family == AF_INET ? also4 : also6))
		return true;
	for (unsigned int i = 0; i < n; i++)
		if (prefix_contains(&routes[i], &a))
			return true;
	return false;
}

bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool4,
			    const struct cv_addr *server4,
			    const struct cv_prefix *pool6,
			    const struct cv_addr *server6)
{
	struct cv_addr a = destination(pkt, len);
	const struct cv_prefix *pool = a.family == AF_INET ? pool4 : pool6;

	if (!a.family || !pool || pool->addr.family != a.family)
		return false;
	return prefix_contains(pool, &a) &&
	       !addr_equal(&a, a.family == AF_INET ? server4 : server6);
}
