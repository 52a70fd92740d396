/* culvertctl pki's CA (pki.c, pki_crl.c, pki_store.c): what a TLS peer
 * checks in each certificate it makes, the modes of the files, the CRL
 * as certtool and culvertd read it, and everything it must refuse. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"
#include "pki.h"

#define DAY 86400

/* ---- fixtures: a private directory per test, every line logged */

static char top[4096], dir[4200], pki[4300];
static char logged[16384];

static void capture(int priority, const char *line, void *arg)
{
	size_t used = strlen(logged);

	snprintf(logged + used, sizeof(logged) - used, "%s\n", line);
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char sub[8192];
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(sub);
		else
			unlink(sub);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static void make_top(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(top, sizeof(top), "%s/culvert-test-pki.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(top));
}

static void remove_top(void)
{
	remove_tree(top);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "%s/test.XXXXXX", top);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* not made yet: pki_init makes it */
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	logged[0] = '\0';
	log_set_sink(capture, NULL);
}

static void teardown(void)
{
	log_set_sink(NULL, NULL);
	remove_tree(dir);
}

/* d/name, in a static buffer (one of four, so calls can nest). */
static const char *at(const char *d, const char *name)
{
	static char paths[4][8192];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", d, name);
	return p;
}

static const struct pki_options defaults = { .key = PKI_KEY_ECDSA };

static void init_ok(const char *d)
{
	int err = pki_init(d, &defaults);

	ck_assert_msg(err == 0, "pki_init %s: %d: %s", d, err, logged);
}

static void issue_ok(const char *d, enum pki_role role, const char *name,
		     const struct pki_options *o)
{
	int err = pki_issue(d, role, name, o ? o : &defaults);

	ck_assert_msg(err == 0, "pki_issue %s: %d: %s", name, err, logged);
}

static gnutls_datum_t slurp(const char *path)
{
	gnutls_datum_t d = { NULL, 0 };

	ck_assert_msg(gnutls_load_file(path, &d) == 0, "cannot read %s", path);
	return d;
}

static gnutls_x509_crt_t crt_of(const char *path)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = slurp(path);

	ck_assert_int_eq(gnutls_x509_crt_init(&crt), 0);
	ck_assert_msg(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) == 0,
		      "%s is no PEM certificate", path);
	gnutls_free(d.data);
	return crt;
}

static gnutls_x509_privkey_t key_of(const char *path)
{
	gnutls_x509_privkey_t key;
	gnutls_datum_t d = slurp(path);

	ck_assert_int_eq(gnutls_x509_privkey_init(&key), 0);
	ck_assert_msg(gnutls_x509_privkey_import2(key, &d, GNUTLS_X509_FMT_PEM,
						  NULL, 0) == 0,
		      "%s is no PEM key", path);
	gnutls_free(d.data);
	return key;
}

static gnutls_x509_crl_t crl_of(const char *path)
{
	gnutls_x509_crl_t crl;
	gnutls_datum_t d = slurp(path);

	ck_assert_int_eq(gnutls_x509_crl_init(&crl), 0);
	ck_assert_msg(gnutls_x509_crl_import(crl, &d, GNUTLS_X509_FMT_PEM) == 0,
		      "%s is no PEM CRL", path);
	gnutls_free(d.data);
	return crl;
}

static unsigned int mode_of(const char *path)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The directory holds exactly these names: no temporary file left. */
static void only_files(const char *d, const char *const *names, size_t n)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	size_t seen = 0;

	ck_assert_ptr_nonnull(dp);
	while ((e = readdir(dp))) {
		bool known = false;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			known |= strcmp(e->d_name, names[i]) == 0;
		ck_assert_msg(known, "unexpected file %s in %s", e->d_name, d);
		seen++;
	}
	closedir(dp);
	ck_assert_uint_eq(seen, n);
}

static void cn_is(gnutls_x509_crt_t crt, const char *cn)
{
	char buf[256];
	size_t n = sizeof(buf);

	ck_assert_int_eq(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						       0, 0, buf, &n), 0);
	ck_assert_str_eq(buf, cn);
}

static void lifetime_is(gnutls_x509_crt_t crt, unsigned int days)
{
	time_t now = time(NULL);
	time_t from = gnutls_x509_crt_get_activation_time(crt);
	time_t until = gnutls_x509_crt_get_expiration_time(crt);

	ck_assert(from <= now);
	ck_assert(until > now + (time_t)days * DAY - 120);
	ck_assert(until <= now + (time_t)days * DAY);
}

/* 16 bytes, positive, in minimal DER */
static void serial_ok(gnutls_x509_crt_t crt)
{
	unsigned char s[64];
	size_t n = sizeof(s);

	ck_assert_int_eq(gnutls_x509_crt_get_serial(crt, s, &n), 0);
	ck_assert_uint_eq(n, 16);
	ck_assert(s[0] != 0 && !(s[0] & 0x80));
}

static void verifies(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca)
{
	unsigned int status = 1;

	ck_assert_int_eq(gnutls_x509_crt_verify(crt, &ca, 1, 0, &status), 0);
	ck_assert_msg(status == 0, "verification status %#x", status);
}

static void key_belongs(const char *key_path, gnutls_x509_crt_t crt)
{
	unsigned char a[64], b[64];
	size_t na = sizeof(a), nb = sizeof(b);
	gnutls_x509_privkey_t key = key_of(key_path);

	ck_assert_int_eq(gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, a, &na), 0);
	ck_assert_int_eq(gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, b, &nb), 0);
	ck_assert(na == nb && memcmp(a, b, na) == 0);
	gnutls_x509_privkey_deinit(key);
}

/* The one key purpose OID, or "" if none */
static const char *purpose(gnutls_x509_crt_t crt)
{
	static char oid[128];
	size_t n = sizeof(oid);

	if (gnutls_x509_crt_get_key_purpose_oid(crt, 0, oid, &n, NULL) < 0)
		return "";
	n = 64;
	char other[64];
	ck_assert_msg(gnutls_x509_crt_get_key_purpose_oid(crt, 1, other, &n, NULL) < 0,
		      "more than one key purpose");
	return oid;
}

static unsigned int usage(gnutls_x509_crt_t crt, unsigned int *critical)
{
	unsigned int u = 0;

	ck_assert_int_ge(gnutls_x509_crt_get_key_usage(crt, &u, critical), 0);
	return u;
}

/* ---- the CA */

START_TEST(init_makes_a_ca)
{
	struct pki_options o = { .key = PKI_KEY_ECDSA, .cn = "test CA" };
	unsigned int critical = 0, ca = 0, bits = 0;
	int pathlen = -2;
	unsigned char id[64];
	size_t n = sizeof(id);

	ck_assert_int_eq(pki_init(pki, &o), 0);
	ck_assert_uint_eq(mode_of(pki), 0700);
	ck_assert_uint_eq(mode_of(at(pki, "ca.key")), 0600);
	ck_assert_uint_eq(mode_of(at(pki, "ca.crt")), 0644);
	const char *const files[] = { "ca.crt", "ca.key" };
	only_files(pki, files, 2);
	ck_assert_ptr_nonnull(strstr(logged, "ca.crt: CA 'test CA', valid until"));

	gnutls_x509_crt_t crt = crt_of(at(pki, "ca.crt"));
	ck_assert_int_eq(gnutls_x509_crt_get_version(crt), 3);
	cn_is(crt, "test CA");
	serial_ok(crt);
	lifetime_is(crt, PKI_CA_DAYS);
	verifies(crt, crt);
	ck_assert_int_gt(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen), 0);
	ck_assert(critical && ca);
	ck_assert_int_eq(pathlen, 0);
	ck_assert_uint_eq(usage(crt, &critical),
			  GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
	ck_assert(critical);
	ck_assert_str_eq(purpose(crt), "");
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(crt, id, &n, NULL), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_ECDSA);
	ck_assert_int_eq(gnutls_x509_crt_get_signature_algorithm(crt),
			 GNUTLS_SIGN_ECDSA_SHA256);
	key_belongs(at(pki, "ca.key"), crt);
	gnutls_x509_crt_deinit(crt);
}
END_TEST

START_TEST(init_default_name)
{
	init_ok(pki);
	gnutls_x509_crt_t crt = crt_of(at(pki, "ca.crt"));
	cn_is(crt, "culvert CA");
	gnutls_x509_crt_deinit(crt);
}
END_TEST

START_TEST(init_refuses_to_overwrite)
{
	init_ok(pki);
	gnutls_datum_t before = slurp(at(pki, "ca.crt"));
	gnutls_datum_t key_before = slurp(at(pki, "ca.key"));

	ck_assert_int_eq(pki_init(pki, &defaults), -EEXIST);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.crt exists: not replacing it"));
	/* and with the key alone */
	ck_assert_int_eq(unlink(at(pki, "ca.crt")), 0);
	logged[0] = '\0';
	ck_assert_int_eq(pki_init(pki, &defaults), -EEXIST);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.key exists: not replacing it"));
	ck_assert(!exists(at(pki, "ca.crt")));
	gnutls_datum_t key_after = slurp(at(pki, "ca.key"));
	ck_assert(key_before.size == key_after.size &&
		  memcmp(key_before.data, key_after.data, key_after.size) == 0);
	gnutls_free(before.data);
	gnutls_free(key_before.data);
	gnutls_free(key_after.data);
}
END_TEST

START_TEST(init_refuses_bad_names)
{
	struct pki_options o = { .cn = "" };

	ck_assert_int_eq(pki_init(pki, &o), -EINVAL);
	o.cn = "a\nb";
	ck_assert_int_eq(pki_init(pki, &o), -EINVAL);
	o.cn = "an overly long name for a CA, longer than sixty-four characters!!";
	ck_assert_int_eq(pki_init(pki, &o), -EINVAL);
	o.cn = "ok";
	o.days = PKI_MAX_DAYS + 1;
	ck_assert_int_eq(pki_init(pki, &o), -EINVAL);
	ck_assert(!exists(pki));
}
END_TEST

/* The umask does not decide: keys 0600, certificates 0644. */
START_TEST(modes_whatever_the_umask)
{
	mode_t old = umask(0);

	init_ok(pki);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	umask(077);
	issue_ok(pki, PKI_CLIENT, "bob", NULL);
	umask(old);
	ck_assert_uint_eq(mode_of(at(pki, "ca.key")), 0600);
	ck_assert_uint_eq(mode_of(at(pki, "alice.key")), 0600);
	ck_assert_uint_eq(mode_of(at(pki, "alice.crt")), 0644);
	ck_assert_uint_eq(mode_of(at(pki, "bob.key")), 0600);
	ck_assert_uint_eq(mode_of(at(pki, "bob.crt")), 0644);
}
END_TEST

/* pki init --group: what a culvertd running as that group reads again
 * on a reload is the group's to read (root:GROUP 0640 in a 0750 dir),
 * the CA's key never. Owners are root's: only root can do it. */
static gid_t some_group(void)
{
	return getgrnam("nogroup") ? getgrnam("nogroup")->gr_gid : getgid();
}

static void owned(const char *path, gid_t gid, unsigned int mode)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(st.st_uid == 0 && st.st_gid == gid &&
			      (st.st_mode & 07777) == mode,
		      "%s is %u:%u %04o, expected 0:%u %04o", path,
		      (unsigned int)st.st_uid, (unsigned int)st.st_gid,
		      (unsigned int)(st.st_mode & 07777), (unsigned int)gid,
		      mode);
}

START_TEST(group_shared_directory)
{
	if (geteuid() != 0)
		return;		/* giving files to root takes root */
	gid_t gid = some_group();
	struct pki_options o = { .has_group = true, .group = gid };

	ck_assert_int_eq(pki_init(pki, &o), 0);
	owned(pki, gid, 0750);
	owned(at(pki, "ca.key"), gid, 0600);
	owned(at(pki, "ca.crt"), gid, 0644);
	issue_ok(pki, PKI_SERVER, "vpn.example.org", NULL);
	owned(at(pki, "vpn.example.org.key"), gid, 0640);
	owned(at(pki, "vpn.example.org.crt"), gid, 0644);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	owned(at(pki, "alice.key"), gid, 0640);
	ck_assert_int_eq(pki_revoke(pki, "alice"), 0);
	owned(at(pki, "crl.pem"), gid, 0644);

	/* Again: refused, and the directory left as it is. */
	chmod(pki, 0700);
	ck_assert_int_eq(pki_init(pki, &o), -EEXIST);
	owned(pki, gid, 0700);
}
END_TEST

/* ---- servers and clients */

START_TEST(server_certificate)
{
	const char *dns[] = { "alt.example.org" };
	const char *ips[] = { "192.0.2.1", "2001:db8::1" };
	struct pki_options o = { .dns = dns, .n_dns = 1, .ips = ips, .n_ips = 2 };
	unsigned int critical = 0, ca = 1;
	int pathlen;

	init_ok(pki);
	issue_ok(pki, PKI_SERVER, "vpn.example.org", &o);
	ck_assert_ptr_nonnull(strstr(logged, "vpn.example.org.crt: server certificate for host 'vpn.example.org'"));
	ck_assert_uint_eq(mode_of(at(pki, "vpn.example.org.key")), 0600);
	ck_assert_uint_eq(mode_of(at(pki, "vpn.example.org.crt")), 0644);

	gnutls_x509_crt_t cacrt = crt_of(at(pki, "ca.crt"));
	gnutls_x509_crt_t crt = crt_of(at(pki, "vpn.example.org.crt"));
	verifies(crt, cacrt);
	key_belongs(at(pki, "vpn.example.org.key"), crt);
	cn_is(crt, "vpn.example.org");
	serial_ok(crt);
	lifetime_is(crt, PKI_LEAF_DAYS);
	ck_assert_int_eq(gnutls_x509_crt_get_version(crt), 3);
	ck_assert_int_eq(gnutls_x509_crt_get_basic_constraints(crt, &critical, &ca, &pathlen), 0);
	ck_assert(!ca);
	ck_assert_uint_eq(usage(crt, &critical), GNUTLS_KEY_DIGITAL_SIGNATURE);
	ck_assert(critical);
	ck_assert_str_eq(purpose(crt), GNUTLS_KP_TLS_WWW_SERVER);

	/* the SAN, in order */
	char san[64];
	size_t n;
	unsigned char v4[] = { 192, 0, 2, 1 };
	n = sizeof(san);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &n, NULL),
			 GNUTLS_SAN_DNSNAME);
	ck_assert_str_eq(san, "vpn.example.org");
	n = sizeof(san);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 1, san, &n, NULL),
			 GNUTLS_SAN_DNSNAME);
	ck_assert_str_eq(san, "alt.example.org");
	n = sizeof(san);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 2, san, &n, NULL),
			 GNUTLS_SAN_IPADDRESS);
	ck_assert(n == 4 && memcmp(san, v4, 4) == 0);
	n = sizeof(san);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 3, san, &n, NULL),
			 GNUTLS_SAN_IPADDRESS);
	ck_assert_uint_eq(n, 16);
	n = sizeof(san);
	ck_assert_int_lt(gnutls_x509_crt_get_subject_alt_name(crt, 4, san, &n, NULL), 0);

	/* as a client checks server-name */
	ck_assert(gnutls_x509_crt_check_hostname(crt, "vpn.example.org"));
	ck_assert(gnutls_x509_crt_check_hostname(crt, "alt.example.org"));
	ck_assert(gnutls_x509_crt_check_hostname(crt, "192.0.2.1"));
	ck_assert(gnutls_x509_crt_check_hostname(crt, "2001:db8::1"));
	ck_assert(!gnutls_x509_crt_check_hostname(crt, "wrong.example.org"));
	ck_assert(!gnutls_x509_crt_check_hostname(crt, "192.0.2.2"));

	/* the authority key id names the CA */
	unsigned char aki[64], ski[64];
	size_t na = sizeof(aki), ns = sizeof(ski);
	ck_assert_int_eq(gnutls_x509_crt_get_authority_key_id(crt, aki, &na, NULL), 0);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_key_id(cacrt, ski, &ns, NULL), 0);
	ck_assert(na == ns && memcmp(aki, ski, na) == 0);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(cacrt);
}
END_TEST

START_TEST(server_named_by_address)
{
	char san[64];
	size_t n = sizeof(san);

	init_ok(pki);
	issue_ok(pki, PKI_SERVER, "192.0.2.1", NULL);
	gnutls_x509_crt_t crt = crt_of(at(pki, "192.0.2.1.crt"));
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &n, NULL),
			 GNUTLS_SAN_IPADDRESS);
	ck_assert_uint_eq(n, 4);
	n = sizeof(san);
	ck_assert_int_lt(gnutls_x509_crt_get_subject_alt_name(crt, 1, san, &n, NULL), 0);
	ck_assert(gnutls_x509_crt_check_hostname(crt, "192.0.2.1"));
	gnutls_x509_crt_deinit(crt);
}
END_TEST

START_TEST(client_certificate)
{
	char san[64];
	size_t n = sizeof(san);
	unsigned int critical;

	init_ok(pki);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	ck_assert_ptr_nonnull(strstr(logged, "alice.crt: client certificate for user 'alice'"));
	gnutls_x509_crt_t cacrt = crt_of(at(pki, "ca.crt"));
	gnutls_x509_crt_t crt = crt_of(at(pki, "alice.crt"));
	verifies(crt, cacrt);
	key_belongs(at(pki, "alice.key"), crt);
	cn_is(crt, "alice");
	serial_ok(crt);
	lifetime_is(crt, PKI_LEAF_DAYS);
	ck_assert_str_eq(purpose(crt), GNUTLS_KP_TLS_WWW_CLIENT);
	ck_assert_uint_eq(usage(crt, &critical), GNUTLS_KEY_DIGITAL_SIGNATURE);
	ck_assert_int_eq(gnutls_x509_crt_get_subject_alt_name(crt, 0, san, &n, NULL),
			 GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	/* a fresh serial each time */
	issue_ok(pki, PKI_CLIENT, "bob", NULL);
	gnutls_x509_crt_t bob = crt_of(at(pki, "bob.crt"));
	unsigned char s1[32], s2[32];
	size_t n1 = sizeof(s1), n2 = sizeof(s2);
	gnutls_x509_crt_get_serial(crt, s1, &n1);
	gnutls_x509_crt_get_serial(bob, s2, &n2);
	ck_assert(n1 != n2 || memcmp(s1, s2, n1) != 0);
	gnutls_x509_crt_deinit(bob);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(cacrt);
}
END_TEST

START_TEST(rsa_and_days)
{
	struct pki_options o = { .key = PKI_KEY_RSA, .days = 30 };
	unsigned int bits = 0, critical;

	init_ok(pki);
	issue_ok(pki, PKI_CLIENT, "carol", &o);
	gnutls_x509_crt_t cacrt = crt_of(at(pki, "ca.crt"));
	gnutls_x509_crt_t crt = crt_of(at(pki, "carol.crt"));
	verifies(crt, cacrt);
	ck_assert_int_eq(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_RSA);
	ck_assert_uint_eq(bits, 3072);
	ck_assert_uint_eq(usage(crt, &critical),
			  GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_ENCIPHERMENT);
	lifetime_is(crt, 30);
	key_belongs(at(pki, "carol.key"), crt);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_crt_deinit(cacrt);
}
END_TEST

/* A leaf that outlives its CA is made, with a warning. */
START_TEST(outliving_the_ca)
{
	struct pki_options o = { .days = 100 };
	struct pki_options leaf = { .days = 200 };

	ck_assert_int_eq(pki_init(pki, &o), 0);
	issue_ok(pki, PKI_CLIENT, "dave", &leaf);
	ck_assert_ptr_nonnull(strstr(logged, "dave.crt: it outlives"));
}
END_TEST

START_TEST(issue_refuses)
{
	const char *bad_dns[] = { "bad_name.example.org" };
	const char *bad_ip[] = { "192.0.2.300" };
	struct pki_options o = { 0 };

	/* no CA yet */
	ck_assert_int_eq(mkdir(pki, 0700), 0);
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "alice", &defaults), -ENOENT);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.crt does not exist: make the CA first (culvertctl pki init"));
	ck_assert_int_eq(pki_issue(at(dir, "nowhere"), PKI_CLIENT, "alice", &defaults), -ENOENT);
	ck_assert_ptr_nonnull(strstr(logged, "/nowhere: No such file or directory"));

	init_ok(pki);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	gnutls_datum_t before = slurp(at(pki, "alice.crt"));
	logged[0] = '\0';
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "alice", &defaults), -EEXIST);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/alice.crt exists: not replacing it"));
	/* a server of the same name is refused too: the same files */
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "alice", &defaults), -EEXIST);
	gnutls_datum_t after = slurp(at(pki, "alice.crt"));
	ck_assert(before.size == after.size &&
		  memcmp(before.data, after.data, after.size) == 0);
	gnutls_free(before.data);
	gnutls_free(after.data);
	/* the CA's own files */
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "ca", &defaults), -EEXIST);

	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "../alice", &defaults), -EINVAL);
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, ".alice", &defaults), -EINVAL);
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "", &defaults), -EINVAL);
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "a/b", &defaults), -EINVAL);
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "..", &defaults), -EINVAL);
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "-x.example.org", &defaults), -EINVAL);
	o.dns = bad_dns;
	o.n_dns = 1;
	logged[0] = '\0';
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "vpn.example.org", &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "'bad_name.example.org' is not a host name"));
	o.n_dns = 0;
	o.ips = bad_ip;
	o.n_ips = 1;
	logged[0] = '\0';
	ck_assert_int_eq(pki_issue(pki, PKI_SERVER, "vpn.example.org", &o), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "'192.0.2.300' is not an IPv4 or IPv6 address"));
	o.n_ips = 0;
	o.days = PKI_MAX_DAYS + 1;
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "bob", &o), -EINVAL);

	const char *const files[] = { "ca.crt", "ca.key", "alice.crt", "alice.key" };
	only_files(pki, files, 4);
}
END_TEST

/* ca.key must be ca.crt's, and ca.crt a CA. */
START_TEST(foreign_ca_key)
{
	char other[4400];

	snprintf(other, sizeof(other), "%s/other", dir);
	init_ok(pki);
	init_ok(other);
	ck_assert_int_eq(rename(at(other, "ca.key"), at(pki, "ca.key")), 0);
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "alice", &defaults), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.key is not the private key of"));
	ck_assert(!exists(at(pki, "alice.key")));

	/* a leaf in the CA's place */
	ck_assert_int_eq(rename(at(other, "ca.crt"), at(pki, "ca.crt")), 0);
	issue_ok(pki, PKI_CLIENT, "bob", NULL);
	ck_assert_int_eq(rename(at(pki, "bob.crt"), at(pki, "ca.crt")), 0);
	ck_assert_int_eq(rename(at(pki, "bob.key"), at(pki, "ca.key")), 0);
	logged[0] = '\0';
	ck_assert_int_eq(pki_issue(pki, PKI_CLIENT, "alice", &defaults), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.crt is not a CA certificate"));
}
END_TEST

START_TEST(host_names)
{
	char label63[64], label64[65], long_name[300];

	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	ck_assert(pki_valid_dns_name("a"));
	ck_assert(pki_valid_dns_name("vpn.example.org"));
	ck_assert(pki_valid_dns_name("a-b.c0.EXAMPLE"));
	ck_assert(pki_valid_dns_name(label63));
	ck_assert(!pki_valid_dns_name(label64));
	ck_assert(!pki_valid_dns_name(""));
	ck_assert(!pki_valid_dns_name("."));
	ck_assert(!pki_valid_dns_name("a..b"));
	ck_assert(!pki_valid_dns_name("-a"));
	ck_assert(!pki_valid_dns_name("a-"));
	ck_assert(!pki_valid_dns_name("a.-b"));
	ck_assert(!pki_valid_dns_name("a."));
	ck_assert(!pki_valid_dns_name(".a"));
	ck_assert(!pki_valid_dns_name("a_b"));
	ck_assert(!pki_valid_dns_name("*.example.org"));
	ck_assert(!pki_valid_dns_name("a b"));
	ck_assert(!pki_valid_dns_name("a/b"));
	/* 4 x 63 + 3 dots = 255 > 253 */
	snprintf(long_name, sizeof(long_name), "%s.%s.%s.%s", label63, label63,
		 label63, label63);
	ck_assert(!pki_valid_dns_name(long_name));
}
END_TEST

/* ---- the CRL */

static void serial_of(const char *path, unsigned char *s, size_t *n)
{
	gnutls_x509_crt_t crt = crt_of(path);

	ck_assert_int_eq(gnutls_x509_crt_get_serial(crt, s, n), 0);
	gnutls_x509_crt_deinit(crt);
}

/* crl.pem verifies against the CA, and holds what it should */
static gnutls_x509_crl_t crl_ok(int count, unsigned int number)
{
	gnutls_x509_crt_t ca = crt_of(at(pki, "ca.crt"));
	gnutls_x509_crl_t crl = crl_of(at(pki, "crl.pem"));
	unsigned int status = 1;
	unsigned char nr[16];
	size_t n = sizeof(nr);
	time_t now = time(NULL);

	ck_assert_uint_eq(mode_of(at(pki, "crl.pem")), 0644);
	ck_assert_int_eq(gnutls_x509_crl_verify(crl, &ca, 1, 0, &status), 0);
	ck_assert_msg(status == 0, "CRL verification status %#x", status);
	ck_assert_int_eq(gnutls_x509_crl_get_version(crl), 2);
	ck_assert_int_eq(gnutls_x509_crl_get_crt_count(crl), count);
	ck_assert(gnutls_x509_crl_get_this_update(crl) <= now);
	time_t next = gnutls_x509_crl_get_next_update(crl);
	ck_assert(next > now + PKI_CRL_DAYS * DAY - 120 && next <= now + PKI_CRL_DAYS * DAY);
	ck_assert_int_eq(gnutls_x509_crl_get_number(crl, nr, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(nr[0], number);
	gnutls_x509_crt_deinit(ca);
	return crl;
}

static bool crl_holds(gnutls_x509_crl_t crl, const char *crt_path)
{
	unsigned char want[64], s[64];
	size_t nw = sizeof(want);

	serial_of(crt_path, want, &nw);
	for (int i = 0; i < gnutls_x509_crl_get_crt_count(crl); i++) {
		size_t n = sizeof(s);
		time_t t;
		ck_assert_int_eq(gnutls_x509_crl_get_crt_serial(crl, (unsigned int)i, s, &n, &t), 0);
		if (n == nw && memcmp(s, want, n) == 0)
			return true;
	}
	return false;
}

START_TEST(revoke_makes_and_extends_the_list)
{
	gnutls_x509_crl_t crl;

	init_ok(pki);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	issue_ok(pki, PKI_CLIENT, "bob", NULL);
	issue_ok(pki, PKI_SERVER, "vpn.example.org", NULL);

	ck_assert_int_eq(pki_revoke(pki, "bob"), 0);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/crl.pem: revoked bob (serial "));
	crl = crl_ok(1, 1);
	ck_assert(crl_holds(crl, at(pki, "bob.crt")));
	ck_assert(!crl_holds(crl, at(pki, "alice.crt")));
	gnutls_x509_crl_deinit(crl);

	ck_assert_int_eq(pki_revoke(pki, "alice"), 0);
	crl = crl_ok(2, 2);
	ck_assert(crl_holds(crl, at(pki, "bob.crt")));
	ck_assert(crl_holds(crl, at(pki, "alice.crt")));
	gnutls_x509_crl_deinit(crl);

	/* again: no second entry, but signed anew */
	logged[0] = '\0';
	ck_assert_int_eq(pki_revoke(pki, "bob"), 0);
	ck_assert_ptr_nonnull(strstr(logged, "was revoked already"));
	gnutls_x509_crl_deinit(crl_ok(2, 3));

	ck_assert_int_eq(pki_revoke(pki, NULL), 0);
	crl = crl_ok(2, 4);
	ck_assert(!crl_holds(crl, at(pki, "vpn.example.org.crt")));
	gnutls_x509_crl_deinit(crl);

	/* and the revoked certificate fails verification with the list */
	gnutls_x509_trust_list_t tl;
	gnutls_x509_crt_t ca = crt_of(at(pki, "ca.crt"));
	gnutls_x509_crt_t bob = crt_of(at(pki, "bob.crt"));
	gnutls_x509_crt_t srv = crt_of(at(pki, "vpn.example.org.crt"));
	gnutls_x509_crl_t list = crl_of(at(pki, "crl.pem"));
	unsigned int status = 0;
	ck_assert_int_eq(gnutls_x509_trust_list_init(&tl, 0), 0);
	ck_assert_int_eq(gnutls_x509_trust_list_add_cas(tl, &ca, 1, 0), 1);
	ck_assert_int_eq(gnutls_x509_trust_list_add_crls(tl, &list, 1, GNUTLS_TL_VERIFY_CRL, 0), 1);
	ck_assert_int_eq(gnutls_x509_trust_list_verify_crt(tl, &bob, 1, 0, &status, NULL), 0);
	ck_assert(status & GNUTLS_CERT_REVOKED);
	ck_assert_int_eq(gnutls_x509_trust_list_verify_crt(tl, &srv, 1, 0, &status, NULL), 0);
	ck_assert_uint_eq(status, 0);
	gnutls_x509_trust_list_deinit(tl, 1);	/* frees ca and list */
	gnutls_x509_crt_deinit(bob);
	gnutls_x509_crt_deinit(srv);

	const char *const files[] = { "ca.crt", "ca.key", "alice.crt", "alice.key",
				      "bob.crt", "bob.key", "vpn.example.org.crt",
				      "vpn.example.org.key", "crl.pem" };
	only_files(pki, files, 9);
}
END_TEST

START_TEST(revoke_refuses)
{
	char other[4400];

	snprintf(other, sizeof(other), "%s/other", dir);
	init_ok(pki);
	init_ok(other);
	issue_ok(other, PKI_CLIENT, "mallory", NULL);
	ck_assert_int_eq(rename(at(other, "mallory.crt"), at(pki, "mallory.crt")), 0);

	ck_assert_int_eq(pki_revoke(pki, "mallory"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/mallory.crt was not issued by"));
	ck_assert_int_eq(pki_revoke(pki, "ca"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/ca.crt is the CA itself"));
	ck_assert_int_eq(pki_revoke(pki, "nobody"), -ENOENT);
	ck_assert_ptr_nonnull(strstr(logged, "cannot read "));
	ck_assert_ptr_nonnull(strstr(logged, "/pki/nobody.crt: No such file or directory"));
	ck_assert_int_eq(pki_revoke(pki, "../other/mallory"), -EINVAL);
	ck_assert_int_eq(pki_revoke(pki, ".x"), -EINVAL);
	ck_assert_int_eq(pki_revoke(pki, ""), -EINVAL);
	ck_assert(!exists(at(pki, "crl.pem")));

	/* another CA's list is not extended */
	ck_assert_int_eq(pki_revoke(other, NULL), 0);
	ck_assert_int_eq(rename(at(other, "crl.pem"), at(pki, "crl.pem")), 0);
	issue_ok(pki, PKI_CLIENT, "alice", NULL);
	logged[0] = '\0';
	ck_assert_int_eq(pki_revoke(pki, "alice"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(logged, "/pki/crl.pem is not signed by"));

	/* and init will not start a CA over a list */
	char third[4400];
	snprintf(third, sizeof(third), "%s/third", dir);
	ck_assert_int_eq(mkdir(third, 0700), 0);
	ck_assert_int_eq(rename(at(pki, "crl.pem"), at(third, "crl.pem")), 0);
	ck_assert_int_eq(pki_init(third, &defaults), -EEXIST);
	ck_assert(!exists(at(third, "ca.key")));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pki");
	TCase *ca = tcase_create("ca");
	TCase *leaf = tcase_create("leaf");
	TCase *crl = tcase_create("crl");

	TCase *all[] = { ca, leaf, crl };
	for (size_t i = 0; i < 3; i++) {
		tcase_add_unchecked_fixture(all[i], make_top, remove_top);
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 60);	/* RSA keys under a sanitizer */
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(ca, init_makes_a_ca);
	tcase_add_test(ca, init_default_name);
	tcase_add_test(ca, init_refuses_to_overwrite);
	tcase_add_test(ca, init_refuses_bad_names);
	tcase_add_test(ca, modes_whatever_the_umask);
	tcase_add_test(ca, group_shared_directory);
	tcase_add_test(ca, foreign_ca_key);

	tcase_add_test(leaf, server_certificate);
	tcase_add_test(leaf, server_named_by_address);
	tcase_add_test(leaf, client_certificate);
	tcase_add_test(leaf, rsa_and_days);
	tcase_add_test(leaf, outliving_the_ca);
	tcase_add_test(leaf, issue_refuses);
	tcase_add_test(leaf, host_names);

	tcase_add_test(crl, revoke_makes_and_extends_the_list);
	tcase_add_test(crl, revoke_refuses);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
