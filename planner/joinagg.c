/*
 * joinagg.c: partial aggregates over joins that run per shard (see
 * joinagg.h). The plan is a multi-stage plan of one stage: the temporary
 * table sg_tmp_1 on the merge node is created from the fragment over the
 * shells (its partial columns get PostgreSQL's types), filled with every
 * node's fragments (the UNION ALL of its shards, one snapshot per node),
 * then the final query groups it again and combines the partials.
 */
#include "planner/joinagg.h"

#include <string.h>

#include "planner/deparse.h"
#include "planner/fanout.h"
#include "planner/multistage.h"
#include "planner/tasks.h"

/* join_rels: the top level's relations with their columns (in a); *n their count */
static DeparseJoinRel *
join_rels(const Analysis *an, Arena *a, int32_t *n)
{
	const ParseInfo *pi = &an->pi;
	DeparseJoinRel *rels = ARENA_NEW_ARRAY(a, DeparseJoinRel, pi->nrels + an->shape.ninlined + 1);
	*n = 0;
	for (int32_t i = 0; i < an->shape.ninlined; i++) {
		const CatTable *t = an->shape.inlined[i].table;
		rels[(*n)++] = (DeparseJoinRel){.refname = an->shape.inlined[i].refname,
		                                .ncols = t->ncolumns,
		                                .cols = (const char *const *)t->columns,
		                                .types = t->column_types};
	}
	for (int32_t i = 0; i < pi->nrels; i++) {
		const ParseRel *r = &pi->rels[i];
		const CatTable *t = an->rels[i].table;
		if (r->scope != 0)
			continue; /* a subquery's: not visible to the outputs */
		rels[(*n)++] = (DeparseJoinRel){.refname = parse_ref_name(r),
		                                .ncols = t->ncolumns,
		                                .cols = (const char *const *)t->columns,
		                                .types = t->column_types};
	}
	return rels;
}

bool
joinagg_applies(const Analysis *an)
{
	const ParseInfo *pi = &an->pi;
	const uint32_t blockers =
	    PARSE_F_DISTINCT | PARSE_F_WINDOW | PARSE_F_SETOP | PARSE_F_CTE | PARSE_F_LOCKING;
	if (pi->kind != PARSE_SELECT || pi->nrels + an->shape.ninlined < 2 || an->ndist == 0 ||
	    an->nlocal > 0 || pi->has_natural_join || an->shape.one_task)
		return false;
	uint32_t f = pi->scopes[0].features;
	if ((f & (PARSE_F_AGGREGATE | PARSE_F_GROUP_BY)) == 0 || (f & blockers) != 0)
		return false;
	/* subqueries only in WHERE / ON (run per shard: fan-out's rules); none in FROM, and none
	 * in the outputs, HAVING or ORDER BY (deparse_joinagg_ok) */
	for (int32_t i = 0; i < pi->nrels; i++) {
		const ParseRel *r = &pi->rels[i];
		if (r->scope != 0 && !r->in_sublink)
			return false;
		if (an->rels[i].table == NULL || an->rels[i].table->ncolumns == 0 || r->has_colnames ||
		    r->is_cte_ref)
			return false;
	}
	SgError why;
	if (!fanout_applies_grouped(an, &why))
		return false;
	Arena *scratch = arena_create(4096);
	int32_t n;
	DeparseJoinRel *rels = join_rels(an, scratch, &n);
	bool ok = n >= 1 && deparse_joinagg_ok(an->stmt, rels, n);
	arena_destroy(scratch);
	return ok;
}

bool
joinagg_gather_stage(const Analysis *an, Arena *a, const DeparseRename *ren, int32_t nren,
                     const int32_t *nodes, int32_t nnodes, int32_t merge, const char *temp,
                     PullStage *st, char **final_sql, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t nrels;
	DeparseJoinRel *rels = join_rels(an, a, &nrels);
	memset(st, 0, sizeof(*st));
	char *sql;
	if (!deparse_joinagg_create(a, an->stmt, rels, nrels, temp, &sql, err))
		return false;
	st->create_sql = sql;
	if (!deparse_copy_in(a, an->stmt, temp, &sql, err))
		return false;
	st->copy_sql = sql;
	st->dest_node = merge;
	TaskList tl;
	tasks_init(&tl, a);
	for (int32_t k = 0; k < nnodes; k++) {
		const DeparseRename *sets = ren;
		int32_t nsets = 1, per = nren;
		if (ren == NULL) {
			DeparseRename *shard_sets;
			nsets = fanout_shard_sets(an, a, nodes[k], &shard_sets);
			sets = shard_sets;
			per = an->ndist;
		}
		bool local = nodes[k] == merge;
		if (!deparse_joinagg_fragment(a, an->stmt, pi, rels, nrels, sets, nsets, per,
		                              local ? temp : NULL, &sql, err))
			return false;
		if (local)
			st->local_sql = sql;
		else
			tasks_add(&tl, nodes[k], sql);
	}
	st->ntasks = tl.n;
	st->tasks = tl.tasks;
	return deparse_joinagg_final(a, an->stmt, rels, nrels, temp, final_sql, err);
}

bool
joinagg_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const CatNode *first = catalog_first_node(an->snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
	int32_t merge = first->id;
	const char *temp = multistage_temp_name(a, an->shape.temp_tag, 1);
	PullStage *st = ARENA_NEW(a, PullStage);
	int32_t *nodes;
	int32_t nnodes = fanout_nodes(an, a, &nodes);
	char *final_sql;
	if (!joinagg_gather_stage(an, a, NULL, 0, nodes, nnodes, merge, temp, st, &final_sql, err))
		return false;
	char *cleanup = NULL;
	if (an->shape.temp_tag == NULL && !deparse_drop_temps(a, an->stmt, &temp, 1, &cleanup, err))
		return false;
	TaskList fl;
	tasks_init(&fl, a);
	tasks_add(&fl, merge, final_sql);
	tasks_store(&fl, plan);
	plan->nstages = 1;
	plan->stages = st;
	plan->merge_node = merge;
	plan->cleanup_sql = cleanup;
	plan->partial_join = true;
	plan->combine = COMBINE_RELAY;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = true;
	return true;
}
