#ifndef SG_TESTS_UNIT_PLANNER_FIXTURE_H
#define SG_TESTS_UNIT_PLANNER_FIXTURE_H

/*
 * fixture.h: the hand-built catalog the planner's unit tests plan against.
 *
 * Nodes 1, 2, 3 (active); group 1 (int4, 4 shards placed on nodes
 * [1, 2, 3, 1]) holding t(id, v) distributed by id and u(id, w) co-located
 * with it; group 2 (text, 2 shards on [2, 3]) holding s(name, x); reference
 * table r(k, name).
 */
#include <string.h>

#include "storage/catalog.h"
#include "storage/pghash.h"

static char **
str_array(Arena *a, int n, const char *const *v)
{
	char **out = ARENA_NEW_ARRAY(a, char *, n);
	for (int i = 0; i < n; i++)
		out[i] = arena_strdup(a, v[i]);
	return out;
}

static uint32_t *
type_array(Arena *a, int n, const uint32_t *v)
{
	uint32_t *out = ARENA_NEW_ARRAY(a, uint32_t, n);
	memcpy(out, v, sizeof(uint32_t) * (size_t)n);
	return out;
}

static CatalogSnapshot *
build_snapshot(void)
{
	CatalogSnapshot *s = catalog_new_empty(1);
	s->has_namespace_view = true;
	Arena *a = s->arena;
	s->nnodes = 3;
	s->nodes = ARENA_NEW_ARRAY(a, CatNode, 3);
	for (int i = 0; i < 3; i++)
		s->nodes[i] = (CatNode){
		    .id = i + 1, .host = arena_strdup(a, "localhost"), .port = 6000 + i, .is_active = true};
	s->ngroups = 2;
	s->groups = ARENA_NEW_ARRAY(a, CatGroup, 2);
	s->groups[0] = (CatGroup){.id = 1, .shard_count = 4, .dist_type = PG_OID_INT4};
	s->groups[0].placement = ARENA_NEW_ARRAY(a, int32_t, 4);
	memcpy(s->groups[0].placement, (int32_t[]){1, 2, 3, 1}, 4 * sizeof(int32_t));
	s->groups[1] = (CatGroup){.id = 2, .shard_count = 2, .dist_type = PG_OID_TEXT};
	s->groups[1].placement = ARENA_NEW_ARRAY(a, int32_t, 2);
	memcpy(s->groups[1].placement, (int32_t[]){2, 3}, 2 * sizeof(int32_t));

	s->ntables = 4;
	s->tables = ARENA_NEW_ARRAY(a, CatTable, 4);
	s->tables[0] = (CatTable){.schema = arena_strdup(a, "public"),
	                          .name = arena_strdup(a, "t"),
	                          .kind = TABLE_DISTRIBUTED,
	                          .group_id = 1,
	                          .dist_column = arena_strdup(a, "id"),
	                          .dist_type = PG_OID_INT4,
	                          .ncolumns = 2,
	                          .columns = str_array(a, 2, (const char *[]){"id", "v"}),
	                          .column_types = type_array(a, 2, (uint32_t[]){PG_OID_INT4, 25}),
	                          .dist_colpos = 0,
	                          .dist_has_default = true /* one the gateway cannot evaluate */};
	s->tables[1] = (CatTable){.schema = arena_strdup(a, "public"),
	                          .name = arena_strdup(a, "u"),
	                          .kind = TABLE_DISTRIBUTED,
	                          .group_id = 1,
	                          .dist_column = arena_strdup(a, "id"),
	                          .dist_type = PG_OID_INT4,
	                          .ncolumns = 2,
	                          .columns = str_array(a, 2, (const char *[]){"id", "w"}),
	                          .dist_colpos = 0};
	s->tables[2] = (CatTable){.schema = arena_strdup(a, "public"),
	                          .name = arena_strdup(a, "s"),
	                          .kind = TABLE_DISTRIBUTED,
	                          .group_id = 2,
	                          .dist_column = arena_strdup(a, "name"),
	                          .dist_type = PG_OID_TEXT,
	                          .ncolumns = 2,
	                          .columns = str_array(a, 2, (const char *[]){"x", "name"}),
	                          .column_types = type_array(a, 2, (uint32_t[]){PG_OID_INT8, 25}),
	                          .dist_colpos = 1};
	s->tables[3] = (CatTable){.schema = arena_strdup(a, "public"),
	                          .name = arena_strdup(a, "r"),
	                          .kind = TABLE_REFERENCE,
	                          .ncolumns = 2,
	                          .columns = str_array(a, 2, (const char *[]){"k", "name"}),
	                          .dist_colpos = -1};
	return s;
}

static CatalogSnapshot *snap;
static Arena *arena;

static int
setup(void)
{
	snap = build_snapshot();
	arena = arena_create(1 << 16);
	return 0;
}

static int
teardown(void)
{
	arena_destroy(arena);
	catalog_unref(snap);
	return 0;
}

#endif /* SG_TESTS_UNIT_PLANNER_FIXTURE_H */
