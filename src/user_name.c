#include "user_name.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define USER_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789._@+-"

bool user_name_valid(const char *name)
{
	if (!name)
		return false;
	size_t n = strspn(name, USER_NAME_CHARS);
	return n >= 1 && n <= USER_NAME_MAX && name[n] == '\0';
}

/* The length of the well-formed UTF-8 sequence of one character beyond
 * ASCII at p (not a C1 control, a surrogate, an overlong form or past
 * U+10FFFF), or 0. */
static size_t utf8_letter(const unsigned char *p)
{
	uint32_t c;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		c = p[0] & 0x1f;
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		c = p[0] & 0x0f;
		n = 3;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		c = p[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
	    c < 0xa0)
		return 0;
	return n;
}

bool identity_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > IDENTITY_MAX || p[0] == ' ' || p[len - 1] == ' ')
		return false;
	while (*p) {
		if (*p < 0x80) {
			if (!strchr(USER_NAME_CHARS ",= ", *p))
				return false;
			p++;
			continue;
		}
		size_t n = utf8_letter(p);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

bool group_name_valid(const char *name)
{
	if (!name || name[0] == '.')
		return false;
	size_t n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789._-");
	return n >= 1 && n <= USER_NAME_MAX && name[n] == '\0';
}
