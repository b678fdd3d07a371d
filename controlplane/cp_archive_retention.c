/* Retention and listing of recordings under ARCHIVE_DIR/APP/STREAM/.
 *
 * Recordings are STAMP.flv (closed) and STAMP.flv.part (being written or
 * awaiting repair); STAMP is YYYYMMDDTHHMMSSZ, optionally followed by -N.
 * Transcripts are STAMP.chat.jsonl, written by the chat recorder when a
 * stream goes live; see cp_archive.h for which recordings a transcript
 * belongs to. Both functions are blocking and run off the event loop (the
 * maintenance work item) or in the CLI. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/cp_archive_int.h"
#include "flv/flv_tag.h"

#define STAMP_LEN 16 /* YYYYMMDDTHHMMSSZ */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* 1: recording (.flv), 2: partial (.flv.part), 3: transcript, 0: other. */
static int file_kind(const char *name)
{
	if (name[0] == '.' || strlen(name) < STAMP_LEN)
		return 0;
	if (ends_with(name, ".chat.jsonl"))
		return 3;
	if (ends_with(name, ".flv.part"))
		return 2;
	if (ends_with(name, ".flv") && !ends_with(name, ".repair"))
		return 1;
	return 0;
}

/* The archive is walked one directory level at a time: ARCHIVE_DIR, then
 * APP, then STREAM. A path longer than these bounds (ARCHIVE_DIR/APP, and
 * below it) is skipped: the archive never writes one. */
#define WALK_APP_PATH_MAX 1024
#define WALK_PATH_MAX 1100

typedef int (*walk_fn)(void *ctx, const char *path, const char *name, int idx);

/* Call visit(ctx, DIR/NAME, NAME, idx) for each entry of dir in
 * alphabetical order, dot names and paths that do not fit cap skipped; idx
 * is the entry's position in the sorted listing. After a visit returns
 * non-zero the rest are not visited and that value is returned. An
 * unreadable dir gives -errno when must_exist, else 0 (a stray file where
 * a directory was expected is not ours). */
static int walk_dir(const char *dir, size_t cap, int must_exist, walk_fn visit, void *ctx)
{
	struct dirent **ents;
	char path[WALK_PATH_MAX];
	int rc = 0;
	int n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return must_exist ? -errno : 0;
	if (cap > sizeof(path))
		cap = sizeof(path);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		if (rc == 0 && name[0] != '.' && cp_arch_join(path, cap, dir, name) == 0)
			rc = visit(ctx, path, name, i);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

struct ret_file {
	char path[WALK_PATH_MAX];
	char stamp[STAMP_LEN + 1];
	unsigned stream;     /* index of its stream directory within the app */
	int64_t mtime;
	uint64_t size;
	int kind;            /* file_kind */
	int deleted;
};

struct ret_set {
	struct ret_file *v;
	size_t n, cap;
};

static struct ret_file *set_add(struct ret_set *s)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct ret_file *nv = realloc(s->v, ncap * sizeof(*nv));
		if (!nv)
			return NULL;
		s->v = nv;
		s->cap = ncap;
	}
	struct ret_file *f = &s->v[s->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

static int collect_stream(struct ret_set *s, const char *sdir, unsigned idx)
{
	struct dirent **ents;
	struct stat st;
	int n = scandir(sdir, &ents, NULL, alphasort);
	int rc = 0;
	if (n < 0)
		return 0; /* not a directory: not ours */
	for (int i = 0; i < n; i++) {
		int kind = file_kind(ents[i]->d_name);
		struct ret_file *f;
		if (kind && rc == 0 && (f = set_add(s)) != NULL) {
			if (cp_arch_join(f->path, sizeof(f->path), sdir, ents[i]->d_name) != 0) {
				s->n--;
				free(ents[i]);
				continue;
			}
			memcpy(f->stamp, ents[i]->d_name, STAMP_LEN);
			f->stamp[STAMP_LEN] = '\0';
			f->stream = idx;
			f->kind = kind;
			if (stat(f->path, &st) == 0 && S_ISREG(st.st_mode)) {
				f->mtime = (int64_t)st.st_mtime;
				f->size = (uint64_t)st.st_size;
			} else {
				s->n--;
			}
		} else if (kind && rc == 0) {
			rc = -ENOMEM;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int by_age(const void *x, const void *y)
{
	const struct ret_file *a = *(const struct ret_file *const *)x;
	const struct ret_file *b = *(const struct ret_file *const *)y;
	if (a->mtime != b->mtime)
		return a->mtime < b->mtime ? -1 : 1;
	return strcmp(a->path, b->path);
}

static void delete_rec(struct ret_file *f, uint64_t *total, uint64_t *files, uint64_t *bytes)
{
	if (unlink(f->path) < 0 && errno != ENOENT)
		return;
	f->deleted = 1;
	*total -= f->size;
	(*files)++;
	*bytes += f->size;
}

/* Recordings, oldest first: the age rule, then the size rule. */
static void apply_rules(struct ret_set *s, uint64_t keep_days, uint64_t keep_size, int64_t now,
			uint64_t *files, uint64_t *bytes)
{
	struct ret_file **order = malloc((s->n ? s->n : 1) * sizeof(*order));
	uint64_t total = 0;
	size_t n = 0;
	if (!order)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].kind == 1 || s->v[i].kind == 2) {
			total += s->v[i].size;
			if (s->v[i].kind == 1)
				order[n++] = &s->v[i];
		}
	}
	qsort(order, n, sizeof(*order), by_age);
	int64_t cutoff = now - (int64_t)keep_days * 86400;
	for (size_t i = 0; i < n; i++) {
		int old = keep_days && order[i]->mtime < cutoff;
		int over = keep_size && total > keep_size;
		if (!old && !over)
			break;
		delete_rec(order[i], &total, files, bytes);
	}
	free(order);
}

/* A transcript goes once every recording of its session is gone, and only in
 * a pass that deleted one of them (a transcript without recordings yet, e.g.
 * a stream that never sent a keyframe, is left alone). */
static void sweep_transcripts(struct ret_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct ret_file *t = &s->v[i];
		if (t->kind != 3)
			continue;
		const char *end = NULL; /* next transcript's stamp in the same stream */
		for (size_t j = 0; j < s->n; j++) {
			const struct ret_file *u = &s->v[j];
			if (u->kind == 3 && u->stream == t->stream && strcmp(u->stamp, t->stamp) > 0 &&
			    (!end || strcmp(u->stamp, end) < 0))
				end = u->stamp;
		}
		int deleted = 0, kept = 0;
		for (size_t j = 0; j < s->n; j++) {
			const struct ret_file *r = &s->v[j];
			if ((r->kind != 1 && r->kind != 2) || r->stream != t->stream ||
			    strcmp(r->stamp, t->stamp) < 0 || (end && strcmp(r->stamp, end) >= 0))
				continue;
			if (r->deleted)
				deleted = 1;
			else
				kept = 1;
		}
		if (deleted && !kept)
			unlink(t->path);
	}
}

struct ret_ctx {
	uint64_t keep_days, keep_size;
	int64_t now;
	uint64_t *files, *bytes;
	struct ret_set *set; /* the app being walked */
};

static int collect_visit(void *ctx, const char *sdir, const char *name, int idx)
{
	struct ret_ctx *r = ctx;
	return collect_stream(r->set, sdir, (unsigned)idx);
}

/* Retention is per app: its rules weigh every stream of the app together. */
static int retention_app(void *ctx, const char *adir, const char *name, int idx)
{
	struct ret_ctx *r = ctx;
	struct ret_set s = { 0 };
	r->set = &s;
	int rc = walk_dir(adir, WALK_PATH_MAX, 0, collect_visit, r);
	r->set = NULL;
	if (rc == 0) {
		apply_rules(&s, r->keep_days, r->keep_size, r->now, r->files, r->bytes);
		sweep_transcripts(&s);
	}
	free(s.v);
	return rc;
}

int cp_archive_retention(const char *dir, uint64_t keep_days, uint64_t keep_size, int64_t now,
			 uint64_t *files, uint64_t *bytes)
{
	struct ret_ctx r = { keep_days, keep_size, now, files, bytes, NULL };
	return walk_dir(dir, WALK_APP_PATH_MAX, 1, retention_app, &r);
}

/* ---- listing ---- */

/* Timestamp of the last whole tag, found through the trailing
 * PreviousTagSize; 0 when the tail is torn or the file is not FLV. */
static uint32_t last_tag_ms(int fd, uint64_t size)
{
	uint8_t b[FLV_TAG_HEADER_SIZE];
	struct flv_tag tag;
	if (size < FLV_HEADER_SIZE + FLV_PREV_SIZE_LEN + FLV_TAG_HEADER_SIZE + FLV_PREV_SIZE_LEN)
		return 0;
	if (pread(fd, b, 4, (off_t)(size - 4)) != 4)
		return 0;
	uint32_t prev = flv_be32(b);
	if (prev < FLV_TAG_HEADER_SIZE || prev > size - 4 - FLV_HEADER_SIZE - FLV_PREV_SIZE_LEN)
		return 0;
	if (pread(fd, b, sizeof(b), (off_t)(size - 4 - prev)) != (ssize_t)sizeof(b))
		return 0;
	if (flv_tag_header_parse(b, sizeof(b), FLV_TAG_DATA_MAX, &tag) != (int)sizeof(b) ||
	    tag.data_size + FLV_TAG_HEADER_SIZE != prev)
		return 0;
	return tag.timestamp;
}

static int list_file(const char *app, const char *stream, const char *path, int kind,
		     int (*fn)(void *, const struct cp_archive_entry *), void *arg)
{
	struct stat st;
	struct cp_archive_entry e = { app, stream, path, 0, 0, 0, kind == 2 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* deleted meanwhile */
	if (fstat(fd, &st) == 0) {
		e.size = (uint64_t)st.st_size;
		e.mtime = (int64_t)st.st_mtime;
		e.duration_ms = last_tag_ms(fd, e.size);
	}
	close(fd);
	return fn(arg, &e);
}

/* What a listing walk carries down: at the top the filters (sanitised
 * names, NULL = all), below them the APP and STREAM being walked. */
struct list_ctx {
	const char *app, *stream;
	int (*fn)(void *, const struct cp_archive_entry *);
	void *arg;
};

/* One file of APP/STREAM: recordings are listed, the rest is not. */
static int list_recording(void *ctx, const char *path, const char *name, int idx)
{
	const struct list_ctx *l = ctx;
	int kind = file_kind(name);
	if (kind != 1 && kind != 2)
		return 0;
	return list_file(l->app, l->stream, path, kind, l->fn, l->arg);
}

static int list_stream(void *ctx, const char *sdir, const char *name, int idx)
{
	const struct list_ctx *l = ctx;
	if (l->stream && strcmp(l->stream, name) != 0)
		return 0;
	struct list_ctx sub = { l->app, name, l->fn, l->arg };
	return walk_dir(sdir, WALK_PATH_MAX, 0, list_recording, &sub);
}

static int list_app(void *ctx, const char *adir, const char *name, int idx)
{
	const struct list_ctx *l = ctx;
	if (l->app && strcmp(l->app, name) != 0)
		return 0;
	struct list_ctx sub = { name, l->stream, l->fn, l->arg };
	return walk_dir(adir, WALK_PATH_MAX, 0, list_stream, &sub);
}

int cp_archive_list(const char *dir, const char *app, const char *stream,
		    int (*fn)(void *arg, const struct cp_archive_entry *e), void *arg)
{
	char fa[64], fs[64];
	struct list_ctx l = { app ? fa : NULL, stream ? fs : NULL, fn, arg };
	/* Filters name streams as the engine does; compare sanitised forms. */
	if (app)
		cp_archive_component(app, fa, sizeof(fa));
	if (stream)
		cp_archive_component(stream, fs, sizeof(fs));
	return walk_dir(dir, WALK_APP_PATH_MAX, 1, list_app, &l);
}
