/*
 * explain.c: EXPLAIN through the gateway.
 *
 * The explained statement is planned as if it ran (planner.c); its DistPlan
 * is described line by line:
 *
 *   shardgate: <tier>
 *     node <id>: <fragment SQL>                      (router, fan-out)
 *     Stage <k>                                      (multi-stage)
 *       create on node <m>: <create_sql>; <copy_sql>
 *       node <id>: <fragment SQL>
 *       node <m> (local shards): <local_sql>
 *     Final query on node <m>: <sql>
 *     Cleanup on node <m>: <cleanup_sql>
 *
 * The lines reach the client as the rows of `SELECT * FROM (VALUES
 * ('...'::text), ...) AS v("QUERY PLAN")` run on one node; the lines are
 * string constants of a parse tree, quoted by the deparser, never pasted.
 *
 * EXPLAIN ANALYZE runs the statement: each fragment that answers the client
 * (router and fan-out tasks, a multi-stage plan's final query) is sent as
 * `EXPLAIN (ANALYZE ..., <options>) <fragment>` and the node's lines are
 * shown under the fragment; stage fragments feed temporary tables, so their
 * rows and times are the gateway's measurements (exec.c). The executor
 * builds the rows itself (explain_analyze_lines) once everything ran.
 */
#include "planner/explain.h"

#include <stdlib.h>
#include <string.h>

#include "planner/deparse.h"
#include "planner/tasks.h"

typedef struct Lines {
	Arena *a;
	int32_t n, cap;
	const char **v;
} Lines;

static void
add_line(Lines *l, const char *s)
{
	if (l->n == l->cap) {
		int32_t ncap = l->cap == 0 ? 16 : l->cap * 2;
		const char **bigger = ARENA_NEW_ARRAY(l->a, const char *, ncap);
		if (l->n > 0)
			memcpy(bigger, l->v, sizeof(*bigger) * (size_t)l->n);
		l->v = bigger;
		l->cap = ncap;
	}
	l->v[l->n++] = s;
}

static int32_t
distinct_nodes(const Task *tasks, int32_t n)
{
	int32_t count = 0;
	for (int32_t i = 0; i < n; i++) {
		bool seen = false;
		for (int32_t k = 0; k < i; k++)
			seen = seen || tasks[k].node_id == tasks[i].node_id;
		count += !seen;
	}
	return count;
}

/* Analyzed: what the executor measured (NULL for a plain EXPLAIN) */
typedef struct Analyzed {
	const ExplainStats *st;
	bool timing;
} Analyzed;

static const char *
ms(Arena *a, uint64_t usec)
{
	return arena_printf(a, "%.3f ms", (double)usec / 1000.0);
}

/* add_output: a node's EXPLAIN lines, indented */
static void
add_output(Lines *l, const ExplainTaskStat *ts, const char *indent)
{
	const char *s = buf_head(&ts->out);
	size_t len = buf_avail(&ts->out);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '\n')
			continue;
		add_line(l, arena_printf(l->a, "%s%.*s", indent, (int)(i - start), s + start));
		start = i + 1;
	}
}

/* add_measured: rows and time measured by the gateway */
static void
add_measured(Lines *l, const ExplainTaskStat *ts, const Analyzed *an, const char *what,
             const char *indent)
{
	if (!ts->ran)
		add_line(l, arena_printf(l->a, "%s(never executed)", indent));
	else if (an->timing)
		add_line(l, arena_printf(l->a, "%s(%s: rows=%llu time=%s)", indent, what,
		                         (unsigned long long)ts->rows, ms(l->a, ts->usec)));
	else
		add_line(
		    l, arena_printf(l->a, "%s(%s: rows=%llu)", indent, what, (unsigned long long)ts->rows));
}

static void
describe_tasks(Lines *l, const Task *tasks, int32_t n, const char *indent, const Analyzed *an,
               const ExplainTaskStat *stats)
{
	for (int32_t i = 0; i < n; i++) {
		add_line(l,
		         arena_printf(l->a, "%snode %d: %s", indent, (int)tasks[i].node_id, tasks[i].sql));
		if (an == NULL)
			continue;
		const char *sub = arena_printf(l->a, "%s  ", indent);
		if (stats[i].ran && an->timing)
			add_line(l, arena_printf(l->a, "%s(round trip from the gateway: %s)", sub,
			                         ms(l->a, stats[i].usec)));
		if (!stats[i].ran)
			add_line(l, arena_printf(l->a, "%s(never executed)", sub));
		add_output(l, &stats[i], sub);
	}
}

/* describe_frags: stage fragments with the rows they sent */
static void
describe_frags(Lines *l, const Task *tasks, int32_t n, const Analyzed *an,
               const ExplainTaskStat *stats)
{
	for (int32_t i = 0; i < n; i++) {
		add_line(l, arena_printf(l->a, "    node %d: %s", (int)tasks[i].node_id, tasks[i].sql));
		if (an != NULL)
			add_measured(l, &stats[i], an, "copied", "      ");
	}
}

static void
describe(Lines *l, const DistPlan *p, const Analyzed *an)
{
	Arena *a = l->a;
	if (p->kind != PLAN_TASKS) {
		add_line(l, "shardgate: run by the gateway session");
		return;
	}
	bool repartitioned = false;
	for (int32_t k = 0; k < p->nstages; k++)
		repartitioned = repartitioned ||
		                (p->stages[k].dest_node != 0 && p->stages[k].dest_node != p->merge_node);
	if (repartitioned) {
		add_line(l, "shardgate: repartition join, the rows of both sides hashed to every node, "
		            "joined there");
	} else if (p->nstages > 0 && p->partial_join) {
		add_line(l, arena_printf(a,
		                         "shardgate: join and partial aggregates per shard, combined in a "
		                         "temporary table on node %d, final query there",
		                         (int)p->merge_node));
	} else if (p->nstages > 0) {
		add_line(l, arena_printf(a,
		                         "shardgate: multi-stage, %d distributed relation(s) pulled into "
		                         "temporary tables on node %d, final query there",
		                         (int)p->nstages, (int)p->merge_node));
	}
	if (p->nstages > 0) {
		for (int32_t k = 0; k < p->nsemijoins; k++)
			add_line(l, arena_printf(a, "  %s", p->semijoins[k]));
		for (int32_t k = 0; k < p->nstages; k++) {
			const PullStage *st = &p->stages[k];
			const ExplainStageStat *ss = an != NULL ? &an->st->stages[k] : NULL;
			if (ss != NULL && ss->ran && an->timing)
				add_line(
				    l, arena_printf(a, "  Stage %d (actual time=%s)", (int)k + 1, ms(a, ss->usec)));
			else
				add_line(l, arena_printf(a, "  Stage %d", (int)k + 1));
			int32_t dest = st->dest_node != 0 ? st->dest_node : p->merge_node;
			add_line(l, arena_printf(a, "    create on node %d: %s; %s", (int)dest, st->create_sql,
			                         st->copy_sql));
			describe_frags(l, st->tasks, st->ntasks, an, ss != NULL ? ss->frags : NULL);
			if (st->local_sql != NULL) {
				add_line(
				    l, arena_printf(a, "    node %d (local shards): %s", (int)dest, st->local_sql));
				if (ss != NULL)
					add_measured(l, &ss->local, an, "inserted", "      ");
			}
		}
		for (int32_t i = 0; i < p->ntasks; i++) {
			add_line(l, arena_printf(a, "  Final query on node %d: %s", (int)p->tasks[i].node_id,
			                         p->tasks[i].sql));
			if (an != NULL) {
				if (!an->st->tasks[i].ran)
					add_line(l, "    (never executed)");
				add_output(l, &an->st->tasks[i], "    ");
			}
		}
		if (p->cleanup_sql != NULL)
			add_line(
			    l, arena_printf(a, "  Cleanup on node %d: %s", (int)p->merge_node, p->cleanup_sql));
		return;
	}
	int32_t nn = distinct_nodes(p->tasks, p->ntasks);
	if (p->combine == COMBINE_RELAY)
		add_line(l, "shardgate: router, one node, its answer relayed");
	else if (p->rows_from_node != 0)
		add_line(l, arena_printf(a,
		                         "shardgate: every node (reference table), rows and count "
		                         "reported from node %d",
		                         (int)p->rows_from_node));
	else
		add_line(
		    l, arena_printf(a, "shardgate: fan-out to %d node(s), results concatenated", (int)nn));
	describe_tasks(l, p->tasks, p->ntasks, "  ", an, an != NULL ? an->st->tasks : NULL);
}

bool
explain_plan(const ParsedStmt *stmt, const DistPlan *inner, int32_t node_id, Arena *a,
             DistPlan *plan, SgError *err)
{
	Lines l = {.a = a};
	describe(&l, inner, NULL);
	char *sql;
	if (!deparse_text_rows(a, stmt, l.v, l.n, "QUERY PLAN", &sql, err))
		return false;
	TaskList tl;
	tasks_init(&tl, a);
	tasks_add(&tl, node_id, sql);
	tasks_store(&tl, plan);
	plan->combine = COMBINE_CONCAT;
	plan->command_tag = "EXPLAIN";
	plan->has_count = false;
	plan->returns_rows = true;
	return true;
}

bool
explain_analyze_plan(const ParseInfo *pi, const DistPlan *inner, Arena *a, DistPlan *plan,
                     SgError *err)
{
	if (inner->kind != PLAN_TASKS || inner->is_ddl || inner->in_txn_forbidden)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "EXPLAIN ANALYZE of this statement is not supported through shardgate");
	*plan = *inner;
	Task *tasks = ARENA_NEW_ARRAY(a, Task, inner->ntasks + 1);
	for (int32_t i = 0; i < inner->ntasks; i++) {
		tasks[i] = inner->tasks[i];
		tasks[i].sql = arena_printf(a, "EXPLAIN (%s) %s", pi->explain_options, inner->tasks[i].sql);
	}
	plan->tasks = tasks;
	plan->explained = inner;
	plan->explain_timing = pi->explain_timing;
	plan->explain_summary = pi->explain_summary;
	plan->command_tag = "EXPLAIN";
	plan->has_count = false;
	plan->returns_rows = true;
	plan->set_kind = SET_NONE;
	plan->catalog_changed = false;
	plan->rows_from_node = 0;
	return true;
}

ExplainStats *
explain_stats_new(const DistPlan *plan)
{
	ExplainStats *st = calloc(1, sizeof(ExplainStats));
	if (st == NULL)
		abort();
	st->tasks = calloc((size_t)plan->ntasks + 1, sizeof(ExplainTaskStat));
	st->stages = calloc((size_t)plan->nstages + 1, sizeof(ExplainStageStat));
	if (st->tasks == NULL || st->stages == NULL)
		abort();
	for (int32_t i = 0; i < plan->ntasks; i++)
		buf_init(&st->tasks[i].out);
	for (int32_t k = 0; k < plan->nstages; k++) {
		st->stages[k].frags = calloc((size_t)plan->stages[k].ntasks + 1, sizeof(ExplainTaskStat));
		if (st->stages[k].frags == NULL)
			abort();
	}
	return st;
}

void
explain_stats_free(const DistPlan *plan, ExplainStats *st)
{
	if (st == NULL)
		return;
	for (int32_t i = 0; i < plan->ntasks; i++)
		buf_free(&st->tasks[i].out);
	for (int32_t k = 0; k < plan->nstages; k++)
		free(st->stages[k].frags);
	free(st->tasks);
	free(st->stages);
	free(st);
}

void
explain_analyze_lines(const DistPlan *plan, const ExplainStats *st, Arena *a, int32_t *nlines,
                      const char ***lines)
{
	Lines l = {.a = a};
	Analyzed an = {.st = st, .timing = plan->explain_timing};
	describe(&l, plan->explained, &an);
	if (plan->explain_summary)
		add_line(&l, arena_printf(a, "Execution Time: %s (shardgate, all nodes)",
		                          ms(a, st->total_usec)));
	*nlines = l.n;
	*lines = l.v;
}
