/*
 * The event loop: epoll for file descriptors, a heap of one-shot timers,
 * signals through a signalfd, and a hook run once per turn before the loop
 * sleeps. Everything else in culvertd is a callback registered here; no
 * other file calls epoll_wait or sleeps.
 */
#ifndef CULVERT_LOOP_H
#define CULVERT_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

typedef void loop_fd_cb(void *arg, int fd, uint32_t events);
typedef void loop_timer_cb(void *arg);
typedef void loop_signal_cb(void *arg, int signo);
typedef void loop_hook_cb(void *arg);

int loop_new(struct loop **out);
/* Frees the loop. Whoever created a timer frees it, before this. */
void loop_free(struct loop *loop);

/* events: EPOLLIN/EPOLLOUT mask. Watching a watched fd changes its
 * events and callback. Returns 0 or a negative errno. */
int loop_watch(struct loop *loop, int fd, uint32_t events, loop_fd_cb *cb,
	       void *arg);
/* Safe from inside any callback, also for an fd with events pending in
 * this turn: its callback is not called again. */
void loop_unwatch(struct loop *loop, int fd);

/* Timers are created disarmed. Arming an armed timer moves it; a
 * negative msec disarms. NULL on allocation failure. */
struct loop_timer *loop_timer_new(struct loop *loop, loop_timer_cb *cb,
				  void *arg);
void loop_timer_arm(struct loop_timer *timer, int64_t msec);
void loop_timer_free(struct loop_timer *timer);

/* Handle signo on the loop instead of asynchronously (it is blocked). */
int loop_signal(struct loop *loop, int signo, loop_signal_cb *cb, void *arg);

/* Called once per turn, after the ready events and timers ran and before
 * the loop sleeps: where batched work is flushed. */
void loop_before_sleep(struct loop *loop, loop_hook_cb *cb, void *arg);

/* Runs until loop_stop(); returns 0, or a negative errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* Monotonic milliseconds, read once per turn. */
int64_t loop_now(const struct loop *loop);

#endif
