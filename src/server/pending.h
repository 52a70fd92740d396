/*
 * The links that have not said hello yet. Until it does, a link is a
 * stranger that holds memory and a socket: anyone who completes a TLS
 * handshake can make one, and without a hello it proves nothing.
 *
 * So their places are shared out: at most PENDING_MAX at once, of which
 * one host (an IPv4 address, an IPv6 /64) holds at most PENDING_PER_HOST
 * and one network (an IPv4 /24, an IPv6 /48) at most PENDING_PER_NETWORK.
 * When a newcomer finds its host's, its network's or everyone's places
 * taken, the oldest link holding them gives way, as max-handshakes does
 * in the plugins: a real client says hello within a round trip and is
 * hardly ever the oldest, while a flood that holds every place would
 * otherwise keep real clients out for as long as it lasts. A host can
 * thus only push out its own links (and its network's), never another
 * network's, until everyone's places are taken.
 *
 * A link leaves when it says hello (then the password checks and their
 * limits take over), ends, or gives way.
 */
#ifndef CULVERT_PENDING_H
#define CULVERT_PENDING_H

#include <stdbool.h>
#include <sys/socket.h>

#define PENDING_MAX 1024
#define PENDING_PER_HOST 64
#define PENDING_PER_NETWORK 256

struct pending;
struct pending_group;

/* One link's place, inside its session. */
struct pending_place {
	struct pending_place *older[3], *newer[3];	/* per enum level */
	struct pending_group *group[2];		/* its host, its network */
	bool held;
};

/* Whose places a newcomer found taken. */
enum pending_level { PENDING_HOST, PENDING_NETWORK, PENDING_ALL };

int pending_new(struct pending **out);
void pending_free(struct pending *p);

/* A link from sa is about to wait for hello: the place that must give
 * way to it first (the oldest of its host's, its network's or
 * everyone's, whichever is full; *level says which), or NULL when there
 * is room. Give that place up (pending_leave) and ask again. */
struct pending_place *pending_full(struct pending *p, const struct sockaddr *sa,
				   enum pending_level *level);
/* pl takes a place for a link from sa; -ENOMEM. */
int pending_enter(struct pending *p, struct pending_place *pl,
		  const struct sockaddr *sa);
/* pl gives its place up; nothing when it holds none. */
void pending_leave(struct pending *p, struct pending_place *pl);
/* Places taken, in all. */
unsigned int pending_count(const struct pending *p);
/* The share of level, for log lines. */
unsigned int pending_share(enum pending_level level);

#endif
