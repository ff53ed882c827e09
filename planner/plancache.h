#ifndef SG_PLANNER_PLANCACHE_H
#define SG_PLANNER_PLANCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "planner/plan.h"
#include "planner/planner.h"
#include "storage/catalog.h"

/*
 * plancache.h: plans of simple-protocol query strings that differ only in
 * their constants, reused without parsing (issue 6, "parse and plan once").
 *
 * A query string is cut into tokens by sqllex.c (no libpg_query) and looked
 * up by its shape key (the text with literals replaced by markers) plus the
 * session's search_path. An entry is learnt after the normal path planned the
 * statement, only when the plan depends on the literals in a way the cache
 * can redo from the tokens alone:
 *   - router statements with one distributed relation pinned by exactly one
 *     `dist_col = literal`: the shard comes from hashing that literal, the
 *     node's SQL is the client's own text with the shard schema inserted
 *     before the relation's name (`sg_g<g>_<i>.t`);
 *   - SELECTs touching no catalogued table: the client's text, first node;
 *   - transaction control without literals (BEGIN, COMMIT, END, ...).
 * Anything else is remembered as "not cacheable" so the check is not redone.
 * Entries belong to one catalog snapshot: a new snapshot empties the cache.
 * One cache per event loop: no locking.
 */

typedef struct PlanCache PlanCache;

typedef enum PlanCacheResult {
	PC_HIT,        /* *out is the plan */
	PC_MISS,       /* unknown shape: plan normally, then plancache_learn() */
	PC_UNCACHEABLE /* known not cacheable, or not a string the cache handles */
} PlanCacheResult;

/* plancache_create: at most capacity entries (0: a cache that never hits) */
PlanCache *plancache_create(int32_t capacity);
void plancache_destroy(PlanCache *pc);

/*
 * plancache_lookup: the plan for the whole query string sql (one statement),
 * allocated in a. On PC_HIT the plan's task SQL is sql itself (which must
 * live as long as the plan) or a copy with the shard schema inserted.
 */
PlanCacheResult plancache_lookup(PlanCache *pc, CatalogSnapshot *snap, const char *sql,
                                 const char *search_path, Arena *a, DistPlan **out);

/*
 * plancache_learn: sql was a single statement stmt, planned by the normal
 * path as plan (under snap and search_path); remember how to plan its shape,
 * or that it is not cacheable. Scratch memory from a.
 */
void plancache_learn(PlanCache *pc, CatalogSnapshot *snap, const char *sql, const char *search_path,
                     const ParsedStmt *stmt, const DistPlan *plan, Arena *a);

typedef struct PlanCacheStats {
	uint64_t hits, misses, uncacheable, learnt;
	int32_t entries;
} PlanCacheStats;

PlanCacheStats plancache_stats(const PlanCache *pc);

#endif /* SG_PLANNER_PLANCACHE_H */
