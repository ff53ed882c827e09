/*
 * repartition.c: joins of two large distributed tables that are not
 * co-located, repartitioned on the join key (see repartition.h).
 */
#include "planner/repartition.h"

#include <string.h>

#include "planner/deparse.h"
#include "planner/fanout.h"
#include "planner/joinagg.h"
#include "planner/multistage.h"
#include "planner/semijoin.h"
#include "planner/tasks.h"

typedef enum KeyKind { KEY_NONE, KEY_INT, KEY_TEXT } KeyKind;

/* key_kind: integer keys hash as int8, text-like keys as text (so int4 = int8 and text =
 * varchar pairs land on the same node); anything else is not repartitioned */
static KeyKind
key_kind(uint32_t oid)
{
	switch (oid) {
	case 20:
	case 21:
	case 23:
		return KEY_INT;
	case 25:
	case 1042:
	case 1043:
		return KEY_TEXT;
	default:
		return KEY_NONE;
	}
}

static KeyKind
column_kind(const CatTable *t, const char *col)
{
	int32_t i = catalog_column_index(t, col);
	return i >= 0 && t->column_types != NULL ? key_kind(t->column_types[i]) : KEY_NONE;
}

/* join_key: an equality `ra.x = rb.y` of the top level with keys of one kind */
static KeyKind
join_key(const Analysis *an, int32_t ra, int32_t rb, const char **ca, const char **cb)
{
	const ParseInfo *pi = &an->pi;
	for (int32_t e = 0; e < pi->nequal; e++) {
		const ParseEquality *eq = &pi->equal[e];
		if (eq->scope != 0 || eq->lhs.kind != PV_COLUMN || eq->rhs.kind != PV_COLUMN)
			continue;
		const char *c1, *c2;
		int32_t r1 = analyze_resolve_column(an, 0, &eq->lhs, &c1);
		int32_t r2 = analyze_resolve_column(an, 0, &eq->rhs, &c2);
		if (!((r1 == ra && r2 == rb) || (r1 == rb && r2 == ra)))
			continue;
		*ca = r1 == ra ? c1 : c2;
		*cb = r1 == ra ? c2 : c1;
		KeyKind k = column_kind(an->rels[ra].table, *ca);
		if (k != KEY_NONE && k == column_kind(an->rels[rb].table, *cb) &&
		    strchr(*ca, '"') == NULL && strchr(*cb, '"') == NULL)
			return k;
	}
	return KEY_NONE;
}

/* usable: a top-level relation of an inner join, unpinned, named plainly */
static bool
usable(const Analysis *an, int32_t r)
{
	const ParseRel *pr = &an->pi.rels[r];
	return pr->scope == 0 && !pr->in_sublink && !pr->outer_nullable && !pr->has_colnames &&
	       an->rels[r].shard < 0 && an->rels[r].table->ncolumns > 0 &&
	       strchr(pr->name, '"') == NULL && (pr->alias == NULL || strchr(pr->alias, '"') == NULL);
}

/*
 * colocated_view: the analysis as if ra and rb were co-located and
 * distributed by the join key (what holds on every node after the
 * repartition), for fan-out's and joinagg's rules (in a)
 */
static Analysis
colocated_view(const Analysis *an, Arena *a, int32_t ra, const char *ca, int32_t rb, const char *cb)
{
	Analysis v = *an;
	RelInfo *rels = ARENA_NEW_ARRAY(a, RelInfo, an->pi.nrels + 1);
	memcpy(rels, an->rels, sizeof(RelInfo) * (size_t)an->pi.nrels);
	CatGroup *g = ARENA_NEW(a, CatGroup);
	*g = *an->rels[ra].group;
	const int32_t rs[2] = {ra, rb};
	const char *cs[2] = {ca, cb};
	for (int k = 0; k < 2; k++) {
		CatTable *t = ARENA_NEW(a, CatTable);
		*t = *an->rels[rs[k]].table;
		t->dist_column = (char *)cs[k];
		t->dist_colpos = catalog_column_index(t, cs[k]);
		rels[rs[k]].table = t;
		rels[rs[k]].group = g;
	}
	v.rels = rels;
	return v;
}

/* hash_cond: the rows of ref whose key goes to node index k of n */
static const char *
hash_cond(Arena *a, const char *ref, const char *col, KeyKind kind, int32_t n, int32_t k)
{
	return arena_printf(a, "(pg_catalog.%s((\"%s\".\"%s\")::%s) & 2147483647) %% %d = %d",
	                    kind == KEY_INT ? "hashint8" : "hashtext", ref, col,
	                    kind == KEY_INT ? "int8" : "text", (int)n, (int)k);
}

bool
repartition_plan(const Analysis *an, Arena *a, DistPlan *plan, bool *done, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	*done = false;
	if (pi->kind != PARSE_SELECT || an->ndist != 2 || an->nlocal > 0 || an->shape.in_block ||
	    an->shape.one_task || an->shape.temp_tag != NULL || pi->has_natural_join)
		return true;
	int32_t ra = -1, rb = -1;
	for (int32_t i = 0; i < pi->nrels; i++)
		if (an->rels[i].cls == REL_DISTRIBUTED) {
			if (ra < 0)
				ra = i;
			else
				rb = i;
		}
	if (rb < 0 || !usable(an, ra) || !usable(an, rb))
		return true;
	int64_t ea = catalog_est_rows(an->rels[ra].table), eb = catalog_est_rows(an->rels[rb].table);
	if (ea < 0 || eb < 0 || ea + eb < semijoin_min_repartition_rows_get() ||
	    semijoin_worth(an, ra, eb, true) || semijoin_worth(an, rb, ea, true))
		return true;
	const char *ca, *cb;
	KeyKind kind = join_key(an, ra, rb, &ca, &cb);
	if (kind == KEY_NONE)
		return true;
	Analysis view = colocated_view(an, a, ra, ca, rb, cb);
	SgError why;
	bool per_node = fanout_applies(&view, &why);
	if (!per_node && !joinagg_applies(&view))
		return true;
	const CatNode *first = catalog_first_node(an->snap);
	if (first == NULL)
		return true;

	/* the active nodes, ascending (the snapshot keeps them sorted by id) */
	int32_t *nodes = ARENA_NEW_ARRAY(a, int32_t, an->snap->nnodes + 1);
	int32_t n = 0;
	for (int32_t k = 0; k < an->snap->nnodes; k++)
		if (an->snap->nodes[k].is_active)
			nodes[n++] = an->snap->nodes[k].id;
	const char *ta = multistage_temp_name(a, NULL, 1), *tb = multistage_temp_name(a, NULL, 2);
	PullStage *stages = ARENA_NEW_ARRAY(a, PullStage, 2 * n + 1);
	for (int32_t k = 0; k < n; k++) {
		if (!multistage_build_stage(an, a, ra, ta, nodes[k],
		                            hash_cond(a, parse_ref_name(&pi->rels[ra]), ca, kind, n, k),
		                            &stages[2 * k], err) ||
		    !multistage_build_stage(an, a, rb, tb, nodes[k],
		                            hash_cond(a, parse_ref_name(&pi->rels[rb]), cb, kind, n, k),
		                            &stages[2 * k + 1], err))
			return false;
	}
	DeparseRename ren[2] = {
	    {.rel = ra, .schema = "pg_temp", .keep_alias = true, .relname = ta},
	    {.rel = rb, .schema = "pg_temp", .keep_alias = true, .relname = tb},
	};
	TaskList tl;
	tasks_init(&tl, a);
	int32_t nstages = 2 * n;
	char *sql;
	if (per_node) {
		/* every node joins its partition; the rows are concatenated */
		if (!deparse_stmt(a, an->stmt, pi, ren, 2, &sql, err))
			return false;
		for (int32_t k = 0; k < n; k++)
			tasks_add(&tl, nodes[k], sql);
		plan->combine = COMBINE_CONCAT;
	} else {
		/* every node joins and aggregates its partition; the first node combines */
		const char *tg = multistage_temp_name(a, NULL, 3);
		if (!joinagg_gather_stage(&view, a, ren, 2, nodes, n, first->id, tg, &stages[nstages++],
		                          &sql, err))
			return false;
		tasks_add(&tl, first->id, sql);
		plan->combine = COMBINE_RELAY;
		const char *temps[3] = {ta, tb, tg};
		char *cleanup;
		if (!deparse_drop_temps(a, an->stmt, temps, 3, &cleanup, err))
			return false;
		plan->cleanup_sql = cleanup;
	}
	tasks_store(&tl, plan);
	plan->nstages = nstages;
	plan->stages = stages;
	plan->merge_node = first->id;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = true;
	const char **note = ARENA_NEW_ARRAY(a, const char *, 1);
	note[0] = arena_printf(a,
	                       "Repartition: %s.%s and %s.%s (est. %lld and %lld rows) hashed over %d "
	                       "nodes, joined on each%s",
	                       parse_ref_name(&pi->rels[ra]), ca, parse_ref_name(&pi->rels[rb]), cb,
	                       (long long)ea, (long long)eb, (int)n,
	                       per_node ? "" : ", partial aggregates combined on the first node");
	plan->semijoins = note;
	plan->nsemijoins = 1;
	*done = true;
	return true;
}
