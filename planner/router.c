/*
 * router.c: statements that run on one node, and INSERT ... VALUES split
 * by shard.
 *
 * Router: analyze.c pinned every distributed relation to a shard; when all
 * pinned shards are on one node, the statement goes there with each
 * distributed relation renamed to its shard table (`sg_g<g>_<i>.t AS t`),
 * and the node's answer is relayed unchanged.
 *
 * INSERT: the distribution column's value of each VALUES row must be a
 * constant (or a $n parameter with its Bind value); rows are grouped by shard, one INSERT (column
 * list, RETURNING and ON CONFLICT kept) per shard, the shards of one node in one task so the node
 * runs them in one implicit transaction. One shard → COMBINE_RELAY; more → COMBINE_CONCAT with the
 * counts summed.
 */
#include "planner/router.h"

#include <string.h>

#include "common/buf.h"
#include "planner/deparse.h"
#include "planner/fanout.h"
#include "planner/tasks.h"

static void
set_query_plan(const Analysis *an, DistPlan *plan, CombineKind combine)
{
	plan->kind = PLAN_TASKS;
	plan->combine = combine;
	plan->command_tag = an->pi.tag;
	plan->has_count = true;
	plan->returns_rows = analyze_returns_rows(an);
	plan->is_write = analyze_is_dml(an);
}

bool
router_try(const Analysis *an, Arena *a, DistPlan *plan, bool *routed, SgError *err)
{
	*routed = false;
	if (an->ndist == 0)
		return true;
	int32_t node = -1;
	DeparseRename *ren = ARENA_NEW_ARRAY(a, DeparseRename, an->ndist);
	int32_t n = 0;
	for (int32_t i = 0; i < an->pi.nrels; i++) {
		const RelInfo *ri = &an->rels[i];
		if (ri->cls != REL_DISTRIBUTED)
			continue;
		if (ri->shard < 0)
			return true;
		int32_t here = ri->group->placement[ri->shard];
		if (node >= 0 && here != node)
			return true;
		node = here;
		ren[n++] = (DeparseRename){.rel = i,
		                           .schema = catalog_shard_schema(a, ri->group->id, ri->shard),
		                           .keep_alias = true};
	}
	char *sql;
	if (!deparse_stmt(a, an->stmt, &an->pi, ren, n, &sql, err))
		return false;
	TaskList tl;
	tasks_init(&tl, a);
	tasks_add(&tl, node, sql);
	tasks_store(&tl, plan);
	set_query_plan(an, plan, COMBINE_RELAY);
	*routed = true;
	return true;
}

static bool
missing_value(const CatTable *t, SgError *err)
{
	sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	             "INSERT into a distributed table needs a constant value for the distribution "
	             "column \"%s\"",
	             t->dist_column);
	return false;
}

const char *
insert_always_column(const CatTable *t, int32_t ncols, const char *const *cols, int32_t pos)
{
	if (t->column_identity == NULL)
		return NULL;
	if (ncols == 0)
		return pos < t->ncolumns && t->column_identity[pos] == 'a' ? t->columns[pos] : NULL;
	if (pos >= ncols)
		return NULL;
	for (int32_t c = 0; c < t->ncolumns; c++)
		if (strcmp(t->columns[c], cols[pos]) == 0)
			return t->column_identity[c] == 'a' ? t->columns[c] : NULL;
	return NULL;
}

bool
generated_always(const char *column, SgError *err)
{
	sg_error_set(err, SQLSTATE_GENERATED_ALWAYS,
	             "cannot insert a non-DEFAULT value into column \"%s\"", column);
	sg_error_detail(err, "Column \"%s\" is an identity column defined as GENERATED ALWAYS.",
	                column);
	sg_error_hint(err, "Use OVERRIDING SYSTEM VALUE to override.");
	return false;
}

bool
check_overriding_user(const CatTable *t, ParseOverriding override, SgError *err)
{
	if (override != PARSE_OVERRIDING_USER || !catalog_dist_is_identity(t))
		return true;
	return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	                    "OVERRIDING USER VALUE on the identity distribution column \"%s\" is not "
	                    "supported",
	                    t->dist_column);
}

/* check_always: no VALUES item goes to a GENERATED ALWAYS column without OVERRIDING SYSTEM VALUE */
static bool
check_always(const ParseInfo *pi, const CatTable *t, SgError *err)
{
	if (pi->insert_override == PARSE_OVERRIDING_SYSTEM || t->column_identity == NULL ||
	    memchr(t->column_identity, 'a', (size_t)t->ncolumns) == NULL)
		return true; /* no GENERATED ALWAYS column: the common case costs one scan */
	for (int32_t r = 0; r < pi->insert_nrows; r++)
		for (int32_t i = 0; i < pi->insert_row_len[r]; i++) {
			if (pi->insert_rows[r][i].kind == PV_DEFAULT)
				continue;
			const char *col = insert_always_column(t, pi->insert_ncols, pi->insert_cols, i);
			if (col != NULL)
				return generated_always(col, err);
		}
	return true;
}

/* dist_column_position: index of the distribution column in each VALUES row, -1 if absent */
static int32_t
dist_column_position(const ParseInfo *pi, const CatTable *t)
{
	if (pi->insert_ncols == 0)
		return t->dist_colpos;
	for (int32_t i = 0; i < pi->insert_ncols; i++)
		if (strcmp(pi->insert_cols[i], t->dist_column) == 0)
			return i;
	return -1;
}

/*
 * params_typed_per_shard: a per-shard INSERT keeps only its rows, so the
 * $n of the other rows are not referenced there; PostgreSQL then needs their
 * types from Parse ("could not determine data type of parameter"). Refuse
 * (0A000) when such a parameter has no type.
 */
static bool
params_typed_per_shard(const Analysis *an, const int32_t *row_shard, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const PlanParams *pp = an->params;
	for (int32_t r = 0; r < pi->insert_nrows; r++)
		for (int32_t k = 0; k < pi->insert_row_nparams[r]; k++) {
			int32_t n = pi->insert_row_params[r][k];
			bool typed = pp->types != NULL && n >= 1 && n <= pp->n && pp->types[n - 1] != 0;
			/* $n is missing from another shard's statement unless a row there uses it too */
			for (int32_t o = 0; !typed && o < pi->insert_nrows; o++) {
				if (row_shard[o] == row_shard[r])
					continue;
				bool used = false;
				for (int32_t q = 0; q < pi->insert_row_nparams[o]; q++)
					used = used || pi->insert_row_params[o][q] == n;
				if (!used) {
					sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
					             "a multi-row INSERT into a distributed table whose rows go to "
					             "several shards needs the types of its parameters (parameter "
					             "$%d has none)",
					             (int)n);
					sg_error_hint(err, "Declare the parameter types in Parse, or insert the rows "
					                   "one statement at a time.");
					return false;
				}
			}
		}
	return true;
}

static int
cmp_int32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

/*
 * insert_row_order: where each VALUES row's RETURNING row comes from. A node
 * runs its shards' INSERTs in ascending shard order, each returning its rows
 * in VALUES order (without ON CONFLICT, one row per VALUES row).
 */
static void
insert_row_order(const Analysis *an, Arena *a, DistPlan *plan, const int32_t *row_shard,
                 const int32_t *nodes, int32_t nnodes, const CatGroup *g)
{
	const ParseInfo *pi = &an->pi;
	if (pi->nscopes > 0 && (pi->scopes[0].features & PARSE_F_ON_CONFLICT))
		return; /* rows skipped by DO NOTHING would shift every position */
	int32_t n = pi->insert_nrows;
	int32_t *row_node = ARENA_NEW_ARRAY(a, int32_t, n);
	int32_t *row_pos = ARENA_NEW_ARRAY(a, int32_t, n);
	for (int32_t k = 0; k < nnodes; k++) {
		int32_t pos = 0;
		for (int32_t s = 0; s < g->shard_count; s++) {
			if (g->placement[s] != nodes[k])
				continue;
			for (int32_t r = 0; r < n; r++)
				if (row_shard[r] == s) {
					row_node[r] = nodes[k];
					row_pos[r] = pos++;
				}
		}
	}
	plan->nrow_order = n;
	plan->row_node = row_node;
	plan->row_pos = row_pos;
}

/* row_needs_value: VALUES row r leaves the distribution column (position pos, -1: not in the
 * column list) to its default */
static bool
row_needs_value(const ParseInfo *pi, int32_t r, int32_t pos)
{
	if (pos < 0)
		return true;
	if (pos < pi->insert_row_len[r])
		return pi->insert_rows[r][pos].kind == PV_DEFAULT;
	return pi->insert_ncols == 0 && pos == pi->insert_row_len[r]; /* the next column: appended */
}

/*
 * insert_fill: an INSERT leaving a serial / identity distribution column to
 * its default. Without values yet (an->fill NULL): *done, the plan is
 * PLAN_FILL (draw them with nextval() on the first node). With them: fill
 * says where they go (pos becomes the column's position in each row).
 */
static bool
insert_fill(const Analysis *an, Arena *a, const CatTable *t, int32_t *pos, DistPlan *plan,
            DeparseFill *fill, bool *done, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	*done = false;
	memset(fill, 0, sizeof(*fill));
	int32_t need = 0;
	for (int32_t r = 0; r < pi->insert_nrows; r++)
		need += row_needs_value(pi, r, *pos);
	if (need == 0)
		return true;
	if (an->fill == NULL) {
		const CatNode *first = catalog_first_node(an->snap);
		if (first == NULL)
			return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
		Buf q;
		buf_init(&q);
		buf_printf(&q, "SELECT pg_catalog.nextval('");
		for (const char *c = t->dist_sequence; *c != '\0'; c++) {
			if (*c == '\'')
				buf_append(&q, "''", 2);
			else
				buf_append(&q, c, 1);
		}
		buf_printf(&q, "') FROM pg_catalog.generate_series(1, %d)", (int)need);
		plan->kind = PLAN_FILL;
		plan->fill_sql = arena_strndup(a, buf_head(&q), buf_avail(&q));
		plan->fill_node = first->id;
		plan->fill_count = need;
		buf_free(&q);
		*done = true;
		return true;
	}
	if (an->nfill != need)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "%d values drawn for %d rows",
		                    (int)an->nfill, (int)need);
	const char **values = ARENA_NEW_ARRAY(a, const char *, pi->insert_nrows + 1);
	int32_t k = 0;
	for (int32_t r = 0; r < pi->insert_nrows; r++)
		if (row_needs_value(pi, r, *pos))
			values[r] = an->fill[k++];
	fill->column = t->dist_column;
	fill->add_column = *pos < 0;
	fill->pos = *pos >= 0 ? *pos : pi->insert_ncols;
	fill->values = values;
	*pos = fill->pos;
	return true;
}

bool
router_insert(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t target = analyze_target(an);
	SG_ASSERT(target >= 0 && an->rels[target].cls == REL_DISTRIBUTED);
	const CatTable *t = an->rels[target].table;
	const CatGroup *g = an->rels[target].group;
	for (int32_t i = 0; i < pi->nset_cols; i++)
		if (strcmp(pi->set_cols[i], t->dist_column) == 0)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "modifying the distribution column is not supported");
	if (pi->insert_has_select && !pi->insert_default_values)
		return fanout_insert_select(an, a, plan, err);
	if (an->ndist > 1)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT into a distributed table that reads another distributed "
		                    "table is not supported yet");
	if (pi->nscopes > 0 && (pi->scopes[0].features & PARSE_F_CTE))
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "WITH on an INSERT into a distributed table is not supported yet");
	for (int32_t i = 0; i < pi->nset_cols; i++)
		if (strcmp(pi->set_cols[i], t->dist_column) == 0)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "modifying the distribution column is not supported");
	int32_t pos = pi->insert_default_values ? -1 : dist_column_position(pi, t);
	DeparseFill fill_spec;
	const DeparseFill *fill = NULL;
	if (!check_overriding_user(t, pi->insert_override, err) || !check_always(pi, t, err))
		return false;
	if (t->dist_sequence != NULL) {
		bool done;
		if (!insert_fill(an, a, t, &pos, plan, &fill_spec, &done, err))
			return false;
		if (done)
			return true; /* PLAN_FILL: values first */
		if (fill_spec.values != NULL)
			fill = &fill_spec;
	}
	bool absent_is_null = catalog_dist_null_when_absent(t);
	static const ParseValue null_value = {.kind = PV_NULL, .location = -1};
	if (pos < 0 && !absent_is_null) {
		missing_value(t, err);
		if (pi->insert_ncols == 0 && !pi->insert_default_values && t->ncolumns == 0)
			sg_error_detail(err,
			                "The gateway's catalog has no columns for \"%s\"; list the "
			                "columns in the INSERT.",
			                t->name);
		return false;
	}

	int32_t *row_shard = ARENA_NEW_ARRAY(a, int32_t, pi->insert_nrows + 1);
	int32_t *rows_in_shard = ARENA_NEW_ARRAY(a, int32_t, g->shard_count);
	for (int32_t r = 0; r < pi->insert_nrows; r++) {
		bool absent = pos < 0 || pos >= pi->insert_row_len[r];
		if (absent && (fill == NULL || fill->values[r] == NULL) && !absent_is_null)
			return missing_value(t, err);
		const ParseValue *v = absent ? &null_value : &pi->insert_rows[r][pos];
		ParseValue filled = {.kind = PV_CONST, .location = -1};
		if (fill != NULL && fill->values[r] != NULL) {
			filled.text = fill->values[r];
			v = &filled;
		} else if (v->kind == PV_DEFAULT && absent_is_null) {
			v = &null_value;
		}
		if (v->kind != PV_CONST && v->kind != PV_NULL && v->kind != PV_PARAM)
			return missing_value(t, err);
		if (!analyze_shard_index(an, t, g, v, &row_shard[r], err))
			return false;
		rows_in_shard[row_shard[r]]++;
	}

	/* nodes that receive rows, ascending */
	int32_t nshards = 0, nnodes = 0;
	int32_t *nodes = ARENA_NEW_ARRAY(a, int32_t, g->shard_count);
	for (int32_t s = 0; s < g->shard_count; s++) {
		if (rows_in_shard[s] == 0)
			continue;
		nshards++;
		bool seen = false;
		for (int32_t k = 0; k < nnodes; k++)
			seen = seen || nodes[k] == g->placement[s];
		if (!seen)
			nodes[nnodes++] = g->placement[s];
	}
	qsort(nodes, (size_t)nnodes, sizeof(int32_t), cmp_int32);

	if (an->params != NULL && nshards > 1 && !params_typed_per_shard(an, row_shard, err))
		return false;

	TaskList tl;
	tasks_init(&tl, a);
	int32_t *rows = ARENA_NEW_ARRAY(a, int32_t, pi->insert_nrows + 1);
	for (int32_t k = 0; k < nnodes; k++) {
		SqlList sl;
		sqllist_init(&sl, a);
		for (int32_t s = 0; s < g->shard_count; s++) {
			if (rows_in_shard[s] == 0 || g->placement[s] != nodes[k])
				continue;
			int32_t n = 0;
			for (int32_t r = 0; r < pi->insert_nrows; r++)
				if (row_shard[r] == s)
					rows[n++] = r;
			DeparseRename ren = {
			    .rel = target, .schema = catalog_shard_schema(a, g->id, s), .keep_alias = true};
			char *sql;
			if (!deparse_insert_rows(a, an->stmt, pi, &ren, 1, rows, n, fill, &sql, err))
				return false;
			sqllist_add(&sl, sql);
		}
		/* with Bind parameters every task must be a single statement */
		sqllist_to_tasks(&sl, &tl, nodes[k], an->params != NULL);
	}
	tasks_store(&tl, plan);
	set_query_plan(an, plan, nshards == 1 ? COMBINE_RELAY : COMBINE_CONCAT);
	if (nshards > 1 && plan->returns_rows)
		insert_row_order(an, a, plan, row_shard, nodes, nnodes, g);
	return true;
}
