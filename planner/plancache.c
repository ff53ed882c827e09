/*
 * plancache.c: the simple-protocol plan cache (plancache.h).
 *
 * Learning re-checks, on the parse tree, that the statement's plan depends on
 * its literals only as the cache can redo it, and cross-checks the cache's
 * own routing of the learnt statement against the plan the planner made
 * (same shard, same node) before storing anything. Looking up costs one pass
 * of sqllex over the string and one hash probe; no libpg_query, no
 * protobuf, no deparse.
 */
#include "planner/plancache.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "planner/analyze.h"
#include "planner/sqllex.h"
#include "planner/tasks.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

typedef enum EntryKind {
	ENTRY_NONE,  /* not cacheable */
	ENTRY_ROUTE, /* one distributed relation, routed by one literal */
	ENTRY_LOCAL, /* SELECT without catalogued tables: the text on node_id */
	ENTRY_TXN    /* transaction control */
} EntryKind;

typedef struct Entry {
	uint64_t hash;
	char *key; /* search_path "\002" shape key */
	size_t keylen;
	EntryKind kind;
	/* ENTRY_ROUTE */
	int32_t rel_tok;       /* token index of the relation's name */
	int32_t lit_tok;       /* token index of the routing literal */
	const CatTable *table; /* in the cache's snapshot */
	const CatGroup *group;
	/* ENTRY_ROUTE / ENTRY_LOCAL */
	int32_t node_id; /* ENTRY_LOCAL */
	RelayShape shape;
	/* ENTRY_TXN */
	TxnCommand txn_cmd;
	char *txn_sql;
} Entry;

struct PlanCache {
	int32_t capacity;
	int32_t nslots; /* power of two, >= 2 * capacity */
	int32_t nentries;
	Entry **slots;
	CatalogSnapshot *snap; /* the snapshot every entry was learnt under (a reference) */
	PlanCacheStats stats;
};

PlanCache *
plancache_create(int32_t capacity)
{
	PlanCache *pc = calloc(1, sizeof(*pc));
	if (pc == NULL)
		return NULL;
	pc->capacity = capacity < 0 ? 0 : capacity;
	pc->nslots = 16;
	while (pc->nslots < 2 * pc->capacity)
		pc->nslots *= 2;
	pc->slots = calloc((size_t)pc->nslots, sizeof(Entry *));
	if (pc->slots == NULL) {
		free(pc);
		return NULL;
	}
	return pc;
}

static void
entry_free(Entry *e)
{
	free(e->key);
	free(e->shape.command_tag);
	free(e->txn_sql);
	free(e);
}

static void
plancache_clear(PlanCache *pc)
{
	for (int32_t i = 0; i < pc->nslots; i++) {
		if (pc->slots[i] != NULL)
			entry_free(pc->slots[i]);
		pc->slots[i] = NULL;
	}
	pc->nentries = 0;
	if (pc->snap != NULL)
		catalog_unref(pc->snap);
	pc->snap = NULL;
}

void
plancache_destroy(PlanCache *pc)
{
	if (pc == NULL)
		return;
	plancache_clear(pc);
	free(pc->slots);
	free(pc);
}

PlanCacheStats
plancache_stats(const PlanCache *pc)
{
	PlanCacheStats st = pc->stats;
	st.entries = pc->nentries;
	return st;
}

/* full_key: search_path "\002" shape key, in a */
static char *
full_key(Arena *a, const char *search_path, const SqlShape *sh, size_t *len)
{
	size_t splen = search_path != NULL ? strlen(search_path) : 0;
	char *k = arena_alloc(a, splen + 1 + sh->keylen + 1);
	if (splen > 0)
		memcpy(k, search_path, splen);
	k[splen] = '\002';
	memcpy(k + splen + 1, sh->key, sh->keylen + 1);
	*len = splen + 1 + sh->keylen;
	return k;
}

static Entry **
find_slot(PlanCache *pc, uint64_t hash, const char *key, size_t len)
{
	uint32_t mask = (uint32_t)pc->nslots - 1;
	for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		Entry *e = pc->slots[i];
		if (e == NULL || (e->hash == hash && e->keylen == len && memcmp(e->key, key, len) == 0))
			return &pc->slots[i];
	}
}

/* literal_shard: the shard index the literal token hashes to; false if it does not parse */
static bool
literal_shard(Arena *a, const char *sql, const SqlTok *lit, const CatTable *t, const CatGroup *g,
              int32_t *shard)
{
	const char *v = sqllex_literal_value(a, sql, lit);
	uint64_t h;
	SgError ignored;
	if (!pghash_text_value(t->dist_type, v, &h, &ignored))
		return false;
	*shard = shardmap_shard_index(h, g->shard_count);
	return true;
}

/* route_sql: sql with the shard schema and a dot inserted before the relation's token */
static char *
route_sql(Arena *a, const char *sql, const SqlTok *rel, int32_t group_id, int32_t shard)
{
	char *schema = catalog_shard_schema(a, group_id, shard);
	size_t slen = strlen(schema), len = strlen(sql), at = (size_t)rel->off;
	char *out = arena_alloc(a, len + slen + 2);
	memcpy(out, sql, at);
	memcpy(out + at, schema, slen);
	out[at + slen] = '.';
	memcpy(out + at + slen + 1, sql + at, len - at + 1);
	return out;
}

PlanCacheResult
plancache_lookup(PlanCache *pc, CatalogSnapshot *snap, const char *sql, const char *search_path,
                 Arena *a, DistPlan **out)
{
	if (pc == NULL || pc->capacity == 0)
		return PC_UNCACHEABLE;
	if (pc->snap != snap)
		plancache_clear(pc); /* the catalog changed: every entry may be wrong */
	SqlShape sh;
	if (!sqllex_shape(a, sql, &sh)) {
		pc->stats.uncacheable++;
		return PC_UNCACHEABLE;
	}
	size_t klen;
	char *key = full_key(a, search_path, &sh, &klen);
	uint64_t hash = sg_hash_words(SG_FNV_INIT, key, klen);
	Entry *e = *find_slot(pc, hash, key, klen);
	if (e == NULL) {
		pc->stats.misses++;
		return PC_MISS;
	}
	if (e->kind == ENTRY_NONE) {
		pc->stats.uncacheable++;
		return PC_UNCACHEABLE;
	}
	DistPlan *plan;
	if (e->kind == ENTRY_TXN) {
		plan = ARENA_NEW(a, DistPlan);
		plan->kind = PLAN_TXN_CONTROL;
		plan->txn_cmd = e->txn_cmd;
		plan->txn_sql = e->txn_sql;
	} else {
		int32_t node = e->node_id;
		const char *task_sql = sql;
		if (e->kind == ENTRY_ROUTE) {
			int32_t shard;
			if (!literal_shard(a, sql, &sh.toks[e->lit_tok], e->table, e->group, &shard)) {
				pc->stats.uncacheable++;
				return PC_UNCACHEABLE; /* the planner decides (e.g. a value out of range) */
			}
			node = e->group->placement[shard];
			task_sql = route_sql(a, sql, &sh.toks[e->rel_tok], e->group->id, shard);
		}
		plan = tasks_relay_plan(a, node, task_sql, false, &e->shape);
	}
	pc->stats.hits++;
	*out = plan;
	return PC_HIT;
}

/* token_at: index of the token starting at byte offset off, -1 if none */
static int32_t
token_at(const SqlShape *sh, int32_t off)
{
	for (int32_t i = 0; i < sh->ntoks; i++)
		if (sh->toks[i].off == off)
			return i;
	return -1;
}

/*
 * learn_route: fill e for a router statement whose only distributed relation
 * is written unqualified and pinned by one bare literal
 */
static bool
learn_route(const Analysis *an, const char *sql, const SqlShape *sh, const DistPlan *plan, Arena *a,
            Entry *e)
{
	int32_t r;
	const ParseValue *lit = analyze_single_pin(an, &r);
	if (lit == NULL || lit->kind != PV_CONST || lit->text == NULL || lit->location < 0)
		return false;
	const RelInfo *ri = &an->rels[r];
	const ParseRel *pr = &an->pi.rels[r];
	if (pr->schema != NULL || pr->location < 0)
		return false;
	int32_t lt = token_at(sh, lit->location), rt = token_at(sh, pr->location);
	if (lt < 0 || rt < 0 || !sqllex_is_literal(sh->toks[lt].kind) ||
	    (sh->toks[rt].kind != TOK_IDENT && sh->toks[rt].kind != TOK_QIDENT))
		return false;
	int32_t shard;
	if (!literal_shard(a, sql, &sh->toks[lt], ri->table, ri->group, &shard) ||
	    (an->pi.kind != PARSE_INSERT && shard != ri->shard) ||
	    ri->group->placement[shard] != plan->tasks[0].node_id)
		return false;
	e->kind = ENTRY_ROUTE;
	e->rel_tok = rt;
	e->lit_tok = lt;
	e->table = ri->table;
	e->group = ri->group;
	return true;
}

/* plain_single_task: one relayed task of the client's text, nothing the cache could not redo */
static bool
plain_single_task(const DistPlan *p)
{
	return tasks_lone_relay(p) && !p->tasks[0].uses_params;
}

static void
learn(const CatalogSnapshot *snap, const char *sql, const char *search_path, const ParsedStmt *stmt,
      const DistPlan *plan, const SqlShape *sh, Arena *a, Entry *e)
{
	e->kind = ENTRY_NONE;
	if (plan->kind == PLAN_TXN_CONTROL) {
		if (sh->nliterals == 0 && plan->txn_sql != NULL) {
			e->kind = ENTRY_TXN;
			e->txn_cmd = plan->txn_cmd;
			e->txn_sql = strdup(plan->txn_sql);
		}
		return;
	}
	if (!plain_single_task(plan))
		return;
	Analysis an;
	SgError err;
	if (!analyze_stmt(snap, stmt, sql, search_path, NULL, a, &an, &err))
		return;
	const ParseInfo *pi = &an.pi;
	if (pi->func.mentioned != NULL)
		return;
	bool dml = pi->kind == PARSE_INSERT || pi->kind == PARSE_UPDATE || pi->kind == PARSE_DELETE;
	if (pi->kind != PARSE_SELECT && !dml)
		return;
	const CatNode *first = catalog_first_node(snap);
	if (an.ndist == 0) {
		/* planner.c's plan_one_node: the text on the first node (reference tables are read
		 * there too; written on every node, which is not a single task) */
		if ((dml && an.nref > 0) || first == NULL || plan->tasks[0].node_id != first->id ||
		    plan->text_rewritten)
			return;
		e->kind = ENTRY_LOCAL;
		e->node_id = first->id;
	} else if (!learn_route(&an, sql, sh, plan, a, e)) {
		return;
	}
	if (!relay_shape_of(plan, &e->shape))
		e->kind = ENTRY_NONE;
}

void
plancache_learn(PlanCache *pc, CatalogSnapshot *snap, const char *sql, const char *search_path,
                const ParsedStmt *stmt, const DistPlan *plan, Arena *a)
{
	if (pc == NULL || pc->capacity == 0)
		return;
	if (pc->snap != snap) {
		plancache_clear(pc);
	}
	SqlShape sh;
	if (!sqllex_shape(a, sql, &sh))
		return;
	size_t klen;
	char *key = full_key(a, search_path, &sh, &klen);
	uint64_t hash = sg_hash_words(SG_FNV_INIT, key, klen);
	if (*find_slot(pc, hash, key, klen) != NULL)
		return;
	if (pc->nentries >= pc->capacity)
		plancache_clear(pc); /* simple and bounded: start over */
	Entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return;
	learn(snap, sql, search_path, stmt, plan, &sh, a, e);
	e->hash = hash;
	e->keylen = klen;
	e->key = malloc(klen + 1);
	if (e->key == NULL || (e->kind == ENTRY_TXN && e->txn_sql == NULL)) {
		entry_free(e);
		return;
	}
	memcpy(e->key, key, klen + 1);
	if (pc->snap == NULL) {
		catalog_ref(snap);
		pc->snap = snap;
	}
	*find_slot(pc, hash, key, klen) = e;
	pc->nentries++;
	pc->stats.learnt++;
}
