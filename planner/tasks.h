#ifndef SG_PLANNER_TASKS_H
#define SG_PLANNER_TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "planner/plan.h"
#include "storage/catalog.h"

/*
 * tasks.h: small builders shared by the planning files: a growable task
 * list, a statement list joined with "; " (deparsed statements only), and
 * the nodes a plan may target.
 */

typedef struct TaskList {
	Arena *a;
	int32_t n, cap;
	Task *tasks;
} TaskList;

typedef struct SqlList {
	Arena *a;
	int32_t n, cap;
	const char **sql;
} SqlList;

void tasks_init(TaskList *tl, Arena *a);
/* tasks_add appends a task (sql owned by the caller's arena) and returns it */
Task *tasks_add(TaskList *tl, int32_t node_id, const char *sql);
/* tasks_store moves the list into plan (ntasks, tasks) */
void tasks_store(TaskList *tl, DistPlan *plan);

/*
 * tasks_lone_relay: the plan is one relayed task running one statement with
 * nothing around it (no stages, cleanup, settings, catalog or schema change)
 * and no internal parameters: what the plan caches can rebuild
 */
bool tasks_lone_relay(const DistPlan *p);

/* RelayShape: what a lone relayed task's plan says besides its node and SQL */
typedef struct RelayShape {
	char *command_tag; /* malloc'd by the cache holding it */
	bool has_count, returns_rows, is_write;
} RelayShape;

/* relay_shape_of: p's shape (command tag copied with strdup; false if out of memory) */
bool relay_shape_of(const DistPlan *p, RelayShape *out);
/* tasks_relay_plan: a plan of one relayed task (in a), shaped like shape */
DistPlan *tasks_relay_plan(Arena *a, int32_t node_id, const char *sql, bool uses_params,
                           const RelayShape *shape);

/* tasks_add_forget_table: on the metadata node, drop the catalog's row of a dropped table */
void tasks_add_forget_table(TaskList *tl, int32_t node_id, const CatTable *t, DistPlan *plan);

void sqllist_init(SqlList *sl, Arena *a);
void sqllist_add(SqlList *sl, const char *sql);
/* sqllist_join: all statements joined with "; " (in the list's arena); "" when empty */
const char *sqllist_join(const SqlList *sl);
/*
 * sqllist_to_tasks adds the statements for node_id to tl: one task holding
 * them all, or one task per statement when separate (statements that may
 * not run inside a transaction block, which a multi-statement string is).
 */
void sqllist_to_tasks(const SqlList *sl, TaskList *tl, int32_t node_id, bool separate);

#endif /* SG_PLANNER_TASKS_H */
