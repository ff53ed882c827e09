/*
 * insert_select.c: INSERT ... SELECT whose rows move through the gateway
 * (PLAN_INSERT_SELECT).
 *
 * When the co-located pushdown (fanout_insert_select: every shard inserts
 * its own rows) does not apply — rows from generate_series, local or
 * reference tables, tables not co-located with the target, a computed
 * distribution value, ORDER BY / LIMIT / aggregates across shards — or the
 * target is a reference or local table reading distributed tables, the
 * statement runs in two parts:
 *
 *   1. the SELECT, as a statement of its own (deparse_insert_query; a WITH
 *      of the INSERT moves into it), planned like any SELECT (router,
 *      fan-out, multi-stage, first node). The session runs it with binary
 *      results and keeps its rows (bounded by query_memory_limit);
 *   2. the rows, in batches of `INSERT INTO t (cols) VALUES ($1, ...), ...
 *      [ON CONFLICT ...] [RETURNING ...]` (deparse_insert_values), each
 *      value a binary parameter typed with the SELECT's column type, so
 *      PostgreSQL applies its own assignment casts (numeric 2.5 into an int
 *      column gives 3) and the values arrive exactly as they left. A column
 *      the SELECT writes as a bare string literal or NULL gets no type
 *      (text format): PostgreSQL then takes the target column's, as it does
 *      for INSERT ... SELECT 'literal'.
 *
 * Distributed target: each row's shard is the hash of its distribution
 * value as it will be stored: the same type, integers of another width
 * (compared by value) or into a text column (its decimal form), text / varchar / bpchar among
 * themselves with PostgreSQL's casts (bpchar loses trailing spaces; text into varchar(n) could cut
 * trailing spaces: refused for such values), a string literal parsed as the column's type, NULL
 * (the NULL shard, as INSERT ... VALUES). Any other type → 0A000 (cast it in the SELECT). A serial
 * distribution column left out is drawn first (nextval on the first node, one value per row in
 * SELECT order) and added to the column list. Rows are grouped by shard (SELECT order inside a
 * shard); a batch holds one shard's rows (the shard table renamed, `AS t`), at most INSEL_MAX_ROWS
 * rows, INSEL_MAX_PARAMS parameters and about INSEL_MAX_BYTES of values. Reference target: each
 * batch on every active node (one copy of RETURNING rows and counts, from the first node); local
 * target: the first node.
 *
 * Everything runs in the session's transaction (an implicit one when
 * there is none: several nodes commit with 2PC).
 */
#include "planner/insert_select.h"

#include <stdio.h>
#include <string.h>

#include "planner/deparse.h"
#include "planner/deparse_insert.h"
#include "planner/parse.h"
#include "planner/planner.h"
#include "planner/router.h"
#include "planner/tasks.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

#define INSEL_MAX_ROWS 1000
#define INSEL_MAX_PARAMS 10000
#define INSEL_MAX_BYTES (1024 * 1024)

typedef enum InselTarget { INSEL_DISTRIBUTED, INSEL_REFERENCE, INSEL_LOCAL } InselTarget;

/* InsertSelect: the INSERT half of a PLAN_INSERT_SELECT (statement arena) */
typedef struct InsertSelect InsertSelect;
struct InsertSelect {
	const CatalogSnapshot *snap;
	const ParsedStmt *stmt;   /* the client's INSERT ... SELECT */
	ParseOverriding override; /* its OVERRIDING clause */
	InselTarget kind;
	const CatTable *table; /* distributed / reference */
	const CatGroup *group; /* distributed */
	int32_t ncols_written; /* the INSERT's column list, 0 when none */
	const char *const *cols_written;
	bool returns_rows;
	int32_t first_node;
};

struct InsertSelectRun {
	const InsertSelect *is;
	InsertSelectRows rows;
	bool *unknown;     /* [rows.ncols]: a bare literal: no type, text format */
	int32_t dist_pos;  /* the distribution value's column, -1: the fill value */
	int32_t ncols;     /* values per batch row (rows.ncols, + 1 with fill) */
	const char **cols; /* the column list of the batches (NULL: as written) */
	int32_t *order;    /* row numbers, grouped by shard */
	int32_t *shard_of; /* [nrows] (distributed) */
	int32_t next;      /* next position in order */
	int32_t max_rows;  /* per batch */
	Arena *sql_arena;  /* the batch SQL (and its deparse), renewed when shard or size change */
	int32_t sql_shard; /* the last batch's SQL, reused while shard and size stay */
	int32_t sql_rows;
	const char *sql;
};

bool
insert_select_plan(const Analysis *an, Arena *a, InsertSelectPlanFn plan_select, DistPlan *plan,
                   SgError *err)
{
	const ParseInfo *pi = &an->pi;
	int32_t target = analyze_target(an);
	SG_ASSERT(target >= 0);
	const RelInfo *tr = &an->rels[target];
	InsertSelect *is = ARENA_NEW(a, InsertSelect);
	is->snap = an->snap;
	is->stmt = an->stmt;
	is->kind = tr->cls == REL_DISTRIBUTED ? INSEL_DISTRIBUTED
	           : tr->cls == REL_REFERENCE ? INSEL_REFERENCE
	                                      : INSEL_LOCAL;
	is->table = tr->table;
	is->group = tr->group;
	is->ncols_written = pi->insert_ncols;
	is->cols_written = pi->insert_cols;
	is->returns_rows = analyze_returns_rows(an);
	const CatNode *first = catalog_first_node(an->snap);
	if (first == NULL)
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
	is->first_node = first->id;
	is->override = pi->insert_override;
	if (is->kind == INSEL_DISTRIBUTED && !check_overriding_user(is->table, is->override, err))
		return false;
	if (is->kind == INSEL_DISTRIBUTED)
		for (int32_t i = 0; i < pi->nset_cols; i++)
			if (strcmp(pi->set_cols[i], is->table->dist_column) == 0)
				return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
				                    "modifying the distribution column is not supported");
	if (!deparse_insert_check(an->stmt, err))
		return false;
	ParsedStmt *inner = deparse_insert_query(a, an->stmt, err);
	if (inner == NULL)
		return false;
	ParseInfo ipi;
	parse_inspect(a, inner, &ipi);
	char *text;
	if (!deparse_stmt(a, inner, &ipi, NULL, 0, &text, err))
		return false;
	DistPlan *sp;
	if (!plan_select(an, inner, text, a, &sp, err))
		return false;
	if (sp->kind != PLAN_TASKS || !sp->returns_rows)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "this INSERT ... SELECT is not supported through shardgate");
	/* with Bind values, the SELECT's tasks run with the client's parameters */
	Task *tasks = ARENA_NEW_ARRAY(a, Task, sp->ntasks + 1);
	for (int32_t i = 0; i < sp->ntasks; i++) {
		tasks[i] = sp->tasks[i];
		if (an->params != NULL && tasks[i].nparams == 0)
			tasks[i].uses_params = true;
	}
	sp->tasks = tasks;
	plan->kind = PLAN_INSERT_SELECT;
	plan->select_plan = sp;
	plan->insert_select = is;
	plan->command_tag = pi->tag;
	plan->has_count = true;
	plan->returns_rows = is->returns_rows;
	plan->is_write = true;
	return true;
}

/* column_position: the distribution column's index among the SELECT's ncols outputs, -1: none */
static int32_t
column_position(const InsertSelect *is, int32_t ncols)
{
	const CatTable *t = is->table;
	if (is->ncols_written > 0) {
		for (int32_t i = 0; i < is->ncols_written; i++)
			if (strcmp(is->cols_written[i], t->dist_column) == 0)
				return i;
		return -1;
	}
	return t->dist_colpos >= 0 && t->dist_colpos < ncols ? t->dist_colpos : -1;
}

/* check_counts: the SELECT's column count against the INSERT's (PostgreSQL's 42601) */
static bool
check_counts(const InsertSelect *is, int32_t ncols, SgError *err)
{
	int32_t ntarget = is->ncols_written;
	if (ntarget == 0 && is->table != NULL && is->table->ncolumns > 0)
		ntarget = is->table->ncolumns;
	if (ntarget > 0 && ncols > ntarget)
		return sg_error_set(err, SQLSTATE_SYNTAX_ERROR,
		                    "INSERT has more expressions than target columns");
	if (is->ncols_written > 0 && ncols < is->ncols_written)
		return sg_error_set(err, SQLSTATE_SYNTAX_ERROR,
		                    "INSERT has more target columns than expressions");
	return true;
}

/* sql_literal: s as a SQL string literal (in a) */
static const char *
sql_literal(Arena *a, const char *s)
{
	size_t n = strlen(s);
	char *out = arena_alloc(a, 2 * n + 3);
	char *o = out;
	*o++ = '\'';
	for (const char *c = s; *c != '\0'; c++) {
		if (*c == '\'')
			*o++ = '\'';
		*o++ = *c;
	}
	*o++ = '\'';
	*o = '\0';
	return out;
}

bool
planner_insert_select_fill(const DistPlan *plan, int32_t ncols, int32_t nrows, Arena *a,
                           const char **sql, int32_t *node_id, SgError *err)
{
	const InsertSelect *is = plan->insert_select;
	*sql = NULL;
	*node_id = is->first_node;
	if (!check_counts(is, ncols, err))
		return false;
	if (is->kind != INSEL_DISTRIBUTED)
		return true;
	const CatTable *t = is->table;
	for (int32_t i = 0; i < ncols && is->override != PARSE_OVERRIDING_SYSTEM; i++) {
		const char *col = insert_always_column(t, is->ncols_written, is->cols_written, i);
		if (col != NULL)
			return generated_always(col, err);
	}
	if (column_position(is, ncols) >= 0)
		return true;
	if (t->dist_sequence == NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "INSERT ... SELECT into a distributed table needs a value for the "
		                    "distribution column \"%s\"",
		                    t->dist_column);
	if (is->ncols_written == 0 && t->dist_colpos != ncols && t->ncolumns < ncols)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "the gateway's catalog has no columns for \"%s\"; list the columns in "
		                    "the INSERT",
		                    t->name);
	if (nrows == 0)
		return true;
	*sql = arena_printf(a, "SELECT pg_catalog.nextval(%s) FROM pg_catalog.generate_series(1, %d)",
	                    sql_literal(a, t->dist_sequence), (int)nrows);
	return true;
}

static bool
is_int_type(uint32_t t)
{
	return t == PG_OID_INT2 || t == PG_OID_INT4 || t == PG_OID_INT8;
}

static bool
is_text_type(uint32_t t)
{
	return t == PG_OID_TEXT || t == PG_OID_VARCHAR || t == PG_OID_BPCHAR;
}

static const char *
type_name(uint32_t t)
{
	switch (t) {
	case PG_OID_BOOL:
		return "boolean";
	case PG_OID_INT2:
		return "smallint";
	case PG_OID_INT4:
		return "integer";
	case PG_OID_INT8:
		return "bigint";
	case PG_OID_TEXT:
		return "text";
	case PG_OID_BPCHAR:
		return "character";
	case PG_OID_VARCHAR:
		return "character varying";
	case PG_OID_DATE:
		return "date";
	case PG_OID_TIMESTAMP:
		return "timestamp without time zone";
	case PG_OID_TIMESTAMPTZ:
		return "timestamp with time zone";
	case PG_OID_UUID:
		return "uuid";
	case 1700:
		return "numeric";
	case 700:
		return "real";
	case 701:
		return "double precision";
	default:
		return NULL;
	}
}

/*
 * dist_hash: the hash of one row's distribution value v[len] (binary, of
 * type `type`; text when `is_text`) as the column of type t->dist_type will
 * store it
 */
static bool
dist_hash(Arena *a, const CatTable *t, uint32_t type, bool is_text, const char *v, int32_t len,
          uint64_t *h, SgError *err)
{
	uint32_t dt = t->dist_type;
	if (is_text)
		return pghash_text_value(dt, arena_strndup(a, v, (size_t)len), h, err);
	if (type == dt)
		return pghash_binary_value(dt, v, (size_t)len, h, err);
	if (is_int_type(type) && (is_int_type(dt) || is_text_type(dt))) {
		int64_t x = 0;
		const unsigned char *u = (const unsigned char *)v;
		int32_t want = type == PG_OID_INT2 ? 2 : type == PG_OID_INT4 ? 4 : 8;
		if (len != want)
			return sg_error_set(err, "22P03", "incorrect binary data format");
		uint64_t acc = 0;
		for (int32_t i = 0; i < len; i++)
			acc = (acc << 8) | u[i];
		x = want == 2 ? (int16_t)acc : want == 4 ? (int32_t)acc : (int64_t)acc;
		char text[32];
		snprintf(text, sizeof(text), "%lld", (long long)x);
		/* an integer column stores the value (22003 when out of its range), a text one the
		 * integer's text form */
		return pghash_text_value(dt, text, h, err);
	}
	if (is_text_type(type) && is_text_type(dt)) {
		size_t n = (size_t)len;
		if (type == PG_OID_BPCHAR && dt != PG_OID_BPCHAR)
			while (n > 0 && v[n - 1] == ' ')
				n--; /* bpchar → text / varchar drops trailing spaces */
		else if (type == PG_OID_TEXT && dt == PG_OID_VARCHAR && n > 0 && v[n - 1] == ' ')
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "INSERT ... SELECT into the distributed table \"%s\": a text value "
			                    "with trailing spaces for the varchar distribution column \"%s\" "
			                    "may be cut when stored",
			                    t->name, t->dist_column);
		return pghash_binary_value(dt, v, n, h, err);
	}
	const char *tn = type_name(type), *dn = type_name(dt);
	sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
	             "INSERT ... SELECT into the distributed table \"%s\": the value for the "
	             "distribution column \"%s\" is of type %s, the column of type %s",
	             t->name, t->dist_column, tn != NULL ? tn : arena_printf(a, "oid %u", type),
	             dn != NULL ? dn : arena_printf(a, "oid %u", dt));
	sg_error_hint(err, "Cast the value in the SELECT to the column's type (expr::%s).",
	              dn != NULL ? dn : "<type>");
	return false;
}

/* batch_cols: the batches' column list when a drawn value is added (NULL: as written) */
static const char **
batch_cols(const InsertSelectRun *run, Arena *a, SgError *err)
{
	const InsertSelect *is = run->is;
	const CatTable *t = is->table;
	int32_t n = run->rows.ncols;
	const char **cols = ARENA_NEW_ARRAY(a, const char *, n + 2);
	for (int32_t i = 0; i < n; i++) {
		if (is->ncols_written > 0) {
			cols[i] = is->cols_written[i];
		} else if (i < t->ncolumns) {
			cols[i] = t->columns[i];
		} else {
			sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			             "the gateway's catalog has no columns for \"%s\"; list the columns in "
			             "the INSERT",
			             t->name);
			return NULL;
		}
	}
	cols[n] = t->dist_column;
	return cols;
}

static void
destroy_arena(void *arg)
{
	arena_destroy(arg);
}

bool
planner_insert_select_route(const DistPlan *plan, const InsertSelectRows *rows, Arena *a,
                            InsertSelectRun **out, SgError *err)
{
	const InsertSelect *is = plan->insert_select;
	InsertSelectRun *run = ARENA_NEW(a, InsertSelectRun);
	run->is = is;
	run->rows = *rows;
	run->sql_arena = arena_create(16384);
	arena_on_reset(a, destroy_arena, run->sql_arena); /* dies with the run's arena */
	run->sql_shard = -2;
	int32_t nrows = rows->nrows, ncols = rows->ncols;
	if (!check_counts(is, ncols, err))
		return false;
	run->unknown = ARENA_NEW_ARRAY(a, bool, ncols + 1);
	deparse_insert_unknown(is->stmt, run->unknown, ncols);
	run->ncols = ncols;
	run->dist_pos = -1;
	if (is->kind == INSEL_DISTRIBUTED) {
		run->dist_pos = column_position(is, ncols);
		if (run->dist_pos < 0) {
			if (rows->fill == NULL && nrows > 0)
				return sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "no distribution values drawn");
			run->ncols = ncols + 1;
			if (is->ncols_written > 0 || is->table->dist_colpos != ncols) {
				run->cols = batch_cols(run, a, err);
				if (run->cols == NULL)
					return false;
			}
		}
	}
	int32_t per_row = run->ncols;
	run->max_rows = INSEL_MAX_PARAMS / per_row;
	if (run->max_rows > INSEL_MAX_ROWS)
		run->max_rows = INSEL_MAX_ROWS;
	if (run->max_rows < 1)
		return sg_error_set(err, "54011",
		                    "INSERT ... SELECT through the gateway supports at most %d columns",
		                    INSEL_MAX_PARAMS);
	run->order = ARENA_NEW_ARRAY(a, int32_t, nrows + 1);
	if (is->kind != INSEL_DISTRIBUTED) {
		for (int32_t r = 0; r < nrows; r++)
			run->order[r] = r;
		*out = run;
		return true;
	}
	/* each row's shard, then the rows grouped by shard (counting sort: SELECT order kept) */
	const CatGroup *g = is->group;
	run->shard_of = ARENA_NEW_ARRAY(a, int32_t, nrows + 1);
	int32_t *count = ARENA_NEW_ARRAY(a, int32_t, g->shard_count + 1);
	Arena *tmp = arena_create(1024);
	bool ok = true;
	for (int32_t r = 0; r < nrows && ok; r++) {
		const char *v;
		int32_t len;
		bool is_text;
		uint32_t type = 0;
		if (run->dist_pos < 0) {
			v = rows->fill[r];
			len = v != NULL ? (int32_t)strlen(v) : -1;
			is_text = true;
		} else {
			size_t k = (size_t)r * (size_t)ncols + (size_t)run->dist_pos;
			v = rows->values[k];
			len = rows->lengths[k];
			is_text = run->unknown[run->dist_pos];
			type = rows->types[run->dist_pos];
		}
		int32_t s;
		if (v == NULL || len < 0) {
			s = shardmap_null_shard_index();
		} else {
			uint64_t h;
			ok = dist_hash(tmp, is->table, type, is_text, v, len, &h, err);
			s = ok ? shardmap_shard_index(h, g->shard_count) : 0;
		}
		run->shard_of[r] = s;
		count[s]++;
		if ((r & 1023) == 1023)
			arena_reset(tmp);
	}
	arena_destroy(tmp);
	if (!ok)
		return false;
	int32_t *start = ARENA_NEW_ARRAY(a, int32_t, g->shard_count + 1);
	for (int32_t s = 1; s < g->shard_count; s++)
		start[s] = start[s - 1] + count[s - 1];
	for (int32_t r = 0; r < nrows; r++)
		run->order[start[run->shard_of[r]]++] = r;
	*out = run;
	return true;
}

/* row_bytes: the size of row r's values */
static size_t
row_bytes(const InsertSelectRun *run, int32_t r)
{
	size_t n = 0;
	for (int32_t c = 0; c < run->rows.ncols; c++) {
		int32_t len = run->rows.lengths[(size_t)r * (size_t)run->rows.ncols + (size_t)c];
		n += len > 0 ? (size_t)len : 0;
	}
	return n;
}

bool
planner_insert_select_next(InsertSelectRun *run, Arena *a, DistPlan **out, PlanParams *params,
                           SgError *err)
{
	const InsertSelect *is = run->is;
	const InsertSelectRows *rows = &run->rows;
	*out = NULL;
	memset(params, 0, sizeof(*params));
	if (run->next >= rows->nrows)
		return true;
	/* the batch: rows order[next .. next + n) of one shard */
	int32_t shard = is->kind == INSEL_DISTRIBUTED ? run->shard_of[run->order[run->next]] : -1;
	int32_t n = 0;
	size_t bytes = 0;
	while (run->next + n < rows->nrows && n < run->max_rows &&
	       (n == 0 || bytes < INSEL_MAX_BYTES)) {
		int32_t r = run->order[run->next + n];
		if (shard >= 0 && run->shard_of[r] != shard)
			break;
		bytes += row_bytes(run, r);
		n++;
	}
	/* the statement: the same text as the last batch's when shard and size are */
	if (run->sql == NULL || run->sql_shard != shard || run->sql_rows != n) {
		arena_reset(run->sql_arena);
		run->sql = NULL;
		const char *schema =
		    shard >= 0 ? catalog_shard_schema(run->sql_arena, is->group->id, shard) : NULL;
		char *sql;
		if (!deparse_insert_values(run->sql_arena, is->stmt, schema, run->cols, n, run->ncols, &sql,
		                           err))
			return false;
		run->sql = sql;
		run->sql_shard = shard;
		run->sql_rows = n;
	}
	/* the parameters: row by row, the SELECT's values (and the drawn one) */
	int32_t np = n * run->ncols;
	const char **values = ARENA_NEW_ARRAY(a, const char *, np);
	int32_t *lengths = ARENA_NEW_ARRAY(a, int32_t, np);
	int16_t *formats = ARENA_NEW_ARRAY(a, int16_t, np);
	uint32_t *types = ARENA_NEW_ARRAY(a, uint32_t, np);
	for (int32_t i = 0; i < n; i++) {
		int32_t r = run->order[run->next + i];
		for (int32_t c = 0; c < run->ncols; c++) {
			size_t k = (size_t)i * (size_t)run->ncols + (size_t)c;
			if (c < rows->ncols) {
				size_t src = (size_t)r * (size_t)rows->ncols + (size_t)c;
				values[k] = rows->values[src];
				lengths[k] = rows->lengths[src];
				bool unknown = run->unknown[c];
				formats[k] = unknown ? 0 : 1;
				types[k] = unknown ? 0 : rows->types[c];
			} else {
				values[k] = rows->fill[r];
				lengths[k] = values[k] != NULL ? (int32_t)strlen(values[k]) : -1;
				formats[k] = 0;
				types[k] = 0;
			}
		}
	}
	run->next += n;
	params->n = np;
	params->values = values;
	params->lengths = lengths;
	params->formats = formats;
	params->types = types;

	DistPlan *bp = ARENA_NEW(a, DistPlan);
	bp->kind = PLAN_TASKS;
	TaskList tl;
	tasks_init(&tl, a);
	if (is->kind == INSEL_REFERENCE) {
		for (int32_t i = 0; i < is->snap->nnodes; i++)
			if (is->snap->nodes[i].is_active)
				tasks_add(&tl, is->snap->nodes[i].id, run->sql);
	} else {
		tasks_add(&tl, shard >= 0 ? is->group->placement[shard] : is->first_node, run->sql);
	}
	tasks_store(&tl, bp);
	for (int32_t i = 0; i < bp->ntasks; i++)
		bp->tasks[i].uses_params = true;
	bp->combine = bp->ntasks == 1 ? COMBINE_RELAY : COMBINE_CONCAT;
	bp->rows_from_node = bp->ntasks == 1 ? 0 : is->first_node;
	bp->command_tag = "INSERT";
	bp->has_count = true;
	bp->returns_rows = is->returns_rows;
	bp->is_write = true;
	*out = bp;
	return true;
}
