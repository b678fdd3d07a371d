/* Archive, event-loop side: recording lifecycle, segmentation decisions,
 * the bounded per-recording queue, free-space polling and maintenance.
 * See cp_archive.h for the model; file work is in cp_archive_io.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/cp_archive_int.h"
#include "controlplane/cp_log.h"
#include "flv/flv_codec.h"
#include "flv/flv_tag.h"

/* Audio without any video for this long (stream clock) = audio-only stream. */
#define AUDIO_ONLY_MS 3000u

/* ---- queue ---- */

static struct cp_arch_op *op_new(enum cp_arch_op_kind kind, uint8_t type, uint32_t ts,
				 const void *data, size_t len)
{
	struct cp_arch_op *op = malloc(sizeof(*op) + len + 1);
	if (!op)
		return NULL;
	op->next = NULL;
	op->kind = kind;
	op->type = type;
	op->ts = ts;
	op->len = len;
	if (len)
		memcpy(op->data, data, len);
	op->data[len] = '\0';
	return op;
}

static void ops_free(struct cp_arch_op *op)
{
	while (op) {
		struct cp_arch_op *n = op->next;
		free(op);
		op = n;
	}
}

static size_t ops_count(const struct cp_arch_op *op)
{
	size_t n = 0;
	for (; op; op = op->next)
		n += op->kind == CP_ARCH_OP_TAG;
	return n;
}

static void work_cb(uv_work_t *req);
static void after_work_cb(uv_work_t *req, int status);
static void rec_free(struct cp_rec *rec);
static void archive_try_free(struct cp_archive *a);

/* Hand everything queued to the thread pool unless a batch is in flight. */
static void rec_kick(struct cp_rec *rec)
{
	if (rec->busy || !rec->head)
		return;
	rec->batch = rec->head;
	rec->batch_bytes = rec->queued;
	rec->head = rec->tail = NULL;
	memset(&rec->res, 0, sizeof(rec->res));
	rec->work.data = rec;
	int rc = uv_queue_work(rec->a->loop, &rec->work, work_cb, after_work_cb);
	if (rc != 0) {
		/* Cannot happen with a valid loop; do not lose the order. */
		cp_err("archive: %s/%s: uv_queue_work: %s", rec->app_raw, rec->stream_raw,
		       uv_strerror(rc));
		rec->head = rec->batch;
		rec->batch = NULL;
		return;
	}
	rec->busy = 1;
}

static void rec_push(struct cp_rec *rec, struct cp_arch_op *op)
{
	if (rec->tail)
		rec->tail->next = op;
	else
		rec->head = op;
	rec->tail = op;
	rec->queued += sizeof(*op) + op->len;
}

/* Queue a control operation (OPEN/CLOSE: small, never refused by the bound). */
static int rec_push_ctl(struct cp_rec *rec, enum cp_arch_op_kind kind, const char *path)
{
	struct cp_arch_op *op = op_new(kind, 0, 0, path, path ? strlen(path) : 0);
	if (!op)
		return -ENOMEM;
	rec_push(rec, op);
	return 0;
}

/* ---- segments ---- */

static void stamp_path(struct cp_rec *rec, char *out, size_t cap)
{
	time_t t = rec->first_segment ? (time_t)rec->start_time : time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(out, cap, "%s/%s/%s/%s.flv", rec->a->conf.dir, rec->app, rec->stream, stamp);
}

static void rec_stop(struct cp_rec *rec, const char *why);

static int push_tag(struct cp_rec *rec, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	struct cp_arch_op *op = op_new(CP_ARCH_OP_TAG, type, ts, p, len);
	if (!op)
		return -ENOMEM;
	rec_push(rec, op);
	rec->seg_bytes += flv_tag_encoded_size((uint32_t)len);
	return 0;
}

/* Open a segment whose first media tag is the one at stream time `ts`:
 * OPEN, then metadata and sequence headers at relative time 0. */
static int segment_begin(struct cp_rec *rec, uint32_t ts)
{
	int rc;

	stamp_path(rec, rec->seg_path, sizeof(rec->seg_path));
	rec->first_segment = 0;
	rc = rec_push_ctl(rec, CP_ARCH_OP_OPEN, rec->seg_path);
	if (rc != 0)
		return rc;
	rec->seg_base = ts;
	rec->seg_bytes = 0;
	rec->state = CP_REC_RECORDING;
	if (rec->meta && (rc = push_tag(rec, FLV_TAG_SCRIPT, 0, rec->meta, rec->meta_len)) != 0)
		return rc;
	if (rec->vseq && (rc = push_tag(rec, FLV_TAG_VIDEO, 0, rec->vseq, rec->vseq_len)) != 0)
		return rc;
	if (rec->aseq && (rc = push_tag(rec, FLV_TAG_AUDIO, 0, rec->aseq, rec->aseq_len)) != 0)
		return rc;
	if (rec->resumed) {
		rec->a->st.resumes++;
		rec->resumed = 0;
		cp_info("archive: %s/%s: recording resumed in %s", rec->app_raw, rec->stream_raw,
			rec->seg_path);
	}
	return 0;
}

static void segment_end(struct cp_rec *rec)
{
	if (rec->state != CP_REC_RECORDING)
		return;
	if (rec_push_ctl(rec, CP_ARCH_OP_CLOSE, NULL) != 0)
		cp_err("archive: %s/%s: out of memory closing %s", rec->app_raw, rec->stream_raw,
		       rec->seg_path);
	rec->state = CP_REC_WAIT_KEY;
	rec->seg_path[0] = '\0';
}

/* Whether a segment limit has been reached at stream time ts. */
static int segment_full(const struct cp_rec *rec, uint32_t ts)
{
	const struct cp_archive_conf *c = &rec->a->conf;
	uint32_t dur = ts >= rec->seg_base ? ts - rec->seg_base : 0;
	if (c->segment_duration_ms && dur >= c->segment_duration_ms)
		return 1;
	return c->segment_size && rec->seg_bytes >= c->segment_size;
}

/* Whether the queue can take a new segment's head plus a len-byte frame. */
static int head_fits(const struct cp_rec *rec, size_t len)
{
	size_t need = rec->queued + 5 * sizeof(struct cp_arch_op) + sizeof(rec->seg_path) +
		      rec->meta_len + rec->vseq_len + rec->aseq_len + len;
	return need <= rec->a->conf.queue_max;
}

/* A message at which a segment may start (video keyframe, or any audio
 * frame of an audio-only stream): start or rotate. A new segment only
 * starts when its head and this frame fit the queue, so a slow disk never
 * produces a segment without its first keyframe. */
static void at_cut_point(struct cp_rec *rec, uint32_t ts, size_t len)
{
	if (rec->state == CP_REC_RECORDING && segment_full(rec, ts))
		segment_end(rec);
	if (rec->state == CP_REC_WAIT_KEY && !head_fits(rec, len))
		return;
	if (rec->state == CP_REC_WAIT_KEY && segment_begin(rec, ts) != 0) {
		cp_err("archive: %s/%s: out of memory", rec->app_raw, rec->stream_raw);
		rec_stop(rec, "out of memory");
	}
}

/* Queue one media/data tag of the open segment, within queue_max. */
static void record_tag(struct cp_rec *rec, uint8_t type, uint32_t ts, const uint8_t *p, size_t len)
{
	if (rec->state != CP_REC_RECORDING) {
		rec->a->st.msgs_dropped += rec->state == CP_REC_STOPPED;
		return;
	}
	if (rec->queued + sizeof(struct cp_arch_op) + len > rec->a->conf.queue_max) {
		rec->a->st.overflows++;
		rec->a->st.msgs_dropped++;
		cp_warn("archive: %s/%s: disk too slow (%zu bytes queued): segment %s cut, "
			"next one starts at the next keyframe", rec->app_raw, rec->stream_raw,
			rec->queued, rec->seg_path);
		segment_end(rec);
		rec_kick(rec);
		return;
	}
	uint32_t rel = ts >= rec->seg_base ? ts - rec->seg_base : 0;
	if (push_tag(rec, type, rel, p, len) != 0) {
		rec->a->st.msgs_dropped++;
		cp_err("archive: %s/%s: out of memory", rec->app_raw, rec->stream_raw);
		return;
	}
	rec_kick(rec);
}

/* ---- stopping and resuming ---- */

static void rec_stop(struct cp_rec *rec, const char *why)
{
	if (rec->state == CP_REC_STOPPED)
		return;
	segment_end(rec);
	rec->state = CP_REC_STOPPED;
	rec->resumed = 1;
	rec->stopped_at = uv_now(rec->a->loop);
	cp_warn("archive: %s/%s: recording stopped: %s; streaming continues", rec->app_raw,
		rec->stream_raw, why);
	rec_kick(rec);
}

static void rec_write_failed(struct cp_rec *rec)
{
	struct cp_archive *a = rec->a;
	char why[160];

	a->st.write_errors++;
	a->st.msgs_dropped += ops_count(rec->head);
	ops_free(rec->head);
	rec->head = rec->tail = NULL;
	rec->queued = rec->batch_bytes; /* still in flight until after_work ends */
	snprintf(why, sizeof(why), "%s failed: %s", rec->res.err_where,
		 flv_strerror(rec->res.err));
	/* The writer closed its file: nothing is open any more. */
	rec->state = CP_REC_WAIT_KEY;
	rec->stop_is_error = 1;
	rec_stop(rec, why);
}

static void resume_all(struct cp_archive *a)
{
	uint64_t now = uv_now(a->loop);
	for (struct cp_rec *r = a->recs; r; r = r->next) {
		if (r->state != CP_REC_STOPPED || r->ended)
			continue;
		if (r->stop_is_error && now - r->stopped_at < a->conf.check_interval_ms)
			continue;
		r->state = CP_REC_WAIT_KEY;
		r->stop_is_error = 0;
	}
}

static void stop_all_low_space(struct cp_archive *a)
{
	char why[128];
	snprintf(why, sizeof(why), "free space %llu bytes below min_free %llu",
		 (unsigned long long)a->st.free_bytes, (unsigned long long)a->conf.min_free);
	for (struct cp_rec *r = a->recs; r; r = r->next) {
		if (r->state == CP_REC_STOPPED || r->ended)
			continue;
		a->st.low_space_stops++;
		r->stop_is_error = 0;
		rec_stop(r, why);
	}
}

/* ---- thread-pool callbacks ---- */

static void work_cb(uv_work_t *req)
{
	struct cp_rec *rec = req->data;
	cp_arch_io_run(&rec->file, rec->batch, (uint32_t)rec->a->conf.keyframe_index, &rec->res);
}

static void after_work_cb(uv_work_t *req, int status)
{
	struct cp_rec *rec = req->data;
	struct cp_archive *a = rec->a;

	(void)status;
	ops_free(rec->batch);
	rec->batch = NULL;
	a->st.tags_written += rec->res.tags;
	a->st.bytes_written += rec->res.bytes;
	a->st.segments_opened += rec->res.opened;
	a->st.segments_closed += rec->res.closed;
	if (rec->res.err)
		rec_write_failed(rec);
	rec->queued -= rec->batch_bytes;
	rec->batch_bytes = 0;
	rec->busy = 0;
	rec_kick(rec);
	if (rec->ended && !rec->busy) {
		rec_free(rec);
		archive_try_free(a);
	}
}

/* ---- free space ---- */

static void statfs_cb(uv_fs_t *req)
{
	struct cp_archive *a = req->data;
	a->statfs_busy = 0;
	if (req->result < 0) {
		cp_warn("archive: statfs %s: %s", a->conf.dir, uv_strerror((int)req->result));
	} else if (!a->closing) {
		const uv_statfs_t *s = req->ptr;
		a->st.free_bytes = (uint64_t)s->f_bavail * s->f_bsize;
		a->st.space_checks++;
		int low = a->st.free_bytes < a->conf.min_free;
		if (low)
			stop_all_low_space(a);
		else
			resume_all(a);
		if (low != a->st.low_space)
			cp_log(low ? CP_LOG_WARN : CP_LOG_INFO,
			       "archive: %s: %llu bytes free, min_free %llu: recording %s",
			       a->conf.dir, (unsigned long long)a->st.free_bytes,
			       (unsigned long long)a->conf.min_free, low ? "stopped" : "resumes");
		a->st.low_space = low;
	}
	uv_fs_req_cleanup(req);
	archive_try_free(a);
}

void cp_archive_check_space(struct cp_archive *a)
{
	if (a->statfs_busy || a->closing)
		return;
	a->statfs_req.data = a;
	if (uv_fs_statfs(a->loop, &a->statfs_req, a->conf.dir, statfs_cb) == 0)
		a->statfs_busy = 1;
}

static void space_timer_cb(uv_timer_t *t)
{
	cp_archive_check_space(t->data);
}

/* ---- maintenance: repair and retention off the loop ---- */

static void maint_work_cb(uv_work_t *req)
{
	struct cp_archive *a = req->data;
	/* Every pass repairs .part files nobody holds: crash leftovers at start,
	 * and segments whose salvage failed for lack of space. */
	cp_archive_repair_dir(a->conf.dir, &a->maint_repaired, &a->maint_failed);
	if (a->conf.keep_days || a->conf.keep_size)
		cp_archive_retention(a->conf.dir, a->conf.keep_days, a->conf.keep_size,
				     (int64_t)time(NULL), &a->maint_files, &a->maint_bytes);
}

static void maint_after_cb(uv_work_t *req, int status)
{
	struct cp_archive *a = req->data;
	(void)status;
	a->maint_busy = 0;
	a->st.repaired += a->maint_repaired;
	a->st.repair_failed += a->maint_failed;
	a->st.retention_files += a->maint_files;
	a->st.retention_bytes += a->maint_bytes;
	if (a->maint_repaired || a->maint_failed || a->maint_files)
		cp_info("archive: maintenance: %llu repaired, %llu not repairable, %llu recordings "
			"(%llu bytes) deleted by retention",
			(unsigned long long)a->maint_repaired, (unsigned long long)a->maint_failed,
			(unsigned long long)a->maint_files, (unsigned long long)a->maint_bytes);
	archive_try_free(a);
}

int cp_archive_retention_now(struct cp_archive *a)
{
	if (a->maint_busy || a->closing)
		return -EBUSY;
	a->maint_repaired = a->maint_failed = a->maint_files = a->maint_bytes = 0;
	a->maint.data = a;
	int rc = uv_queue_work(a->loop, &a->maint, maint_work_cb, maint_after_cb);
	if (rc != 0)
		return rc;
	a->maint_busy = 1;
	return 0;
}

static void retention_timer_cb(uv_timer_t *t)
{
	cp_archive_retention_now(t->data);
}

/* ---- lifecycle ---- */

static void timer_closed_cb(uv_handle_t *h)
{
	struct cp_archive *a = h->data;
	a->timers_open--;
	archive_try_free(a);
}

static void archive_try_free(struct cp_archive *a)
{
	if (!a->closing || a->recs || a->timers_open || a->maint_busy || a->statfs_busy)
		return;
	free(a);
}

struct cp_archive *cp_archive_create(uv_loop_t *loop, const char *conf_path, char *err,
				     size_t errlen)
{
	struct cp_archive *a = calloc(1, sizeof(*a));
	int rc;

	if (!a) {
		snprintf(err, errlen, "archive: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	a->loop = loop;
	rc = cp_archive_conf_load(conf_path, &a->conf, err, errlen);
	if (rc != 0)
		goto fail;
	if (a->conf.enabled && (rc = cp_arch_mkdirs(a->conf.dir)) != 0)
		cp_warn("archive: cannot create %s: %s; recordings will fail until it exists",
			a->conf.dir, strerror(-rc));
	uv_timer_init(loop, &a->space_timer);
	uv_timer_init(loop, &a->retention_timer);
	a->space_timer.data = a->retention_timer.data = a;
	a->timers_open = 2;
	if (a->conf.enabled) {
		uv_timer_start(&a->space_timer, space_timer_cb, 0, a->conf.check_interval_ms);
		uv_timer_start(&a->retention_timer, retention_timer_cb, 0,
			       a->conf.retention_interval_ms);
		cp_info("archive: recording to %s (record = %s)", a->conf.dir, a->conf.record_spec);
	}
	return a;
fail:
	free(a);
	errno = -rc;
	return NULL;
}

void cp_archive_component(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 2 < cap; in++) {
		char c = *in;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '-' || c == '_' || c == '.';
		out[o++] = ok ? c : '_';
	}
	if (o == 0 || (o <= 2 && out[0] == '.' && (o == 1 || out[1] == '.')))
		out[o++] = '_';
	out[o] = '\0';
}

struct cp_rec *cp_archive_stream_start(struct cp_archive *a, const char *app, const char *stream,
				       int keyed)
{
	size_t al = strlen(app), sl = strlen(stream);
	struct cp_rec *rec;

	errno = 0;
	if (a->closing || !a->conf.enabled)
		return NULL;
	if (al == 0 || sl == 0 || al >= sizeof(rec->app_raw) || sl >= sizeof(rec->stream_raw)) {
		errno = EINVAL;
		return NULL;
	}
	if (!cp_archive_conf_wants(&a->conf, app, keyed)) {
		a->st.skipped_policy++;
		return NULL;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		errno = ENOMEM;
		return NULL;
	}
	rec->a = a;
	rec->file.fd = -1;
	rec->file.a = a;
	memcpy(rec->app_raw, app, al + 1);
	memcpy(rec->stream_raw, stream, sl + 1);
	cp_archive_component(app, rec->app, sizeof(rec->app));
	cp_archive_component(stream, rec->stream, sizeof(rec->stream));
	rec->start_time = (int64_t)time(NULL);
	rec->first_segment = 1;
	rec->state = CP_REC_WAIT_KEY;
	rec->next = a->recs;
	if (a->recs)
		a->recs->prev = rec;
	a->recs = rec;
	a->st.recordings++;
	a->st.active++;
	if (a->st.low_space) {
		a->st.low_space_stops++;
		rec_stop(rec, "free space below min_free");
	}
	return rec;
}

/* Keep a copy of the latest codec header / metadata for future segments. */
static void keep_copy(uint8_t **dst, size_t *dlen, const uint8_t *p, size_t len)
{
	uint8_t *c = malloc(len);
	if (!c)
		return; /* keep the previous one */
	memcpy(c, p, len);
	free(*dst);
	*dst = c;
	*dlen = len;
}

static int is_onmetadata(const uint8_t *p, size_t len)
{
	static const uint8_t name[] = { 0x02, 0x00, 0x0A, 'o', 'n', 'M', 'e', 't', 'a',
					'D', 'a', 't', 'a' };
	return len >= sizeof(name) && memcmp(p, name, sizeof(name)) == 0;
}

static void on_video(struct cp_rec *rec, uint32_t ts, const uint8_t *p, size_t len)
{
	struct flv_media_info mi;
	if (flv_sniff_video(p, len, &mi) != 0)
		return; /* not even a codec header: nothing a player could use */
	rec->seen_video = 1;
	if (mi.sequence_header)
		keep_copy(&rec->vseq, &rec->vseq_len, p, len);
	else if (mi.keyframe)
		at_cut_point(rec, ts, len);
	record_tag(rec, FLV_TAG_VIDEO, ts, p, len);
}

static void on_audio(struct cp_rec *rec, uint32_t ts, const uint8_t *p, size_t len)
{
	struct flv_media_info mi;
	if (flv_sniff_audio(p, len, &mi) != 0)
		return;
	if (mi.sequence_header) {
		keep_copy(&rec->aseq, &rec->aseq_len, p, len);
	} else if (!rec->seen_video) {
		if (!rec->have_audio_ts) {
			rec->have_audio_ts = 1;
			rec->first_audio_ts = ts;
		}
		if (ts - rec->first_audio_ts >= AUDIO_ONLY_MS)
			at_cut_point(rec, ts, len);
	}
	record_tag(rec, FLV_TAG_AUDIO, ts, p, len);
}

void cp_archive_stream_message(struct cp_rec *rec, uint8_t type, uint32_t ts, const uint8_t *p,
			       size_t len)
{
	if (!rec || rec->ended || len == 0 || len > FLV_TAG_DATA_MAX)
		return;
	switch (type) {
	case FLV_TAG_VIDEO:
		on_video(rec, ts, p, len);
		break;
	case FLV_TAG_AUDIO:
		on_audio(rec, ts, p, len);
		break;
	case FLV_TAG_SCRIPT:
		if (is_onmetadata(p, len))
			keep_copy(&rec->meta, &rec->meta_len, p, len);
		record_tag(rec, FLV_TAG_SCRIPT, ts, p, len);
		break;
	default:
		break;
	}
}

static void rec_free(struct cp_rec *rec)
{
	struct cp_archive *a = rec->a;
	if (rec->prev)
		rec->prev->next = rec->next;
	else
		a->recs = rec->next;
	if (rec->next)
		rec->next->prev = rec->prev;
	a->st.active--;
	ops_free(rec->head);
	free(rec->meta);
	free(rec->vseq);
	free(rec->aseq);
	free(rec);
}

void cp_archive_stream_end(struct cp_rec *rec)
{
	if (!rec || rec->ended)
		return;
	segment_end(rec);
	rec->ended = 1;
	rec_kick(rec);
	if (!rec->busy)
		rec_free(rec);
}

size_t cp_archive_rec_pending(const struct cp_rec *rec)
{
	return rec ? rec->queued : 0;
}

const char *cp_archive_rec_path(const struct cp_rec *rec)
{
	return rec ? rec->seg_path : "";
}

void cp_archive_stats(const struct cp_archive *a, struct cp_archive_stats *out)
{
	*out = a->st;
}

const char *cp_archive_dir(const struct cp_archive *a)
{
	return a->conf.dir;
}

void cp_archive_set_fault(struct cp_archive *a, int err_code, uint64_t after_bytes)
{
	atomic_store(&a->fault_budget, after_bytes);
	atomic_store(&a->fault_errno, err_code);
}

void cp_archive_set_min_free(struct cp_archive *a, uint64_t bytes)
{
	a->conf.min_free = bytes;
}

void cp_archive_destroy(struct cp_archive *a)
{
	if (!a || a->closing)
		return;
	a->closing = 1;
	uv_timer_stop(&a->space_timer);
	uv_timer_stop(&a->retention_timer);
	uv_close((uv_handle_t *)&a->space_timer, timer_closed_cb);
	uv_close((uv_handle_t *)&a->retention_timer, timer_closed_cb);
	struct cp_rec *r = a->recs;
	while (r) {
		struct cp_rec *next = r->next;
		cp_archive_stream_end(r);
		r = next;
	}
}
