/*
 * libFuzzer harness: the password file parser of src/server/auth.c. auth_new
 * reads a path, so each input is written to a memfd and loaded through
 * /proc/self/fd/N: the parser runs unchanged, fopen and fstat included.
 *
 * When a small file loaded, auth_check looks up the user of its first
 * line. Hashing is slow (yescrypt at the default cost, and the dummy hash
 * auth_check computes for unknown, locked and malformed users, take about
 * 100 ms), and a hash's cost is the file's to choose (bcrypt $2b$31$
 * would run for days), so only users whose hash is one of a few cheap,
 * fixed-cost forms are checked.
 */
#include <crypt.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "fuzz.h"
#include "log.h"
#include "user_name.h"

#define CHECK_MAX_SIZE 200

static int fd = -1;
static char path[64];

static void quiet(int priority, const char *line, void *arg)
{
	size_t *total = arg;

	*total += strlen(line);
}

static size_t logged;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open("fuzz_passwords", true, LOG_DEBUG);
	log_set_sink(quiet, &logged);
	fd = memfd_create("fuzz-passwords", MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	/* As culvertctl passwd leaves it; the mode warning is not the
	 * parser's business. */
	if (fchmod(fd, 0600) < 0) {
		perror("fchmod");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

static void put_file(const uint8_t *data, size_t size)
{
	fuzz_assert(ftruncate(fd, 0) == 0, "ftruncate: %s", strerror(errno));
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
		fuzz_assert(n > 0, "pwrite: %s", strerror(errno));
		done += (size_t)n;
	}
}

/* Hashes with a fixed, small cost: a few milliseconds each. */
static bool cheap(const char *hash)
{
	static const char *const prefixes[] = {
		"$2b$04$", "$2b$05$", "$6$rounds=1000$",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(hash, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	/* "$6$SALT$": the default 5000 rounds. */
	return strncmp(hash, "$6$", 3) == 0 && strncmp(hash + 3, "rounds=", 7) != 0;
}

/* The user of the first line that is not blank or a comment, and its hash
 * as auth.c keeps it, when checking it is cheap. */
static bool first_user(const uint8_t *data, size_t size, char *user,
		       size_t user_size, char *hash, size_t hash_size)
{
	char text[CHECK_MAX_SIZE + 1];

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* As load_line: trailing white space off, then skip. */
		size_t n = strlen(line);
		while (n > 0 && strchr("\r \t", line[n - 1]))
			line[--n] = '\0';
		const char *s = line + strspn(line, " \t");
		if (!*s || *s == '#')
			continue;
		char *colon = strchr(line, ':');
		if (!colon)
			return false;
		*colon = '\0';
		const char *h = colon + 1;
		if (!user_name_valid(line) || !cheap(h) ||
		    crypt_checksalt(h) != CRYPT_SALT_OK)
			return false;
		snprintf(user, user_size, "%s", line);
		snprintf(hash, hash_size, "%s", h);
		return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth *auth = (struct auth *)&auth;	/* must be reset */

	put_file(data, size);
	int err = auth_new(path, NULL, &auth);
	if (err < 0) {
		/* Never a missing file or a system error: the file is there. */
		fuzz_assert(err == -EINVAL, "auth_new returned %d (%s)", err,
			    strerror(-err));
		fuzz_assert(auth == NULL, "an error left an auth");
		return 0;
	}
	fuzz_assert(auth, "auth_new succeeded without an auth");

	char user[128], hash[CHECK_MAX_SIZE + 1];
	if (size <= CHECK_MAX_SIZE &&
	    first_user(data, size, user, sizeof(user), hash, sizeof(hash))) {
		/* U*U is the password of the bcrypt vector in the seeds. */
		enum auth_result r = auth_check(auth, user, "U*U");
		fuzz_assert(r == AUTH_OK || r == AUTH_WRONG_PASSWORD ||
				    r == AUTH_BAD_HASH,
			    "user '%s' with hash '%s': %s", user, hash,
			    auth_result_str(r));
	}
	auth_free(auth);
	return 0;
}
