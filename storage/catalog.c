/*
 * catalog.c: the gateway's copy of the `shardgate` catalog schema
 * (sql/catalog.sql) as an immutable, reference-counted CatalogSnapshot.
 *
 * Structures: one CatalogSnapshot per load, with every string and array it
 * points to (nodes, co-location groups with their placement arrays, tables
 * with their column lists) allocated in the snapshot's own Arena; the
 * snapshot struct itself lives in that arena too, so catalog_unref() of the
 * last reference frees everything with one arena_destroy().
 *
 * Flow: catalog_load() opens one blocking libpq connection to the metadata
 * node, reads all catalog tables inside one REPEATABLE READ READ ONLY
 * transaction (so version, nodes, groups, placements and tables are one
 * consistent picture), then the user-visible columns of every catalogued
 * table from pg_attribute of the logical ("shell") tables on that node.
 *
 * Invariants: a published snapshot is never modified; nodes are sorted by
 * id; lookups are linear scans that do not rely on order, so hand-built test
 * snapshots work unchanged. The refcount is a plain int touched only through
 * __atomic builtins (catalog_ref/catalog_unref may run on any thread).
 *
 * libpq is used directly here (blocking) because loading happens at start-up
 * or in a worker thread, never on an event loop.
 */
#include "storage/catalog.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define CATALOG_ARENA_CHUNK 16384

/*
 * catalog_pq_error fills err from a failed libpq result (SQLSTATE, message,
 * detail, hint as the node sent them), or from the connection's message when
 * there is no result. Always returns false.
 */
static bool
catalog_pq_error(PGconn *conn, const PGresult *res, const char *what, SgError *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL) {
		msg = PQerrorMessage(conn);
		if (msg == NULL || msg[0] == '\0')
			msg = "unknown error";
	}
	sg_error_set(err, state ? state : SQLSTATE_CONNECTION_FAILURE, "catalog %s: %s", what, msg);
	size_t n = strlen(err->message);
	while (n > 0 && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
		err->message[--n] = '\0';
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (detail != NULL)
		sg_error_detail(err, "%s", detail);
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	if (hint != NULL)
		sg_error_hint(err, "%s", hint);
	return false;
}

/*
 * catalog_connect opens a blocking connection with conninfo. NULL with err
 * (08006, libpq's message: it never contains the password) on failure.
 */
static PGconn *
catalog_connect(const char *conninfo, SgError *err)
{
	PGconn *conn = PQconnectdb(conninfo);
	if (conn == NULL) {
		sg_error_set(err, SQLSTATE_OUT_OF_MEMORY, "catalog: out of memory connecting");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		catalog_pq_error(conn, NULL, "connection to metadata node failed", err);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * catalog_query runs sql (no parameters) and returns its result if its
 * status is `expect`; otherwise NULL with err filled. Caller PQclear()s.
 */
static PGresult *
catalog_query(PGconn *conn, const char *sql, ExecStatusType expect, const char *what, SgError *err)
{
	PGresult *res = PQexec(conn, sql);
	if (res == NULL || PQresultStatus(res) != expect) {
		catalog_pq_error(conn, res, what, err);
		PQclear(res);
		return NULL;
	}
	return res;
}

static int32_t
catalog_int32(const PGresult *res, int row, int col)
{
	return (int32_t)strtol(PQgetvalue(res, row, col), NULL, 10);
}

static bool
catalog_bool(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

static bool
catalog_read_nodes(PGconn *conn, CatalogSnapshot *snap, SgError *err)
{
	PGresult *res = catalog_query(
	    conn, "SELECT node_id, host, port, is_active FROM shardgate.nodes ORDER BY node_id",
	    PGRES_TUPLES_OK, "read nodes", err);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	snap->nnodes = n;
	snap->nodes = ARENA_NEW_ARRAY(snap->arena, CatNode, n > 0 ? n : 1);
	for (int i = 0; i < n; i++) {
		CatNode *node = &snap->nodes[i];
		node->id = catalog_int32(res, i, 0);
		node->host = arena_strdup(snap->arena, PQgetvalue(res, i, 1));
		node->port = catalog_int32(res, i, 2);
		node->is_active = catalog_bool(res, i, 3);
	}
	PQclear(res);
	return true;
}

static bool
catalog_read_groups(PGconn *conn, CatalogSnapshot *snap, SgError *err)
{
	PGresult *res = catalog_query(conn,
	                              "SELECT group_id, shard_count, dist_type FROM "
	                              "shardgate.colocation_groups ORDER BY group_id",
	                              PGRES_TUPLES_OK, "read co-location groups", err);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	snap->ngroups = n;
	snap->groups = ARENA_NEW_ARRAY(snap->arena, CatGroup, n > 0 ? n : 1);
	for (int i = 0; i < n; i++) {
		CatGroup *g = &snap->groups[i];
		g->id = catalog_int32(res, i, 0);
		g->shard_count = catalog_int32(res, i, 1);
		g->dist_type = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL, 10);
		/* zeroed: a shard without a placement row maps to node 0 (no node) */
		g->placement = ARENA_NEW_ARRAY(snap->arena, int32_t, g->shard_count);
	}
	PQclear(res);

	/* one node per shard for now: the lowest node id if several are listed */
	res = catalog_query(conn,
	                    "SELECT group_id, shard_index, min(node_id) FROM shardgate.placements "
	                    "GROUP BY group_id, shard_index ORDER BY group_id, shard_index",
	                    PGRES_TUPLES_OK, "read placements", err);
	if (res == NULL)
		return false;
	for (int i = 0; i < PQntuples(res); i++) {
		CatGroup *g = (CatGroup *)catalog_find_group(snap, catalog_int32(res, i, 0));
		int32_t index = catalog_int32(res, i, 1);
		if (g == NULL || index < 0 || index >= g->shard_count)
			continue; /* foreign keys make this impossible; ignore rather than crash */
		g->placement[index] = catalog_int32(res, i, 2);
	}
	PQclear(res);
	for (int i = 0; i < snap->ngroups; i++) {
		const CatGroup *g = &snap->groups[i];
		for (int32_t s = 0; s < g->shard_count; s++) {
			if (g->placement[s] == 0) {
				sg_log_warning("catalog", "group %d shard %d has no placement", g->id, s);
				break;
			}
		}
	}
	return true;
}

static bool
catalog_read_tables(PGconn *conn, CatalogSnapshot *snap, SgError *err)
{
	PGresult *res = catalog_query(conn,
	                              "SELECT schema_name, table_name, kind, dist_column, group_id "
	                              "FROM shardgate.tables ORDER BY schema_name, table_name",
	                              PGRES_TUPLES_OK, "read tables", err);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	snap->ntables = n;
	snap->tables = ARENA_NEW_ARRAY(snap->arena, CatTable, n > 0 ? n : 1);
	for (int i = 0; i < n; i++) {
		CatTable *t = &snap->tables[i];
		t->schema = arena_strdup(snap->arena, PQgetvalue(res, i, 0));
		t->name = arena_strdup(snap->arena, PQgetvalue(res, i, 1));
		t->kind = PQgetvalue(res, i, 2)[0] == 'd' ? TABLE_DISTRIBUTED : TABLE_REFERENCE;
		t->dist_column =
		    PQgetisnull(res, i, 3) ? NULL : arena_strdup(snap->arena, PQgetvalue(res, i, 3));
		t->group_id = PQgetisnull(res, i, 4) ? 0 : catalog_int32(res, i, 4);
		t->dist_colpos = -1;
		t->est_rows = -1;
		if (t->kind == TABLE_DISTRIBUTED) {
			/* fallback until the shell's columns are read below */
			const CatGroup *g = catalog_find_group(snap, t->group_id);
			t->dist_type = g ? g->dist_type : 0;
		}
	}
	PQclear(res);
	return true;
}

/*
 * catalog_read_columns reads, for every catalogued table, the user-visible
 * columns of its shell on the metadata node in attnum order, and sets the
 * distribution column's position and type. A table whose shell is missing
 * keeps ncolumns 0 (logged).
 */
static bool
catalog_read_columns(PGconn *conn, CatalogSnapshot *snap, SgError *err)
{
	PGresult *res = catalog_query(
	    conn,
	    "SELECT t.schema_name, t.table_name, a.attname, a.atttypid, "
	    "       count(*) OVER (PARTITION BY t.schema_name, t.table_name), "
	    "       pg_catalog.pg_get_serial_sequence("
	    "           pg_catalog.format('%I.%I', n.nspname, c.relname), a.attname), "
	    "       a.attidentity, a.atthasdef "
	    "FROM shardgate.tables t "
	    "JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name "
	    "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name "
	    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
	    "WHERE a.attnum > 0 AND NOT a.attisdropped "
	    "ORDER BY t.schema_name, t.table_name, a.attnum",
	    PGRES_TUPLES_OK, "read table columns", err);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	CatTable *cur = NULL;
	for (int i = 0; i < n; i++) {
		const char *schema = PQgetvalue(res, i, 0);
		const char *name = PQgetvalue(res, i, 1);
		if (cur == NULL || strcmp(cur->schema, schema) != 0 || strcmp(cur->name, name) != 0) {
			cur = (CatTable *)catalog_find_table(snap, schema, name);
			if (cur == NULL)
				continue; /* cannot happen: the rows come from shardgate.tables */
			int32_t ncols = catalog_int32(res, i, 4);
			cur->columns = ARENA_NEW_ARRAY(snap->arena, char *, ncols > 0 ? ncols : 1);
			cur->column_types = ARENA_NEW_ARRAY(snap->arena, uint32_t, ncols > 0 ? ncols : 1);
			cur->column_identity = ARENA_NEW_ARRAY(snap->arena, char, ncols > 0 ? ncols : 1);
			cur->ncolumns = 0;
		}
		const char *attname = PQgetvalue(res, i, 2);
		if (cur->dist_column != NULL && strcmp(cur->dist_column, attname) == 0) {
			cur->dist_colpos = cur->ncolumns;
			cur->dist_type = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
			if (!PQgetisnull(res, i, 5))
				cur->dist_sequence = arena_strdup(snap->arena, PQgetvalue(res, i, 5));
			cur->dist_has_default = strcmp(PQgetvalue(res, i, 7), "t") == 0;
		}
		cur->column_types[cur->ncolumns] = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
		cur->column_identity[cur->ncolumns] = PQgetvalue(res, i, 6)[0];
		cur->columns[cur->ncolumns++] = arena_strdup(snap->arena, attname);
	}
	PQclear(res);
	for (int i = 0; i < snap->ntables; i++) {
		const CatTable *t = &snap->tables[i];
		if (t->ncolumns == 0)
			sg_log_warning("catalog", "table %s.%s has no shell on the metadata node", t->schema,
			               t->name);
		else if (t->kind == TABLE_DISTRIBUTED && t->dist_colpos < 0)
			sg_log_warning("catalog", "table %s.%s: distribution column %s not found", t->schema,
			               t->name, t->dist_column);
	}
	return true;
}

static bool
catalog_read_all(PGconn *conn, CatalogSnapshot *snap, SgError *err)
{
	PGresult *res = catalog_query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	                              PGRES_COMMAND_OK, "begin", err);
	if (res == NULL)
		return false;
	PQclear(res);
	res = catalog_query(conn,
	                    "SELECT version, "
	                    "pg_catalog.to_regclass('shardgate.pg_namespace') IS NOT NULL, "
	                    "pg_catalog.to_regclass('shardgate.info_tables') IS NOT NULL "
	                    "FROM shardgate.version",
	                    PGRES_TUPLES_OK, "read version", err);
	if (res == NULL)
		return false;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return sg_error_set(err, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE,
		                    "catalog: shardgate.version has no row");
	}
	snap->version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	snap->has_namespace_view = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	snap->has_table_views = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	if (!catalog_read_nodes(conn, snap, err) || !catalog_read_groups(conn, snap, err) ||
	    !catalog_read_tables(conn, snap, err) || !catalog_read_columns(conn, snap, err))
		return false;
	res = catalog_query(conn, "COMMIT", PGRES_COMMAND_OK, "commit", err);
	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

/*
 * load_over: the whole catalog read over conn, or NULL with err filled. The
 * snapshot and everything in it live in a new arena owned by the snapshot.
 */
static CatalogSnapshot *
load_over(PGconn *conn, SgError *err)
{
	CatalogSnapshot *snap = catalog_new_empty(0);
	if (!catalog_read_all(conn, snap, err)) {
		catalog_unref(snap);
		return NULL;
	}
	sg_log_debug("catalog", "loaded version %lld: %d nodes, %d groups, %d tables",
	             (long long)snap->version, snap->nnodes, snap->ngroups, snap->ntables);
	return snap;
}

/* catalog_load: see catalog.h */
CatalogSnapshot *
catalog_load(const char *conninfo, SgError *err)
{
	PGconn *conn = catalog_connect(conninfo, err);
	if (conn == NULL)
		return NULL;
	CatalogSnapshot *snap = load_over(conn, err);
	PQfinish(conn);
	return snap;
}

/* read_version: the catalog version over conn, or -1 with err filled */
static int64_t
read_version(PGconn *conn, SgError *err)
{
	int64_t version = -1;
	PGresult *res = catalog_query(conn, "SELECT version FROM shardgate.version", PGRES_TUPLES_OK,
	                              "read version", err);
	if (res != NULL) {
		if (PQntuples(res) == 1)
			version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		else
			sg_error_set(err, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE,
			             "catalog: shardgate.version has no row");
		PQclear(res);
	}
	return version;
}

/* catalog_read_version: see catalog.h */
int64_t
catalog_read_version(const char *conninfo, SgError *err)
{
	PGconn *conn = catalog_connect(conninfo, err);
	if (conn == NULL)
		return -1;
	int64_t version = read_version(conn, err);
	PQfinish(conn);
	return version;
}

struct CatalogLink {
	char *conninfo;
	PGconn *conn; /* NULL until first used, and after a failure */
};

CatalogLink *
catalog_link_create(const char *conninfo)
{
	CatalogLink *link = calloc(1, sizeof(CatalogLink));
	if (link == NULL || (link->conninfo = strdup(conninfo)) == NULL)
		abort();
	return link;
}

/* link_close: drop link's connection (the next use opens a new one) */
static void
link_close(CatalogLink *link)
{
	if (link->conn != NULL)
		PQfinish(link->conn);
	link->conn = NULL;
}

void
catalog_link_destroy(CatalogLink *link)
{
	if (link == NULL)
		return;
	link_close(link);
	free(link->conninfo);
	free(link);
}

/* link_try: one attempt of catalog_link_load over link's connection (opened if need be) */
static bool
link_try(CatalogLink *link, int64_t have_version, CatalogSnapshot **out, SgError *err)
{
	if (link->conn == NULL && (link->conn = catalog_connect(link->conninfo, err)) == NULL)
		return false;
	if (have_version >= 0) {
		int64_t v = read_version(link->conn, err);
		if (v < 0)
			return false;
		if (v == have_version)
			return true;
	}
	*out = load_over(link->conn, err);
	return *out != NULL;
}

/* catalog_link_load: see catalog.h */
bool
catalog_link_load(CatalogLink *link, int64_t have_version, CatalogSnapshot **out, SgError *err)
{
	*out = NULL;
	bool kept = link->conn != NULL;
	if (link_try(link, have_version, out, err))
		return true;
	link_close(link);
	if (!kept)
		return false;
	memset(err, 0, sizeof(*err)); /* the kept connection may have died with a restart: once more */
	if (link_try(link, have_version, out, err))
		return true;
	link_close(link);
	return false;
}

/* catalog_new_empty: see catalog.h. The snapshot lives in its own arena. */
CatalogSnapshot *
catalog_new_empty(int64_t version)
{
	Arena *a = arena_create(CATALOG_ARENA_CHUNK);
	CatalogSnapshot *snap = ARENA_NEW(a, CatalogSnapshot);
	snap->version = version;
	snap->arena = a;
	snap->refcount = 1;
	return snap;
}

/* catalog_ref adds a reference; any thread. */
void
catalog_ref(CatalogSnapshot *snap)
{
	__atomic_add_fetch(&snap->refcount, 1, __ATOMIC_RELAXED);
}

/* catalog_unref drops a reference; the last one frees the snapshot. Any thread; NULL is a no-op. */
void
catalog_unref(CatalogSnapshot *snap)
{
	if (snap == NULL)
		return;
	int left = __atomic_sub_fetch(&snap->refcount, 1, __ATOMIC_ACQ_REL);
	SG_ASSERT(left >= 0);
	if (left == 0)
		arena_destroy(snap->arena); /* the snapshot itself is in the arena */
}

/* catalog_find_table: see catalog.h; linear scan, exact (case-sensitive) names. */
const CatTable *
catalog_find_table(const CatalogSnapshot *snap, const char *schema, const char *name)
{
	if (schema == NULL)
		schema = "public";
	for (int32_t i = 0; i < snap->ntables; i++) {
		const CatTable *t = &snap->tables[i];
		if (strcmp(t->name, name) == 0 && strcmp(t->schema, schema) == 0)
			return t;
	}
	return NULL;
}

/* catalog_find_group: NULL if group_id is unknown */
int32_t
catalog_column_index(const CatTable *t, const char *col)
{
	for (int32_t i = 0; i < t->ncolumns; i++)
		if (strcmp(t->columns[i], col) == 0)
			return i;
	return -1;
}

const CatGroup *
catalog_find_group(const CatalogSnapshot *snap, int32_t group_id)
{
	for (int32_t i = 0; i < snap->ngroups; i++)
		if (snap->groups[i].id == group_id)
			return &snap->groups[i];
	return NULL;
}

/* catalog_find_node: NULL if node_id is unknown (active or not) */
const CatNode *
catalog_find_node(const CatalogSnapshot *snap, int32_t node_id)
{
	for (int32_t i = 0; i < snap->nnodes; i++)
		if (snap->nodes[i].id == node_id)
			return &snap->nodes[i];
	return NULL;
}

/* catalog_first_node: see catalog.h; does not assume the nodes are sorted. */
bool
catalog_dist_null_when_absent(const CatTable *t)
{
	return t->dist_sequence == NULL && !t->dist_has_default && t->ncolumns > 0;
}

bool
catalog_dist_is_identity(const CatTable *t)
{
	return t->column_identity != NULL && t->dist_colpos >= 0 &&
	       t->column_identity[t->dist_colpos] != '\0';
}

const CatNode *
catalog_first_node(const CatalogSnapshot *snap)
{
	const CatNode *best = NULL;
	for (int32_t i = 0; i < snap->nnodes; i++) {
		const CatNode *node = &snap->nodes[i];
		if (node->is_active && (best == NULL || node->id < best->id))
			best = node;
	}
	return best;
}

/* shard_schema_int: the decimal digits of v at p (no NUL); the count written */
static size_t
shard_schema_int(char *p, int32_t v)
{
	char tmp[12];
	size_t n = 0, k = 0;
	uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		p[k++] = '-';
	while (n > 0)
		p[k++] = tmp[--n];
	return k;
}

/*
 * catalog_shard_schema: the one place shard schema names are made,
 * "sg_g<group>_<shard>" (formatted by hand: it runs for every routed
 * statement, and printf was a tenth of the gateway's own work there)
 */
char *
catalog_shard_schema(Arena *a, int32_t group_id, int32_t shard_index)
{
	char buf[32];
	memcpy(buf, "sg_g", 4);
	size_t n = 4;
	n += shard_schema_int(buf + n, group_id);
	buf[n++] = '_';
	n += shard_schema_int(buf + n, shard_index);
	char *p = arena_alloc(a, n + 1);
	memcpy(p, buf, n);
	p[n] = '\0';
	return p;
}
