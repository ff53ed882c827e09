#ifndef SG_GATEWAY_GATHER_H
#define SG_GATEWAY_GATHER_H

#include <stdint.h>

#include "gateway/server.h"

/*
 * Gather: an operator view whose rows live on every loop (sessions, pools).
 * gather_start posts view->collect to each loop, which reads only its own
 * state and adds rows (gather_add, any thread); when the last loop has
 * answered, done(g, arg) runs on the loop that started it, which reads the
 * rows, and the gather is freed after done returns.
 */

typedef struct Gather Gather;

typedef struct GatherView {
	int ncols;
	const char *const *names;
	const uint32_t *types; /* type OIDs, for the RowDescription */
	void (*collect)(Server *srv, Gather *g);
} GatherView;

void gather_start(Server *origin, const GatherView *view, void (*done)(Gather *g, void *arg),
                  void *arg);
/* gather_add: a row of view->ncols text values (copied; NULL for SQL NULL) */
void gather_add(Gather *g, const char *const *vals);

const GatherView *gather_view(const Gather *g);
int gather_nrows(const Gather *g);
/* gather_row: row i's values, in the order rows were added per loop */
const char *const *gather_row(const Gather *g, int i);

#endif /* SG_GATEWAY_GATHER_H */
