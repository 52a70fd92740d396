/*
 * dtls_drops.c - the records GnuTLS drops without hurting the link, told
 * apart and reported: a replay (a sequence number already accepted), a
 * stale handshake record (DTLS working as it should), or a record that
 * failed authentication (corrupted or forged); and the messages send()
 * drops as larger than one record carries. Each link's drops get one
 * line at once, then at most one a second, from the report timer.
 */
#include <errno.h>

#include "dtls.h"

/* ---- which records were accepted */

uint64_t dtls_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void dtls_seen_mark(struct seen_window *w, uint64_t seq)
{
	if (!w->valid) {
		w->top = seq;
		w->bits = 1;
		w->valid = true;
	} else if (seq > w->top) {
		uint64_t d = seq - w->top;
		w->bits = d >= 64 ? 1 : w->bits << d | 1;
		w->top = seq;
	} else if (w->top - seq < 64) {
		w->bits |= 1ull << (w->top - seq);
	}
}

void dtls_seen_start(struct seen_window *w, const uint8_t next_seq[8])
{
	uint64_t next = dtls_be64(next_seq);

	if (next > 0)
		*w = (struct seen_window){ .top = next - 1, .bits = ~0ull,
					   .valid = true };
}

bool dtls_seen_newer(const struct seen_window *w, const uint8_t seq[8])
{
	return !w->valid || dtls_be64(seq) > w->top;
}

/* Older than the window counts as seen: GnuTLS's window is 64 records
 * too, and drops those as replays. */
static bool seen_before(const struct seen_window *w, uint64_t seq)
{
	if (!w->valid || seq > w->top)
		return false;
	return w->top - seq >= 64 || (w->bits >> (w->top - seq) & 1);
}

/*
 * A replay when a record of the link's current epoch carries a sequence
 * number already accepted; stale when every record is of an older epoch
 * (the peer's handshake flight again, after our last flight was lost:
 * GnuTLS answers it, or drops what it no longer needs); else a record
 * that failed authentication.
 */
enum drop_kind dtls_drop_kind(const struct cv_link *link, const uint8_t *d,
			      size_t len)
{
	uint64_t epoch = link->seen.top >> 48;
	bool stale = link->seen.valid && len >= REC_HDR;
	size_t off = 0;

	for (unsigned int i = 0; i < 16 && len - off >= REC_HDR; i++) {
		uint64_t seq = dtls_be64(d + off + 3);
		if (seq >> 48 == epoch && seen_before(&link->seen, seq))
			return DROP_REPLAY;
		if (seq >> 48 >= epoch)
			stale = false;
		off += REC_HDR + ((size_t)d[off + 11] << 8 | d[off + 12]);
		if (off > len)
			break;
	}
	return stale ? DROP_STALE : DROP_FORGED;
}

/* ---- counting */

static void report(struct cv_link *link);

void dtls_account_drops(struct cv_link *link, unsigned int before,
			enum drop_kind kind)
{
	struct cv_instance *inst = link->inst;
	unsigned int d = gnutls_record_get_discarded(link->g.tls) - before;

	if (d == 0)
		return;
	switch (kind) {
	case DROP_REPLAY:
		link->replays += d;
		link->replays_unlogged += d;
		inst->replays += d;
		break;
	case DROP_STALE:
		/* Part of DTLS working as it should: no line of its own. */
		inst->stale += d;
		return;
	case DROP_FORGED:
		link->forged += d;
		link->forged_unlogged += d;
		inst->forged += d;
		break;
	}
	report(link);
}

void dtls_count_oversize(struct cv_link *link, unsigned int n)
{
	link->oversize += n;
	link->oversize_unlogged += n;
	link->inst->oversize += n;
	report(link);
}

static void unqueue(struct cv_link *link)
{
	if (!link->report_prev)
		return;
	*link->report_prev = link->report_next;
	if (link->report_next)
		link->report_next->report_prev = link->report_prev;
	link->report_next = NULL;
	link->report_prev = NULL;
}

void dtls_drops_link_end(struct cv_link *link)
{
	unqueue(link);
	if (link->replays || link->forged || link->oversize)
		LOG(link->inst, CV_LOG_DEBUG,
		    "link to %s ends; dropped over its life: %llu replayed records, %llu that failed authentication, %llu messages too large",
		    link->g.peer_name, (unsigned long long)link->replays,
		    (unsigned long long)link->forged,
		    (unsigned long long)link->oversize);
}

/* ---- reporting: at once, then at most once a second */

/* One line a second at most per link and kind, from the report timer. */
static void link_report_drops(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->replays_unlogged)
		PEER_LOG(inst, CV_LOG_NOTICE,
			 "dropped %u replayed records from %s (%llu on this link)",
			 link->replays_unlogged, link->g.peer_name,
			 (unsigned long long)link->replays);
	if (link->forged_unlogged)
		PEER_LOG(inst, CV_LOG_NOTICE,
			 "dropped %u records from %s that failed authentication (corrupted or forged; %llu on this link)",
			 link->forged_unlogged, link->g.peer_name,
			 (unsigned long long)link->forged);
	if (link->oversize_unlogged)
		PEER_LOG(inst, CV_LOG_INFO,
			 "dropped %u messages for %s larger than one DTLS record carries (%zu bytes)",
			 link->oversize_unlogged, link->g.peer_name,
			 link->data_mtu);
	link->replays_unlogged = link->forged_unlogged = 0;
	link->oversize_unlogged = 0;
}

static bool report_pass(struct cv_instance *inst)
{
	bool any = inst->to_report != NULL;

	while (inst->to_report) {
		struct cv_link *l = inst->to_report;
		unqueue(l);
		link_report_drops(l);
	}
	if (any)
		LOG(inst, CV_LOG_DEBUG,
		    "dropped so far: %llu replayed records, %llu records that failed authentication, %llu stale handshake records, %llu messages too large, %llu stray datagrams; %llu cookies sent, %llu peers moved",
		    (unsigned long long)inst->replays,
		    (unsigned long long)inst->forged,
		    (unsigned long long)inst->stale,
		    (unsigned long long)inst->oversize,
		    (unsigned long long)inst->strays,
		    (unsigned long long)inst->cookies_sent,
		    (unsigned long long)inst->roams);
	return any;
}

static void on_report(void *arg)
{
	struct cv_instance *inst = arg;

	if (report_pass(inst))
		inst->gl.api->timer_arm(inst->report_timer, 1000);
	else
		inst->report_armed = false;
}

/* The link has a drop unlogged: reported at once if the last report
 * was over a second ago, else at the next pass. */
static void report(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (!link->report_prev) {
		link->report_next = inst->to_report;
		if (inst->to_report)
			inst->to_report->report_prev = &link->report_next;
		inst->to_report = link;
		link->report_prev = &inst->to_report;
	}
	if (inst->report_armed)
		return;
	report_pass(inst);
	inst->report_armed = true;
	inst->gl.api->timer_arm(inst->report_timer, 1000);
}

int dtls_drops_init(struct cv_instance *inst)
{
	inst->report_timer = inst->gl.api->timer_new(inst->gl.host, on_report,
						     inst);
	return inst->report_timer ? 0 : -ENOMEM;
}

void dtls_drops_deinit(struct cv_instance *inst)
{
	if (inst->report_timer)
		inst->gl.api->timer_free(inst->report_timer);
	inst->report_timer = NULL;
}
