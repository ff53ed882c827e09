/*
 * server.c: the catalog snapshot of a loop and its refresh.
 *
 * A reload runs catalog_load in a worker thread (it is blocking libpq) and
 * installs the new snapshot on the loop thread. Statements already running
 * keep their own reference to the snapshot they started with. A poll timer
 * compares shardgate.version so changes made through other gateways are seen.
 */
#include "gateway/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "storage/linkset.h"
#include "txn/recovery.h"

/* server_install_catalog: snap (the caller's ref) becomes srv's, unless older than what it has */
static void
server_install_catalog(Server *srv, CatalogSnapshot *snap)
{
	if (snap != NULL && srv->catalog != NULL && snap->version < srv->catalog->version) {
		catalog_unref(snap);
		return;
	}
	CatalogSnapshot *old = srv->catalog;
	srv->catalog = snap;
	if (old != NULL)
		catalog_unref(old);
}

void
server_take_catalog(Server *srv)
{
	if (!__atomic_load_n(&srv->has_pending_catalog, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&srv->catalog_mu);
	CatalogSnapshot *snap = srv->pending_catalog;
	srv->pending_catalog = NULL;
	__atomic_store_n(&srv->has_pending_catalog, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&srv->catalog_mu);
	if (snap != NULL)
		server_install_catalog(srv, snap);
}

static void
on_catalog_nudge(void *arg)
{
	server_take_catalog(arg);
}

/* server_offer_catalog: make snap (a new ref) o's pending snapshot unless o has a newer one */
static void
server_offer_catalog(Server *o, CatalogSnapshot *snap)
{
	catalog_ref(snap);
	pthread_mutex_lock(&o->catalog_mu);
	CatalogSnapshot *drop = snap;
	if (o->pending_catalog == NULL || o->pending_catalog->version <= snap->version) {
		drop = o->pending_catalog;
		o->pending_catalog = snap;
		__atomic_store_n(&o->has_pending_catalog, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&o->catalog_mu);
	if (drop != NULL)
		catalog_unref(drop);
	loop_post(o->loop, on_catalog_nudge, o);
}

void
server_set_catalog(Server *srv, CatalogSnapshot *snap)
{
	if (snap != NULL && srv->catalog != NULL)
		catalog_carry_estimates(snap, srv->catalog);
	for (int i = 0; snap != NULL && srv->gw != NULL && i < srv->gw->nservers; i++)
		if (srv->gw->servers[i] != srv)
			server_offer_catalog(srv->gw->servers[i], snap);
	server_install_catalog(srv, snap);
}

uint64_t
server_schema_epoch(const Server *srv)
{
	return __atomic_load_n(&srv->gw->schema_epoch, __ATOMIC_RELAXED);
}

void
server_bump_schema_epoch(Server *srv)
{
	__atomic_add_fetch(&srv->gw->schema_epoch, 1, __ATOMIC_RELAXED);
}

typedef struct ReloadJob {
	Server *srv;
	CatalogLink *link;    /* the server's kept one, or a new one */
	int64_t have_version; /* -1: load unconditionally */
	CatalogSnapshot *snap;
	SgError err;
	bool failed;
	void (*done)(void *arg);
	void *arg;
} ReloadJob;

static void
reload_work(void *arg)
{
	ReloadJob *job = arg;
	job->failed = !catalog_link_load(job->link, job->have_version, &job->snap, &job->err);
}

static void
reload_done(void *arg)
{
	ReloadJob *job = arg;
	Server *srv = job->srv;
	srv->catalog_reloading = false;
	/* the polling loop keeps its link for the next poll; a loop that does not poll
	 * reloads rarely (after DDL through it) and keeps no idle connection */
	if (srv->catalog_link == NULL && srv->catalog_timer != NULL && !srv->stopping)
		srv->catalog_link = job->link;
	else
		catalog_link_destroy(job->link);
	if (job->failed)
		sg_log_warning("catalog", "reload failed: %s", job->err.message);
	if (job->snap != NULL) {
		if (srv->catalog == NULL || job->snap->version != srv->catalog->version) {
			sg_log_info("catalog", "version %lld loaded", (long long)job->snap->version);
			server_set_catalog(srv, job->snap);
		} else {
			catalog_unref(job->snap); /* the same version: nothing to tell the other loops */
		}
	}
	if (job->done != NULL)
		job->done(job->arg);
	free(job);
}

static void
server_start_reload(Server *srv, int64_t have_version, void (*done)(void *arg), void *arg)
{
	ReloadJob *job = calloc(1, sizeof(ReloadJob));
	if (job == NULL)
		abort();
	job->srv = srv;
	if (srv->catalog_link != NULL) {
		job->link = srv->catalog_link; /* this job's alone until reload_done */
		srv->catalog_link = NULL;
	} else {
		job->link = catalog_link_create(srv->config->metadata_node);
	}
	job->have_version = have_version;
	job->done = done;
	job->arg = arg;
	srv->catalog_reloading = true;
	loop_run_in_worker(srv->loop, reload_work, reload_done, job);
}

void
server_reload_catalog(Server *srv, void (*done)(void *arg), void *arg)
{
	server_start_reload(srv, -1, done, arg);
}

typedef struct StatsJob {
	Server *srv;
	CatalogSnapshot *snap;
	char conninfo[1024];
} StatsJob;

static void
stats_work(void *arg)
{
	StatsJob *job = arg;
	(void)catalog_stats_refresh(job->snap, job->conninfo, job->srv->stats_links);
}

static void
stats_done(void *arg)
{
	StatsJob *job = arg;
	job->srv->stats_running = false;
	catalog_unref(job->snap);
	free(job);
}

static uint64_t
server_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * server_maybe_refresh_stats: the current snapshot's row estimates are
 * re-read in a worker when its catalog version has not been read yet (new
 * tables), and every stats_interval_ms (they change with the data, not with
 * the catalog)
 */
static void
server_maybe_refresh_stats(Server *srv)
{
	uint64_t now = server_now_ms();
	if (srv->stats_running || srv->catalog == NULL || srv->catalog->ntables == 0)
		return;
	bool new_version = srv->catalog->version != srv->stats_version;
	bool due = srv->config->stats_interval_ms > 0 &&
	           now - srv->stats_at_ms >= (uint64_t)srv->config->stats_interval_ms;
	if (!new_version && !due)
		return;
	srv->stats_version = srv->catalog->version;
	if (srv->stats_links == NULL)
		srv->stats_links = linkset_create(); /* the worker's while it runs */
	StatsJob *job = calloc(1, sizeof(StatsJob));
	if (job == NULL)
		abort();
	job->srv = srv;
	job->snap = srv->catalog;
	catalog_ref(job->snap);
	snprintf(job->conninfo, sizeof(job->conninfo), "%s", srv->config->metadata_node);
	srv->stats_running = true;
	srv->stats_at_ms = now;
	loop_run_in_worker(srv->loop, stats_work, stats_done, job);
}

static void
server_on_poll(void *arg)
{
	Server *srv = arg;
	if (srv->stopping)
		return;
	if (!srv->catalog_reloading)
		server_start_reload(srv, srv->catalog ? srv->catalog->version : -1, NULL, NULL);
	server_maybe_refresh_stats(srv);
	loop_timer_start(srv->catalog_timer, (uint64_t)srv->config->catalog_poll_ms);
}

void
server_start_catalog_poll(Server *srv)
{
	srv->catalog_timer = loop_timer_create(srv->loop, server_on_poll, srv);
	loop_timer_start(srv->catalog_timer, (uint64_t)srv->config->catalog_poll_ms);
}

typedef struct RecoveryJob {
	Server *srv;
	CatalogSnapshot *snap;
	RecoveryOptions opts;
	RecoveryStats stats;
	SgError err;
	bool ok;
} RecoveryJob;

static void
recovery_work(void *arg)
{
	RecoveryJob *job = arg;
	job->ok = recovery_run_opts(job->snap, &job->opts, &job->stats, &job->err);
}

static void
recovery_done(void *arg)
{
	RecoveryJob *job = arg;
	Server *srv = job->srv;
	srv->recovery_running = false;
	srv->recovery_runs++;
	srv->recovered_commits += job->stats.committed;
	srv->recovered_aborts += job->stats.rolled_back;
	if (!job->ok)
		sg_log_warning("recovery", "%s", job->err.message);
	catalog_unref(job->snap);
	free(job);
	if (!srv->stopping)
		loop_timer_start(srv->recovery_timer, (uint64_t)srv->config->recovery_interval_ms);
}

static void
server_recovery_now(Server *srv, int min_age_sec)
{
	if (srv->recovery_running || srv->stopping || srv->catalog == NULL)
		return;
	RecoveryJob *job = calloc(1, sizeof(RecoveryJob));
	if (job == NULL)
		abort();
	job->srv = srv;
	job->snap = srv->catalog;
	catalog_ref(job->snap);
	recovery_options_defaults(&job->opts);
	job->opts.user = srv->config->admin_user;
	job->opts.min_age_sec = min_age_sec;
	if (srv->recovery_links == NULL)
		srv->recovery_links = linkset_create(); /* the worker's while it runs */
	job->opts.links = srv->recovery_links;
	srv->recovery_running = true;
	loop_run_in_worker(srv->loop, recovery_work, recovery_done, job);
}

static void
server_on_recovery_timer(void *arg)
{
	Server *srv = arg;
	server_recovery_now(srv, srv->config->recovery_min_age_sec);
}

void
server_start_recovery(Server *srv, int first_min_age_sec)
{
	srv->recovery_timer = loop_timer_create(srv->loop, server_on_recovery_timer, srv);
	server_recovery_now(srv, first_min_age_sec);
}

/* EachLoop: one server_each_loop call; EachPost: its visit of one loop */
typedef struct EachLoop {
	Server *origin;
	void (*each)(Server *srv, void *arg);
	void (*done)(void *arg);
	void *arg;
	int pending; /* atomic: loops still to visit */
} EachLoop;

typedef struct EachPost {
	EachLoop *e;
	Server *srv;
} EachPost;

static void
each_loop_done(void *arg)
{
	EachLoop *e = arg;
	e->done(e->arg);
	free(e);
}

static void
each_loop_visit(void *arg)
{
	EachPost *p = arg;
	EachLoop *e = p->e;
	e->each(p->srv, e->arg);
	free(p);
	if (__atomic_sub_fetch(&e->pending, 1, __ATOMIC_ACQ_REL) == 0)
		loop_post(e->origin->loop, each_loop_done, e);
}

void
server_each_loop(Server *origin, void (*each)(Server *srv, void *arg), void (*done)(void *arg),
                 void *arg)
{
	Gateway *gw = origin->gw;
	EachLoop *e = calloc(1, sizeof(EachLoop));
	if (e == NULL)
		abort();
	*e = (EachLoop){origin, each, done, arg, gw->nservers};
	for (int i = 0; i < gw->nservers; i++) {
		EachPost *p = calloc(1, sizeof(EachPost));
		if (p == NULL)
			abort();
		*p = (EachPost){e, gw->servers[i]};
		loop_post(p->srv->loop, each_loop_visit, p);
	}
}
