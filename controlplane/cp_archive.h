/* Archive: every live stream recorded to seekable FLV segments.
 *
 * Layout: ARCHIVE_DIR/APP/STREAM/YYYYMMDDTHHMMSSZ.flv ([archive] dir). App and
 * stream names are reduced to [A-Za-z0-9._-] (anything else becomes '_'),
 * the same rule the chat recorder uses, so a stream's .chat.jsonl sits in the
 * same directory. A segment being written is named STAMP.flv.part and is
 * renamed to STAMP.flv when it is closed cleanly; a .part file found later is
 * the trace of a crash and is repaired (cp_archive_repair_file).
 *
 * Threading: every cp_archive_* call below is made on the event-loop thread
 * (except the two file utilities at the end, which are plain blocking
 * functions for the CLI). Message payloads are copied into a bounded
 * per-recording queue; the file work runs on the libuv thread pool with at
 * most one work item in flight per recording, so tags reach the file in
 * order and a slow disk never blocks the loop. When a recording's queue
 * overflows, its segment is closed and the next one starts at the next
 * keyframe (counted as an overflow).
 *
 * Segments: a segment starts on a video keyframe (audio-only streams: on an
 * audio frame once 3 s of audio came without any video), with the latest
 * onMetaData, the codec sequence headers and that keyframe, timestamps made
 * relative to that keyframe. Rotation by [archive] segment_duration and
 * segment_size happens at the first keyframe past the limit.
 *
 * Disk trouble: a failed write (ENOSPC, EIO, ...) or free space under
 * [archive] min_free stops the affected recordings with one log line and a
 * counter; streaming is not affected. Free space is polled every
 * check_interval and recording resumes with a new segment at the next
 * keyframe once it is back above min_free.
 *
 * Retention (per app, every retention_interval and at start): recordings
 * older than keep_days, then the oldest ones while the app holds more than
 * keep_size, are deleted. Chat transcripts (STAMP.chat.jsonl) cover a live
 * session: the transcript S belongs to the recordings of its directory whose
 * stamp lies in [S, next transcript's stamp); it is deleted in the pass that
 * deletes the last of those recordings, never on its own.
 */
#ifndef CP_ARCHIVE_H
#define CP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct cp_archive;
struct cp_rec;

/* Counters since cp_archive_create. */
struct cp_archive_stats {
	uint64_t recordings;        /* streams recorded (stream_start accepted) */
	uint64_t skipped_policy;    /* stream_start refused by the app's policy */
	uint64_t active;            /* recordings open now */
	uint64_t segments_opened, segments_closed;
	uint64_t tags_written, bytes_written;
	uint64_t write_errors;      /* recordings stopped by a failed write */
	uint64_t low_space_stops;   /* recordings stopped because free < min_free */
	uint64_t resumes;           /* segments started after a stop */
	uint64_t overflows;         /* queue_max exceeded: segment cut */
	uint64_t msgs_dropped;      /* messages not recorded (stopped, overflow) */
	uint64_t repaired;          /* .part files repaired at start */
	uint64_t repair_failed;
	uint64_t retention_files;   /* recordings deleted by retention */
	uint64_t retention_bytes;
	uint64_t free_bytes;        /* last free-space measurement */
	uint64_t space_checks;      /* measurements done */
	int low_space;              /* 1 while free < min_free */
};

/* Load [archive] from conf_path (NULL = defaults) and start: the free-space
 * timer, and a background pass that repairs .part files left by a crash and
 * applies retention. Returns NULL with errno and a message in err on a bad
 * configuration (EINVAL, ENOENT) or ENOMEM. The loop must outlive the
 * archive (see cp_archive_destroy). */
struct cp_archive *cp_archive_create(uv_loop_t *loop, const char *conf_path, char *err,
				     size_t errlen);

/* A stream went live. `keyed` says whether its channel is protected by a
 * stream key (used by the "keyed" policy). Returns the recording handle to
 * pass to the calls below, or NULL when the policy says not to record it
 * (errno 0), archive is disabled (0), names are empty/over-long (EINVAL), or
 * ENOMEM. A republish within the grace period must keep the same handle:
 * the engine simply does not call stream_end during the grace period. */
struct cp_rec *cp_archive_stream_start(struct cp_archive *a, const char *app,
				       const char *stream, int keyed);

/* One published message: type 8 (audio), 9 (video) or 18 (data, already
 * stripped of @setDataFrame), ts on the stream clock (ms, monotonic), payload
 * p[0..len) which is copied (the caller keeps ownership). Other types and
 * empty payloads are ignored. rec may be NULL (not recorded): no-op. */
void cp_archive_stream_message(struct cp_rec *rec, uint8_t type, uint32_t ts, const uint8_t *p,
			       size_t len);

/* The stream ended (after its grace period). The current segment is flushed
 * and closed in the background; rec is invalid after the call. NULL: no-op. */
void cp_archive_stream_end(struct cp_rec *rec);

/* Bytes of operations queued for rec or in the writer thread's hands; 0
 * means everything sent so far is on disk (lets a caller feeding a file at
 * full speed apply back-pressure, and tests wait for the writer). */
size_t cp_archive_rec_pending(const struct cp_rec *rec);

/* Path of rec's current segment ("" when none is open). Valid until the next
 * call on rec. */
const char *cp_archive_rec_path(const struct cp_rec *rec);

/* Copy the counters. */
void cp_archive_stats(const struct cp_archive *a, struct cp_archive_stats *out);

/* The configured archive root. */
const char *cp_archive_dir(const struct cp_archive *a);

/* Measure free space now instead of waiting for the timer (asynchronous:
 * the result applies when the loop runs the callback). */
void cp_archive_check_space(struct cp_archive *a);

/* Start a retention pass now (in the background). Returns 0, or -EBUSY when
 * a maintenance pass is running. */
int cp_archive_retention_now(struct cp_archive *a);

/* Test hook: while err_code is non-zero (a positive errno), every file write
 * of the archive fails with it once `after_bytes` more bytes were written.
 * 0 clears the fault. Thread-safe. */
void cp_archive_set_fault(struct cp_archive *a, int err_code, uint64_t after_bytes);

/* Change min_free at run time (reload). */
void cp_archive_set_min_free(struct cp_archive *a, uint64_t bytes);

/* Stop: every recording's current segment is flushed and closed (fixed-up
 * metadata, renamed to .flv), timers are closed, and the archive frees
 * itself once the last background work has finished. The loop must keep
 * running until then (uv_run returns when nothing is left). Handles from
 * stream_start become invalid. NULL: no-op. */
void cp_archive_destroy(struct cp_archive *a);

/* ---- file utilities (blocking; CLI and start-up pass) ---- */

/* Repair one recording: keep every whole tag, drop a torn tail and corrupt
 * stretches, rebuild onMetaData (duration, filesize, keyframe index) with
 * flv_repair. FILE.flv.part is written to FILE.flv and the .part removed;
 * any other file is replaced in place (through a temporary file and
 * rename, so a failure leaves the original untouched). A .part file held
 * open by a live recording (flock) is refused with -EBUSY.
 * Returns 0, -errno, or -FLV_E_* when the file has no valid FLV header; a
 * reason is written to err. */
int cp_archive_repair_file(const char *path, char *err, size_t errlen);

/* Repair every *.flv.part under dir/APP/STREAM/ that no live recording
 * holds. Adds to *repaired / *failed. Returns 0 or -errno when dir cannot
 * be read. */
int cp_archive_repair_dir(const char *dir, uint64_t *repaired, uint64_t *failed);

/* Apply retention to dir once: per app directory, delete recordings whose
 * mtime is older than keep_days days before `now` (0 = no age limit), then
 * the oldest while the app's recordings total more than keep_size bytes
 * (0 = no size limit); transcripts follow the rule in the header comment.
 * .part files are never deleted (live or awaiting repair) but count toward
 * the size. Adds to *files / *bytes (recordings deleted). Returns 0 or
 * -errno when dir cannot be read. */
int cp_archive_retention(const char *dir, uint64_t keep_days, uint64_t keep_size, int64_t now,
			 uint64_t *files, uint64_t *bytes);

struct cp_archive_entry {
	const char *app, *stream;   /* directory names (sanitised) */
	const char *path;           /* full path of the file */
	uint64_t size;              /* bytes */
	uint32_t duration_ms;       /* last whole tag's timestamp; 0 if unknown */
	int64_t mtime;              /* seconds since the epoch */
	int partial;                /* 1: .flv.part (being written, or crashed) */
};

/* Call fn for every recording under dir, filtered by app and stream (NULL =
 * all), in app, stream, name order; stops when fn returns non-zero and
 * returns that value. Returns 0, or -errno when dir cannot be read. Reads a
 * few bytes at the end of each file (duration), so it is meant for the CLI
 * and management requests, not for hot paths. */
int cp_archive_list(const char *dir, const char *app, const char *stream,
		    int (*fn)(void *arg, const struct cp_archive_entry *e), void *arg);

/* Sanitise one path component the way the archive and the chat recorder do:
 * [A-Za-z0-9._-] kept, other bytes become '_', "", "." and ".." get a '_'
 * appended. out has cap bytes (>= 4); longer input is cut. */
void cp_archive_component(const char *in, char *out, size_t cap);

#endif
