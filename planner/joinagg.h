#ifndef SG_PLANNER_JOINAGG_H
#define SG_PLANNER_JOINAGG_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/deparse.h"
#include "planner/plan.h"

/*
 * joinagg.h: a SELECT that aggregates across shards over a join that runs
 * per shard (co-located distributed tables linked by their distribution
 * columns, reference tables, inlined small tables), the Citus way: every
 * shard joins and computes partial aggregates grouped like the statement;
 * the merge node combines them (deparse.h, "Partial aggregates over a
 * join"). Only the partial rows move: one per group per shard.
 *
 * Applies to a statement reading two or more relations (subqueries only in
 * WHERE / ON, run per shard), no local table, whose top level aggregates or groups (with
 * HAVING, ORDER BY, LIMIT allowed) and whose relations would fan out
 * otherwise (fanout_applies_grouped); the outputs as deparse_joinagg_ok.
 */

/* joinagg_applies: the statement has that shape */
bool joinagg_applies(const Analysis *an);

/* joinagg_plan: the plan (one pull stage of partial rows, the final query on the first node) */
SG_MUSTCHECK bool joinagg_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

/*
 * joinagg_gather_stage: the stage filling `temp` on merge with every node's
 * partial aggregates, and the final query combining them. Each node's
 * fragment reads its own shards (ren NULL: fan-out's shard renames), or the
 * relations renamed as ren says (a repartition's temporary tables).
 */
SG_MUSTCHECK bool joinagg_gather_stage(const Analysis *an, Arena *a, const DeparseRename *ren,
                                       int32_t nren, const int32_t *nodes, int32_t nnodes,
                                       int32_t merge, const char *temp, PullStage *st,
                                       char **final_sql, SgError *err);

#endif /* SG_PLANNER_JOINAGG_H */
