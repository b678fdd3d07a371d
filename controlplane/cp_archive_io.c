/* Archive writer-thread side: runs a recording's queued operations against
 * its segment file. Everything here runs on a libuv thread-pool thread (one
 * work item per recording at a time) and touches only the recording's
 * cp_arch_file and the batch it was handed.
 *
 * Crash safety comes from flv_writer (one write call per whole tag, append
 * only) plus the naming: the file is STAMP.flv.part until it is closed
 * cleanly, and it holds an exclusive flock while open so the repair pass
 * never touches a live segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controlplane/cp_archive_int.h"
#include "controlplane/cp_log.h"
#include "flv/flv_tag.h"

int cp_arch_mkdirs(const char *path)
{
	char buf[1024];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The test hook: how many of len bytes may be written before the injected
 * fault hits; len when no fault is set. */
static size_t fault_allow(const struct cp_archive *a, size_t len, int *err)
{
	*err = atomic_load((_Atomic int *)&a->fault_errno);
	if (*err == 0)
		return len;
	uint64_t budget = atomic_load((_Atomic uint64_t *)&a->fault_budget);
	size_t ok = budget >= len ? len : (size_t)budget;
	atomic_store((_Atomic uint64_t *)&a->fault_budget, budget - ok);
	if (ok == len)
		*err = 0;
	return ok;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct cp_arch_file *f = ctx;
	int ferr = 0;
	size_t ok = f->a ? fault_allow(f->a, len, &ferr) : len;
	int rc = write_all(f->fd, buf, ok);
	if (rc == 0)
		f->written += ok;
	if (rc == 0 && ferr)
		rc = -ferr;
	return rc;
}

static int sink_pwrite(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct cp_arch_file *f = ctx;
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(f->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_err(struct cp_arch_result *res, int err, const char *where)
{
	if (res->err != 0)
		return;
	res->err = err;
	snprintf(res->err_where, sizeof(res->err_where), "%s", where);
}

/* Create STAMP.flv.part exclusively. When the stamp is taken (two segments
 * in one second, or a quick republish) the next second is tried, so names
 * keep the one format and still sort in recording order. */
static int open_part(struct cp_arch_file *f, const char *path)
{
	const char *base = strrchr(path, '/');
	struct tm tm = { 0 };
	base = base ? base + 1 : path;
	size_t dlen = (size_t)(base - path);
	const char *end = strptime(base, "%Y%m%dT%H%M%SZ", &tm);
	if (!end || strcmp(end, ".flv") != 0 || dlen + 32 >= sizeof(f->path))
		return -EINVAL;
	time_t t0 = timegm(&tm);
	for (int i = 0; i < 100; i++) {
		time_t t = t0 + i;
		char stamp[32];
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(f->path, sizeof(f->path), "%.*s%s.flv", (int)dlen, path, stamp);
		snprintf(f->part, sizeof(f->part), "%s.part", f->path);
		if (access(f->path, F_OK) == 0)
			continue;
		int fd = open(f->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return -errno;
		/* Blocking: a repair pass may hold the brand-new file for an instant. */
		if (flock(fd, LOCK_EX) < 0) {
			int e = -errno;
			close(fd);
			unlink(f->part);
			return e;
		}
		f->fd = fd;
		return 0;
	}
	return -EEXIST;
}

static int op_open(struct cp_arch_file *f, const char *path, uint32_t kf_cap,
		   struct cp_arch_result *res)
{
	char dir[1024];
	const char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	int rc = cp_arch_mkdirs(dir);
	if (rc != 0)
		return rc;
	rc = open_part(f, path);
	if (rc != 0)
		return rc;
	struct flv_sink sink = { f, sink_write, sink_pwrite };
	struct flv_writer_opts o = { .keyframe_capacity = kf_cap };
	f->written = 0;
	f->w = flv_writer_open(&sink, &o);
	if (!f->w) {
		rc = -errno;
		close(f->fd);
		f->fd = -1;
		unlink(f->part);
		return rc;
	}
	res->opened++;
	return 0;
}

/* A failed segment: cut the torn tail, then give it to repair so it still
 * becomes a clean .flv; if that fails too (no space for the copy) the .part
 * stays for the next maintenance pass. */
static void salvage(struct cp_arch_file *f)
{
	struct flv_writer_stats st;
	char err[160];

	flv_writer_get_stats(f->w, &st);
	if (ftruncate(f->fd, (off_t)st.bytes) < 0)
		cp_warn("archive: %s: truncating after a failed write: %s", f->part,
			strerror(errno));
	flv_writer_free(f->w);
	f->w = NULL;
	close(f->fd); /* drops the flock: repair may take the file now */
	f->fd = -1;
	if (cp_archive_repair_file(f->part, err, sizeof(err)) != 0)
		cp_warn("archive: %s left for repair: %s", f->part, err);
}

int cp_arch_io_close(struct cp_arch_file *f, struct cp_arch_result *res)
{
	if (!f->w)
		return 0;
	int rc = res->err ? res->err : flv_writer_close(f->w);
	if (rc == 0 && fsync(f->fd) < 0 && errno != EINVAL)
		rc = -errno;
	if (rc != 0) {
		set_err(res, rc, "close");
		salvage(f);
		return rc;
	}
	flv_writer_free(f->w);
	f->w = NULL;
	if (rename(f->part, f->path) < 0) {
		rc = -errno;
		set_err(res, rc, "rename");
	}
	close(f->fd);
	f->fd = -1;
	res->closed++;
	return rc;
}

static void op_tag(struct cp_arch_file *f, const struct cp_arch_op *op, struct cp_arch_result *res)
{
	if (!f->w)
		return;
	uint64_t before = f->written;
	int rc = flv_writer_write_tag(f->w, op->type, op->ts, op->data, op->len);
	if (rc == -FLV_E_AMF)
		return; /* a malformed onMetaData is dropped; the file is fine */
	if (rc != 0) {
		set_err(res, rc, "write");
		return;
	}
	res->tags++;
	res->bytes += f->written - before;
}

void cp_arch_io_run(struct cp_arch_file *f, struct cp_arch_op *batch, uint32_t kf_cap,
		    struct cp_arch_result *res)
{
	for (struct cp_arch_op *op = batch; op; op = op->next) {
		if (res->err && op->kind != CP_ARCH_OP_CLOSE)
			continue;
		switch (op->kind) {
		case CP_ARCH_OP_OPEN: {
			int rc = op_open(f, (const char *)op->data, kf_cap, res);
			if (rc != 0)
				set_err(res, rc, "open");
			break;
		}
		case CP_ARCH_OP_TAG:
			op_tag(f, op, res);
			break;
		case CP_ARCH_OP_CLOSE:
			cp_arch_io_close(f, res);
			break;
		}
	}
	/* A failure leaves nothing open: the loop stops this recording. */
	if (res->err && f->w)
		cp_arch_io_close(f, res);
}
