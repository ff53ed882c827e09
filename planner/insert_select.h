#ifndef SG_PLANNER_INSERT_SELECT_H
#define SG_PLANNER_INSERT_SELECT_H

#include <stdbool.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * insert_select.h: INSERT ... SELECT whose rows move through the gateway
 * (PLAN_INSERT_SELECT). The session-facing steps (fill, route, batches)
 * are declared in planner/planner.h and implemented in insert_select.c.
 */

/* InsertSelectPlanFn: plans the SELECT (a statement of its own) like any statement */
typedef bool (*InsertSelectPlanFn)(const Analysis *an, const ParsedStmt *select, const char *text,
                                   Arena *a, DistPlan **out, SgError *err);

/*
 * insert_select_plan: plan->kind = PLAN_INSERT_SELECT for the INSERT ...
 * SELECT an (target distributed, reference or local): select_plan is the
 * SELECT planned by plan_select (every SELECT the gateway can answer), plus
 * what the batches need. 0A000 for what the batches cannot express ($n or
 * subqueries in ON CONFLICT / RETURNING, the distribution column assigned by
 * ON CONFLICT DO UPDATE).
 */
SG_MUSTCHECK bool insert_select_plan(const Analysis *an, Arena *a, InsertSelectPlanFn plan_select,
                                     DistPlan *plan, SgError *err);

#endif /* SG_PLANNER_INSERT_SELECT_H */
