#ifndef SG_STORAGE_ADMIN_H
#define SG_STORAGE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "storage/catalog.h"

/*
 * admin: blocking cluster administration (create_distributed_table,
 * create_reference_table). Each call opens its own libpq connections, runs
 * to completion and closes them: run it in a worker thread, never on an
 * event loop. Errors come back as SgError with PostgreSQL/Citus-like
 * SQLSTATEs; an error a node raised is relayed with its own SQLSTATE.
 *
 * Concurrency: every admin operation holds the row lock on
 * shardgate.version (SELECT ... FOR UPDATE) on the metadata node for its
 * whole duration, so admin operations run one at a time cluster-wide; the
 * checks are made against the catalog as read under that lock, the caller's
 * snapshot is only used for an early answer.
 */

#define ADMIN_DEFAULT_SHARD_COUNT 32
#define ADMIN_MAX_SHARD_COUNT 4096

/*
 * AdminTarget: where and as whom. meta_conninfo is a libpq conninfo for the
 * metadata node (catalog transaction); storage nodes are reached at their
 * catalog host/port with user, password and dbname. Never logged.
 */
typedef struct AdminTarget {
	const char *meta_conninfo;
	const char *user;     /* NULL: libpq default */
	const char *password; /* NULL: none (trust, .pgpass or PGPASSWORD) */
	const char *dbname;   /* NULL: "postgres" */
} AdminTarget;

/*
 * admin_create_distributed_table turns the local table schema.table (schema
 * NULL = "public") into a distributed table on `column`:
 *   - checks: table exists on the first node (42P01), column exists (42703)
 *     and is hashable (0A000), table not yet catalogued (42P16), shard_count
 *     in 1..4096 (0 = 32, or the co-location group's count) (22023);
 *   - colocate_table (schema colocate_schema, NULL = "public") NULL, or
 *     "default"/"none" with a NULL schema: a new co-location group
 *     (max id + 1) placed by shardmap_place over the active nodes;
 *     otherwise that distributed table's group is reused (same column type
 *     (42804) and shard count (22023) required);
 *   - creates schemas sg_g<g>_<i> and shard tables (LIKE ... INCLUDING ALL)
 *     on each shard's node, moves the rows the first node's table holds
 *     into the shards (streamed COPY, routed by PostgreSQL's hash), empties
 *     the local table, and writes the catalog rows plus a version bump in
 *     one metadata transaction.
 * A failure before the catalog commit leaves no catalog rows and the local
 * table's rows in place; shard tables are rolled back with their node
 * transactions, or dropped best effort if they had been committed.
 * Returns false with err filled.
 */
SG_MUSTCHECK bool admin_create_distributed_table(const AdminTarget *t, const CatalogSnapshot *snap,
                                                 const char *schema, const char *table,
                                                 const char *column, int32_t shard_count,
                                                 const char *colocate_schema,
                                                 const char *colocate_table, SgError *err);

/*
 * admin_create_reference_table copies the first node's rows of schema.table
 * (schema NULL = "public") into the (empty) shells of the same table on every
 * other active node, then records it as a reference table ('r') and bumps the
 * version in one metadata transaction. Writes to the table are blocked on
 * every node during the copy. Errors: 42P01, 42P16 (already catalogued),
 * 55000 (a shell on another node is not empty), node errors relayed.
 */
SG_MUSTCHECK bool admin_create_reference_table(const AdminTarget *t, const CatalogSnapshot *snap,
                                               const char *schema, const char *table, SgError *err);

/*
 * admin_split_name parses a table name as written in a function argument
 * ('orders', 'Sales.orders', '"My Table"', 'public."x.y"') like PostgreSQL's
 * regclass input: unquoted parts are folded to lower case, "" inside quotes
 * is a quote. *schema is NULL when unqualified. Results are in arena a.
 * Fails with 42602 (invalid name syntax) on an empty part, a missing closing
 * quote or more than two parts.
 */
SG_MUSTCHECK bool admin_split_name(Arena *a, const char *text, char **schema, char **name,
                                   SgError *err);

/*
 * admin_copy_field finds field `index` (0-based) of one line of COPY text
 * format (tab-separated, optional trailing newline) and decodes its
 * backslash escapes into a NUL-terminated string in arena a. *is_null is set
 * for \N. Returns false if the line has fewer fields. Exposed for tests.
 */
SG_MUSTCHECK bool admin_copy_field(Arena *a, const char *line, size_t len, int index, char **value,
                                   bool *is_null);

#endif /* SG_STORAGE_ADMIN_H */
