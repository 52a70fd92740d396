#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void strbuf_append(struct strbuf *sb, const void *data, size_t len)
{
	if (reserve(sb, len) < 0)
		return;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

/* The length of the valid UTF-8 sequence at s (RFC 3629: shortest form,
 * no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned int c = s[0];
	size_t n;
	unsigned int min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80, c &= 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800, c &= 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000, c &= 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* the NUL at the end too */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void strbuf_json_string(struct strbuf *sb, const char *s)
{
	strbuf_printf(sb, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		size_t n = utf8_len(c);
		if (*c == '"' || *c == '\\')
			strbuf_printf(sb, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			strbuf_printf(sb, "\\u%04x", *c);
		else if (n)
			strbuf_append(sb, c, n);
		else	/* JSON is UTF-8: a stray byte becomes U+FFFD */
			strbuf_printf(sb, "\\ufffd");
		c += n ? n : 1;
	}
	strbuf_printf(sb, "\"");
}
