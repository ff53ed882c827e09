#ifndef SG_STORAGE_PGHASH_H
#define SG_STORAGE_PGHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/*
 * PostgreSQL-compatible hashing of distribution values: the same 64-bit
 * value PostgreSQL's extended hash function for the type returns with
 * HASH_PARTITION_SEED (the one hash partitioning uses), so shard membership
 * can be checked inside PostgreSQL.
 */

#define PG_HASH_PARTITION_SEED UINT64_C(0x7A5B22367996DCFD)

/* pg_type oids of the types we can hash */
#define PG_OID_BOOL 16
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_TEXT 25
#define PG_OID_BPCHAR 1042
#define PG_OID_VARCHAR 1043
#define PG_OID_DATE 1082
#define PG_OID_TIMESTAMP 1114
#define PG_OID_TIMESTAMPTZ 1184
#define PG_OID_UUID 2950

bool pghash_type_supported(uint32_t type_oid);
/*
 * pghash_text_value: parse `text` (the value's text form, as in a literal or
 * a text-format parameter) as type_oid and hash it. Fails with 22P02 /
 * 22003 on a malformed or out-of-range value (PostgreSQL's messages), or
 * 0A000 for an unsupported type.
 */
SG_MUSTCHECK bool pghash_text_value(uint32_t type_oid, const char *text, uint64_t *hash,
                                    SgError *err);
/* pghash_binary_value: the same for a binary-format parameter */
SG_MUSTCHECK bool pghash_binary_value(uint32_t type_oid, const char *data, size_t len,
                                      uint64_t *hash, SgError *err);

/* Low-level PostgreSQL functions, exposed for tests. */
uint64_t pghash_bytes_extended(const unsigned char *k, size_t len, uint64_t seed);
uint64_t pghash_uint32_extended(uint32_t k, uint64_t seed);

#endif /* SG_STORAGE_PGHASH_H */
