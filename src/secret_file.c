#include "secret_file.h"

#include <errno.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"

enum secret_reach secret_reach(mode_t mode)
{
	if (mode & (S_IROTH | S_IWOTH))
		return SECRET_WORLD;
	if (mode & (S_IRGRP | S_IWGRP))
		return SECRET_GROUP;
	return SECRET_OWNER;
}

mode_t secret_mode_tightened(mode_t mode)
{
	return mode & (mode_t)~S_IRWXO;
}

/* A file that does not exist is not ours to report: whoever reads it
 * says so, in words of its own. */
static int check_one(const struct config *cfg, const char *key,
		     const char *path)
{
	struct stat st;

	if (!path || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    secret_reach(st.st_mode) != SECRET_WORLD)
		return 0;
	unsigned int mode = (unsigned int)(st.st_mode & 07777);
	if (!cfg->strict_modes) {
		log_warn("%s: '%s' (%s) can be read by every user (mode %04o): chmod o-rwx it (used anyway: strict-modes = no)",
			 cfg->path, key, path, mode);
		return 0;
	}
	log_err("%s: '%s' (%s) can be read by every user (mode %04o); culvertd refuses to use it: chmod o-rwx %s (or set strict-modes = no)",
		cfg->path, key, path, mode, path);
	return -EPERM;
}

int secret_files_check(const struct config *cfg)
{
	int err = check_one(cfg, "key", cfg->key);
	int err2 = check_one(cfg, "password-file", cfg->password_file);

	return err < 0 ? err : err2;
}
