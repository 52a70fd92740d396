/*
 * Password checks: the password file (user:crypt-hash lines, hashed by
 * libxcrypt, with the user's group as an optional third field), then PAM
 * for users the file does not list.
 *
 * auth_check() blocks: a yescrypt check costs tens of milliseconds, and
 * a PAM stack may ask a remote server.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef HAVE_PAM
#include <security/pam_appl.h>
#endif

#include "hash_cost.h"
#include "log.h"
#include "secret_mode.h"
#include "user_name.h"

/* Checked instead of a real hash when there is none to check (unknown,
 * locked, malformed), so that the time an answer takes does not tell
 * which user names exist. yescrypt at the cost crypt_gensalt() picks by
 * default, like the hashes culvertctl passwd writes. */
#define DUMMY_HASH "$y$j9T$ysCbOY5Tf1FkAQik3gZDi.$" \
		   "i5i0Q.oxE3m.O6PCwElhJerbQSSXnUkHO8GhPu7aJZ5"

enum hash_state {
	HASH_USABLE,
	HASH_LOCKED,
	HASH_BAD,
};

struct auth_user {
	char *name;
	char *hash;
	char *group;		/* NULL: none given */
	enum hash_state state;
	unsigned int line;
};

struct auth {
	char *path;			/* NULL without a password file */
	struct auth_user *users;	/* sorted by name */
	size_t n_users;
	char *pam_service;
	char *pam_confdir;
};

const char *auth_result_str(enum auth_result result)
{
	switch (result) {
	case AUTH_OK:
		return "ok";
	case AUTH_UNKNOWN_USER:
		return "unknown user";
	case AUTH_WRONG_PASSWORD:
		return "wrong password";
	case AUTH_LOCKED:
		return "locked user";
	case AUTH_BAD_HASH:
		return "malformed hash";
	case AUTH_ERROR:
		break;
	}
	return "system error";
}

/* ---- the password file */

struct loader {
	const char *path;
	unsigned int line;
	unsigned int errors;
	struct auth_user *users;
	size_t n, cap;
};

static void load_error(struct loader *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void load_error(struct loader *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_verr_at(l->path, l->line, fmt, ap);
	va_end(ap);
	l->errors++;
}

/* A name that failed user_name_valid, made safe to log: a line of the
 * file may hold anything, control characters included. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static void bad_user(struct loader *l, const char *name)
{
	char shown[USER_NAME_MAX + 1];

	if (!*name)
		load_error(l, "no user name before ':'");
	else if (strlen(name) > USER_NAME_MAX)
		load_error(l, "user name '%s...' is longer than %d characters",
			   printable(name, shown, sizeof(shown)), USER_NAME_MAX);
	else
		load_error(l, "'%s' is not a user name (letters, digits and . _ @ + - only)",
			   printable(name, shown, sizeof(shown)));
}

/* costly: set to why a hash that is fine otherwise is refused. */
static enum hash_state hash_state(const char *hash, char *costly,
				  size_t size)
{
	costly[0] = '\0';
	/* The convention of shadow(5): passwd -l puts a '!' in front. */
	if (hash[0] == '!' || hash[0] == '*')
		return HASH_LOCKED;
	/* Unknown, too weak (DES, MD5, SHA-256) or broken: refuse rather
	 * than compare against something crypt cannot reproduce. */
	if (crypt_checksalt(hash) != CRYPT_SALT_OK)
		return HASH_BAD;
	/* One check of an absurd cost would hold the auth worker, and
	 * every login queued behind it, for minutes. */
	if (hash_cost_check(hash, costly, size) < 0)
		return HASH_BAD;
	return HASH_USABLE;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	/* crypt(5) hashes never hold white space. */
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
			 s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int load_line(struct loader *l, char *line)
{
	chomp(line);
	const char *text = line + strspn(line, " \t");
	if (!*text || *text == '#')
		return 0;

	char *colon = strchr(line, ':');
	if (!colon) {
		load_error(l, "expected USER:HASH, found no ':'");
		return 0;
	}
	*colon = '\0';
	const char *name = line, *hash = colon + 1, *group = NULL;
	if (!user_name_valid(name)) {
		bad_user(l, name);
		return 0;
	}
	/* USER:HASH:GROUP. No crypt(5) hash holds a ':'; a line with more
	 * fields (shadow(5)'s) keeps them in its hash, which then never
	 * matches, as before groups. */
	char *second = strchr(hash, ':');
	if (second && !strchr(second + 1, ':')) {
		*second = '\0';
		group = second + 1;
		if (!*group) {
			group = NULL;
		} else if (!group_name_valid(group)) {
			char shown[USER_NAME_MAX + 1];
			load_error(l, "user '%s': group '%s' is not a group name (letters, digits, '.', '_', '-', not starting with '.')",
				   name, printable(group, shown, sizeof(shown)));
			return 0;
		}
	}

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct auth_user *users = reallocarray(l->users, cap,
						       sizeof(*users));
		if (!users)
			return -ENOMEM;
		l->users = users;
		l->cap = cap;
	}
	struct auth_user *u = &l->users[l->n];
	u->name = strdup(name);
	u->hash = strdup(hash);
	u->group = group ? strdup(group) : NULL;
	u->line = l->line;
	char costly[160];
	u->state = hash_state(hash, costly, sizeof(costly));
	if (!u->name || !u->hash || (group && !u->group)) {
		free(u->name);
		free(u->hash);
		free(u->group);
		return -ENOMEM;
	}
	l->n++;
	if (u->state == HASH_BAD && costly[0])
		log_warn("%s:%u: user '%s': %s; it can never log in",
			 l->path, l->line, name, costly);
	else if (u->state == HASH_BAD)
		log_warn("%s:%u: user '%s' has a malformed or unsupported hash; it can never log in",
			 l->path, l->line, name);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	const struct auth_user *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int by_name_then_line(const void *a, const void *b)
{
	const struct auth_user *x = a, *y = b;
	int c = by_name(a, b);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts the users by name, and reports every name that appears twice. */
static void find_duplicates(struct loader *l)
{
	if (l->n > 1)
		qsort(l->users, l->n, sizeof(*l->users),
		      by_name_then_line);
	for (size_t i = 1, first = 0; i < l->n; i++) {
		if (strcmp(l->users[i].name, l->users[first].name) != 0) {
			first = i;
			continue;
		}
		l->line = l->users[i].line;
		load_error(l, "user '%s' appears twice (first on line %u)",
			   l->users[i].name, l->users[first].line);
	}
}

static void free_users(struct auth_user *users, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(users[i].name);
		free(users[i].group);
		/* Not the password, but what a guesser works from. */
		explicit_bzero(users[i].hash, strlen(users[i].hash));
		free(users[i].hash);
	}
	free(users);
}

static int load_file(struct auth *auth, const char *path)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		int err = -errno;
		log_err("cannot read password file %s: %s", path, strerror(errno));
		return err;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("password file %s is not a regular file", path);
		fclose(f);
		return -EINVAL;
	}
	char why[96];
	if (secret_mode_problem(st.st_mode, why, sizeof(why)))
		log_warn("password file %s %s", path, why);

	struct loader l = { .path = path };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int err = 0;
	while (err == 0 && (len = getline(&line, &cap, f)) > 0) {
		l.line++;
		if (strlen(line) != (size_t)len) {
			load_error(&l, "the line holds a NUL byte");
			continue;
		}
		err = load_line(&l, line);
	}
	if (err == 0 && ferror(f)) {
		err = -EIO;
		log_err("cannot read password file %s: %s", path, strerror(EIO));
	}
	if (line)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
	if (err == -ENOMEM)
		log_err("%s: out of memory", path);
	if (err == 0)
		find_duplicates(&l);
	if (err == 0 && l.errors)
		err = -EINVAL;
	if (err < 0) {
		free_users(l.users, l.n);
		return err;
	}
	auth->users = l.users;
	auth->n_users = l.n;
	return 0;
}

/* ---- checking */

/* Whether two hashes are equal, in a time that does not depend on where
 * they first differ. Their lengths are no secret: the method sets them. */
static bool equal_hashes(const char *a, const char *b)
{
	size_t n = strlen(a);

	if (n != strlen(b))
		return false;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* 1 when password hashes to hash, 0 when not, or a negative errno:
 * -EINVAL when crypt cannot use hash. */
static int verify(const char *hash, const char *password)
{
	/* About 32 KiB: too big for a daemon's stack. */
	struct crypt_data *data = calloc(1, sizeof(*data));
	int ret;

	if (!data)
		return -ENOMEM;
	errno = 0;
	const char *out = crypt_rn(password, hash, data, (int)sizeof(*data));
	if (out)
		ret = equal_hashes(out, hash);
	else if (errno == ERANGE)	/* longer than any password crypt takes */
		ret = 0;
	else
		ret = errno ? -errno : -EINVAL;
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

static const struct auth_user *find_user(const struct auth *auth,
					 const char *name)
{
	struct auth_user key = { .name = (char *)name };

	if (!auth->n_users)
		return NULL;
	return bsearch(&key, auth->users, auth->n_users, sizeof(key), by_name);
}

const char *auth_user_group(const struct auth *auth, const char *user)
{
	const struct auth_user *u = auth && user_name_valid(user)
					    ? find_user(auth, user) : NULL;

	return u ? u->group : NULL;
}

#ifdef HAVE_PAM
/* PAM asks for the password through this; it frees what we answer. */
static int converse(int n, const struct pam_message **msg,
		    struct pam_response **resp, void *arg)
{
	const char *password = arg;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(password);
			if (!r[i].resp)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			log_debug("PAM: %s", msg[i]->msg);
			break;
		default:
			/* A visible question (a one-time code?): the client
			 * sent a password and nothing else. */
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++) {
		if (r[i].resp) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* pam_unix and others sleep seconds after a failure, which would stop
 * the whole daemon; throttle.c is the delay instead. */
static void no_delay(int status, unsigned int usec, void *arg)
{
}

static enum auth_result pam_check(const struct auth *auth, const char *user,
				  const char *password)
{
	struct pam_conv conv = { converse, (void *)password };
	pam_handle_t *pamh = NULL;
	int ret;

#ifdef HAVE_PAM_START_CONFDIR
	if (auth->pam_confdir)
		ret = pam_start_confdir(auth->pam_service, user, &conv,
					auth->pam_confdir, &pamh);
	else
#endif
		ret = pam_start(auth->pam_service, user, &conv, &pamh);
	if (ret != PAM_SUCCESS) {
		log_err("PAM service '%s': cannot start: %s", auth->pam_service,
			pam_strerror(pamh, ret));
		return AUTH_ERROR;
	}
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)no_delay);
	ret = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (ret == PAM_SUCCESS)
		ret = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);

	enum auth_result result;
	switch (ret) {
	case PAM_SUCCESS:
		result = AUTH_OK;
		break;
	case PAM_USER_UNKNOWN:
		result = AUTH_UNKNOWN_USER;
		break;
	case PAM_AUTH_ERR:
		result = AUTH_WRONG_PASSWORD;
		break;
	default:
		/* Expired, locked, a module that failed: say which, since
		 * "system error" alone would leave the admin guessing. */
		log_notice("PAM service '%s', user '%s': %s", auth->pam_service,
			   user, pam_strerror(pamh, ret));
		result = AUTH_ERROR;
		break;
	}
	pam_end(pamh, ret);
	return result;
}
#endif

enum auth_result auth_check(struct auth *auth, const char *user,
			    const char *password)
{
	if (!user || !password)
		return AUTH_ERROR;
	/* A name the file could not hold is not looked up anywhere: it
	 * might be anything, control characters included. */
	bool valid = user_name_valid(user);
	const struct auth_user *u = valid ? find_user(auth, user) : NULL;

	if (u && u->state == HASH_USABLE) {
		int ret = verify(u->hash, password);
		if (ret == 1)
			return AUTH_OK;
		if (ret == 0)
			return AUTH_WRONG_PASSWORD;
		if (ret == -EINVAL) {
			log_warn("%s:%u: user '%s' has a malformed or unsupported hash; it can never log in",
				 auth->path, u->line, u->name);
			return AUTH_BAD_HASH;
		}
		log_err("cannot check the password of user '%s': %s", user,
			strerror(-ret));
		return AUTH_ERROR;
	}
#ifdef HAVE_PAM
	if (!u && valid && auth->pam_service)
		return pam_check(auth, user, password);
#endif
	verify(DUMMY_HASH, password);
	if (!u)
		return AUTH_UNKNOWN_USER;
	return u->state == HASH_LOCKED ? AUTH_LOCKED : AUTH_BAD_HASH;
}

/* ---- life cycle */

int auth_new(const char *password_file, const char *pam_service,
	     struct auth **out)
{
	*out = NULL;
#ifndef HAVE_PAM
	if (pam_service) {
		log_err("pam-service '%s' is set, but culvert was built without PAM (configure --enable-pam)",
			pam_service);
		return -ENOTSUP;
	}
#endif
	struct auth *auth = calloc(1, sizeof(*auth));
	if (!auth)
		return -ENOMEM;
	if ((password_file && !(auth->path = strdup(password_file))) ||
	    (pam_service && !(auth->pam_service = strdup(pam_service)))) {
		auth_free(auth);
		return -ENOMEM;
	}
	if (password_file) {
		int err = load_file(auth, password_file);
		if (err < 0) {
			auth_free(auth);
			return err;
		}
	}
	*out = auth;
	return 0;
}

int auth_set_pam_confdir(struct auth *auth, const char *dir)
{
#if defined(HAVE_PAM) && defined(HAVE_PAM_START_CONFDIR)
	char *copy = strdup(dir);

	if (!copy)
		return -ENOMEM;
	free(auth->pam_confdir);
	auth->pam_confdir = copy;
	return 0;
#else
	return -ENOTSUP;
#endif
}

void auth_free(struct auth *auth)
{
	if (!auth)
		return;
	free_users(auth->users, auth->n_users);
	free(auth->path);
	free(auth->pam_service);
	free(auth->pam_confdir);
	free(auth);
}
