/*
 * hs_queue.h - a server's handshakes under way, oldest first, for
 * max-handshakes: when the queue is full, the oldest gives way to the
 * newcomer (gnutls_link.c says why). Intrusive: a link embeds a struct
 * hs_entry. Nothing here frees anything.
 */
#ifndef CULVERT_HS_QUEUE_H
#define CULVERT_HS_QUEUE_H

#include <stdbool.h>

struct hs_entry {
	struct hs_entry *prev, *next;
	bool queued;
};

struct hs_queue {
	struct hs_entry *oldest, *newest;
	unsigned int n;
};

/* e joins as the newest. */
void hs_queue_enter(struct hs_queue *q, struct hs_entry *e);
/* e leaves, wherever it is; nothing when it is not queued. */
void hs_queue_leave(struct hs_queue *q, struct hs_entry *e);

#endif /* CULVERT_HS_QUEUE_H */
