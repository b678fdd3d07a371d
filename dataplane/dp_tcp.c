/* dp_tcp: stack lifecycle, connection table, the app-facing API and the
 * per-connection timer actions. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <rte_errno.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dataplane/dp_tcp_int.h"

static const char *const state_names[DP_TCP_NSTATES] = {
	"CLOSED", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "TIME_WAIT",
};

const char *dp_tcp_state_name(int state)
{
	return state >= 0 && state < DP_TCP_NSTATES ? state_names[state] : "?";
}

void dp_tcp_cfg_defaults(struct dp_tcp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 4096;
	cfg->syn_backlog = 256;
	cfg->ooo_max_bytes = 256 * 1024;
	cfg->snd_buf_max = 1024 * 1024;
	cfg->snd_refs_max = 256;
	cfg->rcv_wnd = 256 * 1024;
	cfg->mss = 1460;
	cfg->wscale = 7;
	cfg->sack = 1;
	cfg->timestamps = 1;
	cfg->syncookies = 1;
	cfg->cc = DP_TCP_CC_CUBIC;
	cfg->init_cwnd_segs = 10;
	cfg->delack_ms = 40;
	cfg->rto_init_ms = 1000;
	cfg->rto_min_ms = 200;
	cfg->rto_max_ms = 60000;
	cfg->max_retries = 8;
	cfg->syn_retries = 3;
	cfg->idle_timeout_ms = 300000;
	cfg->keepalive_ms = 75000;
	cfg->keepalive_intvl_ms = 10000;
	cfg->keepalive_probes = 5;
	cfg->time_wait_ms = 1000;
	cfg->fin_wait2_ms = 30000;
	cfg->persist_max_ms = 60000;
	cfg->tick_us = 1000;
}

#define DFLT(f) do { if (!c->f) c->f = d.f; } while (0)

/* Fill zero fields from the defaults and range-check. */
static int cfg_complete(struct dp_tcp_cfg *c)
{
	struct dp_tcp_cfg d;

	dp_tcp_cfg_defaults(&d);
	DFLT(max_conns);
	DFLT(syn_backlog);
	DFLT(ooo_max_bytes);
	DFLT(snd_buf_max);
	DFLT(snd_refs_max);
	DFLT(rcv_wnd);
	DFLT(mss);
	DFLT(init_cwnd_segs);
	DFLT(delack_ms);
	DFLT(rto_init_ms);
	DFLT(rto_min_ms);
	DFLT(rto_max_ms);
	DFLT(max_retries);
	DFLT(syn_retries);
	DFLT(keepalive_intvl_ms);
	DFLT(keepalive_probes);
	DFLT(time_wait_ms);
	DFLT(fin_wait2_ms);
	DFLT(persist_max_ms);
	DFLT(tick_us);
	if (c->wscale > 14 || c->mss < 88 || c->mss > 9000 || c->rto_min_ms > c->rto_max_ms ||
	    c->rcv_wnd > (1u << 30) || c->snd_buf_max > (1u << 30) || c->max_conns > (1u << 24) ||
	    (c->cc != DP_TCP_CC_CUBIC && c->cc != DP_TCP_CC_NEWRENO) || c->syncookies < 0 ||
	    c->syncookies > 2)
		return -EINVAL;
	if (c->no_wscale)
		c->wscale = 0;
	/* A window over 64 KiB needs a shift big enough to express it. */
	while (!c->no_wscale && (c->rcv_wnd >> c->wscale) > 65535 && c->wscale < 14)
		c->wscale++;
	if (c->no_wscale && c->rcv_wnd > 65535)
		c->rcv_wnd = 65535;
	return 0;
}

static void seed_keys(struct dp_tcp_stack *st)
{
	uint64_t s = st->cfg.secret_seed;

	if (!s && getrandom(st->sip_key, sizeof(st->sip_key), 0) == sizeof(st->sip_key)) {
		st->ts_offset = (uint32_t)(st->sip_key[0] >> 32);
		return;
	}
	/* Deterministic (tests) or getrandom() failed: splitmix64 of the seed
	 * and the TSC. */
	if (!s)
		s = rte_rdtsc();
	for (int i = 0; i < 2; i++) {
		s += 0x9e3779b97f4a7c15ULL;
		uint64_t z = s;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		st->sip_key[i] = z ^ (z >> 31);
	}
	st->ts_offset = st->cfg.secret_seed ? 0 : (uint32_t)st->sip_key[1];
}

static int create_tables(struct dp_tcp_stack *st)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = st->cfg.max_conns < 8 ? 8 : st->cfg.max_conns,
		.key_len = sizeof(struct dp_tcp_key),
		.hash_func = rte_jhash,
		.hash_func_init_val = (uint32_t)st->sip_key[1],
		.socket_id = st->socket_id,
	};
	size_t elt = sizeof(struct dp_tcp_conn) +
		     (size_t)st->cfg.snd_refs_max * sizeof(struct dp_tcp_sndref);

	snprintf(name, sizeof(name), "tcph_%p", (void *)st);
	st->tbl = rte_hash_create(&hp);
	if (!st->tbl)
		return -rte_errno;
	snprintf(st->name, sizeof(st->name), "tcpc_%p", (void *)st);
	st->conn_pool = rte_mempool_create(st->name, st->cfg.max_conns, (unsigned)elt, 0, 0, NULL,
					   NULL, NULL, NULL, st->socket_id,
					   RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	if (!st->conn_pool)
		return -rte_errno;
	st->wheel = rte_zmalloc_socket("tcp_wheel", DP_TCP_WHEEL_SLOTS * sizeof(*st->wheel),
				       RTE_CACHE_LINE_SIZE, st->socket_id);
	if (!st->wheel)
		return -ENOMEM;
	return 0;
}

struct dp_tcp_stack *dp_tcp_stack_create(const struct dp_tcp_cfg *cfg, int socket_id,
					 struct rte_mempool *hdr_pool,
					 const struct dp_tcp_ops *ops)
{
	struct dp_tcp_stack *st = NULL;
	int rc = -EINVAL;

	if (!cfg || !hdr_pool || !ops || !ops->ip_output)
		goto fail;
	if (rte_pktmbuf_data_room_size(hdr_pool) < RTE_PKTMBUF_HEADROOM + 120 ||
	    RTE_PKTMBUF_HEADROOM < DP_TCP_L2_HEADROOM)
		goto fail;
	rc = -ENOMEM;
	st = rte_zmalloc_socket("dp_tcp_stack", sizeof(*st), RTE_CACHE_LINE_SIZE, socket_id);
	if (!st)
		goto fail;
	st->cfg = *cfg;
	rc = cfg_complete(&st->cfg);
	if (rc < 0)
		goto fail;
	st->ops = *ops;
	TAILQ_INIT(&st->blocked);
	st->hdr_pool = hdr_pool;
	st->socket_id = socket_id;
	seed_keys(st);
	rc = create_tables(st);
	if (rc < 0)
		goto fail;
	return st;
fail:
	if (st) {
		rte_free(st->wheel);
		rte_mempool_free(st->conn_pool);
		rte_hash_free(st->tbl);
		rte_free(st);
	}
	errno = -rc;
	return NULL;
}

void dp_tcp_stack_destroy(struct dp_tcp_stack *st)
{
	if (!st)
		return;
	while (st->all) {
		struct dp_tcp_conn *c = st->all;
		if (c->state != DP_TCP_SYN_RECEIVED && c->state != DP_TCP_TIME_WAIT)
			dp_tcp_send_rst_conn(c);
		dp_tcp_conn_final(c, -ECONNABORTED);
		dp_tcp_conn_destroy(c);
	}
	rte_free(st->wheel);
	rte_mempool_free(st->conn_pool);
	rte_hash_free(st->tbl);
	rte_free(st);
}

struct dp_tcp_listener *dp_tcp_find_listener(struct dp_tcp_stack *st, uint16_t port)
{
	for (int i = 0; i < DP_TCP_MAX_LISTEN; i++)
		if (st->lst[i].port == port && port)
			return &st->lst[i];
	return NULL;
}

int dp_tcp_listen(struct dp_tcp_stack *st, uint16_t port, const struct dp_tcp_app *app,
		  void *app_arg)
{
	if (!st || !port || !app || !app->on_accept || !app->on_data || !app->on_close)
		return -EINVAL;
	if (dp_tcp_find_listener(st, port))
		return -EADDRINUSE;
	for (int i = 0; i < DP_TCP_MAX_LISTEN; i++) {
		if (st->lst[i].port)
			continue;
		st->lst[i].port = port;
		st->lst[i].app = *app;
		st->lst[i].app_arg = app_arg;
		return 0;
	}
	return -ENOSPC;
}

int dp_tcp_unlisten(struct dp_tcp_stack *st, uint16_t port)
{
	struct dp_tcp_listener *l = dp_tcp_find_listener(st, port);

	if (!l)
		return -ENOENT;
	/* Conns keep their listener pointer (callbacks stay valid); only new
	 * SYNs stop matching. */
	l->port = 0;
	return 0;
}

static uint64_t *state_gauge(struct dp_tcp_stats *s, int state)
{
	switch (state) {
	case DP_TCP_SYN_RECEIVED: return &s->conns_SYN_RECEIVED;
	case DP_TCP_ESTABLISHED: return &s->conns_ESTABLISHED;
	case DP_TCP_CLOSE_WAIT: return &s->conns_CLOSE_WAIT;
	case DP_TCP_LAST_ACK: return &s->conns_LAST_ACK;
	case DP_TCP_FIN_WAIT_1: return &s->conns_FIN_WAIT_1;
	case DP_TCP_FIN_WAIT_2: return &s->conns_FIN_WAIT_2;
	case DP_TCP_CLOSING: return &s->conns_CLOSING;
	case DP_TCP_TIME_WAIT: return &s->conns_TIME_WAIT;
	default: return NULL;
	}
}

void dp_tcp_set_state(struct dp_tcp_conn *c, int state)
{
	struct dp_tcp_stack *st = c->st;
	uint64_t *g = state_gauge(&st->stats, c->state);

	if (g)
		(*g)--;
	if (c->state == DP_TCP_SYN_RECEIVED)
		st->nsynrcvd--;
	c->state = (uint8_t)state;
	g = state_gauge(&st->stats, state);
	if (g)
		(*g)++;
	if (state == DP_TCP_SYN_RECEIVED)
		st->nsynrcvd++;
}

struct dp_tcp_conn *dp_tcp_conn_new(struct dp_tcp_stack *st, const struct dp_tcp_key *k,
				    struct dp_tcp_listener *l)
{
	struct dp_tcp_conn *c;
	void *obj;

	if (st->nconns >= st->cfg.max_conns || rte_mempool_get(st->conn_pool, &obj) != 0) {
		st->stats.drop_table_full++;
		return NULL;
	}
	c = obj;
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->key = *k;
	c->lst = l;
	if (rte_hash_add_key_data(st->tbl, k, c) < 0) {
		rte_mempool_put(st->conn_pool, c);
		st->stats.drop_table_full++;
		return NULL;
	}
	c->in_table = 1;
	c->a_next = st->all;
	if (st->all)
		st->all->a_pprev = &c->a_next;
	st->all = c;
	c->a_pprev = &st->all;
	st->nconns++;
	c->rto_us = st->cfg.rto_init_ms * 1000;
	c->mss = 536;
	c->reord = DP_TCP_DUPTHRESH;
	return c;
}

/* Return the conn to the pool once nothing on the stack is using it. */
void dp_tcp_conn_release(struct dp_tcp_conn *c)
{
	if (c->dead && !c->busy)
		rte_mempool_put(c->st->conn_pool, c);
}

/* Tear down: out of the table and the wheel, references and queued mbufs
 * released. The memory is recycled now, or when the innermost caller
 * holding `busy` finishes (an app may abort from inside a callback). */
void dp_tcp_conn_destroy(struct dp_tcp_conn *c)
{
	struct dp_tcp_stack *st = c->st;

	if (c->dead) {
		dp_tcp_conn_release(c); /* a nested destroy left it to us */
		return;
	}
	c->dead = 1;
	if (c->tx_blocked) {
		TAILQ_REMOVE(&st->blocked, c, bl);
		c->tx_blocked = 0;
	}
	dp_tcp_set_state(c, DP_TCP_CLOSED);
	dp_tcp_timer_unlink(c);
	dp_tcp_sndq_flush(c);
	for (uint32_t i = 0; i < c->nooo; i++)
		rte_pktmbuf_free(c->ooo[i].m);
	st->stats.ooo_bytes_held -= c->ooo_bytes;
	c->nooo = 0;
	c->ooo_bytes = 0;
	if (c->in_table)
		rte_hash_del_key(st->tbl, &c->key);
	c->in_table = 0;
	*c->a_pprev = c->a_next;
	if (c->a_next)
		c->a_next->a_pprev = c->a_pprev;
	st->nconns--;
	st->stats.conns_closed++;
	dp_tcp_conn_release(c);
}

/* Tell the app its conn is gone (once; nothing when it never accepted or
 * already aborted). */
void dp_tcp_conn_final(struct dp_tcp_conn *c, int reason)
{
	if (!c->accepted)
		return;
	c->accepted = 0;
	c->busy++;
	c->lst->app.on_close(c->conn_arg, c, reason);
	c->busy--;
}

/* Handshake complete: ESTABLISHED, then ask the app. Returns 0, or
 * -ECONNREFUSED after resetting and destroying c. */
int dp_tcp_conn_establish(struct dp_tcp_conn *c)
{
	struct dp_tcp_stack *st = c->st;
	void *arg = NULL;

	dp_tcp_set_state(c, DP_TCP_ESTABLISHED);
	dp_tcp_cc_init(c);
	st->stats.conns_opened++;
	c->t_rexmt = 0;
	c->backoff = 0;
	c->rto_us = c->srtt_us ? c->rto_us : st->cfg.rto_init_ms * 1000;
	if (st->cfg.keepalive_ms)
		c->t_keep = st->now_us + (uint64_t)st->cfg.keepalive_ms * 1000;
	c->accepted = 1; /* on_accept may send; the conn must look usable */
	c->busy++;
	int rc = c->lst->app.on_accept(c->lst->app_arg, c, &arg);
	c->busy--;
	if (c->dead) {
		dp_tcp_conn_release(c);
		return -ECONNREFUSED;
	}
	if (rc != 0) {
		c->accepted = 0;
		st->stats.conns_refused++;
		dp_tcp_send_rst_conn(c);
		dp_tcp_conn_destroy(c);
		return -ECONNREFUSED;
	}
	if (!c->conn_arg)
		c->conn_arg = arg;
	return 0;
}

/* RFC 6298 2.2-2.4 with G = one timer tick. */
void dp_tcp_rtt_sample(struct dp_tcp_conn *c, uint32_t r)
{
	const struct dp_tcp_cfg *cfg = &c->st->cfg;

	if (r == 0)
		r = 1;
	if (!c->srtt_us) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
	} else {
		uint32_t err = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (3 * c->rttvar_us + err) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
	}
	uint64_t k = 4ULL * c->rttvar_us;
	uint64_t rto = c->srtt_us + (k > cfg->tick_us ? k : cfg->tick_us);
	if (rto < (uint64_t)cfg->rto_min_ms * 1000)
		rto = (uint64_t)cfg->rto_min_ms * 1000;
	if (rto > (uint64_t)cfg->rto_max_ms * 1000)
		rto = (uint64_t)cfg->rto_max_ms * 1000;
	c->rto_us = (uint32_t)rto;
}

static void conn_timeout(struct dp_tcp_conn *c)
{
	c->st->stats.conns_timed_out++;
	if (c->state != DP_TCP_SYN_RECEIVED && c->state != DP_TCP_TIME_WAIT)
		dp_tcp_send_rst_conn(c);
	dp_tcp_conn_final(c, -ETIMEDOUT);
	dp_tcp_conn_destroy(c);
}

static void on_rto(struct dp_tcp_conn *c, uint64_t now)
{
	const struct dp_tcp_cfg *cfg = &c->st->cfg;
	uint64_t rto = (uint64_t)c->rto_us * 2;

	if (rto > (uint64_t)cfg->rto_max_ms * 1000)
		rto = (uint64_t)cfg->rto_max_ms * 1000;
	if (c->state == DP_TCP_SYN_RECEIVED) {
		if (c->syn_retries >= cfg->syn_retries) {
			dp_tcp_conn_destroy(c); /* never accepted: no callback */
			return;
		}
		c->syn_retries++;
		c->st->stats.retransmits++;
		c->rto_us = (uint32_t)rto;
		dp_tcp_send_synack(c);
		c->t_rexmt = now + c->rto_us;
		return;
	}
	if (c->snd_una == c->snd_max)
		return;
	c->st->stats.rto_events++;
	if (++c->backoff > cfg->max_retries) {
		conn_timeout(c);
		return;
	}
	dp_tcp_cc_on_loss(c, 1, now);
	c->in_recovery = 0;
	c->undo_ok = 0;
	c->dupacks = 0;
	c->rto_us = (uint32_t)rto;
	c->rtt_start_us = 0;
	c->snd_nxt = c->snd_una;
	c->hi_rxt = c->snd_una;
	dp_tcp_output(c);
	if (!c->t_rexmt && c->snd_una != c->snd_max && !c->t_persist)
		c->t_rexmt = now + c->rto_us;
}

static void on_persist(struct dp_tcp_conn *c, uint64_t now)
{
	uint64_t cap = (uint64_t)c->st->cfg.persist_max_ms * 1000;
	uint64_t iv;

	c->st->stats.window_probes++;
	dp_tcp_send_probe(c);
	if (c->persist_backoff < 16)
		c->persist_backoff++;
	iv = (uint64_t)c->rto_us << c->persist_backoff;
	c->t_persist = now + (iv < cap ? iv : cap);
}

static void on_keepalive(struct dp_tcp_conn *c, uint64_t now)
{
	const struct dp_tcp_cfg *cfg = &c->st->cfg;

	if (c->keep_sent >= cfg->keepalive_probes) {
		conn_timeout(c);
		return;
	}
	/* Probes only when nothing else is outstanding; retransmissions
	 * already test the path. */
	if (c->snd_una == c->snd_max) {
		c->keep_sent++;
		c->st->stats.keepalive_probes++;
		dp_tcp_send_probe(c);
	}
	c->t_keep = now + (uint64_t)cfg->keepalive_intvl_ms * 1000;
}

static int fire_2msl(struct dp_tcp_conn *c)
{
	c->t_2msl = 0;
	if (c->state == DP_TCP_TIME_WAIT) {
		c->st->stats.time_wait_expired++;
		dp_tcp_conn_destroy(c);
	} else {
		conn_timeout(c); /* FIN_WAIT_2 without the peer's FIN */
	}
	return 1;
}

/* Run every timer of c that is due at now (called by the wheel). */
void dp_tcp_conn_timers_fire(struct dp_tcp_conn *c, uint64_t now)
{
	c->busy++;
	if (c->t_2msl && c->t_2msl <= now && fire_2msl(c))
		goto out;
	if (c->t_idle && c->t_idle <= now) {
		c->t_idle = 0;
		c->st->stats.idle_timeouts++;
		conn_timeout(c);
		goto out;
	}
	if (c->t_rexmt && c->t_rexmt <= now) {
		c->t_rexmt = 0;
		on_rto(c, now);
		if (c->dead)
			goto out;
	}
	if (c->t_persist && c->t_persist <= now)
		on_persist(c, now);
	if (c->t_delack && c->t_delack <= now) {
		c->t_delack = 0;
		c->st->stats.delayed_acks++;
		dp_tcp_send_ack(c);
	}
	if (c->t_keep && c->t_keep <= now)
		on_keepalive(c, now);
out:
	c->busy--;
	if (c->dead)
		dp_tcp_conn_release(c);
	else
		dp_tcp_timer_update(c);
}

void dp_tcp_timers(struct dp_tcp_stack *st, uint64_t now_us)
{
	if (now_us > st->now_us)
		st->now_us = now_us;
	dp_tcp_timer_run(st, st->now_us);
}

static int can_queue(const struct dp_tcp_conn *c)
{
	return !c->dead && !c->fin_queued &&
	       (c->state == DP_TCP_ESTABLISHED || c->state == DP_TCP_CLOSE_WAIT);
}

uint32_t dp_tcp_send_space(const struct dp_tcp_conn *c)
{
	if (!can_queue(c) || c->queued >= c->st->cfg.snd_buf_max)
		return 0;
	return c->st->cfg.snd_buf_max - c->queued;
}

uint32_t dp_tcp_send_queued(const struct dp_tcp_conn *c)
{
	return c->queued;
}

uint32_t dp_tcp_send_refs(const struct dp_tcp_conn *c)
{
	return c->nref;
}

/* Append [abs_off, abs_off + n) of seg's buffer to the queue, extending the
 * last entry when contiguous in the same segment. 0 or -ENOSPC. */
static int sndq_push(struct dp_tcp_conn *c, struct rte_mbuf *seg, uint32_t abs_off, uint32_t n)
{
	uint32_t cap = c->st->cfg.snd_refs_max;

	if (c->nref) {
		struct dp_tcp_sndref *last = &c->refs[(c->ref_head + c->nref - 1) % cap];
		if (last->seg == seg && last->off + last->len == abs_off) {
			last->len += n;
			return 0;
		}
	}
	if (c->nref == cap)
		return -ENOSPC;
	rte_mbuf_refcnt_update(seg, 1);
	c->refs[(c->ref_head + c->nref) % cap] = (struct dp_tcp_sndref){ seg, abs_off, n };
	c->nref++;
	c->st->stats.send_refs_held++;
	return 0;
}

int dp_tcp_send(struct dp_tcp_conn *c, struct rte_mbuf *data, uint32_t off, uint32_t len)
{
	uint32_t space, want, done = 0;
	struct rte_mbuf *seg = data;

	if (!can_queue(c))
		return -EPIPE;
	if (!data || off > data->pkt_len || len > data->pkt_len - off)
		return -EINVAL;
	if (len == 0)
		return 0;
	space = dp_tcp_send_space(c);
	want = len < space ? len : space;
	while (seg && off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	while (seg && done < want) {
		uint32_t n = seg->data_len - off;
		if (n > want - done)
			n = want - done;
		if (n && sndq_push(c, seg, seg->data_off + off, n) < 0)
			break;
		done += n;
		off = 0;
		seg = seg->next;
	}
	c->queued += done;
	if (done < len)
		c->want_writable = 1;
	if (done)
		dp_tcp_output(c);
	return done ? (int)done : -EAGAIN;
}

void dp_tcp_rcv_hold(struct dp_tcp_conn *c, uint32_t app_buffered)
{
	uint32_t before = c->rcv_adv - c->rcv_nxt;

	c->app_held = app_buffered;
	if (c->dead || c->state == DP_TCP_SYN_RECEIVED)
		return;
	/* Announce a reopened window at once: the peer may be persisting. */
	uint32_t now = dp_tcp_rcv_window(c);
	if (now > before && (before < c->mss || now - before >= 2u * c->mss)) {
		c->st->stats.window_updates++;
		dp_tcp_send_ack(c);
	}
}

void dp_tcp_rcv_limit(struct dp_tcp_conn *c, uint32_t bytes)
{
	c->rcv_buf = bytes;
}

void dp_tcp_notify_writable(struct dp_tcp_conn *c)
{
	c->want_writable = 1;
}

void dp_tcp_set_arg(struct dp_tcp_conn *c, void *conn_arg)
{
	c->conn_arg = conn_arg;
}

int dp_tcp_shutdown(struct dp_tcp_conn *c)
{
	if (!can_queue(c))
		return -ENOTCONN;
	c->fin_queued = 1;
	c->fin_seq = c->snd_una + c->queued;
	dp_tcp_set_state(c, c->state == DP_TCP_ESTABLISHED ? DP_TCP_FIN_WAIT_1 : DP_TCP_LAST_ACK);
	dp_tcp_output(c);
	return 0;
}

void dp_tcp_abort(struct dp_tcp_conn *c)
{
	if (c->dead)
		return;
	c->accepted = 0;
	if (c->state != DP_TCP_SYN_RECEIVED && c->state != DP_TCP_TIME_WAIT)
		dp_tcp_send_rst_conn(c);
	c->st->stats.conns_reset++;
	dp_tcp_conn_destroy(c);
}

const struct dp_tcp_stats *dp_tcp_stats(const struct dp_tcp_stack *st)
{
	return &st->stats;
}

uint64_t dp_tcp_conn_obj_bytes(const struct dp_tcp_stack *st)
{
	const struct rte_mempool *mp = st->conn_pool;

	return rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
}

uint32_t dp_tcp_conn_count(const struct dp_tcp_stack *st)
{
	return st->nconns;
}

void dp_tcp_conn_info(const struct dp_tcp_conn *c, struct dp_tcp_conn_info *i)
{
	memset(i, 0, sizeof(*i));
	i->peer_ip = c->key.rip;
	i->peer_port = rte_be_to_cpu_16(c->key.rport);
	i->local_port = rte_be_to_cpu_16(c->key.lport);
	i->state = c->state;
	i->srtt_us = c->srtt_us;
	i->rttvar_us = c->rttvar_us;
	i->rto_us = c->rto_us;
	i->cwnd = c->cwnd;
	i->ssthresh = c->ssthresh;
	i->snd_wnd = c->snd_wnd;
	i->rcv_wnd = c->rcv_adv - c->rcv_nxt;
	i->mss = (uint16_t)dp_tcp_data_mss(c);
	i->snd_wscale = c->snd_wscale;
	i->rcv_wscale = c->rcv_wscale;
	i->sack_ok = c->sack_ok;
	i->ts_ok = c->ts_ok;
	i->snd_una = c->snd_una;
	i->snd_nxt = c->snd_nxt;
	i->rcv_nxt = c->rcv_nxt;
	i->unacked_bytes = c->snd_max - c->snd_una;
	i->queued_bytes = c->queued;
	i->ooo_bytes = c->ooo_bytes;
	i->ooo_segs = c->nooo;
	i->retransmits = c->retransmits;
}
