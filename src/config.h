/*
 * The configuration file: `key = value` lines, `#` comments, and a [NAME]
 * section per transport plugin. One table of keys (config_keys.c) drives
 * the parser, the defaults, --help and the documentation test; every error
 * names the file and line.
 */
#ifndef CULVERT_CONFIG_H
#define CULVERT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <culvert/transport.h>

#include "addr.h"

#define CONFIG_MAX_TRANSPORTS 4
/* Event loops of a gateway (threads): beyond that many cores, one
 * gateway's control loop, not its data path, is what limits it. */
#define CONFIG_MAX_THREADS 64
#define CONFIG_MAX_THREADS_TEXT "64"
#define CONFIG_MAX_ROUTES 64
/* Gateways one client may name in 'remote'. */
#define CONFIG_MAX_REMOTES 16
#define CONFIG_NAME_MAX 32
#define CONFIG_MAX_KEYS 128
#define CONFIG_MAX_DNS 8
#define CONFIG_DOMAIN_MAX 253	/* longest DNS name, in text */
#define CONFIG_MAX_ADDRESSES 8	/* a TAP client's static addresses */
/* max-macs: the most a session may learn (the MACs it shows first). */
#define CONFIG_MAX_MACS 64
#define CONFIG_MAX_RADIUS 4	/* RADIUS servers of one kind */

enum config_mode { MODE_UNSET = 0, MODE_SERVER, MODE_CLIENT };

/* What a client must prove (config key auth); a bit set. */
#define AUTH_METHOD_CERTIFICATE 0x1
#define AUTH_METHOD_PASSWORD 0x2
#define AUTH_METHOD_RADIUS 0x4		/* the password, asked of RADIUS */

/* RADIUS servers, in the order they are tried (radius-server,
 * radius-accounting-server): a host name or address, and its port (0:
 * the default, 1812 or 1813). */
struct config_radius_servers {
	unsigned int n;
	struct {
		char *host;
		unsigned int port;
	} s[CONFIG_MAX_RADIUS];
};

/* What auth = radius asks (src/server/radius_config.c reads it). */
struct config_radius {
	struct config_radius_servers servers;
	struct config_radius_servers acct_servers; /* none: auth's hosts */
	bool acct_none;			/* radius-accounting-server = none */
	char *secret_file;
	char *config;			/* a radcli configuration file */
	unsigned int timeout;		/* seconds a try waits */
	unsigned int retries;		/* tries after the first, per server */
	char *nas_identifier;		/* NULL: the host name */
	struct cv_addr nas_address;	/* family 0: where requests leave from */
	unsigned int interim;		/* Acct-Interim-Interval; 0: none */
};

/* One `key = value` line as written, for plugins' config_get(). */
struct config_entry {
	char *section;		/* NULL for the global part */
	char *key;
	char *value;
	unsigned int line;
	struct config_entry *next;
};

struct config {
	char *path;

	enum config_mode mode;
	unsigned int n_transports;
	char transports[CONFIG_MAX_TRANSPORTS][CONFIG_NAME_MAX];
	char *listen;
	char *remote;			/* as written: one gateway or a list */
	unsigned int n_remotes;		/* client: the gateways of remote */
	char *remotes[CONFIG_MAX_REMOTES];
	unsigned int failover_spread;	/* client: ms over which clients move */
	char *device;
	/* device-type = tap: a TAP device, Ethernet frames in the tunnel
	 * (layer 2); the server's joins `bridge`. */
	bool tap;
	char *bridge;			/* server, tap */
	unsigned int max_macs;		/* server, tap: per session */
	unsigned int mac_age;		/* server, tap: seconds */
	unsigned int flood_rate;	/* server, tap: frames a second */
	unsigned int n_addresses;	/* client, tap: static addresses */
	struct cv_prefix addresses[CONFIG_MAX_ADDRESSES];
	unsigned int mtu;
	bool has_pool;
	struct cv_prefix pool;
	bool has_pool6;			/* inner IPv6 too */
	struct cv_prefix pool6;
	unsigned int n_routes;
	struct cv_prefix routes[CONFIG_MAX_ROUTES];
	unsigned int keepalive_interval;	/* seconds */
	unsigned int keepalive_timeout;		/* seconds */
	bool insecure;
	char *plugin_dir;

	/* Authentication. cert, key, ca, server-name and priority are read
	 * by the secure transports; the core only checks their form. */
	char *cert;
	char *key;
	char *ca;
	char *crl;
	char *server_name;
	char *priority;
	unsigned int auth;		/* AUTH_METHOD_* */
	bool cert_user_match;		/* certificate+password: the same name */
	char *password_file;
	bool strict_modes;		/* refuse a key anyone may read */
	char *pam_service;
	struct config_radius radius;
	char *username;

	/* Limits and policy. */
	unsigned int max_clients;
	unsigned int handshake_timeout;	/* seconds */
	unsigned int hello_timeout;	/* seconds */
	unsigned int max_handshakes;
	unsigned int threads;		/* 0: auto, one per CPU online */
	unsigned int fallback_timeout;	/* seconds */
	unsigned int fallback_retry;	/* seconds; 0: never */
	unsigned int refused_retry;	/* seconds; 0: never, stop */
	bool duplicate_identity;	/* sessions may share an identity */
	/* Server, in a cluster: a host route per session into this table
	 * (0: none), with this rtm_protocol, for BIRD or FRR to announce. */
	unsigned int announce_table;
	unsigned int announce_protocol;
	char *state_dir;		/* server: reset.key */
	unsigned int rekey_interval;	/* seconds; read by the transports */
	uint64_t rekey_bytes;		/* read by the transports */
	unsigned int rekey_records;	/* read by the transports */
	char *control_socket;
	char *metrics_listen;		/* ADDRESS:PORT, or NULL: no HTTP */
	char *admin_group;		/* may kick and reload, beside root */
	char *pid_file;
	char *user;
	char *group;
	char *up_script, *down_script;			/* client */
	char *client_connect_script, *client_disconnect_script; /* server */
	bool client_to_client;
	/* Server: per-client and per-group settings (server/policy.h), and
	 * the defaults they refine. */
	char *client_config_dir;
	char *group_config_dir;
	bool restrict_to_routes;	/* only where a client's routes lead */
	bool cert_group;		/* cert-group = ou: the group is the OU */
	/* Client: what a server's welcome may route (welcome_policy.h). */
	bool accept_default_route;
	unsigned int n_accept_routes;
	struct cv_prefix accept_routes[CONFIG_MAX_ROUTES];

	/* Full tunnel (client): the VPN's routes in their own table, the
	 * transport's sockets marked so they still go out physically. */
	bool route_default;		/* `route = default`: ::/0 too when
					 * the tunnel carries IPv6 */
	unsigned int route_table;
	unsigned int fwmark;
	bool block_ipv6;
	bool kill_switch;		/* full tunnel: block while reconnecting */
	/* DNS pushed to clients (server). */
	unsigned int n_dns;
	struct cv_addr dns[CONFIG_MAX_DNS];
	unsigned int n_dns_domains;
	char dns_domains[CONFIG_MAX_DNS][CONFIG_DOMAIN_MAX + 1];
	bool offload;		/* TUN offloads (IFF_VNET_HDR, TSO) */

	struct config_entry *entries;	/* in file order */
	/* Configs replaced by a reload: plugins may still hold strings
	 * from them, so they live until the daemon ends. */
	struct config *retired;
};

enum config_key_flags {
	KEY_REPEATABLE = 0x1,
	KEY_SERVER = 0x2,	/* only meaningful for mode = server */
	KEY_CLIENT = 0x4,	/* only meaningful for mode = client */
	KEY_RESTART = 0x8,	/* a reload cannot change it: restart */
	KEY_CORE_ONLY = 0x10,	/* a plugin's key of that name is its own */
	KEY_TUN = 0x20,		/* only meaningful for device-type = tun */
	KEY_TAP = 0x40,		/* only meaningful for device-type = tap */
};

struct config_key {
	const char *name;
	/* Parse value into the field at cfg + offset. On error return
	 * -EINVAL and point *why at a phrase that completes
	 * "key 'NAME': 'VALUE' ..." (for example "is not a prefix"). */
	int (*parse)(struct config *cfg, void *field, const char *value,
		     const char **why);
	size_t offset;
	const char *def;	/* default, parsed like a value; or NULL */
	const char *metavar;	/* what the value looks like, for --help */
	unsigned int flags;
	const char *help;
};

extern const struct config_key config_keys[];
const struct config_key *config_key_find(const char *name);
/* Whether k's parser stores a string of its own (set_string) in its
 * field, which config_free() frees: a parser that does must say so here,
 * and no string field needs a line of its own in config_free(). */
bool config_key_holds_string(const struct config_key *k);

/* Parse path into a new config. On error prints "FILE:LINE: ..." lines to
 * the log and returns -EINVAL (or the errno of opening the file). Keys in
 * [sections] are kept for the plugins and checked by config_check_section
 * once the plugin is loaded. */
int config_load(const char *path, struct config **out);
/* The same from a string, for tests; path is the name used in errors. */
int config_parse_string(const char *path, const char *text,
			struct config **out);
void config_free(struct config *cfg);

/* Every key in section [name] must be one the plugin declared. */
int config_check_section(const struct config *cfg, const char *name,
			 const struct cv_option *options);
/* Sections that name no transport in use, for a warning. */
const struct config_entry *config_unused_section(const struct config *cfg);

/* A value as the plugin sees it: [section] first, then global, then the
 * global key's default. */
const char *config_get(const struct config *cfg, const char *section,
		       const char *key);

/* value as a number from min to max, digits only: 0, or -EINVAL. */
int config_unsigned(const char *value, unsigned long min, unsigned long max,
		    unsigned int *out);

/* s without the white space around it: in place, the start moved on;
 * and a line without its `#` comment, trimmed. For every file of
 * `key = value` lines (policy_file.c's too). */
char *config_trim(char *s);
char *config_text(char *line);

/* The bytes of the welcome a server with cfg sends a client that has no
 * settings of its own (doc/PROTOCOL.md), and what one more route or
 * network of p's family adds: per-client policy adds its own. */
size_t config_welcome_size(const struct config *cfg);
size_t config_prefix_attr_size(const struct cv_prefix *p);

/* The key in config_keys (or options, when not NULL) nearest to name,
 * or NULL when none is close: for "did you mean ...?". */
const char *config_suggest(const char *name, const struct cv_option *options);

#endif
