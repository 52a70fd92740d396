/*
 * What culvertd keeps under /run while it runs: the directory of its
 * control socket and pid file, /run/culvert/NAME by default
 * (control_request.h has the rule). /run is empty after every boot, so
 * culvertd makes what it needs there itself, as root, before anything
 * else: /run/culvert (0755, root's) and the instance's own directory.
 * Before dropping root it gives the instance's directory to the user it
 * becomes (privilege.c), so that the unprivileged daemon can still remove
 * its socket and pid file at stop; /run/culvert itself is never handed to
 * anyone, so instances with different users do not fight over it.
 */
#ifndef CULVERT_RUN_DIR_H
#define CULVERT_RUN_DIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct config;

#define RUN_DIR_MAX 2	/* the socket's and the pid file's */

struct run_dir {
	/* Directories below /run/culvert that this instance uses: handed
	 * to the daemon's user, removed at stop if empty. */
	char dirs[RUN_DIR_MAX][PATH_MAX];
	unsigned int n_dirs;
	char pid_file[PATH_MAX];	/* "" without one */
	bool pid_written;
};

/* Where the pid file goes: pid-file, or /run/culvert/NAME/culvertd.pid
 * when detached; "" in the foreground without pid-file. Returns 0, or a
 * negative errno when the config file's name cannot name an instance. */
int run_dir_pid_path(const struct config *cfg, bool detached, char *buf,
		     size_t size);

/* Make the directories under /run/culvert that the control socket and
 * the pid file need (before the socket is bound). Returns 0 or a
 * negative errno, logged. */
int run_dir_make(struct run_dir *r, const struct config *cfg, bool detached);
/* Write this process's id into the pid file, if there is one (once the
 * socket shows that no other culvertd runs this instance). Returns 0 or
 * a negative errno, logged. */
int run_dir_write_pid(struct run_dir *r);
/* At stop: the pid file removed, and each directory if it is empty (an
 * unprivileged daemon cannot remove its directory from the root-owned
 * /run/culvert: it stays, empty, until the next start or boot). */
void run_dir_clean(struct run_dir *r);

#endif
