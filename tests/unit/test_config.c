/* The config parser: good files read right, every kind of bad line
 * reported with FILE:LINE and what was wrong. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "policy_file.h"

/* Every line the parser logs, joined by newlines. */
static char logged[8192];

static void capture(int priority, const char *line, void *arg)
{
	size_t used = strlen(logged);

	snprintf(logged + used, sizeof(logged) - used, "%s\n", line);
}

static void setup(void)
{
	logged[0] = '\0';
	log_set_sink(capture, NULL);
}

static void teardown(void)
{
	log_set_sink(NULL, NULL);
}

static struct config *parse_ok(const char *text)
{
	struct config *cfg = NULL;
	int err = config_parse_string("test.conf", text, &cfg);

	ck_assert_msg(err == 0, "parse failed (%d): %s", err, logged);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

/* Parsing must fail and log a line containing `expected`. */
static void parse_bad(const char *text, const char *expected)
{
	struct config *cfg = (struct config *)1;

	logged[0] = '\0';
	ck_assert_int_lt(config_parse_string("test.conf", text, &cfg), 0);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(logged, expected),
		      "expected \"%s\" in the errors, got:\n%s", expected, logged);
}

#define SERVER "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n" \
	       "pool = 203.0.113.0/24\n"
#define CLIENT "mode = client\ntransport = udp\nremote = 192.0.2.1:4433\n"

START_TEST(server_file)
{
	struct config *cfg = parse_ok(
		"# the lab's gateway\n"
		"mode = server\n"
		"   transport=udp , tls   # two transports\n"
		"listen = 192.0.2.1:4433\n"
		"device = cv0\n"
		"pool = 203.0.113.0/24\n"
		"route = 198.51.100.0/24\n"
		"route = 192.0.2.128/25\n"
		"mtu = 1300\n"
		"keepalive = 5, 30\n"
		"insecure = yes\n"
		"plugin-dir = /opt/culvert/plugins\n"
		"\n"
		"[udp]\n"
		"socket-buffer = 8M\n");
	char buf[ADDR_STRLEN];

	ck_assert_int_eq(cfg->mode, MODE_SERVER);
	ck_assert_uint_eq(cfg->n_transports, 2);
	ck_assert_str_eq(cfg->transports[0], "udp");
	ck_assert_str_eq(cfg->transports[1], "tls");
	ck_assert_str_eq(cfg->listen, "192.0.2.1:4433");
	ck_assert_str_eq(cfg->device, "cv0");
	ck_assert(cfg->has_pool);
	ck_assert_str_eq(prefix_str(&cfg->pool, buf), "203.0.113.0/24");
	ck_assert_uint_eq(cfg->n_routes, 2);
	ck_assert_str_eq(prefix_str(&cfg->routes[0], buf), "198.51.100.0/24");
	ck_assert_str_eq(prefix_str(&cfg->routes[1], buf), "192.0.2.128/25");
	ck_assert_uint_eq(cfg->mtu, 1300);
	ck_assert_uint_eq(cfg->keepalive_interval, 5);
	ck_assert_uint_eq(cfg->keepalive_timeout, 30);
	ck_assert(cfg->insecure);
	ck_assert_str_eq(cfg->plugin_dir, "/opt/culvert/plugins");
	ck_assert_str_eq(config_get(cfg, "udp", "socket-buffer"), "8M");
	ck_assert_ptr_null(config_get(cfg, "tls", "socket-buffer"));
	/* A plugin sees the global keys too. */
	ck_assert_str_eq(config_get(cfg, "udp", "listen"), "192.0.2.1:4433");
	config_free(cfg);
}
END_TEST

/* A cluster's gateways: each checked, kept in order, the text as is. */
START_TEST(remote_list)
{
	struct config *cfg = parse_ok("mode = client\ntransport = udp\n"
		"remote = 192.0.2.1:4433, [2001:db8::2]:4433 ,gw3.example.org:443\n"
		"failover-spread = 2.5\n");

	ck_assert_uint_eq(cfg->n_remotes, 3);
	ck_assert_str_eq(cfg->remotes[0], "192.0.2.1:4433");
	ck_assert_str_eq(cfg->remotes[1], "[2001:db8::2]:4433");
	ck_assert_str_eq(cfg->remotes[2], "gw3.example.org:443");
	ck_assert_uint_eq(cfg->failover_spread, 2500);
	config_free(cfg);
	cfg = parse_ok(CLIENT);
	ck_assert_uint_eq(cfg->n_remotes, 1);
	ck_assert_uint_eq(cfg->failover_spread, 5000);
	config_free(cfg);
	cfg = parse_ok(SERVER "announce-table = 100\n");
	ck_assert_uint_eq(cfg->announce_table, 100);
	ck_assert_uint_eq(cfg->announce_protocol, 147);
	config_free(cfg);
}
END_TEST

START_TEST(defaults)
{
	struct config *cfg = parse_ok(CLIENT);

	ck_assert_int_eq(cfg->mode, MODE_CLIENT);
	ck_assert_str_eq(cfg->remote, "192.0.2.1:4433");
	ck_assert_ptr_null(cfg->device);
	ck_assert_uint_eq(cfg->mtu, 1400);
	ck_assert_uint_eq(cfg->keepalive_interval, 10);
	ck_assert_uint_eq(cfg->keepalive_timeout, 60);
	ck_assert(!cfg->insecure);
	ck_assert_str_eq(cfg->plugin_dir, PLUGINDIR);
	config_free(cfg);
}
END_TEST

START_TEST(welcome_policy_keys)
{
	struct config *cfg = parse_ok(CLIENT);

	ck_assert(!cfg->accept_default_route);
	ck_assert_uint_eq(cfg->n_accept_routes, 0);
	config_free(cfg);
	cfg = parse_ok(CLIENT "accept-default-route = yes\n"
		       "accept-routes = 198.51.100.0/24 , 10.0.0.0/8\n"
		       "accept-routes = 2001:db8::/32\n");
	ck_assert(cfg->accept_default_route);
	ck_assert_uint_eq(cfg->n_accept_routes, 3);
	char buf[ADDR_STRLEN];
	ck_assert_str_eq(prefix_str(&cfg->accept_routes[0], buf), "198.51.100.0/24");
	ck_assert_str_eq(prefix_str(&cfg->accept_routes[1], buf), "10.0.0.0/8");
	ck_assert_str_eq(prefix_str(&cfg->accept_routes[2], buf), "2001:db8::/32");
	config_free(cfg);
}
END_TEST

/* Key limits: plain numbers of bytes, or K/M/G/T; 64G and 2^24 unset. */
START_TEST(rekey_limits)
{
	struct config *cfg = parse_ok(CLIENT);

	ck_assert_uint_eq(cfg->rekey_bytes, 64ULL << 30);
	ck_assert_uint_eq(cfg->rekey_records, 1U << 24);
	config_free(cfg);
	cfg = parse_ok(CLIENT "rekey-bytes = 3M\nrekey-records = 100\n");
	ck_assert_uint_eq(cfg->rekey_bytes, 3ULL << 20);
	ck_assert_uint_eq(cfg->rekey_records, 100);
	config_free(cfg);
	cfg = parse_ok(SERVER "rekey-bytes = 1073741824\n");
	ck_assert_uint_eq(cfg->rekey_bytes, 1ULL << 30);
	config_free(cfg);
	cfg = parse_ok(SERVER "rekey-bytes = 1024T\n");
	ck_assert_uint_eq(cfg->rekey_bytes, 1ULL << 50);
	config_free(cfg);
}
END_TEST

START_TEST(keepalive_timeout_default)
{
	struct config *cfg = parse_ok(SERVER "keepalive = 15\n");

	ck_assert_uint_eq(cfg->keepalive_interval, 15);
	ck_assert_uint_eq(cfg->keepalive_timeout, 90);
	config_free(cfg);
}
END_TEST

/* pool6 alone: an IPv6-only tunnel, with IPv6 routes. */
START_TEST(ipv6_only_server)
{
	struct config *cfg = parse_ok(
		"mode = server\ntransport = udp\nlisten = [2001:db8::1]:4433\n"
		"pool6 = 2001:db8:100::/64\nroute = 2001:db8:200::/64\n"
		"route = ::/0\n");

	ck_assert(!cfg->has_pool);
	ck_assert(cfg->has_pool6);
	ck_assert_uint_eq(cfg->n_routes, 2);
	config_free(cfg);
}
END_TEST

START_TEST(radius_keys)
{
	struct config *cfg = parse_ok(SERVER
		"auth = certificate+radius\n"
		"radius-server = radius1.example.org\n"
		"radius-server = [2001:db8::5]:11812\n"
		"radius-server = 2001:db8::6\n"
		"radius-secret-file = /etc/culvert/radius.secret\n"
		"radius-accounting-server = 198.51.100.10:1813\n"
		"radius-nas-address = 192.0.2.1\n"
		"radius-interim-interval = 60\n");
	const struct config_radius *r = &cfg->radius;
	char a[ADDR_STRLEN];

	ck_assert_uint_eq(cfg->auth, AUTH_METHOD_CERTIFICATE | AUTH_METHOD_RADIUS);
	ck_assert_uint_eq(r->servers.n, 3);
	ck_assert_str_eq(r->servers.s[0].host, "radius1.example.org");
	ck_assert_uint_eq(r->servers.s[0].port, 0);
	ck_assert_str_eq(r->servers.s[1].host, "2001:db8::5");
	ck_assert_uint_eq(r->servers.s[1].port, 11812);
	ck_assert_str_eq(r->servers.s[2].host, "2001:db8::6");
	ck_assert_uint_eq(r->acct_servers.n, 1);
	ck_assert_uint_eq(r->acct_servers.s[0].port, 1813);
	ck_assert_uint_eq(r->timeout, 3);
	ck_assert_uint_eq(r->retries, 2);
	ck_assert_uint_eq(r->interim, 60);
	ck_assert_str_eq(addr_str(&r->nas_address, a), "192.0.2.1");
	config_free(cfg);
}
END_TEST

/* device-type = tap: a bridge instead of a pool; the keys of each type
 * refused with the other. */
START_TEST(tap_keys)
{
	struct config *cfg = parse_ok(
		"mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
		"device-type = tap\nbridge = br0\nmax-macs = 2\n"
		"mac-age = 60\nflood-rate = 500\n");

	ck_assert(cfg->tap);
	ck_assert_str_eq(cfg->bridge, "br0");
	ck_assert_uint_eq(cfg->max_macs, 2);
	ck_assert_uint_eq(cfg->mac_age, 60);
	ck_assert_uint_eq(cfg->flood_rate, 500);
	ck_assert(!cfg->has_pool);
	config_free(cfg);
	cfg = parse_ok(CLIENT "device-type = tap\naddress = 198.51.100.60/24\n"
			      "address = 2001:db8:21::60/64\n");
	ck_assert_uint_eq(cfg->n_addresses, 2);
	ck_assert_uint_eq(cfg->addresses[0].len, 24);
	config_free(cfg);
	cfg = parse_ok(SERVER);
	ck_assert(!cfg->tap);
	ck_assert_uint_eq(cfg->max_macs, 4);
	ck_assert_uint_eq(cfg->mac_age, 300);
	ck_assert_uint_eq(cfg->flood_rate, 100);
	config_free(cfg);

	parse_bad("mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
		  "device-type = tap\n",
		  "key 'bridge' is missing for device-type = tap");
	parse_bad("mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
		  "device-type = tap\nbridge = br0\npool = 203.0.113.0/24\n",
		  "test.conf:6: key 'pool' does not apply to device-type = tap");
	parse_bad(CLIENT "device-type = tap\nroute = default\n",
		  "key 'route' does not apply to device-type = tap");
	parse_bad(SERVER "bridge = br0\n",
		  "test.conf:5: key 'bridge' does not apply to device-type = tun");
	parse_bad(CLIENT "address = 198.51.100.60/24\n",
		  "key 'address' does not apply to device-type = tun");
	parse_bad(SERVER "device-type = tun2\n", "is not a device type");
	parse_bad(SERVER "max-macs = 65\n", "from 1 to 64");
	parse_bad(CLIENT "device-type = tap\naddress = 198.51.100.60/24\n"
			 "address = 198.51.100.60/16\n",
		  "is already set by an earlier line");
}
END_TEST

START_TEST(section_value_wins)
{
	struct config *cfg = parse_ok(CLIENT "[udp]\nremote = 198.51.100.9:1\n");

	ck_assert_str_eq(config_get(cfg, "udp", "remote"), "198.51.100.9:1");
	ck_assert_str_eq(config_get(cfg, NULL, "remote"), "192.0.2.1:4433");
	config_free(cfg);
}
END_TEST

/* Each bad line, and the words a user reads for it. */
static const struct {
	const char *text;
	const char *error;
} bad_lines[] = {
	{ SERVER "pool = 10.8.0.0/33\n",
	  "test.conf:5: key 'pool' is set twice (first on line 4)" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
	  "pool = 10.8.0.0/33\n",
	  "test.conf:4: key 'pool': '10.8.0.0/33' is not a usable pool (expected an IPv4 prefix from /8 to /30)" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
	  "pool = 10.8.0.1/24\n",
	  "test.conf:4: key 'pool': '10.8.0.1/24' has host bits set" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
	  "pool = 10.8.0.0/31\n",
	  "key 'pool': '10.8.0.0/31' is not a usable pool" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
	  "pool = 2001:db8::/64\n",
	  "key 'pool': '2001:db8::/64' is not an IPv4 prefix (an IPv6 pool is 'pool6')" },
	{ SERVER "pol = 10.8.0.0/24\n",
	  "test.conf:5: unknown key 'pol' (did you mean 'pool'?)" },
	{ SERVER "certificate-authority = x\n",
	  "test.conf:5: unknown key 'certificate-authority'\n" },
	{ SERVER "device =\n", "test.conf:5: key 'device' has no value" },
	{ SERVER "just some words\n",
	  "test.conf:5: expected KEY = VALUE, found 'just some words'" },
	{ SERVER "[udp\n", "test.conf:5: expected [SECTION], found '[udp'" },
	{ SERVER "[UDP!]\n", "test.conf:5: '[UDP!]' is not a section name" },
	{ "mode = gateway\n",
	  "test.conf:1: key 'mode': 'gateway' is not a mode (expected server or client)" },
	{ SERVER "transport = udp, udp\n", "key 'transport' is set twice" },
	{ "mode = client\ntransport = udp, udp\nremote = 192.0.2.1:1\n",
	  "test.conf:2: key 'transport': 'udp, udp' names the same transport twice" },
	{ "mode = client\ntransport = udp,\nremote = 192.0.2.1:1\n",
	  "'udp,' ends with a comma" },
	{ "mode = client\ntransport = a, b, c, d, e\nremote = 192.0.2.1:1\n",
	  "names more than 4 transports" },
	{ "mode = client\ntransport = udp tls\nremote = 192.0.2.1:1\n",
	  "separate them with commas" },
	{ "mode = client\ntransport = udp\nremote = 192.0.2.1\n",
	  "test.conf:3: key 'remote': '192.0.2.1' is not an endpoint" },
	{ "mode = client\ntransport = udp\nremote = 192.0.2.1:0\n",
	  "key 'remote': '192.0.2.1:0' has no valid port" },
	{ "mode = client\ntransport = udp\nremote = 192.0.2.1:70000\n",
	  "has no valid port" },
	{ "mode = client\ntransport = udp\nremote = 192.0.2.1:1, 192.0.2.2\n",
	  "key 'remote': '192.0.2.1:1, 192.0.2.2' is not an endpoint" },
	{ "mode = client\ntransport = udp\nremote = 192.0.2.1:1,\n",
	  "key 'remote': '192.0.2.1:1,'" },
	{ SERVER "announce-protocol = 2\n",
	  "key 'announce-protocol': '2' is not a route protocol number from 5 to 255" },
	{ SERVER "announce-table = 254\n", "key 'announce-table': '254' is not a table number" },
	{ SERVER "mtu = 100\n",
	  "test.conf:5: key 'mtu': '100' is not an MTU (expected 576-65535)" },
	{ SERVER "mtu = big\n", "key 'mtu': 'big' is not an MTU" },
	{ SERVER "keepalive = 10, 15\n",
	  "key 'keepalive': '10, 15' is not a keepalive" },
	{ SERVER "keepalive = soon\n", "key 'keepalive': 'soon' is not a keepalive" },
	{ SERVER "insecure = maybe\n", "key 'insecure': 'maybe' is not yes or no" },
	{ SERVER "plugin-dir = plugins\n",
	  "key 'plugin-dir': 'plugins' is not an absolute path" },
	{ SERVER "device = a-very-long-device-name\n",
	  "is too long for a device name" },
	{ SERVER "device = ../cv0\n", "is not a device name" },
	{ SERVER "route = 198.51.100.0/24\nroute = 198.51.100.0/24\n",
	  "test.conf:6: key 'route': '198.51.100.0/24' is already routed by an earlier line" },
	{ SERVER "route = 203.0.113.128/25\n",
	  "route 203.0.113.128/25 overlaps pool 203.0.113.0/24" },
	{ "transport = udp\n", "key 'mode' is missing" },
	{ "mode = server\ntransport = udp\npool = 203.0.113.0/24\n",
	  "key 'listen' is missing for mode = server" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n",
	  "key 'pool' or 'pool6' is missing for mode = server" },
	{ "mode = server\ntransport = udp\nlisten = 192.0.2.1:4433\n"
	  "pool6 = 2001:db8:100::/64\nroute = 2001:db8:200::/64\n"
	  "route = 198.51.100.0/24\n",
	  "test.conf:6: route 198.51.100.0/24 is IPv4, but there is no 'pool'" },
	{ "mode = client\ntransport = udp\n",
	  "key 'remote' is missing for mode = client" },
	{ "mode = client\nremote = 192.0.2.1:1\n",
	  "key 'transport' is missing for mode = client" },
	{ CLIENT "pool = 203.0.113.0/24\n",
	  "test.conf:4: key 'pool' does not apply to mode = client" },
	{ SERVER "remote = 192.0.2.1:1\n",
	  "test.conf:5: key 'remote' does not apply to mode = server" },
	{ CLIENT "accept-default-route = sure\n",
	  "test.conf:4: key 'accept-default-route': 'sure' is not yes or no" },
	{ CLIENT "accept-routes = 10.0.0.0/8, 10.1.0.1/16\n",
	  "key 'accept-routes': '10.0.0.0/8, 10.1.0.1/16' has host bits set" },
	{ CLIENT "accept-routes = 10.0.0.0/8,\n", "ends with a comma" },
	{ CLIENT "accept-routes = 10.0.0.0/8,,10.0.0.0/9\n",
	  "is not a list of prefixes" },
	{ SERVER "accept-default-route = yes\n",
	  "key 'accept-default-route' does not apply to mode = server" },
	{ CLIENT "rekey-bytes = 512K\n",
	  "test.conf:4: key 'rekey-bytes': '512K' is not an amount of bytes from 1M to 1024T" },
	{ CLIENT "rekey-bytes = 2P\n", "'2P' is not an amount of bytes" },
	{ CLIENT "rekey-bytes = 1025T\n", "'1025T' is not an amount of bytes" },
	{ CLIENT "rekey-bytes = 16GB\n", "'16GB' is not an amount of bytes" },
	{ CLIENT "rekey-bytes = 99999999999999999999G\n", "is not an amount of bytes" },
	{ CLIENT "rekey-records = 99\n",
	  "key 'rekey-records': '99' is not a number of records from 100 to 4294967295" },
	{ SERVER "auth = radius\n",
	  "auth = radius needs 'radius-server' (and 'radius-secret-file'), or 'radius-config'" },
	{ SERVER "auth = radius\nradius-server = 198.51.100.10\n",
	  "radius-server needs 'radius-secret-file'" },
	{ SERVER "radius-server = 198.51.100.10\nradius-secret-file = /s\n",
	  "'radius-server' is set, but auth does not ask RADIUS" },
	{ SERVER "radius-server = 198.51.100.10:0\n",
	  "key 'radius-server': '198.51.100.10:0' has no valid port" },
	{ SERVER "radius-server = a\nradius-server = b\nradius-server = c\n"
	  "radius-server = d\nradius-server = e\n",
	  "test.conf:9: key 'radius-server': 'e' is one server too many (at most 4)" },
	{ SERVER "radius-accounting-server = none\nradius-accounting-server = a\n",
	  "'a' cannot mix 'none' with servers" },
	{ SERVER "radius-timeout = 0\n", "is not a number of seconds from 1 to 60" },
	{ SERVER "radius-retries = 11\n", "is not a number of retries from 0 to 10" },
	{ SERVER "radius-interim-interval = 2\n",
	  "is neither 0 nor a number of seconds from 5 to 604800" },
	{ SERVER "radius-nas-address = gw\n", "'gw' is not an IPv4 or IPv6 address" },
	{ CLIENT "radius-server = 198.51.100.10\n",
	  "key 'radius-server' does not apply to mode = client" },
};

START_TEST(bad_line)
{
	parse_bad(bad_lines[_i].text, bad_lines[_i].error);
}
END_TEST

START_TEST(every_error_reported)
{
	parse_bad("mode = server\nmtu = 1\nkeepalive = x\npol = 1\n", "mtu");
	ck_assert_ptr_nonnull(strstr(logged, "test.conf:2:"));
	ck_assert_ptr_nonnull(strstr(logged, "test.conf:3:"));
	ck_assert_ptr_nonnull(strstr(logged, "test.conf:4:"));
}
END_TEST

START_TEST(missing_file)
{
	struct config *cfg;

	ck_assert_int_lt(config_load("/nonexistent/culvert.conf", &cfg), 0);
	ck_assert_ptr_nonnull(strstr(logged, "cannot read config /nonexistent/culvert.conf"));
}
END_TEST

static const struct cv_option udp_like[] = {
	{ "socket-buffer", "size" },
	{ NULL, NULL },
};

START_TEST(section_keys_checked)
{
	struct config *cfg = parse_ok(SERVER "[udp]\nsocket-bufer = 1M\n");

	ck_assert_int_lt(config_check_section(cfg, "udp", udp_like), 0);
	ck_assert_ptr_nonnull(strstr(logged,
		"test.conf:6: unknown key 'socket-bufer' in [udp] (did you mean 'socket-buffer'?)"));
	config_free(cfg);

	logged[0] = '\0';
	cfg = parse_ok(SERVER "[udp]\nsocket-buffer = 1M\nsocket-buffer = 2M\n");
	ck_assert_int_lt(config_check_section(cfg, "udp", udp_like), 0);
	ck_assert_ptr_nonnull(strstr(logged, "test.conf:7: key 'socket-buffer' in [udp] is set twice (first on line 6)"));
	config_free(cfg);

	cfg = parse_ok(SERVER "[udp]\nsocket-buffer = 1M\n");
	ck_assert_int_eq(config_check_section(cfg, "udp", udp_like), 0);
	config_free(cfg);
}
END_TEST

START_TEST(unused_section)
{
	struct config *cfg = parse_ok(SERVER "[udp]\nsocket-buffer = 1M\n[dtls]\nmtu = 1\n");
	const struct config_entry *e = config_unused_section(cfg);

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->section, "dtls");
	ck_assert_uint_eq(e->line, 8);
	config_free(cfg);
}
END_TEST

START_TEST(suggestions)
{
	ck_assert_str_eq(config_suggest("trasport", NULL), "transport");
	ck_assert_str_eq(config_suggest("keep-alive", NULL), "keepalive");
	ck_assert_str_eq(config_suggest("plugindir", NULL), "plugin-dir");
	ck_assert_ptr_null(config_suggest("zzzzzzzz", NULL));
}
END_TEST

/* culvert.conf(5), read whole into page. */
static void read_page(char *page, size_t size)
{
	const char *srcdir = getenv("CULVERT_SRCDIR");
	char path[4096];

	ck_assert_msg(srcdir, "CULVERT_SRCDIR is not set (run through make check)");
	snprintf(path, sizeof(path), "%s/man/culvert.conf.5", srcdir);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot read %s", path);
	size_t n = fread(page, 1, size - 1, f);
	page[n] = '\0';
	fclose(f);
}

static char page[131072];

/* culvert.conf(5) documents every key the parser accepts. */
/* Every key whose value is a string of its own: stored over what the
 * field held, and freed by config_free() (ASan and valgrind in CI see
 * a leak). */
START_TEST(every_string_key_freed)
{
	static const char *const values[] = { "/etc/culvert/x", "192.0.2.9:9",
					      "name0" };
	struct config *cfg = parse_ok(SERVER "admin-group = adm\n");
	unsigned int strings = 0;

	for (const struct config_key *k = config_keys; k->name; k++) {
		if (!config_key_holds_string(k))
			continue;
		strings++;
		char **field = (char **)((char *)cfg + k->offset);
		bool stored = false;
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]) && !stored; v++) {
			const char *why = NULL;

			stored = k->parse(cfg, field, values[v], &why) == 0 &&
				 *field && strcmp(*field, values[v]) == 0;
		}
		ck_assert_msg(stored, "key '%s' stores no string of its own", k->name);
	}
	ck_assert_uint_ge(strings, 20);
	config_free(cfg);
}
END_TEST

START_TEST(every_key_documented)
{
	read_page(page, sizeof(page));
	for (const struct config_key *k = config_keys; k->name; k++) {
		char item[64];
		snprintf(item, sizeof(item), ".It Cm %s ", k->name);
		ck_assert_msg(strstr(page, item),
			      "key '%s' is not documented in culvert.conf(5) (no '%s')",
			      k->name, item);
	}
}
END_TEST

/* And every key of the client and group files, in their section. */
START_TEST(every_policy_key_documented)
{
	read_page(page, sizeof(page));
	const char *section = strstr(page, ".Sh CLIENT AND GROUP FILES");
	ck_assert_msg(section, "culvert.conf(5) has no CLIENT AND GROUP FILES section");
	for (const struct policy_key *k = policy_keys; k->name; k++) {
		char item[64];
		snprintf(item, sizeof(item), ".It Cm %s ", k->name);
		ck_assert_msg(strstr(section, item),
			      "key '%s' of client files is not documented in culvert.conf(5)",
			      k->name);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_file);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, remote_list);
	tcase_add_test(tc, rekey_limits);
	tcase_add_test(tc, keepalive_timeout_default);
	tcase_add_test(tc, welcome_policy_keys);
	tcase_add_test(tc, ipv6_only_server);
	tcase_add_test(tc, tap_keys);
	tcase_add_test(tc, section_value_wins);
	tcase_add_test(tc, radius_keys);
	tcase_add_loop_test(tc, bad_line, 0,
			    sizeof(bad_lines) / sizeof(bad_lines[0]));
	tcase_add_test(tc, every_error_reported);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, section_keys_checked);
	tcase_add_test(tc, unused_section);
	tcase_add_test(tc, suggestions);
	tcase_add_test(tc, every_string_key_freed);
	tcase_add_test(tc, every_key_documented);
	tcase_add_test(tc, every_policy_key_documented);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
