/*
 * hashcheck.c: a filter used by test_hash_vs_pg.py to run storage/pghash.c
 * and storage/shardmap.c on values from a script. Not part of any CMake
 * target: the test compiles it together with those files, common/error.c
 * and common/arena.c.
 *
 * Usage: hashcheck MODULUS < lines
 * Each input line is "<type oid>\t<value>", where value is the value's text
 * form hex-encoded (so any byte can pass), or "-" for NULL. Each output line
 * is the shard index for MODULUS, followed by a tab and the 64-bit hash as
 * a signed decimal, or "ERR\t<sqlstate>\t<message>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

#define HASHCHECK_MAX_LINE 65536

static int
hashcheck_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* hashcheck_unhex decodes hex in place into a NUL-terminated string; false if malformed */
static bool
hashcheck_unhex(char *s)
{
	size_t n = strlen(s);
	size_t o = 0;

	if (n % 2 != 0)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hashcheck_hex(s[i]), lo = hashcheck_hex(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		s[o++] = (char)(hi << 4 | lo);
	}
	s[o] = '\0';
	return true;
}

int
main(int argc, char **argv)
{
	static char line[HASHCHECK_MAX_LINE];
	int32_t modulus;

	if (argc != 2 || (modulus = (int32_t)atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: hashcheck MODULUS < lines\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *tab = strchr(line, '\t');
		char *nl = strchr(line, '\n');
		SgError err;
		uint64_t hash;

		if (nl != NULL)
			*nl = '\0';
		if (tab == NULL) {
			fprintf(stderr, "hashcheck: malformed line\n");
			return 2;
		}
		*tab = '\0';
		uint32_t oid = (uint32_t)strtoul(line, NULL, 10);
		char *value = tab + 1;

		if (strcmp(value, "-") == 0) {
			printf("%d\t0\n", shardmap_null_shard_index());
		} else if (!hashcheck_unhex(value)) {
			fprintf(stderr, "hashcheck: bad hex\n");
			return 2;
		} else if (pghash_text_value(oid, value, &hash, &err)) {
			printf("%d\t%lld\n", shardmap_shard_index(hash, modulus), (long long)hash);
		} else {
			printf("ERR\t%s\t%s\n", err.sqlstate, err.message);
		}
	}
	return 0;
}
