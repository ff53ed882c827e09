#ifndef SG_TXN_TXN_H
#define SG_TXN_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/loop.h"
#include "storage/node.h"
#include "storage/pool.h"

/*
 * Txn: the transaction state of one client session, and the backend
 * connections it holds (its participants).
 *
 * Connections are leased from the pools per statement outside a transaction
 * block and per transaction inside one (transaction pooling). A participant
 * joins lazily: the first time a statement touches its node, the session's
 * BEGIN (with its options) is sent in the same write as that statement.
 *
 * Commit (txn_finish): no writer or one writer -> plain COMMIT everywhere;
 * several writers -> two-phase commit: PREPARE TRANSACTION on all writers
 * but one, then the deciding writer inserts the decision into
 * shardgate.commit_log and commits in one round trip (its commit IS the
 * decision), then COMMIT PREPARED on the others. See txn/README.md.
 */

typedef enum TxnBlock {
	TXN_BLOCK_NONE,     /* autocommit: each statement commits on its own */
	TXN_BLOCK_IMPLICIT, /* statements of one multi-statement Query message */
	TXN_BLOCK_EXPLICIT, /* after BEGIN */
	TXN_BLOCK_FAILED    /* explicit block after an error: 25P02 until ROLLBACK */
} TxnBlock;

typedef struct Participant Participant;
typedef void (*TxnConnFn)(Participant *p, const SgError *err, void *arg);

struct Participant {
	int32_t node_id;
	NodePool *pool;
	NodeConn *conn;     /* NULL while waiting for the pool */
	PoolWaiter *waiter; /* pending pool_acquire */
	TxnConnFn join_cb;  /* ... its callback */
	void *join_arg;
	bool began;     /* BEGIN was sent */
	bool wrote;     /* a write statement ran here in this transaction */
	bool used_temp; /* temporary tables were made here (multi-stage): PostgreSQL cannot
	                   PREPARE this transaction, so in a 2PC it must be the decider */
	bool broken;    /* connection lost: the node rolled the transaction back */
	bool prepared;  /* 2PC: PREPARE TRANSACTION succeeded */
};

typedef void (*TxnDoneFn)(const SgError *err, void *arg);

typedef struct TxnFinish TxnFinish; /* in-flight commit/rollback, see txn.c */

/*
 * TxnSettings: the session's settings (startup parameters, SET) that every
 * backend connection it uses must carry. Owned by the session; hash 0 means
 * "server defaults". A pooled connection whose tag differs gets RESET ALL
 * and set_config() calls ahead of the session's statement.
 */
typedef struct TxnSettings {
	int n;
	char **names;
	char **values;
	uint64_t hash;
} TxnSettings;

typedef struct Txn {
	Loop *loop;
	PoolSet *pools;
	const char *user; /* owned by the session */
	const char *database;
	const char *gateway_id; /* for 2PC GIDs, [a-z0-9]+ */
	uint64_t *next_txid;    /* shared by every session of the gateway process */
	TxnBlock block;
	char *begin_sql; /* malloc'd BEGIN text sent to each participant, NULL = "BEGIN" */
	int nparts;
	int nallocparts; /* parts[nparts..nallocparts) are spare objects, reused by the next
	                    statement: no allocation per statement */
	int capparts;
	Participant **parts;
	TxnFinish *finish;
	const TxnSettings *settings; /* NULL: none */
	int nsavepoints;             /* savepoints alive in the block, outermost first */
	char **savepoint_names;      /* normalised names */
	char **savepoint_sql;        /* "SAVEPOINT <name as written>", replayed for late joiners */
	/* session pooling: connections kept by the session between transactions */
	bool hold_conns;
	int nheld;
	int capheld;
	NodeConn **held;
	int32_t pin_node; /* != 0: the session keeps its connection to this node between
	                     statements and transactions (WITH HOLD cursors live there) */
	NodeConn *pinned; /* that connection while no participant holds it */
} Txn;

typedef enum TxnSavepointOp { TXN_SP_SET, TXN_SP_RELEASE, TXN_SP_ROLLBACK_TO } TxnSavepointOp;

void txn_init(Txn *t, Loop *loop, PoolSet *pools, const char *user, const char *database,
              const char *gateway_id, uint64_t *next_txid);
/*
 * txn_set_session_pooling: on, a connection stays with the session after its
 * transaction ends (session pooling: temporary tables, SQL-level PREPARE,
 * advisory locks keep working) and goes back to the pool at txn_cleanup;
 * off (the default), it goes back when the transaction ends.
 */
void txn_set_session_pooling(Txn *t, bool on);
/* txn_cleanup releases every connection (closing those inside a transaction, and the pinned one) */
void txn_cleanup(Txn *t);
/*
 * txn_pin: from now on the session keeps its connection to node_id instead of
 * giving it back to the pool after each statement or transaction (a WITH HOLD
 * cursor outlives its transaction on that backend and must be neither lost
 * nor visible to other sessions). Closed, not pooled, when the session ends.
 */
void txn_pin(Txn *t, int32_t node_id);

/* ReadyForQuery status byte for the client: 'I', 'T' or 'E' */
char txn_status_byte(const Txn *t);
bool txn_in_block(const Txn *t);

/* txn_begin: enter an explicit block (from NONE or IMPLICIT); sql is the client's BEGIN text */
void txn_begin(Txn *t, const char *sql);
/* txn_append_begin: add a statement (SET TRANSACTION ...) to what joining participants get */
void txn_append_begin(Txn *t, const char *sql);
/* txn_begin_implicit: a multi-statement Query starts (only from NONE) */
void txn_begin_implicit(Txn *t);
/* txn_set_failed: an error happened inside an explicit block */
void txn_set_failed(Txn *t);

/*
 * txn_participant gets the participant for a node, joining it (pool lease)
 * if needed: cb runs before return when the connection is at hand, later
 * otherwise. If p->began is false and the session is in a block, the caller
 * must send txn_begin_text() ahead of its statement and then set p->began.
 */
void txn_participant(Txn *t, int32_t node_id, const char *host, int32_t port, TxnConnFn cb,
                     void *arg);
const char *txn_begin_text(const Txn *t);
/*
 * txn_write_prelude appends what a participant's connection needs before a
 * statement of this session: its settings (RESET ALL and set_config() when the
 * connection carries another session's) and, inside a block, the BEGIN (then
 * p->began is set). Returns how many ReadyForQuery replies it adds.
 */
int txn_write_prelude(Txn *t, Participant *p, Buf *b);
/*
 * txn_note_savepoint: a SAVEPOINT / RELEASE / ROLLBACK TO (statement text sql)
 * succeeded on the participants: keep the list a participant that joins later
 * must replay after its BEGIN, so ROLLBACK TO and RELEASE work there too.
 */
void txn_note_savepoint(Txn *t, TxnSavepointOp op, const char *sql);
/*
 * txn_rollback_to_innermost: after an error inside a savepoint, roll every
 * participant back to the innermost savepoint now (PostgreSQL releases the
 * failed subtransaction's locks with the error); done() as txn_broadcast.
 */
void txn_rollback_to_innermost(Txn *t, TxnDoneFn done, void *arg);
/* txn_find: the live participant of a node with its connection, or NULL */
Participant *txn_find(Txn *t, int32_t node_id);
/* txn_mark_broken: the participant's connection was lost; it is dropped */
void txn_mark_broken(Txn *t, Participant *p);
/* number of participants that wrote (for the multi-node write rules) */
int txn_writers(const Txn *t);

/*
 * txn_statement_end: a statement finished outside a block: release every
 * connection to its pool. Inside a block, nothing happens.
 */
void txn_statement_end(Txn *t);

/*
 * txn_finish ends the transaction on every participant (commit or
 * rollback), releases the connections and leaves the block (NONE); done()
 * runs later with NULL or the error (the commit failed and was rolled back,
 * or 08007 when the outcome is unknown). With no participants done() runs
 * before this returns.
 */
void txn_finish(Txn *t, bool commit, TxnDoneFn done, void *arg);

/*
 * txn_broadcast sends one statement (fixed text) to every live participant
 * that has begun (SAVEPOINT, RELEASE, ROLLBACK TO); done() gets the first
 * error. Runs done() before return when there is no participant.
 */
void txn_broadcast(Txn *t, const char *sql, TxnDoneFn done, void *arg);

#endif /* SG_TXN_TXN_H */
