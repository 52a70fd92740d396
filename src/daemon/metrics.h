/*
 * The metrics, in Prometheus's text exposition format (version 0.0.4):
 * what `metrics-listen` serves over HTTP and `culvertctl metrics` prints
 * for node_exporter's textfile collector. Names start with culvert_,
 * counters end in _total, units are in the names (_bytes, _seconds);
 * the process's own are the standard process_* ones. culvertd(8),
 * METRICS, lists them. Every counter of CORE_COUNTERS appears without
 * more code: as culvert_NAME_total, unless the table in metrics.c files
 * it under a family with a label (a drop, by reason).
 */
#ifndef CULVERT_METRICS_H
#define CULVERT_METRICS_H

#include <stdint.h>

#include "strbuf.h"

struct core;
struct transports;

/* Where the metrics go decides the names of the process's own: the
 * standard process_* for a Prometheus server that scrapes culvertd, and
 * culvert_process_* for node_exporter's textfile collector, whose own
 * process_* they would collide with. */
enum metrics_form {
	METRICS_PROCESS,	/* metrics-listen */
	METRICS_TEXTFILE,	/* culvertctl metrics */
};

void metrics_text(const struct core *core, const struct transports *ts,
		  enum metrics_form form, struct strbuf *out);

/* ---- writing the format (metrics.c, process_metrics.c) */

/* "# HELP name help" and "# TYPE name type". */
void metrics_family(struct strbuf *out, const char *name, const char *type,
		    const char *help);
/* name{labels} value; labels is "" or pairs already escaped, built
 * with metrics_label. */
void metrics_sample(struct strbuf *out, const char *name, const char *labels,
		    double value);
void metrics_sample_u64(struct strbuf *out, const char *name,
			const char *labels, uint64_t value);
/* Append key="value" (with a comma before it unless first) to the
 * labels in buf, value escaped as the format wants (\\, \", \n). */
void metrics_label(char *buf, size_t size, const char *key, const char *value);

/* The process's own: PREFIX cpu_seconds_total, resident_memory_bytes,
 * virtual_memory_bytes, start_time_seconds, open_fds, max_fds, with
 * prefix "process_" or "culvert_process_"; each left out when /proc
 * cannot tell it. */
void process_metrics(const char *prefix, struct strbuf *out);

#endif
