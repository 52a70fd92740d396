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

/* Whether the address at a (family's length) is want. */
static bool same_addr(int family, const uint8_t *a, const struct cv_addr *want)
{
	if (!want || want->family != family)
		return false;
	return memcmp(a, want->bytes, family == AF_INET ? 4 : 16) == 0;
}

bool packet_source_allowed(const uint8_t *pkt, size_t len,
			   const struct cv_addr *leased4,
			   const struct cv_addr *leased6)
{
	const uint8_t *src;
	int family = packet_addr(pkt, len, true, &src);

	return same_addr(family, src, family == AF_INET ? leased4 : leased6);
}

bool packet_to_other_client(const uint8_t *pkt, size_t len,
			    const struct cv_prefix *pool4,
			    const struct cv_addr *server4,
			    const struct cv_prefix *pool6,
			    const struct cv_addr *server6)
{
	const uint8_t *dst;
	int family = packet_addr(pkt, len, false, &dst);
	const struct cv_prefix *pool = family == AF_INET ? pool4 : pool6;

	if (!family || !pool || pool->addr.family != family)
		return false;
	struct cv_addr a = { .family = (sa_family_t)family };
	memcpy(a.bytes, dst, family == AF_INET ? 4 : 16);
	return prefix_contains(pool, &a) &&
	       !addr_equal(&a, family == AF_INET ? server4 : server6);
}
