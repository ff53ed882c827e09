#ifndef SG_STORAGE_LINKSET_H
#define SG_STORAGE_LINKSET_H

/* libpq's own typedef (repeating it is allowed), so includers need not have libpq's headers */
typedef struct pg_conn PGconn;

/*
 * LinkSet: blocking libpq connections to the nodes, kept between the runs of
 * a periodic job (the statistics refresh, 2PC recovery), one per node
 * address. Without it a job that runs every few seconds makes every node
 * start a backend each time, for each gateway.
 *
 * One job uses a set at a time (the set is the job's while it runs), so it
 * has no lock. A connection is the caller's between linkset_take and
 * linkset_put; connections to the same address must be opened with the same
 * login and options, since the set does not know them.
 */

typedef struct LinkSet LinkSet;

LinkSet *linkset_create(void);
/* linkset_destroy closes every kept connection */
void linkset_destroy(LinkSet *ls);
/*
 * linkset_take: the kept connection to host:port if it still answers (an
 * empty query: a node that restarted since has closed it), else NULL and
 * the caller connects
 */
PGconn *linkset_take(LinkSet *ls, const char *host, int port);
/* linkset_put: keep conn for host:port if it is usable and outside a transaction, else close it */
void linkset_put(LinkSet *ls, const char *host, int port, PGconn *conn);

#endif /* SG_STORAGE_LINKSET_H */
