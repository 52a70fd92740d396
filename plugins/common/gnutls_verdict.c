/*
 * What GnuTLS's verdict on a peer means, as sentences a user can act on:
 * why a handshake failed, which alert tells the peer, and what a verified
 * certificate proves (the identity). See gnutls_common.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gnutls_common.h"
#include "gnutls_internal.h"

/* subjectAltNames listed when the server name does not match. */
#define SAN_LIST_MAX 4

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
	gtls_sanitize(buf);
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
			gtls_sanitize(san);
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
		gtls_format_date(crt ? gnutls_x509_crt_get_expiration_time(crt)
				: (time_t)-1, date, sizeof(date));
		snprintf(why, size, "%s has expired (on %s)", whose, date);
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		gtls_format_date(crt ? gnutls_x509_crt_get_activation_time(crt)
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

time_t gtls_peer_expires(gnutls_session_t session)
{
	gnutls_x509_crt_t crt;
	time_t t;

	if (peer_certificate(session, &crt) < 0)
		return 0;
	t = gnutls_x509_crt_get_expiration_time(crt);
	gnutls_x509_crt_deinit(crt);
	return t == (time_t)-1 ? 0 : t;
}

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

int gtls_peer_group(gnutls_session_t session, char **out)
{
	gnutls_x509_crt_t crt;
	char ou[256];
	size_t size = sizeof(ou);

	*out = NULL;
	if (peer_certificate(session, &crt) < 0)
		return 0;
	int ret = gnutls_x509_crt_get_dn_by_oid(crt,
						GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME,
						0, 0, ou, &size);
	gnutls_x509_crt_deinit(crt);
	if (ret < 0 || !ou[0])
		return 0;	/* none, or one too long to be a group */
	gtls_sanitize(ou);
	*out = strdup(ou);
	return *out ? 0 : -ENOMEM;
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
	gtls_sanitize(*out);
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
