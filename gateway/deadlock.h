#ifndef SG_GATEWAY_DEADLOCK_H
#define SG_GATEWAY_DEADLOCK_H

#include "gateway/server.h"

/*
 * deadlock: the distributed deadlock detector. Each node detects its own
 * local cycles; a cycle that crosses nodes (session A waits for B on node 1,
 * B waits for A on node 2) is invisible to every node. Every
 * deadlock_check_ms, when a statement has been running longer than that, the
 * gateway collects the nodes' lock waits in a worker, maps the backend pids
 * to its own sessions, and cancels the youngest statement of any cycle with
 * 40P01. Only sessions of this gateway are seen (a cycle through two
 * gateways is not found yet).
 */
void deadlock_start(Server *srv);
void deadlock_stop(Server *srv);

#endif /* SG_GATEWAY_DEADLOCK_H */
