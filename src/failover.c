/* The pause before a client moves to its next gateway (failover.h). */
#include "failover.h"

#include <sys/socket.h>

unsigned int failover_pause_ms(const struct cv_addr *a, unsigned int spread_ms,
			       bool draining, uint32_t r)
{
	unsigned int width = spread_ms / FAILOVER_SLOTS, slot;

	if (draining)
		return r % FAILOVER_DRAIN_PAUSE_MS;
	if (a->family == AF_INET)
		slot = a->bytes[3] % FAILOVER_SLOTS;
	else if (a->family == AF_INET6)
		slot = a->bytes[15] % FAILOVER_SLOTS;
	else
		slot = (r >> 16) % FAILOVER_SLOTS;
	return slot * width + r % (width / 4 + 1);
}
