/*
 * libFuzzer harness: the control socket (src/control_request.c), both
 * ways, and the JSON strings of `status --json` (src/strbuf.c). The
 * first byte picks what the rest is:
 *
 *   0  a request as culvertd reads it (one read of at most 511 bytes);
 *   1  an answer as culvertctl reads it;
 *   2  a string that status --json writes out (a user name from a hello,
 *      a certificate's common name).
 *
 * Beyond "does not crash": a parsed request formats to a line that
 * parses to the same request (and a kick names the same session); the
 * parts of an answer lie inside what was read, and what the daemon
 * writes parses back to what it meant; a JSON string is valid JSON (and
 * valid UTF-8) that decodes to the name it came from whenever that name
 * was valid UTF-8.
 */
#include <errno.h>
#include <string.h>

#ifdef HAVE_JANSSON
#include <jansson.h>
#endif

#include "control_request.h"
#include "fuzz.h"
#include "strbuf.h"

/* A heap copy of exactly len bytes and a NUL, so ASan sees a read past. */
static char *copy(const uint8_t *data, size_t len)
{
	char *p = malloc(len + 1);

	fuzz_assert(p, "out of memory");
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* format(op, name) parses back to op and name. */
static void round_trip(enum control_op op, const char *name)
{
	char line[CONTROL_REQUEST_MAX];
	int n = control_request_format(op, name, line, sizeof(line));

	if (CONTROL_NAMED(op) && (!*name || has_control(name))) {
		fuzz_assert(n == -EINVAL, "'%s' formatted: %d", name, n);
		return;
	}
	if (n == -EMSGSIZE) {
		fuzz_assert(CONTROL_NAMED(op) && strlen(name) > CONTROL_REQUEST_MAX - 12,
			    "a name of %zu bytes refused", strlen(name));
		return;
	}
	fuzz_assert(n > 0 && n < CONTROL_REQUEST_MAX && line[n - 1] == '\n' &&
			    strlen(line) == (size_t)n,
		    "format gave %d", n);
	char *again = copy((const uint8_t *)line, (size_t)n);
	struct control_request r = control_request_parse(again, (size_t)n);
	fuzz_assert(r.op == op, "op %d formatted, %d parsed (%s)", op, r.op,
		    r.why ? r.why : "");
	if (CONTROL_NAMED(op))
		fuzz_assert(strcmp(r.arg, name) == 0, "'%s' came back '%s'",
			    name, r.arg);
	free(again);
}

static void request(const uint8_t *data, size_t size)
{
	if (size > CONTROL_REQUEST_MAX - 1)
		size = CONTROL_REQUEST_MAX - 1;	/* what one read takes */
	char *buf = copy(data, size);
	struct control_request r = control_request_parse(buf, size);

	switch (r.op) {
	case CONTROL_BAD:
		fuzz_assert(r.why && *r.why && strlen(r.why) < 60, "why");
		break;
	case CONTROL_KICK:
	case CONTROL_SHOW:
	case CONTROL_SHOW_JSON:
		fuzz_assert(r.arg > buf && r.arg < buf + size && *r.arg &&
				    !has_control(r.arg),
			    "the session's name");
		fuzz_assert(memchr(data, '\n', size) ||
				    size < CONTROL_REQUEST_MAX - 1,
			    "took a request cut short by the read");
		round_trip(r.op, r.arg);
		break;
	case CONTROL_STATUS:
	case CONTROL_STATUS_ALL:
	case CONTROL_STATUS_JSON:
	case CONTROL_METRICS:
	case CONTROL_RELOAD:
	case CONTROL_DRAIN:
	case CONTROL_UNDRAIN:
		round_trip(r.op, NULL);
		break;
	}
	free(buf);

	/* The same bytes as a name for culvertctl kick NAME and show. */
	char *name = copy(data, strnlen((const char *)data, size));
	round_trip(CONTROL_KICK, name);
	round_trip(CONTROL_SHOW_JSON, name);
	free(name);
}

static void answer(const uint8_t *data, size_t size)
{
	char *buf = copy(data, size);
	struct control_answer a = control_answer_parse(buf, size);

	fuzz_assert(a.body >= buf && a.body + a.body_len == buf + size,
		    "body outside the answer");
	fuzz_assert(a.message >= buf && a.message <= buf + size &&
			    !strchr(a.message, '\n'),
		    "message");
	fuzz_assert(a.ok == (size >= 2 && memcmp(data, "ok", 2) == 0 &&
			     (size == 2 || data[2] == '\n')),
		    "ok is %d", a.ok);
	if (a.body_len)
		fuzz_assert(memcmp(a.body, data + size - a.body_len,
				   a.body_len) == 0, "body bytes");
	free(buf);

	/* What control.c's answer() writes: the status line, "\n", the
	 * body. The input up to its first newline is the status. */
	const uint8_t *nl = memchr(data, '\n', size);
	size_t head = nl ? (size_t)(nl - data) : size;
	if (memchr(data, '\0', head))
		return;	/* the daemon's status lines are C strings */
	struct strbuf out = { 0 };
	strbuf_append(&out, data, head);
	strbuf_append(&out, "\n", 1);
	if (nl)
		strbuf_append(&out, nl + 1, size - head - 1);
	fuzz_assert(out.buf, "out of memory");
	size_t len = out.len;
	a = control_answer_parse(out.buf, len);
	fuzz_assert(a.body_len == (nl ? size - head - 1 : 0) &&
			    memcmp(a.body, nl ? nl + 1 : data, a.body_len) == 0,
		    "the body came back different");
	fuzz_assert(strlen(a.message) <= head, "status line");
	free(out.buf);
}

/* Whether s is valid UTF-8, as RFC 3629 has it, decoded the slow way. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned int c = s[i], n, cp;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 2, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 3, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 4, cp = c & 0x07;
		else
			return false;
		if (i + n > len)
			return false;
		for (unsigned int k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const unsigned int min[] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n;
	}
	return true;
}

static void status_string(const uint8_t *data, size_t size)
{
	char *s = copy(data, strnlen((const char *)data, size));
	struct strbuf out = { 0 };

	strbuf_json_string(&out, s);
	fuzz_assert(out.buf && out.len >= 2 && out.buf[0] == '"' &&
			    out.buf[out.len - 1] == '"',
		    "not a quoted string");
	fuzz_assert(valid_utf8((const unsigned char *)out.buf, out.len),
		    "JSON output is not UTF-8");
	for (size_t i = 0; i < out.len; i++)
		fuzz_assert((unsigned char)out.buf[i] >= 0x20 &&
				    out.buf[i] != 0x7f,
			    "raw control byte 0x%02x in JSON",
			    (unsigned char)out.buf[i]);
#ifdef HAVE_JANSSON
	json_error_t err;
	json_t *j = json_loadb(out.buf, out.len, JSON_DECODE_ANY, &err);
	fuzz_assert(j && json_is_string(j), "not JSON: %s", err.text);
	if (valid_utf8((const unsigned char *)s, strlen(s)))
		fuzz_assert(json_string_length(j) == strlen(s) &&
				    memcmp(json_string_value(j), s, strlen(s)) == 0,
			    "the string came back different");
	json_decref(j);
#endif
	free(out.buf);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 0:
		request(data + 1, size - 1);
		break;
	case 1:
		answer(data + 1, size - 1);
		break;
	case 2:
		status_string(data + 1, size - 1);
		break;
	}
	return 0;
}
