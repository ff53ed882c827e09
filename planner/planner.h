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
 * planner_plan_stmt_keys: planner_plan_stmt_sp with what the session drew
 * first. After a PLAN_FILL, values are what fill_sql returned (text, nvalues
 * == fill_count, in order): they go into the distribution column of the rows
 * that left it out (NULL: none). After one or more PLAN_PREFETCH, keys are
 * every key set fetched so far for this statement (each tagged with the
 * reduction it was fetched for). The plan may ask for
 * the next key set (PLAN_PREFETCH again). nkeys -1: plan without semi-join
 * reductions, never PLAN_PREFETCH (Describe, SQL-level EXECUTE). in_block:
 * the session is inside a transaction block (no repartition: repartition.h).
 */
SG_MUSTCHECK bool planner_plan_stmt_keys(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                         const char *stmt_text, const char *search_path,
                                         const PlanParams *params, const char *const *values,
                                         int32_t nvalues, const KeySet *keys, int32_t nkeys,
                                         bool in_block, Arena *a, DistPlan **out, SgError *err);

/*
 * planner_plan_copy: plans `COPY ... FROM STDIN`. *is_copy false (and true
 * returned) for any other statement, which then goes to planner_plan_stmt.
 */
SG_MUSTCHECK bool planner_plan_copy(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                                    const char *stmt_text, const char *search_path, Arena *a,
                                    DistPlan **out, bool *is_copy, SgError *err);

/*
 * INSERT ... SELECT moved through the gateway (PLAN_INSERT_SELECT). The
 * session runs plan->select_plan with binary results and keeps its rows,
 * then:
 *   1. planner_insert_select_fill: the statement drawing values for a
 *      serial distribution column the INSERT leaves out (run it, keep the
 *      values), or none;
 *   2. planner_insert_select_route: checks the rows' types and computes each
 *      row's shard;
 *   3. planner_insert_select_next until it gives no plan: each batch is an
 *      `INSERT ... VALUES ($1, ...), ...` (ON CONFLICT, RETURNING kept) of
 *      one shard's rows (every node's for a reference table), planned as
 *      PLAN_TASKS whose tasks take the batch's parameters (uses_params).
 * Command tag: the batches' counts summed.
 */
typedef struct InsertSelectRun InsertSelectRun;

/* InsertSelectRows: the SELECT's answer; values point into the session's copy of its rows */
typedef struct InsertSelectRows {
	int32_t ncols;
	const uint32_t *types; /* [ncols]: RowDescription type oids */
	int32_t nrows;
	const char *const *values; /* [nrows * ncols], binary format; NULL = SQL NULL */
	const int32_t *lengths;    /* [nrows * ncols] */
	const char *const *fill;   /* NULL, or [nrows]: the values step 1 drew (text) */
} InsertSelectRows;

/*
 * planner_insert_select_fill: *sql (in a) draws nrows values of the
 * sequence of the distribution column the INSERT leaves out, to run on
 * *node_id (one column, nrows rows, in order); *sql NULL when none is needed.
 * Checks the SELECT's column count against the INSERT (42601 as PostgreSQL).
 */
SG_MUSTCHECK bool planner_insert_select_fill(const DistPlan *plan, int32_t ncols, int32_t nrows,
                                             Arena *a, const char **sql, int32_t *node_id,
                                             SgError *err);

/*
 * planner_insert_select_route: the batches of rows (rows and its arrays
 * must outlive the run). 0A000 when the distribution value's type is not the
 * column's and the stored value could differ from the one hashed; 22P02 etc.
 * for a malformed value. The run lives in a.
 */
SG_MUSTCHECK bool planner_insert_select_route(const DistPlan *plan, const InsertSelectRows *rows,
                                              Arena *a, InsertSelectRun **out, SgError *err);

/*
 * planner_insert_select_next: the next batch's plan and parameters (in
 * arena a, which the caller may reset between batches); *out NULL when every
 * row was handed out.
 */
SG_MUSTCHECK bool planner_insert_select_next(InsertSelectRun *run, Arena *a, DistPlan **out,
                                             PlanParams *params, SgError *err);

/*
 * planner_resolve_table: the catalogued table an unqualified (schema NULL) or
 * qualified name means under search_path; NULL for a local table
 */
const CatTable *planner_resolve_table(const CatalogSnapshot *snap, const char *search_path,
                                      const char *schema, const char *name);

#endif /* SG_PLANNER_PLANNER_H */
