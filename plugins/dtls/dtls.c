/*
 * The dtls transport: culvert's messages in DTLS 1.2 records over UDP,
 * with GnuTLS. One record carries one message, one datagram one record:
 * no framing, and no head-of-line blocking. DTLS loses and reorders as
 * UDP does, so the core retransmits its own control messages (the table
 * does not set CV_TRANSPORT_RELIABLE); GnuTLS drops replayed records
 * (its replay window is on) and those that fail authentication, and
 * both are counted and logged here without hurting the link.
 *
 * A server has ONE UDP socket for every client and tells its sessions
 * apart by the peer's address and port (a keyed hash table, as udp.c).
 * A stranger gets no state at all until it has proved that it receives
 * at its address: its ClientHello is answered with a stateless cookie
 * (HelloVerifyRequest, RFC 6347 4.2.1), and only a ClientHello that
 * returns a valid cookie makes a link, which then counts against
 * max-handshakes (the oldest handshake gives way when they are full).
 *
 * Roaming: a NAT may give a client a new port in mid-session. An
 * application-data record from an unknown address is tried against the
 * up sessions of the same IP address (at most ROAM_CANDIDATES, at most
 * ROAM_TRIALS_PER_SECOND trials); the session that decrypts and
 * authenticates it, replay window included, moves to the new address.
 * Nothing moves on a record that did not authenticate.
 *
 * The client has one connected UDP socket, tries each address of
 * 'remote' in turn, and reports a server that never answers in words:
 * "no DTLS answer from HOST:PORT within N s (is UDP blocked?)".
 *
 * The MTU: [dtls] mtu is the path MTU, the largest IP packet the outer
 * network carries (default 1500; not the global mtu, the tunnel's). GnuTLS fits every record, handshake fragments
 * included, into that less the IP and UDP headers, and the largest
 * message a record then takes is link_info.max_msg, so that the core can
 * size the tunnel. send() drops (and counts) a message larger than that.
 *
 * Files: this one has the instance (create, destroy, the table) and the
 * drops and their log lines; dtls_server.c the server's socket, its
 * strangers and roaming clients; dtls_client.c the client's way to the
 * server; dtls_link.c one session (GnuTLS's push and pull, handshake,
 * records, send, close).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtls.h"

#include "../common/endpoint.h"

/* ---- small helpers */

int64_t dtls_now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void dtls_format_addr(const struct sockaddr *sa, socklen_t len, char *buf,
		      size_t size)
{
	char host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, size, "(unknown)");
		return;
	}
	snprintf(buf, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
		 host, port);
}

/* ---- drops: replayed records, and those that fail authentication */

uint64_t dtls_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void dtls_seen_mark(struct seen_window *w, uint64_t seq)
{
	if (!w->valid) {
		w->top = seq;
		w->bits = 1;
		w->valid = true;
	} else if (seq > w->top) {
		uint64_t d = seq - w->top;
		w->bits = d >= 64 ? 1 : w->bits << d | 1;
		w->top = seq;
	} else if (w->top - seq < 64) {
		w->bits |= 1ull << (w->top - seq);
	}
}

/* Older than the window counts as seen: GnuTLS's window is 64 records
 * too, and drops those as replays. */
static bool seen_before(const struct seen_window *w, uint64_t seq)
{
	if (!w->valid || seq > w->top)
		return false;
	return w->top - seq >= 64 || (w->bits >> (w->top - seq) & 1);
}

/*
 * What it means if GnuTLS drops records of this datagram, asked before
 * GnuTLS sees it: a replay when a record of the link's current epoch
 * carries a sequence number already accepted; stale when every record is
 * of an older epoch (the peer's handshake flight again, after our last
 * flight was lost: GnuTLS answers it, or drops what it no longer needs);
 * else a record that failed authentication.
 */
enum drop_kind dtls_drop_kind(const struct cv_link *link, const uint8_t *d,
			      size_t len)
{
	uint64_t epoch = link->seen.top >> 48;
	bool stale = link->seen.valid && len >= REC_HDR;
	size_t off = 0;

	for (unsigned int i = 0; i < 16 && len - off >= REC_HDR; i++) {
		uint64_t seq = dtls_be64(d + off + 3);
		if (seq >> 48 == epoch && seen_before(&link->seen, seq))
			return DROP_REPLAY;
		if (seq >> 48 >= epoch)
			stale = false;
		off += REC_HDR + ((size_t)d[off + 11] << 8 | d[off + 12]);
		if (off > len)
			break;
	}
	return stale ? DROP_STALE : DROP_FORGED;
}

/* GnuTLS dropped records of this datagram: count them, by kind, for
 * link_report_drops(). */
void dtls_account_drops(struct cv_link *link, unsigned int before,
			enum drop_kind kind)
{
	struct cv_instance *inst = link->inst;
	unsigned int d = gnutls_record_get_discarded(link->tls) - before;

	if (d == 0)
		return;
	switch (kind) {
	case DROP_REPLAY:
		link->replays += d;
		link->replays_unlogged += d;
		inst->replays += d;
		break;
	case DROP_STALE:
		/* Part of DTLS working as it should: no line of its own. */
		inst->stale += d;
		return;
	case DROP_FORGED:
		link->forged += d;
		link->forged_unlogged += d;
		inst->forged += d;
		break;
	}
	dtls_arm_report(inst);
}

/* One line a second at most per link and kind, from the report timer. */
static void link_report_drops(struct cv_link *link)
{
	struct cv_instance *inst = link->inst;

	if (link->replays_unlogged)
		PEER_LOG(inst, CV_LOG_NOTICE,
			 "dropped %u replayed records from %s (%llu on this link)",
			 link->replays_unlogged, link->peer_name,
			 (unsigned long long)link->replays);
	if (link->forged_unlogged)
		PEER_LOG(inst, CV_LOG_NOTICE,
			 "dropped %u records from %s that failed authentication (corrupted or forged; %llu on this link)",
			 link->forged_unlogged, link->peer_name,
			 (unsigned long long)link->forged);
	if (link->oversize_unlogged)
		PEER_LOG(inst, CV_LOG_INFO,
			 "dropped %u messages for %s larger than one DTLS record carries (%zu bytes)",
			 link->oversize_unlogged, link->peer_name, link->data_mtu);
	link->replays_unlogged = link->forged_unlogged = 0;
	link->oversize_unlogged = 0;
}

/* ---- reporting drops: at once, then at most once a second */

static bool report_pass(struct cv_instance *inst)
{
	bool any = false;

	for (struct cv_link *l = inst->links; l; l = l->next) {
		if (!l->replays_unlogged && !l->forged_unlogged &&
		    !l->oversize_unlogged)
			continue;
		link_report_drops(l);
		any = true;
	}
	if (any)
		LOG(inst, CV_LOG_DEBUG,
		    "dropped so far: %llu replayed records, %llu records that failed authentication, %llu stale handshake records, %llu messages too large, %llu stray datagrams; %llu cookies sent, %llu peers moved",
		    (unsigned long long)inst->replays,
		    (unsigned long long)inst->forged,
		    (unsigned long long)inst->stale,
		    (unsigned long long)inst->oversize,
		    (unsigned long long)inst->strays,
		    (unsigned long long)inst->cookies_sent,
		    (unsigned long long)inst->roams);
	return any;
}

static void on_report(void *arg)
{
	struct cv_instance *inst = arg;

	if (report_pass(inst))
		inst->api->timer_arm(inst->report_timer, 1000);
	else
		inst->report_armed = false;
}

void dtls_arm_report(struct cv_instance *inst)
{
	if (inst->report_armed)
		return;
	report_pass(inst);
	inst->report_armed = true;
	inst->api->timer_arm(inst->report_timer, 1000);
}

/* ---- configuration */

/* A priority string made for tls (a global 'priority') may allow no
 * DTLS version at all: say so now, not at every handshake. */
static int check_dtls_versions(struct cv_instance *inst)
{
	const unsigned int *list;
	int n = gnutls_priority_protocol_list(inst->tls.priority, &list);

	for (int i = 0; i < n; i++)
		if (list[i] == GNUTLS_DTLS1_2 || list[i] == GNUTLS_DTLS1_0)
			return 0;
	const char *text = inst->api->config_get(inst->host, "priority");
	LOG(inst, CV_LOG_ERR,
	    "'priority': '%s' enables no DTLS version: add +VERS-DTLS1.2, or give dtls its own in [dtls] (default %s)",
	    text ? text : DEFAULT_PRIORITY, DEFAULT_PRIORITY);
	return -EINVAL;
}

static void dtls_destroy(struct cv_instance *inst);

/* ---- reloading */

/* The links dtls_reload() doomed, ended from the loop: a plugin never
 * calls link_down() from inside a call the core made to it. One at a
 * time, looked up again after each upcall, which may end others. */
static void on_recheck(void *arg)
{
	struct cv_instance *inst = arg;

	for (;;) {
		struct cv_link *link = inst->links;
		while (link && !link->doom.why)
			link = link->next;
		if (!link)
			return;
		char why[512];
		snprintf(why, sizeof(why), "%s", link->doom.why);
		link_refuse(link, link->doom.err, why);
	}
}

/* New credentials for new sessions; every peer up now is checked
 * against the new ca and crl, and those that fail are ended. */
static int dtls_reload(struct cv_instance *inst)
{
	unsigned int doomed = 0;
	int err = gtls_reload(&inst->tls);

	if (err < 0)
		return err;
	for (struct cv_link *link = inst->links; link; link = link->next)
		if (link->state == LINK_UP && link->session && !link->closed &&
		    !link->doom.why)
			doomed += gtls_doom_check(&inst->tls, link->tls,
						  link->peer_name, &link->doom);
	if (doomed)
		inst->api->timer_arm(inst->recheck_timer, 0);
	return 0;
}

static int dtls_create(const struct cv_host_api *api, struct cv_host *host,
		       struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));
	char name[256];

	if (!inst)
		return -ENOMEM;
	inst->api = api;
	inst->host = host;
	inst->fd = -1;
	const char *mode = api->config_get(host, "mode");
	inst->server = mode && strcmp(mode, "server") == 0;
	int err = plugin_config_number(api, host, "handshake-timeout", 10, 1, 3600,
			       &inst->handshake_timeout);
	if (err == 0)
		err = plugin_config_number(api, host, "max-handshakes", 256, 1, 1000000,
				   &inst->max_handshakes);
	/* [dtls] mtu. (A core that answers an unset one with the global
	 * mtu, the tunnel's, makes the path MTU that: smaller than need
	 * be, never too large for a tunnel that already fits the path.) */
	if (err == 0)
		err = plugin_config_number(api, host, "mtu", PATH_MTU_DEFAULT, PATH_MTU_MIN,
				   PATH_MTU_MAX, &inst->path_mtu);
	if (err < 0) {
		free(inst);
		return err;
	}
	/* A client checks the server's certificate against the host of
	 * 'remote' unless server-name says otherwise. */
	const char *remote = api->config_get(host, "remote"), *port;
	if (inst->server || !remote ||
	    endpoint_parse(remote, name, sizeof(name), &port) < 0)
		name[0] = '\0';
	err = gtls_init(&inst->tls, api, host, inst->server,
			name[0] ? name : NULL, DEFAULT_PRIORITY);
	if (err < 0) {
		free(inst);
		return err;
	}
	inst->tls.datagram = true;
	if ((err = check_dtls_versions(inst)) < 0) {
		gtls_deinit(&inst->tls);
		free(inst);
		return err;
	}
	if (getrandom(&inst->seed, sizeof(inst->seed), 0) != sizeof(inst->seed))
		inst->seed = (uint64_t)(uintptr_t)inst ^ (uint64_t)dtls_now_ms();
	inst->tx_slot = inst->path_mtu;
	inst->rx_buf = malloc((size_t)BATCH * DATAGRAM_MAX);
	inst->arena = malloc(ARENA_SIZE);
	inst->tx_buf = malloc((size_t)BATCH * inst->tx_slot);
	inst->report_timer = api->timer_new(host, on_report, inst);
	inst->recheck_timer = api->timer_new(host, on_recheck, inst);
	err = !inst->rx_buf || !inst->arena || !inst->tx_buf ||
		      !inst->report_timer || !inst->recheck_timer
		      ? -ENOMEM : 0;
	if (err == 0 && inst->server &&
	    gnutls_key_generate(&inst->cookie_key, GNUTLS_COOKIE_KEY_SIZE) < 0) {
		LOG(inst, CV_LOG_ERR, "cannot make a DTLS cookie key");
		err = -ENOMEM;
	}
	if (err < 0) {
		dtls_destroy(inst);
		return err;
	}
	*out = inst;
	return 0;
}

/* ---- the table's other entry points */


static int dtls_send(struct cv_instance *inst, struct cv_link *link,
		     const struct cv_msg *msgs, unsigned int count)
{
	return dtls_link_send(inst, link, msgs, count);
}

static void dtls_close(struct cv_instance *inst, struct cv_link *link)
{
	if (link->upcalls) {
		link->closed = true;
		return;
	}
	link_close_now(link);
}

static void dtls_destroy(struct cv_instance *inst)
{
	/* One link per turn, each removing itself from the list. */
	while (inst->links)
		link_close_now(inst->links);
	if (inst->fd >= 0) {
		inst->api->unwatch(inst->host, inst->fd);
		close(inst->fd);
	}
	if (inst->report_timer)
		inst->api->timer_free(inst->report_timer);
	if (inst->recheck_timer)
		inst->api->timer_free(inst->recheck_timer);
	if (inst->cookie_key.data) {
		gnutls_memset(inst->cookie_key.data, 0, inst->cookie_key.size);
		gnutls_free(inst->cookie_key.data);
	}
	gtls_deinit(&inst->tls);
	free(inst->buckets);
	free(inst->ip_buckets);
	free(inst->rx_buf);
	free(inst->arena);
	free(inst->tx_buf);
	free(inst);
}

/* The names culvertctl status shows as dtls.NAME. */
static void dtls_stats(struct cv_instance *inst,
		       void (*emit)(void *arg, const char *name, uint64_t value),
		       void *arg)
{
	emit(arg, "handshakes", inst->handshakes);
	emit(arg, "handshake_failed", inst->handshake_failed);
	emit(arg, "handshake_timeout", inst->handshakes_timed_out);
	emit(arg, "evicted", inst->evicted);
	emit(arg, "cookies_sent", inst->cookies_sent);
	emit(arg, "bad_cookie", inst->bad_cookie);
	emit(arg, "junk_datagram", inst->junk);
	emit(arg, "truncated_record", inst->truncated_record);
	emit(arg, "oversized_record", inst->oversized_record);
	emit(arg, "stray_datagram", inst->strays - inst->junk);
	emit(arg, "replayed_record", inst->replays);
	emit(arg, "forged_record", inst->forged);
	emit(arg, "stale_record", inst->stale);
	emit(arg, "oversized_send", inst->oversize);
	emit(arg, "roams", inst->roams);
}

static const struct cv_option dtls_options[] = {
	{ "listen", "where dtls listens (UDP), if not the global listen (e.g. 0.0.0.0:443)" },
	{ "remote", "the server's dtls endpoint, if not the global remote" },
	{ "priority", "GnuTLS priority string for dtls only (default: DTLS 1.2)" },
	{ "mtu", "path MTU: the largest IP packet the outer network carries, 576-65535 (default 1500)" },
	{ NULL, NULL },
};

/* One record per datagram: the DTLS 1.2 record header (13 bytes) and a
 * 16-byte AEAD tag, ChaCha20-Poly1305's; AES-GCM adds an 8-byte explicit
 * nonce, CBC ciphers more. */
static const struct cv_wire dtls_wire = {
	.size = sizeof(struct cv_wire),
	.flags = CV_WIRE_AT_LEAST,
	.ipproto = IPPROTO_UDP,
	.overhead = 13 + 16,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "dtls",
	.description = "DTLS 1.2 over UDP (GnuTLS), with X.509 certificates; no head-of-line blocking",
	.flags = CV_TRANSPORT_SECURE,
	.options = dtls_options,
	.create = dtls_create,
	.listen = dtls_server_listen,
	.connect = dtls_client_connect,
	.send = dtls_send,
	.close = dtls_close,
	.destroy = dtls_destroy,
	.reload = dtls_reload,
	.stats = dtls_stats,
	.wire = &dtls_wire,
};
