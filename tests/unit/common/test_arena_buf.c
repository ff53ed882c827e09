/*
 * test_arena_buf.c: arena lifetimes (reset keeps working memory, cleanups
 * run LIFO) and the bounds-checked BufReader.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"

void sg_register_tests(void);

static int cleanup_order[4];
static int ncleanups;

static void
note_cleanup(void *arg)
{
	cleanup_order[ncleanups++] = *(int *)arg;
}

static void
test_arena(void)
{
	Arena *a = arena_create(256);
	char *s = arena_strdup(a, "hello");
	CU_ASSERT_STRING_EQUAL(s, "hello");
	void *big = arena_alloc(a, 10000); /* own chunk */
	memset(big, 1, 10000);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_PTR_NOT_NULL(arena_alloc(a, 24));
	CU_ASSERT_EQUAL((uintptr_t)arena_alloc(a, 3) % 16, 0);
	static int one = 1, two = 2;
	arena_on_reset(a, note_cleanup, &one);
	arena_on_reset(a, note_cleanup, &two);
	size_t before = arena_footprint(a);
	arena_reset(a);
	CU_ASSERT_EQUAL(ncleanups, 2);
	CU_ASSERT_EQUAL(cleanup_order[0], 2);
	CU_ASSERT_EQUAL(cleanup_order[1], 1);
	CU_ASSERT_TRUE(arena_footprint(a) < before);
	CU_ASSERT_STRING_EQUAL(arena_printf(a, "%d-%s", 7, "x"), "7-x");
	arena_destroy(a);
}

static void
test_reader(void)
{
	const char data[] = {0, 0, 0, 5, 'a', 'b', 0, 1};
	BufReader r;
	uint32_t u;
	const char *s;
	uint16_t v16;
	buf_reader_init(&r, data, sizeof(data));
	CU_ASSERT_TRUE(buf_get_u32(&r, &u));
	CU_ASSERT_EQUAL(u, 5);
	CU_ASSERT_TRUE(buf_get_cstring(&r, &s));
	CU_ASSERT_STRING_EQUAL(s, "ab");
	CU_ASSERT_FALSE(buf_get_u16(&r, &v16)); /* only one byte left */
	CU_ASSERT_EQUAL(buf_reader_left(&r), 1);
	buf_reader_init(&r, "abc", 3);
	CU_ASSERT_FALSE(buf_get_cstring(&r, &s)); /* unterminated */
	CU_ASSERT_EQUAL(r.pos, 0);
}

static void
test_buf(void)
{
	Buf b;
	buf_init(&b);
	buf_append_u8(&b, 'Q');
	buf_append_u32(&b, 0);
	buf_append_cstr(&b, "x");
	buf_put_u32_at(&b, 1, 6);
	CU_ASSERT_EQUAL(buf_avail(&b), 7);
	CU_ASSERT_EQUAL((unsigned char)buf_head(&b)[4], 6);
	buf_consume(&b, 5);
	CU_ASSERT_STRING_EQUAL(buf_head(&b), "x");
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%d", i % 10);
	CU_ASSERT_EQUAL(buf_avail(&b), 10002);
	buf_free(&b);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("arena and buf", NULL, NULL);
	CU_add_test(s, "arena", test_arena);
	CU_add_test(s, "reader", test_reader);
	CU_add_test(s, "buf", test_buf);
}
