/* firewall.c: what an nftables ruleset (nft -j list ruleset) does to one
 * packet of the tunnel, "drops" only when no condition is left unjudged. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "firewall.h"

/* The shapes nft 1.0 prints, table inet t. */
#define RULESET(...) "{\"nftables\":[{\"metainfo\":{\"json_schema_version\":1}}" __VA_ARGS__ "]}"
#define BASE(name, hook, policy) \
	",{\"chain\":{\"family\":\"inet\",\"table\":\"t\",\"name\":\"" name \
	"\",\"handle\":1,\"type\":\"filter\",\"hook\":\"" hook \
	"\",\"prio\":0,\"policy\":\"" policy "\"}}"
#define CHAIN(name) \
	",{\"chain\":{\"family\":\"inet\",\"table\":\"t\",\"name\":\"" name \
	"\",\"handle\":2}}"
#define RULE(chain, handle, ...) \
	",{\"rule\":{\"family\":\"inet\",\"table\":\"t\",\"chain\":\"" chain \
	"\",\"handle\":" #handle ",\"expr\":[" __VA_ARGS__ "]}}"
#define MATCH(op, left, right) \
	"{\"match\":{\"op\":\"" op "\",\"left\":" left ",\"right\":" right "}},"
#define PAYLOAD(proto, field) \
	"{\"payload\":{\"protocol\":\"" proto "\",\"field\":\"" field "\"}}"
#define META(key) "{\"meta\":{\"key\":\"" key "\"}}"
#define CT_STATE "{\"ct\":{\"key\":\"state\"}}"
#define PREFIX(addr, len) "{\"prefix\":{\"addr\":\"" addr "\",\"len\":" #len "}}"
#define ACCEPT "{\"accept\":null}"
#define DROP "{\"drop\":null}"
#define REJECT "{\"reject\":{\"type\":\"icmpx\",\"expr\":\"port-unreachable\"}}"
#define COUNTER "{\"counter\":{\"packets\":0,\"bytes\":0}},"

static struct cv_prefix listen_addr, pool, lan;

/* What clients send to a udp gateway listening on 192.0.2.1:4433. */
static struct fw_packet to_udp_port(void)
{
	return (struct fw_packet){ .family = AF_INET, .l4proto = IPPROTO_UDP,
				   .dport = 4433, .daddr = &listen_addr,
				   .ct_state = "new" };
}

static struct fw_packet to_tcp_port(void)
{
	struct fw_packet p = to_udp_port();

	p.l4proto = IPPROTO_TCP;
	return p;
}

/* A client's packet on its way from cv0 to the LAN. */
static struct fw_packet forwarded(void)
{
	return (struct fw_packet){ .family = AF_INET, .iif = "cv0",
				   .oif = "gw1", .saddr = &pool, .daddr = &lan,
				   .ct_state = "new" };
}

/* The last verdict, its strings copied: they live in the ruleset. */
struct seen {
	unsigned int n;
	enum fw_result result;
	long long handle;
	bool policy;
	char family[16], table[16], chain[16], rule_chain[16];
};

static void record(const struct fw_verdict *v, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->result = v->result;
	s->handle = v->handle;
	s->policy = !v->rule_chain;
	snprintf(s->family, sizeof(s->family), "%s", v->family);
	snprintf(s->table, sizeof(s->table), "%s", v->table);
	snprintf(s->chain, sizeof(s->chain), "%s", v->chain);
	snprintf(s->rule_chain, sizeof(s->rule_chain), "%s",
		 v->rule_chain ? v->rule_chain : "");
}

static struct seen check(const char *json, const char *hook,
			 struct fw_packet pkt)
{
	struct firewall *fw;
	struct seen s = { 0 };

	ck_assert_msg(firewall_parse(json, &fw) == 0, "does not parse: %s", json);
	unsigned int n = firewall_check(fw, hook, &pkt, record, &s);
	ck_assert_uint_eq(n, s.n);
	firewall_free(fw);
	return s;
}

static void setup(void)
{
	const char *why;

	ck_assert_int_eq(prefix_parse("192.0.2.1/32", false, &listen_addr, &why), 0);
	ck_assert_int_eq(prefix_parse("203.0.113.0/24", false, &pool, &why), 0);
	ck_assert_int_eq(prefix_parse("198.51.100.0/24", false, &lan, &why), 0);
}

START_TEST(not_json_is_einval)
{
	struct firewall *fw;

	ck_assert_int_eq(firewall_parse("table inet t {}", &fw), -EINVAL);
	ck_assert_int_eq(firewall_parse("{\"tables\":[]}", &fw), -EINVAL);
}
END_TEST

START_TEST(empty_ruleset_walks_nothing)
{
	struct seen s = check(RULESET(), "input", to_udp_port());

	ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(port_drop_rule_drops)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 3, MATCH("in", CT_STATE, "\"invalid\"") DROP)
		RULE("input", 4, MATCH("==", PAYLOAD("udp", "dport"), "4433") COUNTER DROP));
	struct seen s = check(json, "input", to_udp_port());

	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.result, FW_DROPS);
	ck_assert_str_eq(s.rule_chain, "input");
	ck_assert_int_eq(s.handle, 4);
	ck_assert_str_eq(s.family, "inet");
	ck_assert_str_eq(s.table, "t");
	/* tls listens on tcp: a udp rule is not about it */
	ck_assert_int_eq(check(json, "input", to_tcp_port()).result, FW_PASSES);
	/* another hook is not walked */
	ck_assert_uint_eq(check(json, "forward", to_udp_port()).n, 0);
}
END_TEST

START_TEST(accept_before_drop_passes)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 3, MATCH("==", PAYLOAD("udp", "dport"), "4433") ACCEPT)
		RULE("input", 4, DROP));

	ck_assert_int_eq(check(json, "input", to_udp_port()).result, FW_PASSES);
	struct seen s = check(json, "input", to_tcp_port());
	ck_assert_int_eq(s.result, FW_DROPS);
	ck_assert_int_eq(s.handle, 4);
}
END_TEST

START_TEST(policy_drop_with_set_and_range)
{
	const char *json = RULESET(
		BASE("input", "input", "drop")
		RULE("input", 3, MATCH("==", PAYLOAD("tcp", "dport"),
				       "{\"set\":[22,{\"range\":[4430,4440]}]}") ACCEPT));
	struct seen s = check(json, "input", to_udp_port());

	ck_assert_int_eq(check(json, "input", to_tcp_port()).result, FW_PASSES);
	ck_assert_int_eq(s.result, FW_DROPS);
	ck_assert(s.policy);
	ck_assert_int_eq(s.handle, 0);
}
END_TEST

START_TEST(unjudged_condition_on_the_port_may_drop)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 5, MATCH("==", PAYLOAD("ip", "saddr"), PREFIX("10.0.0.0", 8))
				 MATCH("==", PAYLOAD("udp", "dport"), "4433") DROP));
	struct seen s = check(json, "input", to_udp_port());

	ck_assert_int_eq(s.result, FW_MAY_DROP);
	ck_assert_int_eq(s.handle, 5);
}
END_TEST

START_TEST(blocklist_not_about_the_port_passes)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 5, MATCH("==", PAYLOAD("ip", "saddr"), PREFIX("10.0.0.0", 8)) DROP));

	ck_assert_int_eq(check(json, "input", to_udp_port()).result, FW_PASSES);
}
END_TEST

START_TEST(named_set_or_limit_before_policy_drop_may_drop)
{
	const char *set = RULESET(
		BASE("input", "input", "drop")
		RULE("input", 3, MATCH("==", PAYLOAD("udp", "dport"), "\"@allowed\"") ACCEPT));
	const char *limit = RULESET(
		BASE("input", "input", "drop")
		RULE("input", 3, MATCH("==", PAYLOAD("udp", "dport"), "4433")
				 "{\"limit\":{\"rate\":10,\"per\":\"second\"}}," ACCEPT));

	ck_assert_int_eq(check(set, "input", to_udp_port()).result, FW_MAY_DROP);
	ck_assert_int_eq(check(limit, "input", to_udp_port()).result, FW_MAY_DROP);
}
END_TEST

START_TEST(jump_into_a_chain_that_drops)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		CHAIN("services")
		RULE("input", 3, MATCH("==", META("iifname"), "\"lo\"") ACCEPT)
		RULE("input", 4, "{\"jump\":{\"target\":\"services\"}}")
		RULE("services", 6, MATCH("==", PAYLOAD("udp", "dport"), "4433") REJECT));
	struct seen s = check(json, "input", to_udp_port());

	/* iifname is unknown for the listen check: lo may have accepted it,
	 * so the reject further down only may hit */
	ck_assert_int_eq(s.result, FW_MAY_DROP);
	ck_assert_str_eq(s.rule_chain, "services");
	ck_assert_int_eq(s.handle, 6);
}
END_TEST

START_TEST(goto_and_return)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		CHAIN("sub")
		RULE("input", 3, "{\"goto\":{\"target\":\"sub\"}}")
		RULE("input", 4, DROP)	/* never reached: goto does not come back */
		RULE("sub", 6, MATCH("==", PAYLOAD("udp", "dport"), "53") ACCEPT)
		RULE("sub", 7, "{\"return\":null}")
		RULE("sub", 8, DROP));

	ck_assert_int_eq(check(json, "input", to_udp_port()).result, FW_PASSES);
}
END_TEST

START_TEST(not_equal_keeps_the_protocol)
{
	const char *json = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 3, MATCH("!=", PAYLOAD("udp", "dport"), "53") DROP));

	ck_assert_int_eq(check(json, "input", to_udp_port()).result, FW_DROPS);
	/* "udp dport != 53" never matches a tcp packet */
	ck_assert_int_eq(check(json, "input", to_tcp_port()).result, FW_PASSES);
}
END_TEST

START_TEST(listen_address)
{
	const char *other = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 3, MATCH("==", PAYLOAD("ip", "daddr"), "\"198.51.100.1\"") DROP));
	const char *ours = RULESET(
		BASE("input", "input", "accept")
		RULE("input", 3, MATCH("==", PAYLOAD("ip", "daddr"), PREFIX("192.0.2.0", 24)) DROP));

	ck_assert_int_eq(check(other, "input", to_udp_port()).result, FW_PASSES);
	ck_assert_int_eq(check(ours, "input", to_udp_port()).result, FW_DROPS);
}
END_TEST

START_TEST(forward_policy_drop)
{
	const char *bare = RULESET(BASE("forward", "forward", "drop"));
	const char *open = RULESET(
		BASE("forward", "forward", "drop")
		RULE("forward", 3, MATCH("==", META("iifname"), "\"cv*\"")
				   MATCH("==", PAYLOAD("ip", "saddr"), PREFIX("203.0.113.0", 24)) ACCEPT)
		RULE("forward", 4, MATCH("in", CT_STATE, "[\"established\",\"related\"]") ACCEPT));
	struct fw_packet back = forwarded();

	back.iif = "gw1";
	back.oif = "cv0";
	back.saddr = &lan;
	back.daddr = &pool;
	back.ct_state = "established";
	ck_assert_int_eq(check(bare, "forward", forwarded()).result, FW_DROPS);
	ck_assert_int_eq(check(open, "forward", forwarded()).result, FW_PASSES);
	ck_assert_int_eq(check(open, "forward", back).result, FW_PASSES);
	/* a pool inside a wider accepted prefix is accepted; a wider pool
	 * than the prefix only may be */
	struct cv_prefix wide = { pool.addr, 16 };
	struct fw_packet p = forwarded();
	p.saddr = &wide;
	ck_assert_int_eq(check(open, "forward", p).result, FW_MAY_DROP);
}
END_TEST

START_TEST(other_families_and_types_are_not_walked)
{
	const char *json =
		"{\"nftables\":["
		"{\"chain\":{\"family\":\"ip6\",\"table\":\"t\",\"name\":\"in6\",\"handle\":1,"
		"\"type\":\"filter\",\"hook\":\"input\",\"prio\":0,\"policy\":\"drop\"}},"
		"{\"chain\":{\"family\":\"ip\",\"table\":\"n\",\"name\":\"pre\",\"handle\":1,"
		"\"type\":\"nat\",\"hook\":\"prerouting\",\"prio\":-100,\"policy\":\"accept\"}},"
		"{\"chain\":{\"family\":\"ip\",\"table\":\"f\",\"name\":\"in4\",\"handle\":1,"
		"\"type\":\"filter\",\"hook\":\"input\",\"prio\":0,\"policy\":\"accept\"}}]}";
	struct seen s = check(json, "input", to_udp_port());

	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.chain, "in4");
	ck_assert_uint_eq(check(json, "prerouting", to_udp_port()).n, 0);
}
END_TEST

static Suite *firewall_suite(void)
{
	Suite *s = suite_create("firewall");
	TCase *tc = tcase_create("verdicts");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, not_json_is_einval);
	tcase_add_test(tc, empty_ruleset_walks_nothing);
	tcase_add_test(tc, port_drop_rule_drops);
	tcase_add_test(tc, accept_before_drop_passes);
	tcase_add_test(tc, policy_drop_with_set_and_range);
	tcase_add_test(tc, unjudged_condition_on_the_port_may_drop);
	tcase_add_test(tc, blocklist_not_about_the_port_passes);
	tcase_add_test(tc, named_set_or_limit_before_policy_drop_may_drop);
	tcase_add_test(tc, jump_into_a_chain_that_drops);
	tcase_add_test(tc, goto_and_return);
	tcase_add_test(tc, not_equal_keeps_the_protocol);
	tcase_add_test(tc, listen_address);
	tcase_add_test(tc, forward_policy_drop);
	tcase_add_test(tc, other_families_and_types_are_not_walked);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(firewall_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
