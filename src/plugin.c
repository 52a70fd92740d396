#include "plugin.h"

#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* The version-1 table ends with destroy: a plugin must be at least that
 * large; a larger one comes from a newer minor revision and is fine. */
#define TRANSPORT_V1_SIZE \
	(offsetof(struct cv_transport, destroy) + sizeof(void (*)(void)))

int plugin_system_init(void)
{
	if (lt_dlinit() != 0) {
		log_err("cannot initialise libltdl: %s", lt_dlerror());
		return -EIO;
	}
	return 0;
}

void plugin_system_exit(void)
{
	lt_dlexit();
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls > lx && strcmp(s + ls - lx, suffix) == 0;
}

void plugin_list(const char *dir, char *buf, size_t size)
{
	DIR *d = opendir(dir);
	size_t used = 0;

	buf[0] = '\0';
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			/* A built tree has name.la; an installed package may
			 * ship only name.so. List each name once. */
			const char *ext = has_suffix(e->d_name, ".la") ? ".la"
					  : has_suffix(e->d_name, ".so") ? ".so"
									 : NULL;
			if (!ext)
				continue;
			int len = (int)(strlen(e->d_name) - strlen(ext));
			char name[256];
			snprintf(name, sizeof(name), "%.*s", len, e->d_name);
			char other[300];
			snprintf(other, sizeof(other), "%s/%s%s", dir, name,
				 strcmp(ext, ".so") == 0 ? ".la" : "");
			if (strcmp(ext, ".so") == 0 && access(other, F_OK) == 0)
				continue;
			int n = snprintf(buf + used, size - used, "%s%s",
					 used ? ", " : "", name);
			if (n < 0 || (size_t)n >= size - used)
				break;
			used += (size_t)n;
		}
		closedir(d);
	}
	if (used == 0)
		snprintf(buf, size, "none");
}

static int check_table(const struct plugin *p, const char *name)
{
	const struct cv_transport *t = p->transport;

	if (t->abi_version != CULVERT_TRANSPORT_ABI) {
		log_err("plugin %s is built for transport ABI version %u, but this culvertd speaks version %u: rebuild it against this culvert's <culvert/transport.h>",
			p->path, t->abi_version, CULVERT_TRANSPORT_ABI);
		return -EPROTO;
	}
	if (t->size < TRANSPORT_V1_SIZE) {
		log_err("plugin %s has a transport table of %u bytes, smaller than ABI version %u's %zu: it is damaged or built from a wrong header",
			p->path, t->size, CULVERT_TRANSPORT_ABI,
			TRANSPORT_V1_SIZE);
		return -EPROTO;
	}
	if (!t->name || strcmp(t->name, name) != 0) {
		log_err("plugin %s calls itself '%s', not '%s'", p->path,
			t->name ? t->name : "(no name)", name);
		return -EPROTO;
	}
	const char *unset = !t->create ? "create" : !t->listen ? "listen"
			    : !t->connect ? "connect" : !t->send ? "send"
			    : !t->close ? "close" : !t->destroy ? "destroy" : NULL;
	if (unset) {
		log_err("plugin %s leaves the required callback '%s' unset (NULL) in its table: every plugin must set create, listen, connect, send, close and destroy",
			p->path, unset);
		return -EPROTO;
	}
	return 0;
}

int plugin_load(const char *dir, const char *name, struct plugin *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s/%s", dir, name);

	lt_dlhandle h = lt_dlopenext(p->path);
	if (!h) {
		char la[4200], so[4200];
		snprintf(la, sizeof(la), "%s.la", p->path);
		snprintf(so, sizeof(so), "%s.so", p->path);
		if (access(la, F_OK) != 0 && access(so, F_OK) != 0) {
			char found[512];
			plugin_list(dir, found, sizeof(found));
			log_err("unknown transport '%s': no plugin %s.so in %s (plugins found there: %s)",
				name, name, dir, found);
			return -ENOENT;
		}
		log_err("cannot load plugin %s: %s (the most common cause is a missing library: check it with ldd(1))",
			p->path, lt_dlerror());
		return -ELIBBAD;
	}
	p->handle = h;
	p->transport = lt_dlsym(h, CULVERT_TRANSPORT_SYMBOL);
	if (!p->transport) {
		log_err("%s is not a culvert transport plugin: it exports no '%s'",
			p->path, CULVERT_TRANSPORT_SYMBOL);
		plugin_unload(p);
		return -ELIBBAD;
	}
	int err = check_table(p, name);
	if (err < 0) {
		plugin_unload(p);
		return err;
	}
	return 0;
}

void plugin_unload(struct plugin *p)
{
	if (p->handle)
		lt_dlclose(p->handle);
	p->handle = NULL;
	p->transport = NULL;
}
