#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_radius.h"
#include "log.h"
#include "proto.h"

/* The parse state for one file; errors are counted, not fatal, so that
 * one run reports every bad line. */
struct parser {
	struct config *cfg;
	const char *path;
	unsigned int line;
	char *section;
	unsigned int errors;
	unsigned int seen_line[CONFIG_MAX_KEYS];	/* per global key: line first set */
	struct config_entry **tail;
};

static void parse_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verr_at(p->path, p->line, fmt, ap);
	va_end(ap);
	p->errors++;
}

const struct config_key *config_key_find(const char *name)
{
	for (const struct config_key *k = config_keys; k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* ---- "did you mean": the edit distance between two short words */

static unsigned int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned int row[CONFIG_NAME_MAX + 1];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return UINT32_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];
		row[0] = (unsigned int)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned int best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static void consider(const char *name, const char *candidate,
		     const char **best, unsigned int *best_d)
{
	unsigned int d = edit_distance(name, candidate);

	if (d < *best_d) {
		*best = candidate;
		*best_d = d;
	}
}

const char *config_suggest(const char *name, const struct cv_option *options)
{
	const char *best = NULL;
	unsigned int best_d = UINT32_MAX;

	if (options)
		for (const struct cv_option *o = options; o->name; o++)
			consider(name, o->name, &best, &best_d);
	else
		for (const struct config_key *k = config_keys; k->name; k++)
			consider(name, k->name, &best, &best_d);
	/* Close enough to be a typo: two edits, or a third of the word. */
	unsigned int limit = (unsigned int)strlen(name) / 3;
	if (limit < 2)
		limit = 2;
	return best_d <= limit ? best : NULL;
}

static void unknown_key(struct parser *p, const char *key,
			const char *section, const struct cv_option *options)
{
	const char *near = config_suggest(key, options);
	char where[CONFIG_NAME_MAX + 16] = "";

	if (section)
		snprintf(where, sizeof(where), " in [%s]", section);
	if (near)
		parse_error(p, "unknown key '%s'%s (did you mean '%s'?)", key,
			    where, near);
	else
		parse_error(p, "unknown key '%s'%s", key, where);
}

/* ---- lines */

char *config_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) >= CONFIG_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '-' && *s != '_')
			return false;
	return true;
}

static int record_entry(struct parser *p, const char *key, const char *value)
{
	struct config_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->key = strdup(key);
	e->value = strdup(value);
	e->section = p->section ? strdup(p->section) : NULL;
	e->line = p->line;
	if (!e->key || !e->value || (p->section && !e->section)) {
		free(e->key);
		free(e->value);
		free(e->section);
		free(e);
		return -ENOMEM;
	}
	*p->tail = e;
	p->tail = &e->next;
	return 0;
}

static void global_key(struct parser *p, const char *key, const char *value)
{
	const struct config_key *k = config_key_find(key);

	if (!k) {
		unknown_key(p, key, NULL, NULL);
		return;
	}
	size_t index = (size_t)(k - config_keys);
	if (!(k->flags & KEY_REPEATABLE) && p->seen_line[index]) {
		parse_error(p, "key '%s' is set twice (first on line %u)", key,
			    p->seen_line[index]);
		return;
	}
	p->seen_line[index] = p->line;
	const char *why = NULL;
	if (k->parse(p->cfg, (char *)p->cfg + k->offset, value, &why) < 0)
		parse_error(p, "key '%s': '%s' %s", key, value, why);
}

char *config_text(char *line)
{
	char *hash = strchr(line, '#');

	if (hash)
		*hash = '\0';
	return config_trim(line);
}

static int parse_line(struct parser *p, char *line)
{
	line = config_text(line);
	if (!*line)
		return 0;

	if (*line == '[') {
		char *close = strchr(line, ']');
		if (!close || close[1] != '\0') {
			parse_error(p, "expected [SECTION], found '%s'", line);
			return 0;
		}
		*close = '\0';
		char *name = config_trim(line + 1);
		if (!valid_name(name)) {
			parse_error(p, "'[%s]' is not a section name (a transport name: lower case letters, digits, '-')",
				    name);
			return 0;
		}
		free(p->section);
		p->section = strdup(name);
		return p->section ? 0 : -ENOMEM;
	}

	char *eq = strchr(line, '=');
	if (!eq) {
		parse_error(p, "expected KEY = VALUE, found '%s'", line);
		return 0;
	}
	*eq = '\0';
	char *key = config_trim(line), *value = config_trim(eq + 1);
	if (!valid_name(key)) {
		parse_error(p, "'%s' is not a key name", key);
		return 0;
	}
	if (!*value) {
		parse_error(p, "key '%s' has no value", key);
		return 0;
	}
	if (!p->section)
		global_key(p, key, value);
	return record_entry(p, key, value);
}

/* ---- whole files */

static const char *mode_name(enum config_mode mode)
{
	return mode == MODE_SERVER ? "server" : "client";
}

size_t config_prefix_attr_size(const struct cv_prefix *p)
{
	return p->addr.family == AF_INET ? 7 : 19;
}

size_t config_welcome_size(const struct config *cfg)
{
	/* type and nonce, MTU, KEEPALIVE, FEATURES */
	size_t size = 5 + 4 + 6 + 3;

	if (cfg->has_pool)
		size += 7 + 6;		/* ADDR4, SERVER4 */
	if (cfg->tap)
		size += 3;		/* FRAMES */

	if (cfg->has_pool6)
		size += 19 + 18;	/* ADDR6, SERVER6 */

	for (unsigned int i = 0; i < cfg->n_routes; i++)
		size += config_prefix_attr_size(&cfg->routes[i]);
	for (unsigned int i = 0; i < cfg->n_dns; i++)
		size += cfg->dns[i].family == AF_INET ? 6 : 18;
	for (unsigned int i = 0; i < cfg->n_dns_domains; i++)
		size += 2 + strlen(cfg->dns_domains[i]);
	return size;
}

/* The welcome a server sends must fit one control message
 * (doc/PROTOCOL.md): its routes, DNS servers and domains all count. */
static void check_welcome_size(const struct config *cfg, struct parser *p)
{
	size_t size = config_welcome_size(cfg);

	if (cfg->mode == MODE_SERVER && size > PROTO_MAX_CONTROL) {
		log_err("%s: route, dns and dns-domain make a welcome of %zu bytes, more than %d: aggregate routes or drop domains",
			p->path, size, PROTO_MAX_CONTROL);
		p->errors++;
	}
}

/* The line of the i-th global `route`, for an error about that route. */
static unsigned int route_line(const struct config *cfg, unsigned int i)
{
	for (const struct config_entry *e = cfg->entries; e; e = e->next)
		if (!e->section && strcmp(e->key, "route") == 0 && i-- == 0)
			return e->line;
	return 0;
}

/* A server's inner families: pool gives IPv4, pool6 IPv6, either or
 * both (pool6 alone is an IPv6-only tunnel: the welcome then carries
 * ADDR6 without ADDR4). A route of a family without a pool would give
 * clients nothing to send from. */
static void check_inner_families(struct parser *p, struct config *cfg)
{
	char r[ADDR_STRLEN], pl[ADDR_STRLEN];

	if (cfg->mode != MODE_SERVER)
		return;
	for (unsigned int i = 0; i < cfg->n_routes; i++) {
		const struct cv_prefix *route = &cfg->routes[i];
		p->line = route_line(cfg, i);
		if (route->addr.family == AF_INET && !cfg->has_pool) {
			if (route->len == 0)
				parse_error(p, "route default is IPv4 (0.0.0.0/0), but there is no 'pool': clients would have no IPv4 address to send from (for all IPv6 through the tunnel: route = ::/0)");
			else
				parse_error(p, "route %s is IPv4, but there is no 'pool': clients would have no IPv4 address to send from (add pool = 10.8.0.0/24, say)",
					    prefix_str(route, r));
		}
		if (route->addr.family != AF_INET6)
			continue;
		if (!cfg->has_pool6)
			parse_error(p, "route %s is IPv6, but there is no 'pool6': clients would have no IPv6 address to send from (add pool6 = 2001:db8:100::/64, say)",
				    prefix_str(route, r));
		else if (route->len && prefix_overlap(route, &cfg->pool6))
			parse_error(p, "route %s overlaps pool6 %s: the pool is routed through the tunnel already",
				    prefix_str(route, r), prefix_str(&cfg->pool6, pl));
	}
}

/* What only makes sense as a whole: required keys, and keys that do not
 * apply to this mode. */
static void check_whole(struct parser *p)
{
	struct config *cfg = p->cfg;

	p->line = 0;
	if (cfg->mode == MODE_UNSET) {
		log_err("%s: key 'mode' is missing (mode = server or mode = client)",
			p->path);
		p->errors++;
		return;
	}
	for (const struct config_key *k = config_keys; k->name; k++) {
		unsigned int line = p->seen_line[k - config_keys];
		unsigned int wrong = cfg->mode == MODE_SERVER ? KEY_CLIENT
							      : KEY_SERVER;
		p->line = line;
		if (line && (k->flags & wrong))
			parse_error(p, "key '%s' does not apply to mode = %s",
				    k->name, mode_name(cfg->mode));
		else if (line && (k->flags & (cfg->tap ? KEY_TUN : KEY_TAP)))
			parse_error(p, "key '%s' does not apply to device-type = %s%s",
				    k->name, cfg->tap ? "tap" : "tun",
				    cfg->tap ? " (a TAP client is a host of the LAN: its addresses and routes come from there, DHCP and router advertisements, or 'address')"
					     : "");
	}
	p->line = 0;
	static const struct {
		const char *key;
		enum config_mode mode;
		const char *example;
	} required[] = {
		{ "transport", MODE_UNSET, "transport = udp" },
		{ "listen", MODE_SERVER, "listen = 0.0.0.0:4433" },
		{ "remote", MODE_CLIENT, "remote = vpn.example.org:4433" },
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const struct config_key *k = config_key_find(required[i].key);
		if ((required[i].mode == MODE_UNSET ||
		     required[i].mode == cfg->mode) &&
		    !p->seen_line[k - config_keys]) {
			log_err("%s: key '%s' is missing for mode = %s (for example: %s)",
				p->path, k->name, mode_name(cfg->mode),
				required[i].example);
			p->errors++;
		}
	}
	if (cfg->mode == MODE_SERVER && cfg->tap && !cfg->bridge) {
		log_err("%s: key 'bridge' is missing for device-type = tap (the Linux bridge of the LAN the clients join, for example: bridge = br0)",
			p->path);
		p->errors++;
	}
	if (cfg->mode == MODE_SERVER && !cfg->tap && !cfg->has_pool &&
	    !cfg->has_pool6) {
		log_err("%s: key 'pool' or 'pool6' is missing for mode = server (for example: pool = 10.8.0.0/24, or pool6 = 2001:db8:100::/64 for IPv6 only)",
			p->path);
		p->errors++;
	}
	for (unsigned int i = 0; cfg->has_pool && i < cfg->n_routes; i++) {
		/* A default route covers the pool too, and means to. */
		if (cfg->routes[i].len &&
		    prefix_overlap(&cfg->routes[i], &cfg->pool)) {
			char r[ADDR_STRLEN], pl[ADDR_STRLEN];
			log_err("%s: route %s overlaps pool %s: the pool is routed through the tunnel already",
				p->path, prefix_str(&cfg->routes[i], r),
				prefix_str(&cfg->pool, pl));
			p->errors++;
		}
	}
	check_welcome_size(cfg, p);
	check_inner_families(p, cfg);
	p->errors += config_radius_check(cfg);
}

static int apply_defaults(struct config *cfg)
{
	for (const struct config_key *k = config_keys; k->name; k++) {
		const char *why;
		if (k->def && k->parse(cfg, (char *)cfg + k->offset, k->def,
				       &why) < 0) {
			log_err("built-in default of '%s' is invalid: %s", k->name,
				why);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_stream(const char *path, FILE *f, struct config **out)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	struct parser p = { .cfg = cfg, .path = path };
	char *line = NULL;
	size_t cap = 0;
	int err = 0;

	*out = NULL;
	if (!cfg || !(cfg->path = strdup(path))) {
		free(cfg);
		return -ENOMEM;
	}
	p.tail = &cfg->entries;
	err = apply_defaults(cfg);
	while (err == 0 && getline(&line, &cap, f) > 0) {
		p.line++;
		err = parse_line(&p, line);
	}
	free(line);
	free(p.section);
	if (err == 0 && p.errors == 0)
		check_whole(&p);
	if (err == 0 && p.errors > 0)
		err = -EINVAL;
	if (err < 0) {
		if (err == -ENOMEM)
			log_err("%s: out of memory", path);
		config_free(cfg);
		return err;
	}
	*out = cfg;
	return 0;
}

int config_load(const char *path, struct config **out)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		int err = -errno;
		log_err("cannot read config %s: %s", path, strerror(errno));
		*out = NULL;
		return err;
	}
	int err = parse_stream(path, f, out);
	fclose(f);
	return err;
}

int config_parse_string(const char *path, const char *text,
			struct config **out)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	if (!f)
		return -errno;
	int err = parse_stream(path, f, out);
	fclose(f);
	return err;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	config_free(cfg->retired);
	while (cfg->entries) {
		struct config_entry *e = cfg->entries;
		cfg->entries = e->next;
		free(e->section);
		free(e->key);
		free(e->value);
		free(e);
	}
	free(cfg->path);
	for (const struct config_key *k = config_keys; k->name; k++)
		if (config_key_holds_string(k))
			free(*(char **)((char *)cfg + k->offset));
	config_radius_free(&cfg->radius);
	/* remote's list beside its text */
	for (unsigned int i = 0; i < cfg->n_remotes; i++)
		free(cfg->remotes[i]);
	free(cfg);
}

/* ---- plugin sections */

static bool option_known(const struct cv_option *options, const char *key)
{
	for (const struct cv_option *o = options; o && o->name; o++)
		if (strcmp(o->name, key) == 0)
			return true;
	return false;
}

int config_check_section(const struct config *cfg, const char *name,
			 const struct cv_option *options)
{
	struct parser p = { .cfg = (struct config *)cfg, .path = cfg->path };

	for (const struct config_entry *e = cfg->entries; e; e = e->next) {
		if (!e->section || strcmp(e->section, name) != 0)
			continue;
		p.line = e->line;
		if (!option_known(options, e->key)) {
			unknown_key(&p, e->key, name, options);
			continue;
		}
		for (const struct config_entry *d = cfg->entries; d != e;
		     d = d->next)
			if (d->section && strcmp(d->section, name) == 0 &&
			    strcmp(d->key, e->key) == 0) {
				parse_error(&p, "key '%s' in [%s] is set twice (first on line %u)",
					    e->key, name, d->line);
				break;
			}
	}
	return p.errors ? -EINVAL : 0;
}

const struct config_entry *config_unused_section(const struct config *cfg)
{
	for (const struct config_entry *e = cfg->entries; e; e = e->next) {
		if (!e->section)
			continue;
		bool used = false;
		for (unsigned int i = 0; i < cfg->n_transports; i++)
			used |= strcmp(cfg->transports[i], e->section) == 0;
		if (!used)
			return e;
	}
	return NULL;
}

const char *config_get(const struct config *cfg, const char *section,
		       const char *key)
{
	const char *global = NULL;
	/* A KEY_CORE_ONLY key means something else in a plugin's section
	 * ([dtls] mtu is the path's, the global mtu the tunnel's): no
	 * fallback from one to the other. */
	const struct config_key *k = config_key_find(key);

	for (const struct config_entry *e = cfg->entries; e; e = e->next) {
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->section && section && strcmp(e->section, section) == 0)
			return e->value;
		if (!e->section && !global)
			global = e->value;
	}
	if (section && k && (k->flags & KEY_CORE_ONLY))
		return NULL;
	if (global)
		return global;
	/* Unset: what the core would use, so a plugin sees the same. */
	return k ? k->def : NULL;
}
