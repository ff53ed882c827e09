/*
 * gather.c: operator views collected from every loop (see gather.h), over
 * server_each_loop. Each loop takes the mutex only to append its rows.
 */
#include "gateway/gather.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct Gather {
	const GatherView *view;
	void (*done)(Gather *g, void *arg);
	void *arg;
	pthread_mutex_t mu;
	char **cells; /* nrows * ncols, each malloc'ed or NULL */
	int nrows, cap;
};

static void
gather_collect(Server *srv, void *arg)
{
	Gather *g = arg;
	g->view->collect(srv, g);
}

static void
gather_finish(void *arg)
{
	Gather *g = arg;
	g->done(g, g->arg);
	for (int i = 0; i < g->nrows * g->view->ncols; i++)
		free(g->cells[i]);
	free(g->cells);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

void
gather_start(Server *origin, const GatherView *view, void (*done)(Gather *g, void *arg), void *arg)
{
	Gather *g = calloc(1, sizeof(Gather));
	if (g == NULL)
		abort();
	g->view = view;
	g->done = done;
	g->arg = arg;
	pthread_mutex_init(&g->mu, NULL);
	server_each_loop(origin, gather_collect, gather_finish, g);
}

void
gather_add(Gather *g, const char *const *vals)
{
	int nc = g->view->ncols;
	pthread_mutex_lock(&g->mu);
	if (g->nrows == g->cap) {
		int cap = g->cap ? g->cap * 2 : 16;
		char **bigger = realloc(g->cells, sizeof(char *) * (size_t)cap * (size_t)nc);
		if (bigger == NULL)
			abort();
		g->cells = bigger;
		g->cap = cap;
	}
	char **row = g->cells + (size_t)g->nrows * (size_t)nc;
	for (int c = 0; c < nc; c++) {
		row[c] = vals[c] != NULL ? strdup(vals[c]) : NULL;
		if (vals[c] != NULL && row[c] == NULL)
			abort();
	}
	g->nrows++;
	pthread_mutex_unlock(&g->mu);
}

const GatherView *
gather_view(const Gather *g)
{
	return g->view;
}

int
gather_nrows(const Gather *g)
{
	return g->nrows;
}

const char *const *
gather_row(const Gather *g, int i)
{
	return (const char *const *)(g->cells + (size_t)i * (size_t)g->view->ncols);
}
