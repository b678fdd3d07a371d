/* lifecastctl internals: option parsing, socket I/O helpers and the
 * readable-table printers (ctl_cli.c, ctl_print.c). */
#ifndef CTL_CLI_H
#define CTL_CLI_H

#include <jansson.h>
#include <stddef.h>

#include "controlplane/cp_mgmt.h"

#define CTL_DEFAULT_SOCKET CP_MGMT_DEFAULT_SOCKET
#define CTL_TIMEOUT_MS 10000

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAILED = 1, CTL_EXIT_USAGE = 2, CTL_EXIT_UNREACHABLE = 3 };

struct ctl_opts {
	char socket[108];
	int json;
	int help;       /* --help before the command */
	int cmd_help;   /* --help after it */
	int argc;       /* the command and its arguments */
	char **argv;    /* points into main's argv, compacted in place */
};

/* Parse global options anywhere on the line (-s, -c, --json, --help); the
 * rest, in order, is the command. Returns 0 or -EINVAL (message printed). */
int ctl_parse_global(int argc, char **argv, struct ctl_opts *o);

/* Write everything or return -errno. */
int ctl_write_all(int fd, const char *p, size_t n);

/* Read up to the first '\n' within timeout_ms overall and max bytes.
 * *out is malloc'ed (NUL-terminated, newline excluded). Returns 0, or
 * -ETIMEDOUT, -EMSGSIZE, -ECONNRESET (closed before a newline), -errno. */
int ctl_read_line(int fd, char **out, size_t *len, size_t max, int timeout_ms);

/* Printers: JSON (indented) and one readable form per command. */
void ctl_print_json(json_t *v);
void ctl_print_message(json_t *res);
void ctl_print_status(json_t *res);
void ctl_print_streams(json_t *res);
void ctl_print_sessions(json_t *res);
void ctl_print_keys(json_t *res);
void ctl_print_archive(json_t *res);
void ctl_print_stats(json_t *res);
void ctl_print_reload(json_t *res);

#endif
