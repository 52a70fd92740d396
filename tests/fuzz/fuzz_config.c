/*
 * libFuzzer harness: the configuration parser (src/config.c,
 * src/config_keys.c) on arbitrary text, then what the daemon does with a
 * config that parsed: the plugins' section check, the unused-section
 * warning and config_get. A config that parses must hold what the rest of
 * culvertd takes for granted (the asserts below).
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

/* Every line is formatted, then measured: a bad format argument or an
 * unterminated string shows up under ASan, and nothing reaches stderr. */
static void quiet(int priority, const char *line, void *arg)
{
	size_t *total = arg;

	*total += strlen(line);
}

static size_t logged;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open("fuzz_config", true, LOG_DEBUG);
	log_set_sink(quiet, &logged);
	return 0;
}

/* Options as the tls and udp plugins declare them. */
static const struct cv_option options[] = {
	{ "listen", "where tls listens" },
	{ "remote", "the server's tls endpoint" },
	{ "priority", "GnuTLS priority string for tls only" },
	{ "socket-buffer", "send and receive buffer of the UDP socket" },
	{ NULL, NULL },
};

static void check_parsed(const struct config *cfg)
{
	fuzz_assert(cfg->mode == MODE_SERVER || cfg->mode == MODE_CLIENT,
		    "mode %d", cfg->mode);
	fuzz_assert(cfg->n_transports >= 1 &&
			    cfg->n_transports <= CONFIG_MAX_TRANSPORTS,
		    "%u transports", cfg->n_transports);
	for (unsigned int i = 0; i < cfg->n_transports; i++)
		fuzz_assert(memchr(cfg->transports[i], '\0', CONFIG_NAME_MAX) &&
				    cfg->transports[i][0],
			    "transport %u is not a name", i);
	fuzz_assert(cfg->n_routes <= CONFIG_MAX_ROUTES, "%u routes",
		    cfg->n_routes);
	fuzz_assert(cfg->mtu >= 576 && cfg->mtu <= 65535, "mtu %u", cfg->mtu);
	fuzz_assert(cfg->keepalive_interval >= 1 &&
			    cfg->keepalive_timeout >= 2 * cfg->keepalive_interval,
		    "keepalive %u, %u", cfg->keepalive_interval,
		    cfg->keepalive_timeout);
	if (cfg->mode == MODE_SERVER) {
		/* A layer 2 server bridges and leases no address. */
		fuzz_assert(cfg->listen, "server without listen");
		fuzz_assert(cfg->tap || cfg->has_pool || cfg->has_pool6,
			    "layer 3 server without a pool");
		if (cfg->has_pool)
			fuzz_assert(cfg->pool.addr.family == AF_INET &&
					    cfg->pool.len >= 8 &&
					    cfg->pool.len <= 30,
				    "pool /%u", cfg->pool.len);
		for (unsigned int i = 0; cfg->has_pool && i < cfg->n_routes; i++)
			fuzz_assert(!prefix_overlap(&cfg->routes[i], &cfg->pool),
				    "route %u overlaps the pool", i);
	} else {
		fuzz_assert(cfg->remote, "client without remote");
	}
	fuzz_assert(cfg->max_clients >= 1 && cfg->max_handshakes >= 1,
		    "limits of 0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser takes a C string: text after a NUL is not seen. */
	char *text = malloc(size + 1);
	struct config *cfg = (struct config *)&cfg;	/* must be reset */

	fuzz_assert(text, "out of memory");
	memcpy(text, data, size);
	text[size] = '\0';
	int err = config_parse_string("fuzz.conf", text, &cfg);
	free(text);
	if (err < 0) {
		fuzz_assert(cfg == NULL, "an error (%d) left a config", err);
		return 0;
	}
	fuzz_assert(err == 0 && cfg, "config_parse_string returned %d", err);
	check_parsed(cfg);

	/* As the daemon does once the plugins are loaded: the sections of
	 * the first and the last entry (every section would be quadratic
	 * in the lines, for no more coverage). */
	const struct config_entry *first = cfg->entries, *last = NULL;
	for (const struct config_entry *e = cfg->entries; e; e = e->next) {
		fuzz_assert(e->key && e->value && e->line >= 1, "entry");
		last = e;
	}
	if (first && first->section)
		(void)config_check_section(cfg, first->section, options);
	if (last && last->section)
		(void)config_check_section(cfg, last->section, options);
	(void)config_check_section(cfg, "tls", options);
	(void)config_unused_section(cfg);
	for (const struct config_key *k = config_keys; k->name; k++)
		(void)config_get(cfg, last ? last->section : NULL, k->name);
	(void)config_get(cfg, "tls", "socket-buffer");
	config_free(cfg);
	return 0;
}
