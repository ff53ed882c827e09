#ifndef SG_COMMON_CONFIG_H
#define SG_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"

/*
 * Config: the gateway's settings, from a `key = value` file (pgbouncer
 * style; '#' comments; values may be single-quoted) and command-line flags
 * (which win). Immutable once the loops start.
 */
typedef struct Config {
	char listen_addr[128];
	int port;
	char metadata_node[1024]; /* libpq conninfo of the metadata node */
	char auth_type[32];       /* "trust" or "scram-sha-256" */
	char auth_file[1024];     /* users and SCRAM verifiers */
	char pidfile[1024];
	LogLevel log_level;
	size_t max_message_size;   /* largest client message body accepted */
	size_t max_startup_packet; /* largest startup packet accepted */
	size_t client_out_limit;   /* pause node reads above this many buffered bytes */
	int pool_size;             /* connections per (node, user, database) */
	int pool_idle;             /* idle connections kept per pool */
	int pool_wait_timeout_ms;
	int max_client_conn;
	int catalog_poll_ms;           /* how often to check the catalog version */
	int stats_interval_ms;         /* how often the tables' row estimates are re-read, 0 = only
	                                  after a catalog change */
	int join_broadcast_min_rows;   /* a join that is not co-located broadcasts its small side only
	                                  when the big side is estimated at least this many rows */
	int join_repartition_min_rows; /* ... and repartitions two large sides on the join key only
	                                  when together they are estimated at least this many rows */
	int semijoin_max_keys;         /* largest key set broadcast for a semi-join reduction (the
	                                  planner's choice for joins that are not co-located), 0 =
	                                  off */
	char admin_user[128];          /* superuser for catalog changes and 2PC recovery */
	int recovery_interval_ms;      /* how often in-doubt prepared transactions are resolved */
	int recovery_min_age_sec;      /* leave younger prepared transactions to their coordinator */
	int deadlock_check_ms;         /* distributed deadlock detection interval */
	int loops;                     /* event loops (threads); 0 = one per online CPU */
	int plan_cache_size;           /* simple-protocol plan cache entries per loop, 0 = off */
	char pool_mode[16];            /* "transaction" (default) or "session" */
	char session_pool_users[1024]; /* comma-separated user or user@database: session pooling */
	size_t query_memory_limit;     /* per statement: bytes of intermediate rows the gateway moves
	                                  to the merge node, plus EXPLAIN ANALYZE output it gathers;
	                                  over it, 53200 out of memory. 0 = no limit */
} Config;

void config_defaults(Config *c);
/*
 * config_set: one setting by name; false with err (22023) on an unknown key or
 * bad value. Sizes are bytes, or a number with a unit: kB, MB, GB (1024-based,
 * as PostgreSQL's memory settings).
 */
SG_MUSTCHECK bool config_set(Config *c, const char *key, const char *value, SgError *err);
/*
 * config_session_pooling: does a session of user on database keep its backend
 * connections (session pooling)? session_pool_users entries first, then pool_mode.
 */
bool config_session_pooling(const Config *c, const char *user, const char *database);
/* config_load_file: read a file of settings; false with err naming the file and line */
SG_MUSTCHECK bool config_load_file(Config *c, const char *path, SgError *err);

#endif /* SG_COMMON_CONFIG_H */
