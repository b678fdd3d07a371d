/* Dataplane statistics for `stats` and /metrics: the dataplane's stats
 * socket ([dataplane] stats_socket, SOCK_SEQPACKET, request "stats" -> one
 * JSON datagram) sampled once a second, so rates come from two samples
 * without blocking a request. Without a dataplane (kernel mode) `stats`
 * shows the engine's totals and rates instead. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "controlplane/cp_log.h"
#include "controlplane/cp_mgmt_int.h"

#define DP_ANSWER_MAX (1u << 20)
#define DP_TIMEOUT_MS 200

#define J(v) ((json_int_t)(v))

/* One request/answer on a fresh connection. Returns the parsed answer or
 * NULL with a reason in err. Blocks at most DP_TIMEOUT_MS (local socket;
 * the dataplane answers from its main lcore loop). */
static json_t *dp_query(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *res = NULL;
	char *buf = NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "connect %s: %s", path, strerror(errno));
		goto out;
	}
	if (send(fd, "stats", 5, MSG_NOSIGNAL) != 5) {
		snprintf(err, errlen, "send: %s", strerror(errno));
		goto out;
	}
	struct pollfd p = { fd, POLLIN, 0 };
	if (poll(&p, 1, DP_TIMEOUT_MS) != 1) {
		snprintf(err, errlen, "no answer within %d ms", DP_TIMEOUT_MS);
		goto out;
	}
	buf = malloc(DP_ANSWER_MAX);
	ssize_t n = buf ? recv(fd, buf, DP_ANSWER_MAX, MSG_DONTWAIT) : -1;
	if (n <= 0) {
		snprintf(err, errlen, "recv: %s", n == 0 ? "closed" : strerror(errno));
		goto out;
	}
	json_error_t je;
	res = json_loadb(buf, (size_t)n, 0, &je);
	if (!res || !json_is_object(json_object_get(res, "total"))) {
		snprintf(err, errlen, "bad answer: %.80s", res ? "no \"total\"" : je.text);
		json_decref(res);
		res = NULL;
	}
out:
	free(buf);
	close(fd);
	return res;
}

void cp_mgmt_dp_sample(struct cp_mgmt *m)
{
	struct cp_mgmt_dp *d = &m->dp;
	if (!d->path[0])
		return;
	char err[sizeof(d->last_error)];
	json_t *j = dp_query(d->path, err, sizeof(err));
	if (!j) {
		if (d->connected)
			cp_warn("mgmt: dataplane stats unavailable: %s", err);
		snprintf(d->last_error, sizeof(d->last_error), "%s", err);
		d->connected = 0;
		d->failures++;
		return;
	}
	if (!d->connected)
		cp_info("mgmt: dataplane stats from %s", d->path);
	d->connected = 1;
	d->last_error[0] = '\0';
	json_decref(d->prev);
	d->prev = d->cur;
	d->prev_ms = d->cur_ms;
	d->cur = j;
	d->cur_ms = cp_mgmt_now(m);
}

void cp_mgmt_dp_fini(struct cp_mgmt *m)
{
	json_decref(m->dp.prev);
	json_decref(m->dp.cur);
	m->dp.prev = m->dp.cur = NULL;
}

static uint64_t field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Rates and drops of one dataplane view (total or a worker). */
static json_t *dp_view(json_t *cur, json_t *prev, uint64_t dt_ms)
{
	double s = dt_ms ? dt_ms / 1000.0 : 0;
	uint64_t drx = prev ? field(cur, "rx_pkts") - field(prev, "rx_pkts") : 0;
	uint64_t dtx = prev ? field(cur, "tx_pkts") - field(prev, "tx_pkts") : 0;
	uint64_t dbr = prev ? field(cur, "rx_bytes") - field(prev, "rx_bytes") : 0;
	uint64_t dbt = prev ? field(cur, "tx_bytes") - field(prev, "tx_bytes") : 0;
	json_t *drops = json_object();
	uint64_t dsum = 0;
	const char *k;
	json_t *v;
	json_object_foreach(cur, k, v) {
		if (strncmp(k, "drop_", 5) == 0 && json_is_integer(v)) {
			json_object_set_new(drops, k + 5, json_integer(json_integer_value(v)));
			dsum += (uint64_t)json_integer_value(v);
		}
	}
	return json_pack("{s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
			 "rx_pps", s > 0 ? drx / s : 0.0, "tx_pps", s > 0 ? dtx / s : 0.0,
			 "rx_gbps", s > 0 ? dbr * 8 / s / 1e9 : 0.0,
			 "tx_gbps", s > 0 ? dbt * 8 / s / 1e9 : 0.0,
			 "rx_pkts", J(field(cur, "rx_pkts")), "tx_pkts", J(field(cur, "tx_pkts")),
			 "rx_bytes", J(field(cur, "rx_bytes")), "tx_bytes", J(field(cur, "tx_bytes")),
			 "retransmits", J(field(cur, "tcp_retransmits")), "drops_total", J(dsum),
			 "drops", drops);
}

static json_t *dp_stats(struct cp_mgmt *m)
{
	struct cp_mgmt_dp *d = &m->dp;
	uint64_t dt = d->prev ? d->cur_ms - d->prev_ms : 0;
	json_t *workers = json_array();
	json_t *cw = json_object_get(d->cur, "per_worker");
	json_t *pw = d->prev ? json_object_get(d->prev, "per_worker") : NULL;
	size_t i;
	json_t *w;
	json_array_foreach(cw, i, w) {
		json_t *v = dp_view(w, json_array_get(pw, i), dt);
		json_object_set_new(v, "id", json_integer(J(field(w, "id"))));
		json_object_set_new(v, "lcore", json_integer(J(field(w, "lcore"))));
		json_array_append_new(workers, v);
	}
	return json_pack("{s:s,s:I,s:I,s:o,s:o}", "source", "dataplane", "interval_ms", J(dt),
			 "workers", J(field(d->cur, "workers")),
			 "total", dp_view(json_object_get(d->cur, "total"),
					  json_object_get(d->prev, "total"), dt),
			 "per_worker", workers);
}

/* Kernel mode: one worker, the event loop; rates from the engine totals. */
static json_t *engine_stats(struct cp_mgmt *m)
{
	const struct cp_engine *e = m->env.eng;
	const struct cp_counters *c = &e->reg.c;
	uint64_t dt = m->tot_prev_ms ? m->tot_cur_ms - m->tot_prev_ms : 0;
	double s = dt / 1000.0;
	json_t *drops = json_pack("{s:I,s:I,s:I,s:I,s:I}", "slow_viewer_skips", J(c->skips),
				  "skipped_msgs", J(c->skipped_msgs), "slow_kicks", J(c->slow_kicks),
				  "rejected_msgs", J(c->rejected_msgs),
				  "refused_max_conns", J(m->env.srv ? m->env.srv->st.refused_max : 0));
	json_t *w = json_pack("{s:I,s:f,s:f,s:f,s:I,s:I,s:I,s:o}", "id", J(0),
			      "msgs_per_s", dt ? (m->tot_cur_msgs - m->tot_prev_msgs) / s : 0.0,
			      "in_gbps", dt ? (m->tot_cur_in - m->tot_prev_in) * 8 / s / 1e9 : 0.0,
			      "out_gbps", dt ? (m->tot_cur_out - m->tot_prev_out) * 8 / s / 1e9 : 0.0,
			      "bytes_in", J(c->bytes_in), "bytes_out", J(c->bytes_out),
			      "retransmits", J(0), "drops", drops);
	return json_pack("{s:s,s:I,s:I,s:[o],s:s}", "source", "engine", "interval_ms", J(dt),
			 "workers", J(1), "per_worker", w, "note",
			 "kernel mode: TCP retransmits are per session (lifecastctl sessions)");
}

int cp_mgmt_cmd_stats(struct cp_mgmt *m, json_t *req, json_t **res, char *err, size_t n)
{
	*res = m->dp.connected && m->dp.cur ? dp_stats(m) : engine_stats(m);
	if (!*res) {
		snprintf(err, n, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
