/*
 * semijoin.c: semi-join reductions for joins that are not co-located (see
 * semijoin.h for the rule and why the answer does not change).
 */
#include "planner/semijoin.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "planner/deparse.h"
#include "planner/tasks.h"

static int32_t semijoin_max_keys = 50000;
static int32_t semijoin_min_big_rows = 100000;
static int32_t semijoin_min_repartition_rows = 1000000;

static char *array_literal(Arena *a, const KeySet *ks, bool dedup);

void
semijoin_set_limits(int32_t max_keys, int32_t min_big_rows, int32_t min_repartition_rows)
{
	semijoin_max_keys = max_keys;
	semijoin_min_big_rows = min_big_rows;
	semijoin_min_repartition_rows = min_repartition_rows;
}

bool
semijoin_inlinable(const CatTable *t)
{
	/* text forms that depend on extra_float_digits (floats, their arrays, geometric types) */
	static const uint32_t lossy[] = {600, 601, 602, 603, 604, 628, 700, 701, 718, 1021, 1022};
	if (t->column_types == NULL || t->ncolumns == 0)
		return false;
	for (int32_t i = 0; i < t->ncolumns; i++) {
		uint32_t oid = t->column_types[i];
		if (oid == 0 || oid >= 16384)
			return false; /* a type of the database: its text form is not known here */
		for (size_t k = 0; k < SG_ARRAY_LEN(lossy); k++)
			if (oid == lossy[k])
				return false;
	}
	return true;
}

bool
semijoin_worth(const Analysis *an, int32_t big, int64_t est_small, bool per_node)
{
	const RelInfo *ri = &an->rels[big];
	int64_t est_big = catalog_est_rows(ri->table);
	int64_t copies = ri->shard >= 0 ? 1 : ri->group->shard_count;
	if (per_node && copies > 1) {
		copies = 0; /* the nodes holding big's shards */
		for (int32_t k = 0; k < an->snap->nnodes; k++)
			for (int32_t s = 0; s < ri->group->shard_count; s++)
				if (ri->group->placement[s] == an->snap->nodes[k].id) {
					copies++;
					break;
				}
	}
	return est_small >= 0 && est_small <= semijoin_max_keys && est_big >= semijoin_min_big_rows &&
	       est_small * copies < est_big;
}

int32_t
semijoin_max_keys_get(void)
{
	return semijoin_max_keys;
}

int32_t
semijoin_min_repartition_rows_get(void)
{
	return semijoin_min_repartition_rows;
}

/*
 * key_type_name: the array element type for keys of this column type, NULL
 * when the keys' text form might not read back as the same value in every
 * session (float output depends on extra_float_digits) or the type is not
 * a plain built-in one
 */
static const char *
key_type_name(uint32_t oid)
{
	switch (oid) {
	case 16:
		return "bool";
	case 20:
		return "int8";
	case 21:
		return "int2";
	case 23:
		return "int4";
	case 25:
		return "text";
	case 26:
		return "oid";
	case 1042:
		return "bpchar";
	case 1043:
		return "varchar";
	case 1082:
		return "date";
	case 1114:
		return "timestamp";
	case 1184:
		return "timestamptz";
	case 1700:
		return "numeric";
	case 2950:
		return "uuid";
	default:
		return NULL;
	}
}

/* usable: may relation r take part in a reduction of an equality of level `scope`? */
static bool
usable(const Analysis *an, int32_t r, int32_t scope)
{
	const ParseRel *pr = &an->pi.rels[r];
	if (strchr(pr->name, '"') != NULL || (pr->alias != NULL && strchr(pr->alias, '"') != NULL))
		return false;
	return an->rels[r].cls == REL_DISTRIBUTED && pr->scope == scope && !pr->outer_nullable &&
	       !pr->has_colnames && !pr->is_target && an->rels[r].table->ncolumns > 0 &&
	       catalog_est_rows(an->rels[r].table) >= 0;
}

int32_t
semijoin_choose(const Analysis *an, Arena *a, SemiJoin **out)
{
	const ParseInfo *pi = &an->pi;
	*out = NULL;
	if (semijoin_max_keys <= 0 || an->ndist < 2 || pi->has_natural_join)
		return 0;
	SemiJoin *sj = ARENA_NEW_ARRAY(a, SemiJoin, pi->nrels + 1);
	int32_t n = 0;
	for (int32_t e = 0; e < pi->nequal; e++) {
		const ParseEquality *eq = &pi->equal[e];
		if (eq->lhs.kind != PV_COLUMN || eq->rhs.kind != PV_COLUMN)
			continue;
		const char *c1, *c2;
		int32_t r1 = analyze_resolve_column(an, eq->scope, &eq->lhs, &c1);
		int32_t r2 = analyze_resolve_column(an, eq->scope, &eq->rhs, &c2);
		if (r1 < 0 || r2 < 0 || r1 == r2 || !usable(an, r1, eq->scope) ||
		    !usable(an, r2, eq->scope))
			continue;
		int32_t p1 = catalog_column_index(an->rels[r1].table, c1);
		int32_t p2 = catalog_column_index(an->rels[r2].table, c2);
		if (p1 < 0 || p2 < 0 || strchr(c1, '"') != NULL || strchr(c2, '"') != NULL)
			continue;
		int64_t e1 = catalog_est_rows(an->rels[r1].table);
		int64_t e2 = catalog_est_rows(an->rels[r2].table);
		int32_t big = e1 >= e2 ? r1 : r2, small = e1 >= e2 ? r2 : r1;
		int64_t eb = e1 >= e2 ? e1 : e2, es = e1 >= e2 ? e2 : e1;
		const CatTable *st = an->rels[small].table;
		const char *type =
		    st->column_types != NULL ? key_type_name(st->column_types[big == r1 ? p2 : p1]) : NULL;
		if (type == NULL || !semijoin_worth(an, big, es, true))
			continue;
		int32_t k = 0;
		while (k < n && sj[k].big != big)
			k++;
		if (k < n && sj[k].est_small <= es)
			continue; /* a smaller partner already reduces it */
		sj[k] = (SemiJoin){.big = big,
		                   .big_col = big == r1 ? c1 : c2,
		                   .small = small,
		                   .small_col = big == r1 ? c2 : c1,
		                   .type_name = type,
		                   .est_big = eb,
		                   .est_small = es};
		if (k == n)
			n++;
	}
	*out = sj;
	return n;
}

/*
 * prefetch_plan: PLAN_PREFETCH reading relation rel's fragments (its shards, its own filters):
 * column col, or the whole row as text when col is NULL
 */
static bool
prefetch_plan(const Analysis *an, Arena *a, int32_t rel, const char *col, DistPlan *plan,
              SgError *err)
{
	const RelInfo *ri = &an->rels[rel];
	const CatTable *t = ri->table;
	const CatGroup *g = ri->group;
	const ParseRel *pr = &an->pi.rels[rel];
	const char **cols = ARENA_NEW_ARRAY(a, const char *, 1);
	cols[0] = col;
	DeparsePull p = {.rel = rel,
	                 .table = t->name,
	                 .shell_schema = t->schema,
	                 .ntable_cols = t->ncolumns,
	                 .table_cols = (const char *const *)t->columns,
	                 .table_col_types = t->column_types,
	                 .ncols = 1,
	                 .cols = cols,
	                 .push_filters = true,
	                 .whole_row = col == NULL ? parse_ref_name(pr) : NULL};
	TaskList tl;
	tasks_init(&tl, a);
	const char **schemas = ARENA_NEW_ARRAY(a, const char *, g->shard_count + 1);
	for (int32_t k = 0; k < an->snap->nnodes; k++) {
		int32_t node = an->snap->nodes[k].id, ns = 0;
		for (int32_t s = 0; s < g->shard_count; s++)
			if (g->placement[s] == node && (ri->shard < 0 || s == ri->shard))
				schemas[ns++] = catalog_shard_schema(a, g->id, s);
		if (ns == 0)
			continue;
		char *sql;
		if (!deparse_pull_fragment(a, an->stmt, &an->pi, &p, schemas, ns, NULL, &sql, NULL, err))
			return false;
		tasks_add(&tl, node, sql);
	}
	DistPlan *q = ARENA_NEW(a, DistPlan);
	q->kind = PLAN_TASKS;
	tasks_store(&tl, q);
	q->combine = COMBINE_CONCAT;
	q->command_tag = "SELECT";
	q->has_count = true;
	q->returns_rows = true;
	plan->kind = PLAN_PREFETCH;
	plan->prefetch = q;
	plan->prefetch_max = semijoin_max_keys;
	return true;
}

bool
semijoin_prefetch(const Analysis *an, Arena *a, const SemiJoin *sj, DistPlan *plan, SgError *err)
{
	if (!prefetch_plan(an, a, sj->small, sj->small_col, plan, err))
		return false;
	plan->prefetch_big = sj->big;
	plan->prefetch_small = sj->small;
	return true;
}

bool
semijoin_inline_prefetch(const Analysis *an, Arena *a, int32_t rel, DistPlan *plan, SgError *err)
{
	if (!prefetch_plan(an, a, rel, NULL, plan, err))
		return false;
	plan->prefetch_big = -1;
	plan->prefetch_small = rel;
	return true;
}

const KeySet *
semijoin_find_keys(const Analysis *an, int32_t big, int32_t small)
{
	for (int32_t k = 0; k < an->nkeys; k++)
		if (an->keys[k].big == big && an->keys[k].small == small)
			return &an->keys[k];
	return NULL;
}

const char *
semijoin_rows_literal(Arena *a, const KeySet *ks)
{
	return array_literal(a, ks, false);
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* array_literal: `{"k1","k2",...}`; dedup: sorted, duplicates once (in a) */
static char *
array_literal(Arena *a, const KeySet *ks, bool dedup)
{
	const char **v = ARENA_NEW_ARRAY(a, const char *, ks->n + 1);
	memcpy(v, ks->values, sizeof(char *) * (size_t)ks->n);
	if (dedup)
		qsort(v, (size_t)ks->n, sizeof(char *), cmp_str);
	size_t len = 3;
	for (int32_t i = 0; i < ks->n; i++)
		len += 2 * strlen(v[i]) + 3;
	char *out = arena_alloc(a, len);
	char *o = out;
	*o++ = '{';
	for (int32_t i = 0; i < ks->n; i++) {
		if (dedup && i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		if (o > out + 1)
			*o++ = ',';
		*o++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*o++ = '\\';
			*o++ = *c;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return out;
}

/* sql_string: text as a standard SQL string constant (quotes doubled), in a */
static char *
sql_string(Arena *a, const char *text)
{
	size_t n = strlen(text);
	char *out = arena_alloc(a, 2 * n + 3);
	char *o = out;
	*o++ = '\'';
	for (const char *c = text; *c; c++) {
		if (*c == '\'')
			*o++ = '\'';
		*o++ = *c;
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

const char *
semijoin_condition(Arena *a, const Analysis *an, const SemiJoin *sj, const KeySet *ks)
{
	const ParseRel *b = &an->pi.rels[sj->big];
	const ParseRel *s = &an->pi.rels[sj->small];
	const char *lit =
	    ks != NULL
	        ? sql_string(a, array_literal(a, ks, true))
	        : sql_string(a, arena_printf(a, "{<keys of %s.%s>}", parse_ref_name(s), sj->small_col));
	/* an inlined relation of its own: each node reads the keys once (a WITH query, hoisted by
	 * the deparser), every shard's branch probes them */
	return arena_printf(a,
	                    "\"%s\".\"%s\" IN (SELECT sg_key FROM unnest(%s::%s[]) AS "
	                    "sg_keys(sg_key))",
	                    parse_ref_name(b), sj->big_col, lit, sj->type_name);
}

const char *
semijoin_describe(Arena *a, const Analysis *an, const SemiJoin *sj, const KeySet *ks)
{
	const ParseRel *b = &an->pi.rels[sj->big];
	const ParseRel *s = &an->pi.rels[sj->small];
	const char *got = ks != NULL ? arena_printf(a, ", %d keys sent", (int)ks->n) : "";
	return arena_printf(a,
	                    "Semi-join: keys of %s.%s (est. %" PRId64 " rows) sent to the fragments "
	                    "of %s (est. %" PRId64 " rows), filtering %s.%s%s",
	                    parse_ref_name(s), sj->small_col, sj->est_small, parse_ref_name(b),
	                    sj->est_big, parse_ref_name(b), sj->big_col, got);
}
