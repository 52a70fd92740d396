/* culvertd: the command line, and the order of a run. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "config.h"
#include "daemon.h"
#include "detach.h"
#include "journal.h"
#include "log.h"
#include "plugin.h"
#include "policy_file.h"


/* The keys of each plugin's [NAME] section, from the plugins in dir:
 * they live in the plugins' tables, not in the core's. */
static void plugin_keys(FILE *out, const char *dir)
{
	char names[1024], *save = NULL;

	plugin_list(dir, names, sizeof(names));
	fprintf(out, "\nTransport plugins in %s: %s.\n", dir, names);
	if (strcmp(names, "none") == 0 || plugin_system_init() < 0)
		return;
	for (char *n = strtok_r(names, ", ", &save); n;
	     n = strtok_r(NULL, ", ", &save)) {
		struct plugin p;
		if (plugin_load(dir, n, &p) < 0)
			continue;
		const struct cv_option *o = p.transport->options;
		fprintf(out, "\nKeys of a [%s] section%s\n", n,
			o && o->name ? ":" : ": none");
		for (; o && o->name; o++)
			fprintf(out, "  %-17s %s\n", o->name, o->help);
		plugin_unload(&p);
	}
	plugin_system_exit();
}

static void usage(FILE *out, const char *plugin_dir)
{
	fprintf(out,
		"Usage: culvertd -c FILE [-f] [-v]... [--check-config]\n"
		"\n"
		"A VPN daemon: a server that lets clients reach the networks behind it,\n"
		"or a client of such a server, as FILE's 'mode' says.\n"
		"\n"
		"  -c, --config FILE   the configuration file (see culvert.conf(5))\n"
		"  -f, --foreground    stay in the foreground and log to stderr\n"
		"  -v, --verbose       log more: once for info, twice for debug\n"
		"      --check-config  parse FILE, load its transports, report, exit\n"
		"  -h, --help          this help (with -c FILE: FILE's plugin-dir's keys)\n"
		"  -V, --version       the version\n"
		"\n"
		"Configuration keys (KEY = VALUE in FILE):\n");
	for (const struct config_key *k = config_keys; k->name; k++) {
		const char *only = k->flags & KEY_SERVER   ? " [server]"
				   : k->flags & KEY_CLIENT ? " [client]"
							   : "";
		fprintf(out, "  %-17s %s%s\n  %17s   %s\n", k->name,
			k->metavar, only, "", k->help);
	}
	fprintf(out, "\nKeys of a client's or group's file (client-config-dir, group-config-dir):\n");
	for (const struct policy_key *k = policy_keys; k->name; k++)
		fprintf(out, "  %-17s %s%s\n  %17s   %s\n", k->name, k->metavar,
			k->flags & POLICY_KEY_CLIENT_ONLY ? " [client files]" : "",
			"", k->help);
	plugin_keys(out, plugin_dir);
	fprintf(out, "\nSee culvertd(8) and culvert.conf(5).\n");
}

/* --help, after the other options: -c FILE names the plugin-dir whose
 * plugins' keys it lists. */
static int help(const char *path)
{
	struct config *cfg = NULL;

	if (path && config_load(path, &cfg) < 0)
		return 1;
	usage(stdout, cfg ? cfg->plugin_dir : PLUGINDIR);
	config_free(cfg);
	return 0;
}

static void print_summary(const struct config *cfg)
{
	printf("%s: OK: mode %s, transport", cfg->path,
	       cfg->mode == MODE_SERVER ? "server" : "client");
	for (unsigned int i = 0; i < cfg->n_transports; i++)
		printf("%s %s", i ? "," : "", cfg->transports[i]);
	if (cfg->mode == MODE_SERVER) {
		char pool[ADDR_STRLEN + 8] = "";
		char pool6[ADDR_STRLEN + 8] = "";
		if (cfg->has_pool) {
			char p4[ADDR_STRLEN];
			snprintf(pool, sizeof(pool), ", pool %s",
				 prefix_str(&cfg->pool, p4));
		}
		if (cfg->has_pool6) {
			char p6[ADDR_STRLEN];
			snprintf(pool6, sizeof(pool6), ", pool6 %s%s",
				 prefix_str(&cfg->pool6, p6),
				 cfg->has_pool ? "" : " (IPv6 only)");
		}
		printf(", listen %s%s%s, %u route%s\n", cfg->listen, pool,
		       pool6, cfg->n_routes, cfg->n_routes == 1 ? "" : "s");
	} else {
		printf(", remote %s\n", cfg->remote);
	}
}

/* Open files beside the sessions' own: listeners, the TUN device, the
 * control socket, auth workers, logs, tls handshakes under way. */
#define FD_RESERVE 1024

/* Each tls session holds a socket (dtls ones share the listener's), so
 * the usual soft limit of 1024 open files caps a server below 1,000
 * sessions. Take the whole hard limit (the administrator's,
 * LimitNOFILE= in the unit), and when max-clients needs more than it,
 * raise it too, as root may (CAP_SYS_RESOURCE, up to fs.nr_open); if
 * that is refused, say at start how many sessions the limit holds,
 * rather than refusing the next one with "too many open files".
 * Before any file is open. */
static void raise_fd_limit(const struct config *cfg)
{
	rlim_t want = cfg->mode == MODE_SERVER
			      ? (rlim_t)cfg->max_clients + FD_RESERVE : 0;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rlim_t was = rl.rlim_cur;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit more = { want, want };
		if (setrlimit(RLIMIT_NOFILE, &more) == 0)
			rl = more;
		else
			log_warn("%s: max-clients = %u needs %llu open files, but the hard limit is %llu and cannot be raised (%s): about %llu sessions fit; raise LimitNOFILE= in the unit (or ulimit -Hn)",
				 cfg->path, cfg->max_clients,
				 (unsigned long long)want,
				 (unsigned long long)rl.rlim_max, strerror(errno),
				 rl.rlim_max > FD_RESERVE
					 ? (unsigned long long)(rl.rlim_max - FD_RESERVE)
					 : 0ULL);
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("cannot raise the open files limit from %llu to %llu: %s",
				 (unsigned long long)was,
				 (unsigned long long)rl.rlim_max, strerror(errno));
			return;
		}
	}
	if (rl.rlim_cur != was)
		log_info("open files limit raised from %llu to %llu",
			 (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

/* Detached, culvertd works in /, and a reload reads the config file
 * again by its name: a relative name must not change meaning. (Not
 * realpath(): through a symbolic link, the instance keeps its name.) */
static const char *absolute(const char *path, char *buf, size_t size)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return path;
	snprintf(buf, size, "%s/%s", cwd, path);
	return buf;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256 };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *path = NULL;
	bool foreground = false, check = false, want_help = false;
	int verbosity = LOG_NOTICE, opt;

	while ((opt = getopt_long(argc, argv, "c:fvhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'v':
			if (verbosity < LOG_DEBUG)
				verbosity++;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'h':
			want_help = true;
			break;
		case 'V':
			printf("culvertd %s (transport ABI %d)\n", PACKAGE_VERSION,
			       CULVERT_TRANSPORT_ABI);
			return 0;
		default:
			fprintf(stderr, "Try 'culvertd --help'.\n");
			return 2;
		}
	}
	if (want_help)
		return help(path);
	if (optind < argc) {
		fprintf(stderr, "culvertd: unexpected argument '%s'\nTry 'culvertd --help'.\n",
			argv[optind]);
		return 2;
	}
	if (!path) {
		fprintf(stderr, "culvertd: no configuration file: use -c FILE\nTry 'culvertd --help'.\n");
		return 2;
	}

	/* Until the daemon detaches, errors go to the terminal that
	 * started it, where the user is looking. */
	log_open("culvertd", true, verbosity);
	log_set_timestamps(!check);
	/* Under systemd: priorities the journal understands. */
	if (log_stderr_is_journal())
		journal_attach("culvertd");
	char abs_path[PATH_MAX + 256];
	if (!foreground && !check)
		path = absolute(path, abs_path, sizeof(abs_path));
	struct config *cfg;
	if (config_load(path, &cfg) < 0)
		return 1;
	if (check) {
		int err = daemon_check(cfg);
		if (err == 0)
			print_summary(cfg);
		config_free(cfg);
		return err < 0 ? 1 : 0;
	}

	raise_fd_limit(cfg);
	int ready_fd = foreground ? -1 : detach_start();
	if (ready_fd < 0 && !foreground) {
		config_free(cfg);
		return 1;
	}
	struct daemon d;
	int err = daemon_init(&d, cfg, !foreground);
	if (err == 0 && !foreground) {
		detach_done(ready_fd);
		log_open("culvertd", false, verbosity);
		log_notice("serving in the background as pid %ld",
			   (long)getpid());
	}
#ifdef HAVE_SYSTEMD
	if (err == 0)   /* culvertd@.service is Type=notify: set up, serving */
		sd_notify(0, "READY=1");
#endif
	if (err == 0)
		err = daemon_run(&d);
	int status = err < 0 ? 1 : d.core.exit_status;
	daemon_cleanup(&d);
	log_notice("culvertd stopped");
	return status;
}
