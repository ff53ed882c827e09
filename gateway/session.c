/*
 * session.c: the client session state machine.
 *
 *   SESS_STARTUP        waiting for the startup packet (SSLRequest and
 *                       GSSENCRequest are answered 'N' and stay here;
 *                       CancelRequest cancels another session and closes)
 *   SESS_AUTH_SASL      AuthenticationSASL sent, waiting for SASLInitialResponse
 *   SESS_AUTH_SASL_CONT SASLContinue sent, waiting for SASLResponse
 *   SESS_IDLE           ReadyForQuery sent, waiting for a message
 *   SESS_QUERY          running the statements of one Query message
 *   SESS_CLOSING        flushing a final message, then close
 *
 * A Query message is split into statements once; each is planned just
 * before it runs (so a statement sees the catalog change of the previous
 * one) and run by the executor, or handled here (transaction control,
 * gateway functions). Several statements in one message form one implicit
 * transaction, as in PostgreSQL; an autocommit write that touches several
 * nodes is also wrapped in an implicit transaction, so it commits
 * atomically (two-phase commit in txn/).
 *
 * Memory: the statement arena (created on first use, reset at
 * ReadyForQuery) holds parse trees and plans; socket buffers are released
 * when empty so an idle session costs little.
 */
#include "gateway/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/proto.h"
#include "gateway/copyrun.h"
#include "gateway/gather.h"
#include "gateway/portal.h"
#include "gateway/scram.h"
#include "planner/exec.h"
#include "planner/plancache.h"
#include "planner/planner.h"
#include "planner/prepared_route.h"
#include "storage/admin.h"
#include "storage/lockwait.h"
#include "txn/recovery.h"
#include "txn/txn.h"

#define SESS_READ_CHUNK 16384
#define SESS_KEEP_BUF 8192
#define SESS_HOLD_MAX 65536 /* output held back while a statement runs (sink_message flushes) */
#define SESS_SMALL_MESSAGE_LIMIT 10000
#define SESS_MAX_PIPELINED (1024 * 1024) /* input buffered while a statement runs */
#define SESS_STACK_MESSAGE 512 /* client messages up to this size are copied to the stack */

typedef enum SessState {
	/* start-up */
	SESS_STARTUP,
	SESS_AUTH_SASL,
	SESS_AUTH_SASL_CONT,
	/* ready */
	SESS_IDLE,
	SESS_QUERY,
	SESS_COPY_IN, /* CopyInResponse sent: CopyData until CopyDone/CopyFail */
	/* end */
	SESS_CLOSING
} SessState;

struct Session {
	Session *next;
	Session *prev;
	Server *srv;
	int fd;
	Watch *watch;
	SessState state;
	Buf in;
	Buf out;
	uint32_t pid;
	uint32_t key;
	char actor[24];
	char *user;
	char *database;
	ScramExchange *scram;
	Txn txn;
	Arena *arena; /* statement arena */
	CatalogSnapshot *snap;
	StmtList stmts;
	int cur;
	DistPlan *plan;
	DistPlan *cached_plan; /* from the plan cache for the Query being started */
	const char *learn_sql; /* plan-cache miss: the Query's text, to learn its plan */
	Exec *exec;
	bool wrapped;      /* autocommit statement wrapped in an implicit transaction */
	bool skip_to_sync; /* extended protocol error: discard until Sync */
	bool in_worker;    /* a worker job refers to this session */
	bool dead;         /* closed while a worker job was running */
	bool out_full;     /* node reads are paused for back-pressure */
	bool out_held;     /* output kept back while a statement runs (see session_process) */
	bool out_ready;    /* `out` holds a ReadyForQuery: it goes out at once */
	/* extended query protocol */
	PortalSet portals;
	bool ext;                  /* the running statement came from Execute (or Describe) */
	bool describing;           /* the running work is a Describe */
	DescribeCache *desc_learn; /* the Describe running fills this cache ... */
	uint64_t desc_epoch;       /* ... valid for this schema epoch */
	Buf desc_buf;              /* its answer so far */
	PreparedStmt *ext_ps;      /* Execute: the portal's statement */
	bool catalog_dirty;        /* the open transaction changed the catalog: reload after COMMIT */
	/* create_distributed_table / create_reference_table called inside a transaction
	 * block: run after its COMMIT (copies in deferred_arena) */
	Arena *deferred_arena;
	DistPlan **deferred;
	int32_t *deferred_depth; /* savepoints alive when each was called */
	int ndeferred, capdeferred, next_deferred;
	const DistPlan *commit_plan; /* the COMMIT they run after */
	const char **fill_values;    /* PLAN_FILL: the distribution values drawn so far */
	struct InselState *insel;    /* PLAN_INSERT_SELECT: its rows and batches (statement arena) */
	int32_t nfill;
	KeySet *keysets; /* PLAN_PREFETCH: the statement's semi-join key sets so far ... */
	int32_t nkeysets;
	KeySet *keys_building; /* ... and the one being fetched */
	bool keys_in_block;    /* the statement started inside a transaction block */
	int32_t keys_max;
	const Portal *desc_portal; /* the portal being described ('P') */
	bool ext_error;            /* an error was sent since the last Sync */
	ExecBind bind;
	PlanParams params;
	bool sql_exec;        /* the running tasks are a SQL-level EXECUTE: s->bind holds its values */
	Portal *buffering;    /* Execute with a row limit: rows go into this portal */
	uint32_t max_rows;    /* that Execute's limit */
	TxnSettings settings; /* startup parameters and SETs every backend must carry */
	TxnSettings startup;  /* the startup parameters alone: what RESET ALL returns to */
	bool capturing;       /* an internal query reads back a setting */
	char captured[1024];
	bool has_captured;
	uint64_t busy_since; /* loop_now_us() at the start of the running statement, 0 idle */
	bool in_process;     /* inside session_process: ending is deferred to its end */
	CopyRun *copy;       /* COPY FROM STDIN in flight */
	NodeConn *listen;    /* LISTEN: a connection of the session's own, never pooled again */
	PoolWaiter *listen_wait;
	bool listen_failed;
	bool must_destroy; /* the client is gone: destroy at the end of session_process */
};

static void session_on_socket(int fd, short events, void *arg);
static void session_process(Session *s);
static void session_run_next(Session *s);
static void session_stmt_failed(Session *s, const SgError *err);
static void session_stmt_ok(Session *s);
static void session_settings_free(TxnSettings *st);
static void deferred_clear(Session *s, int keep);
static void session_run_deferred(Session *s);

static const char *
sess_state_name(SessState st)
{
	switch (st) {
	case SESS_STARTUP:
		return "startup";
	case SESS_AUTH_SASL:
		return "auth-sasl";
	case SESS_AUTH_SASL_CONT:
		return "auth-sasl-continue";
	case SESS_IDLE:
		return "idle";
	case SESS_QUERY:
		return "query";
	case SESS_COPY_IN:
		return "copy-in";
	case SESS_CLOSING:
		return "closing";
	}
	return "?";
}

static void
session_set_state(Session *s, SessState next)
{
	sg_log_debug(s->actor, "%s -> %s", sess_state_name(s->state), sess_state_name(next));
	s->state = next;
}

/* ---- output ------------------------------------------------------------ */

static void
session_update_watch(Session *s)
{
	if (s->watch == NULL)
		return;
	short ev = 0;
	if (buf_avail(&s->out) > 0 && !(s->out_held && s->state == SESS_QUERY))
		ev |= LOOP_WRITE;
	/* read more only when we can act on it: not while a statement runs */
	if (s->state != SESS_CLOSING && s->state != SESS_QUERY &&
	    !(s->state == SESS_COPY_IN && s->copy != NULL && copyrun_is_full(s->copy)) &&
	    buf_avail(&s->in) < s->srv->config->max_message_size + 5)
		ev |= LOOP_READ;
	if (s->state == SESS_QUERY && buf_avail(&s->in) < SESS_MAX_PIPELINED)
		ev |= LOOP_READ; /* to notice a client that goes away; input is buffered */
	watch_set(s->watch, ev);
}

static void session_destroy(Session *s);

/*
 * session_back_from_worker: the job (worker, reload, gather) that referred to
 * s is done; false when the session died meanwhile (then it is destroyed now)
 */
static bool
session_back_from_worker(Session *s)
{
	s->in_worker = false;
	if (s->dead) {
		session_destroy(s);
		return false;
	}
	return true;
}

/*
 * session_end: the client is gone (write failed, Terminate). Inside
 * session_process the destruction waits for its end, so no frame above us
 * touches a freed session.
 */
static void
session_end(Session *s)
{
	if (s->in_process) {
		s->must_destroy = true;
		s->state = SESS_CLOSING;
		buf_clear(&s->out);
		return;
	}
	session_destroy(s);
}

/* session_flush writes what the socket takes now; false if the client is gone */
static bool
session_flush(Session *s)
{
	s->out_held = false;
	while (buf_avail(&s->out) > 0) {
		ssize_t n = send(s->fd, buf_head(&s->out), buf_avail(&s->out), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&s->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return false;
	}
	if (buf_avail(&s->out) == 0)
		s->out_ready = false;
	if (s->out_full && buf_avail(&s->out) < s->srv->config->client_out_limit / 2) {
		s->out_full = false;
		if (s->exec != NULL)
			exec_resume(s->exec);
	}
	buf_release_if_large(&s->out, SESS_KEEP_BUF);
	session_update_watch(s);
	return true;
}

static void
session_send_error(Session *s, const SgError *err)
{
	proto_write_error(&s->out, err);
}

static void
session_send_ready(Session *s)
{
	proto_write_ready(&s->out, txn_status_byte(&s->txn));
	s->out_ready = true;
}

/* session_fatal: send a FATAL error and close once it is flushed */
static void
session_fatal(Session *s, const SgError *err)
{
	SgError e = *err;
	snprintf(e.severity, sizeof(e.severity), "FATAL");
	session_send_error(s, &e);
	session_set_state(s, SESS_CLOSING);
	session_update_watch(s); /* never destroyed here: session_process closes it */
}

/* ---- lifecycle --------------------------------------------------------- */

void
session_accept(Server *srv, int fd)
{
	Session *s = calloc(1, sizeof(Session));
	if (s == NULL)
		abort();
	s->srv = srv;
	s->fd = fd;
	/* BackendKeyData pid: the loop's index in its low part, for CancelRequest routing */
	s->pid = (++srv->next_pid) * (uint32_t)srv->gw->nservers + (uint32_t)srv->index;
	s->key = (uint32_t)random() ^ ((uint32_t)random() << 16);
	snprintf(s->actor, sizeof(s->actor), "session %u", s->pid);
	buf_init(&s->in);
	buf_init(&s->out);
	s->state = SESS_STARTUP;
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	__atomic_add_fetch(&srv->gw->nsessions, 1, __ATOMIC_RELAXED);
	s->watch = watch_create(srv->loop, fd, session_on_socket, s);
	session_update_watch(s);
}

static void
session_release_statement(Session *s)
{
	if (s->snap != NULL) {
		catalog_unref(s->snap);
		s->snap = NULL;
	}
	if (s->arena != NULL)
		arena_reset(s->arena);
	memset(&s->stmts, 0, sizeof(s->stmts));
	s->plan = NULL;
	s->cur = 0;
}

static void
session_destroy(Session *s)
{
	Server *srv = s->srv;
	if (s->exec != NULL) {
		exec_abandon(s->exec);
		s->exec = NULL;
	}
	if (s->copy != NULL) {
		copyrun_abandon(s->copy);
		s->copy = NULL;
	}
	if (s->listen_wait != NULL) {
		pool_cancel(s->listen_wait);
		s->listen_wait = NULL;
	}
	if (s->listen != NULL) {
		pool_discard(s->listen); /* its LISTENs end with it */
		s->listen = NULL;
	}
	if (s->watch != NULL) {
		watch_destroy(s->watch);
		s->watch = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->in_worker) { /* the job's done() finishes the destruction */
		s->dead = true;
		return;
	}
	if (s->state != SESS_STARTUP && s->state != SESS_AUTH_SASL && s->state != SESS_AUTH_SASL_CONT &&
	    s->user != NULL)
		txn_cleanup(&s->txn);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	__atomic_sub_fetch(&srv->gw->nsessions, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&srv->nsessions, 1, __ATOMIC_RELAXED);
	session_release_statement(s);
	portal_set_destroy(&s->portals);
	arena_destroy(s->arena);
	if (s->scram != NULL) {
		scram_server_clear(s->scram);
		free(s->scram);
	}
	free(s->user);
	free(s->database);
	session_settings_free(&s->settings);
	session_settings_free(&s->startup);
	buf_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->desc_buf);
	deferred_clear(s, 0);
	free(s);
}

void
session_close_all(Server *srv)
{
	Session *s = srv->sessions;
	while (s != NULL) {
		Session *next = s->next;
		if (!s->dead) {
			SgError err;
			sg_error_fatal(&err, SQLSTATE_ADMIN_SHUTDOWN,
			               "terminating connection due to administrator command");
			session_send_error(s, &err);
			(void)session_flush(s);
			session_destroy(s); /* one in a worker job stays linked until the job ends */
		}
		s = next;
	}
}

/* ---- settings ------------------------------------------------------------ */

static void
session_settings_free(TxnSettings *st)
{
	for (int i = 0; i < st->n; i++) {
		free(st->names[i]);
		free(st->values[i]);
	}
	free(st->names);
	free(st->values);
	memset(st, 0, sizeof(*st));
}

/* session_settings_put: set name = value (replacing an earlier value) and rehash */
static void
session_settings_put(TxnSettings *st, const char *name, const char *value)
{
	int i;
	for (i = 0; i < st->n; i++)
		if (strcasecmp(st->names[i], name) == 0)
			break;
	if (i == st->n) {
		st->names = realloc(st->names, sizeof(char *) * (size_t)(st->n + 1));
		st->values = realloc(st->values, sizeof(char *) * (size_t)(st->n + 1));
		if (st->names == NULL || st->values == NULL)
			abort();
		st->names[i] = strdup(name);
		st->values[i] = NULL;
		st->n++;
	}
	free(st->values[i]);
	st->values[i] = strdup(value);
	if (st->names[i] == NULL || st->values[i] == NULL)
		abort();
	uint64_t h = SG_FNV_INIT;
	for (int k = 0; k < st->n; k++) { /* each string with its NUL, as a separator */
		h = sg_fnv1a(h, st->names[k], strlen(st->names[k]) + 1);
		h = sg_fnv1a(h, st->values[k], strlen(st->values[k]) + 1);
	}
	st->hash = h == 0 ? 1 : h;
}

/* startup parameters that are not settings, or that the gateway itself owns */
static bool
session_is_protocol_param(const char *name)
{
	static const char *const skip[] = {"user", "database", "replication", "options",
	                                   "client_encoding"};
	for (size_t i = 0; i < SG_ARRAY_LEN(skip); i++)
		if (strcmp(name, skip[i]) == 0)
			return true;
	return strncmp(name, "_pq_.", 5) == 0;
}

/* session_startup_settings: startup parameters and `options` (-c name=value) */
static void
session_startup_settings(Session *s, const StartupPacket *sp)
{
	for (int i = 0; i < sp->nparams; i++)
		if (!session_is_protocol_param(sp->names[i]))
			session_settings_put(&s->settings, sp->names[i], sp->values[i]);
	const char *opts = proto_startup_param(sp, "options");
	if (opts == NULL)
		return;
	char *copy = strdup(opts);
	if (copy == NULL)
		abort();
	char *save = NULL;
	bool expect_c = false;
	for (char *tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		const char *kv = NULL;
		if (strcmp(tok, "-c") == 0) {
			expect_c = true;
			continue;
		}
		if (expect_c)
			kv = tok;
		else if (strncmp(tok, "-c", 2) == 0)
			kv = tok + 2;
		else if (strncmp(tok, "--", 2) == 0)
			kv = tok + 2;
		expect_c = false;
		const char *eq = kv != NULL ? strchr(kv, '=') : NULL;
		if (eq == NULL)
			continue;
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		session_settings_put(&s->settings, name, eq + 1);
	}
	free(copy);
}

static const char *
session_setting(const Session *s, const char *name, const char *dflt)
{
	for (int i = 0; i < s->settings.n; i++)
		if (strcasecmp(s->settings.names[i], name) == 0)
			return s->settings.values[i];
	return dflt;
}

/* ---- start-up and authentication -------------------------------------- */

static void
session_send_startup_done(Session *s)
{
	Server *srv = s->srv;
	Buf *o = &s->out;
	proto_write_auth(o, PQ_AUTH_OK);
	proto_write_parameter_status(o, "application_name", session_setting(s, "application_name", ""));
	proto_write_parameter_status(o, "client_encoding", "UTF8");
	proto_write_parameter_status(o, "DateStyle", session_setting(s, "DateStyle", srv->datestyle));
	proto_write_parameter_status(o, "default_transaction_read_only", "off");
	proto_write_parameter_status(o, "in_hot_standby", "off");
	proto_write_parameter_status(o, "integer_datetimes", "on");
	proto_write_parameter_status(o, "IntervalStyle",
	                             session_setting(s, "IntervalStyle", srv->intervalstyle));
	proto_write_parameter_status(o, "is_superuser",
	                             strcmp(s->user, "postgres") == 0 ? "on" : "off");
	proto_write_parameter_status(o, "server_encoding", "UTF8");
	proto_write_parameter_status(o, "server_version", srv->server_version);
	proto_write_parameter_status(o, "session_authorization", s->user);
	proto_write_parameter_status(o, "standard_conforming_strings", "on");
	proto_write_parameter_status(o, "TimeZone", session_setting(s, "TimeZone", srv->timezone));
	proto_write_backend_key(o, s->pid, s->key);
	txn_init(&s->txn, srv->loop, srv->pools, s->user, s->database, srv->gateway_id,
	         &srv->gw->next_txid);
	s->txn.settings = &s->settings;
	txn_set_session_pooling(&s->txn, config_session_pooling(srv->config, s->user, s->database));
	session_set_state(s, SESS_IDLE);
	session_send_ready(s);
}

/* cancel_on_server: the CancelRequest for (pid, key), on the loop that serves that session */
static void
cancel_on_server(Server *srv, uint32_t pid, uint32_t key)
{
	for (Session *t = srv->sessions; t != NULL; t = t->next) {
		if (t->pid == pid && t->key == key && t->state != SESS_STARTUP) {
			sg_log_info(t->actor, "cancel request");
			if (t->exec != NULL)
				exec_cancel(t->exec);
			break;
		}
	}
}

typedef struct CancelPost {
	Server *srv;
	uint32_t pid, key;
} CancelPost;

static void
on_cancel_post(void *arg)
{
	CancelPost *c = arg;
	cancel_on_server(c->srv, c->pid, c->key);
	free(c);
}

static void
session_cancel_request(Session *s, const StartupPacket *sp)
{
	Gateway *gw = s->srv->gw;
	uint32_t pid = (uint32_t)sp->cancel_pid;
	Server *target = gw->servers[pid % (uint32_t)gw->nservers];
	if (target == s->srv) {
		cancel_on_server(target, pid, (uint32_t)sp->cancel_key);
	} else {
		CancelPost *c = calloc(1, sizeof(CancelPost));
		if (c == NULL)
			abort();
		*c = (CancelPost){target, pid, (uint32_t)sp->cancel_key};
		loop_post(target->loop, on_cancel_post, c);
	}
	session_set_state(s, SESS_CLOSING); /* PostgreSQL closes a cancel connection, no reply */
}

static bool
session_startup(Session *s, const char *body, size_t len)
{
	StartupPacket sp;
	SgError err;
	if (!proto_parse_startup(body, len, &sp, &err)) {
		session_fatal(s, &err);
		return false;
	}
	switch (sp.kind) {
	case STARTUP_SSL:
	case STARTUP_GSSENC:
		buf_append_u8(&s->out, 'N'); /* no TLS/GSS yet: the client goes on in plain text */
		return true;
	case STARTUP_CANCEL:
		session_cancel_request(s, &sp);
		return false;
	case STARTUP_NORMAL:
		break;
	}
	const char *user = proto_startup_param(&sp, "user");
	if (user == NULL || user[0] == '\0') {
		sg_error_fatal(&err, SQLSTATE_INVALID_AUTHORIZATION,
		               "no PostgreSQL user name specified in startup packet");
		session_fatal(s, &err);
		return false;
	}
	const char *db = proto_startup_param(&sp, "database");
	s->user = strdup(user);
	s->database = strdup(db != NULL && db[0] != '\0' ? db : user);
	if (s->user == NULL || s->database == NULL)
		abort();
	if (__atomic_load_n(&s->srv->gw->nsessions, __ATOMIC_RELAXED) >
	    s->srv->config->max_client_conn) {
		sg_error_fatal(&err, SQLSTATE_TOO_MANY_CONNECTIONS, "sorry, too many clients already");
		session_fatal(s, &err);
		return false;
	}
	session_startup_settings(s, &sp);
	for (int i = 0; i < s->settings.n; i++)
		session_settings_put(&s->startup, s->settings.names[i], s->settings.values[i]);
	if (strcmp(s->srv->config->auth_type, "scram-sha-256") == 0) {
		ScramVerifier v;
		bool found = false;
		if (!scram_auth_file_lookup(s->srv->config->auth_file, s->user, &v, &found, &err)) {
			sg_log_error(s->actor, "%s", err.message);
			sg_error_fatal(&err, SQLSTATE_INVALID_PASSWORD,
			               "password authentication failed for user \"%s\"", s->user);
			session_fatal(s, &err);
			return false;
		}
		s->scram = calloc(1, sizeof(ScramExchange));
		if (s->scram == NULL)
			abort();
		scram_server_start(s->scram, found ? &v : NULL, s->user);
		const char *mechs[] = {SCRAM_MECHANISM};
		proto_write_auth_sasl(&s->out, mechs, 1);
		session_set_state(s, SESS_AUTH_SASL);
	} else {
		session_send_startup_done(s);
	}
	return true;
}

static bool
session_auth_message(Session *s, char type, const char *body, size_t len)
{
	SgError err;
	if (!scram_check_message_type(type, &err)) {
		session_fatal(s, &err);
		return false;
	}
	Buf reply;
	buf_init(&reply);
	bool ok;
	if (s->state == SESS_AUTH_SASL) {
		const char *mech, *data;
		size_t dlen;
		ok = proto_read_sasl_initial(body, len, &mech, &data, &dlen, &err) &&
		     scram_check_mechanism(mech, &err) &&
		     scram_server_first(s->scram, data, dlen, &reply, &err);
		if (ok) {
			proto_write_auth_sasl_data(&s->out, PQ_AUTH_SASL_CONTINUE, buf_head(&reply),
			                           buf_avail(&reply));
			session_set_state(s, SESS_AUTH_SASL_CONT);
		}
	} else {
		ok = scram_server_final(s->scram, body, len, &reply, &err);
		if (ok) {
			proto_write_auth_sasl_data(&s->out, PQ_AUTH_SASL_FINAL, buf_head(&reply),
			                           buf_avail(&reply));
			scram_server_clear(s->scram);
			free(s->scram);
			s->scram = NULL;
			session_send_startup_done(s);
		}
	}
	buf_free(&reply);
	if (!ok) {
		session_fatal(s, &err);
		return false;
	}
	return true;
}

/* ---- executor sink ------------------------------------------------------ */

static void
sink_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	if (s->buffering != NULL && (type == PQ_MSG_DATA_ROW || type == PQ_MSG_COMMAND_COMPLETE)) {
		Portal *p = s->buffering;
		if (type == PQ_MSG_DATA_ROW)
			proto_write_message(&p->rows, type, body, len);
		else
			snprintf(p->tag, sizeof(p->tag), "%.*s", (int)(len > 0 ? len - 1 : 0), body);
		return;
	}
	proto_write_message(&s->out, type, body, len);
	if (s->describing && s->desc_learn != NULL)
		proto_write_message(&s->desc_buf, type, body, len);
	if (buf_avail(&s->out) >= SESS_HOLD_MAX)
		(void)session_flush(s); /* a failure shows up as a read error */
}

static bool
sink_is_full(void *arg)
{
	Session *s = arg;
	if (buf_avail(&s->out) >= s->srv->config->client_out_limit) {
		s->out_full = true;
		s->out_held = false;
		session_update_watch(s);
		return true;
	}
	return false;
}

static void session_ext_done(Session *s);

static bool
same_formats(int16_t n1, const int16_t *f1, int16_t n2, const int16_t *f2)
{
	return n1 == n2 && (n1 == 0 || memcmp(f1, f2, sizeof(int16_t) * (size_t)n1) == 0);
}

/* describe_cached: dc answers a Describe now (formats: the portal's, NULL for 'S') */
static bool
describe_cached(const Session *s, const DescribeCache *dc, const char *search_path,
                const BindMsg *formats)
{
	if (!dc->valid || dc->epoch != server_schema_epoch(s->srv) ||
	    dc->catalog_version != s->srv->catalog->version ||
	    (dc->search_path == NULL) != (search_path == NULL) ||
	    (search_path != NULL && strcmp(dc->search_path, search_path) != 0))
		return false;
	return formats == NULL ||
	       same_formats(dc->nresult, dc->result_formats, formats->nresult, formats->result_formats);
}

/* session_describe_learnt: the Describe that just ran on a node answered desc_buf: keep it */
static void
session_describe_learnt(Session *s, DescribeCache *dc)
{
	describe_cache_clear(dc);
	const char *sp = session_setting(s, "search_path", NULL);
	const BindMsg *m = s->desc_portal != NULL ? &s->desc_portal->bind : NULL;
	dc->len = buf_avail(&s->desc_buf);
	dc->msgs = malloc(dc->len + 1);
	dc->search_path = sp != NULL ? strdup(sp) : NULL;
	if (m != NULL && m->nresult > 0) {
		dc->result_formats = malloc(sizeof(int16_t) * (size_t)m->nresult);
		if (dc->result_formats != NULL)
			memcpy(dc->result_formats, m->result_formats, sizeof(int16_t) * (size_t)m->nresult);
	}
	dc->nresult = m != NULL ? m->nresult : 0;
	bool ok = dc->msgs != NULL && (sp == NULL || dc->search_path != NULL) &&
	          (dc->nresult == 0 || dc->result_formats != NULL);
	if (ok) {
		memcpy(dc->msgs, buf_head(&s->desc_buf), dc->len);
		dc->epoch = s->desc_epoch;
		dc->catalog_version = s->snap->version;
		dc->valid = true;
	} else {
		describe_cache_clear(dc);
	}
	buf_clear(&s->desc_buf);
	s->desc_portal = NULL;
}

/*
 * portal_serve: hand out up to max_rows (0 = all) of a buffered result, then
 * PortalSuspended if rows remain, else the CommandComplete
 */
static void
portal_serve(Session *s, Portal *p, uint32_t max_rows)
{
	uint32_t sent = 0;
	while (buf_avail(&p->rows) >= 5 && (max_rows == 0 || sent < max_rows)) {
		const char *m = buf_head(&p->rows);
		uint32_t n;
		memcpy(&n, m + 1, 4);
		n = ntohl(n);
		buf_append(&s->out, m, (size_t)n + 1);
		buf_consume(&p->rows, (size_t)n + 1);
		sent++;
	}
	if (buf_avail(&p->rows) > 0)
		proto_write_message(&s->out, PQ_MSG_PORTAL_SUSPENDED, NULL, 0);
	else
		proto_write_command_complete(&s->out, p->tag);
}

static void
sink_done(void *arg, const SgError *err)
{
	Session *s = arg;
	s->exec = NULL;
	s->sql_exec = false;
	if (s->buffering != NULL) {
		Portal *p = s->buffering;
		s->buffering = NULL;
		if (err == NULL) {
			p->executed = true;
			portal_serve(s, p, s->max_rows);
		}
	}
	if (s->describing) {
		s->describing = false;
		DescribeCache *dc = s->desc_learn;
		s->desc_learn = NULL;
		if (err != NULL) {
			buf_clear(&s->desc_buf);
			session_stmt_failed(s, err);
			return;
		}
		if (dc != NULL)
			session_describe_learnt(s, dc);
		session_ext_done(s);
		return;
	}
	if (err != NULL)
		session_stmt_failed(s, err);
	else
		session_stmt_ok(s);
}

/* ---- statements --------------------------------------------------------- */

/*
 * session_ext_done: an Execute or Describe finished; go on with the messages
 * buffered behind it (ReadyForQuery waits for Sync). The statement arena is
 * reset at Sync.
 */
static void
session_ext_done(Session *s)
{
	s->ext = false;
	s->busy_since = 0;
	s->buffering = NULL;
	txn_statement_end(&s->txn);
	if (s->snap != NULL) {
		catalog_unref(s->snap);
		s->snap = NULL;
	}
	memset(&s->stmts, 0, sizeof(s->stmts));
	s->plan = NULL;
	s->cur = 0;
	session_set_state(s, SESS_IDLE);
	session_process(s);
}

static void
session_query_end(Session *s)
{
	if (s->ext) {
		session_ext_done(s);
		return;
	}
	txn_statement_end(&s->txn);
	s->busy_since = 0;
	session_send_ready(s);
	session_release_statement(s);
	session_set_state(s, SESS_IDLE);
	if (!session_flush(s)) {
		session_end(s);
		return;
	}
	buf_release_if_large(&s->in, SESS_KEEP_BUF);
	session_process(s);
}

static void
on_implicit_rollback_done(const SgError *err, void *arg)
{
	(void)err;
	session_query_end(arg);
}

static void
on_failed_block_rolled_back(const SgError *err, void *arg)
{
	Session *s = arg;
	(void)err;
	s->txn.block = TXN_BLOCK_FAILED; /* txn_finish left the block: the client has not */
	session_query_end(s);
}

/* session_stmt_failed: send the error; the rest of the Query message is skipped */
static void
session_stmt_failed(Session *s, const SgError *err)
{
	session_send_error(s, err);
	s->wrapped = false;
	if (s->ext)
		s->skip_to_sync = true;
	s->ext_error = true;
	s->describing = false;
	if (s->txn.block != TXN_BLOCK_NONE && s->txn.nparts > 0)
		(void)session_flush(s); /* as PostgreSQL, the error goes out before the locks are
		                         * released (a failure shows up at the statement's end) */
	if (s->txn.block == TXN_BLOCK_EXPLICIT && s->txn.nsavepoints == 0 && s->txn.nparts > 0) {
		/* as PostgreSQL: the failed transaction releases its locks now, on every node;
		 * the block stays failed until the client's ROLLBACK */
		txn_finish(&s->txn, false, on_failed_block_rolled_back, s);
		return;
	}
	if (s->txn.block == TXN_BLOCK_EXPLICIT && s->txn.nsavepoints > 0 && s->txn.nparts > 0) {
		/* the failed subtransaction releases its locks now, on every node */
		txn_rollback_to_innermost(&s->txn, on_failed_block_rolled_back, s);
		return;
	}
	if (s->txn.block == TXN_BLOCK_EXPLICIT) {
		txn_set_failed(&s->txn);
	} else if (s->txn.block == TXN_BLOCK_IMPLICIT) {
		txn_finish(&s->txn, false, on_implicit_rollback_done, s);
		return;
	}
	session_query_end(s);
}

static void
on_query_end_reloaded(void *arg)
{
	Session *s = arg;
	if (!session_back_from_worker(s))
		return;
	session_query_end(s);
}

static void
on_implicit_commit_done(const SgError *err, void *arg)
{
	Session *s = arg;
	bool dirty = s->catalog_dirty;
	s->catalog_dirty = false;
	if (err != NULL) {
		session_send_error(s, err);
		session_query_end(s);
		return;
	}
	if (dirty) { /* a catalog change committed with the block: every loop sees it next */
		s->in_worker = true;
		server_reload_catalog(s->srv, on_query_end_reloaded, s);
		return;
	}
	session_query_end(s);
}

static void session_stmt_ok(Session *s);

static void
on_wrapped_commit_done(const SgError *err, void *arg)
{
	Session *s = arg;
	s->wrapped = false;
	if (err != NULL) {
		session_send_error(s, err);
		session_query_end(s);
		return;
	}
	session_stmt_ok(s); /* committed: now reload the catalog if the statement changed it */
}

static void
on_catalog_reloaded(void *arg)
{
	Session *s = arg;
	if (!session_back_from_worker(s))
		return;
	s->cur++;
	session_run_next(s);
}

/* ---- settings changed by SET / RESET / DISCARD ------------------------- */

static void
capture_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	if (type != PQ_MSG_DATA_ROW || s->has_captured)
		return;
	BufReader rd;
	uint16_t ncols;
	int32_t n;
	const char *v;
	buf_reader_init(&rd, body, len);
	if (buf_get_u16(&rd, &ncols) && ncols >= 1 && buf_get_i32(&rd, &n) && n >= 0 &&
	    (size_t)n < sizeof(s->captured) && buf_get_bytes(&rd, (size_t)n, &v)) {
		memcpy(s->captured, v, (size_t)n);
		s->captured[n] = '\0';
		s->has_captured = true;
	}
}

static bool
capture_is_full(void *arg)
{
	(void)arg;
	return false;
}

static void session_settings_changed(Session *s, int32_t node_id);

static void
capture_done(void *arg, const SgError *err)
{
	Session *s = arg;
	s->exec = NULL;
	s->capturing = false;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return;
	}
	if (s->has_captured)
		session_settings_put(&s->settings, s->plan->set_name, s->captured);
	session_settings_changed(s, s->plan->tasks[0].node_id);
	s->cur++;
	session_run_next(s);
}

/*
 * session_settings_changed: the connection where the SET ran carries the new
 * settings already; every other one gets them (RESET ALL + set_config) when
 * it is next used, because the hash changed.
 */
static void
session_settings_changed(Session *s, int32_t node_id)
{
	Participant *p = txn_find(&s->txn, node_id);
	if (p == NULL)
		return;
	const DistPlan *pl = s->plan;
	if (pl->set_kind == SET_RESET_ALL || pl->set_kind == SET_DISCARD_ALL)
		node_set_tag(p->conn, 0); /* server defaults: the startup settings are reapplied */
	else
		node_set_tag(p->conn, s->settings.hash);
}

/* session_record_setting: after a successful SET/RESET/DISCARD ALL; false if nothing to do */
static bool
session_record_setting(Session *s)
{
	const DistPlan *pl = s->plan;
	if (pl == NULL || pl->kind != PLAN_TASKS || pl->set_kind == SET_NONE || pl->ntasks < 1)
		return false;
	if (pl->set_kind == SET_RESET_ALL || pl->set_kind == SET_DISCARD_ALL) {
		session_settings_free(&s->settings);
		for (int i = 0; i < s->startup.n; i++)
			session_settings_put(&s->settings, s->startup.names[i], s->startup.values[i]);
		if (pl->set_kind == SET_DISCARD_ALL)
			portal_set_destroy(&s->portals);
		session_settings_changed(s, pl->tasks[0].node_id);
		return false;
	}
	/* read the value back as PostgreSQL now shows it, from the connection that ran the SET */
	DistPlan *q = ARENA_NEW(s->arena, DistPlan);
	q->kind = PLAN_TASKS;
	q->ntasks = 1;
	q->tasks = ARENA_NEW(s->arena, Task);
	q->tasks[0].node_id = pl->tasks[0].node_id;
	q->tasks[0].sql = "SELECT pg_catalog.current_setting($1)";
	q->tasks[0].nparams = 1;
	q->tasks[0].params = ARENA_NEW_ARRAY(s->arena, const char *, 1);
	q->tasks[0].params[0] = pl->set_name;
	q->combine = COMBINE_RELAY;
	s->capturing = true;
	s->has_captured = false;
	ExecSink sink = {capture_message, capture_done, capture_is_full, s, 0};
	Exec *x = exec_start(q, s->snap, &s->txn, &sink, NULL);
	if (x != NULL)
		s->exec = x; /* NULL: already done (and maybe the next statement started) */
	return true;
}

static void
session_stmt_ok(Session *s)
{
	if (s->wrapped) {
		/* the CommandComplete is already out; commit the wrapping transaction */
		txn_finish(&s->txn, true, on_wrapped_commit_done, s);
		return;
	}
	if (s->plan != NULL && s->plan->catalog_changed && s->txn.block != TXN_BLOCK_NONE) {
		/* the catalog rows change when the transaction commits: reload then */
		s->catalog_dirty = true;
	} else if (s->plan != NULL && s->plan->catalog_changed) {
		s->in_worker = true;
		server_reload_catalog(s->srv, on_catalog_reloaded, s);
		return;
	}
	if (session_record_setting(s))
		return; /* capture_done goes on */
	s->cur++;
	session_run_next(s);
}

static void
session_complete(Session *s, const char *tag)
{
	proto_write_command_complete(&s->out, tag);
}

static void
session_notice(Session *s, const char *sqlstate, const char *msg)
{
	SgError n;
	sg_error_set(&n, sqlstate, "%s", msg);
	snprintf(n.severity, sizeof(n.severity), "WARNING");
	proto_write_notice(&s->out, &n);
}

static void on_txn_end_done(const SgError *err, void *arg);

static void
on_commit_reloaded(void *arg)
{
	Session *s = arg;
	if (!session_back_from_worker(s))
		return;
	on_txn_end_done(NULL, s); /* catalog_dirty is cleared: goes on with the COMMIT */
}

static void
on_txn_end_done(const SgError *err, void *arg)
{
	Session *s = arg;
	if (err != NULL) {
		deferred_clear(s, 0);
		session_stmt_failed(s, err);
		return;
	}
	if (s->plan->txn_cmd == TXN_COMMIT && s->catalog_dirty) {
		/* the block changed the catalog: reload before answering COMMIT */
		s->catalog_dirty = false;
		s->in_worker = true;
		server_reload_catalog(s->srv, on_commit_reloaded, s);
		return;
	}
	s->catalog_dirty = false;
	if (s->plan->txn_cmd == TXN_COMMIT && s->ndeferred > 0) {
		s->commit_plan = s->plan;
		s->next_deferred = 0;
		session_run_deferred(s);
		return;
	}
	deferred_clear(s, 0);
	session_complete(s, s->plan->txn_cmd == TXN_COMMIT ? "COMMIT" : "ROLLBACK");
	session_stmt_ok(s);
}

static void
on_commit_failed_block(const SgError *err, void *arg)
{
	Session *s = arg;
	(void)err;
	deferred_clear(s, 0);
	session_complete(s, "ROLLBACK"); /* COMMIT of a failed block reports ROLLBACK */
	session_stmt_ok(s);
}

static void
on_savepoint_done(const SgError *err, void *arg)
{
	Session *s = arg;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return;
	}
	const DistPlan *p = s->plan;
	if (p->txn_cmd == TXN_ROLLBACK_TO && s->txn.block == TXN_BLOCK_FAILED)
		s->txn.block = TXN_BLOCK_EXPLICIT;
	txn_note_savepoint(&s->txn,
	                   p->txn_cmd == TXN_SAVEPOINT ? TXN_SP_SET
	                   : p->txn_cmd == TXN_RELEASE ? TXN_SP_RELEASE
	                                               : TXN_SP_ROLLBACK_TO,
	                   p->txn_sql);
	if (p->txn_cmd == TXN_ROLLBACK_TO) { /* calls made after that savepoint are undone */
		int keep = 0;
		while (keep < s->ndeferred && s->deferred_depth[keep] < s->txn.nsavepoints)
			keep++;
		deferred_clear(s, keep);
	}
	session_complete(s, p->txn_cmd == TXN_SAVEPOINT ? "SAVEPOINT"
	                    : p->txn_cmd == TXN_RELEASE ? "RELEASE"
	                                                : "ROLLBACK");
	session_stmt_ok(s);
}

static void
on_set_transaction_done(const SgError *err, void *arg)
{
	Session *s = arg;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return;
	}
	session_complete(s, "SET");
	session_stmt_ok(s);
}

static void
session_txn_control(Session *s, const DistPlan *p)
{
	Txn *t = &s->txn;
	SgError err;
	switch (p->txn_cmd) {
	case TXN_BEGIN:
		if (t->block == TXN_BLOCK_EXPLICIT || t->block == TXN_BLOCK_FAILED)
			session_notice(s, SQLSTATE_ACTIVE_SQL_TRANSACTION,
			               "there is already a transaction in progress");
		else
			txn_begin(t, p->txn_sql);
		session_complete(s, "BEGIN");
		session_stmt_ok(s);
		return;
	case TXN_COMMIT:
	case TXN_ROLLBACK:
		if (t->block == TXN_BLOCK_NONE) {
			session_notice(s, SQLSTATE_NO_ACTIVE_SQL_TRANSACTION,
			               "there is no transaction in progress");
			session_complete(s, p->txn_cmd == TXN_COMMIT ? "COMMIT" : "ROLLBACK");
			session_stmt_ok(s);
			return;
		}
		if (t->block == TXN_BLOCK_FAILED && p->txn_cmd == TXN_COMMIT) {
			txn_finish(t, false, on_commit_failed_block, s);
			return;
		}
		txn_finish(t, p->txn_cmd == TXN_COMMIT, on_txn_end_done, s);
		return;
	case TXN_SAVEPOINT:
	case TXN_RELEASE:
	case TXN_ROLLBACK_TO:
		if (t->block == TXN_BLOCK_NONE) {
			sg_error_set(&err, SQLSTATE_NO_ACTIVE_SQL_TRANSACTION,
			             "%s can only be used in transaction blocks",
			             p->txn_cmd == TXN_SAVEPOINT ? "SAVEPOINT"
			             : p->txn_cmd == TXN_RELEASE ? "RELEASE SAVEPOINT"
			                                         : "ROLLBACK TO SAVEPOINT");
			session_stmt_failed(s, &err);
			return;
		}
		txn_broadcast(t, p->txn_sql, on_savepoint_done, s);
		return;
	case TXN_SET_TRANSACTION:
		if (t->block == TXN_BLOCK_NONE || t->block == TXN_BLOCK_IMPLICIT) {
			if (t->block == TXN_BLOCK_NONE)
				session_notice(s, SQLSTATE_NO_ACTIVE_SQL_TRANSACTION,
				               "SET TRANSACTION can only be used in transaction blocks");
			session_complete(s, "SET");
			session_stmt_ok(s);
			return;
		}
		txn_append_begin(t, p->txn_sql);
		txn_broadcast(t, p->txn_sql, on_set_transaction_done, s);
		return;
	case TXN_PREPARE_UNSUPPORTED:
		sg_error_set(&err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED are not "
		             "supported through shardgate");
		session_stmt_failed(s, &err);
		return;
	}
}

/* gateway functions (create_distributed_table ...) run in a worker: blocking libpq */
typedef struct FuncJob {
	Session *s;
	Server *srv;
	const DistPlan *plan;
	CatalogSnapshot *snap;
	AdminTarget target;
	bool ok;
	SgError err;
	CatalogSnapshot *new_snap;
	/* operator functions */
	RecoveryStats stats;
	Arena *rows_arena;
	PreparedXact *rows;
	int nrows;
} FuncJob;

static void
func_work(void *arg)
{
	FuncJob *job = arg;
	const DistPlan *p = job->plan;
	if (p->func == GWF_RECOVER_PREPARED) {
		RecoveryOptions o;
		recovery_options_defaults(&o);
		o.user = job->srv->config->admin_user;
		o.min_age_sec = 0; /* now: the claim protocol keeps live coordinators safe */
		job->ok = recovery_run_opts(job->snap, &o, &job->stats, &job->err);
		return;
	}
	if (p->func == GWF_LIST_PREPARED) {
		job->rows_arena = arena_create(4096);
		job->ok = prepared_collect(job->snap, job->srv->config->admin_user, "postgres",
		                           job->rows_arena, &job->rows, &job->nrows, &job->err);
		return;
	}
	Arena *a = arena_create(1024);
	char *schema = NULL, *table = NULL, *cschema = NULL, *ctable = NULL;
	job->ok = admin_split_name(a, p->func_table, &schema, &table, &job->err);
	if (job->ok && p->func_colocate_with != NULL && strcmp(p->func_colocate_with, "default") != 0 &&
	    strcmp(p->func_colocate_with, "none") != 0)
		job->ok = admin_split_name(a, p->func_colocate_with, &cschema, &ctable, &job->err);
	if (job->ok) {
		if (p->func == GWF_CREATE_DISTRIBUTED_TABLE)
			job->ok = admin_create_distributed_table(&job->target, job->snap, schema, table,
			                                         p->func_column, p->func_shard_count, cschema,
			                                         ctable, &job->err);
		else
			job->ok =
			    admin_create_reference_table(&job->target, job->snap, schema, table, &job->err);
	}
	arena_destroy(a);
	/* load the changed catalog here too, so the next statement sees it */
	SgError lerr;
	job->new_snap = catalog_load(job->target.meta_conninfo, &lerr);
	if (job->new_snap == NULL)
		sg_log_warning("catalog", "reload failed: %s", lerr.message);
}

static void
func_done(void *arg)
{
	FuncJob *job = arg;
	Session *s = job->s;
	if (job->new_snap != NULL)
		server_set_catalog(job->srv, job->new_snap);
	catalog_unref(job->snap);
	s->in_worker = false;
	bool ok = job->ok;
	SgError err = job->err;
	const DistPlan *p = job->plan;
	if (ok && !s->dead && p->func == GWF_RECOVER_PREPARED) {
		/* like Citus: the number of prepared transactions resolved */
		char n[32];
		snprintf(n, sizeof(n), "%lld", (long long)(job->stats.committed + job->stats.rolled_back));
		const char *names[] = {p->func_result_column};
		const uint32_t types[] = {23};
		const char *vals[] = {n};
		const int lens[] = {-1};
		if (!s->ext)
			proto_write_row_description(&s->out, 1, names, types);
		proto_write_data_row(&s->out, 1, vals, lens);
		session_complete(s, "SELECT 1");
	} else if (ok && !s->dead && p->func == GWF_LIST_PREPARED) {
		const char *names[] = {"node_id", "gid", "prepared"};
		const uint32_t types[] = {23, 25, 25};
		if (!s->ext)
			proto_write_row_description(&s->out, 3, names, types);
		for (int i = 0; i < job->nrows; i++) {
			char node[16];
			snprintf(node, sizeof(node), "%d", job->rows[i].node_id);
			const char *vals[] = {node, job->rows[i].gid, job->rows[i].prepared};
			const int lens[] = {-1, -1, -1};
			proto_write_data_row(&s->out, 3, vals, lens);
		}
		char tag[32];
		snprintf(tag, sizeof(tag), "SELECT %d", job->nrows);
		session_complete(s, tag);
	}
	arena_destroy(job->rows_arena);
	bool answered = p->func == GWF_RECOVER_PREPARED || p->func == GWF_LIST_PREPARED;
	free(job);
	if (s->dead) {
		session_destroy(s);
		return;
	}
	if (s->next_deferred > 0) {
		/* after COMMIT: the transaction stands; a failure is a warning, the table stays local */
		if (!ok) {
			char msg[sizeof(err.message) + 64];
			snprintf(msg, sizeof(msg), "%s after COMMIT failed, the table stays local: %s",
			         p->func_result_column, err.message);
			session_notice(s, "01000", msg);
		}
		session_run_deferred(s);
		return;
	}
	if (!ok) {
		session_stmt_failed(s, &err);
		return;
	}
	if (answered) {
		session_stmt_ok(s);
		return;
	}
	const char *names[] = {p->func_result_column};
	const uint32_t types[] = {2278}; /* void */
	const char *vals[] = {""};
	const int lens[] = {0};
	if (!s->ext)
		proto_write_row_description(&s->out, 1, names, types);
	proto_write_data_row(&s->out, 1, vals, lens);
	session_complete(s, "SELECT 1");
	session_stmt_ok(s);
}

static void session_start_func(Session *s);

/* deferred_clear: forget the distribution calls of a transaction (ROLLBACK, end) */
static void
deferred_clear(Session *s, int keep)
{
	s->ndeferred = keep;
	if (keep == 0 && s->deferred_arena != NULL) {
		arena_destroy(s->deferred_arena);
		s->deferred_arena = NULL;
		free(s->deferred);
		free(s->deferred_depth);
		s->deferred = NULL;
		s->deferred_depth = NULL;
		s->capdeferred = 0;
	}
}

static const char *
dup_or_null(Arena *a, const char *v)
{
	return v != NULL ? arena_strdup(a, v) : NULL;
}

/*
 * session_defer_func: create_distributed_table / create_reference_table
 * inside a transaction block (an ORM creating its tables in one transaction):
 * the table the block created is not visible to the worker's connections
 * before COMMIT, so the call is kept and runs right after the COMMIT; until
 * then the table is an ordinary (local) table. Answered like the call itself.
 */
static void
session_defer_func(Session *s)
{
	if (s->deferred_arena == NULL)
		s->deferred_arena = arena_create(1024);
	if (s->ndeferred == s->capdeferred) {
		int cap = s->capdeferred ? s->capdeferred * 2 : 4;
		DistPlan **d = realloc(s->deferred, sizeof(DistPlan *) * (size_t)cap);
		if (d != NULL)
			s->deferred = d;
		int32_t *dd = realloc(s->deferred_depth, sizeof(int32_t) * (size_t)cap);
		if (dd != NULL)
			s->deferred_depth = dd;
		if (d == NULL || dd == NULL)
			abort();
		s->capdeferred = cap;
	}
	Arena *a = s->deferred_arena;
	DistPlan *c = ARENA_NEW(a, DistPlan);
	*c = *s->plan;
	c->func_table = dup_or_null(a, c->func_table);
	c->func_column = dup_or_null(a, c->func_column);
	c->func_colocate_with = dup_or_null(a, c->func_colocate_with);
	c->func_result_column = dup_or_null(a, c->func_result_column);
	s->deferred_depth[s->ndeferred] = s->txn.nsavepoints;
	s->deferred[s->ndeferred++] = c;
	SgError n;
	sg_error_set(&n, "00000", "%s runs when the transaction commits", s->plan->func_result_column);
	snprintf(n.severity, sizeof(n.severity), "NOTICE");
	proto_write_notice(&s->out, &n);
	const char *names[] = {s->plan->func_result_column};
	const uint32_t types[] = {2278}; /* void */
	const char *vals[] = {""};
	const int lens[] = {0};
	if (!s->ext)
		proto_write_row_description(&s->out, 1, names, types);
	proto_write_data_row(&s->out, 1, vals, lens);
	session_complete(s, "SELECT 1");
	session_stmt_ok(s);
}

/* session_run_deferred: after COMMIT, the next deferred call; COMMIT's answer after the last */
static void
session_run_deferred(Session *s)
{
	if (s->next_deferred < s->ndeferred) {
		s->plan = s->deferred[s->next_deferred++];
		session_start_func(s);
		return;
	}
	s->plan = (DistPlan *)s->commit_plan;
	s->next_deferred = 0;
	deferred_clear(s, 0);
	session_complete(s, "COMMIT");
	session_stmt_ok(s);
}

static void
on_commit_before_func(const SgError *err, void *arg)
{
	Session *s = arg;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return;
	}
	txn_begin_implicit(&s->txn); /* the rest of the message stays one implicit block */
	session_start_func(s);
}

static void
session_start_func(Session *s)
{
	FuncJob *job = calloc(1, sizeof(FuncJob));
	if (job == NULL)
		abort();
	job->s = s;
	job->srv = s->srv;
	job->plan = s->plan;
	job->snap = s->snap;
	catalog_ref(job->snap);
	job->target.meta_conninfo = s->srv->config->metadata_node;
	job->target.user = s->user;
	job->target.dbname = s->database;
	s->in_worker = true;
	loop_run_in_worker(s->srv->loop, func_work, func_done, job);
}

/*
 * Operator views over every loop (gateway/gather.c): shardgate_transactions()
 * and shardgate_pools(). Each loop adds the rows of its own state.
 */

/* txn_collect: on each loop, its sessions holding node connections or inside a block */
static void
txn_collect(Server *srv, Gather *g)
{
	uint64_t now = loop_now_us(srv->loop);
	for (Session *t = srv->sessions; t != NULL; t = t->next) {
		if (t->dead || t->user == NULL || t->state == SESS_STARTUP || t->state == SESS_AUTH_SASL ||
		    t->state == SESS_AUTH_SASL_CONT ||
		    (t->txn.nparts == 0 && t->txn.block == TXN_BLOCK_NONE))
			continue;
		char pid[16], writers[16], ms[32], nodes[256] = "";
		snprintf(pid, sizeof(pid), "%u", t->pid);
		snprintf(writers, sizeof(writers), "%d", txn_writers(&t->txn));
		snprintf(ms, sizeof(ms), "%llu",
		         t->busy_since ? (unsigned long long)((now - t->busy_since) / 1000) : 0ull);
		size_t n = 0;
		for (int i = 0; i < t->txn.nparts && n + 12 < sizeof(nodes); i++)
			n += (size_t)snprintf(nodes + n, sizeof(nodes) - n, "%s%d", i ? "," : "",
			                      t->txn.parts[i]->node_id);
		const char *state = t->txn.block == TXN_BLOCK_FAILED ? "idle in transaction (aborted)"
		                    : t->state == SESS_IDLE          ? "idle in transaction"
		                                                     : "active";
		const char *vals[] = {pid, state, nodes, writers, ms};
		gather_add(g, vals);
	}
}

static const char *const txn_cols[] = {"session_pid", "state", "nodes", "writers", "running_ms"};
static const uint32_t txn_types[] = {23, 25, 25, 23, 20};
static const GatherView txn_view = {5, txn_cols, txn_types, txn_collect};

typedef struct PoolRowCtx {
	Gather *g;
	int loop;
} PoolRowCtx;

static void
pool_row(const PoolInfo *pi, void *arg)
{
	PoolRowCtx *ctx = arg;
	char v[7][16];
	snprintf(v[0], sizeof(v[0]), "%d", (int)pi->node_id);
	snprintf(v[1], sizeof(v[1]), "%d", ctx->loop);
	snprintf(v[2], sizeof(v[2]), "%d", pi->open);
	snprintf(v[3], sizeof(v[3]), "%d", pi->idle);
	snprintf(v[4], sizeof(v[4]), "%d", pi->waiting);
	snprintf(v[5], sizeof(v[5]), "%d", pi->open_all);
	snprintf(v[6], sizeof(v[6]), "%d", pi->limit);
	const char *vals[] = {v[0], pi->user, pi->database, v[1], v[2], v[3], v[4], v[5], v[6]};
	gather_add(ctx->g, vals);
}

/* pools_collect: on each loop, its backend pools */
static void
pools_collect(Server *srv, Gather *g)
{
	PoolRowCtx ctx = {g, srv->index};
	poolset_each(srv->pools, pool_row, &ctx);
}

static const char *const pools_cols[] = {"node_id", "user_name",      "database",
                                         "loop",    "open",           "idle",
                                         "waiting", "open_all_loops", "pool_size"};
static const uint32_t pools_types[] = {23, 25, 25, 23, 23, 23, 23, 23, 23};
static const GatherView pools_view = {9, pools_cols, pools_types, pools_collect};

/* view_done: the gathered rows to the client, on the session's loop */
static void
view_done(Gather *g, void *arg)
{
	Session *s = arg;
	s->in_worker = false;
	if (s->dead) {
		session_destroy(s);
		return;
	}
	const GatherView *v = gather_view(g);
	if (!s->ext)
		proto_write_row_description(&s->out, v->ncols, v->names, v->types);
	for (int i = 0; i < gather_nrows(g); i++)
		proto_write_data_row(&s->out, v->ncols, gather_row(g, i), NULL); /* text values */
	char tag[32];
	snprintf(tag, sizeof(tag), "SELECT %d", gather_nrows(g));
	session_complete(s, tag);
	session_stmt_ok(s);
}

/*
 * session_gather_view: SELECT shardgate_transactions() (the transactions of
 * this gateway's sessions, every loop's, that hold node connections: one row
 * per session) or shardgate_pools() (every loop's backend pools)
 */
static void
session_gather_view(Session *s, const GatherView *view)
{
	s->in_worker = true;
	gather_start(s->srv, view, view_done, s);
}

static const char *const plan_cache_cols[] = {"entries", "hits", "misses", "uncacheable", "learnt"};
static const uint32_t plan_cache_types[] = {23, 20, 20, 20, 20};

/* session_plan_cache_stats: SELECT shardgate_plan_cache(): one row of counters */
static void
session_plan_cache_stats(Session *s)
{
	if (!s->ext)
		proto_write_row_description(&s->out, 5, plan_cache_cols, plan_cache_types);
	PlanCacheStats st = plancache_stats(s->srv->plans);
	char v[5][24];
	snprintf(v[0], sizeof(v[0]), "%d", (int)st.entries);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)st.hits);
	snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)st.misses);
	snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)st.uncacheable);
	snprintf(v[4], sizeof(v[4]), "%llu", (unsigned long long)st.learnt);
	const char *vals[] = {v[0], v[1], v[2], v[3], v[4]};
	const int lens[] = {-1, -1, -1, -1, -1};
	proto_write_data_row(&s->out, 5, vals, lens);
	session_complete(s, "SELECT 1");
	session_stmt_ok(s);
}

static void session_run_tasks(Session *s);

/*
 * sql_exec_bind: EXECUTE's statement and values into s->bind / s->params (text
 * values; result formats: the client's Bind of the EXECUTE in the extended
 * protocol, text otherwise); false with err for an unknown statement or a
 * wrong number of arguments
 */
static bool
sql_exec_bind(Session *s, const DistPlan *fp, PreparedStmt **out, SgError *err)
{
	PreparedStmt *ps = portal_find_stmt(&s->portals, fp->prep_name);
	if (ps == NULL)
		return sg_error_set(err, "26000", "prepared statement \"%s\" does not exist",
		                    fp->prep_name);
	if (ps->stmts.nstmts == 0 || (ps->ntypes > 0 && fp->exec_nargs != ps->ntypes)) {
		sg_error_set(err, SQLSTATE_SYNTAX_ERROR,
		             "wrong number of parameters for prepared statement \"%s\"", fp->prep_name);
		sg_error_detail(err, "Expected %d parameters but got %d.", (int)ps->ntypes,
		                (int)fp->exec_nargs);
		return false;
	}
	ExecBind *b = &s->bind;
	int16_t nresult = s->ext ? b->nresult : 0;
	const int16_t *result_formats = s->ext ? b->result_formats : NULL;
	memset(b, 0, sizeof(*b));
	int32_t *lengths = ARENA_NEW_ARRAY(s->arena, int32_t, fp->exec_nargs + 1);
	int16_t *formats = ARENA_NEW_ARRAY(s->arena, int16_t, fp->exec_nargs + 1);
	uint32_t *types = ARENA_NEW_ARRAY(s->arena, uint32_t, fp->exec_nargs + 1);
	for (int32_t i = 0; i < fp->exec_nargs; i++) {
		lengths[i] = fp->exec_args[i] != NULL ? (int32_t)strlen(fp->exec_args[i]) : -1;
		types[i] = i < ps->ntypes ? ps->types[i] : 0;
	}
	b->ntypes = ps->ntypes;
	b->types = ps->types;
	b->nparams = (int16_t)fp->exec_nargs;
	b->values = fp->exec_args;
	b->lengths = lengths;
	b->nresult = nresult;
	b->result_formats = result_formats;
	b->send_row_description = !s->ext; /* the extended protocol's Describe sent it */
	b->schema_epoch = server_schema_epoch(s->srv);
	s->params = (PlanParams){fp->exec_nargs, fp->exec_args, lengths, formats, types};
	*out = ps;
	return true;
}

/* session_sql_prepared: PREPARE / EXECUTE / DEALLOCATE kept by the session, as protocol ones */
static void
session_sql_prepared(Session *s)
{
	const DistPlan *fp = s->plan;
	SgError err;
	if (fp->func == GWF_SQL_PREPARE) {
		ParseMsg m = {fp->prep_name, fp->prep_sql, (int16_t)fp->prep_ntypes,
		              (uint32_t *)fp->prep_types};
		if (!portal_parse(&s->portals, &m, &err)) {
			session_stmt_failed(s, &err);
			return;
		}
	} else if (fp->func == GWF_SQL_DEALLOCATE) {
		if (fp->prep_name == NULL) {
			while (s->portals.stmts != NULL)
				portal_close_stmt(&s->portals, s->portals.stmts->name);
		} else if (portal_find_stmt(&s->portals, fp->prep_name) == NULL) {
			sg_error_set(&err, "26000", "prepared statement \"%s\" does not exist", fp->prep_name);
			session_stmt_failed(s, &err);
			return;
		} else {
			portal_close_stmt(&s->portals, fp->prep_name);
		}
	} else {
		PreparedStmt *ps;
		DistPlan *plan = NULL;
		if (!sql_exec_bind(s, fp, &ps, &err) ||
		    !planner_plan_stmt_keys(s->snap, ps->stmts.stmts[0], ps->stmts.texts[0],
		                            session_setting(s, "search_path", NULL), &s->params, NULL, 0,
		                            NULL, -1, true, s->arena, &plan, &err)) {
			session_stmt_failed(s, &err);
			return;
		}
		if (plan->kind != PLAN_TASKS) {
			sg_error_set(&err, SQLSTATE_FEATURE_NOT_SUPPORTED,
			             "EXECUTE of this statement is not supported through shardgate");
			session_stmt_failed(s, &err);
			return;
		}
		s->plan = plan;
		s->sql_exec = true;
		session_run_tasks(s);
		return;
	}
	session_complete(s, fp->command_tag);
	session_stmt_ok(s);
}

static void
session_gateway_func(Session *s)
{
	SgError err;
	if (s->plan->func == GWF_SQL_PREPARE || s->plan->func == GWF_SQL_EXECUTE ||
	    s->plan->func == GWF_SQL_DEALLOCATE) {
		session_sql_prepared(s);
		return;
	}
	if (s->plan->func == GWF_LIST_ACTIVE || s->plan->func == GWF_LIST_POOLS) {
		session_gather_view(s, s->plan->func == GWF_LIST_ACTIVE ? &txn_view : &pools_view);
		return;
	}
	if (s->plan->func == GWF_PLAN_CACHE) {
		session_plan_cache_stats(s);
		return;
	}
	if (s->txn.block == TXN_BLOCK_EXPLICIT && (s->plan->func == GWF_CREATE_DISTRIBUTED_TABLE ||
	                                           s->plan->func == GWF_CREATE_REFERENCE_TABLE)) {
		session_defer_func(s);
		return;
	}
	if (s->txn.block == TXN_BLOCK_EXPLICIT || s->txn.block == TXN_BLOCK_FAILED) {
		sg_error_set(&err, SQLSTATE_ACTIVE_SQL_TRANSACTION,
		             "%s cannot run inside a transaction block", s->plan->func_result_column);
		session_stmt_failed(s, &err);
		return;
	}
	if (s->txn.block == TXN_BLOCK_IMPLICIT && s->txn.nparts > 0) {
		/* earlier statements of this message (CREATE TABLE ...) must be visible to the
		 * worker's own connections: commit them first */
		txn_finish(&s->txn, true, on_commit_before_func, s);
		return;
	}
	session_start_func(s);
}

static int
plan_distinct_nodes(const DistPlan *p)
{
	int n = 0;
	for (int i = 0; i < p->ntasks; i++) {
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen = seen || p->tasks[j].node_id == p->tasks[i].node_id;
		n += !seen;
	}
	return n;
}

/* ---- LISTEN / UNLISTEN ---------------------------------------------------- */

/*
 * A session that listens gets a connection to the first node of its own
 * (NOTIFY goes there too, through the pools): LISTEN and UNLISTEN run on it,
 * and the NotificationResponses it receives at any time are passed to the
 * client. It is closed, not pooled, when the session ends.
 */
static bool
stmt_is_listen(const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	char c = (char)(*text | 0x20); /* cheap first test: this runs for every statement */
	return (c == 'l' && strncasecmp(text, "LISTEN", 6) == 0) ||
	       (c == 'u' && strncasecmp(text, "UNLISTEN", 8) == 0);
}

static void
listen_on_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	Session *s = arg;
	SgError err;
	switch (type) {
	case PQ_MSG_NOTIFICATION:
		proto_write_message(&s->out, type, body, len);
		if (s->state == SESS_IDLE && !s->in_process)
			(void)session_flush(s);
		return;
	case PQ_MSG_ERROR:
		if (!proto_read_error_fields(body, len, &err))
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node");
		s->listen_failed = true;
		session_send_error(s, &err);
		return;
	case PQ_MSG_COMMAND_COMPLETE:
		proto_write_message(&s->out, type, body, len);
		return;
	case PQ_MSG_READY:
		if (node_state(c) != NODE_IDLE || s->state != SESS_QUERY)
			return;
		if (s->listen_failed) {
			s->listen_failed = false;
			/* the error is already out: end the message like a failed statement */
			if (s->txn.block == TXN_BLOCK_EXPLICIT)
				txn_set_failed(&s->txn);
			session_query_end(s);
			return;
		}
		session_stmt_ok(s);
		return;
	default:
		return;
	}
}

static void
listen_on_lost(NodeConn *c, const SgError *err, void *arg)
{
	Session *s = arg;
	(void)c;
	pool_discard(s->listen);
	s->listen = NULL;
	if (s->state == SESS_QUERY)
		session_stmt_failed(s, err);
}

static void
listen_send(Session *s)
{
	NodeHandler h = {listen_on_message, listen_on_lost, s};
	node_set_handler(s->listen, &h);
	Buf b;
	buf_init(&b);
	Participant tmp = {0};
	tmp.conn = s->listen;
	tmp.began = true; /* LISTEN takes effect at once, outside the session's transaction */
	int expect = txn_write_prelude(&s->txn, &tmp, &b);
	proto_write_query(&b, s->stmts.texts[s->cur]);
	node_send(s->listen, buf_head(&b), buf_avail(&b), expect + 1);
	buf_free(&b);
}

static void
listen_on_conn(NodeConn *conn, const SgError *err, void *arg)
{
	Session *s = arg;
	s->listen_wait = NULL;
	if (conn == NULL) {
		session_stmt_failed(s, err);
		return;
	}
	s->listen = conn;
	listen_send(s);
}

static void
session_listen(Session *s)
{
	if (s->listen != NULL) {
		listen_send(s);
		return;
	}
	const CatNode *first = catalog_first_node(s->snap);
	SgError err;
	if (first == NULL) {
		sg_error_set(&err, SQLSTATE_CONNECTION_FAILURE, "no active storage node");
		session_stmt_failed(s, &err);
		return;
	}
	NodePool *pool =
	    poolset_get(s->srv->pools, first->id, first->host, first->port, s->user, s->database, NULL);
	s->listen_wait = pool_acquire(pool, listen_on_conn, s);
}

static void
session_run_tasks(Session *s)
{
	const DistPlan *p = s->plan;
	SgError err;
	if (p->in_txn_forbidden && s->txn.block != TXN_BLOCK_NONE) {
		sg_error_set(&err, SQLSTATE_ACTIVE_SQL_TRANSACTION,
		             "%s cannot run inside a transaction block", p->command_tag);
		session_stmt_failed(s, &err);
		return;
	}
	if (p->pin_node != 0)
		txn_pin(&s->txn, p->pin_node); /* a WITH HOLD cursor: keep that connection */
	if (p->needs_block && s->txn.block == TXN_BLOCK_NONE) {
		sg_error_set(&err, SQLSTATE_NO_ACTIVE_SQL_TRANSACTION,
		             "%s can only be used in transaction blocks", p->command_tag);
		session_stmt_failed(s, &err);
		return;
	}
	if (s->txn.block == TXN_BLOCK_NONE && !p->in_txn_forbidden &&
	    ((p->is_write && plan_distinct_nodes(p) > 1) || p->nstages > 0)) {
		/* atomic over several nodes (2PC), and temporary tables of a multi-stage plan
		 * live until the end of the merge node's transaction */
		txn_begin_implicit(&s->txn);
		s->wrapped = true;
	}
	if (p->ntasks == 1 && stmt_is_listen(s->stmts.texts[s->cur])) {
		session_listen(s);
		return;
	}
	s->plan->client_text = s->stmts.texts[s->cur];
	ExecSink sink = {sink_message, sink_done, sink_is_full, s, s->srv->config->query_memory_limit};
	Exec *x = exec_start(p, s->snap, &s->txn, &sink, (s->ext || s->sql_exec) ? &s->bind : NULL);
	if (x != NULL)
		s->exec = x; /* NULL: already done (and maybe the next statement started) */
}

static void
copy_on_done(void *arg, const SgError *err, uint64_t rows)
{
	Session *s = arg;
	s->copy = NULL;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return;
	}
	char tag[32];
	snprintf(tag, sizeof(tag), "COPY %llu", (unsigned long long)rows);
	session_complete(s, tag);
	session_stmt_ok(s);
}

static void
copy_on_resume(void *arg)
{
	Session *s = arg;
	session_update_watch(s);
	session_process(s);
}

/* session_copy_start: CopyInResponse, then the client's CopyData feed the CopyRun */
static void
session_copy_start(Session *s)
{
	const DistPlan *p = s->plan;
	const CopyPlan *cp = &p->copy;
	if (s->txn.block == TXN_BLOCK_NONE && (cp->split || cp->ndests > 1)) {
		txn_begin_implicit(&s->txn); /* all rows or none, on every node */
		s->wrapped = true;
	}
	Buf *o = &s->out;
	size_t off = o->len;
	int16_t fmt = cp->format == COPYPLAN_BINARY ? 1 : 0;
	buf_append_u8(o, PQ_MSG_COPY_IN);
	buf_append_u32(o, 0);
	buf_append_u8(o, (uint8_t)fmt);
	buf_append_u16(o, (uint16_t)cp->ncolumns);
	for (int32_t i = 0; i < cp->ncolumns; i++)
		buf_append_u16(o, (uint16_t)fmt);
	buf_put_u32_at(o, off + 1, (uint32_t)(o->len - off - 1));
	CopyRunCallbacks cb = {copy_on_done, copy_on_resume, s};
	session_set_state(s, SESS_COPY_IN);
	s->copy = copyrun_start(cp, p->rows_from_node, s->snap, &s->txn, &cb);
	(void)session_flush(s);
	session_process(s); /* CopyData may already be buffered */
}

/* session_copy_message: one client message while in COPY IN */
static void
session_copy_message(Session *s, char type, const char *body, size_t len)
{
	SgError err;
	switch (type) {
	case PQ_MSG_COPY_DATA:
		copyrun_data(s->copy, body, len);
		return;
	case PQ_MSG_COPY_DONE:
		session_set_state(s, SESS_QUERY);
		copyrun_end(s->copy, NULL);
		return;
	case PQ_MSG_COPY_FAIL:
		sg_error_set(&err, SQLSTATE_QUERY_CANCELED, "COPY from stdin failed: %.*s",
		             (int)(len > 0 ? len - 1 : 0), body);
		session_set_state(s, SESS_QUERY);
		copyrun_end(s->copy, &err);
		return;
	case PQ_MSG_FLUSH:
	case PQ_MSG_SYNC:
		return; /* PostgreSQL ignores these during COPY */
	default:
		sg_error_set(&err, SQLSTATE_PROTOCOL_VIOLATION,
		             "unexpected message type 0x%02X during COPY from stdin",
		             (unsigned)(unsigned char)type);
		session_set_state(s, SESS_QUERY);
		copyrun_end(s->copy, &err);
		return;
	}
}

/*
 * plan_may_change_schema: anything but plain queries and BEGIN/COMMIT/SAVEPOINT/RELEASE may
 * change a result's columns (DDL, utility statements, procedures, ROLLBACK of a DDL)
 */
static bool
plan_may_change_schema(const DistPlan *p)
{
	if (p->kind == PLAN_EMPTY || p->kind == PLAN_INSERT_SELECT)
		return false;
	if (p->kind == PLAN_TXN_CONTROL)
		return p->txn_cmd == TXN_ROLLBACK || p->txn_cmd == TXN_ROLLBACK_TO;
	if (p->kind == PLAN_GATEWAY_FUNC)
		return p->func == GWF_CREATE_DISTRIBUTED_TABLE || p->func == GWF_CREATE_REFERENCE_TABLE;
	if (p->kind != PLAN_TASKS || p->is_ddl || p->set_kind != SET_NONE || p->catalog_changed)
		return true;
	const char *t = p->command_tag != NULL ? p->command_tag : "";
	return strcmp(t, "SELECT") != 0 && strcmp(t, "INSERT") != 0 && strcmp(t, "UPDATE") != 0 &&
	       strcmp(t, "DELETE") != 0;
}

/* ---- serial distribution columns: values first (PLAN_FILL) ----------------- */

static void session_run_plan(Session *s, DistPlan *plan);

/*
 * session_exec_ended: a helper Exec of the running statement (values,
 * keys, rows drawn first) ended; false when it failed, and so did the
 * statement
 */
static bool
session_exec_ended(Session *s, const SgError *err)
{
	s->exec = NULL;
	if (err != NULL) {
		session_stmt_failed(s, err);
		return false;
	}
	return true;
}

/*
 * session_replan: plan the running statement again with what was drawn
 * first (serial values, semi-join key sets) and run it
 */
static void
session_replan(Session *s, const char *const *fill, int32_t nfill)
{
	SgError perr;
	DistPlan *plan = NULL;
	const PreparedStmt *eps = s->ext ? s->ext_ps : NULL;
	const ParsedStmt *stmt = eps != NULL ? eps->stmts.stmts[0] : s->stmts.stmts[s->cur];
	const char *text = eps != NULL ? eps->stmts.texts[0] : s->stmts.texts[s->cur];
	if (!planner_plan_stmt_keys(s->snap, stmt, text, session_setting(s, "search_path", NULL),
	                            s->ext ? &s->params : NULL, fill, nfill, s->keysets, s->nkeysets,
	                            s->keys_in_block, s->arena, &plan, &perr)) {
		session_stmt_failed(s, &perr);
		return;
	}
	session_run_plan(s, plan);
}

static void
fill_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	BufReader rd;
	uint16_t ncols;
	int32_t n;
	const char *v;
	buf_reader_init(&rd, body, len);
	if (type == PQ_MSG_DATA_ROW && s->nfill < s->plan->fill_count && buf_get_u16(&rd, &ncols) &&
	    ncols >= 1 && buf_get_i32(&rd, &n) && n >= 0 && buf_get_bytes(&rd, (size_t)n, &v))
		s->fill_values[s->nfill++] = arena_strndup(s->arena, v, (size_t)n);
}

static bool
fill_is_full(void *arg)
{
	(void)arg;
	return false;
}

/* fill_done: the values are there: plan the INSERT again with them and run it */
static void
fill_done(void *arg, const SgError *err)
{
	Session *s = arg;
	if (session_exec_ended(s, err))
		session_replan(s, s->fill_values, s->nfill);
}

/* session_fill_start: draw the values of a serial distribution column (nextval on a node) */
static void
session_fill_start(Session *s)
{
	const DistPlan *fp = s->plan;
	s->fill_values = ARENA_NEW_ARRAY(s->arena, const char *, fp->fill_count + 1);
	s->nfill = 0;
	DistPlan *q = ARENA_NEW(s->arena, DistPlan);
	q->kind = PLAN_TASKS;
	q->ntasks = 1;
	q->tasks = ARENA_NEW(s->arena, Task);
	q->tasks[0].node_id = fp->fill_node;
	q->tasks[0].sql = fp->fill_sql;
	q->combine = COMBINE_RELAY;
	q->returns_rows = true;
	q->command_tag = "SELECT";
	q->fill_count = fp->fill_count;
	s->plan = q;
	ExecSink sink = {fill_message, fill_done, fill_is_full, s, 0};
	Exec *x = exec_start(q, s->snap, &s->txn, &sink, NULL);
	if (x != NULL)
		s->exec = x;
}

/* ---- semi-join key sets first (PLAN_PREFETCH) ------------------------------ */

static void
prefetch_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	KeySet *ks = s->keys_building;
	BufReader rd;
	uint16_t ncols;
	int32_t n;
	const char *v;
	buf_reader_init(&rd, body, len);
	if (type != PQ_MSG_DATA_ROW || !buf_get_u16(&rd, &ncols) || ncols < 1 ||
	    !buf_get_i32(&rd, &n) || n < 0 || !buf_get_bytes(&rd, (size_t)n, &v))
		return; /* a NULL key matches nothing */
	if (ks->n >= s->keys_max) {
		ks->overflow = true;
		return;
	}
	((const char **)ks->values)[ks->n++] = arena_strndup(s->arena, v, (size_t)n);
}

/* prefetch_done: a key set is complete: plan the statement again with every set so far */
static void
prefetch_done(void *arg, const SgError *err)
{
	Session *s = arg;
	if (!session_exec_ended(s, err))
		return;
	KeySet *sets = ARENA_NEW_ARRAY(s->arena, KeySet, s->nkeysets + 1);
	if (s->nkeysets > 0)
		memcpy(sets, s->keysets, sizeof(KeySet) * (size_t)s->nkeysets);
	sets[s->nkeysets] = *s->keys_building;
	s->keysets = sets;
	s->nkeysets++;
	session_replan(s, NULL, 0);
}

/* session_prefetch_start: fetch the key set a semi-join reduction needs */
static void
session_prefetch_start(Session *s)
{
	const DistPlan *pp = s->plan;
	KeySet *ks = ARENA_NEW(s->arena, KeySet);
	ks->big = pp->prefetch_big;
	ks->small = pp->prefetch_small;
	ks->values = ARENA_NEW_ARRAY(s->arena, const char *, pp->prefetch_max + 1);
	s->keys_building = ks;
	s->keys_max = pp->prefetch_max;
	s->plan = (DistPlan *)pp->prefetch;
	ExecSink sink = {prefetch_message, prefetch_done, fill_is_full, s, 0};
	Exec *x = exec_start(pp->prefetch, s->snap, &s->txn, &sink, NULL);
	if (x != NULL)
		s->exec = x;
}

/* ---- INSERT ... SELECT through the gateway (PLAN_INSERT_SELECT) --------- */

/*
 * The SELECT runs first (binary results) and its rows are kept in the
 * statement arena, counted against query_memory_limit (beyond it the rest
 * is read and dropped, and the statement fails with 53200);
 * then, when the INSERT leaves a serial distribution column out, one value
 * per row is drawn (nextval on the first node); then the batches the planner
 * makes (planner_insert_select_next) run one after the other, each an
 * INSERT ... VALUES with the rows as binary parameters. RETURNING rows go to
 * the client as they come (one RowDescription), the batches' counts are
 * summed into one `INSERT 0 n`. All of it in the session's transaction: an
 * implicit one when there is none, committed by session_stmt_ok (2PC when
 * several nodes wrote); any error rolls the whole statement back.
 */

typedef struct InselState InselState;

/* InselRow: one DataRow body of the SELECT */
typedef struct InselRow {
	struct InselRow *next;
	uint32_t len;
	char body[];
} InselRow;

struct InselState {
	const DistPlan *plan; /* the PLAN_INSERT_SELECT */
	ExecBind bind;        /* the running Exec's */
	int32_t ncols;        /* the SELECT's RowDescription */
	uint32_t *types;
	bool has_rowdesc;
	InselRow *head, *tail;
	int32_t nrows;
	size_t bytes;
	bool failed; /* err is the statement's error (the SELECT's rows are dropped) */
	SgError err;
	const char **fill; /* values drawn for a serial distribution column */
	int32_t nfill, fill_count;
	InsertSelectRows rows;
	InsertSelectRun *run;
	Arena *batch_arena; /* one batch's plan and parameters */
	uint64_t count;
	bool sent_rowdesc;
};

static const int16_t insel_binary = 1;

static bool
insel_never_full(void *arg)
{
	(void)arg;
	return false;
}

static void
insel_destroy_arena(void *arg)
{
	arena_destroy(arg);
}

/* insel_text: the client's statement (a node's error position points into it) */
static const char *
insel_text(const Session *s)
{
	return s->ext && s->ext_ps != NULL ? s->ext_ps->stmts.texts[0] : s->stmts.texts[s->cur];
}

/* insel_over_limit: 53200, as exec.c says it for intermediate rows */
static void
insel_over_limit(InselState *st, size_t limit)
{
	SgError *err = &st->err;
	sg_error_set(err, SQLSTATE_OUT_OF_MEMORY, "out of memory");
	sg_error_detail(err,
	                "The rows of INSERT ... SELECT held by the gateway exceed query_memory_limit "
	                "(%zu bytes).",
	                limit);
	sg_error_hint(err, "Insert the rows in smaller parts, or raise query_memory_limit in the "
	                   "gateway's configuration.");
	st->failed = true;
}

/* insel_rowdesc: the SELECT's column types from its RowDescription */
static bool
insel_rowdesc(Session *s, InselState *st, const char *body, size_t len)
{
	BufReader rd;
	uint16_t n;
	buf_reader_init(&rd, body, len);
	if (!buf_get_u16(&rd, &n))
		return false;
	st->ncols = n;
	st->types = ARENA_NEW_ARRAY(s->arena, uint32_t, n + 1);
	for (uint16_t i = 0; i < n; i++) {
		const char *name;
		uint32_t table, type;
		int16_t attnum, typlen, format;
		int32_t typmod;
		if (!buf_get_cstring(&rd, &name) || !buf_get_u32(&rd, &table) ||
		    !buf_get_i16(&rd, &attnum) || !buf_get_u32(&rd, &type) || !buf_get_i16(&rd, &typlen) ||
		    !buf_get_i32(&rd, &typmod) || !buf_get_i16(&rd, &format))
			return false;
		st->types[i] = type;
	}
	st->has_rowdesc = true;
	return true;
}

static void
insel_select_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	InselState *st = s->insel;
	switch (type) {
	case PQ_MSG_ROW_DESCRIPTION:
		if (!insel_rowdesc(s, st, body, len) && !st->failed) {
			sg_error_set(&st->err, SQLSTATE_PROTOCOL_VIOLATION, "malformed RowDescription");
			st->failed = true;
		}
		return;
	case PQ_MSG_DATA_ROW: {
		if (st->failed)
			return;
		size_t limit = s->srv->config->query_memory_limit;
		st->bytes += len + sizeof(InselRow);
		if (limit != 0 && st->bytes > limit) {
			/* the rest of the rows are read and dropped, not cancelled: a CancelRequest that
			 * arrives after the SELECT ended would hit the connection's next statement */
			insel_over_limit(st, limit);
			return;
		}
		InselRow *r = arena_alloc(s->arena, sizeof(InselRow) + len);
		r->next = NULL;
		r->len = (uint32_t)len;
		memcpy(r->body, body, len);
		if (st->tail != NULL)
			st->tail->next = r;
		else
			st->head = r;
		st->tail = r;
		st->nrows++;
		return;
	}
	case PQ_MSG_COMMAND_COMPLETE:
		return;
	default:
		sink_message(s, type, body, len); /* notices */
		return;
	}
}

static void insel_route(Session *s);

/* insel_collect: the kept DataRows as InsertSelectRows (pointers into them) */
static bool
insel_collect(Session *s, InselState *st, SgError *err)
{
	InsertSelectRows *rows = &st->rows;
	size_t nvals = (size_t)st->nrows * (size_t)st->ncols;
	const char **values = ARENA_NEW_ARRAY(s->arena, const char *, nvals + 1);
	int32_t *lengths = ARENA_NEW_ARRAY(s->arena, int32_t, nvals + 1);
	size_t k = 0;
	for (InselRow *r = st->head; r != NULL; r = r->next) {
		BufReader rd;
		uint16_t n;
		buf_reader_init(&rd, r->body, r->len);
		if (!buf_get_u16(&rd, &n) || n != st->ncols)
			return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "malformed DataRow");
		for (uint16_t c = 0; c < n; c++, k++) {
			int32_t len;
			const char *v = NULL;
			if (!buf_get_i32(&rd, &len) || (len > 0 && !buf_get_bytes(&rd, (size_t)len, &v)))
				return sg_error_set(err, SQLSTATE_PROTOCOL_VIOLATION, "malformed DataRow");
			values[k] = len < 0 ? NULL : len == 0 ? "" : v;
			lengths[k] = len < 0 ? -1 : len;
		}
	}
	rows->ncols = st->ncols;
	rows->types = st->types;
	rows->nrows = st->nrows;
	rows->values = values;
	rows->lengths = lengths;
	return true;
}

static void
insel_fill_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	InselState *st = s->insel;
	BufReader rd;
	uint16_t ncols;
	int32_t n;
	const char *v;
	buf_reader_init(&rd, body, len);
	if (type == PQ_MSG_DATA_ROW && st->nfill < st->fill_count && buf_get_u16(&rd, &ncols) &&
	    ncols >= 1 && buf_get_i32(&rd, &n) && n >= 0 && buf_get_bytes(&rd, (size_t)n, &v))
		st->fill[st->nfill++] = arena_strndup(s->arena, v, (size_t)n);
}

static void
insel_fill_done(void *arg, const SgError *err)
{
	Session *s = arg;
	InselState *st = s->insel;
	if (!session_exec_ended(s, err))
		return;
	if (st->nfill != st->fill_count) {
		SgError e;
		sg_error_set(&e, SQLSTATE_INTERNAL_ERROR, "%d values drawn for %d rows", (int)st->nfill,
		             (int)st->fill_count);
		session_stmt_failed(s, &e);
		return;
	}
	st->rows.fill = st->fill;
	insel_route(s);
}

/* insel_select_done: the SELECT's rows are in: draw serial values if needed, then insert */
static void
insel_select_done(void *arg, const SgError *err)
{
	Session *s = arg;
	InselState *st = s->insel;
	if (!session_exec_ended(s, st->failed ? &st->err : err))
		return;
	SgError perr;
	const char *sql;
	int32_t node;
	if (!st->has_rowdesc) {
		sg_error_set(&perr, SQLSTATE_INTERNAL_ERROR, "the SELECT returned no RowDescription");
		session_stmt_failed(s, &perr);
		return;
	}
	if (!insel_collect(s, st, &perr) ||
	    !planner_insert_select_fill(st->plan, st->ncols, st->nrows, s->arena, &sql, &node, &perr)) {
		session_stmt_failed(s, &perr);
		return;
	}
	if (sql == NULL) {
		insel_route(s);
		return;
	}
	st->fill_count = st->nrows;
	st->fill = ARENA_NEW_ARRAY(s->arena, const char *, st->nrows + 1);
	DistPlan *q = ARENA_NEW(s->arena, DistPlan);
	q->kind = PLAN_TASKS;
	q->ntasks = 1;
	q->tasks = ARENA_NEW(s->arena, Task);
	q->tasks[0].node_id = node;
	q->tasks[0].sql = sql;
	q->combine = COMBINE_RELAY;
	q->returns_rows = true;
	q->command_tag = "SELECT";
	ExecSink sink = {insel_fill_message, insel_fill_done, insel_never_full, s, 0};
	Exec *x = exec_start(q, s->snap, &s->txn, &sink, NULL);
	if (x != NULL)
		s->exec = x;
}

static void insel_next(Session *s);

static void
insel_batch_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	InselState *st = s->insel;
	const char *tag;
	uint64_t n;
	switch (type) {
	case PQ_MSG_ROW_DESCRIPTION:
		st->sent_rowdesc = true;
		sink_message(s, type, body, len);
		return;
	case PQ_MSG_COMMAND_COMPLETE:
		if (proto_read_command_tag(body, len, &tag) && proto_tag_count(tag, &n))
			st->count += n;
		return;
	default:
		sink_message(s, type, body, len);
		return;
	}
}

static void
insel_batch_done(void *arg, const SgError *err)
{
	Session *s = arg;
	if (session_exec_ended(s, err))
		insel_next(s);
}

/* insel_route: every row's shard, then the first batch */
static void
insel_route(Session *s)
{
	InselState *st = s->insel;
	SgError err;
	if (!planner_insert_select_route(st->plan, &st->rows, s->arena, &st->run, &err)) {
		session_stmt_failed(s, &err);
		return;
	}
	st->batch_arena = arena_create(65536);
	arena_on_reset(s->arena, insel_destroy_arena, st->batch_arena);
	insel_next(s);
}

static void insel_finish(Session *s);

/* insel_next: run the next batch, or finish */
static void
insel_next(Session *s)
{
	InselState *st = s->insel;
	SgError err;
	DistPlan *bp;
	PlanParams pp;
	arena_reset(st->batch_arena);
	if (!planner_insert_select_next(st->run, st->batch_arena, &bp, &pp, &err)) {
		session_stmt_failed(s, &err);
		return;
	}
	if (bp == NULL) {
		insel_finish(s);
		return;
	}
	bp->client_text = insel_text(s);
	ExecBind *b = &st->bind;
	memset(b, 0, sizeof(*b));
	b->ntypes = (int16_t)pp.n;
	b->types = pp.types;
	b->nformats = (int16_t)pp.n;
	b->formats = pp.formats;
	b->nparams = (int16_t)pp.n;
	b->values = pp.values;
	b->lengths = pp.lengths;
	if (s->ext) {
		b->nresult = s->bind.nresult; /* RETURNING in the formats the client asked for */
		b->result_formats = s->bind.result_formats;
	}
	b->send_row_description = !s->ext && !st->sent_rowdesc && st->plan->returns_rows;
	b->schema_epoch = server_schema_epoch(s->srv);
	ExecSink sink = {insel_batch_message, insel_batch_done, sink_is_full, s, 0};
	Exec *x = exec_start(bp, s->snap, &s->txn, &sink, b);
	if (x != NULL)
		s->exec = x;
}

static void
insel_desc_message(void *arg, char type, const char *body, size_t len)
{
	Session *s = arg;
	if (type == PQ_MSG_ROW_DESCRIPTION) {
		s->insel->sent_rowdesc = true;
		sink_message(s, type, body, len);
	}
}

static void
insel_desc_done(void *arg, const SgError *err)
{
	Session *s = arg;
	if (session_exec_ended(s, err))
		insel_finish(s);
}

/*
 * insel_finish: every batch ran. RETURNING without rows still owes the
 * simple-protocol client its RowDescription: the first node describes the
 * statement. Then one CommandComplete with the total.
 */
static void
insel_finish(Session *s)
{
	InselState *st = s->insel;
	const CatNode *first = catalog_first_node(s->snap);
	if (st->plan->returns_rows && !s->ext && !st->sent_rowdesc && first != NULL) {
		st->sent_rowdesc = true; /* once, even if the node describes nothing */
		DistPlan *q = ARENA_NEW(s->arena, DistPlan);
		q->kind = PLAN_TASKS;
		q->ntasks = 1;
		q->tasks = ARENA_NEW(s->arena, Task);
		q->tasks[0].node_id = first->id;
		q->tasks[0].sql = insel_text(s);
		q->combine = COMBINE_RELAY;
		q->client_text = insel_text(s);
		ExecBind *b = &st->bind;
		memset(b, 0, sizeof(*b));
		b->describe = 'P';
		b->send_row_description = true;
		ExecSink sink = {insel_desc_message, insel_desc_done, insel_never_full, s, 0};
		Exec *x = exec_start(q, s->snap, &s->txn, &sink, b);
		if (x != NULL)
			s->exec = x;
		return;
	}
	char tag[48];
	int n = snprintf(tag, sizeof(tag), "INSERT 0 %llu", (unsigned long long)st->count);
	sink_message(s, PQ_MSG_COMMAND_COMPLETE, tag, (size_t)n + 1);
	sink_done(s, NULL);
}

/* session_insel_start: run the SELECT of a PLAN_INSERT_SELECT, keeping its rows */
static void
session_insel_start(Session *s)
{
	const DistPlan *p = s->plan;
	InselState *st = ARENA_NEW(s->arena, InselState);
	s->insel = st;
	st->plan = p;
	if (s->txn.block == TXN_BLOCK_NONE) {
		/* the SELECT and every batch in one transaction: all rows or none */
		txn_begin_implicit(&s->txn);
		s->wrapped = true;
	}
	DistPlan *sp = ARENA_NEW(s->arena, DistPlan);
	*sp = *p->select_plan;
	sp->client_text = insel_text(s);
	if (s->ext)
		st->bind = s->bind; /* the client's parameters, for the SELECT's $n */
	st->bind.nresult = 1;
	st->bind.result_formats = &insel_binary;
	st->bind.send_row_description = true;
	st->bind.describe = 0;
	st->bind.describe_portal = NULL;
	st->bind.schema_epoch = server_schema_epoch(s->srv);
	ExecSink sink = {insel_select_message, insel_select_done, insel_never_full, s,
	                 s->srv->config->query_memory_limit};
	Exec *x = exec_start(sp, s->snap, &s->txn, &sink, &st->bind);
	if (x != NULL)
		s->exec = x;
}

static void
session_run_next(Session *s)
{
	if (s->cur >= s->stmts.nstmts) {
		if (s->txn.block == TXN_BLOCK_IMPLICIT && !s->ext) { /* ext: Sync ends it */
			txn_finish(&s->txn, true, on_implicit_commit_done, s);
			return;
		}
		session_query_end(s);
		return;
	}
	if (s->txn.block == TXN_BLOCK_NONE && s->cur > 0 && s->stmts.nstmts > 1)
		txn_begin_implicit(&s->txn); /* after a COMMIT inside the message */
	SgError err;
	DistPlan *plan = NULL;
	bool is_copy = false;
	const char *sp = session_setting(s, "search_path", NULL);
	bool planned = true;
	PreparedStmt *eps = s->ext ? s->ext_ps : NULL;
	s->nkeysets = 0;
	s->keys_in_block = s->txn.block != TXN_BLOCK_NONE; /* as the statement starts */
	if (s->cached_plan != NULL) {
		plan = s->cached_plan;
		s->cached_plan = NULL;
	} else if (eps != NULL &&
	           prepared_route_plan(eps->route, s->snap, sp, &s->params, s->arena, &plan)) {
		/* an Execute of a prepared router statement: no analysis, no deparse */
	} else {
		planned = planner_plan_copy(s->snap, s->stmts.stmts[s->cur], s->stmts.texts[s->cur], sp,
		                            s->arena, &plan, &is_copy, &err);
		/* a Describe plans without fetching semi-join keys (nkeys -1) */
		if (planned && !is_copy)
			planned = planner_plan_stmt_keys(s->snap, s->stmts.stmts[s->cur],
			                                 s->stmts.texts[s->cur], sp, s->ext ? &s->params : NULL,
			                                 NULL, 0, NULL, s->describing ? -1 : 0,
			                                 s->keys_in_block, s->arena, &plan, &err);
		if (planned && s->learn_sql != NULL && !s->ext && s->stmts.nstmts == 1)
			plancache_learn(s->srv->plans, s->snap, s->learn_sql, sp, s->stmts.stmts[0], plan,
			                s->arena);
		if (planned && eps != NULL && !is_copy)
			prepared_route_learn(eps->route, s->snap, sp, eps->stmts.stmts[0], eps->stmts.texts[0],
			                     &s->params, plan, s->arena);
	}
	if (planned && plan_may_change_schema(plan))
		server_bump_schema_epoch(s->srv);
	s->learn_sql = NULL;
	if (!planned) {
		if (s->txn.block == TXN_BLOCK_FAILED) {
			sg_error_set(&err, SQLSTATE_IN_FAILED_SQL_TRANSACTION,
			             "current transaction is aborted, commands ignored until end of "
			             "transaction block");
		}
		session_stmt_failed(s, &err);
		return;
	}
	session_run_plan(s, plan);
}

/* session_run_plan: run the current statement's plan */
static void
session_run_plan(Session *s, DistPlan *plan)
{
	SgError err;
	s->plan = plan;
	if (s->txn.block == TXN_BLOCK_FAILED &&
	    !(plan->kind == PLAN_TXN_CONTROL &&
	      (plan->txn_cmd == TXN_ROLLBACK || plan->txn_cmd == TXN_COMMIT ||
	       plan->txn_cmd == TXN_ROLLBACK_TO))) {
		sg_error_set(&err, SQLSTATE_IN_FAILED_SQL_TRANSACTION,
		             "current transaction is aborted, commands ignored until end of "
		             "transaction block");
		session_stmt_failed(s, &err);
		return;
	}
	switch (plan->kind) {
	case PLAN_EMPTY:
		s->cur++;
		session_run_next(s);
		return;
	case PLAN_TXN_CONTROL:
		session_txn_control(s, plan);
		return;
	case PLAN_GATEWAY_FUNC:
		session_gateway_func(s);
		return;
	case PLAN_TASKS:
		session_run_tasks(s);
		return;
	case PLAN_COPY_IN:
		session_copy_start(s);
		return;
	case PLAN_FILL:
		session_fill_start(s);
		return;
	case PLAN_PREFETCH:
		session_prefetch_start(s);
		return;
	case PLAN_INSERT_SELECT:
		session_insel_start(s);
		return;
	}
}

static void
session_query(Session *s, const char *body, size_t len)
{
	SgError err;
	const char *sql;
	if (!proto_read_query(body, len, &sql, &err)) {
		session_fatal(s, &err);
		return;
	}
	if (s->arena == NULL)
		s->arena = arena_create(8192);
	session_set_state(s, SESS_QUERY);
	s->busy_since = loop_now_us(s->srv->loop);
	server_take_catalog(s->srv);
	s->snap = s->srv->catalog;
	catalog_ref(s->snap);
	/* the input buffer moves on: the text must live as long as the statement */
	sql = arena_strdup(s->arena, sql);
	DistPlan *cached = NULL;
	PlanCacheResult pcr = plancache_lookup(
	    s->srv->plans, s->snap, sql, session_setting(s, "search_path", NULL), s->arena, &cached);
	s->learn_sql = pcr == PC_MISS ? sql : NULL;
	if (pcr == PC_HIT) {
		/* the same statement but for its constants was planned before: no parse */
		s->stmts.nstmts = 1;
		s->stmts.stmts = ARENA_NEW_ARRAY(s->arena, ParsedStmt *, 1);
		s->stmts.texts = ARENA_NEW_ARRAY(s->arena, const char *, 1);
		s->stmts.texts[0] = sql;
		s->cached_plan = cached;
		s->cur = 0;
		session_run_next(s);
		return;
	}
	if (!planner_split(s->arena, sql, &s->stmts, &err)) {
		session_send_error(s, &err);
		if (s->txn.block == TXN_BLOCK_EXPLICIT)
			txn_set_failed(&s->txn);
		session_query_end(s);
		return;
	}
	if (s->stmts.nstmts == 0) {
		proto_write_empty_query(&s->out);
		session_query_end(s);
		return;
	}
	s->cur = 0;
	if (s->stmts.nstmts > 1 && s->txn.block == TXN_BLOCK_NONE)
		txn_begin_implicit(&s->txn);
	session_run_next(s);
}

/* ---- input -------------------------------------------------------------- */

static bool
session_is_extended(char type)
{
	return type == PQ_MSG_PARSE || type == PQ_MSG_BIND || type == PQ_MSG_DESCRIBE ||
	       type == PQ_MSG_EXECUTE || type == PQ_MSG_CLOSE || type == PQ_MSG_FLUSH;
}

/* session_ext_fill: ExecBind and PlanParams from a portal (arrays in the statement arena) */
static void
session_ext_fill(Session *s, const PreparedStmt *ps, const Portal *portal, char describe)
{
	ExecBind *b = &s->bind;
	memset(b, 0, sizeof(*b));
	b->ntypes = ps->ntypes;
	b->types = ps->types;
	b->describe = describe;
	b->send_row_description = describe != 0;
	b->schema_epoch = server_schema_epoch(s->srv);
	memset(&s->params, 0, sizeof(s->params));
	if (portal == NULL)
		return;
	const BindMsg *m = &portal->bind;
	b->nformats = m->nformats;
	b->formats = m->formats;
	b->nparams = m->nparams;
	b->values = m->values;
	b->lengths = m->lengths;
	b->nresult = m->nresult;
	b->result_formats = m->result_formats;
	PlanParams *pp = &s->params;
	pp->n = m->nparams;
	pp->values = m->values;
	pp->lengths = m->lengths;
	int16_t *formats = arena_alloc(s->arena, sizeof(int16_t) * ((size_t)m->nparams + 1));
	uint32_t *types = arena_alloc(s->arena, sizeof(uint32_t) * ((size_t)m->nparams + 1));
	for (int i = 0; i < m->nparams; i++) {
		formats[i] = proto_format_of(m->nformats, m->formats, i);
		types[i] = i < ps->ntypes ? ps->types[i] : 0;
	}
	pp->formats = formats;
	pp->types = types;
}

static void
session_ext_begin(Session *s)
{
	if (s->arena == NULL)
		s->arena = arena_create(8192);
	s->ext = true;
	s->busy_since = loop_now_us(s->srv->loop);
	server_take_catalog(s->srv);
	s->snap = s->srv->catalog;
	catalog_ref(s->snap);
	session_set_state(s, SESS_QUERY);
}

/*
 * session_describe_cursor: Describe of a portal the gateway does not know: a
 * cursor of DECLARE (psycopg 3 describes its server-side cursors), which
 * lives on the first node; the node answers (RowDescription, or 34000)
 */
static void
session_describe_cursor(Session *s, const char *name)
{
	session_ext_begin(s);
	memset(&s->bind, 0, sizeof(s->bind));
	memset(&s->params, 0, sizeof(s->params));
	s->bind.describe = 'P';
	s->bind.send_row_description = true;
	s->bind.describe_portal = arena_strdup(s->arena, name);
	DistPlan *plan = ARENA_NEW(s->arena, DistPlan);
	plan->kind = PLAN_TASKS;
	plan->ntasks = 1;
	plan->tasks = ARENA_NEW(s->arena, Task);
	plan->tasks[0].node_id = catalog_first_node(s->snap)->id;
	plan->tasks[0].sql = "";
	plan->combine = COMBINE_RELAY;
	s->plan = plan;
	s->describing = true;
	ExecSink sink = {sink_message, sink_done, sink_is_full, s, 0};
	Exec *x = exec_start(plan, s->snap, &s->txn, &sink, &s->bind);
	if (x != NULL)
		s->exec = x;
}

/* Describe: the node that holds the first node's shells computes the descriptions */
static void
session_ext_describe(Session *s, const char *body, size_t len)
{
	SgError err;
	char kind;
	const char *name;
	if (!proto_read_target(body, len, &kind, &name, &err)) {
		session_fatal(s, &err);
		return;
	}
	PreparedStmt *ps;
	const Portal *portal = NULL;
	if (kind == 'S') {
		ps = portal_find_stmt(&s->portals, name);
		if (ps == NULL) {
			sg_error_set(&err, "26000", "prepared statement \"%s\" does not exist", name);
			goto fail;
		}
	} else {
		portal = portal_find(&s->portals, name);
		if (portal == NULL && name[0] != '\0' && catalog_first_node(s->srv->catalog) != NULL) {
			session_describe_cursor(s, name);
			return;
		}
		if (portal == NULL) {
			sg_error_set(&err, "34000", "portal \"%s\" does not exist", name);
			goto fail;
		}
		ps = portal->ps;
	}
	if (ps->stmts.nstmts == 0) {
		if (kind == 'S')
			proto_write_message(&s->out, PQ_MSG_PARAMETER_DESCRIPTION, "\0\0", 2);
		proto_write_message(&s->out, PQ_MSG_NO_DATA, NULL, 0);
		return;
	}
	DescribeCache *dc = kind == 'S' ? &ps->desc_stmt : &ps->desc_portal;
	if (describe_cached(s, dc, session_setting(s, "search_path", NULL),
	                    portal != NULL ? &portal->bind : NULL)) {
		buf_append(&s->out, dc->msgs, dc->len);
		return;
	}
	session_ext_begin(s);
	const CatNode *first = catalog_first_node(s->srv->catalog);
	if (first == NULL) {
		sg_error_set(&err, SQLSTATE_CONNECTION_FAILURE, "no active node");
		goto fail;
	}
	session_ext_fill(s, ps, portal, kind);
	DistPlan *fp = NULL;
	SgError ferr;
	if (planner_plan_stmt_sp(s->snap, ps->stmts.stmts[0], ps->stmts.texts[0],
	                         session_setting(s, "search_path", NULL), &s->params, s->arena, &fp,
	                         &ferr) &&
	    fp->kind == PLAN_GATEWAY_FUNC && fp->func == GWF_SQL_EXECUTE) {
		/* EXECUTE: the node describes the prepared statement's portal, with these values
		 * (as a statement, EXECUTE itself has no parameters) */
		PreparedStmt *inner;
		if (!sql_exec_bind(s, fp, &inner, &err)) {
			session_send_error(s, &err);
			s->skip_to_sync = true;
			s->ext_error = true;
			if (s->txn.block == TXN_BLOCK_EXPLICIT)
				txn_set_failed(&s->txn);
			session_ext_done(s);
			return;
		}
		if (kind == 'S')
			proto_write_message(&s->out, PQ_MSG_PARAMETER_DESCRIPTION, "\0\0", 2);
		s->bind.describe = 'P';
		s->bind.send_row_description = true;
		dc = NULL; /* the answer depends on another statement: not cached */
		ps = inner;
	} else if (fp != NULL && fp->kind == PLAN_GATEWAY_FUNC) {
		/* answered by the gateway, not a node: describe its one void column here */
		if (kind == 'S') {
			Buf *o = &s->out;
			size_t off = o->len;
			buf_append_u8(o, PQ_MSG_PARAMETER_DESCRIPTION);
			buf_append_u32(o, 0);
			buf_append_u16(o, (uint16_t)ps->ntypes);
			for (int i = 0; i < ps->ntypes; i++)
				buf_append_u32(o, ps->types[i] != 0 ? ps->types[i] : 25);
			buf_put_u32_at(o, off + 1, (uint32_t)(o->len - off - 1));
		}
		if (fp->func == GWF_LIST_ACTIVE || fp->func == GWF_LIST_POOLS) {
			const GatherView *v = fp->func == GWF_LIST_ACTIVE ? &txn_view : &pools_view;
			proto_write_row_description(&s->out, v->ncols, v->names, v->types);
		} else if (fp->func == GWF_PLAN_CACHE) {
			proto_write_row_description(&s->out, 5, plan_cache_cols, plan_cache_types);
		} else if (fp->func == GWF_SQL_PREPARE || fp->func == GWF_SQL_EXECUTE ||
		           fp->func == GWF_SQL_DEALLOCATE) {
			proto_write_message(&s->out, PQ_MSG_NO_DATA, NULL, 0); /* statement 'S' of EXECUTE:
			                                                          columns unknown here */
		} else if (fp->func == GWF_LIST_PREPARED) {
			const char *names[] = {"node_id", "gid", "prepared"};
			const uint32_t types[] = {23, 25, 25};
			proto_write_row_description(&s->out, 3, names, types);
		} else {
			const char *names[] = {fp->func_result_column};
			const uint32_t types[] = {fp->func == GWF_RECOVER_PREPARED ? 23u : 2278u};
			proto_write_row_description(&s->out, 1, names, types);
		}
		session_ext_done(s);
		return;
	}
	DistPlan *plan = ARENA_NEW(s->arena, DistPlan);
	plan->kind = PLAN_TASKS;
	plan->ntasks = 1;
	plan->tasks = ARENA_NEW(s->arena, Task);
	plan->tasks[0].node_id = first->id;
	plan->tasks[0].sql = ps->stmts.texts[0];
	plan->combine = COMBINE_RELAY;
	plan->client_text = ps->stmts.texts[0];
	s->plan = plan;
	s->describing = true;
	s->desc_learn = dc;
	s->desc_epoch = server_schema_epoch(s->srv);
	s->desc_portal = portal;
	buf_clear(&s->desc_buf);
	ExecSink sink = {sink_message, sink_done, sink_is_full, s, 0};
	Exec *x = exec_start(plan, s->snap, &s->txn, &sink, &s->bind);
	if (x != NULL)
		s->exec = x; /* NULL: already done (and maybe the next statement started) */
	return;
fail:
	session_send_error(s, &err);
	s->skip_to_sync = true;
	s->ext_error = true;
	if (s->txn.block == TXN_BLOCK_EXPLICIT)
		txn_set_failed(&s->txn);
}

static void
session_ext_execute(Session *s, const char *body, size_t len)
{
	SgError err;
	const char *name;
	uint32_t max_rows;
	if (!proto_read_execute(body, len, &name, &max_rows, &err)) {
		session_fatal(s, &err);
		return;
	}
	Portal *portal = portal_find(&s->portals, name);
	if (portal == NULL) {
		sg_error_set(&err, "34000", "portal \"%s\" does not exist", name);
		session_send_error(s, &err);
		s->skip_to_sync = true;
		s->ext_error = true;
		if (s->txn.block == TXN_BLOCK_EXPLICIT)
			txn_set_failed(&s->txn);
		return;
	}
	if (portal->ps->stmts.nstmts == 0) {
		proto_write_empty_query(&s->out);
		return;
	}
	if (portal->executed) { /* a later Execute of a suspended portal */
		portal_serve(s, portal, max_rows);
		return;
	}
	/* several Executes before one Sync form one implicit transaction, as in PostgreSQL;
	 * the usual Execute-then-Sync needs none (the statement commits on its own) */
	if (s->txn.block == TXN_BLOCK_NONE &&
	    !(buf_avail(&s->in) > 0 && buf_head(&s->in)[0] == PQ_MSG_SYNC))
		txn_begin_implicit(&s->txn);
	session_ext_begin(s);
	session_ext_fill(s, portal->ps, portal, 0);
	s->buffering = max_rows > 0 ? portal : NULL; /* kept whole, handed out max_rows at a time */
	s->max_rows = max_rows;
	s->stmts = portal->ps->stmts;
	s->cur = 0;
	s->ext_ps = portal->ps;
	session_run_next(s);
	s->ext_ps = NULL;
}

static void
session_ext_sync_end(Session *s)
{
	if (s->txn.block == TXN_BLOCK_NONE) {
		portal_close_all_portals(&s->portals);
		if (s->arena != NULL)
			arena_reset(s->arena);
	}
	session_send_ready(s);
}

static void
on_sync_commit_done(const SgError *err, void *arg)
{
	Session *s = arg;
	if (err != NULL)
		session_send_error(s, err);
	txn_statement_end(&s->txn);
	session_ext_sync_end(s);
	session_set_state(s, SESS_IDLE);
	session_process(s);
}

/*
 * session_ext_sync: Sync ends the implicit transaction of the Executes since
 * the last Sync (as in PostgreSQL's extended protocol), then ReadyForQuery
 */
static void
session_ext_sync(Session *s)
{
	s->skip_to_sync = false;
	if (s->txn.block == TXN_BLOCK_IMPLICIT) {
		/* an error since the last Sync (Parse, Bind...) rolls the Executes back */
		bool commit = !s->ext_error;
		s->ext_error = false;
		session_set_state(s, SESS_QUERY);
		txn_finish(&s->txn, commit, on_sync_commit_done, s);
		return;
	}
	s->ext_error = false;
	session_ext_sync_end(s);
}

/* session_extended: one extended-protocol message; false if the session ended */
static bool
session_extended(Session *s, char type, const char *body, size_t len)
{
	SgError err; /* 1.8 kB: cleared only where its emptiness is read (Parse) */
	if (s->skip_to_sync)
		return true; /* after an error everything up to Sync is discarded */
	switch (type) {
	case PQ_MSG_PARSE: {
		sg_error_clear(&err);
		Arena *tmp = arena_create(1024);
		ParseMsg pm;
		bool ok = proto_read_parse(body, len, tmp, &pm, &err);
		if (!ok) {
			arena_destroy(tmp);
			session_fatal(s, &err);
			return false;
		}
		ok = portal_parse(&s->portals, &pm, &err);
		arena_destroy(tmp);
		if (ok)
			proto_write_message(&s->out, PQ_MSG_PARSE_COMPLETE, NULL, 0);
		break;
	}
	case PQ_MSG_BIND:
		if (portal_bind(&s->portals, body, len, &err)) {
			proto_write_message(&s->out, PQ_MSG_BIND_COMPLETE, NULL, 0);
			return true;
		}
		if (strcmp(err.sqlstate, SQLSTATE_PROTOCOL_VIOLATION) == 0) {
			session_fatal(s, &err);
			return false;
		}
		break;
	case PQ_MSG_DESCRIBE:
		session_ext_describe(s, body, len);
		return s->state != SESS_CLOSING;
	case PQ_MSG_EXECUTE:
		session_ext_execute(s, body, len);
		return s->state != SESS_CLOSING;
	case PQ_MSG_CLOSE: {
		char kind;
		const char *name;
		if (!proto_read_target(body, len, &kind, &name, &err)) {
			session_fatal(s, &err);
			return false;
		}
		if (kind == 'S')
			portal_close_stmt(&s->portals, name);
		else
			portal_close(&s->portals, name);
		proto_write_message(&s->out, PQ_MSG_CLOSE_COMPLETE, NULL, 0);
		return true;
	}
	case PQ_MSG_FLUSH:
		return true; /* output is flushed whenever we wait */
	default:
		SG_UNREACHABLE();
	}
	if (type == PQ_MSG_PARSE && !sg_error_is_set(&err))
		return true;
	{
		/* Parse or Bind failed: an error, then everything up to Sync is skipped */
		session_send_error(s, &err);
		s->skip_to_sync = true;
		s->ext_error = true;
		if (s->txn.block == TXN_BLOCK_EXPLICIT)
			txn_set_failed(&s->txn);
	}
	return true;
}

/* session_message: one whole message in SESS_IDLE; false if the session ended */
static bool
session_message(Session *s, char type, const char *body, size_t len)
{
	SgError err;
	if (session_is_extended(type))
		return session_extended(s, type, body, len);
	switch (type) {
	case PQ_MSG_SYNC:
		session_ext_sync(s);
		return true;
	case PQ_MSG_QUERY:
		s->skip_to_sync = false;
		session_query(s, body, len);
		return true;
	case PQ_MSG_TERMINATE:
		session_set_state(s, SESS_CLOSING);
		return false;
	case PQ_MSG_COPY_DATA:
	case PQ_MSG_COPY_DONE:
	case PQ_MSG_COPY_FAIL:
		return true; /* outside COPY these are ignored, as PostgreSQL does */
	case PQ_MSG_FUNCTION_CALL:
		sg_error_set(&err, SQLSTATE_FEATURE_NOT_SUPPORTED,
		             "the function call protocol message is not supported");
		session_send_error(s, &err);
		session_send_ready(s);
		return true;
	default:
		sg_error_fatal(&err, SQLSTATE_PROTOCOL_VIOLATION, "invalid frontend message type %d",
		               (int)(unsigned char)type);
		session_fatal(s, &err);
		return false;
	}
}

/* frontend message types: known ones, and those PostgreSQL limits to PQ_SMALL_MESSAGE_LIMIT
 * (10000 bytes); a table, not strchr: this runs for every message */
enum { MSG_KNOWN = 1, MSG_SMALL = 2 };
/* clang-format off */
static const unsigned char msg_class[128] = {
	['Q'] = MSG_KNOWN, ['P'] = MSG_KNOWN, ['B'] = MSG_KNOWN, ['p'] = MSG_KNOWN, ['d'] = MSG_KNOWN,
	['F'] = MSG_KNOWN,
	['D'] = MSG_KNOWN | MSG_SMALL, ['E'] = MSG_KNOWN | MSG_SMALL, ['C'] = MSG_KNOWN | MSG_SMALL,
	['S'] = MSG_KNOWN | MSG_SMALL, ['H'] = MSG_KNOWN | MSG_SMALL, ['X'] = MSG_KNOWN | MSG_SMALL,
	['c'] = MSG_KNOWN | MSG_SMALL, ['f'] = MSG_KNOWN | MSG_SMALL,
};
/* clang-format on */

static bool
session_known_type(char type)
{
	unsigned char u = (unsigned char)type;
	return u < 128 && (msg_class[u] & MSG_KNOWN) != 0;
}

static bool
session_is_small_type(char type)
{
	unsigned char u = (unsigned char)type;
	return u < 128 && (msg_class[u] & MSG_SMALL) != 0;
}

static void session_process_messages(Session *s);

/*
 * session_may_hold_output: a statement is running and what `out` holds so
 * far (BindComplete, a cached RowDescription, ...) may wait for its results:
 * one write and one wake-up of the client per statement instead of two.
 * PostgreSQL, too, sends nothing before ReadyForQuery (or a full buffer), so
 * the client sees the same bytes; a ReadyForQuery, a lot of output or a socket
 * that already refused bytes (write interest armed) is flushed at once.
 */
static bool
session_may_hold_output(const Session *s)
{
	return s->state == SESS_QUERY && !s->out_ready && buf_avail(&s->out) < SESS_HOLD_MAX &&
	       s->watch != NULL && !(watch_events(s->watch) & LOOP_WRITE);
}

/* session_process: act on every whole message buffered, as long as the state allows */
static void
session_process(Session *s)
{
	if (s->in_process)
		return; /* the outer call's loop picks up whatever is buffered */
	s->in_process = true;
	session_process_messages(s);
	s->in_process = false;
	if (!s->must_destroy && session_may_hold_output(s)) {
		s->out_held = true; /* the statement's end flushes it, with its results */
		return;
	}
	/* the only place a session ends while handling input: after its last words are out */
	if (s->must_destroy || !session_flush(s) ||
	    (s->state == SESS_CLOSING && buf_avail(&s->out) == 0))
		session_destroy(s);
}

static void
session_process_messages(Session *s)
{
	const Config *cfg = s->srv->config;
	for (;;) {
		SgError err;
		size_t total;
		char type;
		if (s->state == SESS_QUERY || s->state == SESS_CLOSING || s->in_worker)
			break;
		if (s->state == SESS_COPY_IN && s->copy != NULL && copyrun_is_full(s->copy))
			break; /* back-pressure: resume() calls us again */
		if (s->state == SESS_STARTUP) {
			FrameResult fr = proto_frame_startup(buf_head(&s->in), buf_avail(&s->in),
			                                     cfg->max_startup_packet, &total, &err);
			if (fr == FRAME_NEED_MORE)
				break;
			if (fr == FRAME_ERROR) {
				session_fatal(s, &err);
				break;
			}
			/* the packet stays in `in` while it is parsed: its strings point there */
			bool alive = session_startup(s, buf_head(&s->in) + 4, total - 4);
			if (!alive)
				break;
			buf_consume(&s->in, total);
			continue;
		}
		if (buf_avail(&s->in) > 0 && !session_known_type(buf_head(&s->in)[0])) {
			/* as PostgreSQL: an unknown type byte ends the session before its length is read */
			sg_error_fatal(&err, SQLSTATE_PROTOCOL_VIOLATION, "invalid frontend message type %d",
			               (int)(unsigned char)buf_head(&s->in)[0]);
			session_fatal(s, &err);
			break;
		}
		size_t limit = buf_avail(&s->in) > 0 && session_is_small_type(buf_head(&s->in)[0])
		                   ? SESS_SMALL_MESSAGE_LIMIT
		                   : cfg->max_message_size;
		FrameResult fr =
		    proto_frame(buf_head(&s->in), buf_avail(&s->in), limit, &type, &total, &err);
		if (fr == FRAME_NEED_MORE)
			break;
		if (fr == FRAME_ERROR) {
			session_fatal(s, &err);
			break;
		}
		/* copy the message out of `in`: handlers may run long and `in` keeps filling;
		 * most messages (a point query, a Bind) fit on the stack */
		char small[SESS_STACK_MESSAGE];
		char *msg = total <= sizeof(small) ? small : malloc(total);
		if (msg == NULL)
			abort();
		memcpy(msg, buf_head(&s->in), total);
		buf_consume(&s->in, total);
		bool alive;
		if (s->state == SESS_AUTH_SASL || s->state == SESS_AUTH_SASL_CONT) {
			alive = session_auth_message(s, type, msg + 5, total - 5);
		} else if (s->state == SESS_COPY_IN) {
			session_copy_message(s, type, msg + 5, total - 5);
			alive = true;
		} else {
			alive = session_message(s, type, msg + 5, total - 5);
		}
		if (msg != small)
			free(msg);
		if (!alive)
			break;
	}
}

static void
session_on_socket(int fd, short events, void *arg)
{
	Session *s = arg;
	(void)fd;
	if (events & LOOP_WRITE) {
		if (!session_flush(s)) {
			session_destroy(s);
			return;
		}
		if (s->state == SESS_CLOSING && buf_avail(&s->out) == 0) {
			session_destroy(s);
			return;
		}
	}
	if (!(events & LOOP_READ))
		return;
	ssize_t n;
	if (buf_avail(&s->in) == 0) {
		/* the usual case, a request at a time: read into the loop's scratch and keep what
		 * came, so that `in` stays small and is not reallocated for every statement */
		char *tmp = loop_scratch(s->srv->loop);
		n = recv(s->fd, tmp, LOOP_SCRATCH_SIZE, 0);
		if (n > 0)
			buf_append(&s->in, tmp, (size_t)n);
	} else {
		buf_reserve(&s->in, SESS_READ_CHUNK);
		n = recv(s->fd, s->in.data + s->in.len, s->in.cap - s->in.len, 0);
		if (n > 0)
			s->in.len += (size_t)n;
	}
	if (n == 0) {
		session_destroy(s);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		session_destroy(s);
		return;
	}
	session_process(s);
}

/* ---- deadlock detector and admin view ---------------------------------- */

Session *
session_first(Server *srv)
{
	return srv->sessions;
}

Session *
session_next(Session *s)
{
	return s->next;
}

uint64_t
session_busy_since(const Session *s)
{
	return s->dead ? 0 : s->busy_since;
}

uint32_t
session_pid(const Session *s)
{
	return s->pid;
}

bool
session_owns_backend(Session *s, int32_t node_id, int32_t pid)
{
	if (s->dead || s->user == NULL || s->state == SESS_STARTUP || s->state == SESS_AUTH_SASL ||
	    s->state == SESS_AUTH_SASL_CONT)
		return false;
	Participant *p = txn_find(&s->txn, node_id);
	return p != NULL && node_backend_pid(p->conn) == pid;
}

void
session_deadlock_victim(Session *s)
{
	sg_log_info(s->actor, "distributed deadlock: cancelling this session's statement");
	if (s->exec != NULL)
		exec_cancel_deadlock(s->exec);
}
