/*
 * test_gid.c: 2PC transaction ids are built in one shape and anything else
 * is rejected (they are pasted into PREPARE TRANSACTION literals).
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "txn/gid.h"

void sg_register_tests(void);

static void
test_make_and_split(void)
{
	char gid[GID_MAX_LEN], pgid[GID_MAX_LEN], base[GID_MAX_LEN];
	int32_t node = 0;
	int32_t decider = 0;
	gid_make(gid, sizeof(gid), "0a1b2c3d", 42, 2);
	CU_ASSERT_STRING_EQUAL(gid, "sg_0a1b2c3d_42_2");
	gid_participant(pgid, sizeof(pgid), gid, 3);
	CU_ASSERT_STRING_EQUAL(pgid, "sg_0a1b2c3d_42_2_3");
	CU_ASSERT_TRUE(gid_split(pgid, base, sizeof(base), &decider, &node));
	CU_ASSERT_STRING_EQUAL(base, gid);
	CU_ASSERT_EQUAL(decider, 2);
	CU_ASSERT_EQUAL(node, 3);
	CU_ASSERT_FALSE(gid_split(gid, base, sizeof(base), &decider, &node)); /* not a participant */
}

static void
test_validation(void)
{
	static const struct {
		const char *gid;
		bool valid;
	} cases[] = {
	    {"sg_abc_1_2", true},   {"sg_abc_1_2_3", true},
	    {"sg_abc_1", false},    {"sg_abc", false},
	    {"sg__1_2", false},     {"sg_ABC_1_2", false},
	    {"sg_abc_1_2_", false}, {"sg_abc_1_2_3_4", false},
	    {"xx_abc_1_2", false},  {"sg_abc_1_2'; DROP", false},
	    {"sg_abc_x_2", false},  {"", false},
	    {"sg_a b_1_2", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CU_ASSERT_EQUAL(gid_is_valid(cases[i].gid), cases[i].valid);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("gid", NULL, NULL);
	CU_add_test(s, "make and split", test_make_and_split);
	CU_add_test(s, "validation", test_validation);
}
