/*
 * culvert-loadgen --attack: every session a stranger of one kind, for the
 * tests that prove the gateway withstands it. Bounded like any run by
 * --total and --duration, and aimed only where the test points it.
 *
 *   silent  completes the transport's handshake and never says hello:
 *           the gateway must end it (hello-timeout, or a newer link it
 *           gives way to), and other clients must still log in.
 *   gso1    says hello taking large segments and, once welcomed, sends
 *           one PROTO_DATA_GSO message of a TCP segment with 1000 bytes
 *           and a segment size of 1 to --attack-to (port 9): the gateway
 *           must drop it as malformed rather than make 1000 packets.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "loadgen.h"
#include "loop.h"
#include "proto.h"
#include "wire.h"

#define GSO1_PAYLOAD 1000
#define DISCARD_PORT 9

int lg_attack_parse(const char *name, enum lg_attack *out)
{
	if (strcmp(name, "silent") == 0)
		*out = LG_ATTACK_SILENT;
	else if (strcmp(name, "gso1") == 0)
		*out = LG_ATTACK_GSO1;
	else
		return -1;
	return 0;
}

uint8_t lg_attack_hello_flags(const struct lg *lg)
{
	return lg->opt.attack == LG_ATTACK_GSO1 ? PROTO_HELLO_DATA_GSO : 0;
}

bool lg_attack_link_up(struct cv_session *s)
{
	struct lg *lg = s->lg;

	s->link_ms = loop_now(lg->loop);
	if (lg->opt.attack != LG_ATTACK_SILENT)
		return false;
	/* Its handshake is over: --parallel lets the next one begin. The
	 * connect deadline stays armed: a link the gateway holds that long
	 * counts as a failure of the run. */
	s->state = LG_SILENT;
	lg->n_connecting--;
	lg_kick(lg);
	return true;
}

bool lg_attack_link_down(struct cv_session *s)
{
	struct lg *lg = s->lg;

	if (s->state != LG_SILENT)
		return false;
	lg->tot.silent_ended++;
	lg->tot.silent_ms += (uint64_t)(loop_now(lg->loop) - s->link_ms);
	return true;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t sum16(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	return sum;
}

/* The segment: its PROTO_DATA_GSO header, an IPv4 header with its
 * checksum, a TCP header whose checksum holds the pseudo-header's sum
 * (the receiver's kernel would finish it per segment), the payload. */
static size_t build_gso1(const struct cv_session *s, uint8_t *msg)
{
	struct cv_segmentation seg = {
		.flags = CV_MSG_NEEDS_CSUM, .gso_type = CV_GSO_TCPV4,
		.gso_size = 1,
	};
	uint8_t *ip = msg + PROTO_DATA_GSO_HDR, *tcp = ip + 20;
	size_t len = 20 + 20 + GSO1_PAYLOAD;

	memset(msg, 0, PROTO_DATA_GSO_HDR + len);
	proto_put_data_gso(msg, &seg);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)len);
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, &s->inner.v4, 4);
	memcpy(ip + 16, &s->lg->opt.attack_to.v4, 4);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20)));
	put16(tcp, 40000);
	put16(tcp + 2, DISCARD_PORT);
	put32(tcp + 4, 1);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;			/* PSH, ACK */
	put16(tcp + 14, 65535);
	memset(tcp + 20, 'x', GSO1_PAYLOAD);
	uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_TCP + (uint32_t)(len - 20);
	put16(tcp + 16, fold(pseudo));
	return PROTO_DATA_GSO_HDR + len;
}

void lg_attack_welcome(struct cv_session *s)
{
	struct lg *lg = s->lg;
	uint8_t msg[PROTO_DATA_GSO_HDR + 40 + GSO1_PAYLOAD];

	if (lg->opt.attack != LG_ATTACK_GSO1 || s->inner.family != AF_INET)
		return;
	struct cv_msg m = { .data = msg, .len = build_gso1(s, msg) };
	if (lg->t->send(s->inst, s->link, &m, 1) == 1)
		lg->tot.abuse_sent++;
}
