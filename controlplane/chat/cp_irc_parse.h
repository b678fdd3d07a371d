/* IRC line parser (RFC 1459/2812 framing with IRCv3 message tags).
 *
 *   [@tag[=value];tag...] [:prefix] COMMAND [param ...] [:trailing] CRLF
 *
 * The parser takes (buf, len), allocates nothing and never reads past len:
 * every slice in struct cp_irc_msg points into buf. LF alone ends a line as
 * well (many clients send it). Limits follow the IRCv3 spec: the part after
 * the tags is at most 512 bytes with its CRLF, the whole line with tags at
 * most CP_IRC_LINE_MAX_TAGGED.
 */
#ifndef CP_IRC_PARSE_H
#define CP_IRC_PARSE_H

#include <stddef.h>
#include <sys/types.h>

#define CP_IRC_LINE_MAX        512  /* without tags, CRLF included */
#define CP_IRC_LINE_MAX_TAGGED 8191 /* with tags, CRLF included */
#define CP_IRC_MAX_PARAMS      15
#define CP_IRC_MAX_TAGS        32

struct cp_irc_slice {
	const char *p;
	size_t n;
};

struct cp_irc_tag {
	struct cp_irc_slice key;   /* may start with '+' (client-only tag) */
	struct cp_irc_slice value; /* still escaped; n == 0 when absent or empty */
};

struct cp_irc_msg {
	struct cp_irc_tag tags[CP_IRC_MAX_TAGS];
	size_t ntags;
	struct cp_irc_slice prefix;  /* without ':'; n == 0 when absent */
	struct cp_irc_slice command; /* letters or 3 digits; n == 0: empty line */
	struct cp_irc_slice params[CP_IRC_MAX_PARAMS];
	size_t nparams;
	int has_trailing; /* last param came after " :" (may be empty) */
	size_t linelen;   /* bytes of the line incl. terminator (set on errors too
			     when the line is complete, so the caller can skip it) */
};

/* Parse the first line of buf[0..len).
 * Returns bytes consumed (> 0, terminator included) with msg filled in;
 * 0 when no terminator is within len and len is still under the limit (need
 * more); or a negative error:
 *   -EMSGSIZE line longer than the limits (msg->linelen set when the
 *             terminator was found, 0 when the caller must discard up to it)
 *   -EINVAL   malformed: bad tag key, NUL byte, bad command, missing command
 *   -E2BIG    more than CP_IRC_MAX_TAGS tags or CP_IRC_MAX_PARAMS params
 * An empty line (only a terminator) returns its length with command.n == 0. */
ssize_t cp_irc_parse(const char *buf, size_t len, struct cp_irc_msg *msg);

/* Unescape an IRCv3 tag value (\: ; \s space, \\ \, \r, \n; a lone trailing
 * backslash is dropped, unknown escapes lose the backslash). Writes at most
 * outcap-1 bytes plus a NUL. Returns the unescaped length, or -ENOBUFS when it
 * did not fit (out holds a truncated, NUL-terminated prefix). */
ssize_t cp_irc_tag_unescape(const char *in, size_t n, char *out, size_t outcap);

/* Escape a tag value for sending. Same return convention as unescape. */
ssize_t cp_irc_tag_escape(const char *in, size_t n, char *out, size_t outcap);

/* Split a prefix slice "nick!user@host" into its parts (user/host n == 0 when
 * absent). Returns 0, or -EINVAL when the nick part is empty. */
int cp_irc_prefix_split(struct cp_irc_slice prefix, struct cp_irc_slice *nick,
			struct cp_irc_slice *user, struct cp_irc_slice *host);

/* Syntax checks used for every client-controlled name.
 * Nick: 1..maxlen, first char letter or one of []\`_^{|}, then also digits
 * and '-'. Channel: '#' then 1..maxlen-1 bytes, none of NUL BEL CR LF space
 * comma colon. Return 0 or -EINVAL. */
int cp_irc_nick_valid(const char *s, size_t n, size_t maxlen);
int cp_irc_chan_valid(const char *s, size_t n, size_t maxlen);

#endif
