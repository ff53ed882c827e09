/*
 * copyin.c: COPY FROM STDIN row splitter. Cuts the client's CopyData stream
 * into whole rows exactly as PostgreSQL 15's copyfromparse.c reads them, so
 * the gateway can route each row by its distribution value and forward its
 * raw bytes unchanged to the shard's COPY.
 *
 * Structure (CopySplitter):
 *   buf[start, len)   bytes fed and not yet consumed; a row returned by
 *                     copyin_next points into it (or into rowbuf when a row
 *                     must be rebuilt), so feed/next/finish invalidate it.
 *   text/csv          scan_line() is CopyReadLineText made resumable: it
 *                     looks at one byte at a time from start + scan_off and,
 *                     when it needs a byte that has not arrived, restores the
 *                     per-byte CSV state and returns SCAN_MORE so the next
 *                     call resumes at the same byte (no rescans: linear in the
 *                     input). eol_type is kept across lines as PostgreSQL does
 *                     (first line end decides; a different one later is an
 *                     error). A whole line is then split into fields by
 *                     split_text()/split_csv() (CopyReadAttributesText/CSV):
 *                     field count checked, the key field decoded into keybuf.
 *   binary            header (signature, flags, extension skipped without
 *                     buffering), then tuples walked field by field with the
 *                     walk position kept across calls (bin_off, bin_field).
 *
 * Invariants: buffered bytes never exceed max_row_bytes plus the last chunk
 * fed (a partial row over the limit is 54000 as soon as it is seen); after
 * END or ERROR the state never changes again and fed bytes are dropped.
 * Nothing here logs row values.
 */
#include "gateway/copyin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/copytext.h"

#ifndef SQLSTATE_BAD_COPY_FILE_FORMAT
#define SQLSTATE_BAD_COPY_FILE_FORMAT "22P04"
#endif

static const char copyin_signature[11] = "PGCOPY\n\377\r\n";

/* what a text/csv line ends with; decided by the first line, as in PostgreSQL */
typedef enum CopyEol { COPY_EOL_UNKNOWN, COPY_EOL_NL, COPY_EOL_CR, COPY_EOL_CRNL } CopyEol;

typedef enum CopyState {
	/* reading */
	COPY_ST_HEADER, /* binary: file header not yet complete */
	COPY_ST_ROWS,
	/* binary: -1 trailer seen, waiting for CopyDone (any byte before it is an error) */
	COPY_ST_TRAILER,
	/* done */
	COPY_ST_END,
	COPY_ST_ERROR
} CopyState;

typedef enum ScanResult {
	SCAN_LINE, /* [start, line_end) data, [line_end, next) its line end */
	SCAN_MARK, /* "\." marker: [start, line_end) data before it (text only) */
	SCAN_EOF,  /* end of input: [start, len) the last line, maybe empty */
	SCAN_MORE,
	SCAN_ERROR
} ScanResult;

struct CopySplitter {
	CopyOptions o;
	char *null_string; /* own copy */
	size_t null_len;
	CopyState state;
	bool at_eof;        /* copyin_finish was called */
	bool end_queued;    /* text: row before "\." returned, END comes next */
	bool trailer_extra; /* binary: bytes came after the -1 trailer */
	size_t rows;
	SgError saved; /* the error, repeated by every later call */

	char *buf;
	size_t start, len, cap;

	/* text/csv line scan, resumable */
	size_t scan_off; /* next byte to look at, relative to start */
	bool in_quote, last_was_esc, first_char;
	CopyEol eol;
	bool header_pending;
	size_t line_end, next; /* absolute, valid after SCAN_LINE/MARK/EOF */
	char mark_eol;         /* SCAN_MARK: the byte ending the marker line */

	/* binary */
	size_t hdr_skip; /* extension bytes still to skip */
	int hdr_part;    /* 0 signature, 1 flags, 2 extension length, 3 extension */
	size_t bin_off;  /* walk position inside the current tuple (0 = not started) */
	int bin_field;   /* next field to read */
	bool bin_key_null;
	size_t bin_key_off, bin_key_len;

	char *rowbuf; /* a rebuilt row (line before "\." + line end) */
	size_t rowcap;
	char *keybuf;
	size_t keycap;
};

/* ------------------------------------------------------------------ options */

void
copyin_options_default(CopyOptions *o, CopyFormat f)
{
	memset(o, 0, sizeof(*o));
	o->format = f;
	o->delimiter = f == COPY_FMT_CSV ? ',' : '\t';
	o->null_string = f == COPY_FMT_CSV ? "" : "\\N";
	o->header = false;
	o->quote = '"';
	o->escape = '"';
	o->ncolumns = 0;
	o->key_column = -1;
	o->column_names = NULL;
	o->max_row_bytes = COPYIN_DEFAULT_MAX_ROW_BYTES;
}

bool
copyin_options_check(const CopyOptions *o, SgError *err)
{
	const char *null_string = o->null_string != NULL ? o->null_string : "";
	bool is_csv = o->format == COPY_FMT_CSV;

	if (o->ncolumns < 0 || o->key_column < -1 || o->key_column >= o->ncolumns)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY distribution column %d out of range (%d columns)", o->key_column,
		                    o->ncolumns);
	if (o->format == COPY_FMT_BINARY) {
		if (o->header)
			return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			                    "cannot specify HEADER in BINARY mode");
		return true;
	}
	if (o->delimiter == '\0')
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY delimiter must be a single one-byte character");
	if (o->delimiter == '\r' || o->delimiter == '\n')
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY delimiter cannot be newline or carriage return");
	if (strchr(null_string, '\r') != NULL || strchr(null_string, '\n') != NULL)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY null representation cannot use newline or carriage return");
	if (!is_csv && strchr("\\.abcdefghijklmnopqrstuvwxyz0123456789", o->delimiter) != NULL)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY delimiter cannot be \"%c\"", o->delimiter);
	if (is_csv && (o->quote == '\0'))
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY quote must be a single one-byte character");
	if (is_csv && o->delimiter == o->quote)
		return sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE,
		                    "COPY delimiter and quote must be different");
	if (is_csv && o->escape == '\0')
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY escape must be a single one-byte character");
	if (strchr(null_string, o->delimiter) != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "COPY delimiter must not appear in the NULL specification");
	if (is_csv && strchr(null_string, o->quote) != NULL)
		return sg_error_set(err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		                    "CSV quote character must not appear in the NULL specification");
	return true;
}

/* ------------------------------------------------------------------ lifecycle */

/* grow: make *p hold at least need bytes (abort on OOM, as arenas do) */
static void
grow(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap < 256 ? 256 : *cap;
	while (ncap < need)
		ncap *= 2;
	char *np = realloc(*p, ncap);
	SG_ASSERT(np != NULL);
	*p = np;
	*cap = ncap;
}

CopySplitter *
copyin_create(const CopyOptions *o)
{
	CopySplitter *s = calloc(1, sizeof(*s));
	SG_ASSERT(s != NULL);
	s->o = *o;
	if (s->o.max_row_bytes == 0)
		s->o.max_row_bytes = COPYIN_DEFAULT_MAX_ROW_BYTES;
	const char *ns =
	    o->null_string != NULL ? o->null_string : (o->format == COPY_FMT_CSV ? "" : "\\N");
	s->null_len = strlen(ns);
	s->null_string = malloc(s->null_len + 1);
	SG_ASSERT(s->null_string != NULL);
	memcpy(s->null_string, ns, s->null_len + 1);
	s->o.null_string = s->null_string;
	grow(&s->buf, &s->cap, 256); /* never NULL: offsets into it are taken before any feed */
	s->state = o->format == COPY_FMT_BINARY ? COPY_ST_HEADER : COPY_ST_ROWS;
	s->first_char = true;
	s->header_pending = o->format != COPY_FMT_BINARY && o->header;
	return s;
}

void
copyin_destroy(CopySplitter *s)
{
	if (s == NULL)
		return;
	free(s->buf);
	free(s->rowbuf);
	free(s->keybuf);
	free(s->null_string);
	free(s);
}

size_t
copyin_rows(const CopySplitter *s)
{
	return s->rows;
}

const char *
copyin_binary_header(size_t *len)
{
	static const char header[COPYIN_BINARY_HEADER_LEN] = "PGCOPY\n\377\r\n\0"
	                                                     "\0\0\0\0"
	                                                     "\0\0\0";
	*len = COPYIN_BINARY_HEADER_LEN;
	return header;
}

void
copyin_feed(CopySplitter *s, const char *data, size_t len)
{
	if (len == 0 || s->at_eof)
		return;
	switch (s->state) {
	case COPY_ST_END:
	case COPY_ST_ERROR:
		return; /* ignored, as PostgreSQL drains the rest until CopyDone */
	case COPY_ST_TRAILER:
		/* binary: "received copy data after EOF marker"; only the fact matters */
		s->trailer_extra = true;
		return;
	case COPY_ST_HEADER:
	case COPY_ST_ROWS:
		break;
	}
	/* drop consumed bytes first so the buffer is bounded by one row plus one chunk */
	if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->len - s->start);
		s->len -= s->start;
		s->start = 0;
	}
	grow(&s->buf, &s->cap, s->len + len);
	memcpy(s->buf + s->len, data, len);
	s->len += len;
}

void
copyin_finish(CopySplitter *s)
{
	s->at_eof = true;
}

/* fail: enter the error state with err filled; returns COPYIN_ERROR */
static CopyNext
fail(CopySplitter *s, SgError *err)
{
	s->saved = *err;
	s->state = COPY_ST_ERROR;
	return COPYIN_ERROR;
}

static CopyNext
fail_format(CopySplitter *s, SgError *err, const char *msg)
{
	sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "%s", msg);
	return fail(s, err);
}

static CopyNext
fail_too_long(CopySplitter *s, SgError *err)
{
	sg_error_set(err, SQLSTATE_PROGRAM_LIMIT_EXCEEDED, "COPY row is longer than %zu bytes",
	             s->o.max_row_bytes);
	sg_error_hint(err, "The limit is the gateway's max COPY row size.");
	return fail(s, err);
}

/* ------------------------------------------------------------------ text/csv lines */

/* eol_error: PostgreSQL's mixed line end errors (text "literal", csv "unquoted") */
static ScanResult
eol_error(CopySplitter *s, SgError *err, bool is_cr)
{
	bool is_csv = s->o.format == COPY_FMT_CSV;
	if (is_cr) {
		sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "%s carriage return found in data",
		             is_csv ? "unquoted" : "literal");
		sg_error_hint(err, "%s",
		              is_csv ? "Use quoted CSV field to represent carriage return."
		                     : "Use \"\\r\" to represent carriage return.");
	} else {
		sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "%s newline found in data",
		             is_csv ? "unquoted" : "literal");
		sg_error_hint(err, "%s",
		              is_csv ? "Use quoted CSV field to represent newline."
		                     : "Use \"\\n\" to represent newline.");
	}
	return SCAN_ERROR;
}

static ScanResult
marker_error(SgError *err, const char *msg)
{
	sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "%s", msg);
	return SCAN_ERROR;
}

/*
 * scan_line is CopyReadLineText over buf from start + scan_off, resumable.
 * Finds where the line that begins at start ends (see ScanResult). A byte
 * past len reads as '\0' once at_eof (PostgreSQL's pad byte). On SCAN_MORE
 * scan_off points at the byte whose handling needs more input, with the CSV
 * state as it was before that byte.
 */
static ScanResult
scan_line(CopySplitter *s, SgError *err)
{
	const bool is_csv = s->o.format == COPY_FMT_CSV;
	const char quotec = s->o.quote;
	/* as in PostgreSQL: no special escape processing if it's the same as the quote */
	const char escapec = (is_csv && s->o.escape != s->o.quote) ? s->o.escape : '\0';
	const char *b = s->buf;
	const size_t len = s->len;
	const bool at_eof = s->at_eof;
	/* the per-byte state lives in locals (stores into *s each byte stall the loop) */
	bool in_quote = s->in_quote, last_was_esc = s->last_was_esc, first_char = s->first_char;
	size_t cpos = s->start + s->scan_off;

/* NEED(i): byte i must be there unless at EOF; else undo this byte and wait */
#define NEED(i)                                                                                    \
	do {                                                                                           \
		if ((i) >= len && !at_eof) {                                                               \
			s->in_quote = save_quote;                                                              \
			s->last_was_esc = save_esc;                                                            \
			s->first_char = first_char;                                                            \
			s->scan_off = cpos - s->start;                                                         \
			return SCAN_MORE;                                                                      \
		}                                                                                          \
	} while (0)
#define AT(i) ((i) < len ? b[(i)] : '\0')

	for (;; cpos++) {
		if (cpos >= len) {
			if (!at_eof) {
				s->in_quote = in_quote;
				s->last_was_esc = last_was_esc;
				s->first_char = first_char;
				s->scan_off = cpos - s->start;
				return SCAN_MORE;
			}
			s->line_end = s->next = len;
			return SCAN_EOF;
		}
		const bool save_quote = in_quote, save_esc = last_was_esc;
		size_t p = cpos;
		char c = b[p++];

		if (is_csv) {
			/* look-ahead bytes must be there before the CSV state changes */
			if (c == '\\' || c == '\r')
				NEED(p);
			if (in_quote && c == escapec)
				last_was_esc = !last_was_esc;
			if (c == quotec && !last_was_esc)
				in_quote = !in_quote;
			if (c != escapec)
				last_was_esc = false;
		} else if (c != '\r' && c != '\n' && c != '\\') {
			first_char = false;
			continue; /* text: nothing else is special */
		}

		if (c == '\r' && (!is_csv || !in_quote)) {
			if (s->eol == COPY_EOL_UNKNOWN || s->eol == COPY_EOL_CRNL) {
				NEED(p);
				if (AT(p) == '\n') {
					p++;
					s->eol = COPY_EOL_CRNL;
				} else {
					if (s->eol == COPY_EOL_CRNL)
						return eol_error(s, err, true);
					s->eol = COPY_EOL_CR;
				}
			} else if (s->eol == COPY_EOL_NL) {
				return eol_error(s, err, true);
			}
			s->line_end = cpos;
			s->next = p;
			return SCAN_LINE;
		}
		if (c == '\n' && (!is_csv || !in_quote)) {
			if (s->eol == COPY_EOL_CR || s->eol == COPY_EOL_CRNL)
				return eol_error(s, err, false);
			s->eol = COPY_EOL_NL;
			s->line_end = cpos;
			s->next = p;
			return SCAN_LINE;
		}

		/* "\." ends the data; in CSV only alone on a line, as "\." is a valid CSV value */
		if (c == '\\' && (!is_csv || first_char)) {
			NEED(p);
			if (p >= len) {
				/* backslash just before EOF: data */
				s->line_end = s->next = len;
				return SCAN_EOF;
			}
			if (b[p] == '.') {
				bool is_marker = true;
				p++;
				char c2;
				if (s->eol == COPY_EOL_CRNL) {
					NEED(p);
					c2 = AT(p);
					p++;
					if (c2 == '\n') {
						if (!is_csv)
							return marker_error(
							    err, "end-of-copy marker does not match previous newline style");
						is_marker = false;
					} else if (c2 != '\r') {
						if (!is_csv)
							return marker_error(err, "end-of-copy marker corrupt");
						is_marker = false;
					}
				}
				if (is_marker) {
					NEED(p);
					c2 = AT(p);
					p++;
					if (c2 != '\r' && c2 != '\n') {
						if (!is_csv)
							return marker_error(err, "end-of-copy marker corrupt");
						is_marker = false;
					}
				}
				if (is_marker) {
					if ((s->eol == COPY_EOL_NL && c2 != '\n') ||
					    (s->eol == COPY_EOL_CRNL && c2 != '\n') ||
					    (s->eol == COPY_EOL_CR && c2 != '\r'))
						return marker_error(
						    err, "end-of-copy marker does not match previous newline style");
					s->line_end = cpos;
					s->next = p;
					s->mark_eol = c2;
					return SCAN_MARK;
				}
				p = cpos + 1; /* CSV: not the marker, the backslash is data */
			} else if (!is_csv) {
				p++; /* text: the byte after a backslash is never special */
			}
		}
		first_char = false;
		cpos = p - 1; /* the loop's cpos++ moves to p */
	}
#undef NEED
#undef AT
}

/* key_space: keybuf with room for n bytes plus NUL */
static char *
key_space(CopySplitter *s, size_t n)
{
	grow(&s->keybuf, &s->keycap, n + 1);
	return s->keybuf;
}

/* decode_text: CopyReadAttributesText's de-escaping of raw field [p, e) into keybuf */
static size_t
decode_text(CopySplitter *s, const char *p, const char *e)
{
	char *out = key_space(s, (size_t)(e - p));
	size_t n = copy_text_decode(p, (size_t)(e - p), out);
	out[n] = '\0';
	return n;
}

/*
 * split_text counts the fields of text line [p, e) (CopyReadAttributesText)
 * and sets the key (decoded, or NULL when the raw field is the NULL string).
 */
static int
split_text(CopySplitter *s, const char *p, const char *e, size_t *key_len, bool *key_is_null)
{
	const char delim = s->o.delimiter;
	int fieldno = 0;
	for (;;) {
		const char *fstart = p;
		bool found_delim = false;
		while (p < e) {
			char c = *p++;
			if (c == delim) {
				found_delim = true;
				break;
			}
			if (c == '\\') {
				if (p >= e)
					break;
				p++;
			}
		}
		const char *fend = found_delim ? p - 1 : p;
		if (fieldno == s->o.key_column) {
			if ((size_t)(fend - fstart) == s->null_len &&
			    memcmp(fstart, s->null_string, s->null_len) == 0) {
				*key_is_null = true;
				*key_len = 0;
			} else {
				*key_is_null = false;
				*key_len = decode_text(s, fstart, fend);
			}
		}
		fieldno++;
		if (!found_delim)
			return fieldno;
	}
}

/*
 * split_csv counts the fields of CSV line [p, e) (CopyReadAttributesCSV) and
 * sets the key (quotes removed; NULL only when unquoted and equal to the NULL
 * string, then FORCE_NULL / FORCE_NOT_NULL). Returns -1 with err filled for
 * an unterminated quoted field.
 */
static int
split_csv(CopySplitter *s, const char *p, const char *e, size_t *key_len, bool *key_is_null,
          SgError *err)
{
	const char delim = s->o.delimiter, quotec = s->o.quote, escapec = s->o.escape;
	int fieldno = 0;
	for (;;) {
		const bool is_key = fieldno == s->o.key_column;
		char *out = is_key ? key_space(s, (size_t)(e - p)) : NULL;
		size_t n = 0;
		const char *fstart = p, *fend = p;
		bool found_delim = false, saw_quote = false;
		for (;;) {
			/* not in quote */
			for (;;) {
				fend = p;
				if (p >= e)
					goto endfield;
				char c = *p++;
				if (c == delim) {
					found_delim = true;
					goto endfield;
				}
				if (c == quotec) {
					saw_quote = true;
					break;
				}
				if (out != NULL)
					out[n++] = c;
			}
			/* in quote */
			for (;;) {
				fend = p;
				if (p >= e) {
					sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT,
					             "unterminated CSV quoted field");
					return -1;
				}
				char c = *p++;
				if (c == escapec && p < e && (*p == escapec || *p == quotec)) {
					if (out != NULL)
						out[n++] = *p;
					p++;
					continue;
				}
				if (c == quotec)
					break;
				if (out != NULL)
					out[n++] = c;
			}
		}
	endfield:
		if (is_key) {
			out[n] = '\0';
			bool is_null = !saw_quote && (size_t)(fend - fstart) == s->null_len &&
			               memcmp(fstart, s->null_string, s->null_len) == 0;
			if (is_null && s->o.key_force_not_null) {
				is_null = false; /* FORCE_NOT_NULL: the NULL string as a value */
				out = key_space(s, s->null_len);
				memcpy(out, s->null_string, s->null_len + 1);
				n = s->null_len;
			} else if (!is_null && s->o.key_force_null && n == s->null_len &&
			           memcmp(out, s->null_string, n) == 0) {
				is_null = true; /* FORCE_NULL: a quoted NULL string is NULL too */
			}
			*key_is_null = is_null;
			*key_len = is_null ? 0 : n;
		}
		fieldno++;
		if (!found_delim)
			return fieldno;
	}
}

/* check_count: PostgreSQL's column count checks for a parsed text/csv line */
static bool
check_count(CopySplitter *s, int nfields, size_t line_len, SgError *err)
{
	if (s->o.ncolumns == 0) {
		if (line_len != 0)
			return sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT,
			                    "extra data after last expected column");
		return true;
	}
	if (nfields > s->o.ncolumns)
		return sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT,
		                    "extra data after last expected column");
	if (nfields < s->o.ncolumns) {
		if (s->o.column_names != NULL)
			return sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT,
			                    "missing data for column \"%s\"", s->o.column_names[nfields]);
		return sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "missing data for column %d",
		                    nfields + 1);
	}
	return true;
}

/* next_line_reset: the scan state for the line that begins at next */
static void
next_line_reset(CopySplitter *s)
{
	s->start = s->next;
	s->scan_off = 0;
	s->in_quote = false;
	s->last_was_esc = false;
	s->first_char = true;
}

static CopyNext
next_text(CopySplitter *s, const char **row, size_t *row_len, const char **key, size_t *key_len,
          bool *key_is_null, SgError *err)
{
	for (;;) {
		if (s->end_queued) {
			s->state = COPY_ST_END;
			return COPYIN_END;
		}
		ScanResult r = scan_line(s, err);
		switch (r) {
		case SCAN_ERROR:
			return fail(s, err);
		case SCAN_MORE:
			if (s->len - s->start > s->o.max_row_bytes)
				return fail_too_long(s, err);
			return COPYIN_NEED_MORE;
		case SCAN_LINE:
		case SCAN_MARK:
		case SCAN_EOF:
			break;
		}
		if (s->next - s->start > s->o.max_row_bytes)
			return fail_too_long(s, err);
		if (s->header_pending) {
			s->header_pending = false;
			if (r != SCAN_LINE) {
				s->state = COPY_ST_END; /* the header line ended the data */
				return COPYIN_END;
			}
			next_line_reset(s);
			continue;
		}
		if (r != SCAN_LINE && s->line_end == s->start) {
			s->state = COPY_ST_END; /* "\." alone, or EOF at the start of a line */
			return COPYIN_END;
		}

		const char *lp = s->buf + s->start, *le = s->buf + s->line_end;
		int nfields;
		*key_is_null = true;
		*key_len = 0;
		if (s->o.format == COPY_FMT_CSV)
			nfields = split_csv(s, lp, le, key_len, key_is_null, err);
		else
			nfields = split_text(s, lp, le, key_len, key_is_null);
		if (nfields < 0 || !check_count(s, nfields, (size_t)(le - lp), err))
			return fail(s, err);
		*key = *key_is_null ? NULL : s->keybuf;
		if (*key_is_null)
			*key_len = 0;

		if (r == SCAN_MARK) {
			/* data before "\." on the same line: a row; give it the stream's line end */
			size_t n = s->line_end - s->start;
			const char *eol = s->eol == COPY_EOL_CRNL ? "\r\n"
			                  : s->eol == COPY_EOL_CR ? "\r"
			                  : s->eol == COPY_EOL_NL ? "\n"
			                  : s->mark_eol == '\r'   ? "\r"
			                                          : "\n";
			size_t el = strlen(eol);
			grow(&s->rowbuf, &s->rowcap, n + el);
			memcpy(s->rowbuf, lp, n);
			memcpy(s->rowbuf + n, eol, el);
			*row = s->rowbuf;
			*row_len = n + el;
			s->end_queued = true;
		} else {
			*row = lp;
			*row_len = s->next - s->start;
			if (r == SCAN_EOF)
				s->end_queued = true;
		}
		next_line_reset(s);
		s->rows++;
		return COPYIN_ROW;
	}
}

/* ------------------------------------------------------------------ binary */

static uint32_t
get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3];
}

/* binary_header consumes the file header (ReceiveCopyBinaryHeader); COPYIN_ROW = done */
static CopyNext
binary_header(CopySplitter *s, SgError *err)
{
	for (;;) {
		size_t avail = s->len - s->start;
		const char *p = s->buf + s->start;
		switch (s->hdr_part) {
		case 0: {
			size_t n = avail < 11 ? avail : 11;
			if (memcmp(p, copyin_signature, n) != 0 || (n < 11 && s->at_eof))
				return fail_format(s, err, "COPY file signature not recognized");
			if (n < 11)
				return COPYIN_NEED_MORE;
			s->start += 11;
			s->hdr_part = 1;
			break;
		}
		case 1: {
			if (avail < 4) {
				if (s->at_eof)
					return fail_format(s, err, "invalid COPY file header (missing flags)");
				return COPYIN_NEED_MORE;
			}
			int32_t flags = (int32_t)get_u32(p);
			if ((flags & (1 << 16)) != 0)
				return fail_format(s, err, "invalid COPY file header (WITH OIDS)");
			flags &= ~(1 << 16);
			if ((flags >> 16) != 0)
				return fail_format(s, err, "unrecognized critical flags in COPY file header");
			s->start += 4;
			s->hdr_part = 2;
			break;
		}
		case 2: {
			if (avail < 4) {
				if (s->at_eof)
					return fail_format(s, err, "invalid COPY file header (missing length)");
				return COPYIN_NEED_MORE;
			}
			int32_t ext = (int32_t)get_u32(p);
			if (ext < 0)
				return fail_format(s, err, "invalid COPY file header (missing length)");
			s->start += 4;
			s->hdr_skip = (size_t)ext;
			s->hdr_part = 3;
			break;
		}
		case 3: {
			size_t n = avail < s->hdr_skip ? avail : s->hdr_skip;
			s->start += n; /* the extension is skipped, never buffered whole */
			s->hdr_skip -= n;
			if (s->hdr_skip > 0) {
				if (s->at_eof)
					return fail_format(s, err, "invalid COPY file header (wrong length)");
				return COPYIN_NEED_MORE;
			}
			s->state = COPY_ST_ROWS;
			return COPYIN_ROW;
		}
		default:
			SG_UNREACHABLE();
		}
	}
}

static CopyNext
next_binary(CopySplitter *s, const char **row, size_t *row_len, const char **key, size_t *key_len,
            bool *key_is_null, SgError *err)
{
	if (s->state == COPY_ST_HEADER) {
		CopyNext r = binary_header(s, err);
		if (r != COPYIN_ROW)
			return r;
	}
	if (s->state == COPY_ST_TRAILER) {
		if (s->len > s->start || s->trailer_extra)
			return fail_format(s, err, "received copy data after EOF marker");
		if (!s->at_eof)
			return COPYIN_NEED_MORE;
		s->state = COPY_ST_END;
		return COPYIN_END;
	}

	const char *t = s->buf + s->start;
	size_t avail = s->len - s->start;
	if (s->bin_off == 0) {
		if (avail < 2) {
			if (s->at_eof) {
				s->state = COPY_ST_END; /* EOF (even inside the count) ends the data */
				return COPYIN_END;
			}
			return COPYIN_NEED_MORE;
		}
		int16_t count = (int16_t)(((unsigned char)t[0] << 8) | (unsigned char)t[1]);
		if (count == -1) {
			s->start += 2;
			s->state = COPY_ST_TRAILER;
			return next_binary(s, row, row_len, key, key_len, key_is_null, err);
		}
		if (count != s->o.ncolumns) {
			sg_error_set(err, SQLSTATE_BAD_COPY_FILE_FORMAT, "row field count is %d, expected %d",
			             (int)count, s->o.ncolumns);
			return fail(s, err);
		}
		s->bin_off = 2;
		s->bin_field = 0;
		s->bin_key_null = true;
		s->bin_key_len = 0;
	}
	while (s->bin_field < s->o.ncolumns) {
		if (avail - s->bin_off < 4) {
			if (s->at_eof)
				return fail_format(s, err, "unexpected EOF in COPY data");
			return COPYIN_NEED_MORE;
		}
		int32_t fsize = (int32_t)get_u32(t + s->bin_off);
		if (fsize < -1)
			return fail_format(s, err, "invalid field size");
		size_t flen = fsize < 0 ? 0 : (size_t)fsize;
		if (s->bin_off + 4 + flen > s->o.max_row_bytes)
			return fail_too_long(s, err); /* before buffering the field */
		if (avail - s->bin_off - 4 < flen) {
			if (s->at_eof)
				return fail_format(s, err, "unexpected EOF in COPY data");
			return COPYIN_NEED_MORE;
		}
		if (s->bin_field == s->o.key_column) {
			s->bin_key_null = fsize < 0;
			s->bin_key_off = s->bin_off + 4;
			s->bin_key_len = flen;
		}
		s->bin_off += 4 + flen;
		s->bin_field++;
	}

	*row = t;
	*row_len = s->bin_off;
	*key_is_null = s->bin_key_null;
	if (s->bin_key_null) {
		*key = NULL;
		*key_len = 0;
	} else {
		char *k = key_space(s, s->bin_key_len);
		memcpy(k, t + s->bin_key_off, s->bin_key_len);
		k[s->bin_key_len] = '\0';
		*key = k;
		*key_len = s->bin_key_len;
	}
	s->start += s->bin_off;
	s->bin_off = 0;
	s->rows++;
	return COPYIN_ROW;
}

/* ------------------------------------------------------------------ next */

CopyNext
copyin_next(CopySplitter *s, const char **row, size_t *row_len, const char **key, size_t *key_len,
            bool *key_is_null, SgError *err)
{
	*row = NULL;
	*row_len = 0;
	*key = NULL;
	*key_len = 0;
	*key_is_null = true;
	switch (s->state) {
	case COPY_ST_ERROR:
		*err = s->saved;
		return COPYIN_ERROR;
	case COPY_ST_END:
		return COPYIN_END;
	case COPY_ST_HEADER:
	case COPY_ST_ROWS:
	case COPY_ST_TRAILER:
		break;
	}
	CopyNext r;
	if (s->o.format == COPY_FMT_BINARY)
		r = next_binary(s, row, row_len, key, key_len, key_is_null, err);
	else
		r = next_text(s, row, row_len, key, key_len, key_is_null, err);
	if (r != COPYIN_ROW) {
		*row = NULL;
		*row_len = 0;
		*key = NULL;
		*key_len = 0;
		*key_is_null = true;
	}
	return r;
}
