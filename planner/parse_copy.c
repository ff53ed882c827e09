/*
 * parse_copy.c: planning of `COPY ... FROM STDIN` (planner_plan_copy).
 *
 * The third file that sees libpg_query's protobuf types (with parse.c and
 * deparse.c): COPY's options are DefElems of the statement tree, and the
 * per-shard statements are the client's own tree with the relation renamed
 * to the shard and HEADER removed (the gateway skips the header line itself),
 * deparsed by deparse_tree(), never pasted.
 *
 * Local table: one dest (the first node), stream mode. Reference table: one
 * dest per active node, stream mode. Distributed table: one dest per shard,
 * split mode. Anything else (COPY TO, files, programs, WHERE on a
 * distributed table) is left to planner_plan_stmt (*is_copy = false) or
 * refused with 0A000.
 */
#include "planner/planner.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "planner/deparse.h"
#include "planner/parse_int.h"
#include "storage/shardmap.h"

/* copy_deparse: the statement with the relation renamed (schema NULL: unchanged) and, when
 * drop_header, without its HEADER option; the tree is restored before returning */
static bool
copy_deparse(Arena *a, const ParsedStmt *stmt, PgQuery__CopyStmt *cs, const char *schema,
             bool drop_header, char **out, SgError *err)
{
	PgQuery__RangeVar *rv = cs->relation;
	char *saved_schema = rv->schemaname;
	size_t saved_n = cs->n_options;
	PgQuery__Node **saved_opts = cs->options;
	if (schema != NULL)
		rv->schemaname = (char *)schema;
	if (drop_header) {
		PgQuery__Node **opts = arena_alloc(a, sizeof(PgQuery__Node *) * (saved_n + 1));
		size_t n = 0;
		for (size_t i = 0; i < saved_n; i++) {
			PgQuery__Node *o = saved_opts[i];
			if (o->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
			    strcmp(o->def_elem->defname, "header") == 0)
				continue;
			opts[n++] = o;
		}
		cs->options = opts;
		cs->n_options = n;
	}
	bool ok = deparse_tree(a, stmt, out, err);
	rv->schemaname = saved_schema;
	cs->options = saved_opts;
	cs->n_options = saved_n;
	return ok;
}

/* defelem_text: a DefElem's argument as text (string, integer or boolean), NULL if none */
static const char *
defelem_text(Arena *a, const PgQuery__DefElem *d)
{
	const PgQuery__Node *n = d->arg;
	if (n == NULL)
		return NULL;
	switch (n->node_case) {
	case PG_QUERY__NODE__NODE_STRING:
		return n->string->sval;
	case PG_QUERY__NODE__NODE_INTEGER:
		return arena_printf(a, "%d", n->integer->ival);
	case PG_QUERY__NODE__NODE_BOOLEAN:
		return n->boolean->boolval ? "true" : "false";
	case PG_QUERY__NODE__NODE_A_STAR:
		return "*";
	default:
		return NULL;
	}
}

static bool
text_is_true(const char *v)
{
	return v == NULL || strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0 ||
	       strcmp(v, "1") == 0 || strcasecmp(v, "match") == 0;
}

/* list_has: does a DefElem list argument (column names, or *) name col */
static bool
list_has(const PgQuery__DefElem *d, const char *col)
{
	const PgQuery__Node *n = d->arg;
	if (n == NULL)
		return false;
	if (n->node_case == PG_QUERY__NODE__NODE_A_STAR)
		return true;
	if (n->node_case != PG_QUERY__NODE__NODE_LIST)
		return false;
	for (size_t i = 0; i < n->list->n_items; i++) {
		const PgQuery__Node *it = n->list->items[i];
		if (it->node_case == PG_QUERY__NODE__NODE_STRING && strcmp(it->string->sval, col) == 0)
			return true;
	}
	return false;
}

static bool
single_char(const char *name, const char *v, char *out, SgError *err)
{
	if (v == NULL || strlen(v) != 1)
		return sg_error_set(err, "0A000", "COPY %s must be a single one-byte character", name);
	*out = v[0];
	return true;
}

/* copy_options: read FORMAT, DELIMITER, NULL, HEADER, QUOTE, ESCAPE, FORCE_* into cp */
static bool
copy_options(Arena *a, const PgQuery__CopyStmt *cs, const char *key_col, CopyPlan *cp, SgError *err)
{
	cp->format = COPYPLAN_TEXT;
	for (size_t i = 0; i < cs->n_options; i++) {
		const PgQuery__Node *o = cs->options[i];
		if (o->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
			continue;
		const PgQuery__DefElem *d = o->def_elem;
		if (strcmp(d->defname, "format") == 0) {
			const char *v = defelem_text(a, d);
			if (v != NULL && strcasecmp(v, "csv") == 0)
				cp->format = COPYPLAN_CSV;
			else if (v != NULL && strcasecmp(v, "binary") == 0)
				cp->format = COPYPLAN_BINARY;
			else if (v == NULL || strcasecmp(v, "text") != 0)
				return sg_error_set(err, "22023", "COPY format \"%s\" not recognized",
				                    v != NULL ? v : "");
		}
	}
	cp->delimiter = cp->format == COPYPLAN_CSV ? ',' : '\t';
	cp->null_string = cp->format == COPYPLAN_CSV ? "" : "\\N";
	cp->quote = '"';
	cp->escape = 0;
	for (size_t i = 0; i < cs->n_options; i++) {
		const PgQuery__Node *o = cs->options[i];
		if (o->node_case != PG_QUERY__NODE__NODE_DEF_ELEM)
			continue;
		const PgQuery__DefElem *d = o->def_elem;
		const char *v = defelem_text(a, d);
		if (strcmp(d->defname, "delimiter") == 0) {
			if (!single_char("delimiter", v, &cp->delimiter, err))
				return false;
		} else if (strcmp(d->defname, "null") == 0) {
			cp->null_string = v != NULL ? v : "";
		} else if (strcmp(d->defname, "header") == 0) {
			cp->header = text_is_true(v);
		} else if (strcmp(d->defname, "quote") == 0) {
			if (!single_char("quote", v, &cp->quote, err))
				return false;
		} else if (strcmp(d->defname, "escape") == 0) {
			if (!single_char("escape", v, &cp->escape, err))
				return false;
		} else if (strcmp(d->defname, "force_not_null") == 0) {
			cp->key_force_not_null = key_col != NULL && list_has(d, key_col);
		} else if (strcmp(d->defname, "force_null") == 0) {
			cp->key_force_null = key_col != NULL && list_has(d, key_col);
		} else if (strcmp(d->defname, "encoding") == 0) {
			if (v == NULL || (strcasecmp(v, "utf8") != 0 && strcasecmp(v, "utf-8") != 0))
				return sg_error_set(err, "0A000",
				                    "COPY with ENCODING other than UTF8 is not supported "
				                    "through shardgate");
		}
	}
	if (cp->escape == 0)
		cp->escape = cp->quote;
	if (cp->header && cp->format == COPYPLAN_BINARY)
		return sg_error_set(err, "0A000", "cannot specify HEADER in BINARY mode");
	return true;
}

bool
planner_plan_copy(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                  const char *search_path, Arena *a, DistPlan **out, bool *is_copy, SgError *err)
{
	*is_copy = false;
	PgQuery__Node *node = stmt->raw->stmt;
	if (node == NULL || node->node_case != PG_QUERY__NODE__NODE_COPY_STMT)
		return true;
	PgQuery__CopyStmt *cs = node->copy_stmt;
	bool from_stdin = cs->is_from && !cs->is_program &&
	                  (cs->filename == NULL || cs->filename[0] == '\0') && cs->relation != NULL;
	if (!from_stdin)
		return true; /* COPY TO and server-side files: the general planner */
	const PgQuery__RangeVar *rv = cs->relation;
	const char *schema = rv->schemaname != NULL && rv->schemaname[0] ? rv->schemaname : NULL;
	const CatTable *t = planner_resolve_table(snap, search_path, schema, rv->relname);
	const CatNode *first = catalog_first_node(snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");

	*is_copy = true;
	DistPlan *plan = ARENA_NEW(a, DistPlan);
	plan->kind = PLAN_COPY_IN;
	plan->is_write = true;
	plan->command_tag = "COPY";
	CopyPlan *cp = &plan->copy;

	/* columns: the list, or the table's own */
	if (cs->n_attlist > 0) {
		cp->ncolumns = (int32_t)cs->n_attlist;
		cp->columns = ARENA_NEW_ARRAY(a, const char *, cs->n_attlist);
		for (size_t i = 0; i < cs->n_attlist; i++) {
			const PgQuery__Node *c = cs->attlist[i];
			cp->columns[i] = c->node_case == PG_QUERY__NODE__NODE_STRING ? c->string->sval : "?";
		}
	} else if (t != NULL) {
		cp->ncolumns = t->ncolumns;
		cp->columns = (const char **)t->columns;
	}
	const char *key_col = t != NULL && t->kind == TABLE_DISTRIBUTED ? t->dist_column : NULL;
	if (!copy_options(a, cs, key_col, cp, err))
		return false;

	if (t == NULL || t->kind == TABLE_REFERENCE) {
		/* stream mode: the statement as written, on the first node or on every node */
		cp->split = false;
		int32_t n = 0;
		cp->dests = ARENA_NEW_ARRAY(a, CopyDest, snap->nnodes + 1);
		for (int32_t i = 0; i < snap->nnodes; i++) {
			const CatNode *nd = &snap->nodes[i];
			if (!nd->is_active || (t == NULL && nd != first))
				continue;
			cp->dests[n].node_id = nd->id;
			cp->dests[n].sql = stmt_text;
			n++;
		}
		cp->ndests = n;
		if (t != NULL)
			plan->rows_from_node = first->id;
		*out = plan;
		return true;
	}

	/* split mode */
	if (cs->where_clause != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY FROM with WHERE into a distributed table is not supported yet");
	const CatGroup *g = catalog_find_group(snap, t->group_id);
	if (g == NULL)
		return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "co-location group %d is missing",
		                    t->group_id);
	cp->key_column = -1;
	for (int32_t i = 0; i < cp->ncolumns; i++)
		if (strcmp(cp->columns[i], t->dist_column) == 0)
			cp->key_column = i;
	/* left out without any default, it is NULL in every row: key_column -1 keeps every key NULL */
	if (cp->key_column < 0 && !catalog_dist_null_when_absent(t))
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY into the distributed table \"%s\" must include its distribution "
		                    "column \"%s\"",
		                    t->name, t->dist_column);
	cp->split = true;
	cp->key_type = t->dist_type;
	cp->shard_count = g->shard_count;
	cp->ndests = g->shard_count;
	cp->dests = ARENA_NEW_ARRAY(a, CopyDest, g->shard_count);
	for (int32_t i = 0; i < g->shard_count; i++) {
		cp->dests[i].node_id = g->placement[i];
		if (!copy_deparse(a, stmt, cs, catalog_shard_schema(a, g->id, i), true,
		                  (char **)&cp->dests[i].sql, err))
			return false;
	}
	*out = plan;
	return true;
}
