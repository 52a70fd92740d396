#include "password.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "secret_mode.h"

#define PASSWORD_MAX 255	/* what the control protocol carries */

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

static int from_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		int err = -errno;
		log_err("cannot read password-file %s: %s", path, strerror(errno));
		return err;
	}
	struct stat st;
	char why[96];
	if (fstat(fileno(f), &st) == 0 &&
	    secret_mode_problem(st.st_mode, why, sizeof(why)))
		log_warn("password-file %s %s", path, why);
	bool ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok) {
		log_err("password-file %s is empty: put the password on its first line",
			path);
		return -EINVAL;
	}
	chomp(buf);
	return 0;
}

/*
 * ^C at the prompt. By the time the client asks, the loop has blocked
 * SIGINT, SIGTERM and SIGHUP to read them from its signalfd, which no
 * one reads while fgets() waits: ^C did nothing. For the prompt they are
 * let through to a handler installed without SA_RESTART, so that the
 * read fails with EINTR; the signal is consumed there, and the mask and
 * the handlers are put back afterwards.
 */
static const int prompt_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define N_PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))
static volatile sig_atomic_t prompt_interrupted;

static void on_prompt_signal(int signo)
{
	prompt_interrupted = signo;
}

struct prompt_signals {
	sigset_t mask;
	struct sigaction old[N_PROMPT_SIGNALS];
};

static void let_signals_in(struct prompt_signals *saved)
{
	struct sigaction sa = { .sa_handler = on_prompt_signal };
	sigset_t set;

	prompt_interrupted = 0;
	sigemptyset(&set);
	for (size_t i = 0; i < N_PROMPT_SIGNALS; i++) {
		sigaction(prompt_signals[i], &sa, &saved->old[i]);
		sigaddset(&set, prompt_signals[i]);
	}
	sigprocmask(SIG_UNBLOCK, &set, &saved->mask);
}

static void keep_signals_out(const struct prompt_signals *saved)
{
	sigprocmask(SIG_SETMASK, &saved->mask, NULL);
	for (size_t i = 0; i < N_PROMPT_SIGNALS; i++)
		sigaction(prompt_signals[i], &saved->old[i], NULL);
}

static int from_terminal(const char *user, const char *remote, char *buf,
			 size_t size)
{
	struct termios old, quiet;
	struct prompt_signals saved;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &old) < 0) {
		log_err("no password for user '%s': set password-file, or start culvertd on a terminal to be asked",
			user);
		return -EINVAL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fprintf(stderr, "Password for %s at %s: ", user, remote);
	fflush(stderr);
	let_signals_in(&saved);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	bool ok = !prompt_interrupted && fgets(buf, (int)size, stdin) != NULL;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	keep_signals_out(&saved);
	fputc('\n', stderr);
	if (prompt_interrupted) {
		log_err("%s at the password prompt: stopping",
			strsignal(prompt_interrupted));
		return -ECANCELED;
	}
	if (!ok)
		return -EINVAL;
	chomp(buf);
	return 0;
}

int password_load(const struct config *cfg, char **out)
{
	char buf[PASSWORD_MAX + 2];
	int err;

	*out = NULL;
	if (!cfg->username)
		return 0;
	if (cfg->password_file)
		err = from_file(cfg->password_file, buf, sizeof(buf));
	else
		err = from_terminal(cfg->username, cfg->remote, buf, sizeof(buf));
	if (err == 0 && (buf[0] == '\0' || strlen(buf) > PASSWORD_MAX)) {
		log_err("the password for '%s' must be 1 to %d characters",
			cfg->username, PASSWORD_MAX);
		err = -EINVAL;
	}
	if (err == 0 && !(*out = strdup(buf)))
		err = -ENOMEM;
	explicit_bzero(buf, sizeof(buf));
	return err;
}

void password_free(char *password)
{
	if (!password)
		return;
	explicit_bzero(password, strlen(password));
	free(password);
}
