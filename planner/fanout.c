/*
 * fanout.c: one statement over every shard of one distributed table.
 *
 * Allowed only when concatenating the shards' answers gives PostgreSQL's
 * answer: exactly one distributed relation in the statement, not inside a
 * subquery expression or a WITH query, not on the nullable side of an outer
 * join (a reference table's unmatched rows would repeat per shard), and no
 * query level between it and the top that aggregates, groups, sorts,
 * limits, removes duplicates, uses window functions, set operations or
 * WITH. Everything else is 0A000 naming the first such construct (the merge
 * tier will lift these).
 *
 * Per node, a SELECT is the UNION ALL of its per-shard copies, so the node
 * answers from one snapshot; with FOR UPDATE/SHARE (not allowed with UNION)
 * the per-shard SELECTs are separate statements of one task. UPDATE and
 * DELETE are one statement per shard joined with "; " in one task per node
 * (one implicit transaction per node).
 */
#include "planner/fanout.h"

#include <stdio.h>
#include <stdlib.h>

#include "planner/deparse.h"
#include "planner/tasks.h"

static const struct {
	uint32_t flag;
	const char *what;
} blockers[] = {
    {PARSE_F_AGGREGATE, "aggregate functions"},
    {PARSE_F_GROUP_BY, "GROUP BY"},
    {PARSE_F_HAVING, "HAVING"},
    {PARSE_F_DISTINCT, "DISTINCT"},
    {PARSE_F_WINDOW, "window functions"},
    {PARSE_F_ORDER_BY, "ORDER BY"},
    {PARSE_F_LIMIT, "LIMIT/OFFSET"},
    {PARSE_F_SETOP, "UNION/INTERSECT/EXCEPT"},
    {PARSE_F_CTE, "WITH"},
};

/* not_supported: 0A000 "<what> is not supported yet" with a hint to pin the query */
static bool
not_supported(SgError *err, const char *what, const char *dist_column)
{
	sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED, "%s is not supported yet", what);
	sg_error_hint(err,
	              "Filter on the distribution column (%s = constant) to run the query on one "
	              "shard.",
	              dist_column);
	return false;
}

/* fanout_applies: 0A000 (naming the construct) unless concatenating the shards' answers is correct
 */
bool
fanout_applies(const Analysis *an, SgError *err)
{
	int32_t d = an->first_dist;
	SG_ASSERT(d >= 0);
	const ParseInfo *pi = &an->pi;
	const ParseRel *r = &pi->rels[d];
	const char *col = an->rels[d].table->dist_column;
	if (an->ndist > 1)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "a query on several distributed tables is supported only when each "
		                    "is pinned to one shard on the same node (distribution column = "
		                    "constant)");
	if (r->in_cte)
		return not_supported(err, "WITH on a query across shards", col);
	if (r->in_sublink)
		return not_supported(err, "a subquery on a distributed table across shards", col);
	if (r->outer_nullable)
		return not_supported(err,
		                     "an outer join with a distributed table on its nullable side across "
		                     "shards",
		                     col);
	for (int32_t s = r->scope; s >= 0; s = pi->scopes[s].parent)
		for (size_t k = 0; k < SG_ARRAY_LEN(blockers); k++)
			if (pi->scopes[s].features & blockers[k].flag) {
				char what[128];
				snprintf(what, sizeof(what), "%s on a query across shards", blockers[k].what);
				return not_supported(err, what, col);
			}
	return true;
}

static bool
has_locking(const ParseInfo *pi)
{
	for (int32_t s = 0; s < pi->nscopes; s++)
		if (pi->scopes[s].features & PARSE_F_LOCKING)
			return true;
	return false;
}

static int
cmp_int32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

bool
fanout_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t d = an->first_dist;
	SG_ASSERT(d >= 0);
	if (!fanout_applies(an, err))
		return false;
	const CatGroup *g = an->rels[d].group;

	int32_t nnodes = 0;
	int32_t *nodes = ARENA_NEW_ARRAY(a, int32_t, g->shard_count);
	for (int32_t s = 0; s < g->shard_count; s++) {
		bool seen = false;
		for (int32_t k = 0; k < nnodes; k++)
			seen = seen || nodes[k] == g->placement[s];
		if (!seen)
			nodes[nnodes++] = g->placement[s];
	}
	qsort(nodes, (size_t)nnodes, sizeof(int32_t), cmp_int32);

	bool is_select = pi->kind == PARSE_SELECT;
	bool union_all = is_select && !has_locking(pi);
	TaskList tl;
	tasks_init(&tl, a);
	DeparseRename *sets = ARENA_NEW_ARRAY(a, DeparseRename, g->shard_count);
	for (int32_t k = 0; k < nnodes; k++) {
		int32_t nsets = 0;
		for (int32_t s = 0; s < g->shard_count; s++)
			if (g->placement[s] == nodes[k])
				sets[nsets++] = (DeparseRename){
				    .rel = d, .schema = catalog_shard_schema(a, g->id, s), .keep_alias = true};
		char *sql;
		if (union_all) {
			if (!deparse_union_all(a, an->stmt, pi, sets, nsets, 1, &sql, err))
				return false;
			tasks_add(&tl, nodes[k], sql);
			continue;
		}
		SqlList sl;
		sqllist_init(&sl, a);
		for (int32_t i = 0; i < nsets; i++) {
			if (!deparse_stmt(a, an->stmt, pi, &sets[i], 1, &sql, err))
				return false;
			sqllist_add(&sl, sql);
		}
		/* with Bind parameters every task must be a single statement */
		sqllist_to_tasks(&sl, &tl, nodes[k], an->params != NULL);
	}
	tasks_store(&tl, plan);
	plan->combine = COMBINE_CONCAT;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = analyze_returns_rows(an);
	plan->is_write = analyze_is_dml(an);
	return true;
}
