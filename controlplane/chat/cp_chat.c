/* Chat service lifecycle: configuration, listener, clients and their
 * buffers, timers, rule reloads. Commands live in cp_irc_cmd.c, channels in
 * cp_irc_chan.c, WebSocket in cp_ws.c, the recorder in cp_chat_log.c. */
#include "controlplane/chat/cp_chat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/cp_http.h"
#include "controlplane/cp_log.h"

#define F(x) offsetof(struct chat_conf, x)
static const struct cp_conf_key chat_keys[] = {
	{ "chat", "listen", CP_CONF_ADDR, F(listen), ":6667", 0, 0, 0,
	  "IRC listener (host:port)" },
	{ "chat", "rules", CP_CONF_STR, F(rules), "", 0, 0, 1,
	  "moderation rule file (/pattern/flags action per line), empty = none" },
	{ "chat", "record", CP_CONF_BOOL, F(record), "yes", 0, 0, 1,
	  "record chat as .chat.jsonl next to the archive" },
	{ "chat", "record_dir", CP_CONF_STR, F(record_dir), "/var/lib/lifecast/archive", 0, 0, 1,
	  "archive root: DIR/APP/STREAM/<stamp>.chat.jsonl (until [archive] dir exists)" },
	{ "chat", "record_app", CP_CONF_STR, F(record_app), "live", 0, 0, 1,
	  "application name used for configured channels that were never live" },
	{ "chat", "server_name", CP_CONF_STR, F(server_name), "lifecast.chat", 0, 0, 0,
	  "server name in replies" },
	{ "chat", "motd", CP_CONF_STR, F(motd), "", 0, 0, 1,
	  "message of the day ('|' separates lines), empty = none" },
	{ "chat", "open_channels", CP_CONF_BOOL, F(open_channels), "no", 0, 0, 1,
	  "let JOIN create channels that are not streams" },
	{ "chat", "max_clients", CP_CONF_UINT, F(max_clients), "20000", 1, 1000000, 1,
	  "connected clients, all transports" },
	{ "chat", "max_per_ip", CP_CONF_UINT, F(max_per_ip), "20", 1, 1000000, 1,
	  "connections per source address" },
	{ "chat", "max_channels", CP_CONF_UINT, F(max_channels), "20", 1, 1000, 1,
	  "channels per client" },
	{ "chat", "sendq", CP_CONF_SIZE, F(sendq), "256k", 4096, 64ull << 20, 1,
	  "unsent output per client before it is disconnected" },
	{ "chat", "sndbuf", CP_CONF_SIZE, F(sndbuf), "0", 0, 64ull << 20, 1,
	  "SO_SNDBUF of client sockets, 0 = kernel autotuning (bounds kernel memory per client)" },
	{ "chat", "flood_burst", CP_CONF_UINT, F(flood_burst), "20", 0, 100000, 1,
	  "lines a client may send at once (0 = no flood control)" },
	{ "chat", "flood_rate", CP_CONF_UINT, F(flood_rate), "4", 1, 100000, 1,
	  "lines per second refilled into the flood bucket" },
	{ "chat", "reg_timeout", CP_CONF_DURATION, F(reg_timeout_ms), "30s", 1000, 0, 1,
	  "time to complete NICK/USER registration" },
	{ "chat", "ping_interval", CP_CONF_DURATION, F(ping_interval_ms), "90s", 1000, 0, 1,
	  "idle time before the server sends PING" },
	{ "chat", "ping_timeout", CP_CONF_DURATION, F(ping_timeout_ms), "60s", 1000, 0, 1,
	  "time to answer a PING" },
	{ "chat", "rule_timeout", CP_CONF_DURATION, F(rule_timeout_ms), "10m", 1000, 0, 1,
	  "mute time of timeout-user rules without their own" },
	{ "http", "listen", CP_CONF_ADDR, F(http_listen), ":8080", 0, 0, 0,
	  "control-plane HTTP port (/chat WebSocket, /metrics)" },
	{ "http", "enabled", CP_CONF_BOOL, F(http_enabled), "yes", 0, 0, 0,
	  "serve the HTTP port at all" },
	{ "http", "request_timeout", CP_CONF_DURATION, F(http_request_timeout_ms), "10s", 100,
	  3600000, 0, "time a client has to send its request (and take the answer)" },
};
#undef F
#define NCHAT_KEYS (sizeof(chat_keys) / sizeof(chat_keys[0]))

/* ---------------------------------------------------------------- helpers */

uint64_t cp_chat_now_ms(const struct cp_chat *chat)
{
	return uv_now(chat->loop);
}

uint64_t cp_chat_wall_s(void)
{
	return (uint64_t)time(NULL);
}

void cp_chat_iso_time(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000);
}

void cp_chat_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static char lc(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

unsigned cp_chat_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)lc(*s)) * 16777619u;
	return h % CHAT_HASH;
}

int cp_chat_casecmp(const char *a, const char *b)
{
	for (; *a && lc(*a) == lc(*b); a++, b++)
		;
	return (unsigned char)lc(*a) - (unsigned char)lc(*b);
}

void cp_chat_lower(char *dst, const char *src, size_t cap)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = lc(src[i]);
	dst[i] = '\0';
}

int cp_chat_glob(const char *p, const char *s)
{
	const char *star = NULL, *mark = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			mark = s;
		} else if (*p == '?' || (*p && lc(*p) == lc(*s))) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int cp_chat_buf_append(struct chat_buf *b, const char *p, size_t n, size_t max)
{
	if (b->len + n > max)
		return -ENOBUFS;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 2048;
		while (cap < b->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		char *q = realloc(b->p, cap);
		if (!q)
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* ------------------------------------------------------------ nick table */

struct chat_client *cp_chat_find_nick(struct cp_chat *chat, const char *nick)
{
	for (struct chat_client *c = chat->nicks[cp_chat_hash(nick)]; c; c = c->hnext)
		if (cp_chat_casecmp(c->nick, nick) == 0)
			return c;
	return NULL;
}

static void nick_unlink(struct chat_client *c)
{
	struct chat_client **pp = &c->chat->nicks[cp_chat_hash(c->nick)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			c->hnext = NULL;
			return;
		}
}

/* Set the nick; registered clients move in the table. */
void cp_chat_nick_set(struct chat_client *c, const char *nick)
{
	if (c->registered)
		nick_unlink(c);
	cp_chat_strlcpy(c->nick, nick, sizeof(c->nick));
	if (c->registered) {
		unsigned h = cp_chat_hash(c->nick);
		c->hnext = c->chat->nicks[h];
		c->chat->nicks[h] = c;
	}
}

const char *cp_chat_client_host(const struct chat_client *c)
{
	return c->ip;
}

void cp_chat_client_mask(const struct chat_client *c, char *out, size_t cap)
{
	snprintf(out, cap, "%s!%s@%s", c->nick[0] ? c->nick : "*",
		 c->user[0] ? c->user : "*", cp_chat_client_host(c));
}

/* -------------------------------------------------------------- IP limits */

static struct chat_ipent *ip_get(struct cp_chat *chat, const char *ip, int create)
{
	unsigned h = cp_chat_hash(ip);
	for (struct chat_ipent *e = chat->ips[h]; e; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			return e;
	if (!create)
		return NULL;
	struct chat_ipent *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	cp_chat_strlcpy(e->ip, ip, sizeof(e->ip));
	e->next = chat->ips[h];
	chat->ips[h] = e;
	return e;
}

static void ip_put(struct cp_chat *chat, struct chat_ipent *e)
{
	if (!e || --e->count > 0)
		return;
	struct chat_ipent **pp = &chat->ips[cp_chat_hash(e->ip)];
	for (; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			free(e);
			return;
		}
}

/* ---------------------------------------------------------------- output */

void cp_chat_mark_dirty(struct chat_client *c)
{
	struct cp_chat *chat = c->chat;
	if (c->dirty)
		return;
	if (chat->ndirty == chat->dirty_cap) {
		size_t cap = chat->dirty_cap ? chat->dirty_cap * 2 : 256;
		struct chat_client **d = realloc(chat->dirty, cap * sizeof(*d));
		if (!d)
			return; /* flushed by the next write completion or tick */
		chat->dirty = d;
		chat->dirty_cap = cap;
	}
	chat->dirty[chat->ndirty++] = c;
	c->dirty = 1;
}

/* A client over its send queue is only marked here: disconnecting it
 * in the middle of a channel fan-out would change the member array being
 * walked. The flusher finishes the job. */
static void doom(struct chat_client *c)
{
	if (c->closing || c->doomed)
		return;
	c->chat->n_sendq_kills++;
	c->doomed = 1; /* input is ignored from now on */
	c->pend.len = 0;
	cp_chat_mark_dirty(c);
}

static int doomed(const struct chat_client *c)
{
	return c->doomed;
}

void cp_chat_send_raw(struct chat_client *c, const char *line, size_t len)
{
	if (c->closing || doomed(c))
		return;
	uint64_t max = c->chat->conf.sendq;
	if (c->ws) {
		if (cp_chat_ws_queued(c) + c->pend.len + c->infl.len + len > max ||
		    cp_chat_ws_queue(c, line, len >= 2 ? len - 2 : len) < 0) {
			doom(c);
			return;
		}
		cp_chat_mark_dirty(c);
		return;
	}
	if (c->infl.len + len > max || cp_chat_buf_append(&c->pend, line, len, max - c->infl.len) < 0) {
		doom(c);
		return;
	}
	cp_chat_mark_dirty(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct chat_client *c = req->data;
	c->writing = 0;
	c->infl.len = 0;
	if (status < 0) {
		if (!c->closing)
			cp_chat_client_quit(c, "Write error", "Write error");
		return;
	}
	if (c->pend.len > 0 || c->ws)
		cp_chat_mark_dirty(c);
}

static void flush_one(struct chat_client *c)
{
	if (c->ws)
		cp_chat_ws_flush(c);
	if (c->writing || c->pend.len == 0)
		return;
	uv_buf_t b = uv_buf_init(c->pend.p, (unsigned)c->pend.len);
	int n = uv_try_write((uv_stream_t *)c->tcp, &b, 1);
	if (n < 0 && n != UV_EAGAIN) {
		cp_chat_client_quit(c, "Write error", "Write error");
		return;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	if (done == c->pend.len) {
		c->pend.len = 0;
		return;
	}
	/* Hand the rest to libuv from where the kernel stopped: no memmove of
	 * a possibly large backlog. */
	struct chat_buf t = c->infl;
	c->infl = c->pend;
	c->pend = t;
	c->pend.len = 0;
	b = uv_buf_init(c->infl.p + done, (unsigned)(c->infl.len - done));
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)c->tcp, &b, 1, on_write) < 0) {
		c->infl.len = 0;
		cp_chat_client_quit(c, "Write error", "Write error");
		return;
	}
	c->writing = 1;
}

static void on_check(uv_check_t *h)
{
	struct cp_chat *chat = h->data;
	/* Index loop: quitting a client may append more dirty clients. */
	for (size_t i = 0; i < chat->ndirty; i++) {
		struct chat_client *c = chat->dirty[i];
		c->dirty = 0;
		if (c->closing)
			continue;
		if (doomed(c)) {
			c->doomed = 0; /* let the ERROR line through */
			cp_chat_client_quit(c, "SendQ exceeded", "SendQ exceeded");
			continue;
		}
		flush_one(c);
	}
	chat->ndirty = 0;
}

/* -------------------------------------------------------------- replies */

static size_t vfmt_line(char *out, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, cap - 2, fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n;
	if (len > CP_IRC_LINE_MAX - 2)
		len = CP_IRC_LINE_MAX - 2;
	if (len > cap - 3)
		len = cap - 3;
	out[len++] = '\r';
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

size_t cp_chat_fmt_body(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = vfmt_line(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

void cp_chat_reply(struct chat_client *c, const char *fmt, ...)
{
	char line[CP_IRC_LINE_MAX + 8];
	int n = snprintf(line, sizeof(line), ":%s ", c->chat->conf.server_name);
	va_list ap;
	va_start(ap, fmt);
	size_t len = (size_t)n + vfmt_line(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (len > CP_IRC_LINE_MAX) { /* keep the CRLF of a cut line */
		len = CP_IRC_LINE_MAX;
		line[len - 2] = '\r';
		line[len - 1] = '\n';
	}
	cp_chat_send_raw(c, line, len);
}

void cp_chat_num(struct chat_client *c, const char *num, const char *fmt, ...)
{
	char rest[CP_IRC_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	cp_chat_reply(c, "%s %s %s", num, c->nick[0] ? c->nick : "*", rest);
}

void cp_chat_new_msgid(struct cp_chat *chat, char *out, size_t cap)
{
	snprintf(out, cap, "%08llx-%llu", (unsigned long long)(chat->start_s & 0xffffffffu),
		 (unsigned long long)++chat->msg_seq);
}

/* Tags for this recipient, then the body: composed straight into its queue
 * so a fan-out costs two copies per member and no allocation. */
void cp_chat_send_relay(struct chat_client *c, const struct chat_relay *r)
{
	char tags[CP_IRC_LINE_MAX_TAGGED];
	size_t n = 0;
	int want_time = (c->caps & CHAT_CAP_TIME) && r->time;
	int want_id = (c->caps & CHAT_CAP_TAGS) && r->msgid;
	int want_ct = (c->caps & CHAT_CAP_TAGS) && r->ctags && r->ctags[0];
	if (!want_time && !want_id && !want_ct) {
		cp_chat_send_raw(c, r->body, r->blen);
		return;
	}
	tags[n++] = '@';
	if (want_time)
		n += (size_t)snprintf(tags + n, sizeof(tags) - n, "time=%s;", r->time);
	if (want_id)
		n += (size_t)snprintf(tags + n, sizeof(tags) - n, "msgid=%s;", r->msgid);
	if (want_ct && n < sizeof(tags))
		n += (size_t)snprintf(tags + n, sizeof(tags) - n, "%s;", r->ctags);
	if (n >= sizeof(tags) - r->blen - 1)
		n = sizeof(tags) - r->blen - 1;
	tags[n - 1] = ' ';
	if (c->ws || c->closing) {
		memcpy(tags + n, r->body, r->blen);
		cp_chat_send_raw(c, tags, n + r->blen);
		return;
	}
	/* Two appends, checked together against the send queue. */
	uint64_t max = c->chat->conf.sendq;
	if (doomed(c))
		return;
	if (c->infl.len + c->pend.len + n + r->blen > max ||
	    cp_chat_buf_append(&c->pend, tags, n, max) < 0 ||
	    cp_chat_buf_append(&c->pend, r->body, r->blen, max) < 0) {
		doom(c);
		return;
	}
	cp_chat_mark_dirty(c);
}

/* --------------------------------------------------------------- clients */

static void chat_free(struct cp_chat *chat);

static void on_client_close(uv_handle_t *h)
{
	struct chat_client *c = h->data;
	struct cp_chat *chat = c->chat;
	if (c->dirty) {
		for (size_t i = 0; i < chat->ndirty; i++)
			if (chat->dirty[i] == c)
				chat->dirty[i] = chat->dirty[--chat->ndirty];
	}
	cp_chat_ws_free(c->ws);
	free(c->in);
	free(c->pend.p);
	free(c->infl.p);
	free(c->tcp);
	free(c);
	chat->open_handles--;
	if (chat->stopping)
		chat_free(chat); /* close callbacks run in any order */
}

void cp_chat_client_quit(struct chat_client *c, const char *quitmsg, const char *reason)
{
	if (c->closing)
		return;
	struct cp_chat *chat = c->chat;
	c->doomed = 0;
	char line[CP_IRC_LINE_MAX + 8];
	cp_chat_send_raw(c, line, cp_chat_fmt_body(line, sizeof(line), "ERROR :Closing Link: %s (%s)",
						    c->ip, reason));
	c->closing = 1; /* before flushing: a write error must not re-enter */
	if (!c->writing) /* best effort: the peer should see why */
		flush_one(c);
	if (c->registered) {
		cp_chat_quit_fanout(c, quitmsg);
		nick_unlink(c);
	}
	cp_chat_chan_part_all(c);
	ip_put(chat, c->ipent);
	c->ipent = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		chat->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	chat->nclients--;
	uv_read_stop((uv_stream_t *)c->tcp);
	uv_close((uv_handle_t *)c->tcp, on_client_close);
}

/* Split input into lines and dispatch them. Returns bytes consumed. */
static size_t process_lines(struct chat_client *c, const char *buf, size_t len)
{
	struct cp_chat *chat = c->chat;
	size_t off = 0;
	struct cp_irc_msg m;
	while (off < len && !c->closing && !doomed(c)) {
		if (c->discarding) {
			const char *nl = memchr(buf + off, '\n', len - off);
			off = nl ? (size_t)(nl - buf) + 1 : len;
			c->discarding = nl ? 0 : 1;
			continue;
		}
		ssize_t r = cp_irc_parse(buf + off, len - off, &m);
		if (r == 0)
			break;
		if (r < 0) {
			if (r == -EMSGSIZE)
				cp_chat_num(c, "417", ":Input line was too long");
			else
				cp_chat_reply(c, "FAIL * INVALID_MESSAGE :Malformed line ignored (%s)",
					      r == -E2BIG ? "too many tags or parameters"
							  : "bad syntax");
			if (m.linelen) {
				off += m.linelen;
			} else {
				/* No terminator within the limit: drop what was
				 * scanned and the rest of that line. */
				off += buf[off] == '@' ? CP_IRC_LINE_MAX_TAGGED : CP_IRC_LINE_MAX;
				c->discarding = 1;
			}
			continue;
		}
		off += (size_t)r;
		if (m.command.n == 0)
			continue;
		if (cp_chat_bucket_take(&c->flood, cp_chat_now_ms(chat), (uint32_t)chat->conf.flood_rate,
					(uint32_t)chat->conf.flood_burst) < 0) {
			chat->n_flood_kills++;
			cp_chat_client_quit(c, "Excess Flood", "Excess Flood");
			break;
		}
		c->last_rx_ms = cp_chat_now_ms(chat);
		c->ping_sent_ms = 0;
		cp_chat_dispatch(c, &m);
	}
	return off;
}

void cp_chat_client_input(struct chat_client *c, const char *data, size_t len)
{
	/* A doomed client's input is dropped: process_lines consumes nothing
	 * for it, so a full c->in would otherwise never drain (endless loop). */
	while (len > 0 && !c->closing && !doomed(c)) {
		if (c->inlen == 0) {
			size_t used = process_lines(c, data, len);
			data += used;
			len -= used;
			if (len == 0 || c->closing)
				return;
			if (!c->in && !(c->in = malloc(CP_IRC_LINE_MAX_TAGGED)))
				return;
			/* The rest is one incomplete line, shorter than the limit. */
			size_t keep = len < CP_IRC_LINE_MAX_TAGGED ? len : CP_IRC_LINE_MAX_TAGGED;
			memcpy(c->in, data, keep);
			c->inlen = keep;
			data += keep;
			len -= keep;
			continue;
		}
		size_t take = CP_IRC_LINE_MAX_TAGGED - c->inlen;
		if (take > len)
			take = len;
		memcpy(c->in + c->inlen, data, take);
		c->inlen += take;
		data += take;
		len -= take;
		size_t used = process_lines(c, c->in, c->inlen);
		if (c->closing)
			return;
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct chat_client *c = h->data;
	*buf = uv_buf_init(c->chat->rbuf, sizeof(c->chat->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct chat_client *c = s->data;
	if (nread < 0) {
		cp_chat_client_quit(c, nread == UV_EOF ? "Client closed connection" : "Read error",
				    nread == UV_EOF ? "Client closed connection" : uv_strerror((int)nread));
		return;
	}
	if (nread > 0)
		cp_chat_client_input(c, buf->base, (size_t)nread);
}

struct chat_client *cp_chat_client_new(struct cp_chat *chat, uv_tcp_t *tcp, const char *ip)
{
	struct chat_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->chat = chat;
	c->tcp = tcp;
	tcp->data = c;
	c->id = ++chat->next_id;
	cp_chat_strlcpy(c->ip, ip, sizeof(c->ip));
	c->created_ms = c->last_rx_ms = cp_chat_now_ms(chat);
	c->signon_s = cp_chat_wall_s();
	cp_chat_bucket_init(&c->flood, c->created_ms, (uint32_t)chat->conf.flood_burst);
	c->next = chat->clients;
	if (c->next)
		c->next->prev = c;
	chat->clients = c;
	chat->nclients++;
	chat->open_handles++;
	c->ipent = ip_get(chat, ip, 1);
	if (c->ipent)
		c->ipent->count++;
	return c;
}

static void on_reject_close(uv_handle_t *h)
{
	free(h);
}

static int peer_ip(uv_tcp_t *tcp, char *ip, size_t cap)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	int rc = uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len);
	if (rc < 0)
		return rc;
	if (ss.ss_family == AF_INET6)
		return uv_ip6_name((struct sockaddr_in6 *)&ss, ip, cap);
	return uv_ip4_name((struct sockaddr_in *)&ss, ip, cap);
}

/* Refuse with a reason line when over the global or per-IP limit. */
static int admit(struct cp_chat *chat, uv_tcp_t *tcp, const char *ip)
{
	const char *why = NULL;
	struct chat_ipent *e = ip_get(chat, ip, 0);
	if (chat->nclients >= chat->conf.max_clients)
		why = "ERROR :Closing Link: server full\r\n";
	else if (e && e->count >= chat->conf.max_per_ip)
		why = "ERROR :Closing Link: too many connections from your address\r\n";
	if (!why)
		return 0;
	uv_buf_t b = uv_buf_init((char *)why, (unsigned)strlen(why));
	uv_try_write((uv_stream_t *)tcp, &b, 1);
	return -EMFILE;
}

/* Shared by the plain listener and the WebSocket upgrade. */
static struct chat_client *accept_client(struct cp_chat *chat, uv_tcp_t *tcp)
{
	char ip[48] = "0.0.0.0";
	peer_ip(tcp, ip, sizeof(ip));
	if (admit(chat, tcp, ip) < 0)
		return NULL;
	uv_tcp_nodelay(tcp, 1);
	if (chat->conf.sndbuf) {
		int v = (int)chat->conf.sndbuf;
		uv_send_buffer_size((uv_handle_t *)tcp, &v);
	}
	return cp_chat_client_new(chat, tcp, ip);
}

static void on_connection(uv_stream_t *srv, int status)
{
	struct cp_chat *chat = srv->data;
	if (status < 0 || chat->stopping)
		return;
	uv_tcp_t *tcp = malloc(sizeof(*tcp));
	if (!tcp || uv_tcp_init(chat->loop, tcp) < 0) {
		free(tcp);
		return;
	}
	if (uv_accept(srv, (uv_stream_t *)tcp) < 0) {
		uv_close((uv_handle_t *)tcp, on_reject_close);
		return;
	}
	struct chat_client *c = accept_client(chat, tcp);
	if (!c) {
		uv_close((uv_handle_t *)tcp, on_reject_close);
		return;
	}
	uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
}

struct chat_client *cp_chat_ws_accept(struct cp_chat *chat, uv_tcp_t *tcp)
{
	return chat->stopping ? NULL : accept_client(chat, tcp);
}

/* ----------------------------------------------------------------- timers */

static void tick_client(struct chat_client *c, uint64_t now)
{
	const struct chat_conf *cf = &c->chat->conf;
	if (doomed(c))
		return;
	if (!c->registered) {
		if (now - c->created_ms > cf->reg_timeout_ms)
			cp_chat_client_quit(c, "Registration timeout", "Registration timeout");
		return;
	}
	if (c->ping_sent_ms) {
		if (now - c->ping_sent_ms > cf->ping_timeout_ms)
			cp_chat_client_quit(c, "Ping timeout", "Ping timeout");
		return;
	}
	if (now - c->last_rx_ms > cf->ping_interval_ms) {
		c->ping_sent_ms = now;
		cp_chat_reply(c, "PING :%s", cf->server_name);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct cp_chat *chat = t->data;
	uint64_t now = cp_chat_now_ms(chat);
	struct chat_client *next;
	for (struct chat_client *c = chat->clients; c; c = next) {
		next = c->next;
		tick_client(c, now);
	}
	uint64_t now_s = cp_chat_wall_s();
	struct chat_channel *cn;
	for (struct chat_channel *ch = chat->chan_list; ch; ch = cn) {
		cn = ch->next;
		cp_chat_chan_expire(chat, ch, now_s);
	}
}

/* ------------------------------------------------------------ rule reload */

static void reload_work(uv_work_t *req)
{
	struct cp_chat *chat = req->data;
	chat->next_rules = NULL;
	chat->reload_err[0] = '\0';
	chat->reload_rc = cp_chat_rules_load_file(chat->conf.rules,
						  (uint32_t)(chat->conf.rule_timeout_ms / 1000),
						  &chat->next_rules, chat->reload_err,
						  sizeof(chat->reload_err));
}

static void reload_done(uv_work_t *req, int status)
{
	struct cp_chat *chat = req->data;
	chat->reload_busy = 0;
	if (chat->stopping) {
		cp_chat_rules_free(chat->next_rules);
		chat->next_rules = NULL;
		chat_free(chat);
		return;
	}
	if (status < 0 || chat->reload_rc < 0) {
		cp_err("chat: rules %s: %s; keeping the %zu active rules", chat->conf.rules,
		       status < 0 ? "cancelled" : chat->reload_err, cp_chat_rules_count(chat->rules));
		return;
	}
	/* Swap on the loop thread: no scan is running here, so the switch is
	 * atomic for every message. */
	struct cp_chat_scanner ns = { 0 };
	if (cp_chat_scanner_bind(&ns, chat->next_rules) < 0) {
		cp_err("chat: rules %s: no memory for scratch; keeping the old rules", chat->conf.rules);
		cp_chat_rules_free(chat->next_rules);
		chat->next_rules = NULL;
		return;
	}
	ns.scans = chat->scanner.scans;
	ns.bytes = chat->scanner.bytes;
	ns.ns = chat->scanner.ns;
	cp_chat_scanner_release(&chat->scanner);
	chat->scanner = ns;
	cp_chat_rules_free(chat->rules);
	chat->rules = chat->next_rules;
	chat->next_rules = NULL;
	cp_info("chat: rules loaded: %zu rules from %s", cp_chat_rules_count(chat->rules),
		chat->conf.rules);
}

int cp_chat_rules_reload(struct cp_chat *chat)
{
	if (!chat || chat->stopping)
		return -EINVAL;
	if (chat->conf.rules[0] == '\0')
		return -ENOENT;
	if (chat->reload_busy)
		return -EBUSY;
	chat->reload_req.data = chat;
	int rc = uv_queue_work(chat->loop, &chat->reload_req, reload_work, reload_done);
	if (rc < 0)
		return rc;
	chat->reload_busy = 1;
	return 0;
}

static void on_sigusr1(uv_signal_t *s, int signum)
{
	struct cp_chat *chat = s->data;
	int rc = cp_chat_rules_reload(chat);
	if (rc < 0)
		cp_warn("chat: rules reload not started: %s", strerror(-rc));
}

/* ------------------------------------------------------------- lifecycle */

struct key_ctx {
	struct cp_chat *chat;
	int tokens; /* 0: [keys], 1: [chat_tokens] */
	int rc;
};

static int on_key(void *arg, const char *key, const char *value, int line)
{
	struct key_ctx *k = arg;
	char name[CHAT_CHANLEN + 2];
	snprintf(name, sizeof(name), "#%s", key);
	if (cp_irc_chan_valid(name, strlen(name), CHAT_CHANLEN) < 0) {
		cp_warn("chat: [%s] line %d: '%s' is not a valid channel name, skipped",
			k->tokens ? "chat_tokens" : "keys", line, key);
		return 0;
	}
	struct chat_channel *ch = cp_chat_chan_find(k->chat, name);
	if (!ch && !(ch = cp_chat_chan_create(k->chat, name))) {
		k->rc = -ENOMEM;
		return 1;
	}
	ch->stream = 1;
	if (k->tokens || ch->token[0] == '\0')
		cp_chat_strlcpy(ch->token, value, sizeof(ch->token));
	return 0;
}

static int load_channels(struct cp_chat *chat)
{
	char err[256];
	if (!chat->conf_path[0])
		return 0;
	for (int t = 0; t < 2; t++) {
		struct key_ctx k = { chat, t, 0 };
		int rc = cp_conf_pairs(chat->conf_path, t ? "chat_tokens" : "keys", on_key, &k, err,
				       sizeof(err));
		if (rc < 0 || k.rc < 0) {
			cp_err("chat: %s", rc < 0 ? err : "out of memory");
			return rc < 0 ? rc : k.rc;
		}
	}
	return 0;
}

static int load_conf(struct cp_chat *chat, const char *conf_path, const struct cp_chat_overrides *ov)
{
	char err[256];
	int rc = cp_conf_load(conf_path, chat_keys, NCHAT_KEYS, &chat->conf, err, sizeof(err));
	if (rc < 0) {
		cp_err("chat: config: %s", err);
		return rc;
	}
	if (ov && ov->listen &&
	    (rc = cp_conf_set(chat_keys, NCHAT_KEYS, &chat->conf, "chat", "listen", ov->listen, err,
			      sizeof(err))) < 0) {
		cp_err("chat: --chat-listen %s: %s", ov->listen, err);
		return rc;
	}
	if (ov && ov->rules)
		cp_chat_strlcpy(chat->conf.rules, ov->rules, sizeof(chat->conf.rules));
	cp_chat_strlcpy(chat->conf_path, conf_path ? conf_path : "", sizeof(chat->conf_path));
	return 0;
}

static int sockaddr_of(const struct cp_conf_addr *a, struct sockaddr_storage *ss)
{
	const char *host = a->host[0] ? a->host : "0.0.0.0";
	if (strchr(host, ':'))
		return uv_ip6_addr(host, a->port, (struct sockaddr_in6 *)ss);
	return uv_ip4_addr(host, a->port, (struct sockaddr_in *)ss);
}

static int start_listener(struct cp_chat *chat)
{
	struct sockaddr_storage ss;
	int rc = sockaddr_of(&chat->conf.listen, &ss);
	if (rc < 0)
		return rc;
	if ((rc = uv_tcp_init(chat->loop, &chat->listener)) < 0)
		return rc;
	chat->open_handles++;
	chat->listener.data = chat;
	if ((rc = uv_tcp_bind(&chat->listener, (struct sockaddr *)&ss, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&chat->listener, 4096, on_connection)) < 0) {
		cp_err("chat: listen on %s:%u: %s", chat->conf.listen.host, chat->conf.listen.port,
		       uv_strerror(rc));
		return rc;
	}
	return 0;
}

static int start_handles(struct cp_chat *chat)
{
	int rc;
	if ((rc = uv_timer_init(chat->loop, &chat->tick)) < 0)
		return rc;
	chat->open_handles++;
	chat->tick.data = chat;
	if ((rc = uv_check_init(chat->loop, &chat->flusher)) < 0)
		return rc;
	chat->open_handles++;
	chat->flusher.data = chat;
	if ((rc = uv_signal_init(chat->loop, &chat->sigusr1)) < 0)
		return rc;
	chat->open_handles++;
	chat->sigusr1.data = chat;
	if ((rc = uv_timer_start(&chat->tick, on_tick, 1000, 1000)) < 0 ||
	    (rc = uv_check_start(&chat->flusher, on_check)) < 0 ||
	    (rc = uv_signal_start(&chat->sigusr1, on_sigusr1, SIGUSR1)) < 0)
		return rc;
	/* Timers and the signal must not keep the loop alive on their own. */
	uv_unref((uv_handle_t *)&chat->tick);
	uv_unref((uv_handle_t *)&chat->sigusr1);
	return 0;
}

static int start_http(struct cp_chat *chat)
{
	if (!chat->conf.http_enabled)
		return 0;
	chat->http = cp_http_start(chat->loop, chat->conf.http_listen.host,
				   chat->conf.http_listen.port);
	if (!chat->http) {
		int rc = -errno;
		cp_err("chat: http listen on %s:%u: %s", chat->conf.http_listen.host,
		       chat->conf.http_listen.port, strerror(errno));
		return rc;
	}
	cp_http_set_timeout(chat->http, chat->conf.http_request_timeout_ms);
	return cp_chat_ws_attach(chat, chat->http);
}

struct cp_chat *cp_chat_start(uv_loop_t *loop, const char *conf_path,
			      const struct cp_chat_overrides *ov)
{
	int rc;
	struct cp_chat *chat = calloc(1, sizeof(*chat));
	if (!chat) {
		errno = ENOMEM;
		return NULL;
	}
	chat->loop = loop;
	chat->start_s = cp_chat_wall_s();
	if ((rc = load_conf(chat, conf_path, ov)) < 0 || (rc = load_channels(chat)) < 0 ||
	    (rc = start_handles(chat)) < 0 || (rc = start_listener(chat)) < 0 ||
	    (rc = start_http(chat)) < 0)
		goto fail;
	if (chat->conf.rules[0] && (rc = cp_chat_rules_reload(chat)) < 0)
		goto fail;
	cp_info("chat: listening on %s:%u, %zu channels, rules %s",
		chat->conf.listen.host[0] ? chat->conf.listen.host : "*", chat->conf.listen.port,
		chat->nchannels, chat->conf.rules[0] ? chat->conf.rules : "(none)");
	return chat;
fail:
	cp_chat_stop(chat);
	errno = -rc;
	return NULL;
}

static void chat_free(struct cp_chat *chat)
{
	if (chat->open_handles > 0 || chat->reload_busy)
		return;
	for (unsigned i = 0; i < CHAT_HASH; i++) {
		struct chat_ipent *e, *n;
		for (e = chat->ips[i]; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	cp_chat_chan_free_all(chat);
	cp_chat_scanner_release(&chat->scanner);
	cp_chat_rules_free(chat->rules);
	free(chat->dirty);
	free(chat);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct cp_chat *chat = h->data;
	chat->open_handles--;
	chat_free(chat);
}

static void close_handle(struct cp_chat *chat, uv_handle_t *h)
{
	if (h->type == UV_UNKNOWN_HANDLE || uv_is_closing(h))
		return;
	h->data = chat;
	uv_close(h, on_handle_closed);
}

void cp_chat_stop(struct cp_chat *chat)
{
	if (!chat || chat->stopping)
		return;
	chat->stopping = 1;
	while (chat->clients)
		cp_chat_client_quit(chat->clients, "Server shutting down", "Server shutting down");
	cp_http_stop(chat->http);
	chat->http = NULL;
	if (chat->reload_busy)
		uv_cancel((uv_req_t *)&chat->reload_req);
	/* Client close callbacks decrement open_handles too; chat_free runs
	 * when the last handle is gone. Register a guard so the count cannot
	 * reach zero before every handle below has been queued. */
	chat->open_handles++;
	close_handle(chat, (uv_handle_t *)&chat->listener);
	close_handle(chat, (uv_handle_t *)&chat->tick);
	close_handle(chat, (uv_handle_t *)&chat->flusher);
	close_handle(chat, (uv_handle_t *)&chat->sigusr1);
	chat->open_handles--;
	chat_free(chat);
}

void cp_chat_stream_live(struct cp_chat *chat, const char *app, const char *stream, int live)
{
	if (!chat || chat->stopping || !stream)
		return;
	char name[CHAT_CHANLEN + 2];
	snprintf(name, sizeof(name), "#%s", stream);
	if (cp_irc_chan_valid(name, strlen(name), CHAT_CHANLEN) < 0) {
		cp_warn("chat: stream '%s' has no valid channel name", stream);
		return;
	}
	struct chat_channel *ch = cp_chat_chan_find(chat, name);
	if (!ch && !(ch = cp_chat_chan_create(chat, name)))
		return;
	ch->stream = 1;
	if (app && app[0])
		cp_chat_strlcpy(ch->app, app, sizeof(ch->app));
	if (ch->live == !!live)
		return;
	ch->live = !!live;
	cp_chat_log_rotate(ch); /* a new broadcast starts a new segment */
	cp_chat_chan_topic_changed(chat, ch, NULL);
	if (!live)
		cp_chat_chan_maybe_free(chat, ch);
}

struct cp_http *cp_chat_http(struct cp_chat *chat)
{
	return chat ? chat->http : NULL;
}
