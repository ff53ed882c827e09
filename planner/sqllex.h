#ifndef SG_PLANNER_SQLLEX_H
#define SG_PLANNER_SQLLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

/*
 * sqllex.h: a small SQL tokenizer for the plan cache (plancache.c). It cuts
 * a query string into tokens the way PostgreSQL's scanner does and builds a
 * *shape key*: the text with every literal replaced by its class marker and
 * every run of whitespace or comments by one space. Two strings with the same
 * key are the same token sequence for PostgreSQL except for the values of
 * their literals, so a plan that depends on the literals only through known
 * positions can be reused.
 *
 * It is deliberately strict: anything whose tokenization is subtle (escape
 * strings, bit strings, dollar quotes, parameters, adjacent strings, a
 * number touching a letter, a backslash in a string, more than one
 * statement) makes sqllex_shape() fail, and the caller takes the normal
 * parse-and-plan path.
 */

typedef enum SqlTokKind {
	TOK_IDENT,  /* unquoted identifier or keyword */
	TOK_QIDENT, /* "quoted identifier" */
	TOK_INT,    /* integer literal that fits int4 (PostgreSQL: Integer node) */
	TOK_NUM,    /* other numeric literal (PostgreSQL: Float node, kept as text) */
	TOK_STR,    /* 'string' literal without escapes other than '' */
	TOK_OP,     /* operator run */
	TOK_PUNCT   /* ( ) [ ] , ; : . and the like, one character */
} SqlTokKind;

typedef struct SqlTok {
	SqlTokKind kind;
	int32_t off; /* byte offset in the query string */
	int32_t len;
} SqlTok;

typedef struct SqlShape {
	int32_t ntoks;
	SqlTok *toks;
	int32_t nliterals;
	char *key; /* NUL-terminated shape key */
	size_t keylen;
} SqlShape;

/*
 * sqllex_shape: tokens and shape key of sql (arrays in a). False when the
 * string is not one plain statement the cache can handle (see above); a
 * single trailing ';' is allowed.
 */
bool sqllex_shape(Arena *a, const char *sql, SqlShape *out);

/* sqllex_is_literal: TOK_INT, TOK_NUM or TOK_STR */
bool sqllex_is_literal(SqlTokKind k);

/*
 * sqllex_literal_value: the value a literal token stands for, as text
 * (quotes removed, '' folded), in a
 */
const char *sqllex_literal_value(Arena *a, const char *sql, const SqlTok *t);

#endif /* SG_PLANNER_SQLLEX_H */
