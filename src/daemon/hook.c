#include "hook.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

struct hook {
	struct loop *loop;
	struct hook **list, *prev, *next;
	char *script;
	pid_t pid;
	int pidfd;		/* readable when the script has exited */
	struct loop_timer *timeout;
	struct loop_timer *poll;	/* instead, without pidfd_open */
	hook_done_cb *done;
	void *arg;
};

void hook_env_add(struct hook_env *env, const char *name, const char *fmt,
		  ...)
{
	char *value;
	va_list ap;

	if (env->n == HOOK_ENV_MAX)
		return;
	/* Never cut a value: a route list cut mid-prefix ("64.0.0.0/2" of
	 * "64.0.0.0/24") would be a different, valid route to a script. */
	va_start(ap, fmt);
	int ok = vasprintf(&value, fmt, ap);
	va_end(ap);
	if (ok < 0)
		return;
	if (asprintf(&env->vars[env->n], "%s=%s", name, value) >= 0)
		env->vars[++env->n] = NULL;
	free(value);
}

void hook_env_free(struct hook_env *env)
{
	for (unsigned int i = 0; i < env->n; i++)
		free(env->vars[i]);
	env->n = 0;
	env->vars[0] = NULL;
}

static void hook_free(struct hook *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		*h->list = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (h->pidfd >= 0) {
		loop_unwatch(h->loop, h->pidfd);
		close(h->pidfd);
	}
	loop_timer_free(h->timeout);
	loop_timer_free(h->poll);
	free(h->script);
	free(h);
}

/* Kernels before 5.3 (and valgrind) have no pidfd_open: then the loop
 * asks every so often instead. */
#define HOOK_POLL_MS 50

static void on_exit_event(void *arg, int fd, uint32_t events)
{
	struct hook *h = arg;
	int wstatus = 0, status = -1;

	if (waitpid(h->pid, &wstatus, WNOHANG) <= 0) {
		if (h->poll)
			loop_timer_arm(h->poll, HOOK_POLL_MS);
		return;
	}
	if (WIFEXITED(wstatus))
		status = WEXITSTATUS(wstatus);
	else
		log_warn("%s was killed by signal %d", h->script,
			 WTERMSIG(wstatus));
	if (status > 0)
		log_info("%s exited with status %d", h->script, status);
	if (h->done)
		h->done(h->arg, status);
	hook_free(h);
}

static void on_poll(void *arg)
{
	on_exit_event(arg, -1, 0);
}

/* A script that hangs must not hold a session (or the host) forever. */
static void on_timeout(void *arg)
{
	struct hook *h = arg;

	log_warn("%s took longer than %d s: killing it", h->script,
		 HOOK_TIMEOUT_S);
	kill(h->pid, SIGKILL);
}

struct hook *hook_run(struct loop *loop, struct hook **list,
		      const char *script, const char *event,
		      const struct hook_env *env, hook_done_cb *done, void *arg)
{
	struct hook *h = calloc(1, sizeof(*h));

	if (!h || !(h->script = strdup(script))) {
		free(h);
		return NULL;
	}
	h->loop = loop;
	h->done = done;
	h->arg = arg;
	h->pidfd = -1;
	h->pid = fork();
	if (h->pid < 0) {
		log_err("cannot run %s: %s", script, strerror(errno));
		free(h->script);
		free(h);
		return NULL;
	}
	if (h->pid == 0) {
		/* The child: the daemon's signal mask must not carry over,
		 * or the script could not be stopped with SIGTERM. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *argv[] = { (char *)script, (char *)event, NULL };
		execve(script, argv, env->vars);
		_exit(127);
	}
	h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	h->timeout = loop_timer_new(loop, on_timeout, h);
	if (h->pidfd < 0)
		h->poll = loop_timer_new(loop, on_poll, h);
	if (!h->timeout || (h->pidfd < 0 && !h->poll) ||
	    (h->pidfd >= 0 &&
	     loop_watch(loop, h->pidfd, EPOLLIN, on_exit_event, h) < 0)) {
		log_err("cannot wait for %s: %s", script, strerror(errno));
		if (h->pidfd >= 0)
			close(h->pidfd);
		loop_timer_free(h->timeout);
		loop_timer_free(h->poll);
		free(h->script);
		free(h);
		return NULL;
	}
	if (h->poll)
		loop_timer_arm(h->poll, HOOK_POLL_MS);
	loop_timer_arm(h->timeout, HOOK_TIMEOUT_S * 1000);
	h->list = list;
	h->next = *list;
	if (h->next)
		h->next->prev = h;
	*list = h;
	log_debug("running %s %s (pid %d)", script, event, (int)h->pid);
	return h;
}

void hook_cancel(struct hook *h)
{
	h->done = NULL;
}

void hook_abandon_all(struct hook **list)
{
	while (*list)
		hook_free(*list);
}
