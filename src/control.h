/*
 * The control socket: a unix socket on which culvertctl asks the daemon
 * for its status, ends a session, or has it reload. One request line per
 * connection; the answer is "ok" or "error: WHY" on the first line, then
 * the body, then the daemon closes.
 */
#ifndef CULVERT_CONTROL_H
#define CULVERT_CONTROL_H

#include <stddef.h>

struct daemon;
struct config;
struct control;

/* Where control sockets go by default; culvertd makes it. */
#define CONTROL_RUN_DIR "/run/culvert"

/* The socket's path: control-socket, or /run/culvert/NAME.sock for the
 * config file NAME.conf. */
void control_path(const struct config *cfg, char *buf, size_t size);

/* Listen on the control socket. Refuses (-EADDRINUSE, logged) when a
 * running daemon answers there already. */
int control_open(struct daemon *d, struct control **out);
/* Stop listening and remove the socket. */
void control_close(struct control *c);

#endif
