/*
 * culvertctl pki's certificates: the CA, servers and clients, made
 * through GnuTLS with the fields a TLS peer checks. See pki.h; the files
 * are pki_store.c's, the CRL pki_crl.c's.
 */
#include "pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "log.h"
#include "pki_store.h"
#include "user_name.h"

/* Random serials: RFC 5280 allows 20 octets; 16 make a collision as
 * unlikely as guessing a key, without keeping a counter file. */
#define SERIAL_SIZE 16
/* A certificate is valid from an hour ago: a peer whose clock lags a
 * little must not refuse it as "not valid yet". */
#define BACKDATE_SECS 3600
#define DAY_SECS 86400
/* X.520's upper bound for a common name */
#define CN_MAX 64
#define DEFAULT_CA_CN "culvert CA"

/* ---- a certificate's fields */

static bool is_ip(const char *s, unsigned char addr[16], unsigned int *len)
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*len = 4;
		return true;
	}
	*len = 16;
	return inet_pton(AF_INET6, s, addr) == 1;
}

bool pki_valid_dns_name(const char *name)
{
	size_t total = strlen(name), label = 0;

	if (total == 0 || total > 253)
		return false;
	for (const char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
}

/* Positive (the top bit clear) and in minimal DER (no leading zero). */
static int set_serial(gnutls_x509_crt_t crt)
{
	unsigned char serial[SERIAL_SIZE];
	int ret = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial));

	if (ret < 0)
		return ret;
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 1;
	return gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
}

static unsigned int role_days(enum pki_role role, unsigned int days)
{
	return days ? days : role == PKI_CA ? PKI_CA_DAYS : PKI_LEAF_DAYS;
}

static int set_dates(gnutls_x509_crt_t crt, enum pki_role role,
		     unsigned int days, time_t now)
{
	int ret = gnutls_x509_crt_set_activation_time(crt, now - BACKDATE_SECS);

	if (ret < 0)
		return ret;
	return gnutls_x509_crt_set_expiration_time(
		crt, now + (time_t)role_days(role, days) * DAY_SECS);
}

/* What the certificate's key may do: a CA signs certificates and CRLs
 * (pathlen 0: no CA under it); a server or client signs handshakes, and
 * an RSA key may also decrypt TLS 1.2's RSA key exchange. */
static int set_usage(gnutls_x509_crt_t crt, enum pki_role role,
		     enum pki_key key)
{
	unsigned int usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
	int ret;

	if (role == PKI_CA) {
		if ((ret = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0)
			return ret;
		return gnutls_x509_crt_set_key_usage(
			crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	}
	if (key == PKI_KEY_RSA)
		usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
	if ((ret = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (ret = gnutls_x509_crt_set_key_usage(crt, usage)) < 0)
		return ret;
	/* The tls plugin requires this purpose of its peer: a client
	 * certificate cannot pose as the server, nor the other way. */
	return gnutls_x509_crt_set_key_purpose_oid(
		crt, role == PKI_SERVER ? GNUTLS_KP_TLS_WWW_SERVER
					: GNUTLS_KP_TLS_WWW_CLIENT, 0);
}

static int add_name(gnutls_x509_crt_t crt, const char *name)
{
	unsigned char addr[16];
	unsigned int len;

	if (is_ip(name, addr, &len))
		return gnutls_x509_crt_set_subject_alt_name(
			crt, GNUTLS_SAN_IPADDRESS, addr, len, GNUTLS_FSAN_APPEND);
	return gnutls_x509_crt_set_subject_alt_name(
		crt, GNUTLS_SAN_DNSNAME, name, (unsigned int)strlen(name),
		GNUTLS_FSAN_APPEND);
}

/* A server's names, checked by clients against server-name; the CN is
 * not (RFC 6125). */
static int set_alt_names(gnutls_x509_crt_t crt, const char *name,
			 const struct pki_options *o)
{
	int ret = add_name(crt, name);

	for (size_t i = 0; ret >= 0 && i < o->n_dns; i++)
		ret = add_name(crt, o->dns[i]);
	for (size_t i = 0; ret >= 0 && i < o->n_ips; i++)
		ret = add_name(crt, o->ips[i]);
	return ret;
}

/* The subject key id, and the CA's as the authority key id, so that a
 * verifier finds the issuer even after the CA is re-issued. */
static int set_key_ids(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		       gnutls_x509_crt_t issuer)
{
	unsigned char id[64];
	size_t n = sizeof(id);
	int ret = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA1,
						 id, &n);

	if (ret < 0 ||
	    (ret = gnutls_x509_crt_set_subject_key_id(crt, id, n)) < 0)
		return ret;
	if (!issuer)
		return 0;
	n = sizeof(id);
	ret = gnutls_x509_crt_get_subject_key_id(issuer, id, &n, NULL);
	if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	if (ret < 0)
		return ret;
	return gnutls_x509_crt_set_authority_key_id(crt, id, n);
}

static int generate_key(const struct store_file *f, enum pki_key type,
			gnutls_x509_privkey_t *key)
{
	int ret = gnutls_x509_privkey_init(key);

	if (ret >= 0 && type == PKI_KEY_RSA)
		ret = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_RSA, 3072,
						    0, NULL, 0);
	else if (ret >= 0)
		ret = gnutls_x509_privkey_generate2(
			*key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0,
			NULL, 0);
	return ret < 0 ? pki_err(f->path, "generate the key", ret) : 0;
}

static void report(const struct store_file *cf, const struct store_file *kf,
		   enum pki_role role, const char *cn, gnutls_x509_crt_t crt,
		   const struct store_ca *ca)
{
	char date[32], ca_date[32];
	time_t expires = gnutls_x509_crt_get_expiration_time(crt);

	pki_date(expires, date, sizeof(date));
	if (role == PKI_CA)
		log_notice("%s: CA '%s', valid until %s; its key is %s: keep it secret",
			   cf->path, cn, date, kf->path);
	else
		log_notice("%s: %s certificate for %s '%s', valid until %s; its key is %s",
			   cf->path, role == PKI_SERVER ? "server" : "client",
			   role == PKI_SERVER ? "host" : "user", cn, date,
			   kf->path);
	if (!ca)
		return;
	time_t ca_expires = gnutls_x509_crt_get_expiration_time(ca->crt);
	if (ca_expires != (time_t)-1 && expires > ca_expires) {
		pki_date(ca_expires, ca_date, sizeof(ca_date));
		log_warn("%s: it outlives %s, so peers accept it only until %s",
			 cf->path, ca->crt_file.path, ca_date);
	}
}

/* What a peer checks first, on what will be written: never write a
 * certificate that does not verify against its CA. */
static int check_signed(const struct store_file *cf,
			const gnutls_datum_t *pem, const struct store_ca *ca)
{
	gnutls_x509_crt_t crt = NULL;
	unsigned int status = 0;
	int ret;

	if ((ret = gnutls_x509_crt_init(&crt)) >= 0 &&
	    (ret = gnutls_x509_crt_import(crt, pem, GNUTLS_X509_FMT_PEM)) >= 0)
		ret = gnutls_x509_crt_verify(crt, ca ? &ca->crt : &crt, 1, 0,
					     &status);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ret >= 0 && status == 0)
		return 0;
	log_err("%s: the new certificate does not verify against %s (%s, status %#x)",
		cf->path, ca ? ca->crt_file.path : "itself",
		ret < 0 ? gnutls_strerror(ret) : "refused", status);
	return -EINVAL;
}

/* DIR/NAME.key and DIR/NAME.crt: signed by ca, or self-signed without. */
static int make(const struct store_dir *d, enum pki_role role,
		const char *name, const char *cn, const struct pki_options *o,
		const struct store_ca *ca)
{
	struct store_file kf, cf;
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t self = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	time_t now = time(NULL);
	int err, ret;

	if ((err = store_file(&kf, d, name, ".key")) < 0 ||
	    (err = store_file(&cf, d, name, ".crt")) < 0 ||
	    (err = store_refuse_existing(&cf)) < 0 ||
	    (err = store_refuse_existing(&kf)) < 0)
		return err;
	if ((err = generate_key(&kf, o->key, &key)) < 0)
		goto out;
	if ((ret = gnutls_x509_crt_init(&crt)) < 0 ||
	    (ret = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (ret = gnutls_x509_crt_set_key(crt, key)) < 0 ||
	    (ret = set_serial(crt)) < 0 ||
	    (ret = gnutls_x509_crt_set_dn_by_oid(
		     crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
		     (unsigned int)strlen(cn))) < 0 ||
	    (ret = set_dates(crt, role, o->days, now)) < 0 ||
	    (ret = set_usage(crt, role, o->key)) < 0 ||
	    (role == PKI_SERVER && (ret = set_alt_names(crt, name, o)) < 0) ||
	    (ret = set_key_ids(crt, key, ca ? ca->crt : NULL)) < 0) {
		err = pki_err(cf.path, "make the certificate", ret);
		goto out;
	}
	if (ca)
		ret = gnutls_x509_crt_privkey_sign(crt, ca->crt, ca->key,
						   GNUTLS_DIG_SHA256, 0);
	else if ((ret = gnutls_privkey_init(&self)) >= 0 &&
		 (ret = gnutls_privkey_import_x509(self, key, 0)) >= 0)
		ret = gnutls_x509_crt_privkey_sign(crt, crt, self,
						   GNUTLS_DIG_SHA256, 0);
	if (ret < 0) {
		err = pki_err(cf.path, "sign the certificate", ret);
		goto out;
	}
	/* PKCS #8, unencrypted: what GnuTLS and OpenSSL both read */
	if ((ret = gnutls_x509_privkey_export2_pkcs8(
		     key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
		     &key_pem)) < 0) {
		err = pki_err(kf.path, "export the key", ret);
		goto out;
	}
	ret = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem);
	if (ret < 0) {
		err = pki_err(cf.path, "export the certificate", ret);
		goto out;
	}
	if ((err = check_signed(&cf, &crt_pem, ca)) < 0)
		goto out;
	/* The CA's key never leaves root: no daemon reads it. */
	mode_t key_mode = role != PKI_CA && d->shared ? 0640 : 0600;
	if ((err = store_write(&kf, &key_pem, key_mode, false)) < 0)
		goto out;
	if ((err = store_write(&cf, &crt_pem, 0644, false)) < 0) {
		unlinkat(d->fd, kf.name, 0);	/* no key without its certificate */
		goto out;
	}
	report(&cf, &kf, role, cn, crt, ca);
out:
	store_wipe(&key_pem);
	store_wipe(&crt_pem);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (self)
		gnutls_privkey_deinit(self);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return err;
}

/* ---- the commands */

static bool check_days(unsigned int days)
{
	if (days <= PKI_MAX_DAYS)
		return true;
	log_err("%u days is more than %d", days, PKI_MAX_DAYS);
	return false;
}

/* A CA there already: init would refuse anyway, but only in make(). */
static int refuse_ca(const struct store_dir *d)
{
	struct store_file crt, key;
	int err;

	if ((err = store_file(&crt, d, "ca", ".crt")) < 0 ||
	    (err = store_file(&key, d, "ca", ".key")) < 0 ||
	    (err = store_refuse_existing(&crt)) < 0)
		return err;
	return store_refuse_existing(&key);
}

int pki_init(const char *dirpath, const struct pki_options *o)
{
	const char *cn = o->cn ? o->cn : DEFAULT_CA_CN;
	struct store_dir d;
	struct store_file crl;
	size_t n = strlen(cn);
	int err;

	if (n == 0 || n > CN_MAX) {
		log_err("the CA's name must be 1 to %d characters", CN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)cn[i] < 0x20 || cn[i] == 0x7f) {
			log_err("the CA's name holds a control character");
			return -EINVAL;
		}
	}
	if (!check_days(o->days))
		return -EINVAL;
	if ((err = store_open_dir(&d, dirpath, true)) < 0)
		return err;
	/* A list signed by another CA would make every revoke fail. The
	 * directory changes hands only for a CA that will be made. */
	if ((err = store_file(&crl, &d, "crl", ".pem")) >= 0 &&
	    (err = store_refuse_existing(&crl)) >= 0 &&
	    (err = refuse_ca(&d)) >= 0 &&
	    (!o->has_group || (err = store_share_dir(&d, o->group)) >= 0))
		err = make(&d, PKI_CA, "ca", cn, o, NULL);
	close(d.fd);
	return err;
}

static bool check_names(enum pki_role role, const char *name,
			const struct pki_options *o)
{
	unsigned char addr[16];
	unsigned int len;
	bool ok = true;

	if (strlen(name) > CN_MAX) {
		log_err("'%s' is longer than %d characters, the most a certificate's name (CN) may hold",
			name, CN_MAX);
		return false;
	}
	if (role == PKI_CLIENT) {
		/* The gateway takes the CN as the user's identity. */
		if (user_name_valid(name) && name[0] != '.')
			return true;
		log_err("'%s' is not a user name (1-64 letters, digits and . _ @ + -, not starting with .)",
			name);
		return false;
	}
	if (!pki_valid_dns_name(name) && !is_ip(name, addr, &len)) {
		log_err("'%s' is not a host name (letters, digits, hyphens and dots) or an IP address",
			name);
		ok = false;
	}
	for (size_t i = 0; i < o->n_dns; i++) {
		if (!pki_valid_dns_name(o->dns[i])) {
			log_err("'%s' is not a host name (letters, digits, hyphens and dots)",
				o->dns[i]);
			ok = false;
		}
	}
	for (size_t i = 0; i < o->n_ips; i++) {
		if (!is_ip(o->ips[i], addr, &len)) {
			log_err("'%s' is not an IPv4 or IPv6 address", o->ips[i]);
			ok = false;
		}
	}
	return ok;
}

int pki_issue(const char *dirpath, enum pki_role role, const char *name,
	      const struct pki_options *o)
{
	struct store_dir d;
	struct store_ca ca;
	int err;

	if (role == PKI_CA)
		return pki_init(dirpath, o);
	if (!check_names(role, name, o) || !check_days(o->days))
		return -EINVAL;
	if ((err = store_open_dir(&d, dirpath, false)) < 0)
		return err;
	if ((err = store_load_ca(&ca, &d)) >= 0) {
		err = make(&d, role, name, name, o, &ca);
		store_free_ca(&ca);
	}
	close(d.fd);
	return err;
}
