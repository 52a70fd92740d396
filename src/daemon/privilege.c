#include "privilege.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "run_dir.h"

/* The directory that holds the control socket at path. */
static void socket_dir(const char *path, char *buf, size_t size)
{
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(buf, size, "%s", dirname(copy));
}

/*
 * Removing the control socket and the pid file at stop takes write
 * permission on their directory, which the unprivileged daemon would not
 * have on a root-owned one: they would stay behind. The instance's own
 * directory under /run/culvert (run_dir.h) becomes the daemon's user's,
 * 0750 with its group, so that the group reaches the socket; the socket
 * itself stays root's (0660, that group), so the group can connect but
 * nobody else can. A directory named by control-socket outside
 * /run/culvert is the administrator's: it is left alone, and
 * check_socket_removable() says if the socket will stay.
 */
static void hand_over_dirs(const struct run_dir *r, uid_t uid, gid_t gid)
{
	for (unsigned int i = 0; r && i < r->n_dirs; i++)
		if (chown(r->dirs[i], uid, gid) < 0 ||
		    chmod(r->dirs[i], 0750) < 0)
			log_warn("cannot give %s to uid %u, gid %u: %s; the control socket and pid file will stay behind when culvertd stops",
				 r->dirs[i], (unsigned int)uid,
				 (unsigned int)gid, strerror(errno));
}

/* PAM runs in the unprivileged daemon, where pam_unix cannot read
 * /etc/shadow, and its helper unix_chkpwd checks only the password of
 * the user who calls it: every other user would be refused. */
static void warn_pam(const struct config *cfg)
{
	if (cfg->mode == MODE_SERVER && (cfg->auth & AUTH_METHOD_PASSWORD) &&
	    cfg->pam_service)
		log_warn("%s: pam-service = %s with user = %s: once culvertd runs as %s, pam_unix checks no password but that user's own (unix_chkpwd checks only the caller's); use password-file, or a PAM module that needs no root",
			 cfg->path, cfg->pam_service, cfg->user, cfg->user);
}

/* As the dropped user: can it remove the socket at stop? */
static void check_socket_removable(const char *control_path, const char *user)
{
	char dir[4096];

	socket_dir(control_path, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) < 0)
		log_warn("user %s cannot write to %s: the control socket %s will stay behind when culvertd stops (the next start replaces it)",
			 user, dir, control_path);
}

static int lookup(const struct config *cfg, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw = getpwnam(cfg->user);

	if (!pw) {
		log_err("%s: user '%s' does not exist (create it, e.g. adduser --system --group %s)",
			cfg->path, cfg->user, cfg->user);
		return -EINVAL;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (cfg->group) {
		const struct group *gr = getgrnam(cfg->group);
		if (!gr) {
			log_err("%s: group '%s' does not exist", cfg->path,
				cfg->group);
			return -EINVAL;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

int privilege_check(const struct config *cfg)
{
	uid_t uid;
	gid_t gid;

	if (!cfg->user)
		return 0;
	warn_pam(cfg);
	return lookup(cfg, &uid, &gid);
}

int privilege_drop(const struct config *cfg, const char *control_path,
		   const struct run_dir *run)
{
	uid_t uid;
	gid_t gid;
	int err;

	if (!cfg->user)
		return 0;
	if ((err = lookup(cfg, &uid, &gid)) < 0)
		return err;
	warn_pam(cfg);
	/* The socket stays root's, usable by the group: 0660. */
	if (control_path && chown(control_path, 0, gid) < 0)
		log_warn("cannot give %s to group %u: %s", control_path,
			 (unsigned int)gid, strerror(errno));
	hand_over_dirs(run, uid, gid);

	capng_clear(CAPNG_SELECT_BOTH);
	capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_ADMIN);
	err = capng_change_id((int)uid, (int)gid,
			      CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (err < 0) {
		log_err("cannot become user '%s': libcap-ng error %d (is culvertd running as root?)",
			cfg->user, err);
		return -EPERM;
	}
	log_notice("running as user %s (uid %u, gid %u) with CAP_NET_ADMIN only",
		   cfg->user, (unsigned int)uid, (unsigned int)gid);
	if (control_path)
		check_socket_removable(control_path, cfg->user);
	return 0;
}
