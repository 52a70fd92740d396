/*
 * What the nftables ruleset does to the tunnel's traffic, for `culvertctl
 * diagnose`: the ruleset is read as JSON (through libnftables, or `nft -j
 * list ruleset`) and each base chain on a hook is walked rule by rule for
 * one packet described by what is known of it. A condition that cannot be
 * judged without the real packet (a source address, a rate limit, a named
 * set) makes the answer "may drop", never "drops".
 */
#ifndef CULVERT_FIREWALL_H
#define CULVERT_FIREWALL_H

#include <stddef.h>

#include "addr.h"

struct firewall;

/* Read the running ruleset. Returns 0, -ENOTSUP when culvertctl was built
 * without jansson, or another negative errno with why set to the reason
 * (nft's own message when it has one). */
int firewall_read(struct firewall **out, char *why, size_t size);
/* The same from nft's JSON text, for tests; -EINVAL when it is not that. */
int firewall_parse(const char *json, struct firewall **out);
void firewall_free(struct firewall *fw);

/* One packet: what is not known is NULL or 0, and a rule that looks at
 * it may or may not match. */
struct fw_packet {
	int family;			/* AF_INET or AF_INET6 */
	int l4proto;			/* IPPROTO_UDP, IPPROTO_TCP, or 0 */
	unsigned int dport;
	const char *iif, *oif;		/* interface names */
	const struct cv_prefix *saddr, *daddr;	/* a range of addresses */
	const char *ct_state;		/* "new", "established" */
};

enum fw_result { FW_PASSES, FW_DROPS, FW_MAY_DROP };

/* What one base chain does to the packet. */
struct fw_verdict {
	enum fw_result result;
	const char *family, *table, *chain;	/* the base chain */
	const char *rule_chain;	/* where the rule that drops it is */
	long long handle;	/* that rule's handle; 0: the chain's policy */
};

/* Walk every base chain of the packet's family on hook ("input",
 * "forward", ...) and call fn with each verdict. Returns how many chains
 * it walked. */
typedef void fw_verdict_fn(const struct fw_verdict *v, void *arg);
unsigned int firewall_check(const struct firewall *fw, const char *hook,
			    const struct fw_packet *pkt, fw_verdict_fn *fn,
			    void *arg);

#endif
