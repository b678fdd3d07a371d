/* cp_archive_feed: feed the tags of an FLV file through the archive API, as
 * the session engine would feed a live stream, to make recordings from real
 * media in end-to-end tests.
 *
 *   cp_archive_feed -c CONF -i IN.flv [-a APP] [-s STREAM] [--keyed]
 *                   [--realtime] [--unlink-on-error FILE]
 *   cp_archive_feed --repair FILE
 *   cp_archive_feed --list DIR
 *
 * Feeding prints the archive counters at the end as `stat NAME VALUE` lines.
 * --realtime paces tags by their timestamps; otherwise tags go as fast as the
 * writer takes them (back-pressure on the recording's queue).
 * --unlink-on-error removes FILE when the first write error is counted
 * (an operator freeing space), so a test can watch recording resume.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "controlplane/cp_archive.h"
#include "controlplane/cp_log.h"
#include "flv/flv_reader.h"

#define BACKPRESSURE (4u << 20)

struct feed {
	const char *conf, *in, *app, *stream, *unlink_on_error;
	int keyed, realtime;
	uv_loop_t loop;
	struct cp_archive *a;
	struct cp_rec *rec;
	uint64_t tags;
};

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (b && got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return b;
}

static void print_stats(const struct cp_archive *a)
{
	struct cp_archive_stats s;
	cp_archive_stats(a, &s);
#define P(f) printf("stat %s %llu\n", #f, (unsigned long long)s.f)
	P(recordings); P(segments_opened); P(segments_closed); P(tags_written);
	P(bytes_written); P(write_errors); P(low_space_stops); P(resumes); P(overflows);
	P(msgs_dropped); P(repaired); P(repair_failed);
#undef P
	fflush(stdout);
}

/* Keep the loop turning while waiting: pacing or back-pressure. */
static void pump(struct feed *f, uint64_t due_ms, uint64_t t0)
{
	int unlinked = 0;
	for (;;) {
		struct cp_archive_stats s;
		uv_run(&f->loop, UV_RUN_NOWAIT);
		cp_archive_stats(f->a, &s);
		if (f->unlink_on_error && s.write_errors && !unlinked) {
			unlink(f->unlink_on_error);
			unlinked = 1;
			f->unlink_on_error = NULL;
			fprintf(stderr, "feed: write error seen, space freed\n");
		}
		uv_update_time(&f->loop);
		int late = !f->realtime || uv_now(&f->loop) - t0 >= due_ms;
		if (late && cp_archive_rec_pending(f->rec) < BACKPRESSURE)
			return;
		uv_sleep(2);
	}
}

static int feed_file(struct feed *f)
{
	char err[256];
	size_t len, off = 0;
	struct flv_reader r;
	struct flv_item it;
	uint8_t *buf = slurp(f->in, &len);
	if (!buf)
		return 1;
	uv_loop_init(&f->loop);
	f->a = cp_archive_create(&f->loop, f->conf, err, sizeof(err));
	if (!f->a) {
		fprintf(stderr, "archive: %s\n", err);
		free(buf);
		return 1;
	}
	f->rec = cp_archive_stream_start(f->a, f->app, f->stream, f->keyed);
	if (!f->rec)
		fprintf(stderr, "feed: %s/%s not recorded (policy)\n", f->app, f->stream);
	uv_update_time(&f->loop);
	uint64_t t0 = uv_now(&f->loop);
	flv_reader_init(&r, 0);
	int rc;
	while ((rc = flv_reader_next(&r, buf + off, len - off, &it)) > 0) {
		off += (size_t)rc;
		if (it.kind != FLV_ITEM_TAG)
			continue;
		if (f->rec)
			pump(f, it.tag.timestamp, t0);
		cp_archive_stream_message(f->rec, it.tag.type, it.tag.timestamp, it.tag.data,
					  it.tag.data_size);
		f->tags++;
	}
	if (rc < 0)
		fprintf(stderr, "feed: %s at offset %zu: %s\n", f->in, off, flv_strerror(rc));
	cp_archive_stream_end(f->rec);
	printf("stat fed_tags %llu\n", (unsigned long long)f->tags);
	/* Wait until the last segment is closed (the recording frees itself),
	 * then repair what a failed write left behind, as the next maintenance
	 * pass of the daemon would. */
	struct cp_archive *a = f->a;
	struct cp_archive_stats s;
	for (cp_archive_stats(a, &s); s.active > 0; cp_archive_stats(a, &s))
		uv_run(&f->loop, UV_RUN_ONCE);
	uint64_t fixed = 0, failed = 0;
	cp_archive_repair_dir(cp_archive_dir(a), &fixed, &failed);
	printf("stat final_repaired %llu\nstat final_repair_failed %llu\n",
	       (unsigned long long)fixed, (unsigned long long)failed);
	print_stats(a);
	cp_archive_destroy(a);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_loop_close(&f->loop);
	free(buf);
	return rc < 0 ? 1 : 0;
}

static int print_entry(void *arg, const struct cp_archive_entry *e)
{
	(void)arg;
	printf("%s %s %s %llu %u %d\n", e->app, e->stream, e->path, (unsigned long long)e->size,
	       e->duration_ms, e->partial);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "conf", 1, NULL, 'c' },    { "input", 1, NULL, 'i' },
		{ "app", 1, NULL, 'a' },     { "stream", 1, NULL, 's' },
		{ "keyed", 0, NULL, 'k' },   { "realtime", 0, NULL, 'r' },
		{ "repair", 1, NULL, 'R' },  { "list", 1, NULL, 'L' },
		{ "unlink-on-error", 1, NULL, 'U' }, { NULL, 0, NULL, 0 },
	};
	struct feed f = { .app = "live", .stream = "feed" };
	char err[512];
	int o;
	while ((o = getopt_long(argc, argv, "c:i:a:s:kr", lo, NULL)) != -1) {
		switch (o) {
		case 'c': f.conf = optarg; break;
		case 'i': f.in = optarg; break;
		case 'a': f.app = optarg; break;
		case 's': f.stream = optarg; break;
		case 'k': f.keyed = 1; break;
		case 'r': f.realtime = 1; break;
		case 'U': f.unlink_on_error = optarg; break;
		case 'R': {
			int rc = cp_archive_repair_file(optarg, err, sizeof(err));
			printf("%s\n", err);
			return rc == 0 ? 0 : 1;
		}
		case 'L':
			return cp_archive_list(optarg, NULL, NULL, print_entry, NULL) == 0 ? 0 : 1;
		default:
			fprintf(stderr, "usage: see the comment at the top of cp_archive_feed.c\n");
			return 2;
		}
	}
	if (!f.conf || !f.in) {
		fprintf(stderr, "cp_archive_feed: -c CONF and -i IN.flv are required\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return feed_file(&f);
}
