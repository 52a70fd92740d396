/*
 * culvert-loadgen: the options, the schedule of sessions over the run,
 * and the summary. See loadgen.h for what it is and lg_session.c for one
 * session.
 *
 *   culvert-loadgen --transport tls --remote 192.0.2.1:4433 --ca ca.crt \
 *       --cert alice.crt --key alice.key --sessions 50 --total 200 \
 *       --hold 10 --rate 2 --duration 120 --json
 *
 * At most --sessions are under way at once, at most --parallel of them in
 * their handshake, and at most --connect-rate begin each second; --total
 * sessions are started over the run, each up for
 * --hold seconds; --duration ends the run whatever is left (the sessions
 * still up say bye and count as "cut"). SIGINT or SIGTERM ends it the same
 * way, which is how bench/scale.sh releases sessions it holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "loadgen.h"
#include "log.h"
#include "loop.h"

#define MAX_SESSIONS 100000

static const struct option long_options[] = {
	{ "transport", required_argument, NULL, 't' },
	{ "remote", required_argument, NULL, 'r' },
	{ "server-name", required_argument, NULL, 'n' },
	{ "plugin-dir", required_argument, NULL, 'P' },
	{ "ca", required_argument, NULL, 'A' },
	{ "cert", required_argument, NULL, 'C' },
	{ "key", required_argument, NULL, 'K' },
	{ "user", required_argument, NULL, 'u' },
	{ "password", required_argument, NULL, 'p' },
	{ "sessions", required_argument, NULL, 's' },
	{ "total", required_argument, NULL, 'T' },
	{ "hold", required_argument, NULL, 'H' },
	{ "rate", required_argument, NULL, 'R' },
	{ "duration", required_argument, NULL, 'D' },
	{ "parallel", required_argument, NULL, 'j' },
	{ "abuse-every", required_argument, NULL, 'a' },
	{ "connect-rate", required_argument, NULL, 'c' },
	{ "attack", required_argument, NULL, 'x' },
	{ "attack-to", required_argument, NULL, 'X' },
	{ "reconnect", no_argument, NULL, 'E' },
	{ "failover-spread", required_argument, NULL, 'F' },
	{ "source", required_argument, NULL, 'S' },
	{ "json", no_argument, NULL, 'J' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: culvert-loadgen --transport tls|dtls|udp --remote HOST:PORT[,HOST:PORT...] [options]\n"
		"  --ca FILE --cert FILE --key FILE   certificates (tls, dtls)\n"
		"  --server-name NAME   name in the server's certificate (default: host of --remote)\n"
		"  --user NAME --password TEXT        password authentication\n"
		"  --sessions N         sessions at once (default 10)\n"
		"  --total N            sessions over the run (default: --sessions)\n"
		"  --hold SECONDS       each session's time up (default 10)\n"
		"  --rate PPS           echo requests a second per session, 0-1000 (default 1)\n"
		"  --duration SECONDS   hard bound on the run (default 300)\n"
		"  --parallel N         handshakes under way at once (default 32)\n"
		"  --abuse-every N      every Nth session misbehaves (default 0: none)\n"
		"  --connect-rate N     sessions begun a second at most (default 0: no limit)\n"
		"  --attack silent|gso1 every session a stranger: silent never says hello;\n"
		"                       gso1 sends a segment of gso size 1 once welcomed\n"
		"  --attack-to ADDRESS  gso1: the segment's IPv4 destination (port 9)\n"
		"  --reconnect          a lost session starts again, asking its address back\n"
		"                       (a gateway's restart: time it takes, same address)\n"
		"  --remote A,B...      a cluster: every session starts on A; with --reconnect,\n"
		"                       one lost moves to the next gateway in its slot of\n"
		"  --failover-spread S  seconds (default 5), as culvertd's client\n"
		"  --source A,B...      local addresses to connect from, slot i from the\n"
		"                       (i mod n)th (more sessions than one address has ports)\n"
		"  --plugin-dir DIR     where the transport plugins are\n"
		"  --json               the summary as JSON\n"
		"  --verbose            the plugins' info and debug lines too\n");
}

static int number(const char *opt, const char *text, unsigned long min,
		  unsigned long max, unsigned int *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);

	if (errno || end == text || *end || v < min || v > max) {
		fprintf(stderr, "culvert-loadgen: --%s: '%s' is not a number from %lu to %lu\n",
			opt, text, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int spread(const char *text, unsigned int *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);

	if (errno || end == text || *end || v < 0 || v > 60) {
		fprintf(stderr, "culvert-loadgen: --failover-spread: '%s' is not a number of seconds from 0 to 60\n",
			text);
		return -EINVAL;
	}
	*out = (unsigned int)(v * 1000 + 0.5);
	return 0;
}

/* --remote: one gateway, or a cluster's, separated by commas. */
static int remotes(struct lg_options *o)
{
	const char *s = o->remote, *why;
	char host[256], port[8];

	for (;;) {
		size_t len = strcspn(s, ",");
		char *one = o->remotes[o->n_remotes];

		if (o->n_remotes == CONFIG_MAX_REMOTES ||
		    len >= sizeof(o->remotes[0]))
			goto bad;
		memcpy(one, s, len);
		one[len] = '\0';
		if (endpoint_split(one, host, sizeof(host), port, sizeof(port),
				   &why) < 0)
			goto bad;
		o->n_remotes++;
		s += len;
		if (!*s)
			return 0;
		s += 1 + strspn(s + 1, " ");
	}
bad:
	fprintf(stderr, "culvert-loadgen: --remote: '%s' is not a list of at most %d HOST:PORT\n",
		o->remote, CONFIG_MAX_REMOTES);
	return -EINVAL;
}

/* --source: addresses separated by commas, each checked here (the
 * plugin binds to it). */
static int sources(struct lg_options *o, const char *text)
{
	const char *s = text;
	uint8_t buf[16];

	while (*s) {
		size_t len = strcspn(s, ",");
		char *one = o->sources[o->n_sources];

		if (o->n_sources == LG_MAX_SOURCES || len >= sizeof(o->sources[0]))
			goto bad;
		memcpy(one, s, len);
		one[len] = '\0';
		if (inet_pton(AF_INET, one, buf) != 1 &&
		    inet_pton(AF_INET6, one, buf) != 1)
			goto bad;
		o->n_sources++;
		s += len + (s[len] == ',');
	}
	if (o->n_sources)
		return 0;
bad:
	fprintf(stderr, "culvert-loadgen: --source: '%s' is not a list of at most %d IP addresses\n",
		text, LG_MAX_SOURCES);
	return -EINVAL;
}

static int parse_options(int argc, char **argv, struct lg_options *o)
{
	int c, err = 0;
	bool total_set = false;

	*o = (struct lg_options){
		.sessions = 10, .hold_s = 10, .rate = 1, .duration_s = 300,
		.parallel = 32, .failover_spread_ms = 5000,
		.plugin_dir = getenv("CULVERT_PLUGIN_DIR") ? getenv("CULVERT_PLUGIN_DIR")
							   : PLUGINDIR,
	};
	while (err == 0 &&
	       (c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (c) {
		case 't': o->transport = optarg; break;
		case 'r': o->remote = optarg; break;
		case 'n': o->server_name = optarg; break;
		case 'P': o->plugin_dir = optarg; break;
		case 'A': o->ca = optarg; break;
		case 'C': o->cert = optarg; break;
		case 'K': o->key = optarg; break;
		case 'u': o->user = optarg; break;
		case 'p': o->password = optarg; break;
		case 's': err = number("sessions", optarg, 1, MAX_SESSIONS, &o->sessions); break;
		case 'T':
			err = number("total", optarg, 1, UINT_MAX, &o->total);
			total_set = true;
			break;
		case 'H': err = number("hold", optarg, 0, 86400, &o->hold_s); break;
		case 'R': err = number("rate", optarg, 0, 1000, &o->rate); break;
		case 'D': err = number("duration", optarg, 1, 86400, &o->duration_s); break;
		case 'j': err = number("parallel", optarg, 1, MAX_SESSIONS, &o->parallel); break;
		case 'a': err = number("abuse-every", optarg, 0, UINT_MAX, &o->abuse_every); break;
		case 'c': err = number("connect-rate", optarg, 0, 100000, &o->connect_rate); break;
		case 'x':
			if (lg_attack_parse(optarg, &o->attack) < 0) {
				fprintf(stderr, "culvert-loadgen: --attack: '%s' is not silent or gso1\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case 'X':
			if (addr_parse(optarg, &o->attack_to) < 0 ||
			    o->attack_to.family != AF_INET) {
				fprintf(stderr, "culvert-loadgen: --attack-to: '%s' is not an IPv4 address\n",
					optarg);
				err = -EINVAL;
			}
			break;
		case 'E': o->reconnect = true; break;
		case 'F': err = spread(optarg, &o->failover_spread_ms); break;
		case 'S': err = sources(o, optarg); break;
		case 'J': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (err < 0)
		return err;
	if (optind < argc || !o->transport || !o->remote) {
		usage(stderr);
		return -EINVAL;
	}
	if (remotes(o) < 0)
		return -EINVAL;
	if (!total_set)
		o->total = o->sessions;
	if (o->attack == LG_ATTACK_GSO1 && !o->attack_to.family) {
		fprintf(stderr, "culvert-loadgen: --attack gso1 needs --attack-to\n");
		return -EINVAL;
	}
	if (!!o->user != !!o->password) {
		fprintf(stderr, "culvert-loadgen: --user and --password go together\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- the schedule */

/* Whether --connect-rate lets one more session begin now; if not, the
 * schedule runs again when it will. */
static bool rate_allows(struct lg *lg)
{
	if (!lg->opt.connect_rate)
		return true;
	int64_t since = loop_now(lg->loop) - lg->start_ms;
	uint64_t allowed = (uint64_t)since * lg->opt.connect_rate / 1000 + 1;
	if (lg->tot.started < allowed)
		return true;
	loop_timer_arm(lg->kick_timer, 1000 / lg->opt.connect_rate + 1);
	return false;
}

/* Whether one more session may begin now. */
static bool may_start(struct lg *lg)
{
	return !lg->stopping && lg->tot.started < lg->opt.total &&
	       lg->n_connecting < lg->opt.parallel && rate_allows(lg);
}

/* Whether the run is over: every slot idle, none waiting to return. A
 * look at every slot, taken only once no session is left to start. */
static bool all_idle(const struct lg *lg)
{
	for (unsigned int i = 0; i < lg->opt.sessions; i++) {
		const struct cv_session *s = &lg->slots[i];
		if (s->state != LG_IDLE || (s->returning && !lg->stopping))
			return false;
	}
	return true;
}

/* Start sessions in idle slots while the schedule allows, looking on
 * from where the last look ended: with 50,000 slots a look at all of
 * them at every welcome would cost more than the sessions. */
static void on_kick(void *arg)
{
	struct lg *lg = arg;
	unsigned int n = lg->opt.sessions;

	/* The run begins here, in the loop, whose clock is fresh: making
	 * 50,000 instances took most of a minute before it. */
	if (!lg->start_ms) {
		lg->start_ms = loop_now(lg->loop);
		loop_timer_arm(lg->end_timer, (int64_t)lg->opt.duration_s * 1000);
	}

	for (unsigned int k = 0; k < n && may_start(lg); k++) {
		struct cv_session *s = &lg->slots[lg->kick_at];
		lg->kick_at = (lg->kick_at + 1) % n;
		if (s->state == LG_IDLE && !s->returning)
			lg_slot_start(s);
	}
	if ((lg->stopping || lg->tot.started >= lg->opt.total) &&
	    lg->n_connecting == 0 && all_idle(lg))
		loop_stop(lg->loop);
}

void lg_kick(struct lg *lg)
{
	/* From the loop, never inside a plugin's upcall. */
	loop_timer_arm(lg->kick_timer, 0);
}

static void stop_all(struct lg *lg)
{
	lg->stopping = true;
	for (unsigned int i = 0; i < lg->opt.sessions; i++)
		lg_slot_stop(&lg->slots[i]);
	lg_kick(lg);
}

static void on_end(void *arg)
{
	struct lg *lg = arg;

	fprintf(stderr, "culvert-loadgen: --duration %u s is over; ending the run\n",
		lg->opt.duration_s);
	stop_all(lg);
}

static void on_signal(void *arg, int signo)
{
	stop_all(arg);
}

/* ---- the summary */

static double seconds(int64_t ms)
{
	return (double)ms / 1000.0;
}

static void summary(const struct lg *lg, int64_t end_ms)
{
	const struct lg_totals *t = &lg->tot;
	double elapsed = seconds(end_ms - lg->start_ms);
	double span = seconds(lg->last_up_ms - lg->start_ms);
	double hs_rate = t->up && span > 0 ? (double)t->up / span : 0;
	double ramp = lg->all_up_ms ? seconds(lg->all_up_ms - lg->start_ms) : 0;
	double ramp_rate = ramp > 0 ? lg->opt.sessions / ramp : 0;
	double loss = t->pings_sent ? 100.0 * (double)(t->pings_sent - t->pings_received) /
					      (double)t->pings_sent
				    : 0;
	double silent_avg = t->silent_ended ? seconds((int64_t)t->silent_ms) /
						      (double)t->silent_ended
					    : 0;

	if (lg->opt.json) {
		printf("{\"transport\":\"%s\",\"sessions\":%u,\"total\":%u,"
		       "\"started\":%" PRIu64 ",\"up\":%" PRIu64 ",\"completed\":%" PRIu64
		       ",\"failed\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"lost\":%" PRIu64
		       ",\"cut\":%" PRIu64 ",\"max_up\":%u,\"elapsed_s\":%.2f,"
		       "\"handshake_rate\":%.1f,\"ramp_s\":%.2f,\"ramp_rate\":%.1f,"
		       "\"pings_sent\":%" PRIu64 ",\"pings_received\":%" PRIu64
		       ",\"ping_loss_pct\":%.3f,\"abusive_sessions\":%" PRIu64
		       ",\"abuse_sent\":%" PRIu64 ",\"silent_ended\":%" PRIu64
		       ",\"silent_avg_s\":%.2f,\"back\":%" PRIu64
		       ",\"back_same_address\":%" PRIu64 ",\"resets\":%" PRIu64
		       ",\"back_max_s\":%.2f}\n",
		       lg->t->name, lg->opt.sessions, lg->opt.total, t->started, t->up,
		       t->completed, t->failed, t->refused, t->lost, t->cut, lg->max_up,
		       elapsed, hs_rate, ramp, ramp_rate, t->pings_sent,
		       t->pings_received, loss, t->abusive_sessions, t->abuse_sent,
		       t->silent_ended, silent_avg,
		       t->back, t->back_same_address, t->resets,
		       seconds(t->back_max_ms));
		return;
	}
	printf("transport %s: %" PRIu64 " sessions started in %.1f s, %" PRIu64
	       " up (%u at once at most), %" PRIu64 " completed, %" PRIu64
	       " failed, %" PRIu64 " refused, %" PRIu64 " lost, %" PRIu64 " cut\n",
	       lg->t->name, t->started, elapsed, t->up, lg->max_up, t->completed,
	       t->failed, t->refused, t->lost, t->cut);
	printf("handshakes: %.1f/s over the run", hs_rate);
	if (ramp > 0)
		printf("; all %u at once after %.2f s (%.1f/s)", lg->opt.sessions,
		       ramp, ramp_rate);
	printf("\npings: %" PRIu64 " sent, %" PRIu64 " answered, %.3f%% lost\n",
	       t->pings_sent, t->pings_received, loss);
	if (t->abusive_sessions)
		printf("abuse: %" PRIu64 " sessions misbehaved, %" PRIu64
		       " bad messages sent\n", t->abusive_sessions, t->abuse_sent);
	if (lg->opt.attack == LG_ATTACK_SILENT)
		printf("silent: %" PRIu64 " links ended by the gateway, after %.2f s on average\n",
		       t->silent_ended, silent_avg);
	if (lg->opt.attack == LG_ATTACK_GSO1)
		printf("gso1: %" PRIu64 " segments of gso size 1 sent\n",
		       t->abuse_sent);
	if (lg->opt.reconnect)
		printf("back after a loss: %" PRIu64 " (%" PRIu64
		       " with the same address, %" PRIu64
		       " after a stateless reset), the slowest after %.2f s\n",
		       t->back, t->back_same_address, t->resets,
		       seconds(t->back_max_ms));
}

/* Every session holds a socket, and a dtls instance a few more fds in
 * GnuTLS: take what the hard limit allows. */
static void raise_fd_limit(unsigned int sessions)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)sessions + 64)
		fprintf(stderr, "culvert-loadgen: the open files limit (%llu) is low for %u sessions\n",
			(unsigned long long)rl.rlim_cur, sessions);
}

int main(int argc, char **argv)
{
	struct lg lg = { 0 };
	int err;

	if (parse_options(argc, argv, &lg.opt) < 0)
		return 2;
	log_open("culvert-loadgen", true, lg.opt.verbose ? LOG_DEBUG : LOG_WARNING);
	log_set_timestamps(true);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(lg.opt.sessions);
	if ((err = loop_new(&lg.loop)) < 0 || (err = plugin_system_init()) < 0)
		return 1;
	if ((err = plugin_load(lg.opt.plugin_dir, lg.opt.transport, &lg.plugin)) < 0)
		return 1;
	lg.t = lg.plugin.transport;
	lg.slots = calloc(lg.opt.sessions, sizeof(*lg.slots));
	lg.kick_timer = loop_timer_new(lg.loop, on_kick, &lg);
	lg.end_timer = loop_timer_new(lg.loop, on_end, &lg);
	if (!lg.slots || !lg.kick_timer || !lg.end_timer) {
		fprintf(stderr, "culvert-loadgen: out of memory\n");
		return 1;
	}
	unsigned int made = 0;
	for (; made < lg.opt.sessions; made++) {
		if ((err = lg_slot_init(&lg, &lg.slots[made], made)) < 0) {
			fprintf(stderr, "culvert-loadgen: cannot create %s instance %u: %s\n",
				lg.t->name, made, strerror(-err));
			made++;
			break;
		}
	}
	if (err == 0 && (loop_signal(lg.loop, SIGINT, on_signal, &lg) < 0 ||
			 loop_signal(lg.loop, SIGTERM, on_signal, &lg) < 0))
		err = -EIO;
	if (err == 0) {
		lg_kick(&lg);
		err = loop_run(lg.loop);
		/* Sessions the signal or the duration cut said bye: let the
		 * plugins send it, then go. */
		summary(&lg, loop_now(lg.loop));
	}
	for (unsigned int i = 0; i < made; i++)
		lg_slot_free(&lg.slots[i]);
	loop_timer_free(lg.kick_timer);
	loop_timer_free(lg.end_timer);
	free(lg.slots);
	plugin_unload(&lg.plugin);
	plugin_system_exit();
	loop_free(lg.loop);
	if (err < 0)
		return 1;
	if (lg.opt.reconnect)
		return lg.tot.refused || lg.tot.back < lg.tot.lost ? 1 : 0;
	return lg.tot.failed + lg.tot.refused + lg.tot.lost ? 1 : 0;
}
