/* cp_rtmpplay: N RTMP viewers in one process (kernel sockets, epoll) that
 * check every audio/video message they receive against the published
 * sequence.
 *
 *   cp_rtmpplay --url rtmp://HOST[:PORT]/APP/STREAM --ref REF.flv [options]
 *     -n N              viewers (default 1)
 *     --seconds S       run time after the last viewer started (default 10)
 *     --ramp MS         pause between viewer starts (default 5)
 *     --min-video N     a viewer passes only with >= N video messages (default 1)
 *     --expect-skips    allow whole-GOP skips (a slow viewer jumping to a newer
 *                       keyframe); without it a skip is a mismatch
 *     --loop            the publisher loops REF (indexes wrap around)
 *     --throttle KBIT   read at most KBIT kbit/s per throttled viewer
 *     --throttled M     the first M viewers are throttled (default all, with
 *                       --throttle)
 *     --rcvbuf BYTES    SO_RCVBUF of every socket (throttled: default 32768)
 *     --json            one JSON document instead of RESULT lines
 *
 * REF is what the publisher sends (`ffmpeg -re -i REF -c copy -f flv URL`).
 * Checks, per viewer: sequence headers equal to REF's; the first video
 * message after them is a keyframe of REF; from there every video payload is
 * the next one of REF (a contiguous run), and audio likewise (anchored by
 * timestamp next to that keyframe, since audio frames of a test tone repeat);
 * timestamps never go backwards. Join latency: from the start of connect()
 * (SYN) to the arrival of the first video message.
 * Exit status 0 when every viewer passed, 1 otherwise, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_msg.h"
#include "flv/flv_reader.h"
#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_conn.h"
#include "rtmp/rtmp_handshake.h"

#define RBUF 65536
#define WBUF_MAX (256 * 1024)
#define AUDIO_ANCHOR_MS 200

struct ref_msg {
	uint32_t ts;
	uint32_t len;
	const uint8_t *p;
	int key;
};

/* The published sequence, split per type (seq headers apart). */
struct ref {
	uint8_t *file;
	struct ref_msg *v, *a, *seq;
	size_t nv, na, nseq;
};

enum vstate { V_IDLE, V_CONNECTING, V_HS, V_CONNECT, V_CREATE, V_PLAY, V_DONE };

struct viewer {
	int idx, fd;
	enum vstate st;
	struct rtmp_hs hs;
	struct rtmp_conn rc;
	int rc_ready;
	uint8_t *wbuf;
	size_t wlen;
	double sid;
	/* verification */
	int anchored_v, anchored_a;
	size_t nextv, nexta;
	int64_t off_ts;          /* ref ts - received ts at the anchor keyframe */
	uint32_t last_ts[2];
	int have_ts[2];
	uint64_t msgs, video, audio, seqhdrs, meta, bytes;
	uint64_t mismatches, skips, skipped, backwards, first_not_key;
	int closed, failed_setup;
	double t_connect, t_first_video;
	/* throttle */
	double rate;             /* bytes/s, 0 = none */
	double tokens, t_tokens;
	int paused;
	char why[96];
};

struct play {
	const char *host, *app, *stream;
	int port;
	struct sockaddr_in sa;
	struct ref ref;
	int n, min_video, expect_skips, loop, json, throttled, rcvbuf;
	double seconds, ramp_ms, throttle_kbit;
	int ep;
	struct viewer *v;
	char urlbuf[512];
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- reference ---- */

static int load_ref(struct ref *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;
	if (!f || fstat(fileno(f), &sb) != 0) {
		perror(path);
		return -1;
	}
	size_t len = (size_t)sb.st_size;
	r->file = malloc(len + 1);
	if (!r->file || fread(r->file, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	fclose(f);
	size_t cap = len / 16 + 16;
	r->v = calloc(cap, sizeof(*r->v));
	r->a = calloc(cap, sizeof(*r->a));
	r->seq = calloc(cap, sizeof(*r->seq));
	if (!r->v || !r->a || !r->seq)
		return -1;
	struct flv_reader rd;
	struct flv_item it;
	size_t off = 0;
	int rc;
	flv_reader_init(&rd, 0);
	while ((rc = flv_reader_next(&rd, r->file + off, len - off, &it)) > 0) {
		off += (size_t)rc;
		if (it.kind != FLV_ITEM_TAG || (it.tag.type != 8 && it.tag.type != 9))
			continue;
		unsigned fl = cp_msg_classify(it.tag.type, it.tag.data, it.tag.data_size);
		struct ref_msg m = { it.tag.timestamp, it.tag.data_size, it.tag.data,
				     (fl & CP_MSG_F_KEYFRAME) != 0 };
		if (fl & CP_MSG_F_SEQHDR)
			r->seq[r->nseq++] = m;
		else if (it.tag.type == 9)
			r->v[r->nv++] = m;
		else
			r->a[r->na++] = m;
	}
	if (rc < 0 || r->nv == 0) {
		fprintf(stderr, "%s: not a usable FLV (%d, %zu video tags)\n", path, rc, r->nv);
		return -1;
	}
	return 0;
}

static int same(const struct ref_msg *r, const uint8_t *p, uint32_t len)
{
	return r->len == len && memcmp(r->p, p, len) == 0;
}

/* ---- verification ---- */

static void note(struct viewer *v, const char *fmt, const char *what, uint64_t n)
{
	if (v->why[0] == '\0')
		snprintf(v->why, sizeof(v->why), fmt, what, (unsigned long long)n);
}

/* Index of the keyframe of REF equal to p (search from `from`), or -1. */
static long find_key(const struct ref *r, size_t from, const uint8_t *p, uint32_t len)
{
	for (size_t i = from; i < r->nv; i++)
		if (r->v[i].key && same(&r->v[i], p, len))
			return (long)i;
	return -1;
}

static void check_video(struct play *pl, struct viewer *v, const struct rtmp_msg *m, int key)
{
	const struct ref *r = &pl->ref;
	if (v->anchored_v && pl->loop && v->nextv == r->nv)
		v->nextv = 0;
	if (v->anchored_v && v->nextv < r->nv && same(&r->v[v->nextv], m->data, m->length)) {
		v->nextv++;
		return;
	}
	long j = key ? find_key(r, v->anchored_v ? v->nextv : 0, m->data, m->length) : -1;
	if (j < 0 && key && pl->loop)
		j = find_key(r, 0, m->data, m->length);
	if (!v->anchored_v) {
		if (!key) {
			v->first_not_key++;
			v->mismatches++;
			note(v, "first %s is not a keyframe (%llu)", "video", v->video);
			return;
		}
		if (j < 0) {
			v->mismatches++;
			note(v, "%s keyframe not in the reference (msg %llu)", "video", v->video);
			return;
		}
	} else if (j >= 0 && pl->expect_skips) {
		v->skips++;
		v->skipped += (uint64_t)(j >= (long)v->nextv ? (size_t)j - v->nextv : 0);
	} else {
		v->mismatches++;
		note(v, "%s message %llu differs from the reference run", "video", v->video);
		if (j < 0)
			return;
	}
	v->anchored_v = 1;
	v->anchored_a = 0;
	v->nextv = (size_t)j + 1;
	v->off_ts = (int64_t)r->v[j].ts - (int64_t)m->timestamp;
}

/* Anchor audio: the REF frame equal to p nearest in time to where the video
 * anchor puts it. */
static long find_audio(const struct ref *r, const struct rtmp_msg *m, int64_t off)
{
	long best = -1;
	int64_t bestd = AUDIO_ANCHOR_MS + 1;
	int64_t want = (int64_t)m->timestamp + off;
	for (size_t i = 0; i < r->na; i++) {
		int64_t d = (int64_t)r->a[i].ts - want;
		if (d < 0)
			d = -d;
		if (d < bestd && same(&r->a[i], m->data, m->length)) {
			bestd = d;
			best = (long)i;
		}
	}
	return best;
}

static void check_audio(struct play *pl, struct viewer *v, const struct rtmp_msg *m)
{
	const struct ref *r = &pl->ref;
	if (!v->anchored_v)
		return; /* before the first keyframe: nothing to anchor to */
	if (v->anchored_a && pl->loop && v->nexta == r->na)
		v->nexta = 0;
	if (v->anchored_a && v->nexta < r->na && same(&r->a[v->nexta], m->data, m->length)) {
		v->nexta++;
		return;
	}
	long j = find_audio(r, m, v->off_ts);
	if (v->anchored_a && !pl->expect_skips) {
		v->mismatches++;
		note(v, "%s message %llu differs from the reference run", "audio", v->audio);
	} else if (j < 0) {
		v->mismatches++;
		note(v, "%s message %llu not in the reference", "audio", v->audio);
	}
	if (j >= 0) {
		v->anchored_a = 1;
		v->nexta = (size_t)j + 1;
	}
}

static void check_seq(struct play *pl, struct viewer *v, const struct rtmp_msg *m)
{
	v->seqhdrs++;
	for (size_t i = 0; i < pl->ref.nseq; i++)
		if (same(&pl->ref.seq[i], m->data, m->length))
			return;
	v->mismatches++;
	note(v, "%s sequence header %llu not in the reference", m->type == 9 ? "video" : "audio",
	     v->seqhdrs);
}

static void check_ts(struct viewer *v, const struct rtmp_msg *m)
{
	int k = m->type == 9;
	if (v->have_ts[k] && (int32_t)(m->timestamp - v->last_ts[k]) < 0) {
		v->backwards++;
		note(v, "%s timestamp went backwards (msg %llu)", k ? "video" : "audio", v->msgs);
	}
	v->last_ts[k] = m->timestamp;
	v->have_ts[k] = 1;
}

/* ---- RTMP client ---- */

struct ctx {
	struct play *pl;
	struct viewer *v;
};

static int on_out(void *c, const uint8_t *p, size_t n)
{
	struct viewer *v = ((struct ctx *)c)->v;
	if (v->wlen + n > WBUF_MAX)
		return -ENOBUFS;
	memcpy(v->wbuf + v->wlen, p, n);
	v->wlen += n;
	return 0;
}

static int send_cmd(struct viewer *v, const uint8_t *b, int len, uint32_t msid)
{
	if (len < 0)
		return len;
	struct rtmp_msg m = { 0, (uint32_t)len, msid, RTMP_CSID_COMMAND, RTMP_MSG_COMMAND_AMF0, b };
	return rtmp_conn_send(&v->rc, &m);
}

static void on_command(struct play *pl, struct viewer *v, const struct rtmp_msg *m)
{
	struct rtmp_amf0_node nodes[128];
	struct rtmp_amf0_arena a;
	struct rtmp_cmd c;
	uint8_t b[512];
	rtmp_amf0_arena_init(&a, nodes, 128);
	if (rtmp_cmd_parse(m->type, m->data, m->length, &a, &c) != 0)
		return;
	if (c.kind == RTMP_CMD_ERROR || (c.kind == RTMP_CMD_ONSTATUS && c.level.ptr &&
					  rtmp_str_eq(c.level, "error"))) {
		snprintf(v->why, sizeof(v->why), "server error %.*s", (int)c.code.len,
			 c.code.ptr ? c.code.ptr : "");
		v->failed_setup = 1;
		return;
	}
	if (c.kind != RTMP_CMD_RESULT)
		return;
	if (v->st == V_CONNECT) {
		v->st = V_CREATE;
		send_cmd(v, b, rtmp_cmd_build_create_stream(b, sizeof(b), 2), 0);
	} else if (v->st == V_CREATE) {
		v->sid = c.stream_id > 0 ? c.stream_id : 1;
		v->st = V_PLAY;
		send_cmd(v, b, rtmp_cmd_build_play(b, sizeof(b), 0, pl->stream, -2, -1, -1),
			 (uint32_t)v->sid);
	}
}

static int on_msg(void *c, const struct rtmp_msg *m)
{
	struct play *pl = ((struct ctx *)c)->pl;
	struct viewer *v = ((struct ctx *)c)->v;
	if (m->type == RTMP_MSG_COMMAND_AMF0 || m->type == RTMP_MSG_COMMAND_AMF3) {
		on_command(pl, v, m);
		return 0;
	}
	if (m->type == RTMP_MSG_DATA_AMF0) {
		v->meta++;
		return 0;
	}
	if (m->type != RTMP_MSG_AUDIO && m->type != RTMP_MSG_VIDEO)
		return 0;
	v->msgs++;
	v->bytes += m->length;
	unsigned fl = cp_msg_classify(m->type, m->data, m->length);
	if (fl & CP_MSG_F_SEQHDR) {
		check_seq(pl, v, m);
		return 0;
	}
	check_ts(v, m);
	if (m->type == RTMP_MSG_VIDEO) {
		if (v->video++ == 0)
			v->t_first_video = now_s();
		check_video(pl, v, m, (fl & CP_MSG_F_KEYFRAME) != 0);
	} else {
		v->audio++;
		check_audio(pl, v, m);
	}
	return 0;
}

static int rnd(void *c, uint8_t *b, size_t n)
{
	return getrandom(b, n, 0) == (ssize_t)n ? 0 : -EIO;
}

/* ---- sockets ---- */

static void ep_set(struct play *pl, struct viewer *v, int op)
{
	struct epoll_event ev = { 0 };
	ev.data.ptr = v;
	ev.events = (v->paused ? 0 : EPOLLIN) | (v->wlen || v->st == V_CONNECTING ? EPOLLOUT : 0);
	epoll_ctl(pl->ep, op, v->fd, &ev);
}

static void v_close(struct play *pl, struct viewer *v, const char *why)
{
	if (v->fd >= 0) {
		epoll_ctl(pl->ep, EPOLL_CTL_DEL, v->fd, NULL);
		close(v->fd);
		v->fd = -1;
	}
	if (why && !v->why[0])
		snprintf(v->why, sizeof(v->why), "%s", why);
	if (v->st != V_DONE)
		v->closed = 1;
	v->st = V_DONE;
}

static int flush_out(struct viewer *v)
{
	size_t off = 0;
	while (off < v->wlen) {
		ssize_t w = send(v->fd, v->wbuf + off, v->wlen - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN)
				break;
			return -1;
		}
		off += (size_t)w;
	}
	memmove(v->wbuf, v->wbuf + off, v->wlen - off);
	v->wlen -= off;
	return 0;
}

static void v_start(struct play *pl, struct viewer *v)
{
	v->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (v->fd < 0) {
		v_close(pl, v, "socket failed");
		return;
	}
	int rb = pl->rcvbuf ? pl->rcvbuf : (v->rate > 0 ? 32768 : 0);
	if (rb > 0)
		setsockopt(v->fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	int one = 1;
	setsockopt(v->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	v->t_connect = now_s();
	v->tokens = 0;
	v->t_tokens = v->t_connect;
	if (connect(v->fd, (struct sockaddr *)&pl->sa, sizeof(pl->sa)) != 0 && errno != EINPROGRESS) {
		v_close(pl, v, "connect failed");
		return;
	}
	v->st = V_CONNECTING;
	ep_set(pl, v, EPOLL_CTL_ADD);
}

static void start_rtmp(struct play *pl, struct viewer *v, const uint8_t *rest, size_t n)
{
	struct rtmp_conn_config cfg;
	memset(&cfg, 0, sizeof(cfg)); /* zero state and limits: defaults */
	struct ctx *cx = malloc(sizeof(*cx));
	cx->pl = pl;
	cx->v = v;
	cfg.on_msg = on_msg;
	cfg.on_out = on_out;
	cfg.ctx = cx;
	if (rtmp_conn_init(&v->rc, &cfg) != 0) {
		free(cx);
		v_close(pl, v, "rtmp init failed");
		return;
	}
	v->rc_ready = 1;
	uint8_t b[512];
	char tc[256];
	snprintf(tc, sizeof(tc), "rtmp://%s:%d/%s", pl->host, pl->port, pl->app);
	struct rtmp_connect_params cp = { .app = pl->app, .tc_url = tc };
	v->st = V_CONNECT;
	send_cmd(v, b, rtmp_cmd_build_connect(b, sizeof(b), 1, &cp), 0);
	if (n > 0 && rtmp_conn_input(&v->rc, rest, n) != 0)
		v_close(pl, v, "protocol error");
}

static void on_bytes(struct play *pl, struct viewer *v, const uint8_t *p, size_t n)
{
	if (v->st == V_HS) {
		uint8_t out[RTMP_HS_OUT_MAX];
		size_t olen = 0;
		int used = rtmp_hs_feed(&v->hs, p, n, out, sizeof(out), &olen);
		if (used < 0) {
			v_close(pl, v, "handshake failed");
			return;
		}
		if (olen) {
			memcpy(v->wbuf + v->wlen, out, olen);
			v->wlen += olen;
		}
		if (rtmp_hs_done(&v->hs))
			start_rtmp(pl, v, p + used, n - (size_t)used);
		return;
	}
	if (rtmp_conn_input(&v->rc, p, n) != 0)
		v_close(pl, v, "protocol error");
}

/* Bytes this viewer may read now (throttle), refilling its bucket. */
static size_t allowance(struct viewer *v, double now)
{
	if (v->rate <= 0)
		return RBUF;
	v->tokens += (now - v->t_tokens) * v->rate;
	v->t_tokens = now;
	if (v->tokens > v->rate / 10 + RBUF)
		v->tokens = v->rate / 10 + RBUF; /* burst: 100 ms */
	return v->tokens < 1 ? 0 : (v->tokens > RBUF ? RBUF : (size_t)v->tokens);
}

static void on_event(struct play *pl, struct viewer *v, uint32_t evs, uint8_t *buf)
{
	if (v->st == V_CONNECTING && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			v_close(pl, v, "connect refused");
			return;
		}
		struct rtmp_hs_config cfg = { .rand = rnd };
		rtmp_hs_client_init(&v->hs, &cfg);
		int n = rtmp_hs_client_start(&v->hs, v->wbuf, WBUF_MAX);
		v->wlen = n > 0 ? (size_t)n : 0;
		v->st = V_HS;
	}
	if (evs & EPOLLIN) {
		size_t want = allowance(v, now_s());
		ssize_t n = want ? recv(v->fd, buf, want, 0) : 0;
		if (want && (n == 0 || (n < 0 && errno != EAGAIN))) {
			v_close(pl, v, "server closed the connection");
			return;
		}
		if (n > 0) {
			if (v->rate > 0)
				v->tokens -= (double)n;
			on_bytes(pl, v, buf, (size_t)n);
		}
		if (v->st == V_DONE)
			return;
		if (v->rate > 0 && v->tokens < 1)
			v->paused = 1;
	}
	if (v->wlen && flush_out(v) != 0) {
		v_close(pl, v, "send failed");
		return;
	}
	ep_set(pl, v, EPOLL_CTL_MOD);
}

static void unpause(struct play *pl, double now)
{
	for (int i = 0; i < pl->n; i++) {
		struct viewer *v = &pl->v[i];
		if (v->paused && v->st != V_DONE && allowance(v, now) >= 1) {
			v->paused = 0;
			ep_set(pl, v, EPOLL_CTL_MOD);
		}
	}
}

static void run(struct play *pl)
{
	uint8_t *buf = malloc(RBUF);
	struct epoll_event evs[256];
	int started = 0;
	double next_start = now_s(), end = 0;
	for (;;) {
		double now = now_s();
		while (started < pl->n && now >= next_start) {
			v_start(pl, &pl->v[started++]);
			next_start = now + pl->ramp_ms / 1000.0;
		}
		if (started == pl->n && end == 0)
			end = now + pl->seconds;
		if (end && now >= end)
			break;
		unpause(pl, now);
		int n = epoll_wait(pl->ep, evs, 256, 5);
		for (int i = 0; i < n; i++)
			on_event(pl, evs[i].data.ptr, evs[i].events, buf);
	}
	free(buf);
}

/* ---- report ---- */

static int viewer_ok(const struct play *pl, const struct viewer *v)
{
	return !v->failed_setup && !v->closed && v->mismatches == 0 && v->backwards == 0 &&
	       v->video >= (uint64_t)pl->min_video && (pl->expect_skips || v->skips == 0);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *s, int n, double p)
{
	if (n == 0)
		return -1;
	int i = (int)(p * (n - 1) + 0.5);
	return s[i];
}

static int report(struct play *pl)
{
	double *join = calloc((size_t)pl->n + 1, sizeof(double));
	int nj = 0, ok = 0;
	uint64_t mism = 0, skips = 0, video = 0, audio = 0, bytes = 0;
	if (pl->json)
		printf("{\"viewers\":[");
	for (int i = 0; i < pl->n; i++) {
		struct viewer *v = &pl->v[i];
		double j = v->video ? (v->t_first_video - v->t_connect) * 1000 : -1;
		if (v->video)
			join[nj++] = j;
		int good = viewer_ok(pl, v);
		ok += good;
		mism += v->mismatches;
		skips += v->skips;
		video += v->video;
		audio += v->audio;
		bytes += v->bytes;
		if (pl->json)
			printf("%s{\"id\":%d,\"ok\":%d,\"msgs\":%llu,\"video\":%llu,\"audio\":%llu,"
			       "\"bytes\":%llu,\"mismatches\":%llu,\"skips\":%llu,\"skipped\":%llu,"
			       "\"seqhdrs\":%llu,\"join_ms\":%.1f,\"throttled\":%d,\"why\":\"%s\"}",
			       i ? "," : "", i, good, (unsigned long long)v->msgs,
			       (unsigned long long)v->video, (unsigned long long)v->audio,
			       (unsigned long long)v->bytes, (unsigned long long)v->mismatches,
			       (unsigned long long)v->skips, (unsigned long long)v->skipped,
			       (unsigned long long)v->seqhdrs, j, v->rate > 0, v->why);
		else
			printf("RESULT rtmpplay viewer=%d ok=%d msgs=%llu video=%llu audio=%llu bytes=%llu "
			       "mismatches=%llu skips=%llu skipped=%llu join_ms=%.1f throttled=%d%s%s\n",
			       i, good, (unsigned long long)v->msgs, (unsigned long long)v->video,
			       (unsigned long long)v->audio, (unsigned long long)v->bytes,
			       (unsigned long long)v->mismatches, (unsigned long long)v->skips,
			       (unsigned long long)v->skipped, j, v->rate > 0, v->why[0] ? " why=" : "",
			       v->why);
	}
	qsort(join, (size_t)nj, sizeof(double), cmp_d);
	double p50 = pct(join, nj, 0.5), p99 = pct(join, nj, 0.99);
	if (pl->json)
		printf("],\"summary\":{\"viewers\":%d,\"ok\":%d,\"mismatches\":%llu,\"skips\":%llu,"
		       "\"video\":%llu,\"audio\":%llu,\"bytes\":%llu,\"join_p50_ms\":%.1f,"
		       "\"join_p99_ms\":%.1f}}\n",
		       pl->n, ok, (unsigned long long)mism, (unsigned long long)skips,
		       (unsigned long long)video, (unsigned long long)audio, (unsigned long long)bytes,
		       p50, p99);
	else
		printf("RESULT rtmpplay_summary viewers=%d ok=%d mismatches=%llu skips=%llu video=%llu "
		       "audio=%llu bytes=%llu join_p50_ms=%.1f join_p99_ms=%.1f\n",
		       pl->n, ok, (unsigned long long)mism, (unsigned long long)skips,
		       (unsigned long long)video, (unsigned long long)audio, (unsigned long long)bytes,
		       p50, p99);
	free(join);
	return ok == pl->n ? 0 : 1;
}

/* ---- options ---- */

static int parse_url(struct play *pl, const char *url)
{
	char *buf = pl->urlbuf;
	if (strncmp(url, "rtmp://", 7) != 0 || strlen(url) >= sizeof(pl->urlbuf))
		return -1;
	snprintf(buf, sizeof(pl->urlbuf), "%s", url + 7);
	char *app = strchr(buf, '/');
	if (!app)
		return -1;
	*app++ = '\0';
	char *stream = strrchr(app, '/');
	if (!stream || stream == app || !stream[1])
		return -1;
	*stream++ = '\0';
	char *colon = strchr(buf, ':');
	pl->port = 1935;
	if (colon) {
		*colon = '\0';
		pl->port = atoi(colon + 1);
	}
	pl->host = buf;
	pl->app = app;
	pl->stream = stream;
	pl->sa.sin_family = AF_INET;
	pl->sa.sin_port = htons((uint16_t)pl->port);
	return inet_pton(AF_INET, pl->host, &pl->sa.sin_addr) == 1 ? 0 : -1;
}

static int usage(void)
{
	fprintf(stderr, "usage: cp_rtmpplay --url rtmp://HOST[:PORT]/APP/STREAM --ref REF.flv "
		"[-n N] [--seconds S] [--ramp MS] [--min-video N] [--expect-skips] [--loop] "
		"[--throttle KBIT] [--throttled M] [--rcvbuf B] [--json]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct play pl;
	memset(&pl, 0, sizeof(pl));
	pl.n = 1;
	pl.seconds = 10;
	pl.ramp_ms = 5;
	pl.min_video = 1;
	pl.throttled = -1;
	const char *url = NULL, *ref = NULL;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int flag = 1;
		if (!strcmp(o, "--expect-skips")) pl.expect_skips = 1;
		else if (!strcmp(o, "--loop")) pl.loop = 1;
		else if (!strcmp(o, "--json")) pl.json = 1;
		else flag = 0;
		if (flag)
			continue;
		if (!val)
			return usage();
		i++;
		if (!strcmp(o, "--url")) url = val;
		else if (!strcmp(o, "--ref")) ref = val;
		else if (!strcmp(o, "-n")) pl.n = atoi(val);
		else if (!strcmp(o, "--seconds")) pl.seconds = atof(val);
		else if (!strcmp(o, "--ramp")) pl.ramp_ms = atof(val);
		else if (!strcmp(o, "--min-video")) pl.min_video = atoi(val);
		else if (!strcmp(o, "--throttle")) pl.throttle_kbit = atof(val);
		else if (!strcmp(o, "--throttled")) pl.throttled = atoi(val);
		else if (!strcmp(o, "--rcvbuf")) pl.rcvbuf = atoi(val);
		else return usage();
	}
	if (!url || !ref || pl.n < 1 || pl.n > 100000 || parse_url(&pl, url) != 0)
		return usage();
	if (load_ref(&pl.ref, ref) != 0)
		return 2;
	pl.v = calloc((size_t)pl.n, sizeof(*pl.v));
	pl.ep = epoll_create1(0);
	if (!pl.v || pl.ep < 0)
		return 2;
	for (int i = 0; i < pl.n; i++) {
		struct viewer *v = &pl.v[i];
		v->idx = i;
		v->fd = -1;
		v->wbuf = malloc(WBUF_MAX);
		if (pl.throttle_kbit > 0 && (pl.throttled < 0 || i < pl.throttled))
			v->rate = pl.throttle_kbit * 1000 / 8;
	}
	run(&pl);
	int rc = report(&pl);
	for (int i = 0; i < pl.n; i++) {
		if (pl.v[i].rc_ready) {
			free(pl.v[i].rc.ctx);
			rtmp_conn_fini(&pl.v[i].rc);
		}
		if (pl.v[i].fd >= 0)
			close(pl.v[i].fd);
		free(pl.v[i].wbuf);
	}
	free(pl.v);
	free(pl.ref.v);
	free(pl.ref.a);
	free(pl.ref.seq);
	free(pl.ref.file);
	return rc;
}
