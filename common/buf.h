#ifndef SG_COMMON_BUF_H
#define SG_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/macros.h"

/*
 * Buf: growable byte buffer owned by malloc (used for socket I/O, where the
 * lifetime is the connection's). Writers never fail mid-way: growth aborts on
 * out of memory. `start` lets a reader consume from the front without moving
 * bytes until buf_compact().
 */
typedef struct Buf {
	char *data;
	size_t start; /* first unconsumed byte */
	size_t len;   /* end of valid bytes */
	size_t cap;
} Buf;

void buf_init(Buf *b);
void buf_free(Buf *b);
void buf_clear(Buf *b);
/* buf_reserve: room for extra more bytes after len (inline: every append checks it) */
void buf_reserve_slow(Buf *b, size_t extra);
static inline void
buf_reserve(Buf *b, size_t extra)
{
	if (b->cap - b->len < extra)
		buf_reserve_slow(b, extra);
}
/* buf_release_if_large frees the storage of an empty buffer grown past keep bytes */
void buf_release_if_large(Buf *b, size_t keep);
static inline size_t
buf_avail(const Buf *b)
{
	return b->len - b->start;
}
static inline const char *
buf_head(const Buf *b)
{
	return b->data + b->start;
}
void buf_consume(Buf *b, size_t n);
void buf_compact(Buf *b);
void buf_append(Buf *b, const void *p, size_t n);
void buf_append_u8(Buf *b, uint8_t v);
void buf_append_u16(Buf *b, uint16_t v); /* network byte order */
void buf_append_u32(Buf *b, uint32_t v);
void buf_append_i32(Buf *b, int32_t v);
void buf_append_cstr(Buf *b, const char *s);                   /* with the trailing NUL */
void buf_printf(Buf *b, const char *fmt, ...) SG_PRINTF(2, 3); /* no NUL */
/* buf_put_u32_at overwrites 4 bytes at absolute offset off (for message lengths) */
void buf_put_u32_at(Buf *b, size_t off, uint32_t v);

/*
 * BufReader: bounds-checked reads over a byte range it does not own.
 * Every getter returns false (and consumes nothing) when the data runs out.
 */
typedef struct BufReader {
	const char *p;
	size_t len;
	size_t pos;
} BufReader;

void buf_reader_init(BufReader *r, const void *p, size_t len);
static inline size_t
buf_reader_left(const BufReader *r)
{
	return r->len - r->pos;
}
SG_MUSTCHECK bool buf_get_u8(BufReader *r, uint8_t *v);
SG_MUSTCHECK bool buf_get_u16(BufReader *r, uint16_t *v);
SG_MUSTCHECK bool buf_get_i16(BufReader *r, int16_t *v);
SG_MUSTCHECK bool buf_get_u32(BufReader *r, uint32_t *v);
SG_MUSTCHECK bool buf_get_i32(BufReader *r, int32_t *v);
/* buf_get_cstring: *s points into the reader's bytes (NUL-terminated there) */
SG_MUSTCHECK bool buf_get_cstring(BufReader *r, const char **s);
/* buf_get_bytes: *p points into the reader's bytes */
SG_MUSTCHECK bool buf_get_bytes(BufReader *r, size_t n, const char **p);

#endif /* SG_COMMON_BUF_H */
