#ifndef SG_PLANNER_MULTISTAGE_H
#define SG_PLANNER_MULTISTAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * multistage.h: SELECTs over distributed tables that neither the router nor
 * fan-out can answer: every distributed relation is pulled (filtered, only
 * the columns used) into a temporary table on the merge node, then the
 * statement itself runs there over the temporary tables.
 */

/*
 * multistage_temp_name: the one generator of temporary table names,
 * `sg_tmp_<k>`, or `sg_tmp_<tag>_<k>` with a tag (in a)
 */
const char *multistage_temp_name(Arena *a, const char *tag, int32_t k);

/*
 * multistage_build_stage: the pull of relation rel (its referenced columns,
 * its own filters and extra_where if not NULL) into the temporary table
 * `temp` on node dest: fragments from the other nodes holding its shards,
 * dest's own shards inserted there, then ANALYZE (dest_node = dest)
 */
SG_MUSTCHECK bool multistage_build_stage(const Analysis *an, Arena *a, int32_t rel,
                                         const char *temp, int32_t dest, const char *extra_where,
                                         PullStage *st, SgError *err);

/*
 * multistage_plan fills plan (PLAN_TASKS with stages, merge_node = the
 * first node, one final task there, COMBINE_RELAY; an->shape.temp_tag:
 * tagged temporary tables, no cleanup_sql). 0A000 for FOR
 * UPDATE/SHARE and data-modifying WITH; XX000 on a deparse failure.
 */
SG_MUSTCHECK bool multistage_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

#endif /* SG_PLANNER_MULTISTAGE_H */
