#include "netcheck.h"

#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "log.h"

/* A per-namespace sysctl: what matters is the namespace culvertd runs
 * in, which /proc/sys/net shows. */
#define IPV4_FORWARD "/proc/sys/net/ipv4/ip_forward"

int netcheck_ipv4_forwarding(void)
{
	FILE *f = fopen(IPV4_FORWARD, "re");
	int value = -1;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &value) != 1)
		value = -1;
	fclose(f);
	return value < 0 ? -EIO : value != 0;
}

int netcheck_server(const struct config *cfg)
{
	int warnings = 0;

	if (cfg->n_routes > 0 && netcheck_ipv4_forwarding() == 0) {
		char route[ADDR_STRLEN];
		log_warn("IPv4 forwarding is off (net.ipv4.ip_forward = 0): clients will reach this gateway but not %s%s behind it. Turn it on with: sysctl -w net.ipv4.ip_forward=1 (and make it last in /etc/sysctl.d/)",
			 prefix_str(&cfg->routes[0], route),
			 cfg->n_routes > 1 ? " and the other routed networks" : "");
		warnings++;
	}
	return warnings;
}
