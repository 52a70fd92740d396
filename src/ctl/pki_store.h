/*
 * The directory behind culvertctl pki, for pki.c (certificates) and
 * pki_crl.c (revocation): files read and written safely, and the CA
 * loaded and checked. Every int function returns 0, or a negative errno
 * after logging one line that names the file.
 */
#ifndef CULVERT_PKI_STORE_H
#define CULVERT_PKI_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

struct store_dir {
	int fd;				/* every file is opened relative to it */
	const char *path;		/* for messages */
	/* Readable by its group (pki init --group): the keys made in it
	 * are too (0640, that group), for a daemon that reads them again
	 * as that group after dropping root. */
	bool shared;
	gid_t gid;
};

struct store_file {
	const struct store_dir *dir;
	char name[NAME_MAX + 1];	/* inside dir */
	char path[PATH_MAX];		/* dir/name, for messages */
};

/* A directory's CA: DIR/ca.crt with its key, ready to sign. */
struct store_ca {
	gnutls_x509_crt_t crt;
	gnutls_privkey_t key;
	struct store_file crt_file;
};

/* Opens path (made first, mode 0700, with create). */
int store_open_dir(struct store_dir *d, const char *path, bool create);
/* Gives d to root and the group gid, mode 0750: shared from then on. */
int store_share_dir(struct store_dir *d, gid_t gid);
/* f is d/NAME EXT */
int store_file(struct store_file *f, const struct store_dir *d,
	       const char *name, const char *ext);
bool store_exists(const struct store_file *f);
/* -EEXIST, logged, if f exists */
int store_refuse_existing(const struct store_file *f);

/* The whole file, at most 1 MiB; free it with store_wipe. */
int store_read(const struct store_file *f, gnutls_datum_t *out);
/* Zeroes and frees what store_read or a GnuTLS export returned. */
void store_wipe(gnutls_datum_t *d);
/* Writes data to f through a temporary file created mode 0600, then
 * given mode (and, in a shared directory, its group), flushed and
 * renamed into place: a crash leaves the old file or the new one.
 * Without replace, fails with -EEXIST (logged) if f exists, even if it
 * appeared meanwhile. */
int store_write(const struct store_file *f, const gnutls_datum_t *data,
		mode_t mode, bool replace);

int store_load_crt(const struct store_file *f, gnutls_x509_crt_t *crt);
int store_load_key(const struct store_file *f, gnutls_x509_privkey_t *key);
int store_load_crl(const struct store_file *f, gnutls_x509_crl_t *crl);

/* DIR/ca.crt and DIR/ca.key: a CA certificate, not expired, and its
 * key. Free with store_free_ca. */
int store_load_ca(struct store_ca *ca, const struct store_dir *d);
void store_free_ca(struct store_ca *ca);

/* Logs "PATH: cannot WHAT: GnuTLS's reason"; returns a negative errno. */
int pki_err(const char *path, const char *what, int gnutls_ret);
/* YYYY-MM-DD, UTC */
void pki_date(time_t t, char *buf, size_t size);
/* lower-case hex, as certtool prints serials */
void pki_hex(const unsigned char *b, size_t n, char *out, size_t size);

#endif
