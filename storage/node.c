/*
 * node.c: NodeConn, one non-blocking connection to a storage node.
 *
 * States: NODE_CONNECTING (libpq's PQconnectPoll drives the start-up on
 * watches of its socket) -> NODE_IDLE <-> NODE_BUSY -> NODE_BROKEN.
 * After start-up the socket is ours: frontend messages are written from
 * `out`, backend messages are framed from `in` and handed to the handler one
 * by one; ReadyForQuery counts down `pending_ready`. libpq stays attached
 * only for PQgetCancel and PQfinish. This is the only file that includes
 * libpq-fe.h besides the blocking admin code (catalog.c, admin.c).
 */
#include "storage/node.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/proto.h"

#define NODE_READ_CHUNK 65536
#define NODE_MAX_MESSAGE (1024u * 1024u * 1024u)

struct NodeConn {
	Loop *loop;
	int32_t node_id;
	NodeState state;
	PGconn *pg;
	int fd;
	Watch *watch;
	NodeReadyFn ready;
	void *ready_arg;
	Timer *kick; /* first connect poll runs from the loop, never inside node_connect */
	NodeHandler handler;
	Buf in;
	Buf out;
	int pending_ready;
	char txn_status;
	bool paused;
	bool in_dispatch;
	bool destroy_pending;
	void (*drained)(NodeConn *c, void *arg); /* node_on_drained */
	void *drained_arg;
	void *owner;
	uint64_t tag;
	char actor[32];
	/* statements the gateway prepared here: a ring of keys and names */
	uint64_t prep_keys[NODE_PREPARED_MAX];
	char prep_names[NODE_PREPARED_MAX][16];
	int nprep;
	int prep_next;
	uint32_t prep_counter;
};

const char *
node_state_name(NodeState s)
{
	switch (s) {
	case NODE_CONNECTING:
		return "connecting";
	case NODE_IDLE:
		return "idle";
	case NODE_BUSY:
		return "busy";
	case NODE_BROKEN:
		return "broken";
	}
	return "?";
}

static void
node_set_state(NodeConn *c, NodeState next)
{
	sg_log_debug(c->actor, "%s -> %s", node_state_name(c->state), node_state_name(next));
	c->state = next;
}

static void node_on_socket(int fd, short events, void *arg);

static void
node_update_watch(NodeConn *c)
{
	if (c->state == NODE_BROKEN || c->watch == NULL)
		return;
	short ev = 0;
	if (!c->paused)
		ev |= LOOP_READ;
	if (buf_avail(&c->out) > 0)
		ev |= LOOP_WRITE;
	watch_set(c->watch, ev);
}

/* node_break: the connection is unusable; tell the handler if a request was in flight */
static void
node_break(NodeConn *c, const char *why)
{
	if (c->state == NODE_BROKEN)
		return;
	bool was_busy = c->state == NODE_BUSY;
	bool was_connecting = c->state == NODE_CONNECTING;
	node_set_state(c, NODE_BROKEN);
	if (c->watch != NULL)
		watch_set(c->watch, 0);
	SgError err;
	sg_error_set(&err, SQLSTATE_CONNECTION_FAILURE, "connection to node %d failed: %s", c->node_id,
	             why);
	sg_log_warning(c->actor, "%s", err.message);
	if (was_connecting && c->ready != NULL)
		c->ready(c, &err, c->ready_arg);
	else if (was_busy && c->handler.lost != NULL)
		c->handler.lost(c, &err, c->handler.arg);
}

static void
node_connected(NodeConn *c)
{
	c->fd = PQsocket(c->pg);
	watch_destroy(c->watch);
	c->watch = watch_create(c->loop, c->fd, node_on_socket, c);
	c->txn_status = PQ_TXN_IDLE;
	node_set_state(c, NODE_IDLE);
	node_update_watch(c);
	c->ready(c, NULL, c->ready_arg);
}

static void
node_poll_connect(NodeConn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->pg);
	int fd = PQsocket(c->pg);
	if (st == PGRES_POLLING_FAILED || fd < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c->pg));
		msg[strcspn(msg, "\n")] = '\0';
		node_break(c, msg);
		return;
	}
	if (st == PGRES_POLLING_OK) {
		node_connected(c);
		return;
	}
	if (c->watch == NULL || fd != c->fd) {
		watch_destroy(c->watch);
		c->fd = fd;
		c->watch = watch_create(c->loop, fd, node_on_socket, c);
	}
	watch_set(c->watch, st == PGRES_POLLING_READING ? LOOP_READ : LOOP_WRITE);
}

static void
node_on_kick(void *arg)
{
	NodeConn *c = arg;
	if (c->state == NODE_CONNECTING)
		node_poll_connect(c);
}

NodeConn *
node_connect(Loop *loop, int32_t id, const char *conninfo, NodeReadyFn ready, void *arg)
{
	NodeConn *c = calloc(1, sizeof(NodeConn));
	if (c == NULL)
		abort();
	c->loop = loop;
	c->node_id = id;
	c->fd = -1;
	c->ready = ready;
	c->ready_arg = arg;
	c->state = NODE_CONNECTING;
	snprintf(c->actor, sizeof(c->actor), "node %d", id);
	buf_init(&c->in);
	buf_init(&c->out);
	const char *keys[] = {"dbname", "sslmode", "gssencmode", "application_name", NULL};
	const char *vals[] = {conninfo, "disable", "disable", "shardgate", NULL};
	c->pg = PQconnectStartParams(keys, vals, 1);
	c->kick = loop_timer_create(loop, node_on_kick, c);
	if (c->pg == NULL)
		abort();
	loop_timer_start(c->kick, 0);
	return c;
}

/* node_dispatch: hand every whole message in `in` to the handler */
static void
node_dispatch(NodeConn *c)
{
	c->in_dispatch = true;
	while (!c->paused && c->state != NODE_BROKEN && !c->destroy_pending) {
		char type;
		size_t total;
		SgError err;
		FrameResult fr =
		    proto_frame(buf_head(&c->in), buf_avail(&c->in), NODE_MAX_MESSAGE, &type, &total, &err);
		if (fr == FRAME_NEED_MORE)
			break;
		if (fr == FRAME_ERROR) {
			node_break(c, "invalid message from node");
			break;
		}
		const char *body = buf_head(&c->in) + 5;
		size_t len = total - 5;
		bool ends_request = false;
		if (type == PQ_MSG_READY && len >= 1) {
			c->txn_status = body[0];
			if (c->pending_ready > 0 && --c->pending_ready == 0) {
				node_set_state(c, NODE_IDLE);
				ends_request = true;
			}
		}
		if (c->handler.message != NULL &&
		    (c->state == NODE_BUSY || ends_request || type == PQ_MSG_NOTIFICATION))
			c->handler.message(c, type, body, len, c->handler.arg);
		if (!c->destroy_pending)
			buf_consume(&c->in, total);
	}
	c->in_dispatch = false;
	if (c->destroy_pending)
		node_destroy(c);
	else if (c->state != NODE_BROKEN)
		buf_release_if_large(&c->in, 1u << 20);
}

/* node_write_some: write what the socket takes; 0 or the errno that broke it */
static int
node_write_some(NodeConn *c)
{
	while (buf_avail(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_head(&c->out), buf_avail(&c->out), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n < 0 ? errno : EPIPE;
	}
	return 0;
}

static void
node_on_socket(int fd, short events, void *arg)
{
	NodeConn *c = arg;
	(void)fd;
	if (c->state == NODE_CONNECTING) {
		node_poll_connect(c);
		return;
	}
	if (events & LOOP_WRITE) {
		int e = node_write_some(c);
		if (e != 0) {
			node_break(c, strerror(e));
			return;
		}
		node_update_watch(c);
		if (buf_avail(&c->out) == 0 && c->drained != NULL) {
			void (*fn)(NodeConn *, void *) = c->drained;
			void *drained_arg = c->drained_arg;
			c->drained = NULL;
			c->drained_arg = NULL;
			c->in_dispatch = true; /* a node_destroy from fn waits for us */
			fn(c, drained_arg);
			c->in_dispatch = false;
			if (c->destroy_pending) {
				node_destroy(c);
				return;
			}
		}
	}
	if ((events & LOOP_READ) && !c->paused) {
		buf_reserve(&c->in, NODE_READ_CHUNK);
		ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
		if (n == 0) {
			node_break(c, "server closed the connection unexpectedly");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			node_break(c, strerror(errno));
			return;
		}
		c->in.len += (size_t)n;
		node_dispatch(c);
	}
}

void
node_destroy(NodeConn *c)
{
	if (c == NULL)
		return;
	if (c->in_dispatch) {
		c->destroy_pending = true;
		return;
	}
	loop_timer_destroy(c->kick);
	watch_destroy(c->watch);
	if (c->pg != NULL)
		PQfinish(c->pg); /* sends Terminate if the connection is still up */
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

NodeState
node_state(const NodeConn *c)
{
	return c->state;
}

int32_t
node_id(const NodeConn *c)
{
	return c->node_id;
}

char
node_txn_status(const NodeConn *c)
{
	return c->txn_status;
}

const char *
node_parameter(const NodeConn *c, const char *name)
{
	return c->pg != NULL ? PQparameterStatus(c->pg, name) : NULL;
}

void
node_set_handler(NodeConn *c, const NodeHandler *h)
{
	if (h == NULL)
		memset(&c->handler, 0, sizeof(c->handler));
	else
		c->handler = *h;
}

Buf *
node_request_buf(NodeConn *c)
{
	SG_ASSERT(c->state == NODE_IDLE || c->state == NODE_BUSY);
	return &c->out;
}

void
node_request_send(NodeConn *c, int expect_ready)
{
	SG_ASSERT(c->state == NODE_IDLE || c->state == NODE_BUSY);
	c->pending_ready += expect_ready;
	if (c->pending_ready > 0)
		node_set_state(c, NODE_BUSY);
	/* write right away (most requests fit the socket buffer); a failure is
	 * found again, and reported, by the write watch on the next loop turn */
	(void)node_write_some(c);
	node_update_watch(c);
}

void
node_send(NodeConn *c, const char *data, size_t len, int expect_ready)
{
	buf_append(node_request_buf(c), data, len);
	node_request_send(c, expect_ready);
}

size_t
node_out_pending(const NodeConn *c)
{
	return buf_avail(&c->out);
}

void
node_on_drained(NodeConn *c, void (*fn)(NodeConn *c, void *arg), void *arg)
{
	c->drained = fn;
	c->drained_arg = arg;
}

void
node_pause(NodeConn *c, bool paused)
{
	if (c->paused == paused)
		return;
	c->paused = paused;
	if (c->state == NODE_BROKEN)
		return;
	node_update_watch(c);
	if (!paused && !c->in_dispatch && buf_avail(&c->in) > 0)
		node_dispatch(c);
}

typedef struct CancelJob {
	PGcancel *cancel;
	int32_t node_id;
} CancelJob;

static void
node_cancel_work(void *arg)
{
	CancelJob *job = arg;
	char errbuf[256];
	if (!PQcancel(job->cancel, errbuf, sizeof(errbuf)))
		sg_log_warning(NULL, "cancel request to node %d failed: %s", job->node_id, errbuf);
}

static void
node_cancel_done(void *arg)
{
	CancelJob *job = arg;
	PQfreeCancel(job->cancel);
	free(job);
}

void
node_cancel(NodeConn *c)
{
	if (c->pg == NULL || c->state != NODE_BUSY)
		return;
	CancelJob *job = calloc(1, sizeof(CancelJob));
	if (job == NULL)
		abort();
	job->cancel = PQgetCancel(c->pg);
	job->node_id = c->node_id;
	if (job->cancel == NULL) {
		free(job);
		return;
	}
	loop_run_in_worker(c->loop, node_cancel_work, node_cancel_done, job);
}

bool
node_can_detach(const NodeConn *c)
{
	return c->state == NODE_IDLE && buf_avail(&c->out) == 0 && !c->in_dispatch &&
	       !c->destroy_pending && c->drained == NULL;
}

void
node_detach(NodeConn *c)
{
	SG_ASSERT(node_can_detach(c));
	loop_timer_destroy(c->kick); /* used only while connecting */
	c->kick = NULL;
	watch_destroy(c->watch);
	c->watch = NULL;
	c->loop = NULL;
	c->handler = (NodeHandler){0};
}

void
node_attach(NodeConn *c, Loop *loop)
{
	SG_ASSERT(c->loop == NULL);
	c->loop = loop;
	c->watch = watch_create(loop, c->fd, node_on_socket, c);
	node_update_watch(c);
}

void *
node_owner(const NodeConn *c)
{
	return c->owner;
}

void
node_set_owner(NodeConn *c, void *owner)
{
	c->owner = owner;
}

bool
node_probe_parameters(const char *conninfo, const char *const *names, int n, char (*values)[64],
                      SgError *err)
{
	PGconn *pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		char msg[256];
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
		msg[strcspn(msg, "\n")] = '\0';
		PQfinish(pg);
		return sg_error_set(err, SQLSTATE_CONNECTION_FAILURE,
		                    "could not connect to the metadata node: %s", msg);
	}
	for (int i = 0; i < n; i++) {
		const char *v = PQparameterStatus(pg, names[i]);
		snprintf(values[i], 64, "%s", v != NULL ? v : "");
	}
	PQfinish(pg);
	return true;
}

uint64_t
node_tag(const NodeConn *c)
{
	return c->tag;
}

void
node_set_tag(NodeConn *c, uint64_t tag)
{
	c->tag = tag;
}

int32_t
node_backend_pid(const NodeConn *c)
{
	return c->pg != NULL && c->state != NODE_CONNECTING ? PQbackendPID(c->pg) : 0;
}

const char *
node_prepared_name(const NodeConn *c, uint64_t key)
{
	for (int i = 0; i < c->nprep; i++)
		if (c->prep_keys[i] == key)
			return c->prep_names[i];
	return NULL;
}

void
node_prepared_add(NodeConn *c, uint64_t key, char *name_out, size_t cap, char *evicted, size_t ecap)
{
	int slot;
	evicted[0] = '\0';
	if (c->nprep < NODE_PREPARED_MAX) {
		slot = c->nprep++;
	} else {
		slot = c->prep_next;
		c->prep_next = (c->prep_next + 1) % NODE_PREPARED_MAX;
		snprintf(evicted, ecap, "%s", c->prep_names[slot]);
	}
	c->prep_keys[slot] = key;
	snprintf(c->prep_names[slot], sizeof(c->prep_names[slot]), "sg_p%u", ++c->prep_counter);
	snprintf(name_out, cap, "%s", c->prep_names[slot]);
}

void
node_prepared_clear(NodeConn *c)
{
	c->nprep = 0;
	c->prep_next = 0;
}

void
node_prepared_forget(NodeConn *c, uint64_t key)
{
	for (int i = 0; i < c->nprep; i++)
		if (c->prep_keys[i] == key)
			c->prep_keys[i] = 0; /* the name stays taken; key 0 never matches a statement */
}
