/*
 * The tls transport: culvert's messages inside TLS over TCP.
 *
 * A server accepts any number of connections on one listening socket
 * (tls_listener.c); a client connects to 'remote', trying each of its
 * addresses in turn (tls_client.c). A link comes up only once the TLS
 * handshake, and GnuTLS's verification of the peer's certificate, have
 * succeeded (../common/gnutls_common.c sets that up, and explains a
 * refusal). tls_link.c carries one connection's messages, and says how
 * they are framed inside the TLS stream. This file is the instance:
 * create, destroy, reload, stats and the exported table. tls.h draws the
 * files and who calls whom.
 *
 * TCP is reliable and ordered, so the core need not retransmit over it:
 * CV_TRANSPORT_RELIABLE. It is also head-of-line blocking, which is why
 * dtls is preferred where UDP gets through and tls is the fallback.
 */
#include <errno.h>
#include <stdlib.h>

#include "../common/endpoint.h"
#include "tls.h"

/* TLS 1.3, or 1.2 at least, with AEAD ciphers and ECDHE only. */
#define DEFAULT_PRIORITY \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" GTLS_AEAD_ECDHE_ONLY

/* ---- the table's entry points */

static void tls_destroy(struct cv_instance *inst);

static int tls_create(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out)
{
	struct cv_instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return -ENOMEM;
	inst->listen_fd = -1;
	int err = glinks_config(&inst->gl, api, host, &tls_link_ops,
				"refused connections");
	if (err == 0)
		err = tls_pmtu_init(inst);
	if (err == 0)
		err = glinks_start(&inst->gl, DEFAULT_PRIORITY);
	if (err < 0) {
		tls_destroy(inst);
		return err;
	}
	*out = inst;
	return 0;
}

static int tls_reload(struct cv_instance *inst)
{
	return glinks_reload(&inst->gl);
}

static int tls_send(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count)
{
	return link_send(link, msgs, count);
}

static void tls_close(struct cv_instance *inst, struct cv_link *link)
{
	glink_close(&link->g);
}

static void tls_destroy(struct cv_instance *inst)
{
	glinks_deinit(&inst->gl);	/* every link closed first */
	endpoint_close(inst->gl.api, inst->gl.host, &inst->listen_fd);
	if (inst->accept_timer)
		inst->gl.api->timer_free(inst->accept_timer);
	free(inst);
}

/* The names culvertctl status shows as tls.NAME. */
static void tls_stats(struct cv_instance *inst,
		      void (*emit)(void *arg, const char *name, uint64_t value),
		      void *arg)
{
	const struct glink_counts *c = &inst->gl.counts;
	const struct tls_stats *st = &inst->stats;

	emit(arg, "handshakes", c->handshakes);
	emit(arg, "handshake_failed", c->handshake_failed);
	emit(arg, "handshake_timeout", c->handshake_timeout);
	emit(arg, "handshake_too_large", c->handshake_too_large);
	emit(arg, "junk", st->junk);
	emit(arg, "truncated_record", st->truncated_record);
	emit(arg, "oversized_record", st->oversized_record);
	emit(arg, "closed_early", st->closed_early);
	emit(arg, "evicted", c->evicted);
	emit(arg, "turned_away", c->turned_away);
	emit(arg, "zero_length_frame", st->zero_length_frame);
	emit(arg, "accept_paused", st->accept_paused);
	emit(arg, "rekeys", c->rekeys);
}

static void tls_describe(struct cv_instance *inst, struct cv_link *link,
			 struct cv_link_desc *desc)
{
	glink_describe(&link->g, desc);
}

static const struct cv_option tls_options[] = {
	{ "listen", "where tls listens, if not the global listen (e.g. 0.0.0.0:443)" },
	{ "remote", "the server's tls endpoint, if not the global remote" },
	{ "priority", "GnuTLS priority string for tls only (default: TLS 1.3, or 1.2 at least)" },
	{ "priority", "GnuTLS priority string for tls only (default: TLS 1.3, or 1.2 with ECDHE; AEAD ciphers only)" },
	{ "mtu", "path MTU the TCP segments are cut for, 576-65535, or auto: the kernel's, and 1280 after segments vanish (default auto)" },
	{ "rekey-bytes", "bytes one key protects on tls before it is renewed, if not the global rekey-bytes" },
	{ "rekey-records", "records one key protects on tls before it is renewed, if not the global rekey-records" },
	{ NULL, NULL },
};

/* A TCP stream: each message framed by its 2-byte length, inside TLS
 * records that add their header and tag once per up to 16 KiB. */
static const struct cv_wire tls_wire = {
	.size = sizeof(struct cv_wire),
	.flags = CV_WIRE_AT_LEAST,
	.ipproto = IPPROTO_TCP,
	.overhead = FRAME_HDR,
};

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "tls",
	.description = "TLS over TCP (GnuTLS), with X.509 certificates; the fallback where UDP is blocked",
	.flags = CV_TRANSPORT_SECURE | CV_TRANSPORT_RELIABLE | CV_TRANSPORT_GSO |
		 CV_TRANSPORT_LOOPS,
	.options = tls_options,
	.create = tls_create,
	.listen = tls_listen,
	.connect = tls_connect,
	.send = tls_send,
	.close = tls_close,
	.destroy = tls_destroy,
	.reload = tls_reload,
	.stats = tls_stats,
	.wire = &tls_wire,
	.describe = tls_describe,
};
