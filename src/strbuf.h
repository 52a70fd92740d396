/* A growing string, for answers whose size is not known up front. */
#ifndef CULVERT_STRBUF_H
#define CULVERT_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;	/* NUL-terminated once anything was added */
	size_t len, cap;
};

/* Append; on allocation failure the text is cut short, never corrupt. */
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append len bytes, NUL bytes included (then buf is not a C string). */
void strbuf_append(struct strbuf *sb, const void *data, size_t len);
/* Append s as a JSON string, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);

#endif
