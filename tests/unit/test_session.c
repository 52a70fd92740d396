/* The session's own refusals, driven in process through a fake transport
 * that records what the core sends, with a real server or client
 * connection as the session's owner: a server at max-clients refuses a
 * hello with "the server is full" (and welcomes it below the limit), and
 * a client that gets a welcome it must refuse says bye, installs nothing
 * (there is no netlink here: installing would crash the test) and backs
 * off. */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "core.h"
#include "datapath.h"
#include "identity_index.h"
#include "log.h"
#include "loop.h"
#include "plugin_host.h"
#include "proto.h"
#include "route.h"
#include "server.h"
#include "session.h"

/* ---- a transport that only records */

static struct proto_msg sent[32];
static unsigned int n_sent, n_closed;
static char logged[8192];

static int fake_send(struct cv_instance *inst, struct cv_link *link,
		     const struct cv_msg *msgs, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++) {
		const char *why;
		ck_assert_uint_lt(n_sent, 32);
		ck_assert_int_eq(proto_decode(msgs[i].data, msgs[i].len,
					      &sent[n_sent++], &why), 0);
	}
	return (int)count;
}

static void fake_close(struct cv_instance *inst, struct cv_link *link)
{
	n_closed++;
}

static const struct cv_transport fake = {
	.name = "fake", .send = fake_send, .close = fake_close,
};

static void capture(int priority, const char *line, void *arg)
{
	size_t used = strlen(logged);

	snprintf(logged + used, sizeof(logged) - used, "%s\n", line);
}

static struct core core;
static struct transports transports;
static struct cv_host host;
static struct server *server;
static struct client *client;
static struct datapath *datapath;
static struct sockaddr_in peer;

static void start(const char *conf)
{
	memset(&core, 0, sizeof(core));
	core.tun.fd = -1;
	n_sent = n_closed = 0;
	logged[0] = '\0';
	log_set_sink(capture, NULL);
	ck_assert_int_eq(config_parse_string("test.conf", conf, &core.cfg), 0);
	ck_assert_int_eq(loop_new(&core.loop), 0);
	transports = (struct transports){ .n = 1 };
	host = (struct cv_host){ .core = &core, .loop = core.loop, .t = &fake };
	transports.host[0] = &host;
	peer = (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = htons(4433) };
	inet_pton(AF_INET, "192.0.2.1", &peer.sin_addr);
}

static void finish(void)
{
	while (core.sessions)
		session_end(core.sessions, PROTO_REASON_SHUTDOWN, "test over");
	server_free(server);
	client_free(client);
	datapath_free(datapath);
	identity_index_free(&core);
	server = NULL;
	client = NULL;
	datapath = NULL;
	loop_free(core.loop);
	config_free(core.cfg);
	log_set_sink(NULL, NULL);
}

/* A link comes up from peer, at port if not 0, with the identity its
 * handshake proved (or NULL), and its owner makes a session of it. */
static struct cv_session *link_up_as(const char *identity, uint16_t port,
				     const char *ip)
{
	struct sockaddr_in from = peer;
	struct cv_link_info info = { .identity = identity,
				     .peer = (struct sockaddr *)&from,
				     .peer_len = sizeof(from) };
	struct cv_host *h = transports.host[0];
	struct cv_link *link = (struct cv_link *)&core;

	if (port)
		from.sin_port = htons(port);
	if (ip)
		inet_pton(AF_INET, ip, &from.sin_addr);
	struct cv_session *s =
		server ? server_link_up(server, h, link, &info, NULL)
		       : client_link_up(client, h, link, &info, NULL);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* A link comes up, and its owner makes a session of it. */
static struct cv_session *link_up(void)
{
	struct cv_link_info info = { .peer = (struct sockaddr *)&peer,
				     .peer_len = sizeof(peer) };
	struct cv_host *h = transports.host[0];
	struct cv_link *link = (struct cv_link *)&core;
	struct cv_session *s =
		server ? server_link_up(server, h, link, &info, NULL)
		       : client_link_up(client, h, link, &info, NULL);

	ck_assert_ptr_nonnull(s);
	return s;
}

static bool deliver(struct cv_session *s, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_CONTROL];
	ssize_t n = proto_encode(m, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	return session_control(s, buf, (size_t)n);
}

/* ---- the owner: a server, or a client's connection */

static const char *server_conf =
	"mode = server\ntransport = udp\ninsecure = yes\n"
	"listen = 192.0.2.1:4433\npool = 203.0.113.0/24\n";

static const char *client_conf =
	"mode = client\ntransport = udp\ninsecure = yes\n"
	"remote = 192.0.2.1:4433\n";

/* The servers' state-dir: one for the whole run (made in main, before
 * the tests fork), so that a server made again is a restart. */
static char state_dir[64] = "/tmp/cvt-session-XXXXXX";

static void as_server_with(const char *extra)
{
	char conf[4096];

	snprintf(conf, sizeof(conf), "%sstate-dir = %s\n%s", server_conf,
		 state_dir, extra);
	start(conf);
	ck_assert_int_eq(server_new(&core, &server), 0);
}

static void as_server(void)
{
	as_server_with("");
}

static void as_client(void)
{
	start(client_conf);
	ck_assert_int_eq(datapath_new(&core, &datapath), 0);
	ck_assert_int_eq(client_new(&core, &transports, datapath, &client), 0);
}

/* ---- max-clients */

START_TEST(max_clients_refuses)
{
	as_server_with("max-clients = 1\n");
	server->n_up = 1;		/* one client is being served */
	struct cv_session *s = link_up();
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = 42 } };

	ck_assert(!deliver(s, &hello));	/* the session is gone */
	ck_assert_uint_ge(n_sent, 1);
	ck_assert_uint_eq(sent[0].type, PROTO_REFUSE);
	ck_assert_uint_eq(sent[0].refuse.reason, PROTO_REASON_BUSY);
	ck_assert_str_eq(sent[0].refuse.text, "the server is full");
	ck_assert_uint_eq(n_closed, 1);
	ck_assert_uint_eq(core.counters.refused, 1);
	ck_assert_ptr_null(core.sessions);
	ck_assert_msg(strstr(logged, "max-clients reached"), "%s", logged);
	finish();
}
END_TEST

START_TEST(below_max_clients_welcomes)
{
	as_server_with("max-clients = 1\n");
	struct cv_session *s = link_up();
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = 42 } };

	ck_assert(deliver(s, &hello));
	ck_assert_uint_eq(n_sent, 1);
	ck_assert_uint_eq(sent[0].type, PROTO_WELCOME);
	ck_assert_uint_eq(sent[0].welcome.nonce, 42);
	ck_assert_uint_eq(server->n_up, 1);
	ck_assert_uint_eq(server->n_pending, 0);
	ck_assert_uint_eq(core.counters.sessions_up, 1);
	/* Its end reaches the server: counted down, and its route gone. */
	struct cv_addr inner = s->inner;
	session_end(s, PROTO_REASON_SHUTDOWN, "test over");
	ck_assert_uint_eq(server->n_up, 0);
	ck_assert_uint_eq(core.n_sessions, 0);
	ck_assert_ptr_null(route_lookup(server->routes, AF_INET, inner.bytes));
	finish();
}
END_TEST

/* ---- stateless resets */

/* The welcome's token for a client at peer. */
static void welcome_token(uint8_t token[PROTO_RESET_TOKEN_LEN])
{
	struct cv_session *s = link_up();
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = 7 } };

	n_sent = 0;
	ck_assert(deliver(s, &hello));
	ck_assert_uint_eq(sent[0].type, PROTO_WELCOME);
	ck_assert(sent[0].welcome.has_reset_token);
	memcpy(token, sent[0].welcome.reset_token, PROTO_RESET_TOKEN_LEN);
	session_end(s, PROTO_REASON_SHUTDOWN, "test over");
	n_sent = 0;
}

/* A welcome that routes and domains fill to within 18 bytes of a
 * control message's 1024 goes without its token, rather than not at
 * all. */
START_TEST(full_welcome_goes_without_token)
{
	char extra[3072], label[64];
	size_t used = 0;

	memset(label, 'x', 60);
	label[60] = '\0';
	/* 3 domains of 243 bytes (735 in the welcome) and 35 routes (245):
	 * 1011 bytes with everything else, 1029 with a token. */
	for (int d = 0; d < 3; d++)
		used += (size_t)snprintf(extra + used, sizeof(extra) - used,
					 "dns-domain = %c%s.%s.%s.%s\n", 'a' + d,
					 label + 1, label, label, label);
	for (int r = 0; r < 35; r++)
		used += (size_t)snprintf(extra + used, sizeof(extra) - used,
					 "route = 10.%d.0.0/16\n", r);
	as_server_with(extra);
	struct cv_session *s = link_up();
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = 7 } };
	n_sent = 0;
	ck_assert(deliver(s, &hello));
	ck_assert_uint_eq(sent[0].type, PROTO_WELCOME);
	ck_assert(!sent[0].welcome.has_reset_token);
	ck_assert_uint_eq(sent[0].welcome.n_routes, 35);
	ck_assert_uint_eq(sent[0].welcome.n_dns_domains, 3);
	finish();
}
END_TEST

/* A restarted server: what a client with a session sends reaches a new
 * link, and a RESET with the token of the first server's welcome goes
 * back, shorter than what it answers; a keepalive is too short to be
 * answered so. */
START_TEST(stray_gets_reset)
{
	uint8_t token[PROTO_RESET_TOKEN_LEN];
	uint8_t data[85] = { PROTO_DATA, 0x45 };
	const uint8_t keepalive[] = { PROTO_KEEPALIVE };

	as_server();
	welcome_token(token);
	server_free(server);
	ck_assert_int_eq(server_new(&core, &server), 0);	/* restarted */

	struct cv_session *s = link_up();
	ck_assert(session_stray(s, data, sizeof(data)));
	ck_assert_uint_eq(n_sent, 1);
	ck_assert_uint_eq(sent[0].type, PROTO_RESET);
	ck_assert_uint_eq(sent[0].reset.len, 64);
	ck_assert_mem_eq(sent[0].reset.token, token, PROTO_RESET_TOKEN_LEN);
	ck_assert_ptr_null(core.sessions);
	ck_assert_uint_eq(core.counters.resets_sent, 1);

	s = link_up();
	ck_assert(session_stray(s, data, 20));
	ck_assert_uint_eq(sent[1].reset.len, 19);
	s = link_up();
	ck_assert(session_stray(s, keepalive, sizeof(keepalive)));
	ck_assert_uint_eq(n_sent, 2);
	ck_assert_ptr_null(core.sessions);

	/* A hello is no stray. */
	s = link_up();
	ck_assert(!session_stray(s, (const uint8_t[]){ PROTO_HELLO }, 1));
	finish();
}
END_TEST

/* ---- one session per client */

/* s says hello (asking previous4 back, when set) and is welcomed. */
static void welcomed(struct cv_session *s, uint32_t nonce,
		     const struct cv_addr *previous4)
{
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = nonce } };

	if (previous4)
		hello.hello.previous4 = *previous4;
	n_sent = 0;
	ck_assert(deliver(s, &hello));
	ck_assert_uint_eq(s->state, SESSION_UP);
}

static void stop_loop(void *arg)
{
	loop_stop(arg);
}

/* The loop's next turns: what was left for them happens. */
static void next_turn(void)
{
	struct loop_timer *t = loop_timer_new(core.loop, stop_loop, core.loop);

	loop_timer_arm(t, 10);
	ck_assert_int_eq(loop_run(core.loop), 0);
	loop_timer_free(t);
}

/* Among 200 clients (the index by identity grown past its first
 * buckets), a new session of user77 replaces user77's alone; every
 * session with an identity is in the index, and leaves it when it ends. */
START_TEST(identity_replaces_among_many)
{
	char name[16];
	struct cv_session *old = NULL;

	as_server();
	for (unsigned int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		struct cv_session *s = link_up_as(name, (uint16_t)(41000 + i), NULL);
		welcomed(s, i + 1, NULL);
		if (i == 77)
			old = s;
	}
	ck_assert_uint_eq(core.id_n, 200);
	ck_assert_uint_ge(core.id_n_buckets, 200);
	struct cv_addr a = old->inner;
	logged[0] = '\0';
	struct cv_session *s = link_up_as("user77", 42000, NULL);
	welcomed(s, 1000, NULL);
	ck_assert(addr_equal(&s->inner, &a));
	ck_assert_uint_eq(core.counters.sessions_replaced, 1);
	ck_assert_msg(strstr(logged, "session user77 from 192.0.2.1:42000 replaces its session from 192.0.2.1:41077"),
		      "%s", logged);
	next_turn();
	ck_assert_uint_eq(core.n_sessions, 200);
	ck_assert_uint_eq(core.id_n, 200);
	ck_assert_ptr_eq(identity_index_first(&core, "user77"), s);
	ck_assert_ptr_null(identity_index_next(s));
	ck_assert_ptr_null(identity_index_first(&core, "user200"));
	while (core.sessions) {
		n_sent = 0;	/* the byes, of which sent[] holds 32 */
		session_end(core.sessions, PROTO_REASON_SHUTDOWN, "test over");
	}
	ck_assert_uint_eq(core.id_n, 0);
	finish();
}
END_TEST

/* A client killed and started again: its new session gets the old
 * one's address at once, and the old one ends at the loop's next turn
 * (bye, reason 9); the server holds one. */
START_TEST(identity_replaces_its_session)
{
	as_server();
	struct cv_session *old = link_up_as("alice", 40000, NULL);
	welcomed(old, 1, NULL);
	struct cv_addr a = old->inner;
	struct cv_session *bob = link_up_as("bob", 40001, NULL);
	welcomed(bob, 2, NULL);

	struct cv_session *s = link_up_as("alice", 40002, NULL);
	welcomed(s, 3, NULL);
	ck_assert(addr_equal(&s->inner, &a));
	ck_assert_uint_eq(sent[0].type, PROTO_WELCOME);
	ck_assert_uint_eq(core.counters.sessions_replaced, 1);
	ck_assert_msg(strstr(logged, "session alice from 192.0.2.1:40002 replaces its session from 192.0.2.1:40000, which ends and gives back 203.0.113.2"),
		      "%s", logged);
	next_turn();
	ck_assert_uint_eq(n_sent, 4);	/* the welcome, three byes */
	ck_assert_uint_eq(sent[1].type, PROTO_BYE);
	ck_assert_uint_eq(sent[1].bye.reason, PROTO_REASON_REPLACED);
	ck_assert_uint_eq(server->n_up, 2);	/* alice's new one, and bob */
	ck_assert_uint_eq(core.n_sessions, 2);
	finish();
}
END_TEST

/* A static address (client-config-dir) goes to the new session too; with
 * duplicate-identity = yes it cannot be in two places, and the second
 * session is refused, busy, while the first keeps it. */
START_TEST(static_address_replaced_or_refused)
{
	char extra[256];
	struct cv_addr a;

	snprintf(extra, sizeof(extra), "client-config-dir = %s/clients\n",
		 state_dir);
	as_server_with(extra);
	struct cv_session *old = link_up_as("alice", 40000, NULL);
	welcomed(old, 1, NULL);
	addr_parse("203.0.113.50", &a);
	ck_assert(addr_equal(&old->inner, &a));
	struct cv_session *s = link_up_as("alice", 40001, NULL);
	welcomed(s, 2, NULL);
	ck_assert(addr_equal(&s->inner, &a));
	next_turn();
	ck_assert_uint_eq(core.n_sessions, 1);
	ck_assert_uint_eq(core.counters.sessions_replaced, 1);
	finish();

	snprintf(extra, sizeof(extra),
		 "client-config-dir = %s/clients\nduplicate-identity = yes\n",
		 state_dir);
	as_server_with(extra);
	old = link_up_as("alice", 40000, NULL);
	welcomed(old, 1, NULL);
	s = link_up_as("alice", 40001, NULL);
	struct proto_msg hello = { .type = PROTO_HELLO,
				   .hello = { .version = 1, .nonce = 2 } };
	n_sent = 0;
	ck_assert(!deliver(s, &hello));
	ck_assert_uint_eq(sent[0].type, PROTO_REFUSE);
	ck_assert_uint_eq(sent[0].refuse.reason, PROTO_REASON_BUSY);
	ck_assert_msg(strstr(logged, "203.0.113.50 is held by its session from 192.0.2.1:40000: duplicate-identity = yes lets an identity have two sessions, never its static address or networks twice"),
		      "%s", logged);
	ck_assert_uint_eq(core.refusals[REFUSAL_address_in_use], 1);
	ck_assert_uint_eq(core.counters.sessions_replaced, 0);
	ck_assert_uint_eq(old->state, SESSION_UP);
	finish();
}
END_TEST

/* duplicate-identity = yes: both stay, each with an address. */
START_TEST(duplicate_identity_keeps_both)
{
	as_server_with("duplicate-identity = yes\n");
	struct cv_session *old = link_up_as("alice", 40000, NULL);
	welcomed(old, 1, NULL);
	struct cv_session *s = link_up_as("alice", 40001, NULL);
	welcomed(s, 2, NULL);
	ck_assert(!addr_equal(&s->inner, &old->inner));
	ck_assert_uint_eq(server->n_up, 2);
	ck_assert_uint_eq(core.counters.sessions_replaced, 0);
	finish();
}
END_TEST

/* udp proves no identity: the same IP asking back the address an old
 * session holds takes it over; another IP asking it does not. */
START_TEST(anonymous_same_ip_replaces)
{
	as_server();
	struct cv_session *old = link_up_as(NULL, 40000, NULL);
	welcomed(old, 1, NULL);
	struct cv_addr a = old->inner;

	struct cv_session *other = link_up_as(NULL, 40000, "192.0.2.99");
	welcomed(other, 2, &a);
	ck_assert(!addr_equal(&other->inner, &a));
	ck_assert_uint_eq(core.counters.sessions_replaced, 0);

	struct cv_session *s = link_up_as(NULL, 40001, NULL);
	welcomed(s, 3, &a);
	ck_assert(addr_equal(&s->inner, &a));
	ck_assert_uint_eq(core.counters.sessions_replaced, 1);
	next_turn();
	ck_assert_uint_eq(server->n_up, 2);
	finish();
}
END_TEST

/* ---- a client refuses a bad welcome */


START_TEST(client_refuses_welcome)
{
	as_client();
	struct cv_session *s = link_up();
	struct proto_msg m = { .type = PROTO_WELCOME };
	struct proto_welcome *w = &m.welcome;
	const char *why;

	w->nonce = s->nonce;
	prefix_parse("203.0.113.2/24", true, &w->addr4, &why);
	w->mtu = 1400;
	w->keepalive_interval = 10;
	w->keepalive_timeout = 60;
	w->n_routes = 1;
	prefix_parse("192.0.2.0/24", false, &w->routes[0], &why);

	ck_assert(!deliver(s, &m));
	/* Three byes, back to back, over an unreliable transport. */
	ck_assert_uint_eq(n_sent, 3);
	for (unsigned int i = 0; i < 3; i++) {
		ck_assert_uint_eq(sent[i].type, PROTO_BYE);
		ck_assert_uint_eq(sent[i].bye.reason, PROTO_REASON_PROTOCOL);
	}
	ck_assert_ptr_null(client->session);
	ck_assert_msg(strstr(logged,
			     "server 192.0.2.1:4433 sent a welcome this client refuses: "
			     "route 1 (192.0.2.0/24) covers the server's address 192.0.2.1"),
		      "%s", logged);
	ck_assert_msg(strstr(logged, "reconnecting in"), "%s", logged);
	ck_assert_uint_gt(client->reconnect_delay_ms, 0);
	finish();
}
END_TEST

/* A way back to the server (path_watch.c) cuts a back-off short, not a
 * refused-retry wait: the refusal was the server's answer. */
START_TEST(way_back_keeps_refused_retry)
{
	as_client();
	client->held = true;
	client->refused_why = "authentication failed";
	client_connect_now(client, "the way to 192.0.2.1 is back");
	ck_assert(!client->connecting);
	ck_assert(client->held);
	ck_assert_msg(strstr(logged, "the way to 192.0.2.1 is back; still waiting refused-retry (authentication failed)"),
		      "%s", logged);

	client->held = false;
	client->refused_why = NULL;
	client_connect_now(client, "the way to 192.0.2.1 is back");
	ck_assert_msg(strstr(logged, "the way to 192.0.2.1 is back; connecting now"),
		      "%s", logged);
	finish();
}
END_TEST

START_TEST(client_refuses_undecodable)
{
	as_client();
	struct cv_session *s = link_up();
	const uint8_t junk[] = { PROTO_WELCOME, 0, 0, 0, 1, 0x81, 0 };

	ck_assert(!session_control(s, junk, sizeof(junk)));
	ck_assert_uint_eq(n_sent, 3);
	ck_assert_uint_eq(sent[0].type, PROTO_BYE);
	ck_assert_uint_eq(sent[0].bye.reason, PROTO_REASON_PROTOCOL);
	ck_assert_msg(strstr(logged, "sent a message this client cannot decode: "
				     "unknown critical attribute 0x81"),
		      "%s", logged);
	finish();
}
END_TEST

START_TEST(default_route_is_policy)
{
	as_client();
	struct cv_session *s = link_up();
	struct proto_msg m = { .type = PROTO_WELCOME };
	const char *why;

	m.welcome.nonce = s->nonce;
	prefix_parse("203.0.113.2/24", true, &m.welcome.addr4, &why);
	m.welcome.mtu = 1400;
	m.welcome.keepalive_interval = 10;
	m.welcome.keepalive_timeout = 60;
	m.welcome.n_routes = 1;
	prefix_parse("0.0.0.0/0", false, &m.welcome.routes[0], &why);
	ck_assert(!deliver(s, &m));
	ck_assert_uint_eq(sent[0].bye.reason, PROTO_REASON_POLICY);
	finish();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("refusals");

	tcase_add_test(tc, max_clients_refuses);
	tcase_add_test(tc, below_max_clients_welcomes);
	tcase_add_test(tc, client_refuses_welcome);
	tcase_add_test(tc, client_refuses_undecodable);
	tcase_add_test(tc, way_back_keeps_refused_retry);
	tcase_add_test(tc, default_route_is_policy);
	tcase_add_test(tc, stray_gets_reset);
	tcase_add_test(tc, full_welcome_goes_without_token);
	tcase_add_test(tc, identity_replaces_its_session);
	tcase_add_test(tc, identity_replaces_among_many);
	tcase_add_test(tc, static_address_replaced_or_refused);
	tcase_add_test(tc, duplicate_identity_keeps_both);
	tcase_add_test(tc, anonymous_same_ip_replaces);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	char path[128];
	if (!mkdtemp(state_dir)) {
		perror(state_dir);
		return 99;
	}
	/* alice's client file: a static address. */
	snprintf(path, sizeof(path), "%s/clients", state_dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/clients/alice", state_dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 99;
	}
	fputs("address = 203.0.113.50\n", f);
	fclose(f);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	unlink(path);
	snprintf(path, sizeof(path), "%s/clients", state_dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/reset.key", state_dir);
	unlink(path);
	rmdir(state_dir);
	return failed ? 1 : 0;
}
