#ifndef SG_STORAGE_NODE_H
#define SG_STORAGE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/loop.h"

/*
 * NodeConn: one non-blocking connection to a storage node.
 *
 * libpq does the connection start-up (so every authentication method a node
 * may ask for works); once the connection is ready the gateway speaks the
 * protocol on the socket itself, so a node's reply can be relayed to a client
 * message by message without decoding rows. TLS to nodes is not used
 * (sslmode=disable is forced).
 *
 * A request is a batch of frontend messages (node_send) that ends in
 * `expect_ready` ReadyForQuery messages; every backend message of the
 * request, ReadyForQuery included, goes to the handler. The connection is
 * NODE_BUSY from node_send until the last expected ReadyForQuery.
 */

typedef struct NodeConn NodeConn;

typedef enum NodeState {
	/* start-up */
	NODE_CONNECTING,
	/* usable */
	NODE_IDLE, /* no request in flight */
	NODE_BUSY, /* waiting for ReadyForQuery */
	/* dead */
	NODE_BROKEN
} NodeState;

/* connect finished: err NULL on success; on failure the conn is NODE_BROKEN */
typedef void (*NodeReadyFn)(NodeConn *c, const SgError *err, void *arg);

typedef struct NodeHandler {
	/* each backend message of the current request (type, body after the length) */
	void (*message)(NodeConn *c, char type, const char *body, size_t len, void *arg);
	/* the connection broke while a request was in flight (08006, message says why) */
	void (*lost)(NodeConn *c, const SgError *err, void *arg);
	void *arg;
} NodeHandler;

/*
 * node_connect starts connecting with the libpq conninfo; ready() runs later
 * on the loop (never before this returns). node_id is a tag for logs.
 */
NodeConn *node_connect(Loop *loop, int32_t node_id, const char *conninfo, NodeReadyFn ready,
                       void *arg);
/* node_destroy closes the connection (Terminate) and frees it; no callback runs after */
void node_destroy(NodeConn *c);

NodeState node_state(const NodeConn *c);
const char *node_state_name(NodeState s);
int32_t node_id(const NodeConn *c);
/* transaction status byte of the last ReadyForQuery ('I', 'T', 'E') */
char node_txn_status(const NodeConn *c);
/* a server parameter reported at start-up (server_version, TimeZone, ...); NULL if unknown */
const char *node_parameter(const NodeConn *c, const char *name);

void node_set_handler(NodeConn *c, const NodeHandler *h);
/*
 * node_send queues len bytes of frontend messages ending in expect_ready
 * ReadyForQuery replies (one per Query or Sync). Only on NODE_IDLE or
 * NODE_BUSY (appends to the pipeline).
 */
void node_send(NodeConn *c, const char *data, size_t len, int expect_ready);
/*
 * The same without a copy: append the messages to node_request_buf(c) (the
 * connection's own output buffer; write nothing else to c meanwhile), then
 * node_request_send(c, expect_ready).
 */
Buf *node_request_buf(NodeConn *c);
void node_request_send(NodeConn *c, int expect_ready);
/* node_pause: stop (true) or resume (false) reading replies: back-pressure */
void node_pause(NodeConn *c, bool paused);
/* node_out_pending: bytes queued by node_send that the socket has not taken yet */
size_t node_out_pending(const NodeConn *c);
/*
 * node_on_drained: fn(c, arg) runs once, from the loop, when everything
 * queued has been written (NULL fn: forget a registered one). Back-pressure
 * for a producer that sends to this connection faster than it takes it.
 */
void node_on_drained(NodeConn *c, void (*fn)(NodeConn *c, void *arg), void *arg);
/* node_cancel: send a CancelRequest for whatever runs on this connection (async) */
void node_cancel(NodeConn *c);

/*
 * node_probe_parameters: blocking (start-up only): connect with conninfo and
 * copy the server's reported values of the names[n] parameters into
 * values[n] (each cap bytes; "" when not reported).
 */
SG_MUSTCHECK bool node_probe_parameters(const char *conninfo, const char *const *names, int n,
                                        char (*values)[64], SgError *err);

/* node_backend_pid: the node's process id serving this connection (0 while connecting) */
int32_t node_backend_pid(const NodeConn *c);

/*
 * node_tag / node_set_tag: which session settings the connection carries
 * (a hash chosen by the caller; 0 = the server's defaults)
 */
uint64_t node_tag(const NodeConn *c);
void node_set_tag(NodeConn *c, uint64_t tag);

/*
 * Statements prepared on this connection by the gateway, by a caller-chosen
 * key (a hash of the statement text and parameter types), so that repeated
 * executions skip the node's parse and plan. node_prepared_name: the
 * statement's name if known, else NULL. node_prepared_add: remember it
 * (evicting the oldest when full: *evicted gets that name, to Close on the
 * node, else ""). node_prepared_clear: forget all (DISCARD ALL, DEALLOCATE).
 * Each shard is a statement of its own, so one prepared statement of the
 * client over a 32-shard table can take 32 entries: 64 held two, and pgbench's
 * TPC-B with -M prepared (5 statements, 32 shards each) sent 2.67 Parses per
 * transaction to the node; with 256, none once warm. Lookup is a scan of the
 * entries in use.
 */
#define NODE_PREPARED_MAX 256
const char *node_prepared_name(const NodeConn *c, uint64_t key);
void node_prepared_add(NodeConn *c, uint64_t key, char *name_out, size_t cap, char *evicted,
                       size_t ecap);
void node_prepared_clear(NodeConn *c);
/* node_prepared_forget: its Parse failed, the node does not have it */
void node_prepared_forget(NodeConn *c, uint64_t key);

/*
 * Moving an idle connection to another loop (the pools of two loops share a
 * limit): node_can_detach: it is idle, has nothing queued to write and no
 * callback of it is running; node_detach: take it off its loop (no watch,
 * nothing runs for it) so that another thread may node_attach it to its own
 * loop. Its session settings and prepared statements go along. node_destroy
 * works on a detached connection too.
 */
bool node_can_detach(const NodeConn *c);
void node_detach(NodeConn *c);
void node_attach(NodeConn *c, Loop *loop);

/* owner's slot: the pool keeps its bookkeeping here */
void *node_owner(const NodeConn *c);
void node_set_owner(NodeConn *c, void *owner);

#endif /* SG_STORAGE_NODE_H */
