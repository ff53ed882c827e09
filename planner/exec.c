/*
 * exec.c: the executor for PLAN_TASKS.
 *
 * Exec holds one NodeRun per node that has tasks. A NodeRun asks the Txn for
 * its participant, then sends its tasks in order: each task is one request
 * (simple Query, or Parse/Bind/Execute/Sync with text parameters), preceded
 * in the same write by the session's BEGIN when the participant joins a
 * transaction block. Replies are relayed (COMBINE_RELAY) or concatenated
 * (COMBINE_CONCAT: the first RowDescription only, every DataRow, counts
 * summed into one CommandComplete). After an error a node sends no more
 * tasks. When every NodeRun is finished the Exec frees itself and calls
 * sink->done with the first error, if any.
 *
 * Multi-stage plans (plan->nstages > 0) first fill temporary tables on the
 * merge node, one PullStage at a time:
 *   M_CREATE   create_sql + copy_sql sent to the merge node, waiting for
 *              CopyInResponse;
 *   M_COPYING  the stage's fragments run on the other nodes as *source* runs
 *              with binary results; each DataRow body is forwarded as one
 *              binary COPY tuple (same layout);
 *   M_COPY_END trailer + CopyDone (or CopyFail after an error) sent;
 *   M_LOCAL    local_sql (the merge node's own shards) running;
 *   M_FINAL    the final query runs on the merge node as an ordinary run;
 *   M_CLEANUP  cleanup_sql (DROP of the temporary tables) running.
 *
 * EXPLAIN ANALYZE plans (plan->explained != NULL) run the same way; the
 * answering tasks are the nodes' EXPLAIN ANALYZE, whose lines are collected
 * instead of relayed, stage fragments and local inserts are counted and
 * timed, and exec_complete answers with explain_analyze_lines().
 */
#include "planner/exec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/proto.h"
#include "planner/errpos.h"
#include "planner/explain.h"

typedef enum MergePhase {
	M_NONE,
	M_CREATE,
	M_COPYING,
	M_COPY_END,
	M_LOCAL,
	M_FINAL,
	M_CLEANUP
} MergePhase;

typedef struct NodeRun {
	Exec *e;
	int32_t node_id;
	const Task *tasklist; /* the phase's task array */
	bool is_source;       /* a stage fragment: rows go to the merge node's COPY */
	int *tasks;           /* indexes into tasklist, in order */
	int ntasks;
	int task_inline; /* tasks points here when the phase has one task */
	int next;        /* next task to send */
	Participant *p;
	bool waiting_conn;
	bool finished;
	int skip_ready;      /* ReadyForQuery replies still owed to our BEGIN */
	bool in_copy_out;    /* a refused COPY TO: swallow its data */
	uint64_t prep_key;   /* a Parse of a named statement awaits its ParseComplete */
	bool relay_copy_out; /* COPY TO STDOUT relayed to the client */
	Buf rows;            /* plan->row_node: this node's DataRow bodies, kept for reordering */
	size_t *row_offs;    /* [nrows + 1] start of each body in rows; row i ends at offs[i+1] */
	int nrows, caprows;
	ExplainTaskStat *stats; /* EXPLAIN ANALYZE: the phase's per-task figures (by task index) */
	int cur;                /* the task in flight */
	uint64_t sent_at;
} NodeRun;

struct Exec {
	const DistPlan *plan;
	const CatalogSnapshot *snap;
	Txn *txn;
	ExecSink sink;
	const ExecBind *bind; /* NULL: simple protocol */
	NodeRun *runs;
	int nruns;
	NodeRun run_inline; /* runs points here when the phase has one task: a routed statement
	                       allocates no run */
	int running;
	bool sent_rowdesc;
	uint64_t count;
	bool has_err;
	SgError *err; /* the first error (malloc'd when it happens): a small Exec stays on malloc's
	               * fast path */
	bool abandoned;
	bool starting;         /* inside exec_start: defer completion */
	bool complete_pending; /* finished while starting */
	bool deadlock_victim;  /* cancelled by the deadlock detector */
	uint64_t notices[8];   /* hashes of notices passed on: the same words from many shards once */
	int nnotices;
	/* multi-stage */
	MergePhase mphase;
	int stage;
	Participant *merge;
	/* EXPLAIN ANALYZE */
	ExplainStats *xs;
	uint64_t started_at, stage_at, local_at;
	size_t mem_used;    /* counted against sink.memory_limit */
	bool merge_backlog; /* sources paused until the merge node took what was sent */
};

/* rows for the merge node queued in the gateway above this: the sources pause */
#define EXEC_MERGE_BACKLOG (1024 * 1024)

/*
 * exec_zalloc: zeroed memory for the per-statement objects (Exec, its runs):
 * malloc + memset, because glibc's calloc skips the thread cache and costs a
 * trip through the allocator's bins for every statement. Aborts when out of memory.
 */
static void *
exec_zalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL)
		abort();
	__asm__ volatile("" : : "r"(p) : "memory"); /* or GCC folds malloc + memset into calloc */
	memset(p, 0, n);
	return p;
}

static uint64_t
exec_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void exec_phase_done(Exec *e);
static void merge_step(Exec *e);
static void exec_start_final(Exec *e);

static void run_send_next(NodeRun *r);

/*
 * exec_logical_schema: a node names the shard's schema (sg_g<g>_<i>) in an
 * error's schema field; the client should see the logical table's schema.
 */
static void
exec_logical_schema(const CatalogSnapshot *snap, SgError *err)
{
	const char *schema = NULL, *table = NULL;
	for (size_t i = 0; i < err->extra_len;) {
		char code = err->extra[i];
		const char *val = err->extra + i + 1;
		if (code == 's')
			schema = val;
		else if (code == 't')
			table = val;
		i += strlen(val) + 2;
	}
	if (schema == NULL || table == NULL || strncmp(schema, "sg_g", 4) != 0)
		return;
	const char *logical = NULL;
	for (int32_t i = 0; i < snap->ntables && logical == NULL; i++)
		if (snap->tables[i].kind == TABLE_DISTRIBUTED && strcmp(snap->tables[i].name, table) == 0)
			logical = snap->tables[i].schema;
	if (logical == NULL)
		return;
	char rebuilt[sizeof(err->extra)];
	size_t n = 0;
	for (size_t i = 0; i < err->extra_len;) {
		char code = err->extra[i];
		const char *val = err->extra + i + 1;
		const char *out = code == 's' ? logical : val;
		size_t len = strlen(out);
		if (n + len + 2 > sizeof(rebuilt))
			return;
		rebuilt[n++] = code;
		memcpy(rebuilt + n, out, len + 1);
		n += len + 1;
		i += strlen(val) + 2;
	}
	memcpy(err->extra, rebuilt, n);
	err->extra_len = (unsigned short)n;
}

static void
exec_record_error(Exec *e, const SgError *err)
{
	if (e->has_err)
		return;
	e->err = malloc(sizeof(SgError));
	if (e->err == NULL)
		abort();
	*e->err = *err;
	e->has_err = true;
	exec_logical_schema(e->snap, e->err);
	if (e->deadlock_victim && strcmp(err->sqlstate, SQLSTATE_QUERY_CANCELED) == 0) {
		sg_error_set(e->err, SQLSTATE_DEADLOCK_DETECTED, "deadlock detected");
		sg_error_detail(e->err, "The transaction waited for a lock held by another transaction "
		                        "that waited, on another node, for a lock this one holds.");
		sg_error_hint(e->err, "See server log for query details.");
	}
}

static void
exec_free_runs(Exec *e)
{
	for (int i = 0; i < e->nruns; i++) {
		if (e->runs[i].tasks != &e->runs[i].task_inline)
			free(e->runs[i].tasks);
		buf_free(&e->runs[i].rows);
		free(e->runs[i].row_offs);
	}
	if (e->runs != &e->run_inline)
		free(e->runs);
	e->runs = NULL;
	e->nruns = 0;
}

static void
exec_free(Exec *e)
{
	if (e->merge_backlog && e->merge != NULL && e->merge->conn != NULL)
		node_on_drained(e->merge->conn, NULL, NULL);
	exec_free_runs(e);
	explain_stats_free(e->plan, e->xs);
	free(e->err);
	free(e);
}

/* exec_send_explain: the EXPLAIN ANALYZE answer, built from what was measured */
static void
exec_send_explain(Exec *e)
{
	e->xs->total_usec = exec_now_us() - e->started_at;
	Arena *a = arena_create(8192);
	int32_t n;
	const char **lines;
	explain_analyze_lines(e->plan, e->xs, a, &n, &lines);
	Buf b;
	buf_init(&b);
	if (e->bind == NULL || e->bind->send_row_description) {
		static const char *const names[1] = {"QUERY PLAN"};
		static const uint32_t types[1] = {25};
		proto_write_row_description(&b, 1, names, types);
		e->sink.message(e->sink.arg, PQ_MSG_ROW_DESCRIPTION, buf_head(&b) + 5, buf_avail(&b) - 5);
	}
	for (int32_t i = 0; i < n; i++) {
		buf_clear(&b);
		int len = (int)strlen(lines[i]);
		proto_write_data_row(&b, 1, &lines[i], &len);
		e->sink.message(e->sink.arg, PQ_MSG_DATA_ROW, buf_head(&b) + 5, buf_avail(&b) - 5);
	}
	buf_free(&b);
	arena_destroy(a);
	const char tag[] = "EXPLAIN";
	e->sink.message(e->sink.arg, PQ_MSG_COMMAND_COMPLETE, tag, sizeof(tag));
}

static void
exec_build_tag(Exec *e, char *tag, size_t cap)
{
	const DistPlan *pl = e->plan;
	if (!pl->has_count)
		snprintf(tag, cap, "%s", pl->command_tag);
	else if (strcmp(pl->command_tag, "INSERT") == 0)
		snprintf(tag, cap, "INSERT 0 %" PRIu64, e->count);
	else
		snprintf(tag, cap, "%s %" PRIu64, pl->command_tag, e->count);
}

/* run_keep_row: a DataRow body kept for exec_emit_ordered */
static void
run_keep_row(NodeRun *r, const char *body, size_t len)
{
	if (r->nrows + 2 > r->caprows) {
		int cap = r->caprows ? r->caprows * 2 : 16;
		size_t *bigger = realloc(r->row_offs, sizeof(size_t) * (size_t)cap);
		if (bigger == NULL)
			abort();
		r->row_offs = bigger;
		r->caprows = cap;
	}
	r->row_offs[r->nrows++] = r->rows.len;
	buf_append(&r->rows, body, len);
	r->row_offs[r->nrows] = r->rows.len;
}

/*
 * exec_emit_ordered: the kept rows in the plan's order (VALUES order); when a
 * node returned another number of rows than planned (a trigger skipped one),
 * node by node as they came
 */
static void
exec_emit_ordered(Exec *e)
{
	const DistPlan *pl = e->plan;
	int planned = 0, kept = 0;
	for (int j = 0; j < e->nruns; j++)
		kept += e->runs[j].nrows;
	NodeRun **by_row = calloc((size_t)pl->nrow_order + 1, sizeof(NodeRun *));
	if (by_row == NULL)
		abort();
	for (int i = 0; i < pl->nrow_order; i++)
		for (int j = 0; j < e->nruns; j++)
			if (e->runs[j].node_id == pl->row_node[i] && pl->row_pos[i] < e->runs[j].nrows) {
				by_row[i] = &e->runs[j];
				planned++;
			}
	bool in_order = planned == pl->nrow_order && kept == pl->nrow_order;
	for (int i = 0; in_order && i < pl->nrow_order; i++) {
		const NodeRun *r = by_row[i];
		size_t off = r->row_offs[pl->row_pos[i]];
		e->sink.message(e->sink.arg, PQ_MSG_DATA_ROW, r->rows.data + off,
		                r->row_offs[pl->row_pos[i] + 1] - off);
	}
	for (int j = 0; !in_order && j < e->nruns; j++)
		for (int k = 0; k < e->runs[j].nrows; k++) {
			const NodeRun *r = &e->runs[j];
			e->sink.message(e->sink.arg, PQ_MSG_DATA_ROW, r->rows.data + r->row_offs[k],
			                r->row_offs[k + 1] - r->row_offs[k]);
		}
	free(by_row);
}

/* exec_complete: every run is finished; report and free */
static void
exec_complete(Exec *e)
{
	if (!e->has_err && e->plan->row_node != NULL)
		exec_emit_ordered(e);
	if (!e->has_err && e->xs != NULL) {
		exec_send_explain(e);
	} else if (!e->has_err && e->plan->combine == COMBINE_CONCAT) {
		char tag[128];
		exec_build_tag(e, tag, sizeof(tag));
		e->sink.message(e->sink.arg, PQ_MSG_COMMAND_COMPLETE, tag, strlen(tag) + 1);
	}
	ExecSink sink = e->sink;
	SgError *err = e->err;
	e->err = NULL;
	exec_free(e);
	sink.done(sink.arg, err);
	free(err);
}

static void
run_finish(NodeRun *r)
{
	if (r->finished)
		return;
	r->finished = true;
	Exec *e = r->e;
	if (r->p != NULL && r->p->conn != NULL)
		node_set_handler(r->p->conn, NULL);
	if (--e->running == 0 && !e->starting)
		exec_phase_done(e);
}

/*
 * exec_charge: n more bytes held for the statement; false (the statement is
 * cancelled with 53200) when that goes over the limit, or it already failed.
 */
static bool
exec_charge(Exec *e, size_t n)
{
	if (e->has_err)
		return false;
	e->mem_used += n;
	size_t limit = e->sink.memory_limit;
	if (limit == 0 || e->mem_used <= limit)
		return true;
	SgError err;
	sg_error_set(&err, SQLSTATE_OUT_OF_MEMORY, "out of memory");
	if (limit % 1024 == 0)
		sg_error_detail(&err,
		                "The statement's intermediate results through the gateway exceed "
		                "query_memory_limit (%zu kB).",
		                limit / 1024);
	else
		sg_error_detail(&err,
		                "The statement's intermediate results through the gateway exceed "
		                "query_memory_limit (%zu bytes).",
		                limit);
	sg_error_hint(&err, "Add conditions the nodes can apply to their rows, or raise "
	                    "query_memory_limit in the gateway's configuration.");
	exec_record_error(e, &err);
	exec_cancel(e);
	return false;
}

/* exec_notice_is_new: remember a notice's hash; false if an identical one was passed on */
static bool
exec_notice_is_new(Exec *e, const char *body, size_t len)
{
	uint64_t h = sg_fnv1a(SG_FNV_INIT, body, len);
	for (int i = 0; i < e->nnotices; i++)
		if (e->notices[i] == h)
			return false;
	if (e->nnotices < (int)SG_ARRAY_LEN(e->notices))
		e->notices[e->nnotices++] = h;
	return true;
}

/*
 * exec_unpause_sources: the stage's fragments read again (the merge node took
 * the backlog, or the statement is failing and they must reach their end).
 * Runs that finish meanwhile do not end the phase: the caller checks
 * e->running afterwards.
 */
static void
exec_unpause_sources(Exec *e)
{
	if (e->merge_backlog && e->merge != NULL && e->merge->conn != NULL)
		node_on_drained(e->merge->conn, NULL, NULL);
	e->merge_backlog = false;
	bool was_starting = e->starting;
	e->starting = true;
	for (int j = 0; j < e->nruns; j++) {
		NodeRun *r = &e->runs[j];
		if (r->is_source && !r->finished && r->p != NULL && r->p->conn != NULL)
			node_pause(r->p->conn, false);
	}
	e->starting = was_starting;
}

/* exec_merge_drained: the merge node took the backlog: the sources go on */
static void
exec_merge_drained(NodeConn *c, void *arg)
{
	Exec *e = arg;
	(void)c;
	e->merge_backlog = false; /* the callback is spent */
	int before = e->running;
	exec_unpause_sources(e);
	if (before > 0 && e->running == 0)
		exec_phase_done(e);
}

static void
run_on_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	NodeRun *r = arg;
	Exec *e = r->e;
	const DistPlan *pl = e->plan;
	SgError err;

	if (r->skip_ready > 0) { /* reply to our BEGIN */
		if (type == PQ_MSG_ERROR) {
			if (!proto_read_error_fields(body, len, &err))
				sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node");
			exec_record_error(e, &err);
		} else if (type == PQ_MSG_READY) {
			r->skip_ready--;
		}
		return;
	}
	if (r->stats != NULL && type == PQ_MSG_READY) {
		r->stats[r->cur].usec = exec_now_us() - r->sent_at;
		r->stats[r->cur].ran = true;
	}
	if (r->stats != NULL && !r->is_source &&
	    (type == PQ_MSG_DATA_ROW || type == PQ_MSG_ROW_DESCRIPTION ||
	     type == PQ_MSG_COMMAND_COMPLETE)) {
		/* EXPLAIN ANALYZE: the node's lines are kept for the answer */
		if (type == PQ_MSG_DATA_ROW && len >= 6 && exec_charge(e, len)) {
			uint32_t n = ((uint32_t)(uint8_t)body[2] << 24) | ((uint32_t)(uint8_t)body[3] << 16) |
			             ((uint32_t)(uint8_t)body[4] << 8) | (uint32_t)(uint8_t)body[5];
			if (n <= len - 6) {
				buf_append(&r->stats[r->cur].out, body + 6, n);
				buf_append_u8(&r->stats[r->cur].out, '\n');
			}
		}
		return;
	}
	if (r->is_source && type != PQ_MSG_ERROR && type != PQ_MSG_READY) {
		if (type == PQ_MSG_DATA_ROW && r->stats != NULL)
			r->stats[r->cur].rows++;
		if (type == PQ_MSG_DATA_ROW && e->merge != NULL && e->merge->conn != NULL &&
		    exec_charge(e, len + 5)) {
			Buf b;
			buf_init(&b);
			proto_write_message(&b, PQ_MSG_COPY_DATA, body, len);
			node_send(e->merge->conn, buf_head(&b), buf_avail(&b), 0);
			buf_free(&b);
			if (node_out_pending(e->merge->conn) > EXEC_MERGE_BACKLOG) {
				/* the merge node is slower than the fragments: wait for it */
				node_pause(c, true);
				if (!e->merge_backlog) {
					e->merge_backlog = true;
					node_on_drained(e->merge->conn, exec_merge_drained, e);
				}
			}
		}
		return;
	}
	bool is_reporter = pl->rows_from_node == 0 || pl->rows_from_node == r->node_id;
	bool is_first = r == &e->runs[0];
	switch (type) {
	case PQ_MSG_ROW_DESCRIPTION:
		if (e->bind != NULL && !e->bind->send_row_description)
			return;
		if (pl->combine == COMBINE_CONCAT && (!pl->returns_rows || !is_reporter))
			return;
		if (pl->combine == COMBINE_RELAY || !e->sent_rowdesc) {
			e->sent_rowdesc = true;
			e->sink.message(e->sink.arg, type, body, len);
		}
		return;
	case PQ_MSG_DATA_ROW:
		if (r->in_copy_out)
			return;
		if (pl->combine == COMBINE_CONCAT && (!pl->returns_rows || !is_reporter))
			return;
		if (pl->row_node != NULL && !r->is_source) {
			run_keep_row(r, body, len);
			return;
		}
		e->sink.message(e->sink.arg, type, body, len);
		if (e->sink.is_full(e->sink.arg))
			node_pause(c, true);
		return;
	case PQ_MSG_COMMAND_COMPLETE:
		if (r->in_copy_out) {
			r->in_copy_out = false;
			return;
		}
		if (pl->combine == COMBINE_RELAY) {
			e->sink.message(e->sink.arg, type, body, len);
		} else {
			const char *tag;
			uint64_t n;
			if (is_reporter && proto_read_command_tag(body, len, &tag) && proto_tag_count(tag, &n))
				e->count += n;
		}
		return;
	case PQ_MSG_ERROR:
		if (!proto_read_error_fields(body, len, &err))
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node");
		if (err.position > 0 && r->next > 0)
			err.position =
			    errpos_map(r->tasklist[r->tasks[r->next - 1]].sql, pl->client_text, err.position);
		exec_record_error(e, &err);
		if (r->prep_key != 0) { /* its Parse failed: the node does not have it */
			node_prepared_forget(c, r->prep_key);
			r->prep_key = 0;
		}
		return;
	case PQ_MSG_PARSE_COMPLETE:
		r->prep_key = 0;
		return;
	case PQ_MSG_NOTICE:
		/* the same statement on many shards says the same thing: pass it on once */
		if (pl->combine == COMBINE_RELAY || exec_notice_is_new(e, body, len))
			e->sink.message(e->sink.arg, type, body, len);
		return;
	case PQ_MSG_PARAMETER_STATUS:
		if (pl->combine == COMBINE_RELAY || is_first)
			e->sink.message(e->sink.arg, type, body, len);
		return;
	case PQ_MSG_NOTIFICATION:
		e->sink.message(e->sink.arg, type, body, len);
		return;
	case PQ_MSG_PARAMETER_DESCRIPTION:
	case PQ_MSG_NO_DATA:
		if (e->bind != NULL && e->bind->describe != 0)
			e->sink.message(e->sink.arg, type, body, len);
		return;
	case PQ_MSG_EMPTY_QUERY:
		if (pl->combine == COMBINE_RELAY)
			e->sink.message(e->sink.arg, type, body, len);
		return;
	case PQ_MSG_COPY_IN: {
		sg_error_set(&err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "COPY FROM STDIN is not supported through shardgate yet");
		exec_record_error(e, &err);
		Buf b;
		buf_init(&b);
		proto_write_message(&b, PQ_MSG_COPY_FAIL, "not supported", sizeof("not supported"));
		node_send(c, buf_head(&b), buf_avail(&b), 0);
		buf_free(&b);
		return;
	}
	case PQ_MSG_COPY_OUT:
		if (pl->combine == COMBINE_RELAY) {
			/* COPY ... TO STDOUT on one node: relay CopyOutResponse, CopyData, CopyDone */
			r->relay_copy_out = true;
			e->sink.message(e->sink.arg, type, body, len);
			return;
		}
		/* fall through */
	case PQ_MSG_COPY_BOTH:
		sg_error_set(&err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "COPY TO STDOUT is not supported through shardgate yet");
		exec_record_error(e, &err);
		r->in_copy_out = true;
		return;
	case PQ_MSG_READY:
		if (e->has_err || r->next >= r->ntasks || e->abandoned)
			run_finish(r);
		else
			run_send_next(r);
		return;
	case PQ_MSG_COPY_DATA:
	case PQ_MSG_COPY_DONE:
		if (r->relay_copy_out) {
			e->sink.message(e->sink.arg, type, body, len);
			if (e->sink.is_full(e->sink.arg))
				node_pause(c, true);
		}
		return;
	default: /* ParseComplete, BindComplete, CopyData of a refused COPY... */
		return;
	}
}

static void
run_on_lost(NodeConn *c, const SgError *err, void *arg)
{
	NodeRun *r = arg;
	(void)c;
	exec_record_error(r->e, err);
	txn_mark_broken(r->e->txn, r->p);
	run_finish(r);
}

/* exec_drops_prepared: does the statement drop the connection's prepared statements */
static bool
exec_drops_prepared(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
		sql++;
	if ((*sql | 0x20) != 'd') /* cheap first test: this runs for every task sent */
		return false;
	return strncasecmp(sql, "DISCARD", 7) == 0 || strncasecmp(sql, "DEALLOCATE", 10) == 0;
}

/* exec_stmt_key: a hash of a statement's text, parameter types and the schema epoch
 * (word at a time: this runs for every execution of a prepared statement) */
static uint64_t
exec_stmt_key(const char *sql, int16_t ntypes, const uint32_t *types, uint64_t epoch)
{
	uint64_t h = sg_hash_words(SG_FNV_INIT, sql, strlen(sql));
	h = sg_hash_words(h, &epoch, sizeof(epoch));
	if (ntypes > 0)
		h = sg_hash_words(h, types, sizeof(uint32_t) * (size_t)ntypes);
	return h == 0 ? 1 : h;
}

static void
run_send_next(NodeRun *r)
{
	Exec *e = r->e;
	r->cur = r->tasks[r->next++];
	r->sent_at = exec_now_us();
	const Task *task = &r->tasklist[r->cur];
	/* written straight into the connection's output buffer */
	Buf *b = node_request_buf(r->p->conn);
	int expect = txn_write_prelude(e->txn, r->p, b);
	r->skip_ready += expect;
	const ExecBind *bind = e->bind;
	if (exec_drops_prepared(task->sql))
		node_prepared_clear(r->p->conn); /* the client's DISCARD ALL / DEALLOCATE ALL */
	static const char *const none[1] = {NULL};
	static const int32_t none_len[1] = {0};
	static const int16_t binary[1] = {1};
	if (r->is_source) {
		bool with = task->uses_params && bind != NULL;
		proto_write_parse(b, "", task->sql, with ? bind->ntypes : 0, with ? bind->types : NULL);
		if (with)
			proto_write_bind(b, "", "", bind->nformats, bind->formats, bind->nparams, bind->values,
			                 bind->lengths, 1, binary);
		else
			proto_write_bind(b, "", "", 0, NULL, 0, none, none_len, 1, binary);
		proto_write_execute(b, "", 0);
		proto_write_sync(b);
	} else if (bind != NULL && bind->describe_portal != NULL) {
		proto_write_describe(b, 'P', bind->describe_portal);
		proto_write_sync(b);
	} else if (bind != NULL && bind->describe != 0) {
		proto_write_parse(b, "", task->sql, bind->ntypes, bind->types);
		if (bind->describe == 'P')
			proto_write_bind(b, "", "", bind->nformats, bind->formats, bind->nparams, bind->values,
			                 bind->lengths, bind->nresult, bind->result_formats);
		proto_write_describe(b, bind->describe, "");
		proto_write_sync(b);
	} else if (task->nparams == 0 && bind != NULL) {
		/* prepared once per backend connection: later executions skip the node's parse */
		int16_t ntypes = task->uses_params ? bind->ntypes : 0;
		uint64_t key = exec_stmt_key(task->sql, ntypes, bind->types, bind->schema_epoch);
		const char *name = node_prepared_name(r->p->conn, key);
		char fresh[16], evicted[16];
		if (name == NULL) {
			node_prepared_add(r->p->conn, key, fresh, sizeof(fresh), evicted, sizeof(evicted));
			if (evicted[0] != '\0')
				proto_write_close(b, 'S', evicted);
			proto_write_parse(b, fresh, task->sql, ntypes, bind->types);
			r->prep_key = key;
			name = fresh;
		}
		if (task->uses_params)
			proto_write_bind(b, "", name, bind->nformats, bind->formats, bind->nparams,
			                 bind->values, bind->lengths, bind->nresult, bind->result_formats);
		else
			proto_write_bind(b, "", name, 0, NULL, 0, none, none_len, bind->nresult,
			                 bind->result_formats);
		if (bind->send_row_description)
			proto_write_describe(b, 'P', ""); /* SQL-level EXECUTE: the client gets columns */
		proto_write_execute(b, "", 0);
		proto_write_sync(b);
	} else if (task->nparams == 0) {
		proto_write_query(b, task->sql);
	} else {
		proto_write_parse(b, "", task->sql, 0, NULL);
		proto_write_bind_text(b, "", "", task->nparams, task->params);
		proto_write_execute(b, "", 0);
		proto_write_sync(b);
	}
	expect++;
	if (e->plan->is_write && !r->is_source)
		r->p->wrote = true;
	NodeHandler h = {run_on_message, run_on_lost, r};
	node_set_handler(r->p->conn, &h);
	node_request_send(r->p->conn, expect);
}

static void
run_on_participant(Participant *p, const SgError *err, void *arg)
{
	NodeRun *r = arg;
	r->waiting_conn = false;
	r->p = p;
	if (err != NULL) {
		exec_record_error(r->e, err);
		run_finish(r);
		return;
	}
	if (r->e->abandoned) {
		run_finish(r);
		return;
	}
	run_send_next(r);
}

/* exec_build_runs: one NodeRun per node of tasks[0..ntasks) (replaces the previous phase's) */
static void
exec_build_runs(Exec *e, const Task *tasks, int ntasks, bool is_source, ExplainTaskStat *stats)
{
	exec_free_runs(e);
	if (ntasks == 1) {
		memset(&e->run_inline, 0, sizeof(e->run_inline));
		e->runs = &e->run_inline;
	} else {
		e->runs = exec_zalloc(((size_t)ntasks + 1) * sizeof(NodeRun));
	}
	for (int i = 0; i < ntasks; i++) {
		int32_t id = tasks[i].node_id;
		NodeRun *r = NULL;
		for (int j = 0; j < e->nruns; j++)
			if (e->runs[j].node_id == id)
				r = &e->runs[j];
		if (r == NULL) {
			r = &e->runs[e->nruns++];
			r->e = e;
			r->node_id = id;
			r->tasklist = tasks;
			r->is_source = is_source;
			r->stats = stats;
			r->tasks = ntasks == 1 ? &r->task_inline : exec_zalloc((size_t)ntasks * sizeof(int));
		}
		r->tasks[r->ntasks++] = i;
	}
}

/* exec_start_runs: get every run's participant and start it; false if all ended at once */
static bool
exec_start_runs(Exec *e)
{
	e->starting = true;
	e->running = e->nruns;
	for (int j = 0; j < e->nruns; j++) {
		NodeRun *r = &e->runs[j];
		const CatNode *node = catalog_find_node(e->snap, r->node_id);
		if (node == NULL) {
			SgError err;
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "node %d is not in the catalog",
			             r->node_id);
			exec_record_error(e, &err);
			run_finish(r);
			continue;
		}
		r->waiting_conn = true;
		txn_participant(e->txn, node->id, node->host, node->port, run_on_participant, r);
	}
	e->starting = false;
	return e->running > 0;
}

/* ---- multi-stage ------------------------------------------------------- */

static void
merge_send(Exec *e, const Buf *b, int expect)
{
	node_send(e->merge->conn, buf_head(b), buf_avail(b), expect);
}

static void
merge_on_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	Exec *e = arg;
	SgError err;
	switch (type) {
	case PQ_MSG_ERROR:
		if (!proto_read_error_fields(body, len, &err))
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node");
		exec_record_error(e, &err);
		return;
	case PQ_MSG_COMMAND_COMPLETE: {
		/* EXPLAIN ANALYZE: the local shards' INSERT reports its rows */
		const char *tag;
		uint64_t n;
		if (e->xs != NULL && e->mphase == M_LOCAL && proto_read_command_tag(body, len, &tag) &&
		    strncmp(tag, "INSERT", 6) == 0 && proto_tag_count(tag, &n))
			e->xs->stages[e->stage].local.rows += n;
		return;
	}
	case PQ_MSG_COPY_IN: {
		/* binary COPY header: signature, flags, header extension length */
		static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
		Buf b;
		buf_init(&b);
		proto_write_message(&b, PQ_MSG_COPY_DATA, header, sizeof(header));
		merge_send(e, &b, 0);
		buf_free(&b);
		e->mphase = M_COPYING;
		const PullStage *st = &e->plan->stages[e->stage];
		exec_build_runs(e, st->tasks, st->ntasks, true,
		                e->xs != NULL ? e->xs->stages[e->stage].frags : NULL);
		if (!exec_start_runs(e))
			exec_phase_done(e);
		return;
	}
	case PQ_MSG_READY:
		if (node_state(c) == NODE_IDLE)
			merge_step(e);
		return;
	default:
		return;
	}
}

static void
merge_on_lost(NodeConn *c, const SgError *err, void *arg)
{
	Exec *e = arg;
	(void)c;
	exec_record_error(e, err);
	txn_mark_broken(e->txn, e->merge);
	e->mphase = M_CLEANUP;
	if (e->merge_backlog) {
		e->merge_backlog = false; /* the connection is gone: no callback */
		exec_unpause_sources(e);
	}
	if (e->running == 0)
		exec_complete(e);
}

static void
merge_set_handler(Exec *e)
{
	NodeHandler h = {merge_on_message, merge_on_lost, e};
	node_set_handler(e->merge->conn, &h);
}

static void merge_on_participant(Participant *p, const SgError *err, void *arg);
static void stage_send(Exec *e);

/* stage_dest: the node stage k fills (its dest_node, or the merge node) */
static int32_t
stage_dest(const Exec *e, int32_t k)
{
	int32_t d = e->plan->stages[k].dest_node;
	return d != 0 ? d : e->plan->merge_node;
}

/*
 * stage_begin: start the current stage on its node: e->merge is that node's
 * participant (a repartition's stages change node: the participant is taken
 * first, merge_on_participant then sends)
 */
static void
stage_begin(Exec *e)
{
	int32_t dest = stage_dest(e, e->stage);
	if (e->merge != NULL && e->merge->node_id == dest) {
		stage_send(e);
		return;
	}
	if (e->merge != NULL && e->merge->conn != NULL)
		node_set_handler(e->merge->conn, NULL);
	const CatNode *node = catalog_find_node(e->snap, dest);
	if (node == NULL) {
		SgError err;
		sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "node %d is not in the catalog", (int)dest);
		exec_record_error(e, &err);
		if (e->starting)
			e->complete_pending = true; /* exec_start completes it */
		else
			exec_complete(e);
		return;
	}
	txn_participant(e->txn, node->id, node->host, node->port, merge_on_participant, e);
}

/* stage_send: the current stage's CREATE and COPY to its node */
static void
stage_send(Exec *e)
{
	const PullStage *st = &e->plan->stages[e->stage];
	Buf b;
	buf_init(&b);
	int expect = txn_write_prelude(e->txn, e->merge, &b);
	e->stage_at = exec_now_us();
	proto_write_query(&b, st->create_sql);
	proto_write_query(&b, st->copy_sql);
	e->mphase = M_CREATE;
	merge_set_handler(e);
	merge_send(e, &b, expect + 2);
	buf_free(&b);
}

/* stage_sources_done: every fragment of the stage finished: end the COPY */
static void
stage_sources_done(Exec *e)
{
	if (e->merge == NULL || e->merge->conn == NULL || e->merge->broken) {
		exec_complete(e);
		return;
	}
	Buf b;
	buf_init(&b);
	if (e->has_err) {
		proto_write_message(&b, PQ_MSG_COPY_FAIL, "fragment failed", sizeof("fragment failed"));
	} else {
		static const char trailer[2] = {'\377', '\377'};
		proto_write_message(&b, PQ_MSG_COPY_DATA, trailer, sizeof(trailer));
		proto_write_message(&b, PQ_MSG_COPY_DONE, NULL, 0);
	}
	e->mphase = M_COPY_END;
	merge_set_handler(e);
	merge_send(e, &b, 0);
	buf_free(&b);
}

static void
exec_send_cleanup(Exec *e)
{
	if (e->plan->cleanup_sql == NULL || e->merge == NULL || e->merge->conn == NULL ||
	    e->merge->broken) {
		exec_complete(e);
		return;
	}
	e->mphase = M_CLEANUP;
	Buf b;
	buf_init(&b);
	proto_write_query(&b, e->plan->cleanup_sql);
	merge_set_handler(e);
	merge_send(e, &b, 1);
	buf_free(&b);
}

/* merge_step: the merge node answered everything it was sent */
static void
merge_step(Exec *e)
{
	switch (e->mphase) {
	case M_CREATE:
	case M_COPYING:
	case M_COPY_END:
	case M_LOCAL: {
		if (e->has_err) {
			exec_complete(e);
			return;
		}
		const PullStage *st = &e->plan->stages[e->stage];
		if (e->mphase != M_LOCAL && st->local_sql != NULL) {
			e->mphase = M_LOCAL;
			e->local_at = exec_now_us();
			Buf b;
			buf_init(&b);
			proto_write_query(&b, st->local_sql);
			merge_send(e, &b, 1);
			buf_free(&b);
			return;
		}
		if (e->xs != NULL) {
			ExplainStageStat *ss = &e->xs->stages[e->stage];
			uint64_t now = exec_now_us();
			if (e->mphase == M_LOCAL) {
				ss->local.usec = now - e->local_at;
				ss->local.ran = true;
			}
			ss->usec = now - e->stage_at;
			ss->ran = true;
		}
		if (++e->stage < e->plan->nstages) {
			stage_begin(e);
			return;
		}
		exec_start_final(e);
		return;
	}
	case M_CLEANUP:
		exec_complete(e);
		return;
	case M_NONE:
	case M_FINAL:
		return;
	}
}

static void
exec_start_final(Exec *e)
{
	e->mphase = M_FINAL;
	node_set_handler(e->merge->conn, NULL);
	exec_build_runs(e, e->plan->tasks, e->plan->ntasks, false, e->xs != NULL ? e->xs->tasks : NULL);
	if (!exec_start_runs(e))
		exec_phase_done(e);
}

/* exec_phase_done: every run of the current phase finished */
static void
exec_phase_done(Exec *e)
{
	switch (e->mphase) {
	case M_NONE:
		exec_complete(e);
		return;
	case M_COPYING:
		stage_sources_done(e);
		return;
	case M_FINAL:
		exec_send_cleanup(e);
		return;
	case M_CLEANUP:
		exec_complete(e); /* the merge connection was lost */
		return;
	case M_CREATE:
	case M_COPY_END:
	case M_LOCAL:
		return;
	}
}

static void
merge_on_participant(Participant *p, const SgError *err, void *arg)
{
	Exec *e = arg;
	e->merge = p;
	if (err != NULL) {
		exec_record_error(e, err);
		if (e->starting)
			e->complete_pending = true; /* exec_start completes it */
		else
			exec_complete(e);
		return;
	}
	p->used_temp = true;
	stage_send(e);
}

Exec *
exec_start(const DistPlan *plan, const CatalogSnapshot *snap, Txn *txn, const ExecSink *sink,
           const ExecBind *bind)
{
	Exec *e = exec_zalloc(sizeof(Exec));
	e->plan = plan;
	e->snap = snap;
	e->txn = txn;
	e->sink = *sink;
	e->bind = bind;
	if (plan->explained != NULL && (bind == NULL || bind->describe == 0)) {
		e->xs = explain_stats_new(plan);
		e->started_at = exec_now_us();
	}
	if (plan->nstages > 0) {
		e->stage = 0;
		e->starting = true;
		stage_begin(e);
		e->starting = false;
		if (e->complete_pending) {
			exec_complete(e);
			return NULL;
		}
		return e;
	}
	exec_build_runs(e, plan->tasks, plan->ntasks, false, e->xs != NULL ? e->xs->tasks : NULL);
	if (!exec_start_runs(e)) {
		exec_complete(e);
		return NULL;
	}
	return e;
}

void
exec_resume(Exec *e)
{
	/* a run that finishes while resumed must not end the phase (and free e) mid-loop */
	int before = e->running;
	bool was_starting = e->starting;
	e->starting = true;
	for (int j = 0; j < e->nruns; j++) {
		NodeRun *r = &e->runs[j];
		if (r->is_source && e->merge_backlog)
			continue; /* waiting for the merge node, not for the client */
		if (!r->finished && r->p != NULL && r->p->conn != NULL)
			node_pause(r->p->conn, false);
	}
	e->starting = was_starting;
	if (before > 0 && e->running == 0 && !was_starting)
		exec_phase_done(e);
}

void
exec_cancel(Exec *e)
{
	if (e->merge_backlog) {
		/* paused fragments must read their cancellation */
		int before = e->running;
		exec_unpause_sources(e);
		if (before > 0 && e->running == 0 && !e->starting) {
			exec_phase_done(e);
			return;
		}
	}
	for (int j = 0; j < e->nruns; j++) {
		NodeRun *r = &e->runs[j];
		if (!r->finished && r->p != NULL && r->p->conn != NULL)
			node_cancel(r->p->conn);
	}
}

void
exec_cancel_deadlock(Exec *e)
{
	e->deadlock_victim = true;
	exec_cancel(e);
}

void
exec_abandon(Exec *e)
{
	/* the session is going away: its Txn cleanup closes the connections */
	for (int j = 0; j < e->nruns; j++) {
		NodeRun *r = &e->runs[j];
		if (!r->finished && r->p != NULL && r->p->conn != NULL) {
			node_set_handler(r->p->conn, NULL);
			txn_mark_broken(e->txn, r->p);
		}
	}
	exec_free(e);
}
