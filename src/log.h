/* Logging: to stderr in the foreground, to syslog otherwise. */
#ifndef CULVERT_LOG_H
#define CULVERT_LOG_H

/* The longest line logged, its end cut off beyond. */
#define LOG_LINE_MAX 4096

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

void log_open(const char *ident, bool to_stderr, int max_priority);
/* On stderr, whether lines start with the time (a daemon's log) or not
 * (a one-shot command's errors). */
void log_set_timestamps(bool on);
void log_msg(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(int priority, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
bool log_enabled(int priority);
/* An error about a line of a file, as every one is written:
 * "FILE:LINE: message". */
void log_verr_at(const char *path, unsigned int line, const char *fmt,
		 va_list ap) __attribute__((format(printf, 3, 0)));

/* Send every line to sink instead (NULL: back to stderr or syslog): for
 * tests that check what a user would read. */
typedef void log_sink(int priority, const char *line, void *arg);
void log_set_sink(log_sink *sink, void *arg);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) \
	do { \
		if (log_enabled(LOG_DEBUG)) \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
