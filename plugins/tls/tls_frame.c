#include "tls_frame.h"

#include <string.h>

size_t tls_frame_put(uint8_t *out, const uint8_t *msg, size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + TLS_FRAME_HDR, msg, len);
	return TLS_FRAME_HDR + len;
}

enum tls_frame_status tls_frame_split(const uint8_t *buf, size_t len,
				      struct cv_msg *msgs, unsigned int max,
				      unsigned int *count, size_t *used)
{
	enum tls_frame_status status = TLS_FRAME_OK;
	unsigned int n = 0;
	size_t off = 0;

	while (len - off >= TLS_FRAME_HDR) {
		if (n == max) {
			status = TLS_FRAME_FULL;
			break;
		}
		size_t msg_len = (size_t)buf[off] << 8 | buf[off + 1];
		if (msg_len == 0) {
			status = TLS_FRAME_ZERO;
			break;
		}
		if (len - off - TLS_FRAME_HDR < msg_len)
			break;
		msgs[n++] = (struct cv_msg){
			.data = (uint8_t *)buf + off + TLS_FRAME_HDR,
			.len = msg_len,
		};
		off += TLS_FRAME_HDR + msg_len;
	}
	*count = n;
	*used = off;
	return status;
}
