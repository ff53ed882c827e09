/*
 * fanout.c: one statement over every shard of one distributed table.
 *
 * Allowed only when concatenating the shards' answers gives PostgreSQL's
 * answer: the distributed relations are co-located and linked by equalities
 * of their distribution columns (joins, and correlated subqueries such as
 * EXISTS (... WHERE l.key = o.key)), so each shard's copy of the statement
 * reads one shard of every relation; none inside a WITH query or on the
 * nullable side of an outer join (a reference table's unmatched rows would
 * repeat per shard), and no query level between a top-level relation and
 * the top that aggregates, groups, sorts, limits, removes duplicates, uses
 * window functions, set operations or WITH, except a level that groups by
 * the distribution column (GROUP BY, aggregates and HAVING only: each group
 * lives in one shard). Everything else is 0A000 naming the first such
 * construct (SELECT then goes multi-stage).
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
#include <string.h>

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

/*
 * grouped_by_dist: level s groups by the distribution column of a linked
 * relation of its own (a plain GROUP BY item): every group then lives in one
 * shard, so per-shard aggregates and HAVING are PostgreSQL's.
 */
static bool
grouped_by_dist(const Analysis *an, int32_t s, const bool *linked)
{
	const ParseScope *sc = &an->pi.scopes[s];
	for (int32_t i = 0; i < sc->ngroup; i++) {
		int32_t r = analyze_dist_rel_of(an, s, &sc->group[i]);
		if (r >= 0 && linked[r] && an->pi.rels[r].scope == s && !an->pi.rels[r].outer_nullable)
			return true;
	}
	return false;
}

/*
 * windows_by_dist: every window of level s is partitioned by the
 * distribution column of a linked relation of its own (a plain PARTITION BY
 * item), directly or through the named window it refers to: each partition
 * then lives in one shard, so per-shard window functions are PostgreSQL's.
 */
static bool
windows_by_dist(const Analysis *an, int32_t s, const bool *linked)
{
	const ParseScope *sc = &an->pi.scopes[s];
	if (sc->window_unpartitioned || sc->nwindows == 0)
		return false;
	for (int32_t k = 0; k < sc->nwindows; k++) {
		bool found = false;
		for (int32_t i = 0; i < sc->windows[k].npart && !found; i++) {
			int32_t r = analyze_dist_rel_of(an, s, &sc->windows[k].part[i]);
			found =
			    r >= 0 && linked[r] && an->pi.rels[r].scope == s && !an->pi.rels[r].outer_nullable;
		}
		if (!found)
			return false;
	}
	return true;
}

/*
 * check_top_rel: a relation read by the top query level (not in a sublink);
 * top_grouped: the top level (scope 0) may aggregate, group, sort and limit
 * (joinagg.c combines its per-shard partial aggregates)
 */
static bool
check_top_rel(const Analysis *an, int32_t d, const bool *linked, bool top_grouped, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const ParseRel *r = &pi->rels[d];
	const char *col = an->rels[d].table->dist_column;
	const uint32_t grouping = PARSE_F_AGGREGATE | PARSE_F_GROUP_BY | PARSE_F_HAVING;
	uint32_t all = 0;
	for (size_t k = 0; k < SG_ARRAY_LEN(blockers); k++)
		all |= blockers[k].flag;
	for (int32_t s = r->scope; s >= 0; s = pi->scopes[s].parent) {
		uint32_t f = pi->scopes[s].features;
		if (s == 0 && top_grouped)
			f &= ~(uint32_t)(grouping | PARSE_F_ORDER_BY | PARSE_F_LIMIT);
		if ((f & PARSE_F_WINDOW) && windows_by_dist(an, s, linked))
			f &= ~(uint32_t)PARSE_F_WINDOW;
		if ((f & PARSE_F_GROUP_BY) && (f & all & ~grouping) == 0 && grouped_by_dist(an, s, linked))
			continue;
		for (size_t k = 0; k < SG_ARRAY_LEN(blockers); k++)
			if (f & blockers[k].flag) {
				char what[128];
				snprintf(what, sizeof(what), "%s on a query across shards", blockers[k].what);
				return not_supported(err, what, col);
			}
	}
	return true;
}

/*
 * outer_joins_ok: every relation of the statement is distributed (no
 * reference or local table, no subquery or function in FROM), so an outer
 * join's preserved side is distributed too: joined on distribution columns,
 * each of its rows and all of its matches live in one shard, and a row
 * without match is NULL-extended once, in its own shard.
 */
static bool
outer_joins_ok(const Analysis *an)
{
	return an->nref == 0 && an->nlocal == 0 && !an->pi.has_from_func;
}

/*
 * anchor_relations marks in `linked` every distributed relation joined to
 * the first top-level one by equalities of distribution columns: a relation
 * joins through a condition of its own query level (WHERE or inner JOIN ON)
 * equating its distribution column with that of a linked relation of the
 * same co-location group, at that level or an enclosing one (a correlated
 * subquery). Rows that meet such conditions share a shard.
 */
static void
anchor_relations(const Analysis *an, bool *linked)
{
	const ParseInfo *pi = &an->pi;
	for (int32_t i = 0; i < pi->nrels; i++)
		if (an->rels[i].cls == REL_DISTRIBUTED && !pi->rels[i].in_sublink &&
		    !(pi->kind == PARSE_INSERT && pi->rels[i].is_target)) {
			linked[i] = true;
			break;
		}
	/* outer joins link too, when no other kind of relation could be on a preserved side */
	int32_t nouter = outer_joins_ok(an) ? pi->nouter_equal : 0;
	bool changed = true;
	while (changed) {
		changed = false;
		for (int32_t e = 0; e < pi->nequal + nouter; e++) {
			const ParseEquality *eq =
			    e < pi->nequal ? &pi->equal[e] : &pi->outer_equal[e - pi->nequal];
			int32_t r1 = analyze_dist_rel_of(an, eq->scope, &eq->lhs);
			int32_t r2 = analyze_dist_rel_of(an, eq->scope, &eq->rhs);
			if (r1 < 0 || r2 < 0 || an->rels[r1].group != an->rels[r2].group)
				continue;
			if (linked[r1] && !linked[r2] && pi->rels[r2].scope == eq->scope) {
				linked[r2] = true;
				changed = true;
			} else if (linked[r2] && !linked[r1] && pi->rels[r1].scope == eq->scope) {
				linked[r1] = true;
				changed = true;
			}
		}
	}
}

/*
 * fanout_applies: 0A000 (naming the construct) unless concatenating the
 * shards' answers is correct: every distributed relation in one co-location
 * group and linked to the others by equalities of distribution columns
 * (anchor_relations), none in a WITH query or on the nullable side of an
 * outer join, and no level between a top-level relation and the top that
 * aggregates, sorts, limits, dedups, windows, unions or has WITH. Levels
 * inside a linked correlated subquery may do anything: each evaluation
 * reads one shard's rows only.
 */
static bool
fanout_check(const Analysis *an, bool top_grouped, SgError *err)
{
	int32_t d0 = an->first_dist;
	SG_ASSERT(d0 >= 0);
	const ParseInfo *pi = &an->pi;
	bool *linked = ARENA_NEW_ARRAY(an->arena, bool, pi->nrels + 1);
	anchor_relations(an, linked);
	for (int32_t d = 0; d < pi->nrels; d++) {
		if (an->rels[d].cls != REL_DISTRIBUTED)
			continue;
		const ParseRel *r = &pi->rels[d];
		const char *col = an->rels[d].table->dist_column;
		if (r->in_cte)
			return not_supported(err, "WITH on a query across shards", col);
		if (r->outer_nullable && !outer_joins_ok(an))
			return not_supported(err,
			                     "an outer join with a distributed table on its nullable side "
			                     "across shards",
			                     col);
		if (!linked[d]) {
			if (r->in_sublink)
				return not_supported(err,
				                     "a subquery on a distributed table not correlated on its "
				                     "distribution column",
				                     col);
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "a query on several distributed tables is supported only when "
			                    "they are co-located and joined on their distribution columns, "
			                    "or each is pinned to one shard on the same node");
		}
		if (!r->in_sublink && !check_top_rel(an, d, linked, top_grouped, err))
			return false;
	}
	return true;
}

bool
fanout_applies(const Analysis *an, SgError *err)
{
	return fanout_check(an, false, err);
}

bool
fanout_applies_grouped(const Analysis *an, SgError *err)
{
	return fanout_check(an, true, err);
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

int32_t
fanout_nodes(const Analysis *an, Arena *a, int32_t **out)
{
	const CatGroup *g = an->rels[an->first_dist].group;
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
	*out = nodes;
	return nnodes;
}

int32_t
fanout_shard_sets(const Analysis *an, Arena *a, int32_t node, DeparseRename **out)
{
	const ParseInfo *pi = &an->pi;
	const CatGroup *g = an->rels[an->first_dist].group;
	int32_t per = an->ndist;
	DeparseRename *sets = ARENA_NEW_ARRAY(a, DeparseRename, (size_t)g->shard_count * (size_t)per);
	int32_t nsets = 0;
	for (int32_t s = 0; s < g->shard_count; s++) {
		if (g->placement[s] != node)
			continue;
		const char *schema = catalog_shard_schema(a, g->id, s);
		int32_t j = 0;
		for (int32_t i = 0; i < pi->nrels; i++)
			if (an->rels[i].cls == REL_DISTRIBUTED)
				sets[nsets * per + j++] =
				    (DeparseRename){.rel = i, .schema = schema, .keep_alias = true};
		nsets++;
	}
	*out = sets;
	return nsets;
}

bool
fanout_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t d = an->first_dist;
	SG_ASSERT(d >= 0);
	if (!fanout_applies(an, err))
		return false;
	int32_t *nodes;
	int32_t nnodes = fanout_nodes(an, a, &nodes);

	/* every distributed relation is renamed to the same shard in each copy */
	int32_t per = an->ndist;
	bool is_select = pi->kind == PARSE_SELECT;
	bool union_all = is_select && !has_locking(pi);
	TaskList tl;
	tasks_init(&tl, a);
	for (int32_t k = 0; k < nnodes; k++) {
		DeparseRename *sets;
		int32_t nsets = fanout_shard_sets(an, a, nodes[k], &sets);
		char *sql;
		if (union_all) {
			if (!deparse_union_all(a, an->stmt, pi, sets, nsets, per, &sql, err))
				return false;
			tasks_add(&tl, nodes[k], sql);
			continue;
		}
		SqlList sl;
		sqllist_init(&sl, a);
		for (int32_t i = 0; i < nsets; i++) {
			if (!deparse_stmt(a, an->stmt, pi, &sets[i * per], per, &sql, err))
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

bool
fanout_insert_select(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t target = analyze_target(an);
	SG_ASSERT(target >= 0 && an->rels[target].cls == REL_DISTRIBUTED);
	const CatTable *t = an->rels[target].table;
	const CatGroup *g = an->rels[target].group;
	int32_t sel = pi->insert_select_scope;
	if (sel < 0 || (pi->scopes[0].features & PARSE_F_CTE))
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT ... SELECT into a distributed table is supported only from a "
		                    "plain SELECT (no WITH, VALUES or set operation) yet");
	bool *linked = ARENA_NEW_ARRAY(a, bool, pi->nrels + 1);
	anchor_relations(an, linked);
	int32_t nsources = 0;
	for (int32_t d = 0; d < pi->nrels; d++) {
		if (an->rels[d].cls != REL_DISTRIBUTED || d == target)
			continue;
		nsources++;
		const ParseRel *r = &pi->rels[d];
		if (an->rels[d].group != g || !linked[d] || r->in_cte || r->outer_nullable)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "INSERT ... SELECT into a distributed table is supported only "
			                    "from tables co-located with it and joined on their distribution "
			                    "columns yet");
		if (!r->in_sublink && !check_top_rel(an, d, linked, false, err))
			return false;
	}
	if (nsources == 0)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT ... SELECT into a distributed table from reference or local "
		                    "tables is not supported yet");
	/* the value for the target's distribution column: a source's distribution column */
	int32_t pos = t->dist_colpos;
	if (pi->insert_ncols > 0) {
		pos = -1;
		for (int32_t i = 0; i < pi->insert_ncols; i++)
			if (strcmp(pi->insert_cols[i], t->dist_column) == 0)
				pos = i;
	}
	int32_t src = pos >= 0 && pos < pi->insert_select_n
	                  ? analyze_dist_rel_of(an, sel, &pi->insert_select_values[pos])
	                  : -1;
	if (pi->insert_select_star && pos >= 0) {
		/* SELECT * FROM one table: the target's column pos is that table's column pos */
		int32_t only = -1, nlisted = 0;
		for (int32_t i = 0; i < pi->nrels; i++)
			if (pi->rels[i].scope == sel) {
				only = i;
				nlisted++;
			}
		if (nlisted == 1 && an->rels[only].cls == REL_DISTRIBUTED &&
		    an->rels[only].table->dist_colpos == pos)
			src = only;
	}
	if (src < 0 || src == target || !linked[src] || pi->rels[src].in_sublink)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT ... SELECT into a distributed table needs the distribution "
		                    "column \"%s\" to come from the distribution column of a co-located "
		                    "source table",
		                    t->dist_column);

	int32_t per = an->ndist;
	TaskList tl;
	tasks_init(&tl, a);
	DeparseRename *set = ARENA_NEW_ARRAY(a, DeparseRename, per + 1);
	for (int32_t node = 0; node < an->snap->nnodes; node++) {
		int32_t node_id = an->snap->nodes[node].id;
		SqlList sl;
		sqllist_init(&sl, a);
		for (int32_t s = 0; s < g->shard_count; s++) {
			if (g->placement[s] != node_id)
				continue;
			const char *schema = catalog_shard_schema(a, g->id, s);
			int32_t j = 0;
			for (int32_t i = 0; i < pi->nrels; i++)
				if (an->rels[i].cls == REL_DISTRIBUTED)
					set[j++] = (DeparseRename){.rel = i, .schema = schema, .keep_alias = true};
			char *sql;
			if (!deparse_stmt(a, an->stmt, pi, set, per, &sql, err))
				return false;
			sqllist_add(&sl, sql);
		}
		sqllist_to_tasks(&sl, &tl, node_id, an->params != NULL);
	}
	tasks_store(&tl, plan);
	plan->combine = COMBINE_CONCAT;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = analyze_returns_rows(an);
	plan->is_write = true;
	return true;
}
