/* Stateless resets, the server's half: the secret in state-dir, the
 * tokens derived from it, and the rate of resets. */
#include "stateless_reset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include <gnutls/crypto.h>

#include "config.h"
#include "core.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "server.h"
#include "session_owner.h"
#include "shard.h"
#include "wire.h"

/* What the HMAC covers first: a new derivation gets a new label. */
#define TOKEN_LABEL "culvert stateless reset 1"

/* One loop's rate, on a cache line of its own. */
struct reset_rate {
	int64_t refilled_at;		/* its loop's ms */
	unsigned int budget;		/* resets that may leave now */
} __attribute__((aligned(64)));

struct stateless_reset {
	uint8_t secret[RESET_SECRET_LEN];	/* read-only once made */
	/* Each event loop's share of RESET_RATE (per_loop a second), its
	 * own, touched by that loop alone: a loop answers strangers
	 * without asking loop 0 (server_reset_token). */
	unsigned int per_loop;
	struct reset_rate rate[CONFIG_MAX_THREADS];
};

/* ---- the secret */

/* A secret only its owner can read: whoever else reads it can forge a
 * reset for every client. */
static int check_file(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		log_err("%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != RESET_SECRET_LEN) {
		log_err("%s is not a file of %d bytes; remove it, and culvertd makes a new one at its next start",
			path, RESET_SECRET_LEN);
		return -EINVAL;
	}
	if ((st.st_mode & 077) || (st.st_uid != 0 && st.st_uid != geteuid())) {
		log_err("%s may be read by others than root (mode %04o, owner %u): anyone who reads it can end every client's session; chmod 600 it, owned by root",
			path, (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid);
		return -EPERM;
	}
	return 0;
}

static int read_secret(const char *path, uint8_t secret[RESET_SECRET_LEN])
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	int err = check_file(fd, path);
	if (err == 0 && read(fd, secret, RESET_SECRET_LEN) != RESET_SECRET_LEN)
		err = -EIO;
	close(fd);
	return err;
}

/* A new secret: written whole under a temporary name, then linked into
 * place, so that no reader ever sees half of one, and a second culvertd
 * starting at the same time keeps the first's. */
static int make_secret(const char *path)
{
	uint8_t secret[RESET_SECRET_LEN];
	char tmp[4200];
	int err = 0;

	if (getrandom(secret, sizeof(secret), 0) != sizeof(secret))
		return -EIO;
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0)
		return -errno;
	if (write(fd, secret, sizeof(secret)) != sizeof(secret) || fsync(fd) < 0)
		err = -EIO;
	close(fd);
	explicit_bzero(secret, sizeof(secret));
	if (err == 0 && link(tmp, path) < 0 && errno != EEXIST)
		err = -errno;
	unlink(tmp);
	if (err == 0)
		log_notice("made %s: the secret of stateless resets, kept across restarts",
			   path);
	return err;
}

static int load_secret(const char *dir, uint8_t secret[RESET_SECRET_LEN])
{
	char path[4096];

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_warn("cannot make state-dir %s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, RESET_SECRET_FILE);
	int err = read_secret(path, secret);
	if (err == -ENOENT) {
		err = make_secret(path);
		if (err == 0)
			err = read_secret(path, secret);
	}
	if (err < 0 && err != -EINVAL && err != -EPERM)
		log_warn("cannot read or make %s: %s", path, strerror(-err));
	return err;
}

int stateless_reset_new(const struct config *cfg,
			struct stateless_reset **out)
{
	uint8_t secret[RESET_SECRET_LEN];

	*out = NULL;
	if (load_secret(cfg->state_dir, secret) < 0) {
		log_warn("no stateless resets: after a crash of this gateway, its udp and dtls clients notice only by silence (see state-dir in culvert.conf(5))");
		return 0;
	}
	struct stateless_reset *r = NULL;
	/* Aligned as its rates are, each on a cache line of its own. */
	if (posix_memalign((void **)&r, _Alignof(struct stateless_reset),
			   sizeof(*r)) != 0)
		r = NULL;
	else
		memset(r, 0, sizeof(*r));
	if (!r) {
		explicit_bzero(secret, sizeof(secret));
		return -ENOMEM;
	}
	memcpy(r->secret, secret, sizeof(secret));
	explicit_bzero(secret, sizeof(secret));
	unsigned int loops = shard_loops(cfg);
	r->per_loop = RESET_RATE / loops ? RESET_RATE / loops : 1;
	for (unsigned int i = 0; i < CONFIG_MAX_THREADS; i++)
		r->rate[i].budget = r->per_loop;
	*out = r;
	return 0;
}

void stateless_reset_free(struct stateless_reset *r)
{
	if (!r)
		return;
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/* ---- tokens */

/* family (4 or 6), port and address, as doc/PROTOCOL.md says; an IPv4
 * peer of an IPv6 socket as IPv4, so that the token does not depend on
 * how the server's socket was bound. Returns the bytes written. */
static size_t put_peer(uint8_t *p, const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		put16(p, 4);
		memcpy(p + 2, &in->sin_port, 2);
		memcpy(p + 4, &in->sin_addr, 4);
		return 8;
	}
	if (sa->sa_family != AF_INET6 || len < sizeof(struct sockaddr_in6))
		return 0;
	const struct sockaddr_in6 *in6 = (const void *)sa;
	memcpy(p + 2, &in6->sin6_port, 2);
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		put16(p, 4);
		memcpy(p + 4, &in6->sin6_addr.s6_addr[12], 4);
		return 8;
	}
	put16(p, 6);
	memcpy(p + 4, &in6->sin6_addr, 16);
	return 20;
}

static size_t put_text(uint8_t *p, const char *text, size_t room)
{
	size_t n = text ? strnlen(text, room - 1) : 0;

	if (n)
		memcpy(p, text, n);
	p[n] = 0;
	return n + 1;
}

void stateless_reset_token(const struct stateless_reset *r,
			   const char *transport, const char *listen,
			   const struct sockaddr *peer, socklen_t peer_len,
			   uint8_t token[PROTO_RESET_TOKEN_LEN])
{
	uint8_t in[sizeof(TOKEN_LABEL) + 2 * 256 + 20], mac[32];
	size_t n = 0;

	n += put_text(in + n, TOKEN_LABEL, sizeof(TOKEN_LABEL));
	n += put_text(in + n, transport, 256);
	n += put_text(in + n, listen, 256);
	n += put_peer(in + n, peer, peer_len);
	gnutls_hmac_fast(GNUTLS_MAC_SHA256, r->secret, sizeof(r->secret), in,
			 n, mac);
	memcpy(token, mac, PROTO_RESET_TOKEN_LEN);
}

/* ---- the rate */

bool stateless_reset_allowed(struct stateless_reset *r, unsigned int loop,
			     int64_t now)
{
	struct reset_rate *rate = &r->rate[loop];
	int64_t ms = now - rate->refilled_at;

	if (ms > 0) {
		uint64_t add = (uint64_t)ms * r->per_loop / 1000;
		if (add > 0) {
			rate->budget = add >= r->per_loop - rate->budget
					       ? r->per_loop
					       : rate->budget + (unsigned int)add;
			rate->refilled_at = now;
		}
	}
	if (rate->budget == 0)
		return false;
	rate->budget--;
	return true;
}

/* ---- the server's use */

static void token_for(const struct stateless_reset *r, const struct config *cfg,
		      const struct cv_host *h, const struct sockaddr *peer,
		      socklen_t peer_len, uint8_t token[PROTO_RESET_TOKEN_LEN])
{
	stateless_reset_token(r, h->t->name,
			      config_get(cfg, h->t->name, "listen"), peer,
			      peer_len, token);
}

void server_welcome_reset_token(const struct cv_session *s,
				struct proto_welcome *w)
{
	const struct server *srv = s->owner;

	struct proto_msg m = { .type = PROTO_WELCOME };
	uint8_t buf[PROTO_MAX_CONTROL];

	if (!srv->reset || session_reliable(s))
		return;
	w->has_reset_token = true;
	token_for(srv->reset, s->core->cfg, s->transport,
		  (const struct sockaddr *)&s->peer_addr, sizeof(s->peer_addr),
		  w->reset_token);
	/* The token is worth its 18 bytes only where they are left: a
	 * welcome full of routes goes without it (its client then learns
	 * of a restart by silence), not refused. */
	m.welcome = *w;
	if (proto_encode(&m, buf, sizeof(buf)) == -ENOSPC) {
		w->has_reset_token = false;
		session_log(s, LOG_INFO,
			    "session %s: no room for a stateless reset token in its welcome (routes fill it)",
			    session_name(s));
	}
}

/* Whether one more reset may go now from the calling event loop (its
 * index and loop); counted either way, in that loop's counters. */
static bool may_send(struct server *srv, unsigned int index, struct loop *loop)
{
	struct counters *c = shard_counters(srv->core);

	if (!stateless_reset_allowed(srv->reset, index, loop_now(loop))) {
		c->resets_limited++;
		return false;
	}
	c->resets_sent++;
	return true;
}

void server_session_stray(struct cv_session *s, size_t len)
{
	struct server *srv = s->owner;
	struct proto_msg m = { .type = PROTO_RESET };

	/* Shorter than what it answers: a reset never amplifies. */
	/* On loop 0, whichever loop s's link is on. */
	if (!srv->reset || len <= PROTO_RESET_MIN ||
	    !may_send(srv, 0, srv->core->loop))
		return;
	m.reset.len = (uint16_t)(len - 1 < RESET_MAX_LEN ? len - 1 : RESET_MAX_LEN);
	token_for(srv->reset, s->core->cfg, s->transport,
		  (const struct sockaddr *)&s->peer_addr, sizeof(s->peer_addr),
		  m.reset.token);
	session_send_control(s, &m, 1);
	session_log(s, LOG_DEBUG,
		    "%s over %s: no such session here; stateless reset sent",
		    s->peer, s->transport->t->name);
}

int server_reset_token(void *arg, struct cv_host *h,
		       const struct sockaddr *peer, socklen_t peer_len,
		       uint8_t *token)
{
	struct server *srv = arg;

	if (!srv->reset)
		return -ENOTSUP;
	if (!may_send(srv, h->loop_index, h->loop))
		return -EAGAIN;
	token_for(srv->reset, srv->core->cfg, h, peer, peer_len, token);
	return 0;
}
