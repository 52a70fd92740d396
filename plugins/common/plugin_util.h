/* Small pieces every transport plugin needs the same way: a number from
 * its config, the monotonic clock, and a rate limit on log lines about
 * strangers. */
#ifndef CULVERT_PLUGIN_UTIL_H
#define CULVERT_PLUGIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <culvert/transport.h>

/* key's value as a number in [min, max], def when unset. Returns 0, or
 * -EINVAL after logging the key, the value and the range. */
int plugin_config_number(const struct cv_host_api *api, struct cv_host *host,
			 const char *key, unsigned long def, unsigned long min,
			 unsigned long max, unsigned int *out);

/* key's value as an amount of bytes: a number, or one with K, M, G or T
 * after it (powers of 1024), in [min, max]; def when unset. Returns 0,
 * or -EINVAL after logging the key and the value. */
int plugin_config_bytes(const struct cv_host_api *api, struct cv_host *host,
			const char *key, uint64_t def, uint64_t min,
			uint64_t max, uint64_t *out);

/* The struct of type that holds member at ptr. */
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* CLOCK_MONOTONIC in milliseconds. */
int64_t plugin_now_ms(void);

/* At most PEER_LOG_BURST lines a second about peers: a scan must not fill
 * the log. The first line of a new second says how many were dropped,
 * as "N more WHAT were not logged". */
#define PEER_LOG_BURST 20

struct peer_log {
	time_t second;
	unsigned int lines, suppressed;
};

bool peer_log_allowed(struct peer_log *pl, const struct cv_host_api *api,
		      struct cv_host *host, const char *what);

/* api->log(host, prio, ...) when pl allows one more line about what. */
#define PEER_LOG_TO(pl, api, host, what, prio, ...) \
	do { \
		if (peer_log_allowed(pl, api, host, what)) \
			(api)->log(host, prio, __VA_ARGS__); \
	} while (0)

#endif
