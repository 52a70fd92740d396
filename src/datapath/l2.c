/* The Ethernet side of the datapath (l2.h): the MAC table's learning
 * and aging, the flood budget, and frame helpers. */
#include "l2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "loop.h"
#include "mac_table.h"
#include "offload.h"
#include "session.h"
#include "wire.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
/* Where an Ethernet header keeps its addresses. */
#define ETH_DST 0
#define ETH_SRC 6

struct l2 {
	struct core *core;
	struct mac_table *macs;
	struct loop_timer *aging;
};

/* How often the table is swept: a quarter of mac-age, between 1 and
 * 30 s, so that an entry lives at most a little longer than mac-age. */
static int64_t sweep_ms(const struct config *cfg)
{
	int64_t ms = (int64_t)cfg->mac_age * 1000 / 4;

	return ms < 1000 ? 1000 : ms > 30000 ? 30000 : ms;
}

static void on_aging(void *arg)
{
	struct l2 *l2 = arg;
	const struct config *cfg = l2->core->cfg;
	int64_t now = loop_now(l2->core->loop);

	mac_table_age(l2->macs, now - (int64_t)cfg->mac_age * 1000);
	loop_timer_arm(l2->aging, sweep_ms(cfg));
}

int l2_new(struct core *core, struct l2 **out)
{
	struct l2 *l2 = calloc(1, sizeof(*l2));
	int err;

	*out = NULL;
	if (!l2)
		return -ENOMEM;
	l2->core = core;
	if ((err = mac_table_new(&l2->macs)) < 0) {
		free(l2);
		return err;
	}
	l2->aging = loop_timer_new(core->loop, on_aging, l2);
	if (!l2->aging) {
		l2_free(l2);
		return -ENOMEM;
	}
	loop_timer_arm(l2->aging, sweep_ms(core->cfg));
	*out = l2;
	return 0;
}

void l2_free(struct l2 *l2)
{
	if (!l2)
		return;
	loop_timer_free(l2->aging);
	mac_table_free(l2->macs);
	free(l2);
}

struct cv_session *l2_destination(struct l2 *l2, const uint8_t *frame,
				  size_t len, bool *flood,
				  struct cv_session **except)
{
	bool known;

	*flood = false;
	*except = NULL;
	if (len < TAP_ETH_HLEN)
		return NULL;
	const uint8_t *src = frame + ETH_SRC, *dst = frame + ETH_DST;
	struct mac_port *from = mac_table_lookup(l2->macs, src, &known);
	if (from)
		*except = from->session;
	else if (!mac_is_group(src))
		mac_table_seen_on_lan(l2->macs, src, loop_now(l2->core->loop));
	if (mac_is_group(dst)) {
		*flood = true;
		return NULL;
	}
	struct mac_port *to = mac_table_lookup(l2->macs, dst, &known);
	if (!known) {
		*flood = true;
		return NULL;
	}
	struct cv_session *s = to ? to->session : NULL;
	return s && s != *except && s->state == SESSION_UP ? s : NULL;
}

/* One more flooded frame from p's session, if its budget allows:
 * flood-rate frames a second, as many at once after a quiet second. */
static bool flood_allowed(struct mac_port *p, unsigned int rate, int64_t now)
{
	uint64_t full = (uint64_t)rate * 1000;

	if (now > p->refilled_at) {
		p->tokens += (uint64_t)(now - p->refilled_at) * rate;
		p->refilled_at = now;
	}
	if (p->tokens > full)
		p->tokens = full;
	if (p->tokens < 1000)
		return false;
	p->tokens -= 1000;
	return true;
}

uint64_t *l2_refused(struct l2 *l2, struct cv_session *s,
		     const uint8_t *frame, size_t len)
{
	struct core *core = l2->core;
	const struct config *cfg = core->cfg;
	int64_t now = loop_now(core->loop);
	static const uint8_t zero[MAC_LEN];

	if (len < TAP_ETH_HLEN)
		return &core->counters.malformed;
	const uint8_t *src = frame + ETH_SRC, *dst = frame + ETH_DST;
	/* No host sends from a group address, or from none. */
	if (mac_is_group(src) || memcmp(src, zero, MAC_LEN) == 0)
		return &core->counters.spoofed_mac;
	if (!s->macs) {
		s->macs = mac_port_new(l2->macs, s);
		if (!s->macs)
			return &core->counters.malformed;
		s->macs->tokens = (uint64_t)cfg->flood_rate * 1000;
		s->macs->refilled_at = now;
	}
	switch (mac_port_learn(s->macs, src, cfg->max_macs, now)) {
	case MAC_OWN:
	case MAC_NEW:
		break;
	case MAC_TAKEN:
		return &core->counters.spoofed_mac;
	case MAC_FULL:
		return &core->counters.mac_limit;
	case MAC_NOMEM:
		return &core->counters.malformed;
	}
	bool known = false;
	if (!mac_is_group(dst))
		mac_table_lookup(l2->macs, dst, &known);
	if (!known && !flood_allowed(s->macs, cfg->flood_rate, now))
		return &core->counters.flood_limited;
	return NULL;
}

/* ---- frames */

const uint8_t *l2_ip(const uint8_t *frame, size_t len)
{
	if (len <= TAP_ETH_HLEN)
		return NULL;
	uint16_t type = get16(frame + 12);
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6
		       ? frame + TAP_ETH_HLEN
		       : NULL;
}

bool l2_from_vnet(uint8_t *frame, size_t len, struct cv_segmentation *seg)
{
	if (!(seg->flags & CV_MSG_NEEDS_CSUM) && seg->gso_type == CV_GSO_NONE)
		return true;
	if (l2_ip(frame, len) && seg->csum_start >= TAP_ETH_HLEN) {
		seg->csum_start -= TAP_ETH_HLEN;
		seg->hdr_len = seg->hdr_len > TAP_ETH_HLEN
				       ? (uint16_t)(seg->hdr_len - TAP_ETH_HLEN)
				       : 0;
		return true;
	}
	if (seg->gso_type != CV_GSO_NONE)
		return false;
	/* Done here, where the kernel said, in whatever the frame is. */
	offload_finish_csum(frame, len, seg);
	*seg = (struct cv_segmentation){ 0 };
	return true;
}

void l2_answer_header(uint8_t out[TAP_ETH_HLEN], const uint8_t *frame)
{
	memcpy(out + ETH_DST, frame + ETH_SRC, MAC_LEN);
	memcpy(out + ETH_SRC, frame + ETH_DST, MAC_LEN);
	memcpy(out + 12, frame + 12, 2);
}
