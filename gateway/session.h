#ifndef SG_GATEWAY_SESSION_H
#define SG_GATEWAY_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/server.h"

/*
 * Session: one client connection and its state machine (start-up,
 * authentication, simple query flow). See session.c.
 */

/* session_accept takes ownership of a connected, non-blocking client socket */
void session_accept(Server *srv, int fd);
/* session_close_all: shutting down; closes every session of the server */
void session_close_all(Server *srv);

/* iteration over the server's sessions (for the deadlock detector and the admin view) */
Session *session_first(Server *srv);
Session *session_next(Session *s);
/* session_busy_since: loop_now_us() when the running statement started, 0 when idle */
uint64_t session_busy_since(const Session *s);
/* session_owns_backend: s holds the connection served by node's backend pid */
bool session_owns_backend(Session *s, int32_t node_id, int32_t pid);
/* session_deadlock_victim: cancel the running statement with 40P01 */
void session_deadlock_victim(Session *s);
uint32_t session_pid(const Session *s);

#endif /* SG_GATEWAY_SESSION_H */
