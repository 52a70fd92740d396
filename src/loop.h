/*
 * The event loop: epoll for file descriptors, a heap of one-shot timers,
 * and signals through a signalfd. Everything else in culvertd is a
 * callback registered here; no other file calls epoll_wait or sleeps.
 *
 * There is no hook before the loop sleeps: the packet path batches within
 * one callback (a read of up to 128 packets from TUN ends with its
 * sends; a plugin's deliver() of a batch ends with its writes into TUN,
 * since the plugin lends those buffers only for the call), so nothing is
 * left to flush between turns.
 */
#ifndef CULVERT_LOOP_H
#define CULVERT_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

typedef void loop_fd_cb(void *arg, int fd, uint32_t events);
typedef void loop_timer_cb(void *arg);
typedef void loop_signal_cb(void *arg, int signo);

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

/* Runs until loop_stop(); returns 0, or a negative errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* Monotonic milliseconds, read once per turn. */
int64_t loop_now(const struct loop *loop);

#endif
