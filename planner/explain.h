#ifndef SG_PLANNER_EXPLAIN_H
#define SG_PLANNER_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "planner/parse.h"
#include "planner/plan.h"

/*
 * explain.h: EXPLAIN of a statement on distributed or reference tables
 * shows the distributed plan (tier, each fragment's SQL and node, stages,
 * final query) as rows of one text column "QUERY PLAN".
 */

/*
 * explain_plan fills plan with one task on node_id that returns the lines
 * describing `inner` (the explained statement's plan) as a VALUES list of
 * string constants; command tag EXPLAIN. stmt supplies the
 * parser version only. Everything in a.
 */
SG_MUSTCHECK bool explain_plan(const ParsedStmt *stmt, const DistPlan *inner, int32_t node_id,
                               Arena *a, DistPlan *plan, SgError *err);

/*
 * explain_analyze_plan: EXPLAIN ANALYZE. `inner` is the explained
 * statement's plan, planned with one statement per task; plan becomes a copy
 * whose tasks (the final query's, for multi-stage) run `EXPLAIN (<options>)
 * <sql>` (options from the statement's ParseInfo), explained = inner.
 */
SG_MUSTCHECK bool explain_analyze_plan(const ParseInfo *pi, const DistPlan *inner, Arena *a,
                                       DistPlan *plan, SgError *err);

/* What the executor measured while running an EXPLAIN ANALYZE plan. */
typedef struct ExplainTaskStat {
	Buf out;       /* wrapped tasks: the node's EXPLAIN lines, each ending in '\n' */
	uint64_t rows; /* stage fragments: rows copied; local shards: rows inserted */
	uint64_t usec; /* from sending the task to the node's ReadyForQuery */
	bool ran;
} ExplainTaskStat;

typedef struct ExplainStageStat {
	ExplainTaskStat *frags; /* [stage ntasks] */
	ExplainTaskStat local;  /* local_sql */
	uint64_t usec;          /* the whole stage: create, copy, local shards */
	bool ran;
} ExplainStageStat;

typedef struct ExplainStats {
	ExplainTaskStat *tasks;   /* [plan->ntasks] */
	ExplainStageStat *stages; /* [plan->nstages] */
	uint64_t total_usec;
} ExplainStats;

/* explain_stats_new / _free: zeroed stats for plan (malloc) */
ExplainStats *explain_stats_new(const DistPlan *plan);
void explain_stats_free(const DistPlan *plan, ExplainStats *st);

/*
 * explain_analyze_lines: the QUERY PLAN lines of an EXPLAIN ANALYZE plan
 * after it ran: the distributed plan of plan->explained, each fragment
 * followed by the node's EXPLAIN ANALYZE lines (or, for stage fragments, the
 * rows and time the gateway measured), then the total time.
 */
void explain_analyze_lines(const DistPlan *plan, const ExplainStats *st, Arena *a, int32_t *nlines,
                           const char ***lines);

#endif /* SG_PLANNER_EXPLAIN_H */
