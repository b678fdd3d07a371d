/* sw_report: the final summary of a swarm run, text or JSON.
 *
 * Per viewer: goodput (application bytes over the time it was connected),
 * join latency (SYN to the first video picture, or to the first payload
 * byte in source mode), stalls, skips, mismatches, and the real-time ratio:
 * video time received (timestamp steps of at most 1 s, so skips and gaps
 * are not counted as content) over the wall time since the first picture.
 * A viewer is "ok" when it joined, did not fail, nothing mismatched and
 * (RTMP) its ratio is at least 0.99.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/sw_swarm.h"

#define RT_OK 0.99
#define REASONS_SHOWN 5

struct summary {
	uint32_t viewers, joined, failed, ok;
	uint64_t bytes, mismatches, cfg_mismatches, skips, stalls, lost, policed, rexmits, ooo;
	uint64_t verified, unverified_viewers;
	double secs, gbps, rt_min, rt_mean;
	double join_p50, join_p99, join_max;   /* ms */
	double gp_min, gp_p50, gp_max;         /* Mbit/s per viewer */
	double busy_pct;
	uint64_t max_gap_ms;
};

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, uint32_t n, double p)
{
	if (n == 0)
		return 0;
	uint32_t k = (uint32_t)(p * (n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

static double viewer_rt(const struct sw_viewer *v)
{
	double wall_ms;

	if (v->play == NULL)
		return 1.0; /* source mode: no media clock */
	wall_ms = (double)(v->t_end_us - v->t_first_us) / 1000;
	return wall_ms > 0 ? (double)v->content_ms / wall_ms : 0;
}

static double viewer_mbps(const struct sw_viewer *v)
{
	double s = (double)(v->t_end_us - v->t_est_us) / 1e6;

	return s > 0 && v->t_est_us ? (double)v->app_bytes * 8 / s / 1e6 : 0;
}

static int viewer_ok(const struct sw_viewer *v)
{
	return v->t_first_us != 0 && v->vstate != SW_V_FAILED && v->cur.mismatches == 0 &&
	       v->cur.cfg_mismatches == 0 && v->src_bad == 0 && viewer_rt(v) >= RT_OK;
}

static void add_viewer(struct summary *s, const struct sw_viewer *v)
{
	s->bytes += v->app_bytes;
	s->mismatches += v->cur.mismatches + v->src_bad;
	s->cfg_mismatches += v->cur.cfg_mismatches;
	s->skips += v->cur.skips;
	s->stalls += v->stalls;
	s->lost += v->lost;
	s->policed += v->policed;
	s->rexmits += v->tcp.rexmits;
	s->ooo += v->tcp.ooo_segs;
	s->verified += v->cur.verified;
	if (v->verify && v->play != NULL && v->cur.verified == 0)
		s->unverified_viewers++;
	if (v->max_gap_us / 1000 > s->max_gap_ms)
		s->max_gap_ms = v->max_gap_us / 1000;
	s->ok += viewer_ok(v);
}

static void summarise(const struct sw_swarm *sw, struct summary *s, double *join, double *gp)
{
	uint32_t nj = 0, ng = 0;
	double rt_sum = 0;

	memset(s, 0, sizeof(*s));
	s->viewers = sw->o.nviewers;
	s->joined = sw->joined;
	s->failed = sw->failed;
	s->rt_min = sw->joined ? 1e9 : 0;
	for (uint32_t k = 0; k < sw->started; k++) {
		const struct sw_viewer *v = &sw->v[k];
		add_viewer(s, v);
		if (v->t_first_us == 0)
			continue;
		join[nj++] = (double)(v->t_first_us - v->t_syn_us) / 1000;
		gp[ng++] = viewer_mbps(v);
		double rt = viewer_rt(v);
		rt_sum += rt;
		if (rt < s->rt_min)
			s->rt_min = rt;
	}
	qsort(join, nj, sizeof(*join), cmp_dbl);
	qsort(gp, ng, sizeof(*gp), cmp_dbl);
	s->join_p50 = pct(join, nj, 0.5);
	s->join_p99 = pct(join, nj, 0.99);
	s->join_max = nj ? join[nj - 1] : 0;
	s->gp_min = ng ? gp[0] : 0;
	s->gp_p50 = pct(gp, ng, 0.5);
	s->gp_max = ng ? gp[ng - 1] : 0;
	s->rt_mean = nj ? rt_sum / nj : 0;
	s->secs = sw->t_first_join_us ? (double)(sw->now_us - sw->t_first_join_us) / 1e6 : 0;
	s->gbps = s->secs > 0 ? (double)s->bytes * 8 / s->secs / 1e9 : 0;
	s->busy_pct = sw->loop_cyc ? 100.0 * (double)sw->busy_cyc / (double)sw->loop_cyc : 0;
}

static void print_json(const struct sw_swarm *sw, const struct summary *s)
{
	const struct sw_net_stats *n = &sw->net.st;

	printf("{\"mode\":\"%s\",\"viewers\":%u,\"joined\":%u,\"failed\":%u,\"ok\":%u,"
	       "\"secs\":%.3f,\"bytes\":%" PRIu64 ",\"gbps\":%.4f,"
	       "\"join_ms\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f},"
	       "\"viewer_mbps\":{\"min\":%.3f,\"p50\":%.3f,\"max\":%.3f},"
	       "\"realtime\":{\"min\":%.4f,\"mean\":%.4f},"
	       "\"mismatches\":%" PRIu64 ",\"config_mismatches\":%" PRIu64 ",\"skips\":%" PRIu64
	       ",\"stalls\":%" PRIu64 ",\"max_gap_ms\":%" PRIu64 ",\"verified_msgs\":%" PRIu64
	       ",\"unverified_viewers\":%" PRIu64 ",\"ref_records\":%u,"
	       "\"tcp\":{\"rexmits\":%" PRIu64 ",\"ooo\":%" PRIu64 ",\"lost_injected\":%" PRIu64
	       ",\"policed\":%" PRIu64 "},"
	       "\"net\":{\"rx_pkts\":%" PRIu64 ",\"tx_pkts\":%" PRIu64 ",\"tx_drops\":%" PRIu64
	       ",\"csum_errors\":%" PRIu64 ",\"rx_bad\":%" PRIu64 ",\"arp_replies\":%" PRIu64
	       ",\"bridged_in\":%" PRIu64 ",\"bridged_out\":%" PRIu64 ",\"bridge_drops\":%" PRIu64
	       "},"
	       "\"generator_busy_pct\":%.1f}\n",
	       sw->o.mode == SW_MODE_RTMP ? "rtmp" : "source", s->viewers, s->joined, s->failed,
	       s->ok, s->secs, s->bytes, s->gbps, s->join_p50, s->join_p99, s->join_max, s->gp_min,
	       s->gp_p50, s->gp_max, s->rt_min, s->rt_mean, s->mismatches, s->cfg_mismatches,
	       s->skips, s->stalls, s->max_gap_ms, s->verified, s->unverified_viewers, sw->ref.n,
	       s->rexmits, s->ooo, s->lost, s->policed, n->rx_pkts, n->tx_pkts, n->tx_drops,
	       n->rx_csum_err, n->rx_bad, n->arp_replies, n->bridged_in, n->bridged_out,
	       n->bridge_drops, s->busy_pct);
}

static void print_text(const struct sw_swarm *sw, const struct summary *s)
{
	uint32_t shown = 0;

	printf("swarm: viewers=%u joined=%u failed=%u ok=%u secs=%.2f gbps=%.4f\n", s->viewers,
	       s->joined, s->failed, s->ok, s->secs, s->gbps);
	printf("swarm: join_ms p50=%.2f p99=%.2f max=%.2f; viewer Mbit/s min=%.3f p50=%.3f "
	       "max=%.3f; realtime min=%.3f mean=%.3f\n",
	       s->join_p50, s->join_p99, s->join_max, s->gp_min, s->gp_p50, s->gp_max, s->rt_min,
	       s->rt_mean);
	printf("swarm: mismatches=%" PRIu64 " config_mismatches=%" PRIu64 " skips=%" PRIu64
	       " stalls=%" PRIu64 " verified_msgs=%" PRIu64 " rexmits=%" PRIu64
	       " csum_errors=%" PRIu64 " generator_busy=%.1f%%\n",
	       s->mismatches, s->cfg_mismatches, s->skips, s->stalls, s->verified, s->rexmits,
	       sw->net.st.rx_csum_err, s->busy_pct);
	for (uint32_t k = 0; k < sw->started && shown < REASONS_SHOWN; k++) {
		const struct sw_viewer *v = &sw->v[k];
		if (v->reason[0])
			printf("swarm: viewer %u: %s\n", k, v->reason);
		else if (v->t_first_us == 0)
			printf("swarm: viewer %u: never joined (tcp state %d, %u bytes unacked, "
			       "%" PRIu64 " received, %" PRIu64 " out of order, %" PRIu64 " acks sent, rexmits %" PRIu64 ", play state %d)\n",
			       k, (int)v->tcp.state, v->tcp.slen, v->tcp.rx_bytes, v->tcp.ooo_segs, v->tcp.acks_sent, v->tcp.rexmits,
			       v->play ? (int)v->play->state : -1);
		else
			continue;
		shown++;
	}
}

/* One CSV line per viewer, for what the summary's percentiles hide. */
static int write_viewers_csv(const struct sw_swarm *sw, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	fprintf(f, "viewer,ip,port,ok,joined,failed,join_ms,goodput_mbps,realtime,bytes,"
		   "stalls,max_gap_ms,skips,mismatches,rexmits,ooo_segs,lost_injected,policed\n");
	for (uint32_t k = 0; k < sw->started; k++) {
		const struct sw_viewer *v = &sw->v[k];
		uint32_t ip = sw_net_viewer_ip(&sw->net, k);

		fprintf(f, "%u,%u.%u.%u.%u,%u,%d,%d,%d,%.2f,%.3f,%.4f,%" PRIu64 ",%" PRIu64
			   ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			   ",%" PRIu64 "\n",
			k, ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff,
			sw_net_viewer_port(&sw->net, k), viewer_ok(v), v->t_first_us != 0,
			v->vstate == SW_V_FAILED,
			v->t_first_us ? (double)(v->t_first_us - v->t_syn_us) / 1000 : -1.0,
			viewer_mbps(v), viewer_rt(v), v->app_bytes, v->stalls, v->max_gap_us / 1000,
			v->cur.skips, v->cur.mismatches + v->cur.cfg_mismatches + v->src_bad,
			v->tcp.rexmits, v->tcp.ooo_segs, v->lost, v->policed);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int sw_swarm_report(struct sw_swarm *sw)
{
	struct summary s;
	double *join = calloc(sw->o.nviewers, sizeof(double));
	double *gp = calloc(sw->o.nviewers, sizeof(double));

	if (join == NULL || gp == NULL) {
		free(join);
		free(gp);
		fprintf(stderr, "swarm: out of memory for the report\n");
		return 1;
	}
	summarise(sw, &s, join, gp);
	free(join);
	free(gp);
	if (sw->o.viewers_csv[0] && write_viewers_csv(sw, sw->o.viewers_csv) != 0)
		fprintf(stderr, "swarm: could not write %s\n", sw->o.viewers_csv);
	if (sw->o.json)
		print_json(sw, &s);
	else
		print_text(sw, &s);
	fflush(stdout);
	return s.joined == s.viewers && s.failed == 0 && s.mismatches == 0 &&
			       s.cfg_mismatches == 0 && sw->net.st.rx_csum_err == 0
		       ? 0
		       : 1;
}
