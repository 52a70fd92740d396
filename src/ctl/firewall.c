#include "firewall.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "netcheck.h"

#ifdef HAVE_JANSSON
#include <jansson.h>
#ifdef HAVE_LIBNFTABLES
#include <nftables/libnftables.h>
#endif

/* A chain can jump to another; nft refuses loops, this bounds the walk
 * all the same. */
#define MAX_DEPTH 16

struct firewall {
	json_t *root;
	json_t *list;		/* root's "nftables" array */
};

int firewall_parse(const char *json, struct firewall **out)
{
	struct firewall *fw = calloc(1, sizeof(*fw));

	if (!fw)
		return -ENOMEM;
	fw->root = json_loads(json, 0, NULL);
	fw->list = json_object_get(fw->root, "nftables");
	if (!json_is_array(fw->list)) {
		firewall_free(fw);
		return -EINVAL;
	}
	*out = fw;
	return 0;
}

void firewall_free(struct firewall *fw)
{
	if (!fw)
		return;
	json_decref(fw->root);
	free(fw);
}

#ifdef HAVE_LIBNFTABLES
static int ruleset_json(char **json, char *why, size_t size)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, "list ruleset") != 0) {
		snprintf(why, size, "%s", nft_ctx_get_error_buffer(ctx));
		err = -EIO;
	} else if (!(*json = strdup(nft_ctx_get_output_buffer(ctx)))) {
		err = -ENOMEM;
	}
	nft_ctx_free(ctx);
	return err;
}
#else
/* Without libnftables: nft(8) prints the same JSON. */
static int ruleset_json(char **json, char *why, size_t size)
{
	FILE *p = popen("nft -j list ruleset 2>&1", "re");
	char *text = NULL;
	size_t len = 0;

	if (!p)
		return -errno;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;
	while (mem && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, mem);
	if (mem)
		fclose(mem);
	int status = pclose(p);
	if (!text)
		return -ENOMEM;
	if (status != 0) {
		snprintf(why, size, "%s", status == 127 << 8 || !*text
						  ? "nft not found (install nftables)"
						  : text);
		free(text);
		return -EIO;
	}
	*json = text;
	return 0;
}
#endif

int firewall_read(struct firewall **out, char *why, size_t size)
{
	char *json = NULL;
	int err = ruleset_json(&json, why, size);

	if (err < 0) {
		why[strcspn(why, "\n")] = '\0';
		return err;
	}
	err = firewall_parse(json, out);
	if (err == -EINVAL)
		snprintf(why, size, "nft's JSON has no \"nftables\" list");
	free(json);
	return err;
}

/* ---- judging one rule */

enum tri { NO, MAYBE, YES };

static enum tri tri_and(enum tri a, enum tri b)
{
	return a < b ? a : b;
}

static const char *only_key(const json_t *obj, json_t **value)
{
	void *it = json_is_object(obj) ? json_object_iter((json_t *)obj) : NULL;

	*value = NULL;
	if (!it)
		return "";
	*value = json_object_iter_value(it);
	return json_object_iter_key(it);
}

static bool is(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* What kind of value a match compares, and the packet's. */
struct known {
	enum { K_NUMBER, K_ADDR, K_STRING } kind;
	long long number;
	const struct cv_prefix *addr;
	const char *string;
	bool specific;		/* a port, address or interface */
};

static enum tri addr_vs(const json_t *v, const struct cv_prefix *p)
{
	struct cv_prefix rule;
	json_t *inner;
	const char *key = only_key(v, &inner);

	if (json_is_string(v)) {
		if (addr_parse(json_string_value(v), &rule.addr) < 0)
			return MAYBE;
		rule.len = rule.addr.family == AF_INET ? 32 : 128;
	} else if (is(key, "prefix")) {
		json_t *len = json_object_get(inner, "len");
		const char *addr = json_string_value(json_object_get(inner, "addr"));
		if (!addr || addr_parse(addr, &rule.addr) < 0 || !json_is_integer(len))
			return MAYBE;
		rule.len = (uint8_t)json_integer_value(len);
	} else {
		return MAYBE;
	}
	if (!prefix_overlap(&rule, p))
		return NO;
	return rule.len <= p->len ? YES : MAYBE;
}

/* Whether one value (a set element, a range) holds what is known. */
static enum tri value_vs(const json_t *v, const struct known *k)
{
	json_t *inner;
	const char *key = only_key(v, &inner);

	if (is(key, "set") || json_is_array(v)) {
		const json_t *list = json_is_array(v) ? v : inner;
		enum tri any = NO, r;
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e) {
			r = value_vs(e, k);
			if (r > any)
				any = r;
		}
		return any;
	}
	if (json_is_string(v) && json_string_value(v)[0] == '@')
		return MAYBE;	/* a named set: its contents are elsewhere */
	switch (k->kind) {
	case K_NUMBER:
		if (json_is_integer(v))
			return json_integer_value(v) == k->number ? YES : NO;
		if (is(key, "range") && json_array_size(inner) == 2) {
			json_t *lo = json_array_get(inner, 0), *hi = json_array_get(inner, 1);
			if (json_is_integer(lo) && json_is_integer(hi))
				return json_integer_value(lo) <= k->number &&
				       k->number <= json_integer_value(hi) ? YES : NO;
		}
		return MAYBE;
	case K_ADDR:
		return addr_vs(v, k->addr);
	case K_STRING:
		if (!json_is_string(v))
			return MAYBE;
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		/* "cv*" matches every name that starts with cv */
		if (n && s[n - 1] == '*')
			return strncmp(s, k->string, n - 1) == 0 ? YES : NO;
		return strcmp(s, k->string) == 0 ? YES : NO;
	}
	return MAYBE;
}

/* Which packets a payload expression of this protocol looks at: nft adds
 * the dependency (meta l4proto udp for "udp dport"), which no operator
 * inverts. */
static enum tri protocol_dep(const char *proto, const struct fw_packet *pkt)
{
	if (is(proto, "ip"))
		return pkt->family == AF_INET ? YES : NO;
	if (is(proto, "ip6"))
		return pkt->family == AF_INET6 ? YES : NO;
	if (is(proto, "th"))
		return pkt->l4proto ? YES : MAYBE;
	bool udp = is(proto, "udp"), tcp = is(proto, "tcp");
	if (!pkt->l4proto)
		return MAYBE;
	if (udp || tcp)
		return (udp ? IPPROTO_UDP : IPPROTO_TCP) == pkt->l4proto ? YES : NO;
	/* icmp, sctp, ...: not the transport's packets */
	return is(proto, "icmp") || is(proto, "icmpv6") || is(proto, "sctp") ||
	       is(proto, "dccp") || is(proto, "udplite") ? NO : MAYBE;
}

static int l4proto_number(const json_t *v)
{
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	if (is(json_string_value(v), "udp"))
		return IPPROTO_UDP;
	if (is(json_string_value(v), "tcp"))
		return IPPROTO_TCP;
	return -1;
}

/* Fills *k with the packet's value for the left side of a match; returns
 * the dependency's answer, or MAYBE (k untouched) when unknown. */
static enum tri left_value(const json_t *left, const struct fw_packet *pkt,
			   struct known *k, bool *have)
{
	json_t *in;
	const char *key = only_key(left, &in);
	const char *field = json_string_value(json_object_get(in, "field"));
	const char *what = json_string_value(json_object_get(in, "key"));

	*have = false;
	if (is(key, "payload")) {
		const char *proto = json_string_value(json_object_get(in, "protocol"));
		enum tri dep = protocol_dep(proto, pkt);
		if (is(field, "dport") && pkt->dport) {
			*k = (struct known){ .kind = K_NUMBER, .number = pkt->dport,
					     .specific = true };
			*have = true;
		} else if ((is(field, "saddr") && pkt->saddr) ||
			   (is(field, "daddr") && pkt->daddr)) {
			*k = (struct known){ .kind = K_ADDR,
					     .addr = is(field, "saddr") ? pkt->saddr
									: pkt->daddr,
					     .specific = true };
			*have = is(proto, "ip") || is(proto, "ip6");
		}
		return dep;
	}
	if (is(key, "meta")) {
		const char *name = is(what, "iifname") || is(what, "iif") ? pkt->iif
				 : is(what, "oifname") || is(what, "oif") ? pkt->oif
				 : NULL;
		if (name) {
			*k = (struct known){ .kind = K_STRING, .string = name,
					     .specific = true };
			*have = true;
		} else if (is(what, "l4proto") && pkt->l4proto) {
			*k = (struct known){ .kind = K_NUMBER, .number = pkt->l4proto };
			*have = true;
		} else if (is(what, "nfproto")) {
			*k = (struct known){ .kind = K_STRING,
					     .string = pkt->family == AF_INET ? "ipv4" : "ipv6" };
			*have = true;
		}
		return YES;
	}
	if (is(key, "ct") && is(what, "state") && pkt->ct_state) {
		*k = (struct known){ .kind = K_STRING, .string = pkt->ct_state };
		*have = true;
	}
	return YES;
}

/* One "match": YES, NO or MAYBE for the packet. *specific is set when it
 * matched on something the packet is known by (a port, an address, an
 * interface), so that a drop it guards is about this traffic. */
static enum tri match(const json_t *m, const struct fw_packet *pkt,
		      bool *specific)
{
	const char *op = json_string_value(json_object_get(m, "op"));
	const json_t *right = json_object_get(m, "right");
	struct known k;
	bool have;
	enum tri dep = left_value(json_object_get(m, "left"), pkt, &k, &have);

	if (dep == NO || !have)
		return tri_and(dep, MAYBE);
	enum tri r;
	if (k.kind == K_NUMBER && l4proto_number(right) > 0 &&
	    !json_is_integer(right))
		r = l4proto_number(right) == k.number ? YES : NO;
	else
		r = value_vs(right, &k);
	if (is(op, "!="))
		r = r == YES ? NO : r == NO ? YES : MAYBE;
	else if (!is(op, "==") && !is(op, "in"))
		r = MAYBE;	/* <, >, bit masks: not judged */
	if (r == YES && k.specific)
		*specific = true;
	return tri_and(dep, r);
}

/* Statements that change nothing about whether the packet passes. */
static bool neutral(const char *key)
{
	static const char *const keys[] = { "counter", "log", "mangle",
					    "notrack", "set" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (is(key, keys[i]))
			return true;
	return false;
}

/* ---- walking the chains */

struct walk {
	const struct firewall *fw;
	const struct fw_packet *pkt;
	const char *family, *table;
	bool uncertain;		/* an earlier rule may have accepted it */
	bool may_drop;		/* a drop that may match was passed */
	const char *drop_chain;	/* the rule that drops it, or may */
	long long drop_handle;
};

/* NEXT: on to the next rule; END: this chain is done (return, or a goto
 * that came back), the caller goes on. */
enum outcome { NEXT, ACCEPT, DROP, END };

static enum outcome walk_chain(struct walk *w, const char *chain, int depth);

static void drop_at(struct walk *w, const char *chain, long long handle)
{
	w->drop_chain = chain;
	w->drop_handle = handle;
}

static enum outcome walk_rule(struct walk *w, const char *chain,
			      const json_t *rule, int depth)
{
	enum tri cond = YES;
	bool specific = false;
	const char *verdict = NULL, *target = NULL;
	long long handle = json_integer_value(json_object_get(rule, "handle"));
	size_t i;
	json_t *e, *v;

	json_array_foreach(json_object_get(rule, "expr"), i, e) {
		const char *key = only_key(e, &v);
		if (is(key, "match")) {
			cond = tri_and(cond, match(v, w->pkt, &specific));
		} else if (is(key, "accept") || is(key, "drop") ||
			   is(key, "reject") || is(key, "return") ||
			   is(key, "continue")) {
			verdict = key;
		} else if (is(key, "jump") || is(key, "goto")) {
			verdict = key;
			target = json_string_value(json_object_get(v, "target"));
		} else if (!neutral(key)) {
			/* limit, quota, a verdict map, an xt match: not
			 * judged here */
			cond = tri_and(cond, MAYBE);
			if (is(key, "vmap") || is(key, "queue"))
				verdict = "unknown";
		}
	}
	if (cond == NO || !verdict || is(verdict, "continue"))
		return NEXT;
	/* An accept, or a return to the calling chain, that may happen
	 * makes whatever comes after only possible. */
	if (is(verdict, "accept") || is(verdict, "return")) {
		if (cond == YES)
			return is(verdict, "accept") ? ACCEPT : END;
		w->uncertain = true;
		return NEXT;
	}
	if (is(verdict, "drop") || is(verdict, "reject")) {
		if (cond == YES) {
			drop_at(w, chain, handle);
			return DROP;
		}
		/* Only a drop that names this traffic is worth a word; a
		 * blocklist of sources is someone else's business. */
		if (specific && !w->may_drop) {
			drop_at(w, chain, handle);
			w->may_drop = true;
		}
		return NEXT;
	}
	if (!target || depth >= MAX_DEPTH) {
		w->uncertain = true;	/* a verdict map, a queue */
		return NEXT;
	}
	enum outcome r = walk_chain(w, target, depth + 1);
	if (cond == YES && r != END)
		return r;
	if (cond == YES)
		return is(verdict, "goto") ? END : NEXT;
	if (r == DROP)
		w->may_drop = true;
	if (r == ACCEPT)
		w->uncertain = true;
	return NEXT;
}

static enum outcome walk_chain(struct walk *w, const char *chain, int depth)
{
	size_t i;
	json_t *e, *rule;

	json_array_foreach(w->fw->list, i, e) {
		if (!is(only_key(e, &rule), "rule") ||
		    !is(json_string_value(json_object_get(rule, "family")), w->family) ||
		    !is(json_string_value(json_object_get(rule, "table")), w->table) ||
		    !is(json_string_value(json_object_get(rule, "chain")), chain))
			continue;
		enum outcome r = walk_rule(w, chain, rule, depth);
		if (r != NEXT)
			return r;
	}
	return END;
}

static bool family_sees(const char *family, int af)
{
	return is(family, "inet") ||
	       is(family, af == AF_INET ? "ip" : "ip6");
}

unsigned int firewall_check(const struct firewall *fw, const char *hook,
			    const struct fw_packet *pkt, fw_verdict_fn *fn,
			    void *arg)
{
	unsigned int walked = 0;
	size_t i;
	json_t *e, *c;

	json_array_foreach(fw->list, i, e) {
		const char *family, *type;
		if (!is(only_key(e, &c), "chain") ||
		    !is(json_string_value(json_object_get(c, "hook")), hook))
			continue;
		family = json_string_value(json_object_get(c, "family"));
		type = json_string_value(json_object_get(c, "type"));
		if (!family_sees(family, pkt->family) || (type && !is(type, "filter")))
			continue;
		struct walk w = { .fw = fw, .pkt = pkt, .family = family,
				  .table = json_string_value(json_object_get(c, "table")) };
		const char *name = json_string_value(json_object_get(c, "name"));
		enum outcome r = walk_chain(&w, name, 0);
		struct fw_verdict v = { FW_PASSES, family, w.table, name,
					w.drop_chain, w.drop_handle };
		if (r == END &&
		    is(json_string_value(json_object_get(c, "policy")), "drop")) {
			r = DROP;
			v.rule_chain = NULL;	/* the policy */
			v.handle = 0;
		}
		if (r == DROP)
			v.result = w.uncertain ? FW_MAY_DROP : FW_DROPS;
		else if (w.may_drop)
			v.result = FW_MAY_DROP;
		walked++;
		fn(&v, arg);
	}
	return walked;
}
#else
int firewall_read(struct firewall **out, char *why, size_t size)
{
	snprintf(why, size, "culvertctl was built without jansson");
	return -ENOTSUP;
}

int firewall_parse(const char *json, struct firewall **out)
{
	return -ENOTSUP;
}

void firewall_free(struct firewall *fw)
{
}

unsigned int firewall_check(const struct firewall *fw, const char *hook,
			    const struct fw_packet *pkt, fw_verdict_fn *fn,
			    void *arg)
{
	return 0;
}
#endif
