/*
 * dgram_errors.h - ICMP errors on a client's connected UDP socket, as
 * udp and dtls read them (IP_RECVERR, IPV6_RECVERR): above all "port
 * unreachable" from the server's own address, which says that nothing
 * listens there any more (the server stopped, or crashed and has not
 * started again). Not a proof: ICMP is not authenticated, though the
 * kernel matches it against the socket's addresses and ports.
 */
#ifndef CULVERT_DGRAM_ERRORS_H
#define CULVERT_DGRAM_ERRORS_H

#include <stdbool.h>
#include <sys/socket.h>

/* Queue the ICMP errors of fd (a socket of family) with their details,
 * for dgram_errors_read. Best effort. */
void dgram_errors_on(int fd, int family);

/* Read every error queued on fd (an epoll error event stays until the
 * queue is empty). True when one was "port unreachable" sent by peer
 * itself, not by a router on the way. */
bool dgram_errors_read(int fd, const struct sockaddr *peer, socklen_t len);

#endif /* CULVERT_DGRAM_ERRORS_H */
