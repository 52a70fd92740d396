/*
 * metrics-listen: the metrics over HTTP for a Prometheus server to
 * scrape (GET /metrics), served by libmicrohttpd from culvertd's own
 * loop: MHD runs without a thread of its own (MHD_USE_EPOLL, its epoll
 * fd watched here, its timeouts on a loop timer), so the metrics are
 * read where they are counted, by the one thread that counts them.
 * Bounded: a few connections at once, a few per address, each with a
 * deadline and a small memory budget.
 */
#ifndef CULVERT_METRICS_HTTP_H
#define CULVERT_METRICS_HTTP_H

struct core;
struct transports;
struct metrics_http;

/* Listen on core->cfg->metrics_listen (before the privilege drop: the
 * port may be below 1024). Returns 0 or a negative errno, logged. */
int metrics_http_open(struct core *core, const struct transports *ts,
		      struct metrics_http **out);
void metrics_http_close(struct metrics_http *m);

#endif
