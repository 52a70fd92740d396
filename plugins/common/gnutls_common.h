/*
 * gnutls_common.h - the GnuTLS setup that the tls and dtls transports
 * share, so that both check certificates the same way and say the same
 * things when a check fails.
 *
 * One struct gtls per plugin instance: credentials and the priority cache
 * are loaded in the plugin's create(), from the config keys cert, key,
 * ca, crl, server-name, priority and auth. Every session the plugin opens
 * afterwards borrows them. A reload (gnutls_reload.c) loads cert, key,
 * ca and crl again into new credentials for the sessions opened after
 * it; a session keeps the credentials it started with, which are
 * reference-counted for that. No state outside the struct.
 *
 * Verification is GnuTLS's own (gnutls_session_set_verify_cert): the
 * chain against 'ca', the validity dates, and on the client the name
 * against the server certificate's subjectAltName. Nothing here checks a
 * certificate or a host name by hand; this file only turns GnuTLS's
 * verdict into a sentence a user can act on.
 */
#ifndef CULVERT_GNUTLS_COMMON_H
#define CULVERT_GNUTLS_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/gnutls.h>

#include <culvert/transport.h>

/*
 * What the tls and dtls defaults allow besides their protocol versions:
 * AEAD ciphers only (AES-GCM, ChaCha20-Poly1305; no CBC, so no Lucky13
 * and no SHA-1 MAC), and in TLS 1.2 and DTLS 1.2 only ECDHE key
 * exchange, for forward secrecy (no static RSA, whose recorded sessions
 * a later stolen key decrypts, and no finite-field DHE with its
 * server-chosen groups). No SHA-1 signatures. TLS 1.3 has nothing else.
 * The server's order wins: AES-256-GCM first, where AES-NI makes it
 * the fastest.
 */
#define GTLS_AEAD_ECDHE_ONLY \
	"-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:" \
	"-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:" \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:%SERVER_PRECEDENCE"

/* Longest DNS name (RFC 1035), and room for an IPv6 literal. */
#define GTLS_NAME_MAX 254

/* Certificate credentials and the sessions that use them. */
struct gtls_cred {
	unsigned int refs;
	gnutls_certificate_credentials_t cred;
	/* Whose: a GnuTLS callback that gets only the session finds its
	 * instance through the session's pointer, which is this. */
	struct gtls *owner;
};

struct gtls {
	const struct cv_host_api *api;
	struct cv_host *host;
	bool server;
	/* Server: auth contains "certificate", so every client must present
	 * a certificate signed by 'ca'. */
	bool require_client_cert;
	const char *auth;		/* server: the auth value, for messages */
	const char *ca;			/* path, or NULL */
	const char *crl;		/* path, or NULL */
	bool have_cert;			/* cert and key are loaded */
	/* Client: the name the server's certificate must carry. */
	char server_name[GTLS_NAME_MAX + 1];
	bool server_name_is_ip;		/* then it is not sent as SNI */
	/* Client: the host in 'remote', server-name's default, for reload. */
	char default_name[GTLS_NAME_MAX + 1];
	/* What new sessions get; each session holds a reference to its
	 * own (GnuTLS keeps only a pointer to it). */
	struct gtls_cred *cred;
	gnutls_priority_t priority;
	/* What GnuTLS checks the peer's certificate against besides the
	 * chain: the name (client) and the key purpose. Sessions point
	 * here, so it lives as long as the instance. */
	gnutls_typed_vdata_st verify[2];
	unsigned int n_verify;
	/* Set by the dtls transport after gtls_init(): messages then say
	 * "DTLS handshake" and "transport dtls". */
	bool datagram;
};

/*
 * Read cert, key, ca, crl, server-name, priority and auth through host and
 * load what they name. default_server_name is the host part of 'remote'
 * (client; NULL on a server); default_priority the transport's own safe
 * default. Logs one line naming the key and the file on error, and
 * returns a negative errno. On success, gtls_deinit() undoes it.
 */
int gtls_init(struct gtls *g, const struct cv_host_api *api,
	      struct cv_host *host, bool server,
	      const char *default_server_name, const char *default_priority);
void gtls_deinit(struct gtls *g);

/*
 * A new session with g's credentials, priorities and verification, in
 * non-blocking mode; flags are added to gnutls_init()'s (GNUTLS_DATAGRAM
 * for dtls). The caller sets the transport and frees it with
 * gtls_session_free(), never gnutls_deinit(): the session holds a
 * reference to its credentials in its user pointer
 * (gnutls_session_set_ptr), which the plugins leave alone. Returns a
 * GnuTLS error code.
 */
int gtls_session_new(const struct gtls *g, unsigned int flags,
		     gnutls_session_t *out);
void gtls_session_free(gnutls_session_t session);

/*
 * Reload (gnutls_reload.c): read cert, key, ca, crl and auth again
 * through config_get and load them into new credentials, which sessions
 * opened from now on use. On error (logged, naming the key, the file and
 * GnuTLS's reason) the old credentials stay and a negative errno comes
 * back.
 */
int gtls_reload(struct gtls *g);

/*
 * Check a live session's peer again, against g's current ca and crl
 * (and on a client, server-name): 0 when it still passes, or when there
 * is nothing to check (no certificate, a server that asks for none);
 * -EKEYREVOKED when 'crl' lists it, -EACCES for any other failure, with
 * why completed like gtls_handshake_error's ("its certificate ('alice',
 * serial ...) is revoked: ...").
 */
int gtls_recheck(const struct gtls *g, gnutls_session_t session, char *why,
		 size_t size);

/* What a reload decided about one live peer: why its link must end, and
 * gtls_recheck()'s error; why is NULL while it still passes. */
struct gtls_doom {
	char *why;
	int err;
};

/* gtls_recheck() on a live peer after gtls_reload(): true when it no
 * longer passes, logged, with why kept in *d for the timer that ends its
 * link (a plugin never calls link_down() from inside reload()). Free
 * d->why with the link. */
bool gtls_doom_check(const struct gtls *g, gnutls_session_t session,
		     const char *peer_name, struct gtls_doom *d);

/* Tell the peer of a live session that its certificate no longer passes
 * (err from gtls_recheck: alert certificate_revoked or bad_certificate),
 * so that its log says why the link ends. Best effort, never blocks. */
void gtls_send_recheck_alert(gnutls_session_t session, int err);

/* gtls_recheck() for a session whose handshake ran on credentials that a
 * reload has since replaced; 0 at once for one on the current ones. For
 * handshake_done(): a handshake under way during a reload ends with the
 * old ca and crl. */
int gtls_recheck_stale(const struct gtls *g, gnutls_session_t session,
		       char *why, size_t size);

/*
 * Why a handshake failed (err: what gnutls_handshake() returned), as one
 * phrase for the log. On a client it completes "cannot connect to REMOTE:
 * ...", e.g. "the server's certificate has expired"; on a server it
 * completes "refused 192.0.2.2:41234: ...", e.g. "no client certificate
 * (auth = certificate)". Returns a negative errno for link_down():
 * -EACCES when a certificate was refused (by either side), -ECONNRESET
 * when the peer went away, -EPROTO otherwise.
 */
int gtls_handshake_error(const struct gtls *g, gnutls_session_t session,
			 int err, char *why, size_t size);

/* Tell the peer why its handshake failed (err as above), so that its
 * log can say it too. Best effort: never blocks, errors are ignored. A
 * peer that sent an alert itself, or hung up, gets none. */
void gtls_send_alert(const struct gtls *g, gnutls_session_t session, int err);

/*
 * What the peer's verified certificate proves: its subject CN, or the
 * whole DN when it has no CN, with control characters replaced by '?' so
 * that the log and the core can print it. *out is malloc'd, or NULL when
 * the peer sent no certificate. Returns 0 or a negative errno.
 */
int gtls_peer_identity(gnutls_session_t session, char **out);
/* The first organizational unit (OU) of the peer's certificate subject,
 * sanitized as the identity: what the core may take as the client's
 * group (cert-group = ou). *out is NULL when there is none. */
int gtls_peer_group(gnutls_session_t session, char **out);

/* The end of validity (notAfter) of the peer's certificate, or 0 when
 * it showed none. */
time_t gtls_peer_expires(gnutls_session_t session);

/* "TLS1.3, AES-256-GCM" and the like, for the log. */
void gtls_describe(gnutls_session_t session, char *buf, size_t size);

#endif /* CULVERT_GNUTLS_COMMON_H */
