/* cp_rtmp_conf: [rtmp] key table, apps list, [keys] stream-key table. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "controlplane/cp_rtmp_conf.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_defaults(void)
{
	struct cp_rtmp_conf c;
	char err[256];
	CU_ASSERT_EQUAL_FATAL(cp_rtmp_conf_load(NULL, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.listen.port, 1935);
	CU_ASSERT_STRING_EQUAL(c.listen.host, "");
	CU_ASSERT_EQUAL(c.chunk_size, 4096);
	CU_ASSERT_EQUAL(c.handshake_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c.viewer_hard_limit, 16u << 20);
	CU_ASSERT_EQUAL(c.play_wait, 1);
	CU_ASSERT_EQUAL(c.napps, 2);
	CU_ASSERT_STRING_EQUAL(c.apps[0].name, "live");
	CU_ASSERT_EQUAL(c.apps[0].open, 0);
	CU_ASSERT_STRING_EQUAL(c.apps[1].name, "test");
	CU_ASSERT_EQUAL(c.apps[1].open, 1);
	struct cp_app fb;
	CU_ASSERT_PTR_NULL(cp_rtmp_conf_app(&c, "other", &fb));
	c.open_publish = 1;
	const struct cp_app *a = cp_rtmp_conf_app(&c, "other", &fb);
	CU_ASSERT_PTR_EQUAL(a, &fb);
	CU_ASSERT_EQUAL(fb.open, 1);
	CU_ASSERT_PTR_EQUAL(cp_rtmp_conf_app(&c, "live", &fb), &c.apps[0]);
}

static void test_file_and_errors(void)
{
	char path[64], err[256];
	struct cp_rtmp_conf c;
	snprintf(path, sizeof(path), "/tmp/lc-rconf-%d.conf", (int)getpid());
	write_file(path, "[dataplane]\nwhatever = 1\n[rtmp]\nlisten = 127.0.0.1:19399\n"
		   "apps = a:open, b c:keyed\nchunk_size = 60000\nidle_timeout = 250ms\n"
		   "[keys]\nalice = s3cret\nbob = hunter2\n");
	CU_ASSERT_EQUAL_FATAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.listen.port, 19399);
	CU_ASSERT_EQUAL(c.napps, 3);
	CU_ASSERT_EQUAL(c.apps[0].open, 1);
	CU_ASSERT_EQUAL(c.apps[1].open, 0);
	CU_ASSERT_STRING_EQUAL(c.apps[2].name, "c");
	CU_ASSERT_EQUAL(c.idle_timeout_ms, 250);
	struct cp_keytab t = { 0 };
	CU_ASSERT_EQUAL(cp_keytab_load(&t, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(t.n, 2);
	CU_ASSERT_STRING_EQUAL(cp_keytab_channel(&t, "hunter2"), "bob");
	CU_ASSERT_PTR_NULL(cp_keytab_channel(&t, "bob"));
	CU_ASSERT_EQUAL(cp_keytab_add(&t, "carol", "s3cret"), -EINVAL); /* secret reused */
	CU_ASSERT_EQUAL(cp_keytab_add(&t, "alice", "x"), -EINVAL);      /* channel reused */
	CU_ASSERT_EQUAL(cp_keytab_add(&t, "", "x"), -EINVAL);
	cp_keytab_free(&t);
	CU_ASSERT_EQUAL(t.n, 0);

	write_file(path, "[rtmp]\nchunk_size = 100\n");
	CU_ASSERT_EQUAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "chunk_size"));
	write_file(path, "[rtmp]\napps = live:maybe\n");
	CU_ASSERT_EQUAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "open or keyed"));
	write_file(path, "[rtmp]\napps = x x\n");
	CU_ASSERT_EQUAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	write_file(path, "[rtmp]\nviewer_skip_threshold = 9M\nviewer_hard_limit = 8M\n");
	CU_ASSERT_EQUAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	write_file(path, "[rtmp]\nbogus = 1\n");
	CU_ASSERT_EQUAL(cp_rtmp_conf_load(path, &c, err, sizeof(err)), -EINVAL);
	write_file(path, "[keys]\nalice = a\nbob = a\n");
	CU_ASSERT_EQUAL(cp_keytab_load(&t, path, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ":3:"));
	cp_keytab_free(&t);
	unlink(path);
}

static void test_example_file(void)
{
	/* The example at the repo root must load as is. */
	struct cp_rtmp_conf c;
	struct cp_keytab t = { 0 };
	char err[256];
	if (access("lifecast.conf", R_OK) != 0)
		return; /* run from elsewhere */
	CU_ASSERT_EQUAL(cp_rtmp_conf_load("lifecast.conf", &c, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cp_keytab_load(&t, "lifecast.conf", err, sizeof(err)), 0);
	cp_keytab_free(&t);
}

int test_cp_rconf_register(void)
{
	CU_pSuite s = CU_add_suite("cp_rtmp_conf", NULL, NULL);
	if (!s ||
	    !CU_add_test(s, "defaults and apps", test_defaults) ||
	    !CU_add_test(s, "file values and errors", test_file_and_errors) ||
	    !CU_add_test(s, "example lifecast.conf", test_example_file))
		return -1;
	return 0;
}
