#include "run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "control_request.h"
#include "log.h"

int run_dir_pid_path(const struct config *cfg, bool detached, char *buf,
		     size_t size)
{
	char name[256];

	buf[0] = '\0';
	if (cfg->pid_file) {
		snprintf(buf, size, "%s", cfg->pid_file);
		return 0;
	}
	if (!detached)
		return 0;
	control_instance_name(cfg->path, name, sizeof(name));
	return control_run_path(name, CONTROL_PID_NAME, buf, size);
}

/* The directory of path, if it lies below /run/culvert; else "". */
static void dir_below_run(const char *path, char *dir, size_t size)
{
	char copy[PATH_MAX];
	const size_t n = strlen(CONTROL_RUN_DIR);

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, size, "%s", dirname(copy));
	if (strncmp(dir, CONTROL_RUN_DIR, n) != 0 || dir[n] != '/')
		dir[0] = '\0';
}

/* mkdir -p for the part of dir below /run/culvert: root's, 0755, as the
 * unit's RuntimeDirectory would make it, whatever the umask (the unit's
 * is 0077: a 0700 /run/culvert would lock the daemon's user out of its
 * own directory). */
static int make_below_run(const char *dir)
{
	char path[PATH_MAX];
	const size_t n = strlen(CONTROL_RUN_DIR);

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + n;; p = strchr(p + 1, '/')) {
		char was = p ? *p : '\0';
		if (p)
			*p = '\0';
		if (mkdir(path, 0755) == 0) {
			chmod(path, 0755);
		} else if (errno != EEXIST) {
			int err = errno;
			log_err("cannot make %s: %s (culvertd makes its directory under %s itself: is it running as root?)",
				path, strerror(err), CONTROL_RUN_DIR);
			return -err;
		}
		if (!p)
			return 0;
		*p = was;
	}
}

static int add_dir(struct run_dir *r, const char *path)
{
	char dir[PATH_MAX];

	if (!path[0])
		return 0;
	dir_below_run(path, dir, sizeof(dir));
	if (!dir[0])
		return 0;	/* the administrator's directory: not ours */
	for (unsigned int i = 0; i < r->n_dirs; i++)
		if (strcmp(r->dirs[i], dir) == 0)
			return 0;
	int err = make_below_run(dir);
	if (err == 0 && r->n_dirs < RUN_DIR_MAX)
		snprintf(r->dirs[r->n_dirs++], PATH_MAX, "%s", dir);
	return err;
}

int run_dir_make(struct run_dir *r, const struct config *cfg, bool detached)
{
	char sock[PATH_MAX];
	int err;

	memset(r, 0, sizeof(*r));
	if (run_dir_pid_path(cfg, detached, r->pid_file,
			     sizeof(r->pid_file)) < 0) {
		log_err("%s: its name cannot name a directory %s/NAME (too long, or starting with '.'): set pid-file",
			cfg->path, CONTROL_RUN_DIR);
		return -EINVAL;
	}
	control_path(cfg, sock, sizeof(sock));
	if ((err = add_dir(r, sock)) < 0)
		return err;
	return add_dir(r, r->pid_file);
}

int run_dir_write_pid(struct run_dir *r)
{
	char line[32];

	if (!r->pid_file[0])
		return 0;
	/* O_NOFOLLOW: a link planted there must not aim root's write
	 * elsewhere. */
	int fd = open(r->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
					   O_CLOEXEC, 0644);
	int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, line, (size_t)n) != n) {
		int err = errno;
		log_err("cannot write the pid file %s: %s", r->pid_file,
			strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	close(fd);
	r->pid_written = true;
	log_info("pid file: %s", r->pid_file);
	return 0;
}

void run_dir_clean(struct run_dir *r)
{
	if (r->pid_written && unlink(r->pid_file) < 0 && errno != ENOENT)
		log_warn("cannot remove the pid file %s: %s", r->pid_file,
			 strerror(errno));
	r->pid_written = false;
	for (unsigned int i = 0; i < r->n_dirs; i++)
		rmdir(r->dirs[i]);	/* only when empty; see run_dir.h */
	r->n_dirs = 0;
}
