#ifndef SG_PLANNER_PLANNER_H
#define SG_PLANNER_PLANNER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/plan.h"
#include "storage/catalog.h"

/*
 * planner.h: the entry points the gateway calls.
 *
 * A simple Query message may hold several statements: planner_split() parses
 * the whole string once (libpg_query) and returns its statements; each is
 * then planned by planner_plan_stmt() just before it runs (a statement may
 * depend on the catalog change of the one before it, e.g.
 * "CREATE TABLE t(...); SELECT create_distributed_table('t','id'); INSERT ...").
 */

typedef struct ParsedStmt ParsedStmt; /* opaque: the statement's tree, in the statement arena */

typedef struct StmtList {
	int32_t nstmts;     /* 0 for an empty query string */
	ParsedStmt **stmts; /* [nstmts] */
	const char **texts; /* [nstmts] each statement's own source text (NUL-terminated copy) */
} StmtList;

/*
 * planner_split: parse sql into statements, in arena a. On a syntax error
 * returns false with err filled as PostgreSQL would (42601, message like
 * `syntax error at or near "x"`, position = 1-based cursor).
 */
SG_MUSTCHECK bool planner_split(Arena *a, const char *sql, StmtList *out, SgError *err);

/*
 * planner_plan_stmt: plan one parsed statement against snap. The plan and
 * its SQL live in arena a. Fails with err (0A000 naming the construct for
 * what is not supported yet, 42P01 etc. for user errors).
 */
SG_MUSTCHECK bool planner_plan_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                    const char *stmt_text, Arena *a, DistPlan **out, SgError *err);

/*
 * PlanParams: the parameter values of an extended-protocol Bind, used to
 * route `dist_col = $n` to one shard. Values point into the portal.
 */
typedef struct PlanParams {
	int32_t n;
	const char *const *values; /* [n]; NULL = SQL NULL */
	const int32_t *lengths;    /* [n] */
	const int16_t *formats;    /* [n]: 0 text, 1 binary */
	const uint32_t *types;     /* [n]: type oids from Parse/ParameterDescription, 0 unknown */
} PlanParams;

/*
 * planner_plan_stmt_params: planner_plan_stmt for a statement with $n
 * parameters (extended protocol). Every task that runs the client's
 * statement has uses_params set and holds exactly one statement.
 */
SG_MUSTCHECK bool planner_plan_stmt_params(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                           const char *stmt_text, const PlanParams *params,
                                           Arena *a, DistPlan **out, SgError *err);

/*
 * planner_plan_stmt_sp: planner_plan_stmt (params NULL) or
 * planner_plan_stmt_params, resolving unqualified table names along
 * search_path (the session's setting as text, e.g. `app, public`; NULL or
 * "" means public). The first schema of the path holding a distributed or
 * reference table of that name wins; otherwise the table is local.
 */
SG_MUSTCHECK bool planner_plan_stmt_sp(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                       const char *stmt_text, const char *search_path,
                                       const PlanParams *params, Arena *a, DistPlan **out,
                                       SgError *err);

/*
 * planner_plan_stmt_fill: after a PLAN_FILL, plan the statement again with
 * the values fill_sql returned (text, nvalues == fill_count, in order): they
 * go into the distribution column of the rows that left it out. With values
 * NULL it is planner_plan_stmt_sp.
 */
SG_MUSTCHECK bool planner_plan_stmt_fill(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                         const char *stmt_text, const char *search_path,
                                         const PlanParams *params, const char *const *values,
                                         int32_t nvalues, Arena *a, DistPlan **out, SgError *err);

/*
 * planner_plan_stmt_keys: planner_plan_stmt_fill after one or more
 * PLAN_PREFETCH: keys are every key set fetched so far for this statement
 * (each tagged with the reduction it was fetched for). The plan may ask for
 * the next key set (PLAN_PREFETCH again). nkeys -1: plan without semi-join
 * reductions, never PLAN_PREFETCH (Describe, SQL-level EXECUTE).
 */
SG_MUSTCHECK bool planner_plan_stmt_keys(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                         const char *stmt_text, const char *search_path,
                                         const PlanParams *params, const char *const *values,
                                         int32_t nvalues, const KeySet *keys, int32_t nkeys,
                                         Arena *a, DistPlan **out, SgError *err);

/*
 * planner_plan_copy: plans `COPY ... FROM STDIN`. *is_copy false (and true
 * returned) for any other statement, which then goes to planner_plan_stmt.
 */
SG_MUSTCHECK bool planner_plan_copy(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                    const char *stmt_text, const char *search_path, Arena *a,
                                    DistPlan **out, bool *is_copy, SgError *err);

/*
 * planner_resolve_table: the catalogued table an unqualified (schema NULL) or
 * qualified name means under search_path; NULL for a local table
 */
const CatTable *planner_resolve_table(const CatalogSnapshot *snap, const char *search_path,
                                      const char *schema, const char *name);

#endif /* SG_PLANNER_PLANNER_H */
