/*
 * Hooks: the administrator's scripts, run when a tunnel goes up or down
 * (client: up-script, down-script) or a client connects or leaves
 * (server: client-connect-script, client-disconnect-script). A script
 * runs without blocking the loop; its exit status comes back as a
 * callback. The environment it gets is in culvert.conf(5).
 */
#ifndef CULVERT_HOOK_H
#define CULVERT_HOOK_H

struct loop;
struct hook;

/* status: the script's exit code, or -1 when it could not run, was
 * killed, or took longer than HOOK_TIMEOUT_S. */
typedef void hook_done_cb(void *arg, int status);

#define HOOK_TIMEOUT_S 30
#define HOOK_ENV_MAX 16

struct hook_env {
	unsigned int n;
	char *vars[HOOK_ENV_MAX + 1];	/* "NAME=value", NULL-terminated */
};

/* Add NAME=value (printf-style value); silently full past HOOK_ENV_MAX. */
void hook_env_add(struct hook_env *env, const char *name, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));
void hook_env_free(struct hook_env *env);

/* Run script with env (copied), linked into *list until it exits. done may be NULL (nobody waits); it is
 * called from the loop, never from inside hook_run. NULL on failure to
 * start, logged. */
struct hook *hook_run(struct loop *loop, struct hook **list,
		      const char *script, const char *event,
		      const struct hook_env *env, hook_done_cb *done, void *arg);
/* The callback will not be called; the script runs on. */
void hook_cancel(struct hook *hook);
/* At exit: stop waiting for every script on list (they run on). */
void hook_abandon_all(struct hook **list);

#endif
