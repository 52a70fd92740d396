/*
 * The RADIUS servers culvertd asks, resolved once at start and at each
 * reload: from the radius-* keys (the secret read from
 * radius-secret-file), or from a radcli configuration file
 * (radius-config) read with radcli. Shared by the worker threads while
 * their requests run, so counted by reference: a reload puts a new set
 * in force while requests still hold the old one.
 */
#ifndef CULVERT_RADIUS_CONFIG_H
#define CULVERT_RADIUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "radius_packet.h"

#define RADIUS_SERVERS_MAX 8	/* radcli's SERVER_MAX */

struct config;

struct radius_server {
	char name[300];			/* "host:port" as configured, for logs */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint8_t secret[RADIUS_SECRET_MAX];
	size_t secret_len;
	/* Until when (monotonic ms) it is passed over because it did not
	 * answer: written and read by the threads, atomically. */
	int64_t dead_until;
};

struct radius_servers {
	unsigned int n;
	struct radius_server s[RADIUS_SERVERS_MAX];
};

struct radius_config {
	int refs;			/* atomic */
	const char *source;		/* the file the servers came from */
	struct radius_servers auth, acct;	/* acct.n 0: no accounting */
	unsigned int timeout_ms;	/* one try */
	unsigned int tries;		/* per server */
	char nas_identifier[254];
	struct cv_addr nas_address;	/* family 0: each request's source */
	bool bind;			/* leave from nas_address */
	unsigned int interim;		/* seconds; 0: none */
};

/* The servers of cfg, resolved, with their secrets. Returns 0, or a
 * negative errno after logging what is wrong, naming the file. */
int radius_config_load(const struct config *cfg, struct radius_config **out);
struct radius_config *radius_config_ref(struct radius_config *rc);
void radius_config_unref(struct radius_config *rc);

/* A time on the threads' clock (CLOCK_MONOTONIC, ms). */
int64_t radius_now(void);

#endif
