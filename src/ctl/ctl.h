/*
 * culvertctl: the table of subcommands lives in culvertctl.c; each
 * subcommand lives in its own ctl_*.c.
 */
#ifndef CULVERT_CTL_H
#define CULVERT_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#include "control_request.h"

/* What a subcommand returns when its arguments are wrong: culvertctl
 * then prints that subcommand's usage line from the table. */
#define CTL_USAGE (-1)

struct ctl_command {
	const char *name;
	const char *args;		/* the synopsis after the name */
	/* argv[0] is the subcommand's name. Returns the exit status, or
	 * CTL_USAGE. */
	int (*run)(int argc, char *argv[]);
	const char *description;	/* one line, for --help */
};

/* culvertctl passwd [--user-group NAME] [--group GROUP] FILE USER */
int ctl_passwd(int argc, char *argv[]);
/* culvertctl status, show and metrics (ctl_status.c) */
int ctl_status(int argc, char *argv[]);
int ctl_show(int argc, char *argv[]);
int ctl_metrics(int argc, char *argv[]);
int ctl_kick(int argc, char *argv[]);
int ctl_reload(int argc, char *argv[]);
int ctl_drain(int argc, char *argv[]);
int ctl_undrain(int argc, char *argv[]);
/* culvertctl diagnose [-c FILE]: the network around the tunnel */
int ctl_diagnose(int argc, char *argv[]);
/* culvertctl pki SUBCOMMAND DIR ...: a CA in a directory (pki.h) */
int ctl_pki(int argc, char *argv[]);

/* Which daemon the commands below talk to: the socket, or the one its
 * config file names. Returns 0 or a negative errno, logged. */
int ctl_set_socket(const char *socket, const char *config);
/* The instance NAME (culvertd@NAME): its config's control-socket when
 * SYSCONFDIR/culvert/NAME.conf can be read, else the default socket of
 * NAME.conf (ctl_instance.c). Returns 0 or a negative errno, logged. */
int ctl_set_instance(const char *name);
/* Without any of these: the only instance that answers under
 * /run/culvert. Returns 0; -ENOENT when none does, -EEXIST when several
 * do (which, logged unless quiet). */
int ctl_find_instance(bool quiet);
/* Send one request to the daemon, print the answer; the exit status. */
int ctl_request(const char *request);
/* The same for op (and name, for a request about a session), as
 * control_request_format() words it: CTL_USAGE for an empty name or one
 * with a control character, 1 (logged) for one too long. */
int ctl_send(enum control_op op, const char *name);
/* The same, printing nothing: the answer's body is appended to body (when
 * not NULL). Returns 0, -EPROTO when the daemon answered an error, or the
 * negative errno of reaching it (-ENOENT: no socket, -ECONNREFUSED: no
 * daemon behind it). */
struct strbuf;
int ctl_query(const char *request, struct strbuf *body);
/* The socket chosen by ctl_set_socket, and the config file it was given,
 * or NULL (-s SOCKET). */
const char *ctl_socket_path(void);
const char *ctl_config_path(void);

/* Sets user's password in the password file at path: replaces the user's
 * line, or adds one, and keeps every other line as it was. The user's
 * group (the third field) becomes user_group, or stays what the line
 * said when user_group is NULL. Writes path.tmp and renames it over
 * path, so a crash leaves the old file or the new one. Returns 0, or a
 * negative errno after logging why. */
int passwd_update(const char *path, const char *user, const char *password,
		  const char *user_group);
/* The same, and the file becomes root's and group's, mode 0640: for a
 * culvertd that runs as that group and reads it again on a reload. */
int passwd_update_group(const char *path, const char *user,
			const char *password, const char *user_group,
			gid_t group);
/* The id of the system group name, for --group. Returns 0, or -ENOENT
 * after logging that there is no such group. */
int ctl_group(const char *name, gid_t *gid);

#endif
