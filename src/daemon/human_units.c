#include "human_units.h"

#include <inttypes.h>
#include <stdio.h>

const char *human_bytes(uint64_t bytes, char buf[HUMAN_MAX])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	if (bytes < 1024) {
		snprintf(buf, HUMAN_MAX, "%" PRIu64 " B", bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, HUMAN_MAX, "%.1f %s", v, units[u]);
	return buf;
}

static const struct {
	const char *name;
	int64_t seconds;
} spans[] = {
	{ "year", 365 * 86400 },
	{ "day", 86400 },
	{ "hour", 3600 },
	{ "minute", 60 },
	{ "second", 1 },
};

#define N_SPANS (sizeof(spans) / sizeof(spans[0]))

static int unit(char *buf, size_t size, int64_t n, const char *name)
{
	return snprintf(buf, size, "%" PRId64 " %s%s", n, name, n == 1 ? "" : "s");
}

const char *human_span(int64_t seconds, char buf[HUMAN_MAX])
{
	size_t i = 0;

	if (seconds < 0)
		seconds = -seconds;
	while (i + 1 < N_SPANS && seconds < spans[i].seconds)
		i++;
	int64_t n = seconds / spans[i].seconds;
	int used = unit(buf, HUMAN_MAX, n, spans[i].name);
	if (n >= 10 || i + 1 == N_SPANS || used <= 0 || used >= HUMAN_MAX)
		return buf;
	int64_t rest = seconds % spans[i].seconds / spans[i + 1].seconds;
	if (rest > 0) {
		buf[used++] = ' ';
		unit(buf + used, HUMAN_MAX - (size_t)used, rest, spans[i + 1].name);
	}
	return buf;
}

const char *human_when(int64_t seconds_away, char buf[HUMAN_MAX])
{
	char span[HUMAN_MAX];

	if (seconds_away == 0)
		snprintf(buf, HUMAN_MAX, "just now");
	else if (seconds_away < 0)
		snprintf(buf, HUMAN_MAX, "%s ago", human_span(seconds_away, span));
	else
		snprintf(buf, HUMAN_MAX, "in %s", human_span(seconds_away, span));
	return buf;
}
