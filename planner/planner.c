/*
 * planner.c: the planner's entry points (planner.h).
 *
 * planner_split() is parse_split(). planner_plan_stmt() analyzes one
 * statement (analyze.c) and picks the cheapest tier that applies:
 *
 *   transaction control        -> PLAN_TXN_CONTROL (the session runs it)
 *   create_distributed_table() -> PLAN_GATEWAY_FUNC (the session runs it)
 *   schema statements          -> ddl.c: every node, shards renamed
 *   EXPLAIN on catalogued      -> explain.c: the explained statement's plan
 *     tables                      as QUERY PLAN rows; ANALYZE runs it, each
 *                                 answering fragment as the node's EXPLAIN
 *                                 ANALYZE (exec.c gathers the figures)
 *   no distributed table       -> the first node, original text; a write
 *                                 to a reference table goes to every node
 *   INSERT ... VALUES          -> router.c: rows split by shard
 *   INSERT ... SELECT          -> fanout.c: per shard when co-located;
 *                                 otherwise insert_select.c: the SELECT's
 *                                 rows through the gateway, re-inserted in
 *                                 per-shard batches (PLAN_INSERT_SELECT)
 *   all pinned on one node     -> router.c: one task, relayed
 *   concatenation is the answer -> fanout.c: every shard (co-located
 *                                 relations renamed to the same shard)
 *   any other SELECT           -> multistage.c: relations pulled into temp
 *                                 tables on the first node, the statement
 *                                 runs there (top-N, partial aggregates)
 *
 * Writes mixing a distributed table with a local one (including pg_catalog
 * relations) are refused, except INSERT ... SELECT (its rows move through the
 * gateway): the local table only exists on the first node.
 * A SELECT doing so runs multi-stage, on the first node.
 */
#include "planner/planner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "planner/analyze.h"
#include "planner/ddl.h"
#include "planner/deparse.h"
#include "planner/explain.h"
#include "planner/fanout.h"
#include "planner/insert_select.h"
#include "planner/joinagg.h"
#include "planner/multistage.h"
#include "planner/parse.h"
#include "planner/repartition.h"
#include "planner/router.h"
#include "planner/semijoin.h"
#include "planner/tasks.h"
#include "planner/wrap.h"

bool
planner_split(Arena *a, const char *sql, StmtList *out, SgError *err)
{
	return parse_split(a, sql, out, err);
}

/* plan_one_node: the statement's original text as the only task on node_id, relayed */
static void
plan_one_node(const Analysis *an, Arena *a, DistPlan *plan, int32_t node_id)
{
	TaskList tl;
	tasks_init(&tl, a);
	tasks_add(&tl, node_id, an->text);
	tasks_store(&tl, plan);
	plan->combine = COMBINE_RELAY;
	plan->command_tag = an->pi.tag;
	plan->has_count = analyze_is_dml(an) || an->pi.kind == PARSE_SELECT;
	plan->returns_rows = analyze_returns_rows(an);
	plan->is_write = analyze_is_dml(an);
	plan->in_txn_forbidden = an->pi.in_txn_forbidden;
}

/*
 * plan_every_node: a write to reference tables, the original text on every
 * active node; the client sees one copy of the rows and count (the first
 * node's).
 */
static void
plan_every_node(const Analysis *an, Arena *a, DistPlan *plan, int32_t first_node)
{
	TaskList tl;
	tasks_init(&tl, a);
	for (int32_t n = 0; n < an->snap->nnodes; n++)
		if (an->snap->nodes[n].is_active)
			tasks_add(&tl, an->snap->nodes[n].id, an->text);
	tasks_store(&tl, plan);
	plan->combine = COMBINE_CONCAT;
	plan->command_tag = an->pi.tag;
	plan->has_count = true;
	plan->returns_rows = analyze_returns_rows(an);
	plan->is_write = true;
	plan->rows_from_node = first_node;
}

static const char *
arg_text(const ParseFunc *f, int32_t i)
{
	return f->args[i].kind == PV_CONST ? f->args[i].text : NULL;
}

/* plan_gateway_func: SELECT create_distributed_table(...) / create_reference_table(...) */
static bool
plan_gateway_func(const ParseFunc *f, DistPlan *plan, SgError *err)
{
	static const char *const dist_params[] = {"table_name", "distribution_column",
	                                          "distribution_type", "colocate_with", "shard_count"};
	bool is_dist = strcmp(f->name, "create_distributed_table") == 0;
	bool is_recover = strcmp(f->name, "recover_prepared_transactions") == 0;
	bool is_active = strcmp(f->name, "shardgate_transactions") == 0;
	bool is_cache = strcmp(f->name, "shardgate_plan_cache") == 0;
	bool is_pools = strcmp(f->name, "shardgate_pools") == 0;
	if (is_recover || is_active || is_cache || is_pools ||
	    strcmp(f->name, "shardgate_prepared_transactions") == 0) {
		/* operator functions without arguments, answered by the gateway */
		if (f->nargs != 0)
			return sg_error_set(err, SQLSTATE_UNDEFINED_FUNCTION, "function %s takes no arguments",
			                    f->name);
		plan->kind = PLAN_GATEWAY_FUNC;
		plan->func = is_recover  ? GWF_RECOVER_PREPARED
		             : is_active ? GWF_LIST_ACTIVE
		             : is_cache  ? GWF_PLAN_CACHE
		             : is_pools  ? GWF_LIST_POOLS
		                         : GWF_LIST_PREPARED;
		plan->func_result_column = f->result;
		return true;
	}
	int32_t nparams = is_dist ? 5 : 1;
	const char *vals[5] = {0};
	bool given[5] = {0};
	bool named_seen = false;
	for (int32_t i = 0; i < f->nargs; i++) {
		int32_t slot = i;
		if (f->arg_names[i] != NULL) {
			named_seen = true;
			slot = -1;
			for (int32_t k = 0; k < nparams; k++)
				if (strcmp(f->arg_names[i], dist_params[k]) == 0)
					slot = k;
			if (slot < 0)
				return sg_error_set(err, SQLSTATE_UNDEFINED_FUNCTION,
				                    "%s has no parameter named \"%s\"", f->name, f->arg_names[i]);
		} else if (named_seen) {
			return sg_error_set(err, SQLSTATE_SYNTAX_ERROR,
			                    "positional argument cannot follow named argument");
		}
		if (slot >= nparams)
			return sg_error_set(err, SQLSTATE_UNDEFINED_FUNCTION,
			                    "function %s called with too many arguments", f->name);
		if (given[slot])
			return sg_error_set(err, SQLSTATE_SYNTAX_ERROR, "argument \"%s\" given more than once",
			                    dist_params[slot]);
		given[slot] = true;
		vals[slot] = arg_text(f, i);
		if (vals[slot] == NULL)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "the arguments of %s must be constants", f->name);
	}
	if (vals[0] == NULL || (is_dist && vals[1] == NULL))
		return sg_error_set(err, SQLSTATE_UNDEFINED_FUNCTION,
		                    is_dist ? "create_distributed_table needs a table name and a "
		                              "distribution column"
		                            : "create_reference_table needs a table name");
	plan->kind = PLAN_GATEWAY_FUNC;
	plan->func = is_dist ? GWF_CREATE_DISTRIBUTED_TABLE : GWF_CREATE_REFERENCE_TABLE;
	plan->func_table = vals[0];
	plan->func_result_column = f->result;
	plan->catalog_changed = true;
	plan->is_write = true;
	if (!is_dist)
		return true;
	plan->func_column = vals[1];
	if (vals[2] != NULL && strcmp(vals[2], "hash") != 0)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "distribution_type \"%s\" is not supported: only hash", vals[2]);
	if (vals[3] != NULL && strcmp(vals[3], "default") != 0 && strcmp(vals[3], "none") != 0)
		plan->func_colocate_with = vals[3];
	if (vals[4] != NULL) {
		char *end;
		errno = 0;
		long n = strtol(vals[4], &end, 10);
		if (errno != 0 || *end != '\0' || end == vals[4] || n < 1 || n > 64000)
			return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
			                    "shard_count must be between 1 and 64000, not \"%s\"", vals[4]);
		plan->func_shard_count = (int32_t)n;
	}
	return true;
}

static bool
refuse_local_mix(const Analysis *an, SgError *err)
{
	const ParseRel *r = &an->pi.rels[an->first_local];
	sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	             "relation \"%s\" is not distributed: using it with distributed tables is not "
	             "supported",
	             r->name);
	sg_error_hint(err, "Make it a reference table with SELECT create_reference_table('%s').",
	              r->name);
	return false;
}

/*
 * The catalog views a SELECT reads through shardgate's views of the same
 * rows without the shard schemas sg_g<g>_<i> and their tables (sql/catalog.sql),
 * so catalog browsing shows the logical schemas and tables. A pg_catalog view
 * may be named without its schema, an information_schema view may not.
 */
static const struct {
	const char *schema, *name, *view;
	bool newer; /* created with has_table_views, not has_namespace_view */
} hidden_views[] = {
    {"pg_catalog", "pg_namespace", "pg_namespace", false},
    {"pg_catalog", "pg_tables", "pg_tables", true},
    {"information_schema", "schemata", "info_schemata", true},
    {"information_schema", "tables", "info_tables", true},
};

/* hidden_view: shardgate's view in place of relation r, or NULL */
static const char *
hidden_view(const CatalogSnapshot *snap, const ParseRel *r)
{
	if (r->is_cte_ref)
		return NULL;
	for (size_t k = 0; k < sizeof(hidden_views) / sizeof(hidden_views[0]); k++) {
		if (strcmp(r->name, hidden_views[k].name) != 0)
			continue;
		bool pg = strcmp(hidden_views[k].schema, "pg_catalog") == 0;
		if (r->schema != NULL ? strcmp(r->schema, hidden_views[k].schema) != 0 : !pg)
			continue;
		/* a cluster set up before the view existed */
		if (hidden_views[k].newer ? !snap->has_table_views : !snap->has_namespace_view)
			return NULL;
		return hidden_views[k].view;
	}
	return NULL;
}

/* hide_shard_schemas: the SELECT reads the views above in place of the catalog's */
static bool
hide_shard_schemas(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	DeparseRename *ren = ARENA_NEW_ARRAY(a, DeparseRename, pi->nrels + 1);
	int32_t n = 0;
	for (int32_t i = 0; i < pi->nrels; i++) {
		const ParseRel *r = &pi->rels[i];
		const char *view = hidden_view(an->snap, r);
		if (view == NULL)
			continue;
		ren[n++] = (DeparseRename){.rel = i,
		                           .schema = "shardgate",
		                           .keep_alias = strcmp(view, r->name) != 0,
		                           .relname = strcmp(view, r->name) != 0 ? view : NULL};
	}
	if (n == 0)
		return true;
	char *sql;
	if (!deparse_stmt(a, an->stmt, pi, ren, n, &sql, err))
		return false;
	plan->tasks[0].sql = sql;
	plan->text_rewritten = true;
	return true;
}

static bool plan_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                      const char *search_path, const PlanParams *params, const PlanShape *shape,
                      Arena *a, DistPlan **out, SgError *err);

static bool inline_sql(const Analysis *an, Arena *a, const int32_t *rels, int32_t n,
                       bool placeholders, StmtList *out, SgError *err);
static bool plan_with_inlined(const Analysis *an, Arena *a, const int32_t *rels, int32_t n,
                              const PlanShape *shape, DistPlan *plan, SgError *err);

/*
 * plan_inlined: an UPDATE / DELETE that fan-out cannot answer (why) because
 * it reads distributed tables other than its target: each is read first
 * (PLAN_PREFETCH) and the statement planned again with them inlined as
 * arrays of rows (semijoin.h)
 */
static bool
plan_inlined(const Analysis *an, Arena *a, DistPlan *plan, const SgError *why, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t *rels = ARENA_NEW_ARRAY(a, int32_t, pi->nrels + 1);
	int32_t n = 0;
	for (int32_t i = 0; i < pi->nrels; i++) {
		if (an->rels[i].cls != REL_DISTRIBUTED || pi->rels[i].is_target)
			continue;
		if (!semijoin_inlinable(an->rels[i].table))
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "%s reading the distributed table \"%s\" (not co-located, with "
			                    "float or non-built-in columns) is not supported",
			                    pi->tag, pi->rels[i].name);
		const KeySet *ks = semijoin_find_keys(an, -1, i);
		if (ks == NULL && !an->shape.describe_keys) {
			if (an->shape.no_prefetch || semijoin_max_keys_get() <= 0) {
				*err = *why;
				return false;
			}
			return semijoin_inline_prefetch(an, a, i, plan, err);
		}
		if (ks != NULL && ks->overflow)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "%s reading more than %d rows of the distributed table \"%s\" "
			                    "is not supported (semijoin_max_keys)",
			                    pi->tag, (int)semijoin_max_keys_get(), pi->rels[i].name);
		rels[n++] = i;
	}
	if (n == 0) {
		*err = *why;
		return false;
	}
	return plan_with_inlined(an, a, rels, n, &an->shape, plan, err);
}

/*
 * plan_with_inlined: plan the statement again with rels[0..n) inlined (their
 * fetched rows; placeholders for EXPLAIN), shaped like shape, nothing more
 * fetched
 */
static bool
plan_with_inlined(const Analysis *an, Arena *a, const int32_t *rels, int32_t n,
                  const PlanShape *shape, DistPlan *plan, SgError *err)
{
	StmtList sl;
	if (!inline_sql(an, a, rels, n, an->shape.describe_keys, &sl, err))
		return false;
	PlanShape again = *shape;
	again.no_prefetch = true;
	DistPlan *ip;
	if (!plan_stmt(an->snap, sl.stmts[0], sl.texts[0], an->search_path, an->params, &again, a, &ip,
	               err))
		return false;
	*plan = *ip;
	return true;
}

/* inline_sql: the statement with rels[0..n) inlined (rows fetched, or placeholders) */
static bool
inline_sql(const Analysis *an, Arena *a, const int32_t *rels, int32_t n, bool placeholders,
           StmtList *out, SgError *err)
{
	const char **lits = ARENA_NEW_ARRAY(a, const char *, n + 1);
	const char **schemas = ARENA_NEW_ARRAY(a, const char *, n + 1);
	for (int32_t k = 0; k < n; k++) {
		const KeySet *ks = placeholders ? NULL : semijoin_find_keys(an, -1, rels[k]);
		lits[k] = ks != NULL ? semijoin_rows_literal(a, ks)
		                     : arena_printf(a, "{<rows of %s>}", an->pi.rels[rels[k]].name);
		schemas[k] = an->rels[rels[k]].table->schema;
	}
	char *sql;
	if (!deparse_inline_rels(a, an->stmt, &an->pi, rels, schemas, lits, n, &sql, err) ||
	    !planner_split(a, sql, out, err))
		return false;
	SG_ASSERT(out->nstmts == 1);
	return true;
}

/*
 * plan_broadcast: a SELECT over distributed tables that are not co-located,
 * where every table outside the largest one's co-location group is small
 * (node statistics: est * nodes of the largest < its est, and at most
 * semijoin_max_keys rows): when the statement with those tables inlined
 * would fan out (joins per shard of the largest), their rows are fetched
 * (PLAN_PREFETCH) and sent with it to every node: a broadcast join. *done
 * false: not applicable (the caller plans multi-stage).
 */
static bool
plan_broadcast(const Analysis *an, Arena *a, DistPlan *plan, bool *done, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	*done = false;
	if (an->shape.one_task || (an->shape.no_prefetch && !an->shape.describe_keys) ||
	    semijoin_max_keys_get() <= 0)
		return true;
	int32_t big = -1;
	for (int32_t i = 0; i < pi->nrels; i++) {
		if (an->rels[i].cls != REL_DISTRIBUTED)
			continue;
		if (catalog_est_rows(an->rels[i].table) < 0)
			return true;
		if (big < 0 || catalog_est_rows(an->rels[i].table) > catalog_est_rows(an->rels[big].table))
			big = i;
	}
	if (big < 0)
		return true;
	int32_t *rels = ARENA_NEW_ARRAY(a, int32_t, pi->nrels + 1);
	InlinedRel *inl = ARENA_NEW_ARRAY(a, InlinedRel, pi->nrels + an->shape.ninlined + 1);
	int32_t n = 0;
	for (int32_t i = 0; i < pi->nrels; i++) {
		if (an->rels[i].cls != REL_DISTRIBUTED || an->rels[i].group == an->rels[big].group)
			continue;
		int64_t e = catalog_est_rows(an->rels[i].table);
		if (!semijoin_worth(an, big, e, true) || !semijoin_inlinable(an->rels[i].table))
			return true;
		inl[n] = (InlinedRel){parse_ref_name(&pi->rels[i]), an->rels[i].table};
		rels[n++] = i;
	}
	if (n == 0)
		return true;
	for (int32_t k = 0; k < an->shape.ninlined; k++)
		inl[n + k] = an->shape.inlined[k];
	/* would it fan out, or aggregate per shard? */
	StmtList sl;
	if (!inline_sql(an, a, rels, n, true, &sl, err))
		return false;
	Analysis trial;
	SgError why;
	if (!analyze_stmt(an->snap, sl.stmts[0], sl.texts[0], an->search_path, an->params, a, &trial,
	                  err))
		return false;
	trial.shape = an->shape;
	trial.shape.inlined = inl;
	trial.shape.ninlined = n + an->shape.ninlined;
	if (trial.nlocal > 0 || (!fanout_applies(&trial, &why) && !joinagg_applies(&trial)))
		return true;
	for (int32_t k = 0; k < n; k++) {
		const KeySet *ks = semijoin_find_keys(an, -1, rels[k]);
		if (ks == NULL && !an->shape.describe_keys) {
			*done = true;
			return semijoin_inline_prefetch(an, a, rels[k], plan, err);
		}
		if (ks != NULL && ks->overflow)
			return true; /* more rows than the estimate: multi-stage */
	}
	*done = true;
	return plan_with_inlined(an, a, rels, n, &trial.shape, plan, err);
}

/* plan_insert_query: the SELECT of an INSERT ... SELECT pulled through the gateway (with
 * parameters, so that every task holds one statement: the session binds binary results) */
static bool
plan_insert_query(const Analysis *an, const ParsedStmt *sel, const char *text, Arena *a,
                  DistPlan **out, SgError *err)
{
	static const PlanParams none = {0};
	/* the session runs this plan as it is: no key sets fetched first */
	static const PlanShape shape = {.no_prefetch = true, .in_block = true};
	return plan_stmt(an->snap, sel, text, an->search_path, an->params != NULL ? an->params : &none,
	                 &shape, a, out, err);
}

/*
 * plan_insert_select: INSERT ... SELECT reading distributed tables, or into a
 * distributed table: per shard when co-located (fanout_insert_select, via
 * router_insert), otherwise the rows move through the gateway
 * (insert_select.c)
 */
static bool
plan_insert_select(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	int32_t target = analyze_target(an);
	if (an->rels[target].cls == REL_DISTRIBUTED && an->nlocal == 0) {
		if (router_insert(an, a, plan, err))
			return true;
		if (strcmp(err->sqlstate, SQLSTATE_FEATURE_NOT_SUPPORTED) != 0)
			return false;
		memset(plan, 0, sizeof(*plan));
	}
	return insert_select_plan(an, a, plan_insert_query, plan, err);
}

/* plan_query: SELECT / INSERT / UPDATE / DELETE / MERGE */
static bool
plan_query(const Analysis *an, Arena *a, DistPlan *plan, int32_t first_node, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t target = analyze_target(an);
	const RelInfo *tr = target >= 0 ? &an->rels[target] : NULL;
	if (an->ndist == 0) {
		if (tr != NULL && tr->cls == REL_REFERENCE) {
			if (an->nlocal > 0 && pi->kind == PARSE_INSERT && pi->insert_has_select &&
			    !pi->insert_default_values)
				return insert_select_plan(an, a, plan_insert_query, plan, err);
			if (an->nlocal > 0)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "writing a reference table from the local table \"%s\" is "
				                    "not supported",
				                    pi->rels[an->first_local].name);
			plan_every_node(an, a, plan, first_node);
			return true;
		}
		plan_one_node(an, a, plan, first_node);
		return pi->kind != PARSE_SELECT || hide_shard_schemas(an, a, plan, err);
	}
	if (pi->kind == PARSE_SELECT) {
		bool routed;
		if (an->nlocal == 0) {
			if (!router_try(an, a, plan, &routed, err))
				return false;
			if (routed && (an->shape.one_node == 0 || plan->tasks[0].node_id == an->shape.one_node))
				return true;
			if (routed)
				memset(plan, 0, sizeof(*plan)); /* a cursor's shard elsewhere: pull it */
			SgError why;
			if (!an->shape.one_task && fanout_applies(an, &why))
				return fanout_plan(an, a, plan, err);
			if (joinagg_applies(an))
				return joinagg_plan(an, a, plan, err);
			bool done;
			if (!plan_broadcast(an, a, plan, &done, err))
				return false;
			if (done)
				return true;
			if (!repartition_plan(an, a, plan, &done, err))
				return false;
			if (done)
				return true;
		}
		return multistage_plan(an, a, plan, err);
	}
	if (pi->kind == PARSE_INSERT && pi->insert_has_select && !pi->insert_default_values &&
	    target >= 0)
		return plan_insert_select(an, a, plan, err);
	if (an->nlocal > 0)
		return refuse_local_mix(an, err);
	if (pi->kind == PARSE_MERGE)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "MERGE on a distributed table is not supported yet");
	if (tr != NULL && tr->cls != REL_DISTRIBUTED)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "%s of the reference table \"%s\" reading a distributed table is not "
		                    "supported",
		                    pi->tag, pi->rels[target].name);
	if (pi->kind == PARSE_INSERT)
		return router_insert(an, a, plan, err);
	if (pi->kind == PARSE_UPDATE)
		for (int32_t i = 0; i < pi->nset_cols; i++)
			if (strcmp(pi->set_cols[i], tr->table->dist_column) == 0)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "modifying the distribution column is not supported");
	bool routed;
	if (!router_try(an, a, plan, &routed, err))
		return false;
	if (routed)
		return true;
	SgError why;
	if (!fanout_applies(an, &why))
		return plan_inlined(an, a, plan, &why, err);
	return fanout_plan(an, a, plan, err);
}

/*
 * plan_wrapped: COPY ... TO / DECLARE CURSOR on distributed or reference
 * tables: the query is planned as one relayed task, then wrapped (wrap.c)
 */
static bool
plan_wrapped(const Analysis *an, const PlanParams *params, Arena *a, DistPlan *plan, DistPlan **out,
             SgError *err)
{
	ParsedStmt *inner;
	const char *text;
	PlanShape shape;
	if (!wrap_inner(an, a, &inner, &text, &shape, err))
		return false;
	DistPlan *ip;
	if (!plan_stmt(an->snap, inner, text, an->search_path, params, &shape, a, &ip, err))
		return false;
	if (!wrap_finish(an, ip, a, plan, err))
		return false;
	*out = plan;
	return true;
}

/*
 * plan_explain: EXPLAIN of a statement on distributed or reference tables:
 * the statement is planned as if it ran and its plan described (explain.c).
 * EXPLAIN ANALYZE plans it with one statement per task and wraps each task
 * that answers in the node's own EXPLAIN ANALYZE (explain_analyze_plan);
 * formats other than text are 0A000.
 */
static bool
plan_explain(const Analysis *an, const PlanParams *params, Arena *a, DistPlan *plan, DistPlan **out,
             int32_t node_id, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	if (pi->explain_bad_option != NULL)
		return sg_error_set(err, SQLSTATE_SYNTAX_ERROR, "unrecognized EXPLAIN option \"%s\"",
		                    pi->explain_bad_option);
	if (pi->explain_format != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "EXPLAIN (FORMAT %s) on distributed or reference tables is not "
		                    "supported: only text",
		                    pi->explain_format);
	/* PostgreSQL's checks (ExplainQuery) */
	if (!pi->explain_analyze && pi->explain_wal)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "EXPLAIN option WAL requires ANALYZE");
	if (!pi->explain_analyze && pi->explain_timing_set && pi->explain_timing)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "EXPLAIN option TIMING requires ANALYZE");
	ParsedStmt *inner = parse_sub_stmt(a, an->stmt, pi->explain_query);
	ParseInfo ipi;
	parse_inspect(a, inner, &ipi);
	char *text;
	if (!deparse_stmt(a, inner, &ipi, NULL, 0, &text, err))
		return false;
	/* with parameters planned, every task holds one statement: each can be wrapped */
	static const PlanParams none = {0};
	const PlanParams *ip_params = params == NULL && pi->explain_analyze ? &none : params;
	DistPlan *ip;
	/* plain EXPLAIN shows semi-join key sets as placeholders; ANALYZE runs without them */
	PlanShape shape = {.no_prefetch = pi->explain_analyze,
	                   .describe_keys = !pi->explain_analyze,
	                   .in_block = an->shape.in_block};
	if (!plan_stmt(an->snap, inner, text, an->search_path, ip_params, &shape, a, &ip, err))
		return false;
	if (pi->explain_analyze) {
		if (!explain_analyze_plan(pi, ip, a, plan, err))
			return false;
	} else if (!explain_plan(an->stmt, ip, node_id, a, plan, err)) {
		return false;
	}
	*out = plan;
	return true;
}

/* plan_sql_prepared: PREPARE / EXECUTE / DEALLOCATE, answered by the session */
static bool
plan_sql_prepared(const Analysis *an, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	plan->kind = PLAN_GATEWAY_FUNC;
	plan->prep_name = pi->prep_name;
	plan->command_tag = pi->tag;
	if (pi->sqlprep == 'D') {
		plan->func = GWF_SQL_DEALLOCATE;
		return true;
	}
	if (pi->sqlprep == 'P') {
		plan->func = GWF_SQL_PREPARE;
		ParsedStmt *inner = parse_sub_stmt(a, an->stmt, pi->prep_query);
		ParseInfo ipi;
		parse_inspect(a, inner, &ipi);
		char *text;
		if (!deparse_stmt(a, inner, &ipi, NULL, 0, &text, err))
			return false;
		plan->prep_sql = text;
		plan->prep_ntypes = pi->prep_ntypes;
		plan->prep_types = pi->prep_types;
		return true;
	}
	plan->func = GWF_SQL_EXECUTE;
	plan->exec_nargs = pi->exec_nargs;
	plan->exec_args = ARENA_NEW_ARRAY(a, const char *, pi->exec_nargs + 1);
	for (int32_t i = 0; i < pi->exec_nargs; i++) {
		const ParseValue *v = &pi->exec_args[i];
		if (v->kind != PV_CONST && v->kind != PV_NULL)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "EXECUTE through shardgate takes constant arguments only "
			                    "(argument %d is an expression)",
			                    (int)i + 1);
		plan->exec_args[i] = v->kind == PV_NULL ? NULL : v->text;
	}
	return true;
}

/*
 * plan_stmt_fill: planner_plan_stmt and planner_plan_stmt_params (params NULL
 * for the former), shaped (NULL: any plan), with the values drawn after a
 * PLAN_FILL (fill NULL: none yet)
 */
static bool
plan_stmt_fill(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
               const char *search_path, const PlanParams *params, const PlanShape *shape,
               const char *const *fill, int32_t nfill, const KeySet *keys, int32_t nkeys,
               bool in_block, Arena *a, DistPlan **out, SgError *err)
{
	DistPlan *plan = ARENA_NEW(a, DistPlan);
	Analysis an;
	if (!analyze_stmt(snap, stmt, stmt_text, search_path, params, a, &an, err))
		return false;
	if (shape != NULL)
		an.shape = *shape;
	an.fill = fill;
	an.nfill = nfill;
	an.keys = keys;
	an.nkeys = nkeys > 0 ? nkeys : 0;
	if (nkeys < 0)
		an.shape.no_prefetch = true;
	if (in_block)
		an.shape.in_block = true;
	const ParseInfo *pi = &an.pi;
	if (pi->kind == PARSE_TXN) {
		plan->kind = PLAN_TXN_CONTROL;
		plan->txn_cmd = pi->txn_cmd;
		plan->txn_sql = stmt_text;
		*out = plan;
		return true;
	}
	if (pi->sqlprep != 0) {
		if (!plan_sql_prepared(&an, a, plan, err))
			return false;
		*out = plan;
		return true;
	}
	if (pi->func.mentioned != NULL) {
		if (!pi->func.is_simple)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "%s must be called alone, as SELECT %s(constant arguments)",
			                    pi->func.mentioned, pi->func.mentioned);
		if (!plan_gateway_func(&pi->func, plan, err))
			return false;
		*out = plan;
		return true;
	}
	const CatNode *first = catalog_first_node(snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
	bool ok = true;
	switch (pi->kind) {
	case PARSE_TXN:
		SG_UNREACHABLE();
	case PARSE_DDL:
	case PARSE_DDL_LOCAL:
		ok = ddl_plan(&an, a, plan, err);
		break;
	case PARSE_RESTRICTED:
		if (an.ndist + an.nref > 0 && pi->explain_query != NULL)
			return plan_explain(&an, params, a, plan, out, first->id, err);
		if (an.ndist + an.nref > 0 && (pi->is_copy_to || pi->is_declare))
			return plan_wrapped(&an, params, a, plan, out, err);
		if (an.ndist + an.nref > 0) {
			int32_t i = an.first_dist >= 0 ? an.first_dist : 0;
			for (; i < pi->nrels && an.rels[i].table == NULL; i++)
				;
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "%s on the %s table \"%s\" is not supported yet", pi->construct,
			                    an.rels[i].cls == REL_DISTRIBUTED ? "distributed" : "reference",
			                    pi->rels[i].name);
		}
		plan_one_node(&an, a, plan, first->id);
		if (pi->is_declare && pi->cursor_hold)
			plan->pin_node = first->id;
		break;
	case PARSE_UTILITY:
		if (pi->set_refused != NULL)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "%s is not supported through shardgate", pi->set_refused);
		plan_one_node(&an, a, plan, first->id);
		plan->set_kind = pi->set_kind;
		plan->set_name = pi->set_name;
		break;
	case PARSE_SELECT:
	case PARSE_INSERT:
	case PARSE_UPDATE:
	case PARSE_DELETE:
	case PARSE_MERGE:
		ok = plan_query(&an, a, plan, first->id, err);
		break;
	}
	if (!ok)
		return false;
	*out = plan;
	return true;
}

static bool
plan_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
          const char *search_path, const PlanParams *params, const PlanShape *shape, Arena *a,
          DistPlan **out, SgError *err)
{
	return plan_stmt_fill(snap, stmt, stmt_text, search_path, params, shape, NULL, 0, NULL, 0,
	                      false, a, out, err);
}

bool
planner_plan_stmt(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                  Arena *a, DistPlan **out, SgError *err)
{
	return plan_stmt(snap, stmt, stmt_text, NULL, NULL, NULL, a, out, err);
}

bool
planner_plan_stmt_params(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                         const PlanParams *params, Arena *a, DistPlan **out, SgError *err)
{
	static const PlanParams none = {0};
	return planner_plan_stmt_keys(snap, stmt, stmt_text, NULL, params != NULL ? params : &none,
	                              NULL, 0, NULL, 0, false, a, out, err);
}

bool
planner_plan_stmt_sp(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                     const char *search_path, const PlanParams *params, Arena *a, DistPlan **out,
                     SgError *err)
{
	return planner_plan_stmt_keys(snap, stmt, stmt_text, search_path, params, NULL, 0, NULL, 0,
	                              false, a, out, err);
}

bool
planner_plan_stmt_keys(const CatalogSnapshot *snap, const ParsedStmt *stmt, const char *stmt_text,
                       const char *search_path, const PlanParams *params, const char *const *values,
                       int32_t nvalues, const KeySet *keys, int32_t nkeys, bool in_block, Arena *a,
                       DistPlan **out, SgError *err)
{
	if (!plan_stmt_fill(snap, stmt, stmt_text, search_path, params, NULL, values, nvalues, keys,
	                    nkeys, in_block, a, out, err))
		return false;
	/* with Bind values, every task but the planner's own internal ones runs the client's
	 * statement */
	DistPlan *plan = *out;
	for (int32_t i = 0; params != NULL && plan->kind == PLAN_TASKS && i < plan->ntasks; i++)
		if (plan->tasks[i].nparams == 0)
			plan->tasks[i].uses_params = true;
	return true;
}
