/* The cost of a crypt(3) hash, from its parameters (hash_cost.h). The
 * encodings are crypt(5)'s: bcrypt "$2b$NN$", SHA-crypt "$6$rounds=N$",
 * yescrypt "$y$" followed by variable-length base-64 numbers, scrypt
 * "$7$" followed by fixed-length ones. */
#include "hash_cost.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 5)))
static int say(int err, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return err;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* crypt's base-64 alphabet, "./0-9A-Za-z"; 64 for anything else. */
static unsigned int b64(char c)
{
	if (c == '.' || c == '/')
		return (unsigned int)(c - '.');
	if (c >= '0' && c <= '9')
		return (unsigned int)(c - '0') + 2;
	if (c >= 'A' && c <= 'Z')
		return (unsigned int)(c - 'A') + 12;
	if (c >= 'a' && c <= 'z')
		return (unsigned int)(c - 'a') + 38;
	return 64;
}

/* One of yescrypt's variable-length numbers: the first character says
 * how many follow (0-47: none, then ranges that take 1, 2, ... more). */
static const char *yes_number(const char *s, uint32_t min, uint64_t *out)
{
	unsigned int c = b64(*s++), start = 0, end = 47, more = 0, bits = 0;
	uint64_t v = min;

	if (c > 63)
		return NULL;
	while (c > end) {
		v += (uint64_t)(end + 1 - start) << bits;
		start = end + 1;
		end = start + (62 - end) / 2;
		more++;
		bits += 6;
	}
	v += (uint64_t)(c - start) << bits;
	while (more--) {
		c = b64(*s++);
		if (c > 63)
			return NULL;
		bits -= 6;
		v += (uint64_t)c << bits;
	}
	*out = v;
	return s;
}

/* p: the lanes that each go over all of N. */
static int memory_cost(const char *method, uint64_t n_log2, uint64_t r,
		       uint64_t p, uint64_t t, uint64_t g, char *why,
		       size_t size)
{
	if (n_log2 < 1 || n_log2 > 63 || r < 1 || p < 1)
		return say(-EINVAL, why, size, "%s parameters out of range",
			   method);
	uint64_t bytes = mul_sat(mul_sat(mul_sat(128, (uint64_t)1 << n_log2), r),
				 p);
	uint64_t work = mul_sat(bytes, t + 1);
	work = g >= 63 ? UINT64_MAX : mul_sat(work, (uint64_t)1 << g);
	if (work <= HASH_COST_MEMORY_MAX)
		return 0;
	return say(-E2BIG, why, size,
		   "%s cost (N=2^%llu, r=%llu: %llu MiB of work) is above the cap of %llu MiB",
		   method, (unsigned long long)n_log2, (unsigned long long)r,
		   (unsigned long long)(work >> 20),
		   HASH_COST_MEMORY_MAX >> 20);
}

/* "$y$", "$gy$", "$sm3y$": flavor, N's log2, r, then optionally a bit set
 * of which of p, t, g and the ROM's size follow. */
static int yescrypt_cost(const char *method, const char *s, char *why,
			 size_t size)
{
	uint64_t flavor, n_log2, r, have = 0, p = 1, t = 0, g = 0, rom = 0;
	/* Flavors from YESCRYPT_RW (2) up split N among the p lanes; the
	 * classic (scrypt-like) ones run each lane over all of N. */
	const uint64_t yescrypt_rw = 2;

	if (!(s = yes_number(s, 0, &flavor)) ||
	    !(s = yes_number(s, 1, &n_log2)) || !(s = yes_number(s, 1, &r)))
		return say(-EINVAL, why, size, "%s parameters unreadable",
			   method);
	if (*s != '$') {
		if (!(s = yes_number(s, 1, &have)) ||
		    ((have & 1) && !(s = yes_number(s, 2, &p))) ||
		    ((have & 2) && !(s = yes_number(s, 1, &t))) ||
		    ((have & 4) && !(s = yes_number(s, 1, &g))) ||
		    ((have & 8) && !(s = yes_number(s, 1, &rom))))
			return say(-EINVAL, why, size,
				   "%s parameters unreadable", method);
	}
	if (*s != '$')
		return say(-EINVAL, why, size, "%s parameters unreadable",
			   method);
	return memory_cost(method, n_log2, r, flavor >= yescrypt_rw ? 1 : p,
			   t, g, why, size);
}

/* "$7$": N's log2 in one character, r and p in five each. */
static int scrypt_cost(const char *s, char *why, size_t size)
{
	uint64_t n_log2 = b64(s[0]), v[2] = { 0, 0 };

	if (n_log2 > 63)
		return say(-EINVAL, why, size, "scrypt parameters unreadable");
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 5; i++) {
			/* Stops at the NUL, which is no base-64 digit. */
			unsigned int c = b64(s[1 + 5 * k + i]);
			if (c > 63)
				return say(-EINVAL, why, size,
					   "scrypt parameters unreadable");
			v[k] |= (uint64_t)c << (6 * i);
		}
	return memory_cost("scrypt", n_log2, v[0], v[1], 0, 0, why, size);
}

static int bcrypt_cost(const char *s, char *why, size_t size)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != '$')
		return say(-EINVAL, why, size, "bcrypt cost unreadable");
	int cost = (s[0] - '0') * 10 + (s[1] - '0');
	if (cost <= HASH_COST_BCRYPT_MAX)
		return 0;
	return say(-E2BIG, why, size, "bcrypt cost %d is above the cap of %d",
		   cost, HASH_COST_BCRYPT_MAX);
}

/* "$5$" and "$6$": 5000 rounds unless "rounds=N$" says otherwise. */
static int sha_cost(const char *method, const char *s, char *why,
		    size_t size)
{
	if (strncmp(s, "rounds=", 7) != 0)
		return 0;
	s += 7;
	size_t digits = strspn(s, "0123456789");
	if (digits == 0 || s[digits] != '$')
		return say(-EINVAL, why, size, "%s rounds unreadable", method);
	uint64_t rounds = 0;
	for (size_t i = 0; i < digits; i++)
		rounds = mul_sat(rounds, 10) + (uint64_t)(s[i] - '0');
	if (rounds <= HASH_COST_SHA_ROUNDS_MAX)
		return 0;
	return say(-E2BIG, why, size, "%s rounds=%.*s is above the cap of %u",
		   method, (int)(digits > 20 ? 20 : digits), s,
		   HASH_COST_SHA_ROUNDS_MAX);
}

int hash_cost_check(const char *hash, char *why, size_t size)
{
	static const char *const bcrypts[] = { "$2a$", "$2b$", "$2x$", "$2y$" };

	for (size_t i = 0; i < sizeof(bcrypts) / sizeof(bcrypts[0]); i++)
		if (strncmp(hash, bcrypts[i], 4) == 0)
			return bcrypt_cost(hash + 4, why, size);
	if (strncmp(hash, "$6$", 3) == 0)
		return sha_cost("sha512crypt", hash + 3, why, size);
	if (strncmp(hash, "$5$", 3) == 0)
		return sha_cost("sha256crypt", hash + 3, why, size);
	if (strncmp(hash, "$y$", 3) == 0)
		return yescrypt_cost("yescrypt", hash + 3, why, size);
	if (strncmp(hash, "$gy$", 4) == 0)
		return yescrypt_cost("gost-yescrypt", hash + 4, why, size);
	if (strncmp(hash, "$sm3y$", 6) == 0)
		return yescrypt_cost("sm3-yescrypt", hash + 6, why, size);
	if (strncmp(hash, "$7$", 3) == 0)
		return scrypt_cost(hash + 3, why, size);
	return say(-EINVAL, why, size,
		   "culvert cannot tell what checking this kind of hash costs");
}
