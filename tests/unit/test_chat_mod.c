/* Channel mode parsing, flood bucket, rule-file parsing, Hyperscan compile
 * and scan (block, mask spans, severity, bad pattern with its line, 1,000
 * rules in one database). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/chat/cp_chat_flood.h"
#include "controlplane/chat/cp_chat_mod.h"
#include "controlplane/chat/cp_irc_mode.h"
#include "tests/unit/util_chat_guard.h"

static struct cp_irc_slice sl(const char *s)
{
	struct cp_irc_slice x = { s, strlen(s) };
	return x;
}

static void test_modes(void)
{
	struct cp_irc_mode_change x[16];
	size_t n;
	char bad = 0;
	struct cp_irc_slice args[] = { sl("alice"), sl("*!*@bad"), sl("bob"), sl("5") };
	const char *ms = "+ob-v+S";
	CU_ASSERT_EQUAL(cp_irc_mode_parse(ms, strlen(ms), args, 4, x, 16, &n, &bad), 0);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT(x[0].sign == '+' && x[0].letter == 'o' && x[0].cls == CP_IRC_MODE_MEMBER);
	CU_ASSERT(x[0].arg.n == 5 && memcmp(x[0].arg.p, "alice", 5) == 0);
	CU_ASSERT(x[1].letter == 'b' && x[1].cls == CP_IRC_MODE_LIST && x[1].arg.n == 7);
	CU_ASSERT(x[2].sign == '-' && x[2].letter == 'v' && x[2].arg.n == 3);
	CU_ASSERT(x[3].sign == '+' && x[3].letter == 'S' && x[3].arg.p[0] == '5');

	/* flags take nothing; -l and -S take nothing; -k may take a key */
	ms = "+mnt-lS+U-k";
	CU_ASSERT_EQUAL(cp_irc_mode_parse(ms, strlen(ms), NULL, 0, x, 16, &n, &bad), 0);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT(x[3].sign == '-' && x[3].letter == 'l' && x[3].arg.n == 0);
	CU_ASSERT(x[6].letter == 'k' && x[6].arg.n == 0);

	/* +b alone is a list query */
	CU_ASSERT_EQUAL(cp_irc_mode_parse("b", 1, NULL, 0, x, 16, &n, &bad), 0);
	CU_ASSERT(n == 1 && x[0].cls == CP_IRC_MODE_LIST && x[0].arg.n == 0);

	/* missing parameter */
	CU_ASSERT_EQUAL(cp_irc_mode_parse("+l", 2, NULL, 0, x, 16, &n, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, 'l');
	CU_ASSERT_EQUAL(cp_irc_mode_parse("+mo", 3, NULL, 0, x, 16, &n, &bad), -EINVAL);
	CU_ASSERT_EQUAL(bad, 'o');
	CU_ASSERT_EQUAL(n, 1);

	/* unknown letters are reported, not fatal */
	CU_ASSERT_EQUAL(cp_irc_mode_parse("+zm", 3, NULL, 0, x, 16, &n, &bad), 0);
	CU_ASSERT(n == 2 && x[0].cls == CP_IRC_MODE_UNKNOWN && x[0].letter == 'z');

	/* at most 4 argument-taking changes per line */
	struct cp_irc_slice five[] = { sl("a"), sl("b"), sl("c"), sl("d"), sl("e") };
	CU_ASSERT_EQUAL(cp_irc_mode_parse("+vvvvv", 6, five, 5, x, 16, &n, &bad), 0);
	CU_ASSERT_EQUAL(n, 4);
	/* output bound respected */
	CU_ASSERT_EQUAL(cp_irc_mode_parse("+imnt", 5, NULL, 0, x, 2, &n, &bad), 0);
	CU_ASSERT_EQUAL(n, 2);
}

static void test_bucket(void)
{
	struct cp_chat_bucket b;
	cp_chat_bucket_init(&b, 1000, 3);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1000, 4, 3), 0);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1000, 4, 3), 0);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1000, 4, 3), 0);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1000, 4, 3), -EAGAIN);
	/* 4/s: 249 ms is not yet a token, 250 ms is */
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1249, 4, 3), -EAGAIN);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1250, 4, 3), 0);
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 1250, 4, 3), -EAGAIN);
	/* a long pause refills to burst, never beyond */
	int ok = 0;
	for (int i = 0; i < 10; i++)
		ok += cp_chat_bucket_take(&b, 100000, 4, 3) == 0;
	CU_ASSERT_EQUAL(ok, 3);
	/* clock going backwards adds nothing */
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 5000, 4, 3), -EAGAIN);
	/* burst 0: unlimited */
	CU_ASSERT_EQUAL(cp_chat_bucket_take(&b, 5000, 4, 0), 0);
}

static int parse_line(const char *s, struct cp_chat_rule_line *r, const char **why)
{
	struct chat_guard g;
	char *p = chat_guard_place(&g, s, strlen(s));
	int rc = cp_chat_rule_parse_line(p, strlen(s), r, why);
	if (r->pattern.p) /* point the slice at s: the guarded copy goes away */
		r->pattern.p = s + (r->pattern.p - p);
	chat_guard_free(&g);
	return rc;
}

static void test_rule_lines(void)
{
	struct cp_chat_rule_line r;
	const char *why;
	CU_ASSERT_EQUAL(parse_line("", &r, &why), 0);
	CU_ASSERT_EQUAL(parse_line("   # comment", &r, &why), 0);
	CU_ASSERT_EQUAL(parse_line("/bad\\s+word/i block", &r, &why), 1);
	CU_ASSERT_EQUAL(r.action, CP_CHAT_ACT_BLOCK);
	CU_ASSERT(r.pattern.n == 10 && memcmp(r.pattern.p, "bad\\s+word", 10) == 0);
	CU_ASSERT_EQUAL(parse_line("/a/b/ mask", &r, &why), 1); /* last '/' closes */
	CU_ASSERT(r.pattern.n == 3 && r.action == CP_CHAT_ACT_MASK);
	CU_ASSERT_EQUAL(parse_line("/x/ timeout-user 30\r", &r, &why), 1);
	CU_ASSERT(r.action == CP_CHAT_ACT_TIMEOUT && r.timeout_s == 30);
	CU_ASSERT_EQUAL(parse_line("\t/y/ism hold-for-review  ", &r, &why), 1);
	CU_ASSERT_EQUAL(r.action, CP_CHAT_ACT_HOLD);

	const char *bad[] = { "word block", "/unclosed block", "// block", "/x/q block",
			      "/x/ explode", "/x/", "/x/ block 5", "/x/ timeout-user 0",
			      "/x/ timeout-user 9999999", "/x/ timeout-user 5 more", "/x/i" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CU_ASSERT_EQUAL(parse_line(bad[i], &r, &why), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(why);
	}
	/* every truncation of a valid line is parsed without reading past it */
	const char *full = "/sp[a4]m+/i timeout-user 600";
	for (size_t cut = 0; cut <= strlen(full); cut++) {
		struct chat_guard g;
		char *p = chat_guard_place(&g, full, cut);
		int rc = cp_chat_rule_parse_line(p, cut, &r, &why);
		CU_ASSERT(rc == 0 || rc == 1 || rc == -EINVAL);
		chat_guard_free(&g);
	}
}

static void scan_str(struct cp_chat_scanner *s, const char *in, char *out, size_t cap,
		     struct cp_chat_verdict *v)
{
	snprintf(out, cap, "%s", in);
	CU_ASSERT_EQUAL(cp_chat_scan(s, out, strlen(out), v), 0);
}

static void test_compile_scan(void)
{
	const char *text = "# moderation\n"
			   "/darn/i mask\n"
			   "/heck+/ mask\n"
			   "/buy cheap/i block\n"
			   "/review me/ hold-for-review\n"
			   "/spam{3}/ timeout-user 42\n";
	struct cp_chat_rules *r;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(cp_chat_rules_compile(text, strlen(text), 600, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cp_chat_rules_count(r), 5);
	struct cp_chat_scanner s = { 0 };
	CU_ASSERT_EQUAL_FATAL(cp_chat_scanner_bind(&s, r), 0);
	char buf[256];
	struct cp_chat_verdict v;

	scan_str(&s, "well DARN it, heckkk", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_MASK);
	CU_ASSERT_STRING_EQUAL(buf, "well **** it, ******");
	CU_ASSERT_EQUAL(v.masked, 10);

	scan_str(&s, "clean message", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_NONE);
	CU_ASSERT_STRING_EQUAL(buf, "clean message");

	scan_str(&s, "darn, BUY CHEAP pills", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_BLOCK); /* block beats mask */
	CU_ASSERT_EQUAL(v.line, 4);
	CU_ASSERT_STRING_EQUAL(buf, "darn, BUY CHEAP pills"); /* not masked */

	scan_str(&s, "please review me", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_HOLD);
	CU_ASSERT_EQUAL(v.line, 5);

	scan_str(&s, "spammm", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_TIMEOUT);
	CU_ASSERT_EQUAL(v.timeout_s, 42);
	CU_ASSERT_EQUAL(s.scans, 5);

	cp_chat_scanner_release(&s);
	cp_chat_rules_free(r);
}

static void test_compile_errors(void)
{
	struct cp_chat_rules *r = (void *)1;
	char err[256] = "";
	const char *bad = "/ok/ block\n\n/(unclosed/ block\n";
	CU_ASSERT_EQUAL(cp_chat_rules_compile(bad, strlen(bad), 600, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3"));
	const char *syn = "/ok/ block\n/x/ nope\n";
	CU_ASSERT_EQUAL(cp_chat_rules_compile(syn, strlen(syn), 600, &r, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	/* empty file: no rules, scans pass */
	CU_ASSERT_EQUAL(cp_chat_rules_compile("", 0, 600, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cp_chat_rules_count(r), 0);
	struct cp_chat_scanner s = { 0 };
	CU_ASSERT_EQUAL(cp_chat_scanner_bind(&s, r), 0);
	char buf[] = "anything";
	struct cp_chat_verdict v;
	CU_ASSERT_EQUAL(cp_chat_scan(&s, buf, 8, &v), 0);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_NONE);
	cp_chat_rules_free(r);
	CU_ASSERT_EQUAL(cp_chat_rules_load_file("/nonexistent/rules", 600, &r, err, sizeof(err)),
			-ENOENT);
}

static void test_thousand_rules(void)
{
	size_t cap = 64 * 1024, n = 0;
	char *text = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (int i = 0; i < 1000; i++)
		n += (size_t)snprintf(text + n, cap - n, "/badword%04d/i %s\n", i,
				      i % 2 ? "block" : "mask");
	struct cp_chat_rules *r;
	char err[256] = "";
	CU_ASSERT_EQUAL_FATAL(cp_chat_rules_compile(text, n, 600, &r, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cp_chat_rules_count(r), 1000);
	struct cp_chat_scanner s = { 0 };
	CU_ASSERT_EQUAL_FATAL(cp_chat_scanner_bind(&s, r), 0);
	char buf[128];
	struct cp_chat_verdict v;
	scan_str(&s, "x BADWORD0998 y", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_MASK);
	CU_ASSERT_STRING_EQUAL(buf, "x *********** y");
	scan_str(&s, "x badword0999 y", buf, sizeof(buf), &v);
	CU_ASSERT_EQUAL(v.action, CP_CHAT_ACT_BLOCK);
	CU_ASSERT_EQUAL(v.line, 1000);
	cp_chat_scanner_release(&s);
	cp_chat_rules_free(r);
	free(text);
}

int test_chat_mod_register(void)
{
	CU_pSuite s = CU_add_suite("chat_mod", NULL, NULL);
	if (!s || !CU_add_test(s, "channel mode strings", test_modes) ||
	    !CU_add_test(s, "flood bucket", test_bucket) ||
	    !CU_add_test(s, "rule lines", test_rule_lines) ||
	    !CU_add_test(s, "compile and scan", test_compile_scan) ||
	    !CU_add_test(s, "compile errors", test_compile_errors) ||
	    !CU_add_test(s, "1000 rules", test_thousand_rules))
		return -1;
	return 0;
}
