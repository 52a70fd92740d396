/*
 * The way to the server, watched through the kernel: netlink events of
 * links, addresses and routes (libmnl, as netlink.c). A client that
 * waits out its back-off because the network was gone (a laptop asleep,
 * an uplink down) connects as soon as a route to the server is back
 * over a link that is up, instead of sleeping on for up to a minute;
 * the back-off stays for a server that refuses or does not answer.
 */
#ifndef CULVERT_PATH_WATCH_H
#define CULVERT_PATH_WATCH_H

#include <sys/socket.h>

struct client;
struct path_watch;

/* Watch the way to c's 'remote' (when it is an address; else to the
 * last server a link came up with). Returns 0 or -ENOMEM; *out is NULL
 * when netlink events cannot be had (logged: the back-off alone then
 * brings the client back). */
int path_watch_new(struct client *c, struct path_watch **out);
void path_watch_free(struct path_watch *pw);
/* A link came up with the server at sa: watch the way to it. */
void path_watch_server(struct path_watch *pw, const struct sockaddr *sa);

#endif
