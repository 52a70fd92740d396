/*
 * Checks of the network around the tunnel that culvertd cannot fix by
 * itself, each explained in the log with the command that fixes it: the
 * mistakes that make a hand-built VPN fail silently.
 */
#ifndef CULVERT_NETCHECK_H
#define CULVERT_NETCHECK_H

struct config;

/* 1 when the kernel forwards IPv4 between interfaces, 0 when not, a
 * negative errno when it cannot tell. */
int netcheck_ipv4_forwarding(void);

/* Warn about what would keep clients from the networks the server
 * pushes. Returns how many warnings it logged. */
int netcheck_server(const struct config *cfg);

#endif
