/* Internals shared by the chat files (not a public header). */
#ifndef CP_CHAT_INT_H
#define CP_CHAT_INT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "controlplane/chat/cp_chat.h"
#include "controlplane/chat/cp_chat_flood.h"
#include "controlplane/chat/cp_chat_mod.h"
#include "controlplane/chat/cp_irc_parse.h"
#include "controlplane/cp_config.h"

#define CHAT_NICKLEN   30
#define CHAT_USERLEN   16
#define CHAT_REALLEN   100
#define CHAT_HOSTLEN   63
#define CHAT_CHANLEN   50
#define CHAT_TOPICLEN  300
#define CHAT_AWAYLEN   200
#define CHAT_KEYLEN    32
#define CHAT_PASSLEN   128
#define CHAT_MASKLEN   (CHAT_NICKLEN + CHAT_USERLEN + CHAT_HOSTLEN + 2)
#define CHAT_BANS_MAX  100
#define CHAT_INVITES_MAX 32
#define CHAT_RECENT    256   /* msgids remembered per channel for CLEARMSG */
#define CHAT_HELD_MAX  64    /* messages held for review per channel */
#define CHAT_MSGIDLEN  24
#define CHAT_HASH      4096  /* buckets of the nick/channel/ip tables */
#define CHAT_RBUF      65536

/* IRCv3 capabilities a client enabled. */
enum {
	CHAT_CAP_TAGS = 1u << 0,   /* message-tags (msgid, client tags) */
	CHAT_CAP_TIME = 1u << 1,   /* server-time */
	CHAT_CAP_MULTI = 1u << 2,  /* multi-prefix */
	CHAT_CAP_ECHO = 1u << 3,   /* echo-message */
};

struct chat_conf {
	struct cp_conf_addr listen;
	char rules[CP_CONF_STR_MAX];
	char record_dir[CP_CONF_STR_MAX];
	char record_app[CP_CONF_STR_MAX];
	char server_name[CP_CONF_STR_MAX];
	char motd[CP_CONF_STR_MAX];
	int open_channels;
	int record;
	uint64_t max_clients, max_per_ip, max_channels, sendq, sndbuf;
	uint64_t flood_burst, flood_rate;
	uint64_t reg_timeout_ms, ping_interval_ms, ping_timeout_ms, rule_timeout_ms;
	struct cp_conf_addr http_listen;
	int http_enabled;
	uint64_t http_request_timeout_ms;
};

struct chat_buf {
	char *p;
	size_t len, cap;
};

struct chat_member;

struct chat_client {
	struct cp_chat *chat;
	uv_tcp_t *tcp;                  /* owned; tcp->data == this */
	struct cp_chat_ws *ws;          /* non-NULL: IRC over WebSocket */
	struct chat_client *prev, *next; /* all clients */
	struct chat_client *hnext;      /* nick table chain (registered only) */
	struct chat_ipent *ipent;
	uint64_t id;
	char ip[48];
	char nick[CHAT_NICKLEN + 1];
	char user[CHAT_USERLEN + 1];
	char real[CHAT_REALLEN + 1];
	char pass[CHAT_PASSLEN + 1];
	char away[CHAT_AWAYLEN + 1];
	unsigned caps;
	unsigned registered : 1, cap_pending : 1, got_user : 1, closing : 1, dirty : 1,
		writing : 1, discarding : 1, invisible : 1, has_pass : 1, doomed : 1;
	char *in;                       /* partial line carried between reads */
	size_t inlen;
	struct chat_buf pend, infl;     /* queued output / output being written */
	uv_write_t wreq;
	uint64_t created_ms, last_rx_ms, ping_sent_ms, signon_s;
	uint64_t seen_gen;              /* de-duplicates QUIT/NICK fan-out */
	struct cp_chat_bucket flood;
	struct chat_member *chans;      /* memberships, linked by cnext */
	size_t nchans;
};

struct chat_member {
	struct chat_client *c;
	struct chat_channel *ch;
	struct chat_member *cnext;
	size_t idx;                     /* slot in ch->members */
	unsigned op : 1, voice : 1, broadcaster : 1;
	uint64_t joined_ms, last_msg_ms;
};

struct chat_ban {
	char mask[CHAT_MASKLEN + 1];
	char setter[CHAT_NICKLEN + 1];
	uint64_t set_s, expires_s;      /* expires_s 0: permanent; else a timeout */
};

struct chat_held {
	char msgid[CHAT_MSGIDLEN];
	char prefix[CHAT_MASKLEN + 1];
	char text[CP_IRC_LINE_MAX];
	int used;
};

struct chat_recent {
	char msgid[CHAT_MSGIDLEN];
	char nick[CHAT_NICKLEN + 1];
};

struct chat_channel {
	struct chat_channel *hnext, *prev, *next;
	char name[CHAT_CHANLEN + 1];
	char app[64];
	char title[CHAT_TOPICLEN + 1];
	char topic_by[CHAT_NICKLEN + 1];
	uint64_t topic_s, created_s;
	char key[CHAT_KEYLEN + 1];
	char token[CHAT_PASSLEN + 1];   /* broadcaster's chat token, "" = none */
	int stream, live;               /* stream channel (configured/live seen) */
	unsigned flags;                 /* CHAT_CM_* */
	uint32_t limit, slow_s, follow_s;
	struct chat_member **members;
	size_t nmembers, cap;
	struct chat_ban bans[CHAT_BANS_MAX];
	size_t nbans;
	uint64_t invites[CHAT_INVITES_MAX]; /* client ids */
	size_t ninvites;
	struct chat_recent recent[CHAT_RECENT];
	size_t recent_pos;
	struct chat_held held[CHAT_HELD_MAX];
	size_t held_pos;
	FILE *log;                      /* current .chat.jsonl segment */
	int log_failed;                 /* open failed: do not retry per message */
};

enum {
	CHAT_CM_INVITE = 1u << 0,    /* i */
	CHAT_CM_MODERATED = 1u << 1, /* m */
	CHAT_CM_NOEXT = 1u << 2,     /* n */
	CHAT_CM_TOPIC = 1u << 3,     /* t */
	CHAT_CM_SUBS = 1u << 4,      /* U */
};

struct chat_ipent {
	struct chat_ipent *next;
	char ip[48];
	uint32_t count;
};

struct cp_chat {
	uv_loop_t *loop;
	char conf_path[CP_CONF_STR_MAX];
	struct chat_conf conf;
	uv_tcp_t listener;
	uv_timer_t tick;
	uv_check_t flusher;
	uv_signal_t sigusr1;
	uv_work_t reload_req;
	int reload_busy, stopping, open_handles;
	struct cp_chat_rules *rules;     /* active database, loop thread only */
	struct cp_chat_rules *next_rules; /* set by the worker */
	int reload_rc;
	char reload_err[512];
	struct cp_chat_scanner scanner;  /* the loop thread's scratch */
	struct cp_http *http;
	struct chat_client *clients;
	size_t nclients;
	uint64_t next_id, gen, msg_seq, start_s;
	struct chat_client *nicks[CHAT_HASH];
	struct chat_channel *chans[CHAT_HASH];
	struct chat_channel *chan_list;
	size_t nchannels;
	struct chat_ipent *ips[CHAT_HASH];
	struct chat_client **dirty;
	size_t ndirty, dirty_cap;
	char rbuf[CHAT_RBUF];
	/* counters */
	uint64_t n_msgs, n_deliveries, n_blocked, n_masked, n_held, n_timeouts,
		n_flood_kills, n_sendq_kills;
};

/* ---- time ---- */
uint64_t cp_chat_now_ms(const struct cp_chat *chat);
uint64_t cp_chat_wall_s(void);
/* "2026-11-21T10:43:00.123Z" into out (>= 32 bytes). */
void cp_chat_iso_time(char *out, size_t cap);

/* ---- names ---- */
/* Copy src into dst[cap], always NUL-terminated, cut when too long. */
void cp_chat_strlcpy(char *dst, const char *src, size_t cap);
unsigned cp_chat_hash(const char *s);
int cp_chat_casecmp(const char *a, const char *b);
void cp_chat_lower(char *dst, const char *src, size_t cap);
/* Glob match (* and ?), ASCII case-insensitive. */
int cp_chat_glob(const char *pat, const char *s);

/* ---- clients (cp_chat.c) ---- */
/* Append one complete IRC line (must end in "\r\n") to the client's output.
 * Over the send-queue limit the client is disconnected. */
void cp_chat_send_raw(struct chat_client *c, const char *line, size_t len);
/* Server numeric/line: ":server <fmt>\r\n" where fmt starts with the
 * command, e.g. cp_chat_reply(c, "001 %s :Welcome", nick). */
void cp_chat_reply(struct chat_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Numeric with the client's nick ("*" before registration) as target. */
void cp_chat_num(struct chat_client *c, const char *num, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Close with "ERROR :reason"; peers see QUIT :quitmsg. Idempotent. */
void cp_chat_client_quit(struct chat_client *c, const char *quitmsg, const char *reason);
struct chat_client *cp_chat_find_nick(struct cp_chat *chat, const char *nick);
void cp_chat_nick_set(struct chat_client *c, const char *nick);
/* "nick!user@host" */
void cp_chat_client_mask(const struct chat_client *c, char *out, size_t cap);
/* Host shown to others: the IP, ':' in v6 made safe for IRC. */
const char *cp_chat_client_host(const struct chat_client *c);

/* Message relayed with tags: body is ":prefix CMD ... \r\n". Tags are
 * composed per recipient from its caps; msgid may be NULL. */
struct chat_relay {
	const char *body;
	size_t blen;
	const char *time;   /* ISO time */
	const char *msgid;  /* NULL: none */
	const char *ctags;  /* extra escaped tags "k=v;..." for message-tags
			       clients (already without leading '@'), may be NULL */
};
void cp_chat_send_relay(struct chat_client *c, const struct chat_relay *r);
/* Build a relay body with printf; returns its length (truncated to fit
 * 512 with CRLF). */
size_t cp_chat_fmt_body(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cp_chat_new_msgid(struct cp_chat *chat, char *out, size_t cap);

/* ---- commands (cp_irc_cmd.c) ---- */
void cp_chat_dispatch(struct chat_client *c, const struct cp_irc_msg *m);
/* Called on QUIT/close: QUIT fan-out to each peer once. */
void cp_chat_quit_fanout(struct chat_client *c, const char *quitmsg);

/* ---- channels (cp_irc_chan.c) ---- */
struct chat_channel *cp_chat_chan_find(struct cp_chat *chat, const char *name);
struct chat_channel *cp_chat_chan_create(struct cp_chat *chat, const char *name);
void cp_chat_chan_maybe_free(struct cp_chat *chat, struct chat_channel *ch);
void cp_chat_chan_free_all(struct cp_chat *chat);
void cp_chat_chan_part_all(struct chat_client *c);
void cp_chat_chan_topic_changed(struct cp_chat *chat, struct chat_channel *ch, const char *by);
void cp_chat_chan_expire(struct cp_chat *chat, struct chat_channel *ch, uint64_t now_s);
void cp_chat_chan_send(struct chat_channel *ch, struct chat_client *except,
		       const struct chat_relay *r);
struct chat_member *cp_chat_member_of(struct chat_client *c, struct chat_channel *ch);
/* "+ntS 5" style mode string of a channel. */
void cp_chat_chan_modestr(const struct chat_channel *ch, char *out, size_t cap);
void cp_chat_topic_display(const struct chat_channel *ch, char *out, size_t cap);
void cp_chat_names(struct chat_client *c, struct chat_channel *ch);

void cp_irc_cmd_join(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_part(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_kick(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_topic(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_names(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_chanmode(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_invite(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_timeout(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_clearmsg(struct chat_client *c, const struct cp_irc_msg *m);
void cp_irc_cmd_approve(struct chat_client *c, const struct cp_irc_msg *m);
/* PRIVMSG/NOTICE to a channel; notice suppresses error replies. */
void cp_irc_chan_message(struct chat_client *c, const char *cmd, const char *target,
			 const char *text, size_t tlen, int notice);

/* ---- recorder (cp_chat_log.c) ---- */
/* Append one record to the channel's segment (opened on first use). */
void cp_chat_log_record(struct cp_chat *chat, struct chat_channel *ch, const char *nick,
			const char *msgid, const char *text, const char *action,
			unsigned rule_line);
/* Close the current segment; the next record starts a new file. */
void cp_chat_log_rotate(struct chat_channel *ch);

/* ---- WebSocket (cp_ws.c) ---- */
struct cp_chat_ws;
int cp_chat_ws_attach(struct cp_chat *chat, struct cp_http *http);
/* Queue one IRC line (without CRLF) as a text frame. Returns 0 or -errno. */
int cp_chat_ws_queue(struct chat_client *c, const char *line, size_t len);
/* Run the wslay sender: frames go into c->pend. */
void cp_chat_ws_flush(struct chat_client *c);
void cp_chat_ws_free(struct cp_chat_ws *ws);
/* Admit a detached HTTP socket as a chat client (limits apply); NULL when
 * refused (the caller closes the socket). */
struct chat_client *cp_chat_ws_accept(struct cp_chat *chat, uv_tcp_t *tcp);
size_t cp_chat_ws_queued(const struct chat_client *c);

/* ---- client plumbing shared with the WebSocket path (cp_chat.c) ---- */
struct chat_client *cp_chat_client_new(struct cp_chat *chat, uv_tcp_t *tcp, const char *ip);
/* Feed received IRC bytes (plain stream, or one WebSocket text message). */
void cp_chat_client_input(struct chat_client *c, const char *data, size_t len);
void cp_chat_mark_dirty(struct chat_client *c);
int cp_chat_buf_append(struct chat_buf *b, const char *p, size_t n, size_t max);

#endif
