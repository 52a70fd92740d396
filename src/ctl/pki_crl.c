/*
 * culvertctl pki's revocation list: DIR/crl.pem, the serials the CA has
 * revoked, signed again by the CA at each change. See pki.h.
 */
#include "pki.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pki_store.h"

#define DAY_SECS 86400
/* RFC 5280 allows 20 octets; room for a sign byte, and more. */
#define SERIAL_MAX 32

/* The crlNumber after old's (RFC 5280 5.2.3: it only ever grows). */
static uint64_t next_number(gnutls_x509_crl_t old)
{
	unsigned char n[SERIAL_MAX];
	size_t size = sizeof(n);
	uint64_t v = 0;

	if (!old || gnutls_x509_crl_get_number(old, n, &size, NULL) < 0)
		return 1;
	for (size_t i = 0; i < size; i++) {
		if (v >> 55)	/* not ours: restart high, still growing */
			return UINT64_C(1) << 62;
		v = v << 8 | n[i];
	}
	return v + 1;
}

/* As a positive INTEGER in minimal DER: no leading zero byte, unless the
 * top bit would otherwise make it negative. */
static int set_number(gnutls_x509_crl_t crl, uint64_t v)
{
	unsigned char b[9];
	size_t i = sizeof(b);

	do {
		b[--i] = (unsigned char)v;
		v >>= 8;
	} while (v);
	if (b[i] & 0x80)
		b[--i] = 0;
	return gnutls_x509_crl_set_number(crl, b + i, sizeof(b) - i);
}

/* old's entries into crl; *found if serial is among them. */
static int copy_entries(gnutls_x509_crl_t crl, gnutls_x509_crl_t old,
			const unsigned char *serial, size_t serial_size,
			bool *found)
{
	int count = old ? gnutls_x509_crl_get_crt_count(old) : 0;

	*found = false;
	for (int i = 0; i < count; i++) {
		unsigned char s[SERIAL_MAX];
		size_t n = sizeof(s);
		time_t when;
		int ret = gnutls_x509_crl_get_crt_serial(old, (unsigned int)i,
							 s, &n, &when);
		if (ret < 0 ||
		    (ret = gnutls_x509_crl_set_crt_serial(crl, s, n, when)) < 0)
			return ret;
		if (serial && n == serial_size && memcmp(s, serial, n) == 0)
			*found = true;
	}
	return 0;
}

/* The serial of DIR/NAME.crt, which ca must have issued. */
static int revoked_serial(const struct store_dir *d, const struct store_ca *ca,
			  const char *name, unsigned char *serial, size_t *size)
{
	struct store_file f;
	gnutls_x509_crt_t crt = NULL;
	unsigned int status = 0;
	int err, ret;

	if ((err = store_file(&f, d, name, ".crt")) < 0 ||
	    (err = store_load_crt(&f, &crt)) < 0)
		goto out;
	err = -EINVAL;
	if (gnutls_x509_crt_equals(crt, ca->crt)) {
		log_err("%s is the CA itself: to retire it, make a new CA and stop trusting this one",
			f.path);
		goto out;
	}
	/* An expired certificate may still be revoked: no time checks. */
	ret = gnutls_x509_crt_verify(crt, &ca->crt, 1,
				     GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
	if (ret < 0 || status != 0) {
		log_err("%s was not issued by %s: its serial means nothing in this CA's list",
			f.path, ca->crt_file.path);
		goto out;
	}
	if ((ret = gnutls_x509_crt_get_serial(crt, serial, size)) < 0) {
		err = pki_err(f.path, "read the serial", ret);
		goto out;
	}
	err = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	return err;
}

/* DIR/crl.pem as it is, if it exists and the CA signed it. */
static int load_old(const struct store_file *lf, const struct store_ca *ca,
		    gnutls_x509_crl_t *old)
{
	unsigned int status = 0;
	int err, ret;

	*old = NULL;
	if (!store_exists(lf))
		return 0;
	if ((err = store_load_crl(lf, old)) < 0)
		return err;
	ret = gnutls_x509_crl_verify(*old, &ca->crt, 1, 0, &status);
	if (ret < 0 || status != 0) {
		log_err("%s is not signed by %s: is it another CA's list?",
			lf->path, ca->crt_file.path);
		gnutls_x509_crl_deinit(*old);
		*old = NULL;
		return -EINVAL;
	}
	return 0;
}

static int build(gnutls_x509_crl_t crl, gnutls_x509_crl_t old,
		 const struct store_ca *ca, const unsigned char *serial,
		 size_t serial_size, bool *found, time_t now)
{
	unsigned char id[64];
	size_t n = sizeof(id);
	int ret;

	if ((ret = gnutls_x509_crl_set_version(crl, 2)) < 0 ||
	    (ret = copy_entries(crl, old, serial, serial_size, found)) < 0 ||
	    (serial && !*found &&
	     (ret = gnutls_x509_crl_set_crt_serial(crl, serial, serial_size,
						   now)) < 0) ||
	    (ret = gnutls_x509_crl_set_this_update(crl, now)) < 0 ||
	    (ret = gnutls_x509_crl_set_next_update(
		     crl, now + (time_t)PKI_CRL_DAYS * DAY_SECS)) < 0 ||
	    (ret = set_number(crl, next_number(old))) < 0)
		return ret;
	ret = gnutls_x509_crt_get_subject_key_id(ca->crt, id, &n, NULL);
	if (ret >= 0)
		ret = gnutls_x509_crl_set_authority_key_id(crl, id, n);
	else if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		ret = 0;
	if (ret < 0)
		return ret;
	return gnutls_x509_crl_privkey_sign(crl, ca->crt, ca->key,
					    GNUTLS_DIG_SHA256, 0);
}

static void report(const struct store_file *lf, gnutls_x509_crl_t crl,
		   const char *name, const unsigned char *serial,
		   size_t serial_size, bool found)
{
	char hex[2 * SERIAL_MAX + 1], date[32];
	int count = gnutls_x509_crl_get_crt_count(crl);

	pki_date(gnutls_x509_crl_get_next_update(crl), date, sizeof(date));
	if (!name) {
		log_notice("%s: signed again, %d revoked, next update %s",
			   lf->path, count, date);
		return;
	}
	pki_hex(serial, serial_size, hex, sizeof(hex));
	if (found)
		log_notice("%s: %s (serial %s) was revoked already; signed again, %d revoked, next update %s",
			   lf->path, name, hex, count, date);
	else
		log_notice("%s: revoked %s (serial %s); %d revoked, next update %s",
			   lf->path, name, hex, count, date);
}

/* Never write a list that does not verify against the CA: read back
 * what will be written, as a peer would. */
static int check_signed(const struct store_file *lf,
			const gnutls_datum_t *pem, const struct store_ca *ca)
{
	gnutls_x509_crl_t crl = NULL;
	unsigned int status = 0;
	int ret;

	if ((ret = gnutls_x509_crl_init(&crl)) >= 0 &&
	    (ret = gnutls_x509_crl_import(crl, pem, GNUTLS_X509_FMT_PEM)) >= 0)
		ret = gnutls_x509_crl_verify(crl, &ca->crt, 1, 0, &status);
	if (crl)
		gnutls_x509_crl_deinit(crl);
	if (ret >= 0 && status == 0)
		return 0;
	log_err("%s: the new list does not verify against %s (%s, status %#x)",
		lf->path, ca->crt_file.path,
		ret < 0 ? gnutls_strerror(ret) : "refused", status);
	return -EINVAL;
}

int pki_revoke(const char *dirpath, const char *name)
{
	struct store_dir d;
	struct store_ca ca = { 0 };
	struct store_file lf;
	gnutls_x509_crl_t old = NULL, crl = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	unsigned char serial[SERIAL_MAX];
	size_t serial_size = sizeof(serial);
	bool found = false;
	int err, ret;

	if (name && (!*name || name[0] == '.' || strchr(name, '/'))) {
		log_err("'%s' is not the name of a certificate in %s (NAME for NAME.crt)",
			name, dirpath);
		return -EINVAL;
	}
	if ((err = store_open_dir(&d, dirpath, false)) < 0)
		return err;
	/* Read, change, write: two revokes at once must not lose one. */
	if (flock(d.fd, LOCK_EX) < 0)
		log_warn("%s: cannot lock it (%s): run one revoke at a time",
			 dirpath, strerror(errno));
	if ((err = store_file(&lf, &d, "crl", ".pem")) < 0 ||
	    (err = store_load_ca(&ca, &d)) < 0 ||
	    (name && (err = revoked_serial(&d, &ca, name, serial,
					   &serial_size)) < 0) ||
	    (err = load_old(&lf, &ca, &old)) < 0)
		goto out;
	if ((ret = gnutls_x509_crl_init(&crl)) < 0 ||
	    (ret = build(crl, old, &ca, name ? serial : NULL, serial_size,
			 &found, time(NULL))) < 0) {
		err = pki_err(lf.path, "make the list", ret);
		goto out;
	}
	if ((ret = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &pem)) < 0) {
		err = pki_err(lf.path, "export the list", ret);
		goto out;
	}
	if ((err = check_signed(&lf, &pem, &ca)) < 0)
		goto out;
	if ((err = store_write(&lf, &pem, 0644, true)) < 0)
		goto out;
	report(&lf, crl, name, serial, serial_size, found);
out:
	store_wipe(&pem);
	if (crl)
		gnutls_x509_crl_deinit(crl);
	if (old)
		gnutls_x509_crl_deinit(old);
	store_free_ca(&ca);
	close(d.fd);	/* and the lock with it */
	return err;
}
