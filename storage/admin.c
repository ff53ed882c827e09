/*
 * admin.c: blocking administration of the cluster layout, run by the gateway
 * in a worker thread: create_distributed_table and create_reference_table.
 *
 * Structures: one AdminOp per call holds an arena (strings, quoted
 * identifiers, statement text), the metadata connection carrying the catalog
 * transaction, and one AdminNode per catalogued node with its lazily opened
 * connection (a transaction is begun on first use).
 *
 * Flow of create_distributed_table:
 *   1. metadata: BEGIN; lock the shardgate.version row (admin operations
 *      are serialized cluster-wide); check the catalog; read the nodes;
 *      pick or reuse the co-location group and its placement.
 *   2. first node: BEGIN; find the table and its columns; LOCK TABLE ONLY
 *      ... IN EXCLUSIVE MODE (reads go on, writes wait until we are done).
 *   3. each placement node: BEGIN; CREATE SCHEMA IF NOT EXISTS sg_gX_i;
 *      CREATE TABLE sg_gX_i.t (LIKE s.t INCLUDING ALL).
 *   4. COPY (SELECT cols FROM ONLY s.t) TO STDOUT from the first node; each
 *      line is routed by the hash of its key field into a per-shard batch;
 *      full batches go out as COPY sg_gX_i.t (cols) FROM STDIN.
 *   5. commit the placement nodes; TRUNCATE ONLY s.t on the first node
 *      (only now: the shard transactions held a lock on s.t through LIKE);
 *      catalog rows + shardgate.bump_version(); COMMIT metadata; COMMIT
 *      first node.
 * Commit order is chosen so that every failure leaves the user's data
 * visible exactly once: before the catalog commit, the local table still has
 * its rows (its TRUNCATE is uncommitted) and the shard tables are rolled
 * back or dropped best effort; after it, the shards are authoritative and a
 * failed first-node commit only leaves invisible rows in the shell (logged).
 *
 * Invariants: identifiers in generated admin statements are always quoted
 * with PQescapeIdentifier (this file only); values travel as $n parameters;
 * connection parameters (user, password) are never logged; row values are
 * never logged.
 */
#include "storage/admin.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/copytext.h"
#include "common/log.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

#define ADMIN_ARENA_CHUNK 16384
#define ADMIN_BATCH_BYTES (1024 * 1024)         /* flush one shard's batch at this size */
#define ADMIN_BUFFERED_LIMIT (32 * 1024 * 1024) /* flush every batch past this total */
#define ADMIN_CONNECT_TIMEOUT "10"
#define SQLSTATE_INVALID_NAME "42602"

typedef struct AdminNode {
	int32_t id;
	char *host;
	char *port; /* text, for PQconnectdbParams */
	bool is_active;
	PGconn *conn; /* NULL until first used; then inside a transaction until committed */
	bool is_committed;
} AdminNode;

typedef struct AdminOp {
	const AdminTarget *target;
	Arena *arena;
	PGconn *meta;  /* catalog transaction */
	PGconn *local; /* first node, own transaction: table lock, COPY out, TRUNCATE */
	int nnodes;
	AdminNode *nodes; /* every catalogued node, sorted by id */
	AdminNode *first; /* lowest active node: holds the local table */
	const char *schema;
	const char *table;
	const char *display; /* the name as shown in messages */
	char *q_schema;      /* quoted identifiers */
	char *q_table;
	char *q_collist; /* quoted copied (non-generated) columns, comma separated */
	int ncopy;       /* number of copied columns */
} AdminOp;

/* ---------- errors and plain statements ---------- */

/*
 * admin_pq_error fills err from a failed result (the node's SQLSTATE,
 * message, detail, hint) or, without one, from the connection. `where`
 * ends up in the detail when the node sent none. Returns false.
 */
static bool
admin_pq_error(PGconn *conn, const PGresult *res, const char *where, SgError *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL) {
		msg = conn ? PQerrorMessage(conn) : NULL;
		if (msg == NULL || msg[0] == '\0')
			msg = "unknown error";
	}
	sg_error_set(err, state ? state : SQLSTATE_CONNECTION_FAILURE, "%s", msg);
	size_t n = strlen(err->message);
	while (n > 0 && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
		err->message[--n] = '\0';
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (detail != NULL)
		sg_error_detail(err, "%s", detail);
	else if (where != NULL)
		sg_error_detail(err, "%s", where);
	const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
	if (hint != NULL)
		sg_error_hint(err, "%s", hint);
	return false;
}

/* admin_exec runs sql (no parameters, possibly several statements) expecting no rows. */
static bool
admin_exec(PGconn *conn, const char *sql, const char *where, SgError *err)
{
	PGresult *res = PQexec(conn, sql);
	bool ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		admin_pq_error(conn, res, where, err);
	PQclear(res);
	return ok;
}

/* admin_query runs sql with text parameters; the result (status expect) or NULL with err. */
static PGresult *
admin_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
            ExecStatusType expect, const char *where, SgError *err)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != expect) {
		admin_pq_error(conn, res, where, err);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* admin_exec_quiet runs a best-effort statement; failures are logged, not returned */
static void
admin_exec_quiet(PGconn *conn, const char *sql, int32_t node_id)
{
	PGresult *res = PQexec(conn, sql);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		sg_log_warning("admin", "clean-up on node %d failed: %s", node_id,
		               msg ? msg : PQerrorMessage(conn));
	}
	PQclear(res);
}

static char *admin_where(AdminOp *op, const AdminNode *node, const char *what);

/*
 * admin_empty_shell: the shell's rows now live in the shards: TRUNCATE it, or,
 * when other tables reference it with foreign keys (PostgreSQL refuses to
 * truncate it then), DELETE its rows, which succeeds when no referencing row
 * points at them
 */
static bool
admin_empty_shell(AdminOp *op, SgError *err)
{
	const char *where = admin_where(op, op->first, "emptying the table");
	char *truncate = arena_printf(op->arena, "TRUNCATE ONLY %s.%s", op->q_schema, op->q_table);
	if (!admin_exec(op->local, "SAVEPOINT sg_empty_shell", where, err))
		return false;
	PGresult *res = PQexec(op->local, truncate);
	bool truncated = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	bool referenced =
	    !truncated && res != NULL &&
	    strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE) ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
	                                                     : "",
	           "0A000") == 0;
	if (!truncated && !referenced)
		admin_pq_error(op->local, res, where, err);
	PQclear(res);
	if (truncated)
		return true;
	if (!referenced)
		return false;
	char *del = arena_printf(op->arena, "DELETE FROM ONLY %s.%s", op->q_schema, op->q_table);
	return admin_exec(op->local, "ROLLBACK TO SAVEPOINT sg_empty_shell", where, err) &&
	       admin_exec(op->local, del, where, err);
}

static char *
admin_where(AdminOp *op, const AdminNode *node, const char *what)
{
	return arena_printf(op->arena, "while %s on node %d (%s:%s)", what, node->id, node->host,
	                    node->port);
}

/* admin_quote: the identifier quoted by PQescapeIdentifier, copied into the op's arena */
static char *
admin_quote(AdminOp *op, const char *ident)
{
	char *q = PQescapeIdentifier(op->meta, ident, strlen(ident));
	SG_ASSERT(q != NULL); /* only fails on out of memory or invalid encoding of our own names */
	char *out = arena_strdup(op->arena, q);
	PQfreemem(q);
	return out;
}

/* ---------- connections ---------- */

/* admin_notice drops NOTICEs ("schema already exists, skipping"): noise, not errors */
static void
admin_notice(void *arg, const char *message)
{
	(void)arg;
	sg_log_debug("admin", "notice: %s", message);
}

/*
 * admin_connect_node opens a connection to the node (user/password/dbname of
 * the target) and begins a transaction on it. NULL with err on failure.
 */
static PGconn *
admin_connect_node(AdminOp *op, const AdminNode *node, SgError *err)
{
	const AdminTarget *t = op->target;
	const char *keys[8];
	const char *vals[8];
	int k = 0;
	keys[k] = "host", vals[k++] = node->host;
	keys[k] = "port", vals[k++] = node->port;
	keys[k] = "dbname", vals[k++] = t->dbname ? t->dbname : "postgres";
	if (t->user != NULL)
		keys[k] = "user", vals[k++] = t->user;
	if (t->password != NULL)
		keys[k] = "password", vals[k++] = t->password;
	keys[k] = "connect_timeout", vals[k++] = ADMIN_CONNECT_TIMEOUT;
	keys[k] = "application_name", vals[k++] = "shardgate admin";
	keys[k] = NULL, vals[k] = NULL;
	PGconn *conn = PQconnectdbParams(keys, vals, 0);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "could not connect to node %d (%s:%s)",
		             node->id, node->host, node->port);
		if (conn != NULL)
			sg_error_detail(err, "%s", PQerrorMessage(conn));
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, admin_notice, NULL);
	/* ISO dates so the key's text form is what pghash parses */
	if (!admin_exec(conn, "BEGIN; SET LOCAL datestyle = 'ISO, MDY'",
	                admin_where(op, node, "beginning"), err)) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * admin_node_conn returns the node's shard/copy connection inside an open
 * transaction, connecting on first use. (The first node's local-table
 * transaction is a separate connection, op->local.)
 */
static PGconn *
admin_node_conn(AdminOp *op, AdminNode *node, SgError *err)
{
	if (node->conn == NULL) {
		node->conn = admin_connect_node(op, node, err);
		node->is_committed = false;
	}
	return node->conn;
}

static AdminNode *
admin_find_node(AdminOp *op, int32_t id)
{
	for (int i = 0; i < op->nnodes; i++)
		if (op->nodes[i].id == id)
			return &op->nodes[i];
	return NULL;
}

/* admin_op_close closes every connection (uncommitted transactions roll back) and the arena. */
static void
admin_op_close(AdminOp *op)
{
	for (int i = 0; i < op->nnodes; i++)
		if (op->nodes[i].conn != NULL)
			PQfinish(op->nodes[i].conn);
	if (op->local != NULL)
		PQfinish(op->local);
	if (op->meta != NULL)
		PQfinish(op->meta);
	arena_destroy(op->arena);
}

static const char *
admin_display(Arena *a, const char *schema, const char *table)
{
	if (schema == NULL || strcmp(schema, "public") == 0)
		return table;
	return arena_printf(a, "%s.%s", schema, table);
}

/*
 * admin_op_open: connect to the metadata node, begin the catalog
 * transaction, take the admin lock, check that schema.table is not
 * catalogued yet and read the nodes.
 */
static bool
admin_op_open(AdminOp *op, const AdminTarget *t, const char *schema, const char *table,
              SgError *err)
{
	memset(op, 0, sizeof(*op));
	op->target = t;
	op->arena = arena_create(ADMIN_ARENA_CHUNK);
	op->schema = schema;
	op->table = table;
	op->display = admin_display(op->arena, schema, table);

	op->meta = PQconnectdb(t->meta_conninfo);
	if (op->meta == NULL || PQstatus(op->meta) != CONNECTION_OK) {
		sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "could not connect to the metadata node");
		if (op->meta != NULL)
			sg_error_detail(err, "%s", PQerrorMessage(op->meta));
		return false;
	}
	PQsetNoticeProcessor(op->meta, admin_notice, NULL);
	if (!admin_exec(op->meta, "BEGIN", "while beginning the catalog transaction", err))
		return false;
	PGresult *res = admin_query(op->meta, "SELECT version FROM shardgate.version FOR UPDATE", 0,
	                            NULL, PGRES_TUPLES_OK, "while locking the catalog", err);
	if (res == NULL)
		return false;
	PQclear(res);

	const char *params[] = {schema, table};
	res = admin_query(
	    op->meta, "SELECT kind FROM shardgate.tables WHERE schema_name = $1 AND table_name = $2", 2,
	    params, PGRES_TUPLES_OK, "while reading the catalog", err);
	if (res == NULL)
		return false;
	if (PQntuples(res) > 0) {
		bool is_dist = PQgetvalue(res, 0, 0)[0] == 'd';
		PQclear(res);
		return sg_error_set(err, SQLSTATE_INVALID_TABLE_DEFINITION,
		                    is_dist ? "table \"%s\" is already distributed"
		                            : "table \"%s\" is already a reference table",
		                    op->display);
	}
	PQclear(res);

	res = admin_query(op->meta,
	                  "SELECT node_id, host, port, is_active FROM shardgate.nodes ORDER BY node_id",
	                  0, NULL, PGRES_TUPLES_OK, "while reading the nodes", err);
	if (res == NULL)
		return false;
	op->nnodes = PQntuples(res);
	op->nodes = ARENA_NEW_ARRAY(op->arena, AdminNode, op->nnodes > 0 ? op->nnodes : 1);
	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *n = &op->nodes[i];
		n->id = (int32_t)strtol(PQgetvalue(res, i, 0), NULL, 10);
		n->host = arena_strdup(op->arena, PQgetvalue(res, i, 1));
		n->port = arena_strdup(op->arena, PQgetvalue(res, i, 2));
		n->is_active = PQgetvalue(res, i, 3)[0] == 't';
		if (n->is_active && op->first == NULL)
			op->first = n;
	}
	PQclear(res);
	if (op->first == NULL)
		return sg_error_set(err, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE,
		                    "no active storage nodes in the catalog");
	op->q_schema = admin_quote(op, schema);
	op->q_table = admin_quote(op, table);
	return true;
}

/* ---------- the local table on the first node ---------- */

/* AdminColumn: one user-visible column of the local table */
typedef struct AdminColumn {
	char *name;
	uint32_t type;
	char *type_name;
	bool is_generated;
} AdminColumn;

/*
 * admin_lock_local finds schema.table on the first node (42P01 if it is not
 * an ordinary table there), locks it against writes for the rest of the
 * first node's transaction, and reads its columns; fills op->q_collist.
 */
static bool
admin_lock_local(AdminOp *op, AdminColumn **cols_out, int *ncols_out, SgError *err)
{
	PGconn *conn = op->local = admin_connect_node(op, op->first, err);
	if (conn == NULL)
		return false;
	const char *where = admin_where(op, op->first, "reading the table");
	const char *params[] = {op->schema, op->table};
	PGresult *res = admin_query(conn,
	                            "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c "
	                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	                            "WHERE n.nspname = $1 AND c.relname = $2",
	                            2, params, PGRES_TUPLES_OK, where, err);
	if (res == NULL)
		return false;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return sg_error_set(err, SQLSTATE_UNDEFINED_TABLE, "relation \"%s\" does not exist",
		                    op->display);
	}
	char *oid = arena_strdup(op->arena, PQgetvalue(res, 0, 0));
	char relkind = PQgetvalue(res, 0, 1)[0];
	PQclear(res);
	if (relkind != 'r')
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED, "\"%s\" is not an ordinary table",
		                    op->display);

	char *lock = arena_printf(op->arena, "LOCK TABLE ONLY %s.%s IN EXCLUSIVE MODE", op->q_schema,
	                          op->q_table);
	if (!admin_exec(conn, lock, admin_where(op, op->first, "locking the table"), err))
		return false;

	const char *p_oid[] = {oid};
	res = admin_query(conn,
	                  "SELECT attname, atttypid, format_type(atttypid, atttypmod), "
	                  "attgenerated <> '' FROM pg_catalog.pg_attribute "
	                  "WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped "
	                  "ORDER BY attnum",
	                  1, p_oid, PGRES_TUPLES_OK, where, err);
	if (res == NULL)
		return false;
	int n = PQntuples(res);
	AdminColumn *cols = ARENA_NEW_ARRAY(op->arena, AdminColumn, n > 0 ? n : 1);
	Buf list;
	buf_init(&list);
	op->ncopy = 0;
	for (int i = 0; i < n; i++) {
		cols[i].name = arena_strdup(op->arena, PQgetvalue(res, i, 0));
		cols[i].type = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
		cols[i].type_name = arena_strdup(op->arena, PQgetvalue(res, i, 2));
		cols[i].is_generated = PQgetvalue(res, i, 3)[0] == 't';
		if (cols[i].is_generated)
			continue;
		buf_printf(&list, "%s%s", op->ncopy > 0 ? ", " : "", admin_quote(op, cols[i].name));
		op->ncopy++;
	}
	PQclear(res);
	op->q_collist = arena_strndup(op->arena, buf_head(&list), buf_avail(&list));
	buf_free(&list);
	*cols_out = cols;
	*ncols_out = n;
	return true;
}

/* ---------- COPY text format ---------- */

/* admin_copy_field: see admin.h. Decoding follows PostgreSQL's CopyReadAttributesText. */
bool
admin_copy_field(Arena *a, const char *line, size_t len, int index, char **value, bool *is_null)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	size_t start = 0;
	for (int f = 0; f < index; f++) {
		const char *tab = memchr(line + start, '\t', len - start);
		if (tab == NULL)
			return false;
		start = (size_t)(tab - line) + 1;
	}
	const char *tab = memchr(line + start, '\t', len - start);
	size_t end = tab ? (size_t)(tab - line) : len;
	const char *s = line + start;
	size_t n = end - start;
	*is_null = n == 2 && s[0] == '\\' && s[1] == 'N';
	if (*is_null) {
		*value = NULL;
		return true;
	}
	char *out = arena_alloc(a, n + 1);
	size_t o = copy_text_decode(s, n, out);
	out[o] = '\0';
	*value = out;
	return true;
}

/* ---------- create_distributed_table ---------- */

/* AdminShard: one shard of the group being filled */
typedef struct AdminShard {
	char *schema_name; /* sg_g<g>_<i>, unquoted */
	char *copy_in;     /* COPY sg_g<g>_<i>.t (cols) FROM STDIN */
	AdminNode *node;
	Buf batch;
} AdminShard;

/* admin_flush_shard sends the shard's batch as one COPY FROM STDIN on its node */
static bool
admin_flush_shard(AdminOp *op, AdminShard *sh, SgError *err)
{
	if (buf_avail(&sh->batch) == 0)
		return true;
	PGconn *conn = sh->node->conn;
	const char *where = admin_where(op, sh->node, "copying rows into a shard");
	PGresult *res = PQexec(conn, sh->copy_in);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
		admin_pq_error(conn, res, where, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	bool ok = PQputCopyData(conn, buf_head(&sh->batch), (int)buf_avail(&sh->batch)) == 1;
	ok = PQputCopyEnd(conn, ok ? NULL : "shardgate: send failed") == 1 && ok;
	res = PQgetResult(conn);
	if (!ok || res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		admin_pq_error(conn, res, where, err);
		ok = false;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	buf_clear(&sh->batch);
	return ok;
}

/*
 * admin_move_rows streams the first node's rows of the table into the
 * shards. *rows counts them. On failure the first node's connection may be
 * left mid-COPY; the caller only closes it then.
 */
static bool
admin_move_rows(AdminOp *op, AdminShard *shards, int32_t shard_count, int keypos, uint32_t key_type,
                long long *rows, SgError *err)
{
	PGconn *conn = op->local;
	const char *where = admin_where(op, op->first, "reading the table's rows");
	char *copy_out = arena_printf(op->arena, "COPY (SELECT %s FROM ONLY %s.%s) TO STDOUT",
	                              op->q_collist, op->q_schema, op->q_table);
	PGresult *res = PQexec(conn, copy_out);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
		admin_pq_error(conn, res, where, err);
		PQclear(res);
		return false;
	}
	PQclear(res);

	Arena *scratch = arena_create(4096); /* decoded keys, reset per row */
	size_t buffered = 0;
	bool ok = true;
	*rows = 0;
	for (;;) {
		char *line = NULL;
		int len = PQgetCopyData(conn, &line, 0);
		if (len == -1)
			break; /* done; the result follows */
		if (len < 0) {
			ok = admin_pq_error(conn, NULL, where, err);
			break;
		}
		char *key;
		bool is_null;
		int32_t shard;
		if (!admin_copy_field(scratch, line, (size_t)len, keypos, &key, &is_null)) {
			PQfreemem(line);
			ok = sg_error_set(err, SQLSTATE_INTERNAL_ERROR, "malformed COPY row from node %d",
			                  op->first->id);
			break;
		}
		if (is_null) {
			shard = shardmap_null_shard_index();
		} else {
			uint64_t h;
			if (!pghash_text_value(key_type, key, &h, err)) {
				PQfreemem(line);
				ok = false;
				break;
			}
			shard = shardmap_shard_index(h, shard_count);
		}
		SG_ASSERT(shard >= 0 && shard < shard_count);
		buf_append(&shards[shard].batch, line, (size_t)len);
		buffered += (size_t)len;
		PQfreemem(line);
		arena_reset(scratch);
		(*rows)++;
		if (buf_avail(&shards[shard].batch) >= ADMIN_BATCH_BYTES) {
			buffered -= buf_avail(&shards[shard].batch);
			if (!(ok = admin_flush_shard(op, &shards[shard], err)))
				break;
		}
		if (buffered >= ADMIN_BUFFERED_LIMIT) {
			for (int32_t i = 0; i < shard_count && ok; i++)
				ok = admin_flush_shard(op, &shards[i], err);
			if (!ok)
				break;
			buffered = 0;
		}
	}
	arena_destroy(scratch);
	if (!ok)
		return false;
	res = PQgetResult(conn);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		admin_pq_error(conn, res, where, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	for (int32_t i = 0; i < shard_count; i++)
		if (!admin_flush_shard(op, &shards[i], err))
			return false;
	return true;
}

/*
 * AdminGroup: the co-location group the table joins, as read under the
 * catalog lock. is_new: rows for the group, its shards and placements must
 * be inserted.
 */
typedef struct AdminGroup {
	int32_t id;
	int32_t shard_count;
	int32_t *placement;
	bool is_new;
} AdminGroup;

static bool
admin_is_default_colocation(const char *colocate_schema, const char *colocate_table)
{
	if (colocate_table == NULL)
		return true;
	return colocate_schema == NULL &&
	       (strcasecmp(colocate_table, "default") == 0 || strcasecmp(colocate_table, "none") == 0);
}

/* admin_pick_group: reuse the colocate_with table's group, or make a new one. */
static bool
admin_pick_group(AdminOp *op, const char *colocate_schema, const char *colocate_table,
                 uint32_t key_type, int32_t shard_count, AdminGroup *g, SgError *err)
{
	memset(g, 0, sizeof(*g));
	PGresult *res;
	if (!admin_is_default_colocation(colocate_schema, colocate_table)) {
		const char *cs = colocate_schema ? colocate_schema : "public";
		const char *cdisplay = admin_display(op->arena, colocate_schema, colocate_table);
		const char *params[] = {cs, colocate_table};
		res = admin_query(op->meta,
		                  "SELECT t.kind, g.group_id, g.shard_count, g.dist_type "
		                  "FROM shardgate.tables t "
		                  "LEFT JOIN shardgate.colocation_groups g ON g.group_id = t.group_id "
		                  "WHERE t.schema_name = $1 AND t.table_name = $2",
		                  2, params, PGRES_TUPLES_OK, "while reading the catalog", err);
		if (res == NULL)
			return false;
		if (PQntuples(res) == 0 || PQgetvalue(res, 0, 0)[0] != 'd' || PQgetisnull(res, 0, 1)) {
			PQclear(res);
			sg_error_set(err, SQLSTATE_INVALID_TABLE_DEFINITION, "cannot colocate tables %s and %s",
			             cdisplay, op->display);
			sg_error_detail(err, "\"%s\" is not a distributed table.", cdisplay);
			return false;
		}
		g->id = (int32_t)strtol(PQgetvalue(res, 0, 1), NULL, 10);
		g->shard_count = (int32_t)strtol(PQgetvalue(res, 0, 2), NULL, 10);
		uint32_t other_type = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
		PQclear(res);
		if (other_type != key_type) {
			sg_error_set(err, SQLSTATE_DATATYPE_MISMATCH, "cannot colocate tables %s and %s",
			             cdisplay, op->display);
			sg_error_detail(err, "Distribution column types don't match for %s and %s.", cdisplay,
			                op->display);
			return false;
		}
		if (shard_count != 0 && shard_count != g->shard_count) {
			sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE, "cannot colocate tables %s and %s",
			             cdisplay, op->display);
			sg_error_detail(err, "Shard counts don't match for %s (%d) and %s (%d).", cdisplay,
			                g->shard_count, op->display, shard_count);
			return false;
		}
		g->placement = ARENA_NEW_ARRAY(op->arena, int32_t, g->shard_count);
		char *gid = arena_printf(op->arena, "%d", g->id);
		const char *p_gid[] = {gid};
		res = admin_query(op->meta,
		                  "SELECT shard_index, min(node_id) FROM shardgate.placements "
		                  "WHERE group_id = $1::int GROUP BY shard_index",
		                  1, p_gid, PGRES_TUPLES_OK, "while reading placements", err);
		if (res == NULL)
			return false;
		for (int i = 0; i < PQntuples(res); i++) {
			long idx = strtol(PQgetvalue(res, i, 0), NULL, 10);
			if (idx >= 0 && idx < g->shard_count)
				g->placement[idx] = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
		}
		PQclear(res);
		for (int32_t i = 0; i < g->shard_count; i++)
			if (admin_find_node(op, g->placement[i]) == NULL)
				return sg_error_set(err, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE,
				                    "shard %d of co-location group %d has no placement", i, g->id);
		return true;
	}

	g->is_new = true;
	g->shard_count = shard_count != 0 ? shard_count : ADMIN_DEFAULT_SHARD_COUNT;
	res = admin_query(op->meta,
	                  "SELECT coalesce(max(group_id), 0) + 1 FROM shardgate.colocation_groups", 0,
	                  NULL, PGRES_TUPLES_OK, "while reading the catalog", err);
	if (res == NULL)
		return false;
	g->id = (int32_t)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	int32_t *active = ARENA_NEW_ARRAY(op->arena, int32_t, op->nnodes);
	int nactive = 0;
	for (int i = 0; i < op->nnodes; i++)
		if (op->nodes[i].is_active)
			active[nactive++] = op->nodes[i].id;
	g->placement = ARENA_NEW_ARRAY(op->arena, int32_t, g->shard_count);
	shardmap_place(active, nactive, g->id, g->shard_count, g->placement);
	return true;
}

/* admin_create_shards: schemas and shard tables on each shard's node, inside its transaction */
static bool
admin_create_shards(AdminOp *op, AdminShard *shards, int32_t shard_count, SgError *err)
{
	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *node = &op->nodes[i];
		Buf sql;
		buf_init(&sql);
		for (int32_t s = 0; s < shard_count; s++) {
			if (shards[s].node != node)
				continue;
			char *q_shard = admin_quote(op, shards[s].schema_name);
			buf_printf(&sql,
			           "CREATE SCHEMA IF NOT EXISTS %s; "
			           "CREATE TABLE %s.%s (LIKE %s.%s INCLUDING ALL);\n",
			           q_shard, q_shard, op->q_table, op->q_schema, op->q_table);
		}
		if (buf_avail(&sql) == 0) {
			buf_free(&sql);
			continue;
		}
		buf_append_u8(&sql, 0);
		bool ok = admin_node_conn(op, node, err) != NULL &&
		          admin_exec(node->conn, buf_head(&sql),
		                     admin_where(op, node, "creating shard tables"), err);
		buf_free(&sql);
		if (!ok)
			return false;
	}
	return true;
}

/*
 * admin_drop_shards: best-effort removal of shard tables already committed
 * (after a later failure). Schemas of a new group are dropped if empty.
 */
static void
admin_drop_shards(AdminOp *op, AdminShard *shards, int32_t shard_count, bool drop_schemas)
{
	for (int32_t s = 0; s < shard_count; s++) {
		AdminNode *node = shards[s].node;
		if (node->conn == NULL || !node->is_committed)
			continue;
		char *q_shard = admin_quote(op, shards[s].schema_name);
		admin_exec_quiet(
		    node->conn, arena_printf(op->arena, "DROP TABLE IF EXISTS %s.%s", q_shard, op->q_table),
		    node->id);
		if (drop_schemas)
			admin_exec_quiet(
			    node->conn, arena_printf(op->arena, "DROP SCHEMA IF EXISTS %s", q_shard), node->id);
	}
}

/* admin_commit_nodes commits every open shard/copy transaction (not op->local) */
static bool
admin_commit_nodes(AdminOp *op, SgError *err)
{
	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *node = &op->nodes[i];
		if (node->conn == NULL || node->is_committed)
			continue;
		if (!admin_exec(node->conn, "COMMIT", admin_where(op, node, "committing"), err))
			return false;
		node->is_committed = true;
	}
	return true;
}

/* admin_write_group_rows: colocation_groups, shards and placements rows of a new group */
static bool
admin_write_group_rows(AdminOp *op, const AdminGroup *g, uint32_t key_type, AdminShard *shards,
                       SgError *err)
{
	Buf names, nodes;
	buf_init(&names);
	buf_init(&nodes);
	buf_append_u8(&names, '{');
	buf_append_u8(&nodes, '{');
	for (int32_t s = 0; s < g->shard_count; s++) {
		/* shard schema names are [a-z0-9_]: no array quoting needed */
		buf_printf(&names, "%s%s", s > 0 ? "," : "", shards[s].schema_name);
		buf_printf(&nodes, "%s%d", s > 0 ? "," : "", g->placement[s]);
	}
	buf_append(&names, "}", 2);
	buf_append(&nodes, "}", 2);
	char *gid = arena_printf(op->arena, "%d", g->id);
	char *count = arena_printf(op->arena, "%d", g->shard_count);
	char *type = arena_printf(op->arena, "%u", key_type);
	const char *p_group[] = {gid, count, type};
	const char *p_names[] = {gid, buf_head(&names)};
	const char *p_nodes[] = {gid, buf_head(&nodes)};
	PGresult *res = NULL;
	bool ok =
	    (res = admin_query(op->meta,
	                       "INSERT INTO shardgate.colocation_groups (group_id, shard_count, "
	                       "dist_type) VALUES ($1::int, $2::int, $3::oid)",
	                       3, p_group, PGRES_COMMAND_OK, "while writing the catalog", err)) != NULL;
	PQclear(res);
	ok =
	    ok &&
	    (res = admin_query(op->meta,
	                       "INSERT INTO shardgate.shards (group_id, shard_index, schema_name) "
	                       "SELECT $1::int, i - 1, s FROM unnest($2::text[]) "
	                       "WITH ORDINALITY AS u(s, i)",
	                       2, p_names, PGRES_COMMAND_OK, "while writing the catalog", err)) != NULL;
	PQclear(res);
	ok =
	    ok &&
	    (res = admin_query(op->meta,
	                       "INSERT INTO shardgate.placements (group_id, shard_index, node_id) "
	                       "SELECT $1::int, i - 1, n FROM unnest($2::int[]) "
	                       "WITH ORDINALITY AS u(n, i)",
	                       2, p_nodes, PGRES_COMMAND_OK, "while writing the catalog", err)) != NULL;
	PQclear(res);
	buf_free(&names);
	buf_free(&nodes);
	return ok;
}

/* AdminCommit: outcome of the catalog commit */
typedef enum AdminCommit {
	ADMIN_COMMIT_DONE,   /* committed */
	ADMIN_COMMIT_FAILED, /* definitely not committed: undo what was done on the nodes */
	ADMIN_COMMIT_UNKNOWN /* connection lost during COMMIT and could not check: keep all */
} AdminCommit;

/*
 * admin_catalog_has_row checks with a fresh metadata connection whether the
 * table's catalog row exists (after a COMMIT whose answer was lost).
 * 1 yes, 0 no, -1 cannot tell.
 */
static int
admin_catalog_has_row(AdminOp *op)
{
	PGconn *conn = PQconnectdb(op->target->meta_conninfo);
	int found = -1;
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		const char *params[] = {op->schema, op->table};
		PGresult *res = PQexecParams(conn,
		                             "SELECT 1 FROM shardgate.tables WHERE schema_name = $1 AND "
		                             "table_name = $2",
		                             2, NULL, params, NULL, NULL, 0);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
			found = PQntuples(res) > 0;
		PQclear(res);
	}
	PQfinish(conn);
	return found;
}

/*
 * admin_commit_catalog inserts the table's row (kind 'd' with column and
 * group, or 'r'), bumps the version and commits the catalog transaction.
 * If the COMMIT's answer is lost, the outcome is looked up again; err is
 * filled unless the result is ADMIN_COMMIT_DONE.
 */
static AdminCommit
admin_commit_catalog(AdminOp *op, char kind, const char *column, int32_t group_id, SgError *err)
{
	char kind_text[2] = {kind, '\0'};
	char *gid = group_id != 0 ? arena_printf(op->arena, "%d", group_id) : NULL;
	const char *params[] = {op->schema, op->table, kind_text, column, gid};
	PGresult *res = admin_query(op->meta,
	                            "INSERT INTO shardgate.tables (schema_name, table_name, kind, "
	                            "dist_column, group_id) VALUES ($1, $2, $3::\"char\", $4, $5::int)",
	                            5, params, PGRES_COMMAND_OK, "while writing the catalog", err);
	if (res == NULL)
		return ADMIN_COMMIT_FAILED;
	PQclear(res);
	res = admin_query(op->meta, "SELECT shardgate.bump_version()", 0, NULL, PGRES_TUPLES_OK,
	                  "while bumping the catalog version", err);
	if (res == NULL)
		return ADMIN_COMMIT_FAILED;
	PQclear(res);
	res = PQexec(op->meta, "COMMIT");
	ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	bool has_sqlstate = res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL;
	if (status == PGRES_COMMAND_OK) {
		PQclear(res);
		return ADMIN_COMMIT_DONE;
	}
	admin_pq_error(op->meta, res, "while committing the catalog", err);
	PQclear(res);
	if (has_sqlstate && PQstatus(op->meta) == CONNECTION_OK)
		return ADMIN_COMMIT_FAILED; /* the server answered: rolled back */
	switch (admin_catalog_has_row(op)) {
	case 1:
		sg_log_warning("admin", "table %s: catalog commit answer lost, but it committed",
		               op->display);
		return ADMIN_COMMIT_DONE;
	case 0:
		return ADMIN_COMMIT_FAILED;
	default:
		sg_error_set(err, SQLSTATE_TRANSACTION_RESOLUTION_UNKNOWN,
		             "lost the connection to the metadata node while committing the catalog "
		             "for table \"%s\"",
		             op->display);
		sg_error_hint(err, "Check shardgate.tables on the metadata node; the table's rows are "
		                   "kept in the local table until the catalog says otherwise.");
		return ADMIN_COMMIT_UNKNOWN;
	}
}

/*
 * admin_finish_first commits the first node's transaction after the catalog
 * commit. A failure there is not the caller's error any more: the catalog
 * already points at the new layout; it is logged.
 */
static void
admin_finish_first(AdminOp *op)
{
	SgError ignored;
	if (op->local != NULL &&
	    !admin_exec(op->local, "COMMIT", admin_where(op, op->first, "committing"), &ignored))
		sg_log_warning("admin",
		               "table %s: commit on the first node (%d) failed after the catalog commit: "
		               "%s; the shell may keep stale rows",
		               op->display, op->first->id, ignored.message);
}

#define ADMIN_SEQUENCE_STRIDE 64 /* at most 63 nodes hand out sequence values */

/*
 * admin_stripe_sequences: make the sequences behind the table's serial and
 * identity columns unique over the cluster (best effort, after the catalog
 * commit; failures are logged): every active node's copy steps by the stride
 * from a common floor above every value handed out so far, offset by the
 * node's index. Shard tables' defaults call their node's copy.
 */
static void
admin_stripe_sequences(AdminOp *op, const AdminShard *shards, int32_t nshards)
{
	SgError err;
	const char *params[2] = {op->schema, op->table};
	PGconn *first = admin_node_conn(op, op->first, &err);
	if (first == NULL)
		return;
	PGresult *seqs = admin_query(
	    first,
	    "SELECT s, attname, attidentity <> '' FROM (SELECT pg_catalog.pg_get_serial_sequence("
	    "pg_catalog.format('%I.%I', $1::text, $2::text), attname) AS s, attname, attidentity FROM "
	    "pg_catalog.pg_attribute "
	    "WHERE attrelid = pg_catalog.format('%I.%I', $1::text, $2::text)::regclass AND attnum > 0 "
	    "AND NOT attisdropped) x WHERE s IS NOT NULL",
	    2, params, PGRES_TUPLES_OK, "finding sequences", &err);
	if (seqs == NULL) {
		sg_log_warning("admin", "table %s: sequences not striped: %s", op->display, err.message);
		return;
	}
	for (int r = 0; r < PQntuples(seqs); r++) {
		const char *seq = PQgetvalue(seqs, r, 0);
		long long maxv = 0;
		bool ok = true;
		for (int i = 0; i < op->nnodes && ok; i++) {
			AdminNode *n = &op->nodes[i];
			PGconn *c = n->is_active ? admin_node_conn(op, n, &err) : NULL;
			if (c == NULL)
				continue;
			const char *p1[1] = {seq};
			PGresult *res = admin_query(c, "SELECT shardgate.sequence_last($1::regclass)", 1, p1,
			                            PGRES_TUPLES_OK, "reading a sequence", &err);
			if (res == NULL) {
				ok = false;
				break;
			}
			long long v = atoll(PQgetvalue(res, 0, 0));
			maxv = v > maxv ? v : maxv;
			PQclear(res);
		}
		long long floor = (maxv / ADMIN_SEQUENCE_STRIDE + 1) * ADMIN_SEQUENCE_STRIDE;
		int index = 0;
		for (int i = 0; i < op->nnodes && ok; i++) {
			AdminNode *n = &op->nodes[i];
			if (!n->is_active)
				continue;
			PGconn *c = admin_node_conn(op, n, &err);
			if (c == NULL)
				continue;
			char idx[16], stride[16], fl[32];
			snprintf(idx, sizeof(idx), "%d", ++index);
			snprintf(stride, sizeof(stride), "%d", ADMIN_SEQUENCE_STRIDE);
			snprintf(fl, sizeof(fl), "%lld", floor);
			const char *p4[4] = {seq, idx, stride, fl};
			PGresult *res = admin_query(
			    c, "SELECT shardgate.stripe_sequence($1::regclass, $2::int, $3::int, $4::bigint)",
			    4, p4, PGRES_TUPLES_OK, "striping a sequence", &err);
			if (res == NULL)
				ok = false;
			PQclear(res);
		}
		bool is_identity = PQgetvalue(seqs, r, 2)[0] == 't';
		for (int32_t k = 0; k < nshards && ok && is_identity; k++) {
			PGconn *c = admin_node_conn(op, shards[k].node, &err);
			if (c == NULL)
				continue;
			char *shard = arena_printf(op->arena, "%s.%s", admin_quote(op, shards[k].schema_name),
			                           op->q_table);
			const char *p3[3] = {shard, PQgetvalue(seqs, r, 1), seq};
			PGresult *res = admin_query(c,
			                            "SELECT shardgate.share_identity($1::regclass, $2, "
			                            "$3::regclass)",
			                            3, p3, PGRES_TUPLES_OK, "sharing an identity", &err);
			if (res == NULL)
				ok = false;
			PQclear(res);
		}
		if (!ok)
			sg_log_warning("admin", "table %s: sequence %s not striped: %s", op->display, seq,
			               err.message);
	}
	PQclear(seqs);
}

/* admin_create_distributed_table: see admin.h */
bool
admin_create_distributed_table(const AdminTarget *t, const CatalogSnapshot *snap,
                               const char *schema, const char *table, const char *column,
                               int32_t shard_count, const char *colocate_schema,
                               const char *colocate_table, SgError *err)
{
	if (schema == NULL)
		schema = "public";
	if (shard_count < 0 || shard_count > ADMIN_MAX_SHARD_COUNT)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "shard_count %d out of range: must be between 1 and %d", shard_count,
		                    ADMIN_MAX_SHARD_COUNT);
	if (snap != NULL) { /* early answer; re-checked under the catalog lock */
		const CatTable *known = catalog_find_table(snap, schema, table);
		if (known != NULL)
			return sg_error_set(err, SQLSTATE_INVALID_TABLE_DEFINITION,
			                    known->kind == TABLE_DISTRIBUTED
			                        ? "table \"%s\" is already distributed"
			                        : "table \"%s\" is already a reference table",
			                    table);
	}

	AdminOp op;
	if (!admin_op_open(&op, t, schema, table, err)) {
		admin_op_close(&op);
		return false;
	}
	AdminColumn *cols;
	int ncols;
	AdminGroup group = {0};
	AdminShard *shards = NULL;
	bool ok = false;
	bool shards_committed = false;
	long long rows = 0;
	if (!admin_lock_local(&op, &cols, &ncols, err))
		goto done;

	int keycol = -1, keypos = -1, copypos = 0;
	for (int i = 0; i < ncols; i++) {
		if (strcmp(cols[i].name, column) == 0) {
			keycol = i;
			keypos = copypos;
		}
		if (!cols[i].is_generated)
			copypos++;
	}
	if (keycol < 0) {
		sg_error_set(err, SQLSTATE_UNDEFINED_COLUMN,
		             "column \"%s\" of relation \"%s\" does not exist", column, op.display);
		goto done;
	}
	uint32_t key_type = cols[keycol].type;
	if (!pghash_type_supported(key_type)) {
		sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "could not identify a hash function for type %s", cols[keycol].type_name);
		sg_error_detail(err, "Column \"%s\" cannot be used as a distribution column.", column);
		goto done;
	}
	if (cols[keycol].is_generated) {
		sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "generated column \"%s\" cannot be used as a distribution column", column);
		goto done;
	}
	if (op.ncopy == 0) {
		sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED, "table \"%s\" has no columns to copy",
		             op.display);
		goto done;
	}

	if (!admin_pick_group(&op, colocate_schema, colocate_table, key_type, shard_count, &group, err))
		goto done;

	shards = ARENA_NEW_ARRAY(op.arena, AdminShard, group.shard_count);
	for (int32_t s = 0; s < group.shard_count; s++) {
		AdminShard *sh = &shards[s];
		sh->schema_name = catalog_shard_schema(op.arena, group.id, s);
		sh->copy_in = arena_printf(op.arena, "COPY %s.%s (%s) FROM STDIN",
		                           admin_quote(&op, sh->schema_name), op.q_table, op.q_collist);
		sh->node = admin_find_node(&op, group.placement[s]);
		SG_ASSERT(sh->node != NULL);
		buf_init(&sh->batch);
	}

	if (!admin_create_shards(&op, shards, group.shard_count, err) ||
	    !admin_move_rows(&op, shards, group.shard_count, keypos, key_type, &rows, err))
		goto done;
	/* shard nodes first: their LIKE took a lock on the table the TRUNCATE below needs */
	shards_committed = true;
	if (!admin_commit_nodes(&op, err))
		goto done;
	if (!admin_empty_shell(&op, err))
		goto done;
	if (group.is_new && !admin_write_group_rows(&op, &group, key_type, shards, err))
		goto done;
	AdminCommit outcome = admin_commit_catalog(&op, 'd', column, group.id, err);
	if (outcome == ADMIN_COMMIT_UNKNOWN)
		shards_committed = false; /* the catalog may point at them: keep the shard tables */
	if (outcome != ADMIN_COMMIT_DONE)
		goto done;
	ok = true;
	admin_finish_first(&op);
	admin_stripe_sequences(&op, shards, group.shard_count);
	sg_log_info("admin", "distributed table %s by %s: group %d, %d shards, %lld rows moved",
	            op.display, column, group.id, group.shard_count, rows);

done:
	if (!ok && shards_committed) {
		/*
		 * The first node's connection may be mid-COPY or in a failed
		 * transaction: roll it back first so the local rows stay, and the
		 * shard tables (committed on some nodes) lose their lock on it.
		 */
		if (op.local != NULL) {
			PQfinish(op.local);
			op.local = NULL;
		}
		admin_drop_shards(&op, shards, group.shard_count, group.is_new);
	}
	if (shards != NULL)
		for (int32_t s = 0; s < group.shard_count; s++)
			buf_free(&shards[s].batch);
	admin_op_close(&op);
	return ok;
}

/* ---------- create_reference_table ---------- */

/*
 * admin_copy_to_replicas streams the first node's rows into the same table
 * on every other active node (each in COPY IN at once), after checking
 * that those copies are empty. *rows counts the rows.
 */
static bool
admin_copy_to_replicas(AdminOp *op, long long *rows, SgError *err)
{
	char *lock = arena_printf(op->arena, "LOCK TABLE ONLY %s.%s IN EXCLUSIVE MODE", op->q_schema,
	                          op->q_table);
	char *probe =
	    arena_printf(op->arena, "SELECT 1 FROM ONLY %s.%s LIMIT 1", op->q_schema, op->q_table);
	char *copy_in = arena_printf(op->arena, "COPY %s.%s (%s) FROM STDIN", op->q_schema, op->q_table,
	                             op->q_collist);
	int nreplicas = 0;
	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *node = &op->nodes[i];
		if (!node->is_active || node == op->first)
			continue;
		const char *where = admin_where(op, node, "preparing the copy");
		if (admin_node_conn(op, node, err) == NULL || !admin_exec(node->conn, lock, where, err))
			return false;
		PGresult *res = admin_query(node->conn, probe, 0, NULL, PGRES_TUPLES_OK, where, err);
		if (res == NULL)
			return false;
		bool has_rows = PQntuples(res) > 0;
		PQclear(res);
		if (has_rows) {
			sg_error_set(err, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE,
			             "table \"%s\" on node %d is not empty", op->display, node->id);
			sg_error_detail(err, "A reference table is copied from node %d into empty tables.",
			                op->first->id);
			return false;
		}
		nreplicas++;
	}
	*rows = 0;
	if (nreplicas == 0)
		return true;

	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *node = &op->nodes[i];
		if (node->conn == NULL)
			continue;
		PGresult *res = PQexec(node->conn, copy_in);
		if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
			admin_pq_error(node->conn, res, admin_where(op, node, "copying rows"), err);
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	PGconn *src = op->local;
	const char *src_where = admin_where(op, op->first, "reading the table's rows");
	char *copy_out = arena_printf(op->arena, "COPY (SELECT %s FROM ONLY %s.%s) TO STDOUT",
	                              op->q_collist, op->q_schema, op->q_table);
	PGresult *res = PQexec(src, copy_out);
	if (res == NULL || PQresultStatus(res) != PGRES_COPY_OUT) {
		admin_pq_error(src, res, src_where, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	for (;;) {
		char *line = NULL;
		int len = PQgetCopyData(src, &line, 0);
		if (len == -1)
			break;
		if (len < 0)
			return admin_pq_error(src, NULL, src_where, err);
		for (int i = 0; i < op->nnodes; i++) {
			AdminNode *node = &op->nodes[i];
			if (node->conn == NULL)
				continue;
			if (PQputCopyData(node->conn, line, len) != 1) {
				PQfreemem(line);
				return admin_pq_error(node->conn, NULL, admin_where(op, node, "copying rows"), err);
			}
		}
		PQfreemem(line);
		(*rows)++;
	}
	res = PQgetResult(src);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
		admin_pq_error(src, res, src_where, err);
		PQclear(res);
		return false;
	}
	PQclear(res);
	while ((res = PQgetResult(src)) != NULL)
		PQclear(res);
	bool ok = true;
	for (int i = 0; i < op->nnodes; i++) {
		AdminNode *node = &op->nodes[i];
		if (node->conn == NULL)
			continue;
		const char *where = admin_where(op, node, "copying rows");
		if (PQputCopyEnd(node->conn, NULL) != 1) {
			ok = ok && admin_pq_error(node->conn, NULL, where, err);
			continue;
		}
		res = PQgetResult(node->conn);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			ok = ok && admin_pq_error(node->conn, res, where, err);
		PQclear(res);
		while ((res = PQgetResult(node->conn)) != NULL)
			PQclear(res);
	}
	return ok;
}

/* admin_create_reference_table: see admin.h */
bool
admin_create_reference_table(const AdminTarget *t, const CatalogSnapshot *snap, const char *schema,
                             const char *table, SgError *err)
{
	if (schema == NULL)
		schema = "public";
	if (snap != NULL) {
		const CatTable *known = catalog_find_table(snap, schema, table);
		if (known != NULL)
			return sg_error_set(err, SQLSTATE_INVALID_TABLE_DEFINITION,
			                    known->kind == TABLE_DISTRIBUTED
			                        ? "table \"%s\" is already distributed"
			                        : "table \"%s\" is already a reference table",
			                    table);
	}
	AdminOp op;
	if (!admin_op_open(&op, t, schema, table, err)) {
		admin_op_close(&op);
		return false;
	}
	AdminColumn *cols;
	int ncols;
	long long rows = 0;
	bool ok = false;
	bool copies_committed = false;
	if (!admin_lock_local(&op, &cols, &ncols, err))
		goto done;
	if (op.ncopy == 0) {
		sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED, "table \"%s\" has no columns to copy",
		             op.display);
		goto done;
	}
	if (!admin_copy_to_replicas(&op, &rows, err))
		goto done;
	copies_committed = true;
	if (!admin_commit_nodes(&op, err))
		goto done;
	AdminCommit outcome = admin_commit_catalog(&op, 'r', NULL, 0, err);
	if (outcome == ADMIN_COMMIT_UNKNOWN)
		copies_committed = false; /* the catalog may say 'r': keep the copies */
	if (outcome != ADMIN_COMMIT_DONE)
		goto done;
	ok = true;
	admin_finish_first(&op);
	sg_log_info("admin", "reference table %s: %lld rows copied to %d nodes", op.display, rows,
	            op.nnodes - 1);

done:
	if (!ok && copies_committed) {
		/* best effort: empty the copies that were committed */
		char *truncate = arena_printf(op.arena, "TRUNCATE ONLY %s.%s", op.q_schema, op.q_table);
		for (int i = 0; i < op.nnodes; i++) {
			AdminNode *node = &op.nodes[i];
			if (node->conn != NULL && node->is_committed)
				admin_exec_quiet(node->conn, truncate, node->id);
		}
	}
	admin_op_close(&op);
	return ok;
}

/* ---------- names ---------- */

/*
 * admin_name_part parses one identifier at *p (quoted or not) into the arena;
 * advances *p past it. NULL on a syntax error.
 */
static char *
admin_name_part(Arena *a, const char **p)
{
	const char *s = *p;
	size_t len = strlen(s);
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;
	if (*s == '"') {
		s++;
		for (;;) {
			if (*s == '\0')
				return NULL; /* unterminated */
			if (*s == '"') {
				if (s[1] == '"') {
					out[o++] = '"';
					s += 2;
					continue;
				}
				s++;
				break;
			}
			out[o++] = *s++;
		}
	} else {
		while (*s != '\0' && *s != '.' && !isspace((unsigned char)*s))
			out[o++] = (char)tolower((unsigned char)*s++);
	}
	if (o == 0)
		return NULL;
	out[o] = '\0';
	*p = s;
	return out;
}

/* admin_split_name: see admin.h */
bool
admin_split_name(Arena *a, const char *text, char **schema, char **name, SgError *err)
{
	char *parts[2];
	int n = 0;
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	for (;;) {
		char *part = admin_name_part(a, &p);
		if (part == NULL || n == 2)
			return sg_error_set(err, SQLSTATE_INVALID_NAME, "invalid name syntax");
		parts[n++] = part;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (*p != '.')
			return sg_error_set(err, SQLSTATE_INVALID_NAME, "invalid name syntax");
		p++;
		while (isspace((unsigned char)*p))
			p++;
	}
	*schema = n == 2 ? parts[0] : NULL;
	*name = parts[n - 1];
	return true;
}
