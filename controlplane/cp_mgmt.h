/* Management interface of lifecast-cp: the Unix socket lifecastctl talks to.
 *
 * Protocol: a stream socket; each request is one JSON object on one line
 * ({"cmd":"streams", ...arguments}), each answer one JSON object on one line:
 *   {"ok":true,"result":...}  or  {"ok":false,"error":"text","errno":"ENOENT"}
 * Requests are answered in order; a client may send several. Lines longer
 * than CP_MGMT_LINE_MAX close the connection after an error answer.
 *
 * Commands (arguments in brackets):
 *   status, streams, sessions [stream "APP/NAME"], kick [session N],
 *   stream_stop [stream], keys_list, keys_add [channel, secret],
 *   keys_revoke [channel], archive_list [app, stream], archive_repair [file],
 *   stats, drain [on: bool], reload, chat_rules_reload, help
 *
 * Everything runs on the control plane's libuv loop; every function below is
 * loop-thread only. The module borrows the engine, configuration and key
 * table of lifecast-cp (they must outlive it) and changes the last two on
 * `keys_*` and `reload`.
 */
#ifndef CP_MGMT_H
#define CP_MGMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "controlplane/cp_rtmp_conf.h"
#include "controlplane/cp_server.h"
#include "controlplane/cp_session.h"

#define CP_MGMT_LINE_MAX 65536
#define CP_MGMT_DEFAULT_SOCKET "/run/lifecast/cp-mgmt.sock"
#define CP_MGMT_VERSION "0.1.0"

struct cp_mgmt;
struct cp_archive;
struct cp_http;
struct cp_dpipc;

/* What the management interface acts on. Pointers are borrowed. */
struct cp_mgmt_env {
	uv_loop_t *loop;
	const char *conf_path;       /* NULL: built-in defaults; keys are then not persisted */
	struct cp_engine *eng;
	struct cp_rtmp_conf *conf;   /* the configuration eng->conf points to */
	struct cp_keytab *keys;      /* the table eng->keys points to */
	struct cp_server *srv;       /* kernel-socket transport, NULL when none */
	const char *mode;            /* "kernel" or "dataplane" */
	struct cp_dpipc *dp;         /* dataplane transport, NULL when none */
};

/* Counters of the management interface itself (also exported as metrics). */
struct cp_mgmt_stats {
	uint64_t requests, errors, kicks, stream_stops, keys_changes, reloads;
	uint64_t key_cuts; /* publishers cut because their key was revoked/replaced */
};

/* Create the interface over env (copied; the pointers in it are borrowed)
 * without listening yet. Reads [control] and [dataplane] stats_socket from
 * env->conf_path. Returns NULL with errno (ENOMEM, EINVAL with a message in
 * err for a bad [control] section). */
struct cp_mgmt *cp_mgmt_create(const struct cp_mgmt_env *env, char *err, size_t errlen);

/* Listen on the Unix socket `path` (NULL: [control] socket). A stale socket
 * file is replaced; the directory is created when missing. Starts the 1 s
 * sampler that measures bitrates and dataplane rates. Returns 0 or -errno
 * (logged). */
int cp_mgmt_listen(struct cp_mgmt *m, const char *path);

/* Optional providers, set after create. The archive (NULL: none) gives
 * archive counters, the recording file of a stream (cp_stream.user holds
 * its struct cp_rec) and the archive root. chat_reload, when set, is called
 * for chat_rules_reload with ctx. */
void cp_mgmt_set_archive(struct cp_mgmt *m, struct cp_archive *a);
void cp_mgmt_set_chat(struct cp_mgmt *m, int (*chat_reload)(void *ctx), void *ctx);

/* Serve /metrics on http (the chat's HTTP server). With http NULL, when
 * the file sets [http] listen explicitly and enabled is not off, a server
 * of the management interface's own is started there (chat not running).
 * Returns 0 or -errno. */
int cp_mgmt_metrics_start(struct cp_mgmt *m, struct cp_http *http);

/* All of the above in one call, as lifecast-cp uses it: create, set the
 * providers (archive, http, chat_reload may be NULL), listen on sock (NULL:
 * [control] socket) and serve /metrics. Failures are logged; a /metrics
 * failure is only a warning. Returns the interface or NULL. */
struct cp_mgmt *cp_mgmt_launch(const struct cp_mgmt_env *env, const char *sock,
			       struct cp_archive *archive, struct cp_http *http,
			       int (*chat_reload)(void *ctx), void *chat_ctx);

/* Close the socket (the file is removed), the clients, the timer and an
 * own HTTP server; m frees itself once the loop has run the close
 * callbacks. NULL: no-op. */
void cp_mgmt_stop(struct cp_mgmt *m);

/* Answer one request line (without its newline). *out receives a
 * malloc'ed JSON text (no newline) the caller frees. Returns 0, or -ENOMEM
 * (*out NULL). Bad requests are answers with ok=false, not errors. */
int cp_mgmt_handle(struct cp_mgmt *m, const char *line, size_t len, char **out);

/* Framing: find one request line in buf[0..len). Returns the bytes to
 * consume (line + '\n') with *line_len set (trailing '\r' dropped), 0 when
 * more input is needed, or -EMSGSIZE when max bytes hold no newline. */
ssize_t cp_mgmt_frame(const char *buf, size_t len, size_t max, size_t *line_len);

/* Copy the interface's own counters. */
void cp_mgmt_get_stats(const struct cp_mgmt *m, struct cp_mgmt_stats *out);

/* ---- [keys] persistence (cp_mgmt_keys.c) ---- */

/* Rewrite the [keys] section of the file `path`: set channel = secret
 * (secret NULL: remove the channel's line). Everything else (comments,
 * blank lines, other sections, other keys, line order) is kept byte for
 * byte; a new key goes after the section's last key line, and a missing
 * [keys] section is appended. The new content is written to a temporary
 * file in the same directory, fsync'ed and renamed over path, so readers
 * see the old or the new file, never a mix. Returns 0, -ENOENT (removing a
 * channel that has no line), -EINVAL (channel or secret empty, with '=',
 * '#', ';', '[', newlines or surrounding blanks), or -errno of the I/O. */
int cp_mgmt_keys_rewrite(const char *path, const char *channel, const char *secret);

#endif
