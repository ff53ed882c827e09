/*
 * idle_conns.c: open many idle PostgreSQL client connections and hold them,
 * for bench/run-all's idle-connection scale test.
 *
 *   idle_conns -p PORT [-h 127.0.0.1] [-n 10000] [-c 200] [-U postgres]
 *              [-d postgres] [-t 120]
 *
 * Each connection sends a protocol 3.0 StartupMessage (user, database,
 * application_name=idle_conns) and reads until ReadyForQuery; trust
 * authentication only (any other authentication request counts as a
 * failure). At most -c start-ups are in flight at once, so the server's listen
 * backlog never overflows. When every connection is ready or failed (or -t
 * seconds passed) it prints one line to stdout
 *
 *   ready=N failed=M seconds=S [first_error=...]
 *
 * then holds the connections, idle, until SIGTERM or SIGINT, counting those
 * the server closes meanwhile; at the end it prints
 *
 *   held=N closed_by_server=M
 *
 * sends Terminate on each open connection and exits 0 (1 on a usage or set-up
 * error). Plain sockets and epoll, one thread; no libpq, so the client's own
 * memory and latency stay out of the way.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IDLE_ERR_MAX 200 /* bytes of the first ErrorResponse kept for the report */

typedef enum IdleState {
	IDLE_UNUSED,     /* not opened yet */
	IDLE_CONNECTING, /* non-blocking connect() in progress */
	IDLE_STARTUP,    /* StartupMessage sent (maybe partly), reading the answer */
	IDLE_READY,      /* ReadyForQuery seen: held */
	IDLE_FAILED,     /* refused, reset, error or authentication needed */
	IDLE_CLOSED,     /* server closed it after it was ready */
} IdleState;

typedef struct IdleConn {
	int fd;
	IdleState state;
	size_t sent;      /* bytes of the StartupMessage written */
	uint8_t hdr[5];   /* message header being read */
	size_t hdr_len;   /* bytes of hdr filled */
	uint32_t skip;    /* body bytes of the current message still to read */
	char type;        /* type of the current message */
	bool is_auth_ok;  /* current 'R' message: first body byte(s) say code 0 */
	uint32_t body_at; /* body bytes of the current message read so far */
	uint8_t code[4];  /* authentication request code */
} IdleConn;

typedef struct IdleOpts {
	const char *host;
	int port;
	int count;
	int concurrency;
	const char *user;
	const char *dbname;
	int timeout_s;
} IdleOpts;

static volatile sig_atomic_t idle_stop;
static char idle_first_error[IDLE_ERR_MAX + 1];
static char idle_err_body[IDLE_ERR_MAX + 1];
static uint8_t idle_startup[512];
static size_t idle_startup_len;

static void
idle_on_signal(int sig)
{
	(void)sig;
	idle_stop = 1;
}

static double
idle_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
idle_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
idle_get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Append "key\0value\0" to the startup packet; false when it does not fit. */
static bool
idle_startup_pair(const char *key, const char *value)
{
	size_t kl = strlen(key) + 1, vl = strlen(value) + 1;
	if (idle_startup_len + kl + vl + 1 > sizeof(idle_startup))
		return false;
	memcpy(idle_startup + idle_startup_len, key, kl);
	idle_startup_len += kl;
	memcpy(idle_startup + idle_startup_len, value, vl);
	idle_startup_len += vl;
	return true;
}

/* Build the StartupMessage shared by every connection; false when too long. */
static bool
idle_build_startup(const IdleOpts *o)
{
	idle_startup_len = 8;
	if (!idle_startup_pair("user", o->user) || !idle_startup_pair("database", o->dbname) ||
	    !idle_startup_pair("application_name", "idle_conns"))
		return false;
	idle_startup[idle_startup_len++] = 0;
	idle_put32(idle_startup, (uint32_t)idle_startup_len);
	idle_put32(idle_startup + 4, 196608); /* protocol 3.0 */
	return true;
}

/* Remember the first failure text seen (the rest are only counted). */
static void
idle_note_error(const char *what)
{
	if (idle_first_error[0] == '\0')
		snprintf(idle_first_error, sizeof(idle_first_error), "%s", what);
}

static void
idle_fail(IdleConn *c, const char *what)
{
	idle_note_error(what);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = IDLE_FAILED;
}

/* Start a non-blocking connect for c and register it; false when it failed at once. */
static bool
idle_open(IdleConn *c, int ep, const struct sockaddr_in *addr, uint32_t index)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
		idle_fail(c, msg);
		return false;
	}
	int one = 1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->state = IDLE_CONNECTING;
	if (connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 && errno != EINPROGRESS) {
		char msg[128];
		snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
		idle_fail(c, msg);
		return false;
	}
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = index};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "epoll_ctl: %s", strerror(errno));
		idle_fail(c, msg);
		return false;
	}
	return true;
}

/* Write what is left of the StartupMessage; false on a failure (c is failed). */
static bool
idle_send_startup(IdleConn *c, int ep, uint32_t index)
{
	while (c->sent < idle_startup_len) {
		ssize_t n = send(c->fd, idle_startup + c->sent, idle_startup_len - c->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			char msg[128];
			snprintf(msg, sizeof(msg), "send: %s", strerror(errno));
			idle_fail(c, msg);
			return false;
		}
		c->sent += (size_t)n;
	}
	/* All sent: only reads from now on. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = index};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		idle_fail(c, "epoll_ctl MOD failed");
		return false;
	}
	return true;
}

/* A whole message body has been read: act on it. */
static void
idle_message_done(IdleConn *c, int ep)
{
	switch (c->type) {
	case 'R':
		if (idle_get32(c->code) != 0)
			idle_fail(c, "server asked for a password (only trust is supported)");
		break;
	case 'E':
		idle_fail(c, idle_err_body[0] ? idle_err_body : "ErrorResponse");
		break;
	case 'Z':
		c->state = IDLE_READY;
		/* Held from now on: watch for the server closing it. */
		struct epoll_event ev = {.events = EPOLLRDHUP};
		(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		break;
	default:
		break; /* ParameterStatus, BackendKeyData, NoticeResponse */
	}
}

/*
 * Read whatever the server sent during start-up, message by message, keeping
 * only headers, the authentication code and (for the first error) the
 * message fields.
 */
static void
idle_read(IdleConn *c, int ep)
{
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0) {
			idle_fail(c, "server closed the connection during start-up");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			char msg[128];
			snprintf(msg, sizeof(msg), "recv: %s", strerror(errno));
			idle_fail(c, msg);
			return;
		}
		for (ssize_t i = 0; i < n && c->state == IDLE_STARTUP;) {
			if (c->hdr_len < 5) {
				c->hdr[c->hdr_len++] = buf[i++];
				if (c->hdr_len == 5) {
					c->type = (char)c->hdr[0];
					uint32_t len = idle_get32(c->hdr + 1);
					if (len < 4 || len > 1024 * 1024) {
						idle_fail(c, "bad message length from server");
						return;
					}
					c->skip = len - 4;
					c->body_at = 0;
					if (c->type == 'E')
						idle_err_body[0] = '\0';
					if (c->skip == 0) {
						c->hdr_len = 0;
						idle_message_done(c, ep);
					}
				}
				continue;
			}
			uint32_t take = c->skip;
			if ((ssize_t)take > n - i)
				take = (uint32_t)(n - i);
			for (uint32_t k = 0; k < take; k++) {
				uint32_t at = c->body_at + k;
				uint8_t b = buf[i + k];
				if (c->type == 'R' && at < 4)
					c->code[at] = b;
				/* ErrorResponse: fields are "Xtext\0"; keep the texts, '; '-separated. */
				if (c->type == 'E' && at < IDLE_ERR_MAX) {
					size_t l = strlen(idle_err_body);
					if (l + 2 < IDLE_ERR_MAX) {
						idle_err_body[l] = b == 0 ? ' ' : (char)b;
						idle_err_body[l + 1] = '\0';
					}
				}
			}
			c->body_at += take;
			c->skip -= take;
			i += take;
			if (c->skip == 0) {
				c->hdr_len = 0;
				idle_message_done(c, ep);
			}
		}
		if (c->state != IDLE_STARTUP)
			return;
	}
}

static void
idle_usage(void)
{
	fprintf(stderr, "usage: idle_conns -p PORT [-h HOST] [-n COUNT] [-c CONCURRENCY] [-U USER] "
	                "[-d DBNAME] [-t TIMEOUT_S]\n");
}

static bool
idle_parse_args(int argc, char **argv, IdleOpts *o)
{
	*o = (IdleOpts){"127.0.0.1", 0, 10000, 200, "postgres", "postgres", 120};
	int opt;
	while ((opt = getopt(argc, argv, "h:p:n:c:U:d:t:")) != -1) {
		switch (opt) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'n':
			o->count = atoi(optarg);
			break;
		case 'c':
			o->concurrency = atoi(optarg);
			break;
		case 'U':
			o->user = optarg;
			break;
		case 'd':
			o->dbname = optarg;
			break;
		case 't':
			o->timeout_s = atoi(optarg);
			break;
		default:
			return false;
		}
	}
	return o->port > 0 && o->port < 65536 && o->count > 0 && o->concurrency > 0 && o->timeout_s > 0;
}

/* Raise the open-file limit to fit count sockets; false when it cannot. */
static bool
idle_raise_nofile(int count)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return false;
	rlim_t need = (rlim_t)count + 64;
	if (rl.rlim_cur >= need)
		return true;
	if (rl.rlim_max < need) {
		rl.rlim_max = need;
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0) /* root may raise the hard limit */
			return true;
		fprintf(stderr, "idle_conns: open-file limit %llu is below %llu; raise ulimit -n\n",
		        (unsigned long long)rl.rlim_max, (unsigned long long)need);
		return false;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

int
main(int argc, char **argv)
{
	IdleOpts o;
	if (!idle_parse_args(argc, argv, &o)) {
		idle_usage();
		return 1;
	}
	if (!idle_build_startup(&o)) {
		fprintf(stderr, "idle_conns: user or database name too long\n");
		return 1;
	}
	if (!idle_raise_nofile(o.count))
		return 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o.port)};
	if (inet_pton(AF_INET, o.host, &addr.sin_addr) != 1) {
		fprintf(stderr, "idle_conns: host must be an IPv4 address: %s\n", o.host);
		return 1;
	}
	struct sigaction sa = {.sa_handler = idle_on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	IdleConn *conns = calloc((size_t)o.count, sizeof(*conns));
	struct epoll_event *events = calloc(256, sizeof(*events));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || events == NULL || ep < 0) {
		fprintf(stderr, "idle_conns: out of memory or epoll_create1 failed\n");
		return 1;
	}
	for (int i = 0; i < o.count; i++)
		conns[i].fd = -1;

	double start = idle_now();
	int next = 0, in_flight = 0, ready = 0, failed = 0;
	while (ready + failed < o.count && !idle_stop && idle_now() - start < o.timeout_s) {
		while (next < o.count && in_flight < o.concurrency) {
			IdleConn *c = &conns[next];
			if (idle_open(c, ep, &addr, (uint32_t)next))
				in_flight++;
			else
				failed++;
			next++;
		}
		int n = epoll_wait(ep, events, 256, 200);
		if (n < 0 && errno != EINTR) {
			perror("idle_conns: epoll_wait");
			break;
		}
		for (int k = 0; k < n; k++) {
			uint32_t index = events[k].data.u32;
			IdleConn *c = &conns[index];
			IdleState before = c->state;
			if (c->state == IDLE_CONNECTING) {
				int soerr = 0;
				socklen_t sl = sizeof(soerr);
				if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
					char msg[128];
					snprintf(msg, sizeof(msg), "connect: %s", strerror(soerr ? soerr : errno));
					idle_fail(c, msg);
				} else {
					c->state = IDLE_STARTUP;
				}
			}
			if (c->state == IDLE_STARTUP && c->sent < idle_startup_len)
				(void)idle_send_startup(c, ep, index);
			if (c->state == IDLE_STARTUP && (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
				idle_read(c, ep);
			if (before != c->state && (c->state == IDLE_READY || c->state == IDLE_FAILED)) {
				in_flight--;
				if (c->state == IDLE_READY)
					ready++;
				else
					failed++;
			}
		}
	}
	int pending = o.count - ready - failed;
	printf("ready=%d failed=%d seconds=%.1f", ready, failed + pending, idle_now() - start);
	if (pending > 0)
		idle_note_error("timed out waiting for ReadyForQuery");
	if (idle_first_error[0] != '\0')
		printf(" first_error=%s", idle_first_error);
	printf("\n");
	fflush(stdout);

	/* Hold, idle, until told to stop; count connections the server closes. */
	int closed = 0;
	while (!idle_stop) {
		int n = epoll_wait(ep, events, 256, 1000);
		for (int k = 0; k < n; k++) {
			IdleConn *c = &conns[events[k].data.u32];
			if (c->state == IDLE_READY) {
				c->state = IDLE_CLOSED;
				(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				closed++;
			}
		}
	}
	static const uint8_t terminate[5] = {'X', 0, 0, 0, 4};
	int held = 0;
	for (int i = 0; i < o.count; i++) {
		if (conns[i].fd < 0)
			continue;
		if (conns[i].state == IDLE_READY) {
			held++;
			(void)send(conns[i].fd, terminate, sizeof(terminate), MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		close(conns[i].fd);
	}
	printf("held=%d closed_by_server=%d\n", held, closed);
	free(events);
	free(conns);
	close(ep);
	return 0;
}
