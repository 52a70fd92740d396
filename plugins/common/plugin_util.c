#include "plugin_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int plugin_config_number(const struct cv_host_api *api, struct cv_host *host,
			 const char *key, unsigned long def, unsigned long min,
			 unsigned long max, unsigned int *out)
{
	const char *text = api->config_get(host, key);
	char *end;

	if (!text) {
		*out = (unsigned int)def;
		return 0;
	}
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || v < min || v > max) {
		api->log(host, CV_LOG_ERR, "'%s': '%s' is not a number from %lu to %lu",
			 key, text, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

int plugin_config_bytes(const struct cv_host_api *api, struct cv_host *host,
			const char *key, uint64_t def, uint64_t min,
			uint64_t max, uint64_t *out)
{
	const char *text = api->config_get(host, key);
	const char *units = "KMGT", *unit;
	char *end;

	if (!text) {
		*out = def;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	unit = *end ? strchr(units, *end) : NULL;
	int shift = unit ? 10 * (int)(unit - units + 1) : 0;
	if (text[0] < '0' || text[0] > '9' || errno || (*end && (!unit || end[1])) ||
	    v > (max >> shift) || (v << shift) < min) {
		api->log(host, CV_LOG_ERR,
			 "'%s': '%s' is not an amount of bytes from %llu to %llu (a number, or one with K, M, G or T after it)",
			 key, text, (unsigned long long)min,
			 (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

int64_t plugin_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

bool peer_log_allowed(struct peer_log *pl, const struct cv_host_api *api,
		      struct cv_host *host, const char *what)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != pl->second) {
		if (pl->suppressed)
			api->log(host, CV_LOG_NOTICE,
				 "%u more %s were not logged", pl->suppressed,
				 what);
		pl->second = now.tv_sec;
		pl->lines = 0;
		pl->suppressed = 0;
	}
	if (pl->lines >= PEER_LOG_BURST) {
		pl->suppressed++;
		return false;
	}
	pl->lines++;
	return true;
}
