/*
 * ddl.c: schema changes across the fleet.
 *
 * Every node holds the shell of every table (the logical definition, empty
 * unless it is a reference table or a local table on the first node), so a
 * schema statement runs unchanged on every active node. When its target is a
 * distributed table, each node then runs the statement once more per shard
 * it holds, renamed to the shard table (`ALTER TABLE sg_g1_0.t ...`; index
 * names stay as written: the shard schema keeps them unique). All of a
 * node's statements form one task (one implicit transaction there), except
 * for statements PostgreSQL refuses inside a transaction block (VACUUM,
 * CREATE INDEX CONCURRENTLY...), which get one task each.
 *
 * DROP TABLE lists, per node, the shard tables there and then the objects
 * as written, in one statement; dropping a catalogued table also adds
 * `SELECT shardgate.forget_table($1, $2)` on the first (metadata) node after
 * its drop task, and marks the catalog changed. Temporary objects are local
 * to the first node.
 */
#include "planner/ddl.h"

#include "planner/planner.h"

#include <string.h>

#include "common/buf.h"
#include "planner/deparse.h"
#include "planner/tasks.h"

static bool
ddl_not_supported(SgError *err, const char *what, const ParseRel *r)
{
	return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED, "%s \"%s\" is not supported", what,
	                    r->name);
}

/* check_ddl: refuse changes the catalog cannot follow */
static bool
check_ddl(const Analysis *an, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	for (int32_t i = 0; i < pi->nrels; i++) {
		const ParseRel *r = &pi->rels[i];
		const RelInfo *ri = &an->rels[i];
		if (ri->table == NULL)
			continue;
		if (!r->is_target) {
			if (pi->has_query_body && ri->cls == REL_DISTRIBUTED)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "%s over a distributed table (\"%s\") is not supported yet",
				                    pi->tag, r->name);
			if (pi->has_query_body && pi->kind == PARSE_DDL && strcmp(pi->tag, "CREATE VIEW") != 0)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "%s reading a reference table (\"%s\") is not supported yet",
				                    pi->tag, r->name);
			continue;
		}
		if (pi->renames_relation)
			return ddl_not_supported(err, "renaming or moving the catalogued table", r);
		if (ri->cls != REL_DISTRIBUTED)
			continue;
		const char *dc = ri->table->dist_column;
		if (pi->renamed_column != NULL && strcmp(pi->renamed_column, dc) == 0)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "renaming the distribution column \"%s\" of \"%s\" is not "
			                    "supported",
			                    dc, r->name);
		for (int32_t k = 0; k < pi->nalter; k++)
			if (pi->alter_kinds[k] != PARSE_ALTER_OTHER && pi->alter_cols[k] != NULL &&
			    strcmp(pi->alter_cols[k], dc) == 0)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "%s the distribution column \"%s\" of \"%s\" is not "
				                    "supported",
				                    pi->alter_kinds[k] == PARSE_ALTER_COLUMN_TYPE
				                        ? "changing the type of"
				                        : "dropping",
				                    dc, r->name);
	}
	return true;
}

/* in_dropped_schema: t lives in one of the schemas a DROP SCHEMA names */
static bool
in_dropped_schema(const ParseInfo *pi, const CatTable *t)
{
	for (int32_t k = 0; k < pi->ndrop; k++)
		if (pi->drop[k].name != NULL && strcmp(t->schema, pi->drop[k].name) == 0)
			return true;
	return false;
}

/* append_ident: name as a quoted identifier */
static void
append_ident(Buf *b, const char *name)
{
	buf_append(b, "\"", 1);
	for (const char *c = name; *c != '\0'; c++) {
		if (*c == '"')
			buf_append(b, "\"\"", 2);
		else
			buf_append(b, c, 1);
	}
	buf_append(b, "\"", 1);
}

/*
 * plan_drop_schemas: DROP SCHEMA ... CASCADE holding catalogued tables: each
 * node first drops the shard tables of those tables it holds, then runs the
 * statement (which drops the shells); the catalog forgets the tables. Without
 * CASCADE the statement runs as written and PostgreSQL refuses it (2BP01).
 */
static bool
plan_drop_schemas(const Analysis *an, Arena *a, DistPlan *plan, int32_t first_node)
{
	const ParseInfo *pi = &an->pi;
	const CatalogSnapshot *snap = an->snap;
	TaskList tl;
	tasks_init(&tl, a);
	for (int32_t n = 0; n < snap->nnodes; n++) {
		const CatNode *node = &snap->nodes[n];
		if (!node->is_active)
			continue;
		Buf b;
		buf_init(&b);
		for (int32_t t = 0; t < snap->ntables; t++) {
			const CatTable *tab = &snap->tables[t];
			const CatGroup *g = tab->kind == TABLE_DISTRIBUTED && in_dropped_schema(pi, tab)
			                        ? catalog_find_group(snap, tab->group_id)
			                        : NULL;
			for (int32_t s = 0; g != NULL && s < g->shard_count; s++) {
				if (g->placement[s] != node->id)
					continue;
				buf_printf(&b, "%s", buf_avail(&b) == 0 ? "DROP TABLE IF EXISTS " : ", ");
				append_ident(&b, catalog_shard_schema(a, g->id, s));
				buf_append(&b, ".", 1);
				append_ident(&b, tab->name);
			}
		}
		SqlList sl;
		sqllist_init(&sl, a);
		if (buf_avail(&b) > 0) {
			buf_printf(&b, " CASCADE");
			sqllist_add(&sl, arena_strndup(a, buf_head(&b), buf_avail(&b)));
		}
		buf_free(&b);
		sqllist_add(&sl, an->text);
		sqllist_to_tasks(&sl, &tl, node->id, an->params != NULL);
		if (node->id != first_node)
			continue;
		for (int32_t t = 0; t < snap->ntables; t++)
			if (in_dropped_schema(pi, &snap->tables[t]))
				tasks_add_forget_table(&tl, node->id, &snap->tables[t], plan);
	}
	tasks_store(&tl, plan);
	return true;
}

static void
set_ddl_plan(const Analysis *an, DistPlan *plan)
{
	const ParseInfo *pi = &an->pi;
	plan->kind = PLAN_TASKS;
	plan->combine = COMBINE_CONCAT;
	plan->command_tag = pi->tag;
	/* CREATE TABLE AS / SELECT INTO answer "SELECT n"; the shells elsewhere add 0 */
	plan->has_count = pi->has_query_body &&
	                  (strcmp(pi->tag, "CREATE TABLE AS") == 0 || strcmp(pi->tag, "SELECT") == 0);
	if (plan->has_count)
		plan->command_tag = "SELECT";
	plan->is_write = true;
	plan->is_ddl = true;
	plan->in_txn_forbidden = pi->in_txn_forbidden;
}

static bool
plan_drop_tables(const Analysis *an, Arena *a, DistPlan *plan, int32_t first_node, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const CatalogSnapshot *snap = an->snap;
	const CatTable **tabs = ARENA_NEW_ARRAY(a, const CatTable *, pi->ndrop + 1);
	for (int32_t k = 0; k < pi->ndrop; k++)
		tabs[k] =
		    planner_resolve_table(snap, an->search_path, pi->drop[k].schema, pi->drop[k].name);
	TaskList tl;
	tasks_init(&tl, a);
	for (int32_t n = 0; n < snap->nnodes; n++) {
		const CatNode *node = &snap->nodes[n];
		if (!node->is_active)
			continue;
		int32_t cap = pi->ndrop + 1, count = 0;
		for (int32_t k = 0; k < pi->ndrop; k++)
			if (tabs[k] != NULL && tabs[k]->kind == TABLE_DISTRIBUTED) {
				const CatGroup *g = catalog_find_group(snap, tabs[k]->group_id);
				cap += g != NULL ? g->shard_count : 0;
			}
		ParseName *names = ARENA_NEW_ARRAY(a, ParseName, cap);
		for (int32_t k = 0; k < pi->ndrop; k++) {
			if (tabs[k] == NULL || tabs[k]->kind != TABLE_DISTRIBUTED)
				continue;
			const CatGroup *g = catalog_find_group(snap, tabs[k]->group_id);
			for (int32_t s = 0; g != NULL && s < g->shard_count; s++)
				if (g->placement[s] == node->id)
					names[count++] = (ParseName){catalog_shard_schema(a, g->id, s), tabs[k]->name};
		}
		for (int32_t k = 0; k < pi->ndrop; k++)
			names[count++] = pi->drop[k];
		char *sql;
		if (!deparse_drop_objects(a, an->stmt, names, count, &sql, err))
			return false;
		tasks_add(&tl, node->id, sql);
		if (node->id != first_node)
			continue;
		for (int32_t k = 0; k < pi->ndrop; k++)
			if (tabs[k] != NULL)
				tasks_add_forget_table(&tl, node->id, tabs[k], plan);
	}
	tasks_store(&tl, plan);
	return true;
}

bool
ddl_plan(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const CatalogSnapshot *snap = an->snap;
	const CatNode *first = catalog_first_node(snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
	if (!check_ddl(an, err))
		return false;
	set_ddl_plan(an, plan);
	TaskList tl;
	tasks_init(&tl, a);
	if (pi->kind == PARSE_DDL_LOCAL) {
		tasks_add(&tl, first->id, an->text);
		tasks_store(&tl, plan);
		plan->combine = COMBINE_RELAY;
		plan->is_ddl = false;
		return true;
	}
	if (pi->is_drop && pi->drop_is_table)
		return plan_drop_tables(an, a, plan, first->id, err);
	if (pi->is_drop && pi->drop_is_schema && pi->drop_cascade)
		return plan_drop_schemas(an, a, plan, first->id);

	bool catalogued_target = false;
	for (int32_t n = 0; n < snap->nnodes; n++) {
		const CatNode *node = &snap->nodes[n];
		if (!node->is_active)
			continue;
		SqlList sl;
		sqllist_init(&sl, a);
		sqllist_add(&sl, an->text);
		for (int32_t i = 0; i < pi->nrels; i++) {
			const RelInfo *ri = &an->rels[i];
			if (!pi->rels[i].is_target || ri->table == NULL)
				continue;
			catalogued_target = true;
			if (ri->cls != REL_DISTRIBUTED)
				continue;
			for (int32_t s = 0; s < ri->group->shard_count; s++) {
				if (ri->group->placement[s] != node->id)
					continue;
				DeparseRename ren = {.rel = i,
				                     .schema = catalog_shard_schema(a, ri->group->id, s),
				                     .keep_alias = false};
				char *sql;
				if (!deparse_stmt(a, an->stmt, pi, &ren, 1, &sql, err))
					return false;
				sqllist_add(&sl, sql);
			}
		}
		/* extended protocol: one statement per task */
		sqllist_to_tasks(&sl, &tl, node->id, pi->in_txn_forbidden || an->params != NULL);
	}
	tasks_store(&tl, plan);
	/* a catalogued table's columns may have changed: reload them */
	if (catalogued_target && (strcmp(pi->tag, "ALTER TABLE") == 0 || pi->renamed_column != NULL))
		plan->catalog_changed = true;
	return true;
}
