/*
 * The files of client-config-dir and group-config-dir: one file per
 * client identity (named exactly as the identity: the certificate's
 * common name, or the user name of a password login) and one per group
 * (named as the group), each of `key = value` lines and `#` comments,
 * like culvert.conf. One table of keys drives the parser, culvertd
 * --help and the test that culvert.conf(5) documents them; every error
 * names the file and line.
 */
#ifndef CULVERT_POLICY_FILE_H
#define CULVERT_POLICY_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "policy.h"

struct config;

/* Where a key may be set. */
#define POLICY_KEY_CLIENT_ONLY 0x1	/* not in a group's file */
#define POLICY_KEY_REPEATABLE 0x2

struct policy_key {
	const char *name;
	const char *metavar;
	unsigned int flags;
	const char *help;
};

/* The keys, ending with a NULL name. */
extern const struct policy_key policy_keys[];

/* Every file of cfg's client-config-dir and group-config-dir (either may
 * be unset) into *out, sorted by name. Files whose name starts with '.'
 * are skipped. Returns 0, or -EINVAL after logging each error as
 * "FILE:LINE: ...", or the errno of a directory that cannot be read. The
 * checks across the set are policy_set_check's. */
int policy_load(const struct config *cfg, struct policy_set **out);

/* One file's text, for tests and fuzzing: a client's (group false) or a
 * group's, called name, path used in errors. Returns the number of
 * errors logged; -ENOMEM. */
int policy_parse(FILE *f, const char *path, const char *name, bool group,
		 struct client_policy *out);

#endif
