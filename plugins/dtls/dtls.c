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
 * network carries (default 1500; not the global mtu, the tunnel's).
 * GnuTLS fits every record, handshake fragments included, into that less
 * the IP and UDP headers, and the largest message a record then takes is
 * link_info.max_msg, so that the core can size the tunnel. send() drops
 * (and counts) a message larger than that.
 *
 * Files: this one is the instance (create, destroy, reload, stats, the
 * table); dtls.h draws the others and who calls whom.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "../common/endpoint.h"
#include "dtls.h"

/* A priority string made for tls (a global 'priority') may allow no
 * DTLS version at all: say so now, not at every handshake. */
static int check_dtls_versions(struct cv_instance *inst)
{
	const unsigned int *list;
	int n = gnutls_priority_protocol_list(inst->gl.tls.priority, &list);

	for (int i = 0; i < n; i++)
		if (list[i] == GNUTLS_DTLS1_2 || list[i] == GNUTLS_DTLS1_0)
			return 0;
	const char *text = inst->gl.api->config_get(inst->gl.host, "priority");
	LOG(inst, CV_LOG_ERR,
	    "'priority': '%s' enables no DTLS version: add +VERS-DTLS1.2, or give dtls its own in [dtls] (default %s)",
	    text ? text : DEFAULT_PRIORITY, DEFAULT_PRIORITY);
	return -EINVAL;
}

static void dtls_destroy(struct cv_instance *inst);

/* What create() makes after the configuration: the hash seed, the
 * buffers, the report timer and a server's cookie key. */
static int make_state(struct cv_instance *inst)
{
	if (getrandom(&inst->seed, sizeof(inst->seed), 0) != sizeof(inst->seed))
		inst->seed = (uint64_t)(uintptr_t)inst ^ (uint64_t)plugin_now_ms();
	inst->tx_slot = inst->path_mtu;
	inst->arena = malloc(ARENA_SIZE);
	inst->tx_buf = malloc((size_t)DGRAM_BATCH * inst->tx_slot);
	/* A server's datagrams say who sent them; a client's socket is
	 * connected. */
	if (dgram_rx_init(&inst->rx, DATAGRAM_MAX, inst->gl.server, false) < 0 ||
	    !inst->arena || !inst->tx_buf || dtls_drops_init(inst) < 0)
		return -ENOMEM;
	if (inst->gl.server &&
	    gnutls_key_generate(&inst->cookie_key, GNUTLS_COOKIE_KEY_SIZE) < 0) {
		LOG(inst, CV_LOG_ERR, "cannot make a DTLS cookie key");
		return -ENOMEM;
	}
	return 0;
}

static int dtls_create(const struct cv_host_api *api, struct cv_host *host,
		       struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return -ENOMEM;
	inst->fd = -1;
	int err = glinks_config(&inst->gl, api, host, &dtls_link_ops,
				"lines about peers");
	/* [dtls] mtu. (A core that answers an unset one with the global
	 * mtu, the tunnel's, makes the path MTU that: smaller than need
	 * be, never too large for a tunnel that already fits the path.) */
	if (err == 0)
		err = plugin_config_number(api, host, "mtu", PATH_MTU_DEFAULT,
					   PATH_MTU_MIN, PATH_MTU_MAX,
					   &inst->path_mtu);
	uint64_t buffer;
	if (err == 0 &&
	    (err = plugin_config_bytes(api, host, "socket-buffer",
				       SOCKET_BUFFER_DEFAULT, SOCKET_BUFFER_MIN,
				       SOCKET_BUFFER_MAX, &buffer)) == 0)
		inst->socket_buffer = (int)buffer;
	if (err == 0)
		err = glinks_start(&inst->gl, DEFAULT_PRIORITY);
	if (err == 0) {
		inst->gl.tls.datagram = true;
		err = check_dtls_versions(inst);
	}
	if (err == 0)
		err = make_state(inst);
	/* A client renews worn keys; a server cannot start a rekey, and
	 * ends a link whose client let them wear to twice that. */
	unsigned int wear = inst->gl.server ? 2 : 1;
	inst->worn_bytes = inst->gl.rekey.bytes * wear;
	inst->worn_records = inst->gl.rekey.records * wear;
	if (err < 0) {
		dtls_destroy(inst);
		return err;
	}
	*out = inst;
	return 0;
}

/* ---- the table's other entry points */

static int dtls_reload(struct cv_instance *inst)
{
	return glinks_reload(&inst->gl);
}

static void dtls_close(struct cv_instance *inst, struct cv_link *link)
{
	glink_close(&link->g);
}

static void dtls_destroy(struct cv_instance *inst)
{
	glinks_deinit(&inst->gl);	/* every link closed first */
	endpoint_close(inst->gl.api, inst->gl.host, &inst->fd);
	dtls_drops_deinit(inst);
	if (inst->cookie_key.data) {
		gnutls_memset(inst->cookie_key.data, 0, inst->cookie_key.size);
		gnutls_free(inst->cookie_key.data);
	}
	peer_table_free(&inst->by_addr);
	peer_table_free(&inst->by_ip);
	dgram_rx_free(&inst->rx);
	free(inst->arena);
	free(inst->tx_buf);
	free(inst);
}

/* The names culvertctl status shows as dtls.NAME. */
static void dtls_stats(struct cv_instance *inst,
		       void (*emit)(void *arg, const char *name, uint64_t value),
		       void *arg)
{
	const struct glink_counts *c = &inst->gl.counts;

	emit(arg, "handshakes", c->handshakes);
	emit(arg, "handshake_failed", c->handshake_failed);
	emit(arg, "handshake_timeout", c->handshake_timeout);
	emit(arg, "handshake_too_large", c->handshake_too_large);
	emit(arg, "evicted", c->evicted);
	emit(arg, "turned_away", c->turned_away);
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
	emit(arg, "rekeys", c->rekeys);
	emit(arg, "old_key_records", inst->old_key_records);
	emit(arg, "resets_sent", inst->resets_sent);
}

static void dtls_describe(struct cv_instance *inst, struct cv_link *link,
			  struct cv_link_desc *desc)
{
	glink_describe(&link->g, desc);
}

static const struct cv_option dtls_options[] = {
	{ "listen", "where dtls listens (UDP), if not the global listen (e.g. 0.0.0.0:443)" },
	{ "remote", "the server's dtls endpoint, if not the global remote" },
	{ "priority", "GnuTLS priority string for dtls only (default: DTLS 1.2 with ECDHE; AEAD ciphers only)" },
	{ "mtu", "path MTU: the largest IP packet the outer network carries, 576-65535 (default 1500)" },
	{ "rekey-bytes", "bytes one key protects on dtls before it is renewed, if not the global rekey-bytes" },
	{ "rekey-records", "records one key protects on dtls before it is renewed, if not the global rekey-records" },
	{ "socket-buffer", "bytes each UDP socket holds each way, 64K-64M (default 512K: a short queue, low latency under load)" },
	{ NULL, NULL },
};

/* One record per datagram: the DTLS 1.2 record header (13 bytes) and a
 * 16-byte AEAD tag, ChaCha20-Poly1305's; AES-GCM adds an 8-byte explicit
 * nonce, CBC ciphers more. */
static const struct cv_wire dtls_wire = {
	.size = sizeof(struct cv_wire),
	.flags = CV_WIRE_AT_LEAST | CV_WIRE_DONT_FRAGMENT,
	.ipproto = IPPROTO_UDP,
	.overhead = 13 + 16,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "dtls",
	.description = "DTLS 1.2 over UDP (GnuTLS), with X.509 certificates; no head-of-line blocking",
	.flags = CV_TRANSPORT_SECURE | CV_TRANSPORT_LOOPS,
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
	.describe = dtls_describe,
	.set_reset_token = dtls_set_reset_token,
};
