/* What `culvertctl status` shows: every session, and the daemon's totals
 * with each transport's own, as aligned text for a person or as JSON for
 * an exporter; and the same totals as one log line (SIGUSR1). */
#ifndef CULVERT_STATUS_H
#define CULVERT_STATUS_H

#include "strbuf.h"

struct core;
struct transports;

void status_text(const struct core *core, const struct transports *ts,
		 struct strbuf *out);
void status_json(const struct core *core, const struct transports *ts,
		 struct strbuf *out);
/* "counters: sessions=N rx_packets=... tls.truncated_record=..." */
void status_log(const struct core *core, const struct transports *ts);

#endif
