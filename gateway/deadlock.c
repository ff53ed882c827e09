/*
 * deadlock.c: distributed deadlock detection (see deadlock.h).
 *
 * Flow: each loop's timer -> any of its sessions busy longer than the check
 * interval? -> that loop starts a round (one round at a time per gateway) and
 * coordinates it: worker: lockwait_collect (one query per node) -> every loop
 * (server_each_loop) marks, for each waiting and blocking backend, which of its
 * sessions owns it -> the coordinator builds the wait-for graph between
 * sessions (an edge S->T when a backend of S waits for a backend of T on some
 * node), finds a cycle by depth-first search and asks the loop serving the
 * statement that started last among the cycle's sessions to cancel it.
 * Sessions may have ended meanwhile: the victim is looked up by pid on its
 * own loop, never through pointers kept across loops or jobs.
 */
#include "gateway/deadlock.h"

#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/log.h"
#include "gateway/session.h"
#include "storage/lockwait.h"

#define DEADLOCK_MAX_SESSIONS 256

/* Owner: the session owning a backend, -1 server when none of this gateway's */
typedef struct Owner {
	int32_t server;
	uint32_t pid;
	uint64_t busy_since;
} Owner;

typedef struct DeadlockRound {
	Server *coord;
	CatalogSnapshot *snap;
	Arena *arena;
	LockWait *edges;
	int nedges;
	Owner *waiter; /* [nedges] */
	Owner *blocker;
	SgError err;
	bool ok;
} DeadlockRound;

/* RoundPost: deadlock_cancel's target */
typedef struct RoundPost {
	Server *srv;
	uint32_t victim; /* the session's pid */
} RoundPost;

static void
deadlock_work(void *arg)
{
	DeadlockRound *r = arg;
	/* one round at a time (Gateway.deadlock_round), so the round has the links alone */
	r->ok = lockwait_collect(r->snap, r->coord->config->admin_user, "postgres", r->arena, &r->edges,
	                         &r->nedges, &r->err, r->coord->gw->lockwait_links);
}

static void
round_end(DeadlockRound *r)
{
	Gateway *gw = r->coord->gw;
	catalog_unref(r->snap);
	arena_destroy(r->arena);
	free(r);
	__atomic_store_n(&gw->deadlock_round, 0, __ATOMIC_RELEASE);
}

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

static int
index_of(const Owner *v, int n, const Owner *o)
{
	for (int i = 0; i < n; i++)
		if (v[i].pid == o->pid && v[i].server == o->server)
			return i;
	return -1;
}

/* deadlock_cancel: on the victim's loop */
static void
deadlock_cancel(void *arg)
{
	RoundPost *p = arg;
	for (Session *s = session_first(p->srv); s != NULL; s = session_next(s))
		if (session_pid(s) == p->victim) {
			session_deadlock_victim(s);
			break;
		}
	free(p);
}

/* deadlock_decide: on the coordinator, once every loop marked its sessions */
static void
deadlock_decide(void *arg)
{
	DeadlockRound *r = arg;
	Owner sess[DEADLOCK_MAX_SESSIONS];
	int n = 0;
	unsigned char *adj = calloc(DEADLOCK_MAX_SESSIONS * DEADLOCK_MAX_SESSIONS, 1);
	if (adj == NULL)
		abort();
	for (int i = 0; i < r->nedges; i++) {
		const Owner *w = &r->waiter[i], *b = &r->blocker[i];
		if (w->server < 0 || b->server < 0 || (w->pid == b->pid && w->server == b->server))
			continue;
		int wi = index_of(sess, n, w), bi = index_of(sess, n, b);
		if (wi < 0 && n < DEADLOCK_MAX_SESSIONS)
			sess[wi = n++] = *w;
		if (bi < 0 && n < DEADLOCK_MAX_SESSIONS)
			sess[bi = n++] = *b;
		if (wi >= 0 && bi >= 0)
			adj[wi * DEADLOCK_MAX_SESSIONS + bi] = 1;
	}
	unsigned char colour[DEADLOCK_MAX_SESSIONS] = {0};
	int stack[DEADLOCK_MAX_SESSIONS];
	for (int u = 0; u < n && !r->coord->stopping; u++) {
		int depth = 0, start = -1;
		if (colour[u] != 0 || !dfs(u, n, adj, colour, stack, &depth, &start))
			continue;
		const Owner *victim = NULL;
		for (int k = start; k < depth; k++) {
			const Owner *o = &sess[stack[k]];
			if (victim == NULL || o->busy_since > victim->busy_since)
				victim = o;
		}
		if (victim != NULL) {
			sg_log_warning("deadlock", "cycle of %d sessions across nodes; victim session %u",
			               depth - start, victim->pid);
			RoundPost *p = calloc(1, sizeof(RoundPost));
			if (p == NULL)
				abort();
			p->srv = r->coord->gw->servers[victim->server];
			p->victim = victim->pid;
			loop_post(p->srv->loop, deadlock_cancel, p);
		}
		break; /* one victim per round: the others may be freed by it */
	}
	free(adj);
	round_end(r);
}

/* deadlock_mark: on each loop, which of its sessions own the round's backends */
static void
deadlock_mark(Server *srv, void *arg)
{
	DeadlockRound *r = arg;
	for (Session *s = session_first(srv); s != NULL; s = session_next(s))
		for (int i = 0; i < r->nedges; i++) {
			Owner me = {srv->index, session_pid(s), session_busy_since(s)};
			if (session_owns_backend(s, r->edges[i].node_id, r->edges[i].waiter))
				r->waiter[i] = me;
			if (session_owns_backend(s, r->edges[i].node_id, r->edges[i].blocker))
				r->blocker[i] = me;
		}
}

static void
deadlock_collected(void *arg)
{
	DeadlockRound *r = arg;
	if (!r->ok || r->nedges == 0 || r->coord->stopping) {
		round_end(r);
		return;
	}
	r->waiter = ARENA_NEW_ARRAY(r->arena, Owner, r->nedges);
	r->blocker = ARENA_NEW_ARRAY(r->arena, Owner, r->nedges);
	for (int i = 0; i < r->nedges; i++)
		r->waiter[i].server = r->blocker[i].server = -1;
	server_each_loop(r->coord, deadlock_mark, deadlock_decide, r);
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
	int idle = 0;
	if (someone_waits && srv->catalog != NULL &&
	    __atomic_compare_exchange_n(&srv->gw->deadlock_round, &idle, 1, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_RELAXED)) {
		DeadlockRound *r = calloc(1, sizeof(DeadlockRound));
		if (r == NULL)
			abort();
		r->coord = srv;
		r->snap = srv->catalog;
		catalog_ref(r->snap);
		r->arena = arena_create(4096);
		loop_run_in_worker(srv->loop, deadlock_work, deadlock_collected, r);
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
