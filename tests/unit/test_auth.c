/* Password checks against known hashes, every kind of bad password file
 * line, PAM through a private service file, the back-off per source
 * address, and culvertctl passwd's rewrite of the file. */
#include <arpa/inet.h>
#include <check.h>
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "auth_worker.h"
#include "ctl.h"
#include "hash_cost.h"
#include "log.h"
#include "loop.h"
#include "source_table.h"
#include "secret_mode.h"
#include "throttle.h"
#include "user_name.h"

/* ---- fixtures: a private directory, and every line logged
 *
 * Each test case gets a directory (an unchecked fixture, in the parent
 * process), and each test a directory inside it: check does not run the
 * teardown of a test that failed, but the case's teardown still removes
 * what that test left. */

static char top[4096], dir[4200];
static char logged[16384];

static void capture(int priority, const char *line, void *arg)
{
	size_t used = strlen(logged);

	snprintf(logged + used, sizeof(logged) - used, "%s\n", line);
}

/* rm -r, for the two levels of directories here */
static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char sub[8192];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static void make_top(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/culvert-test-auth.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
}

static void remove_top(void)
{
	remove_tree(top);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/test.XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	logged[0] = '\0';
	log_set_sink(capture, NULL);
}

static void teardown(void)
{
	log_set_sink(NULL, NULL);
	remove_tree(dir);
}

/* dir/name, in a static buffer (one of four, so calls can nest). */
static const char *in_dir(const char *name)
{
	static char paths[4][8192];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static const char *write_file(const char *name, const char *text,
			      mode_t mode)
{
	const char *path = in_dir(name);
	FILE *f = fopen(path, "w");

	ck_assert_msg(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static char *read_file(const char *path)
{
	static char text[8192];
	FILE *f = fopen(path, "r");

	ck_assert_msg(f, "cannot read %s", path);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static struct auth *load_ok(const char *text)
{
	struct auth *auth = NULL;
	const char *path = write_file("users", text, 0600);
	int err = auth_new(path, NULL, &auth);

	ck_assert_msg(err == 0, "auth_new failed (%d): %s", err, logged);
	ck_assert_ptr_nonnull(auth);
	return auth;
}

/* Loading must fail and log "FILE:LINE: expected". */
static void load_bad(const char *text, unsigned int line, const char *expected)
{
	struct auth *auth = (struct auth *)1;
	const char *path = write_file("users", text, 0600);
	char want[9000];

	logged[0] = '\0';
	ck_assert_int_eq(auth_new(path, NULL, &auth), -EINVAL);
	ck_assert_ptr_null(auth);
	snprintf(want, sizeof(want), "%s:%u: %s", path, line, expected);
	ck_assert_msg(strstr(logged, want), "expected \"%s\" in the log, got:\n%s",
		      want, logged);
}

#define assert_check(auth, user, password, expected) \
	ck_assert_str_eq(auth_result_str(auth_check(auth, user, password)), \
			 auth_result_str(expected))

/* ---- known hashes */

static const struct vector {
	const char *password;
	const char *hash;
	enum auth_result result;	/* for the right password */
} vectors[] = {
	/* Made with crypt_gensalt_ra + crypt_ra, libxcrypt 4.4.33 */
	{ "correct horse battery staple",
	  "$y$j9T$CUScBDYR9eRYuvJzJzt1q1$4T9PempLjNdZbm3wAOQrjdXYfyCoobxqd6Ox.PLzXp0",
	  AUTH_OK },
	{ "Tr0ub4dor&3",
	  "$6$FsLpXu0OgB8.0uYO$CtgMsM1eOvnvrOwFA/dWi32NPrSoVy4vdDOEvBeesRq6lzyngYfFZZoGXwdQ17HQfOFBc7HbM2KZxlwCPFrMe0",
	  AUTH_OK },
	{ "p@ss:word#1",
	  "$2b$05$4EfalkMieqAa/uXq1WHsIer6pLCnpQ5O2ueNpAgWJnY9AbM5UdWkW",
	  AUTH_OK },
	/* Published: yescrypt's reference TESTS-OK */
	{ "pleaseletmein",
	  "$y$jD5.7$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6",
	  AUTH_OK },
	/* Published: Drepper's SHA-crypt specification */
	{ "Hello world!",
	  "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	  AUTH_OK },
	/* Published: crypt_blowfish's test vectors (Openwall) */
	{ "U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
	  AUTH_OK },
	/* SHA-256 is a legacy method to libxcrypt (not in its "strong"
	 * set), so crypt_checksalt refuses it: never a match. */
	{ "hunter2 with spaces",
	  "$5$mZsGvY4x8eGx.1hu$12QXK/w2lKJM82nT7QettlVS8wLxqqOXE7gRKoQpNq7",
	  AUTH_BAD_HASH },
	{ "Hello world!",
	  "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5",
	  AUTH_BAD_HASH },
};

START_TEST(known_vector)
{
	const struct vector *v = &vectors[_i];
	char text[256], wrong[128];

	/* The vector itself is right: crypt reproduces it. */
	struct crypt_data *data = calloc(1, sizeof(*data));
	ck_assert_ptr_nonnull(data);
	ck_assert_str_eq(crypt_rn(v->password, v->hash, data, sizeof(*data)),
			 v->hash);
	free(data);

	snprintf(text, sizeof(text), "# vector %d\nvictor:%s\n", _i, v->hash);
	struct auth *auth = load_ok(text);
	assert_check(auth, "victor", v->password, v->result);
	snprintf(wrong, sizeof(wrong), "%s!", v->password);
	enum auth_result miss = v->result == AUTH_OK ? AUTH_WRONG_PASSWORD
						     : v->result;
	assert_check(auth, "victor", wrong, miss);
	wrong[0] ^= 0x20;		/* one bit */
	wrong[strlen(wrong) - 1] = '\0';
	assert_check(auth, "victor", wrong, miss);
	auth_free(auth);
}
END_TEST

START_TEST(several_users)
{
	struct auth *auth = load_ok(
		"# users of the lab\n"
		"\n"
		"   # an indented comment\n"
		"zed:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\r\n"
		"alice:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1  \n"
		"bob.smith@example.org:!\n"
		"\t\n"
		"A-Z_0+9:*");
	assert_check(auth, "alice", "Hello world!", AUTH_OK);
	assert_check(auth, "zed", "U*U", AUTH_OK);
	assert_check(auth, "alice", "U*U", AUTH_WRONG_PASSWORD);
	assert_check(auth, "zed", "Hello world!", AUTH_WRONG_PASSWORD);
	assert_check(auth, "Alice", "Hello world!", AUTH_UNKNOWN_USER);
	assert_check(auth, "bob.smith@example.org", "", AUTH_LOCKED);
	assert_check(auth, "A-Z_0+9", "x", AUTH_LOCKED);
	ck_assert_str_eq(logged, "");
	auth_free(auth);
}
END_TEST

/* USER:HASH:GROUP: the group is the third field; an empty one is none,
 * and a shadow(5) line keeps its extra fields in the hash (which then
 * never matches, as malformed_hash shows). */
START_TEST(groups)
{
	struct auth *auth = load_ok(
		"zed:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW:engineering\n"
		"alice:!:sales \n"
		"bob:!:\n"
		"carol:*\n");
	assert_check(auth, "zed", "U*U", AUTH_OK);
	ck_assert_str_eq(auth_user_group(auth, "zed"), "engineering");
	ck_assert_str_eq(auth_user_group(auth, "alice"), "sales");
	ck_assert_ptr_null(auth_user_group(auth, "bob"));
	ck_assert_ptr_null(auth_user_group(auth, "carol"));
	ck_assert_ptr_null(auth_user_group(auth, "nobody"));
	ck_assert_ptr_null(auth_user_group(auth, "bad name"));
	ck_assert_ptr_null(auth_user_group(NULL, "zed"));
	ck_assert_str_eq(logged, "");
	auth_free(auth);
}
END_TEST

START_TEST(unknown_user)
{
	struct auth *auth = load_ok("alice:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n");

	assert_check(auth, "mallory", "U*U", AUTH_UNKNOWN_USER);
	assert_check(auth, "", "U*U", AUTH_UNKNOWN_USER);
	assert_check(auth, "alice\n", "U*U", AUTH_UNKNOWN_USER);
	assert_check(auth, "alice:", "U*U", AUTH_UNKNOWN_USER);
	assert_check(auth, NULL, "U*U", AUTH_ERROR);
	assert_check(auth, "alice", NULL, AUTH_ERROR);
	auth_free(auth);
}
END_TEST

START_TEST(locked)
{
	struct auth *auth = load_ok(
		"a:!\n"
		"b:*\n"
		"c:!$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n"
		"d:*$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n");

	assert_check(auth, "a", "", AUTH_LOCKED);
	assert_check(auth, "a", "!", AUTH_LOCKED);
	assert_check(auth, "b", "*", AUTH_LOCKED);
	/* The right password of the hash behind the '!' */
	assert_check(auth, "c", "Hello world!", AUTH_LOCKED);
	assert_check(auth, "d", "Hello world!", AUTH_LOCKED);
	ck_assert_str_eq(logged, "");	/* locking is no mistake */
	auth_free(auth);
}
END_TEST

START_TEST(malformed_hash)
{
	struct auth *auth = load_ok(
		"good:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
		"garbage:not a hash\n"
		"empty:\n"
		"md5:$1$deadbeef$Q7g0UO4hRC0mgQUQ/qkjZ0\n"
		"des:abJnggxhB/yWI\n"
		"colons:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1:18955:0:99999\n");
	const char *path = in_dir("users");
	const char *users[] = { "garbage", "empty", "md5", "des", "colons" };
	char want[9000];

	for (unsigned int i = 0; i < 5; i++) {
		snprintf(want, sizeof(want),
			 "%s:%u: user '%s' has a malformed or unsupported hash; it can never log in\n",
			 path, i + 2, users[i]);
		ck_assert_msg(strstr(logged, want), "expected \"%s\" in:\n%s",
			      want, logged);
		assert_check(auth, users[i], "", AUTH_BAD_HASH);
	}
	assert_check(auth, "colons", "Hello world!", AUTH_BAD_HASH);
	assert_check(auth, "good", "U*U", AUTH_OK);
	auth_free(auth);
}
END_TEST

/* Legacy DES and MD5 hashes never match, not even with their right
 * password: crypt would reproduce them, culvert refuses to. */
START_TEST(legacy_hash_never_matches)
{
	struct crypt_data *data = calloc(1, sizeof(*data));
	ck_assert_ptr_nonnull(data);
	ck_assert_str_eq(crypt_rn("des secret", "xy8AgKqheQla2", data,
				  sizeof(*data)), "xy8AgKqheQla2");
	free(data);

	struct auth *auth = load_ok(
		"des:xy8AgKqheQla2\n"
		"md5:$1$saltsalt$8Vm.2xxXPWiXMc3Fvay73.\n");
	assert_check(auth, "des", "des secret", AUTH_BAD_HASH);
	assert_check(auth, "md5", "md5 secret", AUTH_BAD_HASH);
	auth_free(auth);
}
END_TEST

/* ---- the cost cap: absurd costs are refused at load, per family */

static const struct cost_case {
	const char *hash;
	int err;		/* of hash_cost_check */
	const char *phrase;	/* in its reason, when refused */
} cost_cases[] = {
	/* bcrypt: cost up to 15 */
	{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 0, NULL },
	{ "$2b$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", 0, NULL },
	{ "$2b$16$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", -E2BIG,
	  "bcrypt cost 16 is above the cap of 15" },
	{ "$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", -E2BIG,
	  "bcrypt cost 31 is above the cap of 15" },
	{ "$2y$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", -E2BIG,
	  "bcrypt cost 31" },
	{ "$2a$20$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", -E2BIG,
	  "bcrypt cost 20" },
	/* SHA-crypt: up to 2,000,000 rounds; 5000 when not given */
	{ "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", 0, NULL },
	{ "$6$rounds=2000000$saltstring$x", 0, NULL },
	{ "$6$rounds=2000001$saltstring$x", -E2BIG,
	  "sha512crypt rounds=2000001 is above the cap of 2000000" },
	{ "$6$rounds=999999999$saltstring$x", -E2BIG,
	  "sha512crypt rounds=999999999 is above the cap of 2000000" },
	{ "$6$rounds=99999999999999999999999999$s$x", -E2BIG,
	  "rounds=99999999999999999999 is above" },
	{ "$5$rounds=10000000$saltstring$x", -E2BIG, "sha256crypt rounds=10000000" },
	{ "$6$rounds=$saltstring$x", -EINVAL, "sha512crypt rounds unreadable" },
	/* yescrypt: 256 MiB of work; the default is 16 MiB */
	{ "$y$j9T$CUScBDYR9eRYuvJzJzt1q1$4T9PempLjNdZbm3wAOQrjdXYfyCoobxqd6Ox.PLzXp0", 0, NULL },
	{ "$y$jD5.7$LdJMENpBABJJ3hIHjB1Bi.$HboGM6qPrsK.StKYGt6KErmUYtioHreJd98oIugoNB6", 0, NULL },
	{ "$y$jC5$CUScBDYR9eRYuvJzJzt1q1$x", 0, NULL },		/* N=2^15, r=8: 32 MiB */
	{ "$y$jF5$CUScBDYR9eRYuvJzJzt1q1$x", 0, NULL },		/* N=2^18, r=8: 256 MiB */
	{ "$y$jG5$CUScBDYR9eRYuvJzJzt1q1$x", -E2BIG,
	  "yescrypt cost (N=2^19, r=8: 512 MiB of work) is above the cap of 256 MiB" },
	{ "$y$jjT$CUScBDYR9eRYuvJzJzt1q1$x", -E2BIG, "N=2^48, r=32" },
	{ "$y$j9T/8$CUScBDYR9eRYuvJzJzt1q1$x", 0, NULL },	/* t=11: 192 MiB */
	{ "$y$j9T/j$CUScBDYR9eRYuvJzJzt1q1$x", -E2BIG,		/* t=48 */
	  "yescrypt cost (N=2^12, r=32: 784 MiB of work)" },
	{ "$gy$jG5$CUScBDYR9eRYuvJzJzt1q1$x", -E2BIG, "gost-yescrypt cost (N=2^19" },
	{ "$y$j$x", -EINVAL, "yescrypt parameters unreadable" },
	/* scrypt: the same cap; its lanes each go over all of N */
	{ "$7$CU..../....abcdefgh$x", 0, NULL },		/* N=2^14, r=32: 64 MiB */
	{ "$7$CU....5....abcdefgh$x", -E2BIG, "scrypt cost (N=2^14, r=32: 448 MiB" },
	{ "$7$zU..../....abcdefgh$x", -E2BIG, "scrypt cost (N=2^63" },
	{ "$7$C", -EINVAL, "scrypt parameters unreadable" },
	/* A method whose cost culvert cannot read */
	{ "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$x", -EINVAL,
	  "culvert cannot tell what checking this kind of hash costs" },
};

START_TEST(cost_cap)
{
	const struct cost_case *c = &cost_cases[_i];
	char why[160] = "";

	ck_assert_msg(hash_cost_check(c->hash, why, sizeof(why)) == c->err,
		      "%s: expected %d (%s)", c->hash, c->err, why);
	if (c->phrase)
		ck_assert_msg(strstr(why, c->phrase), "%s: expected \"%s\" in \"%s\"",
			      c->hash, c->phrase, why);
}
END_TEST

/* At load: each family's absurd entry is named with FILE:LINE and why,
 * never matches (and is never hashed), and the rest of the file works. */
START_TEST(costly_hashes_refused_at_load)
{
	struct auth *auth = load_ok(
		"good:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
		"bf:$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
		"sha:$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n"
		"yes:$y$jjT$CUScBDYR9eRYuvJzJzt1q1$4T9PempLjNdZbm3wAOQrjdXYfyCoobxqd6Ox.PLzXp0\n"
		"scr:$7$zU..../....abcdefgh$T0sduvKxu8wrIjSE2QDlEIQ24zoUNt7XmCAyI.79rw6\n");
	const char *path = in_dir("users");
	const struct { unsigned int line; const char *text; } expected[] = {
		{ 2, "user 'bf': bcrypt cost 31 is above the cap of 15; it can never log in" },
		{ 3, "user 'sha': sha512crypt rounds=999999999 is above the cap of 2000000; it can never log in" },
		{ 4, "user 'yes': yescrypt cost (N=2^48, r=32" },
		{ 5, "user 'scr': scrypt cost (N=2^63" },
	};
	char want[9000];

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		snprintf(want, sizeof(want), "%s:%u: %s", path,
			 expected[i].line, expected[i].text);
		ck_assert_msg(strstr(logged, want), "expected \"%s\" in:\n%s",
			      want, logged);
	}
	/* Refused at once: a check that hashed with these would not end
	 * within the test's timeout. */
	assert_check(auth, "bf", "U*U", AUTH_BAD_HASH);
	assert_check(auth, "sha", "Hello world!", AUTH_BAD_HASH);
	assert_check(auth, "yes", "x", AUTH_BAD_HASH);
	assert_check(auth, "scr", "x", AUTH_BAD_HASH);
	assert_check(auth, "good", "U*U", AUTH_OK);
	assert_check(auth, "good", "U*U!", AUTH_WRONG_PASSWORD);
	auth_free(auth);
}
END_TEST

/* ---- bad files */

static const struct bad_file {
	const char *text;
	unsigned int line;
	const char *error;
} bad_files[] = {
	{ "# users\nalice $6$x\n", 2, "expected USER:HASH, found no ':'" },
	{ "alice:!\nbob\n", 2, "expected USER:HASH, found no ':'" },
	{ ":$6$x$y\n", 1, "no user name before ':'" },
	{ " alice:!\n", 1, "' alice' is not a user name" },
	{ "al ice:!\n", 1, "'al ice' is not a user name" },
	{ "alice\x01:!\n", 1, "'alice?' is not a user name" },
	{ "al/ice:!\n", 1, "'al/ice' is not a user name" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:!\n",
	  1, "user name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is longer than 64 characters" },
	{ "alice:!\nbob:*\n\n# again\nalice:*\n", 5,
	  "user 'alice' appears twice (first on line 1)" },
	{ "alice:!:sales team\n", 1,
	  "user 'alice': group 'sales team' is not a group name" },
	{ "alice:!:.hidden\n", 1, "user 'alice': group '.hidden' is not a group name" },
};

START_TEST(bad_file)
{
	load_bad(bad_files[_i].text, bad_files[_i].line, bad_files[_i].error);
}
END_TEST

START_TEST(every_error_reported)
{
	load_bad("a:!\nno colon\nb c:!\na:*\nd:!\na:!\n", 2,
		 "expected USER:HASH, found no ':'");
	const char *path = in_dir("users");
	const char *expected[] = {
		":3: 'b c' is not a user name",
		":4: user 'a' appears twice (first on line 1)",
		":6: user 'a' appears twice (first on line 1)",
	};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		char want[9000];
		snprintf(want, sizeof(want), "%s%s", path, expected[i]);
		ck_assert_msg(strstr(logged, want), "expected \"%s\" in:\n%s",
			      want, logged);
	}
}
END_TEST

START_TEST(the_longest_name)
{
	char text[128];

	snprintf(text, sizeof(text), "%.64s:!\n",
		 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-");
	struct auth *auth = load_ok(text);
	text[64] = '\0';
	assert_check(auth, text, "", AUTH_LOCKED);
	auth_free(auth);
	ck_assert(user_name_valid(text));
	ck_assert(user_name_valid("a"));
	ck_assert(!user_name_valid(""));
	ck_assert(!user_name_valid(NULL));
	ck_assert(!user_name_valid("é"));
	ck_assert(!user_name_valid("a:b"));
}
END_TEST

/* What may name a session: what real certificates carry passes, nothing
 * a shell reads as syntax does (culvert.conf(5), IDENTITIES). */
START_TEST(identities)
{
	static const char *const good[] = {
		"alice", "Alice Smith", "alice@example.org", "host-1.example.org",
		"CN=vpn,O=Example Corp", "Jos\xc3\xa9 Mart\xc3\xadnez",
		"\xe5\xb1\xb1\xe7\x94\xb0", "a+b_c.d",
	};
	static const char *const bad[] = {
		"", " alice", "alice ", "eve&id", "eve;id", "$(id)", "`id`",
		"a|b", "a>b", "a<b", "a'b", "a\"b", "a\\b", "a*", "a?", "a[b]",
		"a{b}", "a(b)", "a!b", "#a", "~a", "a%b", "a/b", "a\tb", "a\nb",
		"\x7f", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85",
		"\xf4\x90\x80\x80",
	};
	char longest[IDENTITY_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(identity_valid(good[i]), "'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!identity_valid(bad[i]), "'%s' taken", bad[i]);
	ck_assert(!identity_valid(NULL));
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	ck_assert(!identity_valid(longest));
	longest[IDENTITY_MAX] = '\0';
	ck_assert(identity_valid(longest));
}
END_TEST

START_TEST(missing_file)
{
	struct auth *auth = (struct auth *)1;
	const char *path = in_dir("nowhere");

	ck_assert_int_eq(auth_new(path, NULL, &auth), -ENOENT);
	ck_assert_ptr_null(auth);
	ck_assert_msg(strstr(logged, "cannot read password file") &&
		      strstr(logged, path), "got:\n%s", logged);

	ck_assert_int_eq(auth_new(dir, NULL, &auth), -EINVAL);
	ck_assert_msg(strstr(logged, "is not a regular file"), "got:\n%s",
		      logged);
}
END_TEST

START_TEST(readable_by_others)
{
	struct auth *auth = NULL;
	const char *path = write_file("users", "alice:!\n", 0644);
	char want[9000];

	ck_assert_int_eq(auth_new(path, NULL, &auth), 0);
	auth_free(auth);
	snprintf(want, sizeof(want),
		 "password file %s can be read or changed by other users (mode 0644): chmod 640 it",
		 path);
	ck_assert_msg(strstr(logged, want), "expected \"%s\", got:\n%s", want,
		      logged);

	logged[0] = '\0';
	chmod(path, 0660);
	ck_assert_int_eq(auth_new(path, NULL, &auth), 0);
	auth_free(auth);
	ck_assert_msg(strstr(logged, "can be changed by its group (mode 0660)"),
		      "got:\n%s", logged);

	/* root:GROUP 0640, for a daemon that reads it again as GROUP on a
	 * reload, is as it should be: no warning. */
	const mode_t fine[] = { 0640, 0600, 0440, 0400 };
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		logged[0] = '\0';
		chmod(path, fine[i]);
		ck_assert_int_eq(auth_new(path, NULL, &auth), 0);
		auth_free(auth);
		ck_assert_msg(logged[0] == '\0', "mode %04o: %s",
			      (unsigned int)fine[i], logged);
	}
}
END_TEST

/* passwd --group: root:GROUP 0640, new or not, for a culvertd that runs
 * as GROUP and reads the file again on a reload; without it, an
 * existing file keeps its owner and mode. */
START_TEST(passwd_group)
{
	if (geteuid() != 0)
		return;		/* giving files to root takes root */
	const char *path = in_dir("users");
	gid_t gid = getgrnam("nogroup") ? getgrnam("nogroup")->gr_gid : 1;
	struct stat st;

	ck_assert_int_eq(passwd_update_group(path, "alice", "pw", NULL, gid), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_uid, 0);
	ck_assert_uint_eq(st.st_gid, gid);
	ck_assert_int_eq(passwd_update(path, "bob", "pw", NULL), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_gid, gid);
	chmod(path, 0600);
	chown(path, 0, 0);
	ck_assert_int_eq(passwd_update_group(path, "carol", "pw", NULL, gid), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_gid, gid);
}
END_TEST

/* The one rule for secrets, which the plugins apply to keys too. */
START_TEST(secret_modes)
{
	char buf[96];

	ck_assert_ptr_null(secret_mode_problem(S_IFREG | 0640, buf, sizeof(buf)));
	ck_assert_ptr_null(secret_mode_problem(S_IFREG | 0600, buf, sizeof(buf)));
	ck_assert_str_eq(secret_mode_problem(S_IFREG | 0604, buf, sizeof(buf)),
			 "can be read or changed by other users (mode 0604): chmod 600 it");
	ck_assert_str_eq(secret_mode_problem(S_IFREG | 0602, buf, sizeof(buf)),
			 "can be read or changed by other users (mode 0602): chmod 600 it");
	ck_assert_str_eq(secret_mode_problem(S_IFREG | 0620, buf, sizeof(buf)),
			 "can be changed by its group (mode 0620): chmod 600 it");
	ck_assert_str_eq(secret_mode_problem(S_IFREG | 0664, buf, sizeof(buf)),
			 "can be read or changed by other users (mode 0664): chmod 640 it");
}
END_TEST

START_TEST(result_strings)
{
	ck_assert_str_eq(auth_result_str(AUTH_OK), "ok");
	ck_assert_str_eq(auth_result_str(AUTH_UNKNOWN_USER), "unknown user");
	ck_assert_str_eq(auth_result_str(AUTH_WRONG_PASSWORD), "wrong password");
	ck_assert_str_eq(auth_result_str(AUTH_LOCKED), "locked user");
	ck_assert_str_eq(auth_result_str(AUTH_BAD_HASH), "malformed hash");
	ck_assert_str_eq(auth_result_str(AUTH_ERROR), "system error");
}
END_TEST

/* CPU time of this thread: a busy machine (make -j check) delays the
 * test, but does not change how much work a check does. */
static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The fastest of three checks. */
static double check_time(struct auth *auth, const char *user)
{
	double best = 1e9;

	for (int i = 0; i < 3; i++) {
		double start = seconds();
		auth_check(auth, user, "not the password");
		double took = seconds() - start;
		best = took < best ? took : best;
	}
	return best;
}

/* An unknown, locked or broken user costs a hash too: otherwise the
 * time of an answer would tell which names exist. */
START_TEST(unknown_user_takes_as_long)
{
	struct auth *auth = load_ok(
		"known:$y$j9T$CUScBDYR9eRYuvJzJzt1q1$4T9PempLjNdZbm3wAOQrjdXYfyCoobxqd6Ox.PLzXp0\n"
		"locked:!\n"
		"broken:junk\n");
	double known = check_time(auth, "known");
	const char *others[] = { "unknown", "locked", "broken" };

	for (int i = 0; i < 3; i++) {
		double t = check_time(auth, others[i]);
		ck_assert_msg(t > known / 3 && t < known * 3,
			      "user '%s' took %.1f ms, a known user %.1f ms",
			      others[i], t * 1000, known * 1000);
	}
	auth_free(auth);
}
END_TEST

/* ---- PAM */

#ifdef HAVE_PAM
/* A private PAM service: users unknown to the system are unknown, the
 * password "pam secret" is right (pam_exec hands it to a shell script),
 * anything else is wrong; the account is always valid. */
static struct auth *pam_auth_script(const char *file, const char *script)
{
	char service[9000];
	struct auth *auth = NULL;

	write_file("check.sh", script, 0600);
	snprintf(service, sizeof(service),
		 "auth requisite pam_succeed_if.so quiet uid >= 0\n"
		 "auth [success=1 default=ignore] pam_exec.so quiet expose_authtok /bin/sh %s\n"
		 "auth requisite pam_deny.so\n"
		 "auth required pam_permit.so\n"
		 "account required pam_permit.so\n",
		 in_dir("check.sh"));
	write_file("culvert-test", service, 0600);
	ck_assert_int_eq(auth_new(file, "culvert-test", &auth), 0);
	int err = auth_set_pam_confdir(auth, dir);
	if (err == -ENOTSUP) {
		auth_free(auth);
		return NULL;
	}
	ck_assert_int_eq(err, 0);
	return auth;
}

static struct auth *pam_auth(const char *file)
{
	return pam_auth_script(file,
			       "IFS= read -r pw\n[ \"$pw\" = \"pam secret\" ]\n");
}

START_TEST(pam_service)
{
	if (!getpwnam("nobody"))
		return;		/* no system user to try */
	struct auth *auth = pam_auth(NULL);
	if (!auth)
		return;		/* Linux-PAM before 1.4 */
	assert_check(auth, "nobody", "pam secret", AUTH_OK);
	assert_check(auth, "nobody", "pam secret!", AUTH_WRONG_PASSWORD);
	assert_check(auth, "nobody", "", AUTH_WRONG_PASSWORD);
	assert_check(auth, "no-such-user-here", "pam secret",
		     AUTH_UNKNOWN_USER);
	/* Not a name the file could hold: PAM never hears of it. */
	assert_check(auth, "nobody\n", "pam secret", AUTH_UNKNOWN_USER);
	auth_free(auth);
}
END_TEST

/* The file decides for the users it lists, PAM only for the others. */
START_TEST(file_before_pam)
{
	if (!getpwnam("nobody"))
		return;
	const char *file = write_file("users",
		"nobody:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
		"daemon:!\n", 0600);
	struct auth *auth = pam_auth(file);
	if (!auth)
		return;
	assert_check(auth, "nobody", "pam secret", AUTH_WRONG_PASSWORD);
	assert_check(auth, "nobody", "U*U", AUTH_OK);
	assert_check(auth, "daemon", "pam secret", AUTH_LOCKED);
	assert_check(auth, "root", "pam secret", AUTH_OK);
	auth_free(auth);
}
END_TEST
#else
START_TEST(no_pam)
{
	struct auth *auth = (struct auth *)1;

	ck_assert_int_eq(auth_new(NULL, "culvert", &auth), -ENOTSUP);
	ck_assert_ptr_null(auth);
	ck_assert_msg(strstr(logged, "built without PAM"), "got:\n%s", logged);
}
END_TEST
#endif

/* ---- the back-off */

static struct sockaddr_storage v4(const char *text, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *text)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(443);
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))
#define MINUTE 60000

static struct throttle *throttle(void)
{
	struct throttle *t = NULL;

	ck_assert_int_eq(throttle_new(&t), 0);
	ck_assert_ptr_nonnull(t);
	return t;
}

static void fail_n(struct throttle *t, const struct sockaddr *sa,
		   int n, int64_t now)
{
	for (int i = 0; i < n; i++)
		throttle_failed(t, sa, "alice", now);
}

/* A check of user's password that succeeds. */
static void login(struct throttle *t, const struct sockaddr *sa,
		  const char *user, int64_t now)
{
	throttle_begin(t, sa, user, now);
	throttle_end(t, sa, user, true, now);
}

START_TEST(backoff_doubles)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a = v4("192.0.2.7", 40000);
	static const int64_t expected[] = {
		0, 0, 0, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
		60000,
	};
	int64_t now = 1000000;

	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", now), 0);
	for (int failures = 1; failures < 12; failures++) {
		throttle_failed(t, SA(a), "alice", now);
		ck_assert_msg(throttle_wait(t, SA(a), "alice", now) ==
			      expected[failures],
			      "after %d failures: wait %lld ms, expected %lld",
			      failures,
			      (long long)throttle_wait(t, SA(a), "alice", now),
			      (long long)expected[failures]);
		now += expected[failures];	/* wait as told */
	}
	throttle_free(t);
}
END_TEST

START_TEST(backoff_counts_down)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a = v4("192.0.2.7", 1);

	fail_n(t, SA(a), 5, 0);		/* 4 s to wait */
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 0), 4000);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 1500), 2500);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 3999), 1);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 4000), 0);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 9 * MINUTE), 0);
	/* An attempt before its time still counts. */
	throttle_failed(t, SA(a), "alice", 5000);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 5000), 8000);
	throttle_free(t);
}
END_TEST

START_TEST(forgotten_after_ten_minutes)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a = v4("192.0.2.7", 1);
	struct sockaddr_storage b = v4("192.0.2.8", 1);

	/* Just under ten minutes: remembered, the sixth failure waits 8 s. */
	fail_n(t, SA(a), 5, 0);
	throttle_failed(t, SA(a), "alice", 10 * MINUTE - 1);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 10 * MINUTE - 1), 8000);

	/* Ten minutes: forgotten, this is a first failure again. */
	fail_n(t, SA(b), 5, 0);
	ck_assert_int_eq(throttle_wait(t, SA(b), "alice", 10 * MINUTE), 0);
	fail_n(t, SA(b), 3, 10 * MINUTE);
	ck_assert_int_eq(throttle_wait(t, SA(b), "alice", 10 * MINUTE), 1000);

	/* Forgotten too when nobody asked about it in between. */
	throttle_failed(t, SA(a), "alice", 30 * MINUTE);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 30 * MINUTE), 0);
	throttle_free(t);
}
END_TEST

/* A login forgets its own user's failures at that host, nobody else's:
 * logging in to one's own account between guesses at another's buys
 * nothing (it used to forget the host). */
START_TEST(success_forgets_only_its_user)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a = v4("192.0.2.7", 1);
	struct sockaddr_storage b = v4("192.0.2.8", 1);

	fail_n(t, SA(a), 6, 0);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 0), 8000);
	login(t, SA(a), "alice", 0);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 0), 0);

	/* mallory guesses at bob, logging in as herself in between. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(throttle_wait(t, SA(b), "bob", 0), 0);
		throttle_failed(t, SA(b), "bob", 0);
		login(t, SA(b), "mallory", 0);
	}
	ck_assert_int_eq(throttle_wait(t, SA(b), "bob", 0), 1000);
	login(t, SA(b), "mallory", 0);
	ck_assert_int_eq(throttle_wait(t, SA(b), "bob", 0), 1000);
	ck_assert_int_eq(throttle_wait(t, SA(b), "mallory", 0), 0);

	/* The host's own count: many users' failures add up there, and
	 * no login forgets them, only time. */
	const char *users[] = { "u1", "u2", "u3", "u4", "u5" };
	for (int i = 0; i < 5; i++)
		throttle_failed(t, SA(b), users[i], 0);
	/* bob's 3 and these 5: 8, past the host's free ones. */
	ck_assert_int_eq(throttle_wait(t, SA(b), "carol", 0), 1000);
	login(t, SA(b), "mallory", 0);
	ck_assert_int_eq(throttle_wait(t, SA(b), "carol", 0), 1000);
	ck_assert_int_eq(throttle_wait(t, SA(b), "carol", 1000), 0);
	ck_assert_int_eq(throttle_wait(t, SA(b), "carol", 10 * MINUTE), 0);
	throttle_free(t);
}
END_TEST

/* Checks under way count as failures until they answer: of 200 guesses
 * sent at once, only the free ones are checked. */
START_TEST(checks_under_way_count)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a = v4("192.0.2.7", 1);
	struct sockaddr_storage b = v4("192.0.2.8", 1);
	char user[16];
	int checked = 0;

	for (int i = 0; i < 200; i++)
		if (throttle_wait(t, SA(a), "alice", 0) == 0) {
			throttle_begin(t, SA(a), "alice", 0);
			checked++;
		}
	ck_assert_int_eq(checked, THROTTLE_FREE_PER_USER);
	/* Their failures replace them: the wait goes on growing. */
	for (int i = 0; i < checked; i++)
		throttle_end(t, SA(a), "alice", false, 10);
	ck_assert_int_eq(throttle_wait(t, SA(a), "alice", 10), 1000);

	/* A user each: the host's count stops them. */
	checked = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		if (throttle_wait(t, SA(b), user, 0) == 0) {
			throttle_begin(t, SA(b), user, 0);
			checked++;
		}
	}
	ck_assert_int_eq(checked, THROTTLE_FREE_PER_HOST);
	/* Checks that succeed take their count back. */
	for (int i = 0; i < checked; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		throttle_end(t, SA(b), user, true, 5);
	}
	ck_assert_int_eq(throttle_wait(t, SA(b), "user199", 5), 0);
	throttle_free(t);
}
END_TEST

START_TEST(sources)
{
	struct throttle *t = throttle();
	struct sockaddr_storage a1 = v6("2001:db8:0:1::1");
	struct sockaddr_storage a2 = v6("2001:db8:0:1:ffff:ffff:ffff:fffe");
	struct sockaddr_storage b = v6("2001:db8:0:2::1");
	struct sockaddr_storage c = v6("2001:db9:0:1::1");
	struct sockaddr_storage p4 = v4("198.51.100.1", 1);
	struct sockaddr_storage p4_port = v4("198.51.100.1", 2);
	struct sockaddr_storage q4 = v4("198.51.100.2", 1);
	struct sockaddr_storage p4_mapped = v6("::ffff:198.51.100.1");
	struct sockaddr_storage q4_mapped = v6("::ffff:198.51.100.3");

	/* One /64 is one source, whichever of its addresses fails. */
	fail_n(t, SA(a1), 2, 0);
	fail_n(t, SA(a2), 2, 0);
	ck_assert_int_eq(throttle_wait(t, SA(a1), "alice", 0), 2000);
	ck_assert_int_eq(throttle_wait(t, SA(a2), "alice", 0), 2000);
	ck_assert_int_eq(throttle_wait(t, SA(b), "alice", 0), 0);
	ck_assert_int_eq(throttle_wait(t, SA(c), "alice", 0), 0);
	fail_n(t, SA(b), 3, 0);
	ck_assert_int_eq(throttle_wait(t, SA(b), "alice", 0), 1000);
	ck_assert_int_eq(throttle_wait(t, SA(a1), "alice", 0), 2000);

	/* IPv4: the address, whatever the port; mapped into IPv6 the same. */
	fail_n(t, SA(p4), 2, 0);
	fail_n(t, SA(p4_port), 1, 0);
	ck_assert_int_eq(throttle_wait(t, SA(p4), "alice", 0), 1000);
	ck_assert_int_eq(throttle_wait(t, SA(p4_mapped), "alice", 0), 1000);
	ck_assert_int_eq(throttle_wait(t, SA(q4), "alice", 0), 0);
	ck_assert_int_eq(throttle_wait(t, SA(q4_mapped), "alice", 0), 0);
	login(t, SA(p4_mapped), "alice", 0);
	ck_assert_int_eq(throttle_wait(t, SA(p4), "alice", 0), 0);
	ck_assert_int_eq(throttle_wait(t, SA(a1), "alice", 0), 2000);
	throttle_free(t);
}
END_TEST

/* The table holds 8192 entries, a host and a user at it per source here:
 * the entries least recently touched make room for new ones. */
START_TEST(bounded)
{
	struct throttle *t = throttle();
	struct sockaddr_storage first = v6("2001:db8:ffff:ffff::1");
	struct sockaddr_storage second = v6("2001:db8:ffff:fffe::1");
	char text[64];

	fail_n(t, SA(first), 4, 0);
	fail_n(t, SA(second), 4, 1);
	for (int i = 0; i < 4095; i++) {
		snprintf(text, sizeof(text), "2001:db8:%x:%x::1", i >> 8,
			 i & 0xff);
		struct sockaddr_storage ss = v6(text);
		throttle_failed(t, SA(ss), "alice", 1);
		if (i == 4093)	/* 8192 entries: full, but all still there */
			ck_assert_int_eq(throttle_wait(t, SA(first), "alice", 1),
					 1999);
	}
	ck_assert_int_eq(throttle_wait(t, SA(first), "alice", 1), 0);
	ck_assert_int_eq(throttle_wait(t, SA(second), "alice", 1), 2000);
	throttle_free(t);
}
END_TEST

/* ---- culvertctl passwd */

static const char *users_text =
	"# culvert users\n"
	"\n"
	"bob:$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
	"alice:$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n"
	"   # carol left\n"
	"carol:!\n";

static void assert_password(const char *path, const char *user,
			    const char *password, enum auth_result expected)
{
	struct auth *auth = NULL;

	ck_assert_msg(auth_new(path, NULL, &auth) == 0, "%s", logged);
	assert_check(auth, user, password, expected);
	auth_free(auth);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(passwd_new_file)
{
	const char *path = in_dir("users");

	umask(022);
	ck_assert_int_eq(passwd_update(path, "alice", "s3cret pass", NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0600);
	const char *text = read_file(path);
	ck_assert_msg(strncmp(text, "alice:$y$", 9) == 0, "%s", text);
	ck_assert_msg(strchr(text, '\n') == text + strlen(text) - 1, "%s", text);
	assert_password(path, "alice", "s3cret pass", AUTH_OK);
	assert_password(path, "alice", "s3cret", AUTH_WRONG_PASSWORD);
	ck_assert_msg(strstr(logged, ": added user 'alice'"), "%s", logged);
	ck_assert_int_eq(access(in_dir("users.tmp"), F_OK), -1);
}
END_TEST

START_TEST(passwd_replaces)
{
	const char *path = write_file("users", users_text, 0640);

	ck_assert_int_eq(passwd_update(path, "alice", "new one", NULL), 0);
	char *text = read_file(path);
	char *line = strstr(text, "alice:$y$");
	ck_assert_msg(line, "%s", text);
	/* Every other line as it was, in its place. */
	size_t before = (size_t)(strstr(users_text, "alice:") - users_text);
	ck_assert_int_eq(strncmp(text, users_text, before), 0);
	ck_assert_str_eq(strchr(line, '\n') + 1, "   # carol left\ncarol:!\n");
	ck_assert_uint_eq(mode_of(path), 0640);
	assert_password(path, "alice", "new one", AUTH_OK);
	assert_password(path, "alice", "Hello world!", AUTH_WRONG_PASSWORD);
	assert_password(path, "bob", "U*U", AUTH_OK);
	assert_password(path, "carol", "", AUTH_LOCKED);
	ck_assert_msg(strstr(logged, "changed the password of user 'alice'"),
		      "%s", logged);
}
END_TEST

START_TEST(passwd_adds)
{
	/* The last line has no line break: the new one must not join it. */
	const char *path = write_file("users", "bob:!", 0600);

	ck_assert_int_eq(passwd_update(path, "dave@example.org", "pw", NULL), 0);
	char *text = read_file(path);
	ck_assert_msg(strncmp(text, "bob:!\ndave@example.org:$y$", 26) == 0,
		      "%s", text);
	assert_password(path, "dave@example.org", "pw", AUTH_OK);
	assert_password(path, "bob", "pw", AUTH_LOCKED);
}
END_TEST

/* A password file every user may read is one culvertd refuses
 * (strict-modes): passwd takes that access away, and says so; the
 * group's read access (the daemon's group) stays. */
START_TEST(passwd_tightens_world_readable)
{
	const char *path = write_file("users", users_text, 0644);
	char want[9000];

	ck_assert_int_eq(passwd_update(path, "alice", "new one", NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0640);
	snprintf(want, sizeof(want),
		 "%s could be read by every user (mode 0644); it is now 0640",
		 path);
	ck_assert_msg(strstr(logged, want), "expected \"%s\", got:\n%s", want,
		      logged);
	assert_password(path, "alice", "new one", AUTH_OK);

	logged[0] = '\0';
	ck_assert_int_eq(chmod(path, 0606), 0);
	ck_assert_int_eq(passwd_update(path, "bob", "pw", NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_msg(strstr(logged, "(mode 0606); it is now 0600"), "%s", logged);

	logged[0] = '\0';
	ck_assert_int_eq(passwd_update(path, "bob", "pw2", NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0600);
	ck_assert_msg(!strstr(logged, "every user"), "%s", logged);
}
END_TEST

/* -g sets the group; without it, a user's group stays as it was. */
START_TEST(passwd_groups)
{
	const char *path = write_file("users", "bob:!:sales\ncarol:!\n", 0600);

	ck_assert_int_eq(passwd_update(path, "bob", "pw", NULL), 0);
	ck_assert_int_eq(passwd_update(path, "carol", "pw", "engineering"), 0);
	ck_assert_int_eq(passwd_update(path, "dave", "pw", "sites"), 0);
	char *text = read_file(path);
	ck_assert_msg(strstr(text, "bob:$y$") && strstr(text, ":sales\ncarol:$y$") &&
		      strstr(text, ":engineering\ndave:$y$") &&
		      strstr(text, ":sites\n"), "%s", text);
	struct auth *auth;
	ck_assert_int_eq(auth_new(path, NULL, &auth), 0);
	ck_assert_str_eq(auth_user_group(auth, "bob"), "sales");
	ck_assert_str_eq(auth_user_group(auth, "carol"), "engineering");
	ck_assert_int_eq(auth_check(auth, "dave", "pw"), AUTH_OK);
	auth_free(auth);
	ck_assert_int_eq(passwd_update(path, "bob", "pw", "no good"), -EINVAL);
	ck_assert_msg(strstr(logged, "'no good' is not a group name"), "%s", logged);
}
END_TEST

START_TEST(passwd_drops_duplicates)
{
	const char *path = write_file("users",
		"alice:!\nbob:!\nalice:*\nalice2:!\n", 0600);

	ck_assert_int_eq(passwd_update(path, "alice", "pw", NULL), 0);
	char *text = read_file(path);
	ck_assert_msg(strncmp(text, "alice:$y$", 9) == 0, "%s", text);
	ck_assert_msg(strstr(text, "\nbob:!\nalice2:!\n"), "%s", text);
	ck_assert_msg(strstr(logged, ":3: removed another line of user 'alice' (first on line 1)"),
		      "%s", logged);
	assert_password(path, "alice", "pw", AUTH_OK);
}
END_TEST

START_TEST(passwd_through_symlink)
{
	const char *path = write_file("real", users_text, 0600);

	ck_assert_int_eq(symlink(path, in_dir("link")), 0);
	ck_assert_int_eq(passwd_update(in_dir("link"), "bob", "pw", NULL), 0);
	struct stat st;
	ck_assert_int_eq(lstat(in_dir("link"), &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	assert_password(path, "bob", "pw", AUTH_OK);
}
END_TEST

START_TEST(passwd_refuses)
{
	const char *path = write_file("users", users_text, 0600);
	char longest[300];

	ck_assert_int_eq(passwd_update(path, "bad user", "pw", NULL), -EINVAL);
	ck_assert_msg(strstr(logged, "'bad user' is not a user name"), "%s",
		      logged);
	ck_assert_int_eq(passwd_update(path, "", "pw", NULL), -EINVAL);
	ck_assert_int_eq(passwd_update(path, "alice", "", NULL), -EINVAL);
	ck_assert_msg(strstr(logged, "the password is empty"), "%s", logged);
	ck_assert_int_eq(passwd_update(path, "alice", "two\nlines", NULL), -EINVAL);
	memset(longest, 'x', 256);
	longest[256] = '\0';
	ck_assert_int_eq(passwd_update(path, "alice", longest, NULL), -EINVAL);
	ck_assert_msg(strstr(logged, "longer than 255 bytes"), "%s", logged);
	longest[255] = '\0';
	ck_assert_str_eq(read_file(path), users_text);

	/* A temporary file left behind: someone else is at it. */
	write_file("users.tmp", "", 0600);
	ck_assert_int_eq(passwd_update(path, "alice", "pw", NULL), -EEXIST);
	ck_assert_msg(strstr(logged, "users.tmp exists"), "%s", logged);
	ck_assert_str_eq(read_file(path), users_text);
	ck_assert_str_eq(read_file(in_dir("users.tmp")), "");
	unlink(in_dir("users.tmp"));

	ck_assert_int_eq(passwd_update(path, "alice", longest, NULL), 0);
	assert_password(path, "alice", longest, AUTH_OK);

	/* A failure after the temporary file was made removes it. */
	ck_assert_int_eq(mkdir(in_dir("subdir"), 0700), 0);
	ck_assert_int_eq(passwd_update(in_dir("subdir"), "alice", "pw", NULL),
			 -EINVAL);
	ck_assert_msg(strstr(logged, "subdir is not a regular file"), "%s",
		      logged);
	ck_assert_int_eq(access(in_dir("subdir.tmp"), F_OK), -1);
}
END_TEST

/* ---- the password checker thread */

#define WORKER_JOBS 20

struct worker_run {
	struct loop *loop;
	struct loop_timer *tick;
	uint64_t skipped;
	unsigned int answered;
	enum auth_result result[WORKER_JOBS];
	bool called[WORKER_JOBS];
	int order[WORKER_JOBS];		/* the jobs, as they were answered */
	unsigned int want_answered;
	uint64_t want_skipped;
	int64_t deadline;
};

static struct worker_run run;

static void on_checked(void *arg, enum auth_result result)
{
	int i = (int)(intptr_t)arg;

	run.called[i] = true;
	run.result[i] = result;
	run.order[run.answered++] = i;
}

/* Stops the loop once the expected answers and skips are in, or after
 * the deadline (the test then fails on what is missing). */
static void on_tick(void *arg)
{
	if ((run.answered >= run.want_answered &&
	     run.skipped >= run.want_skipped) ||
	    loop_now(run.loop) > run.deadline) {
		loop_stop(run.loop);
		return;
	}
	loop_timer_arm(run.tick, 5);
}

static struct auth_worker *worker_start(struct auth *auth, unsigned int threads)
{
	struct auth_worker *w = NULL;

	memset(&run, 0, sizeof(run));
	ck_assert_int_eq(loop_new(&run.loop), 0);
	ck_assert_int_eq(auth_worker_new(run.loop, auth, threads, &run.skipped,
					 &w), 0);
	run.tick = loop_timer_new(run.loop, on_tick, NULL);
	ck_assert_ptr_nonnull(run.tick);
	return w;
}

static void worker_wait_ms(unsigned int answered, uint64_t skipped,
			   int64_t ms)
{
	run.want_answered = answered;
	run.want_skipped = skipped;
	run.deadline = loop_now(run.loop) + ms;
	loop_timer_arm(run.tick, 5);
	ck_assert_int_eq(loop_run(run.loop), 0);
}

static void worker_wait(unsigned int answered, uint64_t skipped)
{
	run.want_answered = answered;
	run.want_skipped = skipped;
	run.deadline = loop_now(run.loop) + 20000;
	loop_timer_arm(run.tick, 5);
	ck_assert_int_eq(loop_run(run.loop), 0);
}

/* The host a login from text (an IPv4 address) comes from. */
static struct source_key source_of(const char *text)
{
	struct sockaddr_storage ss = v4(text, 1);
	struct source_key k;

	source_key(SA(ss), SOURCE_HOST, &k);
	return k;
}

static void worker_stop(struct auth_worker *w, struct auth *auth)
{
	auth_worker_free(w);
	loop_timer_free(run.tick);
	loop_free(run.loop);
	auth_free(auth);
}

START_TEST(worker_answers)
{
	struct auth *auth = load_ok("victor:" "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n");
	struct auth_worker *w = worker_start(auth, 0);
	struct source_key src = source_of("192.0.2.7");

	ck_assert_ptr_nonnull(auth_worker_submit(w, &src, "victor", "Hello world!",
						 on_checked, (void *)0));
	ck_assert_ptr_nonnull(auth_worker_submit(w, &src, "victor", "Hello world?",
						 on_checked, (void *)1));
	ck_assert_ptr_nonnull(auth_worker_submit(w, &src, "nobody", "Hello world!",
						 on_checked, (void *)2));
	worker_wait(3, 0);
	ck_assert_uint_eq(run.answered, 3);
	ck_assert_str_eq(auth_result_str(run.result[0]), auth_result_str(AUTH_OK));
	ck_assert_str_eq(auth_result_str(run.result[1]),
			 auth_result_str(AUTH_WRONG_PASSWORD));
	ck_assert_str_eq(auth_result_str(run.result[2]),
			 auth_result_str(AUTH_UNKNOWN_USER));
	ck_assert_uint_eq(run.skipped, 0);
	worker_stop(w, auth);
}
END_TEST

#ifdef HAVE_PAM
/* Opens the FIFO gate for writing and closes it, so that the script
 * waiting on it reads end of file and goes on; bounded, since the
 * script may not have reached the gate yet. */
static void open_gate(const char *gate)
{
	for (int i = 0; i < 2000; i++) {
		int fd = open(gate, O_WRONLY | O_NONBLOCK);
		if (fd >= 0) {
			close(fd);
			return;
		}
		ck_assert_int_eq(errno, ENXIO);	/* no reader yet */
		usleep(10000);
	}
	ck_abort_msg("the PAM script never opened %s", gate);
}

/* Clients that send a password and hang up at once cost no hashing: the
 * checks still queued when their sessions end are dropped, and their
 * callbacks never run. The first check (PAM, through a script that waits
 * on a FIFO) cannot finish before the test opens the gate, so the others
 * are surely still queued when they are cancelled. */
START_TEST(worker_skips_cancelled)
{
	char gate[4300], script[9000];

	if (!getpwnam("nobody"))
		return;		/* no system user to try */
	snprintf(gate, sizeof(gate), "%s/gate", dir);
	ck_assert_int_eq(mkfifo(gate, 0600), 0);
	snprintf(script, sizeof(script),
		 "IFS= read -r pw\ncat '%s' >/dev/null\n[ \"$pw\" = \"pam secret\" ]\n",
		 gate);
	struct auth *auth = pam_auth_script(NULL, script);
	if (!auth)
		return;		/* Linux-PAM before 1.4 */
	struct auth_worker *w = worker_start(auth, 1);
	struct source_key src = source_of("192.0.2.7");

	ck_assert_ptr_nonnull(auth_worker_submit(w, &src, "nobody", "pam secret",
						 on_checked, (void *)0));
	for (intptr_t i = 1; i < 6; i++) {
		struct auth_job *job = auth_worker_submit(
			w, &src, "nobody", "a guess", on_checked, (void *)i);
		ck_assert_ptr_nonnull(job);
		auth_job_cancel(w, job);
	}
	open_gate(gate);
	worker_wait(1, 5);
	ck_assert_msg(run.called[0] && run.result[0] == AUTH_OK,
		      "the first check did not answer OK");
	for (int i = 1; i < 6; i++)
		ck_assert_msg(!run.called[i], "cancelled job %d was answered", i);
	ck_assert_uint_eq(run.skipped, 5);
	worker_stop(w, auth);
}
END_TEST

/* A PAM check that waits at the FIFO gate dir/waitN when the password
 * is "waitN" (N = 1, 2), and accepts "pam secret". NULL when PAM cannot
 * be tried here. */
static struct auth *gated_auth(void)
{
	char script[9000];

	if (!getpwnam("nobody"))
		return NULL;	/* no system user to try */
	ck_assert_int_eq(mkfifo(in_dir("wait1"), 0600), 0);
	ck_assert_int_eq(mkfifo(in_dir("wait2"), 0600), 0);
	snprintf(script, sizeof(script),
		 "IFS= read -r pw\n"
		 "case $pw in wait?) cat '%s/'\"$pw\" >/dev/null ;; esac\n"
		 "[ \"$pw\" = \"pam secret\" ]\n", dir);
	return pam_auth_script(NULL, script);
}

/* One host's burst takes at most its share of the queue, and another
 * host's login is checked after one more of the burst, not after all of
 * it (one thread: the jobs take turns by host). */
START_TEST(worker_serves_hosts_in_turn)
{
	struct auth *auth = gated_auth();

	if (!auth)
		return;
	struct auth_worker *w = worker_start(auth, 1);
	struct source_key a = source_of("192.0.2.7"), b = source_of("192.0.2.8");
	intptr_t i;

	ck_assert_ptr_nonnull(auth_worker_submit(w, &a, "nobody", "wait1",
						 on_checked, (void *)0));
	for (i = 1; i < AUTH_SOURCE_QUEUE_MAX; i++)
		ck_assert_ptr_nonnull(auth_worker_submit(
			w, &a, "nobody", "a guess", on_checked, (void *)i));
	ck_assert_ptr_null(auth_worker_submit(w, &a, "nobody", "one too many",
					      on_checked, (void *)i));
	ck_assert_ptr_nonnull(auth_worker_submit(w, &b, "nobody", "pam secret",
						 on_checked, (void *)i));
	open_gate(in_dir("wait1"));
	worker_wait(AUTH_SOURCE_QUEUE_MAX + 1, 0);
	ck_assert_uint_eq(run.answered, AUTH_SOURCE_QUEUE_MAX + 1);
	ck_assert_int_eq(run.result[i], AUTH_OK);
	ck_assert_int_eq(run.order[0], 0);
	/* The one under way when b arrived, at most one more of a's, then
	 * b's (it was last of 17 in one queue). */
	ck_assert_msg(run.order[1] == i || run.order[2] == i,
		      "the other host's login was answered after %d of the burst",
		      run.order[1] == i ? 1 : run.order[2] == i ? 2 : 99);
	worker_stop(w, auth);
}
END_TEST

/* Two threads: one host may hold only one, so another host's login is
 * checked while the first host's two checks wait at their gates (with
 * both threads taken by them, it would wait too). */
START_TEST(worker_leaves_a_thread_for_others)
{
	struct auth *auth = gated_auth();

	if (!auth)
		return;
	struct auth_worker *w = worker_start(auth, 2);
	struct source_key a = source_of("192.0.2.7"), b = source_of("192.0.2.8");

	ck_assert_ptr_nonnull(auth_worker_submit(w, &a, "nobody", "wait1",
						 on_checked, (void *)0));
	ck_assert_ptr_nonnull(auth_worker_submit(w, &a, "nobody", "wait2",
						 on_checked, (void *)1));
	usleep(100000);		/* time for a second thread to take wait2 */
	ck_assert_ptr_nonnull(auth_worker_submit(w, &b, "nobody", "pam secret",
						 on_checked, (void *)2));
	worker_wait_ms(1, 0, 5000);
	ck_assert_msg(run.answered == 1 && run.called[2] && run.result[2] == AUTH_OK,
		      "the other host's login was not checked while the first host's waited (%u answers)",
		      run.answered);
	open_gate(in_dir("wait1"));
	open_gate(in_dir("wait2"));
	worker_wait(3, 0);
	ck_assert_uint_eq(run.answered, 3);
	worker_stop(w, auth);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *file = tcase_create("file");
	TCase *pam = tcase_create("pam");
	TCase *back_off = tcase_create("throttle");
	TCase *passwd = tcase_create("passwd");
	TCase *worker = tcase_create("worker");

	tcase_add_unchecked_fixture(file, make_top, remove_top);
	tcase_add_checked_fixture(file, setup, teardown);
	tcase_set_timeout(file, 60);	/* yescrypt under a sanitizer */
	tcase_add_loop_test(file, known_vector, 0,
			    sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(file, several_users);
	tcase_add_test(file, groups);
	tcase_add_test(file, unknown_user);
	tcase_add_test(file, locked);
	tcase_add_test(file, malformed_hash);
	tcase_add_test(file, legacy_hash_never_matches);
	tcase_add_loop_test(file, cost_cap, 0,
			    sizeof(cost_cases) / sizeof(cost_cases[0]));
	tcase_add_test(file, costly_hashes_refused_at_load);
	tcase_add_loop_test(file, bad_file, 0,
			    sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(file, every_error_reported);
	tcase_add_test(file, the_longest_name);
	tcase_add_test(file, identities);
	tcase_add_test(file, missing_file);
	tcase_add_test(file, readable_by_others);
	tcase_add_test(file, secret_modes);
	tcase_add_test(file, passwd_group);
	tcase_add_test(file, result_strings);
	tcase_add_test(file, unknown_user_takes_as_long);
	suite_add_tcase(s, file);

	tcase_add_unchecked_fixture(pam, make_top, remove_top);
	tcase_add_checked_fixture(pam, setup, teardown);
#ifdef HAVE_PAM
	tcase_add_test(pam, pam_service);
	tcase_add_test(pam, file_before_pam);
#else
	tcase_add_test(pam, no_pam);
#endif
	suite_add_tcase(s, pam);

	tcase_add_test(back_off, backoff_doubles);
	tcase_add_test(back_off, backoff_counts_down);
	tcase_add_test(back_off, forgotten_after_ten_minutes);
	tcase_add_test(back_off, success_forgets_only_its_user);
	tcase_add_test(back_off, checks_under_way_count);
	tcase_add_test(back_off, sources);
	tcase_add_test(back_off, bounded);
	suite_add_tcase(s, back_off);

	tcase_add_unchecked_fixture(passwd, make_top, remove_top);
	tcase_add_checked_fixture(passwd, setup, teardown);
	tcase_set_timeout(passwd, 60);
	tcase_add_test(passwd, passwd_new_file);
	tcase_add_test(passwd, passwd_replaces);
	tcase_add_test(passwd, passwd_adds);
	tcase_add_test(passwd, passwd_tightens_world_readable);
	tcase_add_test(passwd, passwd_groups);
	tcase_add_test(passwd, passwd_drops_duplicates);
	tcase_add_test(passwd, passwd_through_symlink);
	tcase_add_test(passwd, passwd_refuses);
	suite_add_tcase(s, passwd);

	tcase_add_unchecked_fixture(worker, make_top, remove_top);
	tcase_add_checked_fixture(worker, setup, teardown);
	tcase_set_timeout(worker, 60);
	tcase_add_test(worker, worker_answers);
#ifdef HAVE_PAM
	tcase_add_test(worker, worker_skips_cancelled);
	tcase_add_test(worker, worker_serves_hosts_in_turn);
	tcase_add_test(worker, worker_leaves_a_thread_for_others);
#endif
	suite_add_tcase(s, worker);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
