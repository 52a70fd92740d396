/*
 * Numbers for a person to read: sizes in KiB, MiB, GiB and times as
 * "3 minutes ago" or "in 2 years", for culvertctl status and show. The
 * JSON and the metrics keep exact numbers.
 */
#ifndef CULVERT_HUMAN_UNITS_H
#define CULVERT_HUMAN_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define HUMAN_MAX 48

/* "0 B", "999 B", "1.5 KiB", "4.0 MiB", "12.3 GiB": 1024-based. */
const char *human_bytes(uint64_t bytes, char buf[HUMAN_MAX]);
/* "12 seconds", "1 minute", "2 hours 5 minutes", "3 days", "2 years":
 * the largest unit, and the next one below while the first is under 10. */
const char *human_span(int64_t seconds, char buf[HUMAN_MAX]);
/* A moment seconds_away from now, negative in the past: "3 minutes ago",
 * "just now" (0), "in 2 years". */
const char *human_when(int64_t seconds_away, char buf[HUMAN_MAX]);

#endif
