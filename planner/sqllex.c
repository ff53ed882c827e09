/*
 * sqllex.c: the plan cache's tokenizer (sqllex.h).
 *
 * Follows PostgreSQL 15's scanner (src/backend/parser/scan.l) for what it
 * accepts and refuses everything else, so that equal shape keys always mean
 * equal token sequences up to literal values:
 *   - whitespace and comments (-- and nested slash-star) separate tokens and
 *     become one space in the key; adjacency is kept (":=" differs from ": =");
 *   - identifiers [A-Za-z_\200-\377][A-Za-z0-9_$\200-\377]*, "quoted" ones;
 *   - 'strings' with '' inside; a letter right before the quote (E'', B'',
 *     X'', N'', U&'') or a backslash inside (standard_conforming_strings may
 *     be off) or two strings in a row (PostgreSQL concatenates them across
 *     a newline) refuse;
 *   - numbers: integer, decimal, real with exponent; a number touching a
 *     letter, a dot or another digit run ("1e", "1..2", "123abc") refuses;
 *     an integer above int4 is a Float node in PostgreSQL, so its own class;
 *   - $ (parameters, dollar quotes) refuses;
 *   - literals appear in the key as "\001i", "\001n", "\001s": a byte no
 *     accepted query text contains.
 */
#include "planner/sqllex.h"

#include <string.h>

/* character classes of the tokenizer, one table lookup per byte (this runs for every
 * simple-protocol statement); bytes >= 0x80 start and continue identifiers */
enum { CC_SPACE = 1, CC_IDSTART = 2, CC_DIGIT = 4, CC_IDCHAR = 8, CC_OP = 16, CC_PUNCT = 32 };

#define SP CC_SPACE
#define ID (CC_IDSTART | CC_IDCHAR)
#define DG (CC_DIGIT | CC_IDCHAR)
#define OP CC_OP
#define PU CC_PUNCT
#define ID8 ID, ID, ID, ID, ID, ID, ID, ID
#define ID64 ID8, ID8, ID8, ID8, ID8, ID8, ID8, ID8
/* clang-format off */
static const unsigned char cc_table[256] = {
	[' '] = SP, ['\t'] = SP, ['\n'] = SP, ['\r'] = SP, ['\f'] = SP, ['\v'] = SP,
	['a'] = ID, ['b'] = ID, ['c'] = ID, ['d'] = ID, ['e'] = ID, ['f'] = ID, ['g'] = ID, ['h'] = ID, ['i'] = ID, ['j'] = ID, ['k'] = ID, ['l'] = ID, ['m'] = ID,
	['n'] = ID, ['o'] = ID, ['p'] = ID, ['q'] = ID, ['r'] = ID, ['s'] = ID, ['t'] = ID, ['u'] = ID, ['v'] = ID, ['w'] = ID, ['x'] = ID, ['y'] = ID, ['z'] = ID,
	['A'] = ID, ['B'] = ID, ['C'] = ID, ['D'] = ID, ['E'] = ID, ['F'] = ID, ['G'] = ID, ['H'] = ID, ['I'] = ID, ['J'] = ID, ['K'] = ID, ['L'] = ID, ['M'] = ID,
	['N'] = ID, ['O'] = ID, ['P'] = ID, ['Q'] = ID, ['R'] = ID, ['S'] = ID, ['T'] = ID, ['U'] = ID, ['V'] = ID, ['W'] = ID, ['X'] = ID, ['Y'] = ID, ['Z'] = ID,
	['_'] = ID, ['$'] = CC_IDCHAR,
	['0'] = DG, ['1'] = DG, ['2'] = DG, ['3'] = DG, ['4'] = DG, ['5'] = DG, ['6'] = DG, ['7'] = DG, ['8'] = DG, ['9'] = DG,
	['~'] = OP, ['!'] = OP, ['@'] = OP, ['#'] = OP, ['^'] = OP, ['&'] = OP, ['|'] = OP, ['`'] = OP, ['?'] = OP,
	['+'] = OP, ['-'] = OP, ['*'] = OP, ['/'] = OP, ['%'] = OP, ['<'] = OP, ['>'] = OP, ['='] = OP,
	['('] = PU, [')'] = PU, ['['] = PU, [']'] = PU, [','] = PU, [';'] = PU, [':'] = PU, ['.'] = PU,
	[0x80] = ID64, ID64,
};
/* clang-format on */
#undef SP
#undef ID
#undef DG
#undef OP
#undef PU
#undef ID8
#undef ID64

static inline unsigned
cclass(char c)
{
	return cc_table[(unsigned char)c];
}

static inline bool
is_space(char c)
{
	return (cclass(c) & CC_SPACE) != 0;
}

static inline bool
is_ident_start(char c)
{
	return (cclass(c) & CC_IDSTART) != 0;
}

static inline bool
is_digit(char c)
{
	return (cclass(c) & CC_DIGIT) != 0;
}

static inline bool
is_ident_char(char c)
{
	return (cclass(c) & CC_IDCHAR) != 0;
}

static inline bool
is_op_char(char c)
{
	return (cclass(c) & CC_OP) != 0;
}

static inline bool
is_punct(char c)
{
	return (cclass(c) & CC_PUNCT) != 0;
}

bool
sqllex_is_literal(SqlTokKind k)
{
	return k == TOK_INT || k == TOK_NUM || k == TOK_STR;
}

/* skip_comment: at "--" or a slash-star, move past the comment; false if unterminated */
static bool
skip_comment(const char *s, size_t *pos)
{
	size_t p = *pos;
	if (s[p] == '-') {
		while (s[p] != '\0' && s[p] != '\n')
			p++;
		*pos = p;
		return true;
	}
	int depth = 0;
	while (s[p] != '\0') {
		if (s[p] == '/' && s[p + 1] == '*') {
			depth++;
			p += 2;
		} else if (s[p] == '*' && s[p + 1] == '/') {
			depth--;
			p += 2;
			if (depth == 0) {
				*pos = p;
				return true;
			}
		} else {
			p++;
		}
	}
	return false;
}

static bool
comment_start(const char *s, size_t p)
{
	return (s[p] == '-' && s[p + 1] == '-') || (s[p] == '/' && s[p + 1] == '*');
}

/* scan_number: at a digit or ".digit"; *end past it, *kind TOK_INT/TOK_NUM; false to refuse */
static bool
scan_number(const char *s, size_t start, size_t *end, SqlTokKind *kind)
{
	size_t p = start;
	bool plain = true;
	while (is_digit(s[p]))
		p++;
	if (s[p] == '.' && s[p + 1] != '.') {
		plain = false;
		p++;
		while (is_digit(s[p]))
			p++;
	}
	if (s[p] == 'e' || s[p] == 'E') {
		size_t q = p + 1;
		if (s[q] == '+' || s[q] == '-')
			q++;
		if (!is_digit(s[q]))
			return false; /* "1e": PostgreSQL 15 splits it; not worth following */
		while (is_digit(s[q]))
			q++;
		p = q;
		plain = false;
	}
	if (is_ident_char(s[p]) || s[p] == '.' || s[p] == '\'' || s[p] == '"')
		return false;
	*end = p;
	*kind = TOK_NUM;
	if (plain) {
		/* fits int4? (leading zeros allowed, as PostgreSQL's strtoint) */
		size_t q = start;
		while (q < p - 1 && s[q] == '0')
			q++;
		if (p - q < 10 || (p - q == 10 && strncmp(s + q, "2147483647", 10) <= 0))
			*kind = TOK_INT;
	}
	return true;
}

/* scan_quoted: at the opening quote q; *end past the closing one; false if unterminated or
 * (strings) holding a backslash */
static bool
scan_quoted(const char *s, size_t start, char q, size_t *end)
{
	size_t p = start + 1;
	for (;;) {
		if (s[p] == '\0')
			return false;
		if (q == '\'' && s[p] == '\\')
			return false;
		if (s[p] == q) {
			if (s[p + 1] == q) {
				p += 2;
				continue;
			}
			*end = p + 1;
			return true;
		}
		p++;
	}
}

static const char *
literal_marker(SqlTokKind k)
{
	return k == TOK_INT ? "\001i" : k == TOK_NUM ? "\001n" : "\001s";
}

bool
sqllex_shape(Arena *a, const char *sql, SqlShape *out)
{
	memset(out, 0, sizeof(*out));
	size_t len = strlen(sql);
	if (len > 65536)
		return false;
	char *key = arena_alloc(a, 2 * len + 2);
	size_t klen = 0;
	int32_t cap = 64, n = 0, nlit = 0; /* TPC-B's INSERT has 27 tokens */
	SqlTok *toks = arena_alloc(a, sizeof(SqlTok) * (size_t)cap);
	bool space = false, ended = false;
	size_t p = 0;
	while (sql[p] != '\0') {
		char c = sql[p];
		if (is_space(c)) {
			space = true;
			p++;
			continue;
		}
		if (comment_start(sql, p)) {
			if (!skip_comment(sql, &p))
				return false;
			space = true;
			continue;
		}
		if (ended)
			return false; /* a second statement */
		SqlTok t = {.off = (int32_t)p};
		if (space && klen > 0)
			key[klen++] = ' ';
		space = false;
		size_t end = p + 1;
		if (is_ident_start(c)) {
			/* the commonest token: copied to the key as it is scanned */
			key[klen++] = c;
			while (is_ident_char(sql[end]))
				key[klen++] = sql[end++];
			if (sql[end] == '\'' || sql[end] == '"')
				return false; /* E'', B'', X'', N'', U&"" ... */
			t.kind = TOK_IDENT;
			t.len = (int32_t)(end - p);
		} else {
			if (c == '"') {
				if (!scan_quoted(sql, p, '"', &end))
					return false;
				t.kind = TOK_QIDENT;
			} else if (c == '\'') {
				if (!scan_quoted(sql, p, '\'', &end))
					return false;
				if (n > 0 && toks[n - 1].kind == TOK_STR)
					return false; /* 'a' 'b' continuation */
				t.kind = TOK_STR;
			} else if (is_digit(c) || (c == '.' && is_digit(sql[p + 1]))) {
				if (!scan_number(sql, p, &end, &t.kind))
					return false;
			} else if (is_op_char(c)) {
				while (is_op_char(sql[end]) && !comment_start(sql, end))
					end++;
				t.kind = TOK_OP;
			} else if (is_punct(c)) {
				t.kind = TOK_PUNCT;
				ended = c == ';';
			} else {
				return false; /* $, backslash, control bytes, ... */
			}
			t.len = (int32_t)(end - p);
			if (sqllex_is_literal(t.kind)) {
				memcpy(key + klen, literal_marker(t.kind), 2);
				klen += 2;
				nlit++;
			} else {
				for (size_t i = p; i < end; i++)
					key[klen++] = sql[i];
			}
		}
		if (n == cap) {
			SqlTok *bigger = arena_alloc(a, sizeof(SqlTok) * (size_t)cap * 2);
			memcpy(bigger, toks, sizeof(SqlTok) * (size_t)cap);
			toks = bigger;
			cap *= 2;
		}
		toks[n++] = t;
		p = end;
	}
	if (n == 0)
		return false;
	key[klen] = '\0';
	out->ntoks = n;
	out->toks = toks;
	out->nliterals = nlit;
	out->key = key;
	out->keylen = klen;
	return true;
}

const char *
sqllex_literal_value(Arena *a, const char *sql, const SqlTok *t)
{
	if (t->kind != TOK_STR) {
		char *v = arena_alloc(a, (size_t)t->len + 1);
		memcpy(v, sql + t->off, (size_t)t->len);
		v[t->len] = '\0';
		return v;
	}
	char *v = arena_alloc(a, (size_t)t->len);
	size_t k = 0;
	for (int32_t i = t->off + 1; i < t->off + t->len - 1; i++) {
		v[k++] = sql[i];
		if (sql[i] == '\'')
			i++; /* '' */
	}
	v[k] = '\0';
	return v;
}
