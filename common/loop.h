#ifndef SG_COMMON_LOOP_H
#define SG_COMMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/macros.h"

/*
 * Loop: one event loop (one per core, each on its own thread), over epoll:
 * everyone else registers sockets and timers here.
 *
 * Watch: interest in a file descriptor; persistent until changed. Callbacks
 * run on the loop's thread. A callback may destroy its own watch.
 */

typedef struct Loop Loop;
typedef struct Watch Watch;
typedef struct Timer Timer;

#define LOOP_READ 0x02
#define LOOP_WRITE 0x04

typedef void (*WatchFn)(int fd, short events, void *arg);
typedef void (*TimerFn)(void *arg);
typedef void (*WorkFn)(void *arg);

Loop *loop_create(void);
void loop_destroy(Loop *loop);
/* loop_run runs until loop_stop() (called on the loop's thread); false if epoll fails */
bool loop_run(Loop *loop);
void loop_stop(Loop *loop);
/* loop_now_us: monotonic time in microseconds */
uint64_t loop_now_us(const Loop *loop);

Watch *watch_create(Loop *loop, int fd, WatchFn fn, void *arg);
/* watch_set: replace the interest set (LOOP_READ | LOOP_WRITE, or 0 for none) */
void watch_set(Watch *w, short events);
short watch_events(const Watch *w);
void watch_destroy(Watch *w);

Timer *loop_timer_create(Loop *loop, TimerFn fn, void *arg);
void loop_timer_start(Timer *t, uint64_t after_ms); /* one-shot; restarts if pending */
void loop_timer_stop(Timer *t);
void loop_timer_destroy(Timer *t);

/*
 * loop_run_in_worker runs work(arg) on a new thread (blocking work such as
 * admin operations over libpq), then done(arg) on the loop's thread.
 * Neither may touch loop-owned state from work().
 */
void loop_run_in_worker(Loop *loop, WorkFn work, WorkFn done, void *arg);
/* loop_pending_jobs: worker jobs whose done() has not run yet */
/*
 * loop_post: run fn(arg) on loop's own thread, soon; callable from any
 * thread (a pipe write: atomic for a pointer)
 */
void loop_post(Loop *loop, WorkFn fn, void *arg);
/* loop_drain: after the loop stopped, run what was posted to it; true if anything ran */
bool loop_drain(Loop *loop);

int loop_pending_jobs(const Loop *loop);

/*
 * loop_scratch: LOOP_SCRATCH_SIZE bytes owned by the loop, for a socket read
 * whose bytes are copied out at once (so a connection's own buffer need not
 * be sized for the largest read). Valid until the next call: never keep it,
 * and copy out before running anything that may read into it.
 */
#define LOOP_SCRATCH_SIZE 16384
char *loop_scratch(Loop *loop);
/* loop_on_signal: fn(arg) on the loop thread when signo arrives */
void loop_on_signal(Loop *loop, int signo, TimerFn fn, void *arg);

#endif /* SG_COMMON_LOOP_H */
