/* IRC line parser: framing, tags, prefix, command, params. See cp_irc_parse.h. */
#include "controlplane/chat/cp_irc_parse.h"

#include <errno.h>
#include <string.h>

static int is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Tag keys: ['+'] [vendor '/'] name, made of letters, digits, '-', '.', '/'. */
static int tag_key_valid(const char *k, size_t n)
{
	size_t i = 0;
	if (n > 0 && k[0] == '+')
		i = 1;
	if (i == n)
		return 0;
	for (; i < n; i++) {
		char c = k[i];
		if (!is_letter(c) && !is_digit(c) && c != '-' && c != '.' && c != '/')
			return 0;
	}
	return 1;
}

/* Parse "k=v;k2;..." in s[0..n). */
static int parse_tags(const char *s, size_t n, struct cp_irc_msg *msg)
{
	size_t i = 0;
	while (i < n) {
		size_t ks = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		if (!tag_key_valid(s + ks, i - ks))
			return -EINVAL;
		if (msg->ntags == CP_IRC_MAX_TAGS)
			return -E2BIG;
		struct cp_irc_tag *t = &msg->tags[msg->ntags++];
		t->key.p = s + ks;
		t->key.n = i - ks;
		t->value.p = s + i;
		t->value.n = 0;
		if (i < n && s[i] == '=') {
			size_t vs = ++i;
			while (i < n && s[i] != ';')
				i++;
			t->value.p = s + vs;
			t->value.n = i - vs;
		}
		if (i < n)
			i++; /* ';' */
	}
	return 0;
}

static int parse_command(const char *s, size_t n, size_t *pos, struct cp_irc_msg *msg)
{
	size_t i = *pos;
	size_t cs = i;
	while (i < n && s[i] != ' ')
		i++;
	size_t cn = i - cs;
	if (cn == 0)
		return -EINVAL;
	int letters = 1, digits = 1;
	for (size_t k = cs; k < i; k++) {
		letters &= is_letter(s[k]);
		digits &= is_digit(s[k]);
	}
	if (!letters && !(digits && cn == 3))
		return -EINVAL;
	msg->command.p = s + cs;
	msg->command.n = cn;
	*pos = i;
	return 0;
}

static void parse_params(const char *s, size_t n, size_t i, struct cp_irc_msg *msg)
{
	for (;;) {
		while (i < n && s[i] == ' ')
			i++;
		if (i >= n)
			return;
		struct cp_irc_slice *p = &msg->params[msg->nparams++];
		/* RFC 2812: after 14 middle params the rest is the last one. */
		if (s[i] == ':' || msg->nparams == CP_IRC_MAX_PARAMS) {
			if (s[i] == ':')
				i++;
			p->p = s + i;
			p->n = n - i;
			msg->has_trailing = 1;
			return;
		}
		size_t ps = i;
		while (i < n && s[i] != ' ')
			i++;
		p->p = s + ps;
		p->n = i - ps;
	}
}

/* Find the terminator within the limit for this line. Returns the index of
 * '\n', -1 when more input may complete the line, -2 when over the limit. */
static ssize_t find_eol(const char *buf, size_t len)
{
	size_t limit = (len > 0 && buf[0] == '@') ? CP_IRC_LINE_MAX_TAGGED : CP_IRC_LINE_MAX;
	size_t scan = len < limit ? len : limit;
	const char *nl = memchr(buf, '\n', scan);
	if (nl)
		return nl - buf;
	return len >= limit ? -2 : -1;
}

ssize_t cp_irc_parse(const char *buf, size_t len, struct cp_irc_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	ssize_t eol = find_eol(buf, len);
	if (eol == -1)
		return 0;
	if (eol == -2)
		return -EMSGSIZE;
	msg->linelen = (size_t)eol + 1;
	size_t n = (size_t)eol;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\0', n) || memchr(buf, '\r', n))
		return -EINVAL;

	size_t i = 0;
	while (i < n && buf[i] == ' ')
		i++;
	if (i == n)
		return (ssize_t)msg->linelen; /* empty line: ignored by callers */
	if (buf[i] == '@') {
		size_t ts = ++i;
		while (i < n && buf[i] != ' ')
			i++;
		if (i == ts)
			return -EINVAL; /* '@' with no tags */
		int rc = parse_tags(buf + ts, i - ts, msg);
		if (rc < 0)
			return rc;
		while (i < n && buf[i] == ' ')
			i++;
		/* The untagged rest must fit the classic 512 (with CRLF). */
		if (n - i + 2 > CP_IRC_LINE_MAX)
			return -EMSGSIZE;
	}
	if (i < n && buf[i] == ':') {
		size_t ps = ++i;
		while (i < n && buf[i] != ' ')
			i++;
		if (i == ps)
			return -EINVAL;
		msg->prefix.p = buf + ps;
		msg->prefix.n = i - ps;
		while (i < n && buf[i] == ' ')
			i++;
	}
	int rc = parse_command(buf, n, &i, msg);
	if (rc < 0)
		return rc;
	parse_params(buf, n, i, msg);
	return (ssize_t)msg->linelen;
}

ssize_t cp_irc_tag_unescape(const char *in, size_t n, char *out, size_t outcap)
{
	if (outcap == 0)
		return -ENOBUFS;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c == '\\') {
			if (++i == n)
				break; /* lone trailing backslash */
			switch (in[i]) {
			case ':': c = ';'; break;
			case 's': c = ' '; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			default: c = in[i]; break;
			}
		}
		if (o + 1 >= outcap) {
			out[o] = '\0';
			return -ENOBUFS;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

ssize_t cp_irc_tag_escape(const char *in, size_t n, char *out, size_t outcap)
{
	if (outcap == 0)
		return -ENOBUFS;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char e = 0;
		switch (in[i]) {
		case ';': e = ':'; break;
		case ' ': e = 's'; break;
		case '\\': e = '\\'; break;
		case '\r': e = 'r'; break;
		case '\n': e = 'n'; break;
		default: break;
		}
		size_t need = e ? 2 : 1;
		if (o + need >= outcap) {
			out[o] = '\0';
			return -ENOBUFS;
		}
		if (e) {
			out[o++] = '\\';
			out[o++] = e;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	return (ssize_t)o;
}

int cp_irc_prefix_split(struct cp_irc_slice prefix, struct cp_irc_slice *nick,
			struct cp_irc_slice *user, struct cp_irc_slice *host)
{
	const char *p = prefix.p, *end = prefix.p + prefix.n;
	const char *bang = memchr(p, '!', prefix.n);
	const char *at = memchr(p, '@', prefix.n);
	const char *nick_end = bang ? bang : (at ? at : end);
	if (at && bang && at < bang)
		nick_end = at, bang = NULL;
	nick->p = p;
	nick->n = (size_t)(nick_end - p);
	user->p = NULL;
	user->n = 0;
	host->p = NULL;
	host->n = 0;
	if (bang) {
		const char *ue = at ? at : end;
		user->p = bang + 1;
		user->n = (size_t)(ue - bang - 1);
	}
	if (at) {
		host->p = at + 1;
		host->n = (size_t)(end - at - 1);
	}
	return nick->n == 0 ? -EINVAL : 0;
}

static int nick_special(char c)
{
	return c == '[' || c == ']' || c == '\\' || c == '`' || c == '_' || c == '^' ||
	       c == '{' || c == '|' || c == '}';
}

int cp_irc_nick_valid(const char *s, size_t n, size_t maxlen)
{
	if (n == 0 || n > maxlen)
		return -EINVAL;
	if (!is_letter(s[0]) && !nick_special(s[0]))
		return -EINVAL;
	for (size_t i = 1; i < n; i++)
		if (!is_letter(s[i]) && !nick_special(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return -EINVAL;
	return 0;
}

int cp_irc_chan_valid(const char *s, size_t n, size_t maxlen)
{
	if (n < 2 || n > maxlen || s[0] != '#')
		return -EINVAL;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == 7 || c == '\r' || c == '\n' || c == ' ' || c == ',' || c == ':')
			return -EINVAL;
	}
	return 0;
}
