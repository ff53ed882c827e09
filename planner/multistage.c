/*
 * multistage.c: the always-correct tier for SELECT over distributed tables.
 *
 * Every distributed relation occurrence k (a RangeVar; the same table twice
 * is two stages) becomes a PullStage:
 *   create_sql  DROP TABLE IF EXISTS pg_temp.sg_tmp_k;
 *               CREATE TEMP TABLE sg_tmp_k ON COMMIT DROP AS
 *                 SELECT <cols> FROM <shell table> WITH NO DATA
 *               (the shell exists on every node with the shards' column
 *               types, so the binary rows of the fragments fit);
 *   copy_sql    COPY pg_temp.sg_tmp_k FROM STDIN (FORMAT binary);
 *   tasks       per other node holding shards: SELECT <cols> FROM
 *               sg_gG_i.t AS <ref> WHERE <pushed conditions>, UNION ALL
 *               over its shards (one snapshot per node);
 *   local_sql   INSERT INTO pg_temp.sg_tmp_k SELECT ... over the merge
 *               node's own shards (when it holds some), then, when the
 *               statement reads more than one relation, ANALYZE
 *               pg_temp.sg_tmp_k so its joins are planned with statistics
 *               (without them a join over an OR can take a nested loop a
 *               hundred times slower).
 * The final query is the statement itself, deparsed with each distributed
 * relation replaced by `pg_temp.sg_tmp_k AS <its alias or name>`, run on the
 * merge node (the first node: local tables live there, reference tables
 * everywhere); cleanup_sql drops the temporary tables, except for the query
 * of a cursor (tagged names, dropped at the end of the transaction).
 * PostgreSQL evaluates the whole statement, so every SELECT shape gets
 * PostgreSQL's answer.
 *
 * Pruning: a relation's fragment fetches only the columns whose names
 * appear in some column reference of the statement; every column when `*`
 * is used at its level, `ref.*` or a whole-row `ref` appears, the alias
 * renames columns, or a NATURAL JOIN is present. A relation pinned to one
 * shard by analyze.c reads only that shard.
 *
 * Pushed conditions are also kept in the final query (re-checking them is
 * cheap and keeps the rewrite obviously correct).
 *
 * Top-N: when the statement reads one distributed relation and nothing else
 * (no sublink, join, grouping, DISTINCT, window, set operation), sorts and
 * has a constant LIMIT, and every WHERE condition and sort key can run in
 * the fragment, each shard's SELECT also carries the ORDER BY and LIMIT
 * count+offset: the statement's own ORDER BY/LIMIT/OFFSET then pick the
 * answer from the union of the shards' top rows.
 *
 * Partial aggregates: when the statement reads one distributed relation
 * and nothing else and its top level aggregates (grouped by plain columns
 * of the relation, or not grouped), with count/min/max/avg/bool_and/bool_or/
 * sum (of an argument whose type is known) only and every filter pushable, each shard's fragment is
 * `SELECT <group columns>, <partials> ... GROUP BY <group columns>` and the final query combines
 * the partials (deparse_agg_final). The temporary table is created from the same SELECT over the
 * empty shell, so the partials' types are PostgreSQL's.
 */
#include "planner/multistage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/deparse.h"
#include "planner/semijoin.h"
#include "planner/tasks.h"

const char *
multistage_temp_name(Arena *a, const char *tag, int32_t k)
{
	if (tag != NULL)
		return arena_printf(a, "sg_tmp_%s_%d", tag, (int)k);
	return arena_printf(a, "sg_tmp_%d", (int)k);
}

static bool
name_used(const ParseInfo *pi, const char *col)
{
	for (int32_t i = 0; i < pi->ncolrefs; i++) {
		const ParseColRef *c = &pi->colrefs[i];
		if (!c->is_star && c->nfields >= 1 && strcmp(c->fields[c->nfields - 1], col) == 0)
			return true;
	}
	return false;
}

/*
 * needed_columns: the columns of relation i the statement may read, in
 * table order; *ncols = 0 means every column.
 */
static void
needed_columns(const Analysis *an, Arena *a, int32_t i, int32_t *ncols, const char ***cols)
{
	const ParseInfo *pi = &an->pi;
	const ParseRel *r = &pi->rels[i];
	const CatTable *t = an->rels[i].table;
	const char *ref = parse_ref_name(r);
	*ncols = 0;
	*cols = NULL;
	if (t->ncolumns == 0 || r->has_colnames || pi->has_natural_join)
		return;
	for (int32_t k = 0; k < pi->ncolrefs; k++) {
		const ParseColRef *c = &pi->colrefs[k];
		if (c->is_star && c->nfields == 0 && c->scope == r->scope)
			return;
		if (c->is_star && c->nfields >= 1 && strcmp(c->fields[c->nfields - 1], ref) == 0)
			return;
		if (!c->is_star && c->nfields == 1 && strcmp(c->fields[0], ref) == 0)
			return; /* whole-row reference (or a column named like the relation) */
	}
	const char **out = ARENA_NEW_ARRAY(a, const char *, t->ncolumns);
	int32_t n = 0;
	for (int32_t k = 0; k < t->ncolumns; k++)
		if (name_used(pi, t->columns[k]))
			out[n++] = t->columns[k];
	if (n == 0)
		out[n++] = t->columns[t->dist_colpos >= 0 ? t->dist_colpos : 0];
	if (n == t->ncolumns)
		return;
	*ncols = n;
	*cols = out;
}

/*
 * system_column_used: a system column name (ctid, xmin, tableoid...) that
 * the statement references and no distributed table has as a column: over a
 * temporary table it would name the copy's row, not the shard's. NULL if none.
 */
static const char *
system_column_used(const Analysis *an)
{
	static const char *const sys[] = {"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"};
	const ParseInfo *pi = &an->pi;
	for (int32_t k = 0; k < pi->ncolrefs; k++) {
		const ParseColRef *c = &pi->colrefs[k];
		if (c->is_star || c->nfields == 0)
			continue;
		const char *name = c->fields[c->nfields - 1];
		for (size_t i = 0; i < SG_ARRAY_LEN(sys); i++) {
			if (strcmp(name, sys[i]) != 0)
				continue;
			bool is_user_column = false;
			for (int32_t r = 0; r < pi->nrels && !is_user_column; r++) {
				const CatTable *t = an->rels[r].table;
				is_user_column = t != NULL && catalog_column_index(t, name) >= 0;
			}
			if (!is_user_column)
				return name;
		}
	}
	return NULL;
}

static int
cmp_int32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

/* build_stage: the PullStage for relation i as temporary table `temp`; *pull gets its shape */
static bool
build_stage(const Analysis *an, Arena *a, int32_t i, const char *temp, int32_t merge,
            const char *extra_where, PullStage *st, DeparsePull *pull, SgError *err)
{
	const RelInfo *ri = &an->rels[i];
	const CatTable *t = ri->table;
	const CatGroup *g = ri->group;
	DeparsePull p = {.rel = i,
	                 .table = t->name,
	                 .shell_schema = t->schema,
	                 .ntable_cols = t->ncolumns,
	                 .table_cols = (const char *const *)t->columns,
	                 .table_col_types = t->column_types,
	                 .push_filters = true,
	                 .extra_where = extra_where};
	const char **cols;
	needed_columns(an, a, i, &p.ncols, &cols);
	p.cols = cols;
	/* top-N: the only relation, read by a top level that sorts and limits, nothing else */
	const uint32_t not_topn = PARSE_F_AGGREGATE | PARSE_F_GROUP_BY | PARSE_F_HAVING |
	                          PARSE_F_DISTINCT | PARSE_F_WINDOW | PARSE_F_SETOP | PARSE_F_CTE |
	                          PARSE_F_LOCKING;
	const ParseInfo *pi = &an->pi;
	if (pi->nrels == 1 && pi->nscopes == 1 && (pi->scopes[0].features & not_topn) == 0 &&
	    (pi->scopes[0].features & PARSE_F_LIMIT) && deparse_topn_ok(an->stmt, pi, &p))
		p.topn = true;
	/* partial aggregates: the only relation, read by a top level that aggregates */
	const uint32_t not_agg =
	    PARSE_F_DISTINCT | PARSE_F_WINDOW | PARSE_F_SETOP | PARSE_F_CTE | PARSE_F_LOCKING;
	if (pi->nrels == 1 && pi->nscopes == 1 && (pi->scopes[0].features & not_agg) == 0 &&
	    (pi->scopes[0].features & (PARSE_F_AGGREGATE | PARSE_F_GROUP_BY)) &&
	    deparse_agg_ok(an->stmt, pi, &p))
		p.partial_agg = true;
	*pull = p;
	char *sql;
	if (!deparse_pull_create(a, an->stmt, &an->pi, &p, temp, &sql, err))
		return false;
	st->create_sql = sql;
	if (!deparse_copy_in(a, an->stmt, temp, &sql, err))
		return false;
	st->copy_sql = sql;

	/* nodes holding the shards to read, ascending; a pinned relation reads its shard only */
	int32_t nnodes = 0;
	int32_t *nodes = ARENA_NEW_ARRAY(a, int32_t, g->shard_count + 1);
	for (int32_t s = 0; s < g->shard_count; s++) {
		if (ri->shard >= 0 && s != ri->shard)
			continue;
		bool seen = false;
		for (int32_t k = 0; k < nnodes; k++)
			seen = seen || nodes[k] == g->placement[s];
		if (!seen)
			nodes[nnodes++] = g->placement[s];
	}
	qsort(nodes, (size_t)nnodes, sizeof(int32_t), cmp_int32);
	TaskList tl;
	tasks_init(&tl, a);
	const char **schemas = ARENA_NEW_ARRAY(a, const char *, g->shard_count + 1);
	for (int32_t k = 0; k < nnodes; k++) {
		int32_t n = 0;
		for (int32_t s = 0; s < g->shard_count; s++)
			if (g->placement[s] == nodes[k] && (ri->shard < 0 || s == ri->shard))
				schemas[n++] = catalog_shard_schema(a, g->id, s);
		bool local = nodes[k] == merge;
		if (!deparse_pull_fragment(a, an->stmt, &an->pi, &p, schemas, n, local ? temp : NULL, &sql,
		                           NULL, err))
			return false;
		if (local)
			st->local_sql = sql;
		else
			tasks_add(&tl, nodes[k], sql);
	}
	st->ntasks = tl.n;
	st->tasks = tl.tasks;
	/* a join in the final query is planned with statistics of what was pulled */
	if (an->pi.nrels < 2)
		return true;
	char *analyze;
	if (!deparse_analyze_temp(a, an->stmt, temp, &analyze, err))
		return false;
	st->local_sql =
	    st->local_sql != NULL ? arena_printf(a, "%s; %s", st->local_sql, analyze) : analyze;
	return true;
}

bool
multistage_build_stage(const Analysis *an, Arena *a, int32_t rel, const char *temp, int32_t dest,
                       const char *extra_where, PullStage *st, SgError *err)
{
	DeparsePull pull;
	memset(st, 0, sizeof(*st));
	if (!build_stage(an, a, rel, temp, dest, extra_where, st, &pull, err))
		return false;
	st->dest_node = dest;
	return true;
}

bool
multistage_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	for (int32_t s = 0; s < pi->nscopes; s++)
		if (pi->scopes[s].features & PARSE_F_LOCKING)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "FOR UPDATE/SHARE on a query that combines rows of several shards "
			                    "is not supported");
	for (int32_t i = 0; i < pi->nrels; i++)
		if (pi->rels[i].is_target)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "a data-modifying WITH in a query across shards is not "
			                    "supported yet");
	const char *sys = system_column_used(an);
	if (sys != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "the system column \"%s\" in a query that combines rows of several "
		                    "shards is not supported",
		                    sys);
	const CatNode *first = catalog_first_node(an->snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
	int32_t merge = first->id;

	/* semi-join reductions: key sets fetched first (PLAN_PREFETCH), one at a time */
	SemiJoin *sj;
	int32_t nsj = semijoin_choose(an, a, &sj);
	const char **conds = ARENA_NEW_ARRAY(a, const char *, pi->nrels + 1);
	const char **notes = ARENA_NEW_ARRAY(a, const char *, nsj + 1);
	int32_t nnotes = 0;
	for (int32_t j = 0; j < nsj; j++) {
		const KeySet *ks = semijoin_find_keys(an, sj[j].big, sj[j].small);
		if (ks == NULL && an->shape.no_prefetch)
			continue;
		if (ks == NULL && !an->shape.describe_keys)
			return semijoin_prefetch(an, a, &sj[j], plan, err);
		if (ks != NULL && ks->overflow)
			continue;
		conds[sj[j].big] = semijoin_condition(a, an, &sj[j], ks);
		notes[nnotes++] = semijoin_describe(a, an, &sj[j], ks);
	}

	PullStage *stages = ARENA_NEW_ARRAY(a, PullStage, an->ndist + 1);
	const char **temps = ARENA_NEW_ARRAY(a, const char *, an->ndist + 1);
	DeparseRename *ren = ARENA_NEW_ARRAY(a, DeparseRename, an->ndist + 1);
	DeparsePull *pulls = ARENA_NEW_ARRAY(a, DeparsePull, an->ndist + 1);
	int32_t n = 0;
	for (int32_t i = 0; i < pi->nrels; i++) {
		if (an->rels[i].cls != REL_DISTRIBUTED)
			continue;
		temps[n] = multistage_temp_name(a, an->shape.temp_tag, n + 1);
		if (!build_stage(an, a, i, temps[n], merge, conds[i], &stages[n], &pulls[n], err))
			return false;
		ren[n] =
		    (DeparseRename){.rel = i, .schema = "pg_temp", .keep_alias = true, .relname = temps[n]};
		n++;
	}
	char *final_sql, *cleanup;
	if (n == 1 && pulls[0].partial_agg) {
		if (!deparse_agg_final(a, an->stmt, pi, &pulls[0], temps[0], &final_sql, err))
			return false;
	} else if (!deparse_stmt(a, an->stmt, pi, ren, n, &final_sql, err)) {
		return false;
	}
	/* a cursor reads the temporary tables until it is closed: ON COMMIT DROP removes them
	 * (after PostgreSQL has materialised a WITH HOLD cursor) */
	cleanup = NULL;
	if (an->shape.temp_tag == NULL && !deparse_drop_temps(a, an->stmt, temps, n, &cleanup, err))
		return false;

	TaskList tl;
	tasks_init(&tl, a);
	tasks_add(&tl, merge, final_sql);
	tasks_store(&tl, plan);
	plan->nstages = n;
	plan->stages = stages;
	plan->merge_node = merge;
	plan->cleanup_sql = cleanup;
	plan->nsemijoins = nnotes;
	plan->semijoins = notes;
	plan->combine = COMBINE_RELAY;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = true;
	plan->is_write = false;
	return true;
}
