#ifndef SG_STORAGE_LOCKWAIT_H
#define SG_STORAGE_LOCKWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "storage/catalog.h"

/*
 * lockwait: who waits for whom on each node (pg_blocking_pids), the input of
 * the gateway's distributed deadlock detector. Each node sees only its own
 * half of a cross-node cycle; the gateway joins the halves through the
 * backend pids of its own connections.
 */

typedef struct LockWait {
	int32_t node_id;
	int32_t waiter;  /* backend pid waiting for a lock */
	int32_t blocker; /* backend pid it waits for */
} LockWait;

/*
 * lockwait_collect: blocking (worker thread). Queries every active node of
 * snap as user/dbname and returns the wait edges in arena a. Unreachable
 * nodes are skipped (their edges are simply missing). links (NULL: none)
 * keeps the connections for the next round.
 */
SG_MUSTCHECK bool lockwait_collect(const CatalogSnapshot *snap, const char *user,
                                   const char *dbname, Arena *a, LockWait **out, int *n,
                                   SgError *err, LinkSet *links);

/* A prepared transaction of the gateways' 2PC (gid sg_*) waiting on a node */
typedef struct PreparedXact {
	int32_t node_id;
	char *gid;
	char *prepared; /* timestamptz as text */
} PreparedXact;

/*
 * prepared_collect: blocking (worker thread). The sg_* prepared transactions
 * of every reachable active node, in arena a (operator view).
 */
SG_MUSTCHECK bool prepared_collect(const CatalogSnapshot *snap, const char *user,
                                   const char *dbname, Arena *a, PreparedXact **out, int *n,
                                   SgError *err);

#endif /* SG_STORAGE_LOCKWAIT_H */
