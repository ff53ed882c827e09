/*
 * copyrun.c: COPY ... FROM STDIN through the gateway.
 *
 * Stream mode (local and reference tables): each dest node gets the client's
 * statement, then every CopyData as it arrives, then CopyDone (or CopyFail).
 * Bytes that arrive before a node's connection is ready wait in its
 * `pending` buffer.
 *
 * Split mode (distributed tables): a CopySplitter cuts the stream into rows
 * and finds each row's key; the row's bytes go to its shard's buffer. A node
 * is flushed when its shards hold FLUSH_BYTES (or at the end): one write
 * carrying, per shard with rows, `COPY <shard table> FROM STDIN` + CopyData
 * + CopyDone, pipelined (PostgreSQL reads CopyData after the COPY statement
 * from the same stream; if the statement fails, it ignores them). One flush
 * per node is in flight at a time; above LIMIT_BYTES buffered the session
 * stops reading the client until resume().
 *
 * All of it runs inside the session's transaction (an implicit one when the
 * client has none), so a bad row anywhere leaves nothing behind.
 */
#include "gateway/copyrun.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/proto.h"
#include "gateway/copyin.h"
#include "storage/pghash.h"
#include "storage/shardmap.h"

#define FLUSH_BYTES (256u * 1024u)
#define LIMIT_BYTES (8u * 1024u * 1024u)

typedef struct NodeCopy {
	CopyRun *r;
	int32_t node_id;
	Participant *p;
	bool acquiring;
	bool ready;
	bool dead;
	int inflight;    /* ReadyForQuery replies outstanding */
	Buf pending;     /* stream mode: bytes received before the connection was ready */
	size_t buffered; /* split mode: bytes waiting in this node's shard buffers */
	bool stream_open;
	bool stream_closed;
} NodeCopy;

struct CopyRun {
	const CopyPlan *plan;
	int32_t rows_from_node;
	const CatalogSnapshot *snap;
	Txn *txn;
	CopyRunCallbacks cb;
	NodeCopy *nodes;
	int nnodes;
	int *dest_node; /* [ndests]: index into nodes */
	Buf *dest_rows; /* split: [ndests] */
	CopySplitter *splitter;
	bool ending;
	bool input_done; /* split: END marker or error: ignore further data */
	bool has_err;
	SgError err;
	SgError fail;
	bool has_fail;
	uint64_t rows;
	size_t total;
	bool full;
	bool finished;
	int in_api; /* inside a copyrun_* call: completion waits for its end */
};

static void node_step(NodeCopy *nc);
static void run_check_complete(CopyRun *r);

static void
run_error(CopyRun *r, const SgError *err)
{
	if (!r->has_err) {
		r->err = *err;
		r->has_err = true;
	}
}

static void
run_free(CopyRun *r)
{
	for (int i = 0; i < r->nnodes; i++)
		buf_free(&r->nodes[i].pending);
	if (r->dest_rows != NULL)
		for (int i = 0; i < r->plan->ndests; i++)
			buf_free(&r->dest_rows[i]);
	free(r->dest_rows);
	free(r->dest_node);
	free(r->nodes);
	if (r->splitter != NULL)
		copyin_destroy(r->splitter);
	free(r);
}

static void
run_check_complete(CopyRun *r)
{
	if (!r->ending || r->finished || r->in_api > 0)
		return;
	for (int i = 0; i < r->nnodes; i++) {
		NodeCopy *nc = &r->nodes[i];
		if (nc->dead)
			continue;
		if (nc->acquiring || nc->inflight > 0)
			return;
		if (r->plan->split && nc->buffered > 0 && !r->has_err)
			return;
		if (!r->plan->split && nc->stream_open && !nc->stream_closed)
			return;
	}
	r->finished = true;
	CopyRunCallbacks cb = r->cb;
	SgError err = r->err;
	bool has_err = r->has_err;
	uint64_t rows = r->rows;
	run_free(r);
	cb.done(cb.arg, has_err ? &err : NULL, rows);
}

/* ---- node replies ------------------------------------------------------ */

static void
nc_on_message(NodeConn *c, char type, const char *body, size_t len, void *arg)
{
	NodeCopy *nc = arg;
	CopyRun *r = nc->r;
	SgError err;
	switch (type) {
	case PQ_MSG_ERROR:
		if (!proto_read_error_fields(body, len, &err))
			sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "malformed error from node");
		run_error(r, &err);
		return;
	case PQ_MSG_COMMAND_COMPLETE: {
		const char *tag;
		uint64_t n;
		/* only the COPYs count: the prelude's set_config() calls answer "SELECT 1" */
		if ((r->rows_from_node == 0 || r->rows_from_node == nc->node_id) &&
		    proto_read_command_tag(body, len, &tag) && strncmp(tag, "COPY ", 5) == 0 &&
		    proto_tag_count(tag, &n))
			r->rows += n;
		return;
	}
	case PQ_MSG_READY:
		if (node_state(c) == NODE_IDLE) {
			nc->inflight = 0;
			node_set_handler(c, NULL);
			node_step(nc);
			run_check_complete(r);
		}
		return;
	default:
		return;
	}
}

static void
nc_on_lost(NodeConn *c, const SgError *err, void *arg)
{
	NodeCopy *nc = arg;
	(void)c;
	run_error(nc->r, err);
	txn_mark_broken(nc->r->txn, nc->p);
	nc->dead = true;
	nc->inflight = 0;
	run_check_complete(nc->r);
}

static void
nc_send(NodeCopy *nc, const Buf *b, int expect)
{
	NodeHandler h = {nc_on_message, nc_on_lost, nc};
	node_set_handler(nc->p->conn, &h);
	nc->inflight += expect;
	node_send(nc->p->conn, buf_head(b), buf_avail(b), expect);
}

/* ---- stream mode -------------------------------------------------------- */

static void
stream_send_end(NodeCopy *nc)
{
	CopyRun *r = nc->r;
	Buf b;
	buf_init(&b);
	if (r->has_fail)
		proto_write_message(&b, PQ_MSG_COPY_FAIL, r->fail.message, strlen(r->fail.message) + 1);
	else
		proto_write_message(&b, PQ_MSG_COPY_DONE, NULL, 0);
	nc_send(nc, &b, 0);
	buf_free(&b);
	nc->stream_closed = true;
}

static void
stream_open(NodeCopy *nc)
{
	CopyRun *r = nc->r;
	Buf b;
	buf_init(&b);
	int expect = txn_write_prelude(r->txn, nc->p, &b);
	for (int i = 0; i < r->plan->ndests; i++)
		if (r->plan->dests[i].node_id == nc->node_id)
			proto_write_query(&b, r->plan->dests[i].sql);
	expect++;
	if (buf_avail(&nc->pending) > 0)
		proto_write_message(&b, PQ_MSG_COPY_DATA, buf_head(&nc->pending), buf_avail(&nc->pending));
	buf_free(&nc->pending);
	nc->p->wrote = true;
	nc->stream_open = true;
	nc_send(nc, &b, expect);
	buf_free(&b);
	if (r->ending)
		stream_send_end(nc);
}

/* ---- split mode ---------------------------------------------------------- */

static void
split_flush(NodeCopy *nc)
{
	CopyRun *r = nc->r;
	const CopyPlan *cp = r->plan;
	Buf b;
	buf_init(&b);
	int expect = txn_write_prelude(r->txn, nc->p, &b);
	size_t hlen = 0;
	const char *header = copyin_binary_header(&hlen);
	static const char trailer[2] = {'\377', '\377'};
	for (int i = 0; i < cp->ndests; i++) {
		Buf *rows = &r->dest_rows[i];
		if (r->dest_node[i] != nc - r->nodes || buf_avail(rows) == 0)
			continue;
		proto_write_query(&b, cp->dests[i].sql);
		if (cp->format == COPYPLAN_BINARY)
			proto_write_message(&b, PQ_MSG_COPY_DATA, header, hlen);
		proto_write_message(&b, PQ_MSG_COPY_DATA, buf_head(rows), buf_avail(rows));
		if (cp->format == COPYPLAN_BINARY)
			proto_write_message(&b, PQ_MSG_COPY_DATA, trailer, sizeof(trailer));
		proto_write_message(&b, PQ_MSG_COPY_DONE, NULL, 0);
		expect++;
		r->total -= buf_avail(rows);
		buf_free(rows);
	}
	nc->buffered = 0;
	nc->p->wrote = true;
	nc_send(nc, &b, expect);
	buf_free(&b);
	if (r->full && r->total < LIMIT_BYTES / 2) {
		r->full = false;
		if (r->cb.resume != NULL)
			r->cb.resume(r->cb.arg);
	}
}

static void nc_acquire(NodeCopy *nc);

/* node_step: what a ready, idle node does next */
static void
node_step(NodeCopy *nc)
{
	CopyRun *r = nc->r;
	if (nc->dead || nc->inflight > 0)
		return;
	if (!nc->ready) {
		bool wanted = !r->plan->split || (nc->buffered > 0 && !r->has_err &&
		                                  (r->ending || nc->buffered >= FLUSH_BYTES));
		if (!nc->acquiring && wanted)
			nc_acquire(nc);
		return;
	}
	if (r->plan->split) {
		if (!r->has_err && nc->buffered > 0 && (r->ending || nc->buffered >= FLUSH_BYTES))
			split_flush(nc);
		return;
	}
	if (!nc->stream_open)
		stream_open(nc);
}

static void
nc_on_participant(Participant *p, const SgError *err, void *arg)
{
	NodeCopy *nc = arg;
	nc->acquiring = false;
	nc->p = p;
	if (err != NULL) {
		run_error(nc->r, err);
		nc->dead = true;
		run_check_complete(nc->r);
		return;
	}
	nc->ready = true;
	node_step(nc);
	run_check_complete(nc->r);
}

static void
nc_acquire(NodeCopy *nc)
{
	const CatNode *node = catalog_find_node(nc->r->snap, nc->node_id);
	if (node == NULL) {
		SgError err;
		sg_error_set(&err, SQLSTATE_INTERNAL_ERROR, "node %d is not in the catalog", nc->node_id);
		run_error(nc->r, &err);
		nc->dead = true;
		return;
	}
	nc->acquiring = true;
	txn_participant(nc->r->txn, node->id, node->host, node->port, nc_on_participant, nc);
}

static void
split_route(CopyRun *r, const char *row, size_t len, const char *key, size_t klen, bool is_null)
{
	const CopyPlan *cp = r->plan;
	int32_t shard;
	if (is_null) {
		shard = shardmap_null_shard_index();
	} else {
		uint64_t h;
		SgError err;
		bool ok = cp->format == COPYPLAN_BINARY
		              ? pghash_binary_value(cp->key_type, key, klen, &h, &err)
		              : pghash_text_value(cp->key_type, key, &h, &err);
		if (!ok) {
			run_error(r, &err);
			r->input_done = true;
			return;
		}
		shard = shardmap_shard_index(h, cp->shard_count);
	}
	buf_append(&r->dest_rows[shard], row, len);
	NodeCopy *nc = &r->nodes[r->dest_node[shard]];
	nc->buffered += len;
	r->total += len;
	if (r->total >= LIMIT_BYTES)
		r->full = true;
	if (nc->buffered >= FLUSH_BYTES)
		node_step(nc);
}

static void
split_drain(CopyRun *r)
{
	for (;;) {
		const char *row, *key;
		size_t len, klen;
		bool is_null;
		SgError err;
		CopyNext n = copyin_next(r->splitter, &row, &len, &key, &klen, &is_null, &err);
		if (n == COPYIN_NEED_MORE)
			return;
		if (n == COPYIN_END) {
			r->input_done = true;
			return;
		}
		if (n == COPYIN_ERROR) {
			run_error(r, &err);
			r->input_done = true;
			return;
		}
		split_route(r, row, len, key, klen, is_null);
		if (r->input_done)
			return;
	}
}

/* ---- API ---------------------------------------------------------------- */

CopyRun *
copyrun_start(const CopyPlan *plan, int32_t rows_from_node, const CatalogSnapshot *snap, Txn *txn,
              const CopyRunCallbacks *cb)
{
	CopyRun *r = calloc(1, sizeof(CopyRun));
	if (r == NULL)
		abort();
	r->plan = plan;
	r->rows_from_node = rows_from_node;
	r->snap = snap;
	r->txn = txn;
	r->cb = *cb;
	r->nodes = calloc((size_t)plan->ndests + 1, sizeof(NodeCopy));
	r->dest_node = calloc((size_t)plan->ndests + 1, sizeof(int));
	if (r->nodes == NULL || r->dest_node == NULL)
		abort();
	for (int i = 0; i < plan->ndests; i++) {
		int k;
		for (k = 0; k < r->nnodes; k++)
			if (r->nodes[k].node_id == plan->dests[i].node_id)
				break;
		if (k == r->nnodes) {
			NodeCopy *nc = &r->nodes[r->nnodes++];
			nc->r = r;
			nc->node_id = plan->dests[i].node_id;
			buf_init(&nc->pending);
		}
		r->dest_node[i] = k;
	}
	if (plan->split) {
		r->dest_rows = calloc((size_t)plan->ndests, sizeof(Buf));
		if (r->dest_rows == NULL)
			abort();
		CopyOptions o;
		copyin_options_default(&o, plan->format == COPYPLAN_BINARY ? COPY_FMT_BINARY
		                           : plan->format == COPYPLAN_CSV  ? COPY_FMT_CSV
		                                                           : COPY_FMT_TEXT);
		o.delimiter = plan->delimiter;
		o.null_string = plan->null_string;
		o.header = plan->header;
		o.quote = plan->quote;
		o.escape = plan->escape;
		o.ncolumns = plan->ncolumns;
		o.key_column = plan->key_column;
		o.column_names = plan->columns;
		o.key_force_not_null = plan->key_force_not_null;
		o.key_force_null = plan->key_force_null;
		SgError err;
		if (!copyin_options_check(&o, &err)) {
			run_error(r, &err);
			r->input_done = true;
		}
		r->splitter = copyin_create(&o);
	} else {
		/* stream mode: open every dest now so the nodes check the statement early */
		r->in_api++;
		for (int k = 0; k < r->nnodes; k++)
			nc_acquire(&r->nodes[k]);
		r->in_api--;
	}
	return r;
}

void
copyrun_data(CopyRun *r, const char *data, size_t len)
{
	if (r->ending)
		return;
	if (!r->plan->split) {
		for (int k = 0; k < r->nnodes; k++) {
			NodeCopy *nc = &r->nodes[k];
			if (nc->dead)
				continue;
			if (!nc->stream_open) {
				buf_append(&nc->pending, data, len);
				continue;
			}
			Buf b;
			buf_init(&b);
			proto_write_message(&b, PQ_MSG_COPY_DATA, data, len);
			node_send(nc->p->conn, buf_head(&b), buf_avail(&b), 0);
			buf_free(&b);
		}
		return;
	}
	if (r->input_done || r->has_err)
		return;
	r->in_api++;
	copyin_feed(r->splitter, data, len);
	split_drain(r);
	r->in_api--;
}

void
copyrun_end(CopyRun *r, const SgError *fail)
{
	if (r->ending)
		return;
	if (fail != NULL) {
		r->fail = *fail;
		r->has_fail = true;
		run_error(r, fail);
	} else if (r->plan->split && !r->input_done && !r->has_err) {
		copyin_finish(r->splitter);
		split_drain(r);
	}
	r->ending = true;
	r->in_api++;
	for (int k = 0; k < r->nnodes; k++) {
		NodeCopy *nc = &r->nodes[k];
		if (nc->dead)
			continue;
		if (!r->plan->split && nc->stream_open && !nc->stream_closed)
			stream_send_end(nc);
		else
			node_step(nc);
	}
	r->in_api--;
	run_check_complete(r);
}

bool
copyrun_is_full(const CopyRun *r)
{
	return r->full;
}

void
copyrun_abandon(CopyRun *r)
{
	for (int k = 0; k < r->nnodes; k++) {
		NodeCopy *nc = &r->nodes[k];
		if (nc->p != NULL && nc->p->conn != NULL && !nc->dead) {
			node_set_handler(nc->p->conn, NULL);
			txn_mark_broken(r->txn, nc->p);
		}
	}
	run_free(r);
}
