/*
 * The GnuTLS setup shared by the tls and dtls transports: credentials,
 * priorities, verification, and the sentences that explain a refusal.
 * See gnutls_common.h.
 */
#include "gnutls_common.h"
#include "gnutls_internal.h"

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
/* subjectAltNames listed when the server name does not match. */
#define SAN_LIST_MAX 4

/* ---- small helpers */

/* Certificate fields come from the network: keep control characters out
 * of the log and of the identity the core stores. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void format_date(time_t t, char *buf, size_t size)
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
	if (secret && (st.st_mode & 077))
		LOG(g, CV_LOG_WARNING,
		    "'%s' (%s) can be read by other users (mode %03o); chmod 600 it",
		    key, path, (unsigned int)(st.st_mode & 0777));
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
		format_date(not_after, date, sizeof(date));
		LOG(g, CV_LOG_WARNING,
		    "'cert' (%s) expired on %s: peers will refuse it; renew it",
		    path, date);
	} else if (not_before != (time_t)-1 && not_before > now) {
		format_date(not_before, date, sizeof(date));
		LOG(g, CV_LOG_WARNING,
		    "'cert' (%s) is not valid before %s: peers will refuse it until then (is the clock right?)",
		    path, date);
	} else if (not_after != (time_t)-1 && not_after - now < EXPIRY_WARNING_SECS) {
		format_date(not_after, date, sizeof(date));
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
			format_date(gnutls_x509_crl_get_next_update(crls[i]), date,
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

/* ---- explaining failures */

static int peer_certificate(gnutls_session_t s, gnutls_x509_crt_t *out)
{
	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);

	if (!certs || n == 0)
		return -ENOENT;
	if (gnutls_x509_crt_init(out) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(*out, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*out);
		return -EINVAL;
	}
	return 0;
}

/* " (its issuer is 'CN=Other CA')": which CA the peer actually used. */
static void describe_issuer(gnutls_x509_crt_t crt, char *buf, size_t size)
{
	gnutls_datum_t dn = { NULL, 0 };

	buf[0] = '\0';
	if (!crt || gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) < 0)
		return;
	snprintf(buf, size, " (its issuer is '%.*s')", (int)dn.size,
		 (const char *)dn.data);
	gnutls_free(dn.data);
	sanitize(buf);
}

/* " (it names vpn.example.org, 192.0.2.1)": what server-name could be. */
static void describe_names(gnutls_x509_crt_t crt, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; crt && i < SAN_LIST_MAX; i++) {
		char san[GTLS_NAME_MAX + 2], text[INET6_ADDRSTRLEN];
		size_t san_size = sizeof(san) - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, san,
								 &san_size, NULL);
		const char *name = NULL;

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			san[san_size] = '\0';
			sanitize(san);
			name = san;
		} else if (type == GNUTLS_SAN_IPADDRESS &&
			   (san_size == 4 || san_size == 16)) {
			name = inet_ntop(san_size == 4 ? AF_INET : AF_INET6, san,
					 text, sizeof(text));
		}
		if (!name)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s",
				 used ? ", " : " (it names ", name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	if (used && used + 1 < size)
		snprintf(buf + used, size - used, ")");
}

static int crt_identity(gnutls_x509_crt_t crt, char **out);

/* " ('alice', serial 0x1f...)": which certificate, for a revocation. */
static void describe_subject(gnutls_x509_crt_t crt, char *buf, size_t size)
{
	unsigned char serial[32];
	size_t n = sizeof(serial), used;
	char *name = NULL;

	buf[0] = '\0';
	if (!crt)
		return;
	crt_identity(crt, &name);
	snprintf(buf, size, " ('%s'", name ? name : "no name");
	free(name);
	used = strlen(buf);
	if (gnutls_x509_crt_get_serial(crt, serial, &n) == 0 && n > 0) {
		used += (size_t)snprintf(buf + used, size - used, ", serial ");
		for (size_t i = 0; i < n && used + 3 < size; i++)
			used += (size_t)snprintf(buf + used, size - used, "%02x",
						 serial[i]);
	}
	if (used + 1 < size)
		snprintf(buf + used, size - used, ")");
}

void gtls_describe_status(const struct gtls *g, gnutls_x509_crt_t crt,
			  unsigned int status, char *why, size_t size)
{
	const char *whose = g->server ? "its certificate" : "the server's certificate";
	char detail[300], date[64];

	/* The CA first: a certificate nobody we trust signed cannot be
	 * judged on anything else. INVALID alone means the same. */
	if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNATURE_FAILURE |
		      GNUTLS_CERT_SIGNER_NOT_CA) ||
	    status == GNUTLS_CERT_INVALID) {
		describe_issuer(crt, detail, sizeof(detail));
		snprintf(why, size, "%s is not signed by the CA in 'ca' (%s)%s",
			 whose, g->ca ? g->ca : "not set", detail);
	} else if (status & GNUTLS_CERT_REVOKED) {
		describe_subject(crt, detail, sizeof(detail));
		snprintf(why, size, "%s%s is revoked: 'crl' (%s) lists it", whose,
			 detail, g->crl ? g->crl : "not set");
	} else if (status & GNUTLS_CERT_EXPIRED) {
		format_date(crt ? gnutls_x509_crt_get_expiration_time(crt)
				: (time_t)-1, date, sizeof(date));
		snprintf(why, size, "%s has expired (on %s)", whose, date);
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		format_date(crt ? gnutls_x509_crt_get_activation_time(crt)
				: (time_t)-1, date, sizeof(date));
		snprintf(why, size, "%s is not valid yet (not before %s; is the clock right?)",
			 whose, date);
	} else if (status & GNUTLS_CERT_PURPOSE_MISMATCH) {
		snprintf(why, size, "%s is not meant for a TLS %s (its extended key usage lacks TLS WWW %s)",
			 whose, g->server ? "client" : "server",
			 g->server ? "client" : "server");
	} else if (status & GNUTLS_CERT_UNEXPECTED_OWNER && !g->server) {
		describe_names(crt, detail, sizeof(detail));
		snprintf(why, size,
			 "the server's certificate is not valid for server-name '%s'%s",
			 g->server_name, detail);
	} else {
		gnutls_datum_t text = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(
			    status, GNUTLS_CRT_X509, &text, 0) == 0) {
			snprintf(why, size, "%s was refused: %.*s", whose,
				 (int)text.size, (const char *)text.data);
			gnutls_free(text.data);
		} else {
			snprintf(why, size, "%s was refused (status 0x%x)", whose,
				 status);
		}
	}
}

/* Client: the server asked for a certificate and we sent none (a GnuTLS
 * client sends none that the server's list of CAs does not cover). In
 * (D)TLS 1.2 the server then answers handshake_failure, not
 * certificate_required, so this is how to tell. */
static bool sent_no_requested_cert(const struct gtls *g, gnutls_session_t s)
{
	return !g->server && gnutls_certificate_client_get_request_status(s) &&
	       !gnutls_certificate_get_ours(s);
}

/* What an alert from the peer most likely means, for the one who reads
 * the log on this side. */
static const char *alert_hint(const struct gtls *g, gnutls_session_t s,
			      gnutls_alert_description_t a)
{
	if (a == GNUTLS_A_HANDSHAKE_FAILURE && sent_no_requested_cert(g, s))
		a = GNUTLS_A_CERTIFICATE_REQUIRED;
	switch (a) {
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		if (g->server)
			return "";
		/* A GnuTLS client sends no certificate that none of the
		 * server's CAs signed. */
		return g->have_cert ? "; 'cert' is not signed by a CA the server trusts, so it was not sent"
				    : "; set 'cert' and 'key' to a client certificate signed by the server's CA";
	case GNUTLS_A_HANDSHAKE_FAILURE:
		if (!g->server)
			return g->have_cert ? "; no TLS version or cipher in common (compare 'priority' on both sides), or the server refused 'cert'"
					    : "; no TLS version or cipher in common (compare 'priority' on both sides), or the server wants a client certificate ('cert' and 'key')";
		return "; no TLS version or cipher in common: compare 'priority' on both sides";
	case GNUTLS_A_CERTIFICATE_REVOKED:
		if (!g->server)
			return "; the server's 'crl' lists this client's certificate: it needs a new one";
		/* fall through */
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
		return g->server ? "; the client does not accept this server's certificate: check its 'ca' and 'server-name'"
				 : "; it does not accept this client's certificate";
	case GNUTLS_A_PROTOCOL_VERSION:
	case GNUTLS_A_INSUFFICIENT_SECURITY:
		return "; no TLS version or cipher in common: compare 'priority' on both sides";
	default:
		return "";
	}
}

void gtls_send_alert(const struct gtls *g, gnutls_session_t session, int err)
{
	switch (err) {
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
	case GNUTLS_E_TIMEDOUT:
		return;
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
		/* GnuTLS would say bad_certificate: the peer's log can be
		 * more precise than that. */
		if (gnutls_session_get_verify_cert_status(session) &
		    GNUTLS_CERT_REVOKED) {
			gnutls_alert_send(session, GNUTLS_AL_FATAL,
					  GNUTLS_A_CERTIFICATE_REVOKED);
			return;
		}
		break;
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
		/* TLS 1.2 has no certificate_required; RFC 5246 7.4.6 says
		 * handshake_failure (GnuTLS would send decode_error, which
		 * sends the client looking for a bug). */
		if (g->server) {
			gnutls_alert_send(session, GNUTLS_AL_FATAL,
					  GNUTLS_A_HANDSHAKE_FAILURE);
			return;
		}
		break;
	default:
		break;
	}
	gnutls_alert_send_appropriate(session, err);
}

int gtls_handshake_error(const struct gtls *g, gnutls_session_t session,
			 int err, char *why, size_t size)
{
	const char *peer = g->server ? "it" : "the server";
	const char *proto = g->datagram ? "DTLS" : "TLS";

	switch (err) {
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	{
		gnutls_x509_crt_t crt = NULL;
		if (peer_certificate(session, &crt) < 0)
			crt = NULL;
		gtls_describe_status(g, crt,
				     gnutls_session_get_verify_cert_status(session),
				     why, size);
		if (crt)
			gnutls_x509_crt_deinit(crt);
		return -EACCES;
	}
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
		if (g->server)
			snprintf(why, size, "no client certificate (auth = %s); a client sends none that the CA in 'ca' did not sign",
				 g->auth);
		else
			snprintf(why, size, "the server sent no certificate");
		return -EACCES;
	case GNUTLS_E_FATAL_ALERT_RECEIVED: {
		gnutls_alert_description_t a = gnutls_alert_get(session);
		const char *name = gnutls_alert_get_name(a);
		if (g->server)
			snprintf(why, size, "it aborted the %s handshake with alert '%s'%s",
				 proto, name ? name : "unknown",
				 alert_hint(g, session, a));
		else
			snprintf(why, size, "the server refused the %s handshake: %s%s",
				 proto, name ? name : "unknown alert",
				 alert_hint(g, session, a));
		return a == GNUTLS_A_CERTIFICATE_REQUIRED ||
		       (a == GNUTLS_A_HANDSHAKE_FAILURE &&
			sent_no_requested_cert(g, session)) ||
		       a == GNUTLS_A_BAD_CERTIFICATE ||
		       a == GNUTLS_A_UNKNOWN_CA || a == GNUTLS_A_ACCESS_DENIED ||
		       a == GNUTLS_A_CERTIFICATE_UNKNOWN ||
		       a == GNUTLS_A_CERTIFICATE_EXPIRED ||
		       a == GNUTLS_A_CERTIFICATE_REVOKED
			       ? -EACCES : -ECONNREFUSED;
	}
	case GNUTLS_E_PREMATURE_TERMINATION:
	case GNUTLS_E_PULL_ERROR:
	case GNUTLS_E_PUSH_ERROR:
		snprintf(why, size, "%s closed the connection during the %s handshake%s",
			 peer, proto,
			 g->server ? ""
			 : g->datagram ? " (does it speak transport dtls on this port?)"
				       : " (does it speak transport tls on this port?)");
		return -ECONNRESET;
	case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
		/* Garbage has no valid version either, so both readings. */
		snprintf(why, size, "%s does not speak %s, or offers no %s version that 'priority' allows (%s)",
			 peer, proto, proto, gnutls_strerror(err));
		return -EPROTO;
	case GNUTLS_E_UNEXPECTED_PACKET_LENGTH:
	case GNUTLS_E_UNEXPECTED_PACKET:
	case GNUTLS_E_UNEXPECTED_HANDSHAKE_PACKET:
		snprintf(why, size, "%s does not speak %s (%s)", peer, proto,
			 gnutls_strerror(err));
		return -EPROTO;
	case GNUTLS_E_NO_CIPHER_SUITES:
	case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
	case GNUTLS_E_NO_PRIORITIES_WERE_SET:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
		snprintf(why, size, "no TLS version or cipher in common with %s (%s); compare 'priority' on both sides",
			 g->server ? "it" : "the server", gnutls_strerror(err));
		return -EPROTO;
	case GNUTLS_E_TIMEDOUT:
		/* DTLS only: GnuTLS gave up retransmitting its flight. */
		snprintf(why, size, "%s stopped answering during the %s handshake",
			 peer, proto);
		return -ETIMEDOUT;
	default:
		snprintf(why, size, "%s handshake failed: %s", proto,
			 gnutls_strerror(err));
		return -EPROTO;
	}
}

/* ---- identity */

int gtls_peer_identity(gnutls_session_t session, char **out)
{
	gnutls_x509_crt_t crt;
	int err = peer_certificate(session, &crt);

	*out = NULL;
	if (err == -ENOENT)
		return 0;
	if (err < 0)
		return err;
	err = crt_identity(crt, out);
	gnutls_x509_crt_deinit(crt);
	return err;
}

static int crt_identity(gnutls_x509_crt_t crt, char **out)
{
	char cn[1024];
	size_t size = sizeof(cn);

	*out = NULL;
	int ret = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						0, 0, cn, &size);
	if (ret == 0) {
		*out = strdup(cn);
	} else if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		gnutls_datum_t dn = { NULL, 0 };
		if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
			*out = strndup((const char *)dn.data, dn.size);
			gnutls_free(dn.data);
		}
	}
	if (!*out)
		return ret == GNUTLS_E_SHORT_MEMORY_BUFFER ? -EINVAL : -ENOMEM;
	if (!**out) {
		/* An empty CN identifies nobody. */
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	sanitize(*out);
	return 0;
}

void gtls_describe(gnutls_session_t session, char *buf, size_t size)
{
	const char *version =
		gnutls_protocol_get_name(gnutls_protocol_get_version(session));
	const char *cipher = gnutls_cipher_get_name(gnutls_cipher_get(session));
	const char *group = gnutls_group_get_name(gnutls_group_get(session));

	snprintf(buf, size, "%s, %s%s%s", version ? version : "TLS",
		 cipher ? cipher : "unknown cipher", group ? ", " : "",
		 group ? group : "");
}
