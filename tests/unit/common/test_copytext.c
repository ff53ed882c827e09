/*
 * test_copytext.c: common/copytext.c, the de-escaping of one COPY text field
 * as PostgreSQL's CopyReadAttributesText does it (the COPY router hashes the
 * decoded key; the admin copier reads rows back from COPY TO output).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "common/copytext.h"

void sg_register_tests(void);

typedef struct DecodeCase {
	const char *in;
	const char *want;
	size_t want_len;
} DecodeCase;

#define W(s) s, sizeof(s) - 1

static const DecodeCase cases[] = {
    {"", W("")},
    {"plain text", W("plain text")},
    {"a\\tb", W("a\tb")},
    {"\\b\\f\\n\\r\\t\\v", W("\b\f\n\r\t\v")},
    {"\\101\\60", W("A0")},    /* octal, one to three digits */
    {"\\1011", W("A1")},       /* at most three */
    {"\\0", W("\0")},          /* a zero byte */
    {"\\777", W("\377")},      /* the low 8 bits */
    {"\\x41\\x4", W("A\004")}, /* hex, one or two digits */
    {"\\x4G", W("\004G")},
    {"\\xZ", W("xZ")},         /* \x without a hex digit is x */
    {"\\q\\\\\\.", W("q\\.")}, /* any other byte is itself */
    {"ab\\", W("ab")},         /* a backslash that ends the field is dropped */
};

static void
test_decode_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const DecodeCase *c = &cases[i];
		char out[64];
		memset(out, '#', sizeof(out));
		size_t n = copy_text_decode(c->in, strlen(c->in), out);
		CU_ASSERT_EQUAL(n, c->want_len);
		CU_ASSERT_EQUAL(memcmp(out, c->want, c->want_len), 0);
		CU_ASSERT_EQUAL(out[n], '#'); /* nothing written beyond */
		if (n != c->want_len || memcmp(out, c->want, c->want_len) != 0)
			fprintf(stderr, "case %zu (%s): got %zu bytes\n", i, c->in, n);
	}
}

static void
test_decode_stops_at_length(void)
{
	/* the field is [p, p + n): a backslash at its end is trailing even if more follows */
	char out[8];
	size_t n = copy_text_decode("ab\\tc", 3, out);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(memcmp(out, "ab", 2), 0);
	/* an octal escape cut by the end */
	n = copy_text_decode("\\1234", 3, out);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out[0], '\012');
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("copytext", NULL, NULL);
	CU_add_test(s, "decode cases", test_decode_cases);
	CU_add_test(s, "decode stops at the field's length", test_decode_stops_at_length);
}
