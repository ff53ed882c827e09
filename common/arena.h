#ifndef SG_COMMON_ARENA_H
#define SG_COMMON_ARENA_H

#include <stddef.h>

#include "common/macros.h"

/*
 * Arena: a bump allocator with a named lifetime (process, session,
 * statement, prepared statement). Memory is released all at once by
 * arena_reset() or arena_destroy(); nothing is freed piece by piece.
 * Allocation never returns NULL: out of memory aborts.
 */
typedef struct Arena Arena;
typedef void (*ArenaCleanupFn)(void *arg);

Arena *arena_create(size_t chunk_size);
/* arena_reset runs cleanups (last registered first) and frees all but the first chunk. */
void arena_reset(Arena *a);
void arena_destroy(Arena *a);
void *arena_alloc(Arena *a, size_t size);  /* 16-byte aligned, uninitialised */
void *arena_zalloc(Arena *a, size_t size); /* zeroed */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
void *arena_memdup(Arena *a, const void *p, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) SG_PRINTF(2, 3);
/* arena_on_reset registers fn(arg) to run when the arena is next reset or destroyed. */
void arena_on_reset(Arena *a, ArenaCleanupFn fn, void *arg);
/* bytes currently held from malloc by this arena (chunks) */
size_t arena_footprint(const Arena *a);

#define ARENA_NEW(a, type) ((type *)arena_zalloc((a), sizeof(type)))
#define ARENA_NEW_ARRAY(a, type, n) ((type *)arena_zalloc((a), sizeof(type) * (size_t)(n)))

#endif /* SG_COMMON_ARENA_H */
