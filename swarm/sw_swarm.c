/* sw_swarm: viewers, the poll loop and per-viewer measurements. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "swarm/sw_swarm.h"

#define TIMER_TICK_US 10000
#define ARP_RETRY_US 200000
#define ARP_GIVE_UP_US 15000000
#define PROGRESS_US 1000000
#define MAX_REF_RECS (4u << 20)
#define REF_FILE_MAX (1u << 30)
#define SOURCE_ENDLESS (1ULL << 62)
#define MAX_VIDEO_GAP_MS 1000 /* larger timestamp steps are jumps, not content */

static inline uint64_t now_us(const struct sw_swarm *sw)
{
	return rte_get_tsc_cycles() * 1000000 / sw->hz;
}

/* ---- TCP hooks ---- */

static int tcp_emit(void *ctx, const struct sw_tcp_out *o)
{
	struct sw_viewer *v = ctx;

	return sw_net_tx_tcp(&v->sw->net, v->idx, o);
}

static void viewer_fail(struct sw_viewer *v, const char *why)
{
	if (v->vstate == SW_V_FAILED || v->vstate == SW_V_CLOSED)
		return;
	if (v->vstate == SW_V_JOINING || v->vstate == SW_V_CONNECTING || v->t_first_us == 0)
		v->sw->failed++;
	v->vstate = SW_V_FAILED;
	v->t_end_us = v->sw->now_us;
	snprintf(v->reason, sizeof(v->reason), "%s", why);
}

static void first_media(struct sw_viewer *v)
{
	if (v->t_first_us != 0)
		return;
	v->t_first_us = v->sw->now_us;
	v->t_last_media_us = v->sw->now_us;
	v->vstate = SW_V_PLAYING;
	v->sw->joined++;
	if (v->sw->t_first_join_us == 0) {
		v->sw->t_first_join_us = v->sw->now_us;
		v->sw->t_stop_us = v->sw->now_us + (uint64_t)(v->sw->o.duration_s * 1e6);
	}
}

static int source_deliver(struct sw_viewer *v, const uint8_t *p, uint32_t n)
{
	size_t bad = dp_pat_check(&v->sw->pat, v->app_bytes, p, n);

	if (bad != n && v->src_bad++ == 0)
		snprintf(v->reason, sizeof(v->reason), "pattern mismatch at byte %llu",
			 (unsigned long long)(v->app_bytes + bad));
	first_media(v);
	v->app_bytes += n;
	return 0;
}

static int tcp_deliver(void *ctx, const uint8_t *p, uint32_t n)
{
	struct sw_viewer *v = ctx;

	if (v->play == NULL)
		return source_deliver(v, p, n);
	v->app_bytes += n;
	return sw_play_input(v->play, p, n);
}

static const struct sw_tcp_ops tcp_ops = { tcp_emit, tcp_deliver };

/* ---- RTMP hooks ---- */

static int play_send(void *ctx, const uint8_t *p, size_t n)
{
	struct sw_viewer *v = ctx;

	return sw_tcp_send(&v->tcp, p, (uint32_t)n, v->sw->now_us, &tcp_ops, v);
}

static void note_timing(struct sw_viewer *v, const struct rtmp_msg *m)
{
	uint64_t gap = v->sw->now_us - v->t_last_media_us;

	if (v->t_first_us != 0 && gap > v->max_gap_us)
		v->max_gap_us = gap;
	if (v->t_first_us != 0 && gap >= (uint64_t)v->sw->o.stall_ms * 1000)
		v->stalls++;
	v->t_last_media_us = v->sw->now_us;
	if (m->type != RTMP_MSG_VIDEO)
		return;
	if (v->have_ts) {
		uint32_t d = m->timestamp - v->last_video_ts;
		if (d <= MAX_VIDEO_GAP_MS)
			v->content_ms += d;
	}
	v->last_video_ts = m->timestamp;
	v->have_ts = 1;
}

static int play_media(void *ctx, const struct rtmp_msg *m)
{
	struct sw_viewer *v = ctx;
	struct sw_rec r;
	enum sw_verify_result res;

	if (m->type == RTMP_MSG_VIDEO && m->length >= 2 && !(m->data[0] & 0x80) && m->data[1] == 0)
		; /* a codec header is not a picture: no join yet */
	else if (m->type == RTMP_MSG_VIDEO)
		first_media(v);
	if (v->t_first_us != 0 || m->type == RTMP_MSG_VIDEO)
		note_timing(v, m);
	if (!v->verify)
		return 0;
	sw_rec_make(&r, m->type, m->timestamp, m->data, m->length);
	res = sw_verify(&v->sw->ref, &v->cur, &r);
	if (res == SW_V_MISMATCH && v->cur.mismatches + v->cur.cfg_mismatches == 1)
		snprintf(v->reason, sizeof(v->reason), "mismatch: type %u ts %u len %u", m->type,
			 m->timestamp, m->length);
	return 0;
}

static const struct sw_play_hooks play_hooks = { play_send, play_media };

/* ---- viewers ---- */

static int viewer_connect(struct sw_swarm *sw, struct sw_viewer *v)
{
	struct sw_tcp_cfg tc = {
		.iss = (uint32_t)rte_rand(),
		.mss = (uint16_t)sw->o.mss,
		.wscale = (uint8_t)sw->o.wscale,
		.ack_every = (uint8_t)sw->o.ack_every,
		.rwnd = sw->o.rwnd,
		.sack = (uint8_t)sw->o.sack,
		.timestamps = (uint8_t)sw->o.timestamps,
	};
	int rc;

	if ((rc = sw_tcp_init(&v->tcp, &tc)) != 0)
		return rc;
	if (sw->o.mode == SW_MODE_RTMP) {
		v->play = malloc(sizeof(*v->play));
		if (v->play == NULL)
			return -ENOMEM;
		if ((rc = sw_play_init(v->play, &sw->play_cfg, &play_hooks, v, rte_rand())) != 0) {
			free(v->play);
			v->play = NULL;
			return rc;
		}
	}
	v->t_syn_us = sw->now_us;
	v->t_tokens_us = sw->now_us;
	v->vstate = SW_V_CONNECTING;
	return sw_tcp_connect(&v->tcp, sw->now_us, &tcp_ops, v);
}

/* The TCP handshake completed: start the application. */
static void viewer_established(struct sw_viewer *v)
{
	uint8_t req[8];
	int rc;

	v->t_est_us = v->sw->now_us;
	v->vstate = SW_V_JOINING;
	if (v->play != NULL) {
		rc = sw_play_start(v->play);
	} else {
		for (int k = 0; k < 8; k++)
			req[k] = (uint8_t)(SOURCE_ENDLESS >> (56 - 8 * k));
		rc = sw_tcp_send(&v->tcp, req, 8, v->sw->now_us, &tcp_ops, v);
	}
	if (rc != 0)
		viewer_fail(v, "could not start the application");
}

/* Policer for capped viewers: a token bucket of 64 KiB at cap_kbps. */
static int policed(struct sw_viewer *v, uint32_t len)
{
	double rate = v->sw->o.cap_kbps * 1000.0 / 8 / 1e6; /* bytes per us */

	v->tokens += (double)(v->sw->now_us - v->t_tokens_us) * rate;
	v->t_tokens_us = v->sw->now_us;
	if (v->tokens > 65536)
		v->tokens = 65536;
	if (v->tokens < len)
		return 1;
	v->tokens -= len;
	return 0;
}

static void touch(struct sw_swarm *sw, struct sw_viewer *v)
{
	if (!v->touched) {
		v->touched = 1;
		sw->touched[sw->ntouched++] = v->idx;
	}
}

static void on_segment(void *ctx, uint32_t idx, const struct sw_seg *s)
{
	struct sw_swarm *sw = ctx;
	struct sw_viewer *v = &sw->v[idx];
	enum sw_tcp_state before = v->tcp.state;
	int rc;

	if (v->vstate == SW_V_IDLE || v->vstate == SW_V_CLOSED)
		return;
	if (s->len > 0 && sw->o.loss_ppm && (uint32_t)(rte_rand() % 1000000) < sw->o.loss_ppm) {
		v->lost++;
		return;
	}
	if (s->len > 0 && v->capped && policed(v, s->len)) {
		v->policed++;
		return;
	}
	rc = sw_tcp_input(&v->tcp, s, sw->now_us, &tcp_ops, v);
	touch(sw, v);
	if (rc != 0) {
		viewer_fail(v, v->play && v->play->reason[0] ? v->play->reason : "application error");
		sw_tcp_abort(&v->tcp, sw->now_us, &tcp_ops, v);
		return;
	}
	if (before == SW_TCP_SYN_SENT && v->tcp.state == SW_TCP_ESTABLISHED)
		viewer_established(v);
	if (v->tcp.state == SW_TCP_FAILED)
		viewer_fail(v, "connection reset by the server");
	else if (v->tcp.state == SW_TCP_FIN_SENT || v->tcp.state == SW_TCP_DONE)
		viewer_fail(v, "connection closed by the server");
}

/* ---- loop ---- */

static void flush_acks(struct sw_swarm *sw)
{
	for (uint32_t k = 0; k < sw->ntouched; k++) {
		struct sw_viewer *v = &sw->v[sw->touched[k]];
		v->touched = 0;
		sw_tcp_flush_ack(&v->tcp, sw->now_us, &tcp_ops, v);
	}
	sw->ntouched = 0;
}

static void start_viewers(struct sw_swarm *sw)
{
	uint64_t delay = (uint64_t)(sw->o.delay_s * 1e6), due;

	if (sw->now_us - sw->t0_us < delay)
		return;
	due = (uint64_t)((double)(sw->now_us - sw->t0_us - delay) * sw->o.join_rate / 1e6) + 1;

	while (sw->started < sw->o.nviewers && sw->started < due) {
		struct sw_viewer *v = &sw->v[sw->started++];
		if (viewer_connect(sw, v) != 0)
			viewer_fail(v, "out of memory");
	}
}

static void timers(struct sw_swarm *sw)
{
	uint64_t jt = (uint64_t)(sw->o.join_timeout_s * 1e6);

	for (uint32_t k = 0; k < sw->started; k++) {
		struct sw_viewer *v = &sw->v[k];
		if (v->vstate != SW_V_CONNECTING && v->vstate != SW_V_JOINING &&
		    v->vstate != SW_V_PLAYING)
			continue;
		if (sw_tcp_timer(&v->tcp, sw->now_us, &tcp_ops, v))
			viewer_fail(v, "retransmissions exhausted");
		else if (v->t_first_us == 0 && sw->now_us - v->t_syn_us > jt)
			viewer_fail(v, v->vstate == SW_V_CONNECTING ? "no SYN-ACK" : "join timeout");
	}
}

static uint64_t total_app_bytes(const struct sw_swarm *sw)
{
	uint64_t b = 0;

	for (uint32_t k = 0; k < sw->started; k++)
		b += sw->v[k].app_bytes;
	return b;
}

static void progress(struct sw_swarm *sw)
{
	uint64_t b = total_app_bytes(sw), mism = 0, skips = 0, stalls = 0;
	double secs = (double)(sw->now_us - sw->last_progress_us) / 1e6;

	for (uint32_t k = 0; k < sw->started; k++) {
		mism += sw->v[k].cur.mismatches + sw->v[k].cur.cfg_mismatches + sw->v[k].src_bad;
		skips += sw->v[k].cur.skips;
		stalls += sw->v[k].stalls;
	}
	fprintf(stderr,
		"swarm: t=%.0fs started=%u joined=%u failed=%u rx=%.1fMbit/s mismatches=%llu "
		"skips=%llu stalls=%llu busy=%.0f%%\n",
		(double)(sw->now_us - sw->t0_us) / 1e6, sw->started, sw->joined, sw->failed,
		secs > 0 ? (double)(b - sw->prog_bytes) * 8 / secs / 1e6 : 0,
		(unsigned long long)mism, (unsigned long long)skips, (unsigned long long)stalls,
		sw->loop_cyc ? 100.0 * (double)sw->busy_cyc / (double)sw->loop_cyc : 0);
	sw->prog_bytes = b;
	sw->last_progress_us = sw->now_us;
}

static void periodic(struct sw_swarm *sw)
{
	if (sw->now_us - sw->last_timer_us >= TIMER_TICK_US) {
		timers(sw);
		sw->last_timer_us = sw->now_us;
	}
	if (sw->o.progress && sw->now_us - sw->last_progress_us >= PROGRESS_US)
		progress(sw);
}

static int wait_arp(struct sw_swarm *sw, int (*quit)(void))
{
	uint64_t start = now_us(sw), last = 0;

	while (!sw->net.rmac_ok) {
		sw->now_us = now_us(sw);
		if (sw->now_us - start > ARP_GIVE_UP_US || quit())
			return -ETIMEDOUT;
		if (last == 0 || sw->now_us - last >= ARP_RETRY_US) {
			sw_net_arp_request(&sw->net);
			sw_net_flush(&sw->net);
			last = sw->now_us;
		}
		sw_net_rx(&sw->net, on_segment, sw);
		sw_net_flush(&sw->net);
	}
	return 0;
}

static int all_done(const struct sw_swarm *sw)
{
	return sw->started == sw->o.nviewers && sw->failed == sw->o.nviewers;
}

static void finish(struct sw_swarm *sw)
{
	for (uint32_t k = 0; k < sw->started; k++) {
		struct sw_viewer *v = &sw->v[k];
		if (v->vstate != SW_V_FAILED)
			v->t_end_us = sw->now_us;
		if (v->vstate == SW_V_PLAYING || v->vstate == SW_V_JOINING ||
		    v->vstate == SW_V_CONNECTING)
			v->vstate = SW_V_CLOSED;
		sw_tcp_abort(&v->tcp, sw->now_us, &tcp_ops, v);
		if (sw->net.ntx >= SW_NET_BURST)
			sw_net_flush(&sw->net);
	}
	sw_net_flush(&sw->net);
}

int sw_swarm_run(struct sw_swarm *sw, int (*quit)(void))
{
	uint64_t setup_limit;
	int rc;

	if ((rc = wait_arp(sw, quit)) != 0)
		return rc;
	sw->t0_us = sw->last_progress_us = sw->last_timer_us = now_us(sw);
	setup_limit = sw->t0_us + (uint64_t)((sw->o.delay_s + sw->o.nviewers / sw->o.join_rate +
					      sw->o.join_timeout_s + sw->o.duration_s) * 1e6);
	for (;;) {
		uint64_t c0 = rte_get_tsc_cycles();
		sw->now_us = c0 * 1000000 / sw->hz;
		if ((sw->t_stop_us && sw->now_us >= sw->t_stop_us) || sw->now_us >= setup_limit ||
		    all_done(sw) || ((++sw->loops & 0x3ff) == 0 && quit()))
			break;
		uint16_t n = sw_net_rx(&sw->net, on_segment, sw);
		flush_acks(sw);
		start_viewers(sw);
		periodic(sw);
		/* Busy = received or sent something; frames the port keeps
		 * refusing do not count, or a stalled server would look like a
		 * saturated generator. */
		uint16_t t = sw_net_flush(&sw->net);
		uint64_t c1 = rte_get_tsc_cycles();
		sw->loop_cyc += c1 - c0;
		if (n || t) {
			sw->busy_cyc += c1 - c0;
			sw->busy_loops++;
		}
	}
	finish(sw);
	return 0;
}

/* ---- setup ---- */

static int load_ref(struct sw_swarm *sw)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, rc = 0;
	ssize_t got = 0;

	fd = open(sw->o.ref_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > REF_FILE_MAX) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += r;
	}
	rc = sw_ref_load_flv(&sw->ref, buf, (size_t)got, MAX_REF_RECS);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		fprintf(stderr, "swarm: --ref %s: cannot use it (%d)\n", sw->o.ref_path, rc);
	return rc;
}

int sw_swarm_init(struct sw_swarm *sw, const struct sw_opts *o)
{
	int rc;

	memset(sw, 0, sizeof(*sw));
	sw->o = *o;
	sw->hz = rte_get_tsc_hz();
	sw->play_cfg = (struct sw_play_cfg){ sw->o.app, sw->o.tc_url, sw->o.stream, sw->o.digest };
	rc = o->ref_path[0] ? load_ref(sw) : sw_ref_init(&sw->ref, MAX_REF_RECS);
	if (rc != 0)
		return rc;
	if (o->mode == SW_MODE_SOURCE && (rc = dp_pat_init(&sw->pat)) != 0)
		goto err;
	sw->v = calloc(o->nviewers, sizeof(*sw->v));
	sw->touched = calloc(o->nviewers, sizeof(*sw->touched));
	if (sw->v == NULL || sw->touched == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	for (uint32_t k = 0; k < o->nviewers; k++) {
		sw->v[k].sw = sw;
		sw->v[k].idx = k;
		sw->v[k].verify = k % o->verify_every == 0;
		sw->v[k].capped = o->cap_kbps > 0 && k < o->cap_viewers;
	}
	return 0;
err:
	sw_swarm_fini(sw);
	return rc;
}

void sw_swarm_fini(struct sw_swarm *sw)
{
	for (uint32_t k = 0; sw->v != NULL && k < sw->o.nviewers; k++) {
		sw_tcp_fini(&sw->v[k].tcp);
		if (sw->v[k].play != NULL)
			sw_play_fini(sw->v[k].play);
		free(sw->v[k].play);
		sw->v[k].play = NULL;
	}
	free(sw->v);
	sw->v = NULL;
	free(sw->touched);
	sw->touched = NULL;
	dp_pat_free(&sw->pat);
	sw_ref_fini(&sw->ref);
}
