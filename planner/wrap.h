#ifndef SG_PLANNER_WRAP_H
#define SG_PLANNER_WRAP_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * wrap.h: `COPY ... TO STDOUT` and `DECLARE CURSOR` over distributed tables.
 * Both wrap a query: planner.c plans that query with a PlanShape asking for
 * one relayed task (router, or multi-stage: never a fan-out whose rows come
 * from several nodes; a cursor's task on the first node, where FETCH and
 * CLOSE go), then the wrapper statement replaces that task's statement:
 * `COPY (final query) TO STDOUT (options)` or `DECLARE c ... CURSOR FOR
 * final query`. PostgreSQL then writes one header, the binary framing, the
 * cursor's positions: every option behaves as on one node.
 */

/*
 * wrap_inner: the query to plan (a COPY of a relation: `SELECT <columns>
 * FROM <relation>`), its text, and the shape its plan must have. 0A000 for
 * COPY TO a server file or program; 42703/42701 for a bad column list.
 */
SG_MUSTCHECK bool wrap_inner(const Analysis *an, Arena *a, ParsedStmt **inner, const char **text,
                             PlanShape *shape, SgError *err);

/*
 * wrap_finish: plan = the query's plan ip with its one task's statement
 * wrapped. 0A000 when ip is not one relayed task (a COPY of INSERT/UPDATE/
 * DELETE ... RETURNING over several shards).
 */
SG_MUSTCHECK bool wrap_finish(const Analysis *an, const DistPlan *ip, Arena *a, DistPlan *plan,
                              SgError *err);

#endif /* SG_PLANNER_WRAP_H */
