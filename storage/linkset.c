/*
 * linkset.c: kept blocking connections by node address (see linkset.h).
 * A few nodes per gateway: a list.
 */
#include "storage/linkset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

typedef struct Link {
	struct Link *next;
	char *host;
	int port;
	PGconn *conn;
} Link;

struct LinkSet {
	Link *links;
};

LinkSet *
linkset_create(void)
{
	LinkSet *ls = calloc(1, sizeof(LinkSet));
	if (ls == NULL)
		abort();
	return ls;
}

void
linkset_destroy(LinkSet *ls)
{
	if (ls == NULL)
		return;
	while (ls->links != NULL) {
		Link *l = ls->links;
		ls->links = l->next;
		PQfinish(l->conn);
		free(l->host);
		free(l);
	}
	free(ls);
}

static Link *
find(LinkSet *ls, const char *host, int port)
{
	for (Link *l = ls->links; l != NULL; l = l->next)
		if (l->port == port && strcmp(l->host, host) == 0)
			return l;
	return NULL;
}

PGconn *
linkset_take(LinkSet *ls, const char *host, int port)
{
	Link *l = ls == NULL ? NULL : find(ls, host, port);
	if (l == NULL || l->conn == NULL)
		return NULL;
	PGconn *conn = l->conn;
	l->conn = NULL;
	PGresult *res = PQexec(conn, "");
	bool ok = PQresultStatus(res) == PGRES_EMPTY_QUERY;
	PQclear(res);
	if (!ok) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

void
linkset_put(LinkSet *ls, const char *host, int port, PGconn *conn)
{
	if (conn == NULL)
		return;
	if (ls == NULL || PQstatus(conn) != CONNECTION_OK ||
	    PQtransactionStatus(conn) != PQTRANS_IDLE) {
		PQfinish(conn);
		return;
	}
	Link *l = find(ls, host, port);
	if (l == NULL) {
		l = calloc(1, sizeof(Link));
		if (l == NULL || (l->host = strdup(host)) == NULL)
			abort();
		l->port = port;
		l->next = ls->links;
		ls->links = l;
	}
	PQfinish(l->conn); /* two connections to one address in one run: keep the last */
	l->conn = conn;
}
