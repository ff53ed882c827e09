/*
 * txn.c: per-session transaction state, participants, and the commit
 * protocol (one-phase or two-phase).
 *
 * Flow of a commit (txn_finish):
 *   FIN_PLAIN        COMMIT (or ROLLBACK) on every participant at once;
 *   FIN_PREPARE      >= 2 writers: PREPARE TRANSACTION on every writer but the
 *                    decider, COMMIT on read-only participants;
 *   FIN_DECIDE       decider: INSERT the gid into shardgate.commit_log, COMMIT
 *                    (pipelined, one round trip). Its commit is the decision;
 *   FIN_COMMIT_PREP  COMMIT PREPARED on the others (a failure here is left to
 *                    recovery: the decision is durable);
 *   FIN_ABORT_PREP   a prepare or the decision failed: ROLLBACK PREPARED.
 * Each phase is a broadcast: send to a set of participants, count the
 * ReadyForQuery replies, then step to the next phase.
 */
#include "txn/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fault.h"
#include "common/log.h"
#include "common/proto.h"
#include "txn/gid.h"

typedef enum FinishState {
	FIN_PLAIN,
	FIN_PREPARE,
	FIN_DECIDE,
	FIN_COMMIT_PREP,
	FIN_ABORT_PREP,
	FIN_DONE
} FinishState;

typedef struct BcastEntry {
	TxnFinish *f;
	Participant *p;
	bool failed;
} BcastEntry;

struct TxnFinish {
	Txn *t;
	FinishState state;
	bool commit;
	int waiting;
	bool has_err;
	bool outcome_unknown;
	SgError err;
	TxnDoneFn done;
	void *arg;
	Participant *decider;
	char gid[GID_MAX_LEN];
	BcastEntry *entries; /* [t->nparts] for the current phase */
	/* txn_broadcast reuses the machine with its own completion */
	bool is_broadcast;
};

static void finish_step(TxnFinish *f);
static void txn_drop_savepoints_from(Txn *t, int from);

void
txn_init(Txn *t, Loop *loop, PoolSet *pools, const char *user, const char *database,
         const char *gateway_id, uint64_t *next_txid)
{
	memset(t, 0, sizeof(*t));
	t->loop = loop;
	t->pools = pools;
	t->user = user;
	t->database = database;
	t->gateway_id = gateway_id;
	t->next_txid = next_txid;
	t->block = TXN_BLOCK_NONE;
}

void
txn_set_session_pooling(Txn *t, bool on)
{
	t->hold_conns = on;
}

/* txn_hold: keep an idle connection for the session (session pooling) */
static bool
txn_hold(Txn *t, NodeConn *conn)
{
	if (!t->hold_conns || node_state(conn) != NODE_IDLE || node_txn_status(conn) != 'I')
		return false;
	if (t->nheld == t->capheld) {
		int cap = t->capheld ? t->capheld * 2 : 4;
		NodeConn **bigger = realloc(t->held, sizeof(NodeConn *) * (size_t)cap);
		if (bigger == NULL)
			return false;
		t->held = bigger;
		t->capheld = cap;
	}
	node_set_handler(conn, NULL);
	node_pause(conn, false);
	t->held[t->nheld++] = conn;
	return true;
}

/* txn_take_held: the session's kept connection to node_id, NULL if none (or it broke) */
static NodeConn *
txn_take_held(Txn *t, int32_t nid)
{
	for (int i = 0; i < t->nheld; i++) {
		NodeConn *c = t->held[i];
		if (node_id(c) != nid)
			continue;
		t->held[i] = t->held[--t->nheld];
		if (node_state(c) == NODE_IDLE)
			return c;
		pool_discard(c); /* the node closed it while it was kept */
		return NULL;
	}
	return NULL;
}

static void
held_reset_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	(void)body;
	(void)len;
	(void)arg;
	if (type == PQ_MSG_READY && node_state(c) == NODE_IDLE)
		pool_release(c);
}

static void
held_reset_lost(NodeConn *c, const SgError *err, void *arg)
{
	(void)err;
	(void)arg;
	pool_discard(c);
}

/*
 * txn_return_held: a kept connection goes back to the pool after DISCARD ALL
 * (as pgbouncer's server_reset_query): the session's temporary tables,
 * prepared statements, advisory locks and settings do not reach the next one
 */
static void
txn_return_held(NodeConn *c)
{
	if (node_state(c) != NODE_IDLE) {
		pool_discard(c);
		return;
	}
	Buf b;
	buf_init(&b);
	proto_write_query(&b, "DISCARD ALL");
	node_prepared_clear(c);
	node_set_tag(c, 0);
	NodeHandler h = {held_reset_message, held_reset_lost, NULL};
	node_set_handler(c, &h);
	node_send(c, buf_head(&b), buf_avail(&b), 1);
	buf_free(&b);
}

static void
txn_drop_participant(Txn *t, Participant *p, bool keep_conn)
{
	if (p->waiter != NULL)
		pool_cancel(p->waiter);
	if (p->conn != NULL) {
		if (keep_conn && !p->broken && txn_hold(t, p->conn))
			; /* session pooling: the session keeps it */
		else if (keep_conn && !p->broken)
			pool_release(p->conn); /* closes it if it is broken or inside a transaction */
		else
			pool_discard(p->conn); /* closing a connection rolls back its transaction */
	}
	memset(p, 0, sizeof(*p)); /* kept in t->parts as a spare */
}

/* txn_keep_pinned: the pinned node's healthy connection, outside a transaction, stays */
static void
txn_keep_pinned(Txn *t, Participant *p)
{
	if (t->pin_node == 0 || p->node_id != t->pin_node || t->pinned != NULL || p->conn == NULL ||
	    p->broken || node_state(p->conn) != NODE_IDLE || node_txn_status(p->conn) != 'I')
		return;
	node_set_handler(p->conn, NULL);
	node_pause(p->conn, false);
	t->pinned = p->conn;
	p->conn = NULL;
}

/*
 * txn_release_all: give every connection back (but the pinned one). A
 * connection still inside a transaction is closed by pool_release (the node
 * rolls it back).
 */
static void
txn_release_all(Txn *t)
{
	for (int i = 0; i < t->nparts; i++) {
		txn_keep_pinned(t, t->parts[i]);
		txn_drop_participant(t, t->parts[i], true);
	}
	t->nparts = 0;
}

void
txn_pin(Txn *t, int32_t node_id)
{
	if (t->pin_node == 0)
		t->pin_node = node_id;
}

void
txn_cleanup(Txn *t)
{
	if (t->finish != NULL) {
		free(t->finish->entries);
		free(t->finish);
		t->finish = NULL;
	}
	txn_release_all(t);
	for (int i = 0; i < t->nheld; i++)
		txn_return_held(t->held[i]);
	free(t->held);
	t->held = NULL;
	t->nheld = t->capheld = 0;
	if (t->pinned != NULL) {
		pool_discard(t->pinned); /* its cursors are this session's: never another's */
		t->pinned = NULL;
	}
	for (int i = 0; i < t->nallocparts; i++)
		free(t->parts[i]);
	t->nallocparts = 0;
	free(t->parts);
	t->parts = NULL;
	t->capparts = 0;
	free(t->begin_sql);
	t->begin_sql = NULL;
	txn_drop_savepoints_from(t, 0);
	free(t->savepoint_names);
	free(t->savepoint_sql);
	t->savepoint_names = NULL;
	t->savepoint_sql = NULL;
}

char
txn_status_byte(const Txn *t)
{
	switch (t->block) {
	case TXN_BLOCK_NONE:
	case TXN_BLOCK_IMPLICIT:
		return PQ_TXN_IDLE;
	case TXN_BLOCK_EXPLICIT:
		return PQ_TXN_BLOCK;
	case TXN_BLOCK_FAILED:
		return PQ_TXN_FAILED;
	}
	SG_UNREACHABLE();
}

bool
txn_in_block(const Txn *t)
{
	return t->block != TXN_BLOCK_NONE;
}

void
txn_begin(Txn *t, const char *sql)
{
	free(t->begin_sql);
	t->begin_sql = strdup(sql);
	if (t->begin_sql == NULL)
		abort();
	t->block = TXN_BLOCK_EXPLICIT;
}

void
txn_append_begin(Txn *t, const char *sql)
{
	const char *old = txn_begin_text(t);
	size_t n = strlen(old) + strlen(sql) + 3;
	char *joined = malloc(n);
	if (joined == NULL)
		abort();
	snprintf(joined, n, "%s; %s", old, sql);
	free(t->begin_sql);
	t->begin_sql = joined;
}

void
txn_begin_implicit(Txn *t)
{
	SG_ASSERT(t->block == TXN_BLOCK_NONE);
	free(t->begin_sql);
	t->begin_sql = NULL;
	t->block = TXN_BLOCK_IMPLICIT;
}

void
txn_set_failed(Txn *t)
{
	if (t->block == TXN_BLOCK_EXPLICIT)
		t->block = TXN_BLOCK_FAILED;
}

const char *
txn_begin_text(const Txn *t)
{
	return t->begin_sql != NULL ? t->begin_sql : "BEGIN";
}

static void
txn_on_conn(NodeConn *conn, const SgError *err, void *arg)
{
	Participant *p = arg;
	TxnConnFn cb = p->join_cb;
	void *cbarg = p->join_arg;
	p->waiter = NULL;
	p->join_cb = NULL;
	p->join_arg = NULL;
	if (conn == NULL) {
		p->broken = true;
		cb(p, err, cbarg);
		return;
	}
	p->conn = conn;
	cb(p, NULL, cbarg);
}

void
txn_participant(Txn *t, int32_t node_id, const char *host, int32_t port, TxnConnFn cb, void *arg)
{
	for (int i = 0; i < t->nparts; i++) {
		Participant *p = t->parts[i];
		if (p->node_id != node_id)
			continue;
		if (!p->broken && p->conn != NULL && node_state(p->conn) == NODE_BROKEN)
			txn_mark_broken(t, p); /* the node closed it while it was idle */
		if (p->broken) {
			SgError err;
			sg_error_set(&err, SQLSTATE_CONNECTION_FAILURE,
			             "connection to node %d was lost in this transaction", node_id);
			cb(p, &err, arg);
			return;
		}
		SG_ASSERT(p->conn != NULL); /* callers serialise per node */
		cb(p, NULL, arg);
		return;
	}
	if (t->nparts == t->nallocparts) {
		if (t->nallocparts == t->capparts) {
			t->capparts = t->capparts ? t->capparts * 2 : 4;
			t->parts = realloc(t->parts, sizeof(Participant *) * (size_t)t->capparts);
			if (t->parts == NULL)
				abort();
		}
		t->parts[t->nallocparts] = calloc(1, sizeof(Participant));
		if (t->parts[t->nallocparts] == NULL)
			abort();
		t->nallocparts++;
	}
	Participant *p = t->parts[t->nparts]; /* zeroed: new, or cleared by txn_drop_participant */
	p->node_id = node_id;
	p->pool = poolset_get(t->pools, node_id, host, port, t->user, t->database, NULL);
	t->nparts++;
	if (t->pinned != NULL && node_id == t->pin_node) {
		p->conn = t->pinned;
		t->pinned = NULL;
		if (node_state(p->conn) != NODE_BROKEN) {
			cb(p, NULL, arg);
			return;
		}
		pool_discard(p->conn); /* the node closed it: its cursors are gone, as after a crash */
		p->conn = NULL;
	}
	p->join_cb = cb;
	p->join_arg = arg;
	NodeConn *kept = txn_take_held(t, node_id);
	if (kept != NULL) {
		txn_on_conn(kept, NULL, p);
		return;
	}
	p->waiter = pool_acquire(p->pool, txn_on_conn, p);
}

/* txn_write_settings: RESET ALL (if reset), then set_config() per setting, one Sync;
 * values are parameters, never pasted into SQL */
static void
txn_write_settings(Buf *b, bool reset, const TxnSettings *st)
{
	static const char *const none[1] = {NULL};
	static const int32_t none_len[1] = {0};
	if (reset) {
		proto_write_parse(b, "", "RESET ALL", 0, NULL);
		proto_write_bind(b, "", "", 0, NULL, 0, none, none_len, 0, NULL);
		proto_write_execute(b, "", 0);
	}
	if (st != NULL && st->n > 0) {
		proto_write_parse(b, "", "SELECT pg_catalog.set_config($1, $2, false)", 0, NULL);
		for (int i = 0; i < st->n; i++) {
			const char *params[2] = {st->names[i], st->values[i]};
			proto_write_bind_text(b, "", "", 2, params);
			proto_write_execute(b, "", 0);
		}
	}
	proto_write_sync(b);
}

int
txn_write_prelude(Txn *t, Participant *p, Buf *b)
{
	int n = 0;
	const TxnSettings *st = t->settings;
	uint64_t want = st != NULL ? st->hash : 0;
	if (node_tag(p->conn) != want) {
		txn_write_settings(b, node_tag(p->conn) != 0, st);
		node_set_tag(p->conn, want);
		n++;
	}
	if (txn_in_block(t) && !p->began) {
		proto_write_query(b, txn_begin_text(t));
		p->began = true;
		n++;
		for (int i = 0; i < t->nsavepoints; i++) {
			proto_write_query(b, t->savepoint_sql[i]);
			n++;
		}
	}
	return n;
}

/* savepoint_name: the name a savepoint statement refers to (its last word), normalised
 * as PostgreSQL does: folded to lower case unless double-quoted */
static char *
savepoint_name(const char *sql)
{
	size_t len = strlen(sql);
	while (len > 0 && (sql[len - 1] == ';' || sql[len - 1] == ' ' || sql[len - 1] == '\n' ||
	                   sql[len - 1] == '\t' || sql[len - 1] == '\r'))
		len--;
	size_t start = len;
	if (len > 0 && sql[len - 1] == '"') {
		start = len - 1;
		while (start > 0 && sql[start - 1] != '"')
			start--;
		char *name = strndup(sql + start, len - 1 - start);
		if (name == NULL)
			abort();
		return name;
	}
	while (start > 0 && sql[start - 1] != ' ' && sql[start - 1] != '\t' && sql[start - 1] != '\n')
		start--;
	char *name = strndup(sql + start, len - start);
	if (name == NULL)
		abort();
	for (char *c = name; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return name;
}

static void
txn_drop_savepoints_from(Txn *t, int from)
{
	for (int i = from; i < t->nsavepoints; i++) {
		free(t->savepoint_names[i]);
		free(t->savepoint_sql[i]);
	}
	if (from < t->nsavepoints)
		t->nsavepoints = from;
}

void
txn_note_savepoint(Txn *t, TxnSavepointOp op, const char *sql)
{
	char *name = savepoint_name(sql);
	int found = -1;
	for (int i = t->nsavepoints - 1; i >= 0 && found < 0; i--)
		if (strcmp(t->savepoint_names[i], name) == 0)
			found = i;
	switch (op) {
	case TXN_SP_SET: {
		t->savepoint_names =
		    realloc(t->savepoint_names, sizeof(char *) * (size_t)(t->nsavepoints + 1));
		t->savepoint_sql = realloc(t->savepoint_sql, sizeof(char *) * (size_t)(t->nsavepoints + 1));
		if (t->savepoint_names == NULL || t->savepoint_sql == NULL)
			abort();
		t->savepoint_names[t->nsavepoints] = name;
		t->savepoint_sql[t->nsavepoints] = strdup(sql);
		if (t->savepoint_sql[t->nsavepoints] == NULL)
			abort();
		t->nsavepoints++;
		return;
	}
	case TXN_SP_RELEASE: /* releases it and every later one */
		if (found >= 0)
			txn_drop_savepoints_from(t, found);
		break;
	case TXN_SP_ROLLBACK_TO: /* keeps it, destroys the later ones */
		if (found >= 0)
			txn_drop_savepoints_from(t, found + 1);
		break;
	}
	free(name);
}

Participant *
txn_find(Txn *t, int32_t node_id)
{
	for (int i = 0; i < t->nparts; i++) {
		Participant *p = t->parts[i];
		if (p->node_id == node_id && p->conn != NULL && !p->broken)
			return p;
	}
	return NULL;
}

void
txn_mark_broken(Txn *t, Participant *p)
{
	(void)t;
	p->broken = true;
	if (p->conn != NULL) {
		pool_discard(p->conn); /* frees its pool slot too */
		p->conn = NULL;
	}
}

int
txn_writers(const Txn *t)
{
	int n = 0;
	for (int i = 0; i < t->nparts; i++)
		n += t->parts[i]->wrote && !t->parts[i]->broken;
	return n;
}

void
txn_statement_end(Txn *t)
{
	if (t->block == TXN_BLOCK_NONE)
		txn_release_all(t);
}

/* ---- broadcasts -------------------------------------------------------- */

static void
bcast_record_error(TxnFinish *f, const SgError *err)
{
	if (f->has_err)
		return;
	f->err = *err;
	f->has_err = true;
	if (f->state == FIN_DECIDE && strcmp(err->sqlstate, "23505") == 0 &&
	    strstr(err->message, "commit_log") != NULL) {
		/* recovery claimed the transaction first (the coordinator was too slow): it has
		 * been rolled back everywhere; tell the client in words it can retry on */
		sg_error_set(&f->err, SQLSTATE_SERIALIZATION_FAILURE,
		             "could not commit: the distributed transaction was rolled back by recovery");
		sg_error_hint(&f->err, "Retry the transaction.");
	}
}

static void
bcast_entry_done(BcastEntry *e)
{
	TxnFinish *f = e->f;
	if (--f->waiting == 0)
		finish_step(f);
}

static void
bcast_on_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	BcastEntry *e = arg;
	(void)c;
	if (type == PQ_MSG_ERROR) {
		SgError err;
		if (!proto_read_error_fields(body, len, &err))
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node %d",
			             e->p->node_id);
		e->failed = true;
		bcast_record_error(e->f, &err);
	} else if (type == PQ_MSG_READY && node_state(c) == NODE_IDLE) {
		bcast_entry_done(e);
	}
}

static void
bcast_on_lost(NodeConn *c, const SgError *err, void *arg)
{
	BcastEntry *e = arg;
	(void)c;
	e->failed = true;
	if (e->f->state == FIN_DECIDE)
		e->f->outcome_unknown = true;
	bcast_record_error(e->f, err);
	txn_mark_broken(e->f->t, e->p);
	bcast_entry_done(e);
}

/* bcast_send: send msgs (expect_ready ReadyForQuery) to participant index i */
static void
bcast_send(TxnFinish *f, int i, const Buf *msgs, int expect_ready)
{
	BcastEntry *e = &f->entries[i];
	e->f = f;
	e->p = f->t->parts[i];
	e->failed = false;
	NodeHandler h = {bcast_on_message, bcast_on_lost, e};
	node_set_handler(e->p->conn, &h);
	f->waiting++;
	node_send(e->p->conn, buf_head(msgs), buf_avail(msgs), expect_ready);
}

static void
bcast_send_query(TxnFinish *f, int i, const char *sql)
{
	Buf b;
	buf_init(&b);
	proto_write_query(&b, sql);
	bcast_send(f, i, &b, 1);
	buf_free(&b);
}

static bool
part_live(const Participant *p)
{
	return p->conn != NULL && !p->broken && p->began && node_state(p->conn) != NODE_BROKEN;
}

/* ---- finish machine ---------------------------------------------------- */

static void
finish_complete(TxnFinish *f)
{
	Txn *t = f->t;
	TxnDoneFn done = f->done;
	void *arg = f->arg;
	SgError err = f->err;
	bool has_err = f->has_err;
	bool is_broadcast = f->is_broadcast;
	free(f->entries);
	free(f);
	t->finish = NULL;
	if (!is_broadcast) {
		txn_release_all(t);
		txn_drop_savepoints_from(t, 0);
		t->block = TXN_BLOCK_NONE;
		free(t->begin_sql);
		t->begin_sql = NULL;
	}
	done(has_err ? &err : NULL, arg);
}

static void
finish_send_prepared(TxnFinish *f, const char *verb)
{
	Txn *t = f->t;
	for (int i = 0; i < t->nparts; i++) {
		Participant *p = t->parts[i];
		if (!p->prepared || p->conn == NULL || p->broken)
			continue;
		char gid[GID_MAX_LEN];
		gid_participant(gid, sizeof(gid), f->gid, p->node_id);
		char sql[GID_MAX_LEN + 32];
		snprintf(sql, sizeof(sql), "%s '%s'", verb, gid);
		bcast_send_query(f, i, sql);
		SG_FAULT_POINT("between_commit_prepared");
	}
}

static void
finish_start_decide(TxnFinish *f)
{
	Txn *t = f->t;
	int i;
	for (i = 0; i < t->nparts; i++)
		if (t->parts[i] == f->decider)
			break;
	SG_ASSERT(i < t->nparts);
	Buf b;
	buf_init(&b);
	const char *params[] = {f->gid};
	/* the decision must be durable when the client hears of it, whatever the node's
	 * synchronous_commit setting */
	proto_write_query(&b, "SET LOCAL synchronous_commit TO on");
	proto_write_parse(&b, "", "INSERT INTO shardgate.commit_log (gid, outcome) VALUES ($1, 'c')", 0,
	                  NULL);
	proto_write_bind_text(&b, "", "", 1, params);
	proto_write_execute(&b, "", 0);
	proto_write_sync(&b);
	proto_write_query(&b, "COMMIT");
	bcast_send(f, i, &b, 3);
	buf_free(&b);
}

/*
 * finish_step: called when the current phase's replies are all in; moves to
 * the next phase (which may send and return) or completes.
 */
static void
finish_step(TxnFinish *f)
{
	Txn *t = f->t;
	switch (f->state) {
	case FIN_PLAIN:
		f->state = FIN_DONE;
		finish_complete(f);
		return;
	case FIN_PREPARE:
		for (int i = 0; i < t->nparts; i++) {
			if (f->entries[i].p == t->parts[i] && !f->entries[i].failed &&
			    t->parts[i] != f->decider && t->parts[i]->wrote)
				t->parts[i]->prepared = true;
		}
		if (f->has_err) {
			f->state = FIN_ABORT_PREP;
			int decider = -1;
			for (int i = 0; i < t->nparts; i++)
				if (t->parts[i] == f->decider && part_live(f->decider))
					decider = i;
			memset(f->entries, 0, sizeof(BcastEntry) * (size_t)t->nparts);
			if (decider >= 0)
				bcast_send_query(f, decider, "ROLLBACK");
			finish_send_prepared(f, "ROLLBACK PREPARED");
			if (f->waiting == 0)
				finish_step(f);
			return;
		}
		SG_FAULT_POINT("before_decide"); /* all prepared, no decision yet */
		f->state = FIN_DECIDE;
		memset(f->entries, 0, sizeof(BcastEntry) * (size_t)t->nparts);
		finish_start_decide(f);
		return;
	case FIN_DECIDE:
		if (f->outcome_unknown) {
			sg_log_warning(f->gid, "connection to the deciding node lost during commit");
			sg_error_set(&f->err, SQLSTATE_TRANSACTION_RESOLUTION_UNKNOWN,
			             "the outcome of the transaction is unknown: connection to node %d "
			             "was lost while committing",
			             f->decider->node_id);
			f->has_err = true;
			f->state = FIN_DONE;
			finish_complete(f);
			return;
		}
		memset(f->entries, 0, sizeof(BcastEntry) * (size_t)t->nparts);
		if (f->has_err) {
			f->state = FIN_ABORT_PREP;
			finish_send_prepared(f, "ROLLBACK PREPARED");
		} else {
			SG_FAULT_POINT("after_decide"); /* decided, nothing committed-prepared yet */
			f->state = FIN_COMMIT_PREP;
			finish_send_prepared(f, "COMMIT PREPARED");
		}
		if (f->waiting == 0)
			finish_step(f);
		return;
	case FIN_COMMIT_PREP:
		if (f->has_err) {
			/* decided: recovery finishes the rest; the client's commit succeeded */
			sg_log_warning(f->gid, "COMMIT PREPARED failed (%s); left to recovery", f->err.message);
			f->has_err = false;
		}
		f->state = FIN_DONE;
		finish_complete(f);
		return;
	case FIN_ABORT_PREP:
		f->state = FIN_DONE;
		finish_complete(f);
		return;
	case FIN_DONE:
		SG_UNREACHABLE();
	}
}

static TxnFinish *
finish_new(Txn *t, TxnDoneFn done, void *arg)
{
	TxnFinish *f = calloc(1, sizeof(TxnFinish));
	if (f == NULL)
		abort();
	f->t = t;
	f->done = done;
	f->arg = arg;
	f->entries = calloc((size_t)t->nparts + 1, sizeof(BcastEntry));
	if (f->entries == NULL)
		abort();
	t->finish = f;
	return f;
}

void
txn_finish(Txn *t, bool commit, TxnDoneFn done, void *arg)
{
	SG_ASSERT(t->finish == NULL);
	TxnFinish *f = finish_new(t, done, arg);
	f->commit = commit;
	int writers = 0;
	for (int i = 0; i < t->nparts; i++)
		if (part_live(t->parts[i]) && t->parts[i]->wrote)
			writers++;
	bool lost_writer = false;
	for (int i = 0; i < t->nparts; i++) {
		Participant *p = t->parts[i];
		if (!p->broken && p->conn != NULL && node_state(p->conn) == NODE_BROKEN)
			txn_mark_broken(t, p); /* closed by the node while idle in the transaction */
		if (p->broken && p->began)
			lost_writer = true;
	}
	if (commit && lost_writer) {
		/* a participant's connection died: its part is gone, so is the transaction */
		commit = false;
		sg_error_set(&f->err, SQLSTATE_CONNECTION_FAILURE,
		             "transaction rolled back: a node connection was lost during it");
		f->has_err = true;
	}
	if (!commit || writers < 2) {
		f->state = FIN_PLAIN;
		for (int i = 0; i < t->nparts; i++)
			if (part_live(t->parts[i]))
				bcast_send_query(f, i, commit ? "COMMIT" : "ROLLBACK");
		if (f->waiting == 0)
			finish_step(f);
		return;
	}
	/* two-phase commit: the writer that made temporary tables decides (it cannot PREPARE;
	 * multi-stage plans make them on one node only), otherwise the first writer */
	for (int i = 0; i < t->nparts && f->decider == NULL; i++)
		if (part_live(t->parts[i]) && t->parts[i]->wrote && t->parts[i]->used_temp)
			f->decider = t->parts[i];
	for (int i = 0; i < t->nparts && f->decider == NULL; i++)
		if (part_live(t->parts[i]) && t->parts[i]->wrote)
			f->decider = t->parts[i];
	gid_make(f->gid, sizeof(f->gid), t->gateway_id,
	         __atomic_fetch_add(t->next_txid, 1, __ATOMIC_RELAXED), f->decider->node_id);
	SG_FAULT_POINT("before_prepare");
	f->state = FIN_PREPARE;
	for (int i = 0; i < t->nparts; i++) {
		Participant *p = t->parts[i];
		if (!part_live(p))
			continue;
		if (p == f->decider)
			continue;
		if (p->wrote) {
			char gid[GID_MAX_LEN];
			gid_participant(gid, sizeof(gid), f->gid, p->node_id);
			char sql[GID_MAX_LEN + 32];
			snprintf(sql, sizeof(sql), "PREPARE TRANSACTION '%s'", gid);
			bcast_send_query(f, i, sql);
			SG_FAULT_POINT("between_prepares"); /* some PREPAREs sent, not all */
		} else {
			bcast_send_query(f, i, "COMMIT");
		}
	}
	sg_log_debug(f->gid, "two-phase commit over %d writers", writers);
	if (f->waiting == 0)
		finish_step(f);
}

void
txn_rollback_to_innermost(Txn *t, TxnDoneFn done, void *arg)
{
	SG_ASSERT(t->nsavepoints > 0);
	/* "ROLLBACK TO " + the client's own "SAVEPOINT <name>" statement */
	const char *sp = t->savepoint_sql[t->nsavepoints - 1];
	size_t n = strlen(sp) + 16;
	char *sql = malloc(n);
	if (sql == NULL)
		abort();
	snprintf(sql, n, "ROLLBACK TO %s", sp);
	txn_broadcast(t, sql, done, arg);
	free(sql);
}

void
txn_broadcast(Txn *t, const char *sql, TxnDoneFn done, void *arg)
{
	SG_ASSERT(t->finish == NULL);
	TxnFinish *f = finish_new(t, done, arg);
	f->is_broadcast = true;
	f->state = FIN_PLAIN;
	for (int i = 0; i < t->nparts; i++)
		if (part_live(t->parts[i]))
			bcast_send_query(f, i, sql);
	if (f->waiting == 0)
		finish_step(f);
}
