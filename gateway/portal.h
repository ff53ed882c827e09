#ifndef SG_GATEWAY_PORTAL_H
#define SG_GATEWAY_PORTAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/proto.h"
#include "planner/planner.h"
#include "planner/prepared_route.h"

/*
 * Prepared statements and portals of one session (extended query protocol).
 * A PreparedStmt is parsed once, at Parse, into its own arena and lives until
 * Close or the end of the session; a Portal holds a copy of its Bind values
 * and lives until Close, the next Bind of the same name, or (unnamed or not)
 * the end of the transaction.
 */

/*
 * DescribeCache: a Describe's answer as sent to the client (ParameterDescription
 * and RowDescription/NoData), learnt from a node and replayed while the
 * schema epoch (Server.schema_epoch), the catalog version and search_path
 * are unchanged
 */
typedef struct DescribeCache {
	bool valid;
	uint64_t epoch;
	int64_t catalog_version;
	char *search_path; /* NULL: unset */
	int16_t nresult;   /* 'P': the portal's result formats */
	int16_t *result_formats;
	char *msgs;
	size_t len;
} DescribeCache;

void describe_cache_clear(DescribeCache *dc);

typedef struct PreparedStmt {
	struct PreparedStmt *next;
	char *name;
	Arena *arena;
	const char *sql;
	StmtList stmts; /* 0 (empty query) or 1 statement */
	int16_t ntypes;
	uint32_t *types;
	int refs;                  /* the set's reference plus one per portal */
	PreparedRoute *route;      /* Executes routed without planning (planner/prepared_route.h) */
	DescribeCache desc_stmt;   /* Describe 'S' */
	DescribeCache desc_portal; /* Describe 'P' */
} PreparedStmt;

typedef struct Portal {
	struct Portal *next;
	char *name;
	Arena *arena;
	PreparedStmt *ps;
	BindMsg bind; /* arrays and values in arena */
	/* Execute with a row limit: the result is kept here and handed out in pieces */
	bool executed;
	Buf rows;     /* DataRow messages (type, length, body) not yet sent */
	char tag[64]; /* the CommandComplete tag, sent after the last row */
} Portal;

typedef struct PortalSet {
	PreparedStmt *stmts;
	Portal *portals;
	Arena *spare; /* a closed portal's arena, reset, for the next Bind */
} PortalSet;

#define PORTAL_SPARE_MAX 4096 /* larger arenas are freed, not kept as the spare */

/* portal_parse: Parse message -> prepared statement (42P05 if the name is taken, 42601) */
SG_MUSTCHECK bool portal_parse(PortalSet *set, const ParseMsg *msg, SgError *err);
PreparedStmt *portal_find_stmt(PortalSet *set, const char *name);
/* portal_bind: Bind message body (copied) -> portal (26000 for an unknown statement) */
SG_MUSTCHECK bool portal_bind(PortalSet *set, const char *body, size_t len, SgError *err);
Portal *portal_find(PortalSet *set, const char *name);
void portal_close_stmt(PortalSet *set, const char *name);
void portal_close(PortalSet *set, const char *name);
/* portal_close_all_portals: the transaction ended */
void portal_close_all_portals(PortalSet *set);
void portal_set_destroy(PortalSet *set);

#endif /* SG_GATEWAY_PORTAL_H */
