/* What `culvertctl status` shows: every session, and the daemon's totals,
 * as aligned text for a person or as JSON for an exporter. */
#ifndef CULVERT_STATUS_H
#define CULVERT_STATUS_H

#include "strbuf.h"

struct daemon;

void status_text(const struct daemon *d, struct strbuf *out);
void status_json(const struct daemon *d, struct strbuf *out);

#endif
