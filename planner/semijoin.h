#ifndef SG_PLANNER_SEMIJOIN_H
#define SG_PLANNER_SEMIJOIN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/error.h"
#include "planner/analyze.h"
#include "planner/plan.h"

/*
 * semijoin.h: the join strategy for distributed relations that are not
 * co-located, chosen from the nodes' row estimates (CatTable.est_rows).
 *
 * A multi-stage plan pulls every distributed relation into the merge node.
 * When a relation B is joined to a much smaller one S by an equality `B.y =
 * S.x` that filters B (a top-level AND-ed condition of their own query
 * level, WHERE or inner JOIN ON, neither on the nullable side of an outer
 * join), S's join keys are fetched first (a PLAN_PREFETCH: S's fragments
 * with S's own filters, only column x) and broadcast to B's nodes inside
 * B's fragments as `B.y = ANY ('{keys}'::<type of x>[])`: B's nodes send
 * only the rows that can find a partner (a semi-join). The final query is
 * unchanged, so the answer is PostgreSQL's; the reduction only drops B rows
 * the equality rejects anyway.
 *
 * Chosen when est(S) is at most semijoin_max_keys and semijoin_worth(B, S);
 * at most one reduction per relation (its smallest partner). A key set found
 * larger than semijoin_max_keys is not used (the plan pulls B whole).
 */

typedef struct SemiJoin {
	int32_t big;           /* the reduced relation (index in pi.rels) */
	const char *big_col;   /* its column in the equality */
	int32_t small;         /* the relation whose keys are fetched */
	const char *small_col; /* its column */
	const char *type_name; /* the array's element type: small_col's type */
	int64_t est_big, est_small;
} SemiJoin;

/*
 * semijoin_set_limits: the gateway's semijoin_max_keys (0 = no reduction),
 * join_broadcast_min_rows and join_repartition_min_rows; before the loops run
 */
void semijoin_set_limits(int32_t max_keys, int32_t min_big_rows, int32_t min_repartition_rows);
int32_t semijoin_max_keys_get(void);
int32_t semijoin_min_repartition_rows_get(void);

/*
 * semijoin_worth: is sending est_small rows (or keys) with the fragments of
 * big cheaper than pulling big? The copies sent (once per node of big when
 * per_node: broadcast rows are a WITH query of each node's statement; once
 * per shard otherwise: semi-join keys sit in each shard's condition) times
 * est_small must stay below est_big, and big must be at least
 * join_broadcast_min_rows (below that the pull is cheap and the extra round
 * trip is not)
 */
bool semijoin_worth(const Analysis *an, int32_t big, int64_t est_small, bool per_node);

/* semijoin_choose: the reductions for the statement, in a fixed order (in a); their count */
int32_t semijoin_choose(const Analysis *an, Arena *a, SemiJoin **out);

/*
 * semijoin_prefetch: plan (PLAN_PREFETCH) fetching sj's keys: S's fragments
 * (its shards, its filters, only the key column), concatenated
 */
SG_MUSTCHECK bool semijoin_prefetch(const Analysis *an, Arena *a, const SemiJoin *sj,
                                    DistPlan *plan, SgError *err);

/*
 * Inlined relations: an UPDATE / DELETE reading a distributed table other
 * than its target (not co-located) reads that table's rows first (a
 * PLAN_PREFETCH of `<ref>::text` with the table's own filters, at most
 * semijoin_max_keys rows) and runs with the table replaced by
 * `unnest('{rows}'::<table>[]) AS <ref>` (deparse_inline_rels): a
 * broadcast of those rows to every node of the target.
 */
SG_MUSTCHECK bool semijoin_inline_prefetch(const Analysis *an, Arena *a, int32_t rel,
                                           DistPlan *plan, SgError *err);
/*
 * semijoin_inlinable: may t's rows be inlined? Their text form must read back
 * as the same values on any node of the session: built-in types other than
 * floats (their output follows extra_float_digits) and geometric types
 */
bool semijoin_inlinable(const CatTable *t);
/* semijoin_find_keys: the fetched set for (big, small) (big -1: an inlined relation), or NULL */
const KeySet *semijoin_find_keys(const Analysis *an, int32_t big, int32_t small);
/* semijoin_rows_literal: an inlined relation's rows as an array literal (in a) */
const char *semijoin_rows_literal(Arena *a, const KeySet *ks);

/*
 * semijoin_condition: `<ref>.<big_col> = ANY ('{k1,...}'::<type>[])` for the
 * fragments of sj->big (ks NULL: a placeholder for EXPLAIN, not valid SQL to
 * run), in a
 */
const char *semijoin_condition(Arena *a, const Analysis *an, const SemiJoin *sj, const KeySet *ks);

/* semijoin_describe: one EXPLAIN line about sj (in a) */
const char *semijoin_describe(Arena *a, const Analysis *an, const SemiJoin *sj, const KeySet *ks);

#endif /* SG_PLANNER_SEMIJOIN_H */
