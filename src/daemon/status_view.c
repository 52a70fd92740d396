#include "status_view.h"

#include <string.h>

#include "config.h"
#include "core.h"
#include "loop.h"
#include "plugin.h"
#include "plugin_host.h"
#include "session.h"
#include "shard.h"

#define NAME(n) #n,
const char *const refusal_names[] = { REFUSAL_REASONS(NAME) };
const char *const login_names[] = { LOGIN_RESULTS(NAME) };
#undef NAME

const char *transport_endpoint(const struct core *core,
			       const struct cv_host *h)
{
	return transport_config_get(h, core->cfg->mode == MODE_SERVER ? "listen"
								      : "remote");
}

void daemon_view(const struct core *core, struct daemon_view *v)
{
	memset(v, 0, sizeof(*v));
	v->mode = core->cfg->mode == MODE_SERVER ? "server" : "client";
	v->started_at = core->started_at;
	v->uptime_s = (loop_now(core->loop) - core->started_ms) / 1000;
	if (core->cfg->mode == MODE_SERVER)
		v->max_clients = core->cfg->max_clients;
	v->drained = core->drained;
	v->loops = shard_count(core);
	for (const struct cv_session *s = core->sessions; s; s = s->next) {
		if (s->state == SESSION_UP)
			v->up++;
		else
			v->pending++;
	}
}

void session_page(const struct core *core, unsigned int page,
		  unsigned int size, struct session_page *p)
{
	unsigned int total = core->n_sessions;
	uint64_t skip = page ? (uint64_t)(page - 1) * size : 0;

	*p = (struct session_page){
		.first = core->sessions, .page = page, .total = total,
		.pages = page ? (unsigned int)((total + (uint64_t)size - 1) / size) : 1,
		.count = total, .from = total ? 1 : 0,
	};
	if (!page)
		return;
	if (skip >= total) {
		*p = (struct session_page){ .page = page, .total = total, .pages = p->pages };
		return;
	}
	/* A walk of the list: pointers only, a millisecond at 100,000. */
	for (uint64_t i = 0; i < skip && p->first; i++)
		p->first = p->first->next;
	p->from = (unsigned int)skip + 1;
	p->count = total - (unsigned int)skip < size ? total - (unsigned int)skip : size;
}

/* The inner addresses: the lease on a server, what was installed on a
 * client. */
static void inner_addresses(const struct cv_session *s,
			    struct session_view *v)
{
	if (s->has_inner)
		v->inner = addr_str(&s->inner, v->inner_buf);
	else if (s->addr_installed)
		v->inner = addr_str(&s->addr.addr, v->inner_buf);
	if (s->has_inner6)
		v->inner6 = addr_str(&s->inner6, v->inner6_buf);
	else if (s->addr6_installed)
		v->inner6 = addr_str(&s->addr6.addr, v->inner6_buf);
}

void session_view(const struct core *core, const struct cv_session *s,
		  struct session_view *v)
{
	const struct cv_host *h = s->transport;
	int64_t now = loop_now(core->loop);

	memset(v, 0, sizeof(*v));
	v->id = s->id;
	v->name = session_name(s);
	v->transport = h->t->name;
	v->loop = s->loop;
	v->up = s->state == SESSION_UP;
	v->state = v->up ? "up" : "hello";
	v->outer = s->peer;
	inner_addresses(s, v);
	if (core->cfg->mode == MODE_SERVER && v->up)
		v->login = s->radius ? "radius" : s->password_login ? "password"
			   : s->identity ? "certificate" : NULL;
	if (s->radius) {
		v->radius = true;
		radius_session_view(s, &v->rad);
	}
	if (s->policy) {
		v->group = s->policy->group;
		v->networks = s->policy->networks;
		v->n_networks = s->policy->n_networks;
	}
	for (unsigned int i = 0; s->macs && i < s->macs->n; i++)
		mac_str(s->macs->macs[i], v->macs[v->n_macs++]);
	v->connected_at = s->connected_at;
	v->connected_s = (now - s->started) / 1000;
	v->seen_s = (double)(now - s->last_rx) / 1000.0;
	v->rx_bytes = s->rx_bytes;
	v->rx_packets = s->rx_packets;
	v->tx_bytes = s->tx_bytes;
	v->tx_packets = s->tx_packets;
	v->max_msg = s->max_msg;
	v->data_gso = s->data_gso;
	v->data_partial = s->data_partial;
	v->data_uso = s->data_uso;
	v->link.size = sizeof(v->link);
	shard_describe(s, &v->link);
}

bool session_called(const struct cv_session *s, const char *name)
{
	return strcmp(session_name(s), name) == 0 || strcmp(s->peer, name) == 0;
}
