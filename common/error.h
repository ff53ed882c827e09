#ifndef SG_COMMON_ERROR_H
#define SG_COMMON_ERROR_H

#include <stdbool.h>

#include "common/macros.h"
#include "common/sqlstate.h"

/*
 * SgError carries the fields of a PostgreSQL ErrorResponse, so an error from
 * any layer (or relayed from a node) reaches the client unchanged. Fixed-size
 * fields: an SgError lives on the stack or inside its owner, never allocated.
 */
typedef struct SgError {
	char severity[10]; /* "ERROR", "FATAL" */
	char sqlstate[6];
	char message[512];
	char detail[512];
	char hint[256];
	int position; /* 1-based cursor position in the statement, 0 = none */
	/* other fields of a node's ErrorResponse (where, schema, table, column, constraint,
	 * datatype, ...) kept encoded (code byte, text, NUL) and relayed unchanged */
	unsigned short extra_len;
	char extra[512];
} SgError;

/* sg_error_set fills err (severity ERROR) and returns false, for `return sg_error_set(...)`. */
bool sg_error_set(SgError *err, const char *sqlstate, const char *fmt, ...) SG_PRINTF(3, 4);
/* sg_error_fatal is sg_error_set with severity FATAL (the session ends after sending it). */
bool sg_error_fatal(SgError *err, const char *sqlstate, const char *fmt, ...) SG_PRINTF(3, 4);
void sg_error_detail(SgError *err, const char *fmt, ...) SG_PRINTF(2, 3);
void sg_error_hint(SgError *err, const char *fmt, ...) SG_PRINTF(2, 3);
void sg_error_clear(SgError *err);
bool sg_error_is_set(const SgError *err);

#endif /* SG_COMMON_ERROR_H */
