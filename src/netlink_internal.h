/* What netlink.c lends the files that speak other rtnetlink messages
 * (netlink_table.c): a request in the socket's buffer, and the exchange
 * that sends it and reads the answer. Not for other files. */
#ifndef CULVERT_NETLINK_INTERNAL_H
#define CULVERT_NETLINK_INTERNAL_H

#include <stdint.h>
#include <linux/netlink.h>

#include "netlink.h"

/* A request of type with NLM_F_ACK and flags, built in nl's buffer; valid
 * until the next call on nl. */
struct nlmsghdr *nl_request(struct nl *nl, uint16_t type, uint16_t flags);
/* The same for a dump, which ends with NLMSG_DONE instead of an ack. */
struct nlmsghdr *nl_dump_request(struct nl *nl, uint16_t type);
/* Send nlh and wait for its ack or the end of its dump; fn (when not NULL)
 * reads each object the kernel sends back (a libmnl callback). */
int nl_transact(struct nl *nl, const struct nlmsghdr *nlh, const char **why,
		int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg);

#endif
