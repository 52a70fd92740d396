/* Per-client policy: the files of client-config-dir and group-config-dir
 * (every key, every error with its file and line), the checks across a
 * whole set (each naming the other party), and the merge for one
 * session. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "policy_file.h"
#include "session.h"

static char logged[16384];
static char dir[4096];

static void capture(int priority, const char *line, void *arg)
{
	size_t used = strlen(logged);

	snprintf(logged + used, sizeof(logged) - used, "%s\n", line);
}

static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char sub[8192];
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		struct stat st;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_dir(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	logged[0] = '\0';
	log_set_sink(capture, NULL);
	snprintf(dir, sizeof(dir), "%s/culvert-test-policy.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/clients", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/groups", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
}

static void teardown(void)
{
	log_set_sink(NULL, NULL);
	remove_dir(dir);
}

/* dir/sub/name holding text */
static void put(const char *sub, const char *name, const char *text)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A server config with dir's two directories, and extra lines. */
static struct config *server(const char *extra)
{
	char text[16384];
	struct config *cfg;

	snprintf(text, sizeof(text),
		 "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
		 "pool = 203.0.113.0/24\npool6 = 2001:db8:100::/64\n"
		 "route = 198.18.2.0/24\n"
		 "client-config-dir = %s/clients\ngroup-config-dir = %s/groups\n%s",
		 dir, dir, extra);
	int err = config_parse_string("gw.conf", text, &cfg);
	ck_assert_msg(err == 0, "config: %s", logged);
	return cfg;
}

/* One file's text parsed as a client's (group false) or a group's:
 * the number of errors. */
static int parse(const char *text, bool group, struct client_policy *out)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	ck_assert_ptr_nonnull(f);
	int n = policy_parse(f, "clients/x", "x", group, out);
	fclose(f);
	return n;
}

static void expect_error(const char *text, bool group, const char *error)
{
	struct client_policy p;

	logged[0] = '\0';
	int n = parse(text, group, &p);
	client_policy_clear(&p);
	ck_assert_msg(n > 0, "no error for \"%s\"", text);
	ck_assert_msg(strstr(logged, error), "expected \"%s\" for \"%s\", got:\n%s",
		      error, text, logged);
}

START_TEST(client_file)
{
	struct client_policy p;
	char a[ADDR_STRLEN];

	ck_assert_int_eq(parse("# site A\n"
			       "address = 203.0.113.11\n"
			       "address = 2001:db8:100::11   # and IPv6\n"
			       "network = 198.18.1.0/24\n"
			       "network = 2001:db8:a::/48\n"
			       "route = 198.18.0.0/16\n"
			       "route = default\n"
			       "group = sites\n"
			       "restrict-to-routes = yes\n", false, &p), 0);
	ck_assert_str_eq(p.name, "x");
	ck_assert_str_eq(addr_str(&p.addr4, a), "203.0.113.11");
	ck_assert_uint_eq(p.addr4_line, 2);
	ck_assert_str_eq(addr_str(&p.addr6, a), "2001:db8:100::11");
	ck_assert_uint_eq(p.networks.n, 2);
	ck_assert_str_eq(prefix_str(&p.networks.p[1], a), "2001:db8:a::/48");
	ck_assert_uint_eq(p.networks.line[1], 5);
	ck_assert_uint_eq(p.routes.n, 2);
	ck_assert_uint_eq(p.routes.p[1].len, 0);
	ck_assert_str_eq(p.group, "sites");
	ck_assert_int_eq(p.restrict_to_routes, 1);
	ck_assert_str_eq(logged, "");
	client_policy_clear(&p);
}
END_TEST

static const struct {
	const char *text;
	bool group;
	const char *error;
} bad_files[] = {
	{ "nework = 198.18.1.0/24\n", false,
	  "clients/x:1: unknown key 'nework' (did you mean 'network'?)" },
	{ "zzz = 1\n", false, "clients/x:1: unknown key 'zzz' (a client's file takes" },
	{ "network = 198.18.1.0/24\n", true,
	  "clients/x:1: key 'network' belongs in a client's file, not a group's: a network is behind one client" },
	{ "address = 203.0.113.9\n", true, "key 'address' belongs in a client's file" },
	{ "group = a\n", true, "key 'group' belongs in a client's file" },
	{ "network = 198.18.1.1/24\n", false,
	  "clients/x:1: network '198.18.1.1/24' has host bits set" },
	{ "network = 0.0.0.0/0\n", false,
	  "network '0.0.0.0/0' is every address" },
	{ "network = default\n", false, "clients/x:1: network 'default'" },
	{ "route = 198.18.3.0/24\nroute = 198.18.3.0/24\n", false,
	  "clients/x:2: route 198.18.3.0/24 is given twice (first on line 1)" },
	{ "address = 203.0.113.9\naddress = 203.0.113.10\n", false,
	  "clients/x:2: a second IPv4 address '203.0.113.10' (the first on line 1)" },
	{ "address = 203.0.113.0/24\n", false,
	  "address '203.0.113.0/24' is not an IPv4 or IPv6 address" },
	{ "group = a b\n", false, "group 'a b' is not a group name" },
	{ "group = .hidden\n", false, "group '.hidden' is not a group name" },
	{ "group = a\ngroup = b\n", false,
	  "clients/x:2: key 'group' is set twice (first on line 1)" },
	{ "restrict-to-routes = maybe\n", false,
	  "restrict-to-routes 'maybe' is not yes or no" },
	{ "just words\n", false, "clients/x:1: expected KEY = VALUE, found 'just words'" },
	{ "route =\n", false, "clients/x:1: key 'route' has no value" },
};

START_TEST(bad_file)
{
	expect_error(bad_files[_i].text, bad_files[_i].group, bad_files[_i].error);
}
END_TEST

/* 17 networks: one too many for a welcome's NETWORK limit. */
START_TEST(too_many_networks)
{
	char text[2048] = "";

	for (int i = 0; i <= POLICY_MAX_NETWORKS; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "network = 198.18.%d.0/24\n", i);
	expect_error(text, false, "clients/x:17: network 198.18.16.0/24 is one too many (at most 16)");
}
END_TEST

/* Both directories read, sorted by name; dot-files skipped; an error in
 * one file fails the whole load. */
START_TEST(load_directories)
{
	struct config *cfg = server("");
	struct policy_set *set;

	put("clients", "r3", "network = 198.18.3.0/24\n");
	put("clients", "r1", "network = 198.18.1.0/24\ngroup = sites\n");
	put("clients", ".r1.swp", "garbage\n");
	put("groups", "sites", "route = 198.18.0.0/16\n");
	ck_assert_int_eq(policy_load(cfg, &set), 0);
	ck_assert_uint_eq(set->n_clients, 2);
	ck_assert_str_eq(set->clients[0].name, "r1");
	ck_assert_str_eq(set->clients[1].name, "r3");
	ck_assert_ptr_nonnull(policy_client(set, "r3"));
	ck_assert_ptr_null(policy_client(set, "r2"));
	ck_assert_ptr_null(policy_client(set, NULL));
	ck_assert_ptr_nonnull(policy_group(set, "sites"));
	ck_assert_str_eq(policy_group(set, "sites")->file + strlen(dir), "/groups/sites");
	policy_set_free(set);

	put("groups", "bad name", "route = 198.18.0.0/16\n");
	logged[0] = '\0';
	ck_assert_int_eq(policy_load(cfg, &set), -EINVAL);
	ck_assert_msg(strstr(logged, "/groups/bad name: 'bad name' is not a group name"),
		      "%s", logged);
	config_free(cfg);

	cfg = server("");
	remove_dir(dir);
	ck_assert_int_eq(policy_load(cfg, &set), -ENOENT);
	ck_assert_msg(strstr(logged, "cannot read client-config-dir"), "%s", logged);
	mkdir(dir, 0700);	/* for the teardown */
	config_free(cfg);
}
END_TEST

static unsigned int check_set(struct config *cfg,
			      const struct policy_local *local, size_t n)
{
	struct policy_set *set;

	ck_assert_msg(policy_load(cfg, &set) == 0, "%s", logged);
	logged[0] = '\0';
	unsigned int errors = policy_set_check(set, cfg, local, n);
	policy_set_free(set);
	return errors;
}

static void expect_check(const char *error)
{
	ck_assert_msg(strstr(logged, error), "expected \"%s\" in:\n%s", error,
		      logged);
}

START_TEST(checks_across_the_set)
{
	struct config *cfg = server("");
	struct policy_local gw[] = { { .ifname = "lan" } };

	addr_parse("198.18.2.1", &gw[0].addr);
	put("clients", "r1", "network = 198.18.1.0/24\naddress = 203.0.113.11\n");
	put("clients", "r3", "network = 198.18.3.0/24\nnetwork = 2001:db8:c::/48\n");
	ck_assert_uint_eq(check_set(cfg, gw, 1), 0);

	/* Nested in another's, and the wider of the two is named; it holds
	 * the gateway's own address too. */
	put("clients", "r9", "# comment\nnetwork = 198.18.0.0/16\n");
	ck_assert_uint_eq(check_set(cfg, gw, 1), 3);
	expect_check("/clients/r9:2: network 198.18.0.0/16 holds 198.18.2.1");
	expect_check("/clients/r1:1: network 198.18.1.0/24 overlaps network 198.18.0.0/16 of 'r9' (");
	expect_check("/clients/r9:2)");
	expect_check("/clients/r3:1: network 198.18.3.0/24 overlaps network 198.18.0.0/16 of 'r9'");
	/* Over a pool, holding the gateway's address, two of one client. */
	put("clients", "r9", "network = 2001:db8:100:0:8000::/65\n"
			     "network = 198.18.2.0/25\n"
			     "network = 198.18.5.0/24\nnetwork = 198.18.5.128/25\n");
	ck_assert_uint_eq(check_set(cfg, gw, 1), 3);
	expect_check("/clients/r9:1: network 2001:db8:100:0:8000::/65 overlaps pool6 2001:db8:100::/64 in gw.conf");
	expect_check("/clients/r9:2: network 198.18.2.0/25 holds 198.18.2.1, an address of this gateway (on lan)");
	expect_check("/clients/r9:4: network 198.18.5.128/25 overlaps its network 198.18.5.0/24 (line 3)");
	/* Static addresses: outside the pool, the gateway's, twice. */
	put("clients", "r9", "address = 203.0.113.1\n");
	put("clients", "r8", "address = 203.0.113.11\naddress = 2001:db8:200::1\n");
	ck_assert_uint_eq(check_set(cfg, gw, 1), 3);
	expect_check("/clients/r9:1: address 203.0.113.1 is not a client address of pool 203.0.113.0/24");
	expect_check("/clients/r8:2: address 2001:db8:200::1 is not a client address of pool6 2001:db8:100::/64");
	expect_check("/clients/r8:1: address 203.0.113.11 is given to 'r1' too (");
	config_free(cfg);
}
END_TEST

START_TEST(family_without_pool)
{
	struct config *cfg;
	char text[10000];

	snprintf(text, sizeof(text),
		 "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
		 "pool = 203.0.113.0/24\nclient-config-dir = %s/clients\n"
		 "group-config-dir = %s/groups\n", dir, dir);
	ck_assert_int_eq(config_parse_string("gw.conf", text, &cfg), 0);
	put("clients", "r1", "network = 2001:db8:a::/48\naddress = 2001:db8:100::5\n");
	put("groups", "g", "route = 2001:db8:b::/48\n");
	ck_assert_uint_eq(check_set(cfg, NULL, 0), 3);
	expect_check("/clients/r1:1: network 2001:db8:a::/48 is IPv6, but gw.conf has no 'pool6'");
	expect_check("/clients/r1:2: address 2001:db8:100::5: there is no 'pool6' in gw.conf");
	expect_check("/groups/g:1: route 2001:db8:b::/48 is IPv6");
	config_free(cfg);
}
END_TEST

START_TEST(welcome_too_big)
{
	struct config *cfg = server("");
	char text[8192] = "";

	for (int i = 0; i < 60; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "route = 2001:db8:%x::/48\n", 0x1000 + i);
	put("groups", "big", text);
	put("clients", "r1", "group = big\nnetwork = 198.18.1.0/24\n");
	ck_assert_uint_eq(check_set(cfg, NULL, 0), 2);
	expect_check("/clients/r1: the routes of gw.conf, of its group's file ");
	expect_check("make 61 routes in a welcome of");
	config_free(cfg);
}
END_TEST

/* ---- the merge for one session */

static struct session_policy *merged(struct config *cfg, const char *identity,
				     const char *group)
{
	struct policy_set *set;
	struct session_policy *p;

	ck_assert_msg(policy_load(cfg, &set) == 0, "%s", logged);
	ck_assert_int_eq(policy_for_session(set, cfg, identity, group, &p), 0);
	policy_set_free(set);	/* what p holds is its own */
	return p;
}

START_TEST(merge_for_a_session)
{
	struct config *cfg = server("");
	char a[ADDR_STRLEN];

	put("clients", "r1", "network = 198.18.1.0/24\ngroup = sites\n"
			     "address = 203.0.113.11\nroute = 198.18.9.0/24\n");
	put("clients", "bob", "restrict-to-routes = no\n");
	put("groups", "sites", "route = 198.18.0.0/16\nroute = 198.18.1.128/25\n"
			       "route = 198.18.2.0/24\n");
	put("groups", "sales", "restrict-to-routes = yes\nroute = 198.18.3.0/24\n");

	/* Nothing beyond the defaults: no policy at all. */
	ck_assert_ptr_null(merged(cfg, "nobody", NULL));
	ck_assert_ptr_null(merged(cfg, NULL, NULL));

	/* cfg's, the group's, its own; once each; not inside its network. */
	struct session_policy *p = merged(cfg, "r1", "ignored-by-its-file");
	ck_assert_str_eq(p->group, "sites");
	ck_assert_uint_eq(p->n_routes, 3);
	ck_assert_str_eq(prefix_str(&p->routes[0], a), "198.18.2.0/24");
	ck_assert_str_eq(prefix_str(&p->routes[1], a), "198.18.0.0/16");
	ck_assert_str_eq(prefix_str(&p->routes[2], a), "198.18.9.0/24");
	ck_assert_uint_eq(p->n_networks, 1);
	ck_assert_str_eq(prefix_str(&p->networks[0], a), "198.18.1.0/24");
	ck_assert_str_eq(addr_str(&p->addr4, a), "203.0.113.11");
	ck_assert_int_eq(p->addr6.family, 0);
	ck_assert(!p->restrict_to_routes);
	free(p);

	/* A group from outside the files (a password file, an OU). */
	p = merged(cfg, "sam", "sales");
	ck_assert_str_eq(p->group, "sales");
	ck_assert(p->restrict_to_routes);
	ck_assert_uint_eq(p->n_routes, 2);
	free(p);
	/* A client's file wins over its group's; the group's over cfg's. */
	p = merged(cfg, "bob", "sales");
	ck_assert(!p->restrict_to_routes);
	free(p);
	config_free(cfg);
	cfg = server("restrict-to-routes = yes\n");
	p = merged(cfg, "nobody", NULL);
	ck_assert(p && p->restrict_to_routes && p->n_routes == 1 && !p->group);
	free(p);
	config_free(cfg);
}
END_TEST

/* What the client was told changed, or not. */
START_TEST(policy_changes)
{
	struct config *cfg = server("");
	struct session_policy *a, *b;
	bool failed;

	put("clients", "r1", "network = 198.18.1.0/24\n");
	a = merged(cfg, "r1", NULL);
	put("clients", "r1", "network = 198.18.1.0/24\ngroup = x\nrestrict-to-routes = yes\n");
	b = merged(cfg, "r1", NULL);
	ck_assert_ptr_null(session_policy_change(cfg, a, b));
	free(b);
	put("clients", "r1", "network = 198.18.1.0/24\nroute = 198.18.7.0/24\n");
	b = merged(cfg, "r1", NULL);
	ck_assert_str_eq(session_policy_change(cfg, a, b), "its routes");
	free(b);
	put("clients", "r1", "network = 198.18.4.0/24\n");
	b = merged(cfg, "r1", NULL);
	ck_assert_str_eq(session_policy_change(cfg, a, b), "its networks");
	free(b);
	put("clients", "r1", "network = 198.18.1.0/24\naddress = 203.0.113.9\n");
	b = merged(cfg, "r1", NULL);
	ck_assert_str_eq(session_policy_change(cfg, a, b), "its static address");
	/* No policy is cfg's routes: a file that adds nothing changes nothing. */
	ck_assert_ptr_null(session_policy_change(cfg, NULL, NULL));
	ck_assert_str_eq(session_policy_change(cfg, NULL, b), "its static address");
	free(b);
	put("groups", "g", "restrict-to-routes = yes\n");
	b = merged(cfg, "carol", "g");
	ck_assert_ptr_null(session_policy_change(cfg, NULL, b));
	struct session_policy *c = session_policy_copy(b, &failed);
	ck_assert(!failed && c && c->group != b->group);
	ck_assert_str_eq(c->group, "g");
	ck_assert(c->restrict_to_routes);
	ck_assert_ptr_null(session_policy_copy(NULL, &failed));
	ck_assert(!failed);
	free(c);
	free(b);
	free(a);
	config_free(cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *files = tcase_create("files");
	TCase *sets = tcase_create("sets");

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_checked_fixture(sets, setup, teardown);
	tcase_add_test(files, client_file);
	tcase_add_loop_test(files, bad_file, 0,
			    sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(files, too_many_networks);
	tcase_add_test(files, load_directories);
	tcase_add_test(sets, checks_across_the_set);
	tcase_add_test(sets, family_without_pool);
	tcase_add_test(sets, welcome_too_big);
	tcase_add_test(sets, merge_for_a_session);
	tcase_add_test(sets, policy_changes);
	suite_add_tcase(s, files);
	suite_add_tcase(s, sets);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
