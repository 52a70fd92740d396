/* The per-client and per-group files (policy_file.h): one parser per
 * key, the directories read in name order. */
#include "policy_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "user_name.h"

const struct policy_key policy_keys[] = {
	{ "address", "ADDRESS", POLICY_KEY_CLIENT_ONLY | POLICY_KEY_REPEATABLE,
	  "its static inner address, IPv4 (in pool) or IPv6 (in pool6), once each" },
	{ "network", "ADDRESS/LENGTH",
	  POLICY_KEY_CLIENT_ONLY | POLICY_KEY_REPEATABLE,
	  "a network behind this client: routed to it while it is up, a source it may send from" },
	{ "route", "ADDRESS/LENGTH|default", POLICY_KEY_REPEATABLE,
	  "a network pushed to it, besides the config's own routes" },
	{ "group", "NAME", POLICY_KEY_CLIENT_ONLY,
	  "its group: the file of that name in group-config-dir applies too" },
	{ "restrict-to-routes", "yes|no", 0,
	  "drop what it sends where none of its routes leads (default: the config's)" },
	{ NULL, NULL, 0, NULL },
};

#define N_KEYS (sizeof(policy_keys) / sizeof(policy_keys[0]) - 1)

struct parser {
	const char *path;
	unsigned int line;
	unsigned int errors;
	bool group;
	unsigned int seen[N_KEYS];	/* line each key was first set */
	struct client_policy *out;
};

__attribute__((format(printf, 2, 3)))
static void parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verr_at(p->path, p->line, fmt, ap);
	va_end(ap);
	p->errors++;
}

/* ---- one parser per key; each returns 0, -EINVAL after an error, or
 * -ENOMEM */

static int parse_address(struct parser *p, const char *value)
{
	struct client_policy *c = p->out;
	struct cv_addr a;

	if (addr_parse(value, &a) < 0) {
		parse_error(p, "address '%s' is not an IPv4 or IPv6 address (a static address is one address, without /LENGTH)",
			    value);
		return -EINVAL;
	}
	struct cv_addr *slot = a.family == AF_INET ? &c->addr4 : &c->addr6;
	unsigned int *line = a.family == AF_INET ? &c->addr4_line
						 : &c->addr6_line;
	if (slot->family) {
		parse_error(p, "a second IPv%d address '%s' (the first on line %u): one of each family",
			    a.family == AF_INET ? 4 : 6, value, *line);
		return -EINVAL;
	}
	*slot = a;
	*line = p->line;
	return 0;
}

/* A route or network: a prefix without host bits. */
static int parse_prefix(struct parser *p, const char *key, const char *value,
			struct cv_prefix *out)
{
	const char *why;

	if (strcmp(key, "route") == 0 && strcmp(value, "default") == 0) {
		*out = (struct cv_prefix){ .addr.family = AF_INET };
		return 0;
	}
	if (prefix_parse(value, false, out, &why) < 0) {
		parse_error(p, "%s '%s' %s", key, value, why);
		return -EINVAL;
	}
	return 0;
}

static int add_unique(struct parser *p, const char *key,
		      struct policy_prefixes *list, const struct cv_prefix *pf,
		      unsigned int max)
{
	char buf[ADDR_STRLEN];

	for (unsigned int i = 0; i < list->n; i++)
		if (prefix_equal(&list->p[i], pf)) {
			parse_error(p, "%s %s is given twice (first on line %u)",
				    key, prefix_str(pf, buf), list->line[i]);
			return -EINVAL;
		}
	if (list->n == max) {
		parse_error(p, "%s %s is one too many (at most %u)", key,
			    prefix_str(pf, buf), max);
		return -EINVAL;
	}
	return policy_prefixes_add(list, pf, p->line);
}

static int parse_network(struct parser *p, const char *value)
{
	struct cv_prefix net;

	if (parse_prefix(p, "network", value, &net) < 0)
		return -EINVAL;
	/* A client that owned every address would be everybody's route:
	 * that is a default route through it, not a site. */
	if (net.len == 0) {
		parse_error(p, "network '%s' is every address: a network behind a client is a site's, not the world",
			    value);
		return -EINVAL;
	}
	return add_unique(p, "network", &p->out->networks, &net,
			  POLICY_MAX_NETWORKS);
}

static int parse_route(struct parser *p, const char *value)
{
	struct cv_prefix r;

	if (parse_prefix(p, "route", value, &r) < 0)
		return -EINVAL;
	return add_unique(p, "route", &p->out->routes, &r, POLICY_MAX_ROUTES);
}

static int parse_group(struct parser *p, const char *value)
{
	if (!group_name_valid(value)) {
		parse_error(p, "group '%s' is not a group name (1-%d of letters, digits, '.', '_', '-', not starting with '.')",
			    value, USER_NAME_MAX);
		return -EINVAL;
	}
	p->out->group = strdup(value);
	p->out->group_line = p->line;
	return p->out->group ? 0 : -ENOMEM;
}

static int parse_restrict(struct parser *p, const char *value)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") ||
	    !strcmp(value, "on") || !strcmp(value, "1"))
		p->out->restrict_to_routes = 1;
	else if (!strcmp(value, "no") || !strcmp(value, "false") ||
		 !strcmp(value, "off") || !strcmp(value, "0"))
		p->out->restrict_to_routes = 0;
	else {
		parse_error(p, "restrict-to-routes '%s' is not yes or no", value);
		return -EINVAL;
	}
	return 0;
}

static int (*const parsers[N_KEYS])(struct parser *, const char *) = {
	parse_address, parse_network, parse_route, parse_group,
	parse_restrict,
};

/* ---- lines */

/* "did you mean": config_suggest over these keys' names. */
static const char *suggest(const char *key)
{
	static struct cv_option names[N_KEYS + 1];

	for (size_t i = 0; i < N_KEYS; i++)
		names[i].name = policy_keys[i].name;
	return config_suggest(key, names);
}

static int key_line(struct parser *p, const char *key, const char *value)
{
	size_t k = 0;

	while (k < N_KEYS && strcmp(policy_keys[k].name, key) != 0)
		k++;
	if (k == N_KEYS) {
		const char *near = suggest(key);
		if (near)
			parse_error(p, "unknown key '%s' (did you mean '%s'?)",
				    key, near);
		else
			parse_error(p, "unknown key '%s' (a client's file takes address, network, route, group, restrict-to-routes)",
				    key);
		return 0;
	}
	const struct policy_key *pk = &policy_keys[k];
	if (p->group && (pk->flags & POLICY_KEY_CLIENT_ONLY)) {
		parse_error(p, "key '%s' belongs in a client's file, not a group's: %s",
			    key, strcmp(key, "network") == 0
					 ? "a network is behind one client"
					 : "it is one client's");
		return 0;
	}
	if (!(pk->flags & POLICY_KEY_REPEATABLE) && p->seen[k]) {
		parse_error(p, "key '%s' is set twice (first on line %u)", key,
			    p->seen[k]);
		return 0;
	}
	if (!p->seen[k])
		p->seen[k] = p->line;
	int err = parsers[k](p, value);
	return err == -ENOMEM ? err : 0;
}

static int parse_line(struct parser *p, char *line)
{
	line = config_text(line);
	if (!*line)
		return 0;
	char *eq = strchr(line, '=');
	if (!eq) {
		parse_error(p, "expected KEY = VALUE, found '%s'", line);
		return 0;
	}
	*eq = '\0';
	char *key = config_trim(line), *value = config_trim(eq + 1);
	if (!*value) {
		parse_error(p, "key '%s' has no value", key);
		return 0;
	}
	return key_line(p, key, value);
}

int policy_parse(FILE *f, const char *path, const char *name, bool group,
		 struct client_policy *out)
{
	struct parser p = { .path = path, .group = group, .out = out };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->restrict_to_routes = -1;
	out->name = strdup(name);
	out->file = strdup(path);
	if (!out->name || !out->file)
		err = -ENOMEM;
	while (err == 0 && (len = getline(&line, &cap, f)) > 0) {
		p.line++;
		if (strlen(line) != (size_t)len) {
			parse_error(&p, "the line holds a NUL byte");
			continue;
		}
		err = parse_line(&p, line);
	}
	free(line);
	if (err == -ENOMEM)
		log_err("%s: out of memory", path);
	return err < 0 ? err : (int)p.errors;
}

/* ---- directories */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct client_policy *)a)->name,
		      ((const struct client_policy *)b)->name);
}

/* One file of dir into out: the number of errors, or -ENOMEM. */
static int load_file(int dirfd, const char *dir, const char *name, bool group,
		     struct client_policy *out)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		log_err("%s: %s", path,
			fd < 0 ? strerror(err)
			       : "not a regular file (a client's or group's settings are a file of KEY = VALUE lines)");
		return 1;
	}
	if (group && !group_name_valid(name)) {
		close(fd);
		log_err("%s: '%s' is not a group name (letters, digits, '.', '_', '-'): no group could use this file",
			path, name);
		return 1;
	}
	FILE *f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	int ret = policy_parse(f, path, name, group, out);
	fclose(f);
	return ret;
}

static void free_list(struct client_policy *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		client_policy_clear(&list[i]);
	free(list);
}

/* Every file of dir, sorted by name; errors counted into *errors. */
static int load_dir(const char *dir, bool group, struct client_policy **out,
		    size_t *n_out, unsigned int *errors)
{
	DIR *d = opendir(dir);
	struct client_policy *list = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	*out = NULL;
	*n_out = 0;
	if (!d) {
		err = -errno;
		log_err("cannot read %s %s: %s",
			group ? "group-config-dir" : "client-config-dir", dir,
			strerror(errno));
		return err;
	}
	for (struct dirent *e; err == 0 && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;	/* ., .., and hidden files (an editor's) */
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct client_policy *l = reallocarray(list, cap,
							       sizeof(*l));
			if (!l) {
				err = -ENOMEM;
				break;
			}
			list = l;
		}
		memset(&list[n], 0, sizeof(list[n]));
		int ret = load_file(dirfd(d), dir, e->d_name, group, &list[n]);
		if (ret < 0)
			err = ret;
		else if (list[n].name)
			n++;
		*errors += ret > 0 ? (unsigned int)ret : 0;
	}
	closedir(d);
	if (err < 0) {
		free_list(list, n);
		log_err("%s: out of memory", dir);
		return err;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), by_name);
	*out = list;
	*n_out = n;
	return 0;
}

int policy_load(const struct config *cfg, struct policy_set **out)
{
	struct policy_set *set = calloc(1, sizeof(*set));
	unsigned int errors = 0;
	int err = 0;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	if (cfg->client_config_dir)
		err = load_dir(cfg->client_config_dir, false, &set->clients,
			       &set->n_clients, &errors);
	if (err == 0 && cfg->group_config_dir)
		err = load_dir(cfg->group_config_dir, true, &set->groups,
			       &set->n_groups, &errors);
	if (err == 0 && errors)
		err = -EINVAL;
	if (err < 0) {
		policy_set_free(set);
		return err;
	}
	*out = set;
	return 0;
}
