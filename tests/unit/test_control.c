/* control_request.c and strbuf.c: the place and the words of the control
 * socket, both ways, and the JSON strings of status --json. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control_request.h"
#include "strbuf.h"

/* The socket culvertd@NAME listens on and culvertctl -c finds: both ends
 * derive it from the config file's name, unless control-socket says. */
START_TEST(socket_path)
{
	struct config *cfg;
	char buf[256];

	control_instance_name("/etc/culvert/gateway.conf", buf, sizeof(buf));
	ck_assert_str_eq(buf, "gateway");
	control_instance_name("gateway.conf.d", buf, sizeof(buf));
	ck_assert_str_eq(buf, "gateway.conf.d");
	ck_assert_int_eq(config_parse_string("/etc/culvert/u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n", &cfg), 0);
	control_path(cfg, buf, sizeof(buf));
	ck_assert_str_eq(buf, "/run/culvert/u/control.sock");
	config_free(cfg);
	ck_assert_int_eq(config_parse_string("u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n"
					     "control-socket = /tmp/x.sock\n", &cfg), 0);
	control_path(cfg, buf, sizeof(buf));
	ck_assert_str_eq(buf, "/tmp/x.sock");
	config_free(cfg);
	/* culvertctl -n u looks where culvertd -c .../u.conf listens. */
	char by_name[256];
	ck_assert_int_eq(config_parse_string("/etc/culvert/u.conf",
					     "mode = client\ntransport = tls\n"
					     "remote = 192.0.2.1:4433\n", &cfg), 0);
	control_path(cfg, buf, sizeof(buf));
	control_instance_path("u", by_name, sizeof(by_name));
	ck_assert_str_eq(by_name, buf);
	config_free(cfg);
}
END_TEST

/* Each instance's runtime files in a directory of its own, by one rule:
 * what culvertctl -n NAME finds is where culvertd@NAME put it. */
START_TEST(run_paths)
{
	char buf[64];

	ck_assert_int_eq(control_run_path("gateway", NULL, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/culvert/gateway");
	ck_assert_int_eq(control_run_path("gateway", CONTROL_PID_NAME, buf,
					  sizeof(buf)), 0);
	ck_assert_str_eq(buf, "/run/culvert/gateway/culvertd.pid");
	/* Names that are no directory of their own, or would leave it. */
	ck_assert_int_eq(control_run_path("", NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(control_run_path(".", NULL, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(control_run_path("..", "x", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(control_run_path(".hidden", NULL, buf, sizeof(buf)),
			 -EINVAL);
	ck_assert_int_eq(control_run_path("a/b", NULL, buf, sizeof(buf)),
			 -EINVAL);
	/* Cut short is no path at all. */
	char small[24];
	ck_assert_int_eq(control_run_path("gateway", CONTROL_SOCKET_NAME, small,
					  sizeof(small)), -ENAMETOOLONG);
	ck_assert_str_eq(small, "");
}
END_TEST

static struct control_request parse(const char *text, char *buf)
{
	size_t len = strlen(text);

	memcpy(buf, text, len + 1);
	return control_request_parse(buf, len);
}

START_TEST(requests)
{
	char buf[CONTROL_REQUEST_MAX + 1];

	ck_assert_int_eq(parse("status\n", buf).op, CONTROL_STATUS);
	ck_assert_int_eq(parse("status", buf).op, CONTROL_STATUS);
	ck_assert_int_eq(parse("status --json\r\n", buf).op, CONTROL_STATUS_JSON);
	ck_assert_int_eq(parse("reload\n", buf).op, CONTROL_RELOAD);
	ck_assert_int_eq(parse("drain\n", buf).op, CONTROL_DRAIN);
	ck_assert_int_eq(parse("undrain\n", buf).op, CONTROL_UNDRAIN);
	ck_assert_int_eq(parse("drain now\n", buf).op, CONTROL_BAD);
	ck_assert_str_eq(control_op_word(CONTROL_DRAIN), "drain");
	struct control_request r = parse("kick alice bob\n", buf);
	ck_assert_int_eq(r.op, CONTROL_KICK);
	ck_assert_str_eq(r.arg, "alice bob");
	r = parse("restart\n", buf);
	ck_assert_int_eq(r.op, CONTROL_BAD);
	ck_assert_str_eq(r.why, "unknown request");
	ck_assert_int_eq(parse("kick \n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --json --x\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --all\n", buf).op, CONTROL_STATUS_ALL);
	ck_assert_int_eq(parse("status --all --json\n", buf).op, CONTROL_STATUS_JSON);
	ck_assert_int_eq(parse("status --json --all\n", buf).op, CONTROL_STATUS_JSON);
	ck_assert_int_eq(parse("status --all --all\n", buf).op, CONTROL_BAD);
	/* Pages: the first of CONTROL_PAGE_SIZE unless said. */
	r = parse("status\n", buf);
	ck_assert_uint_eq(r.page, 1);
	ck_assert_uint_eq(r.page_size, CONTROL_PAGE_SIZE);
	r = parse("status --page 3 --json --page-size 50\n", buf);
	ck_assert_int_eq(r.op, CONTROL_STATUS_JSON);
	ck_assert_uint_eq(r.page, 3);
	ck_assert_uint_eq(r.page_size, 50);
	ck_assert_uint_eq(parse("status --page all\n", buf).page, CONTROL_PAGE_ALL);
	ck_assert_int_eq(parse("status --page 0\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --page\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --page 2x\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --page 1 --page 2\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --page-size 1000001\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("status --page-size 99999999999\n", buf).op, CONTROL_BAD);
	ck_assert_uint_eq(parse("status --page-size 1000000\n", buf).page_size, 1000000);
	ck_assert_int_eq(parse("metrics\n", buf).op, CONTROL_METRICS);
	ck_assert_int_eq(parse("metrics x\n", buf).op, CONTROL_BAD);
	ck_assert_int_eq(parse("show\n", buf).op, CONTROL_BAD);
	r = parse("show Alice Smith\n", buf);
	ck_assert_int_eq(r.op, CONTROL_SHOW);
	ck_assert_str_eq(r.arg, "Alice Smith");
	r = parse("show-json --json\n", buf);
	ck_assert_int_eq(r.op, CONTROL_SHOW_JSON);
	ck_assert_str_eq(r.arg, "--json");
}
END_TEST

/* Every request formats to a line that parses back to it. */
START_TEST(requests_round_trip)
{
	static const enum control_op ops[] = {
		CONTROL_STATUS, CONTROL_STATUS_ALL, CONTROL_STATUS_JSON,
		CONTROL_SHOW, CONTROL_SHOW_JSON, CONTROL_METRICS, CONTROL_KICK,
		CONTROL_RELOAD,
	};
	char line[CONTROL_REQUEST_MAX + 1];

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const char *name = CONTROL_NAMED(ops[i]) ? "--all x" : NULL;
		int n = control_request_format(ops[i], name, line, sizeof(line));
		ck_assert_int_gt(n, 0);
		struct control_request r = control_request_parse(line, (size_t)n);
		ck_assert_int_eq(r.op, ops[i]);
		if (name)
			ck_assert_str_eq(r.arg, name);
	}
	ck_assert_int_eq(control_request_format(CONTROL_SHOW, "", line,
						sizeof(line)), -EINVAL);
	ck_assert_int_eq(control_request_format(CONTROL_BAD, NULL, line,
						sizeof(line)), -EINVAL);
}
END_TEST

/* "kick alice\rx" used to kick alice: the line ended at the \r. */
START_TEST(kick_never_cut_at_a_control_character)
{
	char buf[CONTROL_REQUEST_MAX + 1];
	struct control_request r = parse("kick alice\rx\n", buf);

	ck_assert_int_eq(r.op, CONTROL_BAD);
	ck_assert_str_eq(r.why, "control character in the request");
	buf[0] = '\0';
	ck_assert_int_eq(control_request_format(CONTROL_KICK, "alice\rx", buf,
						sizeof(buf)), -EINVAL);
	ck_assert_int_eq(control_request_format(CONTROL_KICK, "alice\nx", buf,
						sizeof(buf)), -EINVAL);
	ck_assert_int_eq(control_request_format(CONTROL_KICK, "", buf,
						sizeof(buf)), -EINVAL);
}
END_TEST

/* A name longer than one read used to be cut by culvertctl's buffer and
 * by the daemon's read, and kicked whoever had the shorter name. */
START_TEST(kick_never_cut_by_length)
{
	char name[CONTROL_REQUEST_MAX], line[CONTROL_REQUEST_MAX + 1];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(control_request_format(CONTROL_KICK, name, line,
						sizeof(line)), -EMSGSIZE);
	/* The longest that fits: "kick " + 505 + "\n" = 511 bytes. */
	name[CONTROL_REQUEST_MAX - 7] = '\0';
	int n = control_request_format(CONTROL_KICK, name, line, sizeof(line));
	ck_assert_int_eq(n, CONTROL_REQUEST_MAX - 1);
	struct control_request r = control_request_parse(line, (size_t)n);
	ck_assert_int_eq(r.op, CONTROL_KICK);
	ck_assert_str_eq(r.arg, name);
	/* What a read of 511 bytes without a newline holds is refused. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "kick ", 5);
	r = control_request_parse(line, CONTROL_REQUEST_MAX - 1);
	ck_assert_int_eq(r.op, CONTROL_BAD);
	ck_assert_str_eq(r.why, "request too long");
}
END_TEST

START_TEST(answers)
{
	char ok[] = "ok\nsessions: 0\n\0after a NUL\n";
	struct control_answer a = control_answer_parse(ok, sizeof(ok) - 1);

	ck_assert(a.ok);
	/* The body is counted, not cut at a NUL. */
	ck_assert_uint_eq(a.body_len, sizeof(ok) - 1 - 3);
	ck_assert_mem_eq(a.body, "sessions: 0\n\0after a NUL\n", a.body_len);

	char err[] = "error: no session of that name\n0 sessions ended\n";
	a = control_answer_parse(err, sizeof(err) - 1);
	ck_assert(!a.ok);
	ck_assert_str_eq(a.message, "no session of that name");
	ck_assert_uint_eq(a.body_len, strlen("0 sessions ended\n"));

	char okish[] = "okay\n";
	ck_assert(!control_answer_parse(okish, sizeof(okish) - 1).ok);
	char bare[] = "ok";
	a = control_answer_parse(bare, 2);
	ck_assert(a.ok);
	ck_assert_uint_eq(a.body_len, 0);
}
END_TEST

static char *json(const char *s)
{
	struct strbuf sb = { 0 };

	strbuf_json_string(&sb, s);
	return sb.buf;
}

/* A user name or certificate name that is not UTF-8 used to make
 * status --json print invalid JSON. */
START_TEST(json_strings_are_utf8)
{
	char *j = json("J\xfcrgen");	/* Latin-1 */
	ck_assert_str_eq(j, "\"J\\ufffdrgen\"");
	free(j);
	j = json("J\xc3\xbcrgen \xf0\x9f\x94\x91");	/* valid: kept */
	ck_assert_str_eq(j, "\"J\xc3\xbcrgen \xf0\x9f\x94\x91\"");
	free(j);
	j = json("\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");	/* overlong, surrogate, > U+10FFFF, cut */
	ck_assert_str_eq(j, "\"\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\"");
	free(j);
	j = json("a\"b\\c\x01\x7f");
	ck_assert_str_eq(j, "\"a\\\"b\\\\c\\u0001\\u007f\"");
	free(j);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("words");

	tcase_add_test(tc, socket_path);
	tcase_add_test(tc, run_paths);
	tcase_add_test(tc, requests);
	tcase_add_test(tc, requests_round_trip);
	tcase_add_test(tc, kick_never_cut_at_a_control_character);
	tcase_add_test(tc, kick_never_cut_by_length);
	tcase_add_test(tc, answers);
	tcase_add_test(tc, json_strings_are_utf8);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(control_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
