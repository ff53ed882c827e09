#ifndef SG_PLANNER_FANOUT_H
#define SG_PLANNER_FANOUT_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/deparse.h"
#include "planner/plan.h"

/*
 * fanout.h: SELECT / UPDATE / DELETE over every shard of one distributed
 * table, when concatenating the per-shard answers is the right answer.
 */

/*
 * fanout_applies: true when the statement's answer is the concatenation of
 * its per-shard answers; otherwise false with err = 0A000 naming the first
 * construct in the way.
 */
SG_MUSTCHECK bool fanout_applies(const Analysis *an, SgError *err);

/*
 * fanout_applies_grouped: fanout_applies with the top level allowed to
 * aggregate, group, sort and limit across shards (joinagg.c)
 */
SG_MUSTCHECK bool fanout_applies_grouped(const Analysis *an, SgError *err);

/* fanout_nodes: the nodes holding shards of the first distributed relation's group, ascending */
int32_t fanout_nodes(const Analysis *an, Arena *a, int32_t **nodes);

/*
 * fanout_shard_sets: for each shard on node, one rename per distributed
 * relation (an->ndist per set, in statement order) to that shard; the count
 */
int32_t fanout_shard_sets(const Analysis *an, Arena *a, int32_t node, DeparseRename **sets);

/*
 * fanout_plan fills plan with one task per node holding shards: a SELECT
 * becomes the UNION ALL of its per-shard copies (one snapshot per node); an
 * UPDATE/DELETE one statement per shard joined with "; ". COMBINE_CONCAT.
 * 0A000 naming the construct when per-shard results cannot simply be
 * concatenated (aggregates, ORDER BY, LIMIT, DISTINCT, joins of unpinned
 * distributed tables, subqueries on the distributed table...).
 */
SG_MUSTCHECK bool fanout_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

/*
 * fanout_insert_select plans `INSERT INTO dist [(cols)] SELECT ...` whose
 * SELECT reads distributed tables co-located with the target, linked by
 * their distribution columns, with no aggregation / sort / limit / DISTINCT
 * across shards (fanout_applies' rules for the SELECT), and whose value for
 * the target's distribution column is the distribution column of one of
 * them: every row then stays in its shard, and each shard runs `INSERT INTO
 * sg_gG_i.t SELECT ... FROM sg_gG_i.u ...`. Otherwise 0A000 naming why.
 */
SG_MUSTCHECK bool fanout_insert_select(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

#endif /* SG_PLANNER_FANOUT_H */
