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

#include <string.h>

#include <pg_query.h>

#include "planner/parse_int.h"

typedef struct Saved {
	PgQuery__RangeVar *rv;
	char *schema;
	PgQuery__Alias *alias;
} Saved;

static Saved *
apply_renames(Arena *a, const ParseInfo *info, const DeparseRename *renames, int32_t n)
{
	Saved *saved = ARENA_NEW_ARRAY(a, Saved, n + 1);
	for (int32_t i = 0; i < n; i++) {
		SG_ASSERT(renames[i].rel >= 0 && renames[i].rel < info->nrels);
		PgQuery__RangeVar *rv = info->rels[renames[i].rel].node;
		saved[i] = (Saved){rv, rv->schemaname, rv->alias};
		rv->schemaname = (char *)renames[i].schema;
		if (renames[i].keep_alias && rv->alias == NULL) {
			PgQuery__Alias *al = ARENA_NEW(a, PgQuery__Alias);
			pg_query__alias__init(al);
			al->aliasname = rv->relname;
			rv->alias = al;
		}
	}
	return saved;
}

static void
restore_renames(Saved *saved, int32_t n)
{
	for (int32_t i = n - 1; i >= 0; i--) {
		saved[i].rv->schemaname = saved[i].schema;
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

bool
deparse_stmt(Arena *a, const ParsedStmt *stmt, const ParseInfo *info, const DeparseRename *renames,
             int32_t nrenames, char **out, SgError *err)
{
	Saved *saved = apply_renames(a, info, renames, nrenames);
	bool ok = deparse_node(a, stmt->version, stmt->raw->stmt, out, err);
	restore_renames(saved, nrenames);
	return ok;
}

bool
deparse_insert_rows(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                    const DeparseRename *renames, int32_t nrenames, const int32_t *rows,
                    int32_t nrows, char **out, SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_INSERT_STMT);
	PgQuery__Node *sel = top->insert_stmt->select_stmt;
	SG_ASSERT(sel != NULL && sel->node_case == PG_QUERY__NODE__NODE_SELECT_STMT);
	PgQuery__SelectStmt *s = sel->select_stmt;
	size_t old_n = s->n_values_lists;
	PgQuery__Node **old = s->values_lists;
	PgQuery__Node **subset = ARENA_NEW_ARRAY(a, PgQuery__Node *, nrows + 1);
	for (int32_t i = 0; i < nrows; i++) {
		SG_ASSERT(rows[i] >= 0 && (size_t)rows[i] < old_n);
		subset[i] = old[rows[i]];
	}
	s->values_lists = subset;
	s->n_values_lists = (size_t)nrows;
	bool ok = deparse_stmt(a, stmt, info, renames, nrenames, out, err);
	s->values_lists = old;
	s->n_values_lists = old_n;
	return ok;
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
	PgQuery__Node node;
	pg_query__node__init(&node);
	node.node_case = PG_QUERY__NODE__NODE_SELECT_STMT;
	node.select_stmt = acc;
	return deparse_node(a, stmt->version, &node, out, err);
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

bool
deparse_drop_objects(Arena *a, const ParsedStmt *stmt, const ParseName *names, int32_t n,
                     char **out, SgError *err)
{
	PgQuery__Node *top = stmt->raw->stmt;
	SG_ASSERT(top->node_case == PG_QUERY__NODE__NODE_DROP_STMT);
	PgQuery__DropStmt *d = top->drop_stmt;
	PgQuery__Node **objs = ARENA_NEW_ARRAY(a, PgQuery__Node *, n + 1);
	for (int32_t i = 0; i < n; i++) {
		PgQuery__List *l = ARENA_NEW(a, PgQuery__List);
		pg_query__list__init(l);
		l->items = ARENA_NEW_ARRAY(a, PgQuery__Node *, 2);
		if (names[i].schema != NULL)
			l->items[l->n_items++] = string_node(a, names[i].schema);
		l->items[l->n_items++] = string_node(a, names[i].name);
		PgQuery__Node *ln = ARENA_NEW(a, PgQuery__Node);
		pg_query__node__init(ln);
		ln->node_case = PG_QUERY__NODE__NODE_LIST;
		ln->list = l;
		objs[i] = ln;
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
