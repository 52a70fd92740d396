/*
 * A mailbox: how one event loop asks another thread's loop to run a
 * function. Any thread posts; the loop that owns the mailbox runs what
 * was posted, in order, from its own turn (an eventfd it watches wakes
 * it). Posting takes no lock: one atomic exchange (a Vyukov queue), and
 * a wakeup only when the owner may be asleep, so that packets handed
 * from loop to loop cost no system call each.
 */
#ifndef CULVERT_MAILBOX_H
#define CULVERT_MAILBOX_H

#include <semaphore.h>
#include <stdbool.h>

struct loop;
struct mailbox;

/* One letter: fn(arg) runs on the owner's loop. The mailbox frees the
 * letter after fn returns (so arg may point into the letter's own
 * allocation, which the letter starts), unless done is set: then the
 * poster owns it, and waits on done, which is posted after fn. */
struct letter {
	struct letter *_Atomic next;
	void (*fn)(void *arg);
	void *arg;
	sem_t *done;
};

/* A mailbox read by loop (watched on it). 0 or a negative errno. */
int mailbox_new(struct loop *loop, struct mailbox **out);
/* Letters still in it are run first (their loop has stopped: the
 * caller's thread stands in for it). */
void mailbox_free(struct mailbox *box);

/* From any thread. */
void mailbox_post(struct mailbox *box, struct letter *letter);
/* Run what is in it now, on the caller's thread (the owner's, or the
 * owner is gone). */
void mailbox_run(struct mailbox *box);

#endif
