/*
 * Detaching from the terminal (culvertd without -f), in two steps around
 * the setup. The fork comes first, before anything is set up: threads,
 * and a signalfd's wakeups of epoll, belong to the process that made
 * them, so a daemon(3) after the setup left a process that no signal
 * could stop. The parent stays until the child says it serves, so that
 * errors of the setup still reach the terminal and culvertd's exit
 * status, as they do in the foreground.
 */
#ifndef CULVERT_DETACH_H
#define CULVERT_DETACH_H

/* Fork. The parent waits, ignoring the terminal's ^C (the child gets it
 * too, and answers it), then exits: 0 once the child called
 * detach_done(), or with the child's own status when it ended first. The
 * child gets the fd to pass to detach_done(). Returns a negative errno,
 * logged, when it cannot fork. */
int detach_start(void);

/* In the child, once it serves: a session of its own, no terminal,
 * standard input and output on /dev/null, the working directory /; then
 * the parent is told, and exits. Log to syslog from here on. */
void detach_done(int fd);

#endif
