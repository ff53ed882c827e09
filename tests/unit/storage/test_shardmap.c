/*
 * test_shardmap.c: storage/shardmap.c. Shard indexes are checked against
 * PostgreSQL 15's hash partitioning (expected remainders printed by
 * satisfies_hash_partition(parent, modulus, r, value) on a real server);
 * placement is checked for determinism, balance and minimal movement when a
 * node is added.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "storage/pghash.h"
#include "storage/shardmap.h"

typedef struct IndexCase {
	uint32_t type_oid;
	const char *text;
	int32_t shard_32; /* PostgreSQL's remainder for MODULUS 32 */
	int32_t shard_7;  /* ... and for MODULUS 7 */
} IndexCase;

static const IndexCase index_cases[] = {
    {PG_OID_INT4, "0", 16, 4},          {PG_OID_INT4, "1", 24, 5},
    {PG_OID_INT4, "-1", 5, 0},          {PG_OID_INT4, "42", 2, 0},
    {PG_OID_INT4, "2147483647", 31, 0}, {PG_OID_INT4, "-2147483648", 22, 3},
    {PG_OID_INT4, "123456789", 13, 4},  {PG_OID_TEXT, "", 6, 1},
    {PG_OID_TEXT, "abc", 5, 3},         {PG_OID_TEXT, "hello world", 8, 4},
};

static void
test_shard_index(void)
{
	for (size_t i = 0; i < SG_ARRAY_LEN(index_cases); i++) {
		const IndexCase *c = &index_cases[i];
		SgError err;
		uint64_t h;

		CU_ASSERT_TRUE_FATAL(pghash_text_value(c->type_oid, c->text, &h, &err));
		CU_ASSERT_EQUAL(shardmap_shard_index(h, 32), c->shard_32);
		CU_ASSERT_EQUAL(shardmap_shard_index(h, 7), c->shard_7);
	}
	/* hash_combine64(0, h) wraps modulo 2^64 */
	CU_ASSERT_EQUAL(shardmap_shard_index(UINT64_MAX, 32),
	                (int32_t)((UINT64_MAX + UINT64_C(0x49a0f4dd15e5a8e3)) % 32));
	CU_ASSERT_EQUAL(shardmap_shard_index(0, 1), 0);
	CU_ASSERT_EQUAL(shardmap_null_shard_index(), 0);
}

#define TEST_GROUPS 8
#define TEST_SHARDS 32
#define TEST_TOTAL (TEST_GROUPS * TEST_SHARDS)

static void
place_all(const int32_t *nodes, int nnodes, int32_t placement[TEST_TOTAL])
{
	for (int g = 0; g < TEST_GROUPS; g++)
		shardmap_place(nodes, nnodes, g + 1, TEST_SHARDS, placement + g * TEST_SHARDS);
}

static void
test_place_deterministic(void)
{
	const int32_t nodes[] = {1, 2, 3};
	const int32_t reordered[] = {3, 1, 2};
	int32_t a[TEST_TOTAL], b[TEST_TOTAL], c[TEST_TOTAL];

	place_all(nodes, 3, a);
	place_all(nodes, 3, b);
	place_all(reordered, 3, c);
	CU_ASSERT_EQUAL(memcmp(a, b, sizeof(a)), 0);
	CU_ASSERT_EQUAL(memcmp(a, c, sizeof(a)), 0);
	for (int i = 0; i < TEST_TOTAL; i++)
		CU_ASSERT_TRUE(a[i] >= 1 && a[i] <= 3);

	/* one node takes everything */
	const int32_t one[] = {7};
	place_all(one, 1, a);
	for (int i = 0; i < TEST_TOTAL; i++)
		CU_ASSERT_EQUAL(a[i], 7);

	/* groups are placed independently: not all groups look alike */
	place_all(nodes, 3, a);
	CU_ASSERT_NOT_EQUAL(memcmp(a, a + TEST_SHARDS, TEST_SHARDS * sizeof(int32_t)), 0);
}

static void
test_place_balance_and_movement(void)
{
	const int32_t three[] = {1, 2, 3};
	const int32_t four[] = {1, 2, 3, 4};
	int32_t before[TEST_TOTAL], after[TEST_TOTAL];
	int count3[5] = {0}, count4[5] = {0};
	int moved = 0;

	place_all(three, 3, before);
	place_all(four, 4, after);
	for (int i = 0; i < TEST_TOTAL; i++) {
		count3[before[i]]++;
		count4[after[i]]++;
		if (before[i] != after[i]) {
			moved++;
			/* a shard only ever moves to the new node */
			CU_ASSERT_EQUAL(after[i], 4);
		}
	}
	fprintf(stderr, "\n3 nodes: %d/%d/%d; 4 nodes: %d/%d/%d/%d; moved %d of %d\n", count3[1],
	        count3[2], count3[3], count4[1], count4[2], count4[3], count4[4], moved, TEST_TOTAL);
	/* about a quarter moves: 64 of 256 ideally */
	CU_ASSERT_TRUE(moved >= TEST_TOTAL / 8);
	CU_ASSERT_TRUE(moved <= TEST_TOTAL * 3 / 8);
	CU_ASSERT_EQUAL(count4[4], moved);
	/* every node gets a real share: ideal 85 of 256 with 3 nodes, 64 with 4 */
	for (int n = 1; n <= 3; n++) {
		CU_ASSERT_TRUE(count3[n] >= TEST_TOTAL / 6);
		CU_ASSERT_TRUE(count3[n] <= TEST_TOTAL / 2);
	}
	for (int n = 1; n <= 4; n++) {
		CU_ASSERT_TRUE(count4[n] >= TEST_TOTAL / 8);
		CU_ASSERT_TRUE(count4[n] <= TEST_TOTAL * 3 / 8);
	}

	/* removing the node again restores the old placement exactly */
	place_all(three, 3, after);
	CU_ASSERT_EQUAL(memcmp(before, after, sizeof(before)), 0);
}

void sg_register_tests(void);

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("shardmap", NULL, NULL);
	CU_add_test(s, "shard index vs PostgreSQL partitions", test_shard_index);
	CU_add_test(s, "placement is deterministic", test_place_deterministic);
	CU_add_test(s, "placement balance and movement", test_place_balance_and_movement);
}
