#ifndef SG_PLANNER_DEPARSE_H
#define SG_PLANNER_DEPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/parse.h"

/*
 * deparse.h: libpg_query wrapper, part two (writing). Every function
 * renames relations of a parsed statement for one target, packs the tree
 * and runs libpg_query's deparser; the tree is restored before returning,
 * so a ParsedStmt can be deparsed any number of times. Results live in the
 * arena a. Failures (the deparser refusing a tree) fill err with XX000.
 */

/* DeparseRename: point relation info->rels[rel] at schema `schema` */
typedef struct DeparseRename {
	int32_t rel;
	const char *schema;
	bool keep_alias;     /* DML: add `AS <name>` when it had no alias, so `t.col` still resolves */
	const char *relname; /* NULL: keep the relation's name; else replace it (temp tables) */
} DeparseRename;

/* deparse_stmt: the statement with renames[nrenames] applied */
SG_MUSTCHECK bool deparse_stmt(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                               const DeparseRename *renames, int32_t nrenames, char **out,
                               SgError *err);

/*
 * DeparseFill: values the gateway drew for the distribution column of an
 * INSERT that left it out (serial / identity): values[r] (text, NULL: row r
 * keeps its own) replaces item pos of row r, or is appended when pos is the
 * row's length; add_column appends `column` to the INSERT's column list.
 * An INSERT ... DEFAULT VALUES becomes a VALUES row of the one drawn value.
 */
typedef struct DeparseFill {
	const char *column;
	int32_t pos;
	bool add_column;
	const char *const *values; /* [rows of the statement] */
} DeparseFill;

/*
 * deparse_insert_rows: an INSERT ... VALUES keeping only rows[nrows] (0-based),
 * renamed, with fill's values (NULL: none)
 */
SG_MUSTCHECK bool deparse_insert_rows(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                      const DeparseRename *renames, int32_t nrenames,
                                      const int32_t *rows, int32_t nrows, const DeparseFill *fill,
                                      char **out, SgError *err);

/*
 * deparse_union_all: a SELECT that is the UNION ALL of the statement (a
 * SELECT) once per rename set: sets[i * per_set .. (i + 1) * per_set).
 * nsets == 1 gives the renamed statement itself.
 */
SG_MUSTCHECK bool deparse_union_all(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                    const DeparseRename *sets, int32_t nsets, int32_t per_set,
                                    char **out, SgError *err);

/*
 * deparse_drop_objects: the statement (a DROP) with its object list
 * replaced by names[n] (schema may be NULL), other options kept.
 */
SG_MUSTCHECK bool deparse_drop_objects(Arena *a, const ParsedStmt *stmt, const ParseName *names,
                                       int32_t n, char **out, SgError *err);

/*
 * DeparsePull: the fragment that reads one distributed relation
 * (info->rels[rel]) for a multi-stage plan.
 */
typedef struct DeparsePull {
	int32_t rel;
	const char *table;        /* the table's name: shell and shard tables share it */
	const char *shell_schema; /* the logical table's schema */
	int32_t ntable_cols;      /* every column of the table (catalog), for the filter check */
	const char *const *table_cols;
	const uint32_t *table_col_types; /* [ntable_cols] pg_type oids; NULL = unknown (no sum()) */
	int32_t ncols; /* the fetched columns, in table order; 0 = every column (`*`) */
	const char *const *cols;
	bool push_filters; /* copy the conditions of the relation's level that only read it */
	bool topn;         /* also the statement's ORDER BY and LIMIT count+offset (deparse_topn_ok) */
	bool partial_agg; /* per-shard partial aggregates grouped like the statement (deparse_agg_ok) */
	const char *extra_where; /* NULL or one more condition for the fragments, as SQL text the
	                            planner generated (a semi-join's key filter: semijoin.c) */
	const char *whole_row;   /* != NULL: the fragment's only column is `<whole_row>::text`, the
	                            row's composite text (this is the relation's reference name) */
} DeparsePull;

/*
 * deparse_agg_ok: may the statement (one distributed relation, read by its
 * top level only, grouped by plain columns of it or not at all) run as
 * per-shard partial aggregates combined in the final query? Aggregates:
 * count(*), count(x), min, max, avg (as sum + count), bool_and, bool_or,
 * every, sum, without DISTINCT / FILTER / ORDER BY / OVER; every WHERE
 * condition and aggregate argument pushable; other functions only safe
 * scalar ones. sum(x) only when x's type is known (deparse_sum_type).
 */
bool deparse_agg_ok(const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p);

/*
 * deparse_agg_final: the statement for the merge node when p->partial_agg:
 * FROM pg_temp.<temp> AS <ref>, no WHERE (applied per shard), every
 * aggregate replaced by the combination of its partial columns (count →
 * coalesce(sum(p), 0)::bigint, min/max/bool_and/bool_or of the partials,
 * avg → sum(s) / nullif(sum(c), 0): PostgreSQL's numeric_div, as its own
 * avg does; sum → sum(p), cast back to bigint for int2/int4 arguments whose
 * bigint partials sum to numeric); GROUP BY, HAVING, DISTINCT, ORDER BY,
 * LIMIT kept.
 */
SG_MUSTCHECK bool deparse_agg_final(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                    const DeparsePull *p, const char *temp, char **out,
                                    SgError *err);

/*
 * deparse_topn_ok: may the fragment of p (the statement's only relation,
 * read by its top level) carry the statement's ORDER BY and a LIMIT of
 * count + offset? Only when the top level has ORDER BY and a constant
 * LIMIT (and OFFSET), every WHERE condition runs in the fragment
 * (pushable), and every sort key resolves (output position, output name, or
 * expression) to a pushable expression. The statement's own ORDER BY /
 * LIMIT / OFFSET then pick the answer from the union of the per-shard
 * top rows.
 */
bool deparse_topn_ok(const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p);

/*
 * deparse_pull_fragment: `SELECT <cols> FROM <schema>.<table> AS <ref> WHERE
 * <pushed conditions>` once per schema, UNION ALL-ed; with into_temp, the
 * same as `INSERT INTO pg_temp.<into_temp> SELECT ...`. Conditions pushed
 * are the AND-ed conditions of the relation's query level (WHERE, and the
 * ON of inner joins above it) that read only this relation, with no
 * subquery, parameter, aggregate or unsafe function; none when the
 * relation is on the nullable side of an outer join. *npushed (may be
 * NULL) gets their number.
 */
SG_MUSTCHECK bool deparse_pull_fragment(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                        const DeparsePull *p, const char *const *schemas,
                                        int32_t nschemas, const char *into_temp, char **out,
                                        int32_t *npushed, SgError *err);

/*
 * deparse_pull_create: `DROP TABLE IF EXISTS pg_temp.<temp>; CREATE TEMP
 * TABLE <temp> ON COMMIT DROP AS SELECT <cols> FROM <shell> WITH NO DATA`
 * (the shell exists on every node, so the column types are the shards').
 */
SG_MUSTCHECK bool deparse_pull_create(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                      const DeparsePull *p, const char *temp, char **out,
                                      SgError *err);

/* deparse_analyze_temp: `ANALYZE pg_temp.<temp>` (statistics for the final query's plan) */
SG_MUSTCHECK bool deparse_analyze_temp(Arena *a, const ParsedStmt *stmt, const char *temp,
                                       char **out, SgError *err);

/* deparse_copy_in: `COPY pg_temp.<temp> FROM STDIN (FORMAT binary)` */
SG_MUSTCHECK bool deparse_copy_in(Arena *a, const ParsedStmt *stmt, const char *temp, char **out,
                                  SgError *err);

/* deparse_drop_temps: `DROP TABLE IF EXISTS pg_temp.<t1>, ...` */
SG_MUSTCHECK bool deparse_drop_temps(Arena *a, const ParsedStmt *stmt, const char *const *temps,
                                     int32_t n, char **out, SgError *err);

/*
 * deparse_text_rows: `SELECT * FROM (VALUES ('v1'::text), ...) AS
 * v(<column>)`: n rows of one text column named `column` (EXPLAIN output);
 * the values are string constants of the tree, quoted by the deparser.
 */
SG_MUSTCHECK bool deparse_text_rows(Arena *a, const ParsedStmt *stmt, const char *const *values,
                                    int32_t n, const char *column, char **out, SgError *err);

/*
 * deparse_tree: the statement's tree as it is now, deparsed (for a caller
 * that changed the tree itself, e.g. COPY's per-shard statements), in a
 */
SG_MUSTCHECK bool deparse_tree(Arena *a, const ParsedStmt *stmt, char **out, SgError *err);

/*
 * deparse_copy_select: for `COPY <relation> [(cols)] TO ...`, the query it
 * copies: `SELECT <cols, or *> FROM <relation>` (in a)
 */
SG_MUSTCHECK bool deparse_copy_select(Arena *a, const ParsedStmt *stmt, char **out, SgError *err);

/*
 * deparse_wrap_query: stmt (COPY ... TO or DECLARE CURSOR) with its query
 * replaced by query_sql (one statement, the planner's own text): a COPY of
 * a relation becomes `COPY (query) TO ...`, options kept. The tree is
 * restored; XX000 if query_sql does not parse.
 */
SG_MUSTCHECK bool deparse_wrap_query(Arena *a, const ParsedStmt *stmt, const char *query_sql,
                                     char **out, SgError *err);

/*
 * deparse_inline_rels: the statement with each relation rels[i] (a
 * RangeVar) replaced by `unnest('<literals[i]>'::<schema>.<table>[]) AS
 * <its alias or name>`: the relation's rows, fetched beforehand, as an
 * array of its row type (the shell on every node has that type; schemas[i]
 * is the table's schema); column names and types are the table's. The tree
 * is restored.
 */
SG_MUSTCHECK bool deparse_inline_rels(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                      const int32_t *rels, const char *const *schemas,
                                      const char *const *literals, int32_t n, char **out,
                                      SgError *err);

/*
 * Partial aggregates over a join (planner/joinagg.c): the top SELECT
 * aggregates over relations joined per shard (co-located distributed tables
 * and reference tables). Each shard computes `SELECT <group item> AS
 * sg_k<j>, ..., <partials> AS sg_p<k> FROM <its FROM> WHERE <its WHERE>
 * GROUP BY <items>`; the merge node combines them: `SELECT <outputs with
 * aggregates combined and group items as sg_m.sg_k<j>> FROM pg_temp.<temp>
 * sg_m GROUP BY sg_m.sg_k1, ... HAVING ... ORDER BY ... LIMIT ...`.
 * DeparseJoinRel: one relation of the FROM clause that expressions may
 * read: its reference name and catalog columns.
 */
typedef struct DeparseJoinRel {
	const char *refname;
	int32_t ncols;
	const char *const *cols;
	const uint32_t *types; /* NULL = unknown */
} DeparseJoinRel;

/*
 * deparse_joinagg_ok: a top SELECT without DISTINCT, window, set operation,
 * WITH or locking; GROUP BY items plain columns of rels; aggregates the
 * combinable ones (as deparse_agg_ok) over columns of rels; every other
 * column reference of the outputs, HAVING and ORDER BY a GROUP BY item (ORDER
 * BY may also name an output); no subqueries there
 */
bool deparse_joinagg_ok(const ParsedStmt *stmt, const DeparseJoinRel *rels, int32_t nrels);
/* deparse_joinagg_fragment: the fragments of nsets shards (renames as deparse_union_all),
 * UNION ALL-ed; with into_temp, `INSERT INTO pg_temp.<into_temp> ...` */
SG_MUSTCHECK bool deparse_joinagg_fragment(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                           const DeparseJoinRel *rels, int32_t nrels,
                                           const DeparseRename *sets, int32_t nsets,
                                           int32_t per_set, const char *into_temp, char **out,
                                           SgError *err);
/* deparse_joinagg_create: the temporary table, from the fragment over the shells (exact types) */
SG_MUSTCHECK bool deparse_joinagg_create(Arena *a, const ParsedStmt *stmt,
                                         const DeparseJoinRel *rels, int32_t nrels,
                                         const char *temp, char **out, SgError *err);
/* deparse_joinagg_final: the merge node's query over the temporary table */
SG_MUSTCHECK bool deparse_joinagg_final(Arena *a, const ParsedStmt *stmt,
                                        const DeparseJoinRel *rels, int32_t nrels, const char *temp,
                                        char **out, SgError *err);

#endif /* SG_PLANNER_DEPARSE_H */
