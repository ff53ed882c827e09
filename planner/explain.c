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
 */
#include "planner/explain.h"

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

static void
describe_tasks(Lines *l, const Task *tasks, int32_t n, const char *indent)
{
	for (int32_t i = 0; i < n; i++)
		add_line(l,
		         arena_printf(l->a, "%snode %d: %s", indent, (int)tasks[i].node_id, tasks[i].sql));
}

static void
describe(Lines *l, const DistPlan *p)
{
	Arena *a = l->a;
	if (p->kind != PLAN_TASKS) {
		add_line(l, "shardgate: run by the gateway session");
		return;
	}
	if (p->nstages > 0) {
		add_line(l, arena_printf(a,
		                         "shardgate: multi-stage, %d distributed relation(s) pulled into "
		                         "temporary tables on node %d, final query there",
		                         (int)p->nstages, (int)p->merge_node));
		for (int32_t k = 0; k < p->nstages; k++) {
			const PullStage *st = &p->stages[k];
			add_line(l, arena_printf(a, "  Stage %d", (int)k + 1));
			add_line(l, arena_printf(a, "    create on node %d: %s; %s", (int)p->merge_node,
			                         st->create_sql, st->copy_sql));
			describe_tasks(l, st->tasks, st->ntasks, "    ");
			if (st->local_sql != NULL)
				add_line(l, arena_printf(a, "    node %d (local shards): %s", (int)p->merge_node,
				                         st->local_sql));
		}
		for (int32_t i = 0; i < p->ntasks; i++)
			add_line(l, arena_printf(a, "  Final query on node %d: %s", (int)p->tasks[i].node_id,
			                         p->tasks[i].sql));
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
	describe_tasks(l, p->tasks, p->ntasks, "  ");
}

bool
explain_plan(const ParsedStmt *stmt, const DistPlan *inner, int32_t node_id, Arena *a,
             DistPlan *plan, SgError *err)
{
	Lines l = {.a = a};
	describe(&l, inner);
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
