#ifndef SG_GATEWAY_SERVER_H
#define SG_GATEWAY_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/loop.h"
#include "planner/plancache.h"
#include "storage/catalog.h"
#include "storage/pool.h"

/*
 * Server: the state one event loop shares among its sessions: the
 * configuration, the current catalog snapshot, the backend pools, the
 * sessions (for CancelRequest lookup) and the values reported to clients in
 * ParameterStatus at start-up.
 */

typedef struct Session Session;

typedef struct Server {
	Loop *loop;
	const Config *config;
	CatalogSnapshot *catalog; /* current; sessions take a ref per statement */
	PoolSet *pools;
	PlanCache *plans;      /* simple-protocol plans by shape (planner/plancache.h) */
	uint64_t schema_epoch; /* bumped by every statement that may change the schema (DDL,
	                          utility, ROLLBACK): cached Describe answers expire */
	char gateway_id[24];   /* [a-z0-9]+, unique per process start: 2PC GIDs */
	uint64_t next_txid;    /* 2PC transaction numbers of this process */
	int listen_fd;
	Watch *listen_watch;
	Timer *catalog_timer;
	Timer *stop_timer;
	Timer *recovery_timer;
	Timer *deadlock_timer;
	bool deadlock_running;
	bool recovery_running;
	uint64_t recovery_runs;
	int64_t recovered_commits; /* in-doubt transactions resolved since start */
	int64_t recovered_aborts;
	bool catalog_reloading;
	Session *sessions; /* all sessions, doubly linked */
	int nsessions;
	uint32_t next_pid;
	bool stopping;
	/* ParameterStatus values read from the metadata node at start-up */
	char server_version[64];
	char timezone[64];
	char datestyle[64];
	char intervalstyle[64];
} Server;

/* server_set_catalog replaces the current snapshot (drops the server's ref on the old one) */
void server_set_catalog(Server *srv, CatalogSnapshot *snap);
/*
 * server_reload_catalog loads the catalog again in a worker; done(arg) runs
 * on the loop once the new snapshot is installed (or the load failed, logged).
 */
void server_reload_catalog(Server *srv, void (*done)(void *arg), void *arg);
/* server_start_catalog_poll: check the catalog version every catalog_poll_ms */
void server_start_catalog_poll(Server *srv);

/*
 * server_start_recovery: resolve in-doubt 2PC transactions now (min_age_sec
 * given) and then every recovery_interval_ms (config's min age), in a worker.
 */
void server_start_recovery(Server *srv, int first_min_age_sec);

#endif /* SG_GATEWAY_SERVER_H */
