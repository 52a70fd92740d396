/*
 * Logging: to stderr in the foreground, to syslog when detached. Under
 * systemd, when stderr is the journal's stream, each line carries its
 * priority: natively, with the fields of struct log_fields, through the
 * writer culvertd installs (src/daemon/journal.c), or as a "<N>" prefix
 * that the journal's stream reads (sd-daemon(3)).
 */
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

/* What a line about one session carries besides its text, so that the
 * journal can select on it (journalctl USER=alice): the session's number
 * (SESSION), who it logged in as (USER), its outer address (PEER) and
 * its transport (TRANSPORT). NULL: not known (yet). */
struct log_fields {
	const char *session;
	const char *user;
	const char *peer;
	const char *transport;
};

void log_fields_msg(int priority, const struct log_fields *f,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_fields_vmsg(int priority, const struct log_fields *f,
		     const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Whether stderr is the journal: systemd puts its device and inode in
 * $JOURNAL_STREAM ("DEV:INODE", systemd.exec(5)) for the service's
 * stderr; a redirection by hand changes the inode. */
bool log_stderr_is_journal(void);
/* Lines on stderr as "<N>text" (N the priority), without culvertd's time
 * and level words: the journal's stream takes N as the line's priority
 * and stamps the time itself. */
void log_use_priority_prefixes(bool on);

/* A native writer (the journal's): every line, with its fields. A
 * negative return sends the line to stderr instead. NULL: none. */
typedef int log_writer(int priority, const struct log_fields *f,
		       const char *line, void *arg);
void log_set_writer(log_writer *writer, void *arg);

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
