/*
 * The transports culvertd hosts: each plugin loaded and checked, the
 * instance created of it, and the host table handed to every plugin (the
 * loop, the config, and the upcalls, bound to that plugin's struct
 * cv_host). An upcall goes where the daemon pointed its cv_host: links
 * to the server or the client's connection, data to the datapath.
 */
#ifndef CULVERT_PLUGIN_HOST_H
#define CULVERT_PLUGIN_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "config.h"
#include "plugin.h"

struct core;
struct datapath;

/* One loaded transport and the instance the core created of it. The
 * cv_host handed to the plugin is this struct. A client may hold a
 * second instance of a transport for a while, a spare, in a cv_host of
 * its own (the plugin's handle shared with the first). */
struct cv_host {
	struct core *core;
	/* The event loop it runs on, and its index (shard.h): core->loop
	 * and 0 but for the copies a gateway of several loops makes. */
	struct loop *loop;
	unsigned int loop_index;
	/* A copy on another loop: the instance of ts it copies (whose
	 * owner, upcalls and totals it shares), and the next copy of it. */
	struct cv_host *origin;
	struct cv_host *next_copy;
	char loops[12];			/* what the plugin reads as threads */
	struct plugin plugin;		/* unloaded with transports' own only */
	const struct cv_transport *t;	/* plugin.transport */
	struct cv_instance *inst;
	/* Client of a cluster: the gateway this instance connects to, what
	 * the plugin reads as 'remote' (gateways.c); "": the config's. */
	char remote[300];

	/* Where its upcalls go, set once the daemon's role is set up. */
	struct datapath *datapath;	/* deliver() */
	void *owner;			/* the server, or the client's connection */
	/* A link came up: its session, or NULL to refuse it. shell: the
	 * session another loop made for it (session_shell), for the
	 * owner to open; NULL on loop 0, where the owner makes one. */
	struct cv_session *(*link_up)(void *owner, struct cv_host *h,
				      struct cv_link *link,
				      const struct cv_link_info *info,
				      struct cv_session *shell);
	/* A client's connect() ended without a link (NULL on a server);
	 * err as the plugin's link_down() said. */
	void (*connect_failed)(void *owner, struct cv_host *h, int err);
	/* Server: the token of a stateless reset to peer (NULL on a
	 * client: the host table then says -ENOTSUP). Called on h's own
	 * loop: a stranger's records must not make a loop wait for loop 0. */
	int (*reset_token)(void *owner, struct cv_host *h,
			   const struct sockaddr *peer, socklen_t peer_len,
			   uint8_t *token);

	/* What the sessions over it carried, those that ended: with the
	 * live ones', each transport's totals in the metrics. */
	uint64_t ended_rx_packets, ended_rx_bytes;
	uint64_t ended_tx_packets, ended_tx_bytes;
};

/* The transports named in 'transport', in that order. */
struct transports {
	bool ready;			/* libltdl initialised */
	unsigned int n;
	struct cv_host *host[CONFIG_MAX_TRANSPORTS];
	/* Spares under way (transport_spare_new), and instances retired
	 * (a spare given up, or one a spare replaced), destroyed at the
	 * loop's next turn: never inside an upcall of their own. */
	struct cv_host *spares[CONFIG_MAX_TRANSPORTS];
	struct cv_host *retired[2 * CONFIG_MAX_TRANSPORTS];
	unsigned int n_retired;
	struct loop_timer *reaper;
};

/* What the plugin of h reads as key (its section's value, else the
 * global one; for a client of a cluster, 'remote' is the gateway h
 * connects to). */
const char *transport_config_get(const struct cv_host *h, const char *key);

/* Load every transport of core's config, check it (its ABI, its
 * section's keys, insecure = yes for one that is not secure), and create
 * its instance, which reads its config but opens nothing. Returns 0 or a
 * negative errno, logged; transports_unload cleans up either way. */
int transports_load(struct transports *ts, struct core *core);
void transports_unload(struct transports *ts);
/* Say loudly that each insecure transport is one. */
void transports_warn_insecure(const struct transports *ts);
/* The ABI has no way to cancel a connect(): a fresh instance abandons
 * it, since destroy() closes every socket of the old one. */
void transport_restart(struct cv_host *h);

/*
 * Spares: a client's new connect() beside the link it holds, which a
 * plugin cannot make on the instance of that link (connect() there
 * would abandon it), so on a second instance of transport i. Upcalls of
 * the spare go where the first's go. NULL when there is one already for
 * i, or create() fails (logged). remote: the gateway it connects to
 * (NULL: the one of transport i's instance).
 */
struct cv_host *transport_spare_new(struct transports *ts, unsigned int i,
				    const char *remote);
/* The spare's session is up: the spare becomes transport i's instance,
 * and the one it replaces is destroyed at the loop's next turn. */
void transport_spare_promote(struct transports *ts, struct cv_host *spare);
/* The spare is given up: destroyed at the loop's next turn. */
void transport_spare_drop(struct transports *ts, struct cv_host *spare);
/* Which of ts's transports h is an instance of (its own or a spare). */
unsigned int transport_index(const struct transports *ts,
			     const struct cv_host *h);

/* Copies on other loops (shard.h): an instance of origin's transport
 * on loop (index), delivering to datapath, its upcalls where origin's
 * go. 0 or a negative errno, logged. */
int transport_copy_new(struct cv_host *origin, struct loop *loop,
		       unsigned int index, struct datapath *datapath,
		       struct cv_host **out);
/* Its instance destroyed: its loop has stopped. */
void transport_copy_free(struct cv_host *copy);
/* The counters of transport h and its copies, added up by name, each
 * name once: emit as a plugin's stats(). */
void transport_stats(const struct cv_host *h,
		     void (*emit)(void *arg, const char *name, uint64_t value),
		     void *arg);

extern const struct cv_host_api host_api;

#endif
