/*
 * lockwait.c: views across the nodes (blocking libpq, run in a worker):
 * lock-wait edges for the deadlock detector, and the in-doubt 2PC prepared
 * transactions for the operator view. Both are one short query per active
 * node (node_each_row); an unreachable node is skipped. The deadlock
 * detector's rounds (every deadlock_check_ms while a statement waits) keep
 * their connections in a LinkSet.
 */
#include "storage/lockwait.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/linkset.h"

static const char lockwait_sql[] =
    "SELECT pid, unnest(pg_catalog.pg_blocking_pids(pid)) FROM pg_catalog.pg_stat_activity "
    "WHERE wait_event_type = 'Lock'";

static const char prepared_sql[] = "SELECT gid, prepared::text FROM pg_catalog.pg_prepared_xacts "
                                   "WHERE gid LIKE 'sg\\_%' ORDER BY prepared";

typedef void (*RowFn)(int32_t node_id, PGresult *res, int row, void *arg);

/*
 * node_each_row: run sql on every reachable active node; row(node, res, r,
 * arg) per row. links (NULL: none) keeps the connections for the next call.
 */
static void
node_each_row(const CatalogSnapshot *snap, const char *user, const char *dbname, const char *app,
              const char *sql, RowFn row, void *arg, LinkSet *links)
{
	for (int32_t i = 0; i < snap->nnodes; i++) {
		const CatNode *node = &snap->nodes[i];
		if (!node->is_active)
			continue;
		char port[16];
		snprintf(port, sizeof(port), "%d", node->port);
		const char *keys[] = {
		    "host", "port", "user", "dbname", "connect_timeout", "application_name", NULL};
		const char *vals[] = {node->host, port, user, dbname, "2", app, NULL};
		PGconn *pg = linkset_take(links, node->host, node->port);
		if (pg == NULL)
			pg = PQconnectdbParams(keys, vals, 0);
		if (PQstatus(pg) == CONNECTION_OK) {
			PGresult *res = PQexec(pg, sql);
			if (PQresultStatus(res) == PGRES_TUPLES_OK)
				for (int r = 0; r < PQntuples(res); r++)
					row(node->id, res, r, arg);
			PQclear(res);
		}
		linkset_put(links, node->host, node->port, pg);
	}
}

/* Rows: a growable array in an arena */
typedef struct Rows {
	Arena *a;
	void *items;
	size_t size;
	int n;
	int cap;
} Rows;

static void *
rows_push(Rows *rs)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 16;
		void *bigger = arena_alloc(rs->a, rs->size * (size_t)cap);
		if (rs->n > 0)
			memcpy(bigger, rs->items, rs->size * (size_t)rs->n);
		rs->items = bigger;
		rs->cap = cap;
	}
	return (char *)rs->items + rs->size * (size_t)rs->n++;
}

static void
lockwait_row(int32_t node_id, PGresult *res, int r, void *arg)
{
	LockWait *e = rows_push(arg);
	e->node_id = node_id;
	e->waiter = (int32_t)atoi(PQgetvalue(res, r, 0));
	e->blocker = (int32_t)atoi(PQgetvalue(res, r, 1));
}

bool
lockwait_collect(const CatalogSnapshot *snap, const char *user, const char *dbname, Arena *a,
                 LockWait **out, int *n, SgError *err, LinkSet *links)
{
	(void)err;
	Rows rs = {a, NULL, sizeof(LockWait), 0, 0};
	node_each_row(snap, user, dbname, "shardgate deadlock", lockwait_sql, lockwait_row, &rs, links);
	*out = rs.items;
	*n = rs.n;
	return true;
}

static void
prepared_row(int32_t node_id, PGresult *res, int r, void *arg)
{
	Rows *rs = arg;
	PreparedXact *x = rows_push(rs);
	x->node_id = node_id;
	x->gid = arena_strdup(rs->a, PQgetvalue(res, r, 0));
	x->prepared = arena_strdup(rs->a, PQgetvalue(res, r, 1));
}

bool
prepared_collect(const CatalogSnapshot *snap, const char *user, const char *dbname, Arena *a,
                 PreparedXact **out, int *n, SgError *err)
{
	(void)err;
	Rows rs = {a, NULL, sizeof(PreparedXact), 0, 0};
	node_each_row(snap, user, dbname, "shardgate operator", prepared_sql, prepared_row, &rs, NULL);
	*out = rs.items;
	*n = rs.n;
	return true;
}
