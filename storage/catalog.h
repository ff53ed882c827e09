#ifndef SG_STORAGE_CATALOG_H
#define SG_STORAGE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"

/*
 * CatalogSnapshot: an immutable, reference-counted copy of the `shardgate`
 * catalog schema (sql/catalog.sql), loaded from the metadata node. A statement
 * keeps the snapshot it started with; a change (DDL through any gateway) makes
 * a new snapshot that replaces the old one whole.
 *
 * Shard naming: shard `i` of co-location group `g` is the schema
 * `sg_g<g>_<i>` on its node; a distributed table `s.t` has its shard table
 * `sg_g<g>_<i>.t` there (catalog_shard_schema). Reference tables are full
 * copies in the logical table itself on every node. Local (undeclared) tables
 * live on the first node (lowest node_id) only; their empty shells exist on
 * every node.
 */

typedef enum TableKind { TABLE_DISTRIBUTED = 'd', TABLE_REFERENCE = 'r' } TableKind;

typedef struct CatNode {
	int32_t id;
	char *host;
	int32_t port;
	bool is_active;
} CatNode;

typedef struct CatGroup {
	int32_t id;
	int32_t shard_count;
	uint32_t dist_type; /* pg_type oid of the distribution column */
	int32_t *placement; /* [shard_count]: shard index -> node id */
} CatGroup;

typedef struct CatTable {
	char *schema;
	char *name;
	TableKind kind;
	int32_t group_id;   /* distributed only, else 0 */
	char *dist_column;  /* distributed only, else NULL */
	uint32_t dist_type; /* pg_type oid of dist_column, distributed only */
	int32_t ncolumns;   /* user-visible columns in attnum order (dropped excluded) */
	char **columns;
	uint32_t *column_types; /* [ncolumns]: pg_type oid of each column; NULL = unknown */
	char *column_identity;  /* [ncolumns]: pg_attribute.attidentity ('a', 'd', '\0'); NULL =
	                           unknown. A shard table has a plain default where its shell has
	                           an identity, so the gateway enforces GENERATED ALWAYS */
	int32_t dist_colpos;    /* index of dist_column in columns, -1 if not distributed */
	char *dist_sequence;    /* the schema-qualified sequence of a serial / identity
	                           distribution column (the gateway draws values for INSERTs that
	                           leave it out), NULL otherwise */
	bool dist_has_default;  /* dist_column has a default (pg_attribute.atthasdef) */
	int64_t est_rows;       /* row estimate from the nodes' statistics (sum over the shards for
	                           a distributed table, one copy for a reference table), -1 unknown.
	                           The one field that changes in a published snapshot: advisory,
	                           read and written only with catalog_est_rows, catalog_stats_refresh and
	                           catalog_carry_estimates
	                           (atomic) */
} CatTable;

typedef struct CatalogSnapshot {
	int64_t version;
	bool has_namespace_view; /* shardgate.pg_namespace exists (sql/catalog.sql): catalog browsing
	                            reads it instead of pg_namespace, without the shard schemas */
	bool has_table_views;    /* shardgate.pg_tables, .info_schemata and .info_tables exist: the
	                            same for pg_tables, information_schema.schemata and .tables */
	int32_t nnodes;          /* sorted by id */
	CatNode *nodes;
	int32_t ngroups;
	CatGroup *groups;
	int32_t ntables;
	CatTable *tables;
	Arena *arena; /* owns everything above */
	int refcount; /* atomic; see catalog_ref/catalog_unref */
} CatalogSnapshot;

/* catalog_find_table: schema NULL means "public". NULL if not declared (a local table). */
const CatTable *catalog_find_table(const CatalogSnapshot *snap, const char *schema,
                                   const char *name);
/* catalog_column_index: the index of column col in t->columns, -1 when t has none of that name */
int32_t catalog_column_index(const CatTable *t, const char *col);
const CatGroup *catalog_find_group(const CatalogSnapshot *snap, int32_t group_id);
const CatNode *catalog_find_node(const CatalogSnapshot *snap, int32_t node_id);
/*
 * catalog_dist_null_when_absent: distributed table t's distribution column
 * has no default at all, so a row that leaves it out holds NULL (the NULL
 * shard, whose node refuses it with 23502 when the column is NOT NULL), as
 * PostgreSQL has it. False also when t's columns are unknown.
 */
bool catalog_dist_null_when_absent(const CatTable *t);
/* catalog_dist_is_identity: t's distribution column is an identity column */
bool catalog_dist_is_identity(const CatTable *t);

/* catalog_first_node: the node holding local tables (lowest active id); NULL if none */
const CatNode *catalog_first_node(const CatalogSnapshot *snap);
/* catalog_shard_schema: "sg_g<group>_<index>", allocated in a */
char *catalog_shard_schema(Arena *a, int32_t group_id, int32_t shard_index);

/*
 * catalog_new_empty: a snapshot with no nodes/tables, refcount 1 (for tests
 * that build snapshots by hand: allocate the arrays in snap->arena).
 */
CatalogSnapshot *catalog_new_empty(int64_t version);
/*
 * catalog_load connects (blocking) to the metadata node with the libpq
 * conninfo string and reads the whole catalog. Returns a snapshot with
 * refcount 1, or NULL with err filled. Blocking: call from a worker or at
 * start-up, never on an event loop.
 */
CatalogSnapshot *catalog_load(const char *conninfo, SgError *err);
/* catalog_read_version: blocking; current catalog version, or -1 with err filled */
int64_t catalog_read_version(const char *conninfo, SgError *err);
/*
 * CatalogLink: a connection to the metadata node kept between catalog polls,
 * so that a gateway polling every second does not make the node start a
 * backend every second (a sidecar per application pod multiplies that).
 * One user at a time; blocking, like catalog_load.
 */
typedef struct CatalogLink CatalogLink;
CatalogLink *catalog_link_create(const char *conninfo);
void catalog_link_destroy(CatalogLink *link);
/*
 * catalog_link_load: when the catalog version differs from have_version (or
 * have_version < 0), reads the whole catalog into *out (refcount 1); when it
 * is the same, *out = NULL. False with err filled on failure. The connection
 * is opened on first use and kept; a failure closes it, and a failure on a
 * kept connection is retried once on a new one (the node restarted between
 * polls).
 */
bool catalog_link_load(CatalogLink *link, int64_t have_version, CatalogSnapshot **out,
                       SgError *err);
/*
 * catalog_stats_refresh: blocking. Asks every active node for the row
 * estimates of the catalogued tables it holds (pg_class.reltuples, or
 * pg_stat's n_live_tup before the first ANALYZE saw rows)
 * and stores their sums in the tables' est_rows. The metadata conninfo gives
 * the login; host and port are each node's. Nodes that do not answer leave
 * the estimate unknown (-1). Returns the number of nodes that answered.
 * links (NULL: none) keeps the connections for the next refresh.
 */
typedef struct LinkSet LinkSet; /* storage/linkset.h */
int catalog_stats_refresh(CatalogSnapshot *snap, const char *conninfo, LinkSet *links);
/*
 * catalog_carry_estimates: each table of `to` gets the estimate the same
 * table (schema, name, kind and group) has in `from`, the snapshot it
 * replaces, until the next refresh reads the nodes
 */
void catalog_carry_estimates(CatalogSnapshot *to, const CatalogSnapshot *from);
/* catalog_est_rows: t's row estimate, -1 when unknown */
int64_t catalog_est_rows(const CatTable *t);
void catalog_ref(CatalogSnapshot *snap);
void catalog_unref(CatalogSnapshot *snap);

#endif /* SG_STORAGE_CATALOG_H */
