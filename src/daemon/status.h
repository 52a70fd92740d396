/* What `culvertctl status` and `show` tell: a header, a page of sessions and
 * the daemon's counters with each transport's own, as text for a person
 * (status.c) or as JSON for a program (status_json.c); and the same
 * counters as one log line (SIGUSR1). */
#ifndef CULVERT_STATUS_H
#define CULVERT_STATUS_H

#include <stdbool.h>

#include "strbuf.h"

struct core;
struct transports;

/* all: the counters at 0 too. The sessions of page page_size long
 * (from 1; 0: every session), and what the page left out. */
void status_text(const struct core *core, const struct transports *ts,
		 bool all, unsigned int page, unsigned int page_size,
		 struct strbuf *out);
void status_json(const struct core *core, const struct transports *ts,
		 unsigned int page, unsigned int page_size, struct strbuf *out);
/* The sessions called name (identity or outer address), in full, as
 * text or as JSON ({"sessions":[...]}). Returns how many. */
unsigned int status_show(const struct core *core, const char *name,
			 struct strbuf *out);
unsigned int status_show_json(const struct core *core, const char *name,
			      struct strbuf *out);
/* "counters: sessions=N rx_packets=... tls.truncated_record=..." */
void status_log(const struct core *core, const struct transports *ts);

#endif
