/* Repair of recordings cut short (crash, disk full): flv_repair over a
 * read-only mapping of the file into a temporary copy, then rename. Used by
 * the archive's maintenance pass and by `lifecastctl archive repair`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/cp_archive_int.h"
#include "flv/flv_reader.h"

#define PART_SUFFIX ".flv.part"

struct fd_sink {
	int fd;
};

static int fd_write(void *ctx, const void *buf, size_t len)
{
	const struct fd_sink *s = ctx;
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_pwrite(void *ctx, uint64_t off, const void *buf, size_t len)
{
	const struct fd_sink *s = ctx;
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(s->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Where the repaired copy goes: FILE.flv for FILE.flv.part (or
 * FILE-repaired.flv when FILE.flv already exists), else the file itself. */
static int target_path(const char *path, char *out, size_t cap)
{
	size_t n = strlen(path);
	int w;
	if (!ends_with(path, PART_SUFFIX)) {
		w = snprintf(out, cap, "%s", path);
	} else {
		w = snprintf(out, cap, "%.*s", (int)(n - 5), path);
		if (w > 0 && (size_t)w < cap && access(out, F_OK) == 0)
			w = snprintf(out, cap, "%.*s-repaired.flv", (int)(n - strlen(PART_SUFFIX)),
				     path);
	}
	return (w < 0 || (size_t)w >= cap) ? -ENAMETOOLONG : 0;
}

/* Write the repaired copy of buf to tmp; fsync it. */
static int write_copy(const char *tmp, const uint8_t *buf, size_t len,
		      struct flv_repair_report *rep)
{
	struct fd_sink s = { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) };
	if (s.fd < 0)
		return -errno;
	struct flv_sink sink = { &s, fd_write, fd_pwrite };
	int rc = flv_repair(buf, len, &sink, NULL, rep);
	if (rc == 0 && fsync(s.fd) < 0)
		rc = -errno;
	if (close(s.fd) < 0 && rc == 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

static int repair_mapped(const char *path, int fd, size_t len, char *err, size_t errlen)
{
	char final[1100], tmp[1120];
	struct flv_repair_report rep;
	int rc = target_path(path, final, sizeof(final));
	if (rc != 0) {
		snprintf(err, errlen, "%s: name too long", path);
		return rc;
	}
	snprintf(tmp, sizeof(tmp), "%s.repair", final);
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(-rc));
		return rc;
	}
	rc = write_copy(tmp, map, len, &rep);
	munmap(map, len);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, flv_strerror(rc));
		return rc;
	}
	if (rename(tmp, final) < 0) {
		rc = -errno;
		unlink(tmp);
		snprintf(err, errlen, "%s: rename: %s", path, strerror(-rc));
		return rc;
	}
	if (strcmp(final, path) != 0)
		unlink(path);
	snprintf(err, errlen,
		 "%s: %llu tags kept, %llu bytes cut at the end, %llu corrupt bytes skipped, "
		 "duration %u ms",
		 final, (unsigned long long)rep.tags, (unsigned long long)rep.truncated_bytes,
		 (unsigned long long)rep.skipped_bytes, rep.duration_ms);
	return 0;
}

int cp_archive_repair_file(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	/* A live segment holds an exclusive lock; never repair under it. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EBUSY ? "being recorded" : strerror(-rc));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < FLV_HEADER_SIZE + FLV_PREV_SIZE_LEN) {
		rc = -FLV_E_EMPTY;
		snprintf(err, errlen, "%s: %s", path,
			 S_ISREG(st.st_mode) ? "too short to hold an FLV header" : "not a file");
		goto out;
	}
	rc = repair_mapped(path, fd, (size_t)st.st_size, err, errlen);
out:
	close(fd);
	return rc;
}

static int dir_entries(const char *path, struct dirent ***out)
{
	int n = scandir(path, out, NULL, alphasort);
	return n < 0 ? -errno : n;
}

static void repair_stream_dir(const char *dir, uint64_t *repaired, uint64_t *failed)
{
	struct dirent **ents;
	char path[1100], err[256];
	int n = dir_entries(dir, &ents);
	for (int i = 0; i < n; i++) {
		if (ends_with(ents[i]->d_name, PART_SUFFIX) &&
		    cp_arch_join(path, sizeof(path), dir, ents[i]->d_name) == 0) {
			int rc = cp_archive_repair_file(path, err, sizeof(err));
			if (rc == 0)
				(*repaired)++;
			else if (rc != -EBUSY)
				(*failed)++;
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

int cp_archive_repair_dir(const char *dir, uint64_t *repaired, uint64_t *failed)
{
	struct dirent **apps, **streams;
	char adir[1024], sdir[1100];
	int na = dir_entries(dir, &apps);
	if (na < 0)
		return na;
	for (int i = 0; i < na; i++) {
		if (apps[i]->d_name[0] == '.' ||
		    cp_arch_join(adir, sizeof(adir), dir, apps[i]->d_name) != 0)
			goto next_app;
		int ns = dir_entries(adir, &streams);
		for (int j = 0; j < ns; j++) {
			if (streams[j]->d_name[0] != '.' &&
			    cp_arch_join(sdir, sizeof(sdir), adir, streams[j]->d_name) == 0) {
				repair_stream_dir(sdir, repaired, failed);
			}
			free(streams[j]);
		}
		if (ns >= 0)
			free(streams);
next_app:
		free(apps[i]);
	}
	free(apps);
	return 0;
}
