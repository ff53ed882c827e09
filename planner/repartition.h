#ifndef SG_PLANNER_REPARTITION_H
#define SG_PLANNER_REPARTITION_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * repartition.h: a join of two large distributed tables that are not
 * co-located, repartitioned on the join key. For an inner equality `A.x =
 * B.y` of the top level (integer or text keys), every node k of the N
 * active nodes receives the rows of A and of B whose key hashes to k
 * (`(hashint8(x::int8) & 2147483647) % N = k`, hashtext for text), into
 * temporary tables `sg_tmp_1` / `sg_tmp_2` there (pull stages with
 * dest_node k: each source node sends its shards' matching rows, node k
 * inserts its own). Rows that can join now share a node, so the statement
 * runs per node over the two temporary tables: its rows concatenated when
 * it would fan out if A and B were co-located on x and y, or its partial
 * aggregates gathered on the first node and combined (joinagg) when it
 * aggregates across them.
 *
 * Chosen when neither side is worth broadcasting (semijoin_worth), both
 * estimates are known and A + B reach join_repartition_min_rows (default 1
 * million: the stages run one after the other and each source scans its
 * shards once per node, so on a small cluster pulling both sides into one
 * node is faster; the repartition spreads the join's memory and work), the
 * statement reads no other distributed table and no local table, and the
 * session is not inside a transaction block (PlanShape.in_block): the
 * temporary tables on every node would keep a later multi-node write from
 * preparing its two-phase commit.
 */

/* repartition_plan: the plan, or *done false when it does not apply */
SG_MUSTCHECK bool repartition_plan(const Analysis *an, Arena *a, DistPlan *plan, bool *done,
                                   SgError *err);

#endif /* SG_PLANNER_REPARTITION_H */
