/* copytext.c: COPY text format field decoding, shared by the COPY router and the admin copier */
#include "common/copytext.h"

#include <stdbool.h>

static bool
is_octal(char c)
{
	return c >= '0' && c <= '7';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* escaped: the byte a backslash and c stand for (c itself if not a letter escape) */
static char
escaped(char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		return c;
	}
}

size_t
copy_text_decode(const char *p, size_t n, char *out)
{
	const char *e = p + n;
	size_t o = 0;
	while (p < e) {
		char c = *p++;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (p >= e)
			break; /* a trailing backslash is dropped */
		c = *p++;
		if (is_octal(c)) {
			int v = c - '0';
			for (int k = 0; k < 2 && p < e && is_octal(*p); k++)
				v = (v << 3) + (*p++ - '0');
			c = (char)(v & 0xff);
		} else if (c == 'x' && p < e && hexval(*p) >= 0) {
			int v = hexval(*p++);
			if (p < e && hexval(*p) >= 0)
				v = (v << 4) + hexval(*p++);
			c = (char)v;
		} else {
			c = escaped(c);
		}
		out[o++] = c;
	}
	return o;
}
