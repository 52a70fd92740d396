/*
 * Logging natively to the journal, under systemd: each line with its
 * priority and, for a line about a session, the fields of struct
 * log_fields, so that `journalctl -u culvertd@gateway USER=alice` finds
 * alice's sessions and `journalctl -p warning` what went wrong.
 * culvertd uses it when its stderr is the journal's stream
 * (log_stderr_is_journal()); when the journal's socket is missing, or it
 * does not take a line, the lines go to that stream with a "<N>" priority
 * prefix instead.
 */
#ifndef CULVERT_JOURNAL_H
#define CULVERT_JOURNAL_H

#include <stddef.h>
#include <sys/uio.h>

struct log_fields;

/* The most fields of one entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and
 * the four of struct log_fields. */
#define JOURNAL_MAX_FIELDS 7

/* The entry for one line, as FIELD=value strings into buf, pointed at by
 * iov: what sd_journal_sendv() sends. Returns how many (0 when buf is too
 * small). */
unsigned int journal_entry(int priority, const struct log_fields *f,
			   const char *line, const char *identifier,
			   struct iovec *iov, char *buf, size_t size);

/* From now on every line goes to the journal, or to stderr with "<N>"
 * prefixes where it cannot (built without libsystemd, or no journal's
 * socket). */
void journal_attach(const char *identifier);

#endif
