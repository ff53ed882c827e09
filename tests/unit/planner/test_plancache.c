/*
 * test_plancache.c: sqllex shape keys, the simple-protocol plan cache and
 * prepared-statement routing, against the planner itself on the fixture
 * catalog (fixture.h): every cached plan is compared with the plan the
 * planner makes for the same string (same kind, node, tag; the cached SQL is
 * the client's text with the shard schema the planner chose).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "planner/errpos.h"
#include "planner/plancache.h"
#include "planner/planner.h"
#include "planner/prepared_route.h"
#include "planner/sqllex.h"
#include "storage/shardmap.h"
#include "tests/unit/planner/fixture.h"

void sg_register_tests(void);

static const char *
key_of(const char *sql)
{
	SqlShape sh;
	return sqllex_shape(arena, sql, &sh) ? sh.key : NULL;
}

static void
test_shape_keys(void)
{
	const char *k1 = key_of("SELECT v FROM t WHERE id = 5");
	CU_ASSERT_PTR_NOT_NULL_FATAL(k1);
	CU_ASSERT_STRING_EQUAL(k1, key_of("SELECT v FROM t WHERE id = 123456"));
	/* whitespace and comments are one space; adjacency is kept */
	CU_ASSERT_STRING_EQUAL(k1, key_of("SELECT  v\n FROM t /* c /* nested */ */ WHERE id = 9 -- x"));
	CU_ASSERT_STRING_NOT_EQUAL(k1, key_of("SELECT v FROM t WHERE id=5"));
	CU_ASSERT_STRING_NOT_EQUAL(key_of("SELECT a:=1"), key_of("SELECT a : = 1"));
	/* literal classes: int4, other numbers (also integers beyond int4), strings */
	CU_ASSERT_STRING_NOT_EQUAL(k1, key_of("SELECT v FROM t WHERE id = 5.0"));
	CU_ASSERT_STRING_NOT_EQUAL(k1, key_of("SELECT v FROM t WHERE id = '5'"));
	CU_ASSERT_STRING_NOT_EQUAL(k1, key_of("SELECT v FROM t WHERE id = 2147483648"));
	CU_ASSERT_STRING_EQUAL(k1, key_of("SELECT v FROM t WHERE id = 2147483647"));
	CU_ASSERT_STRING_EQUAL(key_of("SELECT 1.5e3"), key_of("SELECT .5"));
	/* a '?' operator next to a letter is not a literal marker */
	CU_ASSERT_STRING_NOT_EQUAL(key_of("SELECT x ?i"), key_of("SELECT x 1"));
	/* refused: subtle tokens, parameters, several statements */
	const char *refused[] = {"SELECT E'a\\n'",     "SELECT B'101'",
	                         "SELECT x'1F'",       "SELECT $1",
	                         "SELECT $$a$$",       "SELECT 'a'\n'b'",
	                         "SELECT 1e",          "SELECT 123abc",
	                         "SELECT 1..2",        "SELECT 'a\\b'",
	                         "SELECT 1; SELECT 2", "SELECT 'open",
	                         "SELECT /* open",     "",
	                         "  -- only a comment"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		SqlShape sh;
		if (sqllex_shape(arena, refused[i], &sh))
			printf("\n  not refused: %s\n", refused[i]);
		CU_ASSERT_FALSE(sqllex_shape(arena, refused[i], &sh));
	}
	SqlShape sh;
	CU_ASSERT_TRUE_FATAL(sqllex_shape(arena, "SELECT 'it''s', 42, x FROM \"T\" ;  ", &sh));
	CU_ASSERT_EQUAL(sh.nliterals, 2);
	CU_ASSERT_STRING_EQUAL(
	    sqllex_literal_value(arena, "SELECT 'it''s', 42, x FROM \"T\" ;  ", &sh.toks[1]), "it's");
	CU_ASSERT_EQUAL(sh.toks[7].kind, TOK_QIDENT);
}

/* plan_normally: the planner's own plan of one statement */
static DistPlan *
plan_normally(const char *sql, StmtList *sl)
{
	SgError err;
	DistPlan *p = NULL;
	CU_ASSERT_TRUE_FATAL(planner_split(arena, sql, sl, &err));
	CU_ASSERT_EQUAL_FATAL(sl->nstmts, 1);
	CU_ASSERT_TRUE_FATAL(
	    planner_plan_stmt_sp(snap, sl->stmts[0], sl->texts[0], NULL, NULL, arena, &p, &err));
	return p;
}

/* learn_from: plan sql normally and let the cache learn it */
static void
learn_from(PlanCache *pc, const char *sql)
{
	DistPlan *ignored;
	CU_ASSERT_EQUAL(plancache_lookup(pc, snap, sql, NULL, arena, &ignored), PC_MISS);
	StmtList sl;
	DistPlan *p = plan_normally(sql, &sl);
	plancache_learn(pc, snap, sql, NULL, sl.stmts[0], p, arena);
}

/* check_hit: sql is served from the cache, with the planner's node, tag and shard */
static void
check_hit(PlanCache *pc, const char *sql, int32_t shard)
{
	DistPlan *c = NULL;
	PlanCacheResult r = plancache_lookup(pc, snap, sql, NULL, arena, &c);
	CU_ASSERT_EQUAL(r, PC_HIT);
	if (r != PC_HIT) {
		printf("\n  no hit: %s\n", sql);
		return;
	}
	StmtList sl;
	DistPlan *p = plan_normally(sql, &sl);
	CU_ASSERT_EQUAL(c->kind, p->kind);
	if (p->kind != PLAN_TASKS)
		return;
	CU_ASSERT_EQUAL_FATAL(p->ntasks, 1);
	CU_ASSERT_EQUAL(c->tasks[0].node_id, p->tasks[0].node_id);
	CU_ASSERT_STRING_EQUAL(c->command_tag, p->command_tag);
	CU_ASSERT_EQUAL(c->returns_rows, p->returns_rows);
	CU_ASSERT_EQUAL(c->is_write, p->is_write);
	if (shard >= 0) {
		char schema[32];
		snprintf(schema, sizeof(schema), "sg_g1_%d.", (int)shard);
		CU_ASSERT_PTR_NOT_NULL(strstr(c->tasks[0].sql, schema));
		CU_ASSERT_PTR_NOT_NULL(strstr(p->tasks[0].sql, schema));
	} else {
		CU_ASSERT_STRING_EQUAL(c->tasks[0].sql, sql);
	}
}

static int32_t
shard_of(int v)
{
	char text[16];
	snprintf(text, sizeof(text), "%d", v);
	uint64_t h;
	SgError err;
	CU_ASSERT_TRUE_FATAL(pghash_text_value(PG_OID_INT4, text, &h, &err));
	return shardmap_shard_index(h, 4);
}

static void
test_cache_router(void)
{
	PlanCache *pc = plancache_create(64);
	const char *shapes[] = {"SELECT v FROM t WHERE id = %d",
	                        "select * from t where v > 3 and id = %d order by v limit 2",
	                        "UPDATE t SET v = v + -2 WHERE id = %d",
	                        "DELETE FROM t WHERE id = '%d' RETURNING v",
	                        "INSERT INTO t (v, id) VALUES (7, %d)",
	                        "INSERT INTO t VALUES (%d, 1) ON CONFLICT (id) DO NOTHING",
	                        "SELECT t.v, r.name FROM t JOIN r ON r.k = t.v WHERE t.id = %d"};
	char sql[256];
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(sql, sizeof(sql), shapes[i], 1);
		learn_from(pc, sql);
		for (int v = 2; v < 40; v += 3) {
			snprintf(sql, sizeof(sql), shapes[i], v);
			check_hit(pc, sql, shard_of(v));
		}
	}
	/* local SELECT and transaction control */
	learn_from(pc, "SELECT 1");
	check_hit(pc, "SELECT 99", -1);
	learn_from(pc, "BEGIN");
	check_hit(pc, "  BEGIN -- again", -1);
	PlanCacheStats st = plancache_stats(pc);
	CU_ASSERT_EQUAL(st.learnt, 9);
	CU_ASSERT_EQUAL(st.entries, 9);
	plancache_destroy(pc);
}

static void
test_cache_refuses(void)
{
	PlanCache *pc = plancache_create(64);
	/* plans that depend on more than one literal, or not through a bare literal */
	const char *shapes[] = {"SELECT v FROM t WHERE id IN (%d, 2)",
	                        "SELECT v FROM t WHERE id = %d OR id = 2",
	                        "SELECT v FROM t WHERE id = %d AND id = 2",
	                        "SELECT v FROM t WHERE id = %d::int4",
	                        "SELECT v FROM public.t WHERE id = %d",
	                        "SELECT v FROM t WHERE v = %d",
	                        "INSERT INTO t VALUES (%d, 1), (2, 2)",
	                        "SELECT t.v FROM t JOIN u ON u.id = t.id WHERE t.id = %d",
	                        "SELECT create_distributed_table('x', 'y') WHERE %d > 0",
	                        "INSERT INTO r VALUES (%d, 'a')"};
	char sql[256];
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		snprintf(sql, sizeof(sql), shapes[i], 1);
		DistPlan *c = NULL;
		if (plancache_lookup(pc, snap, sql, NULL, arena, &c) == PC_MISS) {
			StmtList sl;
			SgError err;
			DistPlan *p = NULL;
			CU_ASSERT_TRUE_FATAL(planner_split(arena, sql, &sl, &err));
			if (planner_plan_stmt_sp(snap, sl.stmts[0], sl.texts[0], NULL, NULL, arena, &p, &err))
				plancache_learn(pc, snap, sql, NULL, sl.stmts[0], p, arena);
		}
		snprintf(sql, sizeof(sql), shapes[i], 7);
		PlanCacheResult r = plancache_lookup(pc, snap, sql, NULL, arena, &c);
		if (r == PC_HIT)
			printf("\n  cached: %s\n", sql);
		CU_ASSERT_NOT_EQUAL(r, PC_HIT);
	}
	plancache_destroy(pc);
}

static void
test_cache_invalidation(void)
{
	PlanCache *pc = plancache_create(2);
	learn_from(pc, "SELECT v FROM t WHERE id = 1");
	DistPlan *c;
	CU_ASSERT_EQUAL(plancache_lookup(pc, snap, "SELECT v FROM t WHERE id = 3", NULL, arena, &c),
	                PC_HIT);
	/* another search_path is another key */
	CU_ASSERT_EQUAL(
	    plancache_lookup(pc, snap, "SELECT v FROM t WHERE id = 3", "app, public", arena, &c),
	    PC_MISS);
	/* a new catalog snapshot empties the cache */
	CatalogSnapshot *other = build_snapshot();
	CU_ASSERT_EQUAL(plancache_lookup(pc, other, "SELECT v FROM t WHERE id = 3", NULL, arena, &c),
	                PC_MISS);
	CU_ASSERT_EQUAL(plancache_stats(pc).entries, 0);
	/* a value the column type rejects goes to the planner */
	learn_from(pc, "SELECT v FROM t WHERE id = '1'");
	CU_ASSERT_EQUAL(plancache_lookup(pc, snap, "SELECT v FROM t WHERE id = 'x'", NULL, arena, &c),
	                PC_UNCACHEABLE);
	/* capacity bounds the entries */
	learn_from(pc, "SELECT 1");
	learn_from(pc, "SELECT 1, 2");
	CU_ASSERT(plancache_stats(pc).entries <= 2);
	plancache_destroy(pc);
	catalog_unref(other);
}

/* route_check: an Execute with $1 = v is routed like the planner routes it */
static void
route_check(PreparedRoute *r, const ParsedStmt *stmt, const char *text, int v, bool expect_hit)
{
	char val[16];
	snprintf(val, sizeof(val), "%d", v);
	const char *values[] = {val, "5"};
	int32_t lengths[] = {(int32_t)strlen(val), 1};
	int16_t formats[] = {0, 0};
	uint32_t types[] = {0, 0};
	PlanParams pp = {2, values, lengths, formats, types};
	SgError err;
	DistPlan *p = NULL, *c = NULL;
	CU_ASSERT_TRUE_FATAL(planner_plan_stmt_sp(snap, stmt, text, NULL, &pp, arena, &p, &err));
	bool hit = prepared_route_plan(r, snap, NULL, &pp, arena, &c);
	if (!hit)
		prepared_route_learn(r, snap, NULL, stmt, text, &pp, p, arena);
	if (!expect_hit) {
		CU_ASSERT_FALSE(hit);
		return;
	}
	if (!hit) /* first time on this shard */
		CU_ASSERT_TRUE_FATAL(prepared_route_plan(r, snap, NULL, &pp, arena, &c));
	CU_ASSERT_EQUAL(c->tasks[0].node_id, p->tasks[0].node_id);
	CU_ASSERT_STRING_EQUAL(c->tasks[0].sql, p->tasks[0].sql);
	CU_ASSERT_TRUE(c->tasks[0].uses_params);
	CU_ASSERT_STRING_EQUAL(c->command_tag, p->command_tag);
}

static void
test_prepared_route(void)
{
	struct {
		const char *sql;
		bool routes;
	} cases[] = {
	    {"SELECT v FROM t WHERE id = $1 AND v = $2", true},
	    {"UPDATE t SET v = $2 WHERE id = $1", true},
	    {"INSERT INTO t (v, id) VALUES ($2, $1)", true},
	    {"SELECT v FROM t WHERE id = $1 OR id = $2", false},
	    {"SELECT v FROM t WHERE v = $1 AND id = $2", true}, /* routes by $2 = 5: one shard */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		StmtList sl;
		SgError err;
		CU_ASSERT_TRUE_FATAL(planner_split(arena, cases[i].sql, &sl, &err));
		PreparedRoute *r = prepared_route_create();
		for (int v = 1; v < 30; v++)
			route_check(r, sl.stmts[0], sl.texts[0], v, cases[i].routes && v > 1);
		prepared_route_destroy(r);
	}
}

static void
test_error_positions(void)
{
	/* the node's position points into the fan-out SQL; the client's is 8 */
	const char *orig = "SELECT NoSuch FROM items";
	const char *sent = "SELECT nosuch FROM sg_g1_0.items items UNION ALL SELECT nosuch FROM "
	                   "sg_g1_1.items items";
	CU_ASSERT_EQUAL(errpos_map(sent, orig, 8), 8);
	/* the same token later in the statement: the same occurrence */
	const char *o2 = "SELECT a FROM t WHERE a = 1 AND zz > 2";
	const char *s2 = "SELECT a FROM sg_g1_3.t WHERE a = 1 AND zz > 2";
	CU_ASSERT_EQUAL(errpos_map(s2, o2, (int)(strstr(s2, "zz") - s2) + 1),
	                (int)(strstr(o2, "zz") - o2) + 1);
	CU_ASSERT_EQUAL(errpos_map(s2, o2, (int)(strstr(s2, "= 1") - s2) + 1),
	                (int)(strstr(o2, "= 1") - o2) + 1);
	/* identical texts keep the position; a token not in the client's text drops it */
	CU_ASSERT_EQUAL(errpos_map(o2, o2, 5), 5);
	CU_ASSERT_EQUAL(errpos_map(s2, o2, (int)(strstr(s2, "sg_g1_3") - s2) + 1), 0);
	/* characters, not bytes */
	CU_ASSERT_EQUAL(errpos_map("SELECT 'é', bad FROM sg_g1_0.t", "SELECT 'é', bad FROM t", 13), 13);
	/* identifiers match whole words only */
	CU_ASSERT_EQUAL(errpos_map("SELECT ab, a FROM x.t", "SELECT ab, a FROM t", 12), 12);
}

void
sg_register_tests(void)
{
	CU_pSuite s = CU_add_suite("plancache", setup, teardown);
	CU_add_test(s, "shape_keys", test_shape_keys);
	CU_add_test(s, "cache_router", test_cache_router);
	CU_add_test(s, "cache_refuses", test_cache_refuses);
	CU_add_test(s, "cache_invalidation", test_cache_invalidation);
	CU_add_test(s, "prepared_route", test_prepared_route);
	CU_add_test(s, "error_positions", test_error_positions);
}
