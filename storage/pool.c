/*
 * pool.c: per-(node, user, database) connection pools.
 *
 * A pool has an idle stack, a FIFO of waiters and a count of connections
 * (idle + leased + connecting). pool_acquire takes an idle connection at
 * once, or queues; while there are waiters and no connection is being opened,
 * the pool opens one (under the limit). One at a time, as pgbouncer does: in
 * transaction pooling a released connection usually serves the next waiter
 * before a new one could, and opening one per waiter left a burst of clients
 * with three times the backends it needed (26 for 8 pgbench clients), each
 * one warming its own caches on the node. A connection that finishes
 * connecting or is released goes to the first waiter. Waiters time out with
 * 53300. Connections know their pool through node_owner().
 */
#include "storage/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct PoolWaiter {
	PoolWaiter *next;
	PoolWaiter *prev;
	NodePool *pool;
	PoolReadyFn ready;
	void *arg;
	Timer *timeout;
};

struct NodePool {
	NodePool *next; /* in PoolSet */
	PoolSet *set;
	int32_t node_id;
	char *host;
	int32_t port;
	char *user;
	char *database;
	char *conninfo;
	NodeConn **idle;
	int nidle;
	int total;
	int connecting;
	PoolWaiter *head;
	PoolWaiter *tail;
};

struct PoolSet {
	Loop *loop;
	PoolLimits limits;
	NodePool *pools;
};

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		abort();
	return p;
}

PoolSet *
poolset_create(Loop *loop, const PoolLimits *limits)
{
	PoolSet *ps = calloc(1, sizeof(PoolSet));
	if (ps == NULL)
		abort();
	ps->loop = loop;
	ps->limits = *limits;
	return ps;
}

static void
waiter_unlink(PoolWaiter *w)
{
	NodePool *p = w->pool;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		p->tail = w->prev;
	loop_timer_destroy(w->timeout);
	free(w);
}

void
poolset_destroy(PoolSet *ps)
{
	if (ps == NULL)
		return;
	while (ps->pools != NULL) {
		NodePool *p = ps->pools;
		ps->pools = p->next;
		while (p->head != NULL)
			waiter_unlink(p->head);
		for (int i = 0; i < p->nidle; i++)
			node_destroy(p->idle[i]);
		free(p->idle);
		free(p->host);
		free(p->user);
		free(p->database);
		free(p->conninfo);
		free(p);
	}
	free(ps);
}

/* conninfo_quote appends key='value' with libpq's quoting rules */
static void
conninfo_append(char *dst, size_t cap, const char *key, const char *val)
{
	size_t n = strlen(dst);
	n += (size_t)snprintf(dst + n, n < cap ? cap - n : 0, "%s%s='", n ? " " : "", key);
	for (const char *s = val; *s && n + 3 < cap; s++) {
		if (*s == '\'' || *s == '\\')
			dst[n++] = '\\';
		dst[n++] = *s;
	}
	if (n + 2 < cap) {
		dst[n++] = '\'';
		dst[n] = '\0';
	}
}

NodePool *
poolset_get(PoolSet *ps, int32_t node_id, const char *host, int32_t port, const char *user,
            const char *database, const char *password)
{
	for (NodePool *p = ps->pools; p != NULL; p = p->next) {
		if (p->node_id == node_id && p->port == port && strcmp(p->host, host) == 0 &&
		    strcmp(p->user, user) == 0 && strcmp(p->database, database) == 0)
			return p;
	}
	NodePool *p = calloc(1, sizeof(NodePool));
	if (p == NULL)
		abort();
	p->set = ps;
	p->node_id = node_id;
	p->host = xstrdup(host);
	p->port = port;
	p->user = xstrdup(user);
	p->database = xstrdup(database);
	p->idle = calloc((size_t)ps->limits.max_idle_per_pool + 1, sizeof(NodeConn *));
	if (p->idle == NULL)
		abort();
	char ci[2048] = "";
	char portbuf[16];
	snprintf(portbuf, sizeof(portbuf), "%d", port);
	conninfo_append(ci, sizeof(ci), "host", host);
	conninfo_append(ci, sizeof(ci), "port", portbuf);
	conninfo_append(ci, sizeof(ci), "user", user);
	conninfo_append(ci, sizeof(ci), "dbname", database);
	if (password != NULL)
		conninfo_append(ci, sizeof(ci), "password", password);
	p->conninfo = xstrdup(ci);
	p->next = ps->pools;
	ps->pools = p;
	return p;
}

static void pool_open(NodePool *p);

/* pool_grow: open a connection if someone waits, none is being opened and the limit allows */
static void
pool_grow(NodePool *p)
{
	if (p->head != NULL && p->connecting == 0 && p->total < p->set->limits.max_per_pool)
		pool_open(p);
}

/* pool_hand_over: give conn to the first waiter, or keep it idle, or close it */
static void
pool_hand_over(NodePool *p, NodeConn *conn)
{
	if (p->head != NULL) {
		PoolWaiter *w = p->head;
		PoolReadyFn ready = w->ready;
		void *arg = w->arg;
		waiter_unlink(w);
		ready(conn, NULL, arg);
		pool_grow(p); /* the rest of the queue */
		return;
	}
	if (p->nidle < p->set->limits.max_idle_per_pool) {
		p->idle[p->nidle++] = conn;
		return;
	}
	p->total--;
	node_destroy(conn);
}

static void
pool_fail_waiters(NodePool *p, const SgError *err)
{
	/* a failed connect fails one waiter per missing connection; keep it simple: all that
	 * cannot be served by connections still opening */
	while (p->head != NULL && p->connecting < 1) {
		PoolWaiter *w = p->head;
		PoolReadyFn ready = w->ready;
		void *arg = w->arg;
		waiter_unlink(w);
		ready(NULL, err, arg);
	}
}

static void
pool_on_connected(NodeConn *conn, const SgError *err, void *arg)
{
	NodePool *p = arg;
	p->connecting--;
	if (err != NULL) {
		p->total--;
		node_destroy(conn);
		pool_fail_waiters(p, err);
		return;
	}
	pool_hand_over(p, conn);
}

static void
pool_open(NodePool *p)
{
	p->total++;
	p->connecting++;
	NodeConn *conn = node_connect(p->set->loop, p->node_id, p->conninfo, pool_on_connected, p);
	node_set_owner(conn, p);
}

static void
pool_on_wait_timeout(void *arg)
{
	PoolWaiter *w = arg;
	PoolReadyFn ready = w->ready;
	void *rarg = w->arg;
	int32_t id = w->pool->node_id;
	waiter_unlink(w);
	SgError err;
	sg_error_set(&err, SQLSTATE_TOO_MANY_CONNECTIONS, "timeout waiting for a connection to node %d",
	             id);
	ready(NULL, &err, rarg);
}

PoolWaiter *
pool_acquire(NodePool *p, PoolReadyFn ready, void *arg)
{
	while (p->nidle > 0) {
		NodeConn *conn = p->idle[--p->nidle];
		if (node_state(conn) == NODE_IDLE) {
			ready(conn, NULL, arg);
			return NULL;
		}
		p->total--; /* broke while idle */
		node_destroy(conn);
	}
	PoolWaiter *w = calloc(1, sizeof(PoolWaiter));
	if (w == NULL)
		abort();
	w->pool = p;
	w->ready = ready;
	w->arg = arg;
	w->prev = p->tail;
	if (p->tail != NULL)
		p->tail->next = w;
	else
		p->head = w;
	p->tail = w;
	w->timeout = loop_timer_create(p->set->loop, pool_on_wait_timeout, w);
	loop_timer_start(w->timeout, p->set->limits.wait_timeout_ms);
	pool_grow(p);
	return w;
}

void
pool_cancel(PoolWaiter *w)
{
	if (w != NULL)
		waiter_unlink(w);
}

void
pool_release(NodeConn *conn)
{
	NodePool *p = node_owner(conn);
	SG_ASSERT(p != NULL);
	node_set_handler(conn, NULL);
	node_pause(conn, false);
	if (node_state(conn) != NODE_IDLE || node_txn_status(conn) != 'I') {
		p->total--;
		node_destroy(conn);
		pool_grow(p); /* a waiter may now get a fresh connection */
		return;
	}
	pool_hand_over(p, conn);
}

void
pool_discard(NodeConn *conn)
{
	NodePool *p = node_owner(conn);
	SG_ASSERT(p != NULL);
	p->total--;
	node_destroy(conn);
	pool_grow(p);
}

int32_t
pool_node_id(const NodePool *p)
{
	return p->node_id;
}

int
pool_total(const NodePool *p)
{
	return p->total;
}

int
pool_idle(const NodePool *p)
{
	return p->nidle;
}

int
poolset_total_connections(const PoolSet *ps)
{
	int n = 0;
	for (const NodePool *p = ps->pools; p != NULL; p = p->next)
		n += p->total;
	return n;
}
