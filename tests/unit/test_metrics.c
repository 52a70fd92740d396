/* What status and the metrics say, from a core in process with a fake
 * transport that describes its link and counts: human units, every
 * counter of CORE_COUNTERS in the metrics without a line of code for it,
 * label values escaped, every line in the exposition format, and null in
 * the JSON for what a session does not have. promtool judges the real
 * thing in tests/net/metrics.sh. */
#include <arpa/inet.h>
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core.h"
#include "human_units.h"
#include "identity_index.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "plugin_host.h"
#include "server.h"
#include "session.h"
#include "status.h"

START_TEST(human)
{
	char buf[HUMAN_MAX];

	ck_assert_str_eq(human_bytes(0, buf), "0 B");
	ck_assert_str_eq(human_bytes(1023, buf), "1023 B");
	ck_assert_str_eq(human_bytes(1536, buf), "1.5 KiB");
	ck_assert_str_eq(human_bytes(4u << 20, buf), "4.0 MiB");
	ck_assert_str_eq(human_bytes(3ull << 40, buf), "3.0 TiB");
	ck_assert_str_eq(human_span(1, buf), "1 second");
	ck_assert_str_eq(human_span(59, buf), "59 seconds");
	ck_assert_str_eq(human_span(180, buf), "3 minutes");
	ck_assert_str_eq(human_span(7500, buf), "2 hours 5 minutes");
	ck_assert_str_eq(human_span(12 * 3600 + 60, buf), "12 hours");
	ck_assert_str_eq(human_span(86400, buf), "1 day");
	ck_assert_str_eq(human_span(2 * 365 * 86400, buf), "2 years");
	ck_assert_str_eq(human_when(-180, buf), "3 minutes ago");
	ck_assert_str_eq(human_when(0, buf), "just now");
	ck_assert_str_eq(human_when(90, buf), "in 1 minute 30 seconds");
}
END_TEST

/* ---- a core with one session over a fake transport */

static void fake_stats(struct cv_instance *inst,
		       void (*emit)(void *arg, const char *name, uint64_t value),
		       void *arg)
{
	emit(arg, "handshakes", 3);
	emit(arg, "junk", 7);
}

static void fake_describe(struct cv_instance *inst, struct cv_link *link,
			  struct cv_link_desc *desc)
{
	desc->protocol = "FAKE1.0";
	desc->cipher = "ROT13";
	desc->keys_made = 1700000000;
}

static int fake_send(struct cv_instance *inst, struct cv_link *link,
		     const struct cv_msg *msgs, unsigned int count)
{
	return (int)count;
}

static void fake_close(struct cv_instance *inst, struct cv_link *link)
{
}

static const struct cv_transport fake = {
	.size = sizeof(struct cv_transport),
	.name = "fake",
	.send = fake_send,
	.close = fake_close,
	.stats = fake_stats,
	.describe = fake_describe,
};

static void quiet(int priority, const char *line, void *arg)
{
}

static struct core core;
static struct transports ts;
static struct cv_host host;
static struct server *server;

static void start(void)
{
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(4433) };
	struct cv_link_info info = { .identity = "Bob \"the\" \\ Builder",
				     .peer = (struct sockaddr *)&peer,
				     .peer_len = sizeof(peer) };

	log_set_sink(quiet, NULL);
	memset(&core, 0, sizeof(core));
	core.tun.fd = -1;
	ck_assert_int_eq(config_parse_string("gw.conf",
					     "mode = server\ntransport = fake\n"
					     "listen = 192.0.2.1:4433\n"
					     "pool = 203.0.113.0/24\n"
					     /* No stateless resets: nothing made. */
					     "state-dir = /dev/null/none\n",
					     &core.cfg), 0);
	ck_assert_int_eq(loop_new(&core.loop), 0);
	ts = (struct transports){ .n = 1 };
	host = (struct cv_host){ .core = &core, .loop = core.loop, .t = &fake,
				 .inst = (struct cv_instance *)&core };
	ts.host[0] = &host;
	inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
	ck_assert_int_eq(server_new(&core, &server), 0);
	ck_assert_ptr_nonnull(server_link_up(server, ts.host[0],
					     (struct cv_link *)&core, &info, NULL));
	core.counters.spoofed_source = 5;
	core.counters.rx_bytes = 1234;
}

static void finish(void)
{
	while (core.sessions)
		session_end(core.sessions, PROTO_REASON_SHUTDOWN, "test over");
	server_free(server);
	identity_index_free(&core);
	loop_free(core.loop);
	config_free(core.cfg);
	log_set_sink(NULL, NULL);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

START_TEST(metrics_have_every_counter)
{
	struct strbuf out = { 0 };
	char want[128];

	start();
	metrics_text(&core, &ts, METRICS_PROCESS, &out);
	/* Each counter by its own name or as a reason; a new one too. */
#define FOUND(name) \
	snprintf(want, sizeof(want), "culvert_%s_total ", #name); \
	ck_assert_msg(strstr(out.buf, want) || \
			      strstr(out.buf, "{reason=\"" #name "\"}"), \
		      "counter %s is not in the metrics", #name);
	CORE_COUNTERS(FOUND)
#undef FOUND
	ck_assert(has_line(out.buf, "culvert_dropped_packets_total{reason=\"spoofed_source\"} 5"));
	ck_assert(has_line(out.buf, "culvert_rx_bytes_total 1234"));
	ck_assert(has_line(out.buf, "culvert_transport_handshakes_total{transport=\"fake\",result=\"done\"} 3"));
	ck_assert(has_line(out.buf, "culvert_transport_junk_total{transport=\"fake\"} 7"));
	ck_assert(has_line(out.buf, "culvert_sessions{transport=\"fake\",state=\"hello\"} 1"));
	ck_assert(has_line(out.buf, "# TYPE culvert_logins_total counter"));
	/* A name from a certificate, escaped as the format wants. */
	ck_assert(has_line(out.buf, "culvert_session_keys_made_time_seconds{id=\"1\",session=\"Bob \\\"the\\\" \\\\ Builder\"} 1700000000"));
	ck_assert_ptr_nonnull(strstr(out.buf, "protocol=\"FAKE1.0\",cipher=\"ROT13\"} 1\n"));
	ck_assert(has_line(out.buf, "# TYPE process_cpu_seconds_total counter"));
	free(out.buf);

	out = (struct strbuf){ 0 };
	metrics_text(&core, &ts, METRICS_TEXTFILE, &out);
	ck_assert_ptr_null(strstr(out.buf, "\nprocess_"));
	ck_assert(has_line(out.buf, "# TYPE culvert_process_cpu_seconds_total counter"));
	free(out.buf);
	finish();
}
END_TEST

/* Every line a comment (HELP, TYPE) or a sample, and each family's
 * samples right after its TYPE. */
START_TEST(metrics_format)
{
	struct strbuf out = { 0 };
	regex_t sample, comment;
	char family[128] = "";

	start();
	metrics_text(&core, &ts, METRICS_PROCESS, &out);
	ck_assert_int_eq(regcomp(&sample,
				 "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\",?)*\\})? -?[0-9.e+]+$",
				 REG_EXTENDED), 0);
	ck_assert_int_eq(regcomp(&comment, "^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$",
				 REG_EXTENDED), 0);
	for (char *line = strtok(out.buf, "\n"); line; line = strtok(NULL, "\n")) {
		regmatch_t m[3];
		if (regexec(&comment, line, 3, m, 0) == 0) {
			snprintf(family, sizeof(family), "%.*s",
				 (int)(m[2].rm_eo - m[2].rm_so), line + m[2].rm_so);
			continue;
		}
		ck_assert_msg(regexec(&sample, line, 2, m, 0) == 0, "not a sample: %s", line);
		ck_assert_msg((size_t)(m[1].rm_eo - m[1].rm_so) == strlen(family) &&
				      strncmp(line, family, strlen(family)) == 0,
			      "%s after the TYPE of %s", line, family);
	}
	regfree(&sample);
	regfree(&comment);
	free(out.buf);
	finish();
}
END_TEST

START_TEST(json_nulls)
{
	struct strbuf out = { 0 };

	start();
	status_json(&core, &ts, 1, 1000, &out);
	/* Before its hello the session has no inner address, and the fake
	 * transport tells no certificate. */
	ck_assert_ptr_nonnull(strstr(out.buf, "\"inner\":null,\"inner6\":null,"));
	ck_assert_ptr_nonnull(strstr(out.buf, "\"peer_cert_expires\":null,\"keys_made\":\"2023-11-14T22:13:20Z\""));
	ck_assert_ptr_nonnull(strstr(out.buf, "\"protocol\":\"FAKE1.0\""));
	ck_assert_ptr_nonnull(strstr(out.buf, "\"listen\":\"192.0.2.1:4433\""));
	free(out.buf);

	out = (struct strbuf){ 0 };
	status_text(&core, &ts, false, 1, 1000, &out);
	ck_assert_ptr_nonnull(strstr(out.buf, "\nsession Bob \"the\" \\ Builder: waiting for hello over fake, FAKE1.0, ROT13\n"));
	ck_assert_ptr_nonnull(strstr(out.buf, "\n  spoofed_source: 5\n"));
	ck_assert_ptr_null(strstr(out.buf, "malformed"));
	ck_assert_ptr_nonnull(strstr(out.buf, "\n  fake.junk: 7\n"));
	free(out.buf);
	finish();
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_test(tc, human);
	tcase_add_test(tc, metrics_have_every_counter);
	tcase_add_test(tc, metrics_format);
	tcase_add_test(tc, json_nulls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(metrics_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
