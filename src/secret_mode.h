/*
 * Who may read a file that holds a secret (a private key, a password
 * file): its owner and, at most, its group, read-only. 0600 for root
 * alone, or root:GROUP 0640 where GROUP is the one culvertd drops to
 * (`user`, `group`), so that the unprivileged daemon can read the file
 * again on a reload; culvertctl passwd --group and pki init --group make
 * files so. Anything more (others may read it, its group may change it)
 * is a problem, which culvertd names in a warning.
 *
 * Header-only so that the transport plugins, which link nothing of
 * culvertd's, apply the same rule to the keys they load.
 */
#ifndef CULVERT_SECRET_MODE_H
#define CULVERT_SECRET_MODE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

/* NULL when mode is fine for a secret; else what is wrong, completing
 * "FILE ...", with the fix ("can be read by other users (mode 0644):
 * chmod 640 it"), in buf. */
static inline const char *secret_mode_problem(mode_t mode, char *buf,
					      size_t size)
{
	unsigned int m = (unsigned int)(mode & 07777);
	const char *what;

	if (mode & (S_IROTH | S_IWOTH))
		what = "can be read or changed by other users";
	else if (mode & S_IWGRP)
		what = "can be changed by its group";
	else
		return NULL;
	snprintf(buf, size, "%s (mode %04o): chmod %s it", what, m,
		 mode & S_IRGRP ? "640" : "600");
	return buf;
}

#endif
