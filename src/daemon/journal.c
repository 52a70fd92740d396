#include "journal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
/* CODE_FILE= and the like would name this file, not the line's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

#include "log.h"

/* One FIELD=value into buf at *used; false when it does not fit. */
static bool field(struct iovec *iov, unsigned int *n, char *buf, size_t size,
		  size_t *used, const char *name, const char *value)
{
	if (!value)
		return true;
	int len = snprintf(buf + *used, size - *used, "%s=%s", name, value);
	if (len < 0 || (size_t)len >= size - *used)
		return false;
	iov[*n].iov_base = buf + *used;
	iov[*n].iov_len = (size_t)len;
	(*n)++;
	*used += (size_t)len + 1;
	return true;
}

unsigned int journal_entry(int priority, const struct log_fields *f,
			   const char *line, const char *identifier,
			   struct iovec *iov, char *buf, size_t size)
{
	const struct log_fields none = { 0 };
	char prio[4];
	unsigned int n = 0;
	size_t used = 0;

	if (!f)
		f = &none;
	snprintf(prio, sizeof(prio), "%d", priority & LOG_PRIMASK);
	if (field(iov, &n, buf, size, &used, "MESSAGE", line) &&
	    field(iov, &n, buf, size, &used, "PRIORITY", prio) &&
	    field(iov, &n, buf, size, &used, "SYSLOG_IDENTIFIER", identifier) &&
	    field(iov, &n, buf, size, &used, "SESSION", f->session) &&
	    field(iov, &n, buf, size, &used, "USER", f->user) &&
	    field(iov, &n, buf, size, &used, "PEER", f->peer) &&
	    field(iov, &n, buf, size, &used, "TRANSPORT", f->transport))
		return n;
	return 0;
}

#ifdef HAVE_SYSTEMD
/* Where journald takes native entries (systemd-journald.service(8)). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *journal_identifier;

static int write_entry(int priority, const struct log_fields *f,
		       const char *line, void *arg)
{
	struct iovec iov[JOURNAL_MAX_FIELDS];
	char buf[2048];
	unsigned int n = journal_entry(priority, f, line, journal_identifier,
				       iov, buf, sizeof(buf));

	return n ? sd_journal_sendv(iov, (int)n) : -1;
}
#endif

void journal_attach(const char *identifier)
{
	log_use_priority_prefixes(true);
#ifdef HAVE_SYSTEMD
	/* sd_journal_sendv() reports success when no journal listens: ask
	 * first, or every line would be lost. */
	if (access(JOURNAL_SOCKET, W_OK) < 0)
		return;
	journal_identifier = identifier;
	log_set_writer(write_entry, NULL);
#endif
}
