/*
 * The control socket's place and words (control.c, ctl_socket.c), as pure
 * functions so that both ends agree and the fuzzer can reach them.
 *
 * culvertctl sends one line, ended by "\n" (a "\r" before it is
 * ignored): "status", "status --all", "status --json" (each may add
 * "--page N|all" and "--page-size N"), "show NAME",
 * "show-json NAME", "metrics", "kick NAME", "reload", "drain" or
 * "undrain". The daemon
 * answers "ok" or "error: WHY" on the first line, then the body, then
 * closes the connection.
 */
#ifndef CULVERT_CONTROL_REQUEST_H
#define CULVERT_CONTROL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

struct config;

/* Each instance keeps its runtime files in a directory of its own,
 * /run/culvert/NAME: its control socket, and its pid file when detached.
 * culvertd makes it at start (also on a machine where /run/culvert does
 * not exist yet, as after every boot), gives it to the user it drops to,
 * and removes it at stop; the unit's RuntimeDirectory=culvert/%i makes
 * the same one. Nothing is shared between instances, so two instances
 * with different users never fight over a directory. */
#define CONTROL_RUN_DIR "/run/culvert"
#define CONTROL_SOCKET_NAME "control.sock"
#define CONTROL_PID_NAME "culvertd.pid"

/* The instance a config file names: "gateway" for
 * /etc/culvert/gateway.conf (culvertd@gateway.service). */
void control_instance_name(const char *config_path, char *buf, size_t size);
/* The one rule for where an instance's runtime files are: the directory
 * /run/culvert/NAME (file NULL), or the file in it. Returns 0, -EINVAL
 * when NAME cannot name a directory (empty, or starting with '.'), or
 * -ENAMETOOLONG; buf is "" then. */
int control_run_path(const char *instance, const char *file, char *buf,
		     size_t size);
/* The socket's path: control-socket, or /run/culvert/NAME/control.sock
 * for the config file NAME.conf ("" if NAME cannot be one). */
void control_path(const struct config *cfg, char *buf, size_t size);

/* The socket of instance name (culvertd@NAME) whose config sets no
 * control-socket: control_path for NAME.conf. culvertctl -n NAME, and
 * its search for the instances that run. */
void control_instance_path(const char *name, char *buf, size_t size);

/* The longest request, its newline included: what the daemon reads. */
#define CONTROL_REQUEST_MAX 512
/* The most culvertctl reads of an answer: thousands of sessions fit. */
#define CONTROL_ANSWER_MAX (64u << 20)

enum control_op {
	CONTROL_BAD,		/* not a request: *why says what is wrong */
	CONTROL_STATUS,		/* counters at 0 left out */
	CONTROL_STATUS_ALL,	/* every counter */
	CONTROL_STATUS_JSON,	/* everything: --all with --json is this */
	CONTROL_SHOW,		/* arg: the session's name; in full */
	CONTROL_SHOW_JSON,	/* the same as JSON */
	CONTROL_METRICS,	/* Prometheus's text exposition format */
	CONTROL_KICK,		/* arg: the session's name */
	CONTROL_RELOAD,
	CONTROL_DRAIN,		/* a gateway: refuse new sessions, move those up */
	CONTROL_UNDRAIN,
};

/* The request's first word, for logs ("kick", "drain"...). */
const char *control_op_word(enum control_op op);

/* Whether op takes a session's name. */
#define CONTROL_NAMED(op) \
	((op) == CONTROL_KICK || (op) == CONTROL_SHOW || (op) == CONTROL_SHOW_JSON)

/* status lists its sessions a page at a time: the first page unless
 * "--page N" (from 1) or "--page all" says otherwise, of "--page-size N"
 * sessions (default CONTROL_PAGE_SIZE), so that a gateway of 100,000
 * sessions answers a plain status in a few milliseconds. */
#define CONTROL_PAGE_SIZE 1000
#define CONTROL_PAGE_SIZE_MAX 1000000
#define CONTROL_PAGE_ALL 0	/* page: every session */

struct control_request {
	enum control_op op;
	const char *arg;	/* CONTROL_NAMED: inside the parsed buffer */
	const char *why;	/* CONTROL_BAD: a static sentence */
	unsigned int page;	/* status: from 1, or CONTROL_PAGE_ALL */
	unsigned int page_size;	/* status: sessions a page */
};

/* The request in the len bytes of buf, as the daemon read them (one
 * read of at most CONTROL_REQUEST_MAX - 1 bytes). Writes into buf (the
 * name gets its NUL); buf must have room for len + 1 bytes. A line
 * without its newline is taken only when it cannot have been cut short
 * by the read; a control character or a NUL inside makes it CONTROL_BAD,
 * so that "kick alice\rx" can never kick alice. */
struct control_request control_request_parse(char *buf, size_t len);

/* culvertctl: the line for op (and name, when CONTROL_NAMED), "\n"
 * included, into buf. Returns its length, -EINVAL when name is empty or
 * holds a control character, -EMSGSIZE when the line would be longer
 * than the daemon reads. */
int control_request_format(enum control_op op, const char *name, char *buf,
			   size_t size);

struct control_answer {
	bool ok;		/* the first line is "ok" */
	const char *message;	/* the first line, without "error: " */
	const char *body;	/* what follows the first line, maybe "" */
	size_t body_len;
};

/* Split the answer's len bytes in buf (culvertctl's side). Writes a NUL
 * over the first newline; buf must hold len + 1 bytes, buf[len] = 0.
 * The body may hold NUL bytes: body_len counts them. */
struct control_answer control_answer_parse(char *buf, size_t len);

#endif
