/*
 * What checking a password against a crypt(3) hash would cost, read from
 * the hash's own parameters, against caps that are generous for real use.
 * A password file is the administrator's, but one absurd entry (bcrypt
 * $2b$31$, sha512crypt rounds=999999999, yescrypt with a huge N) would
 * tie up the one auth worker for minutes, or days, at every login of
 * that user, stalling every other login behind it.
 */
#ifndef CULVERT_HASH_COST_H
#define CULVERT_HASH_COST_H

#include <stddef.h>

/* The caps; culvert.conf(5), under password-file, documents them. */
#define HASH_COST_BCRYPT_MAX 15			/* libxcrypt's default: 5 */
#define HASH_COST_SHA_ROUNDS_MAX 2000000u	/* default: 5000 */
/* yescrypt, gost-yescrypt, sm3-yescrypt and scrypt: 128 * N * r * p
 * bytes of memory, times (t + 1) passes, times 2^g upgrades. The default
 * ($y$j9T$) is 16 MiB once. */
#define HASH_COST_MEMORY_MAX (256ull << 20)

/* 0 when checking hash costs no more than the caps; otherwise -E2BIG
 * (too costly) or -EINVAL (the method's cost cannot be read, or the
 * method is one whose cost culvert does not know), with why set to a
 * phrase such as "bcrypt cost 31 is above the cap of 15". Hashes of
 * methods crypt_checksalt() refuses are not this function's business. */
int hash_cost_check(const char *hash, char *why, size_t size);

#endif
