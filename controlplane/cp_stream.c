#include "controlplane/cp_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/cp_log.h"

#define LOG_MIN_CAP 256u
#define LOG_MAX_CAP (1u << 20)

static struct cp_msg *entry(const struct cp_stream *s, uint64_t seq)
{
	return s->ring[seq & (s->cap - 1)];
}

/* Byte offset of entry seq in the stream (head_off for seq == head). */
static uint64_t off_of(const struct cp_stream *s, uint64_t seq)
{
	return seq >= s->head ? s->head_off : entry(s, seq)->log_off;
}

static void count(struct cp_stream *s, size_t field_off, uint64_t n)
{
	*(uint64_t *)((char *)&s->c + field_off) += n;
	*(uint64_t *)((char *)&s->reg->c + field_off) += n;
}
#define COUNT(s, f, n) count((s), offsetof(struct cp_counters, f), (n))

static void set_ref(struct cp_msg **slot, struct cp_msg *m)
{
	if (m)
		cp_msg_get(m);
	cp_msg_put(*slot);
	*slot = m;
}

void cp_registry_init(struct cp_registry *r, const struct cp_stream_limits *lim,
		      const struct cp_registry_ops *ops, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->lim = *lim;
	if (r->lim.chunk_size == 0)
		r->lim.chunk_size = 4096;
	r->ops = ops;
	r->arg = arg;
	r->next_id = 1;
}

static void log_clear(struct cp_stream *s)
{
	while (s->tail < s->head) {
		cp_msg_put(entry(s, s->tail));
		s->tail++;
	}
	s->have_key = 0;
	set_ref(&s->gop_vseq, NULL);
	set_ref(&s->gop_aseq, NULL);
}

static void viewer_drop_refs(struct cp_viewer *v)
{
	for (unsigned i = 0; i < v->npre; i++)
		cp_msg_put(v->pre[i]);
	memset(v->pre, 0, sizeof(v->pre));
	v->npre = 0;
	v->ipre = 0;
}

static void stream_free(struct cp_stream *s)
{
	struct cp_registry *r = s->reg;
	for (struct cp_stream **pp = &r->streams; *pp; pp = &(*pp)->next_in_reg) {
		if (*pp == s) {
			*pp = s->next_in_reg;
			r->nstreams--;
			break;
		}
	}
	while (s->viewers) {
		struct cp_viewer *v = s->viewers;
		s->viewers = v->next;
		viewer_drop_refs(v);
		v->stream = NULL;
		v->state = CP_VS_DETACHED;
	}
	log_clear(s);
	set_ref(&s->meta, NULL);
	set_ref(&s->vseq, NULL);
	set_ref(&s->aseq, NULL);
	free(s->ring);
	free(s);
}

void cp_registry_fini(struct cp_registry *r)
{
	while (r->streams)
		stream_free(r->streams);
}

struct cp_stream *cp_registry_find(struct cp_registry *r, const char *app, const char *name)
{
	for (struct cp_stream *s = r->streams; s; s = s->next_in_reg)
		if (strcmp(s->app, app) == 0 && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

struct cp_stream *cp_registry_get(struct cp_registry *r, const char *app, const char *name)
{
	struct cp_stream *s = cp_registry_find(r, app, name);
	if (s)
		return s;
	if (strlen(app) >= CP_APP_NAME_MAX || strlen(name) >= CP_STREAM_NAME_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ring = calloc(LOG_MIN_CAP, sizeof(*s->ring));
	if (!s->ring) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->cap = LOG_MIN_CAP;
	s->reg = r;
	strcpy(s->app, app);
	strcpy(s->name, name);
	s->id = r->next_id++;
	s->next_in_reg = r->streams;
	r->streams = s;
	r->nstreams++;
	return s;
}

struct cp_stream *cp_registry_find_id(struct cp_registry *r, uint64_t id)
{
	for (struct cp_stream *s = r->streams; s; s = s->next_in_reg)
		if (s->id == id)
			return s;
	return NULL;
}

struct cp_stream *cp_registry_adopt(struct cp_registry *r, const char *app, const char *name,
				    uint64_t id)
{
	struct cp_stream *s = cp_registry_find(r, app, name);
	struct cp_stream *by_id = cp_registry_find_id(r, id);
	if (id == 0 || (s && s->id != id) || (by_id && by_id != s)) {
		errno = id == 0 ? EINVAL : EEXIST;
		return NULL;
	}
	if (s)
		return s;
	s = cp_registry_get(r, app, name);
	if (!s)
		return NULL;
	s->id = id;
	if (r->next_id <= id)
		r->next_id = id + 1;
	return s;
}

static int stream_unused(const struct cp_stream *s)
{
	return !s->live && !s->publisher && s->nviewers == 0 && !s->in_cb;
}

/* Send ev to every viewer; viewers may detach themselves meanwhile. */
static void notify_all(struct cp_stream *s, enum cp_viewer_event ev, const char *why)
{
	s->in_cb++;
	struct cp_viewer *v = s->viewers;
	while (v) {
		struct cp_viewer *next = v->next;
		if (v->ops && v->ops->event && !v->kicked)
			v->ops->event(v, ev, why);
		v = next;
	}
	s->in_cb--;
}

static void stream_end(struct cp_stream *s)
{
	s->live = 0;
	log_clear(s);
	cp_info("stream=%s/%s id=%llu ended (msgs_in=%llu bytes_in=%llu skips=%llu slow_kicks=%llu)",
		s->app, s->name, (unsigned long long)s->id, (unsigned long long)s->c.msgs_in,
		(unsigned long long)s->c.bytes_in, (unsigned long long)s->c.skips,
		(unsigned long long)s->c.slow_kicks);
	/* Waiting viewers start over at the next publisher's first keyframe. */
	for (struct cp_viewer *v = s->viewers; v; v = v->next) {
		viewer_drop_refs(v);
		v->state = CP_VS_WAIT_KEY;
	}
	notify_all(s, CP_VIEWER_UNPUBLISHED, "unpublished");
	if (s->reg->ops && s->reg->ops->live)
		s->reg->ops->live(s->reg->arg, s, 0);
}

void cp_registry_tick(struct cp_registry *r, uint64_t now_ms)
{
	struct cp_stream *s = r->streams;
	while (s) {
		struct cp_stream *next = s->next_in_reg;
		if (s->live && !s->publisher && now_ms >= s->unpublished_at + r->lim.grace_ms)
			stream_end(s);
		if (stream_unused(s))
			stream_free(s);
		s = next;
	}
}

void cp_stream_end_now(struct cp_stream *s)
{
	if (s->live && !s->publisher)
		stream_end(s);
}

int cp_stream_publish(struct cp_stream *s, void *owner, const char *key, void **prev)
{
	*prev = NULL;
	if (s->publisher) {
		if (strcmp(s->pub_key, key) != 0)
			return -EBUSY;
		*prev = s->publisher;
		s->publisher = owner;
		s->clock_pending = 1;
		COUNT(s, takeovers, 1);
		cp_info("stream=%s/%s id=%llu publisher taken over by same key", s->app, s->name,
			(unsigned long long)s->id);
		return 1;
	}
	snprintf(s->pub_key, sizeof(s->pub_key), "%s", key);
	s->publisher = owner;
	s->clock_pending = 1;
	COUNT(s, publishes, 1);
	if (s->live)
		return 0; /* back within the grace period: viewers carry on */
	s->live = 1;
	notify_all(s, CP_VIEWER_LIVE, "live");
	if (s->reg->ops && s->reg->ops->live)
		s->reg->ops->live(s->reg->arg, s, 1);
	return 0;
}

void cp_stream_unpublish(struct cp_stream *s, void *owner, uint64_t now_ms)
{
	if (s->publisher != owner)
		return;
	s->publisher = NULL;
	s->unpublished_at = now_ms;
	if (s->live && s->reg->lim.grace_ms == 0)
		stream_end(s);
}

void cp_stream_restore_grace(struct cp_stream *s, uint64_t now_ms)
{
	if (s->publisher)
		return;
	s->unpublished_at = now_ms;
	if (s->live)
		return;
	s->live = 1;
	if (s->reg->ops && s->reg->ops->live)
		s->reg->ops->live(s->reg->arg, s, 1);
}

/* Map a publisher timestamp onto the stream clock: a new publisher's first
 * message continues right after the latest stream timestamp. */
static uint32_t stream_clock(struct cp_stream *s, uint32_t ts)
{
	if (s->clock_pending) {
		s->clock_pending = 0;
		s->ts_offset = s->ts_valid ? s->ts_max + 1 - ts : 0;
	}
	uint32_t st = ts + s->ts_offset;
	if (!s->ts_valid || (int32_t)(st - s->ts_max) > 0)
		s->ts_max = st;
	s->ts_valid = 1;
	return st;
}

static int gop_valid(const struct cp_stream *s)
{
	return s->have_key && s->last_key >= s->tail && s->last_key < s->head &&
	       s->head_off - off_of(s, s->last_key) <= s->reg->lim.gop_cache_max;
}

static int log_grow(struct cp_stream *s)
{
	if (s->cap >= LOG_MAX_CAP)
		return -ENOSPC;
	uint64_t ncap = s->cap * 2;
	struct cp_msg **nr = calloc(ncap, sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	for (uint64_t q = s->tail; q < s->head; q++)
		nr[q & (ncap - 1)] = entry(s, q);
	free(s->ring);
	s->ring = nr;
	s->cap = ncap;
	return 0;
}

static void log_drop_tail(struct cp_stream *s)
{
	cp_msg_put(entry(s, s->tail));
	s->ring[s->tail & (s->cap - 1)] = NULL;
	s->tail++;
}

/* Keep the current GOP (if within gop_cache_max) and hard_limit bytes. */
static void log_trim(struct cp_stream *s)
{
	int gop = gop_valid(s);
	while (s->tail < s->head) {
		if (gop && s->tail >= s->last_key)
			break;
		if (s->head_off - off_of(s, s->tail) <= s->reg->lim.hard_limit)
			break;
		log_drop_tail(s);
	}
}

static int log_append(struct cp_stream *s, struct cp_msg *m)
{
	if (s->head - s->tail == s->cap) {
		int rc = log_grow(s);
		if (rc == -ENOMEM)
			return rc;
		if (rc != 0)
			log_drop_tail(s); /* at the entry cap: oldest goes */
	}
	m->log_off = s->head_off;
	s->ring[s->head & (s->cap - 1)] = m;
	s->head++;
	s->head_off += cp_msg_wire_len(m);
	return 0;
}

static void preamble_load(struct cp_stream *s, struct cp_viewer *v, int with_meta)
{
	viewer_drop_refs(v);
	struct cp_msg *cand[CP_PREAMBLE_MAX] = { with_meta ? s->meta : NULL, s->gop_vseq,
						 s->gop_aseq };
	if (!s->seen_video)
		cand[2] = s->aseq;
	for (unsigned i = 0; i < CP_PREAMBLE_MAX; i++)
		if (cand[i])
			v->pre[v->npre++] = cp_msg_get(cand[i]);
	v->state = CP_VS_PREAMBLE;
}

static void viewer_kick(struct cp_viewer *v, const char *why)
{
	struct cp_stream *s = v->stream;
	v->kicked = 1;
	COUNT(s, slow_kicks, 1);
	cp_warn("stream=%s/%s viewer kicked: %s (backlog=%llu)", s->app, s->name, why,
		(unsigned long long)cp_viewer_backlog(v));
	if (v->ops && v->ops->event)
		v->ops->event(v, CP_VIEWER_KICK, why);
}

/* Slow-viewer policy after each append. Returns 1 when v was kicked. */
static int viewer_police(struct cp_stream *s, struct cp_viewer *v)
{
	if (v->state != CP_VS_RUN && v->state != CP_VS_PREAMBLE)
		return 0;
	if (v->cursor < s->tail) {
		viewer_kick(v, "fell out of the stream log");
		return 1;
	}
	uint64_t backlog = cp_viewer_backlog(v);
	if (backlog > s->reg->lim.hard_limit) {
		viewer_kick(v, "backlog over hard limit");
		return 1;
	}
	if (backlog > s->reg->lim.skip_threshold && s->have_key && s->last_key > v->cursor &&
	    s->last_key >= s->tail) {
		COUNT(s, skipped_msgs, s->last_key - v->cursor);
		COUNT(s, skips, 1);
		v->skips++;
		cp_info("stream=%s/%s viewer skipped %llu messages to keyframe (backlog=%llu)",
			s->app, s->name, (unsigned long long)(s->last_key - v->cursor),
			(unsigned long long)backlog);
		v->cursor = s->last_key;
		preamble_load(s, v, 0);
	}
	return 0;
}

/* A waiting viewer starts at entry seq (a keyframe, or audio of a stream
 * without video). */
static void viewer_start_at(struct cp_stream *s, struct cp_viewer *v, uint64_t seq)
{
	v->cursor = seq;
	preamble_load(s, v, 1);
}

static void fan_out(struct cp_stream *s, struct cp_msg *m, uint64_t seq)
{
	int starts = (m->flags & CP_MSG_F_KEYFRAME) ||
		     (!s->seen_video && (m->flags & CP_MSG_F_AUDIO));
	s->in_cb++;
	struct cp_viewer *v = s->viewers;
	while (v) {
		struct cp_viewer *next = v->next;
		if (v->kicked) {
			v = next;
			continue;
		}
		if (v->state == CP_VS_WAIT_KEY && starts)
			viewer_start_at(s, v, seq);
		if (v->state != CP_VS_WAIT_KEY && !viewer_police(s, v) && v->ops && v->ops->event)
			v->ops->event(v, CP_VIEWER_WAKE, NULL);
		v = next;
	}
	s->in_cb--;
}

static void remember(struct cp_stream *s, struct cp_msg *m, uint64_t seq)
{
	if (m->flags & CP_MSG_F_METADATA)
		set_ref(&s->meta, m);
	if ((m->flags & CP_MSG_F_SEQHDR) && (m->flags & CP_MSG_F_VIDEO))
		set_ref(&s->vseq, m);
	if ((m->flags & CP_MSG_F_SEQHDR) && (m->flags & CP_MSG_F_AUDIO))
		set_ref(&s->aseq, m);
	if (m->flags & CP_MSG_F_KEYFRAME) {
		s->last_key = seq;
		s->have_key = 1;
		set_ref(&s->gop_vseq, s->vseq);
		set_ref(&s->gop_aseq, s->aseq);
		COUNT(s, keyframes, 1);
	}
	if (m->flags & CP_MSG_F_VIDEO)
		s->seen_video = 1;
}

int cp_stream_ingest(struct cp_stream *s, uint8_t type, uint32_t ts, const uint8_t *p,
		     size_t len)
{
	unsigned flags = cp_msg_classify(type, p, len);
	if (type == CP_MT_DATA_AMF0 && !(flags & CP_MSG_F_METADATA)) {
		COUNT(s, rejected_msgs, 1);
		return 0; /* other data messages are not part of the stream */
	}
	s->last_ts = stream_clock(s, ts);
	struct cp_msg *m = cp_msg_new(type, s->last_ts, p, len, s->reg->lim.chunk_size, flags);
	if (!m) {
		COUNT(s, rejected_msgs, 1);
		return -errno;
	}
	int rc = log_append(s, m);
	if (rc != 0) {
		cp_msg_put(m);
		return rc;
	}
	uint64_t seq = s->head - 1;
	remember(s, m, seq);
	COUNT(s, msgs_in, 1);
	COUNT(s, bytes_in, len);
	log_trim(s);
	fan_out(s, m, seq);
	return 0;
}

int cp_viewer_attach(struct cp_stream *s, struct cp_viewer *v)
{
	memset(v->pre, 0, sizeof(v->pre));
	v->npre = v->ipre = 0;
	v->stream = s;
	v->kicked = 0;
	v->started = 0;
	v->inflight = 0;
	v->prev = NULL;
	v->next = s->viewers;
	if (s->viewers)
		s->viewers->prev = v;
	s->viewers = v;
	s->nviewers++;
	COUNT(s, viewers_total, 1);
	v->state = CP_VS_WAIT_KEY;
	if (s->live && gop_valid(s))
		viewer_start_at(s, v, s->last_key);
	else if (s->live && !s->seen_video && s->head > s->tail)
		viewer_start_at(s, v, s->head);
	return 0;
}

void cp_viewer_detach(struct cp_viewer *v)
{
	struct cp_stream *s = v->stream;
	if (!s)
		return;
	viewer_drop_refs(v);
	if (v->prev)
		v->prev->next = v->next;
	else
		s->viewers = v->next;
	if (v->next)
		v->next->prev = v->prev;
	v->prev = v->next = NULL;
	v->stream = NULL;
	v->state = CP_VS_DETACHED;
	s->nviewers--;
	if (stream_unused(s))
		stream_free(s);
}

static uint32_t viewer_ts(struct cp_viewer *v, uint32_t ts)
{
	if (!v->started) {
		v->started = 1;
		v->ts_base = ts;
		v->last_ts = 0;
	}
	uint32_t out = ts - v->ts_base;
	if ((int32_t)out < 0)
		out = 0;
	if (out < v->last_ts)
		out = v->last_ts; /* never backwards, whatever the source did */
	v->last_ts = out;
	return out;
}

int cp_viewer_next(struct cp_viewer *v, struct cp_msg **m, uint32_t *ts)
{
	struct cp_stream *s = v->stream;
	if (v->kicked)
		return -EPIPE;
	if (!s)
		return 0;
	if (v->state == CP_VS_PREAMBLE) {
		if (v->ipre < v->npre) {
			*m = v->pre[v->ipre++];
			/* codec headers carry the timestamp the media resumes at */
			*ts = v->started ? v->last_ts : 0;
			goto out;
		}
		viewer_drop_refs(v);
		v->state = CP_VS_RUN;
	}
	if (v->state != CP_VS_RUN || v->cursor >= s->head)
		return 0;
	if (v->cursor < s->tail) {
		viewer_kick(v, "fell out of the stream log");
		return -EPIPE;
	}
	*m = entry(s, v->cursor++);
	*ts = viewer_ts(v, (*m)->ts);
out:
	v->msgs_sent++;
	v->bytes_sent += cp_msg_wire_len(*m);
	COUNT(s, msgs_out, 1);
	COUNT(s, bytes_out, cp_msg_wire_len(*m));
	return 1;
}

uint64_t cp_viewer_backlog(const struct cp_viewer *v)
{
	const struct cp_stream *s = v->stream;
	if (!s || v->state == CP_VS_WAIT_KEY || v->state == CP_VS_DETACHED)
		return v->inflight;
	uint64_t from = v->cursor < s->tail ? s->tail : v->cursor;
	return s->head_off - off_of(s, from) + v->inflight;
}

uint64_t cp_stream_log_bytes(const struct cp_stream *s)
{
	return s->head > s->tail ? s->head_off - off_of(s, s->tail) : 0;
}

int cp_stream_gop_cached(const struct cp_stream *s)
{
	return gop_valid(s);
}
