/* culvertctl: the administrator's tool. One table of subcommands; the
 * usage is printed from it, so --help cannot drift from the code. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

static const struct ctl_command commands[] = {
	{ "status", "[--json] [--all] [--page N|all] [--page-size N]", ctl_status,
	  "the daemon, its sessions (1000 a page) and its counters (--all: those at 0 too)" },
	{ "show", "[--json] NAME", ctl_show,
	  "the session NAME (identity or outer address) in full" },
	{ "metrics", "", ctl_metrics,
	  "the metrics in Prometheus's text format (node_exporter's textfile collector)" },
	{ "kick", "NAME", ctl_kick,
	  "end the sessions of NAME (identity or outer address) now" },
	{ "reload", "", ctl_reload,
	  "read the config and password file again, as SIGHUP does" },
	{ "drain", "", ctl_drain,
	  "a gateway: refuse new sessions and move those up to another gateway" },
	{ "undrain", "", ctl_undrain,
	  "a drained gateway: take new sessions again" },
	{ "diagnose", "[-c FILE]", ctl_diagnose,
	  "check the network around the tunnel; print each problem and its fix" },
	{ "passwd", "[--user-group NAME] [--group GROUP] FILE USER", ctl_passwd,
	  "set USER's password (and VPN group) in FILE (--group: root:GROUP 0640)" },
	{ "pki", "SUBCOMMAND DIR ...", ctl_pki,
	  "a CA, server and client certificates, a CRL (pki help lists them)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int synopsis_width(void)
{
	size_t width = 0;

	for (size_t i = 0; i < N_COMMANDS; i++) {
		size_t n = strlen(commands[i].name) + 1 + strlen(commands[i].args);
		if (n > width)
			width = n;
	}
	return (int)width;
}

static void usage(FILE *f)
{
	int width = synopsis_width();

	fprintf(f, "Usage: culvertctl [-n NAME | -c FILE | -s SOCKET] COMMAND [ARGS]\n"
		   "       culvertctl -h | --help | -V | --version\n\n"
		   "  -n NAME     talk to the instance NAME (culvertd@NAME, " SYSCONFDIR "/culvert/NAME.conf)\n"
		   "  -c FILE     talk to the culvertd that runs with config FILE\n"
		   "  -s SOCKET   talk to the culvertd on control socket SOCKET\n"
		   "  (none)      the only culvertd that runs\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		char synopsis[128];
		snprintf(synopsis, sizeof(synopsis), "%s %s", commands[i].name,
			 commands[i].args);
		fprintf(f, "  %-*s  %s\n", width, synopsis,
			commands[i].description);
	}
	fprintf(f, "\nculvertctl COMMAND --help shows one command's arguments.\n");
}

static void command_usage(const struct ctl_command *cmd, FILE *f)
{
	fprintf(f, "Usage: culvertctl %s %s\n", cmd->name, cmd->args);
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* Errors on one line, for a person at a terminal: no time stamps. */
static void to_stderr(int priority, const char *line, void *arg)
{
	fprintf(stderr, "culvertctl: %s\n", line);
}

int main(int argc, char *argv[])
{
	log_set_sink(to_stderr, NULL);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("culvertctl %s\n", PACKAGE_VERSION);
		return 0;
	}
	if ((strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "-s") == 0 ||
	     strcmp(argv[1], "-n") == 0) &&
	    argc > 2) {
		int err = argv[1][1] == 'n' ? ctl_set_instance(argv[2])
			  : argv[1][1] == 's' ? ctl_set_socket(argv[2], NULL)
					      : ctl_set_socket(NULL, argv[2]);
		if (err < 0)
			return 1;
		argc -= 2;
		argv += 2;
		if (argc < 2) {
			usage(stderr);
			return 1;
		}
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *cmd = &commands[i];
		if (strcmp(argv[1], cmd->name) != 0)
			continue;
		if (argc > 2 && is_help(argv[2])) {
			command_usage(cmd, stdout);
			printf("%s\n", cmd->description);
			return 0;
		}
		int status = cmd->run(argc - 1, argv + 1);
		if (status == CTL_USAGE) {
			command_usage(cmd, stderr);
			return 1;
		}
		return status;
	}
	fprintf(stderr, "culvertctl: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 1;
}
