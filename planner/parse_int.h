#ifndef SG_PLANNER_PARSE_INT_H
#define SG_PLANNER_PARSE_INT_H

/*
 * parse_int.h: the parsed-statement struct shared by parse.c and deparse.c,
 * the only two files that see libpg_query's protobuf types. Included by
 * nothing else.
 */

#include <pg_query/pg_query.pb-c.h>
#include <stdbool.h>

#include "common/arena.h"

/* ParsedStmt: one statement's tree, unpacked into the statement arena */
/* a deparsed rename of this statement, kept for its next execution (deparse.c) */
typedef struct DeparseCacheEntry {
	struct DeparseCacheEntry *next;
	char *key; /* the renames, encoded */
	char *sql;
} DeparseCacheEntry;

struct ParsedStmt {
	PgQuery__RawStmt *raw;
	int32_t version; /* ParseResult.version, needed to pack a tree for the deparser */
	Arena *arena;    /* the arena the tree lives in (the statement's or a prepared one's) */
	DeparseCacheEntry *cache;
	int32_t ncache;
};

/* parse_pb_allocator: a protobuf-c allocator drawing from arena a (free is a no-op) */
void parse_pb_allocator(Arena *a, ProtobufCAllocator *out);

/* NodeVisitFn: return true when the node was handled (its children are not visited) */
typedef bool (*NodeVisitFn)(PgQuery__Node *n, void *arg);

/* parse_visit_nodes: every Node under message m, pre-order, through protobuf-c descriptors */
void parse_visit_nodes(ProtobufCMessage *m, NodeVisitFn fn, void *arg);

#endif /* SG_PLANNER_PARSE_INT_H */
