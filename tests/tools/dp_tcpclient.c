/* dp_tcpclient: Linux-socket load and correctness client for the dataplane's
 * test services (echo, source) and for dp_ksource.
 *
 *   dp_tcpclient -m echo|source|short -a ADDR [-p PORT] [-c CONC] [-n TOTAL]
 *                [-b BYTES] [-t CONN_DEADLINE_S] [-T TOTAL_DEADLINE_S]
 *                [-d DURATION_S] [-B BIND_ADDR]
 *
 * echo:   CONC connections each send BYTES (a per-connection stream of the
 *         source pattern, offset conn_index << 36), half-close, and must read
 *         back exactly those bytes followed by EOF.
 * source: CONC connections each send the 8-byte big-endian count BYTES and
 *         must read exactly dp_source_byte(0..BYTES-1) followed by EOF. With
 *         -d, each asks for an endless stream, verifies what arrives for
 *         DURATION seconds and then resets (throughput runs).
 * short:  TOTAL connections, at most CONC at a time: connect, echo BYTES
 *         (default 1024), close. The client closes first, so TIME_WAIT stays
 *         on the client side.
 *
 * Every connection has its own deadline (-t, from its connect). A single
 * epoll loop drives them all. Prints one summary line
 *   dp_tcpclient: mode=.. conns=.. ok=.. failed=.. mismatches=.. ...
 * and the first failures on stderr; exits 0 only when every connection
 * completed with every byte verified.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/dp_tool_pattern.h"

#define IO_CHUNK (256 * 1024)
#define ECHO_STREAM_SHIFT 36 /* per-connection offset into the pattern */
#define MAX_REPORTED 10      /* failures printed in detail */
#define ENDLESS (1ULL << 62)

enum mode { MODE_ECHO, MODE_SOURCE, MODE_SHORT };

enum fail {
	FAIL_NONE,
	FAIL_CONNECT,
	FAIL_RESET,
	FAIL_TIMEOUT,
	FAIL_MISMATCH,
	FAIL_SHORT,
	FAIL_EXTRA,
	FAIL_COUNT
};

static const char *const fail_names[FAIL_COUNT] = {
	"none", "connect", "reset", "timeout", "mismatch", "short", "extra",
};

struct opts {
	enum mode mode;
	struct sockaddr_in dst;
	struct sockaddr_in bind;
	int have_bind;
	uint32_t conc;
	uint32_t total;
	uint64_t bytes;
	double conn_deadline_s;
	double total_deadline_s;
	double duration_s;
};

struct conn {
	int fd;
	uint32_t idx;
	uint64_t base;     /* pattern offset of this connection's stream */
	uint64_t want;     /* bytes to receive */
	uint64_t tx_total; /* bytes to send (echo payload, or the 8-byte count) */
	uint64_t tx, rx;
	uint64_t deadline_us;
	int connected;
	int wr_shut;
	uint8_t hdr[8];
};

struct client {
	struct opts o;
	struct dp_pat pat;
	int ep;
	struct conn *conns; /* o.conc slots */
	uint8_t *buf;
	uint32_t started, finished, active;
	uint64_t fails[FAIL_COUNT];
	uint64_t ok, tx_bytes, rx_bytes, reported;
	uint64_t t0_us;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void report(struct client *cl, const struct conn *c, enum fail f, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct client *cl, const struct conn *c, enum fail f, const char *fmt, ...)
{
	va_list ap;

	cl->fails[f]++;
	if (cl->reported++ >= MAX_REPORTED)
		return;
	fprintf(stderr, "dp_tcpclient: conn %u: %s: ", c->idx, fail_names[f]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (tx=%" PRIu64 " rx=%" PRIu64 ")\n", c->tx, c->rx);
}

static void conn_close(struct client *cl, struct conn *c, int success)
{
	if (c->fd >= 0) {
		epoll_ctl(cl->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	cl->finished++;
	cl->active--;
	if (success)
		cl->ok++;
}

/* Abort with RST so the far side does not linger (used on failure and at the
 * end of a timed run). */
static void conn_abort(struct client *cl, struct conn *c, int success)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (c->fd >= 0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(cl, c, success);
}

static int conn_update_events(struct client *cl, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };

	if (!c->connected || c->tx < c->tx_total)
		ev.events |= EPOLLOUT;
	return epoll_ctl(cl->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_start(struct client *cl, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->idx = cl->started++;
	cl->active++;
	c->deadline_us = now_us() + (uint64_t)(cl->o.conn_deadline_s * 1e6);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		report(cl, c, FAIL_CONNECT, "socket: %s", strerror(errno));
		conn_close(cl, c, 0);
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cl->o.have_bind) {
		setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&cl->o.bind, sizeof(cl->o.bind)) != 0) {
			report(cl, c, FAIL_CONNECT, "bind: %s", strerror(errno));
			conn_close(cl, c, 0);
			return -1;
		}
	}
	if (cl->o.mode == MODE_SOURCE) {
		uint64_t n = cl->o.duration_s > 0 ? ENDLESS : cl->o.bytes;
		for (int k = 0; k < 8; k++)
			c->hdr[k] = (uint8_t)(n >> (56 - 8 * k));
		c->tx_total = 8;
		c->want = n;
		c->base = 0;
	} else {
		c->base = (uint64_t)c->idx << ECHO_STREAM_SHIFT;
		c->tx_total = cl->o.bytes;
		c->want = cl->o.bytes;
	}
	if (connect(c->fd, (struct sockaddr *)&cl->o.dst, sizeof(cl->o.dst)) != 0 &&
	    errno != EINPROGRESS) {
		report(cl, c, FAIL_CONNECT, "%s", strerror(errno));
		conn_close(cl, c, 0);
		return -1;
	}
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		report(cl, c, FAIL_CONNECT, "epoll_ctl: %s", strerror(errno));
		conn_close(cl, c, 0);
		return -1;
	}
	return 0;
}

/* Returns 0 to keep going, -1 when the connection was closed. */
static int conn_write(struct client *cl, struct conn *c)
{
	while (c->tx < c->tx_total) {
		const uint8_t *p;
		size_t n = (size_t)(c->tx_total - c->tx);
		if (cl->o.mode == MODE_SOURCE) {
			p = c->hdr + c->tx;
		} else {
			if (n > IO_CHUNK)
				n = IO_CHUNK;
			dp_pat_fill(&cl->pat, c->base + c->tx, cl->buf, n);
			p = cl->buf;
		}
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			report(cl, c, FAIL_RESET, "send: %s", strerror(errno));
			conn_abort(cl, c, 0);
			return -1;
		}
		c->tx += (uint64_t)w;
		cl->tx_bytes += (uint64_t)w;
		if ((size_t)w < n)
			return 0;
	}
	if (cl->o.mode != MODE_SOURCE && !c->wr_shut) {
		/* All sent: half-close so the echo service ends its side too. */
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
	return 0;
}

static int conn_read(struct client *cl, struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, cl->buf, IO_CHUNK, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			report(cl, c, FAIL_RESET, "recv: %s", strerror(errno));
			conn_abort(cl, c, 0);
			return -1;
		}
		if (r == 0) {
			if (c->rx == c->want && c->tx == c->tx_total) {
				conn_close(cl, c, 1);
			} else {
				report(cl, c, FAIL_SHORT, "EOF after %" PRIu64 " of %" PRIu64 " bytes",
				       c->rx, c->want);
				conn_abort(cl, c, 0);
			}
			return -1;
		}
		if (c->rx + (uint64_t)r > c->want) {
			report(cl, c, FAIL_EXTRA, "%" PRIu64 " bytes past the expected %" PRIu64,
			       c->rx + (uint64_t)r - c->want, c->want);
			conn_abort(cl, c, 0);
			return -1;
		}
		size_t bad = dp_pat_check(&cl->pat, c->base + c->rx, cl->buf, (size_t)r);
		if (bad != (size_t)r) {
			uint64_t at = c->rx + bad;
			report(cl, c, FAIL_MISMATCH, "byte %" PRIu64 " is 0x%02x, expected 0x%02x", at,
			       cl->buf[bad], dp_pat_byte(&cl->pat, c->base + at));
			conn_abort(cl, c, 0);
			return -1;
		}
		c->rx += (uint64_t)r;
		cl->rx_bytes += (uint64_t)r;
	}
}

static void conn_event(struct client *cl, struct conn *c, uint32_t events)
{
	if (!c->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			report(cl, c, FAIL_CONNECT, "%s", strerror(err));
			conn_abort(cl, c, 0);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN)))
			return;
		c->connected = 1;
	}
	if ((events & EPOLLOUT) && conn_write(cl, c) != 0)
		return;
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && conn_read(cl, c) != 0)
		return;
	conn_update_events(cl, c);
}

/* Deadlines, and the end of a timed (-d) run. */
static void check_deadlines(struct client *cl, uint64_t now, int timed_out)
{
	for (uint32_t k = 0; k < cl->o.conc; k++) {
		struct conn *c = &cl->conns[k];
		if (c->fd < 0)
			continue;
		if (timed_out && cl->o.duration_s > 0) {
			conn_abort(cl, c, c->rx > 0);
		} else if (timed_out || now >= c->deadline_us) {
			report(cl, c, FAIL_TIMEOUT, "deadline passed%s",
			       c->connected ? "" : " while connecting");
			conn_abort(cl, c, 0);
		}
	}
}

static void fill_slots(struct client *cl)
{
	for (uint32_t k = 0; k < cl->o.conc && cl->started < cl->o.total; k++)
		if (cl->conns[k].fd < 0)
			conn_start(cl, &cl->conns[k]);
}

static int run(struct client *cl)
{
	struct epoll_event evs[256];
	uint64_t end_us;
	double limit = cl->o.duration_s > 0 ? cl->o.duration_s : cl->o.total_deadline_s;

	cl->t0_us = now_us();
	end_us = cl->t0_us + (uint64_t)(limit * 1e6);
	for (uint32_t k = 0; k < cl->o.conc; k++)
		cl->conns[k].fd = -1;
	fill_slots(cl);
	while (cl->finished < cl->o.total) {
		int n = epoll_wait(cl->ep, evs, 256, 50);
		if (n < 0 && errno != EINTR) {
			perror("dp_tcpclient: epoll_wait");
			return -1;
		}
		for (int k = 0; k < n; k++)
			conn_event(cl, evs[k].data.ptr, evs[k].events);
		uint64_t now = now_us();
		check_deadlines(cl, now, now >= end_us);
		if (now >= end_us) {
			/* Connections never started count as failed. */
			while (cl->started < cl->o.total) {
				struct conn dummy = { .idx = cl->started++ };
				report(cl, &dummy, FAIL_TIMEOUT, "never started before the total deadline");
				cl->finished++;
			}
			break;
		}
		fill_slots(cl);
	}
	return 0;
}

static void print_summary(const struct client *cl)
{
	double secs = (double)(now_us() - cl->t0_us) / 1e6;
	uint64_t failed = cl->o.total - cl->ok;
	double gbps = secs > 0 ? (double)cl->rx_bytes * 8 / secs / 1e9 : 0;
	const char *mname = cl->o.mode == MODE_ECHO ? "echo" : cl->o.mode == MODE_SOURCE ? "source" : "short";

	printf("dp_tcpclient: mode=%s conns=%u ok=%" PRIu64 " failed=%" PRIu64 " mismatches=%" PRIu64
	       " timeouts=%" PRIu64 " resets=%" PRIu64 " connect_errors=%" PRIu64 " short=%" PRIu64
	       " extra=%" PRIu64 " tx_bytes=%" PRIu64 " rx_bytes=%" PRIu64 " secs=%.3f gbps=%.3f\n",
	       mname, cl->o.total, cl->ok, failed, cl->fails[FAIL_MISMATCH], cl->fails[FAIL_TIMEOUT],
	       cl->fails[FAIL_RESET], cl->fails[FAIL_CONNECT], cl->fails[FAIL_SHORT],
	       cl->fails[FAIL_EXTRA], cl->tx_bytes, cl->rx_bytes, secs, gbps);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: dp_tcpclient -m echo|source|short -a ADDR [-p PORT] [-c CONC] [-n TOTAL]\n"
		"                    [-b BYTES] [-t CONN_DEADLINE_S] [-T TOTAL_DEADLINE_S]\n"
		"                    [-d DURATION_S] [-B BIND_ADDR]\n");
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || end == s)
		return -EINVAL;
	/* Size suffixes keep the e2e command lines readable (16M, 1K). */
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	if (*end != '\0' || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v > 0) || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	uint64_t v;
	int port = -1, c;
	const char *addr = NULL, *bind_addr = NULL;

	memset(o, 0, sizeof(*o));
	o->mode = -1;
	o->conc = 1;
	o->conn_deadline_s = 60;
	o->total_deadline_s = 170;
	o->bytes = 0;
	while ((c = getopt(argc, argv, "m:a:p:c:n:b:t:T:d:B:")) != -1) {
		switch (c) {
		case 'm':
			o->mode = !strcmp(optarg, "echo")     ? MODE_ECHO
				: !strcmp(optarg, "source") ? MODE_SOURCE
				: !strcmp(optarg, "short")  ? MODE_SHORT
							    : (enum mode)-1;
			break;
		case 'a': addr = optarg; break;
		case 'B': bind_addr = optarg; break;
		case 'p':
			if (parse_u64(optarg, 1, 65535, &v) != 0)
				return -EINVAL;
			port = (int)v;
			break;
		case 'c':
			if (parse_u64(optarg, 1, 65536, &v) != 0)
				return -EINVAL;
			o->conc = (uint32_t)v;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 10000000, &v) != 0)
				return -EINVAL;
			o->total = (uint32_t)v;
			break;
		case 'b':
			if (parse_u64(optarg, 1, 1ULL << 40, &v) != 0)
				return -EINVAL;
			o->bytes = v;
			break;
		case 't':
			if (parse_secs(optarg, &o->conn_deadline_s) != 0)
				return -EINVAL;
			break;
		case 'T':
			if (parse_secs(optarg, &o->total_deadline_s) != 0)
				return -EINVAL;
			break;
		case 'd':
			if (parse_secs(optarg, &o->duration_s) != 0)
				return -EINVAL;
			break;
		default: return -EINVAL;
		}
	}
	if ((int)o->mode < 0 || addr == NULL || optind != argc)
		return -EINVAL;
	if (o->duration_s > 0 && o->mode != MODE_SOURCE)
		return -EINVAL;
	o->dst.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &o->dst.sin_addr) != 1)
		return -EINVAL;
	if (port < 0)
		port = o->mode == MODE_SOURCE ? DP_SOURCE_PORT : DP_ECHO_PORT;
	o->dst.sin_port = htons((uint16_t)port);
	if (bind_addr != NULL) {
		o->bind.sin_family = AF_INET;
		if (inet_pton(AF_INET, bind_addr, &o->bind.sin_addr) != 1)
			return -EINVAL;
		o->have_bind = 1;
	}
	if (o->bytes == 0)
		o->bytes = o->mode == MODE_SHORT ? 1024 : 1 << 20;
	/* -n only matters for short; the long modes run CONC connections. */
	if (o->mode != MODE_SHORT || o->total == 0)
		o->total = o->conc;
	if (o->conc > o->total)
		o->conc = o->total;
	return 0;
}

static void raise_nofile(uint32_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need + 64) {
		rl.rlim_cur = rl.rlim_max < need + 64 ? rl.rlim_max : need + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct client cl;
	int rc = 2, err;

	memset(&cl, 0, sizeof(cl));
	cl.ep = -1;
	if (parse_opts(argc, argv, &cl.o) != 0) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(cl.o.conc);
	err = dp_pat_init(&cl.pat);
	if (err != 0) {
		fprintf(stderr, "dp_tcpclient: pattern table: %s\n", strerror(-err));
		return 2;
	}
	cl.buf = malloc(IO_CHUNK);
	cl.conns = calloc(cl.o.conc, sizeof(*cl.conns));
	cl.ep = epoll_create1(EPOLL_CLOEXEC);
	if (cl.buf == NULL || cl.conns == NULL || cl.ep < 0) {
		fprintf(stderr, "dp_tcpclient: setup: %s\n", strerror(errno));
		goto out;
	}
	if (run(&cl) != 0)
		goto out;
	print_summary(&cl);
	rc = cl.ok == cl.o.total ? 0 : 1;
out:
	if (cl.ep >= 0)
		close(cl.ep);
	free(cl.conns);
	free(cl.buf);
	dp_pat_free(&cl.pat);
	return rc;
}
