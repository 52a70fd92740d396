/*
 * The GnuTLS setup shared by the tls and dtls transports: credentials,
 * priorities, verification and sessions. The sentences that explain a
 * refusal are gnutls_verdict.c's, reloading is gnutls_reload.c's. See
 * gnutls_common.h.
 */
#include "gnutls_common.h"
#include "gnutls_internal.h"
#include "secret_mode.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* PEM files larger than this are not certificates or keys someone meant. */
#define PEM_MAX (1 << 20)
/* Warn this long before our own certificate expires. */
#define EXPIRY_WARNING_SECS (14 * 24 * 3600)

/* ---- small helpers */

void gtls_sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void gtls_format_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "(unknown date)");
}

/* Read a whole PEM file ourselves rather than through GnuTLS, so that an
 * unreadable file is reported with its errno (permission denied, no such
 * file) instead of GnuTLS's generic "error while reading the file". */
static int read_pem(const struct gtls *g, const char *key, const char *path,
		    bool secret, gnutls_datum_t *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;
		LOG(g, CV_LOG_ERR, "cannot read '%s' (%s): %s", key, path,
		    strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PEM_MAX) {
		LOG(g, CV_LOG_ERR, "'%s' (%s) is not a regular file of at most 1 MiB: is it really a PEM file?",
		    key, path);
		close(fd);
		return -EINVAL;
	}
	char why[96];
	if (secret && secret_mode_problem(st.st_mode, why, sizeof(why)))
		LOG(g, CV_LOG_WARNING, "'%s' (%s) %s", key, path, why);
	out->data = malloc((size_t)st.st_size + 1);
	if (!out->data) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	/* Bounded by the size fstat reported: a file that grows while we
	 * read it is cut there. */
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	out->data[got] = '\0';
	out->size = (unsigned int)got;
	return 0;
}

static void free_pem(gnutls_datum_t *d, bool secret)
{
	if (d->data && secret)
		explicit_bzero(d->data, d->size);
	free(d->data);
	d->data = NULL;
	d->size = 0;
}

/* Our own certificate will be refused by every peer once it expires:
 * say so at start, not only in the peers' logs. */
static void check_own_dates(const struct gtls *g, gnutls_x509_crt_t crt,
			    const char *path)
{
	time_t now = time(NULL);
	time_t not_before = gnutls_x509_crt_get_activation_time(crt);
	time_t not_after = gnutls_x509_crt_get_expiration_time(crt);
	char date[64];

	if (not_after != (time_t)-1 && not_after < now) {
		gtls_format_date(not_after, date, sizeof(date));
		LOG(g, CV_LOG_WARNING,
		    "'cert' (%s) expired on %s: peers will refuse it; renew it",
		    path, date);
	} else if (not_before != (time_t)-1 && not_before > now) {
		gtls_format_date(not_before, date, sizeof(date));
		LOG(g, CV_LOG_WARNING,
		    "'cert' (%s) is not valid before %s: peers will refuse it until then (is the clock right?)",
		    path, date);
	} else if (not_after != (time_t)-1 && not_after - now < EXPIRY_WARNING_SECS) {
		gtls_format_date(not_after, date, sizeof(date));
		LOG(g, CV_LOG_WARNING, "'cert' (%s) expires on %s; renew it soon",
		    path, date);
	}
}

/* ---- loading */

static int load_key_pair(const struct gtls *g,
			 gnutls_certificate_credentials_t cred,
			 const char *cert, const char *key)
{
	gnutls_datum_t cert_pem = { NULL, 0 }, key_pem = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	unsigned int n_crts = 0;
	gnutls_x509_privkey_t pk = NULL;
	int err, ret;

	if ((err = read_pem(g, "cert", cert, false, &cert_pem)) < 0 ||
	    (err = read_pem(g, "key", key, true, &key_pem)) < 0)
		goto out;
	err = -EINVAL;
	ret = gnutls_x509_crt_list_import2(&crts, &n_crts, &cert_pem,
					   GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0 || n_crts == 0) {
		LOG(g, CV_LOG_ERR,
		    "'cert' (%s) holds no PEM certificate (-----BEGIN CERTIFICATE-----): %s",
		    cert, gnutls_strerror(ret));
		goto out;
	}
	if ((ret = gnutls_x509_privkey_init(&pk)) < 0 ||
	    (ret = gnutls_x509_privkey_import2(pk, &key_pem,
					       GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		LOG(g, CV_LOG_ERR,
		    "'key' (%s) is not an unencrypted PEM private key: %s",
		    key, gnutls_strerror(ret));
		goto out;
	}
	ret = gnutls_certificate_set_x509_key(cred, crts, (int)n_crts, pk);
	if (ret == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
		LOG(g, CV_LOG_ERR, "'key' (%s) is not the private key of 'cert' (%s)",
		    key, cert);
		goto out;
	}
	if (ret < 0) {
		LOG(g, CV_LOG_ERR, "cannot use 'cert' (%s) with 'key' (%s): %s",
		    cert, key, gnutls_strerror(ret));
		goto out;
	}
	check_own_dates(g, crts[0], cert);
	err = 0;
out:
	for (unsigned int i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (pk)
		gnutls_x509_privkey_deinit(pk);
	free_pem(&cert_pem, false);
	free_pem(&key_pem, true);
	return err;
}

/* The CA certificates also come back in *cas, *n_cas, for load_crl(). */
static int load_ca(const struct gtls *g, gnutls_certificate_credentials_t cred,
		   const char *ca, gnutls_x509_crt_t **cas, unsigned int *n_cas)
{
	gnutls_datum_t pem = { NULL, 0 };
	int err = read_pem(g, "ca", ca, false, &pem);

	if (err < 0)
		return err;
	int ret = gnutls_certificate_set_x509_trust_mem(cred, &pem,
							GNUTLS_X509_FMT_PEM);
	if (ret > 0 &&
	    gnutls_x509_crt_list_import2(cas, n_cas, &pem, GNUTLS_X509_FMT_PEM,
					 0) < 0)
		*n_cas = 0;
	free_pem(&pem, false);
	if (ret < 0) {
		LOG(g, CV_LOG_ERR, "'ca' (%s) is not a PEM certificate file: %s",
		    ca, gnutls_strerror(ret));
		return -EINVAL;
	}
	if (ret == 0) {
		LOG(g, CV_LOG_ERR,
		    "'ca' (%s) holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
		    ca);
		return -EINVAL;
	}
	return 0;
}

/*
 * GnuTLS takes a CRL on trust (gnutls_certificate_set_x509_crl says "they
 * should have been verified before"): one that 'ca' did not sign could
 * otherwise revoke, or fail to revoke, anything. An out-of-date list is
 * still used, with a warning: it still names every certificate revoked
 * until it was signed, and dropping it would let them all back in.
 */
static int load_crl(const struct gtls *g, gnutls_certificate_credentials_t cred,
		    const char *path, gnutls_x509_crt_t *cas,
		    unsigned int n_cas)
{
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crl_t *crls = NULL;
	unsigned int n_crls = 0;
	int err = read_pem(g, "crl", path, false, &pem);

	if (err < 0)
		return err;
	err = -EINVAL;
	int ret = gnutls_x509_crl_list_import2(&crls, &n_crls, &pem,
					       GNUTLS_X509_FMT_PEM, 0);
	if (ret < 0 || n_crls == 0) {
		LOG(g, CV_LOG_ERR,
		    "'crl' (%s) holds no PEM certificate revocation list (-----BEGIN X509 CRL-----): %s",
		    path, ret < 0 ? gnutls_strerror(ret) : "none found");
		goto out;
	}
	for (unsigned int i = 0; i < n_crls; i++) {
		unsigned int status = 0;
		char date[64];

		ret = gnutls_x509_crl_verify(crls[i], cas, n_cas, 0, &status);
		if (ret < 0 ||
		    (status & ~(GNUTLS_CERT_INVALID |
				GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
				GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE))) {
			LOG(g, CV_LOG_ERR,
			    "'crl' (%s) is not signed by the CA in 'ca' (%s): is it another CA's list?",
			    path, g->ca);
			goto out;
		}
		if (status & GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED) {
			gtls_format_date(gnutls_x509_crl_get_next_update(crls[i]), date,
				    sizeof(date));
			LOG(g, CV_LOG_WARNING,
			    "'crl' (%s) is out of date since %s: sign it again (culvertctl pki crl DIR) and reload",
			    path, date);
		}
	}
	ret = gnutls_certificate_set_x509_crl(cred, crls, (int)n_crls);
	if (ret < 0) {
		LOG(g, CV_LOG_ERR, "cannot use 'crl' (%s): %s", path,
		    gnutls_strerror(ret));
		goto out;
	}
	err = 0;
out:
	for (unsigned int i = 0; i < n_crls; i++)
		gnutls_x509_crl_deinit(crls[i]);
	gnutls_free(crls);
	free_pem(&pem, false);
	return err;
}

static int load_priority(struct gtls *g, const char *text)
{
	const char *where = NULL;
	int ret = gnutls_priority_init2(&g->priority, text, &where, 0);

	if (ret == GNUTLS_E_INVALID_REQUEST && where) {
		LOG(g, CV_LOG_ERR,
		    "'priority': '%s' is not a GnuTLS priority string: error at '%s' (character %zu); see gnutls_priority_init(3)",
		    text, where, (size_t)(where - text) + 1);
		return -EINVAL;
	}
	if (ret < 0) {
		LOG(g, CV_LOG_ERR, "'priority': '%s' cannot be used: %s", text,
		    gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

static bool is_ip_literal(const char *name)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, name, buf) == 1 ||
	       inet_pton(AF_INET6, name, buf) == 1;
}

/* Which keys this side needs, checked before any file is opened so that
 * the first error names the missing key. */
static int check_keys(struct gtls *g, const char *cert, const char *key)
{
	if (g->server) {
		if (!cert || !key) {
			LOG(g, CV_LOG_ERR,
			    "'%s' is not set: a server needs its certificate and private key (cert = /etc/culvert/server.crt, key = /etc/culvert/server.key)",
			    cert ? "key" : "cert");
			return -EINVAL;
		}
		const char *auth = g->auth;
		if (strcmp(auth, "certificate") == 0 ||
		    strcmp(auth, "certificate+password") == 0) {
			g->require_client_cert = true;
		} else if (strcmp(auth, "password") != 0) {
			LOG(g, CV_LOG_ERR,
			    "'auth': '%s' is not certificate, password or certificate+password",
			    auth);
			return -EINVAL;
		}
		if (g->require_client_cert && !g->ca) {
			LOG(g, CV_LOG_ERR,
			    "'ca' is not set: auth = %s needs the CA that signs client certificates (ca = /etc/culvert/ca.crt)",
			    auth);
			return -EINVAL;
		}
		if (g->crl && !g->require_client_cert)
			LOG(g, CV_LOG_WARNING,
			    "'crl' (%s) is not used: with auth = %s no client shows a certificate",
			    g->crl, auth);
		return 0;
	}
	if (!g->ca) {
		LOG(g, CV_LOG_ERR,
		    "'ca' is not set: a client needs the CA that signed the server's certificate (ca = /etc/culvert/ca.crt)");
		return -EINVAL;
	}
	if (!cert != !key) {
		LOG(g, CV_LOG_ERR,
		    "'%s' is not set: a client certificate needs both cert and key",
		    cert ? "key" : "cert");
		return -EINVAL;
	}
	const char *name = g->api->config_get(g->host, "server-name");
	if (!name)
		name = g->default_name;
	if (!name || !*name) {
		LOG(g, CV_LOG_ERR,
		    "'server-name' is not set and 'remote' names no host to check the server's certificate against");
		return -EINVAL;
	}
	if (strlen(name) > GTLS_NAME_MAX) {
		LOG(g, CV_LOG_ERR, "'server-name': '%s' is longer than %d characters",
		    name, GTLS_NAME_MAX);
		return -EINVAL;
	}
	snprintf(g->server_name, sizeof(g->server_name), "%s", name);
	/* RFC 6066 3: SNI carries host names only, never address literals;
	 * an address is still checked against the certificate's IP SANs. */
	g->server_name_is_ip = is_ip_literal(name);
	return 0;
}

void gtls_cred_unref(struct gtls_cred *c)
{
	if (!c || --c->refs > 0)
		return;
	gnutls_certificate_free_credentials(c->cred);
	free(c);
}

int gtls_load_cred(struct gtls *g, struct gtls_cred **out)
{
	gnutls_x509_crt_t *cas = NULL;
	unsigned int n_cas = 0;

	g->ca = g->api->config_get(g->host, "ca");
	g->crl = g->api->config_get(g->host, "crl");
	g->auth = g->api->config_get(g->host, "auth");
	if (!g->auth)
		g->auth = "certificate";
	g->require_client_cert = false;

	const char *cert = g->api->config_get(g->host, "cert");
	const char *key = g->api->config_get(g->host, "key");
	int err = check_keys(g, cert, key);
	if (err < 0)
		return err;

	struct gtls_cred *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->owner = g;
	int ret = gnutls_certificate_allocate_credentials(&c->cred);
	if (ret < 0) {
		LOG(g, CV_LOG_ERR, "cannot set up TLS credentials: %s",
		    gnutls_strerror(ret));
		free(c);
		return -ENOMEM;
	}
	if (cert && (err = load_key_pair(g, c->cred, cert, key)) < 0)
		goto fail;
	g->have_cert = cert != NULL;
	/* A password-only server asks for no client certificate, so it has
	 * no use for a CA, nor for a list of revoked ones. */
	if (!g->server || g->require_client_cert) {
		if ((err = load_ca(g, c->cred, g->ca, &cas, &n_cas)) < 0)
			goto fail;
		if (g->crl &&
		    (err = load_crl(g, c->cred, g->crl, cas, n_cas)) < 0)
			goto fail;
	} else {
		g->ca = NULL;
		g->crl = NULL;
	}
	*out = c;
	err = 0;
	goto out;
fail:
	gtls_cred_unref(c);
out:
	for (unsigned int i = 0; i < n_cas; i++)
		gnutls_x509_crt_deinit(cas[i]);
	gnutls_free(cas);
	return err;
}

int gtls_init(struct gtls *g, const struct cv_host_api *api,
	      struct cv_host *host, bool server,
	      const char *default_server_name, const char *default_priority)
{
	memset(g, 0, sizeof(*g));
	g->api = api;
	g->host = host;
	g->server = server;
	if (default_server_name)
		snprintf(g->default_name, sizeof(g->default_name), "%s",
			 default_server_name);

	const char *priority = api->config_get(host, "priority");
	int err = gtls_load_cred(g, &g->cred);
	if (err < 0)
		return err;
	if ((err = load_priority(g, priority ? priority : default_priority)) < 0) {
		gtls_cred_unref(g->cred);
		g->cred = NULL;
		return err;
	}
	/* The key purpose too: a certificate the CA issued for a web server
	 * must not log in as a client, nor a client's pose as the server.
	 * (A certificate without the extension passes, as RFC 5280 says.) */
	if (!server)
		g->verify[g->n_verify++] = (gnutls_typed_vdata_st){
			.type = GNUTLS_DT_DNS_HOSTNAME,
			.data = (unsigned char *)g->server_name,
		};
	g->verify[g->n_verify++] = (gnutls_typed_vdata_st){
		.type = GNUTLS_DT_KEY_PURPOSE_OID,
		.data = (unsigned char *)(server ? GNUTLS_KP_TLS_WWW_CLIENT
						 : GNUTLS_KP_TLS_WWW_SERVER),
	};
	return 0;
}

void gtls_deinit(struct gtls *g)
{
	if (g->priority)
		gnutls_priority_deinit(g->priority);
	gtls_cred_unref(g->cred);
	g->priority = NULL;
	g->cred = NULL;
}

/* ---- sessions */

int gtls_session_new(const struct gtls *g, unsigned int flags,
		     gnutls_session_t *out)
{
	gnutls_session_t s;
	/* No session tickets: every connection runs a full handshake, so
	 * each link is checked against the current 'ca' and no ticket key
	 * has to be kept, rotated and protected. */
	unsigned int init_flags = (g->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
				  GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL |
				  GNUTLS_NO_TICKETS | flags;
	int ret = gnutls_init(&s, init_flags);

	if (ret < 0)
		return ret;
	if ((ret = gnutls_priority_set(s, g->priority)) < 0 ||
	    (ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
					  g->cred->cred)) < 0)
		goto fail;
	g->cred->refs++;
	gnutls_session_set_ptr(s, g->cred);
	if (g->server) {
		if (g->require_client_cert) {
			/* REQUIRE, not REQUEST: a client without a
			 * certificate fails the handshake, instead of
			 * passing it with no identity. */
			gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
			gnutls_session_set_verify_cert2(s, (gnutls_typed_vdata_st *)g->verify,
							g->n_verify, 0);
		}
	} else {
		if (!g->server_name_is_ip &&
		    (ret = gnutls_server_name_set(s, GNUTLS_NAME_DNS, g->server_name,
						  strlen(g->server_name))) < 0)
			goto fail;
		/* Chain, dates, the name against the SANs and the key
		 * purpose, all by GnuTLS: the handshake fails if any does. */
		gnutls_session_set_verify_cert2(s, (gnutls_typed_vdata_st *)g->verify,
						g->n_verify, 0);
	}
	*out = s;
	return 0;

fail:
	gnutls_deinit(s);
	return ret;
}

void gtls_session_free(gnutls_session_t session)
{
	struct gtls_cred *c;

	if (!session)
		return;
	c = gnutls_session_get_ptr(session);
	gnutls_deinit(session);
	gtls_cred_unref(c);
}

