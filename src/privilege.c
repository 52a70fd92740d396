#include "privilege.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

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

	return cfg->user ? lookup(cfg, &uid, &gid) : 0;
}

int privilege_drop(const struct config *cfg, const char *control_path)
{
	uid_t uid;
	gid_t gid;
	int err;

	if (!cfg->user)
		return 0;
	if ((err = lookup(cfg, &uid, &gid)) < 0)
		return err;
	/* The socket stays root's, usable by the group: 0660. */
	if (control_path && chown(control_path, 0, gid) < 0)
		log_warn("cannot give %s to group %u: %s", control_path,
			 (unsigned int)gid, strerror(errno));

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
	return 0;
}
