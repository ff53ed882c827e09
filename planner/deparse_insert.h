#ifndef SG_PLANNER_DEPARSE_INSERT_H
#define SG_PLANNER_DEPARSE_INSERT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/parse.h"

/*
 * deparse_insert.h: the tree work of an INSERT ... SELECT pulled through the
 * gateway (planner/insert_select.c): the SELECT as a statement of its own,
 * and the INSERT ... VALUES ($1, ...), ... statements that insert its rows.
 * Everything is built from the client's tree and deparsed, never pasted;
 * the client's tree is not changed. Results live in the arena a.
 */

/*
 * deparse_insert_query: the SELECT of the INSERT ... SELECT stmt as a
 * statement of its own (sharing stmt's tree); a WITH on the INSERT moves to
 * the SELECT (0A000 when both have one). NULL with err filled on failure.
 */
ParsedStmt *deparse_insert_query(Arena *a, const ParsedStmt *stmt, SgError *err);

/*
 * deparse_insert_check: 0A000 when the INSERT's ON CONFLICT or RETURNING
 * read another relation (a subquery) or use a $n parameter: the batches
 * number their own parameters and run on one shard each.
 */
SG_MUSTCHECK bool deparse_insert_check(const ParsedStmt *stmt, SgError *err);

/*
 * deparse_insert_unknown: unknown[i] (i < n) is true when output column i of
 * the INSERT's SELECT is written as a string literal or NULL without a
 * cast (for VALUES: in every row): PostgreSQL gives such a column the
 * target column's type, not text.
 */
void deparse_insert_unknown(const ParsedStmt *stmt, bool *unknown, int32_t n);

/*
 * deparse_insert_values: `INSERT INTO [schema.]t [AS alias] [(cols)] VALUES
 * ($1, ..., $ncols), ... (nrows rows) [ON CONFLICT ...] [RETURNING ...]`
 * from the INSERT ... SELECT stmt: schema NULL keeps the relation as written
 * (no alias added); otherwise the relation moves to schema with the alias
 * `AS <table name>` when it had none. cols NULL: the column list as written
 * (none when none); else cols[ncols] replaces it.
 */
SG_MUSTCHECK bool deparse_insert_values(Arena *a, const ParsedStmt *stmt, const char *schema,
                                        const char *const *cols, int32_t nrows, int32_t ncols,
                                        char **out, SgError *err);

#endif /* SG_PLANNER_DEPARSE_INSERT_H */
