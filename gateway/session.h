#ifndef SG_GATEWAY_SESSION_H
#define SG_GATEWAY_SESSION_H

#include "gateway/server.h"

/*
 * Session: one client connection and its state machine (start-up,
 * authentication, simple query flow). See session.c.
 */

/* session_accept takes ownership of a connected, non-blocking client socket */
void session_accept(Server *srv, int fd);
/* session_close_all: shutting down; closes every session of the server */
void session_close_all(Server *srv);

#endif /* SG_GATEWAY_SESSION_H */
