/* Publisher ingest, per-worker stream views, fan-out between workers and
 * the viewer scheduler with the slow-viewer policy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "dataplane/dp_rtmp_int.h"
#include "dataplane/dp_tcp.h"
#include "dataplane/dp_worker.h"
#include "rtmp/rtmp_cmd.h"

static struct dp_sslot *sslot(struct dp_rtmp *r, int32_t slot)
{
	return &r->sh->streams.slot[slot];
}

/* ---- local stream objects ---- */

static struct dp_lstream *ls_get(struct dp_rtmp *r, int32_t slot, uint64_t stream)
{
	const struct dp_conf *c = &r->w->app->conf;
	struct dp_lstream *ls = r->ls[slot];

	if (ls && ls->v.stream == stream)
		return ls;
	if (ls)
		return NULL; /* slot reused while a stale view lingers */
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return NULL;
	if (dp_view_init(&ls->v, stream, (uint32_t)slot, (uint32_t)c->rtmp_log_entries,
			 c->rtmp_log_bytes) != 0) {
		free(ls);
		return NULL;
	}
	ls->slot = (uint32_t)slot;
	TAILQ_INIT(&ls->vlist);
	r->ls[slot] = ls;
	return ls;
}

/* Free the local view when nothing needs it any more. */
static void ls_maybe_free(struct dp_rtmp *r, struct dp_lstream *ls)
{
	struct dp_sslot *sl = sslot(r, (int32_t)ls->slot);

	if (ls->nviewers || ls->publisher)
		return;
	/* The master keeps the log through grace (viewers elsewhere may
	 * resubscribe) until STREAM_END. */
	if (ls->master && !atomic_load(&sl->ended))
		return;
	atomic_fetch_and(&sl->sub_mask, ~(1ull << r->w->id));
	if (ls->master && atomic_load(&sl->pub_worker) == (int32_t)r->w->id)
		atomic_store(&sl->pub_worker, -1);
	r->ls[ls->slot] = NULL;
	dp_view_fini(&ls->v);
	free(ls);
}

/* ---- ready list ---- */

static void ready_push(struct dp_rtmp *r, struct dp_rsess *s)
{
	s->swept = 0; /* a real reason: not the sweep's find */
	if (s->ready)
		return;
	s->ready = 1;
	TAILQ_INSERT_TAIL(&r->ready, s, rlink);
	r->nready++;
}

static void ready_del(struct dp_rtmp *r, struct dp_rsess *s)
{
	if (!s->ready)
		return;
	TAILQ_REMOVE(&r->ready, s, rlink);
	r->nready--;
	s->ready = 0;
	s->swept = 0;
}

void dp_fan_wake(struct dp_rsess *s)
{
	if (s->vslot >= 0)
		ready_push(s->r, s);
}

/* Every viewer of the stream goes ready; the list rotates so the same
 * viewer is not always served first. */
static void ls_ready_all(struct dp_rtmp *r, struct dp_lstream *ls)
{
	struct dp_rsess *s;

	TAILQ_FOREACH(s, &ls->vlist, vlink)
		ready_push(r, s);
	s = TAILQ_FIRST(&ls->vlist);
	if (s && TAILQ_NEXT(s, vlink)) {
		TAILQ_REMOVE(&ls->vlist, s, vlink);
		TAILQ_INSERT_TAIL(&ls->vlist, s, vlink);
	}
}

/* The stream's log changed: its viewers go ready at the next round (once,
 * however many entries arrive before it). */
static void ls_wake(struct dp_rtmp *r, struct dp_lstream *ls)
{
	if (ls->woken || !ls->nviewers)
		return;
	if (r->nwoken < DP_STREAMS_MAX) {
		ls->woken = 1;
		r->woken[r->nwoken++] = ls->slot;
		return;
	}
	ls_ready_all(r, ls); /* list full (views churned): now */
}

/* ---- viewer cursors ---- */

static void pre_clear(struct dp_rsess *s)
{
	for (uint8_t i = s->pre_i; i < s->npre; i++)
		rte_pktmbuf_free(s->pre[i]);
	s->npre = s->pre_i = 0;
}

/* Which preamble slot an entry fills (metadata, video or audio sequence
 * header), -1 for others. */
static int pre_kind(const struct rte_mbuf *m)
{
	uint8_t fl = dp_entry_meta(m)->flags;

	if (fl & DP_ENTRY_METADATA)
		return 0;
	if (!(fl & DP_ENTRY_SEQHDR))
		return -1;
	return (fl & DP_ENTRY_VIDEO) ? 1 : 2;
}

/* The viewer is about to get entry m: remember its decoder configuration. */
static void pre_note(struct dp_rsess *s, const struct rte_mbuf *m)
{
	int k = pre_kind(m);

	if (k >= 0)
		s->have_seq[k] = dp_entry_meta(m)->seq;
}

/* Queue metadata and sequence headers the viewer does not have yet (own
 * references) to go first. */
static void pre_load(struct dp_rsess *s, const struct dp_view *v)
{
	struct rte_mbuf *cand[DP_RS_PRE_MAX] = { v->meta, v->vsh, v->ash };

	pre_clear(s);
	for (int i = 0; i < DP_RS_PRE_MAX; i++) {
		if (!cand[i] || dp_entry_meta(cand[i])->seq == s->have_seq[i])
			continue;
		dp_entry_ref(cand[i]);
		s->pre[s->npre++] = cand[i];
	}
}

/* Position a viewer at the view's GOP start, or wait for a keyframe. */
static void viewer_start(struct dp_rsess *s, struct dp_lstream *ls)
{
	ready_push(s->r, s);
	s->need_start = 0;
	pre_load(s, &ls->v);
	if (ls->v.key_seq) {
		s->cur_seq = ls->v.key_seq;
		s->wait_key = 0;
	} else {
		s->cur_seq = ls->v.last_seq + 1;
		s->wait_key = 1;
	}
}

static void viewer_skip_to(struct dp_rsess *s, struct dp_lstream *ls, uint64_t key)
{
	uint64_t from = dp_view_offset(&ls->v, s->cur_seq);
	uint64_t to = dp_view_offset(&ls->v, key);
	uint64_t dropped = to > from ? to - from : 0;

	pre_load(s, &ls->v);
	s->cur_seq = key;
	s->skips++;
	ls->skips++;
	ls->skip_bytes += dropped;
	s->r->st.skips++;
	s->r->st.skip_bytes += dropped;
}

/* The next entry for s from the log, with the skip rules applied; NULL when
 * caught up. */
static struct rte_mbuf *viewer_next(struct dp_rsess *s, struct dp_lstream *ls)
{
	const struct dp_conf *c = &s->r->w->app->conf;
	struct dp_view *v = &ls->v;

	for (;;) {
		struct rte_mbuf *m;
		uint64_t key;

		if (!v->first_seq || s->cur_seq > v->last_seq)
			return NULL;
		if (s->cur_seq < v->first_seq || s->wait_key) {
			/* fell off the log, or never started: next keyframe */
			key = dp_view_next_key(v, s->cur_seq);
			if (!key) {
				if (!s->wait_key) {
					/* playing, and the log lost what it needed
					 * next: a skip to the coming keyframe */
					s->skips++;
					ls->skips++;
					s->r->st.skips++;
				}
				s->cur_seq = v->last_seq + 1;
				s->wait_key = 1;
				return NULL;
			}
			if (s->wait_key) {
				s->wait_key = 0;
				pre_load(s, v);
				s->cur_seq = key;
			} else {
				viewer_skip_to(s, ls, key);
			}
			if (s->npre)
				return NULL; /* preamble first */
			continue;
		}
		if (v->end_off - dp_view_offset(v, s->cur_seq) > c->rtmp_skip_backlog &&
		    v->key_seq > s->cur_seq) {
			viewer_skip_to(s, ls, v->key_seq);
			if (s->npre)
				return NULL;
			continue;
		}
		m = dp_view_get(v, s->cur_seq);
		if (m)
			return m;
		s->cur_seq++; /* hole */
	}
}

/* Send what fits of the in-flight entry. Returns bytes accepted or -errno. */
static int viewer_send_cur(struct dp_rsess *s, struct dp_lstream *ls, uint32_t budget)
{
	uint32_t left = s->cur->pkt_len - s->cur_off;
	int rc;

	if (left > budget)
		left = budget;
	rc = dp_tcp_send(s->conn, s->cur, s->cur_off, left);
	if (rc <= 0)
		return rc == -EAGAIN ? 0 : rc;
	s->cur_off += (uint32_t)rc;
	s->bytes_out += (uint32_t)rc;
	ls->bytes_sent += (uint32_t)rc;
	s->r->st.payload_bytes_sent += (uint32_t)rc;
	/* Canonical bytes went around rc's writer: its header state is void. */
	rtmp_conn_note_out(&s->rc, (uint32_t)rc, 1);
	if (s->cur_off == s->cur->pkt_len) {
		rte_pktmbuf_free(s->cur);
		s->cur = NULL;
		s->cur_off = 0;
		s->r->st.media_msgs_sent++;
	}
	return rc;
}

/* Give viewer s up to budget bytes. Returns the bytes sent. */
static uint32_t viewer_pump(struct dp_rsess *s, uint32_t budget)
{
	struct dp_lstream *ls = s->r->ls[s->vslot];
	uint32_t sent = 0;

	if (!ls || s->need_start)
		return 0;
	while (sent < budget) {
		int rc;

		if (!s->cur) {
			int q = dp_rsess_flush(s);

			if (q <= 0)
				break; /* command bytes first, whole messages */
			if (s->closing || s->shut)
				break; /* FIN queued or due: no new message */
			if (s->pre_i < s->npre) {
				s->cur = s->pre[s->pre_i++];
				if (s->pre_i == s->npre)
					s->npre = s->pre_i = 0;
				pre_note(s, s->cur);
			} else {
				struct rte_mbuf *m = viewer_next(s, ls);

				if (!m) {
					if (s->pre_i < s->npre)
						continue;
					break;
				}
				dp_entry_ref(m);
				s->cur = m;
				s->cur_seq++;
				pre_note(s, m);
			}
			s->cur_off = 0;
		}
		rc = viewer_send_cur(s, ls, budget - sent);
		if (rc <= 0) {
			/* -EPIPE after shut: the peer left mid-message, TCP ends
			 * the connection; a reset would drop unacknowledged bytes */
			if (rc < 0 && !(rc == -EPIPE && s->shut))
				dp_rsess_reset(s, "send failed");
			break;
		}
		sent += (uint32_t)rc;
		if (s->cur)
			break; /* partial: TCP space or the budget ran out */
	}
	/* Cut by the budget: more to send in the next round. Out of data,
	 * TCP space or command bytes: a new entry or on_writable wakes it. */
	if (sent >= budget)
		ready_push(s->r, s);
	return sent;
}

unsigned dp_fan_schedule(struct dp_rtmp *r)
{
	uint32_t budget = (uint32_t)r->w->app->conf.rtmp_send_budget;
	unsigned work = 0;
	uint32_t n;

	for (uint32_t i = 0; i < r->nwoken; i++) {
		struct dp_lstream *ls = r->ls[r->woken[i]];

		if (!ls || !ls->woken)
			continue; /* freed meanwhile, or listed twice */
		ls->woken = 0;
		ls_ready_all(r, ls);
	}
	r->nwoken = 0;
	/* Viewers pushed during the round (budget cut) wait for the next one. */
	n = r->nready;
	while (n-- && !TAILQ_EMPTY(&r->ready)) {
		struct dp_rsess *s = TAILQ_FIRST(&r->ready);
		uint8_t swept = s->swept;
		uint32_t sent;

		ready_del(r, s);
		r->st.fan_visits++;
		sent = viewer_pump(s, budget); /* may reset (free) s */
		if (sent) {
			work++;
			if (swept)
				r->st.fan_sweep_sends++;
		}
	}
	return work;
}

/* ---- slow viewers ---- */

static void viewer_check(struct dp_rsess *s, uint64_t now)
{
	const struct dp_conf *c = &s->r->w->app->conf;
	struct dp_lstream *ls = s->r->ls[s->vslot];
	uint32_t queued = dp_tcp_send_queued(s->conn);
	uint64_t held = queued + (s->txq ? s->txq->pkt_len - s->txq_off : 0) +
			(s->cur ? s->cur->pkt_len - s->cur_off : 0);
	struct dp_tcp_conn_info ci;

	if (held > c->rtmp_viewer_mem_cap) {
		if (ls)
			ls->resets++;
		s->r->st.resets++;
		dp_rsess_reset(s, "viewer memory cap");
		return;
	}
	if (queued == 0) {
		s->stall_since_us = 0;
		return;
	}
	dp_tcp_conn_info(s->conn, &ci);
	if (!s->stall_since_us || ci.snd_una != s->last_una) {
		s->last_una = ci.snd_una;
		s->stall_since_us = now;
		return;
	}
	if (now - s->stall_since_us > c->rtmp_stall_timeout_ms * 1000) {
		if (ls)
			ls->resets++;
		s->r->st.stalls++;
		s->r->st.resets++;
		dp_rsess_reset(s, "viewer stalled");
	}
}

void dp_fan_timers(struct dp_rtmp *r)
{
	for (uint32_t i = 0; i < r->nviewers;) {
		struct dp_rsess *s = r->viewers[i];
		uint32_t before = r->nviewers;

		viewer_check(s, r->now_us);
		if (r->nviewers != before)
			continue; /* a reset viewer was swapped out of slot i */
		/* Safety sweep: every viewer is visited at least this often, so a
		 * missed wake-up costs one timer period, and is counted. */
		if (!s->ready) {
			ready_push(r, s);
			s->swept = 1;
		}
		i++;
	}
	for (uint32_t i = 0; i < DP_STREAMS_MAX; i++) {
		struct dp_lstream *ls = r->ls[i];

		if (ls && ls->pending && r->now_us - ls->pending_since_us > DP_RTMP_SNAPSHOT_WAIT_US) {
			/* snapshot lost (ring full): start from live entries */
			ls->pending = 0;
			for (uint32_t k = 0; k < r->nviewers; k++)
				if (r->viewers[k]->vslot == (int32_t)i && r->viewers[k]->need_start)
					viewer_start(r->viewers[k], ls);
		}
	}
}

/* ---- ingest ---- */

/* Body to store for a data message: @setDataFrame stripped (the result is a
 * suffix of the input, so no copy). Returns 0, or -1 for data messages that
 * are not stream metadata (left to the control plane). */
static int ingest_data_body(struct dp_rtmp *r, const struct rtmp_msg *m, const uint8_t **p,
			    uint32_t *len)
{
	struct rtmp_amf0_arena a;
	struct rtmp_data d;

	rtmp_amf0_arena_init(&a, r->nodes, (uint32_t)(sizeof(r->nodes) / sizeof(r->nodes[0])));
	if (rtmp_data_parse(m->type, m->data, m->length, &a, &d) != 0)
		return -1;
	if (d.name.len != 10 || memcmp(d.name.ptr, "onMetaData", 10) != 0)
		return -1;
	if (d.payload_off > m->length)
		return -1;
	*p = m->data + d.payload_off;
	*len = m->length - d.payload_off;
	return 0;
}

static uint32_t ingest_clock(struct dp_rsess *s, uint32_t ts)
{
	struct dp_sslot *sl = sslot(s->r, s->pslot);
	uint32_t clock;

	if (!s->clock_set) {
		/* Continue where the previous publisher stopped. */
		s->ts_off = atomic_load(&sl->clock_valid) ? atomic_load(&sl->clock_next) - ts : 0;
		s->clock_set = 1;
		s->last_clock = ts + s->ts_off;
	}
	clock = ts + s->ts_off;
	/* never backwards (wrapping compare) */
	if ((int32_t)(clock - s->last_clock) < 0)
		clock = s->last_clock;
	s->last_clock = clock;
	atomic_store(&sl->clock_next, clock + 1);
	atomic_store(&sl->clock_valid, 1);
	return clock;
}

static void fan_to_workers(struct dp_rtmp *r, struct dp_sslot *sl, struct rte_mbuf *e)
{
	uint64_t mask = atomic_load(&sl->sub_mask) & ~(1ull << r->w->id);

	while (mask) {
		uint16_t w = (uint16_t)__builtin_ctzll(mask);
		struct dp_rtmp *peer = dp_rtmp_of(r, w);

		mask &= mask - 1;
		if (!peer)
			continue;
		dp_entry_ref(e);
		if (rte_ring_enqueue(peer->fan, e) != 0) {
			rte_pktmbuf_free(e);
			r->st.fanout_dropped++;
		} else {
			r->st.fanout_enqueued++;
		}
	}
}

static void archive_copy(struct dp_rsess *s, struct rte_mbuf *e)
{
	struct dp_rtmp *r = s->r;
	const struct dp_entry_meta *em = dp_entry_meta(e);
	struct dp_sslot *sl = sslot(r, s->pslot);
	struct dp_ipc_archive ar;
	struct dp_cpmsg *m;

	if (!atomic_load_explicit(&r->sh->cp_up, memory_order_relaxed)) {
		r->st.archive_dropped++;
		atomic_fetch_add(&sl->ar_dropped, 1);
		return;
	}
	m = dp_cpmsg_new(DP_IPC_ARCHIVE_MSG, s->id, s->pstream, sizeof(ar));
	if (!m) {
		r->st.archive_dropped++;
		atomic_fetch_add(&sl->ar_dropped, 1);
		return;
	}
	memset(&ar, 0, sizeof(ar));
	ar.type = em->type;
	ar.timestamp = em->ts;
	ar.flags = (uint8_t)(((em->flags & DP_ENTRY_KEYFRAME) ? DP_IPC_AR_KEYFRAME : 0) |
			     ((em->flags & DP_ENTRY_SEQHDR) ? DP_IPC_AR_SEQHDR : 0) |
			     ((em->flags & DP_ENTRY_METADATA) ? DP_IPC_AR_METADATA : 0));
	memcpy(m->data, &ar, sizeof(ar));
	dp_entry_ref(e);
	m->ref = e;
	m->slot = s->pslot;
	if (dp_rtmp_emit_archive(r, m) != 0) {
		atomic_fetch_add(&sl->ar_dropped, 1);
		return;
	}
	r->st.archive_enqueued++;
}

static void republish_jump(struct dp_rtmp *r, struct dp_lstream *ls, const struct dp_entry_meta *e);

/* Append to the local view (taking a reference for it). */
static void ls_append(struct dp_rtmp *r, struct dp_lstream *ls, struct rte_mbuf *e)
{
	const struct dp_entry_meta *em = dp_entry_meta(e);
	uint64_t gaps = ls->v.gaps;

	if (dp_view_append(&ls->v, e) != 0)
		return;
	ls_wake(r, ls);
	if (ls->v.gaps != gaps)
		r->st.log_gaps++;
	if ((em->flags & DP_ENTRY_KEYFRAME) && ls->v.epoch_key_seq == em->seq)
		republish_jump(r, ls, em);
}

static void reasm_ext_free(void *addr, void *opaque)
{
	rte_free(opaque);
}

/* Turn the reader's reassembly buffer holding m into the entry's payload:
 * no copy. NULL when the buffer cannot be taken or mbufs ran out (the
 * caller falls back to a copy, or counts the loss). */
static struct rte_mbuf *ingest_take(struct dp_rsess *s, const struct rtmp_msg *m,
				    const struct dp_entry_meta *em, const uint8_t *p)
{
	struct dp_rtmp *r = s->r;
	size_t size;
	uint8_t *buf = rtmp_chunk_reader_take(&s->rc.rd, m, &size);
	uint8_t *base;
	struct rte_mbuf_ext_shared_info *sh;
	struct rte_mbuf *e;

	if (!buf) /* not the reader's buffer after all: copy */
		return dp_entry_build(r->w->pool, em, p, r->chunk, &r->st.payload_bytes_copied);
	base = buf - DP_REASM_HDR;
	sh = (struct rte_mbuf_ext_shared_info *)base;
	sh->free_cb = reasm_ext_free;
	sh->fcb_opaque = base;
	rte_mbuf_ext_refcnt_set(sh, 1); /* ours, dropped below */
	e = dp_entry_build_ext(r->ent_pool, em, (uint8_t *)p,
			       rte_malloc_virt2iova(base) + (rte_iova_t)(p - base), sh, r->chunk);
	if (rte_mbuf_ext_refcnt_update(sh, -1) == 0)
		rte_free(base);
	return e;
}

int dp_fan_ingest(struct dp_rsess *s, const struct rtmp_msg *m, int reasm)
{
	struct dp_rtmp *r = s->r;
	struct dp_lstream *ls = r->ls[s->pslot];
	struct dp_sslot *sl = sslot(r, s->pslot);
	const uint8_t *p = m->data;
	uint32_t len = m->length;
	struct dp_entry_meta em;
	struct rte_mbuf *e;

	if (!ls)
		return 0;
	memset(&em, 0, sizeof(em));
	em.type = m->type;
	if (m->type == RTMP_MSG_DATA_AMF0 || m->type == RTMP_MSG_DATA_AMF3) {
		if (ingest_data_body(r, m, &p, &len) != 0) {
			r->st.bad_cmds++; /* other data messages are not logged */
			return 0;
		}
		em.type = RTMP_MSG_DATA_AMF0;
	}
	em.stream = s->pstream;
	em.slot = (uint32_t)s->pslot;
	em.epoch = s->epoch;
	em.plen = len;
	em.flags = dp_entry_classify(em.type, p, len);
	em.ts = ingest_clock(s, m->timestamp);
	em.seq = atomic_fetch_add(&sl->next_seq, 1);
	e = NULL;
	if (reasm)
		e = ingest_take(s, m, &em, p);
	else
		e = dp_entry_build(r->w->pool, &em, p, r->chunk, &r->st.payload_bytes_copied);
	if (!e) {
		/* Out of mbufs: the message is lost. Its seq is spent, so every
		 * view sees the hole at the next entry and its viewers resume
		 * at the next keyframe (whole messages: the stream stays valid). */
		r->st.entries_lost++;
		return 0;
	}
	r->st.ingest_msgs++;
	r->st.ingest_bytes += len;
	fan_to_workers(r, sl, e);
	archive_copy(s, e);
	ls_append(r, ls, e); /* takes our reference */
	return 0;
}

static void emit_state(struct dp_rtmp *r, uint64_t stream, uint32_t state, uint32_t viewers,
		       uint64_t publisher)
{
	struct dp_ipc_stream_state st = { state, viewers, publisher };
	struct dp_cpmsg *m;

	if (!atomic_load_explicit(&r->sh->cp_up, memory_order_relaxed))
		return;
	m = dp_cpmsg_new(DP_IPC_STREAM_STATE, publisher, stream, sizeof(st));
	if (!m)
		return;
	memcpy(m->data, &st, sizeof(st));
	dp_rtmp_emit(r, m);
}

int dp_fan_publish(struct dp_rsess *s, int32_t slot, uint64_t stream, uint32_t msid)
{
	struct dp_rtmp *r = s->r;
	struct dp_sslot *sl = sslot(r, slot);
	struct dp_lstream *ls = ls_get(r, slot, stream);

	if (!ls)
		return -ENOMEM;
	if (ls->publisher && ls->publisher != s)
		dp_fan_unpublish(ls->publisher); /* takeover */
	ls->publisher = s;
	ls->master = 1;
	s->pslot = slot;
	s->pstream = stream;
	s->pmsid = msid;
	s->clock_set = 0;
	s->epoch = atomic_fetch_add(&sl->epoch, 1) + 1;
	atomic_store(&sl->ended, 0);
	atomic_store(&sl->pub_worker, (int32_t)r->w->id);
	r->st.publishers++;
	emit_state(r, stream, DP_IPC_STREAM_LIVE, ls->nviewers, s->id);
	return 0;
}

void dp_fan_unpublish(struct dp_rsess *s)
{
	struct dp_rtmp *r = s->r;
	struct dp_lstream *ls = r->ls[s->pslot];

	if (ls && ls->publisher == s) {
		ls->publisher = NULL;
		emit_state(r, s->pstream, DP_IPC_STREAM_GRACE, ls->nviewers, 0);
	}
	s->pslot = -1;
	s->pstream = 0;
}

/* ---- viewers ---- */

static void viewers_add(struct dp_rtmp *r, struct dp_rsess *s)
{
	s->vidx = r->nviewers;
	r->viewers[r->nviewers++] = s;
}

static void viewers_del(struct dp_rtmp *r, struct dp_rsess *s)
{
	struct dp_rsess *last = r->viewers[--r->nviewers];

	r->viewers[s->vidx] = last;
	last->vidx = s->vidx;
}

int dp_fan_attach(struct dp_rsess *s, int32_t slot, uint64_t stream, uint32_t msid)
{
	struct dp_rtmp *r = s->r;
	struct dp_sslot *sl = sslot(r, slot);
	struct dp_lstream *ls = ls_get(r, slot, stream);
	int fresh;
	int32_t pub;

	if (!ls)
		return -ENOMEM;
	fresh = !(atomic_load(&sl->sub_mask) & (1ull << r->w->id)) && !ls->master;
	atomic_fetch_or(&sl->sub_mask, 1ull << r->w->id);
	pub = atomic_load(&sl->pub_worker);
	if (fresh && pub >= 0 && pub != (int32_t)r->w->id) {
		struct dp_rtmp *peer = dp_rtmp_of(r, (uint16_t)pub);

		if (peer && rte_ring_enqueue(peer->fan, (void *)dp_fan_ctl(DP_FAN_GOP_REQ, r->w->id,
									   (uint32_t)slot)) == 0) {
			ls->pending = 1;
			ls->pending_since_us = r->now_us;
		}
	}
	s->vslot = slot;
	s->vmsid = msid;
	memset(s->have_seq, 0, sizeof(s->have_seq));
	s->role = DP_IPC_ROLE_VIEWER;
	ls->nviewers++;
	TAILQ_INSERT_TAIL(&ls->vlist, s, vlink);
	r->st.viewers++;
	viewers_add(r, s);
	/* Viewers read canonical bytes: their in chunk size must be ours. */
	if (s->rc.wr.chunk_size != r->chunk) {
		int rc = rtmp_conn_set_chunk_size(&s->rc, r->chunk);

		if (rc != 0)
			return rc;
	}
	if (ls->pending)
		s->need_start = 1;
	else
		viewer_start(s, ls);
	return 0;
}

void dp_fan_detach(struct dp_rsess *s)
{
	struct dp_rtmp *r = s->r;
	struct dp_lstream *ls = r->ls[s->vslot];

	viewers_del(r, s);
	ready_del(r, s);
	pre_clear(s);
	/* A message half sent stays referenced by TCP; dropping ours is safe,
	 * but the rest of it will not be sent: the connection is going. */
	rte_pktmbuf_free(s->cur);
	s->cur = NULL;
	s->cur_off = 0;
	s->vslot = -1;
	if (ls) {
		TAILQ_REMOVE(&ls->vlist, s, vlink);
		ls->nviewers--;
		ls_maybe_free(r, ls);
	}
}

static void republish_jump(struct dp_rtmp *r, struct dp_lstream *ls, const struct dp_entry_meta *e)
{
	for (uint32_t k = 0; k < r->nviewers; k++) {
		struct dp_rsess *s = r->viewers[k];
		struct rte_mbuf *m;

		if (s->vslot != (int32_t)ls->slot || s->need_start || s->wait_key ||
		    s->cur_seq >= e->seq)
			continue;
		m = dp_view_get(&ls->v, s->cur_seq);
		/* Not held (a hole in the log, or evicted): viewer_next() moves
		 * it to this keyframe and counts the skip. Same epoch: already
		 * in the new publisher's messages. */
		if (!m || dp_entry_meta(m)->epoch == e->epoch)
			continue;
		pre_load(s, &ls->v);
		s->cur_seq = e->seq;
		r->st.republish_jumps++;
	}
}

void dp_fan_stream_end(struct dp_rtmp *r, int32_t slot)
{
	struct dp_lstream *ls = r->ls[slot];

	if (!ls)
		return;
	if (ls->publisher)
		return; /* republished meanwhile */
	dp_view_clear(&ls->v);
	ls_wake(r, ls);
	ls_maybe_free(r, ls);
}

/* ---- fan ring ---- */

static void gop_snapshot(struct dp_rtmp *r, uint32_t to, uint32_t slot)
{
	struct dp_rtmp *peer = dp_rtmp_of(r, (uint16_t)to);
	struct dp_lstream *ls = r->ls[slot];

	if (!peer)
		return;
	if (ls) {
		struct rte_mbuf *pre[DP_RS_PRE_MAX] = { ls->v.meta, ls->v.vsh, ls->v.ash };

		for (int i = 0; i < DP_RS_PRE_MAX; i++) {
			if (!pre[i])
				continue;
			dp_entry_ref(pre[i]);
			if (rte_ring_enqueue(peer->fan, (void *)((uintptr_t)pre[i] | DP_FAN_PRE)) != 0)
				rte_pktmbuf_free(pre[i]);
		}
		for (uint64_t q = ls->v.key_seq; q && q <= ls->v.last_seq; q++) {
			struct rte_mbuf *m = dp_view_get(&ls->v, q);

			if (!m)
				continue;
			dp_entry_ref(m);
			if (rte_ring_enqueue(peer->fan, (void *)((uintptr_t)m | DP_FAN_SNAP)) != 0) {
				rte_pktmbuf_free(m);
				r->st.fanout_dropped++;
			}
		}
	}
	if (rte_ring_enqueue(peer->fan, (void *)dp_fan_ctl(DP_FAN_SNAP_END, r->w->id, slot)) != 0)
		r->st.fanout_dropped++; /* the peer's timer starts it from live entries */
}

static void fan_ctl(struct dp_rtmp *r, uintptr_t v)
{
	uint32_t kind = (uint32_t)(v >> 1) & 0x7f;
	uint32_t worker = (uint32_t)(v >> 8) & 0xff;
	uint32_t slot = (uint32_t)(v >> 16) & 0xffff;
	struct dp_lstream *ls;

	if (slot >= DP_STREAMS_MAX)
		return;
	if (kind == DP_FAN_GOP_REQ) {
		gop_snapshot(r, worker, slot);
		return;
	}
	ls = r->ls[slot];
	if (kind != DP_FAN_SNAP_END || !ls || !ls->pending)
		return;
	ls->pending = 0;
	for (uint32_t k = 0; k < r->nviewers; k++)
		if (r->viewers[k]->vslot == (int32_t)slot && r->viewers[k]->need_start)
			viewer_start(r->viewers[k], ls);
}

static void fan_entry(struct dp_rtmp *r, uintptr_t v)
{
	struct rte_mbuf *m = (struct rte_mbuf *)(v & ~(uintptr_t)DP_FAN_TAGS);
	const struct dp_entry_meta *e = dp_entry_meta(m);
	struct dp_lstream *ls = e->slot < DP_STREAMS_MAX ? r->ls[e->slot] : NULL;

	r->st.fanout_received++;
	if (!ls || ls->v.stream != e->stream || ls->publisher ||
	    (ls->pending && !(v & (DP_FAN_SNAP | DP_FAN_PRE)))) {
		rte_pktmbuf_free(m); /* no view, or live entries the snapshot covers */
		return;
	}
	if (v & DP_FAN_PRE) {
		dp_view_note_preamble(&ls->v, m);
		return;
	}
	ls_append(r, ls, m);
}

unsigned dp_fan_rx(struct dp_rtmp *r)
{
	void *v[DP_BURST];
	unsigned n = rte_ring_dequeue_burst(r->fan, v, DP_BURST, NULL);

	for (unsigned i = 0; i < n; i++) {
		uintptr_t x = (uintptr_t)v[i];

		if (x & DP_FAN_CTL)
			fan_ctl(r, x);
		else
			fan_entry(r, x);
	}
	return n;
}

void dp_fan_free_all(struct dp_rtmp *r)
{
	for (uint32_t i = 0; i < DP_STREAMS_MAX; i++) {
		struct dp_lstream *ls = r->ls[i];

		if (!ls)
			continue;
		r->ls[i] = NULL;
		dp_view_fini(&ls->v);
		free(ls);
	}
}
