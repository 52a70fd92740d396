/* The radius-* keys (config_radius.h). */
#include "config_radius.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 address. */
static int add_server(struct config_radius_servers *list, const char *value,
		      const char **why)
{
	char host[256], port[8] = "";
	const char *colon = strchr(value, ':');

	if (value[0] == '[' || (colon && !strchr(colon + 1, ':'))) {
		if (endpoint_split(value, host, sizeof(host), port, sizeof(port),
				   why) < 0)
			return -EINVAL;
	} else if (strlen(value) < sizeof(host)) {
		memcpy(host, value, strlen(value) + 1);
	} else {
		*why = "is too long for a host name";
		return -EINVAL;
	}
	for (const char *c = host; *c; c++)
		if (!isgraph((unsigned char)*c)) {
			*why = "has a space or a control character in its host name";
			return -EINVAL;
		}
	if (list->n == CONFIG_MAX_RADIUS) {
		*why = "is one server too many (at most 4)";
		return -EINVAL;
	}
	unsigned int p = 0;
	if (port[0] && config_unsigned(port, 1, 65535, &p) < 0) {
		*why = "has no valid port (expected 1-65535)";
		return -EINVAL;
	}
	char *copy = strdup(host);
	if (!copy) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	list->s[list->n].host = copy;
	list->s[list->n++].port = p;
	return 0;
}

int config_parse_radius_server(struct config *cfg, void *field,
			       const char *value, const char **why)
{
	return add_server(field, value, why);
}

int config_parse_radius_acct(struct config *cfg, void *field,
			     const char *value, const char **why)
{
	struct config_radius *r = &cfg->radius;

	if (strcmp(value, "none") == 0 ? r->acct_servers.n : r->acct_none) {
		*why = "cannot mix 'none' with servers";
		return -EINVAL;
	}
	if (strcmp(value, "none") == 0) {
		r->acct_none = true;
		return 0;
	}
	return add_server(field, value, why);
}

int config_parse_radius_config(struct config *cfg, void *field,
			       const char *value, const char **why)
{
#ifndef HAVE_RADCLI
	*why = "cannot be read: this culvertd was built without radcli (name the servers with radius-server and radius-secret-file)";
	return -EINVAL;
#else
	if (value[0] != '/') {
		*why = "is not an absolute path";
		return -EINVAL;
	}
	char *copy = strdup(value);
	if (!copy) {
		*why = "could not be stored: out of memory";
		return -ENOMEM;
	}
	free(*(char **)field);
	*(char **)field = copy;
	return 0;
#endif
}

int config_parse_radius_timeout(struct config *cfg, void *field,
				const char *value, const char **why)
{
	if (config_unsigned(value, 1, 60, field) < 0) {
		*why = "is not a number of seconds from 1 to 60";
		return -EINVAL;
	}
	return 0;
}

int config_parse_radius_retries(struct config *cfg, void *field,
				const char *value, const char **why)
{
	if (config_unsigned(value, 0, 10, field) < 0) {
		*why = "is not a number of retries from 0 to 10";
		return -EINVAL;
	}
	return 0;
}

/* 0: none. Shorter than 5 s would have thousands of sessions flood the
 * server; RFC 2869 5.16 asks for 60 or more. */
int config_parse_radius_interim(struct config *cfg, void *field,
				const char *value, const char **why)
{
	unsigned int *v = field;

	if (config_unsigned(value, 0, 604800, v) < 0 || (*v && *v < 5)) {
		*why = "is neither 0 nor a number of seconds from 5 to 604800";
		return -EINVAL;
	}
	return 0;
}

int config_parse_address(struct config *cfg, void *field, const char *value,
			 const char **why)
{
	if (addr_parse(value, field) < 0) {
		*why = "is not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	return 0;
}

unsigned int config_radius_check(const struct config *cfg)
{
	const struct config_radius *r = &cfg->radius;
	const char *set = r->servers.n ? "radius-server"
			  : r->config ? "radius-config"
			  : r->secret_file ? "radius-secret-file"
			  : r->acct_servers.n ? "radius-accounting-server" : NULL;

	if (cfg->mode != MODE_SERVER)
		return 0;
	if (!(cfg->auth & AUTH_METHOD_RADIUS)) {
		if (!set)
			return 0;
		log_err("%s: '%s' is set, but auth does not ask RADIUS (auth = radius or certificate+radius)",
			cfg->path, set);
		return 1;
	}
	if (r->config && (r->servers.n || r->secret_file || r->acct_servers.n)) {
		log_err("%s: radius-config names the servers and their secrets itself: drop radius-server, radius-accounting-server and radius-secret-file, or radius-config",
			cfg->path);
		return 1;
	}
	if (!r->config && !r->servers.n) {
		log_err("%s: auth = radius needs 'radius-server' (and 'radius-secret-file'), or 'radius-config'",
			cfg->path);
		return 1;
	}
	if (r->servers.n && !r->secret_file) {
		log_err("%s: radius-server needs 'radius-secret-file', a file holding the shared secret on its first line",
			cfg->path);
		return 1;
	}
	return 0;
}

static void free_servers(struct config_radius_servers *list)
{
	for (unsigned int i = 0; i < list->n; i++)
		free(list->s[i].host);
	list->n = 0;
}

void config_radius_free(struct config_radius *r)
{
	free_servers(&r->servers);
	free_servers(&r->acct_servers);
	free(r->config);
}
