/* IRC commands that are not about one channel: registration, capability
 * negotiation, PING, NICK, QUIT, AWAY, WHO, WHOIS, LIST, MOTD, STATS, user
 * MODE, private PRIVMSG/NOTICE, and the dispatch table. */
#include <errno.h>
#include <string.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/chat/cp_irc_mode.h"
#include "controlplane/cp_log.h"

#define CAP_LIST "message-tags server-time multi-prefix echo-message"

struct cap_name {
	const char *name;
	unsigned bit;
};
static const struct cap_name cap_names[] = {
	{ "message-tags", CHAT_CAP_TAGS },
	{ "server-time", CHAT_CAP_TIME },
	{ "multi-prefix", CHAT_CAP_MULTI },
	{ "echo-message", CHAT_CAP_ECHO },
};

/* Copy a param slice as a C string, cut to cap-1. */
static void param(const struct cp_irc_msg *m, size_t i, char *out, size_t cap)
{
	size_t n = 0;
	if (i < m->nparams) {
		n = m->params[i].n < cap - 1 ? m->params[i].n : cap - 1;
		memcpy(out, m->params[i].p, n);
	}
	out[n] = '\0';
}

static int cmd_is(const struct cp_irc_msg *m, const char *name)
{
	size_t n = strlen(name);
	if (m->command.n != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = m->command.p[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != name[i])
			return 0;
	}
	return 1;
}

static int need(struct chat_client *c, const struct cp_irc_msg *m, size_t n, const char *cmd)
{
	if (m->nparams >= n && (n == 0 || m->params[n - 1].n > 0))
		return 0;
	cp_chat_num(c, "461", "%s :Not enough parameters", cmd);
	return -1;
}

/* ------------------------------------------------------------ registration */

static void send_isupport(struct chat_client *c)
{
	const struct chat_conf *cf = &c->chat->conf;
	cp_chat_num(c, "005",
		    "AWAYLEN=%d CASEMAPPING=ascii CHANLIMIT=#:%llu CHANMODES=b,k,lSF,imntU "
		    "CHANNELLEN=%d CHANTYPES=# KICKLEN=%d MAXLIST=b:%d MODES=4 NETWORK=lifecast "
		    "NICKLEN=%d PREFIX=(ov)@+ TOPICLEN=%d :are supported by this server",
		    CHAT_AWAYLEN, (unsigned long long)cf->max_channels, CHAT_CHANLEN,
		    CHAT_TOPICLEN, CHAT_BANS_MAX, CHAT_NICKLEN, CHAT_TOPICLEN);
}

static void send_motd(struct chat_client *c)
{
	const char *motd = c->chat->conf.motd;
	if (!motd[0]) {
		cp_chat_num(c, "422", ":MOTD File is missing");
		return;
	}
	cp_chat_num(c, "375", ":- %s Message of the day -", c->chat->conf.server_name);
	for (const char *p = motd; *p;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		cp_chat_num(c, "372", ":- %.*s", (int)n, p);
		p += n + (e ? 1 : 0);
	}
	cp_chat_num(c, "376", ":End of /MOTD command.");
}

static void try_register(struct chat_client *c)
{
	struct cp_chat *chat = c->chat;
	if (c->registered || c->cap_pending || !c->nick[0] || !c->got_user)
		return;
	if (cp_chat_find_nick(chat, c->nick)) {
		cp_chat_num(c, "433", "%s :Nickname is already in use", c->nick);
		c->nick[0] = '\0';
		return;
	}
	c->registered = 1;
	cp_chat_nick_set(c, c->nick); /* enters the nick table */
	char mask[CHAT_MASKLEN + 1];
	cp_chat_client_mask(c, mask, sizeof(mask));
	const char *srv = chat->conf.server_name;
	cp_chat_num(c, "001", ":Welcome to the lifecast chat network %s", mask);
	cp_chat_num(c, "002", ":Your host is %s, running version lifecast-1", srv);
	cp_chat_num(c, "003", ":This server was created at start-up");
	cp_chat_num(c, "004", "%s lifecast-1 i bkloqvimntUSF bkloqvSF", srv);
	send_isupport(c);
	cp_chat_num(c, "251", ":There are %zu users on 1 server", chat->nclients);
	send_motd(c);
}

static void cmd_pass(struct chat_client *c, const struct cp_irc_msg *m)
{
	if (c->registered) {
		cp_chat_num(c, "462", ":You may not reregister");
		return;
	}
	if (need(c, m, 1, "PASS") < 0)
		return;
	param(m, 0, c->pass, sizeof(c->pass));
	c->has_pass = 1;
}

static void cmd_nick(struct chat_client *c, const struct cp_irc_msg *m)
{
	if (m->nparams < 1 || m->params[0].n == 0) {
		cp_chat_num(c, "431", ":No nickname given");
		return;
	}
	char nick[CHAT_NICKLEN + 1];
	const struct cp_irc_slice *p = &m->params[0];
	if (cp_irc_nick_valid(p->p, p->n, CHAT_NICKLEN) < 0) {
		cp_chat_num(c, "432", "%.*s :Erroneous nickname", (int)(p->n > 64 ? 64 : p->n), p->p);
		return;
	}
	param(m, 0, nick, sizeof(nick));
	struct chat_client *o = cp_chat_find_nick(c->chat, nick);
	if (o && o != c) {
		cp_chat_num(c, "433", "%s :Nickname is already in use", nick);
		return;
	}
	if (!c->registered) {
		cp_chat_strlcpy(c->nick, nick, sizeof(c->nick));
		try_register(c);
		return;
	}
	if (strcmp(nick, c->nick) == 0)
		return;
	char body[CP_IRC_LINE_MAX + 8], mask[CHAT_MASKLEN + 1], now[40];
	cp_chat_client_mask(c, mask, sizeof(mask));
	cp_chat_iso_time(now, sizeof(now));
	struct chat_relay r = { body, cp_chat_fmt_body(body, sizeof(body), ":%s NICK :%s", mask, nick),
				now, NULL, NULL };
	c->chat->gen++;
	c->seen_gen = c->chat->gen;
	cp_chat_send_relay(c, &r);
	for (struct chat_member *mb = c->chans; mb; mb = mb->cnext)
		for (size_t i = 0; i < mb->ch->nmembers; i++) {
			struct chat_client *peer = mb->ch->members[i]->c;
			if (peer->seen_gen != c->chat->gen) {
				peer->seen_gen = c->chat->gen;
				cp_chat_send_relay(peer, &r);
			}
		}
	cp_chat_nick_set(c, nick);
}

static void cmd_user(struct chat_client *c, const struct cp_irc_msg *m)
{
	if (c->registered) {
		cp_chat_num(c, "462", ":You may not reregister");
		return;
	}
	if (need(c, m, 4, "USER") < 0)
		return;
	const struct cp_irc_slice *u = &m->params[0];
	size_t n = u->n < CHAT_USERLEN ? u->n : CHAT_USERLEN;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) /* keep the ident printable and '@'/'!'-free */
		if (u->p[i] > ' ' && u->p[i] != '@' && u->p[i] != '!' && u->p[i] != '*')
			c->user[o++] = u->p[i];
	c->user[o] = '\0';
	if (!o)
		snprintf(c->user, sizeof(c->user), "user");
	param(m, 3, c->real, sizeof(c->real));
	c->got_user = 1;
	try_register(c);
}

static void cap_ls(struct chat_client *c)
{
	if (!c->registered)
		c->cap_pending = 1;
	cp_chat_reply(c, "CAP %s LS :" CAP_LIST, c->nick[0] ? c->nick : "*");
}

static void cap_list(struct chat_client *c)
{
	char buf[256] = "";
	size_t n = 0;
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (c->caps & cap_names[i].bit)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "",
					      cap_names[i].name);
	cp_chat_reply(c, "CAP %s LIST :%s", c->nick[0] ? c->nick : "*", buf);
}

/* All-or-nothing, as the spec requires. */
static void cap_req(struct chat_client *c, const char *req)
{
	unsigned add = 0, del = 0;
	char tmp[CP_IRC_LINE_MAX];
	cp_chat_strlcpy(tmp, req, sizeof(tmp));
	char *save = NULL;
	int ok = 1;
	for (char *t = strtok_r(tmp, " ", &save); t && ok; t = strtok_r(NULL, " ", &save)) {
		int neg = t[0] == '-';
		const char *name = t + neg;
		size_t i;
		for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			if (strcmp(cap_names[i].name, name) == 0)
				break;
		if (i == sizeof(cap_names) / sizeof(cap_names[0])) {
			ok = 0;
			break;
		}
		if (neg)
			del |= cap_names[i].bit;
		else
			add |= cap_names[i].bit;
	}
	const char *who = c->nick[0] ? c->nick : "*";
	if (!ok) {
		cp_chat_reply(c, "CAP %s NAK :%s", who, req);
		return;
	}
	c->caps = (c->caps | add) & ~del;
	cp_chat_reply(c, "CAP %s ACK :%s", who, req);
}

static void cmd_cap(struct chat_client *c, const struct cp_irc_msg *m)
{
	char sub[16], arg[CP_IRC_LINE_MAX];
	if (need(c, m, 1, "CAP") < 0)
		return;
	param(m, 0, sub, sizeof(sub));
	param(m, 1, arg, sizeof(arg));
	for (char *p = sub; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	if (strcmp(sub, "LS") == 0) {
		cap_ls(c);
	} else if (strcmp(sub, "LIST") == 0) {
		cap_list(c);
	} else if (strcmp(sub, "REQ") == 0) {
		if (!c->registered)
			c->cap_pending = 1;
		cap_req(c, arg);
	} else if (strcmp(sub, "END") == 0) {
		c->cap_pending = 0;
		try_register(c);
	} else {
		cp_chat_num(c, "410", "%s :Invalid CAP command", sub);
	}
}

/* ---------------------------------------------------------------- simple */

static void cmd_ping(struct chat_client *c, const struct cp_irc_msg *m)
{
	char tok[CP_IRC_LINE_MAX];
	if (m->nparams < 1) {
		cp_chat_num(c, "409", ":No origin specified");
		return;
	}
	param(m, 0, tok, sizeof(tok));
	cp_chat_reply(c, "PONG %s :%s", c->chat->conf.server_name, tok);
}

void cp_chat_quit_fanout(struct chat_client *c, const char *quitmsg)
{
	char body[CP_IRC_LINE_MAX + 8], mask[CHAT_MASKLEN + 1], now[40];
	cp_chat_client_mask(c, mask, sizeof(mask));
	cp_chat_iso_time(now, sizeof(now));
	struct chat_relay r = { body,
				cp_chat_fmt_body(body, sizeof(body), ":%s QUIT :%s", mask, quitmsg),
				now, NULL, NULL };
	struct cp_chat *chat = c->chat;
	chat->gen++;
	c->seen_gen = chat->gen;
	for (struct chat_member *mb = c->chans; mb; mb = mb->cnext)
		for (size_t i = 0; i < mb->ch->nmembers; i++) {
			struct chat_client *peer = mb->ch->members[i]->c;
			if (peer->seen_gen != chat->gen) {
				peer->seen_gen = chat->gen;
				cp_chat_send_relay(peer, &r);
			}
		}
}

static void cmd_quit(struct chat_client *c, const struct cp_irc_msg *m)
{
	char msg[CP_IRC_LINE_MAX], q[CP_IRC_LINE_MAX + 8];
	param(m, 0, msg, sizeof(msg));
	snprintf(q, sizeof(q), "Quit: %s", msg);
	cp_chat_client_quit(c, q, "Quit");
}

static void cmd_away(struct chat_client *c, const struct cp_irc_msg *m)
{
	param(m, 0, c->away, sizeof(c->away));
	if (c->away[0])
		cp_chat_num(c, "306", ":You have been marked as being away");
	else
		cp_chat_num(c, "305", ":You are no longer marked as being away");
}

static void cmd_motd(struct chat_client *c, const struct cp_irc_msg *m)
{
	send_motd(c);
}

static void who_line(struct chat_client *c, const char *chan, struct chat_client *t,
		     const struct chat_member *mb)
{
	const char *pfx = "";
	if (mb && mb->op)
		pfx = (mb->voice && (c->caps & CHAT_CAP_MULTI)) ? "@+" : "@";
	else if (mb && mb->voice)
		pfx = "+";
	cp_chat_num(c, "352", "%s %s %s %s %s %s%s :0 %s", chan, t->user, cp_chat_client_host(t),
		    c->chat->conf.server_name, t->nick, t->away[0] ? "G" : "H", pfx, t->real);
}

static void cmd_who(struct chat_client *c, const struct cp_irc_msg *m)
{
	char mask[CP_IRC_LINE_MAX];
	param(m, 0, mask, sizeof(mask));
	if (mask[0] == '#') {
		struct chat_channel *ch = cp_chat_chan_find(c->chat, mask);
		int in = ch && cp_chat_member_of(c, ch);
		for (size_t i = 0; ch && i < ch->nmembers; i++) {
			struct chat_member *mb = ch->members[i];
			if (mb->c->invisible && !in && mb->c != c)
				continue;
			who_line(c, ch->name, mb->c, mb);
		}
	} else if (mask[0]) {
		struct chat_client *t = cp_chat_find_nick(c->chat, mask);
		if (t)
			who_line(c, "*", t, NULL);
	}
	cp_chat_num(c, "315", "%s :End of WHO list", mask[0] ? mask : "*");
}

static void whois_channels(struct chat_client *c, struct chat_client *t)
{
	char buf[CP_IRC_LINE_MAX];
	size_t n = 0;
	for (struct chat_member *mb = t->chans; mb; mb = mb->cnext) {
		const char *pfx = mb->op ? "@" : (mb->voice ? "+" : "");
		int w = snprintf(buf + n, sizeof(buf) - n, "%s%s%s", n ? " " : "", pfx, mb->ch->name);
		if (w < 0 || (size_t)w >= sizeof(buf) - n - 100) {
			cp_chat_num(c, "319", "%s :%s", t->nick, buf);
			n = 0;
			continue;
		}
		n += (size_t)w;
	}
	if (n)
		cp_chat_num(c, "319", "%s :%s", t->nick, buf);
}

static void cmd_whois(struct chat_client *c, const struct cp_irc_msg *m)
{
	char nick[CHAT_NICKLEN + 1];
	if (m->nparams < 1) {
		cp_chat_num(c, "431", ":No nickname given");
		return;
	}
	param(m, m->nparams - 1, nick, sizeof(nick)); /* WHOIS [server] nick */
	struct chat_client *t = cp_chat_find_nick(c->chat, nick);
	if (!t) {
		cp_chat_num(c, "401", "%s :No such nick/channel", nick);
		cp_chat_num(c, "318", "%s :End of /WHOIS list", nick);
		return;
	}
	cp_chat_num(c, "311", "%s %s %s * :%s", t->nick, t->user, cp_chat_client_host(t), t->real);
	whois_channels(c, t);
	cp_chat_num(c, "312", "%s %s :lifecast chat", t->nick, c->chat->conf.server_name);
	if (t->away[0])
		cp_chat_num(c, "301", "%s :%s", t->nick, t->away);
	cp_chat_num(c, "317", "%s %llu %llu :seconds idle, signon time", t->nick,
		    (unsigned long long)((cp_chat_now_ms(c->chat) - t->last_rx_ms) / 1000),
		    (unsigned long long)t->signon_s);
	cp_chat_num(c, "318", "%s :End of /WHOIS list", t->nick);
}

static void cmd_list(struct chat_client *c, const struct cp_irc_msg *m)
{
	char topic[CHAT_TOPICLEN + 32];
	cp_chat_num(c, "321", "Channel :Users  Name");
	for (struct chat_channel *ch = c->chat->chan_list; ch; ch = ch->next) {
		cp_chat_topic_display(ch, topic, sizeof(topic));
		cp_chat_num(c, "322", "%s %zu :%s", ch->name, ch->nmembers, topic);
	}
	cp_chat_num(c, "323", ":End of /LIST");
}

/* STATS h: moderation and delivery counters (used by bench-chat). */
static void cmd_stats(struct chat_client *c, const struct cp_irc_msg *m)
{
	struct cp_chat *chat = c->chat;
	char q[8];
	param(m, 0, q, sizeof(q));
	if (q[0] == 'h') {
		cp_chat_num(c, "249", "h :rules=%zu scans=%llu bytes=%llu ns=%llu",
			    cp_chat_rules_count(chat->rules), (unsigned long long)chat->scanner.scans,
			    (unsigned long long)chat->scanner.bytes,
			    (unsigned long long)chat->scanner.ns);
		cp_chat_num(c, "249",
			    "h :clients=%zu messages=%llu deliveries=%llu blocked=%llu masked=%llu "
			    "held=%llu timeouts=%llu flood_kills=%llu sendq_kills=%llu",
			    chat->nclients, (unsigned long long)chat->n_msgs,
			    (unsigned long long)chat->n_deliveries, (unsigned long long)chat->n_blocked,
			    (unsigned long long)chat->n_masked, (unsigned long long)chat->n_held,
			    (unsigned long long)chat->n_timeouts,
			    (unsigned long long)chat->n_flood_kills,
			    (unsigned long long)chat->n_sendq_kills);
	}
	cp_chat_num(c, "219", "%s :End of /STATS report", q[0] ? q : "*");
}

static void cmd_umode(struct chat_client *c, const struct cp_irc_msg *m, const char *target)
{
	if (cp_chat_casecmp(target, c->nick) != 0) {
		cp_chat_num(c, "502", ":Cant change mode for other users");
		return;
	}
	if (m->nparams < 2) {
		cp_chat_num(c, "221", "%s", c->invisible ? "+i" : "+");
		return;
	}
	const struct cp_irc_slice *s = &m->params[1];
	int add = 1, changed = 0, bad = 0;
	for (size_t i = 0; i < s->n; i++) {
		char ch = s->p[i];
		if (ch == '+' || ch == '-') {
			add = ch == '+';
		} else if (ch == 'i') {
			changed |= (int)c->invisible != add;
			c->invisible = (unsigned)add;
		} else {
			bad = 1;
		}
	}
	if (bad)
		cp_chat_num(c, "501", ":Unknown MODE flag");
	if (changed)
		cp_chat_reply(c, "MODE %s %ci", c->nick, c->invisible ? '+' : '-');
}

static void cmd_mode(struct chat_client *c, const struct cp_irc_msg *m)
{
	char target[CHAT_CHANLEN + 1];
	if (need(c, m, 1, "MODE") < 0)
		return;
	param(m, 0, target, sizeof(target));
	if (target[0] == '#')
		cp_irc_cmd_chanmode(c, m);
	else if (cp_chat_find_nick(c->chat, target))
		cmd_umode(c, m, target);
	else
		cp_chat_num(c, "401", "%s :No such nick/channel", target);
}

/* Client-only tags (+name) go on with the message to message-tags clients. */
static void client_tags(const struct cp_irc_msg *m, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < m->ntags; i++) {
		const struct cp_irc_tag *t = &m->tags[i];
		if (t->key.n == 0 || t->key.p[0] != '+')
			continue;
		int w = snprintf(out + n, cap - n, "%s%.*s%s%.*s", n ? ";" : "", (int)t->key.n,
				 t->key.p, t->value.n ? "=" : "", (int)t->value.n, t->value.p);
		if (w < 0 || (size_t)w >= cap - n) {
			out[n] = '\0';
			return;
		}
		n += (size_t)w;
	}
}

/* PRIVMSG/NOTICE to a nick: filtered like channel text. */
static void private_message(struct chat_client *c, const char *cmd, const char *target,
			    char *text, size_t tlen, int notice, const char *ctags)
{
	struct cp_chat *chat = c->chat;
	struct chat_client *t = cp_chat_find_nick(chat, target);
	if (!t) {
		if (!notice)
			cp_chat_num(c, "401", "%s :No such nick/channel", target);
		return;
	}
	struct cp_chat_verdict v;
	cp_chat_scan(&chat->scanner, text, tlen, &v);
	if (v.action > CP_CHAT_ACT_MASK) {
		chat->n_blocked++;
		if (!notice)
			cp_chat_reply(c, "NOTICE %s :Your message to %s was blocked by moderation",
				      c->nick, t->nick);
		return;
	}
	char body[CP_IRC_LINE_MAX + 8], mask[CHAT_MASKLEN + 1], now[40], id[CHAT_MSGIDLEN];
	cp_chat_client_mask(c, mask, sizeof(mask));
	cp_chat_iso_time(now, sizeof(now));
	cp_chat_new_msgid(chat, id, sizeof(id));
	struct chat_relay r = { body,
				cp_chat_fmt_body(body, sizeof(body), ":%s %s %s :%.*s", mask, cmd,
						 t->nick, (int)tlen, text),
				now, id, ctags };
	cp_chat_send_relay(t, &r);
	if (c->caps & CHAT_CAP_ECHO)
		cp_chat_send_relay(c, &r);
	if (!notice && t->away[0])
		cp_chat_num(c, "301", "%s :%s", t->nick, t->away);
}

static void cmd_msg(struct chat_client *c, const struct cp_irc_msg *m, int notice)
{
	const char *cmd = notice ? "NOTICE" : "PRIVMSG";
	if (m->nparams < 1 || m->params[0].n == 0) {
		if (!notice)
			cp_chat_num(c, "411", ":No recipient given (%s)", cmd);
		return;
	}
	if (m->nparams < 2 || m->params[1].n == 0) {
		if (!notice)
			cp_chat_num(c, "412", ":No text to send");
		return;
	}
	char targets[CP_IRC_LINE_MAX], text[CP_IRC_LINE_MAX], ctags[1024];
	param(m, 0, targets, sizeof(targets));
	param(m, 1, text, sizeof(text));
	client_tags(m, ctags, sizeof(ctags));
	size_t tlen = strlen(text);
	char copy[CP_IRC_LINE_MAX];
	char *save = NULL;
	int n = 0;
	for (char *t = strtok_r(targets, ",", &save); t && n < 4; t = strtok_r(NULL, ",", &save), n++) {
		memcpy(copy, text, tlen + 1); /* masking works in place */
		if (t[0] == '#')
			cp_irc_chan_message(c, cmd, t, copy, tlen, notice);
		else
			private_message(c, cmd, t, copy, tlen, notice, ctags);
	}
}

/* ---------------------------------------------------------------- dispatch */

typedef void (*cmd_fn)(struct chat_client *, const struct cp_irc_msg *);

struct cmd_entry {
	const char *name;
	cmd_fn fn;
	int prereg; /* allowed before registration */
};

static void cmd_privmsg(struct chat_client *c, const struct cp_irc_msg *m) { cmd_msg(c, m, 0); }
static void cmd_notice(struct chat_client *c, const struct cp_irc_msg *m) { cmd_msg(c, m, 1); }
static void cmd_pong(struct chat_client *c, const struct cp_irc_msg *m) {}

static const struct cmd_entry cmds[] = {
	{ "PRIVMSG", cmd_privmsg, 0 },
	{ "NOTICE", cmd_notice, 0 },
	{ "PING", cmd_ping, 1 },
	{ "PONG", cmd_pong, 1 },
	{ "JOIN", cp_irc_cmd_join, 0 },
	{ "PART", cp_irc_cmd_part, 0 },
	{ "NICK", cmd_nick, 1 },
	{ "USER", cmd_user, 1 },
	{ "PASS", cmd_pass, 1 },
	{ "CAP", cmd_cap, 1 },
	{ "QUIT", cmd_quit, 1 },
	{ "MODE", cmd_mode, 0 },
	{ "KICK", cp_irc_cmd_kick, 0 },
	{ "TOPIC", cp_irc_cmd_topic, 0 },
	{ "NAMES", cp_irc_cmd_names, 0 },
	{ "WHO", cmd_who, 0 },
	{ "WHOIS", cmd_whois, 0 },
	{ "LIST", cmd_list, 0 },
	{ "MOTD", cmd_motd, 0 },
	{ "AWAY", cmd_away, 0 },
	{ "INVITE", cp_irc_cmd_invite, 0 },
	{ "STATS", cmd_stats, 0 },
	{ "TIMEOUT", cp_irc_cmd_timeout, 0 },
	{ "CLEARMSG", cp_irc_cmd_clearmsg, 0 },
	{ "APPROVE", cp_irc_cmd_approve, 0 },
};

void cp_chat_dispatch(struct chat_client *c, const struct cp_irc_msg *m)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!cmd_is(m, cmds[i].name))
			continue;
		if (!c->registered && !cmds[i].prereg) {
			cp_chat_num(c, "451", ":You have not registered");
			return;
		}
		cmds[i].fn(c, m);
		return;
	}
	if (!c->registered) {
		cp_chat_num(c, "451", ":You have not registered");
		return;
	}
	cp_chat_num(c, "421", "%.*s :Unknown command", (int)(m->command.n > 32 ? 32 : m->command.n),
		    m->command.p);
}
