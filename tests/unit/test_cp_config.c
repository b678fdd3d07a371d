/* cp_config: INI loading, defaults, ranges, overrides, free-form sections. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controlplane/cp_config.h"

struct conf {
	char name[CP_CONF_STR_MAX];
	uint64_t workers;
	uint64_t cap;
	uint64_t timeout_ms;
	int enabled;
	struct cp_conf_addr listen;
};

static const struct cp_conf_key keys[] = {
	{ "a", "name", CP_CONF_STR, offsetof(struct conf, name), "dflt", 0, 0, 1, "" },
	{ "a", "workers", CP_CONF_UINT, offsetof(struct conf, workers), "2", 1, 64, 0, "" },
	{ "a", "cap", CP_CONF_SIZE, offsetof(struct conf, cap), "1M", 0, 0, 1, "" },
	{ "b", "timeout", CP_CONF_DURATION, offsetof(struct conf, timeout_ms), "5s", 0, 0, 1, "" },
	{ "b", "enabled", CP_CONF_BOOL, offsetof(struct conf, enabled), "no", 0, 0, 1, "" },
	{ "b", "listen", CP_CONF_ADDR, offsetof(struct conf, listen), "127.0.0.1:1935", 0, 0, 0, "" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/lc-conf-test-%d.conf", (int)getpid());
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_defaults(void)
{
	struct conf c;
	char err[256];
	CU_ASSERT_EQUAL(cp_conf_load(NULL, keys, NKEYS, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "dflt");
	CU_ASSERT_EQUAL(c.workers, 2);
	CU_ASSERT_EQUAL(c.cap, 1 << 20);
	CU_ASSERT_EQUAL(c.timeout_ms, 5000);
	CU_ASSERT_EQUAL(c.enabled, 0);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "127.0.0.1");
	CU_ASSERT_EQUAL(c.listen.port, 1935);
}

static void test_file_values(void)
{
	struct conf c;
	char err[256];
	char *p = write_tmp("# comment\n[a]\nname = \"x # y\"\nworkers=8 ; inline\ncap = 3g\n"
			    "[other]\nwhatever = 1\n[b]\ntimeout = 250ms\nenabled = yes\n"
			    "listen = [::1]:6667\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "x # y");
	CU_ASSERT_EQUAL(c.workers, 8);
	CU_ASSERT_EQUAL(c.cap, 3ULL << 30);
	CU_ASSERT_EQUAL(c.timeout_ms, 250);
	CU_ASSERT_EQUAL(c.enabled, 1);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "::1");
	CU_ASSERT_EQUAL(c.listen.port, 6667);
	unlink(p);
}

static void test_errors(void)
{
	struct conf c;
	char err[256];
	char *p = write_tmp("[a]\nworkers = 65\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":2:"));
	p = write_tmp("[a]\nbogus = 1\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bogus"));
	p = write_tmp("[a\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -EINVAL);
	p = write_tmp("[a]\ncap = 99999999999999999999k\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -EINVAL);
	p = write_tmp("[b]\nlisten = 1.2.3.4:70000\n");
	CU_ASSERT_EQUAL(cp_conf_load(p, keys, NKEYS, &c, err, sizeof(err)), -EINVAL);
	unlink(p);
	CU_ASSERT_EQUAL(cp_conf_load("/nonexistent/lc.conf", keys, NKEYS, &c, err, sizeof(err)),
			-ENOENT);
}

static void test_set_override(void)
{
	struct conf c;
	char err[256];
	CU_ASSERT_EQUAL(cp_conf_load(NULL, keys, NKEYS, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cp_conf_set(keys, NKEYS, &c, "b", "listen", "0.0.0.0:7000", err,
				    sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.listen.port, 7000);
	CU_ASSERT_EQUAL(cp_conf_set(keys, NKEYS, &c, "b", "nope", "1", err, sizeof(err)), -ENOENT);
	CU_ASSERT_EQUAL(cp_conf_set(keys, NKEYS, &c, "b", "enabled", "maybe", err, sizeof(err)),
			-EINVAL);
}

struct pairs_seen { int n; char last[64]; };
static int collect(void *arg, const char *k, const char *v, int line)
{
	struct pairs_seen *s = arg;
	s->n++;
	snprintf(s->last, sizeof(s->last), "%s=%s@%d", k, v, line);
	return 0;
}

static void test_pairs(void)
{
	struct pairs_seen s = { 0, "" };
	char err[256];
	char *p = write_tmp("[keys]\nalice = s3cret\n[a]\nname=x\n[keys]\nbob = hunter2\n");
	CU_ASSERT_EQUAL(cp_conf_pairs(p, "keys", collect, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.last, "bob=hunter2@6");
	unlink(p);
}

int test_cp_config_register(void)
{
	CU_pSuite s = CU_add_suite("cp_config", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "defaults", test_defaults) ||
	    !CU_add_test(s, "file values", test_file_values) ||
	    !CU_add_test(s, "errors", test_errors) ||
	    !CU_add_test(s, "override", test_set_override) ||
	    !CU_add_test(s, "free-form pairs", test_pairs))
		return -1;
	return 0;
}
