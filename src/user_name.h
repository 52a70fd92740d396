/* What a user name may hold: the server's password checks, the password
 * file, culvertctl passwd and the names of pki's certificates all take
 * the same names, and only names that are safe in a log line. Group
 * names likewise. And what an identity (a certificate's name) may hold. */
#ifndef CULVERT_USER_NAME_H
#define CULVERT_USER_NAME_H

#include <stdbool.h>

#define USER_NAME_MAX 64
/* The longest identity: a certificate without a common name is named
 * by its whole subject. */
#define IDENTITY_MAX 255

/* Whether name is 1 to USER_NAME_MAX of [A-Za-z0-9._@+-]. */
bool user_name_valid(const char *name);

/* Whether name may name a session: it reaches logs, culvertctl status
 * and kick, and the scripts' CULVERT_IDENTITY. 1 to IDENTITY_MAX bytes
 * of letters and digits, the characters of a user name, ',' '=' (a
 * subject without a common name), spaces (not first or last), and
 * letters beyond ASCII in well-formed UTF-8; nothing that a shell reads
 * as syntax (quotes, $, `, ;, &, |, <, >, (, ), *, ?, [, ], {, },
 * backslash, !, #, ~, %, /) and no control character. */
bool identity_valid(const char *name);

/* A group's name (the password file's third field, a certificate's OU,
 * a file of group-config-dir): 1 to USER_NAME_MAX of [A-Za-z0-9._-],
 * not starting with '.', so that it is a file name too. */
bool group_name_valid(const char *name);

#endif
