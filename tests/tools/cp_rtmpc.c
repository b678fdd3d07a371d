/* cp_rtmpc: a tiny RTMP client for end-to-end tests of lifecast-cp.
 *
 *   cp_rtmpc HOST PORT APP STREAM play|publish [options]
 *     --expect CODE       exit 0 only if an onStatus with CODE arrives
 *     --stall-after N     play: after N media bytes, stop reading (hold the
 *                         socket open without reading) for --hold seconds
 *     --hold S            seconds to hold (default 5)
 *     --seconds S         total run time limit (default 10)
 *     --count-media N     play: exit 0 once N media messages arrived
 *     --resume S          after --hold, read normally again for S seconds
 *                         and print "RESUMED msgs=N"
 *     --rcvbuf N          SO_RCVBUF (small values make a stall bite sooner)
 *
 * Prints "STATUS <code>" per onStatus, "CLOSED" when the server closed the
 * connection, and "MEDIA msgs=N bytes=N first_key=0|1" at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_handshake.h"

struct client {
	int fd;
	const char *expect;
	int seen_expect;
	int got_result;
	double stream_id;
	uint64_t media_msgs, media_bytes;
	int first_key;  /* -1 unknown */
	long count_media;
	long stall_after;
	struct rtmp_conn rc;
};

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int on_out(void *ctx, const uint8_t *p, size_t n)
{
	struct client *c = ctx;
	return send_all(c->fd, p, n);
}

static int on_msg(void *ctx, const struct rtmp_msg *m)
{
	struct client *c = ctx;
	if (m->type == RTMP_MSG_AUDIO || m->type == RTMP_MSG_VIDEO) {
		if (c->first_key < 0 && m->type == RTMP_MSG_VIDEO && m->length >= 2 && m->data[1] != 0)
			c->first_key = (m->data[0] >> 4) == 1;
		c->media_msgs++;
		c->media_bytes += m->length;
		return 0;
	}
	if (m->type != RTMP_MSG_COMMAND_AMF0 && m->type != RTMP_MSG_COMMAND_AMF3)
		return 0;
	struct rtmp_amf0_node nodes[128];
	struct rtmp_amf0_arena a;
	struct rtmp_cmd cmd;
	rtmp_amf0_arena_init(&a, nodes, 128);
	if (rtmp_cmd_parse(m->type, m->data, m->length, &a, &cmd) != 0)
		return 0;
	if (cmd.kind == RTMP_CMD_RESULT) {
		c->got_result++;
		if (cmd.stream_id > 0)
			c->stream_id = cmd.stream_id;
	}
	if (cmd.kind == RTMP_CMD_ERROR)
		printf("ERROR %.*s\n", (int)cmd.code.len, cmd.code.ptr ? cmd.code.ptr : "");
	if (cmd.kind == RTMP_CMD_ONSTATUS && cmd.code.ptr) {
		printf("STATUS %.*s\n", (int)cmd.code.len, cmd.code.ptr);
		if (c->expect && rtmp_str_eq(cmd.code, c->expect))
			c->seen_expect = 1;
	}
	fflush(stdout);
	return 0;
}

static int rnd(void *ctx, uint8_t *b, size_t n)
{
	return getrandom(b, n, 0) == (ssize_t)n ? 0 : -EIO;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read and feed bytes for up to `secs`; stop early when done() is true.
 * Returns 0, 1 when the peer closed, -1 on error. */
static int pump(struct client *c, double secs, int (*done)(struct client *))
{
	double end = now_s() + secs;
	uint8_t buf[65536];
	while (!(done && done(c))) {
		int left = (int)((end - now_s()) * 1000);
		if (left <= 0)
			return 0;
		struct pollfd p = { c->fd, POLLIN, 0 };
		int r = poll(&p, 1, left);
		if (r <= 0)
			continue;
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return 1;
		if (rtmp_conn_input(&c->rc, buf, (size_t)n) != 0)
			return -1;
	}
	return 0;
}

static int handshake(struct client *c)
{
	struct rtmp_hs hs;
	struct rtmp_hs_config cfg = { .rand = rnd };
	uint8_t out[RTMP_HS_OUT_MAX], in[4096];
	if (rtmp_hs_client_init(&hs, &cfg) != 0)
		return -1;
	int n = rtmp_hs_client_start(&hs, out, sizeof(out));
	if (n < 0 || send_all(c->fd, out, (size_t)n) != 0)
		return -1;
	while (!rtmp_hs_done(&hs)) {
		ssize_t r = recv(c->fd, in, sizeof(in), 0);
		if (r <= 0)
			return -1;
		size_t olen = 0;
		int used = rtmp_hs_feed(&hs, in, (size_t)r, out, sizeof(out), &olen);
		if (used < 0 || (olen && send_all(c->fd, out, olen) != 0))
			return -1;
		if (rtmp_hs_done(&hs) && (size_t)used < (size_t)r)
			return rtmp_conn_input(&c->rc, in + used, (size_t)r - (size_t)used) ? -1 : 0;
	}
	return 0;
}

static int send_cmd(struct client *c, const uint8_t *b, int len, uint32_t msid)
{
	if (len < 0)
		return -1;
	struct rtmp_msg m = { 0, (uint32_t)len, msid, RTMP_CSID_COMMAND, RTMP_MSG_COMMAND_AMF0, b };
	return rtmp_conn_send(&c->rc, &m);
}

static int stall_reached(struct client *c)
{
	return (long)c->media_bytes >= c->stall_after;
}

static int have_result(struct client *c) { return c->got_result > 0; }
static int have_expect(struct client *c) { return c->seen_expect; }
static int have_media(struct client *c)
{
	return c->count_media > 0 && (long)c->media_msgs >= c->count_media;
}

static int connect_tcp(const char *host, int port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: cp_rtmpc HOST PORT APP STREAM play|publish [--expect CODE] "
			"[--stall-after N] [--hold S] [--seconds S] [--count-media N]\n");
		return 2;
	}
	struct client c;
	memset(&c, 0, sizeof(c));
	c.first_key = -1;
	const char *host = argv[1], *app = argv[3], *stream = argv[4], *mode = argv[5];
	long stall_after = -1;
	double hold = 5, secs = 10, resume = 0;
	int rcvbuf = 0;
	for (int i = 6; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--expect")) c.expect = argv[i + 1];
		else if (!strcmp(argv[i], "--stall-after")) stall_after = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--hold")) hold = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds")) secs = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--count-media")) c.count_media = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--resume")) resume = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--rcvbuf")) rcvbuf = atoi(argv[i + 1]);
		else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
	}
	c.fd = connect_tcp(host, atoi(argv[2]), rcvbuf);
	if (c.fd < 0) {
		perror("connect");
		return 1;
	}
	struct rtmp_conn_config cfg = { .on_msg = on_msg, .on_out = on_out, .ctx = &c };
	if (rtmp_conn_init(&c.rc, &cfg) != 0 || handshake(&c) != 0) {
		fprintf(stderr, "handshake failed\n");
		return 1;
	}
	uint8_t b[1024];
	char tc[256];
	snprintf(tc, sizeof(tc), "rtmp://%s:%s/%s", host, argv[2], app);
	struct rtmp_connect_params cp = { .app = app, .tc_url = tc };
	int closed = 0;
	send_cmd(&c, b, rtmp_cmd_build_connect(b, sizeof(b), 1, &cp), 0);
	closed = pump(&c, secs, have_result);
	c.got_result = 0;
	if (!closed) {
		send_cmd(&c, b, rtmp_cmd_build_create_stream(b, sizeof(b), 2), 0);
		closed = pump(&c, secs, have_result);
	}
	uint32_t msid = c.stream_id > 0 ? (uint32_t)c.stream_id : 1;
	if (!closed && !strcmp(mode, "publish"))
		send_cmd(&c, b, rtmp_cmd_build_publish(b, sizeof(b), 0, stream, RTMP_PUBLISH_LIVE),
			 msid);
	else if (!closed)
		send_cmd(&c, b, rtmp_cmd_build_play(b, sizeof(b), 0, stream, -2, -2, -1), msid);
	if (!closed && stall_after >= 0) {
		/* read up to the threshold, then stop reading entirely */
		c.stall_after = stall_after;
		closed = pump(&c, secs, stall_reached);
		printf("STALLED after %llu bytes\n", (unsigned long long)c.media_bytes);
		fflush(stdout);
		usleep((useconds_t)(hold * 1e6));
		if (resume > 0) {
			uint64_t before = c.media_msgs;
			c.count_media = 0;
			closed = pump(&c, resume, NULL);
			printf("RESUMED msgs=%llu%s\n", (unsigned long long)(c.media_msgs - before),
			       closed ? " CLOSED" : "");
		}
		/* Drain for up to 5 s: a server that gave up on us has closed, so
		 * the queued bytes end in EOF or a reset. */
		char tmp[65536];
		double end = now_s() + 5;
		struct pollfd p = { c.fd, POLLIN, 0 };
		while (resume <= 0 && !closed && now_s() < end && poll(&p, 1, 1000) > 0) {
			ssize_t r = recv(c.fd, tmp, sizeof(tmp), 0);
			if (r <= 0)
				closed = 1;
		}
		if (resume <= 0)
			printf(closed ? "CLOSED\n" : "OPEN\n");
	} else if (!closed) {
		closed = pump(&c, secs, c.expect ? have_expect : (c.count_media ? have_media : NULL));
		if (!closed && c.expect && c.seen_expect)
			closed = pump(&c, 1.5, NULL); /* does the server close after it? */
		if (closed == 1)
			printf("CLOSED\n");
	} else {
		printf("CLOSED\n");
	}
	printf("MEDIA msgs=%llu bytes=%llu first_key=%d\n", (unsigned long long)c.media_msgs,
	       (unsigned long long)c.media_bytes, c.first_key);
	rtmp_conn_fini(&c.rc);
	close(c.fd);
	if (c.expect)
		return c.seen_expect ? 0 : 1;
	if (c.count_media && stall_after < 0)
		return (long)c.media_msgs >= c.count_media ? 0 : 1;
	return 0;
}
