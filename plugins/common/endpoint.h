/*
 * endpoint.h - where a transport listens or connects: the HOST:PORT and
 * [IPV6]:PORT values of 'listen' and 'remote', split and resolved the same
 * way by every transport, and the socket options that follow from them.
 *
 * The core checks the global keys' shape when it reads the config; a
 * transport's own [name] section may set them too, and is checked only
 * here. Nothing here keeps state.
 */
#ifndef CULVERT_ENDPOINT_H
#define CULVERT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <netdb.h>
#include <sys/socket.h>

#include <culvert/transport.h>

/*
 * Split "HOST:PORT" or "[IPV6]:PORT" into host (NUL-terminated, in a
 * buffer of host_size) and *port (pointing into value). Returns 0, or
 * -EINVAL when value is not of that shape or the host does not fit.
 * (The core's endpoint_split() in src/addr.c checks the same shape, and
 * the port's range; plugins do not link the core.)
 */
int endpoint_parse(const char *value, char *host, size_t host_size,
		   const char **port);

/*
 * Read key (e.g. "listen", "remote") through api->config_get and resolve
 * it for sockets of socktype (SOCK_STREAM, SOCK_DGRAM): passive for
 * bind(), else for connect(). On success *out is a list for
 * freeaddrinfo(), addresses in the order to try. Logs one line naming the
 * key and its value when it is unset, not an endpoint, or not resolvable,
 * and returns a negative errno: -EINVAL or -EHOSTUNREACH.
 */
int endpoint_resolve(const struct cv_host_api *api, struct cv_host *host,
		     const char *key, int socktype, bool passive,
		     struct addrinfo **out);

/* Let an IPv6 socket bound to [::] take IPv4 peers too (as ::ffff:a.b.c.d),
 * whatever net.ipv6.bindv6only says. Does nothing for other families;
 * best effort. */
void endpoint_dual_stack(int fd, int family);

/* A server's socket, before bind: when the core runs several event
 * loops (the core's 'threads' says how many), each has an instance of
 * the plugin listening on the same port (SO_REUSEPORT), and the kernel
 * gives each client to one of them, where it stays: its link lives in
 * that instance, by its addresses and ports (a TCP connection). Returns
 * 0, or a negative errno after logging. */
int endpoint_share_port(const struct cv_host_api *api, struct cv_host *host,
			int fd);
/* And after bind, for a UDP socket: a datagram goes by its source
 * address alone (a classic BPF program), so that a client whose port
 * changes (a roam) stays where its link is. 0, or a negative errno
 * after logging. */
int endpoint_steer_datagrams(const struct cv_host_api *api,
			     struct cv_host *host, int fd);

/* A client's socket carries the core's 'fwmark' (SO_MARK), so that its
 * packets take the physical path even when the tunnel is the default
 * route (the core's routing rules send marked packets to table main).
 * Returns 0, or a negative errno after logging: a socket without the
 * mark would send the tunnel's own packets into the tunnel. */
int endpoint_mark(const struct cv_host_api *api, struct cv_host *host,
		  int fd);

/* A client's socket leaves from the address 'source' names, when its
 * host sets that key (culvert-loadgen --source: one host holds more
 * connections to one gateway than one address has ephemeral ports).
 * Binds fd of family to it with port 0 (a TCP socket picks its port at
 * connect(), IP_BIND_ADDRESS_NO_PORT). Returns 0 (also when unset), or
 * a negative errno after logging the address and why. */
int endpoint_bind_source(const struct cv_host_api *api, struct cv_host *host,
			 int fd, int family, bool stream);

/*
 * culvert's one don't-fragment policy, for every socket of every shipped
 * transport, client and server: every outer packet carries DF, and no
 * outer packet is ever fragmented, by this host or on the way.
 *  - A datagram socket (udp, dtls; datagram true) gets IP_PMTUDISC_PROBE
 *    (IPV6_PMTUDISC_PROBE): DF on every datagram, a UDP_SEGMENT batch's
 *    too, and no datagram refused or cut for a path MTU the kernel
 *    learnt from an ICMP anyone may forge. One too large for the path
 *    is lost; the core's probes find the size that crosses
 *    (culvert-transport(7), "Path MTU").
 *  - A stream socket (tls) gets IP_PMTUDISC_DO (IPV6_PMTUDISC_DO): DF
 *    on every segment, and the kernel's path MTU discovery sizes them
 *    from ICMP; where no ICMP comes back, tls notices the stall.
 * An IPv6 socket gets both levels: the IPv4 one governs its IPv4 peers
 * (::ffff:a.b.c.d). Logs a warning when the kernel refuses it.
 */
void endpoint_dont_fragment(const struct cv_host_api *api, struct cv_host *host,
			    int fd, int family, bool datagram);

/* Send and receive buffers of size bytes. The FORCE variants pass
 * net.core.*mem_max when we may (root): a burst must not overflow a
 * default-sized buffer. Best effort. */
void endpoint_buffers(int fd, int size);

/* bind() or listen() on where (the value of 'listen') failed with errno
 * err: one line that says why, with a hint for the usual causes, naming
 * proto ("TCP", "UDP"). Returns -err. */
int endpoint_listen_failed(const struct cv_host_api *api, struct cv_host *host,
			   const char *where, const char *proto, int err);

/* Unwatch and close *fd, then set it to -1; nothing when it is -1. */
void endpoint_close(const struct cv_host_api *api, struct cv_host *host,
		    int *fd);

/* sa as the core and the log see it: an IPv4 peer of a [::] socket
 * (::ffff:a.b.c.d) as the IPv4 address it is; any other as it is (cut
 * to the size of *out). Returns the length of *out. */
socklen_t endpoint_unmap(const struct sockaddr *sa, socklen_t len,
			 struct sockaddr_storage *out);

/* Whether a and b are one source, ports aside: the same IPv4 address,
 * or IPv6 addresses equal in their first v6_bits (128: one address, 64:
 * one host's /64). */
bool endpoint_same_source(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b, unsigned int v6_bits);

/* "192.0.2.1:4433" or "[2001:db8::1]:4433", or "(unknown)". */
void endpoint_format(const struct sockaddr *sa, socklen_t len, char *buf,
		     size_t size);

#endif /* CULVERT_ENDPOINT_H */
