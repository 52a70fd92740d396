/*
 * One loadgen session slot: its own plugin instance (a client instance
 * carries one connection), the host table that instance sees, and the
 * session's life: connect, hello (credentials, if any), welcome, echo
 * requests from the inner address to the gateway's, then bye.
 *
 * A slot that misbehaves (--abuse-every) sends a keepalive before its
 * hello (over tls only: see abuse_before_hello), and after the welcome
 * a message of a type no version-1 peer sends and an echo request from
 * another session's inner address: each must be dropped and counted by
 * the gateway, and the session go on.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "failover.h"
#include "loadgen.h"
#include "log.h"
#include "loop.h"
#include "proto.h"

#define CONNECT_DEADLINE_MS 20000	/* connect() to welcome */
#define HELLO_RETRANSMIT_MS 1000	/* over udp and dtls */
#define DRAIN_MS 1000			/* after the last echo request */
#define KEEPALIVE_MS 10000		/* when --rate 0 sends nothing */
#define ECHO_PAYLOAD 56			/* as ping(8) */
#define ECHO_LEN (20 + 8 + ECHO_PAYLOAD)
#define ECHO6_LEN (40 + 8 + ECHO_PAYLOAD)	/* the larger: buffers */
#define UNKNOWN_TYPE 0x7e
/* --reconnect: the pause before a lost session starts again; after a
 * stateless reset a random one up to this, as culvertd's. */
#define AGAIN_MS 1000
/* culvertd's back-off (src/client/connection.c): 1 s, doubling at
 * each failed try up to a minute, each +-25% at random, so that a
 * gateway's 100,000 clients do not come back in the same second. */
#define AGAIN_MAX_MS 60000

/* ---- the host table */

__attribute__((format(printf, 3, 4)))
static void lg_log(struct cv_host *host, int priority, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	if (priority > CV_LOG_WARNING && !host->lg->opt.verbose)
		return;
	snprintf(prefix, sizeof(prefix), "session %u: %s: ", host->slot->index,
		 host->lg->t->name);
	va_start(ap, fmt);
	log_vmsg(priority, prefix, fmt, ap);
	va_end(ap);
}

static int lg_watch(struct cv_host *host, int fd, uint32_t events,
		    cv_fd_cb *cb, void *arg)
{
	return loop_watch(host->lg->loop, fd, events, cb, arg);
}

static void lg_unwatch(struct cv_host *host, int fd)
{
	loop_unwatch(host->lg->loop, fd);
}

static struct cv_timer *lg_timer_new(struct cv_host *host, cv_timer_cb *cb,
				     void *arg)
{
	return (struct cv_timer *)loop_timer_new(host->lg->loop, cb, arg);
}

static void lg_timer_arm(struct cv_timer *timer, int64_t msec)
{
	loop_timer_arm((struct loop_timer *)timer, msec);
}

static void lg_timer_free(struct cv_timer *timer)
{
	loop_timer_free((struct loop_timer *)timer);
}

/* What a client's config would say; everything else is the plugin's
 * default. */
static const char *lg_config_get(struct cv_host *host, const char *key)
{
	const struct lg_options *o = &host->lg->opt;

	if (strcmp(key, "mode") == 0)
		return "client";
	if (strcmp(key, "remote") == 0)
		return o->n_remotes > 1 ? o->remotes[host->slot->remote_at]
					: o->remote;
	if (strcmp(key, "server-name") == 0)
		return o->server_name;
	if (strcmp(key, "ca") == 0)
		return o->ca;
	if (strcmp(key, "cert") == 0)
		return o->cert;
	if (strcmp(key, "key") == 0)
		return o->key;
	if (strcmp(key, "source") == 0 && o->n_sources)
		return o->sources[host->slot->index % o->n_sources];
	return NULL;
}

/* ---- sending */

static int send_msgs(struct cv_session *s, const struct cv_msg *msgs,
		     unsigned int n)
{
	return s->lg->t->send(s->inst, s->link, msgs, n);
}

static bool reliable(const struct cv_session *s)
{
	return s->lg->t->flags & CV_TRANSPORT_RELIABLE;
}

static int send_control(struct cv_session *s, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_CONTROL];
	ssize_t len = proto_encode(m, buf, sizeof(buf));

	if (len < 0)
		return (int)len;
	struct cv_msg msg = { .data = buf, .len = (size_t)len };
	/* Over a lossy transport a bye goes out three times, as culvertd's. */
	struct cv_msg msgs[3] = { msg, msg, msg };
	unsigned int n = m->type == PROTO_BYE && !reliable(s) ? 3 : 1;
	return send_msgs(s, msgs, n);
}

static void send_hello(struct cv_session *s)
{
	const struct lg_options *o = &s->lg->opt;
	struct proto_msg m = { .type = PROTO_HELLO };

	m.hello.version = PROTO_VERSION;
	m.hello.nonce = s->nonce;
	m.hello.flags = lg_attack_hello_flags(s->lg);
	if (o->user)
		snprintf(m.hello.username, sizeof(m.hello.username), "%s", o->user);
	if (o->password)
		snprintf(m.hello.password, sizeof(m.hello.password), "%s",
			 o->password);
	m.hello.previous4 = s->previous4;
	m.hello.previous6 = s->previous6;
	s->hellos++;
	send_control(s, &m);
	explicit_bzero(m.hello.password, sizeof(m.hello.password));
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The ICMP echo header and payload at icmp, of type (8 or 128). */
static void fill_icmp_echo(const struct cv_session *s, uint8_t *icmp,
			   uint8_t type)
{
	icmp[0] = type;			/* echo request */
	icmp[4] = s->ping_id >> 8;
	icmp[5] = s->ping_id & 0xff;
	icmp[6] = s->ping_seq >> 8;
	icmp[7] = s->ping_seq & 0xff;
	for (unsigned int i = 0; i < ECHO_PAYLOAD; i++)
		icmp[8 + i] = (uint8_t)i;
}

/* An IPv6 ICMPv6 echo request: its checksum covers the pseudo-header
 * (RFC 8200 8.1), built in front of the message in sum. */
static size_t build_echo6(const struct cv_session *s,
			  const struct cv_addr *from, uint8_t *ip)
{
	uint8_t *icmp = ip + 40;
	uint8_t sum[40 + 8 + ECHO_PAYLOAD];
	size_t icmp_len = 8 + ECHO_PAYLOAD;
	uint16_t c;

	ip[0] = 0x60;
	ip[4] = (uint8_t)(icmp_len >> 8);
	ip[5] = icmp_len & 0xff;
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = 64;			/* hop limit */
	memcpy(ip + 8, from->bytes, 16);
	memcpy(ip + 24, s->gateway.bytes, 16);
	fill_icmp_echo(s, icmp, 128);
	memset(sum, 0, sizeof(sum));
	memcpy(sum, ip + 8, 32);	/* source, destination */
	sum[34] = (uint8_t)(icmp_len >> 8);
	sum[35] = icmp_len & 0xff;
	sum[39] = IPPROTO_ICMPV6;
	memcpy(sum + 40, icmp, icmp_len);
	c = checksum(sum, 40 + icmp_len);
	icmp[2] = c >> 8;
	icmp[3] = c & 0xff;
	return ECHO6_LEN;
}

/* A DATA message: the type byte, then an ICMP echo request from `from`
 * to the gateway's inner address, IPv4 or IPv6 as `from` is. Returns
 * the message's length. */
static size_t build_echo(const struct cv_session *s, const struct cv_addr *from,
			 uint8_t msg[1 + ECHO6_LEN])
{
	uint8_t *ip = msg + 1, *icmp = ip + 20;
	uint16_t c;

	memset(msg, 0, 1 + ECHO6_LEN);
	msg[0] = PROTO_DATA;
	if (from->family == AF_INET6)
		return 1 + build_echo6(s, from, ip);
	ip[0] = 0x45;
	ip[2] = ECHO_LEN >> 8;
	ip[3] = ECHO_LEN & 0xff;
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;			/* TTL */
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &from->v4, 4);
	memcpy(ip + 16, &s->gateway.v4, 4);
	c = checksum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	fill_icmp_echo(s, icmp, 8);
	c = checksum(icmp, 8 + ECHO_PAYLOAD);
	icmp[2] = c >> 8;
	icmp[3] = c & 0xff;
	return 1 + ECHO_LEN;
}

static void send_echo(struct cv_session *s)
{
	uint8_t msg[1 + ECHO6_LEN];

	s->ping_seq++;
	struct cv_msg m = { .data = msg, .len = build_echo(s, &s->inner, msg) };
	if (send_msgs(s, &m, 1) == 1) {
		s->sent++;
		s->lg->tot.pings_sent++;
	}
}

/* ---- abuse, from a slot chosen by --abuse-every */

static void abuse_before_hello(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_KEEPALIVE };

	/* Over udp and dtls a keepalive before the hello is what a client
	 * sends that lost its session to a gateway's restart: the gateway
	 * answers with a stateless reset and ends the link, as it must
	 * (doc/PROTOCOL.md, "Stateless reset"), so it is no abuse to
	 * survive there. */
	if (!reliable(s))
		return;
	if (send_control(s, &m) == 1)
		s->lg->tot.abuse_sent++;
}

static void abuse_after_welcome(struct cv_session *s)
{
	struct lg *lg = s->lg;
	uint8_t unknown[4] = { UNKNOWN_TYPE, 1, 2, 3 };
	uint8_t echo[1 + ECHO6_LEN];
	struct cv_addr other = s->inner;

	/* Another session's inner address, or the next one in the pool. */
	if (other.family == AF_INET)
		other.v4.s_addr = htonl(ntohl(s->inner.v4.s_addr) + 1);
	else
		other.bytes[15]++;
	for (unsigned int i = 1; i < lg->opt.sessions; i++) {
		const struct cv_session *o =
			&lg->slots[(s->index + i) % lg->opt.sessions];
		if (o->state == LG_UP && !addr_equal(&o->inner, &s->inner)) {
			other = o->inner;
			break;
		}
	}
	size_t echo_len = build_echo(s, &other, echo);
	struct cv_msg msgs[2] = {
		{ .data = unknown, .len = sizeof(unknown) },
		{ .data = echo, .len = echo_len },
	};
	int n = send_msgs(s, msgs, 2);
	if (n > 0)
		lg->tot.abuse_sent += (unsigned int)n;
}

/* ---- the session's life */

static void stop_timers(struct cv_session *s)
{
	loop_timer_arm(s->timer, -1);
	loop_timer_arm(s->ping_timer, -1);
}

/* The ABI cannot cancel a connect(): a fresh instance abandons it, as
 * culvertd does. */
static void restart_instance(struct cv_session *s)
{
	s->lg->t->destroy(s->inst);
	s->inst = NULL;
	if (s->lg->t->create(&lg_host_api, &s->host, &s->inst) < 0)
		s->inst = NULL;
}

/* The slot is idle again; close_link: the link is still ours to close. */
static void finish(struct cv_session *s, bool close_link)
{
	struct lg *lg = s->lg;

	if (s->state == LG_UP || s->state == LG_DRAINING)
		lg->n_up--;
	else if (s->state == LG_CONNECTING || s->state == LG_HELLO)
		lg->n_connecting--;
	if (close_link && s->link)
		lg->t->close(s->inst, s->link);
	else if (close_link && s->state == LG_CONNECTING)
		restart_instance(s);
	s->link = NULL;
	s->state = LG_IDLE;
	stop_timers(s);
	lg_kick(lg);
}

static void say_bye(struct cv_session *s)
{
	struct proto_msg m = { .type = PROTO_BYE };

	m.bye.reason = PROTO_REASON_UNSPECIFIED;
	send_control(s, &m);
}

/* The next pause of a session that is not back yet: culvertd's
 * back-off, with its jitter. */
static int64_t again_pause(struct cv_session *s)
{
	uint32_t r = 0;

	s->again_ms = s->again_ms ? s->again_ms * 2 : AGAIN_MS;
	if (s->again_ms > AGAIN_MAX_MS)
		s->again_ms = AGAIN_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = s->index;
	return s->again_ms - s->again_ms / 4 + r % (s->again_ms / 2 + 1);
}

/* --reconnect: a session that was up is gone (reset: by a stateless
 * reset), or one on its way back lost its link before its welcome (a
 * storm's gateway ended it, or refused it); it starts again in its
 * slot after a pause. */
static void lost(struct cv_session *s, bool close_link, bool reset)
{
	struct lg *lg = s->lg;
	bool was_up = s->state == LG_UP || s->state == LG_DRAINING;
	uint32_t r = 0;

	if (!lg->opt.reconnect || lg->stopping || (!was_up && !s->lost_ms)) {
		finish(s, close_link);
		return;
	}
	if (!s->lost_ms) {
		s->lost_ms = loop_now(lg->loop);
		lg->n_lost++;
	}
	if (was_up)
		s->again_ms = 0;	/* the back-off starts again */
	lg->tot.resets += reset;
	finish(s, close_link);
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = s->index;
	s->returning = true;
	if (lg->opt.n_remotes > 1 && !reset) {
		/* A cluster: the next gateway, in this session's slot. */
		s->remote_at = (s->remote_at + 1) % lg->opt.n_remotes;
		loop_timer_arm(s->timer, failover_pause_ms(
			s->previous4.family ? &s->previous4 : &s->previous6,
			lg->opt.failover_spread_ms, s->drained, r));
		s->drained = false;
		return;
	}
	loop_timer_arm(s->timer, reset ? r % AGAIN_MS : again_pause(s));
}

/* A session lost before and welcomed again: how long it took, and
 * whether its address came back. */
static void back(struct cv_session *s, int64_t now)
{
	struct lg *lg = s->lg;
	const struct cv_addr *had = s->inner.family == AF_INET6 ? &s->previous6
								 : &s->previous4;
	struct timespec ts;

	if (!s->lost_ms)
		return;
	lg->tot.back++;
	lg->tot.back_same_address += addr_equal(&s->inner, had);
	if (now - s->lost_ms > lg->tot.back_max_ms)
		lg->tot.back_max_ms = now - s->lost_ms;
	s->lost_ms = 0;
	if (--lg->n_lost || lg->n_up < lg->opt.sessions)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "culvert-loadgen: all %u sessions back up at %lld.%03ld\n",
		lg->opt.sessions, (long long)ts.tv_sec, ts.tv_nsec / 1000000);
}

void lg_slot_stop(struct cv_session *s)
{
	s->returning = false;
	if (s->state == LG_IDLE) {
		stop_timers(s);
		return;
	}
	s->lg->tot.cut++;
	if (s->state == LG_UP || s->state == LG_DRAINING)
		say_bye(s);
	finish(s, true);
}

void lg_slot_start(struct cv_session *s)
{
	struct lg *lg = s->lg;

	/* Its instance was made for another gateway (the name its
	 * certificate must carry): a fresh one, never inside an upcall. */
	if (s->inst && s->inst_remote_at != s->remote_at)
		restart_instance(s);
	s->inst_remote_at = s->remote_at;
	if (!s->inst) {
		restart_instance(s);
		if (!s->inst) {
			lg->tot.failed++;
			return;
		}
	}
	lg->tot.started++;
	s->abusive = lg->opt.abuse_every &&
		     lg->tot.started % lg->opt.abuse_every == 0;
	if (s->abusive)
		lg->tot.abusive_sessions++;
	if (getrandom(&s->nonce, sizeof(s->nonce), GRND_NONBLOCK) != sizeof(s->nonce))
		s->nonce = (uint32_t)lg->tot.started;
	s->hellos = 0;
	s->ping_seq = 0;
	s->sent = s->received = 0;
	s->state = LG_CONNECTING;
	lg->n_connecting++;
	s->connect_ms = loop_now(lg->loop);
	s->deadline_ms = s->connect_ms + CONNECT_DEADLINE_MS;
	loop_timer_arm(s->timer, CONNECT_DEADLINE_MS);
	int err = lg->t->connect(s->inst);
	if (err < 0) {
		log_warn("session %u: cannot connect: %s", s->index, strerror(-err));
		lg->tot.failed++;
		finish(s, false);
	}
}

static struct cv_session *lg_link_up(struct cv_host *host, struct cv_link *link,
				     const struct cv_link_info *info)
{
	struct cv_session *s = host->slot;

	if (s->state != LG_CONNECTING || s->lg->stopping)
		return NULL;
	s->link = link;
	s->state = LG_HELLO;
	if (lg_attack_link_up(s))
		return s;
	if (s->abusive)
		abuse_before_hello(s);
	send_hello(s);
	loop_timer_arm(s->timer, reliable(s) ? s->deadline_ms - loop_now(s->lg->loop)
					     : HELLO_RETRANSMIT_MS);
	return s;
}

static void lg_link_down(struct cv_host *host, struct cv_session *session,
			 int err, const char *why)
{
	struct cv_session *s = host->slot;
	struct lg *lg = s->lg;

	if (s->state == LG_IDLE)
		return;
	if (lg_attack_link_down(s)) {
		finish(s, false);
		return;
	}
	if (s->state == LG_UP || s->state == LG_DRAINING)
		lg->tot.lost++;
	else if (!s->lost_ms)
		lg->tot.failed++;
	if (err != -ESTALE || lg->opt.verbose)
		log_warn("session %u: %s: %s", s->index,
			 session ? "link lost" : "cannot connect",
			 why ? why : strerror(-err));
	if (!session && s->lost_ms) {
		/* The gateway is not back yet: again, after the pause (in a
		 * cluster, on the next one). */
		finish(s, false);
		s->returning = true;
		if (lg->opt.n_remotes > 1)
			s->remote_at = (s->remote_at + 1) % lg->opt.n_remotes;
		loop_timer_arm(s->timer, again_pause(s));
		return;
	}
	lost(s, false, err == -ESTALE);
}

static void welcome(struct cv_session *s, const struct proto_welcome *w)
{
	struct lg *lg = s->lg;
	int64_t now = loop_now(lg->loop);

	if (s->state != LG_HELLO || w->nonce != s->nonce)
		return;		/* a late copy */
	if (w->addr4.addr.family == AF_INET) {
		s->inner = w->addr4.addr;
		s->gateway = w->server4;
	} else {	/* an IPv6-only gateway: the decoder saw to ADDR6 */
		s->inner = w->addr6.addr;
		s->gateway = w->server6;
	}
	if (s->gateway.family != s->inner.family) {
		/* No SERVER4 (SERVER6): the first host of the client's
		 * prefix, as culvert's pools give the gateway. */
		struct cv_prefix p = w->addr4.addr.family == AF_INET ? w->addr4
								       : w->addr6;
		unsigned int bytes = p.addr.family == AF_INET ? 4 : 16;
		s->gateway = p.addr;
		for (unsigned int i = 0; i < bytes; i++) {
			unsigned int bit = i * 8;
			if (bit >= p.len)
				s->gateway.bytes[i] = 0;
			else if (bit + 8 > p.len)
				s->gateway.bytes[i] &= (uint8_t)(0xff00 >> (p.len - bit));
		}
		s->gateway.bytes[bytes - 1] |= 1;
	}
	s->ping_id = (uint16_t)(s->nonce ^ s->index);
	s->has_reset_token = w->has_reset_token;
	memcpy(s->reset_token, w->reset_token, sizeof(s->reset_token));
	if (w->has_reset_token && lg->opt.reconnect &&
	    TRANSPORT_HAS(lg->t, set_reset_token))
		lg->t->set_reset_token(s->inst, s->link, s->reset_token);
	s->state = LG_UP;
	lg->n_connecting--;
	lg->n_up++;
	lg->tot.up++;
	if (!lg->first_up_ms)
		lg->first_up_ms = now;
	lg->last_up_ms = now;
	if (lg->n_up > lg->max_up)
		lg->max_up = lg->n_up;
	if (lg->n_up == lg->opt.sessions && !lg->all_up_ms) {
		lg->all_up_ms = now;
		fprintf(stderr, "culvert-loadgen: all %u sessions up after %.2f s\n",
			lg->opt.sessions, (double)(now - lg->start_ms) / 1000.0);
	}
	s->last_keepalive_ms = now;
	back(s, now);
	s->previous4 = w->addr4.addr;
	s->previous6 = w->addr6.addr;
	if (s->abusive)
		abuse_after_welcome(s);
	lg_attack_welcome(s);
	loop_timer_arm(s->timer, (int64_t)lg->opt.hold_s * 1000);
	loop_timer_arm(s->ping_timer, lg->opt.rate ? 0 : KEEPALIVE_MS);
	lg_kick(lg);
}

/* An echo reply from the gateway to this session: ICMP (type 0) over
 * IPv4, ICMPv6 (type 129) over IPv6. */
static void data(struct cv_session *s, const uint8_t *ip, size_t len)
{
	const uint8_t *icmp;

	if (s->state != LG_UP && s->state != LG_DRAINING)
		return;
	if (s->inner.family == AF_INET6) {
		if (len < 40 + 8 || ip[0] >> 4 != 6 || ip[6] != IPPROTO_ICMPV6 ||
		    memcmp(ip + 24, s->inner.bytes, 16) != 0)
			return;
		icmp = ip + 40;
		if (icmp[0] != 129)
			return;
	} else {
		if (len < 28 || ip[0] >> 4 != 4 || ip[9] != IPPROTO_ICMP)
			return;
		size_t hl = (size_t)(ip[0] & 0x0f) * 4;
		if (len < hl + 8 || memcmp(ip + 16, &s->inner.v4, 4) != 0)
			return;
		icmp = ip + hl;
		if (icmp[0] != 0)
			return;
	}
	if ((icmp[4] << 8 | icmp[5]) != s->ping_id)
		return;
	s->received++;
	s->lg->tot.pings_received++;
	if (s->state == LG_DRAINING && s->received >= s->sent)
		loop_timer_arm(s->timer, 0);	/* every answer is in */
}

static void lg_deliver(struct cv_host *host, struct cv_session *s,
		       const struct cv_msg *msgs, unsigned int count)
{
	struct lg *lg = s->lg;

	for (unsigned int i = 0; i < count && s->state != LG_IDLE; i++) {
		struct proto_msg m;
		const char *why;

		if (msgs[i].len == 0)
			continue;
		if (msgs[i].data[0] == PROTO_DATA) {
			data(s, msgs[i].data + 1, msgs[i].len - 1);
			continue;
		}
		if (proto_decode(msgs[i].data, msgs[i].len, &m, &why) < 0) {
			log_warn("session %u: bad message from the gateway: %s",
				 s->index, why);
			continue;
		}
		switch (m.type) {
		case PROTO_WELCOME:
			welcome(s, &m.welcome);
			break;
		case PROTO_REFUSE:
			log_warn("session %u: refused: %s%s%s", s->index,
				 proto_reason_name(m.refuse.reason),
				 m.refuse.text[0] ? ": " : "", m.refuse.text);
			lg->tot.refused++;
			lost(s, true, false);	/* on its way back: again */
			return;
		case PROTO_BYE:
			log_warn("session %u: the gateway said bye (%s)", s->index,
				 proto_reason_name(m.bye.reason));
			if (s->state == LG_UP || s->state == LG_DRAINING)
				lg->tot.lost++;
			else
				lg->tot.failed++;
			s->drained = m.bye.reason == PROTO_REASON_DRAINING;
			lost(s, true, false);
			return;
		case PROTO_RESET:
			/* udp: the gateway lost the session, if the token is
			 * this session's. */
			if (!lg->opt.reconnect || !s->has_reset_token ||
			    memcmp(m.reset.token, s->reset_token,
				   sizeof(s->reset_token)) != 0)
				break;
			lg->tot.lost++;
			lost(s, true, true);
			return;
		default:
			break;		/* keepalive */
		}
	}
}

const struct cv_host_api lg_host_api = {
	.size = sizeof(struct cv_host_api),
	.log = lg_log,
	.watch = lg_watch,
	.unwatch = lg_unwatch,
	.timer_new = lg_timer_new,
	.timer_arm = lg_timer_arm,
	.timer_free = lg_timer_free,
	.config_get = lg_config_get,
	.link_up = lg_link_up,
	.link_down = lg_link_down,
	.deliver = lg_deliver,
};

/* ---- timers */

static void on_slot_timer(void *arg)
{
	struct cv_session *s = arg;
	struct lg *lg = s->lg;
	int64_t now = loop_now(lg->loop);

	switch (s->state) {
	case LG_IDLE:
		if (s->returning) {
			s->returning = false;
			lg_slot_start(s);
		}
		return;
	case LG_CONNECTING:
	case LG_HELLO:
	case LG_SILENT:
		if (now >= s->deadline_ms) {
			log_warn("session %u: no welcome within %d s", s->index,
				 CONNECT_DEADLINE_MS / 1000);
			lg->tot.failed += !s->lost_ms;
			finish(s, true);
			if (s->lost_ms && !lg->stopping) {
				s->returning = true;	/* the gateway is not back */
				loop_timer_arm(s->timer, again_pause(s));
			}
			return;
		}
		if (s->state == LG_HELLO)
			send_hello(s);	/* unreliable: the first was lost */
		if (s->state == LG_SILENT) {	/* wait out the deadline */
			loop_timer_arm(s->timer, s->deadline_ms - now);
			return;
		}
		loop_timer_arm(s->timer, HELLO_RETRANSMIT_MS);
		return;
	case LG_UP:
		/* Held long enough: the last answers, then bye. */
		s->state = LG_DRAINING;
		loop_timer_arm(s->ping_timer, -1);
		loop_timer_arm(s->timer, s->received >= s->sent ? 0 : DRAIN_MS);
		return;
	case LG_DRAINING:
		lg->tot.completed++;
		say_bye(s);
		finish(s, true);
		return;
	}
}

static void on_ping_timer(void *arg)
{
	struct cv_session *s = arg;
	struct lg *lg = s->lg;
	int64_t now = loop_now(lg->loop);

	if (s->state != LG_UP)
		return;
	if (lg->opt.rate) {
		send_echo(s);
		loop_timer_arm(s->ping_timer, 1000 / lg->opt.rate);
		return;
	}
	struct proto_msg m = { .type = PROTO_KEEPALIVE };
	send_control(s, &m);
	s->last_keepalive_ms = now;
	loop_timer_arm(s->ping_timer, KEEPALIVE_MS);
}

int lg_slot_init(struct lg *lg, struct cv_session *s, unsigned int index)
{
	memset(s, 0, sizeof(*s));
	s->lg = lg;
	s->index = index;
	s->host.lg = lg;
	s->host.slot = s;
	s->timer = loop_timer_new(lg->loop, on_slot_timer, s);
	s->ping_timer = loop_timer_new(lg->loop, on_ping_timer, s);
	if (!s->timer || !s->ping_timer)
		return -ENOMEM;
	return lg->t->create(&lg_host_api, &s->host, &s->inst);
}

void lg_slot_free(struct cv_session *s)
{
	if (s->inst)
		s->lg->t->destroy(s->inst);
	s->inst = NULL;
	loop_timer_free(s->timer);
	loop_timer_free(s->ping_timer);
	s->timer = s->ping_timer = NULL;
}
