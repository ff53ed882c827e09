/*
 * deadlock.c: distributed deadlock detection (see deadlock.h).
 *
 * Flow: timer -> any session busy longer than the check interval? -> worker:
 * lockwait_collect (one query per node) -> loop: build the wait-for graph
 * between sessions (an edge S->T when a backend of S waits for a backend of
 * T on some node) -> find a cycle by depth-first search -> cancel the
 * statement that started last among the cycle's sessions.
 * Sessions may have ended while the worker ran: every lookup goes through
 * the live session list, never through pointers kept across the job.
 */
#include "gateway/deadlock.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/log.h"
#include "gateway/session.h"
#include "storage/lockwait.h"

#define DEADLOCK_MAX_SESSIONS 256

typedef struct DeadlockJob {
	Server *srv;
	CatalogSnapshot *snap;
	Arena *arena;
	LockWait *edges;
	int nedges;
	SgError err;
	bool ok;
} DeadlockJob;

static void
deadlock_work(void *arg)
{
	DeadlockJob *job = arg;
	job->ok = lockwait_collect(job->snap, job->srv->config->admin_user, "postgres", job->arena,
	                           &job->edges, &job->nedges, &job->err);
}

static Session *
owner_of(Server *srv, int32_t node_id, int32_t pid)
{
	for (Session *s = session_first(srv); s != NULL; s = session_next(s))
		if (session_owns_backend(s, node_id, pid))
			return s;
	return NULL;
}

static int
index_of(Session **v, int n, Session *s)
{
	for (int i = 0; i < n; i++)
		if (v[i] == s)
			return i;
	return -1;
}

/* dfs: colour 0 new, 1 on stack, 2 done; on a back edge, the cycle is stack[from..] */
static int
dfs(int u, int n, const unsigned char *adj, unsigned char *colour, int *stack, int *depth,
    int *cycle_start)
{
	colour[u] = 1;
	stack[(*depth)++] = u;
	for (int v = 0; v < n; v++) {
		if (!adj[u * DEADLOCK_MAX_SESSIONS + v])
			continue;
		if (colour[v] == 1) {
			for (int k = 0; k < *depth; k++)
				if (stack[k] == v)
					*cycle_start = k;
			return 1;
		}
		if (colour[v] == 0 && dfs(v, n, adj, colour, stack, depth, cycle_start))
			return 1;
	}
	colour[u] = 2;
	(*depth)--;
	return 0;
}

static void
deadlock_resolve(Server *srv, const LockWait *edges, int nedges)
{
	Session *sess[DEADLOCK_MAX_SESSIONS];
	int n = 0;
	unsigned char *adj = calloc(DEADLOCK_MAX_SESSIONS * DEADLOCK_MAX_SESSIONS, 1);
	if (adj == NULL)
		abort();
	for (int i = 0; i < nedges; i++) {
		Session *w = owner_of(srv, edges[i].node_id, edges[i].waiter);
		Session *b = owner_of(srv, edges[i].node_id, edges[i].blocker);
		if (w == NULL || b == NULL || w == b)
			continue;
		int wi = index_of(sess, n, w), bi = index_of(sess, n, b);
		if (wi < 0 && n < DEADLOCK_MAX_SESSIONS)
			sess[wi = n++] = w;
		if (bi < 0 && n < DEADLOCK_MAX_SESSIONS)
			sess[bi = n++] = b;
		if (wi >= 0 && bi >= 0)
			adj[wi * DEADLOCK_MAX_SESSIONS + bi] = 1;
	}
	unsigned char colour[DEADLOCK_MAX_SESSIONS] = {0};
	int stack[DEADLOCK_MAX_SESSIONS];
	for (int u = 0; u < n; u++) {
		int depth = 0, start = -1;
		if (colour[u] != 0 || !dfs(u, n, adj, colour, stack, &depth, &start))
			continue;
		Session *victim = NULL;
		for (int k = start; k < depth; k++) {
			Session *s = sess[stack[k]];
			if (victim == NULL || session_busy_since(s) > session_busy_since(victim))
				victim = s;
		}
		if (victim != NULL) {
			sg_log_warning("deadlock", "cycle of %d sessions across nodes; victim session %u",
			               depth - start, session_pid(victim));
			session_deadlock_victim(victim);
		}
		break; /* one victim per round: the others may be freed by it */
	}
	free(adj);
}

static void
deadlock_done(void *arg)
{
	DeadlockJob *job = arg;
	Server *srv = job->srv;
	srv->deadlock_running = false;
	if (job->ok && job->nedges > 0 && !srv->stopping)
		deadlock_resolve(srv, job->edges, job->nedges);
	catalog_unref(job->snap);
	arena_destroy(job->arena);
	free(job);
}

static void
deadlock_on_timer(void *arg)
{
	Server *srv = arg;
	if (srv->stopping)
		return;
	uint64_t now = loop_now_us(srv->loop);
	uint64_t threshold = (uint64_t)srv->config->deadlock_check_ms * 1000u;
	bool someone_waits = false;
	for (Session *s = session_first(srv); s != NULL && !someone_waits; s = session_next(s)) {
		uint64_t since = session_busy_since(s);
		someone_waits = since != 0 && now - since >= threshold;
	}
	if (someone_waits && !srv->deadlock_running && srv->catalog != NULL) {
		DeadlockJob *job = calloc(1, sizeof(DeadlockJob));
		if (job == NULL)
			abort();
		job->srv = srv;
		job->snap = srv->catalog;
		catalog_ref(job->snap);
		job->arena = arena_create(4096);
		srv->deadlock_running = true;
		loop_run_in_worker(srv->loop, deadlock_work, deadlock_done, job);
	}
	loop_timer_start(srv->deadlock_timer, (uint64_t)srv->config->deadlock_check_ms);
}

void
deadlock_start(Server *srv)
{
	srv->deadlock_timer = loop_timer_create(srv->loop, deadlock_on_timer, srv);
	loop_timer_start(srv->deadlock_timer, (uint64_t)srv->config->deadlock_check_ms);
}

void
deadlock_stop(Server *srv)
{
	loop_timer_destroy(srv->deadlock_timer);
	srv->deadlock_timer = NULL;
}
