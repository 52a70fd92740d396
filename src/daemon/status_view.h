/*
 * What culvertd tells about itself and each session, gathered once from
 * the core, the sessions and the transports (their describe()), for
 * every way of showing it: the text of `culvertctl status` and `show`
 * (status.c), their JSON (status_json.c) and the metrics (metrics.c).
 * Absent values stay absent here (NULL, 0 with a has_ flag), so that
 * each form can say "none" its own way: "-", null, no sample.
 */
#ifndef CULVERT_STATUS_VIEW_H
#define CULVERT_STATUS_VIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <culvert/transport.h>

#include "addr.h"
#include "config.h"
#include "mac_table.h"
#include "radius_session.h"

struct core;
struct cv_host;
struct cv_session;
struct transports;

struct daemon_view {
	const char *mode;		/* "server" or "client" */
	time_t started_at;
	int64_t uptime_s;
	unsigned int up, pending;	/* sessions by state */
	unsigned int max_clients;	/* server; 0 on a client */
	bool drained;			/* server: culvertctl drain */
	unsigned int loops;		/* event loops (threads) */
};

/* Where a transport listens (server) or connects to (client): its own
 * section's listen or remote, else the global one. */
const char *transport_endpoint(const struct core *core,
			       const struct cv_host *h);

struct session_view {
	uint64_t id;
	const char *name;		/* identity, or the outer address */
	const char *transport;
	unsigned int loop;		/* the event loop of its link */
	bool up;			/* welcomed; else waiting for hello */
	const char *state;		/* "up" or "hello", as shown */
	const char *outer;
	const char *inner, *inner6;	/* NULL: none */
	char inner_buf[ADDR_STRLEN], inner6_buf[ADDR_STRLEN];
	const char *group;		/* the server's policy; NULL: none */
	/* How it logged in (server): "certificate", "password" or
	 * "radius"; NULL: nothing proved (an insecure transport), or
	 * not yet. */
	const char *login;
	bool radius;			/* then what its RADIUS reply set */
	struct radius_session_view rad;
	/* The networks behind the session (site to site), in the policy. */
	const struct cv_prefix *networks;
	unsigned int n_networks;
	/* A TAP gateway's: the MAC addresses the session owns, as text. */
	unsigned int n_macs;
	char macs[CONFIG_MAX_MACS][MAC_STRLEN];
	time_t connected_at;
	int64_t connected_s;		/* seconds since */
	double seen_s;			/* since the peer was last heard */
	uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
	size_t max_msg;			/* the link's, 0: no limit */
	bool data_gso, data_partial, data_uso;
	/* The transport's describe(), zero without one. */
	struct cv_link_desc link;
};

/* The labels of core->refusals and core->logins, in their order. */
extern const char *const refusal_names[];
extern const char *const login_names[];

void daemon_view(const struct core *core, struct daemon_view *v);

/* The sessions status lists: page (from 1, or 0 for every session) of
 * size, in the core's list order. from counts from 1; count is 0 for a
 * page beyond the last. */
struct session_page {
	const struct cv_session *first;
	unsigned int page, count, from, total, pages;
};
void session_page(const struct core *core, unsigned int page,
		  unsigned int size, struct session_page *p);

void session_view(const struct core *core, const struct cv_session *s,
		  struct session_view *v);
/* Whether s is called name: its identity, or its outer address. */
bool session_called(const struct cv_session *s, const char *name);

#endif
