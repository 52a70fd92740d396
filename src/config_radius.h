/*
 * The radius-* keys of the configuration (struct config_radius): their
 * parsers, for config_keys.c's table, and the checks that only the
 * whole file allows (auth = radius needs servers and a secret, or a
 * radcli file; radius keys without auth = radius are a mistake).
 */
#ifndef CULVERT_CONFIG_RADIUS_H
#define CULVERT_CONFIG_RADIUS_H

#include "config.h"

int config_parse_radius_server(struct config *cfg, void *field,
			       const char *value, const char **why);
/* radius-accounting-server: a server, or none. */
int config_parse_radius_acct(struct config *cfg, void *field,
			     const char *value, const char **why);
/* radius-config: a path, for a culvertd built with radcli. */
int config_parse_radius_config(struct config *cfg, void *field,
			       const char *value, const char **why);
int config_parse_radius_timeout(struct config *cfg, void *field,
				const char *value, const char **why);
int config_parse_radius_retries(struct config *cfg, void *field,
				const char *value, const char **why);
int config_parse_radius_interim(struct config *cfg, void *field,
				const char *value, const char **why);
int config_parse_address(struct config *cfg, void *field, const char *value,
			 const char **why);

/* The keys as a whole; each error logged as "FILE: ...". Returns how
 * many. */
unsigned int config_radius_check(const struct config *cfg);
/* What config_free()'s walk of the key table does not free: the server
 * lists, and radius-config (its parser is refused without radcli). */
void config_radius_free(struct config_radius *r);

#endif
