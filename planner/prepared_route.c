/*
 * prepared_route.c: routing of a prepared statement's Executes without
 * planning (prepared_route.h).
 *
 * States: UNKNOWN (nothing learnt under the current snapshot and
 * search_path), NONE (the statement does not route by one parameter: plan
 * every time) and ROUTE (parameter $n of the distribution column of group g;
 * shard_sql[i] is the SQL the planner made for shard i, NULL until an
 * Execute went there).
 */
#include "planner/prepared_route.h"

#include <stdlib.h>
#include <string.h>

#include "planner/analyze.h"
#include "planner/tasks.h"
#include "storage/shardmap.h"

typedef enum RouteState { ROUTE_UNKNOWN, ROUTE_NONE, ROUTE_BY_PARAM } RouteState;

struct PreparedRoute {
	RouteState state;
	CatalogSnapshot *snap; /* referenced; the one learnt under */
	char *search_path;     /* NULL = unset */
	int32_t param;         /* ROUTE_BY_PARAM: 1-based $n */
	const CatTable *table; /* in snap */
	const CatGroup *group;
	char **shard_sql; /* [group->shard_count] */
	RelayShape shape;
};

PreparedRoute *
prepared_route_create(void)
{
	return calloc(1, sizeof(PreparedRoute));
}

static void
route_reset(PreparedRoute *r)
{
	if (r->shard_sql != NULL)
		for (int32_t i = 0; i < r->group->shard_count; i++)
			free(r->shard_sql[i]);
	free(r->shard_sql);
	free(r->search_path);
	free(r->shape.command_tag);
	if (r->snap != NULL)
		catalog_unref(r->snap);
	memset(r, 0, sizeof(*r));
}

void
prepared_route_destroy(PreparedRoute *r)
{
	if (r == NULL)
		return;
	route_reset(r);
	free(r);
}

static bool
same_path(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* route_current: r describes snap and search_path (else it is reset to UNKNOWN) */
static bool
route_current(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path)
{
	if (r->state == ROUTE_UNKNOWN)
		return false;
	if (r->snap == snap && same_path(r->search_path, search_path))
		return true;
	route_reset(r);
	return false;
}

/* param_shard: the shard of $n's Bind value; false for NULL or a value the planner should judge */
static bool
param_shard(const PreparedRoute *r, const PlanParams *params, Arena *a, int32_t *shard)
{
	uint64_t h;
	bool is_null;
	SgError ignored;
	if (!analyze_param_hash(a, params, r->table, r->param, &h, &is_null, &ignored) || is_null)
		return false;
	*shard = shardmap_shard_index(h, r->group->shard_count);
	return true;
}

bool
prepared_route_plan(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path,
                    const PlanParams *params, Arena *a, DistPlan **out)
{
	if (r == NULL || !route_current(r, snap, search_path) || r->state != ROUTE_BY_PARAM)
		return false;
	int32_t shard;
	if (!param_shard(r, params, a, &shard) || r->shard_sql[shard] == NULL)
		return false;
	*out = tasks_relay_plan(a, r->group->placement[shard], r->shard_sql[shard], true, &r->shape);
	return true;
}

/* routable_plan: one relayed task running the client's statement, nothing else */
static bool
routable_plan(const DistPlan *p)
{
	return tasks_lone_relay(p) && p->tasks[0].uses_params;
}

/* learn_routing: from UNKNOWN to ROUTE_BY_PARAM or ROUTE_NONE */
static void
learn_routing(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path,
              const ParsedStmt *stmt, const char *text, const PlanParams *params,
              const DistPlan *plan, Arena *a)
{
	r->state = ROUTE_NONE;
	catalog_ref(snap);
	r->snap = snap;
	r->search_path = search_path != NULL ? strdup(search_path) : NULL;
	if (!routable_plan(plan))
		return;
	Analysis an;
	SgError err;
	if (!analyze_stmt(snap, stmt, text, search_path, params, a, &an, &err))
		return;
	int32_t rel;
	const ParseValue *v = analyze_single_pin(&an, &rel);
	if (v == NULL || v->kind != PV_PARAM || an.pi.func.mentioned != NULL)
		return;
	const CatGroup *g = an.rels[rel].group;
	char **sqls = calloc((size_t)g->shard_count, sizeof(char *));
	RelayShape shape;
	if (sqls == NULL || !relay_shape_of(plan, &shape)) {
		free(sqls);
		return;
	}
	r->state = ROUTE_BY_PARAM;
	r->param = v->param;
	r->table = an.rels[rel].table;
	r->group = g;
	r->shard_sql = sqls;
	r->shape = shape;
}

void
prepared_route_learn(PreparedRoute *r, CatalogSnapshot *snap, const char *search_path,
                     const ParsedStmt *stmt, const char *text, const PlanParams *params,
                     const DistPlan *plan, Arena *a)
{
	if (r == NULL || params == NULL)
		return;
	if (!route_current(r, snap, search_path))
		learn_routing(r, snap, search_path, stmt, text, params, plan, a);
	if (r->state != ROUTE_BY_PARAM || !routable_plan(plan))
		return;
	int32_t shard;
	if (!param_shard(r, params, a, &shard) || r->shard_sql[shard] != NULL ||
	    r->group->placement[shard] != plan->tasks[0].node_id)
		return;
	r->shard_sql[shard] = strdup(plan->tasks[0].sql);
}
