/*
 * A gateway's event loops, one per core (threads = N): how the data
 * path spreads over cores while everything else stays on one thread.
 *
 * Loop 0 is the main thread's, core->loop: the control socket, signals,
 * logins, leases, every session's control messages and timers. Each
 * loop after it is a thread (cv-loop1, ...) with its own instance of
 * every transport (listening on the same port, SO_REUSEPORT: the kernel
 * spreads clients over the loops by their addresses and ports), its own
 * queue of the TUN device (IFF_MULTI_QUEUE), and its own datapath and
 * counters. A session lives on the loop of its link (s->loop).
 *
 * What crosses between threads, and how; no lock is taken per packet:
 *  - A loop's plugins call the host from that loop. Data of a session
 *    that is up goes to that loop's datapath, at once; every other
 *    upcall runs on loop 0, as a copy in a letter (shard_post), the
 *    loop going on: a link up (the plugin has a session shell at once,
 *    which loop 0 opens), a link down (marked gone first, under the
 *    loop's lock of its links, which loop 0 takes to describe one), a
 *    control message. A loop waits for loop 0 only to end a session its
 *    data path cannot send for (shard_call_main), and makes a stateless
 *    reset's token itself: a loop 0 busy with handshakes must not hold
 *    up the others' handshakes and packets, nor can strangers' records
 *    make a loop wait. Loop 0 never waits for another loop, so nothing
 *    can deadlock.
 *  - Loop 0 calls a loop's plugin only through that loop's mailbox: a
 *    control message to send, a link to close (shard_send,
 *    shard_close); in order, after what was posted before.
 *  - The route table is loop 0's; each other loop reads a replica,
 *    which every change reaches through its mailbox (a route observer).
 *  - A packet a loop reads from its queue for a session of another
 *    loop goes to that loop (a handoff), which looks its session up
 *    again.
 *  - Memory another loop may still hold in its current turn (a session,
 *    its policy) is freed only once every loop has taken a turn since:
 *    shard_release passes it from loop to loop first.
 *
 * With one loop (threads = 1, a client, a TAP gateway) none of this
 * exists: core->shards is NULL and every call below is a plain call.
 */
#ifndef CULVERT_SHARD_H
#define CULVERT_SHARD_H

#include <stdbool.h>
#include <stddef.h>

#include <culvert/transport.h>

struct config;
struct core;
struct counters;
struct cv_addr;
struct cv_host;
struct letter;
struct cv_session;
struct datapath;
struct route_table;
struct transports;

/* The loops a daemon with cfg runs: threads (auto: the CPUs online) on
 * a TUN gateway, else 1. */
unsigned int shard_loops(const struct config *cfg);

/* The loops core runs now: 1 without shards. */
unsigned int shard_count(const struct core *core);

/* The loop the calling thread runs: 0 on the main thread. */
unsigned int shard_here(void);

/* fn(arg) on loop 0, the caller waiting for it to return; a plain call
 * on loop 0. */
void shard_call_main(struct core *core, void (*fn)(void *), void *arg);

/* letter run on loop `to` (mailbox.h: freed after). */
void shard_post(struct core *core, unsigned int to, struct letter *letter);

/* From loop 0: the session's messages sent, or its link closed, by the
 * session's loop (copies of msgs: they are lent). */
int shard_send(struct cv_session *s, const struct cv_msg *msgs,
	       unsigned int count);
void shard_close(struct cv_session *s);
/* On the session's loop: its link is gone (the plugin lost it, or is
 * closing it), from now on never described; whether it was already. */
bool shard_link_gone(struct cv_session *s);
/* On loop 0: the transport's description of s's link into desc, unless
 * the link is gone (or the transport describes nothing). */
void shard_describe(const struct cv_session *s, struct cv_link_desc *desc);

/* From loop 0, after a reload: copy (plugin_host.h) reloads on its loop. */
void shard_reload(struct core *core, struct cv_host *copy);

/* ptr freed (free(3)) once every loop has taken a turn since: what a
 * loop found in its replica before this call is no longer in use. */
void shard_release(struct core *core, void *ptr);

/* The counters of the calling thread's loop. */
struct counters *shard_counters(struct core *core);
/* Every loop's counters, added up. */
void shard_counters_sum(const struct core *core, struct counters *sum);

/* Setting the loops up, in this order, on the main thread, as root:
 * n loops (n >= 2), the device's queues and datapaths; dp0 is loop 0's. */
int shards_new(struct core *core, unsigned int n, struct datapath *dp0);
/* An instance of each of ts's transports on every loop after the
 * first, its upcalls where ts's go. */
int shards_add_transports(struct core *core, struct transports *ts);
/* Server: replicas of routes and networks on every loop, kept in step. */
int shards_serve(struct core *core, struct route_table *routes,
		 struct route_table *networks, const struct cv_addr *gateway4,
		 const struct cv_addr *gateway6);
int shards_listen(struct core *core);
/* The threads; after the privilege drop, which they inherit. */
int shards_start(struct core *core);
/* Ends the threads (what their mailboxes hold runs here), then frees
 * all. Safe on a core without loops. */
void shards_free(struct core *core);

#endif
