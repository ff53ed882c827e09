#ifndef SG_PLANNER_EXPLAIN_H
#define SG_PLANNER_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
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

#endif /* SG_PLANNER_EXPLAIN_H */
