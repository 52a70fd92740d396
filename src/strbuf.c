#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int reserve(struct strbuf *sb, size_t more)
{
	if (sb->len + more + 1 <= sb->cap)
		return 0;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + more + 1)
		cap *= 2;
	char *buf = realloc(sb->buf, cap);
	if (!buf)
		return -1;
	sb->buf = buf;
	sb->cap = cap;
	return 0;
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(sb, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

void strbuf_json_string(struct strbuf *sb, const char *s)
{
	strbuf_printf(sb, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			strbuf_printf(sb, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			strbuf_printf(sb, "\\u%04x", *c);
		else
			strbuf_printf(sb, "%c", *c);
	}
	strbuf_printf(sb, "\"");
}
