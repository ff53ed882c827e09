#ifndef SG_PLANNER_DDL_H
#define SG_PLANNER_DDL_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * ddl.h: schema changes, sent to every active node.
 */

/*
 * ddl_plan fills plan for a PARSE_DDL / PARSE_DDL_LOCAL statement: temp
 * objects on the first node only; otherwise one task per active node with
 * the statement for the shells, followed on each node by the statement
 * renamed for every shard of a distributed target there (DROP TABLE lists
 * the shard tables and the shells in one statement and adds
 * `SELECT shardgate.forget_table($1, $2)` on the first node). 0A000 for
 * renaming a catalogued table or a distribution column, changing the type
 * of / dropping a distribution column, views or CREATE TABLE AS over
 * distributed tables, DROP SCHEMA of a schema holding catalogued tables.
 */
SG_MUSTCHECK bool ddl_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err);

#endif /* SG_PLANNER_DDL_H */
