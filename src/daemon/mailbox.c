#include "mailbox.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* Dmitry Vyukov's intrusive multi-producer, single-consumer queue:
 * producers swap themselves in at head, the consumer walks from tail.
 * stub keeps the queue never empty. */
struct mailbox {
	struct letter *_Atomic head;
	struct letter *tail;		/* the owner's only */
	struct letter stub;
	struct loop *loop;
	int efd;
	/* Set by the first poster since the owner last looked: later
	 * posters need not wake it again. */
	atomic_bool kicked;
};

static void push(struct mailbox *box, struct letter *l)
{
	atomic_store_explicit(&l->next, NULL, memory_order_relaxed);
	struct letter *prev = atomic_exchange_explicit(&box->head, l,
						       memory_order_acq_rel);
	atomic_store_explicit(&prev->next, l, memory_order_release);
}

/* The oldest letter, or NULL when there is none or a poster is halfway
 * (it wakes the owner once done: kicked was cleared before). */
static struct letter *pop(struct mailbox *box)
{
	struct letter *tail = box->tail;
	struct letter *next = atomic_load_explicit(&tail->next,
						   memory_order_acquire);

	if (tail == &box->stub) {
		if (!next)
			return NULL;
		box->tail = tail = next;
		next = atomic_load_explicit(&tail->next, memory_order_acquire);
	}
	if (next) {
		box->tail = next;
		return tail;
	}
	if (tail != atomic_load_explicit(&box->head, memory_order_acquire))
		return NULL;
	push(box, &box->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (!next)
		return NULL;
	box->tail = next;
	return tail;
}

void mailbox_run(struct mailbox *box)
{
	struct letter *l;

	while ((l = pop(box))) {
		sem_t *done = l->done;
		l->fn(l->arg);
		if (done)
			sem_post(done);
		else
			free(l);
	}
}

static void on_mail(void *arg, int fd, uint32_t events)
{
	struct mailbox *box = arg;
	uint64_t n;

	(void)events;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("reading a mailbox's eventfd: %m");
	/* Before reading: a letter posted from now on wakes us again. */
	atomic_store(&box->kicked, false);
	mailbox_run(box);
}

void mailbox_post(struct mailbox *box, struct letter *letter)
{
	push(box, letter);
	if (!atomic_exchange(&box->kicked, true)) {
		uint64_t one = 1;
		/* Only EAGAIN can fail it (a counter near 2^64). */
		ssize_t n = write(box->efd, &one, sizeof(one));
		(void)n;
	}
}

int mailbox_new(struct loop *loop, struct mailbox **out)
{
	struct mailbox *box = calloc(1, sizeof(*box));

	if (!box)
		return -ENOMEM;
	atomic_init(&box->head, &box->stub);
	box->tail = &box->stub;
	box->loop = loop;
	box->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int err = box->efd < 0 ? -errno
			       : loop_watch(loop, box->efd, EPOLLIN, on_mail, box);
	if (err < 0) {
		if (box->efd >= 0)
			close(box->efd);
		free(box);
		return err;
	}
	*out = box;
	return 0;
}

void mailbox_free(struct mailbox *box)
{
	if (!box)
		return;
	mailbox_run(box);
	loop_unwatch(box->loop, box->efd);
	close(box->efd);
	free(box);
}
