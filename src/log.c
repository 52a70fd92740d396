#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static struct {
	bool to_stderr;
	int max_priority;
	bool timestamps;
	log_sink *sink;
	void *sink_arg;
} logger = { true, LOG_NOTICE, true, NULL, NULL };

void log_set_timestamps(bool on)
{
	logger.timestamps = on;
}

void log_set_sink(log_sink *sink, void *arg)
{
	logger.sink = sink;
	logger.sink_arg = arg;
}

void log_open(const char *ident, bool to_stderr, int max_priority)
{
	logger.to_stderr = to_stderr;
	logger.max_priority = max_priority;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool log_enabled(int priority)
{
	return priority <= logger.max_priority;
}

void log_vmsg(int priority, const char *prefix, const char *fmt, va_list ap)
{
	/* Room for the counters line (status_log), which names every
	 * counter of the core and of each transport. */
	char line[LOG_LINE_MAX];

	if (!log_enabled(priority))
		return;
	if (prefix) {
		size_t n = strlen(prefix) < sizeof(line) ? strlen(prefix) : 0;
		memcpy(line, prefix, n);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	} else {
		vsnprintf(line, sizeof(line), fmt, ap);
	}
	if (logger.sink) {
		logger.sink(priority, line, logger.sink_arg);
		return;
	}
	if (!logger.to_stderr) {
		syslog(priority, "%s", line);
		return;
	}
	static const char *const level[] = {
		[LOG_ERR] = "error: ", [LOG_WARNING] = "warning: ",
		[LOG_NOTICE] = "", [LOG_INFO] = "", [LOG_DEBUG] = "debug: ",
	};
	const char *tag = priority <= LOG_DEBUG && priority >= LOG_ERR
				  ? level[priority] : "";
	if (!logger.timestamps) {
		fprintf(stderr, "culvertd: %s%s\n", tag, line);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s%s\n", tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, tag, line);
}

void log_verr_at(const char *path, unsigned int line, const char *fmt,
		 va_list ap)
{
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	log_vmsg(LOG_ERR, prefix, fmt, ap);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, NULL, fmt, ap);
	va_end(ap);
}
