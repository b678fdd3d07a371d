/* One line per event on stderr:
 *   2026-11-21T10:43:00.123Z info  sess=12 stream=live/foo publish accepted
 * Level names are fixed-width so logs line up; ids come first so grep works.
 * The level threshold is process-wide and set once at start-up (-v = debug).
 */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <stdarg.h>

enum cp_log_level { CP_LOG_DEBUG = 0, CP_LOG_INFO, CP_LOG_WARN, CP_LOG_ERR };

/* Set the threshold; messages below it are dropped. Not thread-safe: call
 * before starting threads. */
void cp_log_set_level(enum cp_log_level lvl);
enum cp_log_level cp_log_get_level(void);

/* Write one line; a trailing newline in fmt is not needed. Thread-safe
 * (one write(2) per line). */
void cp_log(enum cp_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cp_logv(enum cp_log_level lvl, const char *fmt, va_list ap);

#define cp_debug(...) cp_log(CP_LOG_DEBUG, __VA_ARGS__)
#define cp_info(...)  cp_log(CP_LOG_INFO, __VA_ARGS__)
#define cp_warn(...)  cp_log(CP_LOG_WARN, __VA_ARGS__)
#define cp_err(...)   cp_log(CP_LOG_ERR, __VA_ARGS__)

#endif
