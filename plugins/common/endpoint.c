/*
 * Splitting and resolving 'listen' and 'remote' for the transports. See
 * endpoint.h.
 */
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/filter.h>

int endpoint_parse(const char *value, char *host, size_t host_size,
		   const char **port)
{
	const char *start = value, *end, *colon;

	if (value[0] == '[') {
		start = value + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		/* One colon only: a bare IPv6 address would be ambiguous. */
		colon = strrchr(value, ':');
		if (!colon || strchr(value, ':') != colon)
			return -EINVAL;
		end = colon;
	}
	if (end == start || (size_t)(end - start) >= host_size || !colon[1])
		return -EINVAL;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	*port = colon + 1;
	return 0;
}

int endpoint_resolve(const struct cv_host_api *api, struct cv_host *host,
		     const char *key, int socktype, bool passive,
		     struct addrinfo **out)
{
	const char *value = api->config_get(host, key);
	char name[256];
	const char *port;

	if (!value) {
		api->log(host, CV_LOG_ERR, "'%s' is not set", key);
		return -EINVAL;
	}
	if (endpoint_parse(value, name, sizeof(name), &port) < 0) {
		api->log(host, CV_LOG_ERR,
			 "'%s': '%s' is not an endpoint (expected HOST:PORT or [IPV6]:PORT)",
			 key, value);
		return -EINVAL;
	}
	struct addrinfo hints = {
		.ai_socktype = socktype,
		.ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP
			       : socktype == SOCK_DGRAM ? IPPROTO_UDP
			       : 0,
		.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG,
	};
	int rc = getaddrinfo(name, port, &hints, out);
	if (rc != 0) {
		api->log(host, CV_LOG_ERR, "cannot resolve %s '%s': %s", key,
			 value, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

void endpoint_dual_stack(int fd, int family)
{
	int off = 0;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
}

/*
 * Which socket of the port's group a datagram goes to: a hash of its
 * source address alone, not of its port. A client whose NAT gives it a
 * new port (a roam, which udp and dtls follow) then stays with the
 * instance that holds its link; one that comes from a new address
 * starts a new session, which a stateless reset hurries. Classic BPF
 * sees the IP header at SKF_NET_OFF, whichever family the socket is.
 */
static int steer_by_address(int fd, unsigned int loops)
{
	struct sock_filter code[] = {
		/* IPv4 or IPv6? */
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, SKF_NET_OFF + 0),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 2, 0),
		/* IPv4: its source address */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_JMP | BPF_JA, 10),
		/* IPv6: the four words of its source address, xored */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 8),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 16),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 20),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* Fibonacci hashing: neighbouring addresses spread too */
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9e3779b1u),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, loops),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
			  sizeof(prog)) < 0 ? -errno : 0;
}

/* The core's event loops, as 'threads' says: 1 on a client. */
static unsigned int loops_of(const struct cv_host_api *api,
			     struct cv_host *host)
{
	const char *loops = api->config_get(host, "threads");
	unsigned long n = loops ? strtoul(loops, NULL, 10) : 1;

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned int)n;
}

int endpoint_share_port(const struct cv_host_api *api, struct cv_host *host,
			int fd)
{
	unsigned int n = loops_of(api, host);
	int on = 1;

	if (n < 2 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
				sizeof(on)) == 0)
		return 0;
	int err = errno;
	api->log(host, CV_LOG_ERR,
		 "cannot share the listening port among %u event loops (SO_REUSEPORT): %s",
		 n, strerror(err));
	return -err;
}

int endpoint_steer_datagrams(const struct cv_host_api *api,
			     struct cv_host *host, int fd)
{
	unsigned int n = loops_of(api, host);

	if (n < 2)
		return 0;
	/* Once bound, in the port's group: attached before, the program
	 * would make a group of its own, which bind then finds taken. */
	int err = steer_by_address(fd, n);
	if (err < 0)
		api->log(host, CV_LOG_ERR,
			 "cannot steer datagrams among %u event loops by address (SO_ATTACH_REUSEPORT_CBPF): %s",
			 n, strerror(-err));
	return err;
}

int endpoint_mark(const struct cv_host_api *api, struct cv_host *host, int fd)
{
	const char *value = api->config_get(host, "fwmark");
	char *end;

	if (!value)
		return 0;
	errno = 0;
	unsigned long mark = strtoul(value, &end, 0);
	if (errno || *end || mark == 0 || mark > 0xffffffffUL) {
		api->log(host, CV_LOG_ERR, "'fwmark': '%s' is not a mark", value);
		return -EINVAL;
	}
	unsigned int m = (unsigned int)mark;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &m, sizeof(m)) < 0) {
		int err = -errno;
		api->log(host, CV_LOG_ERR,
			 "cannot mark the socket with fwmark %u (SO_MARK needs CAP_NET_ADMIN): %s",
			 m, strerror(errno));
		return err;
	}
	return 0;
}

int endpoint_bind_source(const struct cv_host_api *api, struct cv_host *host,
			 int fd, int family, bool stream)
{
	const char *value = api->config_get(host, "source");
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET6 ? sizeof(*sin6) : sizeof(*sin);
	int one = 1;

	if (!value)
		return 0;
	if (inet_pton(family, value, family == AF_INET6 ? (void *)&sin6->sin6_addr
							 : (void *)&sin->sin_addr) != 1) {
		api->log(host, CV_LOG_ERR,
			 "'source': '%s' is not an %s address, as the remote's is",
			 value, family == AF_INET6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	if (stream)	/* the port at connect(): one per destination */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = -errno;
		api->log(host, CV_LOG_ERR, "cannot send from 'source' %s: %s",
			 value, strerror(errno));
		return err;
	}
	return 0;
}

void endpoint_dont_fragment(const struct cv_host_api *api, struct cv_host *host,
			    int fd, int family, bool datagram)
{
	int v4 = datagram ? IP_PMTUDISC_PROBE : IP_PMTUDISC_DO;
	int v6 = datagram ? IPV6_PMTUDISC_PROBE : IPV6_PMTUDISC_DO;
	int err = 0;

	if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4)) < 0)
		err = errno;
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6)) < 0)
		err = errno;
	if (err)
		api->log(host, CV_LOG_WARNING,
			 "cannot forbid fragmenting the outer packets (IP_MTU_DISCOVER): %s; they may be fragmented on the way",
			 strerror(err));
}

void endpoint_buffers(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int endpoint_listen_failed(const struct cv_host_api *api, struct cv_host *host,
			   const char *where, const char *proto, int err)
{
	api->log(host, CV_LOG_ERR, "cannot listen on %s (%s): %s%s", where,
		 proto, strerror(err),
		 err == EADDRINUSE ? " (another program, or another culvertd, has it)"
		 : err == EADDRNOTAVAIL ? " (no interface here has that address)"
		 : "");
	return -err;
}

void endpoint_close(const struct cv_host_api *api, struct cv_host *host,
		    int *fd)
{
	if (*fd < 0)
		return;
	api->unwatch(host, *fd);
	close(*fd);
	*fd = -1;
}

socklen_t endpoint_unmap(const struct sockaddr *sa, socklen_t len,
			 struct sockaddr_storage *out)
{
	const struct sockaddr_in6 *in6 = (const void *)sa;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET6 && len >= sizeof(*in6) &&
	    IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		struct sockaddr_in *in = (void *)out;
		in->sin_family = AF_INET;
		in->sin_port = in6->sin6_port;
		memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
		return sizeof(*in);
	}
	if (len > sizeof(*out))
		len = sizeof(*out);
	memcpy(out, sa, len);
	return len;
}

void endpoint_format(const struct sockaddr *sa, socklen_t len, char *buf,
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

bool endpoint_same_source(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b, unsigned int v6_bits)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	       memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr,
		      v6_bits / 8) == 0;
}
