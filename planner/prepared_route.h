#ifndef SG_PLANNER_PREPARED_ROUTE_H
#define SG_PLANNER_PREPARED_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "planner/plan.h"
#include "planner/planner.h"
#include "storage/catalog.h"

/*
 * prepared_route.h: how the Executes of one prepared statement route,
 * learnt from its first plans, so that an Execute of a router statement
 * (`... WHERE dist_col = $n`, `INSERT ... VALUES (..., $n, ...)`) neither
 * analyzes nor deparses: it hashes the Bind value of $n, and takes the SQL
 * of that shard, kept from the first plan that went there.
 *
 * Valid for one catalog snapshot (it holds a reference) and one
 * search_path; anything else, or a statement whose shard depends on more
 * than one value, plans normally every time.
 */

typedef struct PreparedRoute PreparedRoute;

PreparedRoute *prepared_route_create(void);
void prepared_route_destroy(PreparedRoute *r);

/* prepared_route_plan: the plan for these Bind values (in a); false: plan normally, then learn */
bool prepared_route_plan(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path,
                         const PlanParams *params, Arena *a, DistPlan **out);

/*
 * prepared_route_learn: plan is what the planner made for stmt with these
 * values; remember the routing (first time) and this shard's SQL. Scratch from a.
 */
void prepared_route_learn(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path,
                          const ParsedStmt *stmt, const char *text, const PlanParams *params,
                          const DistPlan *plan, Arena *a);

#endif /* SG_PLANNER_PREPARED_ROUTE_H */
