/*
 * wrap.c: COPY ... TO STDOUT and DECLARE CURSOR over distributed tables
 * (see wrap.h).
 *
 * The query is planned like any statement, with a PlanShape: one relayed
 * task. A router plan keeps its single shard statement (a cursor's only when
 * that shard is on the first node); otherwise the multi-stage tier pulls the
 * distributed relations into temporary tables on the first node and the
 * final query runs there. The wrapper is the client's own statement tree
 * with its query replaced by that final statement (deparse_wrap_query), so
 * options (FORMAT, HEADER, DELIMITER, FORCE_QUOTE, BINARY, SCROLL, WITH
 * HOLD...) reach PostgreSQL as written.
 *
 * A cursor's temporary tables have names of their own (sg_tmp_c<n>_k)
 * and are not dropped after the DECLARE: the cursor reads them until it is
 * closed; ON COMMIT DROP removes them with the transaction, after
 * PostgreSQL has materialised a WITH HOLD cursor (PreCommit_Portals runs
 * before the on-commit actions).
 */
#include "planner/wrap.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "planner/deparse.h"
#include "planner/parse.h"

/* numbers the temporary tables of cursors (sg_tmp_c<n>_<k>), for the whole process */
static atomic_uint_fast64_t wrap_cursor_seq;

/* copy_columns_ok: PostgreSQL's checks of `COPY t (cols) TO` against the table's columns */
static bool
copy_columns_ok(const Analysis *an, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	const CatTable *t = pi->nrels == 1 ? an->rels[0].table : NULL;
	if (t == NULL || t->ncolumns == 0)
		return true; /* the node checks */
	for (int32_t i = 0; i < pi->copy_ncols; i++) {
		const char *col = pi->copy_cols[i];
		if (catalog_column_index(t, col) < 0)
			return sg_error_set(err, SQLSTATE_UNDEFINED_COLUMN,
			                    "column \"%s\" of relation \"%s\" does not exist", col, t->name);
		for (int32_t k = 0; k < i; k++)
			if (strcmp(pi->copy_cols[k], col) == 0)
				return sg_error_set(err, SQLSTATE_DUPLICATE_COLUMN,
				                    "column \"%s\" specified more than once", col);
	}
	return true;
}

bool
wrap_inner(const Analysis *an, Arena *a, ParsedStmt **inner, const char **text, PlanShape *shape,
           SgError *err)
{
	const ParseInfo *pi = &an->pi;
	memset(shape, 0, sizeof(*shape));
	shape->one_task = true;
	shape->no_prefetch = true;
	if (pi->is_declare) {
		const CatNode *first = catalog_first_node(an->snap);
		if (first == NULL)
			return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
		shape->one_node = first->id;
		/* unique per DECLARE: a second DECLARE of an open cursor's name must reach
		 * PostgreSQL's 42P03, not trip over the first one's temporary tables */
		shape->temp_tag =
		    arena_printf(a, "c%" PRIu64, (uint64_t)atomic_fetch_add(&wrap_cursor_seq, 1) + 1);
	} else if (pi->copy_format != NULL && strcasecmp(pi->copy_format, "text") != 0 &&
	           strcasecmp(pi->copy_format, "csv") != 0 &&
	           strcasecmp(pi->copy_format, "binary") != 0) {
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY format \"%s\" not recognized", pi->copy_format);
	} else if (!pi->copy_to_stdout) {
		return sg_error_set(
		    err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		    "COPY of a distributed or reference table to a server file or program is "
		    "not supported: use COPY ... TO STDOUT");
	}
	char *sql;
	if (pi->is_copy_to && !pi->copy_has_query) {
		if (!copy_columns_ok(an, err) || !deparse_copy_select(a, an->stmt, &sql, err))
			return false;
		StmtList sl;
		if (!planner_split(a, sql, &sl, err))
			return false;
		SG_ASSERT(sl.nstmts == 1);
		*inner = sl.stmts[0];
		*text = sl.texts[0];
		return true;
	}
	SG_ASSERT(pi->wrapped_query != NULL);
	ParsedStmt *q = parse_sub_stmt(a, an->stmt, pi->wrapped_query);
	ParseInfo qpi;
	parse_inspect(a, q, &qpi);
	if (!deparse_stmt(a, q, &qpi, NULL, 0, &sql, err))
		return false;
	*inner = q;
	*text = sql;
	return true;
}

bool
wrap_finish(const Analysis *an, const DistPlan *ip, Arena *a, DistPlan *plan, SgError *err)
{
	const ParseInfo *pi = &an->pi;
	if (ip->kind != PLAN_TASKS || ip->ntasks != 1 || ip->combine != COMBINE_RELAY)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "%s of a statement that %s is not supported", pi->construct,
		                    ip->kind == PLAN_TASKS && ip->is_write
		                        ? "writes several shards or nodes"
		                        : "the gateway answers itself");
	*plan = *ip;
	Task *t = ARENA_NEW(a, Task);
	*t = ip->tasks[0];
	char *sql;
	if (!deparse_wrap_query(a, an->stmt, t->sql, &sql, err))
		return false;
	t->sql = sql;
	plan->tasks = t;
	plan->command_tag = pi->tag;
	plan->has_count = pi->is_copy_to;
	plan->returns_rows = false;
	plan->needs_block = pi->is_declare && !pi->cursor_hold;
	plan->pin_node = pi->is_declare && pi->cursor_hold ? t->node_id : 0;
	return true;
}
