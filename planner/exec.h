#ifndef SG_PLANNER_EXEC_H
#define SG_PLANNER_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "planner/plan.h"
#include "storage/catalog.h"
#include "txn/txn.h"

/*
 * Exec: runs one DistPlan's tasks on the nodes through the session's Txn
 * and streams the combined result to a sink (the client connection).
 *
 * Tasks of one node run one after the other on that node's participant
 * connection; different nodes run at the same time. Rows are relayed as the
 * nodes' DataRow messages, never decoded. The sink's is_full() is asked
 * after each relayed row: when true, node reads pause until exec_resume().
 */

typedef struct ExecSink {
	/* a message for the client (RowDescription, DataRow, CommandComplete, Notice...) */
	void (*message)(void *arg, char type, const char *body, size_t len);
	/* the statement ended; err NULL on success (the Exec is already freed) */
	void (*done)(void *arg, const SgError *err);
	/* true while the client's output buffer is over its limit */
	bool (*is_full)(void *arg);
	void *arg;
	/*
	 * query_memory_limit (0 = none): the bytes of intermediate rows the
	 * statement may move through the gateway to the merge node (what the
	 * gateway holds when the merge node falls behind), plus the EXPLAIN
	 * ANALYZE output it gathers. Over it the statement is cancelled with
	 * 53200 out of memory. Rows relayed to the client are not counted: their
	 * buffer is bounded by is_full().
	 */
	size_t memory_limit;
} ExecSink;

typedef struct Exec Exec;

/*
 * ExecBind: the extended-protocol context of a statement (NULL for the simple
 * protocol). Tasks then go out as Parse/Bind/Execute/Sync with the client's
 * parameter types, result formats and, for tasks with uses_params, the
 * client's parameter values as sent (text or binary), so rows come back in
 * the formats the client asked for and are relayed unchanged.
 */
typedef struct ExecBind {
	int16_t ntypes;
	const uint32_t *types;
	int16_t nformats;
	const int16_t *formats;
	int16_t nparams;
	const char *const *values;
	const int32_t *lengths;
	int16_t nresult;
	const int16_t *result_formats;
	bool send_row_description;   /* false for Execute: Describe already sent it */
	uint64_t schema_epoch;       /* part of the key of statements kept prepared on a backend
	                                connection: after DDL they are parsed again (PostgreSQL would
	                                say "cached plan must not change result type") */
	char describe;               /* 0: execute; 'S'/'P': Parse(+Bind)+Describe only, relaying the
	                                ParameterDescription / RowDescription / NoData the node computes */
	const char *describe_portal; /* != NULL: only Describe of this portal of the node (a cursor
	                                of DECLARE), no Parse/Bind */
} ExecBind;

/*
 * exec_start runs plan (PLAN_TASKS). The plan and snapshot must outlive the
 * Exec (statement arena, session's snapshot ref). done() always runs
 * exactly once, possibly before exec_start returns (then NULL is returned).
 */
Exec *exec_start(const DistPlan *plan, const CatalogSnapshot *snap, Txn *txn, const ExecSink *sink,
                 const ExecBind *bind);
/* exec_resume: the sink has room again */
void exec_resume(Exec *e);
/* exec_cancel: send a CancelRequest to every node running part of the statement */
void exec_cancel(Exec *e);
/*
 * exec_cancel_deadlock: the statement is the victim of a distributed deadlock:
 * cancel it, and report the cancellation as 40P01 deadlock_detected
 */
void exec_cancel_deadlock(Exec *e);
/* exec_abandon: the client is gone; stop without calling done(); connections are dropped */
void exec_abandon(Exec *e);

#endif /* SG_PLANNER_EXEC_H */
