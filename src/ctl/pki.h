/*
 * A small certificate authority for culvert, through GnuTLS: the CA,
 * server and client certificates, and the CRL, as PEM files in one
 * directory. culvertctl pki (ctl_pki.c) is its command line.
 *
 *   DIR/ca.crt, DIR/ca.key        the CA (pki_init)
 *   DIR/NAME.crt, DIR/NAME.key    a server or client (pki_issue)
 *   DIR/crl.pem                   the revoked serials (pki_revoke)
 *
 * Keys are created mode 0600 and certificates 0644, or, in a directory
 * its group may read (pki init --group), keys but the CA's 0640 with
 * that group, so that culvertd can read them again after it dropped root
 * to that group; every file is written
 * to a temporary name and renamed into place, so a file is either whole
 * or absent. A key or certificate that exists is never replaced. Serials
 * are 16 random bytes, so the directory keeps no other state.
 *
 * Every int function returns 0, or a negative errno after logging one line
 * that names the file concerned.
 */
#ifndef CULVERT_PKI_H
#define CULVERT_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum pki_key {
	PKI_KEY_ECDSA,		/* P-256: small and fast, the default */
	PKI_KEY_RSA,		/* 3072 bits, for peers without ECDSA */
};

enum pki_role {
	PKI_CA,
	PKI_SERVER,		/* key purpose TLS server, names in the SAN */
	PKI_CLIENT,		/* key purpose TLS client, CN = the identity */
};

#define PKI_CA_DAYS 3650
#define PKI_LEAF_DAYS 730
#define PKI_CRL_DAYS 30
#define PKI_MAX_DAYS 36500

struct pki_options {
	enum pki_key key;
	unsigned int days;		/* 0: the role's default above */
	const char *cn;			/* pki_init only; NULL: "culvert CA" */
	/* pki_init only: give DIR to root and this group, mode 0750, so
	 * that the keys made in it later are 0640 with that group. */
	bool has_group;
	gid_t group;
	/* pki_issue of a server only: names besides NAME, for the SAN */
	const char *const *dns;
	size_t n_dns;
	const char *const *ips;		/* IPv4 or IPv6 literals */
	size_t n_ips;
};

/* Creates DIR (mode 0700) if it does not exist, then DIR/ca.key and
 * DIR/ca.crt, a self-signed CA that may sign end entities only. Refuses
 * if either file exists. */
int pki_init(const char *dir, const struct pki_options *o);

/* DIR/NAME.key and DIR/NAME.crt, CN = NAME, signed by DIR's CA. A
 * server's NAME is a DNS name or an IP address, put in the SAN with the
 * options' dns and ips; a client's NAME is a culvert user name (the
 * identity the gateway sees). Refuses if either file exists. */
int pki_issue(const char *dir, enum pki_role role, const char *name,
	      const struct pki_options *o);

/* Adds the serial of DIR/NAME.crt, which DIR's CA must have issued, to
 * DIR/crl.pem (made if missing), and signs it again with the CA: this
 * update now, next update in PKI_CRL_DAYS days, CRL number one more.
 * NAME NULL only signs the list again, for a new next update. */
int pki_revoke(const char *dir, const char *name);

/* A host name a certificate may carry: letters, digits and hyphens in
 * dot-separated labels of 1-63, at most 253 in all. */
bool pki_valid_dns_name(const char *name);

#endif
