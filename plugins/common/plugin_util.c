#include "plugin_util.h"

#include <errno.h>
#include <stdlib.h>

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
