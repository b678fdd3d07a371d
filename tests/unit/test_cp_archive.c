/* cp_archive: recordings driven through the API with synthetic AVC/AAC
 * messages on a real uv loop in a temporary directory; files are read back
 * tag by tag and compared with what was fed. */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_archive_int.h"
#include "flv/flv_reader.h"

/* Test paths are short temp names; a cut one would fail the assertions. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- synthetic stream: 1920x1080 AVC + 44.1 kHz stereo AAC ---- */

static const uint8_t avc_seq[] = {
	0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x1b,
	0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
	0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x60, 0xc6, 0x58,
	0x01, 0x00, 0x04, 0x68, 0xeb, 0xe3, 0xcb };
static const uint8_t aac_seq[] = { 0xAF, 0x00, 0x12, 0x10 };
static const uint8_t meta[] = { 0x02, 0x00, 0x0A, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't',
				0x61, 0x08, 0, 0, 0, 1, 0x00, 0x05, 't', 'i', 't', 'l', 'e',
				0x02, 0x00, 0x04, 'a', 'r', 'c', 'h', 0x00, 0x00, 0x09 };
#define FRAME_MS 40u

/* Video frame i: keyframe when i % gop == 0; bytes 5..8 carry i so a tag
 * read back names the frame it came from; the rest is a pattern of i. */
static size_t video_frame(uint8_t *b, size_t size, unsigned i, unsigned gop)
{
	b[0] = (i % gop == 0) ? 0x17 : 0x27;
	b[1] = 1;
	b[2] = b[3] = b[4] = 0;
	b[5] = (uint8_t)(i >> 24);
	b[6] = (uint8_t)(i >> 16);
	b[7] = (uint8_t)(i >> 8);
	b[8] = (uint8_t)i;
	for (size_t k = 9; k < size; k++)
		b[k] = (uint8_t)(i * 7 + k);
	return size;
}

static unsigned frame_index(const uint8_t *b)
{
	return ((unsigned)b[5] << 24) | ((unsigned)b[6] << 16) | ((unsigned)b[7] << 8) | b[8];
}

struct env {
	char dir[64];
	char conf[96];
	uv_loop_t loop;
	struct cp_archive *a;
};

static void rmtree(const char *path)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Temp dir + conf with `extra` lines in [archive]; archive created. */
static int env_open(struct env *e, const char *extra)
{
	char err[256];
	snprintf(e->dir, sizeof(e->dir), "/tmp/lc-arch-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(e->conf, sizeof(e->conf), "%s/lifecast.conf", e->dir);
	FILE *f = fopen(e->conf, "w");
	if (!f)
		return -1;
	fprintf(f, "[archive]\ndir = %s/rec\ncheck_interval = 100ms\nmin_free = 0\n%s\n", e->dir,
		extra);
	fclose(f);
	uv_loop_init(&e->loop);
	e->a = cp_archive_create(&e->loop, e->conf, err, sizeof(err));
	if (!e->a)
		fprintf(stderr, "cp_archive_create: %s\n", err);
	return e->a ? 0 : -1;
}

/* Run the loop until rec's queue is on disk. */
static void drain(struct env *e, struct cp_rec *rec)
{
	for (int i = 0; i < 10000 && cp_archive_rec_pending(rec) > 0; i++)
		uv_run(&e->loop, UV_RUN_ONCE);
	CU_ASSERT_EQUAL(cp_archive_rec_pending(rec), 0);
}

/* Destroy the archive (flush + close) and run the loop dry. */
static void env_close(struct env *e)
{
	cp_archive_destroy(e->a);
	e->a = NULL;
	CU_ASSERT_EQUAL(uv_run(&e->loop, UV_RUN_DEFAULT), 0);
	CU_ASSERT_EQUAL(uv_loop_close(&e->loop), 0);
}

static void feed_headers(struct cp_rec *r, uint32_t ts)
{
	cp_archive_stream_message(r, 18, ts, meta, sizeof(meta));
	cp_archive_stream_message(r, 9, ts, avc_seq, sizeof(avc_seq));
	cp_archive_stream_message(r, 8, ts, aac_seq, sizeof(aac_seq));
}

/* Frames [from, to) at 40 ms, one AAC frame after each. */
static void feed_frames(struct cp_rec *r, unsigned from, unsigned to, unsigned gop, size_t size)
{
	uint8_t b[4096];
	for (unsigned i = from; i < to; i++) {
		cp_archive_stream_message(r, 9, i * FRAME_MS, b, video_frame(b, size, i, gop));
		uint8_t au[12] = { 0xAF, 0x01 };
		for (int k = 2; k < 12; k++)
			au[k] = (uint8_t)(i + k);
		cp_archive_stream_message(r, 8, i * FRAME_MS + 1, au, sizeof(au));
	}
}

/* ---- reading files back ---- */

struct tagrec {
	uint8_t type;
	uint32_t ts;
	uint8_t b0, b1;
	unsigned frame;
};

struct parsed {
	uint8_t *buf;
	size_t len;
	struct tagrec t[4096];
	unsigned n;
	int whole;        /* parsed to the last byte */
	double duration;  /* onMetaData duration, -1 if absent */
	int has_keyframes;
};

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	fstat(fd, &st);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)st.st_size);
	close(fd);
	return b;
}

static double meta_number(const uint8_t *p, size_t n, const char *name)
{
	size_t nl = strlen(name);
	for (size_t i = 0; i + 2 + nl + 9 <= n; i++) {
		if (p[i] == 0 && p[i + 1] == nl && memcmp(p + i + 2, name, nl) == 0 &&
		    p[i + 2 + nl] == 0x00) {
			uint64_t v = 0;
			for (int k = 0; k < 8; k++)
				v = (v << 8) | p[i + 3 + nl + k];
			double d;
			memcpy(&d, &v, sizeof(d));
			return d;
		}
	}
	return -1;
}

static int parse_file(const char *path, struct parsed *p)
{
	struct flv_reader r;
	struct flv_item it;
	size_t off = 0;
	memset(p, 0, sizeof(*p));
	p->duration = -1;
	p->buf = slurp(path, &p->len);
	if (!p->buf)
		return -1;
	flv_reader_init(&r, 0);
	for (;;) {
		int rc = flv_reader_next(&r, p->buf + off, p->len - off, &it);
		if (rc <= 0)
			break;
		off += (size_t)rc;
		if (it.kind != FLV_ITEM_TAG || p->n >= 4096)
			continue;
		struct tagrec *t = &p->t[p->n++];
		t->type = it.tag.type;
		t->ts = it.tag.timestamp;
		t->b0 = it.tag.data_size > 0 ? it.tag.data[0] : 0;
		t->b1 = it.tag.data_size > 1 ? it.tag.data[1] : 0;
		t->frame = it.tag.data_size > 9 ? frame_index(it.tag.data) : 0;
		if (t->type == FLV_TAG_SCRIPT && p->duration < 0) {
			p->duration = meta_number(it.tag.data, it.tag.data_size, "duration");
			p->has_keyframes = memmem(it.tag.data, it.tag.data_size, "filepositions",
						  13) != NULL;
		}
	}
	p->whole = off == p->len;
	return 0;
}

static void parsed_free(struct parsed *p)
{
	free(p->buf);
	p->buf = NULL;
}

/* Sorted names in dir matching suffix. */
static int list_names(const char *dir, const char *suffix, char names[][64], int max)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), k = 0;
	size_t sl = strlen(suffix);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);
		if (l > sl && strcmp(ents[i]->d_name + l - sl, suffix) == 0 && k < max)
			snprintf(names[k++], 64, "%s", ents[i]->d_name);
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
	return k;
}

/* A segment must be: metadata, AVC seq, AAC seq, keyframe at ts 0. Returns
 * the first frame index, checks frames are consecutive and returns the last
 * one in *last. */
static unsigned check_segment(const struct parsed *p, unsigned *last)
{
	CU_ASSERT_TRUE_FATAL(p->n >= 4);
	CU_ASSERT_TRUE(p->whole);
	CU_ASSERT_EQUAL(p->t[0].type, FLV_TAG_SCRIPT);
	CU_ASSERT_TRUE(p->duration > 0);
	CU_ASSERT_TRUE(p->has_keyframes);
	CU_ASSERT_EQUAL(p->t[1].type, FLV_TAG_VIDEO);
	CU_ASSERT_EQUAL(p->t[1].b0, 0x17);
	CU_ASSERT_EQUAL(p->t[1].b1, 0x00);
	CU_ASSERT_EQUAL(p->t[2].type, FLV_TAG_AUDIO);
	CU_ASSERT_EQUAL(p->t[2].b1, 0x00);
	CU_ASSERT_EQUAL(p->t[3].type, FLV_TAG_VIDEO);
	CU_ASSERT_EQUAL(p->t[3].b0, 0x17);
	CU_ASSERT_EQUAL(p->t[3].b1, 0x01);
	CU_ASSERT_EQUAL(p->t[3].ts, 0);
	unsigned first = p->t[3].frame, prev = first;
	for (unsigned i = 4; i < p->n; i++) {
		if (p->t[i].type != FLV_TAG_VIDEO)
			continue;
		CU_ASSERT_EQUAL(p->t[i].frame, prev + 1);
		CU_ASSERT_EQUAL(p->t[i].ts, (p->t[i].frame - first) * FRAME_MS);
		prev = p->t[i].frame;
	}
	*last = prev;
	return first;
}

/* Check every segment in rec dir; returns number of segments, and checks
 * the frames across them are exactly [first_frame, end_frame). */
static int check_segments(const char *dir, unsigned first_frame, unsigned end_frame,
			  int expect_cut_every)
{
	char names[32][64], path[256];
	int n = list_names(dir, ".flv", names, 32);
	CU_ASSERT_EQUAL(list_names(dir, ".part", names + n, 32 - n), 0);
	unsigned next = first_frame;
	for (int i = 0; i < n; i++) {
		struct parsed *p = malloc(sizeof(*p));
		unsigned last;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CU_ASSERT_EQUAL_FATAL(parse_file(path, p), 0);
		unsigned first = check_segment(p, &last);
		CU_ASSERT_EQUAL(first, next);
		if (first != next)
			fprintf(stderr, "\n%s: frames %u..%u, expected from %u (%u tags)\n",
				names[i], first, last, next, p->n);
		next = first;
		if (expect_cut_every && i + 1 < n)
			CU_ASSERT_EQUAL((last + 1 - next) % (unsigned)expect_cut_every, 0);
		/* duration in metadata: last frame's relative time plus one frame */
		double want = ((last - next) * FRAME_MS + FRAME_MS) / 1000.0;
		CU_ASSERT_TRUE(p->duration > want - 0.05 && p->duration < want + 0.05);
		next = last + 1;
		parsed_free(p);
		free(p);
	}
	CU_ASSERT_EQUAL(next, end_frame);
	return n;
}

/* ---- tests ---- */

static int name_is_stamp(const char *n)
{
	/* YYYYMMDDTHHMMSSZ[-N].flv */
	for (int i = 0; i < 16; i++) {
		char c = n[i];
		int want_digit = i != 8 && i != 15;
		if (want_digit ? (c < '0' || c > '9') : (c != (i == 8 ? 'T' : 'Z')))
			return 0;
	}
	return strcmp(n + 16, ".flv") == 0 || n[16] == '-';
}

static void test_single_recording(void)
{
	struct env e;
	char dir[160], names[4][64];
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "segment_duration = 0\nsegment_size = 0"), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "we ird/name", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	feed_headers(r, 0);
	/* Inter frames before the first keyframe are not recorded. */
	uint8_t b[64];
	cp_archive_stream_message(r, 9, 0, b, video_frame(b, 40, 1, 1000));
	feed_frames(r, 10, 110, 25, 200);
	drain(&e, r);
	CU_ASSERT_TRUE(strstr(cp_archive_rec_path(r), "/live/we_ird_name/") != NULL);
	/* while recording: one .part, locked: repair refuses it */
	snprintf(dir, sizeof(dir), "%s/rec/live/we_ird_name", e.dir);
	CU_ASSERT_EQUAL(list_names(dir, ".flv.part", names, 4), 1);
	char part[256], err[256];
	snprintf(part, sizeof(part), "%s/%s", dir, names[0]);
	CU_ASSERT_EQUAL(cp_archive_repair_file(part, err, sizeof(err)), -EBUSY);
	cp_archive_stream_end(r);
	env_close(&e);
	CU_ASSERT_EQUAL(list_names(dir, ".flv", names, 4), 1);
	CU_ASSERT_TRUE(name_is_stamp(names[0]));
	CU_ASSERT_EQUAL(check_segments(dir, 25, 110, 0), 1);
	rmtree(e.dir);
}

static void test_rotation_duration(void)
{
	struct env e;
	char dir[160];
	struct cp_archive_stats st;
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "segment_duration = 1s\nsegment_size = 0"), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "dur", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	feed_headers(r, 0);
	feed_frames(r, 0, 100, 10, 300); /* 4 s, keyframe every 400 ms */
	cp_archive_stream_end(r);
	cp_archive_stats(e.a, &st);
	env_close(&e);
	snprintf(dir, sizeof(dir), "%s/rec/live/dur", e.dir);
	/* cuts at the first keyframe >= 1 s: 1200, 2400, 3600 ms */
	CU_ASSERT_EQUAL(check_segments(dir, 0, 100, 30), 4);
	rmtree(e.dir);
}

static void test_rotation_size(void)
{
	struct env e;
	char dir[160];
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "segment_size = 40k"), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "size", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	feed_headers(r, 0);
	feed_frames(r, 0, 200, 20, 1000); /* ~20 KB per GOP */
	cp_archive_stream_end(r);
	env_close(&e);
	snprintf(dir, sizeof(dir), "%s/rec/live/size", e.dir);
	int n = check_segments(dir, 0, 200, 40);
	/* ~20.8 KB per GOP: the first keyframe past 40 KB is after 2 GOPs */
	CU_ASSERT_EQUAL(n, 5);
	rmtree(e.dir);
}

static void test_policy(void)
{
	struct env e;
	struct cp_archive_stats st;
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "record = live:keyed test:none all"), 0);
	CU_ASSERT_PTR_NULL(cp_archive_stream_start(e.a, "test", "x", 1));
	CU_ASSERT_EQUAL(errno, 0);
	CU_ASSERT_PTR_NULL(cp_archive_stream_start(e.a, "live", "open", 0));
	struct cp_rec *k = cp_archive_stream_start(e.a, "live", "keyed", 1);
	struct cp_rec *o = cp_archive_stream_start(e.a, "other", "any", 0);
	CU_ASSERT_PTR_NOT_NULL(k);
	CU_ASSERT_PTR_NOT_NULL(o);
	CU_ASSERT_PTR_NULL(cp_archive_stream_start(e.a, "", "x", 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.recordings, 2);
	CU_ASSERT_EQUAL(st.skipped_policy, 2);
	CU_ASSERT_EQUAL(st.active, 2);
	/* NULL handles are accepted everywhere */
	cp_archive_stream_message(NULL, 9, 0, avc_seq, sizeof(avc_seq));
	cp_archive_stream_end(NULL);
	cp_archive_stream_end(k);
	cp_archive_stream_end(o);
	env_close(&e);
	rmtree(e.dir);

	/* bad configurations are refused with a reason */
	char err[256];
	uv_loop_t loop;
	uv_loop_init(&loop);
	FILE *f = fopen("/tmp/lc-arch-bad.conf", "w");
	fputs("[archive]\nrecord = live:sometimes\n", f);
	fclose(f);
	CU_ASSERT_PTR_NULL(cp_archive_create(&loop, "/tmp/lc-arch-bad.conf", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_TRUE(strstr(err, "sometimes") != NULL);
	/* the example file at the repository root loads, with its defaults */
	struct cp_archive_conf c;
	if (access("lifecast.conf", R_OK) == 0) {
		CU_ASSERT_EQUAL(cp_archive_conf_load("lifecast.conf", &c, err, sizeof(err)), 0);
		CU_ASSERT_STRING_EQUAL(c.dir, "/var/lib/lifecast/archive");
		CU_ASSERT_EQUAL(c.segment_duration_ms, 3600000);
		CU_ASSERT_EQUAL(c.def_policy, CP_ARCH_ALL);
	}
	CU_ASSERT_EQUAL(cp_archive_conf_parse_record(&c, "keyed a:none b:all", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.def_policy, CP_ARCH_KEYED);
	CU_ASSERT_EQUAL(c.napps, 2);
	c.enabled = 1;
	CU_ASSERT_FALSE(cp_archive_conf_wants(&c, "a", 1));
	CU_ASSERT_TRUE(cp_archive_conf_wants(&c, "b", 0));
	CU_ASSERT_FALSE(cp_archive_conf_wants(&c, "z", 0));
	CU_ASSERT_TRUE(cp_archive_conf_wants(&c, "z", 1));
	CU_ASSERT_EQUAL(cp_archive_conf_parse_record(&c, "a:all a:none", err, sizeof(err)), -EINVAL);
	f = fopen("/tmp/lc-arch-bad.conf", "w");
	fputs("[archive]\nsegment_size = lots\n", f);
	fclose(f);
	CU_ASSERT_PTR_NULL(cp_archive_create(&loop, "/tmp/lc-arch-bad.conf", err, sizeof(err)));
	unlink("/tmp/lc-arch-bad.conf");
	uv_loop_close(&loop);
}

/* Let sleep_ms pass, then measure free space and wait for the result. */
static void wait_space_check(struct env *e, uint64_t sleep_ms)
{
	struct cp_archive_stats st, s2;
	uv_sleep((unsigned)sleep_ms);
	uv_update_time(&e->loop);
	/* a measurement already running may predate the change: let it land */
	cp_archive_stats(e->a, &st);
	for (int round = 0; round < 2; round++) {
		cp_archive_check_space(e->a);
		for (int i = 0; i < 1000; i++) {
			uv_run(&e->loop, UV_RUN_NOWAIT);
			cp_archive_stats(e->a, &s2);
			if (s2.space_checks > st.space_checks)
				break;
			uv_sleep(1);
		}
		st = s2;
	}
	CU_ASSERT_TRUE(s2.space_checks >= 2);
}

static void test_disk_full(void)
{
	struct env e;
	char dir[160], names[8][64], path[256];
	struct cp_archive_stats st;
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "segment_duration = 0"), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "full", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	feed_headers(r, 0);
	feed_frames(r, 0, 50, 10, 500);
	drain(&e, r);
	/* the disk fills up 10000 bytes later, in the middle of a tag */
	cp_archive_set_fault(e.a, ENOSPC, 10000);
	feed_frames(r, 50, 100, 10, 500);
	drain(&e, r);
	feed_frames(r, 100, 110, 10, 500); /* dropped: recording is stopped */
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.write_errors, 1);
	CU_ASSERT_TRUE(st.msgs_dropped >= 20);
	/* the failed segment was cut to its last whole tag and repaired */
	snprintf(dir, sizeof(dir), "%s/rec/live/full", e.dir);
	CU_ASSERT_EQUAL(list_names(dir, ".flv", names, 8), 1);
	CU_ASSERT_EQUAL(list_names(dir, ".part", names + 1, 7), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	struct parsed *p = malloc(sizeof(*p));
	unsigned last;
	CU_ASSERT_EQUAL(parse_file(path, p), 0);
	CU_ASSERT_EQUAL(check_segment(p, &last), 0);
	CU_ASSERT_TRUE(last >= 55 && last < 100);
	parsed_free(p);
	/* space returns: the next check resumes at the next keyframe */
	cp_archive_set_fault(e.a, 0, 0);
	wait_space_check(&e, 150);
	feed_frames(r, 115, 140, 10, 500);
	cp_archive_stream_end(r);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.resumes, 1);
	env_close(&e);
	CU_ASSERT_EQUAL(list_names(dir, ".flv", names, 8), 2);
	snprintf(path, sizeof(path), "%s/%s", dir, names[1]);
	CU_ASSERT_EQUAL(parse_file(path, p), 0);
	CU_ASSERT_EQUAL(check_segment(p, &last), 120);
	CU_ASSERT_EQUAL(last, 139);
	parsed_free(p);
	free(p);
	rmtree(e.dir);
}

static void test_low_space(void)
{
	struct env e;
	struct cp_archive_stats st;
	char dir[160], names[8][64];
	CU_ASSERT_EQUAL_FATAL(env_open(&e, ""), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "low", 0);
	feed_headers(r, 0);
	feed_frames(r, 0, 30, 10, 200);
	drain(&e, r);
	cp_archive_set_min_free(e.a, UINT64_MAX / 2);
	wait_space_check(&e, 0);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.low_space, 1);
	CU_ASSERT_EQUAL(st.low_space_stops, 1);
	/* a stream starting now is not recorded either, but gets a handle */
	struct cp_rec *r2 = cp_archive_stream_start(e.a, "live", "late", 0);
	CU_ASSERT_PTR_NOT_NULL(r2);
	feed_headers(r2, 0);
	feed_frames(r, 30, 50, 10, 200);
	feed_frames(r2, 0, 20, 10, 200);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.low_space_stops, 2);
	CU_ASSERT_TRUE(st.msgs_dropped >= 80);
	cp_archive_set_min_free(e.a, 0);
	wait_space_check(&e, 0);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.low_space, 0);
	feed_frames(r, 55, 70, 10, 200);
	feed_frames(r2, 25, 40, 10, 200);
	cp_archive_stream_end(r);
	cp_archive_stream_end(r2);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_EQUAL(st.resumes, 2);
	env_close(&e);
	snprintf(dir, sizeof(dir), "%s/rec/live/low", e.dir);
	CU_ASSERT_EQUAL(list_names(dir, ".flv", names, 8), 2);
	snprintf(dir, sizeof(dir), "%s/rec/live/late", e.dir);
	CU_ASSERT_EQUAL(check_segments(dir, 30, 40, 0), 1);
	rmtree(e.dir);
}

static void test_overflow(void)
{
	struct env e;
	struct cp_archive_stats st;
	char dir[160];
	CU_ASSERT_EQUAL_FATAL(env_open(&e, "queue_max = 64k"), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "of", 0);
	feed_headers(r, 0);
	/* 200 x 4 KB without running the loop: the queue bound is hit */
	feed_frames(r, 0, 200, 10, 4000);
	CU_ASSERT_TRUE(cp_archive_rec_pending(r) <= 64 * 1024);
	cp_archive_stats(e.a, &st);
	CU_ASSERT_TRUE(st.overflows >= 1);
	drain(&e, r);
	feed_frames(r, 200, 230, 10, 4000);
	cp_archive_stream_end(r);
	env_close(&e);
	/* every file is still a clean series of whole GOP-started segments */
	char names[64][64], path[256];
	snprintf(dir, sizeof(dir), "%s/rec/live/of", e.dir);
	int n = list_names(dir, ".flv", names, 64);
	CU_ASSERT_TRUE(n >= 2);
	for (int i = 0; i < n; i++) {
		struct parsed *p = malloc(sizeof(*p));
		unsigned last;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CU_ASSERT_EQUAL(parse_file(path, p), 0);
		CU_ASSERT_EQUAL(check_segment(p, &last) % 10, 0);
		parsed_free(p);
		free(p);
	}
	rmtree(e.dir);
}

static void write_file(const char *path, const void *buf, size_t len, int64_t mtime)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, buf, len), (ssize_t)len);
	close(fd);
	if (mtime) {
		struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
		CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
}

static int exists(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void test_retention(void)
{
	char root[] = "/tmp/lc-arch-ret-XXXXXX", s1[128], s2[128], other[128], cmd[300];
	uint8_t *blob = calloc(1, 100000);
	int64_t now = 1700000000, day = 86400;
	uint64_t files = 0, bytes = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
	snprintf(s1, sizeof(s1), "%s/live/a", root);
	snprintf(s2, sizeof(s2), "%s/live/b", root);
	snprintf(other, sizeof(other), "%s/test/c", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s %s", s1, s2, other);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	char p[256];
	/* live/a: session 1 (3 segments, 10/9/8 days old), session 2 (2 days) */
#define PUT(d, n, sz, age) do { snprintf(p, sizeof(p), "%s/%s", d, n); \
		write_file(p, blob, sz, now - (age)); } while (0)
	PUT(s1, "20230101T000000Z.chat.jsonl", 10, 10 * day);
	PUT(s1, "20230101T000000Z.flv", 1000, 10 * day);
	PUT(s1, "20230102T000000Z.flv", 1000, 9 * day);
	PUT(s1, "20230103T000000Z.flv", 1000, 3 * day);
	PUT(s1, "20230105T000000Z.chat.jsonl", 10, 2 * day);
	PUT(s1, "20230105T000000Z.flv", 1000, 2 * day);
	/* live/b: one old orphan transcript (no recording ever): kept */
	PUT(s2, "20220101T000000Z.chat.jsonl", 10, 30 * day);
	PUT(s2, "20230104T000000Z.flv", 5000, 1 * day);
	PUT(s2, "20230106T000000Z.flv.part", 3000, 0);
	PUT(other, "20230101T000000Z.flv", 1000, 20 * day);
	/* age: keep 5 days -> live/a 10 and 9 days go, session 1 transcript
	 * stays (its 3-day segment is kept), test/c goes */
	CU_ASSERT_EQUAL(cp_archive_retention(root, 5, 0, now, &files, &bytes), 0);
	CU_ASSERT_EQUAL(files, 3);
	CU_ASSERT_EQUAL(bytes, 3000);
	CU_ASSERT_FALSE(exists(s1, "20230101T000000Z.flv"));
	CU_ASSERT_FALSE(exists(s1, "20230102T000000Z.flv"));
	CU_ASSERT_TRUE(exists(s1, "20230103T000000Z.flv"));
	CU_ASSERT_TRUE(exists(s1, "20230101T000000Z.chat.jsonl"));
	CU_ASSERT_FALSE(exists(other, "20230101T000000Z.flv"));
	/* size: live holds 1000 + 1000 + 5000 + 3000 (part) = 10000; keep 9000:
	 * the oldest recording (a/20230103, 3 days) goes, and with it the
	 * session 1 transcript; the session 2 transcript stays */
	files = bytes = 0;
	CU_ASSERT_EQUAL(cp_archive_retention(root, 0, 9000, now, &files, &bytes), 0);
	CU_ASSERT_EQUAL(files, 1);
	CU_ASSERT_FALSE(exists(s1, "20230103T000000Z.flv"));
	CU_ASSERT_FALSE(exists(s1, "20230101T000000Z.chat.jsonl"));
	CU_ASSERT_TRUE(exists(s1, "20230105T000000Z.chat.jsonl"));
	CU_ASSERT_TRUE(exists(s1, "20230105T000000Z.flv"));
	/* keep 4000: a/0105 (2 days) goes, then b/0104 (1 day); the .part is
	 * never deleted, the orphan transcript stays */
	files = bytes = 0;
	CU_ASSERT_EQUAL(cp_archive_retention(root, 0, 4000, now, &files, &bytes), 0);
	CU_ASSERT_EQUAL(files, 2);
	CU_ASSERT_EQUAL(bytes, 6000);
	CU_ASSERT_FALSE(exists(s1, "20230105T000000Z.chat.jsonl"));
	CU_ASSERT_TRUE(exists(s2, "20230106T000000Z.flv.part"));
	CU_ASSERT_TRUE(exists(s2, "20220101T000000Z.chat.jsonl"));
#undef PUT
	CU_ASSERT_EQUAL(cp_archive_retention("/nonexistent-lc", 1, 0, now, &files, &bytes),
			-ENOENT);
	free(blob);
	rmtree(root);
}

/* A reference recording made through the archive. */
static int make_reference(char *root, size_t cap, char *path, size_t pcap)
{
	struct env e;
	char names[2][64], dir[160];
	if (env_open(&e, "") != 0)
		return -1;
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "ref", 0);
	feed_headers(r, 0);
	feed_frames(r, 0, 60, 15, 700);
	cp_archive_stream_end(r);
	env_close(&e);
	snprintf(dir, sizeof(dir), "%s/rec/live/ref", e.dir);
	if (list_names(dir, ".flv", names, 2) != 1)
		return -1;
	snprintf(root, cap, "%s", e.dir);
	snprintf(path, pcap, "%s/%s", dir, names[0]);
	return 0;
}

static void test_repair_offsets(void)
{
	char root[64], ref[256], part[300], fixed[300], err[256];
	struct parsed *orig = malloc(sizeof(*orig)), *p = malloc(sizeof(*p));
	CU_ASSERT_EQUAL_FATAL(make_reference(root, sizeof(root), ref, sizeof(ref)), 0);
	CU_ASSERT_EQUAL_FATAL(parse_file(ref, orig), 0);
	CU_ASSERT_TRUE_FATAL(orig->whole && orig->n == 3 + 120);
	/* tag end offsets, to know how many whole tags a prefix holds */
	size_t ends[200], nends = 0, off = 13;
	while (off + 11 <= orig->len && nends < 200) {
		uint32_t ds = flv_be24(orig->buf + off + 1);
		off += 11 + ds + 4;
		ends[nends++] = off;
	}
	CU_ASSERT_EQUAL_FATAL(nends, orig->n);
	size_t cuts[] = { 13, ends[0] - 5, ends[0], ends[3] + 7, ends[40], ends[40] + 11,
			  ends[100] + 20, orig->len - 1 };
	snprintf(part, sizeof(part), "%s/cut.flv.part", root);
	snprintf(fixed, sizeof(fixed), "%s/cut.flv", root);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		write_file(part, orig->buf, cuts[c], 0);
		CU_ASSERT_EQUAL_FATAL(cp_archive_repair_file(part, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(access(part, F_OK), -1);
		CU_ASSERT_EQUAL_FATAL(parse_file(fixed, p), 0);
		CU_ASSERT_TRUE(p->whole);
		/* media tags kept = whole media tags in the prefix, same bytes order */
		unsigned whole = 0;
		for (size_t k = 1; k < nends; k++)
			whole += ends[k] <= cuts[c];
		CU_ASSERT_EQUAL(p->n, whole + 1); /* + the rebuilt onMetaData */
		for (unsigned k = 1; k < p->n && k < orig->n; k++) {
			CU_ASSERT_EQUAL(p->t[k].type, orig->t[k].type);
			CU_ASSERT_EQUAL(p->t[k].ts, orig->t[k].ts);
			CU_ASSERT_EQUAL(p->t[k].frame, orig->t[k].frame);
		}
		if (whole > 4)
			CU_ASSERT_TRUE(p->duration > 0 && p->has_keyframes);
		parsed_free(p);
		unlink(fixed);
	}
	/* not FLV: refused, the file is left as it was */
	write_file(part, "hello world, not a video", 24, 0);
	CU_ASSERT_TRUE(cp_archive_repair_file(part, err, sizeof(err)) < 0);
	CU_ASSERT_EQUAL(access(part, F_OK), 0);
	CU_ASSERT_EQUAL(access(fixed, F_OK), -1);
	write_file(part, "FLV", 3, 0);
	CU_ASSERT_EQUAL(cp_archive_repair_file(part, err, sizeof(err)), -FLV_E_EMPTY);
	CU_ASSERT_EQUAL(cp_archive_repair_file("/nonexistent-lc/x.flv", err, sizeof(err)),
			-ENOENT);
	/* an in-place repair of a damaged .flv (tail torn) */
	write_file(fixed, orig->buf, ends[50] + 3, 0);
	CU_ASSERT_EQUAL(cp_archive_repair_file(fixed, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(parse_file(fixed, p), 0);
	CU_ASSERT_EQUAL(p->n, 51);
	CU_ASSERT_TRUE(p->whole);
	parsed_free(p);
	parsed_free(orig);
	free(p);
	free(orig);
	rmtree(root);
}

struct list_ctx {
	unsigned n, partial;
	uint32_t dur;
	char stream[64];
};

static int list_cb(void *arg, const struct cp_archive_entry *e)
{
	struct list_ctx *c = arg;
	c->n++;
	c->partial += (unsigned)e->partial;
	c->dur = e->duration_ms;
	snprintf(c->stream, sizeof(c->stream), "%s", e->stream);
	return 0;
}

static void test_startup_repair_and_list(void)
{
	char root[64], ref[256], dir[200], part[300], names[4][64];
	struct parsed *orig = malloc(sizeof(*orig));
	struct list_ctx lc = { 0 };
	CU_ASSERT_EQUAL_FATAL(make_reference(root, sizeof(root), ref, sizeof(ref)), 0);
	CU_ASSERT_EQUAL_FATAL(parse_file(ref, orig), 0);
	CU_ASSERT_EQUAL(cp_archive_list("/nonexistent-lc", NULL, NULL, list_cb, &lc), -ENOENT);
	snprintf(dir, sizeof(dir), "%s/rec", root);
	CU_ASSERT_EQUAL(cp_archive_list(dir, "live", NULL, list_cb, &lc), 0);
	CU_ASSERT_EQUAL(lc.n, 1);
	CU_ASSERT_EQUAL(lc.dur, 59 * FRAME_MS + 1); /* last tag: audio of frame 59 */
	CU_ASSERT_STRING_EQUAL(lc.stream, "ref");
	/* a crash leftover: half a file with a torn tail */
	snprintf(dir, sizeof(dir), "%s/rec/live/crashed", root);
	CU_ASSERT_EQUAL(mkdir(dir, 0755), 0);
	snprintf(part, sizeof(part), "%s/20240101T000000Z.flv.part", dir);
	write_file(part, orig->buf, orig->len / 2, 0);
	memset(&lc, 0, sizeof(lc));
	snprintf(dir, sizeof(dir), "%s/rec", root);
	CU_ASSERT_EQUAL(cp_archive_list(dir, NULL, "crashed", list_cb, &lc), 0);
	CU_ASSERT_EQUAL(lc.n, 1);
	CU_ASSERT_EQUAL(lc.partial, 1);
	/* the start-up maintenance pass repairs it */
	struct env e;
	snprintf(e.dir, sizeof(e.dir), "%s", root);
	snprintf(e.conf, sizeof(e.conf), "%s/lifecast.conf", root);
	uv_loop_init(&e.loop);
	char err[256];
	e.a = cp_archive_create(&e.loop, e.conf, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(e.a);
	struct cp_archive_stats st = { 0 };
	for (int i = 0; i < 500 && st.repaired == 0; i++) {
		uv_run(&e.loop, UV_RUN_ONCE);
		cp_archive_stats(e.a, &st);
	}
	CU_ASSERT_EQUAL(st.repaired, 1);
	CU_ASSERT_EQUAL(st.repair_failed, 0);
	env_close(&e);
	snprintf(dir, sizeof(dir), "%s/rec/live/crashed", root);
	CU_ASSERT_EQUAL(list_names(dir, ".flv", names, 4), 1);
	CU_ASSERT_STRING_EQUAL(names[0], "20240101T000000Z.flv");
	memset(&lc, 0, sizeof(lc));
	snprintf(dir, sizeof(dir), "%s/rec", root);
	CU_ASSERT_EQUAL(cp_archive_list(dir, "live", "crashed", list_cb, &lc), 0);
	CU_ASSERT_EQUAL(lc.n, 1);
	CU_ASSERT_EQUAL(lc.partial, 0);
	CU_ASSERT_TRUE(lc.dur > 0);
	parsed_free(orig);
	free(orig);
	rmtree(root);
}

static void test_component(void)
{
	char out[16];
	cp_archive_component("a/b c", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "a_b_c");
	cp_archive_component("..", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, ".._");
	cp_archive_component("", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "_");
	cp_archive_component("0123456789abcdefghij", out, sizeof(out));
	CU_ASSERT_EQUAL(strlen(out), 14);
	/* garbage payloads never crash and are not recorded */
	struct env e;
	CU_ASSERT_EQUAL_FATAL(env_open(&e, ""), 0);
	struct cp_rec *r = cp_archive_stream_start(e.a, "live", "junk", 0);
	uint8_t one = 0x17;
	cp_archive_stream_message(r, 9, 0, &one, 1);
	cp_archive_stream_message(r, 8, 0, &one, 0);
	cp_archive_stream_message(r, 20, 0, &one, 1);
	cp_archive_stream_message(r, 18, 0, &one, 1);
	CU_ASSERT_EQUAL(cp_archive_rec_pending(r), 0);
	cp_archive_stream_end(r);
	env_close(&e);
	rmtree(e.dir);
}

int test_cp_archive_register(void)
{
	CU_pSuite s = CU_add_suite("cp_archive", NULL, NULL);
	if (!s)
		return -1;
	if (!CU_add_test(s, "single recording, naming, lock", test_single_recording) ||
	    !CU_add_test(s, "rotation by duration on keyframes", test_rotation_duration) ||
	    !CU_add_test(s, "rotation by size on keyframes", test_rotation_size) ||
	    !CU_add_test(s, "per-app policy and config errors", test_policy) ||
	    !CU_add_test(s, "disk full (ENOSPC hook) stops and resumes", test_disk_full) ||
	    !CU_add_test(s, "min_free stops and resumes", test_low_space) ||
	    !CU_add_test(s, "queue bound cuts segments", test_overflow) ||
	    !CU_add_test(s, "retention by age and size, transcripts", test_retention) ||
	    !CU_add_test(s, "repair at several offsets", test_repair_offsets) ||
	    !CU_add_test(s, "start-up repair and listing", test_startup_repair_and_list) ||
	    !CU_add_test(s, "names and junk input", test_component))
		return -1;
	return 0;
}
