/*
 * gnutls_internal.h - what the three files of the GnuTLS helper lend each
 * other: gnutls_common.c (loading, sessions), gnutls_verdict.c (what a
 * refusal means, the identity) and gnutls_reload.c (reloading, checking
 * live peers again). Private to plugins/common/.
 */
#ifndef CULVERT_GNUTLS_INTERNAL_H
#define CULVERT_GNUTLS_INTERNAL_H

#include <time.h>

#include <gnutls/x509.h>

#include "gnutls_common.h"

#define LOG(g, prio, ...) (g)->api->log((g)->host, prio, __VA_ARGS__)

/*
 * Read auth, cert, key, ca and crl through config_get, check that this
 * side has what it needs, and load them into new credentials (one
 * reference, the caller's). Sets g's auth, ca, crl, require_client_cert,
 * have_cert and, on a client, server_name. Logs and returns a negative
 * errno on error.
 */
int gtls_load_cred(struct gtls *g, struct gtls_cred **out);
void gtls_cred_unref(struct gtls_cred *c);

/* Why GnuTLS refused the peer's certificate crt (NULL if unknown) with
 * status, as gtls_handshake_error() says it. */
void gtls_describe_status(const struct gtls *g, gnutls_x509_crt_t crt,
			  unsigned int status, char *why, size_t size);

/* Certificate fields come from the network: keep control characters out
 * of the log and of the identity the core stores ('?' instead). */
void gtls_sanitize(char *s);
/* "2031-01-01 00:00 UTC", or "(unknown date)". */
void gtls_format_date(time_t t, char *buf, size_t size);

#endif /* CULVERT_GNUTLS_INTERNAL_H */
