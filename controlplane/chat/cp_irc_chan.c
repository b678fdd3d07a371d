/* Channels: membership, JOIN/PART/KICK/TOPIC/NAMES/INVITE, channel modes,
 * moderation commands (TIMEOUT, CLEARMSG, APPROVE) and channel messages with
 * the Hyperscan verdict applied. One channel per stream. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/chat/cp_irc_mode.h"
#include "controlplane/cp_log.h"

static void param(const struct cp_irc_msg *m, size_t i, char *out, size_t cap)
{
	size_t n = 0;
	if (i < m->nparams) {
		n = m->params[i].n < cap - 1 ? m->params[i].n : cap - 1;
		memcpy(out, m->params[i].p, n);
	}
	out[n] = '\0';
}

/* --------------------------------------------------------------- table */

struct chat_channel *cp_chat_chan_find(struct cp_chat *chat, const char *name)
{
	for (struct chat_channel *ch = chat->chans[cp_chat_hash(name)]; ch; ch = ch->hnext)
		if (cp_chat_casecmp(ch->name, name) == 0)
			return ch;
	return NULL;
}

struct chat_channel *cp_chat_chan_create(struct cp_chat *chat, const char *name)
{
	struct chat_channel *ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	cp_chat_strlcpy(ch->name, name, sizeof(ch->name));
	cp_chat_strlcpy(ch->app, chat->conf.record_app, sizeof(ch->app));
	cp_chat_strlcpy(ch->title, name + 1, sizeof(ch->title));
	ch->created_s = ch->topic_s = cp_chat_wall_s();
	ch->flags = CHAT_CM_NOEXT | CHAT_CM_TOPIC;
	unsigned h = cp_chat_hash(name);
	ch->hnext = chat->chans[h];
	chat->chans[h] = ch;
	ch->next = chat->chan_list;
	if (ch->next)
		ch->next->prev = ch;
	chat->chan_list = ch;
	chat->nchannels++;
	return ch;
}

static void chan_unlink(struct cp_chat *chat, struct chat_channel *ch)
{
	struct chat_channel **pp = &chat->chans[cp_chat_hash(ch->name)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == ch) {
			*pp = ch->hnext;
			break;
		}
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		chat->chan_list = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	chat->nchannels--;
}

static void chan_free(struct chat_channel *ch)
{
	cp_chat_log_rotate(ch);
	free(ch->members);
	free(ch);
}

/* Open (non-stream) channels disappear with their last member. */
void cp_chat_chan_maybe_free(struct cp_chat *chat, struct chat_channel *ch)
{
	if (ch->nmembers > 0 || ch->stream)
		return;
	chan_unlink(chat, ch);
	chan_free(ch);
}

void cp_chat_chan_free_all(struct cp_chat *chat)
{
	while (chat->chan_list) {
		struct chat_channel *ch = chat->chan_list;
		chan_unlink(chat, ch);
		chan_free(ch);
	}
}

/* ------------------------------------------------------------- members */

struct chat_member *cp_chat_member_of(struct chat_client *c, struct chat_channel *ch)
{
	for (struct chat_member *m = c->chans; m; m = m->cnext)
		if (m->ch == ch)
			return m;
	return NULL;
}

static struct chat_member *member_add(struct chat_client *c, struct chat_channel *ch)
{
	if (ch->nmembers == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 16;
		struct chat_member **a = realloc(ch->members, cap * sizeof(*a));
		if (!a)
			return NULL;
		ch->members = a;
		ch->cap = cap;
	}
	struct chat_member *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->c = c;
	m->ch = ch;
	m->idx = ch->nmembers;
	m->joined_ms = cp_chat_now_ms(c->chat);
	ch->members[ch->nmembers++] = m;
	m->cnext = c->chans;
	c->chans = m;
	c->nchans++;
	return m;
}

static void member_remove(struct chat_member *m)
{
	struct chat_channel *ch = m->ch;
	struct chat_client *c = m->c;
	struct chat_member *last = ch->members[--ch->nmembers];
	ch->members[m->idx] = last;
	last->idx = m->idx;
	for (struct chat_member **pp = &c->chans; *pp; pp = &(*pp)->cnext)
		if (*pp == m) {
			*pp = m->cnext;
			break;
		}
	c->nchans--;
	free(m);
}

void cp_chat_chan_part_all(struct chat_client *c)
{
	while (c->chans) {
		struct chat_channel *ch = c->chans->ch;
		member_remove(c->chans);
		cp_chat_chan_maybe_free(c->chat, ch);
	}
}

/* Fan-out: the body is built once by the caller; each member gets it with
 * the tags its capabilities ask for. */
void cp_chat_chan_send(struct chat_channel *ch, struct chat_client *except,
		       const struct chat_relay *r)
{
	struct cp_chat *chat = NULL;
	for (size_t i = 0; i < ch->nmembers; i++) {
		struct chat_client *c = ch->members[i]->c;
		chat = c->chat;
		if (c == except)
			continue;
		cp_chat_send_relay(c, r);
	}
	if (chat)
		chat->n_deliveries += ch->nmembers - (except ? 1 : 0);
}

/* Relay ":mask <fmt>" to the channel, tagged with time (and msgid when
 * given). */
static void chan_relay(struct chat_channel *ch, struct chat_client *except, const char *from,
		       const char *msgid, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void chan_relay(struct chat_channel *ch, struct chat_client *except, const char *from,
		       const char *msgid, const char *fmt, ...)
{
	char rest[CP_IRC_LINE_MAX], body[CP_IRC_LINE_MAX + 8], now[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	cp_chat_iso_time(now, sizeof(now));
	struct chat_relay r = { body, cp_chat_fmt_body(body, sizeof(body), ":%s %s", from, rest),
				now, msgid, NULL };
	cp_chat_chan_send(ch, except, &r);
}

/* ---------------------------------------------------------- descriptions */

void cp_chat_topic_display(const struct chat_channel *ch, char *out, size_t cap)
{
	if (ch->stream)
		snprintf(out, cap, "%s | %s", ch->title, ch->live ? "LIVE" : "offline");
	else
		snprintf(out, cap, "%s", ch->title);
}

void cp_chat_chan_topic_changed(struct cp_chat *chat, struct chat_channel *ch, const char *by)
{
	char topic[CHAT_TOPICLEN + 32];
	ch->topic_s = cp_chat_wall_s();
	cp_chat_strlcpy(ch->topic_by, by ? by : chat->conf.server_name, sizeof(ch->topic_by));
	cp_chat_topic_display(ch, topic, sizeof(topic));
	chan_relay(ch, NULL, by ? by : chat->conf.server_name, NULL, "TOPIC %s :%s", ch->name, topic);
}

void cp_chat_chan_modestr(const struct chat_channel *ch, char *out, size_t cap)
{
	size_t n = 0;
	out[n++] = '+';
	if (ch->flags & CHAT_CM_INVITE)
		out[n++] = 'i';
	if (ch->flags & CHAT_CM_MODERATED)
		out[n++] = 'm';
	if (ch->flags & CHAT_CM_NOEXT)
		out[n++] = 'n';
	if (ch->flags & CHAT_CM_TOPIC)
		out[n++] = 't';
	if (ch->flags & CHAT_CM_SUBS)
		out[n++] = 'U';
	if (ch->key[0])
		out[n++] = 'k';
	if (ch->limit)
		out[n++] = 'l';
	if (ch->slow_s)
		out[n++] = 'S';
	if (ch->follow_s)
		out[n++] = 'F';
	out[n] = '\0';
	if (ch->key[0])
		n += (size_t)snprintf(out + n, cap - n, " %s", ch->key);
	if (ch->limit)
		n += (size_t)snprintf(out + n, cap - n, " %u", ch->limit);
	if (ch->slow_s)
		n += (size_t)snprintf(out + n, cap - n, " %u", ch->slow_s);
	if (ch->follow_s)
		snprintf(out + n, cap - n, " %u", ch->follow_s);
}

static const char *member_prefix(const struct chat_member *m, int multi)
{
	if (m->op && m->voice && multi)
		return "@+";
	if (m->op)
		return "@";
	return m->voice ? "+" : "";
}

void cp_chat_names(struct chat_client *c, struct chat_channel *ch)
{
	char buf[CP_IRC_LINE_MAX];
	size_t n = 0;
	int multi = (c->caps & CHAT_CAP_MULTI) != 0;
	for (size_t i = 0; i < ch->nmembers; i++) {
		const struct chat_member *m = ch->members[i];
		int w = snprintf(buf + n, sizeof(buf) - n, "%s%s%s", n ? " " : "",
				 member_prefix(m, multi), m->c->nick);
		if (w > 0 && (size_t)w < sizeof(buf) - n && n + (size_t)w < 400) {
			n += (size_t)w;
			continue;
		}
		buf[n] = '\0';
		cp_chat_num(c, "353", "= %s :%s", ch->name, buf);
		n = (size_t)snprintf(buf, sizeof(buf), "%s%s", member_prefix(m, multi), m->c->nick);
	}
	if (n)
		cp_chat_num(c, "353", "= %s :%s", ch->name, buf);
	cp_chat_num(c, "366", "%s :End of /NAMES list", ch->name);
}

/* ------------------------------------------------------------------ bans */

static int banned(const struct chat_channel *ch, const struct chat_client *c, uint64_t now_s)
{
	char mask[CHAT_MASKLEN + 1];
	cp_chat_client_mask(c, mask, sizeof(mask));
	for (size_t i = 0; i < ch->nbans; i++) {
		if (ch->bans[i].expires_s && ch->bans[i].expires_s <= now_s)
			continue;
		if (cp_chat_glob(ch->bans[i].mask, mask))
			return 1;
	}
	return 0;
}

static int ban_add(struct chat_channel *ch, const char *mask, const char *setter,
		   uint64_t expires_s)
{
	for (size_t i = 0; i < ch->nbans; i++)
		if (cp_chat_casecmp(ch->bans[i].mask, mask) == 0) {
			ch->bans[i].expires_s = expires_s;
			return 0;
		}
	if (ch->nbans == CHAT_BANS_MAX)
		return -ENOSPC;
	struct chat_ban *b = &ch->bans[ch->nbans++];
	cp_chat_strlcpy(b->mask, mask, sizeof(b->mask));
	cp_chat_strlcpy(b->setter, setter, sizeof(b->setter));
	b->set_s = cp_chat_wall_s();
	b->expires_s = expires_s;
	return 1;
}

static int ban_del(struct chat_channel *ch, const char *mask)
{
	for (size_t i = 0; i < ch->nbans; i++)
		if (cp_chat_casecmp(ch->bans[i].mask, mask) == 0) {
			ch->bans[i] = ch->bans[--ch->nbans];
			return 1;
		}
	return 0;
}

/* Timeouts end on their own: the ban goes and members see MODE -b. */
void cp_chat_chan_expire(struct cp_chat *chat, struct chat_channel *ch, uint64_t now_s)
{
	for (size_t i = 0; i < ch->nbans;) {
		struct chat_ban *b = &ch->bans[i];
		if (!b->expires_s || b->expires_s > now_s) {
			i++;
			continue;
		}
		chan_relay(ch, NULL, chat->conf.server_name, NULL, "MODE %s -b %s", ch->name, b->mask);
		*b = ch->bans[--ch->nbans];
	}
}

/* ------------------------------------------------------------------ JOIN */

static int invited(struct chat_channel *ch, const struct chat_client *c)
{
	for (size_t i = 0; i < ch->ninvites; i++)
		if (ch->invites[i] == c->id)
			return 1;
	return 0;
}

/* Constant-time token comparison: the token is a secret. */
static int token_ok(const char *want, const char *got)
{
	size_t a = strlen(want), b = strlen(got);
	unsigned char d = (unsigned char)(a != b);
	for (size_t i = 0; i < a; i++)
		d |= (unsigned char)(want[i] ^ (i < b ? got[i] : 0));
	return want[0] && d == 0;
}

static int join_check(struct chat_client *c, struct chat_channel *ch, const char *key)
{
	if (c->nchans >= c->chat->conf.max_channels) {
		cp_chat_num(c, "405", "%s :You have joined too many channels", ch->name);
		return -1;
	}
	if (c->has_pass && token_ok(ch->token, c->pass))
		return 0; /* the broadcaster always gets in */
	if (banned(ch, c, cp_chat_wall_s())) {
		cp_chat_num(c, "474", "%s :Cannot join channel (+b)", ch->name);
		return -1;
	}
	if ((ch->flags & CHAT_CM_INVITE) && !invited(ch, c)) {
		cp_chat_num(c, "473", "%s :Cannot join channel (+i)", ch->name);
		return -1;
	}
	if (ch->key[0] && strcmp(ch->key, key) != 0) {
		cp_chat_num(c, "475", "%s :Cannot join channel (+k)", ch->name);
		return -1;
	}
	if (ch->limit && ch->nmembers >= ch->limit) {
		cp_chat_num(c, "471", "%s :Cannot join channel (+l)", ch->name);
		return -1;
	}
	return 0;
}

static void join_one(struct chat_client *c, const char *name, const char *key)
{
	struct cp_chat *chat = c->chat;
	if (cp_irc_chan_valid(name, strlen(name), CHAT_CHANLEN) < 0) {
		cp_chat_num(c, "476", "%s :Bad Channel Mask", name);
		return;
	}
	struct chat_channel *ch = cp_chat_chan_find(chat, name);
	int created = 0;
	if (!ch) {
		if (!chat->conf.open_channels) {
			cp_chat_num(c, "403", "%s :No such channel", name);
			return;
		}
		if (!(ch = cp_chat_chan_create(chat, name)))
			return;
		ch->title[0] = '\0';
		created = 1;
	}
	if (cp_chat_member_of(c, ch))
		return;
	if (join_check(c, ch, key) < 0) {
		if (created)
			cp_chat_chan_maybe_free(chat, ch);
		return;
	}
	struct chat_member *m = member_add(c, ch);
	if (!m)
		return;
	if (c->has_pass && token_ok(ch->token, c->pass))
		m->op = m->broadcaster = 1;
	else if (created)
		m->op = 1; /* plain IRC: the creator of an open channel */
	char mask[CHAT_MASKLEN + 1], topic[CHAT_TOPICLEN + 32];
	cp_chat_client_mask(c, mask, sizeof(mask));
	chan_relay(ch, NULL, mask, NULL, "JOIN %s", ch->name);
	if (m->op)
		chan_relay(ch, NULL, chat->conf.server_name, NULL, "MODE %s +o %s", ch->name, c->nick);
	cp_chat_topic_display(ch, topic, sizeof(topic));
	if (topic[0]) {
		cp_chat_num(c, "332", "%s :%s", ch->name, topic);
		cp_chat_num(c, "333", "%s %s %llu", ch->name,
			    ch->topic_by[0] ? ch->topic_by : chat->conf.server_name,
			    (unsigned long long)ch->topic_s);
	}
	cp_chat_names(c, ch);
}

static void part_one(struct chat_client *c, struct chat_channel *ch, const char *reason)
{
	char mask[CHAT_MASKLEN + 1];
	struct chat_member *m = cp_chat_member_of(c, ch);
	cp_chat_client_mask(c, mask, sizeof(mask));
	if (reason && reason[0])
		chan_relay(ch, NULL, mask, NULL, "PART %s :%s", ch->name, reason);
	else
		chan_relay(ch, NULL, mask, NULL, "PART %s", ch->name);
	member_remove(m);
	cp_chat_chan_maybe_free(c->chat, ch);
}

void cp_irc_cmd_join(struct chat_client *c, const struct cp_irc_msg *m)
{
	char names[CP_IRC_LINE_MAX], keys[CP_IRC_LINE_MAX];
	if (m->nparams < 1 || m->params[0].n == 0) {
		cp_chat_num(c, "461", "JOIN :Not enough parameters");
		return;
	}
	param(m, 0, names, sizeof(names));
	param(m, 1, keys, sizeof(keys));
	if (strcmp(names, "0") == 0) {
		while (c->chans)
			part_one(c, c->chans->ch, "Left all channels");
		return;
	}
	char *ks = NULL, *ns = NULL;
	char *key = strtok_r(keys, ",", &ks);
	for (char *n = strtok_r(names, ",", &ns); n && !c->closing; n = strtok_r(NULL, ",", &ns)) {
		join_one(c, n, key ? key : "");
		key = strtok_r(NULL, ",", &ks);
	}
}

/* Channel named by param i that the client is in; errors answered. */
static struct chat_channel *my_channel(struct chat_client *c, const struct cp_irc_msg *m,
				       size_t i, struct chat_member **mb)
{
	char name[CHAT_CHANLEN + 1];
	param(m, i, name, sizeof(name));
	struct chat_channel *ch = cp_chat_chan_find(c->chat, name);
	if (!ch) {
		cp_chat_num(c, "403", "%s :No such channel", name);
		return NULL;
	}
	*mb = cp_chat_member_of(c, ch);
	if (!*mb) {
		cp_chat_num(c, "442", "%s :You're not on that channel", ch->name);
		return NULL;
	}
	return ch;
}

static struct chat_channel *op_channel(struct chat_client *c, const struct cp_irc_msg *m,
				       size_t i, struct chat_member **mb)
{
	struct chat_channel *ch = my_channel(c, m, i, mb);
	if (ch && !(*mb)->op) {
		cp_chat_num(c, "482", "%s :You're not channel operator", ch->name);
		return NULL;
	}
	return ch;
}

void cp_irc_cmd_part(struct chat_client *c, const struct cp_irc_msg *m)
{
	char names[CP_IRC_LINE_MAX], reason[CP_IRC_LINE_MAX];
	if (m->nparams < 1 || m->params[0].n == 0) {
		cp_chat_num(c, "461", "PART :Not enough parameters");
		return;
	}
	param(m, 0, names, sizeof(names));
	param(m, 1, reason, sizeof(reason));
	char *ns = NULL;
	for (char *n = strtok_r(names, ",", &ns); n; n = strtok_r(NULL, ",", &ns)) {
		struct chat_channel *ch = cp_chat_chan_find(c->chat, n);
		if (!ch)
			cp_chat_num(c, "403", "%s :No such channel", n);
		else if (!cp_chat_member_of(c, ch))
			cp_chat_num(c, "442", "%s :You're not on that channel", ch->name);
		else
			part_one(c, ch, reason);
	}
}

static struct chat_member *target_member(struct chat_client *c, struct chat_channel *ch,
					 const char *nick)
{
	struct chat_client *t = cp_chat_find_nick(c->chat, nick);
	if (!t) {
		cp_chat_num(c, "401", "%s :No such nick/channel", nick);
		return NULL;
	}
	struct chat_member *tm = cp_chat_member_of(t, ch);
	if (!tm)
		cp_chat_num(c, "441", "%s %s :They aren't on that channel", t->nick, ch->name);
	return tm;
}

void cp_irc_cmd_kick(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char nick[CHAT_NICKLEN + 1], reason[CP_IRC_LINE_MAX], mask[CHAT_MASKLEN + 1];
	if (m->nparams < 2) {
		cp_chat_num(c, "461", "KICK :Not enough parameters");
		return;
	}
	struct chat_channel *ch = op_channel(c, m, 0, &mb);
	if (!ch)
		return;
	param(m, 1, nick, sizeof(nick));
	param(m, 2, reason, sizeof(reason));
	struct chat_member *tm = target_member(c, ch, nick);
	if (!tm)
		return;
	if (tm->broadcaster && !mb->broadcaster) {
		cp_chat_num(c, "482", "%s :You cannot kick the broadcaster", ch->name);
		return;
	}
	cp_chat_client_mask(c, mask, sizeof(mask));
	chan_relay(ch, NULL, mask, NULL, "KICK %s %s :%s", ch->name, tm->c->nick,
		   reason[0] ? reason : c->nick);
	cp_chat_log_record(c->chat, ch, tm->c->nick, NULL, reason, "kick", 0);
	member_remove(tm);
	cp_chat_chan_maybe_free(c->chat, ch);
}

void cp_irc_cmd_topic(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char topic[CHAT_TOPICLEN + 32];
	if (m->nparams < 1) {
		cp_chat_num(c, "461", "TOPIC :Not enough parameters");
		return;
	}
	struct chat_channel *ch = my_channel(c, m, 0, &mb);
	if (!ch)
		return;
	if (m->nparams < 2) {
		cp_chat_topic_display(ch, topic, sizeof(topic));
		if (!topic[0]) {
			cp_chat_num(c, "331", "%s :No topic is set", ch->name);
			return;
		}
		cp_chat_num(c, "332", "%s :%s", ch->name, topic);
		cp_chat_num(c, "333", "%s %s %llu", ch->name, ch->topic_by, (unsigned long long)ch->topic_s);
		return;
	}
	if ((ch->flags & CHAT_CM_TOPIC) && !mb->op) {
		cp_chat_num(c, "482", "%s :You're not channel operator", ch->name);
		return;
	}
	/* On stream channels the topic is the title; the live state is added. */
	param(m, 1, ch->title, sizeof(ch->title));
	char mask[CHAT_MASKLEN + 1];
	cp_chat_client_mask(c, mask, sizeof(mask));
	cp_chat_chan_topic_changed(c->chat, ch, mask);
	cp_chat_strlcpy(ch->topic_by, c->nick, sizeof(ch->topic_by));
}

void cp_irc_cmd_names(struct chat_client *c, const struct cp_irc_msg *m)
{
	char name[CHAT_CHANLEN + 1];
	param(m, 0, name, sizeof(name));
	struct chat_channel *ch = name[0] ? cp_chat_chan_find(c->chat, name) : NULL;
	if (!ch) {
		cp_chat_num(c, "366", "%s :End of /NAMES list", name[0] ? name : "*");
		return;
	}
	cp_chat_names(c, ch);
}

void cp_irc_cmd_invite(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char nick[CHAT_NICKLEN + 1], mask[CHAT_MASKLEN + 1];
	if (m->nparams < 2) {
		cp_chat_num(c, "461", "INVITE :Not enough parameters");
		return;
	}
	param(m, 0, nick, sizeof(nick));
	struct chat_channel *ch = my_channel(c, m, 1, &mb);
	if (!ch)
		return;
	if ((ch->flags & CHAT_CM_INVITE) && !mb->op) {
		cp_chat_num(c, "482", "%s :You're not channel operator", ch->name);
		return;
	}
	struct chat_client *t = cp_chat_find_nick(c->chat, nick);
	if (!t) {
		cp_chat_num(c, "401", "%s :No such nick/channel", nick);
		return;
	}
	if (cp_chat_member_of(t, ch)) {
		cp_chat_num(c, "443", "%s %s :is already on channel", t->nick, ch->name);
		return;
	}
	if (ch->ninvites == CHAT_INVITES_MAX)
		memmove(ch->invites, ch->invites + 1, (--ch->ninvites) * sizeof(ch->invites[0]));
	ch->invites[ch->ninvites++] = t->id;
	cp_chat_num(c, "341", "%s %s", t->nick, ch->name);
	cp_chat_client_mask(c, mask, sizeof(mask));
	char body[CP_IRC_LINE_MAX + 8];
	size_t n = cp_chat_fmt_body(body, sizeof(body), ":%s INVITE %s %s", mask, t->nick, ch->name);
	cp_chat_send_raw(t, body, n);
}

/* ----------------------------------------------------------------- MODE */

static int parse_u32(const struct cp_irc_slice *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	if (s->n == 0 || s->n > 10)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s->p[i] - '0');
	}
	if (v == 0 || v > max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static void list_bans(struct chat_client *c, struct chat_channel *ch)
{
	for (size_t i = 0; i < ch->nbans; i++)
		cp_chat_num(c, "367", "%s %s %s %llu", ch->name, ch->bans[i].mask, ch->bans[i].setter,
			    (unsigned long long)ch->bans[i].set_s);
	cp_chat_num(c, "368", "%s :End of channel ban list", ch->name);
}

static unsigned flag_bit(char l)
{
	switch (l) {
	case 'i': return CHAT_CM_INVITE;
	case 'm': return CHAT_CM_MODERATED;
	case 'n': return CHAT_CM_NOEXT;
	case 't': return CHAT_CM_TOPIC;
	case 'U': return CHAT_CM_SUBS;
	default: return 0;
	}
}

/* Normalise a ban argument: a bare nick becomes nick!*@*. */
static void ban_mask(const struct cp_irc_slice *a, char *out, size_t cap)
{
	int full = memchr(a->p, '!', a->n) || memchr(a->p, '@', a->n);
	int n = (int)(a->n > CHAT_MASKLEN - 4 ? CHAT_MASKLEN - 4 : a->n);
	snprintf(out, cap, full ? "%.*s" : "%.*s!*@*", n, a->p);
}

/* Apply one change; append it to the applied list. Returns 1 applied. */
static int apply_member_mode(struct chat_client *c, struct chat_channel *ch,
			     const struct cp_irc_mode_change *x, char *arg, size_t argcap)
{
	char nick[CHAT_NICKLEN + 1];
	snprintf(nick, sizeof(nick), "%.*s", (int)(x->arg.n > CHAT_NICKLEN ? CHAT_NICKLEN : x->arg.n),
		 x->arg.p);
	struct chat_member *tm = target_member(c, ch, nick);
	if (!tm)
		return 0;
	int on = x->sign == '+';
	if (x->letter == 'o') {
		if (tm->broadcaster && !on)
			return 0; /* the broadcaster stays operator */
		tm->op = (unsigned)on;
	} else {
		tm->voice = (unsigned)on;
	}
	snprintf(arg, argcap, "%s", tm->c->nick);
	return 1;
}

static int apply_param_mode(struct chat_client *c, struct chat_channel *ch,
			    const struct cp_irc_mode_change *x, char *arg, size_t argcap)
{
	uint32_t v = 0, *slot = x->letter == 'l' ? &ch->limit
				  : x->letter == 'S' ? &ch->slow_s : &ch->follow_s;
	if (x->sign == '-') {
		*slot = 0;
		return 1;
	}
	if (parse_u32(&x->arg, x->letter == 'l' ? 1000000 : 86400, &v) < 0) {
		cp_chat_num(c, "696", "%s %c %.*s :Invalid mode parameter", ch->name, x->letter,
			    (int)(x->arg.n > 20 ? 20 : x->arg.n), x->arg.p);
		return 0;
	}
	*slot = v;
	snprintf(arg, argcap, "%u", v);
	return 1;
}

static int apply_mode(struct chat_client *c, struct chat_channel *ch,
		      const struct cp_irc_mode_change *x, char *arg, size_t argcap)
{
	arg[0] = '\0';
	switch (x->cls) {
	case CP_IRC_MODE_FLAG: {
		unsigned bit = flag_bit(x->letter);
		if (x->sign == '+')
			ch->flags |= bit;
		else
			ch->flags &= ~bit;
		return 1;
	}
	case CP_IRC_MODE_MEMBER:
		return apply_member_mode(c, ch, x, arg, argcap);
	case CP_IRC_MODE_PARAM:
		return apply_param_mode(c, ch, x, arg, argcap);
	case CP_IRC_MODE_KEY:
		if (x->sign == '+')
			snprintf(ch->key, sizeof(ch->key), "%.*s",
				 (int)(x->arg.n > CHAT_KEYLEN ? CHAT_KEYLEN : x->arg.n), x->arg.p);
		else
			ch->key[0] = '\0';
		snprintf(arg, argcap, "%s", x->sign == '+' ? ch->key : "*");
		return 1;
	case CP_IRC_MODE_LIST:
		ban_mask(&x->arg, arg, argcap);
		if (x->sign == '+') {
			if (ban_add(ch, arg, c->nick, 0) < 0) {
				cp_chat_num(c, "478", "%s %s :Channel ban list is full", ch->name, arg);
				return 0;
			}
			return 1;
		}
		return ban_del(ch, arg);
	default:
		cp_chat_num(c, "472", "%c :is unknown mode char to me", x->letter);
		return 0;
	}
}

static void mode_query(struct chat_client *c, struct chat_channel *ch)
{
	char modes[128];
	cp_chat_chan_modestr(ch, modes, sizeof(modes));
	cp_chat_num(c, "324", "%s %s", ch->name, modes);
	cp_chat_num(c, "329", "%s %llu", ch->name, (unsigned long long)ch->created_s);
}

void cp_irc_cmd_chanmode(struct chat_client *c, const struct cp_irc_msg *m)
{
	char name[CHAT_CHANLEN + 1];
	param(m, 0, name, sizeof(name));
	struct chat_channel *ch = cp_chat_chan_find(c->chat, name);
	if (!ch) {
		cp_chat_num(c, "403", "%s :No such channel", name);
		return;
	}
	if (m->nparams < 2) {
		mode_query(c, ch);
		return;
	}
	struct cp_irc_mode_change x[16];
	size_t n = 0;
	char bad = 0;
	if (cp_irc_mode_parse(m->params[1].p, m->params[1].n, m->params + 2, m->nparams - 2, x, 16,
			      &n, &bad) < 0) {
		cp_chat_num(c, "461", "MODE :Not enough parameters (%c)", bad);
		return;
	}
	if (n == 1 && x[0].cls == CP_IRC_MODE_LIST && x[0].arg.n == 0) {
		list_bans(c, ch);
		return;
	}
	struct chat_member *mb = cp_chat_member_of(c, ch);
	if (!mb || !mb->op) {
		cp_chat_num(c, "482", "%s :You're not channel operator", ch->name);
		return;
	}
	char modes[64], args[CP_IRC_LINE_MAX], arg[CHAT_MASKLEN + 1];
	size_t mn = 0, an = 0;
	char last = 0;
	args[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (x[i].cls == CP_IRC_MODE_LIST && x[i].arg.n == 0) {
			list_bans(c, ch);
			continue;
		}
		if (!apply_mode(c, ch, &x[i], arg, sizeof(arg)))
			continue;
		if (x[i].sign != last)
			modes[mn++] = last = x[i].sign;
		modes[mn++] = x[i].letter;
		if (arg[0] && x[i].cls != CP_IRC_MODE_FLAG)
			an += (size_t)snprintf(args + an, sizeof(args) - an, " %s", arg);
	}
	modes[mn] = '\0';
	if (mn == 0)
		return;
	char mask[CHAT_MASKLEN + 1];
	cp_chat_client_mask(c, mask, sizeof(mask));
	chan_relay(ch, NULL, mask, NULL, "MODE %s %s%s", ch->name, modes, args);
}

/* ------------------------------------------------------ moderation cmds */

/* Mute nick for secs: a ban that expires. by is a nick or the server. */
static void timeout_member(struct cp_chat *chat, struct chat_channel *ch, struct chat_client *t,
			   uint32_t secs, const char *by, const char *why)
{
	char mask[CHAT_MASKLEN + 1];
	snprintf(mask, sizeof(mask), "%s!*@*", t->nick);
	if (ban_add(ch, mask, by, cp_chat_wall_s() + secs) < 0)
		return;
	chat->n_timeouts++;
	chan_relay(ch, NULL, chat->conf.server_name, NULL, "MODE %s +b %s", ch->name, mask);
	chan_relay(ch, NULL, chat->conf.server_name, NULL, "NOTICE %s :%s has been timed out for %u seconds (%s)",
		   ch->name, t->nick, secs, why);
	cp_chat_log_record(chat, ch, t->nick, NULL, why, "timeout", 0);
}

/* TIMEOUT #chan nick seconds [:reason] */
void cp_irc_cmd_timeout(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char nick[CHAT_NICKLEN + 1], reason[CP_IRC_LINE_MAX];
	uint32_t secs;
	if (m->nparams < 3) {
		cp_chat_num(c, "461", "TIMEOUT :Not enough parameters");
		return;
	}
	struct chat_channel *ch = op_channel(c, m, 0, &mb);
	if (!ch)
		return;
	if (parse_u32(&m->params[2], 1209600, &secs) < 0) {
		cp_chat_reply(c, "FAIL TIMEOUT INVALID_PARAMS %s :Seconds must be 1..1209600", ch->name);
		return;
	}
	param(m, 1, nick, sizeof(nick));
	param(m, 3, reason, sizeof(reason));
	struct chat_member *tm = target_member(c, ch, nick);
	if (!tm)
		return;
	if (tm->broadcaster) {
		cp_chat_num(c, "482", "%s :You cannot time out the broadcaster", ch->name);
		return;
	}
	timeout_member(c->chat, ch, tm->c, secs, c->nick, reason[0] ? reason : "moderator");
}

/* CLEARMSG #chan msgid: delete one message for every client. */
void cp_irc_cmd_clearmsg(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char id[CHAT_MSGIDLEN];
	if (m->nparams < 2) {
		cp_chat_num(c, "461", "CLEARMSG :Not enough parameters");
		return;
	}
	struct chat_channel *ch = op_channel(c, m, 0, &mb);
	if (!ch)
		return;
	param(m, 1, id, sizeof(id));
	const struct chat_recent *r = NULL;
	for (size_t i = 0; i < CHAT_RECENT; i++)
		if (ch->recent[i].msgid[0] && strcmp(ch->recent[i].msgid, id) == 0)
			r = &ch->recent[i];
	if (!r) {
		cp_chat_reply(c, "FAIL CLEARMSG UNKNOWN_MSGID %s %s :No such recent message", ch->name, id);
		return;
	}
	char body[CP_IRC_LINE_MAX + 8], now[40], tags[128], esc[64];
	cp_chat_iso_time(now, sizeof(now));
	cp_irc_tag_escape(r->nick, strlen(r->nick), esc, sizeof(esc));
	snprintf(tags, sizeof(tags), "target-msg-id=%s;login=%s", id, esc);
	struct chat_relay tagged = { body,
				     cp_chat_fmt_body(body, sizeof(body), ":%s CLEARMSG %s :",
						      c->chat->conf.server_name, ch->name),
				     now, NULL, tags };
	char nbody[CP_IRC_LINE_MAX + 8];
	size_t nlen = cp_chat_fmt_body(nbody, sizeof(nbody), ":%s NOTICE %s :A message from %s was deleted by %s",
				       c->chat->conf.server_name, ch->name, r->nick, c->nick);
	for (size_t i = 0; i < ch->nmembers; i++) {
		struct chat_client *t = ch->members[i]->c;
		if (t->caps & CHAT_CAP_TAGS)
			cp_chat_send_relay(t, &tagged);
		else
			cp_chat_send_raw(t, nbody, nlen);
	}
	cp_chat_log_record(c->chat, ch, r->nick, id, "", "delete", 0);
}

static void remember(struct chat_channel *ch, const char *msgid, const char *nick)
{
	struct chat_recent *r = &ch->recent[ch->recent_pos++ % CHAT_RECENT];
	cp_chat_strlcpy(r->msgid, msgid, sizeof(r->msgid));
	cp_chat_strlcpy(r->nick, nick, sizeof(r->nick));
}

static void deliver(struct chat_client *c, struct chat_channel *ch, const char *prefix,
		    const char *cmd, const char *text, size_t tlen, const char *msgid,
		    const char *nick)
{
	char body[CP_IRC_LINE_MAX + 8], now[40];
	cp_chat_iso_time(now, sizeof(now));
	struct chat_relay r = { body,
				cp_chat_fmt_body(body, sizeof(body), ":%s %s %s :%.*s", prefix, cmd,
						 ch->name, (int)tlen, text),
				now, msgid, NULL };
	cp_chat_chan_send(ch, (c && !(c->caps & CHAT_CAP_ECHO)) ? c : NULL, &r);
	remember(ch, msgid, nick);
	if (c)
		c->chat->n_msgs++;
}

/* APPROVE #chan msgid: release a held message as its author sent it. */
void cp_irc_cmd_approve(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct chat_member *mb;
	char id[CHAT_MSGIDLEN];
	if (m->nparams < 2) {
		cp_chat_num(c, "461", "APPROVE :Not enough parameters");
		return;
	}
	struct chat_channel *ch = op_channel(c, m, 0, &mb);
	if (!ch)
		return;
	param(m, 1, id, sizeof(id));
	for (size_t i = 0; i < CHAT_HELD_MAX; i++) {
		struct chat_held *h = &ch->held[i];
		if (!h->used || strcmp(h->msgid, id) != 0)
			continue;
		char nick[CHAT_NICKLEN + 1];
		snprintf(nick, sizeof(nick), "%.*s", (int)strcspn(h->prefix, "!"), h->prefix);
		h->used = 0;
		char body[CP_IRC_LINE_MAX + 8], now[40];
		cp_chat_iso_time(now, sizeof(now));
		struct chat_relay r = { body,
					cp_chat_fmt_body(body, sizeof(body), ":%s PRIVMSG %s :%s",
							 h->prefix, ch->name, h->text),
					now, h->msgid, NULL };
		cp_chat_chan_send(ch, NULL, &r);
		remember(ch, h->msgid, nick);
		cp_chat_log_record(c->chat, ch, nick, h->msgid, h->text, "approved", 0);
		return;
	}
	cp_chat_reply(c, "FAIL APPROVE UNKNOWN_MSGID %s %s :No such held message", ch->name, id);
}

static void hold(struct chat_client *c, struct chat_channel *ch, const char *text,
		 const char *msgid, unsigned line)
{
	struct chat_held *h = &ch->held[ch->held_pos++ % CHAT_HELD_MAX];
	cp_chat_client_mask(c, h->prefix, sizeof(h->prefix));
	cp_chat_strlcpy(h->msgid, msgid, sizeof(h->msgid));
	cp_chat_strlcpy(h->text, text, sizeof(h->text));
	h->used = 1;
	c->chat->n_held++;
	char body[CP_IRC_LINE_MAX + 8];
	size_t n = cp_chat_fmt_body(body, sizeof(body), ":%s NOTICE %s :[held %s rule %u] <%s> %s",
				    c->chat->conf.server_name, ch->name, msgid, line, c->nick, text);
	for (size_t i = 0; i < ch->nmembers; i++)
		if (ch->members[i]->op)
			cp_chat_send_raw(ch->members[i]->c, body, n);
	cp_chat_reply(c, "NOTICE %s :Your message to %s is held for review", c->nick, ch->name);
}

/* Why may this member not speak? NULL: may. */
static const char *speech_denied(struct chat_channel *ch, struct chat_member *mb,
				 struct chat_client *c, uint64_t now_ms, char *buf, size_t cap)
{
	if (!mb)
		return (ch->flags & CHAT_CM_NOEXT) ? "Cannot send to channel (no external messages)" : NULL;
	if (mb->op)
		return NULL;
	if (banned(ch, c, cp_chat_wall_s()))
		return "Cannot send to channel (you are banned or timed out)";
	if (mb->voice)
		return NULL;
	if (ch->flags & CHAT_CM_MODERATED)
		return "Cannot send to channel (+m)";
	if (ch->flags & CHAT_CM_SUBS)
		return "Cannot send to channel (subscribers only)";
	if (ch->follow_s && now_ms - mb->joined_ms < (uint64_t)ch->follow_s * 1000)
		return "Cannot send to channel (followers only)";
	if (ch->slow_s && mb->last_msg_ms && now_ms - mb->last_msg_ms < (uint64_t)ch->slow_s * 1000) {
		snprintf(buf, cap, "Cannot send to channel (slow mode: wait %llu s)",
			 (unsigned long long)((ch->slow_s * 1000ull - (now_ms - mb->last_msg_ms) + 999) / 1000));
		return buf;
	}
	return NULL;
}

static void moderate(struct chat_client *c, struct chat_channel *ch, const struct cp_chat_verdict *v,
		     const char *text, const char *msgid, int notice)
{
	struct cp_chat *chat = c->chat;
	const char *act = cp_chat_action_name(v->action);
	cp_chat_log_record(chat, ch, c->nick, msgid, text, act, v->line);
	if (v->action == CP_CHAT_ACT_HOLD && !notice) {
		hold(c, ch, text, msgid, v->line);
		return;
	}
	chat->n_blocked++;
	if (v->action == CP_CHAT_ACT_TIMEOUT)
		timeout_member(chat, ch, c, v->timeout_s, chat->conf.server_name, "moderation rule");
	if (!notice)
		cp_chat_num(c, "404", "%s :Cannot send to channel (message blocked by moderation)",
			    ch->name);
}

void cp_irc_chan_message(struct chat_client *c, const char *cmd, const char *target,
			 const char *text, size_t tlen, int notice)
{
	struct cp_chat *chat = c->chat;
	struct chat_channel *ch = cp_chat_chan_find(chat, target);
	if (!ch) {
		if (!notice)
			cp_chat_num(c, "403", "%s :No such channel", target);
		return;
	}
	struct chat_member *mb = cp_chat_member_of(c, ch);
	uint64_t now = cp_chat_now_ms(chat);
	char why[96];
	const char *deny = speech_denied(ch, mb, c, now, why, sizeof(why));
	if (deny) {
		if (!notice)
			cp_chat_num(c, "404", "%s :%s", ch->name, deny);
		return;
	}
	char msgid[CHAT_MSGIDLEN], mask[CHAT_MASKLEN + 1];
	cp_chat_new_msgid(chat, msgid, sizeof(msgid));
	struct cp_chat_verdict v;
	char *t = (char *)text; /* caller's private copy: masking is in place */
	cp_chat_scan(&chat->scanner, t, tlen, &v);
	if (v.action > CP_CHAT_ACT_MASK) {
		moderate(c, ch, &v, text, msgid, notice);
		return;
	}
	if (v.action == CP_CHAT_ACT_MASK)
		chat->n_masked++;
	if (mb)
		mb->last_msg_ms = now;
	cp_chat_client_mask(c, mask, sizeof(mask));
	deliver(c, ch, mask, cmd, text, tlen, msgid, c->nick);
	cp_chat_log_record(chat, ch, c->nick, msgid, text, v.action == CP_CHAT_ACT_MASK ? "mask" : "none",
			   v.line);
}
