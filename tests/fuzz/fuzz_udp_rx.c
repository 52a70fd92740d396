/*
 * libFuzzer harness: the udp transport from a received batch to
 * deliver() (plugins/udp/udp_rx.c): which datagram reaches which peer's
 * session, the table of peers by address, and a core that refuses new
 * peers or closes links in the middle of a batch.
 *
 * Input: byte 0 picks server or client and the table's first size; byte
 * 1 the hash seed; then 4 bytes per datagram: the sender (one of 16
 * addresses, IPv4 and IPv6, some sharing an IP or a port), its length,
 * the core's answers (refuse the link, close it in deliver(), close
 * another link), and the end of a batch. The bytes of sockaddr_storage
 * that an address does not use are filled with input too.
 *
 * Properties: every datagram goes up once, in its sender's session and
 * in order, unless the core refused that sender's link; a session gets
 * only its own peer's datagrams; a closed link is never used again (ASan);
 * the table holds one link per live peer; nothing leaks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../plugins/common/plugin_util.h"
#include "../../plugins/udp/udp.h"
#include "fuzz.h"

#define PEERS 16
#define MAX_DGRAMS 512

struct cv_session {
	struct cv_link *link;
	unsigned int peer;
	unsigned int last_seq;	/* datagrams arrive in order */
	bool closed;
};

static struct {
	struct cv_instance *inst;
	const uint8_t *ops;		/* this datagram's core answers */
	struct sockaddr_storage addr[PEERS];
	socklen_t addr_len[PEERS];
	struct cv_session *live[PEERS];	/* the session of each peer, if any */
	unsigned int delivered[MAX_DGRAMS];
	unsigned int peer_of[MAX_DGRAMS];
	unsigned int seq_base;		/* datagram number of slot 0 */
	unsigned int n;			/* datagrams in this batch */
	unsigned int refused;		/* datagrams dropped by refusals */
	unsigned int closes;
	struct cv_session *all[MAX_DGRAMS + 1];	/* to free at the end */
	unsigned int n_all;
} f;

static void make_peers(void)
{
	static const char *const ip4[] = { "192.0.2.1", "192.0.2.2",
					   "198.51.100.7", "203.0.113.9" };
	static const char *const ip6[] = { "2001:db8::1", "2001:db8::2",
					   "::ffff:192.0.2.1", "2001:db8:1::1" };
	static const uint16_t ports[] = { 4433, 4434 };

	for (unsigned int i = 0; i < PEERS; i++) {
		memset(&f.addr[i], 0, sizeof(f.addr[i]));
		if (i < 8) {
			struct sockaddr_in *in = (void *)&f.addr[i];
			in->sin_family = AF_INET;
			in->sin_port = htons(ports[i & 1]);
			inet_pton(AF_INET, ip4[i / 2], &in->sin_addr);
			f.addr_len[i] = sizeof(*in);
		} else {
			struct sockaddr_in6 *in6 = (void *)&f.addr[i];
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(ports[i & 1]);
			inet_pton(AF_INET6, ip6[(i - 8) / 2], &in6->sin6_addr);
			f.addr_len[i] = sizeof(*in6);
		}
	}
}

static unsigned int peer_index(const struct sockaddr *sa)
{
	for (unsigned int i = 0; i < PEERS; i++) {
		if (sa->sa_family != f.addr[i].ss_family)
			continue;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)sa,
						 *b = (const void *)&f.addr[i];
			if (a->sin_port == b->sin_port &&
			    a->sin_addr.s_addr == b->sin_addr.s_addr)
				return i;
		} else {
			const struct sockaddr_in6 *a = (const void *)sa,
						  *b = (const void *)&f.addr[i];
			if (a->sin6_port == b->sin6_port &&
			    memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0)
				return i;
		}
	}
	fuzz_assert(0, "a link for an address nobody sent from");
	return 0;
}

static void fake_log(struct cv_host *host, int prio, const char *fmt, ...)
{
}

/* As the core's close(): udp_close() for a server's link, or the client's. */
static void core_close(struct cv_session *s)
{
	struct cv_instance *inst = f.inst;

	s->closed = true;
	f.live[s->peer] = NULL;
	if (inst->server) {
		udp_peer_remove(inst, s->link);
	} else if (s->link == inst->client) {
		free(inst->client);
		inst->client = NULL;
	}
	f.closes++;
}

static struct cv_session *fake_link_up(struct cv_host *host,
				       struct cv_link *link,
				       const struct cv_link_info *info)
{
	unsigned int p = peer_index(info->peer);
	unsigned int i = 0;

	fuzz_assert(f.inst->server, "a client's link came up in rx");
	fuzz_assert(info->peer_len == f.addr_len[p], "peer_len %u for %u",
		    info->peer_len, f.addr_len[p]);
	fuzz_assert(!f.live[p], "a second link for peer %u", p);
	/* Which datagram asked: the first of the batch from p not yet
	 * delivered. */
	while (i < f.n && (f.peer_of[f.seq_base + i] != p ||
			   f.delivered[f.seq_base + i]))
		i++;
	fuzz_assert(i < f.n, "link_up for a peer without a datagram");
	if (f.ops[4 * i] & 0x80) {
		/* Refused: this datagram is dropped; the next one from p
		 * asks again (there is no link to remember the refusal). */
		f.delivered[f.seq_base + i] = ~0u;
		f.refused++;
		return NULL;
	}
	struct cv_session *s = calloc(1, sizeof(*s));
	fuzz_assert(s, "out of memory");
	s->link = link;
	s->peer = p;
	f.live[p] = s;
	f.all[f.n_all++] = s;	/* one per datagram at most */
	return s;
}

static void fake_deliver(struct cv_host *host, struct cv_session *s,
			 const struct cv_msg *msgs, unsigned int count)
{
	struct cv_instance *inst = f.inst;

	fuzz_assert(s && !s->closed, "deliver to a closed session");
	fuzz_assert(count >= 1 && count <= f.n, "%u messages", count);
	unsigned int last = 0;
	for (unsigned int k = 0; k < count; k++) {
		unsigned int j = 0;
		while (j < f.n && dgram_rx_data(&inst->rx, j) != msgs[k].data)
			j++;
		fuzz_assert(j < f.n, "a message from no datagram");
		fuzz_assert(msgs[k].len == inst->rx.msg[j].msg_len, "length");
		fuzz_assert(!inst->server || f.peer_of[f.seq_base + j] == s->peer,
			    "peer %u's datagram in peer %u's session",
			    f.peer_of[f.seq_base + j], s->peer);
		fuzz_assert(f.delivered[f.seq_base + j] == 0, "datagram %u twice", j);
		fuzz_assert(k == 0 || j > last, "out of order");
		f.delivered[f.seq_base + j] = 1;
		last = j;
	}
	uint8_t op = f.ops[4 * last + 2];
	if (op & 0x01)
		core_close(s);		/* the core ends this session */
	if (op & 0x02) {		/* ... or another one */
		struct cv_session *other = f.live[(op >> 4) % PEERS];
		if (other && other != s && !other->closed)
			core_close(other);
	}
}

static void fake_link_down(struct cv_host *host, struct cv_session *s,
			   int err, const char *why)
{
	fuzz_assert(0, "link_down from rx");
}

static const struct cv_host_api api = {
	.size = sizeof(struct cv_host_api),
	.log = fake_log,
	.link_up = fake_link_up,
	.link_down = fake_link_down,
	.deliver = fake_deliver,
};

static void free_link(struct peer_node *node)
{
	free(container_of(node, struct cv_link, node));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	make_peers();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t bufs[DGRAM_BATCH][256];

	if (size < 2)
		return 0;
	struct cv_instance *inst = calloc(1, sizeof(*inst));
	fuzz_assert(inst, "out of memory");
	memset(&f.live, 0, sizeof(f.live));
	memset(f.delivered, 0, sizeof(f.delivered));
	f.inst = inst;
	f.refused = f.closes = f.n_all = 0;
	inst->api = &api;
	inst->server = !(data[0] & 1);
	inst->fd = -1;
	if (inst->server) {
		/* peer_table_init(), with a first size from the input. */
		struct peer_table *t = &inst->by_addr;
		t->seed = data[1];
		t->n_buckets = (size_t)1 << (data[0] >> 1 & 7);
		t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
		fuzz_assert(t->buckets, "out of memory");
	} else {
		inst->client = calloc(1, sizeof(*inst->client));
		fuzz_assert(inst->client, "out of memory");
		inst->client->inst = inst;
		inst->client->peer = f.addr[0];
		inst->client->peer_len = f.addr_len[0];
		if (!(data[0] & 2)) {	/* else: not up yet, datagrams dropped */
			struct cv_session *s = calloc(1, sizeof(*s));
			fuzz_assert(s, "out of memory");
			s->link = inst->client;
			inst->client->session = s;
			f.live[0] = s;
			f.all[f.n_all++] = s;
		}
	}
	inst->rx.buf = &bufs[0][0];
	inst->rx.slot = sizeof(bufs[0]);

	const uint8_t *p = data + 2, *end = data + size;
	unsigned int total = 0;
	while (end - p >= 4 && total < MAX_DGRAMS) {
		/* One batch: datagrams up to one that ends it, or BATCH. */
		f.seq_base = total;
		f.ops = p;
		f.n = 0;
		while (end - p >= 4 && f.n < DGRAM_BATCH && total < MAX_DGRAMS) {
			unsigned int i = f.n++, peer = p[0] % PEERS;
			size_t len = p[1];
			f.peer_of[total++] = inst->server ? peer : 0;
			inst->rx.addr[i] = f.addr[peer];
			/* What the kernel leaves alone in the storage: junk. */
			size_t used = f.addr_len[peer];
			for (size_t k = used; k < sizeof(inst->rx.addr[i]); k++)
				((uint8_t *)&inst->rx.addr[i])[k] = p[3] ^ (uint8_t)k;
			inst->rx.msg[i].msg_hdr.msg_namelen = (socklen_t)used;
			inst->rx.msg[i].msg_len = (unsigned int)len;
			memset(bufs[i], (int)i, len);
			bool last = p[3] & 0x80;
			p += 4;
			if (last)
				break;
		}
		unsigned int before = 0;
		for (unsigned int k = 0; k < f.n; k++)
			before += f.delivered[f.seq_base + k] != 0;
		fuzz_assert(before == 0, "delivered before it came");
		/* A client's link not up, or closed: its datagrams go nowhere
		 * (after a close, udp.c closed the socket too). */
		bool client_down = !inst->server && !f.live[0];
		udp_rx_dispatch(inst, f.n);
		/* Every datagram went up once, or its sender was refused. */
		for (unsigned int k = 0; k < f.n; k++) {
			unsigned int d = f.delivered[f.seq_base + k];
			fuzz_assert(d == 1 || d == ~0u || client_down,
				    "datagram %u of %u not delivered (peer %u)", k,
				    f.n, f.peer_of[f.seq_base + k]);
		}
		if (inst->server) {
			unsigned int live = 0;
			for (unsigned int k = 0; k < PEERS; k++)
				live += f.live[k] != NULL;
			fuzz_assert(inst->by_addr.n == live,
				    "%zu links for %u live peers", inst->by_addr.n,
				    live);
		}
	}

	/* udp_destroy() for the tables; sessions are the core's. */
	if (inst->server) {
		peer_table_drain(&inst->by_addr, free_link);
		peer_table_free(&inst->by_addr);
	} else {
		free(inst->client);
	}
	for (unsigned int m = 0; m < f.n_all; m++)
		free(f.all[m]);
	free(inst);
	return 0;
}
