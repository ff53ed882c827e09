#ifndef SG_TXN_RECOVERY_H
#define SG_TXN_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/catalog.h"

/*
 * 2PC recovery: resolve the `sg_*` prepared transactions left on the storage
 * nodes (a gateway died between PREPARE TRANSACTION and COMMIT PREPARED, or
 * a COMMIT PREPARED failed) against the decision records in
 * shardgate.commit_log, and garbage-collect decision records no participant
 * needs any more. Safe while other gateways run, including the coordinator
 * of the very transaction being resolved: see txn/README.md, "Recovery".
 *
 * Blocking (libpq, one connection per node for the run): call it from a
 * worker thread or at start-up, never on an event loop. It touches no
 * shared state other than the catalog snapshot, which it only reads (the
 * caller holds a reference for the call).
 */

typedef struct RecoveryStats {
	int64_t examined;            /* sg_* participant transactions found prepared */
	int64_t committed;           /* COMMIT PREPARED done by this run */
	int64_t rolled_back;         /* ROLLBACK PREPARED done by this run */
	int64_t skipped_young;       /* prepared less than min_age_sec ago: left alone */
	int64_t skipped_unreachable; /* decider node unknown or unreachable: left alone */
	int64_t skipped_busy;        /* lock timeout on the claim, or another backend
	                              * was finishing it at the same moment */
	int64_t failed;              /* a statement failed (logged; err holds the first) */
	int64_t nodes_unreachable;   /* active nodes that could not be listed */
	int64_t gc_deleted;          /* commit-log rows deleted */
	bool gc_ran;                 /* garbage collection ran (every node was reachable) */
} RecoveryStats;

typedef struct RecoveryOptions {
	const char *user;      /* NULL: libpq default; must own the prepared xacts or be superuser */
	const char *password;  /* NULL: none (trust, .pgpass, PGPASSWORD); never logged */
	const char *dbname;    /* NULL: "postgres"; only this database's prepared xacts are seen */
	int min_age_sec;       /* leave prepared xacts younger than this (a live coordinator) */
	int gc_commit_age_sec; /* delete 'c' rows older than this with no prepared participant */
	int gc_abort_age_sec;  /* delete 'a' rows older than this (see README: must exceed the
	                        * longest possible PREPARE phase of a live coordinator) */
	int lock_timeout_ms;   /* bound on the claim's wait for an open deciding transaction */
	int connect_timeout_sec;
	LinkSet *links; /* NULL: connections closed after the run; else kept there for the next */
} RecoveryOptions;

#define RECOVERY_DEFAULT_GC_COMMIT_AGE_SEC 300
#define RECOVERY_DEFAULT_GC_ABORT_AGE_SEC 3600
#define RECOVERY_DEFAULT_LOCK_TIMEOUT_MS 10000
#define RECOVERY_DEFAULT_CONNECT_TIMEOUT_SEC 5

/* recovery_options_defaults: user/password/dbname NULL, min_age 30 s, ages and timeouts above */
void recovery_options_defaults(RecoveryOptions *opts);

/*
 * recovery_run_opts: one recovery pass over every active node of snap, then
 * commit-log garbage collection when every catalogued node is active and
 * was reachable. stats is zeroed and then always filled, whatever the
 * result. Returns true when nothing went wrong (skipped young or busy
 * transactions are not failures: the next run retries them); false when a
 * node was unreachable or a statement failed, err then describes the first
 * problem (the rest of the run still went on). Never resolves a transaction
 * whose decision it cannot read: those are counted and left.
 */
SG_MUSTCHECK bool recovery_run_opts(const CatalogSnapshot *snap, const RecoveryOptions *opts,
                                    RecoveryStats *stats, SgError *err);

/*
 * recovery_run: recovery_run_opts with the defaults and the given user,
 * database (NULL = "postgres") and minimum age. Same contract.
 */
SG_MUSTCHECK bool recovery_run(const CatalogSnapshot *snap, const char *user, const char *dbname,
                               int min_age_sec, RecoveryStats *stats, SgError *err);

/*
 * recovery_stats_format writes a one-line summary ("examined=.. committed=..
 * ...") into out (always NUL-terminated); returns out.
 */
char *recovery_stats_format(const RecoveryStats *stats, char *out, size_t cap);

#endif /* SG_TXN_RECOVERY_H */
