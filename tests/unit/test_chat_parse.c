/* cp_irc_parse: framing, tags with escaping, prefix, params, trailing,
 * every truncation point and malformed input, each placed before a guard
 * page so a read past len crashes the test. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "controlplane/chat/cp_chat_int.h"
#include "controlplane/chat/cp_irc_parse.h"
#include "tests/unit/util_chat_guard.h"

static ssize_t parse_guarded(const char *s, size_t len, struct cp_irc_msg *m,
			     struct chat_guard *g)
{
	char *p = chat_guard_place(g, s, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return cp_irc_parse(p, len, m);
}

static int slice_is(struct cp_irc_slice s, const char *want)
{
	return s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void test_basic(void)
{
	struct chat_guard g;
	struct cp_irc_msg m;
	const char *l = "PRIVMSG #chan :hello world\r\n";
	CU_ASSERT_EQUAL(parse_guarded(l, strlen(l), &m, &g), (ssize_t)strlen(l));
	CU_ASSERT(slice_is(m.command, "PRIVMSG"));
	CU_ASSERT_EQUAL(m.nparams, 2);
	CU_ASSERT(slice_is(m.params[0], "#chan"));
	CU_ASSERT(slice_is(m.params[1], "hello world"));
	CU_ASSERT_EQUAL(m.has_trailing, 1);
	CU_ASSERT_EQUAL(m.prefix.n, 0);
	CU_ASSERT_EQUAL(m.ntags, 0);
	chat_guard_free(&g);

	l = "NICK bob\nUSER";
	CU_ASSERT_EQUAL(parse_guarded(l, strlen(l), &m, &g), 9);
	CU_ASSERT(slice_is(m.params[0], "bob"));
	CU_ASSERT_EQUAL(m.has_trailing, 0);
	chat_guard_free(&g);

	l = "PRIVMSG #c ::-) x\r\n"; /* trailing that starts with ':' */
	CU_ASSERT(parse_guarded(l, strlen(l), &m, &g) > 0);
	CU_ASSERT(slice_is(m.params[1], ":-) x"));
	chat_guard_free(&g);

	l = "TOPIC #c :\r\n"; /* empty trailing */
	CU_ASSERT(parse_guarded(l, strlen(l), &m, &g) > 0);
	CU_ASSERT_EQUAL(m.nparams, 2);
	CU_ASSERT_EQUAL(m.params[1].n, 0);
	CU_ASSERT_EQUAL(m.has_trailing, 1);
	chat_guard_free(&g);

	l = "\r\n";
	CU_ASSERT_EQUAL(parse_guarded(l, 2, &m, &g), 2);
	CU_ASSERT_EQUAL(m.command.n, 0);
	chat_guard_free(&g);

	l = "001 me :Welcome\r\n";
	CU_ASSERT(parse_guarded(l, strlen(l), &m, &g) > 0);
	CU_ASSERT(slice_is(m.command, "001"));
	chat_guard_free(&g);
}

static void test_tags_prefix(void)
{
	struct chat_guard g;
	struct cp_irc_msg m;
	const char *l = "@time=2026-11-21T10:00:00.000Z;+draft/x=a\\sb\\:c\\\\;flag "
			":nick!user@host.example PRIVMSG #c :hi\r\n";
	CU_ASSERT_EQUAL(parse_guarded(l, strlen(l), &m, &g), (ssize_t)strlen(l));
	CU_ASSERT_EQUAL_FATAL(m.ntags, 3);
	CU_ASSERT(slice_is(m.tags[0].key, "time"));
	CU_ASSERT(slice_is(m.tags[0].value, "2026-11-21T10:00:00.000Z"));
	CU_ASSERT(slice_is(m.tags[1].key, "+draft/x"));
	CU_ASSERT(slice_is(m.tags[2].key, "flag"));
	CU_ASSERT_EQUAL(m.tags[2].value.n, 0);
	char out[64];
	CU_ASSERT_EQUAL(cp_irc_tag_unescape(m.tags[1].value.p, m.tags[1].value.n, out, sizeof(out)), 6);
	CU_ASSERT_STRING_EQUAL(out, "a b;c\\");
	CU_ASSERT(slice_is(m.prefix, "nick!user@host.example"));
	struct cp_irc_slice n, u, h;
	CU_ASSERT_EQUAL(cp_irc_prefix_split(m.prefix, &n, &u, &h), 0);
	CU_ASSERT(slice_is(n, "nick"));
	CU_ASSERT(slice_is(u, "user"));
	CU_ASSERT(slice_is(h, "host.example"));
	CU_ASSERT(slice_is(m.command, "PRIVMSG"));
	chat_guard_free(&g);

	struct cp_irc_slice p = { "server.only", 11 };
	CU_ASSERT_EQUAL(cp_irc_prefix_split(p, &n, &u, &h), 0);
	CU_ASSERT(slice_is(n, "server.only"));
	CU_ASSERT_EQUAL(u.n + h.n, 0);
}

static void test_escape_roundtrip(void)
{
	const char *raw = "a;b c\\d\r\ne";
	char esc[64], back[64];
	ssize_t n = cp_irc_tag_escape(raw, strlen(raw), esc, sizeof(esc));
	CU_ASSERT_EQUAL(n, (ssize_t)strlen("a\\:b\\sc\\\\d\\r\\ne"));
	CU_ASSERT_STRING_EQUAL(esc, "a\\:b\\sc\\\\d\\r\\ne");
	CU_ASSERT_EQUAL(cp_irc_tag_unescape(esc, (size_t)n, back, sizeof(back)), (ssize_t)strlen(raw));
	CU_ASSERT_STRING_EQUAL(back, raw);
	/* lone trailing backslash dropped, unknown escape keeps the char */
	CU_ASSERT_EQUAL(cp_irc_tag_unescape("ab\\", 3, back, sizeof(back)), 2);
	CU_ASSERT_STRING_EQUAL(back, "ab");
	CU_ASSERT_EQUAL(cp_irc_tag_unescape("\\q", 2, back, sizeof(back)), 1);
	CU_ASSERT_STRING_EQUAL(back, "q");
	CU_ASSERT_EQUAL(cp_irc_tag_unescape("abcdef", 6, back, 4), -ENOBUFS);
	CU_ASSERT_STRING_EQUAL(back, "abc");
	CU_ASSERT_EQUAL(cp_irc_tag_escape("a;;", 3, esc, 4), -ENOBUFS);
}

/* Every strict prefix of a valid line is "need more", never a read past. */
static void test_truncations(void)
{
	const char *lines[] = {
		"@a=b;c=d\\se :n!u@h PRIVMSG #chan :text with spaces\r\n",
		":srv 005 me CHANTYPES=# :are supported\r\n",
		"JOIN #a,#b key\n",
	};
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		size_t len = strlen(lines[k]);
		for (size_t cut = 0; cut < len; cut++) {
			struct chat_guard g;
			struct cp_irc_msg m;
			ssize_t rc = parse_guarded(lines[k], cut, &m, &g);
			CU_ASSERT_EQUAL(rc, 0);
			chat_guard_free(&g);
		}
		struct chat_guard g;
		struct cp_irc_msg m;
		CU_ASSERT_EQUAL(parse_guarded(lines[k], len, &m, &g), (ssize_t)len);
		chat_guard_free(&g);
	}
}

static void test_limits(void)
{
	struct chat_guard g;
	struct cp_irc_msg m;
	char *big = malloc(9000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	/* 600 bytes, no terminator: over 512 already, so an error, not need-more */
	memset(big, 'A', 600);
	CU_ASSERT_EQUAL(parse_guarded(big, 600, &m, &g), -EMSGSIZE);
	CU_ASSERT_EQUAL(m.linelen, 0);
	chat_guard_free(&g);
	/* exactly 512 with CRLF is fine, 513 is not */
	memcpy(big, "PRIVMSG #c :", 12);
	memset(big + 12, 'x', 498);
	memcpy(big + 510, "\r\n", 2);
	CU_ASSERT_EQUAL(parse_guarded(big, 512, &m, &g), 512);
	CU_ASSERT_EQUAL(m.params[1].n, 498);
	chat_guard_free(&g);
	memset(big + 12, 'x', 499);
	memcpy(big + 511, "\r\n", 2);
	CU_ASSERT_EQUAL(parse_guarded(big, 513, &m, &g), -EMSGSIZE);
	chat_guard_free(&g);
	/* tagged line: 4000 bytes of tags plus a short command is fine */
	big[0] = '@';
	memcpy(big + 1, "k=", 2);
	memset(big + 3, 'v', 3997);
	memcpy(big + 4000, " PING x\r\n", 9);
	CU_ASSERT_EQUAL(parse_guarded(big, 4009, &m, &g), 4009);
	CU_ASSERT_EQUAL(m.tags[0].value.n, 3997);
	chat_guard_free(&g);
	/* tagged, but the part after the tags is over 512 */
	memcpy(big, "@k=v PRIVMSG #c :", 17);
	memset(big + 17, 'y', 600);
	memcpy(big + 617, "\r\n", 2);
	CU_ASSERT_EQUAL(parse_guarded(big, 619, &m, &g), -EMSGSIZE);
	CU_ASSERT_EQUAL(m.linelen, 619);
	chat_guard_free(&g);
	/* tagged line over 8191 without terminator */
	big[0] = '@';
	memset(big + 1, 'z', 8999);
	CU_ASSERT_EQUAL(parse_guarded(big, 9000, &m, &g), -EMSGSIZE);
	chat_guard_free(&g);
	free(big);
}

static void test_malformed(void)
{
	struct {
		const char *line;
		ssize_t rc;
	} cases[] = {
		{ "@ PING x\r\n", -EINVAL },          /* empty tag key */
		{ "@a=b;;c PING x\r\n", -EINVAL },    /* empty key between ';' */
		{ "@k$=1 PING x\r\n", -EINVAL },      /* bad key char */
		{ "@a=1\r\n", -EINVAL },              /* tags only */
		{ ": PING x\r\n", -EINVAL },          /* empty prefix */
		{ ":pfx\r\n", -EINVAL },              /* prefix only */
		{ "PRIV-MSG x\r\n", -EINVAL },        /* bad command */
		{ "12 x\r\n", -EINVAL },              /* 2-digit numeric */
		{ "1234 x\r\n", -EINVAL },            /* 4-digit numeric */
		{ "PING a\rb\r\n", -EINVAL },         /* bare CR inside */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chat_guard g;
		struct cp_irc_msg m;
		size_t len = strlen(cases[i].line);
		CU_ASSERT_EQUAL(parse_guarded(cases[i].line, len, &m, &g), cases[i].rc);
		CU_ASSERT_EQUAL(m.linelen, len);
		chat_guard_free(&g);
	}
	/* NUL byte inside */
	struct chat_guard g;
	struct cp_irc_msg m;
	CU_ASSERT_EQUAL(parse_guarded("PING a\0b\r\n", 10, &m, &g), -EINVAL);
	chat_guard_free(&g);
	/* too many tags */
	char tags[400] = "@";
	for (int i = 0; i < 33; i++)
		strcat(tags, i ? ";t" : "t");
	strcat(tags, " PING x\r\n");
	CU_ASSERT_EQUAL(parse_guarded(tags, strlen(tags), &m, &g), -E2BIG);
	chat_guard_free(&g);
}

static void test_many_params(void)
{
	struct chat_guard g;
	struct cp_irc_msg m;
	const char *l = "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n";
	CU_ASSERT(parse_guarded(l, strlen(l), &m, &g) > 0);
	CU_ASSERT_EQUAL(m.nparams, 15);
	CU_ASSERT(slice_is(m.params[13], "14"));
	CU_ASSERT(slice_is(m.params[14], "15 16 17"));
	chat_guard_free(&g);
}

static void test_names(void)
{
	CU_ASSERT_EQUAL(cp_irc_nick_valid("alice", 5, 30), 0);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("[bot]_-9", 8, 30), 0);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("9lives", 6, 30), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("-x", 2, 30), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("a b", 3, 30), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("", 0, 30), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_nick_valid("abcdefghij", 10, 9), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#demo", 5, 50), 0);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#", 1, 50), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("demo", 4, 50), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#a,b", 4, 50), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#a b", 4, 50), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#a\007", 3, 50), -EINVAL);
	CU_ASSERT_EQUAL(cp_irc_chan_valid("#abc", 4, 3), -EINVAL);
}

/* A client doomed (sendq exceeded) while more than one line buffer of its
 * input is still unread used to spin forever in cp_chat_client_input:
 * process_lines consumes nothing for a doomed client, so a full c->in never
 * drained. The input must be dropped and the call must return. */
static void test_doomed_input(void)
{
	struct cp_chat *chat = calloc(1, sizeof(*chat));
	struct chat_client *c = calloc(1, sizeof(*c));
	size_t len = 3 * CP_IRC_LINE_MAX_TAGGED;
	char *data = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(chat);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	memset(data, 'a', len);
	c->chat = chat;
	c->doomed = 1;
	alarm(10); /* the old code never returns: SIGALRM fails the run */
	cp_chat_client_input(c, data, len);
	/* partly buffered input, then doomed */
	c->doomed = 0;
	cp_chat_client_input(c, data, 100);
	CU_ASSERT_EQUAL(c->inlen, 100);
	c->doomed = 1;
	cp_chat_client_input(c, data, len);
	alarm(0);
	CU_ASSERT_EQUAL(c->inlen, 100); /* nothing taken after doom */
	free(c->in);
	free(c);
	free(chat);
	free(data);
}

int test_chat_parse_register(void)
{
	CU_pSuite s = CU_add_suite("chat_parse", NULL, NULL);
	if (!s || !CU_add_test(s, "basic lines", test_basic) ||
	    !CU_add_test(s, "tags and prefix", test_tags_prefix) ||
	    !CU_add_test(s, "tag escaping", test_escape_roundtrip) ||
	    !CU_add_test(s, "every truncation", test_truncations) ||
	    !CU_add_test(s, "length limits", test_limits) ||
	    !CU_add_test(s, "malformed lines", test_malformed) ||
	    !CU_add_test(s, "15 params", test_many_params) ||
	    !CU_add_test(s, "nick and channel syntax", test_names) ||
	    !CU_add_test(s, "doomed client input", test_doomed_input))
		return -1;
	return 0;
}
