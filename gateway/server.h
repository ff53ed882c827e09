#ifndef SG_GATEWAY_SERVER_H
#define SG_GATEWAY_SERVER_H

#include <pthread.h>
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
typedef struct Server Server;

/*
 * Gateway: what the loops of one process share. The gateway runs one event
 * loop per core (`loops`), each with its own Server: its sessions, backend
 * pools, plan cache and catalog reference. Loops never touch each other's
 * state; they talk by loop_post() (catalog changes, cancel requests,
 * deadlock rounds, pool slots given back). Counters shared by all loops are atomics.
 */
typedef struct Gateway {
	const Config *config;
	int nservers;
	Server **servers;        /* [nservers]; servers[0] runs on the main thread */
	uint64_t next_txid;      /* atomic: 2PC transaction numbers of this process */
	uint64_t schema_epoch;   /* atomic: see Server.schema_epoch */
	int nsessions;           /* atomic: client connections over all loops */
	int deadlock_round;      /* atomic: 1 while a deadlock round runs (deadlock.c) */
	int quiesced;            /* atomic: loops done with their sessions at shutdown */
	PoolShare *pool_share;   /* pool_size over the pools of all loops */
	LinkSet *lockwait_links; /* the deadlock rounds' connections to the nodes */
} Gateway;

struct Server {
	Loop *loop;
	const Config *config;
	CatalogSnapshot *catalog; /* current; sessions take a ref per statement */
	/* a newer snapshot another loop published, taken at the next statement (or sooner) */
	pthread_mutex_t catalog_mu;
	CatalogSnapshot *pending_catalog; /* under catalog_mu */
	int has_pending_catalog;          /* atomic */
	PoolSet *pools;
	PlanCache *plans; /* simple-protocol plans by shape (planner/plancache.h) */
	Gateway *gw;
	int index;           /* in gw->servers */
	bool quiesced;       /* shutting down: no session, no job left */
	char gateway_id[24]; /* [a-z0-9]+, unique per process start: 2PC GIDs */
	int listen_fd;
	Watch *listen_watch;
	Timer *catalog_timer;
	CatalogLink *catalog_link; /* kept between polls; NULL while a reload has it */
	Timer *stop_timer;
	Timer *recovery_timer;
	Timer *deadlock_timer;
	bool recovery_running;
	uint64_t recovery_runs;
	int64_t recovered_commits; /* in-doubt transactions resolved since start */
	int64_t recovered_aborts;
	bool catalog_reloading;
	bool stats_running;      /* a statistics refresh is in a worker */
	LinkSet *stats_links;    /* its connections to the nodes, kept between refreshes */
	LinkSet *recovery_links; /* the 2PC recovery's, the same */
	uint64_t stats_at_ms;    /* when the last one started (monotonic) */
	int64_t stats_version;   /* the catalog version it read for (-1: none yet) */
	Session *sessions;       /* all sessions, doubly linked */
	int nsessions;           /* atomic: client connections given to this loop (on_accept) */
	uint32_t next_pid;
	bool stopping;
	/* ParameterStatus values read from the metadata node at start-up */
	char server_version[64];
	char timezone[64];
	char datestyle[64];
	char intervalstyle[64];
};

/*
 * server_set_catalog replaces the current snapshot (takes over the caller's
 * ref, drops the server's ref on the old one) and posts it to the other loops;
 * an older version than a loop has is ignored there
 */
void server_set_catalog(Server *srv, CatalogSnapshot *snap);

/*
 * server_schema_epoch / server_bump_schema_epoch: bumped by every statement
 * that may change a schema (DDL, utility, ROLLBACK), on any loop: cached
 * Describe answers and statements kept prepared on backends expire
 */
uint64_t server_schema_epoch(const Server *srv);
/*
 * server_take_catalog: install what another loop published, if anything;
 * sessions call it when a statement starts, so a catalog change made through
 * one loop is seen by the next statement on every loop
 */
void server_take_catalog(Server *srv);
void server_bump_schema_epoch(Server *srv);
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

/*
 * server_each_loop: each(srv, arg) on every loop, on that loop's thread (it
 * reads only that loop's state), then done(arg) on origin's loop once all
 * have run. The operator views and the deadlock detector ask the loops so.
 */
void server_each_loop(Server *origin, void (*each)(Server *srv, void *arg), void (*done)(void *arg),
                      void *arg);

#endif /* SG_GATEWAY_SERVER_H */
