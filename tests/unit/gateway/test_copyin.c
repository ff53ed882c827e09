/*
 * test_copyin.c: the COPY FROM STDIN row splitter (gateway/copyin.c).
 *
 * One table of cases {options, input bytes, expected rows (raw bytes and
 * key), expected end (END or SQLSTATE + message)}. Each case runs with the
 * input fed in one piece, one byte at a time, and cut in two at every byte
 * boundary: all must give the same rows and the same end.
 *
 * The expected outcomes were checked against PostgreSQL 15.18: with
 * COPYIN_DUMP=<dir> set, the program also writes, per case, the input
 * (<name>.dat), the COPY options (cases.txt), the expected outcome
 * (expected.txt: "name OK n key-hex..." or "name ERR sqlstate message") and
 * the splitter's rows dealt alternately to two shard streams (<name>.s0,
 * <name>.s1, binary ones behind copyin_binary_header()). Replaying each .dat
 * with COPY t FROM STDIN (PQputCopyData, bytes unchanged) into a table of
 * ncolumns text (binary: bytea) columns gave exactly expected.txt, and each
 * pair of shard streams loaded (without HEADER) to the same rows. Cases
 * marked gateway_only (limits, NUL bytes, unnamed columns) are not dumped.
 */
#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gateway/copyin.h"

void sg_register_tests(void);

/* ------------------------------------------------------------------ cases */

typedef struct ExpRow {
	const char *raw;
	size_t raw_len;  /* 0: strlen(raw) */
	const char *key; /* NULL: SQL NULL */
	size_t key_len;  /* 0: strlen(key) */
} ExpRow;

typedef struct Case {
	const char *name;
	CopyFormat fmt;
	int ncolumns, key_column;
	bool header;
	char delimiter, quote, escape; /* 0: default */
	const char *null_string;       /* NULL: default */
	bool force_null, force_not_null;
	bool no_names;     /* no column names: "missing data for column %d" */
	size_t max_row;    /* 0: default */
	bool gateway_only; /* not comparable with PostgreSQL (limits, names) */
	const char *in;
	size_t in_len;
	ExpRow rows[6];
	const char *sqlstate; /* NULL: ends with COPYIN_END */
	const char *message;
} Case;

#define IN(x) .in = (x), .in_len = sizeof(x) - 1
#define BR(x) (x), sizeof(x) - 1
#define HDR                                                                                        \
	"PGCOPY\n\377\r\n\0"                                                                           \
	"\0\0\0\0"                                                                                     \
	"\0\0\0\0"
#define BAD "22P04"

static const Case cases[] = {
    /* ---- text */
    {"text_basic", COPY_FMT_TEXT, 2, 0, IN("1\ta\n2\tb\n"),
     .rows = {{"1\ta\n", 0, "1"}, {"2\tb\n", 0, "2"}}},
    {"text_escapes", COPY_FMT_TEXT, 2, 1,
     IN("x\t\\t\\n\\\\\\101\\x41\\xg\\q\\x4g\\1018\\b\\f\\v\\r\n"),
     .rows = {{"x\t\\t\\n\\\\\\101\\x41\\xg\\q\\x4g\\1018\\b\\f\\v\\r\n", 0,
               "\t\n\\AAxgq\4gA8\b\f\v\r"}}},
    /* NUL bytes: PostgreSQL then rejects the value (encoding), the shard will say so */
    {"text_escapes_nul", COPY_FMT_TEXT, 2, 1, .gateway_only = true, IN("x\t\\0\\08\\x0\n"),
     .rows = {{"x\t\\0\\08\\x0\n", 0,
               "\0\0"
               "8\0",
               4}}},
    {"text_null", COPY_FMT_TEXT, 2, 0, IN("\\N\t1\n\\\\N\t2\n\\N2\t3\n"),
     .rows = {{"\\N\t1\n", 0, NULL}, {"\\\\N\t2\n", 0, "\\N"}, {"\\N2\t3\n", 0, "N2"}}},
    {"text_marker", COPY_FMT_TEXT, 2, 0, IN("1\ta\n\\.\nignored\tgarbage\n\\x\n"),
     .rows = {{"1\ta\n", 0, "1"}}},
    {"text_marker_midline", COPY_FMT_TEXT, 2, 1, IN("1\ta\n2\tb\\.\nrest"),
     .rows = {{"1\ta\n", 0, "a"}, {"2\tb\n", 0, "b"}}},
    {"text_marker_midline_crlf", COPY_FMT_TEXT, 2, 1, IN("1\ta\r\n2\tb\\.\r\n"),
     .rows = {{"1\ta\r\n", 0, "a"}, {"2\tb\r\n", 0, "b"}}},
    {"text_marker_first_line", COPY_FMT_TEXT, 2, 1, IN("2\tb\\.\r"), .rows = {{"2\tb\r", 0, "b"}}},
    {"text_escaped_backslash_not_marker", COPY_FMT_TEXT, 2, 1, IN("1\ta\\\\.\n"),
     .rows = {{"1\ta\\\\.\n", 0, "a\\."}}},
    {"text_marker_at_eof", COPY_FMT_TEXT, 2, 0, IN("1\ta\n\\."), .rows = {{"1\ta\n", 0, "1"}},
     .sqlstate = BAD, .message = "end-of-copy marker corrupt"},
    {"text_marker_corrupt", COPY_FMT_TEXT, 2, 0, IN("\\.x\n"), .sqlstate = BAD,
     .message = "end-of-copy marker corrupt"},
    {"text_marker_style_nl_cr", COPY_FMT_TEXT, 2, 0, IN("1\ta\n\\.\r\n"),
     .rows = {{"1\ta\n", 0, "1"}}, .sqlstate = BAD,
     .message = "end-of-copy marker does not match previous newline style"},
    {"text_marker_style_crlf_nl", COPY_FMT_TEXT, 2, 0, IN("1\ta\r\n\\.\n"),
     .rows = {{"1\ta\r\n", 0, "1"}}, .sqlstate = BAD,
     .message = "end-of-copy marker does not match previous newline style"},
    {"text_marker_style_cr_nl", COPY_FMT_TEXT, 2, 0, IN("1\ta\r\\.\n"),
     .rows = {{"1\ta\r", 0, "1"}}, .sqlstate = BAD,
     .message = "end-of-copy marker does not match previous newline style"},
    {"text_crlf", COPY_FMT_TEXT, 2, 0, IN("1\ta\r\n2\tb\r\n\\.\r\n"),
     .rows = {{"1\ta\r\n", 0, "1"}, {"2\tb\r\n", 0, "2"}}},
    {"text_cr", COPY_FMT_TEXT, 2, 0, IN("1\ta\r2\tb\r"),
     .rows = {{"1\ta\r", 0, "1"}, {"2\tb\r", 0, "2"}}},
    {"text_lf_then_crlf", COPY_FMT_TEXT, 2, 0, IN("1\ta\n2\tb\r\n"), .rows = {{"1\ta\n", 0, "1"}},
     .sqlstate = BAD, .message = "literal carriage return found in data"},
    {"text_crlf_then_lf", COPY_FMT_TEXT, 2, 0, IN("1\ta\r\n2\tb\n"), .rows = {{"1\ta\r\n", 0, "1"}},
     .sqlstate = BAD, .message = "literal newline found in data"},
    {"text_cr_then_lf", COPY_FMT_TEXT, 2, 0, IN("1\ta\r2\tb\n"), .rows = {{"1\ta\r", 0, "1"}},
     .sqlstate = BAD, .message = "literal newline found in data"},
    {"text_crlf_then_cr", COPY_FMT_TEXT, 2, 0, IN("1\ta\r\n2\tb\r3\tc\r\n"),
     .rows = {{"1\ta\r\n", 0, "1"}}, .sqlstate = BAD,
     .message = "literal carriage return found in data"},
    {"text_cr_at_eof", COPY_FMT_TEXT, 2, 0, IN("1\ta\r"), .rows = {{"1\ta\r", 0, "1"}}},
    {"text_escaped_cr_lf", COPY_FMT_TEXT, 2, 1, IN("1\ta\\\rb\\\nc\n"),
     .rows = {{"1\ta\\\rb\\\nc\n", 0, "a\rb\nc"}}},
    {"text_partial_last", COPY_FMT_TEXT, 2, 0, IN("1\ta\n2\tb"),
     .rows = {{"1\ta\n", 0, "1"}, {"2\tb", 0, "2"}}},
    {"text_backslash_at_eof", COPY_FMT_TEXT, 2, 1, IN("1\tab\\"), .rows = {{"1\tab\\", 0, "ab"}}},
    {"text_extra", COPY_FMT_TEXT, 2, 0, IN("1\ta\n1\ta\tb\n"), .rows = {{"1\ta\n", 0, "1"}},
     .sqlstate = BAD, .message = "extra data after last expected column"},
    {"text_missing", COPY_FMT_TEXT, 2, 0, IN("1\n"), .sqlstate = BAD,
     .message = "missing data for column \"c2\""},
    {"text_missing_no_names", COPY_FMT_TEXT, 3, 0, .no_names = true, .gateway_only = true,
     IN("1\t2\n"), .sqlstate = BAD, .message = "missing data for column 3"},
    {"text_escaped_delimiter", COPY_FMT_TEXT, 2, 0, IN("1\\\ta\tb\n"),
     .rows = {{"1\\\ta\tb\n", 0, "1\ta"}}},
    {"text_header", COPY_FMT_TEXT, 2, 0, .header = true, IN("h1\th2\n1\ta\n"),
     .rows = {{"1\ta\n", 0, "1"}}},
    {"text_header_marker", COPY_FMT_TEXT, 2, 0, .header = true, IN("\\.\n1\ta\n")},
    {"text_header_only", COPY_FMT_TEXT, 2, 0, .header = true, IN("h1\th2")},
    {"text_empty", COPY_FMT_TEXT, 2, 0, IN("")},
    {"text_empty_line_is_row", COPY_FMT_TEXT, 1, 0, IN("\n\n"),
     .rows = {{"\n", 0, ""}, {"\n", 0, ""}}},
    {"text_delim_null", COPY_FMT_TEXT, 2, 0, .delimiter = '|', .null_string = "NULL",
     IN("NULL|x\n\\N|y\n"), .rows = {{"NULL|x\n", 0, NULL}, {"\\N|y\n", 0, "N"}}},
    {"text_zero_columns", COPY_FMT_TEXT, 0, -1, IN("\n\nx\n"),
     .rows = {{"\n", 0, NULL}, {"\n", 0, NULL}}, .sqlstate = BAD,
     .message = "extra data after last expected column"},
    {"text_row_limit", COPY_FMT_TEXT, 2, 0, .max_row = 8, .gateway_only = true,
     IN("1\ta\n12\t456789\n"), .rows = {{"1\ta\n", 0, "1"}}, .sqlstate = "54000",
     .message = "COPY row is longer than 8 bytes"},
    {"text_row_limit_exact", COPY_FMT_TEXT, 2, 0, .max_row = 8, .gateway_only = true,
     IN("12\t4567\n"), .rows = {{"12\t4567\n", 0, "12"}}},

    /* ---- csv */
    {"csv_basic", COPY_FMT_CSV, 2, 0, IN("1,a\n2,b\n"),
     .rows = {{"1,a\n", 0, "1"}, {"2,b\n", 0, "2"}}},
    {"csv_quoted", COPY_FMT_CSV, 2, 0, IN("\"1,x\",\"a\"\"b\"\n"),
     .rows = {{"\"1,x\",\"a\"\"b\"\n", 0, "1,x"}}},
    {"csv_quoted_key1", COPY_FMT_CSV, 2, 1, IN("\"1,x\",\"a\"\"b\"\n"),
     .rows = {{"\"1,x\",\"a\"\"b\"\n", 0, "a\"b"}}},
    {"csv_multiline", COPY_FMT_CSV, 2, 1, IN("1,\"l1\nl2\r\nl3\"\n2,b\n"),
     .rows = {{"1,\"l1\nl2\r\nl3\"\n", 0, "l1\nl2\r\nl3"}, {"2,b\n", 0, "b"}}},
    {"csv_null", COPY_FMT_CSV, 2, 0, IN(",a\n\"\",b\n"),
     .rows = {{",a\n", 0, NULL}, {"\"\",b\n", 0, ""}}},
    {"csv_null_custom", COPY_FMT_CSV, 2, 0, .null_string = "N", IN("N,a\n\"N\",b\n,c\n"),
     .rows = {{"N,a\n", 0, NULL}, {"\"N\",b\n", 0, "N"}, {",c\n", 0, ""}}},
    {"csv_force_null", COPY_FMT_CSV, 2, 0, .force_null = true, IN("\"\",a\nx,b\n"),
     .rows = {{"\"\",a\n", 0, NULL}, {"x,b\n", 0, "x"}}},
    {"csv_force_not_null", COPY_FMT_CSV, 2, 0, .force_not_null = true, IN(",a\n"),
     .rows = {{",a\n", 0, ""}}},
    {"csv_escape", COPY_FMT_CSV, 2, 0, .escape = '\\',
     IN("\"a\\\"b\",c\n\"a\\\\b\",c\n\"a\\b\",c\n"),
     .rows = {{"\"a\\\"b\",c\n", 0, "a\"b"},
              {"\"a\\\\b\",c\n", 0, "a\\b"},
              {"\"a\\b\",c\n", 0, "a\\b"}}},
    {"csv_escape_quote_in_multiline", COPY_FMT_CSV, 2, 0, .escape = '\\', IN("\"a\\\"\nb\",c\n"),
     .rows = {{"\"a\\\"\nb\",c\n", 0, "a\"\nb"}}},
    {"csv_marker", COPY_FMT_CSV, 2, 0, IN("1,a\n\\.\nignored\n"), .rows = {{"1,a\n", 0, "1"}}},
    {"csv_marker_not_alone", COPY_FMT_CSV, 2, 0, IN("\\.,x\n"), .rows = {{"\\.,x\n", 0, "\\."}}},
    {"csv_backslash_is_data", COPY_FMT_CSV, 2, 1, IN("1,a\\.\n2,\\\n"),
     .rows = {{"1,a\\.\n", 0, "a\\."}, {"2,\\\n", 0, "\\"}}},
    {"csv_marker_at_eof_is_data", COPY_FMT_CSV, 1, 0, IN("1\n\\."),
     .rows = {{"1\n", 0, "1"}, {"\\.", 0, "\\."}}},
    {"csv_marker_in_quotes", COPY_FMT_CSV, 1, 0, IN("\"x\n\\.\n\"\n"),
     .rows = {{"\"x\n\\.\n\"\n", 0, "x\n\\.\n"}}},
    {"csv_unterminated", COPY_FMT_CSV, 2, 0, IN("1,a\n1,\"abc\n"), .rows = {{"1,a\n", 0, "1"}},
     .sqlstate = BAD, .message = "unterminated CSV quoted field"},
    {"csv_header", COPY_FMT_CSV, 2, 0, .header = true, IN("a,\"b\nc\"\n1,x\n"),
     .rows = {{"1,x\n", 0, "1"}}},
    {"csv_crlf", COPY_FMT_CSV, 2, 0, IN("1,a\r\n2,b\r\n\\.\r\n"),
     .rows = {{"1,a\r\n", 0, "1"}, {"2,b\r\n", 0, "2"}}},
    {"csv_lf_then_crlf", COPY_FMT_CSV, 2, 0, IN("1,a\n2,b\r\n"), .rows = {{"1,a\n", 0, "1"}},
     .sqlstate = BAD, .message = "unquoted carriage return found in data"},
    {"csv_crlf_then_lf", COPY_FMT_CSV, 2, 0, IN("1,a\r\n2,b\n"), .rows = {{"1,a\r\n", 0, "1"}},
     .sqlstate = BAD, .message = "unquoted newline found in data"},
    {"csv_crlf_marker_lf", COPY_FMT_CSV, 2, 0, IN("1,a\r\n\\.\n"), .rows = {{"1,a\r\n", 0, "1"}},
     .sqlstate = BAD, .message = "unquoted newline found in data"},
    {"csv_marker_style", COPY_FMT_CSV, 2, 0, IN("1,a\n\\.\r\n"), .rows = {{"1,a\n", 0, "1"}},
     .sqlstate = BAD, .message = "end-of-copy marker does not match previous newline style"},
    {"csv_custom_quote_delim", COPY_FMT_CSV, 2, 0, .quote = '\'', .escape = '\'', .delimiter = ';',
     IN("'a;b''c';d\n"), .rows = {{"'a;b''c';d\n", 0, "a;b'c"}}},
    {"csv_quote_mid_field", COPY_FMT_CSV, 2, 0, IN("a\"b,\"c,d\n"),
     .rows = {{"a\"b,\"c,d\n", 0, "ab,c"}}},
    {"csv_extra", COPY_FMT_CSV, 2, 0, IN("1,2,3\n"), .sqlstate = BAD,
     .message = "extra data after last expected column"},
    {"csv_missing", COPY_FMT_CSV, 3, 0, IN("1,2\n"), .sqlstate = BAD,
     .message = "missing data for column \"c3\""},
    {"csv_partial_last_quoted", COPY_FMT_CSV, 2, 1, IN("1,\"a\nb\""),
     .rows = {{"1,\"a\nb\"", 0, "a\nb"}}},

    {"csv_crlf_multiline", COPY_FMT_CSV, 2, 1, IN("1,\"a\r\nb\rc\nd\"\r\n2,c\r\n"),
     .rows = {{"1,\"a\r\nb\rc\nd\"\r\n", 0, "a\r\nb\rc\nd"}, {"2,c\r\n", 0, "c"}}},
    {"csv_header_decides_eol", COPY_FMT_CSV, 2, 0, .header = true, IN("h1,h2\r\n1,a\n"),
     .sqlstate = BAD, .message = "unquoted newline found in data"},
    {"csv_cr_marker", COPY_FMT_CSV, 2, 0, IN("1,a\r\\.\rjunk"), .rows = {{"1,a\r", 0, "1"}}},
    {"csv_escape_outside_quotes", COPY_FMT_CSV, 1, 0, .escape = '\\', IN("a\\\"b,c\"\n"),
     .rows = {{"a\\\"b,c\"\n", 0, "a\\b,c"}}},
    {"csv_doubled_quote_other_escape", COPY_FMT_CSV, 1, 0, .escape = '\\', IN("\"a\"\"b\"\n"),
     .rows = {{"\"a\"\"b\"\n", 0, "ab"}}},
    {"csv_many_fields_key_last", COPY_FMT_CSV, 5, 4, IN(",\"\",x,\"y,z\",\"k\"\"\"\n"),
     .rows = {{",\"\",x,\"y,z\",\"k\"\"\"\n", 0, "k\""}}},
    {"text_many_fields_key_last", COPY_FMT_TEXT, 5, 4, IN("\\N\t\t\\\t\tx\tk\\\\\n"),
     .rows = {{"\\N\t\t\\\t\tx\tk\\\\\n", 0, "k\\"}}},
    {"text_header_crlf_then_rows", COPY_FMT_TEXT, 2, 1, .header = true,
     IN("a\tb\r\n1\tx\r\n\\.\r\n"), .rows = {{"1\tx\r\n", 0, "x"}}},

    /* ---- binary */
    {"bin_basic", COPY_FMT_BINARY, 2, 0,
     IN(HDR "\0\2"
            "\0\0\0\1"
            "1"
            "\0\0\0\1"
            "a"
            "\0\2"
            "\0\0\0\1"
            "2"
            "\377\377\377\377"
            "\377\377"),
     .rows = {{BR("\0\2"
                  "\0\0\0\1"
                  "1"
                  "\0\0\0\1"
                  "a"),
               "1"},
              {BR("\0\2"
                  "\0\0\0\1"
                  "2"
                  "\377\377\377\377"),
               "2"}}},
    {"bin_null_key", COPY_FMT_BINARY, 2, 1,
     IN(HDR "\0\2"
            "\0\0\0\1"
            "2"
            "\377\377\377\377"
            "\377\377"),
     .rows = {{BR("\0\2"
                  "\0\0\0\1"
                  "2"
                  "\377\377\377\377"),
               NULL}}},
    {"bin_key_bytes", COPY_FMT_BINARY, 1, 0,
     IN(HDR "\0\1"
            "\0\0\0\3"
            "a\0b"
            "\0\1"
            "\0\0\0\0"),
     .rows = {{BR("\0\1"
                  "\0\0\0\3"
                  "a\0b"),
               "a\0b", 3},
              {BR("\0\1"
                  "\0\0\0\0"),
               ""}}},
    {"bin_extension", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0\0\1"
        "\0\0\0\3"
        "xyz"
        "\0\1"
        "\0\0\0\1"
        "k"),
     .rows = {{BR("\0\1"
                  "\0\0\0\1"
                  "k"),
               "k"}}},
    {"bin_bad_signature", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPX\n\377\r\n\0"
        "\0\0\0\0"
        "\0\0\0\0"),
     .sqlstate = BAD, .message = "COPY file signature not recognized"},
    {"bin_empty", COPY_FMT_BINARY, 1, 0, IN(""), .sqlstate = BAD,
     .message = "COPY file signature not recognized"},
    {"bin_short_signature", COPY_FMT_BINARY, 1, 0, IN("PGCOPY\n"), .sqlstate = BAD,
     .message = "COPY file signature not recognized"},
    {"bin_missing_flags", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0"),
     .sqlstate = BAD, .message = "invalid COPY file header (missing flags)"},
    {"bin_oids", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\1\0\0"
        "\0\0\0\0"),
     .sqlstate = BAD, .message = "invalid COPY file header (WITH OIDS)"},
    {"bin_critical_flags", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\2\0\0"
        "\0\0\0\0"),
     .sqlstate = BAD, .message = "unrecognized critical flags in COPY file header"},
    {"bin_noncritical_flags", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0\0\1"
        "\0\0\0\0"
        "\0\1"
        "\0\0\0\1"
        "k"
        "\377\377"),
     .rows = {{BR("\0\1"
                  "\0\0\0\1"
                  "k"),
               "k"}}},
    {"bin_missing_length", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0\0\0"
        "\0"),
     .sqlstate = BAD, .message = "invalid COPY file header (missing length)"},
    {"bin_negative_length", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0\0\0"
        "\377\377\377\376"),
     .sqlstate = BAD, .message = "invalid COPY file header (missing length)"},
    {"bin_wrong_length", COPY_FMT_BINARY, 1, 0,
     IN("PGCOPY\n\377\r\n\0"
        "\0\0\0\0"
        "\0\0\0\5"
        "ab"),
     .sqlstate = BAD, .message = "invalid COPY file header (wrong length)"},
    {"bin_field_count", COPY_FMT_BINARY, 2, 0,
     IN(HDR "\0\3"
            "\0\0\0\1"
            "1"),
     .sqlstate = BAD, .message = "row field count is 3, expected 2"},
    {"bin_field_count_negative", COPY_FMT_BINARY, 2, 0, IN(HDR "\377\376"), .sqlstate = BAD,
     .message = "row field count is -2, expected 2"},
    {"bin_truncated_tuple", COPY_FMT_BINARY, 2, 0,
     IN(HDR "\0\2"
            "\0\0\0\1"
            "1"
            "\0\0\0\5"
            "ab"),
     .sqlstate = BAD, .message = "unexpected EOF in COPY data"},
    {"bin_truncated_length", COPY_FMT_BINARY, 2, 0,
     IN(HDR "\0\2"
            "\0\0"),
     .sqlstate = BAD, .message = "unexpected EOF in COPY data"},
    {"bin_invalid_field_size", COPY_FMT_BINARY, 1, 0,
     IN(HDR "\0\1"
            "\377\377\377\376"),
     .sqlstate = BAD, .message = "invalid field size"},
    {"bin_no_trailer", COPY_FMT_BINARY, 1, 0,
     IN(HDR "\0\1"
            "\0\0\0\1"
            "k"),
     .rows = {{BR("\0\1"
                  "\0\0\0\1"
                  "k"),
               "k"}}},
    {"bin_half_count_at_eof", COPY_FMT_BINARY, 1, 0,
     IN(HDR "\0\1"
            "\0\0\0\1"
            "k"
            "\0"),
     .rows = {{BR("\0\1"
                  "\0\0\0\1"
                  "k"),
               "k"}}},
    {"bin_data_after_trailer", COPY_FMT_BINARY, 1, 0,
     IN(HDR "\0\1"
            "\0\0\0\1"
            "k"
            "\377\377"
            "x"),
     .rows = {{BR("\0\1"
                  "\0\0\0\1"
                  "k"),
               "k"}},
     .sqlstate = BAD, .message = "received copy data after EOF marker"},
    {"bin_row_limit", COPY_FMT_BINARY, 1, 0, .max_row = 10, .gateway_only = true,
     IN(HDR "\0\1"
            "\0\0\0\4"
            "abcd"
            "\0\1"
            "\0\0\0\5"
            "abcde"),
     .rows = {{BR("\0\1"
                  "\0\0\0\4"
                  "abcd"),
               "abcd"}},
     .sqlstate = "54000", .message = "COPY row is longer than 10 bytes"},
};

static const char *const column_names[] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};

/* ------------------------------------------------------------------ runner */

typedef struct GotRow {
	char *raw;
	size_t raw_len;
	char *key; /* NULL: SQL NULL */
	size_t key_len;
} GotRow;

typedef struct Outcome {
	GotRow rows[16];
	int nrows;
	bool is_error;
	SgError err;
} Outcome;

static void
outcome_free(Outcome *o)
{
	for (int i = 0; i < o->nrows; i++) {
		free(o->rows[i].raw);
		free(o->rows[i].key);
	}
	o->nrows = 0;
}

static char *
dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

static void
case_options(const Case *c, CopyOptions *o)
{
	copyin_options_default(o, c->fmt);
	o->ncolumns = c->ncolumns;
	o->key_column = c->key_column;
	o->header = c->header;
	if (c->delimiter)
		o->delimiter = c->delimiter;
	if (c->quote) {
		o->quote = c->quote;
		o->escape = c->quote;
	}
	if (c->escape)
		o->escape = c->escape;
	if (c->null_string)
		o->null_string = c->null_string;
	o->key_force_null = c->force_null;
	o->key_force_not_null = c->force_not_null;
	o->column_names = c->no_names ? NULL : column_names;
	if (c->max_row)
		o->max_row_bytes = c->max_row;
}

/* pull: copyin_next until it needs more; returns true once the stream is done (END/ERROR) */
static bool
pull(CopySplitter *s, Outcome *out, bool *done)
{
	for (;;) {
		const char *row, *key;
		size_t row_len, key_len;
		bool is_null;
		SgError err;
		sg_error_clear(&err);
		CopyNext r = copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err);
		switch (r) {
		case COPYIN_ROW:
			CU_ASSERT_FATAL(!*done);
			CU_ASSERT_FATAL(out->nrows < (int)SG_ARRAY_LEN(out->rows));
			CU_ASSERT(is_null == (key == NULL));
			CU_ASSERT(is_null || key[key_len] == '\0');
			out->rows[out->nrows].raw = dup_bytes(row, row_len);
			out->rows[out->nrows].raw_len = row_len;
			out->rows[out->nrows].key = is_null ? NULL : dup_bytes(key, key_len);
			out->rows[out->nrows].key_len = key_len;
			out->nrows++;
			break;
		case COPYIN_NEED_MORE:
			return false;
		case COPYIN_END:
			if (*done)
				CU_ASSERT(!out->is_error);
			*done = true;
			return true;
		case COPYIN_ERROR:
			CU_ASSERT(sg_error_is_set(&err));
			if (*done) {
				/* sticky: the same error again */
				CU_ASSERT(out->is_error);
				CU_ASSERT_STRING_EQUAL(err.message, out->err.message);
			}
			out->is_error = true;
			out->err = err;
			*done = true;
			return true;
		}
	}
}

/* run: feed c->in cut at the given offsets (sorted, in (0, len)), then finish */
static void
run(const Case *c, const size_t *cuts, int ncuts, Outcome *out)
{
	CopyOptions o;
	case_options(c, &o);
	memset(out, 0, sizeof(*out));
	CopySplitter *s = copyin_create(&o);
	bool done = false;
	size_t pos = 0;
	for (int i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : c->in_len;
		copyin_feed(s, c->in + pos, end - pos);
		pos = end;
		pull(s, out, &done);
		if (done)
			pull(s, out, &done); /* END and ERROR repeat */
	}
	copyin_finish(s);
	pull(s, out, &done);
	CU_ASSERT(done);
	pull(s, out, &done);
	copyin_destroy(s);
}

static bool
check(const Case *c, const Outcome *got, const char *how)
{
	bool ok = true;
	int nexp = 0;
	while (nexp < (int)SG_ARRAY_LEN(c->rows) && c->rows[nexp].raw != NULL)
		nexp++;
	if (got->nrows != nexp) {
		printf("\n%s (%s): %d rows, expected %d\n", c->name, how, got->nrows, nexp);
		ok = false;
	}
	for (int i = 0; i < got->nrows && i < nexp; i++) {
		const ExpRow *e = &c->rows[i];
		size_t rl = e->raw_len ? e->raw_len : strlen(e->raw);
		if (got->rows[i].raw_len != rl || memcmp(got->rows[i].raw, e->raw, rl) != 0) {
			printf("\n%s (%s): row %d raw bytes differ (got %zu bytes)\n", c->name, how, i,
			       got->rows[i].raw_len);
			ok = false;
		}
		if ((e->key == NULL) != (got->rows[i].key == NULL)) {
			printf("\n%s (%s): row %d key null-ness differs\n", c->name, how, i);
			ok = false;
		} else if (e->key != NULL) {
			size_t kl = e->key_len ? e->key_len : strlen(e->key);
			if (got->rows[i].key_len != kl || memcmp(got->rows[i].key, e->key, kl) != 0) {
				printf("\n%s (%s): row %d key \"%s\", expected \"%s\"\n", c->name, how, i,
				       got->rows[i].key, e->key);
				ok = false;
			}
		}
	}
	if (c->sqlstate == NULL && got->is_error) {
		printf("\n%s (%s): unexpected error %s %s\n", c->name, how, got->err.sqlstate,
		       got->err.message);
		ok = false;
	}
	if (c->sqlstate != NULL && (!got->is_error || strcmp(got->err.sqlstate, c->sqlstate) != 0 ||
	                            strcmp(got->err.message, c->message) != 0)) {
		printf("\n%s (%s): got %s %s, expected %s %s\n", c->name, how,
		       got->is_error ? got->err.sqlstate : "END", got->is_error ? got->err.message : "",
		       c->sqlstate, c->message);
		ok = false;
	}
	return ok;
}

static void
test_cases_whole_bytes_and_every_cut(void)
{
	for (size_t i = 0; i < SG_ARRAY_LEN(cases); i++) {
		const Case *c = &cases[i];
		Outcome out;
		char how[64];

		run(c, NULL, 0, &out);
		CU_ASSERT(check(c, &out, "one piece"));
		outcome_free(&out);

		/* one byte at a time */
		size_t *cuts = malloc((c->in_len + 1) * sizeof(size_t));
		int ncuts = 0;
		for (size_t k = 1; k < c->in_len; k++)
			cuts[ncuts++] = k;
		run(c, cuts, ncuts, &out);
		CU_ASSERT(check(c, &out, "byte by byte"));
		outcome_free(&out);

		/* two pieces, cut at every byte boundary */
		for (size_t k = 1; k < c->in_len; k++) {
			snprintf(how, sizeof(how), "cut at %zu", k);
			run(c, &k, 1, &out);
			CU_ASSERT(check(c, &out, how));
			outcome_free(&out);
		}
		free(cuts);
	}
}

/* ------------------------------------------------------------------ other tests */

static void
test_defaults(void)
{
	CopyOptions o;
	copyin_options_default(&o, COPY_FMT_TEXT);
	CU_ASSERT_EQUAL(o.delimiter, '\t');
	CU_ASSERT_STRING_EQUAL(o.null_string, "\\N");
	CU_ASSERT_EQUAL(o.key_column, -1);
	CU_ASSERT_EQUAL(o.max_row_bytes, COPYIN_DEFAULT_MAX_ROW_BYTES);
	copyin_options_default(&o, COPY_FMT_CSV);
	CU_ASSERT_EQUAL(o.delimiter, ',');
	CU_ASSERT_STRING_EQUAL(o.null_string, "");
	CU_ASSERT_EQUAL(o.quote, '"');
	CU_ASSERT_EQUAL(o.escape, '"');
	CU_ASSERT_FALSE(o.header);

	size_t len;
	const char *h = copyin_binary_header(&len);
	CU_ASSERT_EQUAL(len, 19);
	CU_ASSERT(memcmp(h, HDR, 19) == 0);
}

static void
test_options_check(void)
{
	static const struct {
		CopyFormat fmt;
		char delimiter, quote;
		const char *null_string;
		bool header;
		int ncolumns, key_column;
		const char *sqlstate, *message; /* NULL: valid */
	} checks[] = {
	    {COPY_FMT_TEXT, 0, 0, NULL, false, 2, 1, NULL, NULL},
	    {COPY_FMT_CSV, 0, 0, NULL, true, 2, 0, NULL, NULL},
	    {COPY_FMT_BINARY, 0, 0, NULL, false, 1, 0, NULL, NULL},
	    {COPY_FMT_TEXT, 0, 0, NULL, false, 2, 2, "22023", NULL},
	    {COPY_FMT_TEXT, '\n', 0, NULL, false, 1, 0, "22023",
	     "COPY delimiter cannot be newline or carriage return"},
	    {COPY_FMT_TEXT, 'a', 0, NULL, false, 1, 0, "22023", "COPY delimiter cannot be \"a\""},
	    {COPY_FMT_TEXT, '\\', 0, NULL, false, 1, 0, "22023", "COPY delimiter cannot be \"\\\""},
	    {COPY_FMT_CSV, 'a', 0, NULL, false, 1, 0, NULL, NULL},
	    {COPY_FMT_CSV, '"', 0, NULL, false, 1, 0, "22023",
	     "COPY delimiter and quote must be different"},
	    {COPY_FMT_TEXT, ',', 0, "a,b", false, 1, 0, "0A000",
	     "COPY delimiter must not appear in the NULL specification"},
	    {COPY_FMT_CSV, 0, 0, "a\"", false, 1, 0, "0A000",
	     "CSV quote character must not appear in the NULL specification"},
	    {COPY_FMT_TEXT, 0, 0, "a\rb", false, 1, 0, "22023",
	     "COPY null representation cannot use newline or carriage return"},
	    {COPY_FMT_BINARY, 0, 0, NULL, true, 1, 0, "0A000", "cannot specify HEADER in BINARY mode"},
	};
	for (size_t i = 0; i < SG_ARRAY_LEN(checks); i++) {
		CopyOptions o;
		SgError err;
		sg_error_clear(&err);
		copyin_options_default(&o, checks[i].fmt);
		if (checks[i].delimiter)
			o.delimiter = checks[i].delimiter;
		if (checks[i].null_string)
			o.null_string = checks[i].null_string;
		o.header = checks[i].header;
		o.ncolumns = checks[i].ncolumns;
		o.key_column = checks[i].key_column;
		bool ok = copyin_options_check(&o, &err);
		CU_ASSERT_EQUAL(ok, checks[i].sqlstate == NULL);
		if (!ok && checks[i].sqlstate != NULL) {
			CU_ASSERT_STRING_EQUAL(err.sqlstate, checks[i].sqlstate);
			if (checks[i].message != NULL)
				CU_ASSERT_STRING_EQUAL(err.message, checks[i].message);
		}
	}
}

/* many rows in many chunks: rows come back in order, row count, memory stays bounded */
static void
test_many_rows_chunked(void)
{
	CopyOptions o;
	copyin_options_default(&o, COPY_FMT_CSV);
	o.ncolumns = 2;
	o.key_column = 1;
	o.max_row_bytes = 64;
	CopySplitter *s = copyin_create(&o);
	char line[64];
	int next_expected = 0;
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(line, sizeof(line), "%d,\"k%d\"\"\n\"\r\n", i, i);
		/* feed each line in two uneven pieces */
		size_t half = (size_t)(i % n);
		copyin_feed(s, line, half);
		copyin_feed(s, line + half, (size_t)n - half);
		for (;;) {
			const char *row, *key;
			size_t row_len, key_len;
			bool is_null;
			SgError err;
			CopyNext r = copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err);
			if (r == COPYIN_NEED_MORE)
				break;
			CU_ASSERT_EQUAL_FATAL(r, COPYIN_ROW);
			char want[64];
			snprintf(want, sizeof(want), "k%d\"\n", next_expected);
			CU_ASSERT_STRING_EQUAL(key, want);
			next_expected++;
		}
	}
	CU_ASSERT_EQUAL(next_expected, 5000);
	CU_ASSERT_EQUAL(copyin_rows(s), 5000);
	copyin_finish(s);
	const char *row, *key;
	size_t row_len, key_len;
	bool is_null;
	SgError err;
	CU_ASSERT_EQUAL(copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err), COPYIN_END);
	copyin_destroy(s);
}

/* a 4 MB row arriving in 512-byte chunks: linear work (no rescans, no re-copies) */
static void
test_long_row_small_chunks(void)
{
	static const CopyFormat fmts[] = {COPY_FMT_TEXT, COPY_FMT_CSV, COPY_FMT_BINARY};
	const size_t big = 4u << 20;
	char *data = malloc(big + 64);
	for (size_t f = 0; f < SG_ARRAY_LEN(fmts); f++) {
		CopyOptions o;
		copyin_options_default(&o, fmts[f]);
		o.ncolumns = 2;
		o.key_column = 0;
		size_t n = 0;
		if (fmts[f] == COPY_FMT_BINARY) {
			size_t hl;
			const char *h = copyin_binary_header(&hl);
			memcpy(data, h, hl);
			n = hl;
			memcpy(data + n, "\0\2\0\0\0\1k", 7);
			n += 7;
			uint32_t l = (uint32_t)big;
			unsigned char lb[4] = {(unsigned char)(l >> 24), (unsigned char)(l >> 16),
			                       (unsigned char)(l >> 8), (unsigned char)l};
			memcpy(data + n, lb, 4);
			n += 4;
			memset(data + n, 'v', big);
			n += big;
		} else {
			memcpy(data, fmts[f] == COPY_FMT_CSV ? "k,\"" : "k\t", fmts[f] == COPY_FMT_CSV ? 3 : 2);
			n = fmts[f] == COPY_FMT_CSV ? 3 : 2;
			memset(data + n, 'v', big);
			n += big;
			if (fmts[f] == COPY_FMT_CSV)
				data[n++] = '"';
			data[n++] = '\n';
		}
		CopySplitter *s = copyin_create(&o);
		int rows = 0;
		for (size_t pos = 0; pos < n; pos += 512) {
			copyin_feed(s, data + pos, n - pos < 512 ? n - pos : 512);
			for (;;) {
				const char *row, *key;
				size_t row_len, key_len;
				bool is_null;
				SgError err;
				CopyNext r = copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err);
				if (r == COPYIN_NEED_MORE)
					break;
				CU_ASSERT_EQUAL_FATAL(r, COPYIN_ROW);
				CU_ASSERT_STRING_EQUAL(key, "k");
				CU_ASSERT(row_len > big);
				rows++;
			}
		}
		CU_ASSERT_EQUAL(rows, 1);
		copyin_destroy(s);
	}
	free(data);
}

/* a long partial row is refused as soon as it passes the limit, before CopyDone */
static void
test_limit_before_row_end(void)
{
	CopyOptions o;
	copyin_options_default(&o, COPY_FMT_TEXT);
	o.ncolumns = 1;
	o.key_column = 0;
	o.max_row_bytes = 100;
	CopySplitter *s = copyin_create(&o);
	char chunk[60];
	memset(chunk, 'x', sizeof(chunk));
	const char *row, *key;
	size_t row_len, key_len;
	bool is_null;
	SgError err;
	copyin_feed(s, chunk, sizeof(chunk));
	CU_ASSERT_EQUAL(copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err),
	                COPYIN_NEED_MORE);
	copyin_feed(s, chunk, sizeof(chunk));
	CU_ASSERT_EQUAL(copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err), COPYIN_ERROR);
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "54000");
	copyin_feed(s, "\n", 1); /* ignored */
	CU_ASSERT_EQUAL(copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err), COPYIN_ERROR);
	copyin_destroy(s);

	/* binary: a field length over the limit fails before its bytes arrive */
	copyin_options_default(&o, COPY_FMT_BINARY);
	o.ncolumns = 1;
	o.key_column = 0;
	o.max_row_bytes = 1000;
	s = copyin_create(&o);
	static const char tuple[] = HDR "\0\1"
	                                "\x7f\xff\xff\xff";
	copyin_feed(s, tuple, sizeof(tuple) - 1);
	CU_ASSERT_EQUAL(copyin_next(s, &row, &row_len, &key, &key_len, &is_null, &err), COPYIN_ERROR);
	CU_ASSERT_STRING_EQUAL(err.sqlstate, "54000");
	copyin_destroy(s);
}

/* ------------------------------------------------------------------ dump for PostgreSQL */

static void
hex(FILE *f, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", (unsigned char)p[i]);
}

/*
 * dump_cases: with COPYIN_DUMP=<dir>, write <dir>/<name>.dat (input), one
 * line per case to <dir>/cases.txt ("name|format|ncolumns|key|COPY options")
 * and the expected outcome to <dir>/expected.txt ("name OK n key-hex..." or
 * "name ERR sqlstate message"), for replay against PostgreSQL.
 */
static void
test_dump_cases(void)
{
	const char *dir = getenv("COPYIN_DUMP");
	if (dir == NULL)
		return;
	char path[512];
	snprintf(path, sizeof(path), "%s/cases.txt", dir);
	FILE *cf = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/expected.txt", dir);
	FILE *ef = fopen(path, "w");
	CU_ASSERT_FATAL(cf != NULL && ef != NULL);
	for (size_t i = 0; i < SG_ARRAY_LEN(cases); i++) {
		const Case *c = &cases[i];
		if (c->gateway_only)
			continue;
		snprintf(path, sizeof(path), "%s/%s.dat", dir, c->name);
		FILE *df = fopen(path, "wb");
		CU_ASSERT_FATAL(df != NULL);
		fwrite(c->in, 1, c->in_len, df);
		fclose(df);
		const char *fmt = c->fmt == COPY_FMT_TEXT  ? "text"
		                  : c->fmt == COPY_FMT_CSV ? "csv"
		                                           : "binary";
		fprintf(cf, "%s|%s|%d|%d|FORMAT %s", c->name, fmt, c->ncolumns, c->key_column, fmt);
		if (c->header)
			fprintf(cf, ", HEADER true");
		if (c->delimiter)
			fprintf(cf, ", DELIMITER '%c'", c->delimiter);
		if (c->quote)
			fprintf(cf, ", QUOTE '%s'", c->quote == '\'' ? "''" : (char[]){c->quote, 0});
		if (c->escape)
			fprintf(cf, ", ESCAPE '%s'", c->escape == '\'' ? "''" : (char[]){c->escape, 0});
		if (c->null_string)
			fprintf(cf, ", NULL '%s'", c->null_string);
		if (c->force_null)
			fprintf(cf, ", FORCE_NULL (c%d)", c->key_column + 1);
		if (c->force_not_null)
			fprintf(cf, ", FORCE_NOT_NULL (c%d)", c->key_column + 1);
		fprintf(cf, "\n");

		/* what the gateway would send: rows alternately to two shards (binary: header first) */
		Outcome out;
		run(c, NULL, 0, &out);
		for (int shard = 0; shard < 2; shard++) {
			snprintf(path, sizeof(path), "%s/%s.s%d", dir, c->name, shard);
			FILE *sf = fopen(path, "wb");
			CU_ASSERT_FATAL(sf != NULL);
			if (c->fmt == COPY_FMT_BINARY) {
				size_t hl;
				const char *h = copyin_binary_header(&hl);
				fwrite(h, 1, hl, sf);
			}
			for (int r = shard; r < out.nrows; r += 2)
				fwrite(out.rows[r].raw, 1, out.rows[r].raw_len, sf);
			fclose(sf);
		}
		outcome_free(&out);

		if (c->sqlstate != NULL) {
			fprintf(ef, "%s ERR %s %s\n", c->name, c->sqlstate, c->message);
			continue;
		}
		int n = 0;
		while (n < (int)SG_ARRAY_LEN(c->rows) && c->rows[n].raw != NULL)
			n++;
		fprintf(ef, "%s OK %d", c->name, n);
		for (int r = 0; r < n && c->key_column >= 0; r++) {
			fprintf(ef, " ");
			if (c->rows[r].key == NULL)
				fprintf(ef, "NULL");
			else
				hex(ef, c->rows[r].key,
				    c->rows[r].key_len ? c->rows[r].key_len : strlen(c->rows[r].key));
		}
		fprintf(ef, "\n");
	}
	fclose(cf);
	fclose(ef);
}

void
sg_register_tests(void)
{
	CU_pSuite suite = CU_add_suite("copyin", NULL, NULL);
	CU_add_test(suite, "defaults and binary header", test_defaults);
	CU_add_test(suite, "option checks", test_options_check);
	CU_add_test(suite, "cases: one piece, byte by byte, every cut",
	            test_cases_whole_bytes_and_every_cut);
	CU_add_test(suite, "many rows in chunks", test_many_rows_chunked);
	CU_add_test(suite, "row limit before the row ends", test_limit_before_row_end);
	CU_add_test(suite, "long row in small chunks", test_long_row_small_chunks);
	CU_add_test(suite, "dump cases for PostgreSQL (COPYIN_DUMP)", test_dump_cases);
}
