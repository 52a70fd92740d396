/*
 * The directory behind culvertctl pki: every file opened relative to the
 * directory held open, written through a temporary file, and the CA
 * loaded only when its key, its certificate and the clock agree. See
 * pki_store.h.
 */
#include "pki_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "log.h"

/* PEM files larger than this are not what pki wrote. */
#define FILE_MAX (1 << 20)

/* ---- files: a directory held open, names relative to it */

int store_file(struct store_file *f, const struct store_dir *d,
	       const char *name, const char *ext)
{
	f->dir = d;
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s/%s%s", d->path,
			     name, ext) >= sizeof(f->path) ||
	    (size_t)snprintf(f->name, sizeof(f->name), "%s%s", name, ext) >=
		    sizeof(f->name)) {
		log_err("%s/%s%s: %s", d->path, name, ext,
			strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	return 0;
}

bool store_exists(const struct store_file *f)
{
	struct stat st;

	return fstatat(f->dir->fd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_refuse_existing(const struct store_file *f)
{
	if (!store_exists(f))
		return 0;
	log_err("%s exists: not replacing it", f->path);
	return -EEXIST;
}

int store_open_dir(struct store_dir *d, const char *path, bool create)
{
	d->path = path;
	if (create && mkdir(path, 0700) < 0 && errno != EEXIST) {
		int err = errno;
		log_err("cannot create the directory %s: %s", path,
			strerror(err));
		return -err;
	}
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		int err = errno;
		log_err("%s: %s", path, strerror(err));
		return -err;
	}
	struct stat st;
	d->shared = fstat(d->fd, &st) == 0 && (st.st_mode & S_IRGRP);
	d->gid = st.st_gid;
	return 0;
}

int store_share_dir(struct store_dir *d, gid_t gid)
{
	if (fchown(d->fd, 0, gid) < 0 || fchmod(d->fd, 0750) < 0) {
		int err = errno;
		log_err("cannot give %s to group %u: %s", d->path,
			(unsigned int)gid, strerror(err));
		return -err;
	}
	d->shared = true;
	d->gid = gid;
	return 0;
}

void store_wipe(gnutls_datum_t *d)
{
	if (d->data) {
		explicit_bzero(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

int store_read(const struct store_file *f, gnutls_datum_t *out)
{
	struct stat st;
	int fd, err = 0;

	out->data = NULL;
	out->size = 0;
	fd = openat(f->dir->fd, f->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		log_err("cannot read %s: %s", f->path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		log_err("%s is not a regular file of at most 1 MiB", f->path);
		close(fd);
		return -EINVAL;
	}
	out->data = gnutls_malloc((size_t)st.st_size + 1);
	if (!out->data) {
		close(fd);
		log_err("%s: out of memory", f->path);
		return -ENOMEM;
	}
	while (out->size < (size_t)st.st_size) {
		ssize_t n = read(fd, out->data + out->size,
				 (size_t)st.st_size - out->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		out->size += (unsigned int)n;
	}
	close(fd);
	if (err) {
		log_err("cannot read %s: %s", f->path, strerror(err));
		store_wipe(out);
		return -err;
	}
	out->data[out->size] = '\0';
	return 0;
}

static int write_all(int fd, const gnutls_datum_t *data)
{
	size_t done = 0;

	while (done < data->size) {
		ssize_t n = write(fd, data->data + done, data->size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Moves tmp to f's name; without replace, only if that name is free,
 * so two runs at once cannot both believe they made the file. */
static int place(const struct store_file *f, const char *tmp, bool replace)
{
	int dfd = f->dir->fd;

	if (replace)
		return renameat(dfd, tmp, dfd, f->name) < 0 ? -errno : 0;
	if (renameat2(dfd, tmp, dfd, f->name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A file system without RENAME_NOREPLACE: link(2) will not
	 * replace either. */
	if (linkat(dfd, tmp, dfd, f->name, 0) < 0)
		return -errno;
	unlinkat(dfd, tmp, 0);
	return 0;
}

/* The temporary file is created mode 0600 (O_CREAT | O_EXCL): a key is
 * never readable by others, not even for a moment. */
int store_write(const struct store_file *f, const gnutls_datum_t *data,
		mode_t mode, bool replace)
{
	char tmp[NAME_MAX + 1];
	unsigned char rnd[6];
	int fd, err;

	if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof(rnd)) < 0)
		memset(rnd, 0, sizeof(rnd));
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%.200s.%02x%02x%02x%02x%02x%02x",
			     f->name, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			     rnd[5]) >= sizeof(tmp)) {
		log_err("%s: %s", f->path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = openat(f->dir->fd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		log_err("%s: cannot create %s/%s: %s", f->path, f->dir->path,
			tmp, strerror(errno));
		return err;
	}
	/* fchmod, not the umask: a certificate is for everyone to read. */
	if ((f->dir->shared && fchown(fd, (uid_t)-1, f->dir->gid) < 0) ||
	    fchmod(fd, mode) < 0 || (err = write_all(fd, data)) < 0 ||
	    fsync(fd) < 0) {
		err = -errno;
		log_err("cannot write %s: %s", f->path, strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		err = -errno;
		log_err("cannot write %s: %s", f->path, strerror(errno));
		goto fail;
	}
	err = place(f, tmp, replace);
	if (err == -EEXIST) {
		log_err("%s exists: not replacing it", f->path);
		goto fail;
	}
	if (err < 0) {
		log_err("cannot rename %s/%s to %s: %s", f->dir->path, tmp,
			f->path, strerror(-err));
		goto fail;
	}
	fsync(f->dir->fd);	/* the rename itself survives a crash */
	return 0;
fail:
	unlinkat(f->dir->fd, tmp, 0);
	return err;
}

/* ---- GnuTLS objects from files */

int pki_err(const char *path, const char *what, int ret)
{
	log_err("%s: cannot %s: %s", path, what, gnutls_strerror(ret));
	return ret == GNUTLS_E_MEMORY_ERROR ? -ENOMEM : -EINVAL;
}

int store_load_crt(const struct store_file *f, gnutls_x509_crt_t *crt)
{
	gnutls_datum_t pem;
	int err = store_read(f, &pem), ret;

	if (err < 0)
		return err;
	if ((ret = gnutls_x509_crt_init(crt)) < 0 ||
	    (ret = gnutls_x509_crt_import(*crt, &pem, GNUTLS_X509_FMT_PEM)) < 0) {
		log_err("%s holds no PEM certificate: %s", f->path,
			gnutls_strerror(ret));
		err = -EINVAL;
	}
	store_wipe(&pem);
	return err;
}

int store_load_key(const struct store_file *f, gnutls_x509_privkey_t *key)
{
	gnutls_datum_t pem;
	int err = store_read(f, &pem), ret;

	if (err < 0)
		return err;
	if ((ret = gnutls_x509_privkey_init(key)) < 0 ||
	    (ret = gnutls_x509_privkey_import2(*key, &pem, GNUTLS_X509_FMT_PEM,
					       NULL, 0)) < 0) {
		log_err("%s is not an unencrypted PEM private key: %s",
			f->path, gnutls_strerror(ret));
		err = -EINVAL;
	}
	store_wipe(&pem);
	return err;
}

int store_load_crl(const struct store_file *f, gnutls_x509_crl_t *crl)
{
	gnutls_datum_t pem;
	int err = store_read(f, &pem), ret;

	if (err < 0)
		return err;
	if ((ret = gnutls_x509_crl_init(crl)) < 0 ||
	    (ret = gnutls_x509_crl_import(*crl, &pem, GNUTLS_X509_FMT_PEM)) < 0) {
		log_err("%s holds no PEM CRL: %s", f->path,
			gnutls_strerror(ret));
		err = -EINVAL;
	}
	store_wipe(&pem);
	return err;
}

void pki_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "(unknown date)");
}

void pki_hex(const unsigned char *b, size_t n, char *out, size_t size)
{
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	out[2 * i] = '\0';
}

/* ---- the CA of a directory */

void store_free_ca(struct store_ca *ca)
{
	if (ca->crt)
		gnutls_x509_crt_deinit(ca->crt);
	if (ca->key)
		gnutls_privkey_deinit(ca->key);
	ca->crt = NULL;
	ca->key = NULL;
}

int store_load_ca(struct store_ca *ca, const struct store_dir *d)
{
	struct store_file kf;
	gnutls_x509_privkey_t xkey = NULL;
	unsigned char a[64], b[64];
	size_t na = sizeof(a), nb = sizeof(b);
	char date[32];
	int err, ret;

	memset(ca, 0, sizeof(*ca));
	if ((err = store_file(&ca->crt_file, d, "ca", ".crt")) < 0 ||
	    (err = store_file(&kf, d, "ca", ".key")) < 0)
		return err;
	if (!store_exists(&ca->crt_file)) {
		log_err("%s does not exist: make the CA first (culvertctl pki init %s)",
			ca->crt_file.path, d->path);
		return -ENOENT;
	}
	if ((err = store_load_crt(&ca->crt_file, &ca->crt)) < 0 ||
	    (err = store_load_key(&kf, &xkey)) < 0)
		goto fail;
	err = -EINVAL;
	if (gnutls_x509_crt_get_ca_status(ca->crt, NULL) <= 0) {
		log_err("%s is not a CA certificate", ca->crt_file.path);
		goto fail;
	}
	if (gnutls_x509_crt_get_key_id(ca->crt, GNUTLS_KEYID_USE_SHA256, a, &na) < 0 ||
	    gnutls_x509_privkey_get_key_id(xkey, GNUTLS_KEYID_USE_SHA256, b, &nb) < 0 ||
	    na != nb || memcmp(a, b, na) != 0) {
		log_err("%s is not the private key of %s", kf.path,
			ca->crt_file.path);
		goto fail;
	}
	time_t expires = gnutls_x509_crt_get_expiration_time(ca->crt);
	if (expires != (time_t)-1 && expires <= time(NULL)) {
		pki_date(expires, date, sizeof(date));
		log_err("%s expired on %s: what it signs is not valid; make a new CA",
			ca->crt_file.path, date);
		goto fail;
	}
	if ((ret = gnutls_privkey_init(&ca->key)) < 0 ||
	    (ret = gnutls_privkey_import_x509(ca->key, xkey,
					      GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0) {
		err = pki_err(kf.path, "use the key", ret);
		goto fail;
	}
	return 0;
fail:
	if (xkey)
		gnutls_x509_privkey_deinit(xkey);
	store_free_ca(ca);
	return err;
}
