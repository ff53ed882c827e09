#ifndef SG_PLANNER_ROUTER_H
#define SG_PLANNER_ROUTER_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * router.h: single-node plans for statements on distributed tables.
 */

/*
 * router_try: when every distributed relation of the statement is pinned to
 * a shard and all those shards sit on one node, fill plan with one task
 * there (relations renamed to their shards, COMBINE_RELAY) and set *routed.
 * Otherwise *routed = false and plan is untouched. False only on a deparse
 * failure (err filled).
 */
SG_MUSTCHECK bool router_try(const Analysis *an, Arena *a, DistPlan *plan, bool *routed,
                             SgError *err);

/*
 * router_insert plans INSERT ... VALUES into a distributed table: each row
 * goes to the shard of its distribution value (a constant), one INSERT per
 * shard, shards of one node in one task. 0A000 for INSERT ... SELECT, a
 * missing/DEFAULT/non-constant distribution value; 22P02/22003 for a value
 * that is not of the column's type.
 */
SG_MUSTCHECK bool router_insert(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

#endif /* SG_PLANNER_ROUTER_H */
