/*
 * shardmap.c: value hash -> shard index -> node.
 *
 * Shard index. PostgreSQL's get_partition_for_tuple for a one-column hash
 * partition key computes rowHash = hash_combine64(0, h) (0 for a NULL
 * key) and takes rowHash % modulus; with a = 0, hash_combine64(a, h) is
 * a ^ (h + 0x49a0f4dd15e5a8e3 + (a << 54) + (a >> 7)) = h + 0x49a0f4dd15e5a8e3.
 * So shard i of a table holds exactly the rows of partition REMAINDER i of
 * MODULUS shard_count, and a shard can be checked inside PostgreSQL.
 *
 * Placement. A consistent-hash ring: every node owns SHARDMAP_VNODES
 * points, the hash of "node:<id>:<v>"; shard (group, index) hashes
 * "shard:<group>:<index>" and goes to the owner of the first point at or
 * clockwise after it (wrapping past the top). Points are ordered by
 * (hash, node id, vnode) so ties resolve the same way everywhere. Adding a
 * node only inserts points: a shard either keeps its owner or moves to the
 * new node, and the new node takes about 1/N of the shards.
 *
 * All hashing goes through pghash_bytes_extended, which is defined byte by
 * byte, so every gateway on every platform computes the same placement.
 * The ring is built per call in a scratch arena destroyed before return.
 */
#include "storage/shardmap.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/arena.h"
#include "common/macros.h"
#include "storage/pghash.h"

/* hash_combine64's constant (PostgreSQL src/include/common/hashfn.h) */
#define SHARDMAP_COMBINE_CONST UINT64_C(0x49a0f4dd15e5a8e3)

/* One virtual point of a node on the ring. */
typedef struct RingPoint {
	uint64_t hash;
	int32_t node_id;
	int32_t vnode;
} RingPoint;

/*
 * shardmap_shard_index returns the shard (0 .. shard_count-1) of a non-NULL
 * value whose pghash is hash: (hash_combine64(0, hash)) % shard_count, as
 * PostgreSQL hash partitioning. shard_count must be positive.
 */
int32_t
shardmap_shard_index(uint64_t hash, int32_t shard_count)
{
	SG_ASSERT(shard_count > 0);
	return (int32_t)((hash + SHARDMAP_COMBINE_CONST) % (uint64_t)shard_count);
}

/* shardmap_null_shard_index: a NULL key has row hash 0, so shard 0 */
int32_t
shardmap_null_shard_index(void)
{
	return 0;
}

static uint64_t
shardmap_hash_string(const char *s, int len)
{
	SG_ASSERT(len > 0);
	return pghash_bytes_extended((const unsigned char *)s, (size_t)len, 0);
}

static int
shardmap_point_cmp(const void *pa, const void *pb)
{
	const RingPoint *a = pa;
	const RingPoint *b = pb;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->node_id != b->node_id)
		return a->node_id < b->node_id ? -1 : 1;
	if (a->vnode != b->vnode)
		return a->vnode < b->vnode ? -1 : 1;
	return 0;
}

/* shardmap_ring_owner: node of the first point with hash >= key, wrapping to point 0 */
static int32_t
shardmap_ring_owner(const RingPoint *ring, size_t npoints, uint64_t key)
{
	size_t lo = 0, hi = npoints;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ring[mid].hash < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return ring[lo == npoints ? 0 : lo].node_id;
}

/*
 * shardmap_place fills placement[shard_count] with node ids from
 * node_ids[nnodes] (nnodes >= 1, shard_count >= 0) for co-location group
 * group_id. The order of node_ids does not matter; a node id listed twice
 * counts once in effect (its points coincide). Deterministic; allocates
 * only scratch memory released before return.
 */
void
shardmap_place(const int32_t *node_ids, int nnodes, int32_t group_id, int32_t shard_count,
               int32_t *placement)
{
	SG_ASSERT(nnodes >= 1 && shard_count >= 0);
	size_t npoints = (size_t)nnodes * SHARDMAP_VNODES;
	Arena *scratch = arena_create(npoints * sizeof(RingPoint) + 1024);
	RingPoint *ring = ARENA_NEW_ARRAY(scratch, RingPoint, npoints);
	char key[64];

	for (int n = 0; n < nnodes; n++) {
		for (int v = 0; v < SHARDMAP_VNODES; v++) {
			RingPoint *pt = &ring[(size_t)n * SHARDMAP_VNODES + (size_t)v];
			int len = snprintf(key, sizeof(key), "node:%d:%d", node_ids[n], v);

			pt->hash = shardmap_hash_string(key, len);
			pt->node_id = node_ids[n];
			pt->vnode = v;
		}
	}
	qsort(ring, npoints, sizeof(RingPoint), shardmap_point_cmp);

	for (int32_t i = 0; i < shard_count; i++) {
		int len = snprintf(key, sizeof(key), "shard:%d:%d", group_id, i);

		placement[i] = shardmap_ring_owner(ring, npoints, shardmap_hash_string(key, len));
	}
	arena_destroy(scratch);
}
