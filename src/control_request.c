#include "control_request.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

void control_instance_name(const char *config_path, char *buf, size_t size)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", config_path);
	snprintf(buf, size, "%s", basename(copy));
	size_t len = strlen(buf);
	if (len > 5 && strcmp(buf + len - 5, ".conf") == 0)
		buf[len - 5] = '\0';
}

int control_run_path(const char *instance, const char *file, char *buf,
		     size_t size)
{
	int n;

	buf[0] = '\0';
	if (!instance[0] || instance[0] == '.' || strchr(instance, '/'))
		return -EINVAL;
	if (file)
		n = snprintf(buf, size, CONTROL_RUN_DIR "/%s/%s", instance, file);
	else
		n = snprintf(buf, size, CONTROL_RUN_DIR "/%s", instance);
	if (n < 0 || (size_t)n >= size) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

void control_path(const struct config *cfg, char *buf, size_t size)
{
	char name[256];

	if (cfg->control_socket) {
		snprintf(buf, size, "%s", cfg->control_socket);
		return;
	}
	control_instance_name(cfg->path, name, sizeof(name));
	control_run_path(name, CONTROL_SOCKET_NAME, buf, size);
}

void control_instance_path(const char *name, char *buf, size_t size)
{
	char file[300];
	struct config cfg = { .path = file };

	snprintf(file, sizeof(file), "%s.conf", name);
	control_path(&cfg, buf, size);
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static struct control_request bad(const char *why)
{
	return (struct control_request){ .op = CONTROL_BAD, .why = why };
}

/* The first word of each request but status, which takes options. */
static const struct {
	const char *word;
	enum control_op op;
} words[] = {
	{ "show", CONTROL_SHOW },
	{ "show-json", CONTROL_SHOW_JSON },
	{ "metrics", CONTROL_METRICS },
	{ "kick", CONTROL_KICK },
	{ "reload", CONTROL_RELOAD },
	{ "drain", CONTROL_DRAIN },
	{ "undrain", CONTROL_UNDRAIN },
};

const char *control_op_word(enum control_op op)
{
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].op == op)
			return words[i].word;
	return "status";
}

/* A page's number or size: 1 to max, digits only. */
static bool page_number(const char *text, unsigned int max, unsigned int *out)
{
	unsigned long v = 0;

	if (!text || !*text || strlen(text) > 7)
		return false;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < 1 || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

/* "status" and its options, --all, --json, --page N|all and
 * --page-size N, in any order, each once. */
static struct control_request status_request(char *options)
{
	bool all = false, json = false, paged = false, sized = false;
	struct control_request r = { .page = 1, .page_size = CONTROL_PAGE_SIZE };
	char *save = NULL;

	for (char *o = options ? strtok_r(options, " ", &save) : NULL; o;
	     o = strtok_r(NULL, " ", &save)) {
		if (strcmp(o, "--all") == 0 && !all) {
			all = true;
		} else if (strcmp(o, "--json") == 0 && !json) {
			json = true;
		} else if (strcmp(o, "--page") == 0 && !paged) {
			const char *v = strtok_r(NULL, " ", &save);
			paged = true;
			if (v && strcmp(v, "all") == 0)
				r.page = CONTROL_PAGE_ALL;
			else if (!page_number(v, CONTROL_PAGE_SIZE_MAX, &r.page))
				return bad("--page takes a number from 1, or all");
		} else if (strcmp(o, "--page-size") == 0 && !sized) {
			sized = true;
			if (!page_number(strtok_r(NULL, " ", &save),
					 CONTROL_PAGE_SIZE_MAX, &r.page_size))
				return bad("--page-size takes a number from 1 to 1000000");
		} else {
			return bad("unknown request");
		}
	}
	r.op = json ? CONTROL_STATUS_JSON : all ? CONTROL_STATUS_ALL : CONTROL_STATUS;
	return r;
}

struct control_request control_request_parse(char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	size_t line = nl ? (size_t)(nl - buf) : len;

	/* No newline in a full read: the rest is still in the socket, and
	 * the name read so far may be another session's. */
	if (!nl && len >= CONTROL_REQUEST_MAX - 1)
		return bad("request too long");
	if (line && buf[line - 1] == '\r')
		line--;
	buf[line] = '\0';
	for (size_t i = 0; i < line; i++)
		if (is_control((unsigned char)buf[i]))
			return bad("control character in the request");

	char *arg = strchr(buf, ' ');
	if (arg)
		*arg++ = '\0';
	if (strcmp(buf, "status") == 0)
		return status_request(arg);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(buf, words[i].word) != 0)
			continue;
		if (CONTROL_NAMED(words[i].op) ? !arg || !*arg : arg != NULL)
			break;
		return (struct control_request){ .op = words[i].op, .arg = arg };
	}
	return bad("unknown request");
}

int control_request_format(enum control_op op, const char *name, char *buf,
			   size_t size)
{
	const char *word = NULL;
	int n;

	if (op == CONTROL_STATUS)
		word = "status";
	else if (op == CONTROL_STATUS_ALL)
		word = "status --all";
	else if (op == CONTROL_STATUS_JSON)
		word = "status --json";
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].op == op)
			word = words[i].word;
	if (!word)
		return -EINVAL;
	if (CONTROL_NAMED(op)) {
		if (!name || !*name)
			return -EINVAL;
		for (const char *c = name; *c; c++)
			if (is_control((unsigned char)*c))
				return -EINVAL;
		n = snprintf(buf, size, "%s %s\n", word, name);
	} else {
		n = snprintf(buf, size, "%s\n", word);
	}
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size || n > CONTROL_REQUEST_MAX - 1)
		return -EMSGSIZE;
	return n;
}

struct control_answer control_answer_parse(char *buf, size_t len)
{
	char *nl = memchr(buf, '\n', len);
	size_t head = nl ? (size_t)(nl - buf) : len;
	struct control_answer a = {
		.ok = head == 2 && memcmp(buf, "ok", 2) == 0,
		.message = buf,
		.body = nl ? nl + 1 : buf + len,
		.body_len = nl ? len - head - 1 : 0,
	};

	buf[head] = '\0';
	if (strncmp(buf, "error: ", 7) == 0)
		a.message = buf + 7;
	return a;
}
