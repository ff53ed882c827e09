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
 *
 * With a PoolShare the limits count the connections of every loop's pool of
 * the same key (poolshare.h): a pool takes a slot before it opens, gives it
 * back when a connection closes, keeps one idle only within pool_idle over
 * all loops, and while another loop's pool waits for a slot it keeps no more
 * than its share of the limit, and gives up connections that stay idle for
 * POOL_SHED_IDLE_MS. A connection given up moves to the waiting loop as it is
 * (node_detach / node_attach: the same backend, its settings and prepared
 * statements), unless that loop stopped waiting meanwhile: then it closes.
 */
#include "storage/pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/poolshare.h"

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
	uint64_t *idle_at; /* when idle[i] was parked (loop_now_us) */
	int nidle;
	Timer *shed_timer; /* while others wait and this pool holds idle connections */
	bool shed_armed;
	int total;
	int connecting;
	PoolWaiter *head;
	PoolWaiter *tail;
	QuotaMember *quota; /* NULL: the limit is this pool's alone */
};

/*
 * While another loop's pool waits, a connection idle this long is closed so
 * that the waiting loop can open one. Not at once: a busy loop's queue is
 * often empty for a moment, and its next client would need a new backend.
 */
#define POOL_SHED_IDLE_MS 10

struct PoolSet {
	Loop *loop;
	PoolLimits limits;
	PoolShare *share;
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
poolset_create(Loop *loop, const PoolLimits *limits, PoolShare *share)
{
	PoolSet *ps = calloc(1, sizeof(PoolSet));
	if (ps == NULL)
		abort();
	ps->loop = loop;
	ps->limits = *limits;
	ps->share = share;
	return ps;
}

/* pool_unpark: n idle connections were taken or closed */
static void
pool_unpark(NodePool *p, int n)
{
	if (p->quota != NULL && n > 0)
		quota_unpark(p->quota, n);
}

/* pool_may_park: one more idle connection stays within pool_idle (over all loops if shared) */
static bool
pool_may_park(NodePool *p)
{
	int max = p->set->limits.max_idle_per_pool;
	return p->nidle < max && (p->quota == NULL || quota_park(p->quota, max));
}

/* pool_park: keep conn idle (pool_may_park said yes) */
static void
pool_park(NodePool *p, NodeConn *conn)
{
	p->idle_at[p->nidle] = loop_now_us(p->set->loop);
	p->idle[p->nidle++] = conn;
}

/* pool_close: close one of the pool's connections and give its slot back */
static void
pool_close(NodePool *p, NodeConn *conn)
{
	p->total--;
	node_destroy(conn);
	if (p->quota != NULL)
		quota_give(p->quota);
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
	if (p->head == NULL && p->quota != NULL)
		quota_done_waiting(p->quota);
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
		pool_unpark(p, p->nidle);
		while (p->nidle > 0)
			pool_close(p, p->idle[--p->nidle]);
		quota_leave(p->quota);
		loop_timer_destroy(p->shed_timer);
		free(p->idle);
		free(p->idle_at);
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

static void pool_retry(void *arg);
static void pool_shed(void *arg);
static void pool_adopt(void *owner, void *item);
static void pool_drop(void *item);
static void pool_on_shed_timer(void *arg);
static void pool_hand_over(NodePool *p, NodeConn *conn);

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
	p->idle_at = calloc((size_t)ps->limits.max_idle_per_pool + 1, sizeof(uint64_t));
	if (p->idle == NULL || p->idle_at == NULL)
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
	if (ps->share != NULL) {
		static const QuotaHooks hooks = {pool_retry, pool_shed, pool_adopt, pool_drop};
		char key[2048];
		snprintf(key, sizeof(key), "%d\n%s\n%d\n%s\n%s", node_id, host, port, user, database);
		p->quota = quota_join(ps->share, key, ps->limits.max_per_pool, ps->loop, p, &hooks);
		p->shed_timer = loop_timer_create(ps->loop, pool_on_shed_timer, p);
	}
	return p;
}

static void pool_open(NodePool *p);

/* pool_grow: open a connection if someone waits, none is being opened and the limit allows */
static void
pool_grow(NodePool *p)
{
	if (p->head == NULL || p->connecting > 0)
		return;
	if (p->quota != NULL ? quota_take(p->quota, p->total) : p->total < p->set->limits.max_per_pool)
		pool_open(p);
}

/* pool_retry: another loop gave a slot back (a QuotaHooks hook) */
static void
pool_retry(void *arg)
{
	pool_grow(arg);
}

/*
 * pool_over_share: another loop's pool waits for a slot and this one holds
 * more than its share. Only connections beyond the share move: giving one up
 * whenever the own queue is empty for a moment would let two busy loops trade
 * connections back and forth, a new backend on the node each time.
 */
static bool
pool_over_share(const NodePool *p)
{
	if (p->quota == NULL)
		return false;
	int share = quota_share(p->quota);
	return share >= 0 && p->total > share;
}

/* pool_arm_shed: check the idle connections in ms, unless a check is due already */
static void
pool_arm_shed(NodePool *p, uint64_t ms)
{
	if (!p->shed_armed) {
		p->shed_armed = true;
		loop_timer_start(p->shed_timer, ms);
	}
}

/*
 * pool_give_up: another loop's pool waits for a slot: hand conn (idle, not in
 * a callback) to it, its slot along, so no backend starts on the node; close
 * it if that pool stopped waiting meanwhile
 */
static void
pool_give_up(NodePool *p, NodeConn *conn)
{
	node_detach(conn);
	node_set_owner(conn, NULL);
	if (quota_hand_off(p->quota, conn)) {
		p->total--;
		return;
	}
	pool_close(p, conn);
}

/* pool_adopt: another loop handed a connection over (a QuotaHooks hook) */
static void
pool_adopt(void *owner, void *item)
{
	NodePool *p = owner;
	NodeConn *conn = item;
	node_attach(conn, p->set->loop);
	node_set_owner(conn, p);
	p->total++;
	pool_hand_over(p, conn);
}

/* pool_drop: a handed-over connection arrived after its pool was gone */
static void
pool_drop(void *item)
{
	node_destroy(item);
}

/*
 * pool_shed: another loop's pool waits for a slot (a hook, and the shed
 * timer): close the idle connections that broke, and give up those that stay
 * beyond the share or have been idle for POOL_SHED_IDLE_MS; check again when
 * the next one reaches that age
 */
static void
pool_shed(void *arg)
{
	NodePool *p = arg;
	if (p->quota == NULL || quota_share(p->quota) < 0)
		return; /* nobody waits (any more) */
	uint64_t now = loop_now_us(p->set->loop);
	uint64_t after = POOL_SHED_IDLE_MS * 1000u;
	uint64_t next_us = 0;
	int keep = 0, n = p->nidle;
	for (int i = 0; i < n; i++) { /* oldest first */
		NodeConn *conn = p->idle[i];
		uint64_t age = now - p->idle_at[i];
		bool broke = node_state(conn) != NODE_IDLE;
		if (broke || age >= after || pool_over_share(p)) {
			/* no longer idle before it may arrive on another loop, which counts idle ones */
			pool_unpark(p, 1);
			if (!broke && node_can_detach(conn))
				pool_give_up(p, conn);
			else
				pool_close(p, conn);
			continue;
		}
		if (next_us == 0 || after - age < next_us)
			next_us = after - age;
		p->idle_at[keep] = p->idle_at[i];
		p->idle[keep++] = conn;
	}
	p->nidle = keep;
	if (keep > 0)
		pool_arm_shed(p, next_us / 1000u + 1);
}

static void
pool_on_shed_timer(void *arg)
{
	NodePool *p = arg;
	p->shed_armed = false;
	pool_shed(p);
}

/* pool_hand_over: give conn to the first waiter, or keep it idle, or close it */
static void
pool_hand_over(NodePool *p, NodeConn *conn)
{
	if (pool_over_share(p)) {
		if (node_can_detach(conn)) {
			pool_give_up(p, conn);
			return;
		}
		/* released from inside its own reply: give it up from the shed timer, at once */
		if (!pool_may_park(p)) {
			pool_close(p, conn);
			return;
		}
		pool_park(p, conn);
		p->shed_armed = true;
		loop_timer_start(p->shed_timer, 0);
		return;
	}
	if (p->head != NULL) {
		PoolWaiter *w = p->head;
		PoolReadyFn ready = w->ready;
		void *arg = w->arg;
		waiter_unlink(w);
		ready(conn, NULL, arg);
		pool_grow(p); /* the rest of the queue */
		return;
	}
	if (pool_may_park(p)) {
		pool_park(p, conn);
		if (p->quota != NULL && quota_share(p->quota) >= 0)
			pool_arm_shed(p, POOL_SHED_IDLE_MS); /* another loop waits */
		return;
	}
	pool_close(p, conn);
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
		pool_close(p, conn);
		pool_fail_waiters(p, err);
		return;
	}
	pool_hand_over(p, conn);
}

/* pool_open: under the limit (the slot is taken) */
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
		pool_unpark(p, 1);
		if (node_state(conn) == NODE_IDLE) {
			ready(conn, NULL, arg);
			return NULL;
		}
		pool_close(p, conn); /* broke while idle */
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
		pool_close(p, conn);
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
	pool_close(p, conn);
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

void
poolset_each(const PoolSet *ps, void (*fn)(const PoolInfo *info, void *arg), void *arg)
{
	for (const NodePool *p = ps->pools; p != NULL; p = p->next) {
		PoolInfo pi = {p->node_id, p->user, p->database, p->total,
		               p->nidle,   0,       p->total,    ps->limits.max_per_pool};
		for (const PoolWaiter *w = p->head; w != NULL; w = w->next)
			pi.waiting++;
		if (p->quota != NULL)
			pi.open_all = quota_count(p->quota);
		fn(&pi, arg);
	}
}
