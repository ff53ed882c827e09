#ifndef SG_GATEWAY_COPYRUN_H
#define SG_GATEWAY_COPYRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "planner/plan.h"
#include "storage/catalog.h"
#include "txn/txn.h"

/*
 * CopyRun: one COPY ... FROM STDIN in flight, fed with the client's CopyData
 * and writing to the nodes through the session's Txn participants. See
 * copyrun.c for the two modes.
 */

typedef struct CopyRun CopyRun;

typedef struct CopyRunCallbacks {
	/* the COPY ended (after copyrun_end): err NULL on success, rows copied */
	void (*done)(void *arg, const SgError *err, uint64_t rows);
	/* buffers drained below the limit again: the session may read input */
	void (*resume)(void *arg);
	void *arg;
} CopyRunCallbacks;

/* copyrun_start: plan and snap must outlive the run (statement arena, session snapshot) */
CopyRun *copyrun_start(const CopyPlan *plan, int32_t rows_from_node, const CatalogSnapshot *snap,
                       Txn *txn, const CopyRunCallbacks *cb);
/* copyrun_data: the body of one CopyData message */
void copyrun_data(CopyRun *r, const char *data, size_t len);
/* copyrun_end: CopyDone (fail_message NULL) or CopyFail / an error (fail set); done() follows */
void copyrun_end(CopyRun *r, const SgError *fail);
/* copyrun_is_full: too much is buffered: stop reading the client until resume() */
bool copyrun_is_full(const CopyRun *r);
/* copyrun_abandon: the client is gone; no callback runs; connections are dropped */
void copyrun_abandon(CopyRun *r);

#endif /* SG_GATEWAY_COPYRUN_H */
