/*
 * libFuzzer harness: the control protocol decoder (src/proto.c), which
 * reads whatever a peer sends before and after it has authenticated.
 *
 * Beyond "does not crash": every message that decodes must encode again,
 * into no more bytes than it came in (the encoder writes only what the
 * decoder kept), decode to the same message, and encode to the same bytes
 * the second time; and an encoder given one byte too few must say -ENOSPC
 * without writing past the buffer.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

static void same_addr(const struct cv_addr *a, const struct cv_addr *b,
		      const char *what)
{
	fuzz_assert(a->family == b->family, "%s family %u, then %u", what,
		    a->family, b->family);
	fuzz_assert(memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0,
		    "%s changed in a round trip", what);
}

static void same_prefix(const struct cv_prefix *a, const struct cv_prefix *b,
			const char *what)
{
	same_addr(&a->addr, &b->addr, what);
	fuzz_assert(a->len == b->len, "%s length %u, then %u", what, a->len,
		    b->len);
}

/* a decoded, encoded and decoded again is b. */
static void same_msg(const struct proto_msg *a, const struct proto_msg *b)
{
	fuzz_assert(a->type == b->type, "type 0x%02x, then 0x%02x", a->type,
		    b->type);
	switch (a->type) {
	case PROTO_HELLO:
		fuzz_assert(a->hello.version == b->hello.version, "version");
		fuzz_assert(a->hello.nonce == b->hello.nonce, "hello nonce");
		fuzz_assert(strcmp(a->hello.username, b->hello.username) == 0,
			    "username '%s', then '%s'", a->hello.username,
			    b->hello.username);
		fuzz_assert(strcmp(a->hello.password, b->hello.password) == 0,
			    "password changed in a round trip");
		same_addr(&a->hello.previous4, &b->hello.previous4,
			  "previous4");
		break;
	case PROTO_WELCOME: {
		const struct proto_welcome *x = &a->welcome, *y = &b->welcome;
		fuzz_assert(x->nonce == y->nonce, "welcome nonce");
		same_prefix(&x->addr4, &y->addr4, "addr4");
		same_addr(&x->server4, &y->server4, "server4");
		fuzz_assert(x->mtu == y->mtu, "mtu %u, then %u", x->mtu,
			    y->mtu);
		fuzz_assert(x->keepalive_interval == y->keepalive_interval &&
				    x->keepalive_timeout == y->keepalive_timeout,
			    "keepalive");
		fuzz_assert(x->n_routes == y->n_routes, "%u routes, then %u",
			    x->n_routes, y->n_routes);
		for (unsigned int i = 0; i < x->n_routes; i++)
			same_prefix(&x->routes[i], &y->routes[i], "route");
		break;
	}
	case PROTO_REFUSE:
		fuzz_assert(a->refuse.reason == b->refuse.reason, "reason");
		fuzz_assert(strcmp(a->refuse.text, b->refuse.text) == 0,
			    "text '%s', then '%s'", a->refuse.text,
			    b->refuse.text);
		break;
	case PROTO_MOVE:	/* the type alone */
		break;
	case PROTO_BYE:
		fuzz_assert(a->bye.reason == b->bye.reason, "bye reason");
		break;
	case PROTO_KEEPALIVE:
		break;
	case PROTO_RESET:
		/* Its length is part of the disguise: kept as decoded. */
		fuzz_assert(a->reset.len == b->reset.len, "reset of %u bytes, then %u",
			    a->reset.len, b->reset.len);
		fuzz_assert(memcmp(a->reset.token, b->reset.token,
				   sizeof(a->reset.token)) == 0,
			    "reset token changed in a round trip");
		break;
	default:
		fuzz_assert(0, "decoded an unknown type 0x%02x", a->type);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proto_msg m, again;	/* 1.6 KiB each: off the stack */
	const char *why = NULL;

	int err = proto_decode(data, size, &m, &why);
	if (err < 0) {
		fuzz_assert(err == -EBADMSG, "proto_decode returned %d", err);
		fuzz_assert(why && *why, "an error without a reason");
		fuzz_assert(strlen(why) < 200, "reason of %zu bytes",
			    strlen(why));
		return 0;
	}
	fuzz_assert(err == 0, "proto_decode returned %d", err);
	fuzz_assert(m.type != PROTO_DATA, "data decoded as control");
	(void)proto_type_name(m.type);
	if (m.type == PROTO_REFUSE || m.type == PROTO_BYE)
		(void)proto_reason_name(m.type == PROTO_BYE ? m.bye.reason
							    : m.refuse.reason);
	if (m.type == PROTO_REFUSE)
		for (const char *c = m.refuse.text; *c; c++)
			fuzz_assert(*c >= 0x20 && *c <= 0x7e,
				    "refuse text holds byte 0x%02x",
				    (unsigned char)*c);

	uint8_t buf[PROTO_MAX_CONTROL];
	ssize_t n = proto_encode(&m, buf, sizeof(buf));
	fuzz_assert(n > 0, "a decoded %s does not encode: %zd",
		    proto_type_name(m.type), n);
	fuzz_assert((size_t)n <= size, "%zu bytes encode to %zd", size, n);
	err = proto_decode(buf, (size_t)n, &again, &why);
	fuzz_assert(err == 0, "re-encoded %s does not decode: %s",
		    proto_type_name(m.type), why);
	same_msg(&m, &again);

	uint8_t buf2[PROTO_MAX_CONTROL];
	ssize_t n2 = proto_encode(&again, buf2, sizeof(buf2));
	fuzz_assert(n2 == n && memcmp(buf, buf2, (size_t)n) == 0,
		    "encoding is not stable (%zd bytes, then %zd)", n, n2);

	/* Exactly one byte short, on the heap so ASan sees an overflow. */
	uint8_t *tight = malloc(n > 1 ? (size_t)n - 1 : 1);
	fuzz_assert(tight, "out of memory");
	ssize_t short_n = proto_encode(&m, tight, (size_t)n - 1);
	fuzz_assert(short_n == -ENOSPC, "%zd bytes into %zd: %zd", n, n - 1,
		    short_n);
	free(tight);
	return 0;
}
