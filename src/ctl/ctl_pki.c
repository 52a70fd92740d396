/*
 * culvertctl pki SUBCOMMAND DIR ...: a small CA in a directory, for the
 * tls and dtls transports, instead of certtool templates. One table of
 * subcommands, usage printed from it; the GnuTLS work is pki.c's.
 */
#include "ctl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pki.h"

enum {
	OPT_CN = 1 << 0,
	OPT_RSA = 1 << 1,
	OPT_DAYS = 1 << 2,
	OPT_DNS = 1 << 3,
	OPT_IP = 1 << 4,
	OPT_GROUP = 1 << 5,
};

struct pki_args {
	const char *pos[2];		/* DIR, then NAME or USER */
	int n_pos;
	const char **dns, **ips;	/* room for argc each */
	struct pki_options o;
};

static int run_init(struct pki_args *a)
{
	return pki_init(a->pos[0], &a->o);
}

static int run_server(struct pki_args *a)
{
	return pki_issue(a->pos[0], PKI_SERVER, a->pos[1], &a->o);
}

static int run_client(struct pki_args *a)
{
	return pki_issue(a->pos[0], PKI_CLIENT, a->pos[1], &a->o);
}

static int run_revoke(struct pki_args *a)
{
	return pki_revoke(a->pos[0], a->pos[1]);
}

static int run_crl(struct pki_args *a)
{
	return pki_revoke(a->pos[0], NULL);
}

struct pki_command {
	const char *name;
	const char *args;		/* the synopsis after the name */
	int n_pos;			/* how many of them are not options */
	unsigned int options;		/* OPT_* it takes */
	int (*run)(struct pki_args *a);
	const char *description;
};

static const struct pki_command commands[] = {
	{ "init", "DIR [--cn NAME] [--rsa] [--days N] [--group GROUP]", 1,
	  OPT_CN | OPT_RSA | OPT_DAYS | OPT_GROUP, run_init,
	  "make a CA: DIR/ca.crt and DIR/ca.key, valid 10 years; with --group,\n"
	  "      DIR is root:GROUP 0750 and the keys made in it later 0640, for a\n"
	  "      culvertd that runs as GROUP (user, group) and reloads them" },
	{ "server", "DIR NAME [--dns NAME]... [--ip ADDRESS]... [--rsa] [--days N]", 2,
	  OPT_DNS | OPT_IP | OPT_RSA | OPT_DAYS, run_server,
	  "DIR/NAME.crt and .key for the server NAME (a host name or an address), valid 2 years" },
	{ "client", "DIR USER [--rsa] [--days N]", 2, OPT_RSA | OPT_DAYS,
	  run_client,
	  "DIR/USER.crt and .key for the user USER, valid 2 years" },
	{ "revoke", "DIR NAME", 2, 0, run_revoke,
	  "add DIR/NAME.crt to DIR/crl.pem, valid 30 days" },
	{ "crl", "DIR", 1, 0, run_crl,
	  "sign DIR/crl.pem again, for another 30 days" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct {
	const char *name;
	unsigned int bit;
	bool has_value;
} options[] = {
	{ "--cn", OPT_CN, true },
	{ "--rsa", OPT_RSA, false },
	{ "--days", OPT_DAYS, true },
	{ "--dns", OPT_DNS, true },
	{ "--ip", OPT_IP, true },
	{ "--group", OPT_GROUP, true },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: culvertctl pki SUBCOMMAND DIR [ARGS]\n\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name,
			commands[i].args, commands[i].description);
	fprintf(f, "\nKeys are ECDSA P-256, or RSA 3072 bits with --rsa; --days N sets\n"
		   "another lifetime. Nothing is ever overwritten but crl.pem.\n");
}

static void command_usage(const struct pki_command *c, FILE *f)
{
	fprintf(f, "Usage: culvertctl pki %s %s\n", c->name, c->args);
}

static bool parse_days(const char *s, unsigned int *days)
{
	char *end;
	unsigned long n = strtoul(s, &end, 10);

	if (s[0] >= '0' && s[0] <= '9' && *end == '\0' && n >= 1 &&
	    n <= PKI_MAX_DAYS) {
		*days = (unsigned int)n;
		return true;
	}
	log_err("--days: '%s' is not a number of days from 1 to %d", s,
		PKI_MAX_DAYS);
	return false;
}

/* --NAME VALUE or --NAME=VALUE; *i moves past what was used. */
static int parse_option(const struct pki_command *c, int argc, char *argv[],
			int *i, struct pki_args *a)
{
	const char *arg = argv[*i], *eq = strchr(arg, '='), *value = NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
		if (strlen(options[k].name) != len ||
		    strncmp(options[k].name, arg, len) != 0)
			continue;
		if (!(c->options & options[k].bit))
			break;
		if (options[k].has_value) {
			value = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
			if (!value) {
				log_err("pki %s: %s needs a value", c->name,
					options[k].name);
				return CTL_USAGE;
			}
		} else if (eq) {
			log_err("pki %s: %.*s takes no value", c->name,
				(int)len, arg);
			return CTL_USAGE;
		}
		switch (options[k].bit) {
		case OPT_CN:
			a->o.cn = value;
			return 0;
		case OPT_RSA:
			a->o.key = PKI_KEY_RSA;
			return 0;
		case OPT_DAYS:
			return parse_days(value, &a->o.days) ? 0 : 1;
		case OPT_DNS:
			a->dns[a->o.n_dns++] = value;
			return 0;
		case OPT_IP:
			a->ips[a->o.n_ips++] = value;
			return 0;
		case OPT_GROUP:
			a->o.has_group = true;
			return ctl_group(value, &a->o.group) < 0 ? 1 : 0;
		}
	}
	log_err("pki %s: unknown option '%.*s'", c->name, (int)len, arg);
	return CTL_USAGE;
}

/* The exit status, or CTL_USAGE. */
static int parse(const struct pki_command *c, int argc, char *argv[],
		 struct pki_args *a)
{
	bool options_end = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!options_end && strcmp(arg, "--") == 0) {
			options_end = true;
		} else if (!options_end && arg[0] == '-' && arg[1] != '\0') {
			int status = parse_option(c, argc, argv, &i, a);
			if (status != 0)
				return status;
		} else if (a->n_pos < c->n_pos) {
			a->pos[a->n_pos++] = arg;
		} else {
			log_err("pki %s: one argument too many: '%s'", c->name,
				arg);
			return CTL_USAGE;
		}
	}
	return a->n_pos == c->n_pos ? 0 : CTL_USAGE;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
	       strcmp(arg, "help") == 0;
}

int ctl_pki(int argc, char *argv[])
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	const struct pki_command *c = NULL;
	for (size_t i = 0; i < N_COMMANDS && !c; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			c = &commands[i];
	if (!c) {
		log_err("pki: unknown subcommand '%s'", argv[1]);
		usage(stderr);
		return 1;
	}
	argc--;
	argv++;
	if (argc > 1 && is_help(argv[1])) {
		command_usage(c, stdout);
		printf("%s\n", c->description);
		return 0;
	}

	struct pki_args a = {
		.dns = calloc((size_t)argc, sizeof(*a.dns)),
		.ips = calloc((size_t)argc, sizeof(*a.ips)),
		.o.key = PKI_KEY_ECDSA,
	};
	int status = 1;
	if (!a.dns || !a.ips) {
		log_err("out of memory");
	} else {
		a.o.dns = a.dns;
		a.o.ips = a.ips;
		status = parse(c, argc, argv, &a);
		if (status == 0)
			status = c->run(&a) < 0 ? 1 : 0;
	}
	free(a.dns);
	free(a.ips);
	if (status == CTL_USAGE) {
		command_usage(c, stderr);
		return 1;
	}
	return status;
}
