/*
 * lockwait.c: collect lock-wait edges from every node (blocking libpq, run in
 * a worker). One short query per node:
 *   SELECT pid, unnest(pg_blocking_pids(pid)) FROM pg_stat_activity
 *   WHERE wait_event_type = 'Lock'
 */
#include "storage/lockwait.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static const char lockwait_sql[] =
    "SELECT pid, unnest(pg_catalog.pg_blocking_pids(pid)) FROM pg_catalog.pg_stat_activity "
    "WHERE wait_event_type = 'Lock'";

bool
lockwait_collect(const CatalogSnapshot *snap, const char *user, const char *dbname, Arena *a,
                 LockWait **out, int *n, SgError *err)
{
	int cap = 16, count = 0;
	LockWait *edges = arena_alloc(a, sizeof(LockWait) * (size_t)cap);
	(void)err;
	for (int32_t i = 0; i < snap->nnodes; i++) {
		const CatNode *node = &snap->nodes[i];
		if (!node->is_active)
			continue;
		char port[16];
		snprintf(port, sizeof(port), "%d", node->port);
		const char *keys[] = {
		    "host", "port", "user", "dbname", "connect_timeout", "application_name", NULL};
		const char *vals[] = {node->host, port, user, dbname, "2", "shardgate deadlock", NULL};
		PGconn *pg = PQconnectdbParams(keys, vals, 0);
		if (PQstatus(pg) != CONNECTION_OK) {
			PQfinish(pg);
			continue;
		}
		PGresult *res = PQexec(pg, lockwait_sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			for (int r = 0; r < PQntuples(res); r++) {
				if (count == cap) {
					LockWait *bigger = arena_alloc(a, sizeof(LockWait) * (size_t)cap * 2);
					memcpy(bigger, edges, sizeof(LockWait) * (size_t)cap);
					edges = bigger;
					cap *= 2;
				}
				edges[count].node_id = node->id;
				edges[count].waiter = (int32_t)atoi(PQgetvalue(res, r, 0));
				edges[count].blocker = (int32_t)atoi(PQgetvalue(res, r, 1));
				count++;
			}
		}
		PQclear(res);
		PQfinish(pg);
	}
	*out = edges;
	*n = count;
	return true;
}

bool
prepared_collect(const CatalogSnapshot *snap, const char *user, const char *dbname, Arena *a,
                 PreparedXact **out, int *n, SgError *err)
{
	int cap = 16, count = 0;
	PreparedXact *rows = arena_alloc(a, sizeof(PreparedXact) * (size_t)cap);
	(void)err;
	for (int32_t i = 0; i < snap->nnodes; i++) {
		const CatNode *node = &snap->nodes[i];
		if (!node->is_active)
			continue;
		char port[16];
		snprintf(port, sizeof(port), "%d", node->port);
		const char *keys[] = {
		    "host", "port", "user", "dbname", "connect_timeout", "application_name", NULL};
		const char *vals[] = {node->host, port, user, dbname, "2", "shardgate operator", NULL};
		PGconn *pg = PQconnectdbParams(keys, vals, 0);
		if (PQstatus(pg) != CONNECTION_OK) {
			PQfinish(pg);
			continue;
		}
		PGresult *res = PQexec(pg, "SELECT gid, prepared::text FROM pg_catalog.pg_prepared_xacts "
		                           "WHERE gid LIKE 'sg\\_%' ORDER BY prepared");
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			for (int r = 0; r < PQntuples(res); r++) {
				if (count == cap) {
					PreparedXact *bigger = arena_alloc(a, sizeof(PreparedXact) * (size_t)cap * 2);
					memcpy(bigger, rows, sizeof(PreparedXact) * (size_t)cap);
					rows = bigger;
					cap *= 2;
				}
				rows[count].node_id = node->id;
				rows[count].gid = arena_strdup(a, PQgetvalue(res, r, 0));
				rows[count].prepared = arena_strdup(a, PQgetvalue(res, r, 1));
				count++;
			}
		}
		PQclear(res);
		PQfinish(pg);
	}
	*out = rows;
	*n = count;
	return true;
}
