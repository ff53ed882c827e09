/*
 * test_loop.c: watches over a socketpair (interest toggled between
 * directions, removed, destroyed from their own callback or from another
 * watch's callback in the same batch), timers (order, restart, stop), a
 * signal, a post from another thread, and the scratch buffer. No network: a
 * local socketpair only.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/loop.h"

void sg_register_tests(void);

typedef struct WatchCase {
	Loop *loop;
	Watch *w;
	int peer;
	int step;
	short seen[8];
	bool destroyed;
} WatchCase;

static void
case_on_event(int fd, short events, void *arg)
{
	WatchCase *c = arg;
	c->seen[c->step++] = events;
	switch (c->step) {
	case 1: /* writable at once: switch to read and have the peer write */
		CU_ASSERT_EQUAL(events, LOOP_WRITE);
		watch_set(c->w, LOOP_READ);
		CU_ASSERT_EQUAL(watch_events(c->w), LOOP_READ);
		CU_ASSERT_EQUAL(write(c->peer, "x", 1), 1);
		return;
	case 2: { /* readable: consume, then ask for both (writable fires) */
		CU_ASSERT_EQUAL(events, LOOP_READ);
		char b;
		CU_ASSERT_EQUAL(read(fd, &b, 1), 1);
		watch_set(c->w, LOOP_READ | LOOP_WRITE);
		return;
	}
	case 3: /* only write can be ready (nothing to read): drop write interest, wake by a byte */
		CU_ASSERT_EQUAL(events, LOOP_WRITE);
		watch_set(c->w, LOOP_READ);
		CU_ASSERT_EQUAL(write(c->peer, "y", 1), 1);
		return;
	default: /* read again: destroy the watch from its own callback and stop */
		CU_ASSERT_EQUAL(events, LOOP_READ);
		watch_destroy(c->w);
		c->w = NULL;
		c->destroyed = true;
		loop_stop(c->loop);
		return;
	}
}

static void
test_watch_toggle(void)
{
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	WatchCase c = {.loop = loop_create(), .peer = sv[1]};
	c.w = watch_create(c.loop, sv[0], case_on_event, &c);
	watch_set(c.w, 0); /* nothing yet: a no-op */
	CU_ASSERT_EQUAL(watch_events(c.w), 0);
	watch_set(c.w, LOOP_WRITE);
	CU_ASSERT(loop_run(c.loop));
	CU_ASSERT_EQUAL(c.step, 4);
	CU_ASSERT(c.destroyed);
	loop_destroy(c.loop);
	close(sv[0]);
	close(sv[1]);
}

typedef struct BothCase {
	Loop *loop;
	Watch *w;
	int calls;
} BothCase;

/* read and write ready in the same turn: the first callback destroys the watch, the second
 * direction's callback must not run */
static void
both_on_event(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	BothCase *c = arg;
	c->calls++;
	watch_destroy(c->w);
	c->w = NULL;
	loop_stop(c->loop);
}

static void
test_watch_destroy_in_callback(void)
{
	int sv[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	BothCase c = {.loop = loop_create()};
	CU_ASSERT_EQUAL(write(sv[1], "z", 1), 1);
	c.w = watch_create(c.loop, sv[0], both_on_event, &c);
	watch_set(c.w, LOOP_READ | LOOP_WRITE);
	CU_ASSERT(loop_run(c.loop));
	CU_ASSERT_EQUAL(c.calls, 1);
	loop_destroy(c.loop);
	close(sv[0]);
	close(sv[1]);
}

static void
on_timer(void *arg)
{
	loop_stop(arg);
}

static void
test_timer_and_scratch(void)
{
	Loop *loop = loop_create();
	Timer *t = loop_timer_create(loop, on_timer, loop);
	loop_timer_start(t, 1);
	CU_ASSERT(loop_run(loop));
	char *s = loop_scratch(loop);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT_PTR_EQUAL(s, loop_scratch(loop));
	memset(s, 0xab, LOOP_SCRATCH_SIZE);
	loop_timer_destroy(t);
	loop_destroy(loop);
}

/* two watches ready in the same batch: whichever runs first destroys the other, which
 * must then not run (its entry is still in the batch) */
typedef struct PairCase {
	Loop *loop;
	Watch *w[2];
	int calls;
} PairCase;

static PairCase *pair_case;

static void
pair_on_ready(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	pair_case->calls++;
	watch_destroy(pair_case->w[1]);
	pair_case->w[1] = NULL;
	watch_destroy(pair_case->w[0]);
	pair_case->w[0] = NULL;
	loop_stop(pair_case->loop);
}

static void
test_watch_destroyed_by_another(void)
{
	int a[2], b[2];
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	PairCase c = {.loop = loop_create()};
	pair_case = &c;
	CU_ASSERT_EQUAL(write(a[1], "a", 1), 1);
	CU_ASSERT_EQUAL(write(b[1], "b", 1), 1);
	c.w[0] = watch_create(c.loop, a[0], pair_on_ready, NULL);
	c.w[1] = watch_create(c.loop, b[0], pair_on_ready, NULL);
	watch_set(c.w[0], LOOP_READ);
	watch_set(c.w[1], LOOP_READ);
	CU_ASSERT(loop_run(c.loop));
	CU_ASSERT_EQUAL(c.calls, 1);
	loop_destroy(c.loop);
	for (int i = 0; i < 2; i++) {
		close(a[i]);
		close(b[i]);
	}
}

typedef struct TimerCase {
	Loop *loop;
	int order[8];
	int n;
} TimerCase;

typedef struct TimerArg {
	TimerCase *c;
	int id;
} TimerArg;

static void
timer_record(void *arg)
{
	TimerArg *ta = arg;
	ta->c->order[ta->c->n++] = ta->id;
	if (ta->c->n == 3)
		loop_stop(ta->c->loop);
}

/* timers fire in due order; a restarted one moves, a stopped one never fires */
static void
test_timer_order(void)
{
	TimerCase c = {.loop = loop_create()};
	TimerArg args[4] = {{&c, 1}, {&c, 2}, {&c, 3}, {&c, 4}};
	Timer *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = loop_timer_create(c.loop, timer_record, &args[i]);
	loop_timer_start(t[0], 30);
	loop_timer_start(t[1], 5);
	loop_timer_start(t[2], 60);
	loop_timer_start(t[3], 1);
	loop_timer_start(t[2], 15); /* restarted: now before t[0] */
	loop_timer_stop(t[3]);      /* never fires */
	CU_ASSERT(loop_run(c.loop));
	CU_ASSERT_EQUAL(c.n, 3);
	CU_ASSERT_EQUAL(c.order[0], 2);
	CU_ASSERT_EQUAL(c.order[1], 3);
	CU_ASSERT_EQUAL(c.order[2], 1);
	for (int i = 0; i < 4; i++)
		loop_timer_destroy(t[i]);
	loop_destroy(c.loop);
}

static int signal_calls;

static void
on_usr1(void *arg)
{
	signal_calls++;
	loop_stop(arg);
}

static void
raise_usr1(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
}

/* a signal the loop asked for runs its function on the loop */
static void
test_signal(void)
{
	Loop *loop = loop_create();
	loop_on_signal(loop, SIGUSR1, on_usr1, loop);
	Timer *t = loop_timer_create(loop, raise_usr1, NULL);
	loop_timer_start(t, 1);
	signal_calls = 0;
	CU_ASSERT(loop_run(loop));
	CU_ASSERT_EQUAL(signal_calls, 1);
	loop_timer_destroy(t);
	loop_destroy(loop); /* restores the default action */
}

typedef struct PostCase {
	Loop *loop;
	pthread_t loop_thread;
	bool on_loop_thread;
} PostCase;

static void
on_posted(void *arg)
{
	PostCase *c = arg;
	c->on_loop_thread = pthread_equal(pthread_self(), c->loop_thread) != 0;
	loop_stop(c->loop);
}

static void *
poster(void *arg)
{
	PostCase *c = arg;
	loop_post(c->loop, on_posted, c);
	return NULL;
}

/* loop_post from another thread runs the function on the loop's thread */
static void
test_post_from_thread(void)
{
	PostCase c = {.loop = loop_create(), .loop_thread = pthread_self()};
	pthread_t th;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, poster, &c), 0);
	CU_ASSERT(loop_run(c.loop));
	pthread_join(th, NULL);
	CU_ASSERT(c.on_loop_thread);
	loop_destroy(c.loop);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("loop", NULL, NULL);
	CU_add_test(s, "watch toggle", test_watch_toggle);
	CU_add_test(s, "watch destroyed in its callback", test_watch_destroy_in_callback);
	CU_add_test(s, "timer and scratch", test_timer_and_scratch);
	CU_add_test(s, "watch destroyed by another in the same batch", test_watch_destroyed_by_another);
	CU_add_test(s, "timers fire in order, restarted and stopped", test_timer_order);
	CU_add_test(s, "signal", test_signal);
	CU_add_test(s, "post from another thread", test_post_from_thread);
}
