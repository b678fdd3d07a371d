/* flv_rewrite: read an FLV with flv_reader (in chunks) and write it again
 * with flv_writer, or, with --repair, rebuild a truncated/corrupted FLV with
 * flv_repair. Prints one summary line of key=value pairs on stdout.
 *
 *   flv_rewrite [--keyframes N] [--rebase] IN OUT
 *   flv_rewrite --repair [--keyframes N] IN OUT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flv/flv_reader.h"
#include "flv/flv_writer.h"

#define CHUNK (64 * 1024)

static int fd_write(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_pwrite(void *ctx, uint64_t off, const void *buf, size_t len)
{
	int fd = *(int *)ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Feed parsed items to the writer; returns 0 or an error. */
static int rewrite_items(struct flv_reader *r, const uint8_t *buf, size_t len, size_t *used,
			 struct flv_writer *w)
{
	struct flv_item it;
	size_t pos = 0;
	int rc;

	while ((rc = flv_reader_next(r, buf + pos, len - pos, &it)) > 0) {
		pos += (size_t)rc;
		if (it.kind != FLV_ITEM_TAG)
			continue;
		rc = flv_writer_write_tag(w, it.tag.type, it.tag.timestamp, it.tag.data,
					  it.tag.data_size);
		if (rc != 0 && rc != -FLV_E_AMF)
			return rc;
	}
	*used = pos;
	return rc;
}

static int do_rewrite(int in, const struct flv_sink *sink, const struct flv_writer_opts *o)
{
	struct flv_reader r;
	struct flv_writer_stats st;
	size_t cap = CHUNK, len = 0, used = 0;
	uint8_t *buf = malloc(cap);
	int rc = -ENOMEM, eof = 0;
	struct flv_writer *w = flv_writer_open(sink, o);

	if (!buf || !w)
		goto out;
	flv_reader_init(&r, 0);
	while (!eof) {
		if (len == cap) { /* one tag bigger than the buffer: grow, bounded by the format */
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb)
				goto out;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(in, buf + len, cap - len);
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		eof = n == 0;
		len += (size_t)n;
		rc = rewrite_items(&r, buf, len, &used, w);
		if (rc < 0)
			goto out;
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	rc = flv_writer_close(w);
	flv_writer_get_stats(w, &st);
	printf("mode=rewrite tags=%" PRIu64 " video=%" PRIu64 " audio=%" PRIu64
	       " keyframes=%" PRIu64 " indexed=%u stride=%u duration_ms=%u bytes=%" PRIu64
	       " leftover=%zu merged=%u\n",
	       st.tags, st.video_tags, st.audio_tags, st.keyframes, st.indexed, st.index_stride,
	       st.duration_ms, st.bytes, len, st.merged_props);
out:
	if (rc < 0)
		fprintf(stderr, "flv_rewrite: %s\n", flv_strerror(rc));
	flv_writer_free(w);
	free(buf);
	return rc;
}

static int do_repair(int in, const struct flv_sink *sink, const struct flv_writer_opts *o)
{
	struct stat sb;
	struct flv_repair_report rep;
	uint8_t *buf = NULL;
	int rc;

	if (fstat(in, &sb) != 0)
		return -errno;
	size_t len = (size_t)sb.st_size;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(in, buf + got, len - got);
		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		got += (size_t)n;
	}
	rc = flv_repair(buf, len, sink, o, &rep);
	printf("mode=repair input=%" PRIu64 " valid_end=%" PRIu64 " truncated=%" PRIu64
	       " skipped=%" PRIu64 " resyncs=%u tags=%" PRIu64 " keyframes=%" PRIu64
	       " duration_ms=%u output=%" PRIu64 " first_error=%s\n",
	       rep.input_len, rep.valid_end, rep.truncated_bytes, rep.skipped_bytes, rep.resyncs,
	       rep.tags, rep.keyframes, rep.duration_ms, rep.output_len,
	       rep.first_error ? flv_strerror(rep.first_error) : "none");
	if (rc < 0)
		fprintf(stderr, "flv_rewrite: repair: %s\n", flv_strerror(rc));
	free(buf);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: flv_rewrite [--repair] [--rebase] [--keyframes N] IN OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct flv_writer_opts o = { 0 };
	int repair = 0, i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--repair") == 0) {
			repair = 1;
		} else if (strcmp(argv[i], "--rebase") == 0) {
			o.rebase = 1;
		} else if (strcmp(argv[i], "--keyframes") == 0 && i + 1 < argc) {
			char *end;
			unsigned long v = strtoul(argv[++i], &end, 10);
			if (*end || v == 0 || v > FLV_WRITER_KEYFRAMES_MAX)
				return usage();
			o.keyframe_capacity = (uint32_t)v;
		} else {
			return usage();
		}
	}
	if (argc - i != 2)
		return usage();
	int in = open(argv[i], O_RDONLY);
	if (in < 0) {
		perror(argv[i]);
		return 1;
	}
	int out = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		perror(argv[i + 1]);
		close(in);
		return 1;
	}
	struct flv_sink sink = { .ctx = &out, .write = fd_write, .pwrite = fd_pwrite };
	int rc = repair ? do_repair(in, &sink, o.keyframe_capacity ? &o : NULL)
			: do_rewrite(in, &sink, &o);
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = -errno;
	return rc == 0 ? 0 : 1;
}
