/*
 * relay.c: the least any proxy can do, as a floor for bench/run-all's proxy
 * ratios. It accepts client connections and, for each, opens one connection
 * to the server and copies bytes both ways: no parsing, no pooling, no
 * routing, one server connection per client.
 *
 *   relay -p PORT -b BACKEND [-t THREADS]
 *
 * BACKEND is HOST:PORT (TCP) or the path of a unix socket (for PostgreSQL,
 * DIR/.s.PGSQL.PORT). Each of the THREADS threads (default 1) has its own
 * epoll and its own listener on 127.0.0.1:PORT (SO_REUSEPORT spreads the
 * connections), as a proxy with a loop per CPU has. Level-triggered; a
 * side whose bytes the other side cannot take yet stops being read until
 * they are written, so memory stays at two buffers per connection. Runs
 * until killed; prints nothing unless it fails to start.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RELAY_BUF 65536

typedef struct Pair Pair;

typedef struct Side {
	Pair *pair;
	int fd;
	char buf[RELAY_BUF]; /* bytes read from this side, not yet written to the other */
	size_t off, len;
} Side;

struct Pair {
	Side side[2]; /* 0: client, 1: server */
};

static int listen_port;
static struct sockaddr_storage backend_addr;
static socklen_t backend_len;

static int
backend_parse(const char *spec)
{
	const char *colon = strrchr(spec, ':');
	memset(&backend_addr, 0, sizeof backend_addr);
	if (spec[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&backend_addr;
		if (strlen(spec) >= sizeof un->sun_path)
			return -1;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, spec);
		backend_len = sizeof *un;
		return 0;
	}
	if (colon == NULL)
		return -1;
	struct sockaddr_in *in = (struct sockaddr_in *)&backend_addr;
	char host[64];
	size_t n = (size_t)(colon - spec);
	if (n >= sizeof host)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
		return -1;
	backend_len = sizeof *in;
	return 0;
}

static void
pair_close(Pair *p)
{
	close(p->side[0].fd); /* closing drops the fds from the epoll */
	close(p->side[1].fd);
	free(p);
}

/* A side is read while nothing it sent waits for its peer, and waited on for
 * writing while its peer's bytes wait for it. */
static void
pair_watch(int ep, Pair *p)
{
	for (int i = 0; i < 2; i++) {
		Side *s = &p->side[i], *peer = &p->side[!i];
		struct epoll_event ev = {.events =
		                             (s->len == 0 ? EPOLLIN : 0u) | (peer->len > 0 ? EPOLLOUT : 0u),
		                         .data.ptr = s};
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
	}
}

/* Write what FROM holds to its peer; 1 when all is written, 0 when the peer
 * cannot take more now, -1 on an error. */
static int
flush_to_peer(Side *from, Side *to)
{
	while (from->off < from->len) {
		ssize_t n = send(to->fd, from->buf + from->off, from->len - from->off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		from->off += (size_t)n;
	}
	from->off = from->len = 0;
	return 1;
}

/* One event on side S: write what its peer left pending for it, then read
 * it once and pass that on. Returns -1 when the pair ends. */
static int
on_event(int ep, Side *s, Side *peer, unsigned events)
{
	bool was_blocked = s->len > 0 || peer->len > 0;
	if ((events & EPOLLOUT) && flush_to_peer(peer, s) < 0)
		return -1;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && s->len == 0) {
		ssize_t n = recv(s->fd, s->buf, RELAY_BUF, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return -1;
		if (n > 0) {
			s->len = (size_t)n;
			if (flush_to_peer(s, peer) < 0)
				return -1;
		}
	}
	if (was_blocked || s->len > 0 || peer->len > 0)
		pair_watch(ep, s->pair);
	return 0;
}

static void
accept_one(int ep, int lfd)
{
	int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	if (c < 0)
		return;
	int s = socket(backend_addr.ss_family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&backend_addr, backend_len) < 0) {
		if (s >= 0)
			close(s);
		close(c);
		return;
	}
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (backend_addr.ss_family == AF_INET)
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (fcntl(s, F_SETFL, O_NONBLOCK) < 0) {
		close(s);
		close(c);
		return;
	}
	Pair *p = calloc(1, sizeof *p);
	if (p == NULL) {
		close(s);
		close(c);
		return;
	}
	p->side[0].pair = p->side[1].pair = p;
	p->side[0].fd = c;
	p->side[1].fd = s;
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->side[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, p->side[i].fd, &ev);
	}
}

static void *
relay_loop(void *arg)
{
	(void)arg;
	int one = 1;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1024) < 0) {
		perror("relay: listen");
		exit(1);
	}
	int ep = epoll_create1(0);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			Side *s = evs[i].data.ptr;
			if (s == NULL) {
				accept_one(ep, lfd);
				continue;
			}
			Pair *p = s->pair;
			Side *peer = &p->side[s == &p->side[0]];
			if (on_event(ep, s, peer, evs[i].events) < 0) {
				pair_close(p);
				/* later events of this batch may name the freed pair */
				break;
			}
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int threads = 1, opt;
	const char *backend = NULL;
	while ((opt = getopt(argc, argv, "p:b:t:h")) != -1) {
		if (opt == 'p')
			listen_port = atoi(optarg);
		else if (opt == 'b')
			backend = optarg;
		else if (opt == 't')
			threads = atoi(optarg);
		else {
			fprintf(stderr, "usage: relay -p PORT -b HOST:PORT|SOCKET_PATH [-t THREADS]\n");
			return opt == 'h' ? 0 : 1;
		}
	}
	if (listen_port <= 0 || backend == NULL || threads < 1 || backend_parse(backend) < 0) {
		fprintf(stderr, "usage: relay -p PORT -b HOST:PORT|SOCKET_PATH [-t THREADS]\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, relay_loop, NULL);
	}
	relay_loop(NULL);
	return 0;
}
