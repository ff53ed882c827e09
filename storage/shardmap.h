#ifndef SG_STORAGE_SHARDMAP_H
#define SG_STORAGE_SHARDMAP_H

#include <stdint.h>

/*
 * shardmap: value hash -> shard index -> node.
 *
 * Shard index: exactly PostgreSQL hash partitioning's choice of partition
 * for a one-column key, (hash_combine64(0, h)) % shard_count, so shard i of
 * a table holds the rows a PostgreSQL table PARTITION BY HASH with
 * MODULUS shard_count, REMAINDER i would hold. A NULL key goes to shard 0
 * (as in PostgreSQL).
 *
 * Placement: a consistent-hash ring with SHARDMAP_VNODES virtual points per
 * node; shard (group, index) goes to the first point clockwise of its own
 * hash. Adding a node moves about 1/N of the shards and nothing else.
 */

#define SHARDMAP_VNODES 64

int32_t shardmap_shard_index(uint64_t hash, int32_t shard_count);
int32_t shardmap_null_shard_index(void);
/*
 * shardmap_place fills placement[shard_count] with node ids chosen from
 * node_ids[nnodes] (nnodes >= 1) for co-location group group_id.
 * Deterministic: the same inputs give the same placement in every gateway.
 */
void shardmap_place(const int32_t *node_ids, int nnodes, int32_t group_id, int32_t shard_count,
                    int32_t *placement);

#endif /* SG_STORAGE_SHARDMAP_H */
