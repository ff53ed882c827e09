#ifndef SG_GATEWAY_COPYIN_H
#define SG_GATEWAY_COPYIN_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/*
 * copyin: splits the data stream of `COPY table FROM STDIN` into whole rows
 * the way PostgreSQL 15 reads it (src/backend/commands/copyfromparse.c), and
 * finds each row's distribution-column value, so the gateway can forward each
 * row's raw bytes unchanged to the COPY running on that row's shard. Pure: no
 * I/O, no sockets; the caller feeds bytes and pulls rows.
 *
 * Flow for the gateway, per COPY:
 *
 *   CopyOptions o; copyin_options_default(&o, COPY_FMT_CSV);
 *   o.ncolumns = ...; o.key_column = ...; (o.header, o.delimiter, ... from the statement)
 *   if (!copyin_options_check(&o, err)) -> ErrorResponse
 *   CopySplitter *s = copyin_create(&o);
 *   binary: send copyin_binary_header() once to each shard COPY before its first tuple
 *   CopyData(bytes): copyin_feed(s, bytes, n);
 *                    while ((r = copyin_next(s, &row, &row_len, &key, &key_len, &is_null, err))
 *                           == COPYIN_ROW) route(key) and forward row;
 *   CopyDone:        copyin_finish(s); then copyin_next until COPYIN_END or COPYIN_ERROR
 *                    (a last line without newline is still a COPYIN_ROW here)
 *   copyin_destroy(s);
 *
 * The shard COPYs use the same options as the client's, except HEADER: the
 * header line is consumed here and never returned as a row, so the shard
 * COPYs must run without HEADER.
 *
 * After COPYIN_END (text/csv: the "\." line; binary: the -1 trailer followed
 * by CopyDone) every call returns COPYIN_END again; text/csv bytes fed after
 * "\." are ignored, as PostgreSQL ignores them. After COPYIN_ERROR every call
 * returns the same error. Errors carry PostgreSQL's SQLSTATE and message
 * (22P04 bad COPY file format, 54000 row over the size limit).
 *
 * Bytes are handled one at a time, as PostgreSQL does after converting to the
 * server encoding: correct for every server-safe client encoding (UTF8,
 * LATIN*, EUC_*, ...), not for client-only encodings whose multibyte
 * characters may contain '\\' or the delimiter (SJIS, BIG5, GBK, UHC,
 * GB18030): the gateway must refuse COPY FROM under those.
 */

typedef enum CopyFormat { COPY_FMT_TEXT, COPY_FMT_CSV, COPY_FMT_BINARY } CopyFormat;

#define COPYIN_DEFAULT_MAX_ROW_BYTES ((size_t)256 * 1024 * 1024)
#define COPYIN_BINARY_HEADER_LEN 19

typedef struct CopyOptions {
	CopyFormat format;
	char delimiter;          /* text: '\t', csv: ',' */
	const char *null_string; /* text: "\\N", csv: ""; copied by copyin_create */
	bool header;             /* text/csv: skip (and do not return) the first line */
	char quote;              /* csv only: '"' */
	char escape;             /* csv only: defaults to quote */
	int ncolumns;            /* columns in the COPY's column list (or the table's) */
	int key_column;          /* index of the distribution column in that list, -1: none */
	/* optional, ncolumns names for "missing data for column \"%s\"" (else its 1-based number);
	 * borrowed: must outlive the splitter */
	const char *const *column_names;
	bool key_force_not_null; /* csv: FORCE_NOT_NULL names the key column */
	bool key_force_null;     /* csv: FORCE_NULL names the key column */
	size_t max_row_bytes;    /* a longer row (or header, or binary tuple) is 54000 */
} CopyOptions;

/*
 * copyin_options_default fills *o with PostgreSQL's defaults for format f:
 * text: delimiter tab, NULL "\N"; csv: delimiter comma, NULL "" (unquoted
 * only), quote '"', escape = quote; no header, ncolumns 0, key_column -1,
 * max_row_bytes COPYIN_DEFAULT_MAX_ROW_BYTES.
 */
void copyin_options_default(CopyOptions *o, CopyFormat f);

/*
 * copyin_options_check applies PostgreSQL's option checks that concern the
 * data (ProcessCopyOptions): delimiter not newline/CR, not backslash or a
 * lowercase letter/digit/'.' in text format, different from quote in CSV,
 * not inside the NULL string; NULL string without newline/CR; quote not in
 * the NULL string; HEADER not in binary. Returns false with err (22023 or
 * 0A000, PostgreSQL's messages) on the first violation. Also checks
 * key_column < ncolumns (22023).
 */
SG_MUSTCHECK bool copyin_options_check(const CopyOptions *o, SgError *err);

typedef struct CopySplitter CopySplitter; /* opaque, malloc'd */

/* copyin_create makes a splitter for options o (copied; null_string copied, column_names
 * borrowed). max_row_bytes 0 means the default. Never returns NULL (aborts on OOM). */
CopySplitter *copyin_create(const CopyOptions *o);
void copyin_destroy(CopySplitter *s);

/*
 * copyin_feed appends a chunk of the COPY stream (one CopyData message's
 * body, any size, cut anywhere). Then call copyin_next until it returns
 * COPYIN_NEED_MORE. Invalidates the pointers returned by copyin_next.
 * Memory held is bounded by the longest row (max_row_bytes) plus one chunk.
 */
void copyin_feed(CopySplitter *s, const char *data, size_t len);

/* copyin_finish says the client sent CopyDone: no more bytes. Call copyin_next after it: it
 * returns the remaining rows (a last line without newline is a row in PostgreSQL), then
 * COPYIN_END, or COPYIN_ERROR (unterminated CSV quoted field, truncated binary tuple, ...);
 * never COPYIN_NEED_MORE. */
void copyin_finish(CopySplitter *s);

typedef enum CopyNext { COPYIN_ROW, COPYIN_NEED_MORE, COPYIN_END, COPYIN_ERROR } CopyNext;

/*
 * copyin_next returns the next whole row.
 *   COPYIN_ROW: row, row_len = the row's raw bytes, to forward unchanged:
 *     text/csv the line including its line end (CR, LF or CRLF; the last
 *     line before CopyDone may have none; a line cut short by a "\." marker
 *     gets the stream's line end); binary the whole tuple (field count and
 *     fields, without the file header). key, key_len = the distribution
 *     value as text: text format with backslash escapes decoded, csv with
 *     quoting removed, binary the field's raw bytes; NUL-terminated;
 *     *key_is_null when it is NULL (key NULL, key_len 0 too when
 *     key_column is -1). All pointers stay valid until the next call of any
 *     copyin_* function on s.
 *   COPYIN_NEED_MORE: feed more bytes (or call copyin_finish).
 *   COPYIN_END: end of data ("\." line in text/csv, -1 trailer in binary).
 *   COPYIN_ERROR: err filled; the COPY fails.
 */
SG_MUSTCHECK CopyNext copyin_next(CopySplitter *s, const char **row, size_t *row_len,
                                  const char **key, size_t *key_len, bool *key_is_null,
                                  SgError *err);

/* copyin_binary_header returns the 19-byte binary COPY file header (signature, flags 0,
 * no extension) that the gateway sends once to each shard COPY before any tuple: the
 * client's own header is consumed by the splitter and never returned as a row. Static. */
const char *copyin_binary_header(size_t *len);

/* copyin_rows returns how many rows copyin_next has returned so far (for CommandComplete
 * "COPY n" cross-checks and error context "COPY t, line n"). */
size_t copyin_rows(const CopySplitter *s);

#endif /* SG_GATEWAY_COPYIN_H */
