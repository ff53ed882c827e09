/*
 * test_loop.c: watches over a socketpair (interest toggled between
 * directions, removed, destroyed from their own callback), timers and the
 * scratch buffer. No network: a local socketpair only.
 */
#include <CUnit/CUnit.h>
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

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("loop", NULL, NULL);
	CU_add_test(s, "watch toggle", test_watch_toggle);
	CU_add_test(s, "watch destroyed in its callback", test_watch_destroy_in_callback);
	CU_add_test(s, "timer and scratch", test_timer_and_scratch);
}
