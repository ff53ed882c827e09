/*
 * parse.c: libpg_query wrapper, part one (reading).
 *
 * parse_split() parses a whole query string once with
 * pg_query_parse_protobuf() and unpacks the protobuf with an allocator that
 * draws from the statement arena, so the tree dies with the arena (no
 * free_unpacked). Each RawStmt becomes one ParsedStmt; its text is the
 * substring [stmt_location, stmt_location + stmt_len) of the input, trimmed
 * (stmt_len 0 means "to the end").
 *
 * parse_inspect() walks a tree once and writes plain facts into ParseInfo:
 * the statement kind and command tag, every relation reference (RangeVar)
 * with the query level (scope) that lists it and whether it sits in a
 * sublink, a CTE or on the nullable side of an outer join, each query
 * level's features (aggregates, ORDER BY, ...), the top-level AND-ed
 * equalities of each level's WHERE and inner JOIN ... ON, INSERT VALUES
 * rows, assigned columns, DROP objects and gateway function calls.
 *
 * The walk is generic: it follows every message field through protobuf-c's
 * descriptors, so a relation in any corner of any statement (subqueries,
 * CTEs, DDL) is found; only the node types that matter for planning have
 * handlers. Invariant: nothing outside parse.c/deparse.c sees a pg_query or
 * protobuf-c type; ParseRel.node is an opaque handle for deparse.c.
 */
#include "planner/parse.h"

#include <ctype.h>
#include <string.h>

#include <pg_query.h>

#include "planner/parse_int.h"

static void *
pb_arena_alloc(void *data, size_t size)
{
	return arena_alloc((Arena *)data, size == 0 ? 1 : size);
}

static void
pb_arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* memory goes with the arena */
}

void
parse_pb_allocator(Arena *a, ProtobufCAllocator *out)
{
	out->alloc = pb_arena_alloc;
	out->free = pb_arena_free;
	out->allocator_data = a;
}

/* trimmed copy of sql[start, end) in a */
static char *
copy_trimmed(Arena *a, const char *sql, size_t start, size_t end)
{
	while (start < end && isspace((unsigned char)sql[start]))
		start++;
	while (end > start && isspace((unsigned char)sql[end - 1]))
		end--;
	return arena_strndup(a, sql + start, end - start);
}

bool
parse_split(Arena *a, const char *sql, StmtList *out, SgError *err)
{
	memset(out, 0, sizeof(*out));
	PgQueryProtobufParseResult res = pg_query_parse_protobuf(sql);
	if (res.error != NULL) {
		sg_error_set(err, SQLSTATE_SYNTAX_ERROR, "%s", res.error->message);
		err->position = res.error->cursorpos;
		pg_query_free_protobuf_parse_result(res);
		return false;
	}
	ProtobufCAllocator pa;
	parse_pb_allocator(a, &pa);
	PgQuery__ParseResult *tree = pg_query__parse_result__unpack(
	    &pa, res.parse_tree.len, (const uint8_t *)res.parse_tree.data);
	pg_query_free_protobuf_parse_result(res);
	if (tree == NULL)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "could not unpack the parse tree");

	size_t len = strlen(sql);
	out->nstmts = (int32_t)tree->n_stmts;
	out->stmts = ARENA_NEW_ARRAY(a, ParsedStmt *, tree->n_stmts + 1);
	out->texts = ARENA_NEW_ARRAY(a, const char *, tree->n_stmts + 1);
	for (size_t i = 0; i < tree->n_stmts; i++) {
		PgQuery__RawStmt *raw = tree->stmts[i];
		ParsedStmt *ps = ARENA_NEW(a, ParsedStmt);
		ps->raw = raw;
		ps->version = tree->version;
		ps->arena = a;
		size_t start = raw->stmt_location < 0 ? 0 : (size_t)raw->stmt_location;
		size_t end = raw->stmt_len == 0 ? len : start + (size_t)raw->stmt_len;
		if (start > len)
			start = len;
		if (end > len)
			end = len;
		out->stmts[i] = ps;
		out->texts[i] = copy_trimmed(a, sql, start, end);
	}
	return true;
}

/* ---------------------------------------------------------------- values */

static const char *
str_or_null(const char *s)
{
	return (s == NULL || s[0] == '\0') ? NULL : s;
}

/* string value of a String node, NULL otherwise */
static const char *
node_string(const PgQuery__Node *n)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_STRING)
		return NULL;
	return n->string->sval;
}

/* last String of a name list (function or operator name), NULL if none */
static const char *
last_name(size_t n, PgQuery__Node **names)
{
	return n == 0 ? NULL : node_string(names[n - 1]);
}

static ParseValue
value_of(Arena *a, const PgQuery__Node *n)
{
	ParseValue v = {.kind = PV_OTHER, .location = -1};
	if (n == NULL)
		return v;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST: {
		const PgQuery__AConst *c = n->a_const;
		if (c->isnull) {
			v.kind = PV_NULL;
			return v;
		}
		switch (c->val_case) {
		case PG_QUERY__A__CONST__VAL_IVAL:
			v.text = arena_printf(a, "%d", (int)c->ival->ival);
			break;
		case PG_QUERY__A__CONST__VAL_FVAL:
			v.text = c->fval->fval;
			break;
		case PG_QUERY__A__CONST__VAL_BOOLVAL:
			v.text = c->boolval->boolval ? "true" : "false";
			break;
		case PG_QUERY__A__CONST__VAL_SVAL:
			v.text = c->sval->sval;
			break;
		case PG_QUERY__A__CONST__VAL_BSVAL:
			v.text = c->bsval->bsval;
			break;
		default:
			/* protobuf default: an A_Const with no value set is integer 0 */
			v.text = "0";
			break;
		}
		v.kind = PV_CONST;
		v.location = c->location;
		return v;
	}
	case PG_QUERY__NODE__NODE_TYPE_CAST: {
		ParseValue inner = value_of(a, n->type_cast->arg);
		inner.location = -1;
		if (inner.kind == PV_CONST || inner.kind == PV_NULL || inner.kind == PV_PARAM)
			return inner;
		return v;
	}
	case PG_QUERY__NODE__NODE_A_EXPR: {
		const PgQuery__AExpr *e = n->a_expr;
		const char *op = last_name(e->n_name, e->name);
		if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e->lexpr != NULL || op == NULL)
			return v;
		ParseValue inner = value_of(a, e->rexpr);
		inner.location = -1;
		if (inner.kind != PV_CONST)
			return v;
		if (strcmp(op, "+") == 0)
			return inner;
		if (strcmp(op, "-") == 0) {
			inner.text = inner.text[0] == '-' ? inner.text + 1 : arena_printf(a, "-%s", inner.text);
			return inner;
		}
		return v;
	}
	case PG_QUERY__NODE__NODE_COLUMN_REF: {
		const PgQuery__ColumnRef *cr = n->column_ref;
		if (cr->n_fields == 0 || cr->n_fields > 3)
			return v;
		const char **fields = ARENA_NEW_ARRAY(a, const char *, cr->n_fields);
		for (size_t i = 0; i < cr->n_fields; i++) {
			fields[i] = node_string(cr->fields[i]);
			if (fields[i] == NULL)
				return v; /* t.* */
		}
		v.kind = PV_COLUMN;
		v.nfields = (int32_t)cr->n_fields;
		v.fields = fields;
		return v;
	}
	case PG_QUERY__NODE__NODE_SET_TO_DEFAULT:
		v.kind = PV_DEFAULT;
		return v;
	case PG_QUERY__NODE__NODE_PARAM_REF:
		v.kind = PV_PARAM;
		v.param = n->param_ref->number;
		return v;
	default:
		return v;
	}
}

/* ------------------------------------------------------------------ walk */

typedef struct Walk {
	Arena *a;
	ParseInfo *info;
	int32_t cap_rels, cap_scopes, cap_equal, cap_ctes, cap_colrefs, cap_outer;
	int32_t nctes;
	const char **ctes;
	int32_t scope;
	bool in_sublink, in_cte, outer_nullable;
} Walk;

/* grow *arr (elements of size sz, *cap capacity) to hold n + 1 elements */
static void *
grow(Arena *a, void *arr, int32_t n, int32_t *cap, size_t sz)
{
	if (n < *cap)
		return arr;
	int32_t ncap = *cap == 0 ? 8 : *cap * 2;
	void *bigger = arena_zalloc(a, sz * (size_t)ncap);
	if (n > 0)
		memcpy(bigger, arr, sz * (size_t)n);
	*cap = ncap;
	return bigger;
}

static void walk_msg(Walk *w, const ProtobufCMessage *m);

static int32_t
add_scope(Walk *w, uint32_t features)
{
	ParseInfo *pi = w->info;
	pi->scopes = grow(w->a, pi->scopes, pi->nscopes, &w->cap_scopes, sizeof(ParseScope));
	pi->scopes[pi->nscopes].parent = w->scope;
	pi->scopes[pi->nscopes].features = features;
	return pi->nscopes++;
}

static void
add_rel(Walk *w, PgQuery__RangeVar *rv, bool is_target)
{
	ParseInfo *pi = w->info;
	pi->rels = grow(w->a, pi->rels, pi->nrels, &w->cap_rels, sizeof(ParseRel));
	ParseRel *r = &pi->rels[pi->nrels++];
	r->schema = str_or_null(rv->schemaname);
	r->name = rv->relname;
	r->alias = rv->alias != NULL ? str_or_null(rv->alias->aliasname) : NULL;
	r->scope = w->scope;
	r->in_sublink = w->in_sublink;
	r->in_cte = w->in_cte;
	r->outer_nullable = w->outer_nullable;
	r->is_target = is_target;
	r->has_colnames = rv->alias != NULL && rv->alias->n_colnames > 0;
	r->location = rv->location;
	r->node = rv;
}

/* add_colref records a column reference (fields NULL-free; star for `*` / `t.*`) */
static void
add_colref(Walk *w, const PgQuery__ColumnRef *cr)
{
	ParseInfo *pi = w->info;
	pi->colrefs = grow(w->a, pi->colrefs, pi->ncolrefs, &w->cap_colrefs, sizeof(ParseColRef));
	ParseColRef *c = &pi->colrefs[pi->ncolrefs++];
	c->scope = w->scope;
	c->fields = ARENA_NEW_ARRAY(w->a, const char *, cr->n_fields + 1);
	for (size_t i = 0; i < cr->n_fields; i++) {
		const char *f = node_string(cr->fields[i]);
		if (f == NULL) {
			c->is_star = true;
			break;
		}
		c->fields[c->nfields++] = f;
	}
}

/* add_using_names records the names of a JOIN ... USING list as column references */
static void
add_using_names(Walk *w, const PgQuery__JoinExpr *j)
{
	if (j->is_natural)
		w->info->has_natural_join = true;
	for (size_t i = 0; i < j->n_using_clause; i++) {
		const char *name = node_string(j->using_clause[i]);
		if (name == NULL)
			continue;
		ParseInfo *pi = w->info;
		pi->colrefs = grow(w->a, pi->colrefs, pi->ncolrefs, &w->cap_colrefs, sizeof(ParseColRef));
		ParseColRef *c = &pi->colrefs[pi->ncolrefs++];
		c->scope = w->scope;
		c->nfields = 1;
		c->fields = ARENA_NEW_ARRAY(w->a, const char *, 1);
		c->fields[0] = name;
	}
}

static void
add_equality(Walk *w, ParseValue l, ParseValue r, bool outer)
{
	ParseInfo *pi = w->info;
	if (outer) {
		pi->outer_equal =
		    grow(w->a, pi->outer_equal, pi->nouter_equal, &w->cap_outer, sizeof(ParseEquality));
		pi->outer_equal[pi->nouter_equal++] =
		    (ParseEquality){.scope = w->scope, .lhs = l, .rhs = r};
		return;
	}
	pi->equal = grow(w->a, pi->equal, pi->nequal, &w->cap_equal, sizeof(ParseEquality));
	pi->equal[pi->nequal++] = (ParseEquality){.scope = w->scope, .lhs = l, .rhs = r};
}

static void add_conjuncts_to(Walk *w, const PgQuery__Node *n, bool outer);

/* add_conjuncts records the `a = b` conditions of an AND tree for the current scope */
static void
add_conjuncts(Walk *w, const PgQuery__Node *n)
{
	add_conjuncts_to(w, n, false);
}

static void
add_conjuncts_to(Walk *w, const PgQuery__Node *n, bool outer)
{
	if (n == NULL)
		return;
	if (n->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
	    n->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
		for (size_t i = 0; i < n->bool_expr->n_args; i++)
			add_conjuncts_to(w, n->bool_expr->args[i], outer);
		return;
	}
	if (n->node_case != PG_QUERY__NODE__NODE_A_EXPR)
		return;
	const PgQuery__AExpr *e = n->a_expr;
	const char *op = last_name(e->n_name, e->name);
	if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || op == NULL || strcmp(op, "=") != 0)
		return;
	ParseValue l = value_of(w->a, e->lexpr), r = value_of(w->a, e->rexpr);
	if (l.kind != PV_COLUMN && r.kind != PV_COLUMN)
		return;
	add_equality(w, l, r, outer);
}

/* rangevar_column: `ref.col` for a FROM item that is a plain relation, else PV_OTHER */
static ParseValue
rangevar_column(Arena *a, const PgQuery__Node *item, const char *col)
{
	ParseValue v = {.kind = PV_OTHER, .location = -1};
	if (item == NULL || item->node_case != PG_QUERY__NODE__NODE_RANGE_VAR)
		return v;
	const PgQuery__RangeVar *rv = item->range_var;
	const char *alias = rv->alias != NULL ? str_or_null(rv->alias->aliasname) : NULL;
	v.kind = PV_COLUMN;
	v.nfields = 2;
	v.fields = ARENA_NEW_ARRAY(a, const char *, 2);
	v.fields[0] = alias != NULL ? alias : rv->relname;
	v.fields[1] = col;
	return v;
}

/*
 * add_join_quals records the ON conditions of joins anywhere in a FROM item
 * (and JOIN ... USING between two plain relations as `l.col = r.col`):
 * inner joins' into equal, outer joins' into outer_equal.
 */
static void
add_join_quals(Walk *w, const PgQuery__Node *n)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
		return;
	const PgQuery__JoinExpr *j = n->join_expr;
	bool outer = j->jointype != PG_QUERY__JOIN_TYPE__JOIN_INNER;
	add_conjuncts_to(w, j->quals, outer);
	for (size_t i = 0; i < j->n_using_clause; i++) {
		const char *col = node_string(j->using_clause[i]);
		ParseValue l = rangevar_column(w->a, j->larg, col);
		ParseValue r = rangevar_column(w->a, j->rarg, col);
		if (col != NULL && l.kind == PV_COLUMN && r.kind == PV_COLUMN)
			add_equality(w, l, r, outer);
	}
	add_join_quals(w, j->larg);
	add_join_quals(w, j->rarg);
}

/* walk_fields visits every message-typed field of m */
static void
walk_fields(Walk *w, const ProtobufCMessage *m, const void *skip)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t k = 0; k < n; k++)
				walk_msg(w, arr[k]);
		} else {
			const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
			if (sub != NULL && sub != skip)
				walk_msg(w, sub);
		}
	}
}

static bool
is_aggregate_name(const char *name)
{
	static const char *const aggs[] = {"count",
	                                   "sum",
	                                   "avg",
	                                   "min",
	                                   "max",
	                                   "array_agg",
	                                   "string_agg",
	                                   "bool_and",
	                                   "bool_or",
	                                   "every",
	                                   "bit_and",
	                                   "bit_or",
	                                   "bit_xor",
	                                   "json_agg",
	                                   "jsonb_agg",
	                                   "json_object_agg",
	                                   "jsonb_object_agg",
	                                   "xmlagg",
	                                   "stddev",
	                                   "stddev_pop",
	                                   "stddev_samp",
	                                   "variance",
	                                   "var_pop",
	                                   "var_samp",
	                                   "corr",
	                                   "covar_pop",
	                                   "covar_samp",
	                                   "regr_avgx",
	                                   "regr_avgy",
	                                   "regr_count",
	                                   "regr_intercept",
	                                   "regr_r2",
	                                   "regr_slope",
	                                   "regr_sxx",
	                                   "regr_sxy",
	                                   "regr_syy",
	                                   "mode",
	                                   "percentile_cont",
	                                   "percentile_disc",
	                                   "range_agg",
	                                   "range_intersect_agg",
	                                   "any_value"};
	for (size_t i = 0; i < SG_ARRAY_LEN(aggs); i++)
		if (strcmp(name, aggs[i]) == 0)
			return true;
	return false;
}

static bool
is_gateway_func(const char *name)
{
	return name != NULL &&
	       (strcmp(name, "create_distributed_table") == 0 ||
	        strcmp(name, "create_reference_table") == 0 ||
	        strcmp(name, "recover_prepared_transactions") == 0 ||
	        strcmp(name, "shardgate_prepared_transactions") == 0 ||
	        strcmp(name, "shardgate_transactions") == 0 || strcmp(name, "shardgate_pools") == 0 ||
	        strcmp(name, "shardgate_plan_cache") == 0);
}

/*
 * note_window: a window definition of the current level: an inline OVER
 * (inherits: `OVER w`, or `OVER (w ...)`) or a WINDOW entry (inherits with a
 * base window name)
 */
static void
note_window(Walk *w, const PgQuery__WindowDef *wd, bool is_entry)
{
	ParseScope *s = &w->info->scopes[w->scope];
	bool inherits = (wd->refname != NULL && wd->refname[0] != '\0') ||
	                (!is_entry && wd->name != NULL && wd->name[0] != '\0');
	if (wd->n_partition_clause == 0) {
		if (!inherits)
			s->window_unpartitioned = true;
		return;
	}
	ParseWindow *nw = ARENA_NEW_ARRAY(w->a, ParseWindow, s->nwindows + 1);
	if (s->nwindows > 0)
		memcpy(nw, s->windows, sizeof(ParseWindow) * (size_t)s->nwindows);
	ParseWindow *win = &nw[s->nwindows];
	win->part = ARENA_NEW_ARRAY(w->a, ParseValue, wd->n_partition_clause);
	for (size_t i = 0; i < wd->n_partition_clause; i++) {
		ParseValue v = value_of(w->a, wd->partition_clause[i]);
		if (v.kind == PV_COLUMN)
			win->part[win->npart++] = v;
	}
	s->windows = nw;
	s->nwindows++;
}

static void
note_func_call(Walk *w, const PgQuery__FuncCall *fc)
{
	const char *name = last_name(fc->n_funcname, fc->funcname);
	if (is_gateway_func(name) && w->info->func.mentioned == NULL)
		w->info->func.mentioned = name;
	if (w->scope < 0)
		return;
	ParseScope *s = &w->info->scopes[w->scope];
	if (fc->over != NULL) {
		s->features |= PARSE_F_WINDOW;
		note_window(w, fc->over, false);
	} else if (fc->agg_star || fc->agg_distinct || fc->n_agg_order > 0 || fc->agg_filter != NULL ||
	           fc->agg_within_group || (name != NULL && is_aggregate_name(name)))
		s->features |= PARSE_F_AGGREGATE;
}

static void
walk_select(Walk *w, const PgQuery__SelectStmt *s)
{
	uint32_t f = 0;
	if (s->n_distinct_clause > 0)
		f |= PARSE_F_DISTINCT;
	if (s->n_group_clause > 0)
		f |= PARSE_F_GROUP_BY;
	if (s->having_clause != NULL)
		f |= PARSE_F_HAVING;
	if (s->n_window_clause > 0)
		f |= PARSE_F_WINDOW;
	if (s->n_sort_clause > 0)
		f |= PARSE_F_ORDER_BY;
	if (s->limit_count != NULL || s->limit_offset != NULL)
		f |= PARSE_F_LIMIT;
	if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
	    s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED)
		f |= PARSE_F_SETOP;
	if (s->with_clause != NULL)
		f |= PARSE_F_CTE;
	if (s->n_locking_clause > 0)
		f |= PARSE_F_LOCKING;
	int32_t saved = w->scope;
	w->scope = add_scope(w, f);
	w->info->scopes[w->scope].node = (void *)s;
	if (s->n_group_clause > 0) {
		ParseScope *sc = &w->info->scopes[w->scope];
		sc->group = ARENA_NEW_ARRAY(w->a, ParseValue, s->n_group_clause);
		for (size_t i = 0; i < s->n_group_clause; i++) {
			ParseValue v = value_of(w->a, s->group_clause[i]);
			if (v.kind == PV_COLUMN)
				sc->group[sc->ngroup++] = v;
		}
	}
	for (size_t i = 0; i < s->n_window_clause; i++)
		if (s->window_clause[i]->node_case == PG_QUERY__NODE__NODE_WINDOW_DEF)
			note_window(w, s->window_clause[i]->window_def, true);
	add_conjuncts(w, s->where_clause);
	for (size_t i = 0; i < s->n_from_clause; i++)
		add_join_quals(w, s->from_clause[i]);
	walk_fields(w, &s->base, NULL);
	w->scope = saved;
}

static void
walk_dml(Walk *w, const ProtobufCMessage *m, PgQuery__RangeVar *target, const PgQuery__Node *where,
         size_t nfrom, PgQuery__Node **from, uint32_t f)
{
	int32_t saved = w->scope;
	w->scope = add_scope(w, f);
	if (target != NULL)
		add_rel(w, target, true);
	add_conjuncts(w, where);
	for (size_t i = 0; i < nfrom; i++)
		add_join_quals(w, from[i]);
	walk_fields(w, m, target);
	w->scope = saved;
}

static void
walk_join(Walk *w, const PgQuery__JoinExpr *j)
{
	add_using_names(w, j);
	bool saved = w->outer_nullable;
	bool left_nullable = j->jointype == PG_QUERY__JOIN_TYPE__JOIN_RIGHT ||
	                     j->jointype == PG_QUERY__JOIN_TYPE__JOIN_FULL;
	bool right_nullable = j->jointype == PG_QUERY__JOIN_TYPE__JOIN_LEFT ||
	                      j->jointype == PG_QUERY__JOIN_TYPE__JOIN_FULL;
	w->outer_nullable = saved || left_nullable;
	if (j->larg != NULL)
		walk_msg(w, &j->larg->base);
	w->outer_nullable = saved || right_nullable;
	if (j->rarg != NULL)
		walk_msg(w, &j->rarg->base);
	w->outer_nullable = saved;
	if (j->quals != NULL)
		walk_msg(w, &j->quals->base);
}

static void
walk_msg(Walk *w, const ProtobufCMessage *m)
{
	if (m == NULL)
		return;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (d == &pg_query__range_var__descriptor) {
		add_rel(w, (PgQuery__RangeVar *)m, false);
	} else if (d == &pg_query__select_stmt__descriptor) {
		walk_select(w, (const PgQuery__SelectStmt *)m);
	} else if (d == &pg_query__insert_stmt__descriptor) {
		const PgQuery__InsertStmt *s = (const PgQuery__InsertStmt *)m;
		uint32_t f = (s->n_returning_list > 0 ? PARSE_F_RETURNING : 0) |
		             (s->on_conflict_clause != NULL ? PARSE_F_ON_CONFLICT : 0) |
		             (s->with_clause != NULL ? PARSE_F_CTE : 0);
		walk_dml(w, m, s->relation, NULL, 0, NULL, f);
	} else if (d == &pg_query__update_stmt__descriptor) {
		const PgQuery__UpdateStmt *s = (const PgQuery__UpdateStmt *)m;
		uint32_t f = (s->n_returning_list > 0 ? PARSE_F_RETURNING : 0) |
		             (s->with_clause != NULL ? PARSE_F_CTE : 0);
		walk_dml(w, m, s->relation, s->where_clause, s->n_from_clause, s->from_clause, f);
	} else if (d == &pg_query__delete_stmt__descriptor) {
		const PgQuery__DeleteStmt *s = (const PgQuery__DeleteStmt *)m;
		uint32_t f = (s->n_returning_list > 0 ? PARSE_F_RETURNING : 0) |
		             (s->with_clause != NULL ? PARSE_F_CTE : 0);
		walk_dml(w, m, s->relation, s->where_clause, s->n_using_clause, s->using_clause, f);
	} else if (d == &pg_query__merge_stmt__descriptor) {
		const PgQuery__MergeStmt *s = (const PgQuery__MergeStmt *)m;
		walk_dml(w, m, s->relation, NULL, 0, NULL, s->with_clause != NULL ? PARSE_F_CTE : 0);
	} else if (d == &pg_query__sub_link__descriptor) {
		bool saved = w->in_sublink;
		w->in_sublink = true;
		walk_fields(w, m, NULL);
		w->in_sublink = saved;
	} else if (d == &pg_query__common_table_expr__descriptor) {
		const PgQuery__CommonTableExpr *c = (const PgQuery__CommonTableExpr *)m;
		w->ctes = grow(w->a, w->ctes, w->nctes, &w->cap_ctes, sizeof(const char *));
		w->ctes[w->nctes++] = c->ctename;
		bool saved = w->in_cte;
		w->in_cte = true;
		walk_fields(w, m, NULL);
		w->in_cte = saved;
	} else if (d == &pg_query__range_subselect__descriptor ||
	           d == &pg_query__range_function__descriptor ||
	           d == &pg_query__range_table_func__descriptor) {
		w->info->has_from_func = true;
		walk_fields(w, m, NULL);
	} else if (d == &pg_query__column_ref__descriptor) {
		add_colref(w, (const PgQuery__ColumnRef *)m);
	} else if (d == &pg_query__join_expr__descriptor) {
		walk_join(w, (const PgQuery__JoinExpr *)m);
	} else if (d == &pg_query__func_call__descriptor) {
		note_func_call(w, (const PgQuery__FuncCall *)m);
		walk_fields(w, m, NULL);
	} else {
		walk_fields(w, m, NULL);
	}
}

/* ------------------------------------------------------- classification */

static const char *
object_type_name(PgQuery__ObjectType t)
{
	switch (t) {
	case PG_QUERY__OBJECT_TYPE__OBJECT_ACCESS_METHOD:
		return "ACCESS METHOD";
	case PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE:
		return "AGGREGATE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_CAST:
		return "CAST";
	case PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN:
	case PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT:
	case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
		return "TABLE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_COLLATION:
		return "COLLATION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_CONVERSION:
		return "CONVERSION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_DATABASE:
		return "DATABASE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN:
	case PG_QUERY__OBJECT_TYPE__OBJECT_DOMCONSTRAINT:
		return "DOMAIN";
	case PG_QUERY__OBJECT_TYPE__OBJECT_EVENT_TRIGGER:
		return "EVENT TRIGGER";
	case PG_QUERY__OBJECT_TYPE__OBJECT_EXTENSION:
		return "EXTENSION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_FDW:
		return "FOREIGN DATA WRAPPER";
	case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_SERVER:
		return "SERVER";
	case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE:
		return "FOREIGN TABLE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION:
		return "FUNCTION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX:
		return "INDEX";
	case PG_QUERY__OBJECT_TYPE__OBJECT_LANGUAGE:
		return "LANGUAGE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
		return "MATERIALIZED VIEW";
	case PG_QUERY__OBJECT_TYPE__OBJECT_OPCLASS:
		return "OPERATOR CLASS";
	case PG_QUERY__OBJECT_TYPE__OBJECT_OPERATOR:
		return "OPERATOR";
	case PG_QUERY__OBJECT_TYPE__OBJECT_OPFAMILY:
		return "OPERATOR FAMILY";
	case PG_QUERY__OBJECT_TYPE__OBJECT_POLICY:
		return "POLICY";
	case PG_QUERY__OBJECT_TYPE__OBJECT_PROCEDURE:
		return "PROCEDURE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_PUBLICATION:
		return "PUBLICATION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_ROLE:
		return "ROLE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_ROUTINE:
		return "ROUTINE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_RULE:
		return "RULE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA:
		return "SCHEMA";
	case PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE:
		return "SEQUENCE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_SUBSCRIPTION:
		return "SUBSCRIPTION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_STATISTIC_EXT:
		return "STATISTICS";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TABLESPACE:
		return "TABLESPACE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TRANSFORM:
		return "TRANSFORM";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER:
		return "TRIGGER";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TSCONFIGURATION:
		return "TEXT SEARCH CONFIGURATION";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TSDICTIONARY:
		return "TEXT SEARCH DICTIONARY";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TSPARSER:
		return "TEXT SEARCH PARSER";
	case PG_QUERY__OBJECT_TYPE__OBJECT_TSTEMPLATE:
		return "TEXT SEARCH TEMPLATE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_ATTRIBUTE:
	case PG_QUERY__OBJECT_TYPE__OBJECT_TYPE:
		return "TYPE";
	case PG_QUERY__OBJECT_TYPE__OBJECT_USER_MAPPING:
		return "USER MAPPING";
	case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
		return "VIEW";
	default:
		return "OBJECT";
	}
}

static bool
is_temp(const PgQuery__RangeVar *rv)
{
	return rv != NULL && rv->relpersistence != NULL && rv->relpersistence[0] == 't';
}

static void
set_ddl(ParseInfo *pi, Arena *a, const char *verb, const char *object)
{
	pi->kind = PARSE_DDL;
	pi->tag = object == NULL ? verb : arena_printf(a, "%s %s", verb, object);
}

/* mark_target flags the relation recorded for rv as a target of the statement */
static void
mark_target(ParseInfo *pi, const PgQuery__RangeVar *rv)
{
	for (int32_t i = 0; i < pi->nrels; i++)
		if (pi->rels[i].node == rv)
			pi->rels[i].is_target = true;
}

static bool
has_defelem(size_t n, PgQuery__Node **opts, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(opts[i]->def_elem->defname, name) == 0)
			return true;
	return false;
}

static ParseName
name_of_list(const PgQuery__Node *n)
{
	ParseName pn = {0};
	if (n == NULL)
		return pn;
	if (n->node_case == PG_QUERY__NODE__NODE_STRING) {
		pn.name = n->string->sval;
		return pn;
	}
	if (n->node_case != PG_QUERY__NODE__NODE_LIST)
		return pn;
	size_t k = n->list->n_items;
	if (k >= 1)
		pn.name = node_string(n->list->items[k - 1]);
	if (k >= 2)
		pn.schema = node_string(n->list->items[k - 2]);
	return pn;
}

void
parse_visit_nodes(ProtobufCMessage *m, NodeVisitFn fn, void *arg)
{
	if (m == NULL)
		return;
	if (m->descriptor == &pg_query__node__descriptor && fn((PgQuery__Node *)m, arg))
		return;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *base = (char *)m;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
			for (size_t k = 0; k < n; k++)
				parse_visit_nodes(arr[k], fn, arg);
		} else {
			parse_visit_nodes(*(ProtobufCMessage **)(base + f->offset), fn, arg);
		}
	}
}

typedef struct ParamCollect {
	int32_t *out;
	int32_t *n;
	int32_t cap;
} ParamCollect;

static bool
param_visit(PgQuery__Node *node, void *arg)
{
	if (node->node_case != PG_QUERY__NODE__NODE_PARAM_REF)
		return false;
	ParamCollect *c = arg;
	if (*c->n < c->cap)
		c->out[(*c->n)++] = node->param_ref->number;
	return true;
}

/* collect_params appends the numbers of every ParamRef under m to out[*n] (capacity cap) */
static void
collect_params(const ProtobufCMessage *m, int32_t *out, int32_t *n, int32_t cap)
{
	ParamCollect c = {out, n, cap};
	parse_visit_nodes((ProtobufCMessage *)m, param_visit, &c);
}

/* inspect_on_conflict: the columns ON CONFLICT DO UPDATE assigns (set_cols) */
static void
inspect_on_conflict(Arena *a, ParseInfo *pi, const PgQuery__InsertStmt *s)
{
	if (s->on_conflict_clause != NULL) {
		const PgQuery__OnConflictClause *oc = s->on_conflict_clause;
		pi->nset_cols = (int32_t)oc->n_target_list;
		pi->set_cols = ARENA_NEW_ARRAY(a, const char *, oc->n_target_list + 1);
		for (size_t i = 0; i < oc->n_target_list; i++)
			pi->set_cols[i] = oc->target_list[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET
			                      ? oc->target_list[i]->res_target->name
			                      : "";
	}
}

static void
inspect_insert(Arena *a, ParseInfo *pi, const PgQuery__InsertStmt *s)
{
	inspect_on_conflict(a, pi, s);
	pi->insert_ncols = (int32_t)s->n_cols;
	pi->insert_cols = ARENA_NEW_ARRAY(a, const char *, s->n_cols + 1);
	for (size_t i = 0; i < s->n_cols; i++)
		pi->insert_cols[i] = s->cols[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET
		                         ? s->cols[i]->res_target->name
		                         : "";
	pi->insert_override =
	    s->override == PG_QUERY__OVERRIDING_KIND__OVERRIDING_SYSTEM_VALUE ? PARSE_OVERRIDING_SYSTEM
	    : s->override == PG_QUERY__OVERRIDING_KIND__OVERRIDING_USER_VALUE ? PARSE_OVERRIDING_USER
	                                                                      : PARSE_OVERRIDING_NONE;
	const PgQuery__Node *sel = s->select_stmt;
	if (sel == NULL) {
		/* one row of no items, into which the router may fill the distribution column */
		pi->insert_default_values = true;
		pi->insert_nrows = 1;
		pi->insert_row_len = ARENA_NEW_ARRAY(a, int32_t, 1);
		pi->insert_rows = ARENA_NEW_ARRAY(a, ParseValue *, 1);
		pi->insert_rows[0] = ARENA_NEW_ARRAY(a, ParseValue, 1);
		pi->insert_row_nparams = ARENA_NEW_ARRAY(a, int32_t, 1);
		pi->insert_row_params = ARENA_NEW_ARRAY(a, int32_t *, 1);
		pi->insert_row_params[0] = ARENA_NEW_ARRAY(a, int32_t, 1);
		return;
	}
	const PgQuery__SelectStmt *ss =
	    sel->node_case == PG_QUERY__NODE__NODE_SELECT_STMT ? sel->select_stmt : NULL;
	if (ss == NULL || ss->n_values_lists == 0 || ss->n_from_clause > 0 || ss->n_target_list > 0 ||
	    ss->with_clause != NULL) {
		pi->insert_has_select = true;
		pi->insert_select_scope = -1;
		if (ss == NULL || ss->n_values_lists > 0 || ss->with_clause != NULL ||
		    (ss->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
		     ss->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED))
			return;
		for (int32_t k = 0; k < pi->nscopes; k++)
			if (pi->scopes[k].node == ss)
				pi->insert_select_scope = k;
		pi->insert_select_n = (int32_t)ss->n_target_list;
		if (ss->n_target_list == 1 &&
		    ss->target_list[0]->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
			const PgQuery__Node *v = ss->target_list[0]->res_target->val;
			pi->insert_select_star =
			    v != NULL && v->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
			    v->column_ref->n_fields == 1 &&
			    v->column_ref->fields[0]->node_case == PG_QUERY__NODE__NODE_A_STAR;
		}
		pi->insert_select_values = ARENA_NEW_ARRAY(a, ParseValue, ss->n_target_list + 1);
		for (size_t i = 0; i < ss->n_target_list; i++) {
			const PgQuery__Node *t = ss->target_list[i];
			pi->insert_select_values[i] = t->node_case == PG_QUERY__NODE__NODE_RES_TARGET
			                                  ? value_of(a, t->res_target->val)
			                                  : (ParseValue){.kind = PV_OTHER, .location = -1};
		}
		return;
	}
	pi->insert_nrows = (int32_t)ss->n_values_lists;
	pi->insert_row_len = ARENA_NEW_ARRAY(a, int32_t, ss->n_values_lists);
	pi->insert_rows = ARENA_NEW_ARRAY(a, ParseValue *, ss->n_values_lists);
	pi->insert_row_nparams = ARENA_NEW_ARRAY(a, int32_t, ss->n_values_lists);
	pi->insert_row_params = ARENA_NEW_ARRAY(a, int32_t *, ss->n_values_lists);
	for (size_t r = 0; r < ss->n_values_lists; r++) {
		const PgQuery__Node *row = ss->values_lists[r];
		if (row->node_case != PG_QUERY__NODE__NODE_LIST)
			continue;
		size_t n = row->list->n_items;
		pi->insert_row_len[r] = (int32_t)n;
		pi->insert_rows[r] = ARENA_NEW_ARRAY(a, ParseValue, n + 1);
		for (size_t c = 0; c < n; c++)
			pi->insert_rows[r][c] = value_of(a, row->list->items[c]);
		enum { MAX_ROW_PARAMS = 1024 };
		int32_t *params = ARENA_NEW_ARRAY(a, int32_t, MAX_ROW_PARAMS);
		collect_params(&row->base, params, &pi->insert_row_nparams[r], MAX_ROW_PARAMS);
		pi->insert_row_params[r] = params;
	}
}

static void
inspect_func(Arena *a, ParseInfo *pi, const PgQuery__SelectStmt *s)
{
	if (s->n_target_list != 1 || s->n_from_clause > 0 || s->where_clause != NULL ||
	    s->n_group_clause > 0 || s->having_clause != NULL || s->n_distinct_clause > 0 ||
	    s->n_sort_clause > 0 || s->limit_count != NULL || s->limit_offset != NULL ||
	    s->with_clause != NULL || s->n_values_lists > 0 || s->n_locking_clause > 0 ||
	    s->into_clause != NULL || s->n_window_clause > 0 ||
	    (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
	     s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED))
		return;
	const PgQuery__Node *t = s->target_list[0];
	if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET || t->res_target->val == NULL ||
	    t->res_target->val->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
		return;
	const PgQuery__FuncCall *fc = t->res_target->val->func_call;
	const char *name = last_name(fc->n_funcname, fc->funcname);
	if (!is_gateway_func(name) || fc->over != NULL || fc->agg_star || fc->agg_distinct ||
	    fc->n_agg_order > 0 || fc->agg_filter != NULL || fc->func_variadic)
		return;
	ParseFunc *f = &pi->func;
	f->name = name;
	f->result = str_or_null(t->res_target->name) != NULL ? t->res_target->name : name;
	f->nargs = (int32_t)fc->n_args;
	f->arg_names = ARENA_NEW_ARRAY(a, const char *, fc->n_args + 1);
	f->args = ARENA_NEW_ARRAY(a, ParseValue, fc->n_args + 1);
	for (size_t i = 0; i < fc->n_args; i++) {
		const PgQuery__Node *arg = fc->args[i];
		if (arg->node_case == PG_QUERY__NODE__NODE_NAMED_ARG_EXPR) {
			f->arg_names[i] = arg->named_arg_expr->name;
			f->args[i] = value_of(a, arg->named_arg_expr->arg);
		} else {
			f->args[i] = value_of(a, arg);
		}
	}
	f->is_simple = true;
}

static void
inspect_drop(ParseInfo *pi, Arena *a, const PgQuery__DropStmt *d)
{
	pi->is_drop = true;
	pi->drop_is_table = d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE;
	pi->drop_is_schema = d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA;
	pi->drop_cascade = d->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
	pi->ndrop = (int32_t)d->n_objects;
	pi->drop = ARENA_NEW_ARRAY(a, ParseName, d->n_objects + 1);
	for (size_t i = 0; i < d->n_objects; i++)
		pi->drop[i] = name_of_list(d->objects[i]);
	set_ddl(pi, a, "DROP", object_type_name(d->remove_type));
	pi->in_txn_forbidden = d->concurrent;
}

static void
inspect_alter_table(ParseInfo *pi, Arena *a, const PgQuery__AlterTableStmt *s)
{
	set_ddl(pi, a, "ALTER", object_type_name(s->objtype));
	mark_target(pi, s->relation);
	pi->nalter = (int32_t)s->n_cmds;
	pi->alter_kinds = ARENA_NEW_ARRAY(a, ParseAlterKind, s->n_cmds + 1);
	pi->alter_cols = ARENA_NEW_ARRAY(a, const char *, s->n_cmds + 1);
	for (size_t i = 0; i < s->n_cmds; i++) {
		if (s->cmds[i]->node_case != PG_QUERY__NODE__NODE_ALTER_TABLE_CMD)
			continue;
		const PgQuery__AlterTableCmd *c = s->cmds[i]->alter_table_cmd;
		pi->alter_cols[i] = str_or_null(c->name);
		if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType)
			pi->alter_kinds[i] = PARSE_ALTER_COLUMN_TYPE;
		else if (c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn ||
		         c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumnRecurse)
			pi->alter_kinds[i] = PARSE_ALTER_DROP_COLUMN;
	}
}

static TxnCommand
txn_command(PgQuery__TransactionStmtKind k)
{
	switch (k) {
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
		return TXN_BEGIN;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
		return TXN_COMMIT;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
		return TXN_ROLLBACK;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
		return TXN_SAVEPOINT;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
		return TXN_RELEASE;
	case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
		return TXN_ROLLBACK_TO;
	default:
		return TXN_PREPARE_UNSUPPORTED;
	}
}

/* lower_copy: s in lower case (ASCII), in a */
static const char *
lower_copy(Arena *a, const char *s)
{
	char *out = arena_strdup(a, s);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/*
 * inspect_set: SET / RESET. The grammar already maps SET TIME ZONE to
 * "timezone", SET NAMES to "client_encoding", SET SCHEMA to "search_path";
 * SET TRANSACTION becomes transaction control. SET LOCAL changes nothing
 * beyond the transaction: no SetKind. SET/RESET SESSION AUTHORIZATION and
 * SET SESSION CHARACTERISTICS are refused (set_refused).
 */
static void
inspect_set(ParseInfo *pi, Arena *a, const PgQuery__VariableSetStmt *v)
{
	const char *name = v->name != NULL ? v->name : "";
	bool is_reset = v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
	                v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL;
	pi->tag = is_reset ? "RESET" : "SET";
	if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI) {
		if (strcmp(name, "TRANSACTION") == 0) {
			pi->kind = PARSE_TXN;
			pi->txn_cmd = TXN_SET_TRANSACTION;
		} else if (strcmp(name, "SESSION CHARACTERISTICS") == 0 && v->n_args >= 1 &&
		           v->args[0]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM) {
			/* = SET default_transaction_<option>: a session setting every node must carry
			 * (its first option is read back; JDBC sends one at a time) */
			pi->set_kind = SET_VALUE;
			pi->set_name = arena_printf(a, "default_%s", v->args[0]->def_elem->defname);
		} else {
			pi->set_refused = "SET SESSION CHARACTERISTICS";
		}
		return;
	}
	if (strcmp(name, "session_authorization") == 0) {
		pi->set_refused = is_reset ? "RESET SESSION AUTHORIZATION" : "SET SESSION AUTHORIZATION";
		return;
	}
	if (v->is_local) {
		/* SET LOCAL: for every participant of the transaction, those that join later too */
		pi->kind = PARSE_TXN;
		pi->txn_cmd = TXN_SET_TRANSACTION;
		return;
	}
	switch (v->kind) {
	case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE:
	case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
	case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_CURRENT:
		pi->set_kind = SET_VALUE;
		pi->set_name = lower_copy(a, name);
		return;
	case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET:
		pi->set_kind = SET_RESET;
		pi->set_name = lower_copy(a, name);
		return;
	case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
		pi->set_kind = SET_RESET_ALL;
		return;
	default:
		return;
	}
}

/* defelem_is_true: an option's boolean value (no value = true, as PostgreSQL reads it) */
static bool
defelem_is_true(const PgQuery__DefElem *d)
{
	const PgQuery__Node *v = d->arg;
	if (v == NULL)
		return true;
	if (v->node_case == PG_QUERY__NODE__NODE_A_CONST) {
		const PgQuery__AConst *c = v->a_const;
		if (c->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL)
			return c->boolval->boolval;
		if (c->val_case == PG_QUERY__A__CONST__VAL_IVAL)
			return c->ival->ival != 0;
		if (c->val_case == PG_QUERY__A__CONST__VAL_SVAL)
			return strcmp(c->sval->sval, "false") != 0 && strcmp(c->sval->sval, "off") != 0;
		return true;
	}
	const char *sv = node_string(v);
	return sv == NULL || (strcmp(sv, "false") != 0 && strcmp(sv, "off") != 0);
}

/* builtin_type_oid: the oid of a built-in type named as in a TypeName (last name), 0 if unknown */
static uint32_t
builtin_type_oid(const PgQuery__TypeName *t)
{
	static const struct {
		const char *name;
		uint32_t oid;
	} types[] = {{"bool", 16},       {"bytea", 17},    {"char", 18},        {"name", 19},
	             {"int8", 20},       {"int2", 21},     {"int4", 23},        {"text", 25},
	             {"oid", 26},        {"json", 114},    {"xml", 142},        {"float4", 700},
	             {"float8", 701},    {"money", 790},   {"bpchar", 1042},    {"varchar", 1043},
	             {"date", 1082},     {"time", 1083},   {"timestamp", 1114}, {"timestamptz", 1184},
	             {"interval", 1186}, {"timetz", 1266}, {"bit", 1560},       {"varbit", 1562},
	             {"numeric", 1700},  {"uuid", 2950},   {"jsonb", 3802}};
	if (t == NULL || t->n_array_bounds > 0 || t->setof || t->pct_type)
		return 0;
	const char *name = last_name(t->n_names, t->names);
	if (name == NULL)
		return 0;
	if (t->n_names > 2 || (t->n_names == 2 && strcmp(node_string(t->names[0]), "pg_catalog") != 0))
		return 0;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0)
			return types[i].oid;
	return 0;
}

static void
inspect_prepare(ParseInfo *pi, Arena *a, const PgQuery__PrepareStmt *p)
{
	pi->tag = "PREPARE";
	pi->sqlprep = 'P';
	pi->prep_name = p->name;
	pi->prep_query = p->query;
	pi->prep_ntypes = (int32_t)p->n_argtypes;
	pi->prep_types = ARENA_NEW_ARRAY(a, uint32_t, p->n_argtypes + 1);
	for (size_t i = 0; i < p->n_argtypes; i++) {
		const PgQuery__Node *n = p->argtypes[i];
		pi->prep_types[i] =
		    n->node_case == PG_QUERY__NODE__NODE_TYPE_NAME ? builtin_type_oid(n->type_name) : 0;
	}
}

static void
inspect_explain(ParseInfo *pi, Arena *a, const PgQuery__ExplainStmt *e)
{
	static const char *const known[] = {"analyze", "verbose", "costs",  "settings",
	                                    "buffers", "wal",     "timing", "summary"};
	pi->explain_query = e->query;
	pi->explain_timing = true;
	pi->explain_summary = true;
	const char *opts = NULL;
	for (size_t i = 0; i < e->n_options; i++) {
		if (e->options[i]->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
			continue;
		const PgQuery__DefElem *d = e->options[i]->def_elem;
		if (strcmp(d->defname, "format") == 0) {
			const char *f = node_string(d->arg);
			if (f == NULL && d->arg != NULL && d->arg->node_case == PG_QUERY__NODE__NODE_A_CONST &&
			    d->arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL)
				f = d->arg->a_const->sval->sval;
			if (f != NULL && strcmp(f, "text") != 0)
				pi->explain_format = f;
			continue;
		}
		bool is_known = false;
		for (size_t k = 0; k < SG_ARRAY_LEN(known); k++)
			is_known = is_known || strcmp(d->defname, known[k]) == 0;
		if (!is_known) {
			if (pi->explain_bad_option == NULL)
				pi->explain_bad_option = d->defname;
			continue;
		}
		bool on = defelem_is_true(d);
		if (strcmp(d->defname, "analyze") == 0)
			pi->explain_analyze = on;
		else if (strcmp(d->defname, "timing") == 0)
			pi->explain_timing = on, pi->explain_timing_set = true;
		else if (strcmp(d->defname, "wal") == 0)
			pi->explain_wal = on;
		else if (strcmp(d->defname, "summary") == 0)
			pi->explain_summary = on;
		const char *o = arena_printf(a, "%s %s", d->defname, on ? "true" : "false");
		opts = opts == NULL ? o : arena_printf(a, "%s, %s", opts, o);
	}
	pi->explain_options = opts;
}

ParsedStmt *
parse_sub_stmt(Arena *a, const ParsedStmt *stmt, void *node)
{
	PgQuery__RawStmt *raw = ARENA_NEW(a, PgQuery__RawStmt);
	pg_query__raw_stmt__init(raw);
	raw->stmt = node;
	ParsedStmt *ps = ARENA_NEW(a, ParsedStmt);
	ps->raw = raw;
	ps->version = stmt->version;
	return ps;
}

/* PostgreSQL's CURSOR_OPT_HOLD (parsenodes.h): DECLARE ... WITH HOLD */
#define PARSE_CURSOR_OPT_HOLD 0x0020

/* inspect_copy: COPY ... TO: destination, column list, query */
static void
inspect_copy(ParseInfo *pi, Arena *a, const PgQuery__CopyStmt *cs)
{
	if (cs->is_from)
		return;
	pi->is_copy_to = true;
	pi->copy_to_stdout = !cs->is_program && (cs->filename == NULL || cs->filename[0] == '\0');
	pi->copy_has_query = cs->query != NULL;
	pi->wrapped_query = cs->query;
	for (size_t i = 0; i < cs->n_options; i++)
		if (cs->options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(cs->options[i]->def_elem->defname, "format") == 0) {
			const char *f = node_string(cs->options[i]->def_elem->arg);
			pi->copy_format = f != NULL ? f : "";
		}
	if (cs->n_attlist == 0)
		return;
	pi->copy_cols = ARENA_NEW_ARRAY(a, const char *, cs->n_attlist);
	for (size_t i = 0; i < cs->n_attlist; i++) {
		const char *c = node_string(cs->attlist[i]);
		pi->copy_cols[pi->copy_ncols++] = c != NULL ? c : "";
	}
}

static void
restricted(ParseInfo *pi, const char *construct)
{
	pi->kind = PARSE_RESTRICTED;
	pi->construct = construct;
	pi->tag = construct;
}

/* classify sets kind and tag from the top-level node (relations already walked) */
static void
classify(ParseInfo *pi, Arena *a, const PgQuery__Node *n)
{
	pi->kind = PARSE_UTILITY;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_SELECT_STMT:
		pi->kind = PARSE_SELECT;
		pi->tag = "SELECT";
		if (n->select_stmt->into_clause != NULL) {
			pi->kind = is_temp(n->select_stmt->into_clause->rel) ? PARSE_DDL_LOCAL : PARSE_DDL;
			pi->has_query_body = true;
		} else {
			inspect_func(a, pi, n->select_stmt);
		}
		break;
	case PG_QUERY__NODE__NODE_INSERT_STMT:
		pi->kind = PARSE_INSERT;
		pi->tag = "INSERT";
		inspect_insert(a, pi, n->insert_stmt);
		break;
	case PG_QUERY__NODE__NODE_UPDATE_STMT: {
		const PgQuery__UpdateStmt *u = n->update_stmt;
		pi->kind = PARSE_UPDATE;
		pi->tag = "UPDATE";
		pi->nset_cols = (int32_t)u->n_target_list;
		pi->set_cols = ARENA_NEW_ARRAY(a, const char *, u->n_target_list + 1);
		for (size_t i = 0; i < u->n_target_list; i++)
			pi->set_cols[i] = u->target_list[i]->node_case == PG_QUERY__NODE__NODE_RES_TARGET
			                      ? u->target_list[i]->res_target->name
			                      : "";
		break;
	}
	case PG_QUERY__NODE__NODE_DELETE_STMT:
		pi->kind = PARSE_DELETE;
		pi->tag = "DELETE";
		break;
	case PG_QUERY__NODE__NODE_MERGE_STMT:
		pi->kind = PARSE_MERGE;
		pi->tag = "MERGE";
		break;
	case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
		pi->kind = PARSE_TXN;
		pi->txn_cmd = txn_command(n->transaction_stmt->kind);
		break;
	case PG_QUERY__NODE__NODE_CREATE_STMT:
		set_ddl(pi, a, "CREATE TABLE", NULL);
		if (is_temp(n->create_stmt->relation))
			pi->kind = PARSE_DDL_LOCAL;
		break;
	case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
		const PgQuery__CreateTableAsStmt *c = n->create_table_as_stmt;
		if (c->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW)
			set_ddl(pi, a, "CREATE MATERIALIZED VIEW", NULL);
		else
			set_ddl(pi, a, c->is_select_into ? "SELECT" : "CREATE TABLE AS", NULL);
		if (c->into != NULL && is_temp(c->into->rel))
			pi->kind = PARSE_DDL_LOCAL;
		pi->has_query_body = true;
		break;
	}
	case PG_QUERY__NODE__NODE_INDEX_STMT:
		set_ddl(pi, a, "CREATE INDEX", NULL);
		pi->in_txn_forbidden = n->index_stmt->concurrent;
		mark_target(pi, n->index_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
		inspect_alter_table(pi, a, n->alter_table_stmt);
		break;
	case PG_QUERY__NODE__NODE_DROP_STMT:
		inspect_drop(pi, a, n->drop_stmt);
		break;
	case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
		set_ddl(pi, a, "TRUNCATE TABLE", NULL);
		for (int32_t i = 0; i < pi->nrels; i++)
			pi->rels[i].is_target = true;
		break;
	case PG_QUERY__NODE__NODE_COMMENT_STMT:
		set_ddl(pi, a, "COMMENT", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
		set_ddl(pi, a, "CREATE SCHEMA", NULL);
		break;
	case PG_QUERY__NODE__NODE_DEFINE_STMT:
		set_ddl(pi, a, "CREATE", object_type_name(n->define_stmt->kind));
		break;
	case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
	case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
	case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
		set_ddl(pi, a, "CREATE TYPE", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
	case PG_QUERY__NODE__NODE_ALTER_TYPE_STMT:
		set_ddl(pi, a, "ALTER TYPE", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
		set_ddl(pi, a,
		        n->create_function_stmt->is_procedure ? "CREATE PROCEDURE" : "CREATE FUNCTION",
		        NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT:
		set_ddl(pi, a, "ALTER", object_type_name(n->alter_function_stmt->objtype));
		break;
	case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
		set_ddl(pi, a, "CREATE SEQUENCE", NULL);
		if (is_temp(n->create_seq_stmt->sequence))
			pi->kind = PARSE_DDL_LOCAL;
		break;
	case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
		set_ddl(pi, a, "ALTER SEQUENCE", NULL);
		break;
	case PG_QUERY__NODE__NODE_VIEW_STMT:
		set_ddl(pi, a, "CREATE VIEW", NULL);
		if (is_temp(n->view_stmt->view))
			pi->kind = PARSE_DDL_LOCAL;
		pi->has_query_body = true;
		break;
	case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
		set_ddl(pi, a, "CREATE EXTENSION", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT:
	case PG_QUERY__NODE__NODE_ALTER_EXTENSION_CONTENTS_STMT:
		set_ddl(pi, a, "ALTER EXTENSION", NULL);
		break;
	case PG_QUERY__NODE__NODE_RENAME_STMT: {
		const PgQuery__RenameStmt *r = n->rename_stmt;
		set_ddl(pi, a, "ALTER", object_type_name(r->rename_type));
		mark_target(pi, r->relation);
		if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
			pi->renames_relation = true;
		else if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN)
			pi->renamed_column = r->subname;
		break;
	}
	case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT: {
		const PgQuery__AlterObjectSchemaStmt *s = n->alter_object_schema_stmt;
		set_ddl(pi, a, "ALTER", object_type_name(s->object_type));
		mark_target(pi, s->relation);
		if (s->relation != NULL)
			pi->renames_relation = true;
		break;
	}
	case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
		set_ddl(pi, a, "ALTER", object_type_name(n->alter_owner_stmt->object_type));
		break;
	case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
		set_ddl(pi, a, "CREATE DOMAIN", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT:
		set_ddl(pi, a, "ALTER DOMAIN", NULL);
		break;
	case PG_QUERY__NODE__NODE_GRANT_STMT:
		set_ddl(pi, a, n->grant_stmt->is_grant ? "GRANT" : "REVOKE", NULL);
		for (int32_t i = 0; i < pi->nrels; i++)
			pi->rels[i].is_target = true;
		break;
	case PG_QUERY__NODE__NODE_GRANT_ROLE_STMT:
		set_ddl(pi, a, n->grant_role_stmt->is_grant ? "GRANT ROLE" : "REVOKE ROLE", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
		set_ddl(pi, a, "ALTER DEFAULT PRIVILEGES", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
		set_ddl(pi, a, "CREATE ROLE", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
	case PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT:
		set_ddl(pi, a, "ALTER ROLE", NULL);
		break;
	case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
		set_ddl(pi, a, "DROP ROLE", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
		set_ddl(pi, a, "CREATE TRIGGER", NULL);
		mark_target(pi, n->create_trig_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
		set_ddl(pi, a, "CREATE POLICY", NULL);
		mark_target(pi, n->create_policy_stmt->table);
		break;
	case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
		set_ddl(pi, a, "ALTER POLICY", NULL);
		mark_target(pi, n->alter_policy_stmt->table);
		break;
	case PG_QUERY__NODE__NODE_RULE_STMT:
		set_ddl(pi, a, "CREATE RULE", NULL);
		pi->has_query_body = true;
		break;
	case PG_QUERY__NODE__NODE_CREATE_CAST_STMT:
		set_ddl(pi, a, "CREATE CAST", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_CONVERSION_STMT:
		set_ddl(pi, a, "CREATE CONVERSION", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_OP_CLASS_STMT:
		set_ddl(pi, a, "CREATE OPERATOR CLASS", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_OP_FAMILY_STMT:
		set_ddl(pi, a, "CREATE OPERATOR FAMILY", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_OP_FAMILY_STMT:
		set_ddl(pi, a, "ALTER OPERATOR FAMILY", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_OPERATOR_STMT:
		set_ddl(pi, a, "ALTER OPERATOR", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_STATS_STMT:
		set_ddl(pi, a, "CREATE STATISTICS", NULL);
		break;
	case PG_QUERY__NODE__NODE_ALTER_STATS_STMT:
		set_ddl(pi, a, "ALTER STATISTICS", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_PLANG_STMT:
		set_ddl(pi, a, "CREATE LANGUAGE", NULL);
		break;
	case PG_QUERY__NODE__NODE_CREATE_FOREIGN_TABLE_STMT:
		set_ddl(pi, a, "CREATE FOREIGN TABLE", NULL);
		break;
	case PG_QUERY__NODE__NODE_DROP_OWNED_STMT:
		set_ddl(pi, a, "DROP OWNED", NULL);
		break;
	case PG_QUERY__NODE__NODE_REASSIGN_OWNED_STMT:
		set_ddl(pi, a, "REASSIGN OWNED", NULL);
		break;
	case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
		set_ddl(pi, a, "REFRESH MATERIALIZED VIEW", NULL);
		pi->in_txn_forbidden = n->refresh_mat_view_stmt->concurrent;
		break;
	case PG_QUERY__NODE__NODE_CREATEDB_STMT:
		set_ddl(pi, a, "CREATE DATABASE", NULL);
		pi->in_txn_forbidden = true;
		break;
	case PG_QUERY__NODE__NODE_DROPDB_STMT:
		set_ddl(pi, a, "DROP DATABASE", NULL);
		pi->in_txn_forbidden = true;
		break;
	case PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT:
	case PG_QUERY__NODE__NODE_ALTER_DATABASE_SET_STMT:
		set_ddl(pi, a, "ALTER DATABASE", NULL);
		break;
	case PG_QUERY__NODE__NODE_VACUUM_STMT: {
		const PgQuery__VacuumStmt *v = n->vacuum_stmt;
		set_ddl(pi, a, v->is_vacuumcmd ? "VACUUM" : "ANALYZE", NULL);
		pi->in_txn_forbidden = v->is_vacuumcmd;
		for (int32_t i = 0; i < pi->nrels; i++)
			pi->rels[i].is_target = true;
		break;
	}
	case PG_QUERY__NODE__NODE_REINDEX_STMT:
		set_ddl(pi, a, "REINDEX", NULL);
		pi->in_txn_forbidden =
		    has_defelem(n->reindex_stmt->n_params, n->reindex_stmt->params, "concurrently") ||
		    n->reindex_stmt->relation == NULL;
		mark_target(pi, n->reindex_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_CLUSTER_STMT:
		set_ddl(pi, a, "CLUSTER", NULL);
		mark_target(pi, n->cluster_stmt->relation);
		break;
	case PG_QUERY__NODE__NODE_SEC_LABEL_STMT:
		set_ddl(pi, a, "SECURITY LABEL", NULL);
		break;
	case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
		restricted(pi, "EXPLAIN");
		inspect_explain(pi, a, n->explain_stmt);
		break;
	case PG_QUERY__NODE__NODE_COPY_STMT:
		restricted(pi, "COPY");
		inspect_copy(pi, a, n->copy_stmt);
		break;
	case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
		restricted(pi, "DECLARE CURSOR");
		pi->is_declare = true;
		pi->cursor_name = n->declare_cursor_stmt->portalname;
		pi->cursor_hold = (n->declare_cursor_stmt->options & PARSE_CURSOR_OPT_HOLD) != 0;
		pi->wrapped_query = n->declare_cursor_stmt->query;
		break;
	case PG_QUERY__NODE__NODE_PREPARE_STMT:
		inspect_prepare(pi, a, n->prepare_stmt);
		break;
	case PG_QUERY__NODE__NODE_EXECUTE_STMT:
		pi->tag = "EXECUTE";
		pi->sqlprep = 'E';
		pi->prep_name = n->execute_stmt->name;
		pi->exec_nargs = (int32_t)n->execute_stmt->n_params;
		pi->exec_args = ARENA_NEW_ARRAY(a, ParseValue, n->execute_stmt->n_params + 1);
		for (size_t i = 0; i < n->execute_stmt->n_params; i++)
			pi->exec_args[i] = value_of(a, n->execute_stmt->params[i]);
		break;
	case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
		pi->sqlprep = 'D';
		pi->prep_name = str_or_null(n->deallocate_stmt->name);
		pi->tag = pi->prep_name != NULL ? "DEALLOCATE" : "DEALLOCATE ALL";
		break;
	case PG_QUERY__NODE__NODE_LOCK_STMT:
		restricted(pi, "LOCK TABLE");
		break;
	case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
		pi->tag = "ALTER SYSTEM";
		pi->in_txn_forbidden = true;
		break;
	case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
		inspect_set(pi, a, n->variable_set_stmt);
		break;
	case PG_QUERY__NODE__NODE_DISCARD_STMT:
		switch (n->discard_stmt->target) {
		case PG_QUERY__DISCARD_MODE__DISCARD_ALL:
			pi->tag = "DISCARD ALL";
			pi->set_kind = SET_DISCARD_ALL;
			break;
		case PG_QUERY__DISCARD_MODE__DISCARD_PLANS:
			pi->tag = "DISCARD PLANS";
			break;
		case PG_QUERY__DISCARD_MODE__DISCARD_SEQUENCES:
			pi->tag = "DISCARD SEQUENCES";
			break;
		default:
			pi->tag = "DISCARD TEMP";
			break;
		}
		break;
	case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
		pi->tag = "SHOW";
		break;
	default:
		pi->tag = "";
		break;
	}
}

void
parse_inspect(Arena *a, const ParsedStmt *stmt, ParseInfo *info)
{
	memset(info, 0, sizeof(*info));
	Walk w = {.a = a, .info = info, .scope = -1};
	const PgQuery__Node *top = stmt->raw->stmt;
	if (top == NULL) {
		info->kind = PARSE_UTILITY;
		info->tag = "";
		return;
	}
	walk_msg(&w, &top->base);
	for (int32_t i = 0; i < info->nrels; i++) {
		ParseRel *r = &info->rels[i];
		if (r->schema != NULL)
			continue;
		for (int32_t k = 0; k < w.nctes; k++)
			if (strcmp(w.ctes[k], r->name) == 0)
				r->is_cte_ref = true;
	}
	classify(info, a, top);
}

const char *
parse_ref_name(const ParseRel *r)
{
	return r->alias != NULL ? r->alias : r->name;
}
