#ifndef SG_PLANNER_PLAN_H
#define SG_PLANNER_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "storage/catalog.h"

/*
 * DistPlan: what the planner decides for ONE statement, and everything the
 * executor (planner/exec.c) and the session need to run it. Everything hangs
 * off the statement arena given to planner_plan_query().
 *
 * Tiers, cheapest first (see planner/README.md):
 *   - no distributed/reference table involved -> one task on the first node
 *     with the statement's original text (PLAN_TASKS, COMBINE_RELAY);
 *   - router: every distributed relation pinned to one shard -> one task,
 *     relation names rewritten to the shard's, deparsed (COMBINE_RELAY);
 *   - fan-out: one task per node holding shards, each task one SQL string
 *     covering that node's shards (a SELECT is a UNION ALL of the shard
 *     SELECTs so the node answers in one snapshot; writes and DDL are
 *     several statements separated by ';'), results concatenated and
 *     command counts summed (COMBINE_CONCAT);
 *   - transaction control and gateway functions are handled by the session.
 */

typedef enum PlanKind {
	PLAN_EMPTY,        /* empty query: EmptyQueryResponse */
	PLAN_TASKS,        /* run tasks on nodes, combine their results */
	PLAN_TXN_CONTROL,  /* BEGIN/COMMIT/ROLLBACK/SAVEPOINT...: see TxnCommand */
	PLAN_GATEWAY_FUNC, /* SELECT create_distributed_table(...) etc.: see GatewayFunc */
	PLAN_COPY_IN,      /* COPY ... FROM STDIN: see CopyPlan */
	PLAN_FILL,         /* an INSERT leaving a serial distribution column out: run fill_sql on
	                      fill_node (fill_count values of the column's sequence), then plan
	                      again with them (planner_plan_stmt_keys) */
	PLAN_PREFETCH,     /* a semi-join reduction needs a key set first: run `prefetch` (its
	                      first column's values, at most prefetch_max), then plan again with
	                      every key set fetched so far (planner_plan_stmt_keys) */
	PLAN_INSERT_SELECT /* INSERT ... SELECT whose rows move through the gateway: run select_plan,
	                      collect its rows, then insert them in batches (planner.h:
	                      planner_insert_select_*) */
} PlanKind;

/*
 * KeySet: the values a PLAN_PREFETCH returned (text, NULLs left out), or
 * overflow when there were more than prefetch_max (the reduction is then
 * not applied)
 */
typedef struct KeySet {
	int32_t big, small; /* the reduction it was fetched for: DistPlan.prefetch_big/_small */
	int32_t n;
	const char *const *values;
	bool overflow;
} KeySet;

typedef enum CopyPlanFormat { COPYPLAN_TEXT, COPYPLAN_CSV, COPYPLAN_BINARY } CopyPlanFormat;

/*
 * CopyPlan: COPY ... FROM STDIN. Stream mode (local and reference tables):
 * the client's stream goes unchanged to the statement on every dest. Split
 * mode (distributed tables): the stream is cut into rows, each row routed by
 * its key to dests[shard index] (a COPY into that shard's table, HEADER
 * removed because the gateway skips it).
 */
typedef struct CopyDest {
	int32_t node_id;
	const char *sql;
} CopyDest;

typedef struct CopyPlan {
	bool split;
	int32_t ndests; /* split: one per shard, indexed by shard index */
	CopyDest *dests;
	CopyPlanFormat format;
	char delimiter;
	const char *null_string;
	bool header;
	char quote;
	char escape;
	bool key_force_not_null;
	bool key_force_null;
	int32_t ncolumns;     /* columns in the COPY (column list or the table's) */
	const char **columns; /* may be NULL for a local table without a column list */
	int32_t key_column;   /* split: index of the distribution column in columns */
	uint32_t key_type;    /* split: pg_type oid of the distribution column */
	int32_t shard_count;  /* split */
} CopyPlan;

typedef enum CombineKind {
	COMBINE_RELAY, /* exactly one task: relay every message, the node's CommandComplete included */
	COMBINE_CONCAT /* first RowDescription, all DataRows, counts summed into command_tag */
} CombineKind;

typedef enum TxnCommand {
	TXN_BEGIN,     /* BEGIN / START TRANSACTION (options in Task-less `txn_sql`) */
	TXN_COMMIT,    /* COMMIT / END */
	TXN_ROLLBACK,  /* ROLLBACK / ABORT */
	TXN_SAVEPOINT, /* SAVEPOINT name / RELEASE name / ROLLBACK TO name: sent to every participant */
	TXN_RELEASE,
	TXN_ROLLBACK_TO,
	TXN_PREPARE_UNSUPPORTED, /* PREPARE TRANSACTION / COMMIT PREPARED from a client: refused */
	TXN_SET_TRANSACTION      /* SET TRANSACTION ...: appended to the BEGIN every participant
	                            gets, and sent to those that already began (txn_sql) */
} TxnCommand;

/*
 * SetKind: a statement that changes the session's settings (not SET LOCAL).
 * It runs on one node as usual; then the session records the setting's new
 * value (read back with current_setting) so every backend connection the
 * session uses later carries it.
 */
typedef enum SetKind {
	SET_NONE,
	SET_VALUE,      /* SET name = ... / SET name TO DEFAULT / SET TIME ZONE ... */
	SET_RESET,      /* RESET name */
	SET_RESET_ALL,  /* RESET ALL */
	SET_DISCARD_ALL /* DISCARD ALL (also drops prepared statements and portals) */
} SetKind;

typedef enum GatewayFunc {
	GWF_CREATE_DISTRIBUTED_TABLE, /* args: table, column, [shard_count], [colocate_with] */
	GWF_CREATE_REFERENCE_TABLE,   /* args: table */
	GWF_RECOVER_PREPARED,         /* recover_prepared_transactions(): run 2PC recovery now */
	GWF_LIST_PREPARED,            /* shardgate_prepared_transactions(): in-doubt sg_* on nodes */
	GWF_LIST_ACTIVE,              /* shardgate_transactions(): this gateway's transactions */
	GWF_LIST_POOLS,               /* shardgate_pools(): this gateway's backend pools */
	GWF_PLAN_CACHE,               /* shardgate_plan_cache(): the plan cache's counters */
	GWF_SQL_PREPARE,              /* PREPARE name [(types)] AS query: kept by the session */
	GWF_SQL_EXECUTE,              /* EXECUTE name [(args)]: run like a Bind + Execute */
	GWF_SQL_DEALLOCATE,           /* DEALLOCATE name | ALL */
} GatewayFunc;

typedef struct Task {
	int32_t node_id;
	const char *sql;     /* one or more statements; multi-statement only with nparams == 0 */
	int32_t nparams;     /* > 0: sent with the extended protocol, text parameters */
	const char **params; /* [nparams], NULL entries are SQL NULL */
	bool uses_params;    /* sql is the client's statement (or its rewrite) and refers to the
	                        client's $n: the executor binds the client's parameter values
	                        (extended protocol only; then sql is exactly one statement) */
} Task;

/*
 * PullStage: one input of a multi-stage plan. The executor creates a
 * temporary table on the merge node (create_sql), starts `copy_sql` (COPY
 * <temp> FROM STDIN (FORMAT binary)) there, runs `tasks` on the other nodes
 * with binary results and streams their DataRow bodies as COPY rows (a
 * DataRow body and a binary COPY tuple have the same layout), ends the COPY,
 * then runs `local_sql` (INSERT INTO <temp> SELECT ... over the merge node's
 * own shards) if any. The final query then runs on the merge node over the
 * temporary tables (DistPlan.tasks, all on merge_node).
 */
typedef struct PullStage {
	const char *create_sql; /* CREATE TEMP TABLE ... ON COMMIT DROP (or DROPped after) */
	const char *copy_sql;   /* COPY pg_temp.x FROM STDIN (FORMAT binary) */
	int32_t ntasks;
	Task *tasks;           /* fragments on nodes other than merge_node */
	const char *local_sql; /* NULL or INSERT INTO pg_temp.x SELECT ... on merge_node */
	int32_t dest_node;     /* != 0: the temporary table is made on this node instead of
	                          merge_node (a repartition: tasks then run on the other nodes,
	                          local_sql on this one) */
} PullStage;

typedef struct DistPlan {
	PlanKind kind;

	/* PLAN_TASKS */
	int32_t ntasks;
	Task *tasks;
	CombineKind combine;
	const char *command_tag; /* COMBINE_CONCAT: "SELECT", "INSERT", "UPDATE", "DELETE", or a
	                            fixed tag ("CREATE TABLE") when has_count is false */
	bool has_count;          /* command tag carries a row count */
	bool returns_rows;       /* SELECT or RETURNING: RowDescription + DataRows expected */
	bool is_write;           /* modifies data or schema on the nodes */
	bool is_ddl;             /* schema change sent to every node */
	bool in_txn_forbidden;   /* VACUUM, CREATE DATABASE, CREATE INDEX CONCURRENTLY... */
	bool needs_block;        /* DECLARE CURSOR without HOLD: 25P01 outside a transaction block
	                            (the session wraps a multi-stage plan in its own block) */
	int32_t pin_node;        /* != 0: DECLARE ... WITH HOLD: the cursor may outlive the
	                            transaction on this node: the session keeps its connection */
	bool catalog_changed;    /* the shardgate catalog changes: reload after success */
	int32_t rows_from_node;  /* != 0: only this node's rows and count reach the client (a
	                            reference-table write runs on every node: report one copy) */
	/* COMBINE_CONCAT of a multi-row INSERT ... RETURNING over several nodes: output row i is
	 * the row_pos[i]-th DataRow node row_node[i] returns (PostgreSQL returns VALUES order);
	 * NULL: rows in the order they arrive */
	bool text_rewritten;     /* a local statement sent rewritten (catalog views), not as written */
	const char *client_text; /* set by the session: the statement as the client wrote it, so
	                            that a node's error position can point into it */
	int32_t nrow_order;
	const int32_t *row_node;
	const int32_t *row_pos;

	/* PLAN_COPY_IN */
	CopyPlan copy;

	/* PLAN_TASKS that change session settings */
	SetKind set_kind;
	const char *set_name; /* SET_VALUE, SET_RESET: the GUC name, lower case */

	/* multi-stage: stages run first on merge_node, then tasks (all on merge_node) */
	int32_t nstages;
	PullStage *stages;
	int32_t merge_node;
	const char *cleanup_sql; /* run on merge_node after the final query (DROP temp tables) */
	bool partial_join;       /* the one stage holds partial aggregates of a join run per shard
	                            (joinagg.c), not a relation's rows */

	/* PLAN_PREFETCH */
	const struct DistPlan *prefetch; /* PLAN_TASKS, COMBINE_CONCAT: the keys as first column */
	int32_t prefetch_max;
	int32_t prefetch_big, prefetch_small; /* the reduction (relation indexes), for the KeySet */
	/* multi-stage plans with semi-join reductions: one line per reduction (EXPLAIN) */
	int32_t nsemijoins;
	const char *const *semijoins;

	/* PLAN_FILL */
	const char *fill_sql;
	int32_t fill_node;
	int32_t fill_count;

	/* PLAN_INSERT_SELECT: the SELECT's plan (PLAN_TASKS) and the INSERT (opaque, see
	 * planner/insert_select.c) */
	const struct DistPlan *select_plan;
	const struct InsertSelect *insert_select;

	/*
	 * EXPLAIN ANALYZE (explained != NULL): the explained statement's plan with
	 * each task (the final query's, for multi-stage) wrapped as `EXPLAIN
	 * (<options>) <sql>`; stages run as usual. The executor collects the
	 * nodes' EXPLAIN lines and the stages' rows and times, and answers with
	 * the description of `explained` (explain.c), command tag EXPLAIN.
	 */
	const struct DistPlan *explained;
	bool explain_timing;  /* per-fragment times shown */
	bool explain_summary; /* total time shown */

	/* PLAN_TXN_CONTROL */
	TxnCommand txn_cmd;
	const char *txn_sql; /* statement text to send to participants (BEGIN with its options,
	                        SAVEPOINT x, RELEASE x, ROLLBACK TO x) */

	/* PLAN_GATEWAY_FUNC */
	GatewayFunc func;
	const char *func_table;         /* as written, may be schema-qualified */
	const char *func_column;        /* create_distributed_table */
	int32_t func_shard_count;       /* 0 = default (32) */
	const char *func_colocate_with; /* NULL or table name */
	const char *func_result_column; /* result column name, e.g. "create_distributed_table" */
	/* GWF_SQL_*: SQL-level prepared statements live in the session, as protocol ones, so they
	 * work with transaction pooling and on distributed tables */
	const char *prep_name; /* NULL: DEALLOCATE ALL */
	const char *prep_sql;  /* GWF_SQL_PREPARE: the statement's text */
	int32_t prep_ntypes;   /* GWF_SQL_PREPARE: declared types (0 = inferred) */
	const uint32_t *prep_types;
	int32_t exec_nargs; /* GWF_SQL_EXECUTE: arguments as text, NULL for NULL */
	const char **exec_args;
} DistPlan;

#endif /* SG_PLANNER_PLAN_H */
