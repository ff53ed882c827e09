/*
 * analyze.c: relations against the catalog, and shard pinning.
 *
 * Each ParseRel becomes a RelInfo: a CTE reference, a local table (not in
 * the catalog; pg_catalog and information_schema relations included), a
 * reference table or a distributed table with its co-location group.
 *
 * Pinning: a distributed relation is pinned to shard i when a top-level
 * AND-ed condition of the query level that lists it (WHERE, inner JOIN ON)
 * is `dist_col = constant` (either side; constants may be cast or negated)
 * or `dist_col = $n` with the Bind value of $n (extended protocol), and the
 * value hashes to shard i; a NULL literal pins nothing (`= NULL` is never
 * true, the query still runs, on every shard). Then `a.dist_col =
 * b.dist_col` between two distributed relations of the same group carries a
 * pin from one to the other, until nothing changes. A pin only ever lands on
 * a relation of the query level whose condition it is: a condition inside
 * `NOT EXISTS (...)` says nothing about the rows of the outer query, while an
 * outer relation's pin may flow into a correlated subquery's relation. Column references are
 * resolved against the query level and its enclosing levels (correlated
 * subqueries): `col` when exactly one catalogued relation of the level has
 * that column and no relation of unknown columns is there, `q.col` by alias
 * (or name when unaliased), `s.t.col` by schema and name.
 *
 * A constant that does not parse as the column's type (e.g. `id = 1.5` on
 * an int4 column) pins nothing: the query is still correct across shards.
 */
#include "planner/analyze.h"

#include <ctype.h>

#include <string.h>

#include "planner/planner.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

const char *
analyze_rel_name(Arena *a, const ParseRel *r)
{
	if (r->schema != NULL)
		return arena_printf(a, "%s.%s", r->schema, r->name);
	return r->name;
}

/* param_hash: hash of Bind parameter $n for column type of t; *is_null for SQL NULL */
static bool
param_is_int(uint32_t type)
{
	return type == PG_OID_INT2 || type == PG_OID_INT4 || type == PG_OID_INT8;
}

/* param_binary_int: a network-order integer of the parameter's own width */
static bool
param_binary_int(uint32_t type, const char *val, int32_t len, int64_t *out)
{
	const unsigned char *u = (const unsigned char *)val;
	int32_t want = type == PG_OID_INT2 ? 2 : type == PG_OID_INT4 ? 4 : 8;
	if (len != want)
		return false;
	uint64_t acc = 0;
	for (int32_t i = 0; i < len; i++)
		acc = (acc << 8) | u[i];
	if (len == 2)
		*out = (int16_t)acc;
	else if (len == 4)
		*out = (int32_t)acc;
	else
		*out = (int64_t)acc;
	return true;
}

bool
analyze_param_hash(Arena *a, const PlanParams *pp, const CatTable *t, int32_t n, uint64_t *h,
                   bool *is_null, SgError *err)
{
	*is_null = false;
	if (pp == NULL || n < 1 || n > pp->n)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "no value for parameter $%d of the distribution column \"%s\"", (int)n,
		                    t->dist_column);
	const char *val = pp->values[n - 1];
	if (val == NULL) {
		*is_null = true;
		return true;
	}
	int32_t len = pp->lengths != NULL ? pp->lengths[n - 1] : (int32_t)strlen(val);
	if (len < 0) {
		*is_null = true;
		return true;
	}
	int16_t format = pp->formats != NULL ? pp->formats[n - 1] : 0;
	if (format == 0)
		return pghash_text_value(t->dist_type, arena_strndup(a, val, (size_t)len), h, err);
	uint32_t type = pp->types != NULL ? pp->types[n - 1] : 0;
	if (type != 0 && type != t->dist_type && param_is_int(type) && param_is_int(t->dist_type)) {
		/* a binary integer of another width (drivers send small values as int2): compare
		 * by value, as PostgreSQL's cross-type operator does */
		int64_t v;
		if (!param_binary_int(type, val, len, &v))
			return sg_error_set(err, "22P03", "incorrect binary data format in bind parameter %d",
			                    (int)n);
		char text[32];
		snprintf(text, sizeof(text), "%lld", (long long)v);
		return pghash_text_value(t->dist_type, text, h, err);
	}
	if (type != 0 && type != t->dist_type)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "binary parameter $%d of type %u for the distribution column \"%s\" "
		                    "of type %u is not supported",
		                    (int)n, (unsigned)type, t->dist_column, (unsigned)t->dist_type);
	return pghash_binary_value(t->dist_type, val, (size_t)len, h, err);
}

bool
analyze_shard_index(const Analysis *an, const CatTable *t, const CatGroup *g, const ParseValue *v,
                    int32_t *shard, SgError *err)
{
	uint64_t h;
	bool is_null = v->kind == PV_NULL;
	if (v->kind == PV_PARAM) {
		if (!analyze_param_hash(an->arena, an->params, t, v->param, &h, &is_null, err))
			return false;
	} else if (!is_null) {
		SG_ASSERT(v->kind == PV_CONST);
		if (!pghash_text_value(t->dist_type, v->text, &h, err))
			return false;
	}
	*shard = is_null ? shardmap_null_shard_index() : shardmap_shard_index(h, g->shard_count);
	return true;
}

/* rel_matches_qualifier: does `q.col` (or `schema.q.col`) name relation r? */
static bool
rel_matches_qualifier(const ParseRel *r, const char *schema, const char *q)
{
	if (schema != NULL) {
		const char *rs = r->schema != NULL ? r->schema : "public";
		return r->alias == NULL && strcmp(rs, schema) == 0 && strcmp(r->name, q) == 0;
	}
	return strcmp(parse_ref_name(r), q) == 0;
}

int32_t
analyze_resolve_column(const Analysis *an, int32_t scope, const ParseValue *v, const char **col)
{
	const ParseInfo *pi = &an->pi;
	*col = v->fields[v->nfields - 1];
	for (int32_t s = scope; s >= 0; s = pi->scopes[s].parent) {
		int32_t found = -1, nfound = 0;
		bool unknown = false;
		for (int32_t i = 0; i < pi->nrels; i++) {
			const ParseRel *r = &pi->rels[i];
			if (r->scope != s)
				continue;
			if (v->nfields == 1) {
				const RelInfo *ri = &an->rels[i];
				if (ri->table == NULL)
					unknown = true;
				else if (catalog_column_index(ri->table, *col) >= 0) {
					found = i;
					nfound++;
				}
			} else {
				const char *schema = v->nfields == 3 ? v->fields[0] : NULL;
				if (rel_matches_qualifier(r, schema, v->fields[v->nfields - 2]))
					return i;
			}
		}
		if (v->nfields == 1) {
			if (nfound == 1 && !unknown)
				return found;
			if (nfound > 0 || unknown)
				return -1;
		}
	}
	return -1;
}

/* dist_rel_of: relation index when v is the distribution column of a distributed relation */
int32_t
analyze_dist_rel_of(const Analysis *an, int32_t scope, const ParseValue *v)
{
	if (v->kind != PV_COLUMN)
		return -1;
	const char *col;
	int32_t r = analyze_resolve_column(an, scope, v, &col);
	if (r < 0 || an->rels[r].cls != REL_DISTRIBUTED)
		return -1;
	return strcmp(an->rels[r].table->dist_column, col) == 0 ? r : -1;
}

static void
pin_relations(Analysis *an)
{
	const ParseInfo *pi = &an->pi;
	for (int32_t e = 0; e < pi->nequal; e++) {
		const ParseEquality *eq = &pi->equal[e];
		const ParseValue *col = &eq->lhs, *val = &eq->rhs;
		if (col->kind != PV_COLUMN) {
			col = &eq->rhs;
			val = &eq->lhs;
		}
		if (val->kind != PV_CONST && val->kind != PV_PARAM)
			continue;
		int32_t r = analyze_dist_rel_of(an, eq->scope, col);
		/* only a relation of the condition's own level: NOT EXISTS (... t.id = 5) pins nothing */
		if (r < 0 || an->rels[r].shard >= 0 || pi->rels[r].scope != eq->scope)
			continue;
		SgError ignored;
		int32_t shard;
		if (analyze_shard_index(an, an->rels[r].table, an->rels[r].group, val, &shard, &ignored))
			an->rels[r].shard = shard;
	}
	bool changed = true;
	while (changed) {
		changed = false;
		for (int32_t e = 0; e < pi->nequal; e++) {
			const ParseEquality *eq = &pi->equal[e];
			int32_t r1 = analyze_dist_rel_of(an, eq->scope, &eq->lhs);
			int32_t r2 = analyze_dist_rel_of(an, eq->scope, &eq->rhs);
			if (r1 < 0 || r2 < 0 || an->rels[r1].group != an->rels[r2].group)
				continue;
			RelInfo *a1 = &an->rels[r1], *a2 = &an->rels[r2];
			/* a pin flows into a relation of the condition's own level only */
			bool into2 = pi->rels[r2].scope == eq->scope, into1 = pi->rels[r1].scope == eq->scope;
			if (a1->shard >= 0 && a2->shard < 0 && into2) {
				a2->shard = a1->shard;
				changed = true;
			} else if (a2->shard >= 0 && a1->shard < 0 && into1) {
				a1->shard = a2->shard;
				changed = true;
			}
		}
	}
}

bool
analyze_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *text,
             const char *search_path, const PlanParams *params, Arena *a, Analysis *out,
             SgError *err)
{
	memset(out, 0, sizeof(*out));
	out->params = params;
	out->search_path = search_path;
	out->arena = a;
	out->snap = snap;
	out->stmt = stmt;
	out->text = text;
	out->first_dist = -1;
	out->first_local = -1;
	parse_inspect(a, stmt, &out->pi);
	const ParseInfo *pi = &out->pi;
	out->rels = ARENA_NEW_ARRAY(a, RelInfo, pi->nrels + 1);
	for (int32_t i = 0; i < pi->nrels; i++) {
		const ParseRel *r = &pi->rels[i];
		RelInfo *ri = &out->rels[i];
		ri->shard = -1;
		if (r->is_cte_ref) {
			ri->cls = REL_CTE;
			continue;
		}
		const CatTable *t = planner_resolve_table(snap, search_path, r->schema, r->name);
		if (t == NULL) {
			ri->cls = REL_LOCAL;
			out->nlocal++;
			if (out->first_local < 0)
				out->first_local = i;
			continue;
		}
		ri->table = t;
		if (t->kind == TABLE_REFERENCE) {
			ri->cls = REL_REFERENCE;
			out->nref++;
			continue;
		}
		ri->cls = REL_DISTRIBUTED;
		ri->group = catalog_find_group(snap, t->group_id);
		if (ri->group == NULL || ri->group->shard_count <= 0)
			return sg_error_set(err, SQLSTATE_INTERNAL_ERROR,
			                    "catalog has no co-location group %d for table \"%s.%s\"",
			                    (int)t->group_id, t->schema, t->name);
		out->ndist++;
		if (out->first_dist < 0)
			out->first_dist = i;
	}
	pin_relations(out);
	return true;
}

bool
analyze_returns_rows(const Analysis *an)
{
	const ParseInfo *pi = &an->pi;
	if (pi->kind == PARSE_SELECT)
		return true;
	return analyze_is_dml(an) && pi->nscopes > 0 &&
	       (pi->scopes[0].features & PARSE_F_RETURNING) != 0;
}

bool
analyze_is_dml(const Analysis *an)
{
	ParseStmtKind k = an->pi.kind;
	return k == PARSE_INSERT || k == PARSE_UPDATE || k == PARSE_DELETE || k == PARSE_MERGE;
}

int32_t
analyze_target(const Analysis *an)
{
	for (int32_t i = 0; i < an->pi.nrels; i++)
		if (an->pi.rels[i].is_target && an->pi.rels[i].scope == 0)
			return i;
	return -1;
}

/*
 * planner_resolve_table: see planner.h. The path is split on commas;
 * "quoted" names keep their case, others are folded to lower case; "$user",
 * pg_catalog and pg_temp are skipped (no catalogued table lives there).
 */
const CatTable *
planner_resolve_table(const CatalogSnapshot *snap, const char *search_path, const char *schema,
                      const char *name)
{
	if (schema != NULL || search_path == NULL || search_path[0] == '\0')
		return catalog_find_table(snap, schema, name);
	const char *p = search_path;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		char item[128];
		size_t n = 0;
		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				if (*p == '"')
					p++;
				if (n + 1 < sizeof(item))
					item[n++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			for (; *p && *p != ',' && *p != ' '; p++)
				if (n + 1 < sizeof(item))
					item[n++] = (char)tolower((unsigned char)*p);
		}
		item[n] = '\0';
		while (*p == ' ')
			p++;
		if (n == 0 || strcmp(item, "$user") == 0 || strcmp(item, "pg_catalog") == 0 ||
		    strcmp(item, "pg_temp") == 0)
			continue;
		const CatTable *t = catalog_find_table(snap, item, name);
		if (t != NULL)
			return t;
	}
	return NULL;
}

const ParseValue *
analyze_single_pin(const Analysis *an, int32_t *rel)
{
	const ParseInfo *pi = &an->pi;
	if (an->ndist != 1 || an->nlocal != 0 || an->first_dist < 0)
		return NULL;
	int32_t r = an->first_dist;
	const RelInfo *ri = &an->rels[r];
	if (ri->shard < 0 && pi->kind != PARSE_INSERT) /* an INSERT's target is never pinned */
		return NULL;
	for (int32_t i = 0; i < pi->nrels; i++)
		if (an->rels[i].cls == REL_CTE)
			return NULL;
	const ParseValue *val = NULL;
	int32_t npins = 0;
	for (int32_t k = 0; k < pi->nequal; k++) {
		const ParseEquality *eq = &pi->equal[k];
		bool l = analyze_dist_rel_of(an, eq->scope, &eq->lhs) >= 0;
		bool rr = analyze_dist_rel_of(an, eq->scope, &eq->rhs) >= 0;
		if (!l && !rr)
			continue;
		npins++;
		val = l ? &eq->rhs : &eq->lhs;
	}
	for (int32_t k = 0; k < pi->nouter_equal; k++)
		if (analyze_dist_rel_of(an, pi->outer_equal[k].scope, &pi->outer_equal[k].lhs) >= 0 ||
		    analyze_dist_rel_of(an, pi->outer_equal[k].scope, &pi->outer_equal[k].rhs) >= 0)
			return NULL;
	if (pi->kind == PARSE_INSERT) {
		if (npins != 0 || pi->insert_has_select || pi->insert_nrows != 1)
			return NULL;
		const CatTable *t = ri->table;
		int32_t pos = t->dist_colpos;
		if (pi->insert_ncols > 0) {
			pos = -1;
			for (int32_t i = 0; i < pi->insert_ncols; i++)
				if (strcmp(pi->insert_cols[i], t->dist_column) == 0)
					pos = i;
		}
		if (pos < 0 || pos >= pi->insert_row_len[0])
			return NULL;
		val = &pi->insert_rows[0][pos];
		npins = 1;
	}
	if (npins != 1 || val == NULL || (val->kind != PV_CONST && val->kind != PV_PARAM))
		return NULL;
	*rel = r;
	return val;
}
