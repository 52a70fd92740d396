/*
 * Who may read a secret file: the server's private key (`key`) and the
 * password file. As sshd does for host keys, culvertd refuses to start
 * with one that every user of the machine may read or write, unless
 * `strict-modes = no`; `culvertctl passwd` takes that access away from
 * a password file it rewrites. One file decides what counts as too
 * open, for both.
 */
#ifndef CULVERT_SECRET_FILE_H
#define CULVERT_SECRET_FILE_H

#include <stdbool.h>
#include <sys/types.h>

struct config;

/* Beyond its owner, who may read or write a file of this mode. */
enum secret_reach {
	SECRET_OWNER,		/* nobody else: 0600, 0400 */
	SECRET_GROUP,		/* its group: 0640 (the daemon's group) */
	SECRET_WORLD,		/* every user: o+r or o+w; refused */
};

enum secret_reach secret_reach(mode_t mode);
/* The mode with every user's access taken away: 0644 -> 0640. */
mode_t secret_mode_tightened(mode_t mode);

/* cfg's secret files (key, password-file) that exist: 0, or -EPERM
 * after logging each one every user may read, which culvertd then
 * refuses to use; with strict-modes = no, a warning instead. */
int secret_files_check(const struct config *cfg);

#endif
