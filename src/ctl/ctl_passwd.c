/*
 * culvertctl passwd [-g GROUP] FILE USER: sets a password (and a group)
 * in culvertd's password file. The password comes from the terminal, or
 * as one line on standard input for scripts; never from the command
 * line, where every user of the machine could read it in the process
 * list.
 */
#include "ctl.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "secret_file.h"
#include "user_name.h"

/* The longest password a client can send in its hello. */
#define PASSWORD_MAX PROTO_MAX_TEXT

/* ---- what may be set */

static bool check_user(const char *path, const char *user)
{
	if (user_name_valid(user))
		return true;
	log_err("%s: '%s' is not a user name (1-64 letters, digits and . _ @ + -)",
		path, user);
	return false;
}

static bool check_group(const char *path, const char *group)
{
	if (group_name_valid(group))
		return true;
	log_err("%s: '%s' is not a group name (1-64 letters, digits and . _ -, not starting with .)",
		path, group);
	return false;
}

static void too_long(const char *path)
{
	log_err("%s: the password is longer than %d bytes, more than a client can send",
		path, PASSWORD_MAX);
}

static bool check_password(const char *path, const char *password)
{
	size_t n = strlen(password);

	if (n == 0) {
		log_err("%s: the password is empty", path);
		return false;
	}
	if (n > PASSWORD_MAX) {
		too_long(path);
		return false;
	}
	/* A client reads its password as one line. */
	if (strcspn(password, "\r\n") != n) {
		log_err("%s: the password holds a line break", path);
		return false;
	}
	return true;
}

/* ---- the new file */

/* *out is the hash in the system's preferred method (yescrypt on
 * Debian and Fedora), with a fresh salt. */
static int hash_password(const char *path, const char *password, char **out)
{
	char *setting = crypt_gensalt_ra(NULL, 0, NULL, 0);
	void *data = NULL;
	int size = 0, err = 0;

	*out = NULL;
	if (!setting) {
		err = -errno;
		log_err("%s: cannot make a salt: %s", path, strerror(errno));
		return err;
	}
	const char *hash = crypt_ra(password, setting, &data, &size);
	if (!hash || hash[0] == '*') {
		err = errno ? -errno : -EINVAL;
		log_err("%s: cannot hash the password: %s", path, strerror(-err));
	} else if (!(*out = strdup(hash))) {
		err = -ENOMEM;
		log_err("%s: out of memory", path);
	}
	if (data)
		explicit_bzero(data, (size_t)size);
	free(data);
	free(setting);
	return err;
}

/* The group field of a line "USER:HASH:GROUP\n", copied into buf (""
 * when there is none: two fields, or the many of a shadow(5) line). */
static void group_of(const char *line, char *buf, size_t size)
{
	const char *hash = strchr(line, ':');
	const char *group = hash ? strchr(hash + 1, ':') : NULL;

	buf[0] = '\0';
	if (!group || strchr(group + 1, ':'))
		return;
	snprintf(buf, size, "%.*s", (int)strcspn(group + 1, "\r\n"), group + 1);
}

static void put_line(FILE *out, const char *user, const char *hash,
		     const char *group)
{
	fprintf(out, "%s:%s%s%s\n", user, hash, group[0] ? ":" : "", group);
}

/* Copies in to out with user's line (the first one) replaced, its group
 * kept unless group says another (NULL: keep); drops the others, which
 * culvertd would refuse. */
static int copy_replacing(const char *path, FILE *in, FILE *out,
			  const char *user, const char *hash,
			  const char *group, bool *replaced)
{
	char kept[USER_NAME_MAX + 2];
	size_t ulen = strlen(user), cap = 0;
	char *line = NULL;
	ssize_t len;
	unsigned int number = 0, first = 0;
	bool ends_line = true;

	while ((len = getline(&line, &cap, in)) > 0) {
		number++;
		if ((size_t)len > ulen && strncmp(line, user, ulen) == 0 &&
		    line[ulen] == ':') {
			if (first) {
				log_notice("%s:%u: removed another line of user '%s' (first on line %u)",
					   path, number, user, first);
			} else {
				group_of(line, kept, sizeof(kept));
				put_line(out, user, hash, group ? group : kept);
			}
			first = first ? first : number;
			ends_line = true;
			continue;
		}
		fwrite(line, 1, (size_t)len, out);
		ends_line = line[len - 1] == '\n';
	}
	free(line);
	if (ferror(in)) {
		log_err("cannot read %s: %s", path, strerror(EIO));
		return -EIO;
	}
	if (!first) {
		if (!ends_line)
			fputc('\n', out);
		put_line(out, user, hash, group ? group : "");
	}
	*replaced = first != 0;
	return 0;
}

/* Makes the rename itself survive a crash. */
static void sync_directory(const char *file)
{
	char *copy = strdup(file);

	if (!copy)
		return;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int ctl_group(const char *name, gid_t *gid)
{
	const struct group *gr = getgrnam(name);

	if (!gr) {
		log_err("--group: no group '%s' on this system", name);
		return -ENOENT;
	}
	*gid = gr->gr_gid;
	return 0;
}

int passwd_update(const char *path, const char *user, const char *password,
		  const char *user_group)
{
	return passwd_update_group(path, user, password, user_group, (gid_t)-1);
}

int passwd_update_group(const char *path, const char *user,
			const char *password, const char *user_group,
			gid_t group)
{
	char *hash = NULL, *real = NULL, tmp[PATH_MAX];
	FILE *in = NULL, *out = NULL;
	int fd = -1, err;
	bool made_tmp = false, replaced = false;
	struct stat st;

	if (!check_user(path, user) || !check_password(path, password) ||
	    (user_group && user_group[0] && !check_group(path, user_group)))
		return -EINVAL;
	err = hash_password(path, password, &hash);
	if (err < 0)
		return err;

	/* Through a symbolic link, replace the file, not the link. */
	real = realpath(path, NULL);
	if (!real && errno != ENOENT) {
		err = -errno;
		log_err("%s: %s", path, strerror(errno));
		goto out;
	}
	const char *target = real ? real : path;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", target) >= sizeof(tmp)) {
		err = -ENAMETOOLONG;
		log_err("%s: %s", path, strerror(ENAMETOOLONG));
		goto out;
	}

	/* O_EXCL makes the temporary file a lock, too: two runs at once
	 * would each lose the other's change. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		err = -errno;
		if (errno == EEXIST)
			log_err("%s: %s exists: another culvertctl passwd is running, or one was interrupted (then remove it)",
				path, tmp);
		else
			log_err("%s: cannot create %s: %s", path, tmp,
				strerror(errno));
		goto out;
	}
	made_tmp = true;

	in = fopen(target, "re");
	if (!in && errno != ENOENT) {
		err = -errno;
		log_err("cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	mode_t mode = 0600;
	if (in) {
		if (fstat(fileno(in), &st) < 0 || !S_ISREG(st.st_mode)) {
			err = -EINVAL;
			log_err("%s is not a regular file", path);
			goto out;
		}
		mode = st.st_mode & 07777;
		/* culvertd refuses a password file every user may read
		 * (strict-modes): take that away rather than keep it. */
		if (secret_reach(mode) == SECRET_WORLD) {
			log_notice("%s could be read by every user (mode %04o); it is now %04o",
				   path, (unsigned int)mode,
				   (unsigned int)secret_mode_tightened(mode));
			mode = secret_mode_tightened(mode);
		}
	}
	if (group != (gid_t)-1)
		mode = 0640;
	if (fchmod(fd, mode) < 0) {
		err = -errno;
		log_err("%s: cannot set the mode of %s: %s", path, tmp,
			strerror(errno));
		goto out;
	}
	/* culvertd may read the file as its own user or group: keep them,
	 * or give it to root and the group asked for. */
	uid_t uid = group != (gid_t)-1 ? 0 : in ? st.st_uid : (uid_t)-1;
	gid_t gid = group != (gid_t)-1 ? group : in ? st.st_gid : (gid_t)-1;
	struct stat mine;
	if (uid != (uid_t)-1 && fstat(fd, &mine) == 0 &&
	    (mine.st_uid != uid || mine.st_gid != gid) &&
	    fchown(fd, uid, gid) < 0) {
		err = -errno;
		log_err("%s: cannot give %s the same owner and group: %s", path,
			tmp, strerror(errno));
		goto out;
	}

	out = fdopen(fd, "w");
	if (!out) {
		err = -errno;
		log_err("%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (in)
		err = copy_replacing(path, in, out, user, hash, user_group,
				     &replaced);
	else
		put_line(out, user, hash, user_group ? user_group : "");
	if (err < 0)
		goto out;
	errno = EIO;	/* what a bare ferror() would mean */
	if (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) < 0) {
		err = -errno;
		log_err("%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	int closed = fclose(out);
	out = NULL;
	if (closed != 0) {
		err = -errno;
		log_err("%s: cannot write %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, target) < 0) {
		err = -errno;
		log_err("%s: cannot rename %s to it: %s", path, tmp,
			strerror(errno));
		goto out;
	}
	made_tmp = false;
	sync_directory(target);
	log_notice("%s: %s user '%s'", path,
		   replaced ? "changed the password of" : "added", user);
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	if (made_tmp)
		unlink(tmp);
	free(real);
	if (hash) {
		explicit_bzero(hash, strlen(hash));
		free(hash);
	}
	return err;
}

/* ---- reading the password */

enum {
	LINE_EOF = -1,
	LINE_TOO_LONG = -2,
	LINE_NUL = -3,
};

/* One line from standard input into buf, without its line break: its
 * length, or LINE_*. Byte by byte, so that nothing past the line is
 * read, and no copy stays in a stdio buffer. */
static int read_line(char *buf, size_t size)
{
	size_t n = 0;
	bool long_line = false, nul = false;
	int c;

	while ((c = getchar()) != EOF && c != '\n') {
		nul |= c == '\0';
		if (n + 1 < size)
			buf[n++] = (char)c;
		else
			long_line = true;
	}
	if (n > 0 && buf[n - 1] == '\r')	/* a file from Windows */
		n--;
	buf[n] = '\0';
	if (c == EOF && n == 0 && !long_line)
		return LINE_EOF;
	if (long_line)
		return LINE_TOO_LONG;
	return nul ? LINE_NUL : (int)n;
}

static bool line_ok(const char *path, int ret)
{
	if (ret == LINE_EOF)
		log_err("%s: no password on standard input (give it as one line)",
			path);
	else if (ret == LINE_TOO_LONG)
		too_long(path);
	else if (ret == LINE_NUL)
		log_err("%s: the password holds a NUL byte", path);
	return ret >= 0;
}

/* For the signal handler: a password prompt stopped by ^C must not
 * leave the terminal without echo. */
static struct termios saved_tty;
static volatile sig_atomic_t echo_off;

static void restore_tty(int sig)
{
	if (echo_off)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int ask(const char *prompt, char *buf, size_t size)
{
	struct termios quiet;

	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0)
		return LINE_EOF;
	quiet = saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	echo_off = 1;
	int ret = read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	echo_off = 0;
	fputc('\n', stderr);
	return ret;
}

static bool from_terminal(const char *path, const char *user, char *pw,
			  size_t size)
{
	char prompt[128], again[PASSWORD_MAX + 1];
	const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = restore_tty };
	bool ok = false;

	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", user);
	if (!line_ok(path, ask(prompt, pw, size)) ||
	    !check_password(path, pw))
		return false;
	if (line_ok(path, ask("Again: ", again, sizeof(again)))) {
		ok = strcmp(pw, again) == 0;
		if (!ok)
			log_err("%s: the passwords do not match", path);
	}
	explicit_bzero(again, sizeof(again));
	return ok;
}

int ctl_passwd(int argc, char *argv[])
{
	char pw[PASSWORD_MAX + 1];
	const char *user_group = NULL;
	gid_t group = (gid_t)-1;
	bool ok;

	for (;;) {
		if (argc >= 3 && strcmp(argv[1], "--user-group") == 0) {
			user_group = argv[2];
		} else if (argc >= 3 && strcmp(argv[1], "--group") == 0) {
			if (ctl_group(argv[2], &group) < 0)
				return 1;
		} else {
			break;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc != 3)
		return CTL_USAGE;
	const char *path = argv[1], *user = argv[2];
	if (!check_user(path, user) ||
	    (user_group && !check_group(path, user_group)))
		return 1;
	setvbuf(stdin, NULL, _IONBF, 0);
	if (isatty(STDIN_FILENO))
		ok = from_terminal(path, user, pw, sizeof(pw));
	else
		ok = line_ok(path, read_line(pw, sizeof(pw)));
	ok = ok && passwd_update_group(path, user, pw, user_group, group) == 0;
	explicit_bzero(pw, sizeof(pw));
	return ok ? 0 : 1;
}
