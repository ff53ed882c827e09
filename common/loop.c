/*
 * loop.c: the event loop, straight over epoll (level-triggered), a binary
 * heap of timers, and self-pipes for wake-ups and signals.
 *
 * Why not libevent (used until 2026-11): every message a proxy relays goes
 * through the loop, and libevent's dispatch (activation queues, callback
 * lists, a timer check) cost about 1,100 instructions per routed point
 * select, 13 % of the gateway's own; this loop calls the watch's function
 * straight from the epoll batch (bench/callgrind.sh has the figures).
 *
 * Watches: one epoll registration per watched fd, data.ptr the Watch. A
 * watch destroyed while a batch is dispatched may still have an entry
 * later in that batch: it is marked dead, unregistered at once, and freed
 * after the batch (dead watches are skipped). A ready fd gets one callback
 * per direction, write first, each only while the watch is alive and still
 * wants that direction (the contract libevent gave: two events per watch).
 *
 * Worker jobs: loop_run_in_worker starts a detached thread per job; when the
 * job's work() returns, the thread writes the job pointer into the loop's
 * self-pipe, and the loop runs done() on its own thread. Jobs are rare
 * (admin operations, cancel requests), so a thread per job is fine.
 * loop_post uses the same pipe to run a function on a loop from another
 * loop's thread (the gateway runs one loop per core).
 *
 * Signals: the handler writes the signal number into the pipe of the loop
 * that asked for it (async-signal-safe), and that loop runs the functions.
 */
#include "common/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define LOOP_BATCH 64 /* epoll events taken per wait */

typedef struct SignalWatch {
	struct SignalWatch *next;
	int signo;
	TimerFn fn;
	void *arg;
	struct sigaction old; /* restored by loop_destroy */
} SignalWatch;

struct Watch {
	Loop *loop;
	int fd;
	short events; /* the interest registered with epoll (0: not registered) */
	bool dead;
	struct Watch *next_dead;
	WatchFn fn;
	void *arg;
};

struct Timer {
	Loop *loop;
	uint64_t due_us;
	int idx; /* position in the loop's heap; -1 when not pending */
	TimerFn fn;
	void *arg;
};

struct Loop {
	int epfd;
	bool stop;
	int wake_pipe[2];
	Watch *wake_watch;
	int signal_pipe[2]; /* made by the first loop_on_signal */
	Watch *signal_watch;
	SignalWatch *signals;
	Watch *dead; /* destroyed watches, freed after the batch */
	Timer **heap;
	int nheap, capheap;
	int pending_jobs;
	char scratch[LOOP_SCRATCH_SIZE];
};

typedef struct Job {
	Loop *loop;
	WorkFn work;
	WorkFn done;
	void *arg;
	bool posted; /* loop_post: not a worker job (not counted in pending_jobs) */
} Job;

static void *
xcalloc(size_t size)
{
	void *p = calloc(1, size);
	if (p == NULL)
		abort();
	return p;
}

static void
pipe_nonblocking(int fds[2])
{
	if (pipe(fds) != 0)
		abort();
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

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
loop_on_wake(int fd, short events, void *arg)
{
	(void)fd;
	(void)events;
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
	Loop *loop = xcalloc(sizeof(Loop));
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		abort();
	loop->signal_pipe[0] = loop->signal_pipe[1] = -1;
	pipe_nonblocking(loop->wake_pipe);
	loop->wake_watch = watch_create(loop, loop->wake_pipe[0], loop_on_wake, loop);
	watch_set(loop->wake_watch, LOOP_READ);
	return loop;
}

static void
loop_free_dead(Loop *loop)
{
	while (loop->dead != NULL) {
		Watch *w = loop->dead;
		loop->dead = w->next_dead;
		free(w);
	}
}

/* the signal handler's map: signal number -> 1 + the write end of the pipe of the loop that
 * asked (0: none) */
static volatile sig_atomic_t signal_fd[NSIG];

void
loop_destroy(Loop *loop)
{
	if (loop == NULL)
		return;
	while (loop->signals != NULL) {
		SignalWatch *s = loop->signals;
		loop->signals = s->next;
		sigaction(s->signo, &s->old, NULL);
		signal_fd[s->signo] = 0;
		free(s);
	}
	watch_destroy(loop->signal_watch);
	if (loop->signal_pipe[0] >= 0) {
		close(loop->signal_pipe[0]);
		close(loop->signal_pipe[1]);
	}
	watch_destroy(loop->wake_watch);
	close(loop->wake_pipe[0]);
	close(loop->wake_pipe[1]);
	loop_free_dead(loop);
	for (int i = 0; i < loop->nheap; i++)
		loop->heap[i]->idx = -1; /* timers outlive the loop only to be destroyed */
	free(loop->heap);
	close(loop->epfd);
	free(loop);
}

uint64_t
loop_now_us(const Loop *loop)
{
	(void)loop;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- timers: a binary min-heap on due time ------------------------------ */

static void
heap_place(Loop *loop, Timer *t, int i)
{
	loop->heap[i] = t;
	t->idx = i;
}

static void
heap_up(Loop *loop, int i)
{
	Timer *t = loop->heap[i];
	while (i > 0) {
		int parent = (i - 1) / 2;
		if (loop->heap[parent]->due_us <= t->due_us)
			break;
		heap_place(loop, loop->heap[parent], i);
		i = parent;
	}
	heap_place(loop, t, i);
}

static void
heap_down(Loop *loop, int i)
{
	Timer *t = loop->heap[i];
	for (;;) {
		int child = 2 * i + 1;
		if (child >= loop->nheap)
			break;
		if (child + 1 < loop->nheap && loop->heap[child + 1]->due_us < loop->heap[child]->due_us)
			child++;
		if (t->due_us <= loop->heap[child]->due_us)
			break;
		heap_place(loop, loop->heap[child], i);
		i = child;
	}
	heap_place(loop, t, i);
}

static void
heap_remove(Loop *loop, Timer *t)
{
	int i = t->idx;
	t->idx = -1;
	Timer *last = loop->heap[--loop->nheap];
	if (last == t)
		return;
	heap_place(loop, last, i);
	heap_up(loop, i);
	heap_down(loop, last->idx);
}

Timer *
loop_timer_create(Loop *loop, TimerFn fn, void *arg)
{
	Timer *t = xcalloc(sizeof(Timer));
	t->loop = loop;
	t->idx = -1;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void
loop_timer_start(Timer *t, uint64_t after_ms)
{
	Loop *loop = t->loop;
	if (t->idx >= 0)
		heap_remove(loop, t);
	t->due_us = loop_now_us(loop) + after_ms * 1000u;
	if (loop->nheap == loop->capheap) {
		int cap = loop->capheap ? loop->capheap * 2 : 16;
		Timer **bigger = realloc(loop->heap, sizeof(Timer *) * (size_t)cap);
		if (bigger == NULL)
			abort();
		loop->heap = bigger;
		loop->capheap = cap;
	}
	loop->heap[loop->nheap++] = t;
	heap_up(loop, loop->nheap - 1);
}

void
loop_timer_stop(Timer *t)
{
	if (t->idx >= 0)
		heap_remove(t->loop, t);
}

void
loop_timer_destroy(Timer *t)
{
	if (t == NULL)
		return;
	loop_timer_stop(t);
	free(t);
}

/* loop_timeout_ms: how long epoll may sleep: until the first timer is due (rounded up) */
static int
loop_timeout_ms(Loop *loop)
{
	if (loop->nheap == 0)
		return -1;
	uint64_t now = loop_now_us(loop), due = loop->heap[0]->due_us;
	if (due <= now)
		return 0;
	uint64_t ms = (due - now + 999) / 1000;
	return ms > 60000 ? 60000 : (int)ms;
}

/* loop_run_timers: fire the timers due now (not those a callback starts meanwhile) */
static void
loop_run_timers(Loop *loop)
{
	if (loop->nheap == 0)
		return;
	uint64_t now = loop_now_us(loop);
	for (int budget = loop->nheap; budget > 0 && loop->nheap > 0 && !loop->stop; budget--) {
		Timer *t = loop->heap[0];
		if (t->due_us > now)
			break;
		heap_remove(loop, t);
		t->fn(t->arg);
	}
}

/* ---- watches ------------------------------------------------------------ */

Watch *
watch_create(Loop *loop, int fd, WatchFn fn, void *arg)
{
	Watch *w = xcalloc(sizeof(Watch));
	w->loop = loop;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	return w;
}

void
watch_set(Watch *w, short events)
{
	events &= LOOP_READ | LOOP_WRITE;
	if (events == w->events)
		return;
	struct epoll_event ev = {.events = ((events & LOOP_READ) ? EPOLLIN : 0u) |
	                                   ((events & LOOP_WRITE) ? EPOLLOUT : 0u),
	                         .data.ptr = w};
	int op = w->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	w->events = events;
	int rc = epoll_ctl(w->loop->epfd, op, w->fd, &ev);
	/* as libevent did: an fd closed and opened again under the same number lost (or kept)
	 * its registration behind our back */
	if (rc != 0 && op == EPOLL_CTL_MOD && errno == ENOENT)
		rc = epoll_ctl(w->loop->epfd, EPOLL_CTL_ADD, w->fd, &ev);
	else if (rc != 0 && op == EPOLL_CTL_ADD && errno == EEXIST)
		rc = epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
	if (rc != 0 && op != EPOLL_CTL_DEL) {
		sg_log_error("loop", "epoll_ctl on fd %d: %s", w->fd, strerror(errno));
		abort();
	}
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
	watch_set(w, 0);
	w->dead = true; /* an entry later in this batch may still point here */
	w->next_dead = w->loop->dead;
	w->loop->dead = w;
}

/* ---- the loop ----------------------------------------------------------- */

/* loop_dispatch: one callback per ready direction, while the watch lives and wants it */
static void
loop_dispatch(Loop *loop, const struct epoll_event *evs, int n)
{
	for (int i = 0; i < n && !loop->stop; i++) {
		Watch *w = evs[i].data.ptr;
		uint32_t e = evs[i].events;
		if (e & (EPOLLERR | EPOLLHUP))
			e |= EPOLLIN | EPOLLOUT; /* let the reader or writer find the error */
		if ((e & EPOLLOUT) && !w->dead && (w->events & LOOP_WRITE)) {
			w->fn(w->fd, LOOP_WRITE, w->arg);
			if (loop->stop)
				break;
		}
		if ((e & EPOLLIN) && !w->dead && (w->events & LOOP_READ))
			w->fn(w->fd, LOOP_READ, w->arg);
	}
}

bool
loop_run(Loop *loop)
{
	struct epoll_event evs[LOOP_BATCH];
	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, evs, LOOP_BATCH, loop_timeout_ms(loop));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sg_log_error("loop", "epoll_wait: %s", strerror(errno));
			return false;
		}
		loop_dispatch(loop, evs, n);
		loop_free_dead(loop);
		loop_run_timers(loop);
	}
	loop_free_dead(loop);
	return true;
}

void
loop_stop(Loop *loop)
{
	loop->stop = true;
}

/* ---- worker jobs and posts ----------------------------------------------- */

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
	Job *job = xcalloc(sizeof(Job));
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
	Job *job = xcalloc(sizeof(Job));
	job->loop = loop;
	job->done = fn;
	job->arg = arg;
	job->posted = true;
	wake_with(job);
}

/* ---- signals ------------------------------------------------------------- */

static void
on_signal(int signo)
{
	int saved = errno;
	int fd = signal_fd[signo] - 1;
	unsigned char b = (unsigned char)signo;
	if (fd >= 0 && write(fd, &b, 1) < 0) {
		/* a full pipe already holds a wake-up */
	}
	errno = saved;
}

static void
loop_on_signal_pipe(int fd, short events, void *arg)
{
	Loop *loop = arg;
	(void)events;
	unsigned char got[64];
	ssize_t n;
	while ((n = read(fd, got, sizeof(got))) > 0)
		for (ssize_t i = 0; i < n; i++)
			for (SignalWatch *s = loop->signals; s != NULL; s = s->next)
				if (s->signo == got[i])
					s->fn(s->arg);
}

void
loop_on_signal(Loop *loop, int signo, TimerFn fn, void *arg)
{
	if (signo <= 0 || signo >= NSIG)
		abort();
	if (loop->signal_pipe[0] < 0) {
		pipe_nonblocking(loop->signal_pipe);
		fcntl(loop->signal_pipe[1], F_SETFL, O_NONBLOCK);
		loop->signal_watch = watch_create(loop, loop->signal_pipe[0], loop_on_signal_pipe, loop);
		watch_set(loop->signal_watch, LOOP_READ);
	}
	SignalWatch *s = xcalloc(sizeof(SignalWatch));
	s->signo = signo;
	s->fn = fn;
	s->arg = arg;
	signal_fd[signo] = loop->signal_pipe[1] + 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(signo, &sa, &s->old);
	s->next = loop->signals;
	loop->signals = s;
}
