/*
 * main.c: shardgate's entry point: flags and configuration file, start-up
 * checks (catalog, metadata node), the listener, signals, and the event
 * loop. One loop for now; every loop-owned object hangs off Server so more
 * loops can be added without globals.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/config.h"
#include "common/fault.h"
#include "common/log.h"
#include "gateway/deadlock.h"
#include "gateway/scram.h"
#include "gateway/server.h"
#include "gateway/session.h"
#include "planner/semijoin.h"
#include "storage/linkset.h"
#include "storage/node.h"

static void
usage(FILE *f)
{
	fprintf(f, "shardgate: a PostgreSQL-compatible gateway over a fleet of PostgreSQL nodes\n\n"
	           "Usage: shardgate [--config FILE] [options]\n\n"
	           "Options (override the configuration file):\n"
	           "  --config FILE        key = value settings file\n"
	           "  --listen ADDR        address to listen on (listen_addr, default 127.0.0.1)\n"
	           "  --port P             port to listen on (port, default 6432)\n"
	           "  --metadata CONNINFO  libpq conninfo of the metadata node (metadata_node)\n"
	           "  --log-level L        error, warning, info, debug (log_level)\n"
	           "  --set KEY=VALUE      any other setting (pool_size, auth_type, auth_file, ...)\n"
	           "                       query_memory_limit=SIZE (bytes, kB, MB, GB; 0 = none,\n"
	           "                       the default): the most intermediate rows one statement\n"
	           "                       moves through the gateway to the merge node, and EXPLAIN\n"
	           "                       ANALYZE output it gathers; over it: 53200 out of memory\n"
	           "  --make-scram-verifier PASSWORD\n"
	           "                       print a SCRAM-SHA-256 verifier for an auth_file line\n"
	           "  --help               this text\n");
}

/* server_begin_stop: on srv's own loop: no new clients, every session closed */
static void
server_begin_stop(void *arg)
{
	Server *srv = arg;
	if (srv->stopping)
		return;
	srv->stopping = true;
	watch_destroy(srv->listen_watch);
	srv->listen_watch = NULL;
	if (srv->catalog_timer != NULL)
		loop_timer_stop(srv->catalog_timer);
	if (srv->recovery_timer != NULL)
		loop_timer_stop(srv->recovery_timer);
	loop_timer_stop(srv->deadlock_timer);
	session_close_all(srv);
	loop_timer_start(srv->stop_timer, 0);
}

static void
on_signal_stop(void *arg)
{
	Server *srv = arg;
	if (srv->stopping)
		return;
	sg_log_info(NULL, "shutting down");
	for (int i = 0; i < srv->gw->nservers; i++)
		if (srv->gw->servers[i] != srv)
			loop_post(srv->gw->servers[i]->loop, server_begin_stop, srv->gw->servers[i]);
	server_begin_stop(srv);
}

/*
 * on_stop_check: a loop stops once every loop has closed its sessions and
 * finished its worker jobs, so that nothing is posted to a loop that no
 * longer runs (what is posted meanwhile is drained by main)
 */
static void
on_stop_check(void *arg)
{
	Server *srv = arg;
	if (!srv->quiesced) {
		if (loop_pending_jobs(srv->loop) > 0) {
			loop_timer_start(srv->stop_timer, 20);
			return;
		}
		session_close_all(srv);
		srv->quiesced = true;
		__atomic_add_fetch(&srv->gw->quiesced, 1, __ATOMIC_ACQ_REL);
	}
	if (__atomic_load_n(&srv->gw->quiesced, __ATOMIC_ACQUIRE) < srv->gw->nservers) {
		loop_timer_start(srv->stop_timer, 20);
		return;
	}
	loop_stop(srv->loop);
}

/* a connection accepted on one loop and handed to another (on_accept) */
typedef struct Handoff {
	Server *srv;
	int fd;
} Handoff;

static void
accept_handed(void *arg)
{
	Handoff *h = arg;
	if (h->srv->stopping || h->srv->quiesced) {
		close(h->fd);
		__atomic_sub_fetch(&h->srv->nsessions, 1, __ATOMIC_RELAXED);
	} else {
		session_accept(h->srv, h->fd);
	}
	free(h);
}

/*
 * least_loaded: the loop with the fewest client connections, srv on a tie.
 * The kernel spreads connections over the loops' SO_REUSEPORT sockets by a
 * hash of their addresses, so 8 clients land 6 and 2 as often as 4 and 4;
 * one loop then relays most of the traffic while the other idles.
 */
static Server *
least_loaded(Server *srv)
{
	Gateway *gw = srv->gw;
	Server *best = srv;
	int least = __atomic_load_n(&srv->nsessions, __ATOMIC_RELAXED);
	for (int i = 0; i < gw->nservers; i++) {
		int n = __atomic_load_n(&gw->servers[i]->nsessions, __ATOMIC_RELAXED);
		if (n < least) {
			least = n;
			best = gw->servers[i];
		}
	}
	return best;
}

static void
on_accept(int fd, short events, void *arg)
{
	Server *srv = arg;
	(void)events;
	for (int i = 0; i < 64; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				sg_log_warning(NULL, "accept: %s", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		Server *to = least_loaded(srv);
		__atomic_add_fetch(&to->nsessions, 1, __ATOMIC_RELAXED); /* counted from the choice */
		if (to == srv) {
			session_accept(srv, c);
			continue;
		}
		Handoff *h = malloc(sizeof(Handoff));
		if (h == NULL)
			abort();
		h->srv = to;
		h->fd = c;
		loop_post(to->loop, accept_handed, h);
	}
}

/*
 * listen_on: a listening socket for one loop. Every loop has its own on the
 * same port (SO_REUSEPORT: the kernel spreads new connections); the first
 * (probe) is bound without SO_REUSEPORT first, so a port some other process
 * listens on (even another gateway) is refused as taken
 */
static int
listen_on(const char *addr, int port, bool probe, SgError *err)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		sg_error_set(err, SQLSTATE_INVALID_PARAMETER_VALUE, "invalid listen address \"%s\"", addr);
		return -1;
	}
	int one = 1;
	if (probe) {
		int p = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(p, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		bool taken = bind(p, (struct sockaddr *)&sa, sizeof(sa)) != 0;
		int e = errno;
		close(p);
		if (taken) {
			sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "could not listen on %s:%d: %s", addr,
			             port, strerror(e));
			return -1;
		}
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		sg_error_set(err, SQLSTATE_CONNECTION_FAILURE, "could not listen on %s:%d: %s", addr, port,
		             strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static bool
parse_args(int argc, char **argv, Config *cfg, int *exit_code)
{
	SgError err;
	/* the configuration file first, then flags override it */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (!config_load_file(cfg, argv[i + 1], &err)) {
				fprintf(stderr, "shardgate: %s\n", err.message);
				*exit_code = 2;
				return false;
			}
		}
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *key = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			*exit_code = 0;
			return false;
		}
		if (strcmp(a, "--make-scram-verifier") == 0 && v != NULL) {
			Arena *ar = arena_create(1024);
			printf("%s\n", scram_make_verifier(ar, v, SCRAM_DEFAULT_ITERATIONS));
			arena_destroy(ar);
			*exit_code = 0;
			return false;
		}
		if (strcmp(a, "--config") == 0) {
			i++;
			continue;
		}
		if (strcmp(a, "--listen") == 0)
			key = "listen_addr";
		else if (strcmp(a, "--port") == 0)
			key = "port";
		else if (strcmp(a, "--metadata") == 0)
			key = "metadata_node";
		else if (strcmp(a, "--log-level") == 0)
			key = "log_level";
		if (key != NULL && v != NULL) {
			if (!config_set(cfg, key, v, &err)) {
				fprintf(stderr, "shardgate: %s\n", err.message);
				*exit_code = 2;
				return false;
			}
			i++;
			continue;
		}
		if (strcmp(a, "--set") == 0 && v != NULL) {
			char buf[2048];
			snprintf(buf, sizeof(buf), "%s", v);
			char *eq = strchr(buf, '=');
			if (eq == NULL || (*eq = '\0', !config_set(cfg, buf, eq + 1, &err))) {
				fprintf(stderr, "shardgate: --set %s: %s\n", v,
				        eq == NULL ? "expected KEY=VALUE" : err.message);
				*exit_code = 2;
				return false;
			}
			i++;
			continue;
		}
		fprintf(stderr, "shardgate: unknown or incomplete option \"%s\" (see --help)\n", a);
		*exit_code = 2;
		return false;
	}
	return true;
}

/* make_gateway_id: 12 random hex digits, so 2PC ids never repeat across restarts */
static void
make_gateway_id(char *out, size_t cap)
{
	unsigned char raw[6] = {0};
	FILE *f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
		uint64_t v = (uint64_t)getpid() * 2654435761u ^ (uint64_t)time(NULL) ^ (uint64_t)random();
		memcpy(raw, &v, sizeof(raw));
	}
	if (f != NULL)
		fclose(f);
	snprintf(out, cap, "%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3], raw[4], raw[5]);
}

/* server_init: srv (fields copied from the first loop's) gets its own loop, pools, caches */
static void
server_init(Server *srv, Gateway *gw, int index, CatalogSnapshot *snap)
{
	const Config *cfg = gw->config;
	srv->gw = gw;
	srv->index = index;
	srv->config = cfg;
	srv->loop = loop_create();
	srv->catalog = snap;
	pthread_mutex_init(&srv->catalog_mu, NULL);
	srv->pending_catalog = NULL;
	srv->has_pending_catalog = 0;
	srv->sessions = NULL;
	srv->next_pid = 0;
	PoolLimits limits = {cfg->pool_size, (uint64_t)cfg->pool_wait_timeout_ms, cfg->pool_idle};
	srv->pools = poolset_create(srv->loop, &limits, gw->pool_share);
	srv->plans = plancache_create(cfg->plan_cache_size);
	srv->listen_watch = watch_create(srv->loop, srv->listen_fd, on_accept, srv);
	watch_set(srv->listen_watch, LOOP_READ);
	srv->stop_timer = loop_timer_create(srv->loop, on_stop_check, srv);
	deadlock_start(srv);
}

static void
server_fini(Server *srv)
{
	loop_timer_destroy(srv->stop_timer);
	deadlock_stop(srv);
	poolset_destroy(srv->pools);
	plancache_destroy(srv->plans);
	catalog_link_destroy(srv->catalog_link);
	linkset_destroy(srv->stats_links);
	linkset_destroy(srv->recovery_links);
	server_set_catalog(srv, NULL);
	if (srv->pending_catalog != NULL)
		catalog_unref(srv->pending_catalog);
	pthread_mutex_destroy(&srv->catalog_mu);
	loop_destroy(srv->loop);
	close(srv->listen_fd);
}

static void *
server_thread(void *arg)
{
	Server *srv = arg;
	loop_run(srv->loop);
	return NULL;
}

int
main(int argc, char **argv)
{
	Config cfg;
	config_defaults(&cfg);
	int code = 0;
	if (!parse_args(argc, argv, &cfg, &code))
		return code;
	sg_log_set_level(cfg.log_level);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	fault_init_from_env();

	SgError err;
	semijoin_set_limits(cfg.semijoin_max_keys, cfg.join_broadcast_min_rows,
	                    cfg.join_repartition_min_rows);
	CatalogSnapshot *snap = catalog_load(cfg.metadata_node, &err);
	if (snap == NULL) {
		sg_log_error(NULL, "cannot load the catalog: %s", err.message);
		return 1;
	}
	Server srv;
	memset(&srv, 0, sizeof(srv));
	srv.stats_version = -1; /* the estimates are read at the first catalog poll */
	const char *names[] = {"server_version", "TimeZone", "DateStyle", "IntervalStyle"};
	char values[4][64];
	if (!node_probe_parameters(cfg.metadata_node, names, 4, values, &err)) {
		sg_log_error(NULL, "%s", err.message);
		catalog_unref(snap);
		return 1;
	}
	snprintf(srv.server_version, sizeof(srv.server_version), "%s", values[0]);
	snprintf(srv.timezone, sizeof(srv.timezone), "%s", values[1]);
	snprintf(srv.datestyle, sizeof(srv.datestyle), "%s", values[2]);
	snprintf(srv.intervalstyle, sizeof(srv.intervalstyle), "%s", values[3]);

	srv.listen_fd = listen_on(cfg.listen_addr, cfg.port, true, &err);
	if (srv.listen_fd < 0) {
		sg_log_error(NULL, "%s", err.message);
		catalog_unref(snap);
		return 1;
	}
	if (cfg.pidfile[0] != '\0') {
		FILE *f = fopen(cfg.pidfile, "w");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	Gateway gw;
	memset(&gw, 0, sizeof(gw));
	gw.config = &cfg;
	gw.next_txid = 1;
	gw.pool_share = poolshare_create();
	gw.lockwait_links = linkset_create();
	gw.nservers = cfg.loops > 0 ? cfg.loops : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (gw.nservers < 1)
		gw.nservers = 1;
	gw.servers = calloc((size_t)gw.nservers, sizeof(Server *));
	if (gw.servers == NULL)
		abort();
	make_gateway_id(srv.gateway_id, sizeof(srv.gateway_id));
	gw.servers[0] = &srv;
	for (int i = 1; i < gw.nservers; i++) {
		gw.servers[i] = calloc(1, sizeof(Server));
		if (gw.servers[i] == NULL)
			abort();
		memcpy(gw.servers[i], &srv, sizeof(srv)); /* gateway id, ParameterStatus values */
		gw.servers[i]->listen_fd = listen_on(cfg.listen_addr, cfg.port, false, &err);
		if (gw.servers[i]->listen_fd < 0) {
			sg_log_error(NULL, "%s", err.message);
			return 1;
		}
	}
	for (int i = 0; i < gw.nservers; i++) {
		catalog_ref(snap);
		server_init(gw.servers[i], &gw, i, snap);
	}
	catalog_unref(snap); /* each loop holds its own reference */
	loop_on_signal(srv.loop, SIGTERM, on_signal_stop, &srv);
	loop_on_signal(srv.loop, SIGINT, on_signal_stop, &srv);
	server_start_catalog_poll(&srv);
	server_start_recovery(&srv, cfg.recovery_min_age_sec);
	sg_log_info(NULL,
	            "shardgate listening on %s:%d (gateway id %s, %d nodes, catalog version %lld, "
	            "%d loops)",
	            cfg.listen_addr, cfg.port, srv.gateway_id, snap->nnodes,
	            (long long)srv.catalog->version, gw.nservers);
	pthread_t *threads = calloc((size_t)gw.nservers, sizeof(pthread_t));
	if (threads == NULL)
		abort();
	for (int i = 1; i < gw.nservers; i++)
		if (pthread_create(&threads[i], NULL, server_thread, gw.servers[i]) != 0) {
			sg_log_error(NULL, "cannot start loop thread %d", i);
			abort();
		}
	bool ok = loop_run(srv.loop);
	for (int i = 1; i < gw.nservers; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	/* what was posted to a loop after it stopped runs now, before anything is freed */
	bool drained = true;
	while (drained) {
		drained = false;
		for (int i = 0; i < gw.nservers; i++)
			drained = loop_drain(gw.servers[i]->loop) || drained;
	}
	poolshare_stop(gw.pool_share); /* closing the pools below posts nothing */
	loop_timer_destroy(srv.catalog_timer);
	loop_timer_destroy(srv.recovery_timer);
	srv.catalog_timer = srv.recovery_timer = NULL;
	for (int i = 0; i < gw.nservers; i++)
		server_fini(gw.servers[i]);
	poolshare_destroy(gw.pool_share);
	linkset_destroy(gw.lockwait_links);
	for (int i = 1; i < gw.nservers; i++)
		free(gw.servers[i]);
	free(gw.servers);
	if (cfg.pidfile[0] != '\0')
		unlink(cfg.pidfile);
	sg_log_info(NULL, "stopped");
	return ok ? 0 : 1;
}
