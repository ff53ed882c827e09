/*
 * test_recovery.c: the parts of txn/recovery.c that need no node: option
 * defaults, the stats line, and runs over catalogs without active nodes
 * (nothing to list; garbage collection must not run while a catalogued node
 * is inactive, since it may hold prepared participants). The protocol
 * itself is tested against real nodes in tests/integration/test_recovery.py.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "common/arena.h"
#include "storage/catalog.h"
#include "txn/recovery.h"

void sg_register_tests(void);

static void
test_defaults(void)
{
	RecoveryOptions o;
	memset(&o, 0x5a, sizeof(o));
	recovery_options_defaults(&o);
	CU_ASSERT_PTR_NULL(o.user);
	CU_ASSERT_PTR_NULL(o.password);
	CU_ASSERT_PTR_NULL(o.dbname);
	CU_ASSERT_TRUE(o.min_age_sec > 0);
	CU_ASSERT_EQUAL(o.gc_commit_age_sec, RECOVERY_DEFAULT_GC_COMMIT_AGE_SEC);
	CU_ASSERT_EQUAL(o.gc_abort_age_sec, RECOVERY_DEFAULT_GC_ABORT_AGE_SEC);
	CU_ASSERT_TRUE(o.gc_abort_age_sec > o.gc_commit_age_sec);
	CU_ASSERT_EQUAL(o.lock_timeout_ms, RECOVERY_DEFAULT_LOCK_TIMEOUT_MS);
	CU_ASSERT_TRUE(o.connect_timeout_sec > 0);
}

static void
test_stats_format(void)
{
	RecoveryStats s = {.examined = 7,
	                   .committed = 3,
	                   .rolled_back = 2,
	                   .skipped_young = 1,
	                   .skipped_unreachable = 1,
	                   .gc_deleted = 12,
	                   .gc_ran = true};
	char line[400];
	CU_ASSERT_STRING_EQUAL(recovery_stats_format(&s, line, sizeof(line)),
	                       "examined=7 committed=3 rolled_back=2 skipped_young=1 "
	                       "skipped_unreachable=1 skipped_busy=0 failed=0 nodes_unreachable=0 "
	                       "gc_deleted=12 gc_ran=1");
	char small[10];
	recovery_stats_format(&s, small, sizeof(small));
	CU_ASSERT_STRING_EQUAL(small, "examined=");
}

static void
test_empty_catalog(void)
{
	CatalogSnapshot *snap = catalog_new_empty(1);
	RecoveryStats st;
	memset(&st, 0x5a, sizeof(st));
	SgError err;
	CU_ASSERT_TRUE(recovery_run(snap, "u", "db", 0, &st, &err));
	CU_ASSERT_EQUAL(st.examined, 0);
	CU_ASSERT_EQUAL(st.committed + st.rolled_back + st.gc_deleted + st.failed, 0);
	CU_ASSERT_TRUE(st.gc_ran); /* no node can hold anything */
	catalog_unref(snap);
}

static void
test_inactive_node_blocks_gc(void)
{
	CatalogSnapshot *snap = catalog_new_empty(1);
	snap->nnodes = 1;
	snap->nodes = ARENA_NEW_ARRAY(snap->arena, CatNode, 1);
	snap->nodes[0].id = 1;
	snap->nodes[0].host = arena_strdup(snap->arena, "127.0.0.1");
	snap->nodes[0].port = 1; /* never contacted: inactive nodes are not listed */
	snap->nodes[0].is_active = false;
	RecoveryStats st;
	SgError err;
	CU_ASSERT_TRUE(recovery_run(snap, NULL, NULL, 0, &st, &err));
	CU_ASSERT_EQUAL(st.examined, 0);
	CU_ASSERT_EQUAL(st.nodes_unreachable, 0);
	CU_ASSERT_FALSE(st.gc_ran);
	catalog_unref(snap);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("recovery", NULL, NULL);
	CU_add_test(s, "option defaults", test_defaults);
	CU_add_test(s, "stats line", test_stats_format);
	CU_add_test(s, "empty catalog", test_empty_catalog);
	CU_add_test(s, "inactive node blocks GC", test_inactive_node_blocks_gc);
}
