/* rtmp_cmd: client builders -> server parser for every command, server
 * builders -> client parser, exact bytes, @setDataFrame rewrite, AMF3
 * envelopes and tails, typed errors, truncation before a guard page. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <string.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_err.h"
#include "tests/unit/util_rtmp_guard.h"

static struct rtmp_amf0_node nodes[128];
static struct rtmp_amf0_arena arena;

static int parse(const uint8_t *b, int len, struct rtmp_cmd *c)
{
	rtmp_amf0_arena_init(&arena, nodes, 128);
	CU_ASSERT_FATAL(len > 0);
	return rtmp_cmd_parse(RTMP_MSG_COMMAND_AMF0, b, (size_t)len, &arena, c);
}

static void test_connect(void)
{
	struct rtmp_connect_params p = { "live", "rtmp://127.0.0.1:19300/live", NULL,
					 "http://x/p.swf", "http://x/", "nonprivate", 3, 0 };
	uint8_t b[1024], b17[1025];
	struct rtmp_cmd c;
	int len = rtmp_cmd_build_connect(b, sizeof(b), 1, &p);

	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_CONNECT);
	CU_ASSERT(rtmp_str_eq(c.name, "connect"));
	CU_ASSERT_DOUBLE_EQUAL(c.txn, 1, 0);
	CU_ASSERT(rtmp_str_eq(c.app, "live"));
	CU_ASSERT(rtmp_str_eq(c.tc_url, "rtmp://127.0.0.1:19300/live"));
	CU_ASSERT(rtmp_str_eq(c.flash_ver, "LNX 9,0,124,2"));
	CU_ASSERT(rtmp_str_eq(c.swf_url, "http://x/p.swf"));
	CU_ASSERT(rtmp_str_eq(c.page_url, "http://x/"));
	CU_ASSERT(rtmp_str_eq(c.type, "nonprivate"));
	CU_ASSERT_DOUBLE_EQUAL(c.object_encoding, 3, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.capabilities, 15, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.audio_codecs, 4071, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.video_codecs, 252, 0);
	CU_ASSERT(c.cmd_obj >= 0);
	CU_ASSERT_EQUAL(c.nargs, 0);
	/* the same as an AMF3 command (type 17): leading 0x00 */
	b17[0] = 0;
	memcpy(b17 + 1, b, (size_t)len);
	rtmp_amf0_arena_init(&arena, nodes, 128);
	CU_ASSERT_EQUAL(rtmp_cmd_parse(RTMP_MSG_COMMAND_AMF3, b17, (size_t)len + 1, &arena, &c), 0);
	CU_ASSERT(rtmp_str_eq(c.app, "live"));
	CU_ASSERT_EQUAL(rtmp_cmd_parse(RTMP_MSG_AUDIO, b, (size_t)len, &arena, &c), -EINVAL);
	CU_ASSERT_EQUAL(rtmp_cmd_build_connect(b, 10, 1, &p), -ENOSPC);
	p.app = NULL;
	CU_ASSERT_EQUAL(rtmp_cmd_build_connect(b, sizeof(b), 1, &p), -EINVAL);
}

static void test_stream_calls(void)
{
	static const struct { const char *name; enum rtmp_cmd_kind kind; } calls[] = {
		{ "releaseStream", RTMP_CMD_RELEASE_STREAM }, { "FCPublish", RTMP_CMD_FCPUBLISH },
		{ "FCUnpublish", RTMP_CMD_FCUNPUBLISH },
		{ "getStreamLength", RTMP_CMD_GET_STREAM_LENGTH },
		{ "FCSubscribe", RTMP_CMD_FCSUBSCRIBE },
	};
	uint8_t b[256];
	struct rtmp_cmd c;
	size_t i;
	int len;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		len = rtmp_cmd_build_stream_call(b, sizeof(b), calls[i].name, (double)i + 2, "key1");
		CU_ASSERT_EQUAL(parse(b, len, &c), 0);
		CU_ASSERT_EQUAL(c.kind, calls[i].kind);
		CU_ASSERT(rtmp_str_eq(c.stream, "key1"));
		CU_ASSERT_DOUBLE_EQUAL(c.txn, (double)i + 2, 0);
	}
	len = rtmp_cmd_build_create_stream(b, sizeof(b), 4);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_CREATE_STREAM);
	CU_ASSERT_DOUBLE_EQUAL(c.txn, 4, 0);
	CU_ASSERT_EQUAL(c.cmd_obj, -1);
	len = rtmp_cmd_build_delete_stream(b, sizeof(b), 0, 1);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_DELETE_STREAM);
	CU_ASSERT_DOUBLE_EQUAL(c.stream_id, 1, 0);
	len = rtmp_cmd_build_stream_call(b, sizeof(b), "_checkbw", 5, "x");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_CHECKBW);
	len = rtmp_cmd_build_stream_call(b, sizeof(b), "someCustomCall", 6, "x");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_OTHER);
	CU_ASSERT_EQUAL(c.nargs, 1);
}

static void test_publish_play(void)
{
	static const char *const types[] = { "live", "record", "append" };
	uint8_t b[256];
	struct rtmp_cmd c;
	struct rtmp_amf0_w w;
	int len, t;

	for (t = 0; t <= RTMP_PUBLISH_APPEND; t++) {
		len = rtmp_cmd_build_publish(b, sizeof(b), 5, "secret?k=1", (enum rtmp_publish_type)t);
		CU_ASSERT_EQUAL(parse(b, len, &c), 0);
		CU_ASSERT_EQUAL(c.kind, RTMP_CMD_PUBLISH);
		CU_ASSERT(rtmp_str_eq(c.stream, "secret?k=1"));
		CU_ASSERT_EQUAL(c.publish_type, (enum rtmp_publish_type)t);
		CU_ASSERT_PTR_NOT_NULL(memmem(b, (size_t)len, types[t], strlen(types[t])));
	}
	/* publish with the type omitted: live */
	len = rtmp_cmd_build_stream_call(b, sizeof(b), "publish", 5, "k");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.publish_type, RTMP_PUBLISH_LIVE);
	/* play with everything */
	len = rtmp_cmd_build_play(b, sizeof(b), 4, "cam", -1000, 30, 0);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_PLAY);
	CU_ASSERT(rtmp_str_eq(c.stream, "cam"));
	CU_ASSERT_DOUBLE_EQUAL(c.start, -1000, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.duration, 30, 0);
	CU_ASSERT_EQUAL(c.reset, 0);
	/* play with defaults */
	len = rtmp_cmd_build_stream_call(b, sizeof(b), "play", 4, "cam");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_DOUBLE_EQUAL(c.start, -2, 0);
	CU_ASSERT_DOUBLE_EQUAL(c.duration, -1, 0);
	CU_ASSERT_EQUAL(c.reset, 1);
	/* closeStream and pause, built by hand */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "pause");
	rtmp_amf0_put_number(&w, 0);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_bool(&w, 1);
	rtmp_amf0_put_number(&w, 1234);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_PAUSE);
	CU_ASSERT_EQUAL(c.pause, 1);
	CU_ASSERT_DOUBLE_EQUAL(c.pause_ms, 1234, 0);
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "closeStream");
	rtmp_amf0_put_number(&w, 0);
	rtmp_amf0_put_null(&w);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_CLOSE_STREAM);
}

static void test_server_replies(void)
{
	struct rtmp_connect_result r = { NULL, 0, 3, NULL };
	struct rtmp_status st = { NULL, RTMP_NS_PLAY_START, "Started playing", "cam", "abc" };
	uint8_t b[1024];
	struct rtmp_cmd c;
	int len, i;

	len = rtmp_cmd_build_connect_result(b, sizeof(b), 1, &r);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_RESULT);
	CU_ASSERT(rtmp_str_eq(c.code, RTMP_NC_CONNECT_SUCCESS));
	CU_ASSERT(rtmp_str_eq(c.level, "status"));
	CU_ASSERT(rtmp_str_eq(c.description, "Connection succeeded."));
	CU_ASSERT(rtmp_amf0_str_eq(&arena, (uint32_t)rtmp_amf0_get(&arena, (uint32_t)c.cmd_obj,
								    "fmsVer"), "FMS/3,0,1,123"));
	i = rtmp_amf0_get(&arena, (uint32_t)c.info, "objectEncoding");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_DOUBLE_EQUAL(arena.nodes[i].u.num, 3, 0);

	len = rtmp_cmd_build_connect_error(b, sizeof(b), 1, "bad app");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_ERROR);
	CU_ASSERT(rtmp_str_eq(c.code, RTMP_NC_CONNECT_REJECTED));
	CU_ASSERT(rtmp_str_eq(c.level, "error"));
	CU_ASSERT(rtmp_str_eq(c.description, "bad app"));

	len = rtmp_cmd_build_create_stream_result(b, sizeof(b), 4, 1);
	{
		/* exact bytes: "_result" 4.0 null 1.0 */
		static const uint8_t want[] = {
			0x02, 0x00, 0x07, '_', 'r', 'e', 's', 'u', 'l', 't',
			0x00, 0x40, 0x10, 0, 0, 0, 0, 0, 0,
			0x05,
			0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
		};
		CU_ASSERT_EQUAL(len, (int)sizeof(want));
		CU_ASSERT_EQUAL(memcmp(b, want, sizeof(want)), 0);
	}
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_DOUBLE_EQUAL(c.stream_id, 1, 0);

	len = rtmp_cmd_build_simple_result(b, sizeof(b), 2);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_RESULT);
	CU_ASSERT_EQUAL(c.info, -1);

	{
		static const char *const codes[] = {
			RTMP_NS_PUBLISH_START, RTMP_NS_PUBLISH_BADNAME, RTMP_NS_PLAY_START,
			RTMP_NS_PLAY_RESET, RTMP_NS_PLAY_STREAMNOTFOUND, RTMP_NS_PLAY_UNPUBLISH,
			RTMP_NS_PLAY_PUBLISH, RTMP_NC_CONNECT_SUCCESS,
		};
		for (i = 0; i < 8; i++) {
			st.code = codes[i];
			len = rtmp_cmd_build_onstatus(b, sizeof(b), &st);
			CU_ASSERT_EQUAL(parse(b, len, &c), 0);
			CU_ASSERT_EQUAL(c.kind, RTMP_CMD_ONSTATUS);
			CU_ASSERT(rtmp_str_eq(c.code, codes[i]));
			CU_ASSERT(rtmp_str_eq(c.description, "Started playing"));
			CU_ASSERT(rtmp_amf0_str_eq(&arena, (uint32_t)rtmp_amf0_get(&arena,
					(uint32_t)c.info, "details"), "cam"));
			CU_ASSERT(rtmp_amf0_str_eq(&arena, (uint32_t)rtmp_amf0_get(&arena,
					(uint32_t)c.info, "clientid"), "abc"));
		}
	}
	st.code = NULL;
	CU_ASSERT_EQUAL(rtmp_cmd_build_onstatus(b, sizeof(b), &st), -EINVAL);

	len = rtmp_cmd_build_onfcpublish(b, sizeof(b), 0, RTMP_NS_PUBLISH_START, "key");
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT(rtmp_str_eq(c.name, "onFCPublish"));
	CU_ASSERT_EQUAL(c.kind, RTMP_CMD_OTHER);
	len = rtmp_cmd_build_onfcpublish(b, sizeof(b), 1, RTMP_NS_UNPUBLISH_SUCCESS, NULL);
	CU_ASSERT_EQUAL(parse(b, len, &c), 0);
	CU_ASSERT(rtmp_str_eq(c.name, "onFCUnpublish"));
}

static int build_setdataframe(uint8_t *b, size_t cap)
{
	struct rtmp_amf0_w w;

	rtmp_amf0_w_init(&w, b, cap);
	rtmp_amf0_put_cstring(&w, "@setDataFrame");
	rtmp_amf0_put_cstring(&w, "onMetaData");
	rtmp_amf0_put_ecma_begin(&w, 3);
	rtmp_amf0_put_prop_number(&w, "width", 1280);
	rtmp_amf0_put_prop_number(&w, "height", 720);
	rtmp_amf0_put_prop_string(&w, "encoder", "Lavf59");
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

static void test_metadata(void)
{
	uint8_t b[512], b15[513], out[512];
	struct rtmp_data d;
	int len = build_setdataframe(b, sizeof(b)), olen, i;

	rtmp_amf0_arena_init(&arena, nodes, 128);
	CU_ASSERT_EQUAL(rtmp_data_parse(RTMP_MSG_DATA_AMF0, b, (size_t)len, &arena, &d), 0);
	CU_ASSERT_EQUAL(d.set_data_frame, 1);
	CU_ASSERT(rtmp_str_eq(d.handler, "@setDataFrame"));
	CU_ASSERT(rtmp_str_eq(d.name, "onMetaData"));
	CU_ASSERT_EQUAL(d.payload_off, 16);
	CU_ASSERT_EQUAL(arena.nodes[d.value].type, RTMP_AMF0_ECMA_ARRAY);
	i = rtmp_amf0_get(&arena, (uint32_t)d.value, "width");
	CU_ASSERT_FATAL(i > 0);
	CU_ASSERT_DOUBLE_EQUAL(arena.nodes[i].u.num, 1280, 0);
	olen = rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF0, b, (size_t)len, out, sizeof(out));
	CU_ASSERT_EQUAL(olen, len - 16);
	CU_ASSERT_EQUAL(memcmp(out, b + 16, (size_t)olen), 0);
	CU_ASSERT_EQUAL(out[0], 0x02);
	CU_ASSERT_EQUAL(memcmp(out + 3, "onMetaData", 10), 0);
	/* the rewritten body parses as plain onMetaData */
	CU_ASSERT_EQUAL(rtmp_data_parse(RTMP_MSG_DATA_AMF0, out, (size_t)olen, &arena, &d), 0);
	CU_ASSERT_EQUAL(d.set_data_frame, 0);
	CU_ASSERT(rtmp_str_eq(d.name, "onMetaData"));
	CU_ASSERT_EQUAL(d.payload_off, 0);
	/* stripping it again is a plain copy */
	CU_ASSERT_EQUAL(rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF0, out, (size_t)olen, b15,
						     sizeof(b15)), olen);
	CU_ASSERT_EQUAL(memcmp(out, b15, (size_t)olen), 0);
	/* type 15 with the leading 0x00 */
	b15[0] = 0;
	memcpy(b15 + 1, b, (size_t)len);
	CU_ASSERT_EQUAL(rtmp_data_parse(RTMP_MSG_DATA_AMF3, b15, (size_t)len + 1, &arena, &d), 0);
	CU_ASSERT_EQUAL(d.payload_off, 17);
	CU_ASSERT_EQUAL(rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF3, b15, (size_t)len + 1, out,
						     sizeof(out)), len - 16);
	CU_ASSERT_EQUAL(memcmp(out, b + 16, (size_t)len - 16), 0);
	CU_ASSERT_EQUAL(rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF0, b, (size_t)len, out, 10),
			-ENOSPC);
	CU_ASSERT_EQUAL(rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF0, b, 5, out, sizeof(out)),
			-RTMP_E_TRUNCATED);
	/* |RtmpSampleAccess */
	len = rtmp_cmd_build_sample_access(b, sizeof(b));
	CU_ASSERT_EQUAL(rtmp_data_parse(RTMP_MSG_DATA_AMF0, b, (size_t)len, &arena, &d), 0);
	CU_ASSERT(rtmp_str_eq(d.handler, "|RtmpSampleAccess"));
	CU_ASSERT_EQUAL(arena.nodes[d.value].type, RTMP_AMF0_BOOLEAN);
	CU_ASSERT_EQUAL(arena.nodes[d.value].u.boolean, 1);
	/* not a string first */
	b[0] = 0x05;
	CU_ASSERT_EQUAL(rtmp_data_parse(RTMP_MSG_DATA_AMF0, b, 1, &arena, &d), -RTMP_E_CMD_SYNTAX);
	CU_ASSERT_EQUAL(rtmp_data_strip_setdataframe(RTMP_MSG_DATA_AMF0, b, 1, out, sizeof(out)),
			-RTMP_E_CMD_SYNTAX);
}

static void test_errors(void)
{
	uint8_t b[256];
	struct rtmp_amf0_w w;
	struct rtmp_cmd c;

	/* name without a transaction id */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "connect");
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), -RTMP_E_CMD_SYNTAX);
	/* number first */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_number(&w, 1);
	rtmp_amf0_put_number(&w, 1);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), -RTMP_E_CMD_SYNTAX);
	/* connect without its object */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "connect");
	rtmp_amf0_put_number(&w, 1);
	rtmp_amf0_put_null(&w);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), -RTMP_E_CMD_ARG);
	/* publish with a number as name; deleteStream without an id */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "publish");
	rtmp_amf0_put_number(&w, 5);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_number(&w, 5);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), -RTMP_E_CMD_ARG);
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "deleteStream");
	rtmp_amf0_put_number(&w, 5);
	rtmp_amf0_put_null(&w);
	CU_ASSERT_EQUAL(parse(b, rtmp_amf0_w_result(&w), &c), -RTMP_E_CMD_ARG);
	/* an AMF3 value as a trailing argument is skipped... */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "play");
	rtmp_amf0_put_number(&w, 0);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_cstring(&w, "cam");
	CU_ASSERT_FATAL(rtmp_amf0_w_result(&w) > 0);
	b[w.len] = 0x11;
	b[w.len + 1] = 0x04;
	b[w.len + 2] = 0x05;
	CU_ASSERT_EQUAL(parse(b, (int)w.len + 3, &c), 0);
	CU_ASSERT_EQUAL(c.amf3_tail, 1);
	CU_ASSERT(rtmp_str_eq(c.stream, "cam"));
	/* ...but not as the connect object */
	rtmp_amf0_w_init(&w, b, sizeof(b));
	rtmp_amf0_put_cstring(&w, "connect");
	rtmp_amf0_put_number(&w, 1);
	b[w.len] = 0x11;
	b[w.len + 1] = 0x0a;
	CU_ASSERT_EQUAL(parse(b, (int)w.len + 2, &c), -RTMP_E_AMF3);
	/* empty type-17 body */
	CU_ASSERT_EQUAL(rtmp_cmd_parse(RTMP_MSG_COMMAND_AMF3, b, 0, &arena, &c), -RTMP_E_CMD_SYNTAX);
}

/* Every prefix of a publish command, before a guard page. A prefix that ends
 * inside a value is -RTMP_E_TRUNCATED; one that ends between values is a
 * shorter command (valid or a typed error); only the full one has "live". */
static void test_truncation_guard(void)
{
	uint8_t b[256];
	int len = rtmp_cmd_build_publish(b, sizeof(b), 5, "stream", RTMP_PUBLISH_RECORD), cut;
	/* value boundaries: "publish"(10) 5.0(9) null(1) "stream"(9) "record"(9) */
	static const int bounds[] = { 0, 10, 19, 20, 29, 38 };

	CU_ASSERT_EQUAL_FATAL(len, 38);
	for (cut = 0; cut <= len; cut++) {
		struct rtmp_guard g;
		const uint8_t *in = rtmp_guard_place(&g, b, (size_t)cut);
		struct rtmp_cmd c;
		int rc, k, boundary = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(in);
		for (k = 0; k < 6; k++)
			boundary |= bounds[k] == cut;
		rtmp_amf0_arena_init(&arena, nodes, 128);
		rc = rtmp_cmd_parse(RTMP_MSG_COMMAND_AMF0, in, (size_t)cut, &arena, &c);
		if (!boundary)
			CU_ASSERT_EQUAL(rc, -RTMP_E_TRUNCATED);
		if (cut < 20)
			CU_ASSERT(rc < 0);
		if (cut == 20)
			CU_ASSERT_EQUAL(rc, -RTMP_E_CMD_ARG);
		if (cut == 29) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(c.publish_type, RTMP_PUBLISH_LIVE);
		}
		if (cut == len) {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(c.publish_type, RTMP_PUBLISH_RECORD);
		}
		rtmp_guard_release(&g);
	}
}

int test_rtmp_cmd_register(void)
{
	CU_pSuite s = CU_add_suite("rtmp_cmd", NULL, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "connect", test_connect) ||
	    !CU_add_test(s, "stream calls", test_stream_calls) ||
	    !CU_add_test(s, "publish and play", test_publish_play) ||
	    !CU_add_test(s, "server replies", test_server_replies) ||
	    !CU_add_test(s, "metadata", test_metadata) ||
	    !CU_add_test(s, "errors", test_errors) ||
	    !CU_add_test(s, "truncation before guard page", test_truncation_guard))
		return -1;
	return 0;
}
