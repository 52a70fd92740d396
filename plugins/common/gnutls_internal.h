/*
 * gnutls_internal.h - what gnutls_common.c (loading, sessions, messages)
 * lends gnutls_reload.c (reloading, checking live peers again). Private
 * to plugins/common/.
 */
#ifndef CULVERT_GNUTLS_INTERNAL_H
#define CULVERT_GNUTLS_INTERNAL_H

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

#endif /* CULVERT_GNUTLS_INTERNAL_H */
