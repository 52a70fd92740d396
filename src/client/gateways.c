/*
 * A client of a cluster: 'remote' names several gateways, and the client
 * keeps its own order of them (culvert.conf(5), CLUSTER).
 *
 * The order is rendezvous hashing (highest random weight): each gateway
 * scores hash(identity, gateway), best first. Every client thus has a
 * first choice of its own, spread evenly, the same at every start (it
 * comes back to the gateway that holds its old session, which it then
 * replaces at once); and when a gateway dies, each of its clients' next
 * choice is again spread evenly over the others, not piled on the one
 * listed after it. Adding or removing a gateway moves only the clients
 * whose first choice it is or was.
 *
 * When a session that was up ends, the client moves to the next gateway
 * of its order, after a pause that spreads the clients of a dead gateway
 * over failover-spread (failover.h); when it is in doubt (an unanswered
 * probe, ICMP port unreachable: signs, not proofs), it tries a session
 * on the next gateway beside it after the same pause, for a gateway
 * that died is seen by all its busy clients at once.
 */
#include "client.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "core.h"
#include "failover.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "session.h"

/* FNV-1a, then splitmix64's finaliser: FNV alone mixes its last bytes
 * poorly, and gateway names often differ only there. */
static uint64_t hash_add(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t mix(uint64_t h)
{
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

/* What names this client to every gateway: its user name, else its
 * certificate (its bytes), else the host's name. */
static uint64_t identity_hash(const struct config *cfg)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char buf[4096];

	if (cfg->username)
		return hash_add(h, cfg->username, strlen(cfg->username));
	if (cfg->cert) {
		FILE *f = fopen(cfg->cert, "re");
		if (f) {
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				h = hash_add(h, buf, n);
			fclose(f);
			return h;
		}
	}
	if (gethostname(buf, sizeof(buf)) == 0) {
		buf[sizeof(buf) - 1] = '\0';
		h = hash_add(h, buf, strlen(buf));
	}
	return h;
}

void client_gateways_init(struct client *c)
{
	const struct config *cfg = c->core->cfg;
	struct client_gateways *g = &c->gateways;
	/* The identity's bits spread over the whole word before a gateway's
	 * come in: names that differ in one letter score unrelated. */
	uint64_t id = mix(identity_hash(cfg)), score[CONFIG_MAX_REMOTES];

	g->n = cfg->n_remotes > 1 ? cfg->n_remotes : 0;
	for (unsigned int i = 0; i < g->n; i++) {
		uint64_t h = hash_add(0xcbf29ce484222325ULL, cfg->remotes[i],
				      strlen(cfg->remotes[i]));
		score[i] = mix(id ^ h);
		/* Insertion by score, best first. */
		unsigned int j = i;
		while (j > 0 && score[g->order[j - 1]] < score[i]) {
			g->order[j] = g->order[j - 1];
			j--;
		}
		g->order[j] = i;
	}
	g->at = 0;
	if (g->n > 1)
		log_info("gateways in this client's order: %s first of %u",
			 cfg->remotes[g->order[0]], g->n);
}

const char *client_gateway(const struct client *c, unsigned int pos)
{
	const struct config *cfg = c->core->cfg;
	const struct client_gateways *g = &c->gateways;

	if (!g->n)
		return cfg->remote;
	return cfg->remotes[g->order[pos % g->n]];
}

unsigned int client_gateway_next(const struct client *c)
{
	return c->gateways.n ? (c->gateways.at + 1) % c->gateways.n : 0;
}

void client_gateway_aim(struct client *c, struct cv_host *h, unsigned int pos)
{
	const char *gateway = client_gateway(c, pos);

	if (!c->gateways.n || strcmp(h->remote, gateway) == 0)
		return;
	snprintf(h->remote, sizeof(h->remote), "%s", gateway);
	/* A fresh instance: what it derived from 'remote' at create (the
	 * name the server's certificate must carry) follows the gateway. */
	if (h->inst)
		transport_restart(h);
}

static uint32_t random32(const struct client *c)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)loop_now(c->core->loop);
	return r;
}

void client_failover(struct client *c, bool draining)
{
	struct client_gateways *g = &c->gateways;
	const char *from = client_gateway(c, g->at);
	const struct cv_addr *had = c->previous4.family ? &c->previous4
							: &c->previous6;

	g->at = client_gateway_next(c);
	c->next_transport = 0;
	c->reconnect_delay_ms = 0;
	unsigned int pause = failover_pause_ms(had,
					       c->core->cfg->failover_spread,
					       draining, random32(c));
	log_notice("%s %s; moving to %s in %.2f s", draining ?
		   "draining, said the gateway" : "lost the session with the gateway",
		   from, client_gateway(c, g->at), pause / 1000.0);
	loop_timer_arm(c->reconnect, pause);
}

static void on_move(void *arg)
{
	struct client *c = arg;
	const struct cv_session *s = c->session;

	c->gateways.moving = false;
	if (!s || s->state != SESSION_UP)
		return;
	client_beside_start(c, transport_index(c->transports, s->transport),
			    client_gateway_next(c), c->gateways.why);
}

bool client_gateways_doubt(struct client *c, const char *why)
{
	struct client_gateways *g = &c->gateways;
	const struct cv_addr *had = c->previous4.family ? &c->previous4
							: &c->previous6;

	if (g->n < 2)
		return false;
	/* One move at a time: the doubt comes back every half second. */
	if (c->beside.host || g->moving)
		return true;
	if (!g->move && !(g->move = loop_timer_new(c->core->loop, on_move, c)))
		return true;
	unsigned int pause = failover_pause_ms(had,
					       c->core->cfg->failover_spread,
					       false, random32(c));
	snprintf(g->why, sizeof(g->why), "%s", why);
	log_notice("%s; a session with %s beside it in %.2f s", why,
		   client_gateway(c, client_gateway_next(c)), pause / 1000.0);
	g->moving = true;
	loop_timer_arm(g->move, pause);
	return true;
}

void client_gateways_stop(struct client *c)
{
	if (c->gateways.move)
		loop_timer_arm(c->gateways.move, -1);
	c->gateways.moving = false;
}
