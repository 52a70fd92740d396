/*
 * libFuzzer harness: the per-client and per-group files of
 * src/server/policy_file.c. The first byte says whose file it is (a
 * client's when even, a group's when odd); the rest is the file. Each
 * file parsed is merged for a session with a small config, against a
 * set holding it (policy.c), and must keep the parser's promises.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "policy.h"
#include "policy_file.h"
#include "session.h"

static struct config *cfg;

static void quiet(int priority, const char *line, void *arg)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_open("fuzz_policy", true, LOG_DEBUG);
	log_set_sink(quiet, NULL);
	if (config_parse_string("gw.conf",
				"mode = server\ntransport = udp\n"
				"listen = 192.0.2.1:4433\npool = 203.0.113.0/24\n"
				"pool6 = 2001:db8:100::/64\nroute = 198.18.2.0/24\n",
				&cfg) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool group = data[0] & 1;
	FILE *f = fmemopen((void *)(data + 1), size - 1, "r");
	if (!f && size > 1)
		return 0;
	struct client_policy p;
	int errors = f ? policy_parse(f, "fuzz", "x", group, &p) : 0;
	if (f)
		fclose(f);
	if (!f)
		return 0;
	fuzz_assert(errors >= 0, "policy_parse: %d", errors);
	fuzz_assert(p.networks.n <= POLICY_MAX_NETWORKS, "%u networks", p.networks.n);
	fuzz_assert(p.routes.n <= POLICY_MAX_ROUTES, "%u routes", p.routes.n);
	fuzz_assert(!group || (!p.networks.n && !p.group && !p.addr4.family &&
			       !p.addr6.family), "a group's file took a client's key");
	for (unsigned int i = 0; i < p.networks.n; i++)
		fuzz_assert(p.networks.p[i].len > 0, "a network of length 0");

	/* Merged for a session, when the file passed. */
	struct policy_set set = { 0 };
	if (group)
		set.groups = &p, set.n_groups = 1;
	else
		set.clients = &p, set.n_clients = 1;
	struct session_policy *s = NULL;
	if (errors == 0 && policy_set_check(&set, cfg, NULL, 0) == 0 &&
	    policy_for_session(&set, cfg, "x", "x", &s) == 0 && s) {
		fuzz_assert(s->n_networks == (group ? 0 : p.networks.n),
			    "networks lost in the merge");
		fuzz_assert(s->n_routes <= POLICY_MAX_ROUTES, "%u routes", s->n_routes);
		for (unsigned int i = 0; i < s->n_routes; i++)
			for (unsigned int j = 0; j < s->n_networks; j++)
				fuzz_assert(!prefix_inside(&s->routes[i], &s->networks[j]),
					    "a route inside the client's own network");
	}
	free(s);
	client_policy_clear(&p);
	return 0;
}
