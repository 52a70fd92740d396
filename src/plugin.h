/* Loading transport plugins through libltdl: find by name in the plugin
 * directory, look up the one exported table, check its ABI version. */
#ifndef CULVERT_PLUGIN_H
#define CULVERT_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include <culvert/transport.h>

/* Whether transport table t has the optional entry member: its size
 * covers it (an older plugin's table ends before) and it is set. */
#define TRANSPORT_HAS(t, member) \
	((t)->size >= offsetof(struct cv_transport, member) + \
			      sizeof((t)->member) && \
	 (t)->member != NULL)

struct plugin {
	void *handle;			/* lt_dlhandle */
	const struct cv_transport *transport;
	char path[4096];		/* what was loaded, for messages */
};

int plugin_system_init(void);
void plugin_system_exit(void);

/* Load plugin name from dir. Returns 0 or a negative errno after logging
 * a line that names the path tried and what to do. */
int plugin_load(const char *dir, const char *name, struct plugin *out);
void plugin_unload(struct plugin *plugin);

/* The names of the plugins in dir, ", "-separated ("none" if empty). */
void plugin_list(const char *dir, char *buf, size_t size);

#endif
