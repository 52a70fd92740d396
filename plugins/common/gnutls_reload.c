/*
 * Reloading credentials while sessions stay up, and checking the peers
 * of live sessions again against the new ca and crl. See
 * gnutls_common.h.
 *
 * A GnuTLS session keeps a pointer to the credentials it was made with,
 * so those are never freed under it: new credentials go to new sessions,
 * and the old ones are freed with the last session that holds them
 * (struct gtls_cred's reference count).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnutls_internal.h"

int gtls_reload(struct gtls *g)
{
	/* Loaded on a copy: a file that fails leaves g as it was. */
	struct gtls next = *g;
	struct gtls_cred *cred = NULL;
	int err = gtls_load_cred(&next, &cred);

	if (err < 0) {
		LOG(g, CV_LOG_ERR,
		    "credentials not reloaded: new connections still get the old ones");
		return err;
	}
	gtls_cred_unref(g->cred);
	/* Loaded through next, a copy on the stack: the sessions made
	 * with these find their instance through owner (gnutls_link.c). */
	cred->owner = g;
	g->cred = cred;
	g->auth = next.auth;
	g->ca = next.ca;
	g->crl = next.crl;
	g->require_client_cert = next.require_client_cert;
	g->have_cert = next.have_cert;
	/* g->verify points at server_name: same place, new text. */
	memcpy(g->server_name, next.server_name, sizeof(g->server_name));
	g->server_name_is_ip = next.server_name_is_ip;
	LOG(g, CV_LOG_INFO, "reloaded credentials%s%s%s%s%s",
	    g->ca ? ": ca " : "", g->ca ? g->ca : "",
	    g->crl ? ", crl " : "", g->crl ? g->crl : "",
	    g->have_cert ? ", cert and key" : "");
	return 0;
}

/* The peer's chain as it sent it, for verifying once more. */
static int peer_chain(gnutls_session_t session, gnutls_x509_crt_t **out,
		      unsigned int *n_out)
{
	unsigned int n = 0;
	const gnutls_datum_t *der = gnutls_certificate_get_peers(session, &n);
	gnutls_x509_crt_t *crts;

	*out = NULL;
	*n_out = 0;
	if (!der || n == 0)
		return 0;
	crts = calloc(n, sizeof(*crts));
	if (!crts)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		if (gnutls_x509_crt_init(&crts[i]) < 0 ||
		    gnutls_x509_crt_import(crts[i], &der[i],
					   GNUTLS_X509_FMT_DER) < 0) {
			for (unsigned int j = 0; j <= i; j++)
				if (crts[j])
					gnutls_x509_crt_deinit(crts[j]);
			free(crts);
			return -EINVAL;
		}
	}
	*out = crts;
	*n_out = n;
	return 0;
}

int gtls_recheck(const struct gtls *g, gnutls_session_t session, char *why,
		 size_t size)
{
	gnutls_x509_trust_list_t trust;
	gnutls_x509_crt_t *chain;
	unsigned int n = 0, status = 0;

	if (g->server && !g->require_client_cert)
		return 0;
	int err = peer_chain(session, &chain, &n);
	if (err < 0 || n == 0)
		return 0;	/* what the handshake accepted stands */
	gnutls_certificate_get_trust_list(g->cred->cred, &trust);
	/* The same checks as the handshake's: chain, dates, revocation,
	 * and the name and key purpose (g->verify). */
	int ret = gnutls_x509_trust_list_verify_crt2(
		trust, chain, n, (gnutls_typed_vdata_st *)g->verify, g->n_verify,
		0, &status, NULL);
	if (ret < 0) {
		LOG(g, CV_LOG_WARNING, "cannot check a peer's certificate again: %s",
		    gnutls_strerror(ret));
		status = 0;
	}
	if (status)
		gtls_describe_status(g, chain[0], status, why, size);
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(chain[i]);
	free(chain);
	if (status & GNUTLS_CERT_REVOKED)
		return -EKEYREVOKED;
	return status ? -EACCES : 0;
}

void gtls_send_recheck_alert(gnutls_session_t session, int err)
{
	gnutls_alert_send(session, GNUTLS_AL_FATAL,
			  err == -EKEYREVOKED ? GNUTLS_A_CERTIFICATE_REVOKED
					      : GNUTLS_A_BAD_CERTIFICATE);
}

int gtls_recheck_stale(const struct gtls *g, gnutls_session_t session,
		       char *why, size_t size)
{
	if (gnutls_session_get_ptr(session) == g->cred)
		return 0;
	return gtls_recheck(g, session, why, size);
}

bool gtls_doom_check(const struct gtls *g, gnutls_session_t session,
		     const char *peer_name, struct gtls_doom *d)
{
	char why[400];
	int err = gtls_recheck(g, session, why, sizeof(why));

	if (err == 0)
		return false;
	g->api->log(g->host, CV_LOG_WARNING, "ending the link to %s: %s",
		    peer_name, why);
	d->err = err;
	d->why = strdup(why);
	if (!d->why)
		d->why = strdup("its certificate no longer passes");
	return true;
}
