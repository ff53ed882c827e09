/*
 * errpos.c: error positions from rewritten statements (errpos.h).
 *
 * Positions are counted in characters by PostgreSQL (UTF-8 here): both
 * texts are walked by character, not byte. The token at the position is an
 * identifier (compared case-insensitively: the deparser writes unquoted
 * names in lower case), a quoted identifier, a string, a number, or an
 * operator/punctuation run; an occurrence counts only at token boundaries.
 */
#include "planner/errpos.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

static bool
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '$' || (unsigned char)c >= 0x80;
}

/* byte offset of 1-based character position pos in s; -1 if beyond the end */
static long
char_to_byte(const char *s, int pos)
{
	int chars = 1;
	for (long i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue; /* UTF-8 continuation byte */
		if (chars == pos)
			return i;
		chars++;
	}
	return -1;
}

static int
byte_to_char(const char *s, size_t off)
{
	int chars = 0;
	for (size_t i = 0; i <= off && s[i] != '\0'; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	return chars;
}

/* token_len: length of the token starting at s */
static size_t
token_len(const char *s)
{
	char c = s[0];
	if (c == '"' || c == '\'') {
		size_t i = 1;
		while (s[i] != '\0') {
			if (s[i] == c && s[i + 1] == c) {
				i += 2;
				continue;
			}
			if (s[i] == c)
				return i + 1;
			i++;
		}
		return i;
	}
	size_t i = 1;
	if (ident_char(c)) {
		while (ident_char(s[i]))
			i++;
		return i;
	}
	while (s[i] != '\0' && strchr("~!@#^&|`?+-*/%<>=", s[i]) != NULL &&
	       strchr("~!@#^&|`?+-*/%<>=", c) != NULL)
		i++;
	return i;
}

/* at: does tok (len n) occur in s at byte i on token boundaries? */
static bool
at(const char *s, size_t i, const char *tok, size_t n, bool fold)
{
	if ((fold ? strncasecmp(s + i, tok, n) : strncmp(s + i, tok, n)) != 0)
		return false;
	if (ident_char(tok[0]) && i > 0 && ident_char(s[i - 1]))
		return false;
	if (ident_char(tok[n - 1]) && ident_char(s[i + n]))
		return false;
	return true;
}

int
errpos_map(const char *sent, const char *orig, int pos)
{
	if (sent == NULL || pos <= 0)
		return 0;
	if (orig == NULL || strcmp(sent, orig) == 0)
		return pos; /* nothing to map to: the statement as sent is the client's */
	long off = char_to_byte(sent, pos);
	if (off < 0 || sent[off] == ' ' || sent[off] == '\0')
		return 0;
	const char *tok = sent + off;
	size_t n = token_len(tok);
	bool fold = ident_char(tok[0]);
	int k = 0; /* occurrences before the position in sent */
	for (size_t i = 0; i < (size_t)off; i++)
		if (at(sent, i, tok, n, fold))
			k++;
	int seen = 0;
	long first = -1, kth = -1;
	size_t olen = strlen(orig);
	for (size_t i = 0; i + n <= olen; i++) {
		if (!at(orig, i, tok, n, fold))
			continue;
		if (first < 0)
			first = (long)i;
		if (seen == k)
			kth = (long)i;
		seen++;
	}
	long found = kth >= 0 ? kth : first;
	return found < 0 ? 0 : byte_to_char(orig, (size_t)found);
}
