/*
 * The control socket: a unix socket on which culvertctl asks the daemon
 * for its status, ends a session, or has it reload. One request line per
 * connection; the answer is "ok" or "error: WHY" on the first line, then
 * the body, then the daemon closes.
 */
#ifndef CULVERT_CONTROL_H
#define CULVERT_CONTROL_H

#include <stddef.h>

struct config;
struct control;
struct core;
struct transports;

/* Where control sockets go by default; culvertd makes it. */
#define CONTROL_RUN_DIR "/run/culvert"

/* The socket's path: control-socket, or /run/culvert/NAME.sock for the
 * config file NAME.conf. */
void control_path(const struct config *cfg, char *buf, size_t size);

/* What `culvertctl reload` runs: 0, or a negative errno after logging
 * why the new config was refused. */
typedef int control_reload_fn(void *arg);

/* Listen on the control socket: status from core and the transports,
 * kick among core's sessions, reload through reload(arg). Refuses
 * (-EADDRINUSE, logged) when a running daemon answers there already. */
int control_open(struct core *core, const struct transports *ts,
		 control_reload_fn *reload, void *arg, struct control **out);
/* Stop listening and remove the socket. */
void control_close(struct control *c);

#endif
