/* What a user name may hold: the server's password checks, the password
 * file, culvertctl passwd and the names of pki's certificates all take
 * the same names, and only names that are safe in a log line. Group
 * names likewise. */
#ifndef CULVERT_USER_NAME_H
#define CULVERT_USER_NAME_H

#include <stdbool.h>

#define USER_NAME_MAX 64

/* Whether name is 1 to USER_NAME_MAX of [A-Za-z0-9._@+-]. */
bool user_name_valid(const char *name);

/* A group's name (the password file's third field, a certificate's OU,
 * a file of group-config-dir): 1 to USER_NAME_MAX of [A-Za-z0-9._-],
 * not starting with '.', so that it is a file name too. */
bool group_name_valid(const char *name);

#endif
