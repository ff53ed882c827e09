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
/*
 * insert_always_column: the column of distributed table t that item pos of
 * an INSERT's rows goes to (its column list cols[ncols], or none: t's
 * columns in order) when that column is an identity GENERATED ALWAYS, else
 * NULL. A value for it needs OVERRIDING SYSTEM VALUE; the shard tables have a
 * plain default instead of the identity, so the gateway checks that.
 */
const char *insert_always_column(const CatTable *t, int32_t ncols, const char *const *cols,
                                 int32_t pos);
/* generated_always: sets PostgreSQL's 428C9 error for a value given to that column; false */
bool generated_always(const char *column, SgError *err);
/*
 * check_overriding_user: OVERRIDING USER VALUE on t, whose distribution
 * column is an identity, is refused (0A000): PostgreSQL would replace the
 * given values with the sequence's, which the gateway does not do
 */
bool check_overriding_user(const CatTable *t, ParseOverriding override, SgError *err);

#endif /* SG_PLANNER_ROUTER_H */
