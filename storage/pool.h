#ifndef SG_STORAGE_POOL_H
#define SG_STORAGE_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/loop.h"
#include "storage/node.h"
#include "storage/poolshare.h"

/*
 * NodePool: connections to one node for one (user, database), shared by all
 * sessions of a loop. A session leases a connection for a statement or a
 * transaction (transaction pooling) and gives it back with pool_release.
 * PoolSet: the pools of one loop, found by (node, user, database). With a
 * PoolShare, max_per_pool limits the pools of that key over all loops.
 */

typedef struct NodePool NodePool;
typedef struct PoolSet PoolSet;
typedef struct PoolWaiter PoolWaiter;

/* ready: conn on success (leased to the caller), or NULL with err (08006, 53300) */
typedef void (*PoolReadyFn)(NodeConn *conn, const SgError *err, void *arg);

typedef struct PoolLimits {
	int max_per_pool;         /* connections per (node, user, database) */
	uint64_t wait_timeout_ms; /* queue wait before 53300 */
	int max_idle_per_pool;    /* idle connections kept */
} PoolLimits;

/* poolset_create: share NULL: each pool has max_per_pool connections of its own */
PoolSet *poolset_create(Loop *loop, const PoolLimits *limits, PoolShare *share);
void poolset_destroy(PoolSet *ps);
/*
 * poolset_get: the pool for (node_id at host:port, user, database), created on
 * first use. The conninfo is built from these; password may be NULL.
 */
NodePool *poolset_get(PoolSet *ps, int32_t node_id, const char *host, int32_t port,
                      const char *user, const char *database, const char *password);

/*
 * pool_acquire leases a connection. If one is idle, ready() runs before this
 * returns and the result is NULL; otherwise the request waits in FIFO order
 * (a new connection is opened if the limit allows) and the returned waiter
 * can be withdrawn with pool_cancel before ready() runs.
 */
PoolWaiter *pool_acquire(NodePool *pool, PoolReadyFn ready, void *arg);
void pool_cancel(PoolWaiter *w);
/*
 * pool_release gives a leased connection back: kept idle if it is healthy,
 * idle and outside a transaction, closed otherwise.
 */
void pool_release(NodeConn *conn);
/* pool_discard: close a leased connection that must not serve anyone else (LISTEN state) */
void pool_discard(NodeConn *conn);
int32_t pool_node_id(const NodePool *pool);
/* counts for the admin view and tests */
int pool_total(const NodePool *pool);
int pool_idle(const NodePool *pool);
int poolset_total_connections(const PoolSet *ps);

/* PoolInfo: one pool as the operator view shows it */
typedef struct PoolInfo {
	int32_t node_id;
	const char *user;
	const char *database;
	int open;     /* this loop's connections, open or opening */
	int idle;     /* ... of them idle */
	int waiting;  /* requests queued for one */
	int open_all; /* the connections of every loop's pool of this key (open when not shared) */
	int limit;    /* max_per_pool */
} PoolInfo;
/* poolset_each: fn(info, arg) for every pool of the set (on its loop) */
void poolset_each(const PoolSet *ps, void (*fn)(const PoolInfo *info, void *arg), void *arg);

#endif /* SG_STORAGE_POOL_H */
