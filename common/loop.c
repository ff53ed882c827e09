/*
 * loop.c: the event loop, over libevent (the only file that includes it).
 *
 * Worker jobs: loop_run_in_worker starts a detached thread per job; when the
 * job's work() returns, the thread writes the job pointer into the loop's
 * self-pipe, and the loop runs done() on its own thread. Jobs are rare
 * (admin operations, cancel requests), so a thread per job is fine.
 * loop_post uses the same pipe to run a function on a loop from another
 * loop's thread (the gateway runs one loop per core).
 */
#include "common/loop.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

typedef struct SignalWatch {
	struct SignalWatch *next;
	struct event *ev;
	TimerFn fn;
	void *arg;
} SignalWatch;

struct Loop {
	struct event_base *base;
	int wake_pipe[2];
	struct event *wake_ev;
	int pending_jobs;
	SignalWatch *signals; /* list, freed with the loop */
	char scratch[LOOP_SCRATCH_SIZE];
};

/*
 * Watch: one persistent libevent event per direction, made once. Changing
 * the interest set adds or deletes only the direction that changed: one
 * epoll_ctl (MOD) per toggle of write interest, no allocation; replacing a
 * single combined event cost a DEL, an ADD and a malloc each time.
 */
struct Watch {
	Loop *loop;
	struct event *rd;
	struct event *wr;
	int fd;
	short events;
	WatchFn fn;
	void *arg;
};

struct Timer {
	struct event *ev;
	TimerFn fn;
	void *arg;
};

typedef struct Job {
	Loop *loop;
	WorkFn work;
	WorkFn done;
	void *arg;
	bool posted; /* loop_post: not a worker job (not counted in pending_jobs) */
} Job;

int
loop_pending_jobs(const Loop *loop)
{
	return loop->pending_jobs;
}

/* loop_run_wakes: run what the pipe holds; true if anything ran */
static bool
loop_run_wakes(Loop *loop)
{
	bool ran = false;
	Job *job;
	for (;;) {
		ssize_t n = read(loop->wake_pipe[0], &job, sizeof(job));
		if (n != (ssize_t)sizeof(job))
			break;
		if (!job->posted)
			loop->pending_jobs--;
		job->done(job->arg);
		free(job);
		ran = true;
	}
	return ran;
}

static void
loop_on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)loop_run_wakes(arg);
}

char *
loop_scratch(Loop *loop)
{
	return loop->scratch;
}

bool
loop_drain(Loop *loop)
{
	return loop_run_wakes(loop);
}

Loop *
loop_create(void)
{
	Loop *loop = calloc(1, sizeof(Loop));
	if (loop == NULL)
		abort();
	struct event_config *cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	loop->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (loop->base == NULL)
		abort();
	if (pipe(loop->wake_pipe) != 0)
		abort();
	fcntl(loop->wake_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(loop->wake_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(loop->wake_pipe[1], F_SETFD, FD_CLOEXEC);
	loop->wake_ev =
	    event_new(loop->base, loop->wake_pipe[0], EV_READ | EV_PERSIST, loop_on_wake, loop);
	event_add(loop->wake_ev, NULL);
	return loop;
}

void
loop_destroy(Loop *loop)
{
	if (loop == NULL)
		return;
	while (loop->signals != NULL) {
		SignalWatch *s = loop->signals;
		loop->signals = s->next;
		event_free(s->ev);
		free(s);
	}
	event_free(loop->wake_ev);
	close(loop->wake_pipe[0]);
	close(loop->wake_pipe[1]);
	event_base_free(loop->base);
	free(loop);
}

bool
loop_run(Loop *loop)
{
	return event_base_dispatch(loop->base) >= 0;
}

void
loop_stop(Loop *loop)
{
	event_base_loopbreak(loop->base);
}

uint64_t
loop_now_us(const Loop *loop)
{
	(void)loop;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
watch_on_event(evutil_socket_t fd, short what, void *arg)
{
	Watch *w = arg;
	short ev = 0;
	if (what & EV_READ)
		ev |= LOOP_READ;
	if (what & EV_WRITE)
		ev |= LOOP_WRITE;
	w->fn((int)fd, ev, w->arg);
}

Watch *
watch_create(Loop *loop, int fd, WatchFn fn, void *arg)
{
	Watch *w = calloc(1, sizeof(Watch));
	if (w == NULL)
		abort();
	w->loop = loop;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	w->rd = event_new(loop->base, fd, EV_READ | EV_PERSIST, watch_on_event, w);
	w->wr = event_new(loop->base, fd, EV_WRITE | EV_PERSIST, watch_on_event, w);
	if (w->rd == NULL || w->wr == NULL)
		abort();
	return w;
}

/* watch_direction: add or delete one direction's event */
static void
watch_direction(struct event *ev, bool on)
{
	if ((on ? event_add(ev, NULL) : event_del(ev)) != 0)
		abort();
}

void
watch_set(Watch *w, short events)
{
	short changed = (short)(events ^ w->events);
	w->events = events;
	if (changed & LOOP_READ)
		watch_direction(w->rd, (events & LOOP_READ) != 0);
	if (changed & LOOP_WRITE)
		watch_direction(w->wr, (events & LOOP_WRITE) != 0);
}

short
watch_events(const Watch *w)
{
	return w->events;
}

void
watch_destroy(Watch *w)
{
	if (w == NULL)
		return;
	event_free(w->rd); /* also drops an activation still queued for this turn */
	event_free(w->wr);
	free(w);
}

static void
timer_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	Timer *t = arg;
	t->fn(t->arg);
}

Timer *
loop_timer_create(Loop *loop, TimerFn fn, void *arg)
{
	Timer *t = calloc(1, sizeof(Timer));
	if (t == NULL)
		abort();
	t->fn = fn;
	t->arg = arg;
	t->ev = evtimer_new(loop->base, timer_on_event, t);
	if (t->ev == NULL)
		abort();
	return t;
}

void
loop_timer_start(Timer *t, uint64_t after_ms)
{
	struct timeval tv = {.tv_sec = (time_t)(after_ms / 1000),
	                     .tv_usec = (suseconds_t)((after_ms % 1000) * 1000)};
	evtimer_add(t->ev, &tv);
}

void
loop_timer_stop(Timer *t)
{
	evtimer_del(t->ev);
}

void
loop_timer_destroy(Timer *t)
{
	if (t == NULL)
		return;
	event_free(t->ev);
	free(t);
}

/* wake_with: hand job to its loop through the self-pipe (from any thread) */
static void
wake_with(Job *job)
{
	ssize_t n;
	do {
		n = write(job->loop->wake_pipe[1], &job, sizeof(job));
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(job))
		abort();
}

static void *
job_thread(void *arg)
{
	Job *job = arg;
	job->work(job->arg);
	wake_with(job);
	return NULL;
}

void
loop_run_in_worker(Loop *loop, WorkFn work, WorkFn done, void *arg)
{
	Job *job = calloc(1, sizeof(Job));
	if (job == NULL)
		abort();
	job->loop = loop;
	job->work = work;
	job->done = done;
	job->arg = arg;
	loop->pending_jobs++;
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, job_thread, job) != 0) {
		sg_log_error("loop", "cannot start worker thread");
		abort();
	}
	pthread_attr_destroy(&attr);
}

void
loop_post(Loop *loop, WorkFn fn, void *arg)
{
	Job *job = calloc(1, sizeof(Job));
	if (job == NULL)
		abort();
	job->loop = loop;
	job->done = fn;
	job->arg = arg;
	job->posted = true;
	wake_with(job);
}

static void
signal_on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	SignalWatch *s = arg;
	s->fn(s->arg);
}

void
loop_on_signal(Loop *loop, int signo, TimerFn fn, void *arg)
{
	SignalWatch *s = calloc(1, sizeof(SignalWatch));
	if (s == NULL)
		abort();
	s->fn = fn;
	s->arg = arg;
	s->ev = evsignal_new(loop->base, signo, signal_on_event, s);
	event_add(s->ev, NULL);
	s->next = loop->signals;
	loop->signals = s;
}
