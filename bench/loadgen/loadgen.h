/*
 * culvert-loadgen: many client sessions in one process, without a TUN
 * device, for the churn soak (tests/soak/soak.sh) and the scale benchmark
 * (bench/scale.sh).
 *
 * It is built from the project's own code: the transport plugins are
 * loaded through the core's loader (src/plugin.c), run on the core's event
 * loop (src/loop.c), and spoken to in the core's control protocol
 * (src/proto.c). What culvertd does with a TUN device, a session here
 * does by hand: after the WELCOME it sends ICMP echo requests (ICMPv6 on
 * an IPv6-only gateway) from its inner address to the gateway's, as DATA
 * messages, and counts the
 * replies the gateway's kernel sends back through the tunnel.
 *
 * --attack makes every session a stranger of one kind instead, for the
 * tests that prove the gateway withstands it (lg_attack.c).
 *
 * loadgen.c holds the options, the schedule and the summary;
 * lg_session.c one session and the host table its plugin instance sees.
 */
#ifndef CULVERT_LOADGEN_H
#define CULVERT_LOADGEN_H

#include <stdbool.h>
#include <stdint.h>

#include <culvert/transport.h>

#include "addr.h"
#include "config.h"
#include "plugin.h"

struct loop;
struct loop_timer;

#define LG_MAX_SOURCES 64

enum lg_attack {
	LG_ATTACK_NONE,
	LG_ATTACK_SILENT,	/* finish the handshake, never say hello */
	LG_ATTACK_GSO1,		/* after the welcome, a segment of gso size 1 */
};

struct lg_options {
	const char *transport, *remote, *server_name, *plugin_dir;
	const char *ca, *cert, *key, *user, *password;
	unsigned int sessions;	/* at once */
	unsigned int total;	/* over the run */
	unsigned int hold_s;	/* each session's time up */
	unsigned int rate;	/* echo requests a second, per session */
	unsigned int duration_s;	/* hard bound on the run */
	unsigned int parallel;	/* handshakes under way at once */
	unsigned int abuse_every;	/* every Nth session misbehaves; 0: none */
	unsigned int connect_rate;	/* sessions started a second; 0: no limit */
	enum lg_attack attack;
	struct cv_addr attack_to;	/* LG_ATTACK_GSO1: the segment's destination */
	/* A session lost (a stateless reset, the link down, a bye) starts
	 * again in its slot, asking its addresses back, as culvertd would:
	 * at once with up to a second's pause after a reset, else after
	 * culvertd's back-off (1 s, doubling to a minute while the gateway
	 * is not back, +-25%); counted apart (lost sessions then fail
	 * nothing). */
	bool reconnect;
	/* --remote A,B...: a cluster's gateways. Every session starts on
	 * the first; one lost moves to the next in its slot of
	 * failover_spread_ms, as culvertd's client does (failover.h). */
	unsigned int n_remotes;
	char remotes[CONFIG_MAX_REMOTES][300];
	unsigned int failover_spread_ms;
	/* --source A,B...: the local addresses the sessions' sockets leave
	 * from, slot i from the (i mod n)th: one address has some 28,000
	 * ephemeral ports a protocol towards one gateway. None: the
	 * kernel's choice. */
	unsigned int n_sources;
	char sources[LG_MAX_SOURCES][48];
	bool json;
	bool verbose;
};

enum lg_state {
	LG_IDLE,	/* waiting for its turn */
	LG_CONNECTING,	/* connect() called, no link yet */
	LG_HELLO,	/* link up, hello sent, no welcome yet */
	LG_SILENT,	/* --attack silent: link up, saying nothing */
	LG_UP,		/* pinging */
	LG_DRAINING,	/* hold over: waiting for the last replies */
};

/* The plugin instance's host: one per session slot. */
struct cv_host {
	struct lg *lg;
	struct cv_session *slot;
};

/* One session slot; the cv_session its plugin instance's link_up gets. */
struct cv_session {
	struct lg *lg;
	unsigned int index;
	struct cv_host host;
	struct cv_instance *inst;
	struct cv_link *link;
	enum lg_state state;
	struct loop_timer *timer;	/* deadline, retransmission, hold, drain */
	struct loop_timer *ping_timer;
	int64_t connect_ms, deadline_ms;
	int64_t link_ms;		/* when the link came up */
	uint32_t nonce;
	unsigned int hellos;
	bool abusive;
	/* IPv4 when the welcome had ADDR4, else IPv6 (an IPv6-only
	 * gateway): the echo requests go from inner to gateway. */
	struct cv_addr inner, gateway;
	uint16_t ping_id, ping_seq;
	uint64_t sent, received;
	int64_t last_keepalive_ms;
	/* --reconnect: the last welcome's addresses and reset token, and
	 * when the session was lost (0: it was not). */
	struct cv_addr previous4, previous6;
	bool has_reset_token;
	uint8_t reset_token[CV_RESET_TOKEN_LEN];
	int64_t lost_ms;
	unsigned int again_ms;		/* the back-off's last pause, unjittered */
	bool returning;			/* idle, waiting to start again */
	bool drained;			/* the gateway said bye, draining */
	/* --remote A,B...: the gateway it connects to, and the one its
	 * instance was made for (a fresh one when they differ). */
	unsigned int remote_at, inst_remote_at;
};

struct lg_totals {
	uint64_t started, up, failed, refused, lost, completed, cut;
	/* --reconnect: sessions back after a loss, with the address they
	 * had, after a stateless reset; the longest time from loss to
	 * welcome. */
	uint64_t back, back_same_address, resets;
	int64_t back_max_ms;
	uint64_t pings_sent, pings_received;
	uint64_t abusive_sessions, abuse_sent;
	/* --attack silent: links the gateway ended, and their lifetimes. */
	uint64_t silent_ended, silent_ms;
};

struct lg {
	struct lg_options opt;
	struct loop *loop;
	struct plugin plugin;
	const struct cv_transport *t;
	struct cv_session *slots;
	unsigned int n_up;		/* sessions up right now */
	unsigned int n_connecting;	/* connect() to welcome */
	unsigned int max_up;		/* the most up at once */
	struct loop_timer *kick_timer, *end_timer;
	unsigned int kick_at;		/* where on_kick's next look begins */
	int64_t start_ms, first_up_ms, last_up_ms, all_up_ms;
	unsigned int n_lost;		/* --reconnect: lost, not back yet */
	bool stopping;
	struct lg_totals tot;
};

/* lg_session.c */
extern const struct cv_host_api lg_host_api;
int lg_slot_init(struct lg *lg, struct cv_session *s, unsigned int index);
void lg_slot_free(struct cv_session *s);
/* Begin a session in an idle slot. */
void lg_slot_start(struct cv_session *s);
/* Say bye now and end (the run is over). */
void lg_slot_stop(struct cv_session *s);

/* loadgen.c: a slot became idle, or a handshake ended. */
void lg_kick(struct lg *lg);

/* lg_attack.c */
int lg_attack_parse(const char *name, enum lg_attack *out);
/* The link is up: true when the attack took it over (no hello). */
bool lg_attack_link_up(struct cv_session *s);
/* The link went down: true when that was the attack's expected end. */
bool lg_attack_link_down(struct cv_session *s);
/* The welcome came: the attack's part after it. */
void lg_attack_welcome(struct cv_session *s);
/* The hello's flags the attack needs. */
uint8_t lg_attack_hello_flags(const struct lg *lg);

#endif
