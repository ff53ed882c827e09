/*
 * test_catalog.c: the pure lookups of storage/catalog.c on a hand-built
 * snapshot (no network): find_table (NULL schema = public), find_group,
 * find_node, first_node (lowest active id), shard schema naming, refcount.
 * A second suite covers the pure text helpers of storage/admin.c (COPY text
 * field decoding, qualified-name splitting); the rest of admin.c needs real
 * nodes and is tested by tests/integration/test_admin_ops.py.
 */
#include <CUnit/CUnit.h>
#include <string.h>

#include "storage/admin.h"
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
	CU_ASSERT_STRING_EQUAL(catalog_shard_schema(a, 2147483647, 0), "sg_g2147483647_0");
	CU_ASSERT_STRING_EQUAL(catalog_shard_schema(a, -1, 7), "sg_g-1_7");
	arena_destroy(a);
}

/* one COPY text line: real tabs separate fields, backslash escapes inside them */
static const char COPY_LINE[] = "42\t"
                                "tab\\there\t"
                                "\\N\t"
                                "back\\\\slash \\x41\\101\\b\\f\\n\\r\\v\\q\t"
                                "\\\\N\t"
                                "\n";

typedef struct CopyCase {
	int index;
	bool is_found;
	bool is_null;
	const char *value;
} CopyCase;

static void
test_copy_field(void)
{
	static const CopyCase cases[] = {
	    {0, true, false, "42"},  {1, true, false, "tab\there"},
	    {2, true, true, NULL},   {3, true, false, "back\\slash AA\b\f\n\r\vq"},
	    {4, true, false, "\\N"}, /* an escaped backslash then N is the text \N */
	    {5, true, false, ""},    /* empty last field before the newline */
	    {6, false, false, NULL},
	};
	Arena *a = arena_create(1024);
	for (size_t i = 0; i < SG_ARRAY_LEN(cases); i++) {
		const CopyCase *c = &cases[i];
		char *v = NULL;
		bool is_null = false;
		bool found = admin_copy_field(a, COPY_LINE, strlen(COPY_LINE), c->index, &v, &is_null);
		CU_ASSERT_EQUAL(found, c->is_found);
		if (!found || !c->is_found)
			continue;
		CU_ASSERT_EQUAL(is_null, c->is_null);
		if (c->value == NULL) {
			CU_ASSERT_PTR_NULL(v);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(v);
			CU_ASSERT_STRING_EQUAL(v, c->value);
		}
	}
	/* no trailing newline, single field, a lone trailing backslash dropped (as PostgreSQL's
	 * CopyReadAttributesText does) */
	char *v;
	bool is_null;
	CU_ASSERT_TRUE(admin_copy_field(a, "abc\\", 4, 0, &v, &is_null));
	CU_ASSERT_STRING_EQUAL(v, "abc");
	CU_ASSERT_TRUE(admin_copy_field(a, "\\N", 2, 0, &v, &is_null));
	CU_ASSERT_TRUE(is_null);
	/* octal with three digits, hex with one */
	CU_ASSERT_TRUE(admin_copy_field(a, "\\1011\\x4g", 9, 0, &v, &is_null));
	CU_ASSERT_STRING_EQUAL(v, "A1\x04g");
	arena_destroy(a);
}

typedef struct NameCase {
	const char *text;
	const char *schema; /* NULL: unqualified */
	const char *name;   /* NULL: syntax error */
} NameCase;

static void
test_split_name(void)
{
	static const NameCase cases[] = {
	    {"orders", NULL, "orders"},
	    {"Orders", NULL, "orders"},
	    {"public.Orders", "public", "orders"},
	    {"\"My Schema\".\"Weird Tab\"", "My Schema", "Weird Tab"},
	    {"s.\"x.y\"", "s", "x.y"},
	    {"\"a\"\"b\"", NULL, "a\"b"},
	    {"  sales . orders ", "sales", "orders"},
	    {"", NULL, NULL},
	    {"a.", NULL, NULL},
	    {".a", NULL, NULL},
	    {"a.b.c", NULL, NULL},
	    {"\"open", NULL, NULL},
	    {"\"\"", NULL, NULL},
	    {"a b", NULL, NULL},
	};
	Arena *a = arena_create(1024);
	for (size_t i = 0; i < SG_ARRAY_LEN(cases); i++) {
		const NameCase *c = &cases[i];
		char *schema = NULL, *name = NULL;
		SgError err = {0};
		bool ok = admin_split_name(a, c->text, &schema, &name, &err);
		if (c->name == NULL) {
			CU_ASSERT_FALSE(ok);
			CU_ASSERT_STRING_EQUAL(err.sqlstate, "42602");
			continue;
		}
		CU_ASSERT_TRUE_FATAL(ok);
		CU_ASSERT_STRING_EQUAL(name, c->name);
		if (c->schema == NULL) {
			CU_ASSERT_PTR_NULL(schema);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
			CU_ASSERT_STRING_EQUAL(schema, c->schema);
		}
	}
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

	CU_pSuite t = CU_add_suite("admin_text", NULL, NULL);
	CU_add_test(t, "copy_field", test_copy_field);
	CU_add_test(t, "split_name", test_split_name);
}
