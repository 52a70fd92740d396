/* ICMP errors on a client's connected UDP socket: see dgram_errors.h. */
#include "dgram_errors.h"

#include <string.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <linux/errqueue.h>

/* Errors read per call at most: the queue is bounded by the socket's
 * receive buffer, and the loop must go on. */
#define ERRORS_PER_READ 16

void dgram_errors_on(int fd, int family)
{
	int on = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	/* An IPv6 socket carries IPv4 peers too (::ffff:a.b.c.d), whose
	 * errors come as IPv4 ones. */
	setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
}

/* Whether the ICMP error came from peer's own address: the offender
 * follows the sock_extended_err in the control message. */
static bool from_peer(const struct sock_extended_err *ee,
		      const struct sockaddr *peer, socklen_t len)
{
	const struct sockaddr *off = SO_EE_OFFENDER(ee);

	if (off->sa_family == AF_INET && peer->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)off)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)(const void *)peer)->sin_addr.s_addr;
	if (off->sa_family == AF_INET6 && peer->sa_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)(const void *)off)->sin6_addr,
			      &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr,
			      16) == 0;
	/* An IPv4 peer of an IPv6 socket: ::ffff:a.b.c.d against a.b.c.d. */
	if (off->sa_family == AF_INET && peer->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
		return IN6_IS_ADDR_V4MAPPED(a) &&
		       memcmp(&a->s6_addr[12],
			      &((const struct sockaddr_in *)(const void *)off)->sin_addr,
			      4) == 0;
	}
	return false;
}

static bool port_unreachable(const struct sock_extended_err *ee)
{
	return (ee->ee_origin == SO_EE_ORIGIN_ICMP &&
		ee->ee_type == ICMP_DEST_UNREACH &&
		ee->ee_code == ICMP_PORT_UNREACH) ||
	       (ee->ee_origin == SO_EE_ORIGIN_ICMP6 &&
		ee->ee_type == ICMP6_DST_UNREACH &&
		ee->ee_code == ICMP6_DST_UNREACH_NOPORT);
}

bool dgram_errors_read(int fd, const struct sockaddr *peer, socklen_t len)
{
	bool refused = false;

	for (unsigned int i = 0; i < ERRORS_PER_READ; i++) {
		uint8_t data[64];
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
					       sizeof(struct sockaddr_in6))];
		} ctrl;
		struct iovec iov = { data, sizeof(data) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
		};
		if (recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (!((c->cmsg_level == IPPROTO_IP &&
			       c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == IPPROTO_IPV6 &&
			       c->cmsg_type == IPV6_RECVERR)))
				continue;
			const struct sock_extended_err *ee =
				(const void *)CMSG_DATA(c);
			if (port_unreachable(ee) && from_peer(ee, peer, len))
				refused = true;
		}
	}
	return refused;
}
