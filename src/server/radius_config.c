/* The RADIUS servers, from the radius-* keys or a radcli file
 * (radius_config.h). */
#include "radius_config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_RADCLI
#include <radcli/radcli.h>
#endif

#include "config.h"
#include "log.h"
#include "secret_mode.h"

#define AUTH_PORT 1812
#define ACCT_PORT 1813

int64_t radius_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One server: host resolved, at port. */
static int add(struct radius_servers *list, const char *source,
	       const char *host, unsigned int port, const uint8_t *secret,
	       size_t secret_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	char p[8];

	if (list->n == RADIUS_SERVERS_MAX)
		return 0;
	snprintf(p, sizeof(p), "%u", port);
	int err = getaddrinfo(host, p, &hints, &ai);
	if (err) {
		log_err("%s: RADIUS server '%s': %s", source, host,
			gai_strerror(err));
		return -EINVAL;
	}
	struct radius_server *s = &list->s[list->n++];
	memset(s, 0, sizeof(*s));
	memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
	s->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	snprintf(s->name, sizeof(s->name), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	memcpy(s->secret, secret, secret_len);
	s->secret_len = secret_len;
	return 0;
}

/* The first line of path: the shared secret. */
static int read_secret(const char *source, const char *path,
		       uint8_t secret[RADIUS_SECRET_MAX], size_t *len)
{
	char line[RADIUS_SECRET_MAX + 2], why[160];
	struct stat st;
	FILE *f = fopen(path, "re");

	if (!f) {
		log_err("%s: radius-secret-file %s: %s", source, path,
			strerror(errno));
		return -errno;
	}
	if (fstat(fileno(f), &st) == 0 &&
	    secret_mode_problem(st.st_mode, why, sizeof(why)))
		log_warn("%s: radius-secret-file %s %s", source, path, why);
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	size_t n = got ? strcspn(line, "\r\n") : 0;
	if (n > RADIUS_SECRET_MAX) {
		log_err("%s: radius-secret-file %s: the secret is longer than %d bytes",
			source, path, RADIUS_SECRET_MAX);
		explicit_bzero(line, sizeof(line));
		return -EINVAL;
	}
	if (n == 0) {
		log_err("%s: radius-secret-file %s: its first line is empty: it must hold the shared secret",
			source, path);
		return -EINVAL;
	}
	memcpy(secret, line, n);
	*len = n;
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* The radius-* keys: the auth servers, and accounting at theirs (port
 * + 1, 1813 by default) unless radius-accounting-server says. */
static int from_keys(const struct config *cfg, struct radius_config *rc)
{
	const struct config_radius *r = &cfg->radius;
	uint8_t secret[RADIUS_SECRET_MAX];
	size_t len = 0;
	int err = read_secret(cfg->path, r->secret_file, secret, &len);

	for (unsigned int i = 0; err == 0 && i < r->servers.n; i++) {
		unsigned int port = r->servers.s[i].port;
		err = add(&rc->auth, cfg->path, r->servers.s[i].host,
			  port ? port : AUTH_PORT, secret, len);
		if (err == 0 && !r->acct_none && !r->acct_servers.n)
			err = add(&rc->acct, cfg->path, r->servers.s[i].host,
				  port ? port + 1 : ACCT_PORT, secret, len);
	}
	for (unsigned int i = 0; err == 0 && i < r->acct_servers.n; i++) {
		unsigned int port = r->acct_servers.s[i].port;
		err = add(&rc->acct, cfg->path, r->acct_servers.s[i].host,
			  port ? port : ACCT_PORT, secret, len);
	}
	explicit_bzero(secret, sizeof(secret));
	rc->timeout_ms = r->timeout * 1000;
	rc->tries = r->retries + 1;
	rc->source = cfg->path;
	return err;
}

#ifdef HAVE_RADCLI
/* One of radcli's server lists (authserver, acctserver): each server's
 * secret after its port, or from radcli's servers file. */
static int radcli_servers(rc_handle *rh, const char *path, const char *option,
			  rc_type type, struct radius_servers *list)
{
	SERVER *srv = rc_conf_srv(rh, option);

	for (int i = 0; srv && i < srv->max; i++) {
		char secret[MAX_SECRET_LENGTH + 1] = "";
		struct addrinfo *ai = NULL;
		if (srv->secret[i]) {
			snprintf(secret, sizeof(secret), "%s", srv->secret[i]);
		} else if (rc_find_server_addr(rh, srv->name[i], &ai, secret, type) != 0) {
			log_err("%s: %s %s: no shared secret for it after its port, nor in the file its 'servers' line names",
				path, option, srv->name[i]);
			return -EINVAL;
		}
		if (ai)
			freeaddrinfo(ai);
		int err = add(list, path, srv->name[i], srv->port[i],
			      (const uint8_t *)secret, strlen(secret));
		explicit_bzero(secret, sizeof(secret));
		if (err < 0)
			return err;
	}
	return 0;
}

static int from_radcli(const char *path, struct radius_config *rc)
{
	FILE *f = fopen(path, "re");

	/* radcli says why only to syslog: say what we can here. */
	if (!f) {
		log_err("radius-config %s: %s", path, strerror(errno));
		return -errno;
	}
	fclose(f);
	rc_handle *rh = rc_read_config(path);
	if (!rh) {
		log_err("radius-config %s: radcli cannot read it (it logs why to syslog): it needs authserver, dictionary, radius_timeout and radius_retries",
			path);
		return -EINVAL;
	}
	int err = 0;
	if (rc_get_socket_type(rh) != RC_SOCKET_UDP) {
		log_err("radius-config %s: serv-type is not udp: culvertd speaks RADIUS over UDP only",
			path);
		err = -EINVAL;
	}
	if (err == 0)
		err = radcli_servers(rh, path, "authserver", AUTH, &rc->auth);
	if (err == 0)
		err = radcli_servers(rh, path, "acctserver", ACCT, &rc->acct);
	rc->timeout_ms = (unsigned int)rc_conf_int(rh, "radius_timeout") * 1000;
	rc->tries = (unsigned int)rc_conf_int(rh, "radius_retries") + 1;
	const char *id = rc_conf_str(rh, "nas-identifier");
	if (id)
		snprintf(rc->nas_identifier, sizeof(rc->nas_identifier), "%s", id);
	const char *bind = rc_conf_str(rh, "bindaddr");
	const char *nas = rc_conf_str(rh, "nas-ip");
	if (bind && strcmp(bind, "*") != 0 && addr_parse(bind, &rc->nas_address) == 0)
		rc->bind = true;
	else if (nas && addr_parse(nas, &rc->nas_address) < 0)
		log_warn("radius-config %s: nas-ip '%s' is not an address: the route's source is used",
			 path, nas);
	rc_destroy(rh);
	rc->source = path;
	return err;
}
#endif

int radius_config_load(const struct config *cfg, struct radius_config **out)
{
	struct radius_config *rc = calloc(1, sizeof(*rc));
	int err;

	*out = NULL;
	if (!rc)
		return -ENOMEM;
	rc->refs = 1;
	rc->interim = cfg->radius.interim;
	rc->nas_address = cfg->radius.nas_address;
	rc->bind = rc->nas_address.family != 0;
#ifdef HAVE_RADCLI
	if (cfg->radius.config)
		err = from_radcli(cfg->radius.config, rc);
	else
#endif
		err = from_keys(cfg, rc);
	if (err == 0 && !rc->auth.n) {
		log_err("%s: no RADIUS server to ask", rc->source);
		err = -EINVAL;
	}
	if (cfg->radius.nas_identifier)
		snprintf(rc->nas_identifier, sizeof(rc->nas_identifier), "%s",
			 cfg->radius.nas_identifier);
	else if (!rc->nas_identifier[0] &&
		 gethostname(rc->nas_identifier, sizeof(rc->nas_identifier) - 1) < 0)
		snprintf(rc->nas_identifier, sizeof(rc->nas_identifier), "culvertd");
	if (err < 0) {
		radius_config_unref(rc);
		return err;
	}
	*out = rc;
	return 0;
}

struct radius_config *radius_config_ref(struct radius_config *rc)
{
	__atomic_add_fetch(&rc->refs, 1, __ATOMIC_RELAXED);
	return rc;
}

void radius_config_unref(struct radius_config *rc)
{
	if (!rc || __atomic_sub_fetch(&rc->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	explicit_bzero(rc, sizeof(*rc));
	free(rc);
}
