#include "user_name.h"

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

bool group_name_valid(const char *name)
{
	if (!name || name[0] == '.')
		return false;
	size_t n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789._-");
	return n >= 1 && n <= USER_NAME_MAX && name[n] == '\0';
}
