#ifndef SG_PLANNER_ANALYZE_H
#define SG_PLANNER_ANALYZE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/parse.h"
#include "planner/planner.h"
#include "storage/catalog.h"

/*
 * analyze.h: resolve every relation of a statement against the catalog and
 * pin distributed relations to shards from `dist_col = constant` equalities
 * (directly, or through `a.dist_col = b.dist_col` between co-located tables).
 */

typedef enum RelClass {
	REL_LOCAL,       /* not in the catalog: lives on the first node (pg_catalog too) */
	REL_REFERENCE,   /* full copy on every node */
	REL_DISTRIBUTED, /* hash-distributed over the shards of its group */
	REL_CTE          /* reference to a WITH query of the statement */
} RelClass;

typedef struct RelInfo {
	RelClass cls;
	const CatTable *table; /* REL_REFERENCE / REL_DISTRIBUTED */
	const CatGroup *group; /* REL_DISTRIBUTED */
	int32_t shard;         /* pinned shard index, -1 when not pinned */
} RelInfo;

/*
 * PlanShape: what the plan of the query inside a COPY ... TO or DECLARE
 * CURSOR must look like (planner/wrap.c): the wrapper statement replaces
 * its one final statement.
 */
/* InlinedRel: a relation the planner replaced by the array of its rows (semijoin.h) */
typedef struct InlinedRel {
	const char *refname; /* its alias (or name) in the statement */
	const CatTable *table;
} InlinedRel;

typedef struct PlanShape {
	bool one_task;        /* one relayed task: no fan-out (rows of several nodes) */
	int32_t one_node;     /* != 0: that task runs on this node (a cursor lives on the first) */
	const char *temp_tag; /* != NULL: multi-stage temporary tables are sg_tmp_<tag>_<k> and
	                         stay until the transaction ends (an open cursor reads them) */
	bool no_prefetch;     /* the plan must run as it is: no PLAN_PREFETCH (semi-joins off) */
	bool describe_keys;   /* EXPLAIN: semi-join key sets shown as placeholders, not fetched */
	bool in_block;        /* the session is inside a transaction block (no repartition) */
	int32_t ninlined;     /* relations of the statement that are inlined rows: their columns */
	const InlinedRel *inlined;
} PlanShape;

typedef struct Analysis {
	const CatalogSnapshot *snap;
	const ParsedStmt *stmt;
	const char *text;         /* the statement's original text */
	const PlanParams *params; /* extended protocol: $n values, else NULL */
	const char *search_path;  /* the session's search_path setting, NULL = public */
	const char *const *fill;  /* after PLAN_FILL: the drawn distribution values, else NULL */
	int32_t nfill;
	const KeySet *keys; /* after PLAN_PREFETCH: the key sets fetched so far, in order */
	int32_t nkeys;
	Arena *arena; /* the plan's arena */
	ParseInfo pi;
	RelInfo *rels; /* [pi.nrels] */
	int32_t ndist, nref, nlocal;
	int32_t first_dist;  /* index of the first distributed relation, -1 if none */
	int32_t first_local; /* index of the first local relation, -1 if none */
	PlanShape shape;     /* set by the planner after analyze_stmt; zero = any plan */
} Analysis;

/*
 * analyze_stmt inspects stmt and resolves it against snap into out (arrays
 * in a). Fails only on an inconsistent catalog (XX000).
 */
SG_MUSTCHECK bool analyze_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt,
                               const char *text, const char *search_path, const PlanParams *params,
                               Arena *a, Analysis *out, SgError *err);

/* analyze_rel_name: "schema.name" or "name" as written, for messages (in a) */
const char *analyze_rel_name(Arena *a, const ParseRel *r);

/*
 * analyze_shard_index: shard index of a distribution value: a constant, NULL
 * or a $n parameter (its Bind value, text or binary). False with err when
 * the value is not of the column's type (22P02/22003) or a parameter has no
 * usable value (0A000).
 */
SG_MUSTCHECK bool analyze_shard_index(const Analysis *an, const CatTable *t, const CatGroup *g,
                                      const ParseValue *v, int32_t *shard, SgError *err);

/*
 * analyze_param_hash: PostgreSQL's hash of the Bind value of $n (1-based) as
 * a value of t's distribution column (text or binary; binary integers of
 * another width by value). *is_null for a NULL value. Scratch from a.
 */
SG_MUSTCHECK bool analyze_param_hash(Arena *a, const PlanParams *pp, const CatTable *t, int32_t n,
                                     uint64_t *h, bool *is_null, SgError *err);

/*
 * analyze_dist_rel_of: the distributed relation whose distribution column
 * the column reference v (of query level `scope`, resolved through the
 * enclosing levels) names; -1 otherwise.
 */
int32_t analyze_dist_rel_of(const Analysis *an, int32_t scope, const ParseValue *v);

/*
 * analyze_resolve_column: the relation a column reference v (PV_COLUMN) of
 * query level `scope` belongs to (searching the enclosing levels in turn),
 * or -1 when unknown or ambiguous (an unqualified name that a relation of
 * unknown columns could also have). *col gets the column's name.
 */
int32_t analyze_resolve_column(const Analysis *an, int32_t scope, const ParseValue *v,
                               const char **col);

/*
 * analyze_single_pin: when the statement's shard depends on exactly one
 * value (one distributed relation, no local tables or CTE references,
 * pinned by a single `dist_col = value` condition, or an INSERT's single
 * VALUES row), that value (PV_CONST or PV_PARAM) and the relation's index in
 * *rel; NULL otherwise
 */
const ParseValue *analyze_single_pin(const Analysis *an, int32_t *rel);

/* analyze_returns_rows: SELECT, or DML with RETURNING */
bool analyze_returns_rows(const Analysis *an);
/* analyze_is_dml: INSERT / UPDATE / DELETE / MERGE */
bool analyze_is_dml(const Analysis *an);
/* analyze_target: index of the DML target relation, -1 if none */
int32_t analyze_target(const Analysis *an);

#endif /* SG_PLANNER_ANALYZE_H */
