/*
 * The DNS servers and search domains a server pushes, on the client:
 * given to systemd-resolved for the tunnel's device (D-Bus, sd-bus) when
 * it runs, and otherwise to up-script and down-script as CULVERT_DNS and
 * CULVERT_DNS_DOMAIN, for the administrator to apply. Taken back when the
 * session ends.
 */
#ifndef CULVERT_DNS_H
#define CULVERT_DNS_H

#include <stdbool.h>

#include "addr.h"
#include "proto.h"

struct hook_env;

struct dns_state {
	int ifindex;
	bool via_resolved;	/* resolved took them: the hooks get none */
	unsigned int n_servers;
	struct cv_addr servers[PROTO_MAX_DNS];
	unsigned int n_domains;
	char domains[PROTO_MAX_DNS][PROTO_MAX_TEXT + 1];
};

/* What w pushes, applied to ifindex; *out is NULL when w pushes nothing.
 * every_domain: the tunnel is the default route, so resolved sends it
 * every query, not only those for its domains. */
int dns_up(struct dns_state **out, const struct proto_welcome *w,
	   int ifindex, const char *ifname, bool every_domain);
/* Revert what dns_up did, and free dns (NULL is fine). */
void dns_down(struct dns_state *dns);
/* CULVERT_DNS and CULVERT_DNS_DOMAIN, unless resolved took them. */
void dns_hook_env(const struct dns_state *dns, struct hook_env *env);

#endif
