/* IRC load generator for bench-chat: many clients in one channel, a fixed
 * message rate in, every delivery checked.
 *
 *   chat_load -p PORT [-h 127.0.0.1] [-n CLIENTS] [-s SENDERS] [-r MSGS_PER_S]
 *             [-d SECONDS] [-a SRC_ADDRS] [-c #chan] [-x NICK_PREFIX] [-S]
 *             [-w CONNECTS_IN_FLIGHT] [-J JOIN_TIMEOUT_S]
 *
 * One thread, epoll, non-blocking sockets. Clients bind to 127.0.0.2 ..
 * 127.0.0.(1+SRC_ADDRS) round-robin so neither per-IP limits nor ephemeral
 * ports run out. Phases: connect + register (wait for 001), JOIN in batches
 * (wait for 366), send RATE messages/s spread over the senders for SECONDS,
 * then drain until every delivery arrived or 60 s passed.
 * Each message is "PRIVMSG #chan :<seq> <send_ns> <pad>"; every receiver
 * keeps a bitmap of seqs, so lost and duplicate deliveries are both counted,
 * and latency (receive time - send time, one clock) goes into a 50 us
 * histogram. -S asks the server for "STATS h" at the end (lifecast only).
 * Output: "RESULT key value" lines. Exit 0 when every delivery arrived.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_IN  8800
#define HIST_BUCKETS 2000000 /* 50 us each: 100 s */
#define HIST_US      50

struct lc_client {
	int fd;
	int idx;
	int registered, joined, dead;
	char in[LINE_MAX_IN];
	size_t inlen;
	char *out;          /* pending output (small: commands only) */
	size_t outlen, outcap;
	uint8_t *seen;      /* bitmap of received seqs */
};

struct lc_opts {
	const char *host, *chan, *prefix;
	int port, nclients, nsenders, rate, seconds, nsrc, stats, window, join_timeout;
};

struct lc_state {
	struct lc_opts o;
	int ep;
	struct lc_client *cl;
	uint32_t nmsgs;          /* messages planned */
	uint32_t sent;
	uint64_t delivered, dups, bad;
	uint32_t *hist;
	uint64_t over, max_ns;
	int nregistered, njoined, ndead;
	char rbuf[1 << 18];
	int stats_lines;
	uint64_t next_progress;
	int join_timeout_s;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int flush_out(struct lc_client *c)
{
	while (c->outlen > 0) {
		ssize_t n = send(c->fd, c->out, c->outlen, MSG_NOSIGNAL);
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		memmove(c->out, c->out + n, c->outlen - (size_t)n);
		c->outlen -= (size_t)n;
	}
	return 0;
}

static void queue_out(struct lc_state *st, struct lc_client *c, const char *s, size_t n)
{
	if (c->dead)
		return;
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap * 2 : 1024;
		while (cap < c->outlen + n)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p) {
			fprintf(stderr, "chat_load: out of memory\n");
			exit(2);
		}
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	if (flush_out(c) < 0) {
		c->dead = 1;
		st->ndead++;
	}
}

static int open_client(struct lc_state *st, int i)
{
	struct lc_client *c = &st->cl[i];
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	char ip[32];
	snprintf(ip, sizeof(ip), "127.0.0.%d", 2 + i % st->o.nsrc);
	inet_pton(AF_INET, ip, &src.sin_addr);
	inet_pton(AF_INET, st->o.host, &dst.sin_addr);
	dst.sin_port = htons((uint16_t)st->o.port);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)i };
	epoll_ctl(st->ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->idx = i;
	char reg[128];
	int n = snprintf(reg, sizeof(reg), "NICK %s%d\r\nUSER u%d 0 * :load %d\r\n", st->o.prefix, i,
			 i, i);
	queue_out(st, c, reg, (size_t)n);
	return 0;
}

static void record(struct lc_state *st, struct lc_client *c, const char *text, size_t n,
		   uint64_t t)
{
	char tmp[64];
	size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
	memcpy(tmp, text, k);
	tmp[k] = '\0';
	char *end;
	unsigned long seq = strtoul(tmp, &end, 10);
	unsigned long long sent = strtoull(end, NULL, 10);
	if (seq >= st->nmsgs || sent == 0) {
		st->bad++;
		return;
	}
	if (c->seen[seq >> 3] & (1u << (seq & 7))) {
		st->dups++;
		return;
	}
	c->seen[seq >> 3] |= (uint8_t)(1u << (seq & 7));
	st->delivered++;
	uint64_t lat = t > sent ? t - sent : 0;
	uint64_t b = lat / (HIST_US * 1000);
	if (b < HIST_BUCKETS)
		st->hist[b]++;
	else
		st->over++;
	if (lat > st->max_ns)
		st->max_ns = lat;
}

static void on_line(struct lc_state *st, struct lc_client *c, const char *l, size_t n, uint64_t t)
{
	/* skip tags */
	if (n && l[0] == '@') {
		const char *sp = memchr(l, ' ', n);
		if (!sp)
			return;
		n -= (size_t)(sp + 1 - l);
		l = sp + 1;
	}
	if (n >= 4 && memcmp(l, "PING", 4) == 0) {
		char pong[600];
		int k = snprintf(pong, sizeof(pong), "PONG%.*s\r\n", (int)(n - 4), l + 4);
		queue_out(st, c, pong, (size_t)k);
		return;
	}
	if (n >= 5 && memcmp(l, "ERROR", 5) == 0) {
		fprintf(stderr, "chat_load: client %d: %.*s\n", c->idx, (int)(n > 200 ? 200 : n), l);
		return;
	}
	const char *sp = memchr(l, ' ', n);
	if (!sp || sp + 5 > l + n)
		return;
	const char *cmd = sp + 1;
	size_t rest = n - (size_t)(cmd - l);
	if (rest > 8 && memcmp(cmd, "PRIVMSG ", 8) == 0) {
		const char *colon = memchr(cmd + 8, ':', rest - 8);
		if (colon)
			record(st, c, colon + 1, (size_t)(l + n - colon - 1), t);
		return;
	}
	if (rest >= 4 && memcmp(cmd, "001 ", 4) == 0 && !c->registered) {
		c->registered = 1;
		st->nregistered++;
	} else if (rest >= 4 && memcmp(cmd, "366 ", 4) == 0 && !c->joined) {
		c->joined = 1;
		st->njoined++;
	} else if (rest >= 4 && memcmp(cmd, "249 ", 4) == 0) {
		printf("RESULT server_stats %.*s\n", (int)(n > 400 ? 400 : n), l);
		st->stats_lines++;
	}
}

static void on_readable(struct lc_state *st, struct lc_client *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, st->rbuf, sizeof(st->rbuf), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (!c->dead) {
				c->dead = 1;
				st->ndead++;
				epoll_ctl(st->ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
			return;
		}
		if (n < 0)
			return;
		uint64_t t = now_ns();
		const char *p = st->rbuf, *end = st->rbuf + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t take = nl ? (size_t)(nl - p) : (size_t)(end - p);
			if (c->inlen + take >= LINE_MAX_IN) {
				c->inlen = 0; /* oversize: drop */
				st->bad++;
			} else {
				memcpy(c->in + c->inlen, p, take);
				c->inlen += take;
			}
			if (!nl)
				break;
			size_t ln = c->inlen;
			if (ln && c->in[ln - 1] == '\r')
				ln--;
			on_line(st, c, c->in, ln, t);
			c->inlen = 0;
			p = nl + 1;
		}
		if ((size_t)n < sizeof(st->rbuf))
			return;
	}
}

static void progress(struct lc_state *st)
{
	uint64_t t = now_ns();
	if (t < st->next_progress)
		return;
	st->next_progress = t + 5000000000ull;
	fprintf(stderr, "chat_load: registered %d joined %d sent %u delivered %llu dead %d\n",
		st->nregistered, st->njoined, st->sent, (unsigned long long)st->delivered, st->ndead);
}

static void poll_once(struct lc_state *st, int timeout_ms)
{
	struct epoll_event evs[512];
	progress(st);
	int n = epoll_wait(st->ep, evs, 512, timeout_ms);
	for (int i = 0; i < n; i++) {
		struct lc_client *c = &st->cl[evs[i].data.u32];
		if (evs[i].events & EPOLLOUT) {
			if (c->outlen && flush_out(c) < 0 && !c->dead) {
				c->dead = 1;
				st->ndead++;
			}
			struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[i].data.u32 };
			if (!c->dead && c->outlen == 0)
				epoll_ctl(st->ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			on_readable(st, c);
	}
}

static int wait_until(struct lc_state *st, int *counter, int want, int secs, const char *what)
{
	uint64_t deadline = now_ns() + (uint64_t)secs * 1000000000ull;
	while (*counter < want - st->ndead && now_ns() < deadline)
		poll_once(st, 50);
	if (*counter < want) {
		fprintf(stderr, "chat_load: %s: %d of %d (dead %d)\n", what, *counter, want, st->ndead);
		return -1;
	}
	return 0;
}

/* Reopen clients that died before registering (a server with a short
 * listen backlog resets some connects under a burst). */
static int retry_dead(struct lc_state *st, int upto)
{
	for (int i = 0; i < upto; i++) {
		struct lc_client *c = &st->cl[i];
		if (!c->dead || c->registered)
			continue;
		if (++c->joined > 20) { /* joined counts retries until registration */
			fprintf(stderr, "chat_load: client %d: connect keeps failing\n", i);
			return -1;
		}
		close(c->fd);
		c->dead = 0;
		c->inlen = c->outlen = 0;
		st->ndead--;
		if (open_client(st, i) < 0)
			return -1;
	}
	return 0;
}

static int phase_connect(struct lc_state *st)
{
	uint64_t deadline = now_ns() + 180ull * 1000000000ull;
	for (int i = 0; i < st->o.nclients; i++) {
		int rc = open_client(st, i);
		if (rc < 0) {
			fprintf(stderr, "chat_load: client %d: %s\n", i, strerror(-rc));
			return -1;
		}
		/* Keep the accept queue short: let the server catch up. */
		while (st->nregistered < i - st->o.window && now_ns() < deadline) {
			poll_once(st, 10);
			if (st->ndead && retry_dead(st, i + 1) < 0)
				return -1;
		}
	}
	while (st->nregistered < st->o.nclients && now_ns() < deadline) {
		poll_once(st, 10);
		if (st->ndead && retry_dead(st, st->o.nclients) < 0)
			return -1;
	}
	for (int i = 0; i < st->o.nclients; i++)
		st->cl[i].joined = 0;
	return wait_until(st, &st->nregistered, st->o.nclients, 1, "registered");
}

static int phase_join(struct lc_state *st)
{
	char j[128];
	int n = snprintf(j, sizeof(j), "JOIN %s\r\n", st->o.chan);
	uint64_t start = now_ns(), deadline = start + (uint64_t)st->o.join_timeout * 1000000000ull;
	for (int i = 0; i < st->o.nclients; i++) {
		queue_out(st, &st->cl[i], j, (size_t)n);
		if (i % 250 == 249)
			while (st->njoined < i - 500 && st->ndead == 0 && now_ns() < deadline)
				poll_once(st, 10);
	}
	uint64_t now = now_ns();
	int left = now < deadline ? (int)((deadline - now) / 1000000000ull) : 0;
	return wait_until(st, &st->njoined, st->o.nclients, left, "joined");
}

static void send_msg(struct lc_state *st)
{
	struct lc_client *c = &st->cl[st->sent % (uint32_t)st->o.nsenders];
	char m[256];
	int n = snprintf(m, sizeof(m), "PRIVMSG %s :%u %llu load test message padding to a typical chat line\r\n",
			 st->o.chan, st->sent, (unsigned long long)now_ns());
	queue_out(st, c, m, (size_t)n);
	if (c->outlen) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)c->idx };
		epoll_ctl(st->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	st->sent++;
}

static void phase_send(struct lc_state *st)
{
	uint64_t t0 = now_ns(), step = 1000000000ull / (uint64_t)st->o.rate;
	while (st->sent < st->nmsgs) {
		uint64_t due = t0 + step * st->sent;
		uint64_t t = now_ns();
		if (t >= due) {
			send_msg(st);
			continue;
		}
		int ms = (int)((due - t) / 1000000);
		poll_once(st, ms > 0 ? ms : 0);
	}
}

static uint64_t expected(const struct lc_state *st)
{
	/* every client but the sender (no echo-message) gets every message */
	return (uint64_t)st->nmsgs * (uint64_t)(st->o.nclients - 1);
}

static void phase_drain(struct lc_state *st)
{
	uint64_t deadline = now_ns() + 60ull * 1000000000ull;
	while (st->delivered < expected(st) && now_ns() < deadline && st->ndead < st->o.nclients)
		poll_once(st, 50);
}

static double pct_us(const struct lc_state *st, double q)
{
	uint64_t total = st->delivered, want = (uint64_t)(q * (double)total), acc = 0;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		acc += st->hist[i];
		if (acc > want)
			return (double)(i * HIST_US) + HIST_US / 2.0;
	}
	return (double)st->max_ns / 1000.0;
}

static int parse_opts(int argc, char **argv, struct lc_opts *o)
{
	int ch;
	*o = (struct lc_opts){ "127.0.0.1", "#bench", "ld", 0, 1000, 10, 500, 5, 10, 0, 100, 300 };
	while ((ch = getopt(argc, argv, "h:p:n:s:r:d:a:c:x:Sw:J:")) != -1) {
		switch (ch) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'n': o->nclients = atoi(optarg); break;
		case 's': o->nsenders = atoi(optarg); break;
		case 'r': o->rate = atoi(optarg); break;
		case 'd': o->seconds = atoi(optarg); break;
		case 'a': o->nsrc = atoi(optarg); break;
		case 'c': o->chan = optarg; break;
		case 'x': o->prefix = optarg; break;
		case 'S': o->stats = 1; break;
		case 'w': o->window = atoi(optarg); break;
		case 'J': o->join_timeout = atoi(optarg); break;
		default: return -1;
		}
	}
	if (o->port <= 0 || o->nclients < 2 || o->nsenders < 1 || o->nsenders > o->nclients ||
	    o->rate < 1 || o->seconds < 1 || o->nsrc < 1 || o->nsrc > 250)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct lc_state *st = calloc(1, sizeof(*st));
	if (!st || parse_opts(argc, argv, &st->o) < 0) {
		fprintf(stderr, "usage: chat_load -p PORT [-h HOST] [-n CLIENTS] [-s SENDERS] "
				"[-r MSGS/S] [-d SECONDS] [-a SRC_ADDRS] [-c #chan] [-x PREFIX] [-S] [-w N] [-J SECS]\n");
		return 2;
	}
	raise_nofile();
	st->nmsgs = (uint32_t)(st->o.rate * st->o.seconds);
	st->cl = calloc((size_t)st->o.nclients, sizeof(*st->cl));
	st->hist = calloc(HIST_BUCKETS, sizeof(*st->hist));
	st->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!st->cl || !st->hist || st->ep < 0)
		return 2;
	for (int i = 0; i < st->o.nclients; i++)
		if (!(st->cl[i].seen = calloc(st->nmsgs / 8 + 1, 1)))
			return 2;
	uint64_t t0 = now_ns();
	if (phase_connect(st) < 0) {
		printf("RESULT connect_incomplete %d of %d registered after %.0f s\n", st->nregistered,
		       st->o.nclients, (double)(now_ns() - t0) / 1e9);
		return 3;
	}
	uint64_t t1 = now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("RESULT connect_s %.2f (%d clients)\n", (double)(t1 - t0) / 1e9, st->o.nclients);
	if (phase_join(st) < 0) {
		printf("RESULT join_incomplete %d of %d joined after %.0f s\n", st->njoined,
		       st->o.nclients, (double)(now_ns() - t1) / 1e9);
		return 3;
	}
	uint64_t t2 = now_ns();
	printf("RESULT join_s %.2f\n", (double)(t2 - t1) / 1e9);
	fflush(stdout);
	phase_send(st);
	uint64_t t3 = now_ns();
	phase_drain(st);
	uint64_t t4 = now_ns();
	uint64_t exp = expected(st);
	printf("RESULT sent %u in %.2f s (%.0f msg/s)\n", st->sent, (double)(t3 - t2) / 1e9,
	       st->sent / ((double)(t3 - t2) / 1e9));
	printf("RESULT deliveries %llu of %llu expected, missing %llu, duplicates %llu, bad %llu, "
	       "clients lost %d\n",
	       (unsigned long long)st->delivered, (unsigned long long)exp,
	       (unsigned long long)(exp - st->delivered), (unsigned long long)st->dups,
	       (unsigned long long)st->bad, st->ndead);
	printf("RESULT delivery_rate %.0f per s (send start to last delivery %.2f s)\n",
	       (double)st->delivered / ((double)(t4 - t2) / 1e9), (double)(t4 - t2) / 1e9);
	printf("RESULT latency_us p50 %.0f p99 %.0f max %.0f\n", pct_us(st, 0.50), pct_us(st, 0.99),
	       (double)st->max_ns / 1000.0);
	if (st->o.stats) {
		queue_out(st, &st->cl[0], "STATS h\r\n", 9);
		uint64_t dl = now_ns() + 3000000000ull;
		while (st->stats_lines < 2 && now_ns() < dl)
			poll_once(st, 50);
	}
	fflush(stdout);
	return st->delivered == exp && st->dups == 0 ? 0 : 1;
}
