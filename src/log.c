#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
	bool to_stderr;
	int max_priority;
	bool timestamps;
	bool prefixes;		/* "<N>" lines for the journal's stream */
	log_sink *sink;
	void *sink_arg;
	log_writer *writer;
	void *writer_arg;
} logger = { true, LOG_NOTICE, true, false, NULL, NULL, NULL, NULL };

void log_set_timestamps(bool on)
{
	logger.timestamps = on;
}

void log_use_priority_prefixes(bool on)
{
	logger.prefixes = on;
}

void log_set_sink(log_sink *sink, void *arg)
{
	logger.sink = sink;
	logger.sink_arg = arg;
}

void log_set_writer(log_writer *writer, void *arg)
{
	logger.writer = writer;
	logger.writer_arg = arg;
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

bool log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	char end;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static void to_stderr(int priority, const char *line)
{
	static const char *const level[] = {
		[LOG_ERR] = "error: ", [LOG_WARNING] = "warning: ",
		[LOG_NOTICE] = "", [LOG_INFO] = "", [LOG_DEBUG] = "debug: ",
	};

	if (logger.prefixes) {
		fprintf(stderr, "<%d>%s\n", priority & LOG_PRIMASK, line);
		return;
	}
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

void log_fields_vmsg(int priority, const struct log_fields *f,
		     const char *prefix, const char *fmt, va_list ap)
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
	if (logger.writer &&
	    logger.writer(priority, f, line, logger.writer_arg) >= 0)
		return;
	to_stderr(priority, line);
}

void log_vmsg(int priority, const char *prefix, const char *fmt, va_list ap)
{
	log_fields_vmsg(priority, NULL, prefix, fmt, ap);
}

void log_fields_msg(int priority, const struct log_fields *f,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fields_vmsg(priority, f, NULL, fmt, ap);
	va_end(ap);
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
	log_fields_vmsg(priority, NULL, NULL, fmt, ap);
	va_end(ap);
}
