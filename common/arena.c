/*
 * arena.c: chunked bump allocator. An Arena is a list of chunks; allocations
 * larger than a quarter chunk get their own chunk. Cleanups are a LIFO list
 * allocated inside the arena itself.
 */
#include "common/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
	struct Chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	_Alignas(16) unsigned char data[];
} Chunk;

typedef struct Cleanup {
	struct Cleanup *next;
	ArenaCleanupFn fn;
	void *arg;
} Cleanup;

struct Arena {
	Chunk *head; /* current chunk; reset keeps only the last chunk of the list */
	size_t chunk_size;
	size_t footprint;
	Cleanup *cleanups;
};

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "shardgate: out of memory allocating %zu bytes\n", n);
		abort();
	}
	return p;
}

static Chunk *
chunk_new(Arena *a, size_t size)
{
	Chunk *c = xmalloc(sizeof(Chunk) + size);
	c->size = size;
	c->used = 0;
	a->footprint += sizeof(Chunk) + size;
	return c;
}

Arena *
arena_create(size_t chunk_size)
{
	Arena *a = xmalloc(sizeof(Arena));
	if (chunk_size < 256)
		chunk_size = 256;
	a->chunk_size = chunk_size;
	a->footprint = sizeof(Arena);
	a->cleanups = NULL;
	a->head = chunk_new(a, chunk_size);
	a->head->next = NULL;
	return a;
}

static void
arena_run_cleanups(Arena *a)
{
	while (a->cleanups != NULL) {
		Cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->arg);
	}
}

void
arena_reset(Arena *a)
{
	arena_run_cleanups(a);
	while (a->head->next != NULL) {
		Chunk *c = a->head;
		a->head = c->next;
		a->footprint -= sizeof(Chunk) + c->size;
		free(c);
	}
	a->head->used = 0;
}

void
arena_destroy(Arena *a)
{
	if (a == NULL)
		return;
	arena_run_cleanups(a);
	while (a->head != NULL) {
		Chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
	free(a);
}

void *
arena_alloc(Arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	Chunk *c = a->head;
	if (c->size - c->used >= size) {
		void *p = c->data + c->used;
		c->used += size;
		return p;
	}
	if (size > a->chunk_size / 4) {
		/* big block: own chunk, linked behind the head so the head keeps filling */
		Chunk *big = chunk_new(a, size);
		big->used = size;
		big->next = c->next;
		c->next = big;
		return big->data;
	}
	Chunk *n = chunk_new(a, a->chunk_size);
	n->used = size;
	n->next = c;
	a->head = n;
	return n->data;
}

void *
arena_zalloc(Arena *a, size_t size)
{
	void *p = arena_alloc(a, size);
	memset(p, 0, size);
	return p;
}

char *
arena_strndup(Arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(Arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *
arena_memdup(Arena *a, const void *p, size_t n)
{
	void *d = arena_alloc(a, n);
	memcpy(d, p, n);
	return d;
}

char *
arena_printf(Arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_on_reset(Arena *a, ArenaCleanupFn fn, void *arg)
{
	Cleanup *c = arena_alloc(a, sizeof(Cleanup));
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t
arena_footprint(const Arena *a)
{
	return a->footprint;
}
