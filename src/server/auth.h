/*
 * Password authentication: a file of crypt(3) hashes (libxcrypt), and PAM
 * when a service is configured. The back-off after failed attempts is
 * throttle.h.
 */
#ifndef CULVERT_AUTH_H
#define CULVERT_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct auth;

enum auth_result {
	AUTH_OK = 0,
	AUTH_UNKNOWN_USER,
	AUTH_WRONG_PASSWORD,
	AUTH_LOCKED,		/* the hash is locked ("!" or "*") */
	AUTH_BAD_HASH,		/* the file's hash is malformed: never matches */
	AUTH_ERROR,		/* PAM or the system failed */
};

/* Load password_file (may be NULL when only PAM is used); pam_service
 * may be NULL. Errors in the file are logged as FILE:LINE: ... and make
 * this fail with -EINVAL; a missing file is -ENOENT, logged. */
int auth_new(const char *password_file, const char *pam_service,
	     struct auth **out);
void auth_free(struct auth *auth);
/* For tests: read the PAM service file from dir instead of /etc/pam.d.
 * -ENOTSUP without PAM, or with a Linux-PAM older than 1.4 (no
 * pam_start_confdir). */
int auth_set_pam_confdir(struct auth *auth, const char *dir);

/* Check a user's password: the file first, then PAM for users the file
 * does not know. Takes as long for an unknown user as for a known one. */
enum auth_result auth_check(struct auth *auth, const char *user,
			    const char *password);
/* The group the password file gives user (its third field), or NULL:
 * none, or a user the file does not list (PAM's). */
const char *auth_user_group(const struct auth *auth, const char *user);
/* For the server's log: "unknown user", "wrong password", ... */
const char *auth_result_str(enum auth_result result);

#endif
