#ifndef SG_COMMON_HASH_H
#define SG_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * FNV-1a, 64 bit: cheap keys for the gateway's own caches (session settings,
 * prepared statements on a connection, notices already passed on). Not
 * PostgreSQL's hash: distribution values use storage/pghash.h.
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

#endif /* SG_COMMON_HASH_H */
