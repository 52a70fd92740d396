/*
 * The control socket: a unix socket on which culvertctl asks the daemon
 * for its status, ends a session, or has it reload. One request line per
 * connection; the answer is "ok" or "error: WHY" on the first line, then
 * the body, then the daemon closes. Its place and its words, which
 * culvertctl shares, are control_request.h.
 */
#ifndef CULVERT_CONTROL_H
#define CULVERT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

struct control;
struct core;
struct transports;

/* What `culvertctl reload` runs: 0, or a negative errno after logging
 * why the new config was refused. */
typedef int control_reload_fn(void *arg);
/* What `culvertctl drain` (on) and `undrain` run: a negative errno when
 * this culvertd cannot (not a gateway); the words for culvertctl in out. */
typedef int control_drain_fn(void *arg, bool on, char *out, size_t size);

/* Listen on the control socket: status from core and the transports,
 * kick among core's sessions, reload through reload(arg), drain and
 * undrain through drain(arg). Refuses (-EADDRINUSE, logged) when a
 * running daemon answers there already. */
int control_open(struct core *core, const struct transports *ts,
		 control_reload_fn *reload, control_drain_fn *drain, void *arg,
		 struct control **out);
/* Stop listening and remove the socket. */
void control_close(struct control *c);

#endif
