/*
 * Path MTU discovery for a session over a datagram transport: the
 * search (pure), then the probes, their answers and the timer that
 * paces them. See path_mtu.h for the why and the when.
 */
#include "path_mtu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "proto.h"
#include "session.h"
#include "session_owner.h"

/* Every link carries a control message of 1024 bytes (the ABI's promise,
 * culvert-transport(7)): the floor, tried in the first round. */
#define PROBE_BASE PROTO_MAX_CONTROL
/* Each size twice: one lost datagram must not make a size look too
 * large. */
#define PROBE_COPIES 2
/* A round waits this long for its first answer; once one came, 3 round
 * trips more, at least ROUND_AFTER_MS, for the others. */
#define ROUND_WAIT_MS 1000
#define ROUND_AFTER_MS 50
/* Rounds in a row without any answer before the peer, or the path, is
 * taken to be silent (RFC 8899's MAX_PROBES). */
#define SILENT_ROUNDS 3
/* A confirmation of the size found, while data flows; and a try above
 * it, when it is below the tunnel's MTU (RFC 8899 5.1.1's timers, the
 * first far shorter than its default: a tunnel's inner senders stall
 * for as long as a new black hole goes unnoticed). */
#define CONFIRM_MS 15000
#define RAISE_MS (600 * 1000)

/* ---- the search */

void path_mtu_search_begin(struct path_mtu_search *p, size_t base, size_t lo,
			   size_t hi)
{
	memset(p, 0, sizeof(*p));
	p->base = base;
	p->lo = lo;
	p->hi = hi;
}

unsigned int path_mtu_search_round(struct path_mtu_search *p)
{
	p->n = 0;
	memset(p->acked, 0, sizeof(p->acked));
	if (p->hi <= p->lo + 1)
		return 0;
	/* Nothing known yet: from the base to the ceiling, both included.
	 * Else lo itself first, known to cross: if no answer comes back
	 * even for it, the peer (or the whole path) is silent, which is
	 * not the same as every larger size being too large. */
	size_t from = p->base < p->hi - 1 ? p->base : p->hi - 1, to = p->hi - 1;
	unsigned int room = PATH_MTU_ROUND;
	if (p->lo) {
		p->size[p->n++] = p->lo;
		from = p->lo + 1;
		room--;
	}
	if (to - from + 1 <= room) {
		for (size_t size = from; size <= to; size++)
			p->size[p->n++] = size;
		return p->n;
	}
	for (unsigned int i = 0; i < room; i++)
		p->size[p->n++] = p->lo
			? p->lo + (p->hi - p->lo) * (i + 1) / (room + 1)
			: from + (to - from) * i / (room - 1);
	return p->n;
}

int path_mtu_search_acked(struct path_mtu_search *p, size_t size)
{
	int known = -1;
	bool larger_left = false;

	for (unsigned int i = 0; i < p->n; i++) {
		if (p->size[i] == size) {
			p->acked[i] = true;
			known = 0;
		} else if (p->size[i] > size && !p->acked[i]) {
			larger_left = true;
		}
	}
	return known < 0 ? -1 : larger_left ? 0 : 1;
}

bool path_mtu_search_end_round(struct path_mtu_search *p)
{
	size_t crossed = 0;

	for (unsigned int i = 0; i < p->n; i++)
		if (p->acked[i] && p->size[i] > crossed)
			crossed = p->size[i];
	if (crossed == 0)
		return false;
	if (crossed > p->lo)
		p->lo = crossed;
	for (unsigned int i = 0; i < p->n; i++)
		if (!p->acked[i] && p->size[i] > p->lo && p->size[i] < p->hi)
			p->hi = p->size[i];
	return true;
}

/* ---- a session's probing */

enum probing {
	PROBING_SEARCH,		/* rounds of sizes, until the byte is known */
	PROBING_CONFIRM,	/* the size found, again: does it still cross? */
	PROBING_IDLE,		/* waiting for the next confirmation or raise */
};

struct path_mtu {
	struct cv_session *s;
	struct loop_timer *timer;
	enum probing state;
	struct path_mtu_search search;
	size_t ceiling;			/* the largest data message */
	uint32_t id;			/* the round out now, if out */
	bool round_out;
	int64_t sent_at, deadline, raise_at;
	unsigned int silent;		/* rounds in a row without an answer */
	uint64_t tx_seen;		/* s->tx_packets at the last look */
};

/* "session alice: " on a server, nothing on a client: its one session
 * is named after the server, whose address the lines give anyway. */
static const char *who(const struct cv_session *s, char buf[300])
{
	if (!s->identity) {
		buf[0] = '\0';
		return buf;
	}
	snprintf(buf, 300, "session %s: ", s->identity);
	return buf;
}

/* What s's link carries now, as far as probing knows. */
static size_t current(const struct path_mtu *p)
{
	return p->s->path_max ? p->s->path_max : p->ceiling;
}

static void arm(struct path_mtu *p, int64_t msec)
{
	loop_timer_arm(p->timer, msec);
}

/* Send this round's probes, each PROBE_COPIES times, smallest first.
 * False when the link broke and the session ended. */
static bool send_round(struct path_mtu *p)
{
	struct cv_session *s = p->s;
	struct path_mtu_search *q = &p->search;
	struct cv_msg msgs[PATH_MTU_ROUND * PROBE_COPIES];
	unsigned int n = 0;
	/* One buffer: every probe of the round is its start. */
	uint8_t *buf = calloc(1, q->size[q->n - 1]);

	if (!buf) {
		arm(p, ROUND_WAIT_MS);	/* try again later */
		return true;
	}
	memset(q->acked, 0, sizeof(q->acked));
	p->id++;
	proto_put_probe(buf, p->id);
	for (unsigned int i = 0; i < q->n; i++)
		for (unsigned int c = 0; c < PROBE_COPIES; c++)
			msgs[n++] = (struct cv_msg){ .data = buf, .len = q->size[i] };
	int sent = session_send(s, msgs, n);
	free(buf);
	if (sent < 0) {
		session_end(s, PROTO_REASON_UNSPECIFIED, "cannot send");
		return false;
	}
	s->core->counters.pmtu_probes += n;
	p->round_out = true;
	p->sent_at = loop_now(s->core->loop);
	p->deadline = p->sent_at + ROUND_WAIT_MS;
	arm(p, ROUND_WAIT_MS);
	return true;
}

static void next_round(struct path_mtu *p);

/* Search between lo (crosses; 0: unknown) and hi, from a clean slate. */
static void search(struct path_mtu *p, size_t lo, size_t hi)
{
	p->state = PROBING_SEARCH;
	p->silent = 0;
	path_mtu_search_begin(&p->search, PROBE_BASE, lo, hi);
	next_round(p);
}

/* Does the size in use still cross? The base beside it tells a path
 * that shrank from a peer that fell silent. */
static void confirm(struct path_mtu *p)
{
	struct path_mtu_search *q = &p->search;
	size_t size = current(p);

	path_mtu_search_begin(q, PROBE_BASE, 0, size + 1);
	q->n = 0;
	if (size > PROBE_BASE)
		q->size[q->n++] = PROBE_BASE;
	q->size[q->n++] = size;
	send_round(p);
}

static void log_change(struct path_mtu *p, size_t was, size_t now)
{
	struct cv_session *s = p->s;
	char name[300];

	if (now < was) {
		s->core->counters.pmtu_lowered++;
		log_notice("%spath MTU to %s: messages of %zu bytes cross over %s, %zu do not (found by probing): tunnel MTU now %zu, was %zu; larger packets get ICMP too-big, or are fragmented where IPv4 allows",
			   who(s, name), s->peer, now,
			   s->transport->t->name, now + 1,
			   now - session_overhead(s), was - session_overhead(s));
	} else {
		log_notice("%spath MTU to %s: messages of %zu bytes cross over %s: tunnel MTU back up to %zu",
			   who(s, name), s->peer, now,
			   s->transport->t->name, now - session_overhead(s));
	}
}

/* What the link carries is known again: now. */
static void settle(struct path_mtu *p, size_t now, bool searched)
{
	struct cv_session *s = p->s;
	char name[300];
	size_t was = current(p);

	if (now != was)
		log_change(p, was, now);
	else if (searched)
		log_info("%spath MTU to %s: messages of %zu bytes cross over %s%s",
			 who(s, name), s->peer, now, s->transport->t->name,
			 now == p->ceiling ? ", the tunnel's full size" : "");
	s->path_max = now < p->ceiling ? now : 0;
	if (searched)
		p->raise_at = loop_now(s->core->loop) + RAISE_MS;
	p->state = PROBING_IDLE;
	p->silent = 0;
	p->tx_seen = s->tx_packets;
	arm(p, CONFIRM_MS);
}

static void next_round(struct path_mtu *p)
{
	if (path_mtu_search_round(&p->search) == 0) {
		settle(p, p->search.lo, true);
		return;
	}
	send_round(p);
}

/* Rounds without the answer they wanted: nothing at all (silent), or,
 * confirming, the base but not the size in use. */
static void unanswered(struct path_mtu *p, bool silent)
{
	struct cv_session *s = p->s;
	char name[300];
	size_t size = current(p);

	if (++p->silent < SILENT_ROUNDS) {
		send_round(p);		/* the same sizes again */
		return;
	}
	if (!silent) {
		/* What crossed no longer does: a black hole where there
		 * was none. */
		log_warn("%spath MTU to %s: probes of %zu bytes over %s went unanswered %u times: the path carries less now; searching again",
			 who(s, name), s->peer, size, s->transport->t->name,
			 SILENT_ROUNDS);
		search(p, PROBE_BASE, size);
		return;
	}
	log_info("%spath MTU to %s: no answer to probes over %s; keeping messages of %zu bytes, trying again in %d s",
		 who(s, name), s->peer, s->transport->t->name, size,
		 RAISE_MS / 1000);
	p->state = PROBING_IDLE;
	p->raise_at = loop_now(s->core->loop) + RAISE_MS;
	p->tx_seen = s->tx_packets;
	arm(p, RAISE_MS);
}

/* Idle: try above the size in use when that is due, or confirm it if
 * data flowed since the last look. */
static void idle_tick(struct path_mtu *p)
{
	struct cv_session *s = p->s;
	size_t size = current(p);

	if (size < p->ceiling && loop_now(s->core->loop) >= p->raise_at) {
		search(p, size, p->ceiling + 1);
		return;
	}
	if (s->tx_packets == p->tx_seen) {
		arm(p, CONFIRM_MS);	/* nothing sent, nothing lost */
		return;
	}
	p->tx_seen = s->tx_packets;
	p->state = PROBING_CONFIRM;
	p->silent = 0;
	confirm(p);
}

/* A round is over (its time is up, or every answer it waited for came). */
static void round_over(struct path_mtu *p)
{
	struct path_mtu_search *q = &p->search;

	p->round_out = false;
	if (!path_mtu_search_end_round(q)) {
		unanswered(p, true);
		return;
	}
	if (p->state == PROBING_CONFIRM) {
		if (q->lo == current(p))
			settle(p, q->lo, false);
		else
			unanswered(p, false);
		return;
	}
	p->silent = 0;
	next_round(p);
}

static void on_timer(void *arg)
{
	struct path_mtu *p = arg;

	if (p->state == PROBING_IDLE)
		idle_tick(p);
	else if (p->round_out)
		round_over(p);
	else
		next_round(p);
}

static void take_ack(struct path_mtu *p, uint32_t id, size_t size)
{
	if (!p->round_out || id != p->id)
		return;		/* a late answer to an earlier round */
	int more = path_mtu_search_acked(&p->search, size);
	if (more < 0)
		return;
	int64_t now = loop_now(p->s->core->loop);
	if (more > 0) {
		arm(p, 0);
		return;
	}
	/* The rest of the round left with this one: 3 round trips more
	 * is long enough to wait for it. */
	int64_t rest = 3 * (now - p->sent_at);
	if (rest < ROUND_AFTER_MS)
		rest = ROUND_AFTER_MS;
	if (now + rest < p->deadline) {
		p->deadline = now + rest;
		arm(p, rest);
	}
}

void path_mtu_start(struct cv_session *s, unsigned int mtu)
{
	size_t ceiling = (size_t)mtu + session_overhead(s);

	path_mtu_stop(s);
	s->path_max = 0;
	if (!s->probes_answered || session_reliable(s))
		return;
	if (s->max_msg && ceiling > s->max_msg)
		ceiling = s->max_msg;
	if (ceiling <= PROBE_BASE)
		return;		/* nothing to find above what every link carries */
	struct path_mtu *p = calloc(1, sizeof(*p));
	if (!p)
		return;		/* the tunnel works as before, unprobed */
	p->s = s;
	p->ceiling = ceiling;
	p->timer = loop_timer_new(s->core->loop, on_timer, p);
	if (!p->timer) {
		free(p);
		return;
	}
	if (getrandom(&p->id, sizeof(p->id), 0) != sizeof(p->id))
		p->id = (uint32_t)loop_now(s->core->loop);
	s->pmtu = p;
	/* From the loop: the welcome leaves first. */
	p->state = PROBING_SEARCH;
	path_mtu_search_begin(&p->search, PROBE_BASE, 0, ceiling + 1);
	arm(p, 0);
}

void path_mtu_stop(struct cv_session *s)
{
	if (!s->pmtu)
		return;
	loop_timer_free(s->pmtu->timer);
	free(s->pmtu);
	s->pmtu = NULL;
}

/* Answer a probe of len bytes: tiny, whatever its size, so that probing
 * one way says nothing of the other. */
static void answer(struct cv_session *s, const uint8_t *msg, size_t len)
{
	uint8_t ack[PROTO_PROBE_ACK_LEN];
	uint32_t id;

	if (proto_get_probe(msg, len, &id) < 0) {
		session_malformed(s, "truncated path MTU probe");
		return;
	}
	/* A server answers only a session it welcomed; a client, which
	 * offered to in its hello, also before the welcome arrives. */
	if (session_is_server(s) && s->state != SESSION_UP) {
		s->core->counters.before_hello++;
		return;
	}
	proto_put_probe_ack(ack, id, len);
	struct cv_msg m = { .data = ack, .len = sizeof(ack) };
	/* A broken link shows at the next send of the datapath, which
	 * ends the session; not here, inside a delivery. */
	session_send(s, &m, 1);
}

void path_mtu_received(struct cv_session *s, const uint8_t *msg, size_t len)
{
	uint32_t id;
	size_t size;

	if (msg[0] == PROTO_PROBE) {
		answer(s, msg, len);
		return;
	}
	if (proto_get_probe_ack(msg, len, &id, &size) < 0) {
		session_malformed(s, "path MTU probe answer of the wrong length");
		return;
	}
	if (s->pmtu)
		take_ack(s->pmtu, id, size);
}
