/*
 * recovery.c: resolve the `sg_*` prepared transactions on the storage nodes
 * against the two-phase-commit decisions in shardgate.commit_log, and
 * garbage-collect decisions nobody needs any more.
 *
 * Structures: one Recovery per run (an arena for strings and sets, the
 * options, the caller's stats) and one RecNode per catalogued node with its
 * lazily opened blocking libpq connection (autocommit; at most one connect
 * attempt per run, so a dead node costs one timeout, not one per gid).
 *
 * Flow of recovery_run_opts:
 *   1. Every active node: list its prepared transactions named sg_* in our
 *      database, with whether each is older than min_age_sec.
 *   2. Each old one that gid_split() accepts (participant gid
 *      sg_<gw>_<txid>_<decider>_<node>): read the decision of its
 *      transaction (key sg_<gw>_<txid>_<decider>) on node <decider>; if
 *      there is none, claim 'a' there, and read again (rec_claim, below);
 *      then COMMIT PREPARED ('c') or ROLLBACK PREPARED ('a') on the node the
 *      participant was found on.
 *   3. Garbage collection, only when every catalogued node is active and
 *      reachable: read the old decision rows on every node, THEN list the
 *      prepared participants on every node again, and delete the rows that
 *      have none (rec_gc explains why this order is what makes it safe).
 *
 * Why a recovery never splits a decision with a live coordinator (the
 * coordinator is txn.c: PREPARE on every writer but the decider, then the
 * decider runs INSERT (gid, 'c') + COMMIT in its own transaction, and that
 * commit is the decision): commit_log.gid is the primary key, so at most one
 * row per transaction ever commits, 'c' from the decider or 'a' from a
 * recovery, and every reader acts on that row only.
 *   - Decider not yet at its INSERT: our 'a' commits first; the decider's
 *     INSERT then fails on the key, its transaction rolls back, and the
 *     coordinator rolls back the prepared participants: abort everywhere.
 *   - Decider's INSERT done, its COMMIT not yet: our INSERT ... ON CONFLICT
 *     DO NOTHING waits on the decider's transaction (unique-index check).
 *     If the decider commits, our insert does nothing and the re-read finds
 *     'c'; if it rolls back (or its backend dies), our 'a' goes in.
 *   - Decider committed: we read 'c' directly.
 * A recovery never reads "no row" and acts on it: it acts only on a row it
 * read or inserted. The wait in the second case is bounded by lock_timeout;
 * on timeout the participant is left for the next run (skipped_busy).
 * min_age_sec only spares live coordinators needless aborts; safety does not
 * depend on it, nor on clocks.
 *
 * Invariants: a gid is pasted into COMMIT/ROLLBACK PREPARED only after
 * gid_split()/gid_is_valid() accepted it ([a-z0-9_] only); every other value
 * travels as a $n parameter. An unreachable decider means "unknown": the
 * participant stays prepared. Passwords are never logged.
 */
#include "txn/recovery.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/log.h"
#include "storage/linkset.h"
#include "txn/gid.h"

#define RECOVERY_ARENA_CHUNK 8192
#define RECOVERY_STATEMENT_SLACK_MS 30000
#define SQLSTATE_UNDEFINED_OBJECT "42704"
#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"

static const char sql_list[] =
    "SELECT gid, prepared <= now() - make_interval(secs => $1::float8) AS is_old "
    "FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE 'sg\\_%' "
    "ORDER BY prepared";
static const char sql_decision[] = "SELECT outcome FROM shardgate.commit_log WHERE gid = $1";
static const char sql_claim[] = "INSERT INTO shardgate.commit_log (gid, outcome) VALUES ($1, 'a') "
                                "ON CONFLICT (gid) DO NOTHING RETURNING outcome";
static const char sql_gc_candidates[] =
    "SELECT gid FROM shardgate.commit_log "
    "WHERE (outcome = 'c' AND created_at < now() - make_interval(secs => $1::float8)) "
    "OR (outcome = 'a' AND created_at < now() - make_interval(secs => $2::float8)) "
    "LIMIT 10000"; /* per node per run: bounds memory; the rest goes next run */
static const char sql_gc_delete[] = "DELETE FROM shardgate.commit_log WHERE gid = ANY($1::text[])";

typedef struct RecNode {
	const CatNode *cat;
	PGconn *conn;  /* open (autocommit) once connected */
	bool is_tried; /* a connection was attempted: never retried within a run */
	bool is_down;  /* connecting failed or the connection was lost */
} RecNode;

/* GidSet: strings in the run's arena; sorted once filled, then searched */
typedef struct GidSet {
	char **v;
	int n;
	int cap;
} GidSet;

typedef struct Recovery {
	const CatalogSnapshot *snap;
	const RecoveryOptions *opts;
	RecoveryStats *stats;
	Arena *arena;
	int nnodes;
	RecNode *nodes; /* parallel to snap->nodes */
	bool has_err;
	SgError *err; /* the caller's: first problem of the run */
} Recovery;

typedef enum ClaimResult {
	CLAIM_OK,     /* outcome known */
	CLAIM_BUSY,   /* the deciding transaction stayed open past lock_timeout */
	CLAIM_FAILED, /* error, or the decider was lost: outcome unknown */
} ClaimResult;

void
recovery_options_defaults(RecoveryOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->min_age_sec = 30;
	opts->gc_commit_age_sec = RECOVERY_DEFAULT_GC_COMMIT_AGE_SEC;
	opts->gc_abort_age_sec = RECOVERY_DEFAULT_GC_ABORT_AGE_SEC;
	opts->lock_timeout_ms = RECOVERY_DEFAULT_LOCK_TIMEOUT_MS;
	opts->connect_timeout_sec = RECOVERY_DEFAULT_CONNECT_TIMEOUT_SEC;
}

char *
recovery_stats_format(const RecoveryStats *s, char *out, size_t cap)
{
	if (cap == 0)
		return out;
	int n = snprintf(out, cap,
	                 "examined=%lld committed=%lld rolled_back=%lld skipped_young=%lld "
	                 "skipped_unreachable=%lld skipped_busy=%lld failed=%lld "
	                 "nodes_unreachable=%lld gc_deleted=%lld gc_ran=%d",
	                 (long long)s->examined, (long long)s->committed, (long long)s->rolled_back,
	                 (long long)s->skipped_young, (long long)s->skipped_unreachable,
	                 (long long)s->skipped_busy, (long long)s->failed,
	                 (long long)s->nodes_unreachable, (long long)s->gc_deleted, s->gc_ran ? 1 : 0);
	if (n < 0)
		out[0] = '\0';
	return out;
}

/* ---------- errors and connections ---------- */

/* rec_note_error keeps the first error of the run for the caller and logs every one */
static void
rec_note_error(Recovery *r, const char *actor, const SgError *e)
{
	bool is_gid = strncmp(actor, "sg_", 3) == 0;
	sg_log_warning(actor, "%s%s%s%s", is_gid ? "recovery: " : "", e->message,
	               e->detail[0] ? ": " : "", e->detail);
	if (!r->has_err) {
		*r->err = *e;
		r->has_err = true;
	}
}

/*
 * rec_pq_error fills e from a failed result (the node's SQLSTATE and
 * message) or, without one, from the connection (08006). `what` and the
 * node id prefix the message.
 */
static void
rec_pq_error(const RecNode *n, const PGresult *res, const char *what, SgError *e)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL) {
		msg = n->conn ? PQerrorMessage(n->conn) : NULL;
		if (msg == NULL || msg[0] == '\0')
			msg = "unknown error";
	}
	sg_error_set(e, state ? state : SQLSTATE_CONNECTION_FAILURE, "%s on node %d: %s", what,
	             n->cat->id, msg);
	size_t len = strlen(e->message);
	while (len > 0 && (e->message[len - 1] == '\n' || e->message[len - 1] == ' '))
		e->message[--len] = '\0';
}

/* rec_notice drops NOTICEs: recovery's statements raise none worth a log line */
static void
rec_notice(void *arg, const char *message)
{
	(void)arg;
	sg_log_debug("recovery", "notice: %s", message);
}

/* rec_node_lost closes a node's connection for the rest of the run */
static void
rec_node_lost(RecNode *n)
{
	PQfinish(n->conn);
	n->conn = NULL;
	n->is_down = true;
}

/*
 * rec_conn returns the node's connection, connecting on first use; NULL
 * when the node is down for this run (the error is noted once, when the
 * connection attempt fails).
 */
static PGconn *
rec_conn(Recovery *r, RecNode *n)
{
	if (n->conn != NULL)
		return n->conn;
	if (n->is_tried || n->is_down)
		return NULL;
	n->is_tried = true;
	const RecoveryOptions *o = r->opts;
	if ((n->conn = linkset_take(o->links, n->cat->host, n->cat->port)) != NULL)
		return n->conn;
	char port[16], timeout[16], options[96];
	snprintf(port, sizeof(port), "%d", n->cat->port);
	snprintf(timeout, sizeof(timeout), "%d",
	         o->connect_timeout_sec > 0 ? o->connect_timeout_sec : 5);
	int lock_ms = o->lock_timeout_ms > 0 ? o->lock_timeout_ms : RECOVERY_DEFAULT_LOCK_TIMEOUT_MS;
	/* the claim waits at most lock_timeout; no statement hangs the worker forever */
	snprintf(options, sizeof(options), "-c lock_timeout=%d -c statement_timeout=%d", lock_ms,
	         lock_ms + RECOVERY_STATEMENT_SLACK_MS);
	const char *keys[10];
	const char *vals[10];
	int k = 0;
	keys[k] = "host", vals[k++] = n->cat->host;
	keys[k] = "port", vals[k++] = port;
	keys[k] = "dbname", vals[k++] = o->dbname ? o->dbname : "postgres";
	if (o->user != NULL)
		keys[k] = "user", vals[k++] = o->user;
	if (o->password != NULL)
		keys[k] = "password", vals[k++] = o->password;
	keys[k] = "connect_timeout", vals[k++] = timeout;
	keys[k] = "application_name", vals[k++] = "shardgate recovery";
	keys[k] = "options", vals[k++] = options;
	keys[k] = NULL, vals[k] = NULL;
	PGconn *conn = PQconnectdbParams(keys, vals, 0);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		SgError e;
		sg_error_set(&e, SQLSTATE_CONNECTION_FAILURE, "could not connect to node %d (%s:%d)",
		             n->cat->id, n->cat->host, n->cat->port);
		if (conn != NULL) {
			/* libpq's message: one line is enough for the log */
			const char *msg = PQerrorMessage(conn);
			sg_error_detail(&e, "%.*s", (int)strcspn(msg, "\n"), msg);
		}
		PQfinish(conn);
		n->is_down = true;
		rec_note_error(r, "recovery", &e);
		return NULL;
	}
	PQsetNoticeProcessor(conn, rec_notice, NULL);
	n->conn = conn;
	return conn;
}

/*
 * rec_exec runs one statement with text parameters on the node and returns
 * its result (the caller PQclears it) if its status is `want`; otherwise
 * NULL with e filled, and the node marked down if the connection was lost.
 */
static PGresult *
rec_exec(Recovery *r, RecNode *n, const char *sql, int nparams, const char *const *params,
         ExecStatusType want, const char *what, SgError *e)
{
	PGconn *conn = rec_conn(r, n);
	if (conn == NULL) {
		sg_error_set(e, SQLSTATE_CONNECTION_FAILURE, "%s: node %d is unreachable", what,
		             n->cat->id);
		return NULL;
	}
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) == want)
		return res;
	rec_pq_error(n, res, what, e);
	PQclear(res);
	if (PQstatus(conn) != CONNECTION_OK)
		rec_node_lost(n);
	return NULL;
}

static RecNode *
rec_node_by_id(Recovery *r, int32_t id)
{
	for (int i = 0; i < r->nnodes; i++)
		if (r->nodes[i].cat->id == id)
			return &r->nodes[i];
	return NULL;
}

/* ---------- gid sets ---------- */

static void
gidset_add(Arena *a, GidSet *s, const char *gid)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;
		char **v = ARENA_NEW_ARRAY(a, char *, cap);
		if (s->n > 0)
			memcpy(v, s->v, sizeof(char *) * (size_t)s->n);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = arena_strdup(a, gid);
}

static int
gidset_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void
gidset_sort(GidSet *s)
{
	if (s->n > 1)
		qsort(s->v, (size_t)s->n, sizeof(char *), gidset_cmp);
}

/* gidset_has: s must be sorted */
static bool
gidset_has(const GidSet *s, const char *gid)
{
	return s->n > 0 && bsearch(&gid, s->v, (size_t)s->n, sizeof(char *), gidset_cmp) != NULL;
}

/* ---------- resolution ---------- */

/*
 * rec_read_decision reads the outcome of transaction `base` on its deciding
 * node: *outcome = 'c', 'a', or '\0' when there is no row. False (e filled)
 * when it could not be read.
 */
static bool
rec_read_decision(Recovery *r, RecNode *dn, const char *base, char *outcome, SgError *e)
{
	const char *params[] = {base};
	PGresult *res =
	    rec_exec(r, dn, sql_decision, 1, params, PGRES_TUPLES_OK, "reading the commit log", e);
	if (res == NULL)
		return false;
	*outcome = PQntuples(res) > 0 ? PQgetvalue(res, 0, 0)[0] : '\0';
	PQclear(res);
	if (*outcome != '\0' && *outcome != 'c' && *outcome != 'a')
		return sg_error_set(e, SQLSTATE_INTERNAL_ERROR, "commit log of node %d: bad outcome '%c'",
		                    dn->cat->id, *outcome);
	return true;
}

/*
 * rec_claim settles an undecided transaction: it inserts 'a' for `base` on
 * the deciding node unless a row exists, then reports the outcome that
 * holds. The INSERT ... ON CONFLICT DO NOTHING is the heart of the protocol
 * (file header): if the decider's own transaction has inserted 'c' but not
 * committed yet, the unique check makes this INSERT wait for it; if it then
 * commits, nothing is inserted and the re-read returns 'c'; if it rolls back,
 * our 'a' is inserted and returned. *claimed says that this run wrote 'a'.
 */
static ClaimResult
rec_claim(Recovery *r, RecNode *dn, const char *base, char *outcome, bool *claimed, SgError *e)
{
	const char *params[] = {base};
	*claimed = false;
	PGresult *res = rec_exec(r, dn, sql_claim, 1, params, PGRES_TUPLES_OK,
	                         "claiming an undecided transaction", e);
	if (res == NULL)
		return strcmp(e->sqlstate, SQLSTATE_LOCK_NOT_AVAILABLE) == 0 ? CLAIM_BUSY : CLAIM_FAILED;
	bool inserted = PQntuples(res) == 1;
	PQclear(res);
	if (inserted) {
		*claimed = true;
		*outcome = 'a';
		return CLAIM_OK;
	}
	/* the row that beat us is committed now (ON CONFLICT only skips committed rows) */
	if (!rec_read_decision(r, dn, base, outcome, e))
		return CLAIM_FAILED;
	if (*outcome == '\0') {
		/* only possible if someone deleted the row in between: decide next run */
		sg_error_set(e, SQLSTATE_INTERNAL_ERROR,
		             "decision row vanished on node %d right after a conflict", dn->cat->id);
		return CLAIM_FAILED;
	}
	return CLAIM_OK;
}

/*
 * rec_finish runs COMMIT PREPARED or ROLLBACK PREPARED for participant pgid
 * on node n. A participant that no longer exists (42704) was finished by
 * its coordinator or another gateway's recovery meanwhile: not an error,
 * not counted. One being finished right now by another backend ("busy",
 * 55000) is left for the next run.
 */
static void
rec_finish(Recovery *r, RecNode *n, const char *pgid, char outcome, int32_t decider, bool claimed)
{
	SG_ASSERT(gid_is_valid(pgid)); /* the only text pasted into a statement */
	bool commit = outcome == 'c';
	char sql[GID_MAX_LEN + 32];
	snprintf(sql, sizeof(sql), "%s '%s'", commit ? "COMMIT PREPARED" : "ROLLBACK PREPARED", pgid);
	SgError e;
	PGresult *res = rec_exec(r, n, sql, 0, NULL, PGRES_COMMAND_OK,
	                         commit ? "COMMIT PREPARED" : "ROLLBACK PREPARED", &e);
	if (res != NULL) {
		PQclear(res);
		if (commit)
			r->stats->committed++;
		else
			r->stats->rolled_back++;
		sg_log_info(pgid, "recovery: %s on node %d (decision '%c' on node %d%s)",
		            commit ? "committed" : "rolled back", n->cat->id, outcome, decider,
		            claimed ? ", claimed by this recovery" : "");
		return;
	}
	if (strcmp(e.sqlstate, SQLSTATE_UNDEFINED_OBJECT) == 0) {
		sg_log_debug(pgid, "recovery: already finished by someone else");
		return;
	}
	if (strcmp(e.sqlstate, SQLSTATE_OBJECT_NOT_IN_PREREQUISITE_STATE) == 0) {
		r->stats->skipped_busy++;
		sg_log_debug(pgid, "recovery: busy (%s), left for the next run", e.message);
		return;
	}
	if (n->is_down)
		r->stats->skipped_unreachable++;
	else
		r->stats->failed++;
	rec_note_error(r, pgid, &e);
}

/*
 * rec_resolve settles one old participant pgid found prepared on node n:
 * decision from its deciding node (claiming 'a' if there is none), then
 * COMMIT/ROLLBACK PREPARED on n. Never acts without a decision row.
 */
static void
rec_resolve(Recovery *r, RecNode *n, const char *pgid, const char *base, int32_t decider)
{
	RecoveryStats *st = r->stats;
	RecNode *dn = rec_node_by_id(r, decider);
	if (dn == NULL) {
		st->skipped_unreachable++;
		SgError e;
		sg_error_set(&e, SQLSTATE_CONNECTION_FAILURE,
		             "deciding node %d is not in the catalog; left prepared", decider);
		rec_note_error(r, pgid, &e);
		return;
	}
	if (rec_conn(r, dn) == NULL) {
		st->skipped_unreachable++;
		sg_log_debug(pgid, "recovery: deciding node %d unreachable; left prepared", decider);
		return;
	}
	SgError e;
	char outcome = '\0';
	bool claimed = false;
	if (!rec_read_decision(r, dn, base, &outcome, &e)) {
		if (dn->is_down)
			st->skipped_unreachable++;
		else
			st->failed++;
		rec_note_error(r, pgid, &e);
		return;
	}
	if (outcome == '\0') {
		switch (rec_claim(r, dn, base, &outcome, &claimed, &e)) {
		case CLAIM_OK:
			break;
		case CLAIM_BUSY:
			st->skipped_busy++;
			sg_log_info(pgid,
			            "recovery: deciding transaction still open on node %d; left for "
			            "the next run",
			            decider);
			return;
		case CLAIM_FAILED:
			if (dn->is_down)
				st->skipped_unreachable++;
			else
				st->failed++;
			rec_note_error(r, pgid, &e);
			return;
		}
	}
	if (n->conn == NULL) { /* the participant's node was lost meanwhile */
		st->skipped_unreachable++;
		return;
	}
	rec_finish(r, n, pgid, outcome, decider, claimed);
}

/*
 * rec_list lists the sg_* prepared transactions of node n. With `live`, the
 * transaction gid (base) of every well-formed participant is added to it.
 * With `resolve`, each is counted and the old ones are resolved. False
 * (error noted) if the node could not be listed.
 */
static bool
rec_list(Recovery *r, RecNode *n, GidSet *live, bool resolve)
{
	char age[16];
	snprintf(age, sizeof(age), "%d",
	         resolve && r->opts->min_age_sec > 0 ? r->opts->min_age_sec : 0);
	const char *params[] = {age};
	if (rec_conn(r, n) == NULL)
		return false; /* noted by rec_conn */
	SgError e;
	PGresult *res =
	    rec_exec(r, n, sql_list, 1, params, PGRES_TUPLES_OK, "listing prepared transactions", &e);
	if (res == NULL) {
		rec_note_error(r, "recovery", &e);
		return false;
	}
	int rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		const char *pgid = PQgetvalue(res, i, 0);
		bool is_old = PQgetvalue(res, i, 1)[0] == 't';
		char base[GID_MAX_LEN];
		int32_t decider = 0, node_id = 0;
		if (!gid_is_valid(pgid) || !gid_split(pgid, base, sizeof(base), &decider, &node_id)) {
			/* not ours (sg_ by coincidence, or a shape we never make): leave it alone */
			sg_log_debug("recovery", "node %d: ignoring prepared transaction %s", n->cat->id,
			             gid_is_valid(pgid) ? pgid : "(malformed sg_ gid)");
			continue;
		}
		if (live != NULL)
			gidset_add(r->arena, live, base);
		if (!resolve)
			continue;
		r->stats->examined++;
		if (!is_old) {
			r->stats->skipped_young++;
			continue;
		}
		if (n->conn == NULL) {
			r->stats->skipped_unreachable++;
			continue;
		}
		rec_resolve(r, n, pgid, base, decider);
	}
	PQclear(res);
	return true;
}

/* ---------- garbage collection ---------- */

/*
 * rec_gc deletes commit-log rows no participant needs. Order matters:
 *   1. read the candidate rows (old enough) on every node;
 *   2. THEN list the prepared participants on every node;
 *   3. delete the candidates with no participant.
 * A 'c' row is committed only after every participant of its transaction
 * was prepared, and a candidate was committed before step 1 read it, so each
 * participant it still has is prepared at step 2 and seen (a participant
 * never comes back once finished). Listing first and reading candidates
 * afterwards would be unsafe: a row can commit between the two, and its
 * created_at is the decider's transaction start (now()), which may be old
 * already. An 'a' row's absence means "abort" anyway, except to a live
 * coordinator that has not decided yet: it could then insert 'c' after
 * recovery rolled a participant back, so 'a' rows are kept
 * gc_abort_age_sec, which must exceed any coordinator's PREPARE phase.
 * Runs only when every catalogued node is active and reachable: a node we
 * cannot list may hold participants.
 */
static void
rec_gc(Recovery *r)
{
	const RecoveryOptions *o = r->opts;
	for (int i = 0; i < r->nnodes; i++) {
		if (!r->nodes[i].cat->is_active) {
			sg_log_debug("recovery", "node %d inactive: commit-log GC skipped",
			             r->nodes[i].cat->id);
			return;
		}
		if (r->nodes[i].is_down)
			return;
	}
	char commit_age[16], abort_age[16];
	snprintf(commit_age, sizeof(commit_age), "%d",
	         o->gc_commit_age_sec > 0 ? o->gc_commit_age_sec : 0);
	snprintf(abort_age, sizeof(abort_age), "%d", o->gc_abort_age_sec > 0 ? o->gc_abort_age_sec : 0);
	const char *params[] = {commit_age, abort_age};
	GidSet *cand = ARENA_NEW_ARRAY(r->arena, GidSet, r->nnodes);
	int ncand = 0;
	for (int i = 0; i < r->nnodes; i++) {
		SgError e;
		PGresult *res = rec_exec(r, &r->nodes[i], sql_gc_candidates, 2, params, PGRES_TUPLES_OK,
		                         "reading old commit-log rows", &e);
		if (res == NULL) {
			rec_note_error(r, "recovery", &e);
			return;
		}
		for (int j = 0; j < PQntuples(res); j++) {
			const char *gid = PQgetvalue(res, j, 0);
			char base[GID_MAX_LEN];
			int32_t d, nid;
			/* transaction gids only: valid, and not of the participant shape */
			if (gid_is_valid(gid) && !gid_split(gid, base, sizeof(base), &d, &nid)) {
				gidset_add(r->arena, &cand[i], gid);
				ncand++;
			}
		}
		PQclear(res);
	}
	if (ncand == 0) {
		r->stats->gc_ran = true;
		return;
	}
	GidSet live = {0};
	for (int i = 0; i < r->nnodes; i++)
		if (!rec_list(r, &r->nodes[i], &live, false))
			return;
	gidset_sort(&live);
	for (int i = 0; i < r->nnodes; i++) {
		Buf arr;
		buf_init(&arr);
		buf_append(&arr, "{", 1);
		int ndel = 0;
		for (int j = 0; j < cand[i].n; j++) {
			if (gidset_has(&live, cand[i].v[j]))
				continue;
			/* [a-z0-9_] only: no quoting needed inside the array literal */
			buf_printf(&arr, "%s%s", ndel ? "," : "", cand[i].v[j]);
			ndel++;
		}
		buf_append(&arr, "}", 2); /* with the NUL */
		if (ndel > 0) {
			const char *dparams[] = {buf_head(&arr)};
			SgError e;
			PGresult *res = rec_exec(r, &r->nodes[i], sql_gc_delete, 1, dparams, PGRES_COMMAND_OK,
			                         "deleting old commit-log rows", &e);
			if (res == NULL) {
				rec_note_error(r, "recovery", &e);
				r->stats->failed++;
			} else {
				int deleted = atoi(PQcmdTuples(res));
				r->stats->gc_deleted += deleted;
				sg_log_debug("recovery", "node %d: %d commit-log rows deleted", r->nodes[i].cat->id,
				             deleted);
				PQclear(res);
			}
		}
		buf_free(&arr);
	}
	r->stats->gc_ran = true;
}

/* ---------- entry points ---------- */

bool
recovery_run_opts(const CatalogSnapshot *snap, const RecoveryOptions *opts, RecoveryStats *stats,
                  SgError *err)
{
	memset(stats, 0, sizeof(*stats));
	sg_error_clear(err);
	Recovery r = {.snap = snap, .opts = opts, .stats = stats, .err = err};
	r.arena = arena_create(RECOVERY_ARENA_CHUNK);
	r.nnodes = snap->nnodes;
	r.nodes = ARENA_NEW_ARRAY(r.arena, RecNode, r.nnodes > 0 ? r.nnodes : 1);
	for (int i = 0; i < r.nnodes; i++)
		r.nodes[i].cat = &snap->nodes[i];

	for (int i = 0; i < r.nnodes; i++) {
		RecNode *n = &r.nodes[i];
		if (!n->cat->is_active)
			continue;
		if (!rec_list(&r, n, NULL, true))
			stats->nodes_unreachable++;
	}
	rec_gc(&r);

	for (int i = 0; i < r.nnodes; i++)
		linkset_put(opts->links, r.nodes[i].cat->host, r.nodes[i].cat->port, r.nodes[i].conn);
	arena_destroy(r.arena);

	char line[320];
	recovery_stats_format(stats, line, sizeof(line));
	if (stats->committed || stats->rolled_back || stats->gc_deleted || r.has_err)
		sg_log_info("recovery", "%s", line);
	else
		sg_log_debug("recovery", "%s", line);
	return !r.has_err;
}

bool
recovery_run(const CatalogSnapshot *snap, const char *user, const char *dbname, int min_age_sec,
             RecoveryStats *stats, SgError *err)
{
	RecoveryOptions opts;
	recovery_options_defaults(&opts);
	opts.user = user;
	opts.dbname = dbname;
	opts.min_age_sec = min_age_sec;
	return recovery_run_opts(snap, &opts, stats, err);
}
