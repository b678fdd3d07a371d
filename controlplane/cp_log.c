#include "controlplane/cp_log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The one process-wide setting of the control plane: read by every thread,
 * written once at start-up. */
static _Atomic int log_threshold = CP_LOG_INFO;

static const char *const level_names[] = { "debug", "info ", "warn ", "error" };

void cp_log_set_level(enum cp_log_level lvl)
{
	atomic_store(&log_threshold, (int)lvl);
}

enum cp_log_level cp_log_get_level(void)
{
	return (enum cp_log_level)atomic_load(&log_threshold);
}

void cp_logv(enum cp_log_level lvl, const char *fmt, va_list ap)
{
	if ((int)lvl < atomic_load(&log_threshold) || lvl > CP_LOG_ERR)
		return;
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl]);
	if (n < 0)
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated: still one line */
	line[len++] = '\n';
	/* One write per line so lines from threads never interleave. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void cp_log(enum cp_log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cp_logv(lvl, fmt, ap);
	va_end(ap);
}
