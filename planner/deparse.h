#ifndef SG_PLANNER_DEPARSE_H
#define SG_PLANNER_DEPARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/parse.h"

/*
 * deparse.h: libpg_query wrapper, part two (writing). Every function
 * renames relations of a parsed statement for one target, packs the tree
 * and runs libpg_query's deparser; the tree is restored before returning,
 * so a ParsedStmt can be deparsed any number of times. Results live in the
 * arena a. Failures (the deparser refusing a tree) fill err with XX000.
 */

/* DeparseRename: point relation info->rels[rel] at schema `schema` */
typedef struct DeparseRename {
	int32_t rel;
	const char *schema;
	bool keep_alias; /* DML: add `AS <name>` when it had no alias, so `t.col` still resolves */
} DeparseRename;

/* deparse_stmt: the statement with renames[nrenames] applied */
SG_MUSTCHECK bool deparse_stmt(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                               const DeparseRename *renames, int32_t nrenames, char **out,
                               SgError *err);

/* deparse_insert_rows: an INSERT ... VALUES keeping only rows[nrows] (0-based), renamed */
SG_MUSTCHECK bool deparse_insert_rows(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                      const DeparseRename *renames, int32_t nrenames,
                                      const int32_t *rows, int32_t nrows, char **out, SgError *err);

/*
 * deparse_union_all: a SELECT that is the UNION ALL of the statement (a
 * SELECT) once per rename set: sets[i * per_set .. (i + 1) * per_set).
 * nsets == 1 gives the renamed statement itself.
 */
SG_MUSTCHECK bool deparse_union_all(Arena *a, const ParsedStmt *stmt, const ParseInfo *info,
                                    const DeparseRename *sets, int32_t nsets, int32_t per_set,
                                    char **out, SgError *err);

/*
 * deparse_drop_objects: the statement (a DROP) with its object list
 * replaced by names[n] (schema may be NULL), other options kept.
 */
SG_MUSTCHECK bool deparse_drop_objects(Arena *a, const ParsedStmt *stmt, const ParseName *names,
                                       int32_t n, char **out, SgError *err);

#endif /* SG_PLANNER_DEPARSE_H */
