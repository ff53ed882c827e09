#ifndef SG_COMMON_HASH_H
#define SG_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * FNV-1a, 64 bit: cheap keys for the gateway's own small caches (session
 * settings, notices already passed on); statement texts, hashed on every
 * execution, use sg_hash_words below. Not PostgreSQL's hash: distribution
 * values use storage/pghash.h.
 */
#define SG_FNV_INIT UINT64_C(14695981039346656037)

static inline uint64_t
sg_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/*
 * sg_hash_words: a 64-bit hash of len bytes taken eight at a time (multiply and
 * fold per word): about a quarter of FNV-1a's instructions on long keys, for the
 * plan cache, which hashes a whole statement's shape on every simple query.
 * Equal bytes give equal hashes on one machine; not stable across byte orders.
 */
static inline uint64_t
sg_hash_words(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	const uint64_t k = UINT64_C(0x9E3779B97F4A7C15);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	uint64_t tail = 0;
	for (size_t j = 0; i + j < len; j++)
		tail |= (uint64_t)p[i + j] << (8 * j);
	h = (h ^ tail ^ (uint64_t)len) * k;
	return h ^ (h >> 32);
}

#endif /* SG_COMMON_HASH_H */
