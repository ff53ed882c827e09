#ifndef SG_PLANNER_PARSE_H
#define SG_PLANNER_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/plan.h"
#include "planner/planner.h"

/*
 * parse.h: the libpg_query wrapper. parse_split() turns a query string into
 * statements (trees in the caller's arena); parse_inspect() reads one tree
 * into plain C facts (ParseInfo) so that the rest of the planner never sees
 * a protobuf type. Only parse.c and deparse.c include pg_query headers.
 */

/* ParseStmtKind: what the top-level statement is, as far as planning cares */
typedef enum ParseStmtKind {
	PARSE_SELECT,
	PARSE_INSERT,
	PARSE_UPDATE,
	PARSE_DELETE,
	PARSE_MERGE,
	PARSE_TXN,        /* BEGIN, COMMIT, SAVEPOINT...: txn_cmd */
	PARSE_DDL,        /* defines schema objects: runs on every node; tag */
	PARSE_DDL_LOCAL,  /* CREATE TEMP TABLE/VIEW/SEQUENCE: first node only */
	PARSE_UTILITY,    /* SET/SHOW/RESET/DISCARD/CALL/DO/...: first node pass-through */
	PARSE_RESTRICTED, /* EXPLAIN/COPY/DECLARE/PREPARE/...: pass-through unless a catalogued
	                     table is involved (then 0A000 naming `construct`) */
} ParseStmtKind;

/* features of one query level (SELECT/UPDATE/DELETE/INSERT), not of nested ones */
enum {
	PARSE_F_AGGREGATE = 1u << 0,
	PARSE_F_GROUP_BY = 1u << 1,
	PARSE_F_HAVING = 1u << 2,
	PARSE_F_DISTINCT = 1u << 3,
	PARSE_F_WINDOW = 1u << 4,
	PARSE_F_ORDER_BY = 1u << 5,
	PARSE_F_LIMIT = 1u << 6,
	PARSE_F_SETOP = 1u << 7,
	PARSE_F_CTE = 1u << 8,
	PARSE_F_LOCKING = 1u << 9,
	PARSE_F_RETURNING = 1u << 10,
	PARSE_F_ON_CONFLICT = 1u << 11,
};

/* ParseValue: an expression reduced to what routing needs */
typedef enum ParseValueKind {
	PV_CONST,   /* literal (possibly cast or negated): text is its text form */
	PV_NULL,    /* NULL literal */
	PV_COLUMN,  /* column reference: fields[nfields] */
	PV_DEFAULT, /* DEFAULT in VALUES */
	PV_PARAM,   /* $n: param */
	PV_OTHER    /* anything else */
} ParseValueKind;

typedef struct ParseValue {
	ParseValueKind kind;
	const char *text;    /* PV_CONST */
	int32_t nfields;     /* PV_COLUMN: 1 (col), 2 (rel.col) or 3 (schema.rel.col) */
	const char **fields; /* PV_COLUMN */
	int32_t param;       /* PV_PARAM */
	int32_t location;    /* PV_CONST written as a bare literal: its byte offset in the query
	                        string; -1 otherwise (cast, negated, other kinds) */
} ParseValue;

/* ParseEquality: `lhs = rhs`, one of the top-level AND-ed conditions of a query level */
typedef struct ParseEquality {
	int32_t scope;
	ParseValue lhs;
	ParseValue rhs;
} ParseEquality;

/* ParseWindow: one window's PARTITION BY items that are plain column references */
typedef struct ParseWindow {
	int32_t npart;
	ParseValue *part;
} ParseWindow;

/* ParseScope: one query level (SELECT, including each arm of a set operation, or DML) */
typedef struct ParseScope {
	int32_t parent;    /* enclosing scope, -1 for the top */
	uint32_t features; /* PARSE_F_* */
	void *node;        /* the SelectStmt (NULL for DML levels): for deparse.c only */
	int32_t ngroup;    /* GROUP BY items that are plain column references */
	ParseValue *group;
	/* window definitions of the level (OVER (...) and WINDOW entries) with a PARTITION BY of
	 * their own: its plain column references; a window without one that does not inherit one
	 * from a named window sets window_unpartitioned */
	int32_t nwindows;
	ParseWindow *windows;
	bool window_unpartitioned;
} ParseScope;

/*
 * ParseColRef: one column reference anywhere in the statement (ColumnRef,
 * or a name of a JOIN ... USING list), for column pruning. `t.*` has
 * is_star with fields = {"t"}; `*` has is_star and nfields 0.
 */
typedef struct ParseColRef {
	int32_t scope;
	int32_t nfields;
	const char **fields;
	bool is_star;
} ParseColRef;

/* ParseRel: one relation reference (RangeVar) anywhere in the statement */
typedef struct ParseRel {
	const char *schema; /* NULL when not written */
	const char *name;
	const char *alias;   /* NULL when none */
	int32_t scope;       /* query level listing it; -1 in a utility statement */
	bool in_sublink;     /* inside a subquery expression (EXISTS, IN, scalar) */
	bool in_cte;         /* inside a WITH query */
	bool outer_nullable; /* on the nullable side of an outer join */
	bool is_target;      /* target of INSERT/UPDATE/DELETE/MERGE */
	bool is_cte_ref;     /* unqualified name of a CTE of the statement */
	bool has_colnames;   /* alias with a column list: `t AS x(a, b)` */
	int32_t location;    /* byte offset of the name as written in the query string, -1 unknown */
	void *node;          /* the tree node: for deparse.c only */
} ParseRel;

/* ParseFunc: SELECT create_distributed_table(...) / create_reference_table(...) */
typedef struct ParseFunc {
	const char *mentioned; /* the first gateway function called anywhere, or NULL */
	bool is_simple;        /* the statement is exactly SELECT fn(args) with nothing else */
	const char *name;      /* function name, lower case as parsed */
	const char *result;    /* result column name (alias or function name) */
	int32_t nargs;
	const char **arg_names; /* [nargs], NULL for positional */
	ParseValue *args;       /* [nargs] */
} ParseFunc;

/* ParseAlterCmd: one ALTER TABLE subcommand that touches a named column */
typedef enum ParseAlterKind {
	PARSE_ALTER_OTHER,
	PARSE_ALTER_COLUMN_TYPE,
	PARSE_ALTER_DROP_COLUMN
} ParseAlterKind;

/* ParseOverriding: an INSERT's OVERRIDING clause */
typedef enum ParseOverriding {
	PARSE_OVERRIDING_NONE,
	PARSE_OVERRIDING_USER,  /* OVERRIDING USER VALUE */
	PARSE_OVERRIDING_SYSTEM /* OVERRIDING SYSTEM VALUE */
} ParseOverriding;

typedef struct ParseName {
	const char *schema; /* NULL when not written */
	const char *name;
} ParseName;

typedef struct ParseInfo {
	ParseStmtKind kind;
	const char *tag;       /* PostgreSQL command tag ("CREATE TABLE", "SELECT", ...) */
	const char *construct; /* PARSE_RESTRICTED: "EXPLAIN", "COPY", ... */
	TxnCommand txn_cmd;    /* PARSE_TXN */
	bool in_txn_forbidden; /* VACUUM, CREATE INDEX CONCURRENTLY, CREATE DATABASE... */
	bool has_query_body;   /* DDL carrying a query (CREATE VIEW / TABLE AS / RULE) */

	int32_t nrels;
	ParseRel *rels;
	int32_t nscopes;
	ParseScope *scopes;
	int32_t nequal;
	ParseEquality *equal;
	int32_t nouter_equal; /* `a = b` conjuncts of outer joins' ON (never pin: not filters) */
	ParseEquality *outer_equal;
	bool has_from_func; /* a subquery, function or table function in some FROM clause */
	int32_t ncolrefs;
	ParseColRef *colrefs;
	bool has_natural_join; /* NATURAL JOIN anywhere (every column may be used) */

	/* PARSE_INSERT */
	bool insert_has_select;      /* INSERT ... SELECT (or DEFAULT VALUES: no rows) */
	int32_t insert_select_scope; /* INSERT ... SELECT: the SELECT's scope, -1 when it is not a
	                                plain SELECT (set operation, VALUES, WITH) */
	bool insert_select_star;     /* ... and that target list is exactly `*` */
	int32_t insert_select_n;     /* its target list, reduced (PV_COLUMN for plain columns) */
	ParseValue *insert_select_values;
	bool insert_default_values;      /* INSERT ... DEFAULT VALUES: one row of no items */
	ParseOverriding insert_override; /* its OVERRIDING clause */
	int32_t insert_ncols;            /* 0: no column list */
	const char **insert_cols;
	int32_t insert_nrows;
	int32_t *insert_row_len;     /* [nrows] */
	ParseValue **insert_rows;    /* [nrows][row_len] */
	int32_t *insert_row_nparams; /* [nrows]: how many $n the row uses */
	int32_t **insert_row_params; /* [nrows][row_nparams]: the $n numbers the row uses */

	/* PARSE_UPDATE: assigned column names (ON CONFLICT DO UPDATE ones too for INSERT) */
	int32_t nset_cols;
	const char **set_cols;

	/* DROP: object type and names (tables, views, schemas...) */
	bool is_drop;
	bool drop_is_table; /* DROP TABLE */
	bool drop_is_schema;
	bool drop_cascade; /* DROP ... CASCADE */
	int32_t ndrop;
	ParseName *drop;

	/* ALTER TABLE ... RENAME / SET SCHEMA and ALTER TABLE column subcommands */
	bool renames_relation;      /* RENAME TO / SET SCHEMA of a table */
	const char *renamed_column; /* RENAME COLUMN old: the old name */
	int32_t nalter;
	ParseAlterKind *alter_kinds;
	const char **alter_cols;

	ParseFunc func;

	/* EXPLAIN: the explained statement (tree node, for parse_sub_stmt) and options */
	void *explain_query;
	bool explain_analyze;
	const char *explain_format; /* NULL = text */
	/* ANALYZE only: the options for the nodes' EXPLAIN, "ANALYZE true, VERBOSE false, ..."
	 * (known boolean options, as given); explain_bad_option: an unknown option's name */
	const char *explain_options;
	const char *explain_bad_option;
	bool explain_timing;     /* TIMING (default on) */
	bool explain_timing_set; /* TIMING given */
	bool explain_wal;        /* WAL */
	bool explain_summary;    /* SUMMARY (default on with ANALYZE) */

	/* SQL-level PREPARE / EXECUTE / DEALLOCATE, run by the gateway itself */
	char sqlprep;          /* 0, 'P' PREPARE name [(types)] AS query, 'E' EXECUTE name [(args)],
	                          'D' DEALLOCATE [PREPARE] name | ALL */
	const char *prep_name; /* NULL: DEALLOCATE ALL */
	void *prep_query;      /* 'P': the statement node (parse_sub_stmt) */
	int32_t prep_ntypes;   /* 'P': declared parameter types, as pg_type oids (0: not a
	                          built-in type the gateway knows: the node infers it) */
	uint32_t *prep_types;
	int32_t exec_nargs; /* 'E': the arguments, reduced (PV_CONST / PV_NULL / other) */
	ParseValue *exec_args;

	/* COPY ... TO and DECLARE CURSOR: statements that wrap a query (planner/wrap.c) */
	bool is_copy_to;         /* COPY <relation or (query)> TO ... */
	bool copy_to_stdout;     /* ... TO STDOUT (no file, no program) */
	bool copy_has_query;     /* COPY (query) TO: the query is wrapped_query */
	const char *copy_format; /* FORMAT's argument as written, NULL when not given */
	int32_t copy_ncols;      /* COPY relation (cols) TO: the column list, 0 = none */
	const char **copy_cols;
	bool is_declare;         /* DECLARE CURSOR: the query is wrapped_query */
	const char *cursor_name; /* DECLARE: the cursor's name */
	bool cursor_hold;        /* DECLARE ... WITH HOLD */
	void *wrapped_query;     /* the query node of COPY (query) / DECLARE, for parse_sub_stmt */

	/* SET / RESET / DISCARD ALL (not SET LOCAL): see SetKind in plan.h */
	SetKind set_kind;
	const char *set_name;    /* SET_VALUE / SET_RESET: the GUC name, lower case */
	const char *set_refused; /* non-NULL: 0A000 with this construct name */
} ParseInfo;

/* parse_ref_name: how the statement refers to relation r: its alias, or its name */
const char *parse_ref_name(const ParseRel *r);

/*
 * parse_split parses sql once and returns its statements in out (trees,
 * texts: all in arena a). Empty input (or only ';' and comments) gives
 * nstmts = 0. Syntax error: false, err = 42601 with PostgreSQL's message
 * and 1-based position.
 */
SG_MUSTCHECK bool parse_split(Arena *a, const char *sql, StmtList *out, SgError *err);

/*
 * parse_inspect fills info from stmt (arrays in arena a). ParseRel.node
 * points into the statement's tree, which lives as long as stmt. Never fails.
 */
void parse_inspect(Arena *a, const ParsedStmt *stmt, ParseInfo *info);

/*
 * parse_sub_stmt: a statement made of a node of stmt's tree (the query of
 * an EXPLAIN, info->explain_query), sharing the tree (in a).
 */
ParsedStmt *parse_sub_stmt(Arena *a, const ParsedStmt *stmt, void *node);

#endif /* SG_PLANNER_PARSE_H */
