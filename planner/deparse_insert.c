/*
 * deparse_insert.c: the trees of an INSERT ... SELECT pulled through the
 * gateway (see planner/insert_select.c for the flow).
 *
 * The fourth file that sees libpg_query's protobuf types (with parse.c,
 * deparse.c and parse_copy.c). Nothing here changes the client's tree: new
 * statements are new nodes (in the caller's arena) that share the client's
 * subtrees (ON CONFLICT, RETURNING, column list, the SELECT itself), and
 * are deparsed by deparse_tree().
 */
#include "planner/deparse_insert.h"

#include <string.h>

#include "planner/deparse.h"
#include "planner/parse_int.h"

/* insert_of: the InsertStmt of stmt (an INSERT), or NULL */
static PgQuery__InsertStmt *
insert_of(const ParsedStmt *stmt)
{
	PgQuery__Node *top = stmt->raw->stmt;
	if (top == NULL || top->node_case != PG_QUERY__NODE__NODE_INSERT_STMT)
		return NULL;
	return top->insert_stmt;
}

ParsedStmt *
deparse_insert_query(Arena *a, const ParsedStmt *stmt, SgError *err)
{
	PgQuery__InsertStmt *ins = insert_of(stmt);
	if (ins == NULL || ins->select_stmt == NULL ||
	    ins->select_stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
		sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "not an INSERT ... SELECT");
		return NULL;
	}
	PgQuery__Node *sel = ins->select_stmt;
	if (ins->with_clause != NULL) {
		if (sel->select_stmt->with_clause != NULL) {
			sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			             "INSERT ... SELECT with WITH on both the INSERT and the SELECT into a "
			             "distributed or reference table is not supported");
			return NULL;
		}
		/* WITH x AS (...) INSERT ... SELECT ... FROM x: the SELECT carries the WITH */
		PgQuery__SelectStmt *copy = ARENA_NEW(a, PgQuery__SelectStmt);
		*copy = *sel->select_stmt;
		copy->with_clause = ins->with_clause;
		PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
		pg_query__node__init(n);
		n->node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
		n->select_stmt = copy;
		sel = n;
	}
	return parse_sub_stmt(a, stmt, sel);
}

typedef struct CheckVisit {
	const char *found; /* "a parameter" / "another relation" */
} CheckVisit;

static bool
check_visit(PgQuery__Node *n, void *arg)
{
	CheckVisit *c = arg;
	if (n->node_case == PG_QUERY__NODE__NODE_PARAM_REF && c->found == NULL)
		c->found = "a parameter ($n)";
	else if (n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR && c->found == NULL)
		c->found = "a subquery reading a table";
	return false;
}

bool
deparse_insert_check(const ParsedStmt *stmt, SgError *err)
{
	PgQuery__InsertStmt *ins = insert_of(stmt);
	if (ins == NULL)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "not an INSERT");
	CheckVisit c = {NULL};
	if (ins->on_conflict_clause != NULL)
		parse_visit_nodes(&ins->on_conflict_clause->base, check_visit, &c);
	for (size_t i = 0; i < ins->n_returning_list; i++)
		parse_visit_nodes(&ins->returning_list[i]->base, check_visit, &c);
	if (c.found != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT ... SELECT moving rows through the gateway does not support %s "
		                    "in ON CONFLICT or RETURNING",
		                    c.found);
	return true;
}

/* is_unknown_literal: a string literal or NULL, not cast */
static bool
is_unknown_literal(const PgQuery__Node *n)
{
	if (n == NULL || n->node_case != PG_QUERY__NODE__NODE_A_CONST)
		return false;
	const PgQuery__AConst *c = n->a_const;
	return c->isnull || c->val_case == PG_QUERY__A__CONST__VAL_SVAL;
}

void
deparse_insert_unknown(const ParsedStmt *stmt, bool *unknown, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		unknown[i] = false;
	PgQuery__InsertStmt *ins = insert_of(stmt);
	if (ins == NULL || ins->select_stmt == NULL ||
	    ins->select_stmt->node_case != PG_QUERY__NODE__NODE_SELECT_STMT)
		return;
	const PgQuery__SelectStmt *s = ins->select_stmt->select_stmt;
	if (s->op != PG_QUERY__SET_OPERATION__SETOP_NONE &&
	    s->op != PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED)
		return; /* a set operation resolves its unknown columns to text */
	if (s->n_values_lists > 0) {
		for (int32_t i = 0; i < n; i++) {
			bool all = true;
			for (size_t r = 0; r < s->n_values_lists && all; r++) {
				const PgQuery__Node *row = s->values_lists[r];
				all = row->node_case == PG_QUERY__NODE__NODE_LIST &&
				      (size_t)i < row->list->n_items && is_unknown_literal(row->list->items[i]);
			}
			unknown[i] = all;
		}
		return;
	}
	for (size_t i = 0; i < s->n_target_list && (int32_t)i < n; i++) {
		const PgQuery__Node *t = s->target_list[i];
		unknown[i] = t->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
		             is_unknown_literal(t->res_target->val);
	}
}

/* node_new: an empty Node in a */
static PgQuery__Node *
node_new(Arena *a)
{
	PgQuery__Node *n = ARENA_NEW(a, PgQuery__Node);
	pg_query__node__init(n);
	return n;
}

bool
deparse_insert_values(Arena *a, const ParsedStmt *stmt, const char *schema, const char *const *cols,
                      int32_t nrows, int32_t ncols, char **out, SgError *err)
{
	PgQuery__InsertStmt *orig = insert_of(stmt);
	if (orig == NULL || nrows < 1 || ncols < 1)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "bad INSERT batch");
	PgQuery__InsertStmt *ins = ARENA_NEW(a, PgQuery__InsertStmt);
	*ins = *orig;
	ins->with_clause = NULL; /* it went into the SELECT, which ran already */
	if (schema != NULL) {
		PgQuery__RangeVar *rv = ARENA_NEW(a, PgQuery__RangeVar);
		*rv = *orig->relation;
		rv->schemaname = (char *)schema;
		rv->catalogname = NULL;
		if (rv->alias == NULL) {
			PgQuery__Alias *al = ARENA_NEW(a, PgQuery__Alias);
			pg_query__alias__init(al);
			al->aliasname = orig->relation->relname;
			rv->alias = al;
		}
		ins->relation = rv;
	}
	if (cols != NULL) {
		ins->cols = ARENA_NEW_ARRAY(a, PgQuery__Node *, ncols);
		PgQuery__ResTarget *rts = ARENA_NEW_ARRAY(a, PgQuery__ResTarget, ncols);
		PgQuery__Node *nodes = ARENA_NEW_ARRAY(a, PgQuery__Node, ncols);
		for (int32_t i = 0; i < ncols; i++) {
			pg_query__res_target__init(&rts[i]);
			rts[i].name = (char *)cols[i];
			rts[i].location = -1;
			pg_query__node__init(&nodes[i]);
			nodes[i].node_case = PG_QUERY__NODE__NODE_RES_TARGET;
			nodes[i].res_target = &rts[i];
			ins->cols[i] = &nodes[i];
		}
		ins->n_cols = (size_t)ncols;
	}
	PgQuery__SelectStmt *vals = ARENA_NEW(a, PgQuery__SelectStmt);
	pg_query__select_stmt__init(vals);
	vals->op = PG_QUERY__SET_OPERATION__SETOP_NONE;
	vals->limit_option = PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT;
	vals->n_values_lists = (size_t)nrows;
	vals->values_lists = ARENA_NEW_ARRAY(a, PgQuery__Node *, nrows);
	/* one block of ParamRefs, Nodes and item arrays: nrows * ncols of each */
	size_t nvals = (size_t)nrows * (size_t)ncols;
	PgQuery__ParamRef *refs = ARENA_NEW_ARRAY(a, PgQuery__ParamRef, nvals);
	PgQuery__Node *ref_nodes = ARENA_NEW_ARRAY(a, PgQuery__Node, nvals);
	PgQuery__Node **items = ARENA_NEW_ARRAY(a, PgQuery__Node *, nvals);
	for (int32_t r = 0; r < nrows; r++) {
		for (int32_t c = 0; c < ncols; c++) {
			size_t k = (size_t)r * (size_t)ncols + (size_t)c;
			pg_query__param_ref__init(&refs[k]);
			refs[k].number = (int32_t)k + 1;
			refs[k].location = -1;
			pg_query__node__init(&ref_nodes[k]);
			ref_nodes[k].node_case = PG_QUERY__NODE__NODE_PARAM_REF;
			ref_nodes[k].param_ref = &refs[k];
			items[k] = &ref_nodes[k];
		}
		PgQuery__List *l = ARENA_NEW(a, PgQuery__List);
		pg_query__list__init(l);
		l->n_items = (size_t)ncols;
		l->items = &items[(size_t)r * (size_t)ncols];
		PgQuery__Node *ln = node_new(a);
		ln->node_case = PG_QUERY__NODE__NODE_LIST;
		ln->list = l;
		vals->values_lists[r] = ln;
	}
	PgQuery__Node *sn = node_new(a);
	sn->node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
	sn->select_stmt = vals;
	ins->select_stmt = sn;
	PgQuery__Node *top = node_new(a);
	top->node_case = PG_QUERY__NODE__NODE_INSERT_STMT;
	top->insert_stmt = ins;
	return deparse_tree(a, parse_sub_stmt(a, stmt, top), out, err);
}
