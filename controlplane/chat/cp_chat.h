/* Chat service of lifecast-cp: an IRC server with one channel per stream,
 * IRC over WebSocket on the HTTP port, Hyperscan moderation and a .chat.jsonl
 * recorder next to the video archive.
 *
 * Everything runs on the control plane's libuv loop; only the Hyperscan rule
 * compile runs on the libuv thread pool. All functions below must be called
 * from the loop thread.
 *
 * Configuration (lifecast.conf):
 *   [chat]        listen, rules, open_channels, limits, record_dir ... (see
 *                 cp_chat.c key table and the example lifecast.conf)
 *   [http]        listen: the control plane's HTTP port; chat registers /chat
 *                 there for IRC over WebSocket (text frames, one IRC line each)
 *   [keys]        channel = stream-key secret: every entry gets #channel
 *   [chat_tokens] channel = token: the broadcaster's chat token. Without an
 *                 entry, the channel's chat token is its stream-key secret.
 *                 A client that sent `PASS <token>` before registering gets
 *                 channel operator (+o) when it joins that channel.
 */
#ifndef CP_CHAT_H
#define CP_CHAT_H

#include <uv.h>

struct cp_chat;
struct cp_http;

/* Command-line overrides; a NULL member keeps the configured value. */
struct cp_chat_overrides {
	const char *listen; /* "host:port" for the IRC listener (--chat-listen) */
	const char *rules;  /* moderation rule file (--chat-rules) */
};

/* Load [chat]/[http]/[keys]/[chat_tokens] from conf_path (NULL: defaults),
 * apply ov (may be NULL), start listening and schedule the first rule compile
 * on the thread pool ("chat: rules loaded: N rules" is logged when it is
 * active). Until then, or when that first compile fails (logged with the
 * file's line), messages are not filtered; on a later reload a failure keeps
 * the old rules. Transcripts go to [chat] record_dir (stands in for
 * [archive] dir until chat reads it).
 * Returns the service, owned by the caller until cp_chat_stop(); NULL with
 * errno set on failure (EINVAL bad config, EADDRINUSE, ...), details logged. */
struct cp_chat *cp_chat_start(uv_loop_t *loop, const char *conf_path,
			      const struct cp_chat_overrides *ov);

/* Disconnect every client, close listeners and files, free everything once the
 * loop has run the close callbacks. chat may be NULL. After the call chat is
 * invalid; the loop must keep running until its handles are closed. */
void cp_chat_stop(struct cp_chat *chat);

/* A stream went live (live=1) or offline (live=0): #stream is created if it
 * does not exist, its topic shows the live state, and the recorder starts a
 * new ARCHIVE_DIR/app/stream/<stamp>.chat.jsonl segment when it goes live. */
void cp_chat_stream_live(struct cp_chat *chat, const char *app, const char *stream, int live);

/* Re-read and recompile the rule file off the loop; the new database replaces
 * the old one atomically (on the loop thread) when it compiled. A bad pattern
 * is logged with its line and the old database stays active.
 * Returns 0 when the reload was scheduled, -EBUSY if one is running, -errno. */
int cp_chat_rules_reload(struct cp_chat *chat);

/* The HTTP server chat started on [http] listen, so other modules can add
 * routes (cp_http_route); NULL when [http] enabled = no. */
struct cp_http *cp_chat_http(struct cp_chat *chat);

#endif
