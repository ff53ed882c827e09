/*
 * deparse.c: libpg_query wrapper, part two (writing SQL back).
 *
 * Fragments are produced from the statement's own tree, never by pasting
 * strings: a rename points a RangeVar at a shard schema (and, for DML, adds
 * an alias equal to the table name so qualified column references keep
 * resolving), the tree is packed with protobuf-c and handed to
 * pg_query_deparse_protobuf(). Every function restores the tree before it
 * returns (the ParsedStmt is shared, e.g. by a prepared statement), which is
 * why a `const ParsedStmt *` is modified temporarily: single-threaded use
 * per statement is the invariant that makes this safe.
 *
 * UNION ALL fan-out: each branch is a deep copy of the renamed SELECT
 * (pack + unpack into the arena), combined into a left-deep set-operation
 * tree of SelectStmt nodes (op SETOP_UNION, all = true).
 */
#include "planner/deparse.h"

#include "common/buf.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>

#include "planner/parse_int.h"

typedef struct Saved {
	PgQuery__RangeVar *rv;
	char *schema;
	char *relname;
	PgQuery__Alias *alias;
} Saved;

static Saved *
apply_renames(Arena *a, const ParseInfo *info, const DeparseRename *renames, int32_t n)
{
	Saved *saved = ARENA_NEW_ARRAY(a, Saved, n + 1);
	for (int32_t i = 0; i < n; i++) {
		SG_ASSERT(renames[i].rel >= 0 && renames[i].rel < info->nrels);
		PgQuery__RangeVar *rv = info->rels[renames[i].rel].node;
		saved[i] = (Saved){rv, rv->schemaname, rv->relname, rv->alias};
		rv->schemaname = (char *)renames[i].schema;
		if (renames[i].keep_alias && rv->alias == NULL) {
			PgQuery__Alias *al = ARENA_NEW(a, PgQuery__Alias);
			pg_query__alias__init(al);
			al->aliasname = rv->relname;
			rv->alias = al;
		}
		if (renames[i].relname != NULL)
			rv->relname = (char *)renames[i].relname;
	}
	return saved;
}

static void
restore_renames(Saved *saved, int32_t n)
{
	for (int32_t i = n - 1; i >= 0; i--) {
		saved[i].rv->schemaname = saved[i].schema;
		saved[i].rv->relname = saved[i].relname;
		saved[i].rv->alias = saved[i].alias;
	}
}

/* deparse_node: SQL text of one statement node, in a */
static bool
deparse_node(Arena *a, int32_t version, PgQuery__Node *node, char **out, SgError *err)
{
	PgQuery__RawStmt raw;
	pg_query__raw_stmt__init(&raw);
	raw.stmt = node;
	PgQuery__RawStmt *raws[1] = {&raw};
	PgQuery__ParseResult pr;
	pg_query__parse_result__init(&pr);
	pr.version = version;
	pr.n_stmts = 1;
	pr.stmts = raws;
	size_t len = pg_query__parse_result__get_packed_size(&pr);
	uint8_t *buf = arena_alloc(a, len + 1);
	pg_query__parse_result__pack(&pr, buf);
	PgQueryProtobuf pb = {.len = len, .data = (char *)buf};
	PgQueryDeparseResult res = pg_query_deparse_protobuf(pb);
	if (res.error != NULL) {
		sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "could not deparse a fragment: %s",
		             res.error->message);
		pg_query_free_deparse_result(res);
		return false;
	}
	*out = arena_strdup(a, res.query);
	pg_query_free_deparse_result(res);
	return true;
}

/*
 * copy_drop_text_format: libpg_query's deparser writes COPY's `FORMAT text`
 * as `FORMAT ` (which PostgreSQL refuses); text is COPY's default format, so
 * the option is left out of cs (the caller restores options / n_options)
 */
static void
copy_drop_text_format(Arena *a, PgQuery__CopyStmt *cs)
{
	PgQuery__Node **opts = ARENA_NEW_ARRAY(a, PgQuery__Node *, cs->n_options + 1);
	size_t n = 0;
	for (size_t i = 0; i < cs->n_options; i++) {
		PgQuery__Node *o = cs->options[i];
		if (o->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    strcmp(o->def_elem->defname, "format") == 0 && o->def_elem->arg != NULL &&
		    o->def_elem->arg->node_case == PG_QUERY__NODE__NODE_STRING &&
		    strcasecmp(o->def_elem->arg->string->sval, "text") == 0)
			continue;
		opts[n++] = o;
	}
	cs->options = opts;
	cs->n_options = n;
}

bool
deparse_tree(Arena *a, const ParsedStmt *stmt, char **out, SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	if (top == NULL || top->node_case != PG_QUERY__NODE__NODE_COPY_STMT)
		return deparse_node(a, stmt->version, top, out, err);
	PgQuery__CopyStmt *cs = top->copy_stmt;
	PgQuery__CopyStmt saved = *cs;
	copy_drop_text_format(a, cs);
	bool ok = deparse_node(a, stmt->version, top, out, err);
	*cs = saved;
	return ok;
}

#define DEPARSE_CACHE_MAX 128 /* per statement: a router plan has one per shard */

/* deparse_cache_key: the renames, encoded (in a) */
static char *
deparse_cache_key(Arena *a, const DeparseRename *renames, int32_t nrenames)
{
	Buf b;
	buf_init(&b);
	for (int32_t i = 0; i < nrenames; i++)
		buf_printf(&b, "%d|%s|%s|%d;", renames[i].rel, renames[i].schema ? renames[i].schema : "",
		           renames[i].relname ? renames[i].relname : "", renames[i].keep_alias);
	char *key = arena_strndup(a, b.data != NULL ? b.data : "", buf_avail(&b));
	buf_free(&b);
	return key;
}

/*
 * deparse_stmt: the statement with renames applied, deparsed. A statement
 * parsed once and planned many times (a prepared statement) keeps each
 * rename's SQL in its own arena, so a routed execution deparses only once
 * per shard: packing and deparsing the tree is most of a routed query's cost.
 */
static bool
deparse_stmt_cached(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                    const DeparseRename *renames, int32_t nrenames, bool use_cache, char **out,
                    SgError *err)
{
	ParsedStmt *ps = (ParsedStmt *)stmt;
	char *key = NULL;
	if (use_cache && ps->arena != NULL && ps->arena != a) {
		key = deparse_cache_key(a, renames, nrenames);
		for (DeparseCacheEntry *c = ps->cache; c != NULL; c = c->next)
			if (strcmp(c->key, key) == 0) {
				*out = c->sql;
				return true;
			}
	}
	Saved *saved = apply_renames(a, info, renames, nrenames);
	bool ok = deparse_node(a, stmt->version, stmt->raw->stmt, out, err);
	restore_renames(saved, nrenames);
	if (ok && key != NULL && ps->ncache < DEPARSE_CACHE_MAX) {
		DeparseCacheEntry *c = ARENA_NEW(ps->arena, DeparseCacheEntry);
		c->key = arena_strdup(ps->arena, key);
		c->sql = arena_strdup(ps->arena, *out);
		c->next = ps->cache;
		ps->cache = c;
		ps->ncache++;
	}
	return ok;
}

bool
deparse_stmt(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparseRename *renames,
             int32_t nrenames, char **out, SgError *err)
{
	return deparse_stmt_cached(a, stmt, info, renames, nrenames, true, out, err);
}

/* copy_select: a deep copy of s in a (pack + unpack) */
static PgQuery__SelectStmt *
copy_select(Arena *a, const PgQuery__SelectStmt *s)
{
	size_t len = pg_query__select_stmt__get_packed_size(s);
	uint8_t *buf = arena_alloc(a, len + 1);
	pg_query__select_stmt__pack(s, buf);
	ProtobufCAllocator pa;
	parse_pb_allocator(a, &pa);
	PgQuery__SelectStmt *copy = pg_query__select_stmt__unpack(&pa, len, buf);
	SG_ASSERT(copy != NULL); /* we packed it ourselves */
	return copy;
}

static void hoist_inlined(Arena *a, PgQuery__SelectStmt *top);

bool
deparse_union_all(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                  const DeparseRename *sets, int32_t nsets, int32_t per_set, char **out,
                  SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
	SG_ASSERT(nsets >= 1);
	if (nsets == 1)
		return deparse_stmt(a, stmt, info, sets, per_set, out, err);
	PgQuery__SelectStmt *acc = NULL;
	for (int32_t i = 0; i < nsets; i++) {
		Saved *saved = apply_renames(a, info, sets + (size_t)i * (size_t)per_set, per_set);
		PgQuery__SelectStmt *branch = copy_select(a, top->select_stmt);
		restore_renames(saved, per_set);
		if (acc == NULL) {
			acc = branch;
			continue;
		}
		PgQuery__SelectStmt *u = ARENA_NEW(a, PgQuery__SelectStmt);
		pg_query__select_stmt__init(u);
		u->op = PG_QUERY__SET_OPERATION__SETOP_UNION;
		u->all = true;
		u->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
		u->larg = acc;
		u->rarg = branch;
		acc = u;
	}
	hoist_inlined(a, acc);
	PgQuery__Node node;
	pg_query__node__init(&node);
	node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
	node.select_stmt = acc;
	return deparse_node(a, stmt->version, &node, out, err);
}

/* node_string_of: the value of a String node, NULL for anything else */
static const char *
node_string_of(const PgQuery__Node *n)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_STRING)
		return NULL;
	return n->string->sval;
}

static PgQuery__Node *
string_node(Arena *a, const char *s)
{
	PgQuery__String *str = ARENA_NEW(a, PgQuery__String);
	pg_query__string__init(str);
	str->sval = (char *)s;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_STRING;
	n->string = str;
	return n;
}

/* list_node: a List node of items[n] (not copied), in a */
static PgQuery__Node *
list_node(Arena *a, PgQuery__Node **items, size_t n)
{
	PgQuery__List *l = ARENA_NEW(a, PgQuery__List);
	pg_query__list__init(l);
	l->items = items;
	l->n_items = n;
	PgQuery__Node *ln = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(ln);
	ln->node_case = PG_QUERY__NODE__NODE_LIST;
	ln->list = l;
	return ln;
}

bool
deparse_drop_objects(Arena *a, const ParsedStmt *stmt, const ParseName *names, int32_t n,
                     char **out, SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_DROP_STMT);
	PgQuery__DropStmt *d = top->drop_stmt;
	PgQuery__Node **objs = ARENA_NEW_ARRAY(a, PgQuery__Node *, n + 1);
	for (int32_t i = 0; i < n; i++) {
		PgQuery__Node **parts = ARENA_NEW_ARRAY(a, PgQuery__Node *, 2);
		size_t k = 0;
		if (names[i].schema != NULL)
			parts[k++] = string_node(a, names[i].schema);
		parts[k++] = string_node(a, names[i].name);
		objs[i] = list_node(a, parts, k);
	}
	size_t old_n = d->n_objects;
	PgQuery__Node **old = d->objects;
	d->objects = objs;
	d->n_objects = (size_t)n;
	bool ok = deparse_node(a, stmt->version, top, out, err);
	d->objects = old;
	d->n_objects = old_n;
	return ok;
}

/* ------------------------------------------------------------ multi-stage */

/*
 * template_stmt: the top statement of a fixed SQL template, parsed and
 * unpacked into a (the caller patches names into it before deparsing).
 */
static PgQuery__Node *
template_stmt(Arena *a, const char *sql)
{
	PgQueryProtobufParseResult res = pg_query_parse_protobuf(sql);
	SG_ASSERT(res.error == NULL); /* our own fixed text */
	ProtobufCAllocator pa;
	parse_pb_allocator(a, &pa);
	PgQuery__ParseResult *tree = pg_query__parse_result__unpack(
	    &pa, res.parse_tree.len, (const uint8_t *)res.parse_tree.data);
	pg_query_free_protobuf_parse_result(res);
	SG_ASSERT(tree != NULL && tree->n_stmts == 1);
	return tree->stmts[0]->stmt;
}

static PgQuery__Node *
column_node(Arena *a, const char *qualifier, const char *name)
{
	PgQuery__ColumnRef *cr = ARENA_NEW(a, PgQuery__ColumnRef);
	pg_query__column_ref__init(cr);
	cr->fields = ARENA_NEW_ARRAY(a, PgQuery__Node *, 2);
	if (qualifier != NULL)
		cr->fields[cr->n_fields++] = string_node(a, qualifier);
	cr->fields[cr->n_fields++] = string_node(a, name);
	cr->location = -1;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
	n->column_ref = cr;
	return n;
}

static PgQuery__Node *
res_target_node(Arena *a, PgQuery__Node *val, const char *name)
{
	PgQuery__ResTarget *rt = ARENA_NEW(a, PgQuery__ResTarget);
	pg_query__res_target__init(rt);
	rt->val = val;
	rt->name = (char *)(name != NULL ? name : "");
	rt->location = -1;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_RES_TARGET;
	n->res_target = rt;
	return n;
}

/* and_node: the AND of args[n] (the single arg when n == 1, NULL when 0) */
static PgQuery__Node *
and_node(Arena *a, PgQuery__Node **args, size_t n)
{
	if (n == 0)
		return NULL;
	if (n == 1)
		return args[0];
	PgQuery__BoolExpr *b = ARENA_NEW(a, PgQuery__BoolExpr);
	pg_query__bool_expr__init(b);
	b->boolop = PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR;
	b->n_args = n;
	b->args = args;
	b->location = -1;
	PgQuery__Node *node = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(node);
	node->node_case = PG_QUERY__NODE__NODE_BOOL_EXPR;
	node->bool_expr = b;
	return node;
}

static PgQuery__RangeVar *
range_var(Arena *a, const char *schema, const char *name, const char *alias)
{
	PgQuery__RangeVar *rv = ARENA_NEW(a, PgQuery__RangeVar);
	pg_query__range_var__init(rv);
	rv->schemaname = (char *)(schema != NULL ? schema : "");
	rv->relname = (char *)name;
	rv->inh = true;
	rv->relpersistence = (char *)"p";
	rv->location = -1;
	if (alias != NULL) {
		PgQuery__Alias *al = ARENA_NEW(a, PgQuery__Alias);
		pg_query__alias__init(al);
		al->aliasname = (char *)alias;
		rv->alias = al;
	}
	return rv;
}

static PgQuery__Node *
range_var_node(Arena *a, PgQuery__RangeVar *rv)
{
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
	n->range_var = rv;
	return n;
}

static PgQuery__Node *
select_node(Arena *a, PgQuery__SelectStmt *s)
{
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
	n->select_stmt = s;
	return n;
}

static PgQuery__SelectStmt *
new_select(Arena *a)
{
	PgQuery__SelectStmt *s = ARENA_NEW(a, PgQuery__SelectStmt);
	pg_query__select_stmt__init(s);
	s->op = PG_QUERY__SET_OPERATION__SETOP_NONE;
	s->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
	return s;
}

/* union_all_node: a left-deep UNION ALL of branches[n] (n >= 1) */
static PgQuery__SelectStmt *
union_all(Arena *a, PgQuery__SelectStmt **branches, int32_t n)
{
	PgQuery__SelectStmt *acc = branches[0];
	for (int32_t i = 1; i < n; i++) {
		PgQuery__SelectStmt *u = new_select(a);
		u->op = PG_QUERY__SET_OPERATION__SETOP_UNION;
		u->all = true;
		u->larg = acc;
		u->rarg = branches[i];
		acc = u;
	}
	return acc;
}

/*
 * is_safe_func: functions a pushed-down filter may call: immutable or
 * stable built-ins whose answer does not depend on where they run (the
 * session's settings follow the session onto every node).
 */
static bool
is_safe_func(const char *name)
{
	static const char *const ok[] = {
	    "lower",      "upper",     "length",      "char_length",  "character_length",
	    "substr",     "substring", "abs",         "round",        "trunc",
	    "floor",      "ceil",      "ceiling",     "date_part",    "extract",
	    "date_trunc", "btrim",     "ltrim",       "rtrim",        "trim",
	    "position",   "strpos",    "left",        "right",        "concat",
	    "replace",    "mod",       "sign",        "sqrt",         "power",
	    "coalesce",   "nullif",    "starts_with", "octet_length", "md5",
	    "to_char",    "lpad",      "rpad",        "reverse",      "split_part"};
	for (size_t i = 0; i < SG_ARRAY_LEN(ok); i++)
		if (strcmp(name, ok[i]) == 0)
			return true;
	return false;
}

/* PushRel: a relation the fragment reads: its reference name and columns */
typedef struct PushRel {
	const char *refname;
	const char *const *cols;
	int32_t ncols;
	const uint32_t *types; /* [ncols] or NULL */
} PushRel;

/* PushCtx: the relations a fragment reads: `one`, plus `more` for a joined fragment */
typedef struct PushCtx {
	PushRel one;
	const PushRel *more;
	int32_t nmore;
} PushCtx;

static bool pushable(const PushCtx *c, const PgQuery__Node *n);

static PushCtx
push_ctx(const ParseInfo *info, const DeparsePull *p)
{
	const ParseRel *r = &info->rels[p->rel];
	PushCtx c = {.one = {parse_ref_name(r), p->table_cols, p->ntable_cols, p->table_col_types}};
	return c;
}

/*
 * push_col: the relation of c a column reference (`col` or `ref.col`) names,
 * and the column's index in it; NULL when none does
 */
static const PushRel *
push_col(const PushCtx *c, const PgQuery__ColumnRef *cr, int32_t *idx)
{
	const char *f0 = cr->n_fields >= 1 ? node_string_of(cr->fields[0]) : NULL;
	const char *f1 = cr->n_fields >= 2 ? node_string_of(cr->fields[1]) : NULL;
	if (f0 == NULL || cr->n_fields > 2 || (cr->n_fields == 2 && f1 == NULL))
		return NULL;
	const char *col = cr->n_fields == 2 ? f1 : f0;
	for (int32_t k = 0; k <= c->nmore; k++) {
		const PushRel *r = k == 0 ? &c->one : &c->more[k - 1];
		if (cr->n_fields == 2 && strcmp(f0, r->refname) != 0)
			continue;
		for (int32_t i = 0; i < r->ncols; i++)
			if (strcmp(r->cols[i], col) == 0) {
				*idx = i;
				return r;
			}
	}
	return NULL;
}

static bool
pushable_all(const PushCtx *c, PgQuery__Node *const *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!pushable(c, items[i]))
			return false;
	return true;
}

/*
 * pushable: may expression n run in the fragment that reads the relation
 * called c->refname? Only its own columns (`col` or `ref.col`), constants,
 * operators, boolean logic, casts, CASE/COALESCE and a few safe functions:
 * no sublinks, parameters, aggregates, window or volatile functions.
 */
static bool
pushable(const PushCtx *c, const PgQuery__Node *n)
{
	if (n == NULL)
		return true;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST:
		return true;
	case PG_QUERY__NODE__NODE_COLUMN_REF: {
		int32_t idx;
		return push_col(c, n->column_ref, &idx) != NULL;
	}
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return pushable(c, n->type_cast->arg);
	case PG_QUERY__NODE__NODE_A_EXPR: {
		const PgQuery__AExpr *e = n->a_expr;
		if (e->kind == PG_QUERY__A__EXPR__KIND__A_EXPR_KIND_UNDEFINED)
			return false;
		return pushable(c, e->lexpr) && pushable(c, e->rexpr);
	}
	case PG_QUERY__NODE__NODE_LIST:
		return pushable_all(c, n->list->items, n->list->n_items);
	case PG_QUERY__NODE__NODE_BOOL_EXPR:
		return pushable_all(c, n->bool_expr->args, n->bool_expr->n_args);
	case PG_QUERY__NODE__NODE_NULL_TEST:
		return pushable(c, n->null_test->arg);
	case PG_QUERY__NODE__NODE_BOOLEAN_TEST:
		return pushable(c, n->boolean_test->arg);
	case PG_QUERY__NODE__NODE_COALESCE_EXPR:
		return pushable_all(c, n->coalesce_expr->args, n->coalesce_expr->n_args);
	case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
		return pushable_all(c, n->min_max_expr->args, n->min_max_expr->n_args);
	case PG_QUERY__NODE__NODE_CASE_EXPR:
		return pushable(c, n->case_expr->arg) &&
		       pushable_all(c, n->case_expr->args, n->case_expr->n_args) &&
		       pushable(c, n->case_expr->defresult);
	case PG_QUERY__NODE__NODE_CASE_WHEN:
		return pushable(c, n->case_when->expr) && pushable(c, n->case_when->result);
	case PG_QUERY__NODE__NODE_FUNC_CALL: {
		const PgQuery__FuncCall *fc = n->func_call;
		if (fc->over != NULL || fc->agg_star || fc->agg_distinct || fc->n_agg_order > 0 ||
		    fc->agg_filter != NULL || fc->agg_within_group || fc->func_variadic)
			return false;
		const char *name =
		    fc->n_funcname > 0 ? node_string_of(fc->funcname[fc->n_funcname - 1]) : NULL;
		if (fc->n_funcname == 2) {
			const char *schema = node_string_of(fc->funcname[0]);
			if (schema == NULL || strcmp(schema, "pg_catalog") != 0)
				return false;
		} else if (fc->n_funcname != 1) {
			return false;
		}
		return name != NULL && is_safe_func(name) && pushable_all(c, fc->args, fc->n_args);
	}
	default:
		return false;
	}
}

typedef struct NodeVec {
	Arena *a;
	size_t n, cap;
	PgQuery__Node **items;
} NodeVec;

static void
vec_push(NodeVec *v, PgQuery__Node *n)
{
	if (v->n == v->cap) {
		size_t ncap = v->cap == 0 ? 8 : v->cap * 2;
		PgQuery__Node **bigger = ARENA_NEW_ARRAY(v->a, PgQuery__Node *, ncap);
		if (v->n > 0)
			memcpy(bigger, v->items, sizeof(*bigger) * v->n);
		v->items = bigger;
		v->cap = ncap;
	}
	v->items[v->n++] = n;
}

/* add_conjuncts_of: the AND-ed parts of n */
static void
add_conjuncts_of(NodeVec *v, PgQuery__Node *n)
{
	if (n == NULL)
		return;
	if (n->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
	    n->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
		for (size_t i = 0; i < n->bool_expr->n_args; i++)
			add_conjuncts_of(v, n->bool_expr->args[i]);
		return;
	}
	vec_push(v, n);
}

/*
 * path_quals: true when rv sits in FROM item n; then the ON conditions of
 * the inner joins on the way to it were added to v.
 */
static bool
path_quals(NodeVec *v, PgQuery__Node *n, const PgQuery__RangeVar *rv)
{
	if (n == NULL)
		return false;
	if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR)
		return n->range_var == rv;
	if (n->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR)
		return false;
	PgQuery__JoinExpr *j = n->join_expr;
	if (!path_quals(v, j->larg, rv) && !path_quals(v, j->rarg, rv))
		return false;
	if (j->jointype == PG_QUERY__JOIN_TYPE__JOIN_INNER)
		add_conjuncts_of(v, j->quals);
	return true;
}

/* pushed_filters: the conjuncts of the relation's level that may run in its fragment */
static void
pushed_filters(Arena *a, const ParseInfo *info, const DeparsePull *p, NodeVec *out)
{
	const ParseRel *r = &info->rels[p->rel];
	memset(out, 0, sizeof(*out));
	out->a = a;
	if (!p->push_filters || r->scope < 0 || r->outer_nullable || r->has_colnames)
		return;
	PgQuery__SelectStmt *s = info->scopes[r->scope].node;
	if (s == NULL)
		return;
	NodeVec all = {.a = a};
	add_conjuncts_of(&all, s->where_clause);
	for (size_t i = 0; i < s->n_from_clause; i++)
		if (path_quals(&all, s->from_clause[i], r->node))
			break;
	PushCtx c = push_ctx(info, p);
	for (size_t i = 0; i < all.n; i++)
		if (pushable(&c, all.items[i]))
			vec_push(out, all.items[i]);
	if (p->extra_where != NULL) {
		PgQuery__Node *w = template_stmt(a, arena_printf(a, "SELECT WHERE %s", p->extra_where));
		vec_push(out, w->select_stmt->where_clause);
	}
}

static PgQuery__Node *
int_const_node(Arena *a, int64_t v)
{
	PgQuery__Integer *i = ARENA_NEW(a, PgQuery__Integer);
	pg_query__integer__init(i);
	i->ival = (int32_t)v;
	PgQuery__AConst *c = ARENA_NEW(a, PgQuery__AConst);
	pg_query__a__const__init(c);
	c->val_case = PG_QUERY__A__CONST__VAL_IVAL;
	c->ival = i;
	c->location = -1;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_A_CONST;
	n->a_const = c;
	return n;
}

/* string_const: a new A_Const string node holding v (in a) */
static PgQuery__Node *
string_const(Arena *a, const char *v)
{
	PgQuery__String *str = ARENA_NEW(a, PgQuery__String);
	pg_query__string__init(str);
	str->sval = (char *)v;
	PgQuery__AConst *c = ARENA_NEW(a, PgQuery__AConst);
	pg_query__a__const__init(c);
	c->val_case = PG_QUERY__A__CONST__VAL_SVAL;
	c->sval = str;
	c->location = -1;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_A_CONST;
	n->a_const = c;
	return n;
}

/* default_values_select: `VALUES ()`, one row of no items, in a (for INSERT ... DEFAULT VALUES) */
static PgQuery__Node *
default_values_select(Arena *a)
{
	PgQuery__SelectStmt *s = new_select(a);
	s->values_lists = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
	s->values_lists[0] = list_node(a, NULL, 0);
	s->n_values_lists = 1;
	return select_node(a, s);
}

/* filled_row: a copy of VALUES row node `row` with v at pos (replacing or appending), in a */
static PgQuery__Node *
filled_row(Arena *a, const PgQuery__Node *row, int32_t pos, const char *v)
{
	SG_ASSERT(row->node_case == PG_QUERY__NODE__NODE_LIST);
	const PgQuery__List *l = row->list;
	size_t n = l->n_items > (size_t)pos ? l->n_items : (size_t)pos + 1;
	PgQuery__Node **items = ARENA_NEW_ARRAY(a, PgQuery__Node *, n + 1);
	if (l->n_items > 0) /* DEFAULT VALUES: an empty row */
		memcpy(items, l->items, sizeof(PgQuery__Node *) * l->n_items);
	items[pos] = string_const(a, v);
	return list_node(a, items, n);
}

bool
deparse_insert_rows(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                    const DeparseRename *renames, int32_t nrenames, const int32_t *rows,
                    int32_t nrows, const DeparseFill *fill, char **out, SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_INSERT_STMT);
	PgQuery__InsertStmt *ins = top->insert_stmt;
	PgQuery__Node *sel = ins->select_stmt;
	bool default_values = sel == NULL;
	if (default_values && fill == NULL) /* DEFAULT VALUES as written, the table renamed */
		return deparse_stmt_cached(a, stmt, info, renames, nrenames, nrows == 1, out, err);
	if (default_values) { /* DEFAULT VALUES: a VALUES list of one empty row, filled below */
		SG_ASSERT(fill != NULL && fill->add_column);
		ins->select_stmt = sel = default_values_select(a);
	}
	SG_ASSERT(sel->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
	PgQuery__SelectStmt *s = sel->select_stmt;
	size_t old_n = s->n_values_lists, old_ncols = ins->n_cols;
	PgQuery__Node **old = s->values_lists, **old_cols = ins->cols;
	PgQuery__Node **subset = ARENA_NEW_ARRAY(a, PgQuery__Node *, nrows + 1);
	/* the cache is keyed by the renames: only the whole statement, as written, may use it */
	bool whole = fill == NULL && (size_t)nrows == old_n;
	for (int32_t i = 0; i < nrows; i++) {
		SG_ASSERT(rows[i] >= 0 && (size_t)rows[i] < old_n);
		whole = whole && rows[i] == i;
		subset[i] = old[rows[i]];
		if (fill != NULL && fill->values[rows[i]] != NULL)
			subset[i] = filled_row(a, old[rows[i]], fill->pos, fill->values[rows[i]]);
	}
	if (fill != NULL && fill->add_column) {
		PgQuery__Node *col = res_target_node(a, NULL, fill->column);
		PgQuery__Node **cols = ARENA_NEW_ARRAY(a, PgQuery__Node *, old_ncols + 2);
		if (old_ncols > 0) /* none after DEFAULT VALUES */
			memcpy(cols, old_cols, sizeof(PgQuery__Node *) * old_ncols);
		cols[old_ncols] = col;
		ins->cols = cols;
		ins->n_cols = old_ncols + 1;
	}
	s->values_lists = subset;
	s->n_values_lists = (size_t)nrows;
	bool ok = deparse_stmt_cached(a, stmt, info, renames, nrenames, whole, out, err);
	s->values_lists = old;
	s->n_values_lists = old_n;
	ins->cols = old_cols;
	ins->n_cols = old_ncols;
	if (default_values)
		ins->select_stmt = NULL;
	return ok;
}

/* const_int: the value of an integer constant node (`5`, not `5.0` or `$1`) */
static bool
const_int(const PgQuery__Node *n, int64_t *v)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_A_CONST || n->a_const->isnull)
		return false;
	const PgQuery__AConst *c = n->a_const;
	if (c->val_case == PG_QUERY__A__CONST__VAL_IVAL) {
		*v = c->ival->ival;
		return true;
	}
	if (c->val_case == PG_QUERY__A__CONST__VAL__NOT_SET) {
		*v = 0; /* protobuf leaves integer 0 unset */
		return true;
	}
	return false;
}

/*
 * sort_key_expr: the expression a top-level ORDER BY item sorts by, as
 * PostgreSQL resolves it: an integer is an output position, a bare name
 * that is an output column's alias is that output's expression, anything
 * else an expression over the input. NULL when it cannot be resolved.
 */
static PgQuery__Node *
sort_key_expr(const PgQuery__SelectStmt *s, PgQuery__Node *key)
{
	int64_t pos;
	if (const_int(key, &pos)) {
		if (pos < 1 || (size_t)pos > s->n_target_list)
			return NULL;
		const PgQuery__Node *t = s->target_list[pos - 1];
		return t->node_case == PG_QUERY__NODE__NODE_RES_TARGET ? t->res_target->val : NULL;
	}
	if (key->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && key->column_ref->n_fields == 1) {
		const char *name = node_string_of(key->column_ref->fields[0]);
		if (name == NULL)
			return NULL;
		for (size_t i = 0; i < s->n_target_list; i++) {
			const PgQuery__Node *t = s->target_list[i];
			if (t->node_case == PG_QUERY__NODE__NODE_RES_TARGET && t->res_target->name != NULL &&
			    strcmp(t->res_target->name, name) == 0)
				return t->res_target->val;
		}
	}
	return key;
}

bool
deparse_topn_ok(const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p)
{
	const PgQuery__Node *top = stmt->raw->stmt;
	const ParseRel *r = &info->rels[p->rel];
	if (top->node_case != PG_QUERY__NODE__NODE_SELECT_STMT || r->scope != 0 || r->has_colnames ||
	    r->outer_nullable)
		return false;
	const PgQuery__SelectStmt *s = top->select_stmt;
	int64_t count, offset = 0;
	if (s->n_sort_clause == 0 || !const_int(s->limit_count, &count) || count < 0 ||
	    (s->limit_offset != NULL && (!const_int(s->limit_offset, &offset) || offset < 0)) ||
	    count + offset > INT32_MAX ||
	    (s->limit_option != PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT &&
	     s->limit_option != PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT))
		return false;
	if (s->n_from_clause != 1 || s->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_VAR ||
	    s->from_clause[0]->range_var != r->node)
		return false;
	PushCtx c = push_ctx(info, p);
	NodeVec all = {.a = NULL};
	Arena *scratch = arena_create(4096);
	all.a = scratch;
	add_conjuncts_of(&all, s->where_clause);
	bool ok = true;
	for (size_t i = 0; ok && i < all.n; i++)
		ok = pushable(&c, all.items[i]);
	arena_destroy(scratch);
	for (size_t i = 0; ok && i < s->n_sort_clause; i++) {
		const PgQuery__Node *sb = s->sort_clause[i];
		PgQuery__Node *e = sb->node_case == PG_QUERY__NODE__NODE_SORT_BY
		                       ? sort_key_expr(s, sb->sort_by->node)
		                       : NULL;
		ok = e != NULL && pushable(&c, e);
	}
	return ok;
}

/* add_topn: the statement's ORDER BY (keys resolved) and LIMIT count+offset onto fragment f */
static void
add_topn(Arena *a, const PgQuery__SelectStmt *s, PgQuery__SelectStmt *f)
{
	int64_t count = 0, offset = 0;
	(void)const_int(s->limit_count, &count);
	if (s->limit_offset != NULL)
		(void)const_int(s->limit_offset, &offset);
	f->n_sort_clause = s->n_sort_clause;
	f->sort_clause = ARENA_NEW_ARRAY(a, PgQuery__Node *, s->n_sort_clause);
	for (size_t i = 0; i < s->n_sort_clause; i++) {
		PgQuery__SortBy *sb = ARENA_NEW(a, PgQuery__SortBy);
		*sb = *s->sort_clause[i]->sort_by;
		sb->node = sort_key_expr(s, sb->node);
		PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
		*n = *s->sort_clause[i];
		n->sort_by = sb;
		f->sort_clause[i] = n;
	}
	f->limit_count = int_const_node(a, count + offset);
	f->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT;
}

/* ---- partial aggregates ---- */

typedef enum AggKind { AGG_NONE, AGG_COUNT, AGG_MINMAX, AGG_AVG, AGG_SUM, AGG_OTHER } AggKind;

/* pg_type oids of sum()'s argument types */
enum {
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_MONEY = 790,
	OID_INTERVAL = 1186,
	OID_NUMERIC = 1700
};

static bool
is_int_type(uint32_t t)
{
	return t == OID_INT2 || t == OID_INT4 || t == OID_INT8;
}

static int
int_rank(uint32_t t)
{
	return t == OID_INT2 ? 0 : t == OID_INT4 ? 1 : 2;
}

/* cast_type: the type a cast names, when it is one sum() takes (pg_catalog or unqualified) */
static uint32_t
cast_type(const PgQuery__TypeName *tn)
{
	static const struct {
		const char *name;
		uint32_t oid;
	} known[] = {{"int2", OID_INT2},       {"int4", OID_INT4},        {"int8", OID_INT8},
	             {"numeric", OID_NUMERIC}, {"float4", OID_FLOAT4},    {"float8", OID_FLOAT8},
	             {"money", OID_MONEY},     {"interval", OID_INTERVAL}};
	if (tn == NULL || tn->n_array_bounds > 0 || tn->setof || tn->pct_type || tn->n_names < 1 ||
	    tn->n_names > 2)
		return 0;
	if (tn->n_names == 2) {
		const char *schema = node_string_of(tn->names[0]);
		if (schema == NULL || strcmp(schema, "pg_catalog") != 0)
			return 0;
	}
	const char *name = node_string_of(tn->names[tn->n_names - 1]);
	for (size_t i = 0; name != NULL && i < SG_ARRAY_LEN(known); i++)
		if (strcmp(name, known[i].name) == 0)
			return known[i].oid;
	return 0;
}

/* arith_type: the result type of l <op> r (+ - * /) for the types it knows, else 0 */
static uint32_t
arith_type(uint32_t l, uint32_t r)
{
	if (l == 0 || r == 0)
		return 0;
	if (is_int_type(l) && is_int_type(r))
		return int_rank(l) >= int_rank(r) ? l : r; /* int24pl, int48mul... */
	if ((l == OID_NUMERIC || is_int_type(l)) && (r == OID_NUMERIC || is_int_type(r)))
		return OID_NUMERIC; /* the integer side is cast to numeric */
	if ((l == OID_FLOAT8 && r != OID_MONEY && r != OID_INTERVAL) ||
	    (r == OID_FLOAT8 && l != OID_MONEY && l != OID_INTERVAL))
		return OID_FLOAT8;
	if (l == OID_FLOAT4 && r == OID_FLOAT4)
		return OID_FLOAT4;
	return 0;
}

/*
 * deparse_sum_type: the type of a pushable expression, as PostgreSQL's
 * parser would resolve it, for what sum() takes: columns of known type,
 * integer and decimal constants, casts to those types, + - * / over them.
 * 0 when not sure (sum() is then not split).
 */
static uint32_t
deparse_sum_type(const PushCtx *c, const PgQuery__Node *n)
{
	if (n == NULL)
		return 0;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_COLUMN_REF: {
		int32_t idx;
		const PushRel *r = push_col(c, n->column_ref, &idx);
		return r != NULL && r->types != NULL ? r->types[idx] : 0;
	}
	case PG_QUERY__NODE__NODE_A_CONST: {
		const PgQuery__AConst *k = n->a_const;
		if (k->val_case == PG_QUERY__A__CONST__VAL_IVAL)
			return OID_INT4;
		if (k->val_case == PG_QUERY__A__CONST__VAL_FVAL && k->fval->fval != NULL &&
		    strpbrk(k->fval->fval, ".eE") != NULL)
			return OID_NUMERIC; /* 1.5, 1e3; a large integer is int8 or numeric: unknown */
		return 0;
	}
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return cast_type(n->type_cast->type_name);
	case PG_QUERY__NODE__NODE_A_EXPR: {
		const PgQuery__AExpr *e = n->a_expr;
		if (e->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || e->n_name != 1)
			return 0;
		const char *op = node_string_of(e->name[0]);
		if (op == NULL || strlen(op) != 1 || strchr("+-*/", op[0]) == NULL)
			return 0;
		if (e->lexpr == NULL) { /* unary minus / plus */
			uint32_t t = deparse_sum_type(c, e->rexpr);
			return op[0] == '-' || op[0] == '+' ? (t == OID_MONEY || t == OID_INTERVAL ? 0 : t) : 0;
		}
		uint32_t l = deparse_sum_type(c, e->lexpr), r = deparse_sum_type(c, e->rexpr);
		return arith_type(l, r);
	}
	default:
		return 0;
	}
}

static AggKind
agg_kind(const PgQuery__FuncCall *fc, const char **name)
{
	*name = NULL;
	if (fc->n_funcname == 2) {
		const char *schema = node_string_of(fc->funcname[0]);
		if (schema == NULL || strcmp(schema, "pg_catalog") != 0)
			return AGG_OTHER;
	} else if (fc->n_funcname != 1) {
		return AGG_OTHER;
	}
	const char *n = node_string_of(fc->funcname[fc->n_funcname - 1]);
	if (n == NULL)
		return AGG_OTHER;
	*name = n;
	if (strcmp(n, "count") == 0)
		return AGG_COUNT;
	if (strcmp(n, "min") == 0 || strcmp(n, "max") == 0 || strcmp(n, "bool_and") == 0 ||
	    strcmp(n, "bool_or") == 0 || strcmp(n, "every") == 0)
		return AGG_MINMAX;
	if (strcmp(n, "avg") == 0)
		return AGG_AVG;
	if (strcmp(n, "sum") == 0)
		return AGG_SUM;
	return is_safe_func(n) ? AGG_NONE : AGG_OTHER;
}

typedef struct AggCtx {
	Arena *a;
	PushCtx push;
	const char *ref;
	bool ok;
	bool replace;     /* rewrite aggregates into combinations (on a copy of the tree) */
	NodeVec partials; /* ResTargets of the fragment: sg_p1, sg_p2, ... */
} AggCtx;

static const char *
partial_name(Arena *a, size_t k)
{
	return arena_printf(a, "sg_p%d", (int)k + 1);
}

static PgQuery__Node *
func_node(Arena *a, const PgQuery__FuncCall *like, const char *name)
{
	PgQuery__FuncCall *fc = ARENA_NEW(a, PgQuery__FuncCall);
	*fc = *like;
	fc->n_funcname = 1;
	fc->funcname = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
	fc->funcname[0] = string_node(a, name);
	fc->agg_star = false;
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	n->node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
	n->func_call = fc;
	return n;
}

typedef struct ColPatch {
	const char *ref;
	const char *p, *q;
} ColPatch;

/* patch_cols: in a combination template, `r.p` / `r.q` become `<ref>.<p>` / `<ref>.<q>` */
static bool
patch_cols(PgQuery__Node *n, void *arg)
{
	const ColPatch *cp = arg;
	if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF || n->column_ref->n_fields != 2)
		return false;
	const char *f = node_string_of(n->column_ref->fields[1]);
	n->column_ref->fields[0]->string->sval = (char *)cp->ref;
	n->column_ref->fields[1]->string->sval = (char *)(strcmp(f, "q") == 0 ? cp->q : cp->p);
	return true;
}

/* combination: the template expression with its columns pointed at the partials */
static PgQuery__Node *
combination(AggCtx *c, const char *tpl, const char *p, const char *q)
{
	PgQuery__Node *top = template_stmt(c->a, tpl);
	PgQuery__Node *e = top->select_stmt->target_list[0]->res_target->val;
	ColPatch cp = {c->ref, p, q};
	parse_visit_nodes(&e->base, patch_cols, &cp);
	return e;
}

static void
add_partial(AggCtx *c, PgQuery__Node *expr)
{
	vec_push(&c->partials, res_target_node(c->a, expr, partial_name(c->a, c->partials.n)));
}

/* agg_visit: check (and with c->replace, rewrite) aggregates of the final query's clauses */
static bool
agg_visit(PgQuery__Node *n, void *arg)
{
	AggCtx *c = arg;
	if (!c->ok)
		return true;
	if (n->node_case == PG_QUERY__NODE__NODE_SUB_LINK) {
		c->ok = false;
		return true;
	}
	if (n->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
		return false;
	PgQuery__FuncCall *fc = n->func_call;
	const char *name;
	AggKind k = agg_kind(fc, &name);
	if (k == AGG_NONE && fc->over == NULL)
		return false; /* a safe scalar function: visit its arguments */
	if (k == AGG_OTHER || fc->over != NULL || fc->agg_distinct || fc->agg_filter != NULL ||
	    fc->n_agg_order > 0 || fc->agg_within_group || fc->func_variadic ||
	    (fc->agg_star ? fc->n_args != 0 : fc->n_args != 1) ||
	    (!fc->agg_star && !pushable(&c->push, fc->args[0]))) {
		c->ok = false;
		return true;
	}
	uint32_t sum_type = k == AGG_SUM && !fc->agg_star ? deparse_sum_type(&c->push, fc->args[0]) : 0;
	if (k == AGG_SUM && sum_type == 0) {
		c->ok = false; /* the result type is not known for sure */
		return true;
	}
	if (!c->replace)
		return true;
	PgQuery__Node orig = *n;
	PgQuery__Node *copy = ARENA_NEW(c->a, PgQuery__Node);
	*copy = orig;
	const char *p = partial_name(c->a, c->partials.n);
	PgQuery__Node *comb = NULL;
	switch (k) {
	case AGG_COUNT:
		add_partial(c, copy);
		comb = combination(c, "SELECT COALESCE(sum(r.p), 0)::bigint", p, NULL);
		break;
	case AGG_MINMAX:
		add_partial(c, copy);
		comb = combination(c, "SELECT min(r.p)", p, NULL);
		comb->func_call->funcname[comb->func_call->n_funcname - 1] = string_node(c->a, name);
		break;
	case AGG_AVG: {
		const char *q = partial_name(c->a, c->partials.n + 1);
		add_partial(c, func_node(c->a, fc, "sum"));
		add_partial(c, func_node(c->a, fc, "count"));
		comb = combination(c, "SELECT sum(r.p) / NULLIF(sum(r.q), 0)", p, q);
		break;
	}
	case AGG_SUM:
		/* sum(int2/int4) is bigint; the sum of its bigint partials is numeric: cast back. The
		 * partials of the other types sum to their own type (int8's partials are numeric). */
		add_partial(c, copy);
		comb = combination(c,
		                   sum_type == OID_INT2 || sum_type == OID_INT4 ? "SELECT sum(r.p)::bigint"
		                                                                : "SELECT sum(r.p)",
		                   p, NULL);
		break;
	case AGG_NONE:
	case AGG_OTHER:
		SG_UNREACHABLE();
	}
	*n = *comb;
	return true;
}

/* group_col_ok: a GROUP BY item that is a plain column of the relation */
static bool
group_col_ok(const PushCtx *c, const PgQuery__Node *g)
{
	return g->node_case == PG_QUERY__NODE__NODE_COLUMN_REF && pushable(c, g);
}

bool
deparse_agg_ok(const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p)
{
	const PgQuery__Node *top = stmt->raw->stmt;
	const ParseRel *r = &info->rels[p->rel];
	if (top->node_case != PG_QUERY__NODE__NODE_SELECT_STMT || r->scope != 0 || r->has_colnames ||
	    r->outer_nullable)
		return false;
	PgQuery__SelectStmt *s = top->select_stmt;
	if (s->n_from_clause != 1 || s->from_clause[0]->node_case != PG_QUERY__NODE__NODE_RANGE_VAR ||
	    s->from_clause[0]->range_var != r->node || s->n_distinct_clause > 0 ||
	    s->n_window_clause > 0 || s->into_clause != NULL)
		return false;
	Arena *scratch = arena_create(4096);
	AggCtx c = {.a = scratch, .push = push_ctx(info, p), .ref = NULL, .ok = true};
	c.partials.a = scratch;
	NodeVec all = {.a = scratch};
	add_conjuncts_of(&all, s->where_clause);
	for (size_t i = 0; c.ok && i < all.n; i++)
		c.ok = pushable(&c.push, all.items[i]);
	for (size_t i = 0; c.ok && i < s->n_group_clause; i++)
		c.ok = group_col_ok(&c.push, s->group_clause[i]);
	for (size_t i = 0; c.ok && i < s->n_target_list; i++)
		parse_visit_nodes(&s->target_list[i]->base, agg_visit, &c);
	if (c.ok && s->having_clause != NULL)
		parse_visit_nodes(&s->having_clause->base, agg_visit, &c);
	for (size_t i = 0; c.ok && i < s->n_sort_clause; i++)
		parse_visit_nodes(&s->sort_clause[i]->base, agg_visit, &c);
	arena_destroy(scratch);
	return c.ok;
}

/*
 * figure_colname: the output column name PostgreSQL gives an unnamed
 * target (FigureColnameInternal): returns its strength, 0 = "?column?".
 */
static int
figure_colname(const PgQuery__Node *n, const char **name)
{
	if (n == NULL)
		return 0;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_COLUMN_REF: {
		const PgQuery__ColumnRef *cr = n->column_ref;
		const char *f = cr->n_fields > 0 ? node_string_of(cr->fields[cr->n_fields - 1]) : NULL;
		if (f == NULL)
			return 0;
		*name = f;
		return 2;
	}
	case PG_QUERY__NODE__NODE_FUNC_CALL: {
		const PgQuery__FuncCall *fc = n->func_call;
		const char *f =
		    fc->n_funcname > 0 ? node_string_of(fc->funcname[fc->n_funcname - 1]) : NULL;
		if (f == NULL)
			return 0;
		*name = f;
		return 2;
	}
	case PG_QUERY__NODE__NODE_A_EXPR:
		if (n->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_NULLIF) {
			*name = "nullif";
			return 2;
		}
		return 0;
	case PG_QUERY__NODE__NODE_TYPE_CAST: {
		int st = figure_colname(n->type_cast->arg, name);
		const PgQuery__TypeName *tn = n->type_cast->type_name;
		if (st <= 1 && tn != NULL && tn->n_names > 0) {
			const char *t = node_string_of(tn->names[tn->n_names - 1]);
			if (t != NULL) {
				*name = t;
				return 1;
			}
		}
		return st;
	}
	case PG_QUERY__NODE__NODE_COALESCE_EXPR:
		*name = "coalesce";
		return 2;
	case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
		*name = n->min_max_expr->op == PG_QUERY__MIN_MAX_OP__IS_GREATEST ? "greatest" : "least";
		return 2;
	case PG_QUERY__NODE__NODE_CASE_EXPR: {
		int st = figure_colname(n->case_expr->defresult, name);
		if (st <= 1) {
			*name = "case";
			return 1;
		}
		return st;
	}
	default:
		return 0;
	}
}

/*
 * agg_rewrite: a copy of the statement's top SELECT with its aggregates
 * replaced by combinations; *partials gets the fragment's partial columns.
 */
static PgQuery__SelectStmt *
agg_rewrite(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p,
            NodeVec *partials)
{
	const ParseRel *r = &info->rels[p->rel];
	PgQuery__SelectStmt *s = copy_select(a, stmt->raw->stmt->select_stmt);
	AggCtx c = {
	    .a = a, .push = push_ctx(info, p), .ref = parse_ref_name(r), .ok = true, .replace = true};
	c.partials.a = a;
	for (size_t i = 0; i < s->n_target_list; i++) {
		PgQuery__Node *t = s->target_list[i];
		const char *name = "?column?";
		bool unnamed = t->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
		               (t->res_target->name == NULL || t->res_target->name[0] == '\0');
		if (unnamed)
			(void)figure_colname(t->res_target->val, &name);
		size_t before = c.partials.n;
		parse_visit_nodes(&t->base, agg_visit, &c);
		/* the combination must keep the output column's name */
		if (unnamed && c.partials.n != before)
			t->res_target->name = (char *)name;
	}
	if (s->having_clause != NULL)
		parse_visit_nodes(&s->having_clause->base, agg_visit, &c);
	for (size_t i = 0; i < s->n_sort_clause; i++)
		parse_visit_nodes(&s->sort_clause[i]->base, agg_visit, &c);
	SG_ASSERT(c.ok);
	*partials = c.partials;
	return s;
}

/* agg_fragment_list: the fragment's target list (group columns, partials) and GROUP BY */
static void
agg_fragment_list(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p,
                  PgQuery__SelectStmt *f)
{
	const PgQuery__SelectStmt *s = stmt->raw->stmt->select_stmt;
	NodeVec partials;
	(void)agg_rewrite(a, stmt, info, p, &partials);
	f->n_target_list = s->n_group_clause + partials.n;
	f->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, f->n_target_list + 1);
	for (size_t i = 0; i < s->n_group_clause; i++)
		f->target_list[i] = res_target_node(a, s->group_clause[i], NULL);
	for (size_t i = 0; i < partials.n; i++)
		f->target_list[s->n_group_clause + i] = partials.items[i];
	f->n_group_clause = s->n_group_clause;
	f->group_clause = s->group_clause;
}

bool
deparse_agg_final(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p,
                  const char *temp, char **out, SgError *err)
{
	const ParseRel *r = &info->rels[p->rel];
	NodeVec partials;
	PgQuery__SelectStmt *s = agg_rewrite(a, stmt, info, p, &partials);
	s->from_clause = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
	s->n_from_clause = 1;
	s->from_clause[0] = range_var_node(a, range_var(a, "pg_temp", temp, parse_ref_name(r)));
	s->where_clause = NULL;
	return deparse_node(a, stmt->version, select_node(a, s), out, err);
}

/* pull_target_list: the fetched columns as a target list (`*` when ncols == 0) */
static void
pull_target_list(Arena *a, const DeparsePull *p, PgQuery__SelectStmt *s)
{
	if (p->whole_row != NULL) {
		/* `<ref>::text`: the row as its composite text (an inlined relation's rows) */
		PgQuery__Node *t = template_stmt(a, "SELECT x::text");
		PgQuery__Node *target = t->select_stmt->target_list[0];
		PgQuery__ColumnRef *cr = target->res_target->val->type_cast->arg->column_ref;
		cr->fields[0]->string->sval = (char *)p->whole_row;
		s->n_target_list = 1;
		s->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
		s->target_list[0] = target;
		return;
	}
	if (p->ncols == 0) {
		PgQuery__AStar *st = ARENA_NEW(a, PgQuery__AStar);
		pg_query__a__star__init(st);
		PgQuery__Node *sn = ARENA_NEW(a, PgQuery__Node);
		pg_query__node__init(sn);
		sn->node_case = PG_QUERY__NODE__NODE_A_STAR;
		sn->a_star = st;
		PgQuery__ColumnRef *cr = ARENA_NEW(a, PgQuery__ColumnRef);
		pg_query__column_ref__init(cr);
		cr->n_fields = 1;
		cr->fields = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
		cr->fields[0] = sn;
		cr->location = -1;
		PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
		pg_query__node__init(n);
		n->node_case = PG_QUERY__NODE__NODE_COLUMN_REF;
		n->column_ref = cr;
		s->n_target_list = 1;
		s->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
		s->target_list[0] = res_target_node(a, n, NULL);
		return;
	}
	s->n_target_list = (size_t)p->ncols;
	s->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, p->ncols);
	for (int32_t i = 0; i < p->ncols; i++)
		s->target_list[i] = res_target_node(a, column_node(a, NULL, p->cols[i]), NULL);
}

/* deparse_select_into: sel as it is, or `INSERT INTO pg_temp.<into_temp> <sel>` */
static bool
deparse_select_into(Arena *a, const ParsedStmt *stmt, PgQuery__SelectStmt *sel,
                    const char *into_temp, char **out, SgError *err)
{
	if (into_temp == NULL)
		return deparse_node(a, stmt->version, select_node(a, sel), out, err);
	PgQuery__Node *ins = template_stmt(a, "INSERT INTO pg_temp.x SELECT");
	ins->insert_stmt->relation->relname = (char *)into_temp;
	ins->insert_stmt->select_stmt = select_node(a, sel);
	return deparse_node(a, stmt->version, ins, out, err);
}

bool
deparse_pull_fragment(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p,
                      const char *const *schemas, int32_t nschemas, const char *into_temp,
                      char **out, int32_t *npushed, SgError *err)
{
	SG_ASSERT(nschemas >= 1);
	const ParseRel *r = &info->rels[p->rel];
	const char *refname = r->alias != NULL && !r->has_colnames ? r->alias : r->name;
	NodeVec filters;
	pushed_filters(a, info, p, &filters);
	if (npushed != NULL)
		*npushed = (int32_t)filters.n;
	PgQuery__Node *where = and_node(a, filters.items, filters.n);
	PgQuery__SelectStmt **branches = ARENA_NEW_ARRAY(a, PgQuery__SelectStmt *, nschemas);
	for (int32_t i = 0; i < nschemas; i++) {
		PgQuery__SelectStmt *s = new_select(a);
		if (p->partial_agg)
			agg_fragment_list(a, stmt, info, p, s);
		else
			pull_target_list(a, p, s);
		s->n_from_clause = 1;
		s->from_clause = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
		s->from_clause[0] = range_var_node(a, range_var(a, schemas[i], p->table, refname));
		s->where_clause = where;
		if (p->topn)
			add_topn(a, stmt->raw->stmt->select_stmt, s);
		branches[i] = s;
	}
	PgQuery__SelectStmt *u = union_all(a, branches, nschemas);
	if (nschemas > 1 && p->extra_where != NULL)
		hoist_inlined(a, u);
	return deparse_select_into(a, stmt, u, into_temp, out, err);
}

bool
deparse_pull_create(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparsePull *p,
                    const char *temp, char **out, SgError *err)
{
	char *drop, *create;
	if (!deparse_drop_temps(a, stmt, &temp, 1, &drop, err))
		return false;
	PgQuery__Node *n =
	    template_stmt(a, "CREATE TEMP TABLE x ON COMMIT DROP AS SELECT FROM s.t WITH NO DATA");
	PgQuery__CreateTableAsStmt *c = n->create_table_as_stmt;
	c->into->rel->relname = (char *)temp;
	PgQuery__SelectStmt *s = c->query->select_stmt;
	PgQuery__RangeVar *rv = s->from_clause[0]->range_var;
	rv->schemaname = (char *)p->shell_schema;
	rv->relname = (char *)p->table;
	if (p->partial_agg) {
		/* partial aggregates over the (empty) shell: their result types, exactly */
		const ParseRel *r = &info->rels[p->rel];
		s->from_clause[0] =
		    range_var_node(a, range_var(a, p->shell_schema, p->table, parse_ref_name(r)));
		agg_fragment_list(a, stmt, info, p, s);
	} else {
		pull_target_list(a, p, s);
	}
	if (!deparse_node(a, stmt->version, n, &create, err))
		return false;
	*out = arena_printf(a, "%s; %s", drop, create);
	return true;
}

bool
deparse_analyze_temp(Arena *a, const ParsedStmt *stmt, const char *temp, char **out, SgError *err)
{
	PgQuery__Node *n = template_stmt(a, "ANALYZE pg_temp.x");
	PgQuery__VacuumRelation *vr = n->vacuum_stmt->rels[0]->vacuum_relation;
	vr->relation->relname = (char *)temp;
	return deparse_node(a, stmt->version, n, out, err);
}

bool
deparse_copy_in(Arena *a, const ParsedStmt *stmt, const char *temp, char **out, SgError *err)
{
	PgQuery__Node *n = template_stmt(a, "COPY pg_temp.x FROM STDIN (FORMAT binary)");
	n->copy_stmt->relation->relname = (char *)temp;
	return deparse_node(a, stmt->version, n, out, err);
}

bool
deparse_drop_temps(Arena *a, const ParsedStmt *stmt, const char *const *temps, int32_t n,
                   char **out, SgError *err)
{
	PgQuery__Node *top = template_stmt(a, "DROP TABLE IF EXISTS pg_temp.x");
	PgQuery__DropStmt *d = top->drop_stmt;
	d->objects = ARENA_NEW_ARRAY(a, PgQuery__Node *, n + 1);
	d->n_objects = 0;
	for (int32_t i = 0; i < n; i++) {
		PgQuery__Node **parts = ARENA_NEW_ARRAY(a, PgQuery__Node *, 2);
		parts[0] = string_node(a, "pg_temp");
		parts[1] = string_node(a, temps[i]);
		d->objects[d->n_objects++] = list_node(a, parts, 2);
	}
	return deparse_node(a, stmt->version, top, out, err);
}

bool
deparse_text_rows(Arena *a, const ParsedStmt *stmt, const char *const *values, int32_t n,
                  const char *column, char **out, SgError *err)
{
	SG_ASSERT(n >= 1);
	PgQuery__Node *top = template_stmt(a, "SELECT * FROM (VALUES ('x'::text)) AS v(c)");
	PgQuery__RangeSubselect *rs = top->select_stmt->from_clause[0]->range_subselect;
	rs->alias->colnames[0]->string->sval = (char *)column;
	PgQuery__SelectStmt *vs = rs->subquery->select_stmt;
	PgQuery__Node *row = vs->values_lists[0];
	PgQuery__Node *cast = row->list->items[0];
	PgQuery__Node **rows = ARENA_NEW_ARRAY(a, PgQuery__Node *, n);
	for (int32_t i = 0; i < n; i++) {
		/* each row: a copy of the template row with its own string constant */
		PgQuery__String *str = ARENA_NEW(a, PgQuery__String);
		*str = *cast->type_cast->arg->a_const->sval;
		str->sval = (char *)values[i];
		PgQuery__AConst *ac = ARENA_NEW(a, PgQuery__AConst);
		*ac = *cast->type_cast->arg->a_const;
		ac->sval = str;
		PgQuery__Node *acn = ARENA_NEW(a, PgQuery__Node);
		*acn = *cast->type_cast->arg;
		acn->a_const = ac;
		PgQuery__TypeCast *tc = ARENA_NEW(a, PgQuery__TypeCast);
		*tc = *cast->type_cast;
		tc->arg = acn;
		PgQuery__Node *tcn = ARENA_NEW(a, PgQuery__Node);
		*tcn = *cast;
		tcn->type_cast = tc;
		PgQuery__List *l = ARENA_NEW(a, PgQuery__List);
		*l = *row->list;
		l->n_items = 1;
		l->items = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
		l->items[0] = tcn;
		PgQuery__Node *ln = ARENA_NEW(a, PgQuery__Node);
		*ln = *row;
		ln->list = l;
		rows[i] = ln;
	}
	vs->values_lists = rows;
	vs->n_values_lists = (size_t)n;
	return deparse_node(a, stmt->version, top, out, err);
}

bool
deparse_copy_select(Arena *a, const ParsedStmt *stmt, char **out, SgError *err)
{
	const PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top != NULL && top->node_case == PG_QUERY__NODE__NODE_COPY_STMT);
	const PgQuery__CopyStmt *cs = top->copy_stmt;
	SG_ASSERT(cs->relation != NULL);
	PgQuery__Node *n = template_stmt(a, "SELECT * FROM x");
	PgQuery__SelectStmt *s = n->select_stmt;
	s->from_clause[0]->range_var = cs->relation;
	if (cs->n_attlist > 0) {
		s->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, cs->n_attlist);
		s->n_target_list = 0;
		for (size_t i = 0; i < cs->n_attlist; i++) {
			const char *col = node_string_of(cs->attlist[i]);
			s->target_list[s->n_target_list++] =
			    res_target_node(a, column_node(a, NULL, col != NULL ? col : ""), NULL);
		}
	}
	return deparse_node(a, stmt->version, n, out, err);
}

bool
deparse_wrap_query(Arena *a, const ParsedStmt *stmt, const char *query_sql, char **out,
                   SgError *err)
{
	PgQueryProtobufParseResult res = pg_query_parse_protobuf(query_sql);
	if (res.error != NULL) {
		sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "could not parse a final statement: %s",
		             res.error->message);
		pg_query_free_protobuf_parse_result(res);
		return false;
	}
	ProtobufCAllocator pa;
	parse_pb_allocator(a, &pa);
	PgQuery__ParseResult *tree = pg_query__parse_result__unpack(
	    &pa, res.parse_tree.len, (const uint8_t *)res.parse_tree.data);
	pg_query_free_protobuf_parse_result(res);
	if (tree == NULL || tree->n_stmts != 1)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR,
		                    "a final statement is not exactly one statement");
	PgQuery__Node *query = tree->stmts[0]->stmt;
	PgQuery__Node *top = stmt->raw->stmt;
	bool ok;
	if (top->node_case == PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT) {
		PgQuery__DeclareCursorStmt *d = top->declare_cursor_stmt;
		PgQuery__Node *saved = d->query;
		d->query = query;
		ok = deparse_node(a, stmt->version, top, out, err);
		d->query = saved;
	} else {
		SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_COPY_STMT);
		PgQuery__CopyStmt *cs = top->copy_stmt;
		PgQuery__CopyStmt saved = *cs;
		cs->query = query;
		cs->relation = NULL;
		cs->n_attlist = 0;
		cs->attlist = NULL;
		copy_drop_text_format(a, cs);
		ok = deparse_node(a, stmt->version, top, out, err);
		*cs = saved;
	}
	return ok;
}

/* InlineFind: the Node wrapping a relation's RangeVar */
typedef struct InlineFind {
	const PgQuery__RangeVar *rv;
	PgQuery__Node *found;
} InlineFind;

static bool
inline_find(PgQuery__Node *n, void *arg)
{
	InlineFind *f = arg;
	if (f->found == NULL && n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR && n->range_var == f->rv)
		f->found = n;
	return f->found != NULL;
}

bool
deparse_inline_rels(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const int32_t *rels,
                    const char *const *schemas, const char *const *literals, int32_t n, char **out,
                    SgError *err)
{
	PgQuery__Node **nodes = ARENA_NEW_ARRAY(a, PgQuery__Node *, n + 1);
	for (int32_t i = 0; i < n; i++) {
		PgQuery__RangeVar *rv = info->rels[rels[i]].node;
		InlineFind f = {rv, NULL};
		parse_visit_nodes((ProtobufCMessage *)stmt->raw->stmt, inline_find, &f);
		if (f.found == NULL) {
			for (int32_t k = 0; k < i; k++) {
				nodes[k]->node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
				nodes[k]->range_var = info->rels[rels[k]].node;
			}
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "reading the distributed table \"%s\" here is not supported",
			                    rv->relname);
		}
		PgQuery__Node *t = template_stmt(a, "SELECT FROM unnest('x'::s.t[]) AS r");
		PgQuery__Node *from = t->select_stmt->from_clause[0];
		PgQuery__RangeFunction *rf = from->range_function;
		PgQuery__FuncCall *fc = rf->functions[0]->list->items[0]->func_call;
		PgQuery__TypeCast *tc = fc->args[0]->type_cast;
		tc->arg->a_const->sval->sval = (char *)literals[i];
		tc->type_name->names[0]->string->sval = (char *)schemas[i];
		tc->type_name->names[1]->string->sval = rv->relname;
		rf->alias->aliasname = rv->alias != NULL ? rv->alias->aliasname : rv->relname;
		nodes[i] = f.found;
		f.found->node_case = PG_QUERY__NODE__NODE_RANGE_FUNCTION;
		f.found->range_function = rf;
	}
	bool ok = deparse_node(a, stmt->version, stmt->raw->stmt, out, err);
	for (int32_t i = 0; i < n; i++) {
		nodes[i]->node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
		nodes[i]->range_var = info->rels[rels[i]].node;
	}
	return ok;
}

/* ---- partial aggregates over a join (planner/joinagg.c) ----------------------------- */

typedef struct JaggCtx {
	AggCtx agg;
	const PgQuery__SelectStmt *top; /* the statement's SELECT (its GROUP BY and outputs) */
	bool in_sort;                   /* visiting ORDER BY: bare output names are allowed */
} JaggCtx;

static PushCtx
jagg_push(Arena *a, const DeparseJoinRel *rels, int32_t n)
{
	PushRel *more = ARENA_NEW_ARRAY(a, PushRel, n + 1);
	for (int32_t i = 1; i < n; i++)
		more[i - 1] = (PushRel){rels[i].refname, rels[i].cols, rels[i].ncols, rels[i].types};
	PushCtx c = {.one = {rels[0].refname, rels[0].cols, rels[0].ncols, rels[0].types},
	             .more = more,
	             .nmore = n - 1};
	return c;
}

static const char *
group_key_name(Arena *a, size_t j)
{
	return arena_printf(a, "sg_k%d", (int)j + 1);
}

/* jagg_group_key: the GROUP BY item a column reference names (same relation and column) */
static int32_t
jagg_group_key(const JaggCtx *j, const PgQuery__ColumnRef *cr)
{
	int32_t idx, gidx;
	const PushRel *r = push_col(&j->agg.push, cr, &idx);
	if (r == NULL)
		return -1;
	for (size_t g = 0; g < j->top->n_group_clause; g++) {
		const PgQuery__Node *gn = j->top->group_clause[g];
		if (gn->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
		    push_col(&j->agg.push, gn->column_ref, &gidx) == r && gidx == idx)
			return (int32_t)g;
	}
	return -1;
}

static bool
is_output_name(const PgQuery__SelectStmt *s, const PgQuery__ColumnRef *cr)
{
	const char *f = cr->n_fields == 1 ? node_string_of(cr->fields[0]) : NULL;
	for (size_t i = 0; f != NULL && i < s->n_target_list; i++) {
		const PgQuery__ResTarget *rt = s->target_list[i]->res_target;
		if (rt->name != NULL && strcmp(rt->name, f) == 0)
			return true;
	}
	return false;
}

/*
 * jagg_visit: aggregates as agg_visit does; a column reference outside them
 * must name a GROUP BY item (with replace: becomes sg_m.sg_k<j>), or in ORDER
 * BY an output column
 */
static bool
jagg_visit(PgQuery__Node *n, void *arg)
{
	JaggCtx *j = arg;
	if (agg_visit(n, &j->agg))
		return true;
	if (n->node_case != PG_QUERY__NODE__NODE_COLUMN_REF)
		return false;
	PgQuery__ColumnRef *cr = n->column_ref;
	const char *f0 = cr->n_fields >= 1 ? node_string_of(cr->fields[0]) : NULL;
	if (f0 != NULL && strcmp(f0, "sg_m") == 0)
		return true; /* a combination's own reference */
	int32_t g = jagg_group_key(j, cr);
	if (g < 0) {
		if (!(j->in_sort && is_output_name(j->top, cr)))
			j->agg.ok = false;
		return true;
	}
	if (j->agg.replace)
		*n = *column_node(j->agg.a, "sg_m", group_key_name(j->agg.a, (size_t)g));
	return true;
}

/* jagg_rewrite: a copy of the top SELECT with aggregates and group keys replaced (or checked) */
static PgQuery__SelectStmt *
jagg_rewrite(Arena *a, const ParsedStmt *stmt, const DeparseJoinRel *rels, int32_t nrels,
             bool replace, NodeVec *partials, bool *ok)
{
	const PgQuery__SelectStmt *top = stmt->raw->stmt->select_stmt;
	PgQuery__SelectStmt *s = copy_select(a, top);
	JaggCtx j = {.agg = {.a = a,
	                     .push = jagg_push(a, rels, nrels),
	                     .ref = "sg_m",
	                     .ok = true,
	                     .replace = replace},
	             .top = top};
	j.agg.partials.a = a;
	for (size_t i = 0; i < s->n_target_list && j.agg.ok; i++) {
		PgQuery__Node *t = s->target_list[i];
		if (t->node_case != PG_QUERY__NODE__NODE_RES_TARGET) {
			j.agg.ok = false;
			break;
		}
		const char *name = NULL;
		if (replace && (t->res_target->name == NULL || t->res_target->name[0] == '\0') &&
		    figure_colname(t->res_target->val, &name) > 0)
			t->res_target->name = (char *)name; /* the output keeps PostgreSQL's name */
		parse_visit_nodes(&t->base, jagg_visit, &j);
	}
	if (j.agg.ok && s->having_clause != NULL)
		parse_visit_nodes(&s->having_clause->base, jagg_visit, &j);
	j.in_sort = true;
	for (size_t i = 0; j.agg.ok && i < s->n_sort_clause; i++)
		parse_visit_nodes(&s->sort_clause[i]->base, jagg_visit, &j);
	*partials = j.agg.partials;
	*ok = j.agg.ok;
	return s;
}

/* from_has_subselect: a subquery in FROM (its columns are not the relations') */
static bool
from_has_subselect(const PgQuery__Node *n)
{
	if (n == NULL)
		return false;
	if (n->node_case == PG_QUERY__NODE__NODE_RANGE_SUBSELECT)
		return true;
	if (n->node_case == PG_QUERY__NODE__NODE_JOIN_EXPR)
		return from_has_subselect(n->join_expr->larg) || from_has_subselect(n->join_expr->rarg);
	return false;
}

bool
deparse_joinagg_ok(const ParsedStmt *stmt, const DeparseJoinRel *rels, int32_t nrels)
{
	const PgQuery__Node *topn = stmt->raw->stmt;
	if (topn->node_case != PG_QUERY__NODE__NODE_SELECT_STMT || nrels < 1)
		return false;
	const PgQuery__SelectStmt *top = topn->select_stmt;
	if (top->n_distinct_clause > 0 || top->n_window_clause > 0 || top->into_clause != NULL ||
	    top->with_clause != NULL || top->n_locking_clause > 0 || top->n_from_clause == 0 ||
	    (top->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
	     top->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED))
		return false;
	for (size_t i = 0; i < top->n_from_clause; i++)
		if (from_has_subselect(top->from_clause[i]))
			return false;
	Arena *scratch = arena_create(4096);
	PushCtx push = jagg_push(scratch, rels, nrels);
	bool ok = true;
	for (size_t g = 0; ok && g < top->n_group_clause; g++) {
		int32_t idx;
		const PgQuery__Node *gn = top->group_clause[g];
		ok = gn->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
		     push_col(&push, gn->column_ref, &idx) != NULL;
	}
	NodeVec partials;
	if (ok)
		(void)jagg_rewrite(scratch, stmt, rels, nrels, false, &partials, &ok);
	arena_destroy(scratch);
	return ok;
}

/* jagg_fragment: the per-shard SELECT: group keys sg_k<j>, partials sg_p<k>, GROUP BY */
static PgQuery__SelectStmt *
jagg_fragment(Arena *a, const PgQuery__SelectStmt *top, const NodeVec *partials)
{
	PgQuery__SelectStmt *f = copy_select(a, top);
	f->n_target_list = f->n_group_clause + partials->n;
	f->target_list = ARENA_NEW_ARRAY(a, PgQuery__Node *, f->n_target_list + 1);
	for (size_t i = 0; i < f->n_group_clause; i++)
		f->target_list[i] = res_target_node(a, f->group_clause[i], group_key_name(a, i));
	for (size_t i = 0; i < partials->n; i++)
		f->target_list[f->n_group_clause + i] = partials->items[i];
	f->having_clause = NULL;
	f->n_sort_clause = 0;
	f->sort_clause = NULL;
	f->limit_count = NULL;
	f->limit_offset = NULL;
	f->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
	return f;
}

bool
deparse_joinagg_fragment(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                         const DeparseJoinRel *rels, int32_t nrels, const DeparseRename *sets,
                         int32_t nsets, int32_t per_set, const char *into_temp, char **out,
                         SgError *err)
{
	NodeVec partials;
	bool ok;
	(void)jagg_rewrite(a, stmt, rels, nrels, true, &partials, &ok);
	SG_ASSERT(ok);
	PgQuery__SelectStmt **branches = ARENA_NEW_ARRAY(a, PgQuery__SelectStmt *, nsets + 1);
	for (int32_t i = 0; i < nsets; i++) {
		Saved *saved = apply_renames(a, info, sets + (size_t)i * (size_t)per_set, per_set);
		branches[i] = jagg_fragment(a, stmt->raw->stmt->select_stmt, &partials);
		restore_renames(saved, per_set);
	}
	PgQuery__SelectStmt *u = union_all(a, branches, nsets);
	if (nsets > 1)
		hoist_inlined(a, u);
	return deparse_select_into(a, stmt, u, into_temp, out, err);
}

bool
deparse_joinagg_create(Arena *a, const ParsedStmt *stmt, const DeparseJoinRel *rels, int32_t nrels,
                       const char *temp, char **out, SgError *err)
{
	NodeVec partials;
	bool ok;
	(void)jagg_rewrite(a, stmt, rels, nrels, true, &partials, &ok);
	SG_ASSERT(ok);
	char *drop, *create;
	if (!deparse_drop_temps(a, stmt, &temp, 1, &drop, err))
		return false;
	PgQuery__Node *n =
	    template_stmt(a, "CREATE TEMP TABLE x ON COMMIT DROP AS SELECT FROM s.t WITH NO DATA");
	n->create_table_as_stmt->into->rel->relname = (char *)temp;
	n->create_table_as_stmt->query =
	    select_node(a, jagg_fragment(a, stmt->raw->stmt->select_stmt, &partials));
	if (!deparse_node(a, stmt->version, n, &create, err))
		return false;
	*out = arena_printf(a, "%s; %s", drop, create);
	return true;
}

bool
deparse_joinagg_final(Arena *a, const ParsedStmt *stmt, const DeparseJoinRel *rels, int32_t nrels,
                      const char *temp, char **out, SgError *err)
{
	NodeVec partials;
	bool ok;
	PgQuery__SelectStmt *s = jagg_rewrite(a, stmt, rels, nrels, true, &partials, &ok);
	SG_ASSERT(ok);
	s->n_from_clause = 1;
	s->from_clause = ARENA_NEW_ARRAY(a, PgQuery__Node *, 1);
	s->from_clause[0] = range_var_node(a, range_var(a, "pg_temp", temp, "sg_m"));
	s->where_clause = NULL;
	for (size_t i = 0; i < s->n_group_clause; i++)
		s->group_clause[i] = column_node(a, "sg_m", group_key_name(a, i));
	return deparse_node(a, stmt->version, select_node(a, s), out, err);
}

/* ---- inlined relations hoisted into WITH queries ------------------------------------ */

/* is_inlined: `unnest('<literal>'::<type>[]) AS <alias>`, an inlined relation (semijoin.h) */
static bool
is_inlined(const PgQuery__RangeFunction *rf)
{
	if (rf->alias == NULL || rf->alias->aliasname == NULL || rf->n_functions != 1 || rf->lateral ||
	    rf->ordinality || rf->is_rowsfrom ||
	    rf->functions[0]->node_case != PG_QUERY__NODE__NODE_LIST ||
	    rf->functions[0]->list->n_items < 1 ||
	    rf->functions[0]->list->items[0]->node_case != PG_QUERY__NODE__NODE_FUNC_CALL)
		return false;
	const PgQuery__FuncCall *fc = rf->functions[0]->list->items[0]->func_call;
	const char *name = fc->n_funcname == 1 ? node_string_of(fc->funcname[0]) : NULL;
	if (name == NULL || strcmp(name, "unnest") != 0 || fc->n_args != 1 ||
	    fc->args[0]->node_case != PG_QUERY__NODE__NODE_TYPE_CAST)
		return false;
	const PgQuery__TypeCast *tc = fc->args[0]->type_cast;
	return tc->arg != NULL && tc->arg->node_case == PG_QUERY__NODE__NODE_A_CONST &&
	       tc->arg->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL && tc->type_name != NULL &&
	       tc->type_name->n_array_bounds == 1;
}

typedef struct Hoist {
	Arena *a;
	NodeVec ctes; /* CommonTableExpr nodes */
	const char *names[16];
	int n;
} Hoist;

static bool
hoist_visit(PgQuery__Node *n, void *arg)
{
	Hoist *h = arg;
	if (n->node_case != PG_QUERY__NODE__NODE_RANGE_FUNCTION || !is_inlined(n->range_function))
		return false;
	const char *alias = n->range_function->alias->aliasname;
	const char *cte = arena_printf(h->a, "sg_inline_%s", alias);
	bool seen = false;
	for (int i = 0; i < h->n && !seen; i++)
		seen = strcmp(h->names[i], cte) == 0;
	if (!seen && h->n < (int)SG_ARRAY_LEN(h->names)) {
		PgQuery__Node *t = template_stmt(h->a, "WITH x AS MATERIALIZED (SELECT * FROM y) SELECT");
		PgQuery__Node *c = t->select_stmt->with_clause->ctes[0];
		c->common_table_expr->ctename = (char *)cte;
		PgQuery__Node *from = ARENA_NEW(h->a, PgQuery__Node);
		*from = *n;
		c->common_table_expr->ctequery->select_stmt->from_clause[0] = from;
		vec_push(&h->ctes, c);
		h->names[h->n++] = cte;
	} else if (!seen) {
		return true; /* too many: left inline */
	}
	n->node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
	n->range_var = range_var(h->a, NULL, cte, alias);
	return true;
}

/*
 * hoist_inlined: the inlined relations of every branch of top (a UNION ALL
 * of per-shard copies) become MATERIALIZED WITH queries of top, so that a
 * node parses and builds their rows once, not once per shard
 */
static void
hoist_inlined(Arena *a, PgQuery__SelectStmt *top)
{
	Hoist h = {.a = a, .ctes = {.a = a}};
	parse_visit_nodes(&top->base, hoist_visit, &h);
	if (h.ctes.n == 0)
		return;
	PgQuery__WithClause *w = ARENA_NEW(a, PgQuery__WithClause);
	pg_query__with_clause__init(w);
	w->n_ctes = h.ctes.n;
	w->ctes = h.ctes.items;
	top->with_clause = w;
}
