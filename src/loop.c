#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOOP_MAX_EVENTS 64
#define LOOP_MAX_SIGNAL 65

struct watch {
	int fd;
	loop_fd_cb *cb;		/* NULL once unwatched */
	void *arg;
	struct watch *next_dead;
};

struct loop_timer {
	struct loop *loop;
	loop_timer_cb *cb;
	void *arg;
	int64_t due;
	size_t heap_index;	/* SIZE_MAX while disarmed */
};

struct signal_handler {
	loop_signal_cb *cb;
	void *arg;
};

struct loop {
	int epfd;
	int sigfd;
	sigset_t sigmask;
	bool running;
	int64_t now;

	/* fd -> watch, so that unwatch finds the watch by fd. */
	struct watch **watches;
	size_t n_watches;
	/* Unwatched during a turn; freed after it, since an epoll event
	 * already fetched may still point at them. */
	struct watch *dead;

	struct loop_timer **heap;
	size_t heap_len, heap_cap;

	struct signal_handler signals[LOOP_MAX_SIGNAL];
};

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t loop_now(const struct loop *loop)
{
	return loop->now;
}

int loop_new(struct loop **out)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return -ENOMEM;
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		int err = -errno;
		free(loop);
		return err;
	}
	loop->now = monotonic_ms();
	*out = loop;
	return 0;
}

static void free_dead(struct loop *loop)
{
	while (loop->dead) {
		struct watch *w = loop->dead;
		loop->dead = w->next_dead;
		free(w);
	}
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->n_watches; i++)
		free(loop->watches[i]);
	free(loop->watches);
	free_dead(loop);
	for (size_t i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_index = SIZE_MAX;
	free(loop->heap);
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		sigprocmask(SIG_UNBLOCK, &loop->sigmask, NULL);
	}
	close(loop->epfd);
	free(loop);
}

/* ---- file descriptors */

static int grow_watches(struct loop *loop, int fd)
{
	size_t n = loop->n_watches ? loop->n_watches : 64;

	while (n <= (size_t)fd)
		n *= 2;
	struct watch **w = realloc(loop->watches, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + loop->n_watches, 0, (n - loop->n_watches) * sizeof(*w));
	loop->watches = w;
	loop->n_watches = n;
	return 0;
}

int loop_watch(struct loop *loop, int fd, uint32_t events, loop_fd_cb *cb,
	       void *arg)
{
	if (fd < 0)
		return -EBADF;
	if ((size_t)fd >= loop->n_watches && grow_watches(loop, fd) < 0)
		return -ENOMEM;

	struct watch *w = loop->watches[fd];
	bool added = !w;
	if (added) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->fd = fd;
	}
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(loop->epfd, added ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd,
		      &ev) < 0) {
		int err = -errno;
		if (added)
			free(w);
		return err;
	}
	w->cb = cb;
	w->arg = arg;
	loop->watches[fd] = w;
	return 0;
}

void loop_unwatch(struct loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_watches || !loop->watches[fd])
		return;
	struct watch *w = loop->watches[fd];
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->watches[fd] = NULL;
	w->cb = NULL;
	w->next_dead = loop->dead;
	loop->dead = w;
}

/* ---- timers: a binary min-heap on the due time */

static void heap_set(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (loop->heap[parent]->due <= t->due)
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->due < loop->heap[child]->due)
			child++;
		if (t->due <= loop->heap[child]->due)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->heap_index;
	struct loop_timer *last = loop->heap[--loop->heap_len];

	t->heap_index = SIZE_MAX;
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_index);
}

static int heap_insert(struct loop *loop, struct loop_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct loop_timer **h = realloc(loop->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		loop->heap = h;
		loop->heap_cap = cap;
	}
	heap_set(loop, loop->heap_len++, t);
	heap_up(loop, t->heap_index);
	return 0;
}

struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_cb *cb,
				  void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	t->heap_index = SIZE_MAX;
	return t;
}

void loop_timer_arm(struct loop_timer *t, int64_t msec)
{
	struct loop *loop = t->loop;

	if (t->heap_index != SIZE_MAX)
		heap_remove(loop, t);
	if (msec < 0)
		return;
	t->due = monotonic_ms() + msec;
	if (heap_insert(loop, t) < 0)
		log_err("cannot arm a timer: out of memory");
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	if (t->heap_index != SIZE_MAX)
		heap_remove(t->loop, t);
	free(t);
}

static void run_timers(struct loop *loop)
{
	while (loop->heap_len > 0 && loop->heap[0]->due <= loop->now) {
		struct loop_timer *t = loop->heap[0];
		heap_remove(loop, t);
		t->cb(t->arg);	/* may re-arm or free t */
	}
}

static int next_timeout(const struct loop *loop)
{
	if (loop->heap_len == 0)
		return -1;
	int64_t wait = loop->heap[0]->due - monotonic_ms();
	if (wait <= 0)
		return 0;
	return wait > 60000 ? 60000 : (int)wait;
}

/* ---- signals */

static void on_signalfd(void *arg, int fd, uint32_t events)
{
	struct loop *loop = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo < LOOP_MAX_SIGNAL &&
		    loop->signals[si.ssi_signo].cb)
			loop->signals[si.ssi_signo].cb(
				loop->signals[si.ssi_signo].arg,
				(int)si.ssi_signo);
	}
}

int loop_signal(struct loop *loop, int signo, loop_signal_cb *cb, void *arg)
{
	if (signo <= 0 || signo >= LOOP_MAX_SIGNAL)
		return -EINVAL;
	sigaddset(&loop->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &loop->sigmask, NULL) < 0)
		return -errno;
	int fd = signalfd(loop->sigfd, &loop->sigmask,
			  SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		int err = loop_watch(loop, fd, EPOLLIN, on_signalfd, loop);
		if (err < 0)
			return err;
	}
	loop->signals[signo].cb = cb;
	loop->signals[signo].arg = arg;
	return 0;
}

/* ---- the loop */

void loop_stop(struct loop *loop)
{
	loop->running = false;
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	loop->running = true;
	while (loop->running) {
		int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS,
				   next_timeout(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = -errno;
			log_err("epoll_wait: %s", strerror(errno));
			return err;
		}
		loop->now = monotonic_ms();
		for (int i = 0; i < n && loop->running; i++) {
			struct watch *w = events[i].data.ptr;
			if (w->cb)
				w->cb(w->arg, w->fd, events[i].events);
		}
		free_dead(loop);
		if (loop->running)
			run_timers(loop);
	}
	return 0;
}
