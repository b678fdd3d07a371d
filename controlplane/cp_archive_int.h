/* Archive internals shared by cp_archive*.c: configuration, the per-recording
 * operation queue, and the writer-thread side. */
#ifndef CP_ARCHIVE_INT_H
#define CP_ARCHIVE_INT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_config.h"
#include "flv/flv_writer.h"

/* Per-app recording policy. */
enum cp_arch_policy { CP_ARCH_ALL = 0, CP_ARCH_NONE, CP_ARCH_KEYED };

#define CP_ARCH_APPS_MAX 32
#define CP_ARCH_NAME_MAX 64   /* sanitised app/stream directory names */

struct cp_arch_app_policy {
	char app[CP_ARCH_NAME_MAX];
	enum cp_arch_policy policy;
};

struct cp_archive_conf {
	int enabled;
	char dir[CP_CONF_STR_MAX];
	char record_spec[CP_CONF_STR_MAX];
	uint64_t segment_duration_ms; /* 0 = no duration rotation */
	uint64_t segment_size;        /* 0 = no size rotation */
	uint64_t min_free;            /* bytes */
	uint64_t check_interval_ms;
	uint64_t keep_days;           /* 0 = keep forever */
	uint64_t keep_size;           /* per app, 0 = unlimited */
	uint64_t retention_interval_ms;
	uint64_t queue_max;           /* per recording, bytes */
	uint64_t keyframe_index;      /* onMetaData keyframe index capacity */
	/* parsed from record_spec */
	enum cp_arch_policy def_policy;
	struct cp_arch_app_policy apps[CP_ARCH_APPS_MAX];
	size_t napps;
};

extern const struct cp_conf_key cp_archive_conf_keys[];
extern const size_t cp_archive_conf_nkeys;

/* Defaults, then [archive] of path (NULL = defaults only), then the record
 * policy list. Returns 0 or -errno with a message in err. */
int cp_archive_conf_load(const char *path, struct cp_archive_conf *c, char *err,
			 size_t errlen);

/* Parse "all|none|keyed" and "APP:all|none|keyed" tokens (a bare mode is the
 * default for apps not listed). Returns 0 or -EINVAL with a message. */
int cp_archive_conf_parse_record(struct cp_archive_conf *c, const char *spec, char *err,
				 size_t errlen);

/* Whether app/keyed is to be recorded under c. */
int cp_archive_conf_wants(const struct cp_archive_conf *c, const char *app, int keyed);

/* ---- queue of file operations, filled on the loop, run on a worker ---- */

enum cp_arch_op_kind {
	CP_ARCH_OP_OPEN,  /* start a segment at path (dir created as needed) */
	CP_ARCH_OP_TAG,   /* append one tag (ts already relative) */
	CP_ARCH_OP_CLOSE, /* fix up metadata, close, rename .part -> .flv */
};

struct cp_arch_op {
	struct cp_arch_op *next;
	enum cp_arch_op_kind kind;
	uint8_t type;
	uint32_t ts;
	size_t len;
	uint8_t data[]; /* TAG: payload; OPEN: NUL-terminated final path */
};

/* Writer-thread state of one recording; touched only by the work item in
 * flight (or by the loop when none is). */
struct cp_arch_file {
	int fd;
	struct flv_writer *w;
	char path[1024];    /* final name: .../STAMP.flv */
	char part[1040];    /* name while writing: .../STAMP.flv.part */
	uint64_t written;   /* bytes appended to this file */
	const struct cp_archive *a;
};

/* Result of one batch, read by the loop in the after-work callback. */
struct cp_arch_result {
	int err;               /* first failure (-errno), 0 when none */
	char err_where[64];    /* which step failed */
	uint64_t tags, bytes;
	uint64_t opened, closed;
};

enum cp_rec_state {
	CP_REC_WAIT_KEY,  /* no segment open; the next keyframe starts one */
	CP_REC_RECORDING,
	CP_REC_STOPPED,   /* disk trouble: nothing recorded until space returns */
};

struct cp_rec {
	struct cp_archive *a;
	struct cp_rec *prev, *next;
	char app[CP_ARCH_NAME_MAX];
	char stream[CP_ARCH_NAME_MAX];
	char app_raw[CP_ARCH_NAME_MAX * 2], stream_raw[CP_ARCH_NAME_MAX * 2];
	enum cp_rec_state state;
	int ended;            /* stream_end called: free when drained */
	int stop_is_error;    /* STOPPED by a write error (vs. low space) */
	uint64_t stopped_at;  /* loop ms when STOPPED */
	int resumed;          /* the next segment is a resume */
	int first_segment;    /* stamp of the first segment = start time */
	int64_t start_time;   /* wall clock of stream_start */
	/* codec state kept for the head of every segment */
	uint8_t *meta, *vseq, *aseq;
	size_t meta_len, vseq_len, aseq_len;
	int seen_video;
	int have_audio_ts;
	uint32_t first_audio_ts;
	/* current segment (loop view) */
	uint32_t seg_base;
	uint64_t seg_bytes;
	char seg_path[1024];
	/* queue */
	struct cp_arch_op *head, *tail;
	size_t queued;        /* bytes of ops queued or in flight */
	size_t batch_bytes;   /* of which in the batch in flight */
	/* work in flight */
	uv_work_t work;
	int busy;
	struct cp_arch_op *batch;
	struct cp_arch_result res;
	struct cp_arch_file file;
};

struct cp_archive {
	uv_loop_t *loop;
	struct cp_archive_conf conf;
	uv_timer_t space_timer, retention_timer;
	uv_fs_t statfs_req;
	int statfs_busy;
	int timers_open;     /* handles not yet closed */
	uv_work_t maint;
	int maint_busy;
	int maint_startup;   /* the pass also repairs .part files */
	uint64_t maint_repaired, maint_failed, maint_files, maint_bytes;
	struct cp_rec *recs;
	int closing;
	struct cp_archive_stats st;
	/* test hook: written by the loop, read by writer threads */
	_Atomic int fault_errno;
	_Atomic uint64_t fault_budget;
};

/* Writer-thread side (cp_archive_io.c). Run a batch of operations on f,
 * filling res. After a failure the remaining TAG operations are skipped
 * and the file is closed as well as it can be. */
void cp_arch_io_run(struct cp_arch_file *f, struct cp_arch_op *batch, uint32_t keyframe_index,
		    struct cp_arch_result *res);

/* Close f if open (writer thread or loop when idle); returns 0 or -errno. */
int cp_arch_io_close(struct cp_arch_file *f, struct cp_arch_result *res);

/* out = a "/" b; -ENAMETOOLONG (out unusable) when it does not fit. */
static inline int cp_arch_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* mkdir -p of a path the archive built (no ".." components). 0 or -errno. */
int cp_arch_mkdirs(const char *path);

#endif
