/* dp_ksource: the dataplane's `source` and `echo` services on kernel sockets.
 *
 *   dp_ksource [-a ADDR] [-p PORT] [-m source|echo] [-T LIFETIME_S]
 *              [-x CORRUPT_AT] [-P PIDFILE]
 *
 * source: reads an 8-byte big-endian count N, sends dp_source_byte(0..N-1),
 *         then FIN (the same contract as the dataplane's port 19).
 * echo:   sends back every byte, FIN after the peer's FIN once all is echoed.
 * It is the Linux-stack baseline of `make bench-tcp` and the reference peer
 * the e2e suites use to check dp_tcpclient itself. -x flips the byte at that
 * stream offset (source mode, every connection) so a test can prove that the
 * client's verifier catches corruption. Exits after LIFETIME seconds (default
 * 600) or on SIGTERM/SIGINT, printing its counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/tools/dp_tool_pattern.h"

#define IO_CHUNK (256 * 1024)
#define ECHO_BUF (64 * 1024)
#define NO_CORRUPT UINT64_MAX

enum mode { MODE_SOURCE, MODE_ECHO };

struct sconn {
	int fd;
	uint8_t hdr[8];
	uint32_t hdr_len;
	uint64_t want, sent;
	int rd_eof;
	int wr_shut;
	uint8_t *ebuf; /* echo: bytes read, not yet written back */
	uint32_t elen, eoff;
};

struct server {
	enum mode mode;
	struct dp_pat pat;
	int ep, lfd, sfd;
	uint8_t *buf;
	uint64_t corrupt_at;
	uint64_t accepted, closed, bytes_out, bytes_in;
};

static int sconn_events(struct server *s, struct sconn *c)
{
	struct epoll_event ev = { .data.ptr = c };

	if (s->mode == MODE_SOURCE) {
		ev.events = EPOLLIN;
		if (c->hdr_len == 8 && c->sent < c->want)
			ev.events |= EPOLLOUT;
	} else {
		ev.events = (c->elen > c->eoff) ? EPOLLOUT : (c->rd_eof ? 0 : EPOLLIN);
	}
	return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void sconn_free(struct server *s, struct sconn *c)
{
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->ebuf);
	free(c);
	s->closed++;
}

/* Source: returns 0 to keep the connection, -1 when it was freed. */
static int source_read(struct server *s, struct sconn *c)
{
	for (;;) {
		uint32_t had = c->hdr_len;
		ssize_t r = recv(c->fd, s->buf, IO_CHUNK, 0);
		if (r < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : (sconn_free(s, c), -1);
		if (r == 0) {
			/* Peer done. Finish sending first unless there is nothing left. */
			if (c->hdr_len < 8 || c->sent >= c->want) {
				sconn_free(s, c);
				return -1;
			}
			c->rd_eof = 1;
			return 0;
		}
		s->bytes_in += (uint64_t)r;
		for (ssize_t k = 0; k < r && c->hdr_len < 8; k++)
			c->hdr[c->hdr_len++] = s->buf[k];
		if (had < 8 && c->hdr_len == 8) {
			for (int k = 0; k < 8; k++)
				c->want = (c->want << 8) | c->hdr[k];
			if (c->want == 0) {
				shutdown(c->fd, SHUT_WR);
				c->wr_shut = 1;
			}
		}
	}
}

static int source_write(struct server *s, struct sconn *c)
{
	while (c->sent < c->want) {
		size_t n = c->want - c->sent > IO_CHUNK ? IO_CHUNK : (size_t)(c->want - c->sent);
		dp_pat_fill(&s->pat, c->sent, s->buf, n);
		if (s->corrupt_at >= c->sent && s->corrupt_at < c->sent + n)
			s->buf[s->corrupt_at - c->sent] ^= 0x5a;
		ssize_t w = send(c->fd, s->buf, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			sconn_free(s, c);
			return -1;
		}
		c->sent += (uint64_t)w;
		s->bytes_out += (uint64_t)w;
		if ((size_t)w < n)
			return 0;
	}
	if (!c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = 1;
	}
	if (c->rd_eof) {
		sconn_free(s, c);
		return -1;
	}
	return 0;
}

static int echo_io(struct server *s, struct sconn *c)
{
	if (c->elen == c->eoff && !c->rd_eof) {
		ssize_t r = recv(c->fd, c->ebuf, ECHO_BUF, 0);
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			sconn_free(s, c);
			return -1;
		}
		if (r == 0)
			c->rd_eof = 1;
		if (r > 0) {
			c->elen = (uint32_t)r;
			c->eoff = 0;
			s->bytes_in += (uint64_t)r;
		}
	}
	if (c->elen > c->eoff) {
		ssize_t w = send(c->fd, c->ebuf + c->eoff, c->elen - c->eoff, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			sconn_free(s, c);
			return -1;
		}
		if (w > 0) {
			c->eoff += (uint32_t)w;
			s->bytes_out += (uint64_t)w;
		}
	}
	if (c->rd_eof && c->elen == c->eoff) {
		/* All echoed and the peer finished: FIN, then drop the socket;
		 * close() after shutdown still delivers the FIN. */
		shutdown(c->fd, SHUT_WR);
		sconn_free(s, c);
		return -1;
	}
	return 0;
}

static void on_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct sconn *c = calloc(1, sizeof(*c));
		if (c != NULL && s->mode == MODE_ECHO)
			c->ebuf = malloc(ECHO_BUF);
		if (c == NULL || (s->mode == MODE_ECHO && c->ebuf == NULL)) {
			if (c != NULL)
				free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
			free(c->ebuf);
			free(c);
			close(fd);
			continue;
		}
		s->accepted++;
	}
}

static void on_conn(struct server *s, struct sconn *c, uint32_t events)
{
	if (s->mode == MODE_ECHO) {
		if (echo_io(s, c) == 0)
			sconn_events(s, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && source_read(s, c) != 0)
		return;
	if (c->hdr_len == 8 && source_write(s, c) != 0)
		return;
	sconn_events(s, c);
}

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4096) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int serve(struct server *s, double lifetime)
{
	struct epoll_event evs[64];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int n = epoll_wait(s->ep, evs, 64, 200);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int k = 0; k < n; k++) {
			if (evs[k].data.ptr == &s->lfd)
				on_accept(s);
			else if (evs[k].data.ptr == &s->sfd)
				return 0;
			else
				on_conn(s, evs[k].data.ptr, evs[k].events);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > lifetime)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct server s = { .ep = -1, .lfd = -1, .sfd = -1, .corrupt_at = NO_CORRUPT };
	const char *addr = "0.0.0.0", *pidfile = NULL;
	int port = -1, c, rc = 1, err;
	double lifetime = 600;
	sigset_t mask;

	s.mode = MODE_SOURCE;
	while ((c = getopt(argc, argv, "a:p:m:T:x:P:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm':
			if (strcmp(optarg, "source") && strcmp(optarg, "echo"))
				goto usage;
			s.mode = strcmp(optarg, "echo") ? MODE_SOURCE : MODE_ECHO;
			break;
		case 'T': lifetime = atof(optarg); break;
		case 'x': s.corrupt_at = strtoull(optarg, NULL, 0); break;
		case 'P': pidfile = optarg; break;
		default: goto usage;
		}
	}
	if (port < 0)
		port = s.mode == MODE_SOURCE ? DP_SOURCE_PORT : DP_ECHO_PORT;
	if (optind != argc || port < 1 || port > 65535 || !(lifetime > 0))
		goto usage;
	signal(SIGPIPE, SIG_IGN);
	err = dp_pat_init(&s.pat);
	if (err != 0) {
		fprintf(stderr, "dp_ksource: pattern table: %s\n", strerror(-err));
		return 1;
	}
	s.buf = malloc(IO_CHUNK);
	s.lfd = listen_on(addr, port);
	if (s.buf == NULL || s.lfd < 0) {
		fprintf(stderr, "dp_ksource: listen %s:%d: %s\n", addr, port,
			strerror(s.lfd < 0 ? -s.lfd : ENOMEM));
		goto out;
	}
	/* SIGTERM through a signalfd: no handler, no global flag. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	s.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &s.lfd };
	struct epoll_event sev = { .events = EPOLLIN, .data.ptr = &s.sfd };
	if (s.sfd < 0 || s.ep < 0 || epoll_ctl(s.ep, EPOLL_CTL_ADD, s.lfd, &lev) != 0 ||
	    epoll_ctl(s.ep, EPOLL_CTL_ADD, s.sfd, &sev) != 0) {
		perror("dp_ksource: setup");
		goto out;
	}
	if (pidfile != NULL) {
		FILE *f = fopen(pidfile, "w");
		if (f != NULL) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	fprintf(stderr, "dp_ksource: %s on %s:%d\n", s.mode == MODE_SOURCE ? "source" : "echo",
		addr, port);
	err = serve(&s, lifetime);
	if (err != 0)
		fprintf(stderr, "dp_ksource: %s\n", strerror(-err));
	printf("dp_ksource: accepted=%" PRIu64 " closed=%" PRIu64 " bytes_in=%" PRIu64
	       " bytes_out=%" PRIu64 "\n",
	       s.accepted, s.closed, s.bytes_in, s.bytes_out);
	rc = err != 0;
out:
	if (s.ep >= 0)
		close(s.ep);
	if (s.sfd >= 0)
		close(s.sfd);
	if (s.lfd >= 0)
		close(s.lfd);
	free(s.buf);
	dp_pat_free(&s.pat);
	return rc;
usage:
	fprintf(stderr, "usage: dp_ksource [-a ADDR] [-p PORT] [-m source|echo] [-T LIFETIME_S]"
			" [-x CORRUPT_AT] [-P PIDFILE]\n");
	return 2;
}
