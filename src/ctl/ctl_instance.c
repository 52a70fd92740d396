/*
 * Which culvertd culvertctl talks to when it is given no socket: the
 * instance named with -n NAME (culvertd@NAME, config NAME.conf), or else
 * the only one that runs. Both go through control_instance_path(), the
 * daemon's own rule, so that culvertctl looks where culvertd listens.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_request.h"
#include "ctl.h"
#include "log.h"

/* Where the packages put NAME.conf: culvertd@NAME reads it. */
#define CONFIG_DIR SYSCONFDIR "/culvert"

static bool name_ok(const char *name)
{
	return *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) < 200;
}

int ctl_set_instance(const char *name)
{
	char path[PATH_MAX], sock[108];

	if (!name_ok(name)) {
		log_err("'%s' is not an instance name (the NAME of culvertd@NAME and NAME.conf)",
			name);
		return -EINVAL;
	}
	/* Its config may name another control-socket: read it when we can. */
	snprintf(path, sizeof(path), "%s/%s.conf", CONFIG_DIR, name);
	if (access(path, R_OK) == 0)
		return ctl_set_socket(NULL, path);
	control_instance_path(name, sock, sizeof(sock));
	return ctl_set_socket(sock, NULL);
}

/* Whether a daemon answers on path. */
static bool answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	bool yes = false;

	if (strlen(path) >= sizeof(sun.sun_path) || stat(path, &st) < 0 ||
	    !S_ISSOCK(st.st_mode))
		return false;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		yes = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
		close(fd);
	}
	return yes;
}

#define MAX_LISTED 16

/* The instances whose socket answers: an entry NAME.sock or NAME of the
 * run directory is NAME's when control_instance_path(NAME) is in it. */
static unsigned int running(char names[MAX_LISTED][256])
{
	DIR *d = opendir(CONTROL_RUN_DIR);
	struct dirent *e;
	unsigned int n = 0;

	while (d && (e = readdir(d))) {
		char name[256], sock[108];
		if (e->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", e->d_name);
		size_t len = strlen(name);
		if (len > 5 && strcmp(name + len - 5, ".sock") == 0)
			name[len - 5] = '\0';
		bool seen = false;
		for (unsigned int i = 0; i < n && i < MAX_LISTED; i++)
			seen |= strcmp(names[i], name) == 0;
		if (seen || !name_ok(name))
			continue;
		control_instance_path(name, sock, sizeof(sock));
		if (!answers(sock))
			continue;
		if (n < MAX_LISTED)
			snprintf(names[n], sizeof(names[n]), "%s", name);
		n++;
	}
	if (d)
		closedir(d);
	return n;
}

int ctl_find_instance(bool quiet)
{
	char names[MAX_LISTED][256], list[MAX_LISTED * 258] = "", sock[108];
	unsigned int n = running(names);

	if (n == 1) {
		control_instance_path(names[0], sock, sizeof(sock));
		return ctl_set_socket(sock, NULL);
	}
	if (quiet)
		return -ENOENT;
	if (n == 0) {
		log_err("no culvertd answers in %s (is it running?); name one with -n NAME, -c FILE or -s SOCKET",
			CONTROL_RUN_DIR);
		return -ENOENT;
	}
	for (unsigned int i = 0; i < n && i < MAX_LISTED; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			 i ? ", " : "", names[i]);
	log_err("%u culvertd instances run: %s%s; choose one with -n NAME", n,
		list, n > MAX_LISTED ? ", ..." : "");
	return -EEXIST;
}
