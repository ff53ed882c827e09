/*
 * test_catalog.c: the pure lookups of storage/catalog.c on a hand-built
 * snapshot (no network): find_table (NULL schema = public), find_group,
 * find_node, first_node (lowest active id), shard schema naming, refcount.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "storage/catalog.h"

void sg_register_tests(void);

/* build_snapshot: nodes 3 (inactive), 1, 2 (unsorted on purpose); one group; three tables */
static CatalogSnapshot *
build_snapshot(void)
{
	CatalogSnapshot *snap = catalog_new_empty(7);
	Arena *a = snap->arena;

	snap->nnodes = 3;
	snap->nodes = ARENA_NEW_ARRAY(a, CatNode, 3);
	snap->nodes[0] = (CatNode){.id = 3, .host = arena_strdup(a, "h3"), .port = 5003};
	snap->nodes[1] = (CatNode){.id = 1, .host = arena_strdup(a, "h1"), .port = 5001};
	snap->nodes[2] = (CatNode){.id = 2, .host = arena_strdup(a, "h2"), .port = 5002};
	snap->nodes[1].is_active = true;
	snap->nodes[2].is_active = true;

	snap->ngroups = 1;
	snap->groups = ARENA_NEW_ARRAY(a, CatGroup, 1);
	snap->groups[0].id = 4;
	snap->groups[0].shard_count = 2;
	snap->groups[0].dist_type = 23;
	snap->groups[0].placement = ARENA_NEW_ARRAY(a, int32_t, 2);
	snap->groups[0].placement[0] = 1;
	snap->groups[0].placement[1] = 2;

	snap->ntables = 3;
	snap->tables = ARENA_NEW_ARRAY(a, CatTable, 3);
	snap->tables[0] = (CatTable){.schema = arena_strdup(a, "public"),
	                             .name = arena_strdup(a, "orders"),
	                             .kind = TABLE_DISTRIBUTED,
	                             .group_id = 4,
	                             .dist_column = arena_strdup(a, "customer_id"),
	                             .dist_type = 23,
	                             .dist_colpos = 1};
	snap->tables[1] = (CatTable){.schema = arena_strdup(a, "sales"),
	                             .name = arena_strdup(a, "orders"),
	                             .kind = TABLE_REFERENCE,
	                             .dist_colpos = -1};
	snap->tables[2] = (CatTable){.schema = arena_strdup(a, "public"),
	                             .name = arena_strdup(a, "Nation"),
	                             .kind = TABLE_REFERENCE,
	                             .dist_colpos = -1};
	return snap;
}

static void
test_find_table(void)
{
	CatalogSnapshot *snap = build_snapshot();
	const CatTable *t = catalog_find_table(snap, NULL, "orders");
	CU_ASSERT_PTR_EQUAL(t, &snap->tables[0]);
	CU_ASSERT_PTR_EQUAL(catalog_find_table(snap, "public", "orders"), &snap->tables[0]);
	CU_ASSERT_PTR_EQUAL(catalog_find_table(snap, "sales", "orders"), &snap->tables[1]);
	CU_ASSERT_PTR_EQUAL(catalog_find_table(snap, NULL, "Nation"), &snap->tables[2]);
	/* names are exact: the caller folds unquoted identifiers */
	CU_ASSERT_PTR_NULL(catalog_find_table(snap, NULL, "nation"));
	CU_ASSERT_PTR_NULL(catalog_find_table(snap, "sales", "Nation"));
	CU_ASSERT_PTR_NULL(catalog_find_table(snap, "other", "orders"));
	CU_ASSERT_PTR_NULL(catalog_find_table(snap, NULL, "local_only"));
	catalog_unref(snap);
}

static void
test_find_group_node(void)
{
	CatalogSnapshot *snap = build_snapshot();
	const CatGroup *g = catalog_find_group(snap, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->shard_count, 2);
	CU_ASSERT_EQUAL(g->placement[1], 2);
	CU_ASSERT_PTR_NULL(catalog_find_group(snap, 5));
	CU_ASSERT_PTR_NULL(catalog_find_group(snap, 0));

	const CatNode *n = catalog_find_node(snap, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->host, "h2");
	CU_ASSERT_EQUAL(n->port, 5002);
	CU_ASSERT_PTR_EQUAL(catalog_find_node(snap, 3), &snap->nodes[0]); /* inactive still found */
	CU_ASSERT_PTR_NULL(catalog_find_node(snap, 9));
	catalog_unref(snap);
}

static void
test_first_node(void)
{
	CatalogSnapshot *snap = build_snapshot();
	const CatNode *first = catalog_first_node(snap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_EQUAL(first->id, 1);

	snap->nodes[1].is_active = false; /* node 1 down: node 2 holds local tables */
	first = catalog_first_node(snap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_EQUAL(first->id, 2);

	snap->nodes[2].is_active = false;
	CU_ASSERT_PTR_NULL(catalog_first_node(snap));
	catalog_unref(snap);
}

static void
test_empty(void)
{
	CatalogSnapshot *snap = catalog_new_empty(42);
	CU_ASSERT_EQUAL(snap->version, 42);
	CU_ASSERT_EQUAL(snap->refcount, 1);
	CU_ASSERT_PTR_NOT_NULL(snap->arena);
	CU_ASSERT_PTR_NULL(catalog_first_node(snap));
	CU_ASSERT_PTR_NULL(catalog_find_table(snap, NULL, "t"));
	CU_ASSERT_PTR_NULL(catalog_find_group(snap, 1));
	CU_ASSERT_PTR_NULL(catalog_find_node(snap, 1));
	catalog_ref(snap);
	CU_ASSERT_EQUAL(snap->refcount, 2);
	catalog_unref(snap);
	CU_ASSERT_EQUAL(snap->refcount, 1);
	catalog_unref(snap); /* frees */
	catalog_unref(NULL); /* no-op */
}

static void
test_shard_schema(void)
{
	Arena *a = arena_create(1024);
	CU_ASSERT_STRING_EQUAL(catalog_shard_schema(a, 1, 0), "sg_g1_0");
	CU_ASSERT_STRING_EQUAL(catalog_shard_schema(a, 12, 31), "sg_g12_31");
	CU_ASSERT_STRING_EQUAL(catalog_shard_schema(a, 4096, 4095), "sg_g4096_4095");
	arena_destroy(a);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("catalog", NULL, NULL);
	CU_add_test(s, "find_table", test_find_table);
	CU_add_test(s, "find_group_node", test_find_group_node);
	CU_add_test(s, "first_node", test_first_node);
	CU_add_test(s, "empty_and_refcount", test_empty);
	CU_add_test(s, "shard_schema", test_shard_schema);
}
