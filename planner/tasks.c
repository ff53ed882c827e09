/*
 * tasks.c: growable task and statement lists for the planning files (see
 * tasks.h). Everything lives in the statement arena; a grown array copies
 * the old one and leaves it to the arena.
 */
#include "planner/tasks.h"

#include <stdlib.h>
#include <string.h>

void
tasks_init(TaskList *tl, Arena *a)
{
	memset(tl, 0, sizeof(*tl));
	tl->a = a;
}

Task *
tasks_add(TaskList *tl, int32_t node_id, const char *sql)
{
	if (tl->n == tl->cap) {
		int32_t ncap = tl->cap == 0 ? 4 : tl->cap * 2;
		Task *bigger = ARENA_NEW_ARRAY(tl->a, Task, ncap);
		if (tl->n > 0)
			memcpy(bigger, tl->tasks, sizeof(Task) * (size_t)tl->n);
		tl->tasks = bigger;
		tl->cap = ncap;
	}
	Task *t = &tl->tasks[tl->n++];
	memset(t, 0, sizeof(*t));
	t->node_id = node_id;
	t->sql = sql;
	return t;
}

void
tasks_store(TaskList *tl, DistPlan *plan)
{
	plan->kind = PLAN_TASKS;
	plan->ntasks = tl->n;
	plan->tasks = tl->tasks;
}

void
sqllist_init(SqlList *sl, Arena *a)
{
	memset(sl, 0, sizeof(*sl));
	sl->a = a;
}

void
sqllist_add(SqlList *sl, const char *sql)
{
	if (sl->n == sl->cap) {
		int32_t ncap = sl->cap == 0 ? 8 : sl->cap * 2;
		const char **bigger = ARENA_NEW_ARRAY(sl->a, const char *, ncap);
		if (sl->n > 0)
			memcpy(bigger, sl->sql, sizeof(char *) * (size_t)sl->n);
		sl->sql = bigger;
		sl->cap = ncap;
	}
	sl->sql[sl->n++] = sql;
}

const char *
sqllist_join(const SqlList *sl)
{
	size_t len = 1;
	for (int32_t i = 0; i < sl->n; i++)
		len += strlen(sl->sql[i]) + 2;
	char *buf = arena_alloc(sl->a, len);
	char *p = buf;
	for (int32_t i = 0; i < sl->n; i++) {
		if (i > 0) {
			memcpy(p, "; ", 2);
			p += 2;
		}
		size_t n = strlen(sl->sql[i]);
		memcpy(p, sl->sql[i], n);
		p += n;
	}
	*p = '\0';
	return buf;
}

void
sqllist_to_tasks(const SqlList *sl, TaskList *tl, int32_t node_id, bool separate)
{
	if (sl->n == 0)
		return;
	if (!separate) {
		tasks_add(tl, node_id, sqllist_join(sl));
		return;
	}
	for (int32_t i = 0; i < sl->n; i++)
		tasks_add(tl, node_id, sl->sql[i]);
}

bool
tasks_lone_relay(const DistPlan *p)
{
	return p->kind == PLAN_TASKS && p->ntasks == 1 && p->combine == COMBINE_RELAY &&
	       p->nstages == 0 && p->cleanup_sql == NULL && p->set_kind == SET_NONE &&
	       !p->in_txn_forbidden && !p->catalog_changed && !p->is_ddl && p->rows_from_node == 0 &&
	       p->tasks[0].nparams == 0;
}

void
tasks_add_forget_table(TaskList *tl, int32_t node_id, const CatTable *t, DistPlan *plan)
{
	Task *task = tasks_add(tl, node_id, "SELECT shardgate.forget_table($1, $2)");
	task->nparams = 2;
	task->params = ARENA_NEW_ARRAY(tl->a, const char *, 2);
	task->params[0] = t->schema;
	task->params[1] = t->name;
	plan->catalog_changed = true;
}

bool
relay_shape_of(const DistPlan *p, RelayShape *out)
{
	out->command_tag = strdup(p->command_tag != NULL ? p->command_tag : "");
	out->has_count = p->has_count;
	out->returns_rows = p->returns_rows;
	out->is_write = p->is_write;
	return out->command_tag != NULL;
}

DistPlan *
tasks_relay_plan(Arena *a, int32_t node_id, const char *sql, bool uses_params,
                 const RelayShape *shape)
{
	DistPlan *plan = ARENA_NEW(a, DistPlan);
	plan->kind = PLAN_TASKS;
	plan->ntasks = 1;
	plan->tasks = ARENA_NEW(a, Task);
	plan->tasks[0].node_id = node_id;
	plan->tasks[0].sql = sql;
	plan->tasks[0].uses_params = uses_params;
	plan->combine = COMBINE_RELAY;
	plan->command_tag = shape->command_tag;
	plan->has_count = shape->has_count;
	plan->returns_rows = shape->returns_rows;
	plan->is_write = shape->is_write;
	return plan;
}
