/*
 * Dropping root. Once the TUN device, the sockets and the control socket
 * exist, culvertd runs as the configured user and group, keeping only
 * CAP_NET_ADMIN, which a client needs to install the addresses and routes
 * each new session pushes. A bug reachable from the network then owns an
 * unprivileged process, not the machine.
 */
#ifndef CULVERT_PRIVILEGE_H
#define CULVERT_PRIVILEGE_H

struct config;
struct run_dir;

/* Check that user and group exist (for --check-config and before any
 * setup). Returns 0 or -EINVAL, logged. */
int privilege_check(const struct config *cfg);

/* Become cfg->user / cfg->group, if set; hand the control socket at path
 * (if any) to that group, and run's directories to that user, first.
 * Returns 0 or a negative errno, logged. */
int privilege_drop(const struct config *cfg, const char *control_path,
		   const struct run_dir *run);

#endif
