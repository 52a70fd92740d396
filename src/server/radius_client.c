/* A RADIUS request asked of the servers in turn, on a worker thread
 * (radius_client.h). */
#include "radius_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "log.h"

/* One request to one server. */
struct attempt {
	struct radius_config *rc;
	struct radius_server *srv;
	const struct radius_request *req;
	const char *what;		/* for the log: req's, or a probe */
	struct radius_outcome *out;
	int fd;
	struct cv_addr source;		/* where the socket sends from */
	struct radius_packet pkt;
	const char *trouble;		/* why it failed, beyond silence */
	bool foreign;			/* it answered, not with our secret */
	bool garbled;			/* it answered, malformed */
};

__attribute__((format(printf, 3, 4)))
static void say(const struct radius_request *req, int priority,
		const char *fmt, ...)
{
	const struct log_fields f = {
		.session = req->session[0] ? req->session : NULL,
		.user = req->user[0] ? req->user : NULL,
		.peer = req->peer[0] ? req->peer : NULL,
		.transport = req->transport[0] ? req->transport : NULL,
	};
	va_list ap;

	va_start(ap, fmt);
	log_fields_vmsg(priority, &f, NULL, fmt, ap);
	va_end(ap);
}

/* A UDP socket connected to the server, so that only its datagrams
 * come back; from radius-nas-address when set. */
static int open_socket(struct attempt *a)
{
	const struct radius_config *rc = a->rc;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int family = a->srv->addr.ss_family;

	a->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->fd < 0)
		return -errno;
	if (rc->bind && rc->nas_address.family == family) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_addr = rc->nas_address.v4;
		else
			((struct sockaddr_in6 *)&ss)->sin6_addr = rc->nas_address.v6;
		if (bind(a->fd, (struct sockaddr *)&ss,
			 family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6)) < 0)
			return -errno;
	}
	if (connect(a->fd, (struct sockaddr *)&a->srv->addr, a->srv->addr_len) < 0 ||
	    getsockname(a->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	memset(&a->source, 0, sizeof(a->source));
	a->source.family = ss.ss_family;
	if (ss.ss_family == AF_INET)
		a->source.v4 = ((struct sockaddr_in *)&ss)->sin_addr;
	else
		a->source.v6 = ((struct sockaddr_in6 *)&ss)->sin6_addr;
	return 0;
}

/* The packet for this server: a new identifier, the NAS address, the
 * password hidden with its secret, signed with it. A probe (probe set:
 * its user name) carries no password of anyone's and no
 * Message-Authenticator. */
static int build(struct attempt *a, const char *probe)
{
	const struct radius_request *req = a->req;
	const struct radius_server *srv = a->srv;
	const struct cv_addr *nas = a->rc->nas_address.family
					    ? &a->rc->nas_address : &a->source;
	struct radius_packet *p = &a->pkt;
	uint8_t id;
	int err;

	if (gnutls_rnd(GNUTLS_RND_NONCE, &id, 1) < 0 ||
	    (err = radius_packet_start(p, req->code, id)) < 0)
		return -EIO;
	bool access = req->code == RADIUS_ACCESS_REQUEST;
	if (access && !probe && (err = radius_add_message_authenticator(p)) < 0)
		return err;
	if (probe)
		err = radius_add_text(p, RADIUS_USER_NAME, probe);
	else
		err = radius_add_raw(p, req->attrs.buf + RADIUS_HEADER,
				     req->attrs.len - RADIUS_HEADER);
	if (err == 0)
		err = nas->family == AF_INET
			      ? radius_add(p, RADIUS_NAS_IP_ADDRESS, &nas->v4, 4)
			      : radius_add(p, RADIUS_NAS_IPV6_ADDRESS, &nas->v6, 16);
	if (err == 0 && access)
		err = radius_add_password(p, probe ? "" : req->password,
					  srv->secret, srv->secret_len);
	if (err == 0 && !access) {
		int64_t delay = (radius_now() - req->event_ms) / 1000;
		err = radius_add_u32(p, RADIUS_ACCT_DELAY_TIME,
				     (uint32_t)(delay > 0 ? delay : 0));
	}
	return err < 0 ? err : radius_seal(p, srv->secret, srv->secret_len);
}

/* Waits for the answer to a->pkt until deadline: 1 when it came (in
 * out->reply), 0 on silence, -1 when the server's host said nothing
 * listens there. Replies that are not the answer are discarded. */
static int await(struct attempt *a, int64_t deadline)
{
	struct radius_outcome *out = a->out;
	struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
	const char *why;

	for (int64_t now = radius_now(); now < deadline; now = radius_now()) {
		int n = poll(&pfd, 1, (int)(deadline - now));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return 0;
		}
		/* MSG_TRUNC: the datagram's own length, to tell one too big. */
		ssize_t len = recv(a->fd, out->reply, sizeof(out->reply), MSG_TRUNC);
		if (len < 0) {
			if (errno == ECONNREFUSED) {
				a->trouble = "its host says nothing listens on that port";
				return -1;
			}
			continue;
		}
		enum radius_check c = radius_reply_check(out->reply, (size_t)len,
							 &a->pkt, a->srv->secret,
							 a->srv->secret_len, &why);
		if (c == RADIUS_REPLY_OK) {
			out->reply_len = (size_t)len;
			return 1;
		}
		if (c == RADIUS_REPLY_OTHER_ID)
			continue;
		if (c == RADIUS_REPLY_BAD_AUTHENTICATOR ||
		    c == RADIUS_REPLY_BAD_MESSAGE_AUTHENTICATOR) {
			out->bad_authenticator++;
			a->foreign = true;
		} else {
			out->malformed++;
			a->garbled = true;
		}
		say(a->req, LOG_WARNING,
		    "RADIUS server %s: discarded an answer to %s (%zd bytes): %s",
		    a->srv->name, a->what, len, why);
	}
	return 0;
}

/* The same packet, tries times, timeout_ms apart. */
static int ask(struct attempt *a, unsigned int tries)
{
	for (unsigned int i = 0; i < tries; i++) {
		if (send(a->fd, a->pkt.buf, a->pkt.len, 0) < 0) {
			a->trouble = strerror(errno);
			return errno == ECONNREFUSED ? -1 : 0;
		}
		int got = await(a, radius_now() + a->rc->timeout_ms);
		if (got)
			return got;
	}
	return 0;
}

/* Whether a silent server answers an Access-Request without a
 * Message-Authenticator: FreeRADIUS drops, without a word, a request
 * whose Message-Authenticator was signed with another secret, but
 * answers one without. The answer, never believed, tells a wrong secret
 * from a dead server. */
static const char *probe(struct attempt *a)
{
	if (a->req->code != RADIUS_ACCESS_REQUEST || a->trouble ||
	    build(a, "culvert-probe") < 0)
		return NULL;
	a->what = "a probe";
	int got = ask(a, 1);
	bool foreign = a->foreign;
	a->foreign = false;
	if (got > 0)
		return "; it answered a probe just now: is it overloaded?";
	if (foreign)
		return "; its answer to a probe is signed with another shared secret: radius-secret-file and the server's clients.conf differ";
	return NULL;
}

/* Ask one server. 1: answered; 0: it did not. */
static int try_server(struct attempt *a, const char *next)
{
	const struct radius_config *rc = a->rc;
	int64_t t0 = radius_now(), t1;
	int err = open_socket(a), got = 0;
	const char *hint = NULL;

	if (err < 0)
		a->trouble = strerror(-err);
	else if ((err = build(a, NULL)) < 0)
		a->trouble = err == -EIO ? "MD5 is not available (is GnuTLS in FIPS mode?)"
					 : "the request does not fit a RADIUS packet";
	else
		got = ask(a, rc->tries);
	t1 = radius_now();
	if (got <= 0 && !a->foreign && !a->garbled)
		hint = probe(a);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (got > 0)
		return 1;
	char took[64];
	if (a->trouble)
		snprintf(took, sizeof(took), "at once");
	else
		snprintf(took, sizeof(took), "in %.1f s (%u tr%s, %u s apart)",
			 (double)(t1 - t0) / 1000, rc->tries,
			 rc->tries == 1 ? "y" : "ies", rc->timeout_ms / 1000);
	say(a->req, LOG_WARNING, "RADIUS server %s did not answer %s %s%s%s%s%s; %s%s",
	    a->srv->name, a->req->what, took, a->trouble ? ": " : "",
	    a->trouble ? a->trouble : "",
	    a->foreign ? " with a reply signed with our shared secret (radius-secret-file and the server's clients.conf differ)"
	    : a->garbled ? " with a well-formed reply" : "",
	    hint ? hint : "", next ? "trying " : "no other server to try",
	    next ? next : "");
	return 0;
}

void radius_exchange(struct radius_config *rc, const struct radius_request *req,
		     struct radius_outcome *out)
{
	struct radius_servers *list = req->code == RADIUS_ACCESS_REQUEST
					      ? &rc->auth : &rc->acct;
	unsigned int order[RADIUS_SERVERS_MAX], n = 0;
	int64_t t0 = radius_now();

	memset(out, 0, sizeof(*out));
	out->result = RADIUS_NO_ANSWER;
	/* Those that answered lately first, in their order; then the
	 * others, should they be back. */
	for (int pass = 0; pass < 2; pass++)
		for (unsigned int i = 0; i < list->n; i++) {
			int64_t dead = __atomic_load_n(&list->s[i].dead_until,
						       __ATOMIC_RELAXED);
			if ((dead > t0) == (pass == 1))
				order[n++] = i;
		}
	for (unsigned int k = 0; k < n; k++) {
		struct radius_server *srv = &list->s[order[k]];
		struct attempt a = { .rc = rc, .srv = srv, .req = req,
				     .what = req->what, .out = out, .fd = -1 };
		const char *next = k + 1 < n ? list->s[order[k + 1]].name : NULL;
		if (try_server(&a, next)) {
			out->result = RADIUS_ANSWERED;
			snprintf(out->server, sizeof(out->server), "%s", srv->name);
			if (__atomic_exchange_n(&srv->dead_until, 0, __ATOMIC_RELAXED))
				say(req, LOG_NOTICE, "RADIUS server %s answers again",
				    srv->name);
			break;
		}
		out->timeouts++;
		__atomic_store_n(&srv->dead_until, radius_now() + RADIUS_DEAD_MS,
				 __ATOMIC_RELAXED);
	}
	out->took_ms = radius_now() - t0;
}
