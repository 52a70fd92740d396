/* A server's handshakes under way, oldest first. See hs_queue.h. */
#include "hs_queue.h"

#include <stddef.h>

void hs_queue_enter(struct hs_queue *q, struct hs_entry *e)
{
	e->prev = q->newest;
	e->next = NULL;
	if (q->newest)
		q->newest->next = e;
	else
		q->oldest = e;
	q->newest = e;
	q->n++;
	e->queued = true;
}

void hs_queue_leave(struct hs_queue *q, struct hs_entry *e)
{
	if (!e->queued)
		return;
	if (e->prev)
		e->prev->next = e->next;
	else
		q->oldest = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		q->newest = e->prev;
	e->prev = e->next = NULL;
	e->queued = false;
	q->n--;
}
