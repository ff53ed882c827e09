/*
 * catalog_stats.c: row estimates of catalogued tables from the nodes'
 * statistics, for the planner's choice of a join strategy (planner/semijoin.c).
 * Read by the gateway's stats refresh (gateway/server.c) in a worker, never
 * by catalog_load: a catalog change (and the statement waiting for it) does
 * not pay a connection to every node; a new snapshot starts with the
 * estimates of the one it replaces.
 *
 * Each active node is asked once per refresh, on a blocking connection kept
 * between refreshes (a LinkSet), for its shard tables (schemas
 * sg_g<group>_<index>) and the logical tables (reference tables keep their
 * rows there). A distributed
 * table's estimate is the sum over the nodes of its shard tables in its
 * group's schemas; a reference table's is the first answering node's copy.
 * A shard's estimate is reltuples, what the last ANALYZE (or VACUUM) saw,
 * when that is above 0; otherwise n_live_tup, which follows inserts and
 * deletes as their statistics are flushed (a table loaded and not analyzed
 * yet is not taken for empty). n_live_tup alone can count rows twice: an
 * ANALYZE resets it, and a loading backend's pending counts may be added
 * after that.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "storage/catalog.h"
#include "storage/linkset.h"

static const char stats_sql[] =
    "SELECT n.nspname, c.relname, "
    "(CASE WHEN c.reltuples > 0 THEN c.reltuples ELSE coalesce(s.n_live_tup, 0) END)::bigint "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
    "'shardgate', 'pg_toast')";

/* shard_group: the group of a shard schema name sg_g<group>_<index>, -1 otherwise */
static int32_t
shard_group(const char *schema)
{
	if (strncmp(schema, "sg_g", 4) != 0)
		return -1;
	char *end;
	long g = strtol(schema + 4, &end, 10);
	if (end == schema + 4 || *end != '_' || g <= 0 || g > INT32_MAX)
		return -1;
	return (int32_t)g;
}

static void
stats_add_row(CatalogSnapshot *snap, int64_t *sums, bool *ref_seen, const char *schema,
              const char *name, int64_t rows)
{
	int32_t g = shard_group(schema);
	for (int32_t i = 0; i < snap->ntables; i++) {
		const CatTable *t = &snap->tables[i];
		if (strcmp(t->name, name) != 0)
			continue;
		if (g > 0 && t->kind == TABLE_DISTRIBUTED && t->group_id == g) {
			sums[i] += rows;
			return;
		}
		if (g < 0 && t->kind == TABLE_REFERENCE && strcmp(t->schema, schema) == 0) {
			if (!ref_seen[i])
				sums[i] = rows;
			ref_seen[i] = true;
			return;
		}
	}
}

/* stats_connect: a new connection to node with the metadata login */
static PGconn *
stats_connect(const char *conninfo, const CatNode *node)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", (int)node->port);
	/* the metadata conninfo (login, password, options) with this node's address */
	const char *keys[] = {"dbname", "host", "port", "connect_timeout", "application_name", NULL};
	const char *vals[] = {conninfo, node->host, port, "2", "shardgate stats", NULL};
	return PQconnectdbParams(keys, vals, 1);
}

int
catalog_stats_refresh(CatalogSnapshot *snap, const char *conninfo, LinkSet *links)
{
	int64_t *sums = calloc((size_t)snap->ntables + 1, sizeof(int64_t));
	bool *ref_seen = calloc((size_t)snap->ntables + 1, sizeof(bool));
	if (sums == NULL || ref_seen == NULL)
		abort();
	int answered = 0;
	bool all = true;
	for (int32_t k = 0; k < snap->nnodes; k++) {
		const CatNode *node = &snap->nodes[k];
		if (!node->is_active)
			continue;
		PGconn *pg = linkset_take(links, node->host, node->port);
		if (pg == NULL)
			pg = stats_connect(conninfo, node);
		PGresult *res = NULL;
		if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
			res = PQexec(pg, stats_sql);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK) {
			answered++;
			for (int r = 0; r < PQntuples(res); r++)
				stats_add_row(snap, sums, ref_seen, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
				              strtoll(PQgetvalue(res, r, 2), NULL, 10));
		} else {
			all = false;
			sg_log_debug("catalog", "statistics of node %d not read", (int)node->id);
		}
		PQclear(res);
		linkset_put(links, node->host, node->port, pg);
	}
	for (int32_t i = 0; i < snap->ntables; i++)
		__atomic_store_n(&snap->tables[i].est_rows, all && answered > 0 ? sums[i] : -1,
		                 __ATOMIC_RELAXED);
	free(sums);
	free(ref_seen);
	return answered;
}

int64_t
catalog_est_rows(const CatTable *t)
{
	return __atomic_load_n(&t->est_rows, __ATOMIC_RELAXED);
}

void
catalog_carry_estimates(CatalogSnapshot *to, const CatalogSnapshot *from)
{
	for (int32_t i = 0; i < to->ntables; i++) {
		CatTable *t = &to->tables[i];
		const CatTable *o = catalog_find_table(from, t->schema, t->name);
		if (o != NULL && o->kind == t->kind && o->group_id == t->group_id)
			__atomic_store_n(&t->est_rows, catalog_est_rows(o), __ATOMIC_RELAXED);
	}
}
