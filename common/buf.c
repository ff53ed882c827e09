/*
 * buf.c: growable byte buffers for socket I/O and the bounds-checked
 * BufReader every wire decoder goes through.
 */
#include "common/buf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(Buf *b)
{
	b->data = NULL;
	b->start = b->len = b->cap = 0;
}

void
buf_free(Buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_clear(Buf *b)
{
	b->start = b->len = 0;
}

void
buf_release_if_large(Buf *b, size_t keep)
{
	if (b->start == b->len && b->cap > keep)
		buf_free(b);
}

void
buf_compact(Buf *b)
{
	if (b->start == 0)
		return;
	size_t n = b->len - b->start;
	if (n > 0)
		memmove(b->data, b->data + b->start, n);
	b->start = 0;
	b->len = n;
}

/* buf_reserve_slow: buf_reserve when the room is not there yet (compact or grow) */
void
buf_reserve_slow(Buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return;
	if (b->start > 0 && b->start >= b->cap / 2) {
		buf_compact(b);
		if (b->cap - b->len >= extra)
			return;
	}
	size_t need = b->len + extra;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		fprintf(stderr, "shardgate: out of memory growing buffer to %zu bytes\n", cap);
		abort();
	}
	b->data = p;
	b->cap = cap;
}

void
buf_consume(Buf *b, size_t n)
{
	SG_ASSERT(n <= b->len - b->start);
	b->start += n;
	if (b->start == b->len)
		b->start = b->len = 0;
}

void
buf_append(Buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void
buf_append_u8(Buf *b, uint8_t v)
{
	buf_reserve(b, 1);
	b->data[b->len++] = (char)v;
}

void
buf_append_u16(Buf *b, uint16_t v)
{
	uint16_t n = htons(v);
	buf_append(b, &n, 2);
}

void
buf_append_u32(Buf *b, uint32_t v)
{
	uint32_t n = htonl(v);
	buf_append(b, &n, 4);
}

void
buf_append_i32(Buf *b, int32_t v)
{
	buf_append_u32(b, (uint32_t)v);
}

void
buf_append_cstr(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s) + 1);
}

void
buf_printf(Buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_put_u32_at(Buf *b, size_t off, uint32_t v)
{
	SG_ASSERT(off + 4 <= b->len);
	uint32_t n = htonl(v);
	memcpy(b->data + off, &n, 4);
}

void
buf_reader_init(BufReader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

bool
buf_get_u8(BufReader *r, uint8_t *v)
{
	if (r->len - r->pos < 1)
		return false;
	*v = (uint8_t)r->p[r->pos++];
	return true;
}

bool
buf_get_u16(BufReader *r, uint16_t *v)
{
	if (r->len - r->pos < 2)
		return false;
	uint16_t n;
	memcpy(&n, r->p + r->pos, 2);
	*v = ntohs(n);
	r->pos += 2;
	return true;
}

bool
buf_get_i16(BufReader *r, int16_t *v)
{
	uint16_t u;
	if (!buf_get_u16(r, &u))
		return false;
	*v = (int16_t)u;
	return true;
}

bool
buf_get_u32(BufReader *r, uint32_t *v)
{
	if (r->len - r->pos < 4)
		return false;
	uint32_t n;
	memcpy(&n, r->p + r->pos, 4);
	*v = ntohl(n);
	r->pos += 4;
	return true;
}

bool
buf_get_i32(BufReader *r, int32_t *v)
{
	uint32_t u;
	if (!buf_get_u32(r, &u))
		return false;
	*v = (int32_t)u;
	return true;
}

bool
buf_get_cstring(BufReader *r, const char **s)
{
	const char *start = r->p + r->pos;
	const char *nul = memchr(start, '\0', r->len - r->pos);
	if (nul == NULL)
		return false;
	*s = start;
	r->pos += (size_t)(nul - start) + 1;
	return true;
}

bool
buf_get_bytes(BufReader *r, size_t n, const char **p)
{
	if (r->len - r->pos < n)
		return false;
	*p = r->p + r->pos;
	r->pos += n;
	return true;
}
