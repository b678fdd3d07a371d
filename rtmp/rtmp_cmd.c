/* Command and data messages: typed parsing over the AMF0 arena, and
 * builders for the messages a server and a client send. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "rtmp/rtmp_chunk.h"
#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_err.h"

struct cmd_name {
	const char *name;
	enum rtmp_cmd_kind kind;
};

static const struct cmd_name cmd_names[] = {
	{ "connect", RTMP_CMD_CONNECT },
	{ "createStream", RTMP_CMD_CREATE_STREAM },
	{ "releaseStream", RTMP_CMD_RELEASE_STREAM },
	{ "FCPublish", RTMP_CMD_FCPUBLISH },
	{ "FCUnpublish", RTMP_CMD_FCUNPUBLISH },
	{ "publish", RTMP_CMD_PUBLISH },
	{ "deleteStream", RTMP_CMD_DELETE_STREAM },
	{ "closeStream", RTMP_CMD_CLOSE_STREAM },
	{ "play", RTMP_CMD_PLAY },
	{ "getStreamLength", RTMP_CMD_GET_STREAM_LENGTH },
	{ "_checkbw", RTMP_CMD_CHECKBW },
	{ "_result", RTMP_CMD_RESULT },
	{ "_error", RTMP_CMD_ERROR },
	{ "onStatus", RTMP_CMD_ONSTATUS },
	{ "pause", RTMP_CMD_PAUSE },
	{ "FCSubscribe", RTMP_CMD_FCSUBSCRIBE },
};

static const char *const cmd_publish_types[] = { "live", "record", "append" };

/* Decode every value of body; stop quietly at an AMF3 value when at least
 * `required` values were decoded. Returns the number of values or an error. */
static int cmd_decode(struct rtmp_amf0_arena *a, const uint8_t *body, size_t len, int required,
		      int *amf3_tail)
{
	size_t pos = 0;
	uint32_t root;
	int n = 0, rc;

	*amf3_tail = 0;
	while (pos < len) {
		rc = rtmp_amf0_decode(a, body + pos, len - pos, &root);
		if (rc == -RTMP_E_AMF3 && n >= required) {
			*amf3_tail = 1;
			break;
		}
		if (rc == 0)
			return -RTMP_E_TRUNCATED;
		if (rc < 0)
			return rc;
		pos += (size_t)rc;
		n++;
	}
	return n;
}

static int cmd_node_type(const struct rtmp_amf0_arena *a, int idx)
{
	return idx < 0 || (uint32_t)idx >= a->used ? -1 : a->nodes[idx].type;
}

static int cmd_is_str(const struct rtmp_amf0_arena *a, int idx)
{
	int t = cmd_node_type(a, idx);

	return t == RTMP_AMF0_STRING || t == RTMP_AMF0_LONG_STRING;
}

static int cmd_is_obj(const struct rtmp_amf0_arena *a, int idx)
{
	int t = cmd_node_type(a, idx);

	return t == RTMP_AMF0_OBJECT || t == RTMP_AMF0_ECMA_ARRAY || t == RTMP_AMF0_TYPED_OBJECT;
}

/* String property of an object, if present and a string. */
static void cmd_prop_str(const struct rtmp_amf0_arena *a, int obj, const char *key,
			 struct rtmp_str *out)
{
	int i = rtmp_amf0_get(a, (uint32_t)obj, key);

	if (cmd_is_str(a, i))
		*out = a->nodes[i].u.str;
}

static void cmd_prop_num(const struct rtmp_amf0_arena *a, int obj, const char *key, double *out)
{
	int i = rtmp_amf0_get(a, (uint32_t)obj, key);

	if (cmd_node_type(a, i) == RTMP_AMF0_NUMBER)
		*out = a->nodes[i].u.num;
}

/* The n'th argument after the command object, or -1. */
static int cmd_arg(const struct rtmp_amf0_arena *a, const struct rtmp_cmd *c, int n)
{
	int i;

	if (c->args < 0 || n >= c->nargs)
		return -1;
	i = rtmp_amf0_nth(a, (uint32_t)c->args, (uint32_t)n);
	return i < 0 ? -1 : i;
}

static int cmd_connect(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	if (!cmd_is_obj(a, c->cmd_obj))
		return -RTMP_E_CMD_ARG;
	cmd_prop_str(a, c->cmd_obj, "app", &c->app);
	cmd_prop_str(a, c->cmd_obj, "tcUrl", &c->tc_url);
	cmd_prop_str(a, c->cmd_obj, "flashVer", &c->flash_ver);
	cmd_prop_str(a, c->cmd_obj, "swfUrl", &c->swf_url);
	cmd_prop_str(a, c->cmd_obj, "pageUrl", &c->page_url);
	cmd_prop_str(a, c->cmd_obj, "type", &c->type);
	cmd_prop_num(a, c->cmd_obj, "objectEncoding", &c->object_encoding);
	cmd_prop_num(a, c->cmd_obj, "audioCodecs", &c->audio_codecs);
	cmd_prop_num(a, c->cmd_obj, "videoCodecs", &c->video_codecs);
	cmd_prop_num(a, c->cmd_obj, "capabilities", &c->capabilities);
	return 0;
}

static int cmd_stream_name(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	int i = cmd_arg(a, c, 0);

	if (!cmd_is_str(a, i))
		return -RTMP_E_CMD_ARG;
	c->stream = a->nodes[i].u.str;
	return 0;
}

static int cmd_publish(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	int rc = cmd_stream_name(a, c), i = cmd_arg(a, c, 1);
	struct rtmp_str t;

	if (rc < 0)
		return rc;
	c->publish_type = RTMP_PUBLISH_LIVE; /* absent or unknown: live, as servers do */
	if (!cmd_is_str(a, i))
		return 0;
	t = a->nodes[i].u.str;
	if (t.len == 6 && strncasecmp(t.ptr, "record", 6) == 0)
		c->publish_type = RTMP_PUBLISH_RECORD;
	else if (t.len == 6 && strncasecmp(t.ptr, "append", 6) == 0)
		c->publish_type = RTMP_PUBLISH_APPEND;
	return 0;
}

/* Numeric argument n, if present and a number (bools count as 0/1). */
static void cmd_arg_num(const struct rtmp_amf0_arena *a, const struct rtmp_cmd *c, int n,
			double *out)
{
	int i = cmd_arg(a, c, n);

	if (cmd_node_type(a, i) == RTMP_AMF0_NUMBER)
		*out = a->nodes[i].u.num;
	else if (cmd_node_type(a, i) == RTMP_AMF0_BOOLEAN)
		*out = a->nodes[i].u.boolean;
}

static int cmd_play(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	double reset = 1;
	int rc = cmd_stream_name(a, c);

	if (rc < 0)
		return rc;
	c->start = -2;
	c->duration = -1;
	cmd_arg_num(a, c, 1, &c->start);
	cmd_arg_num(a, c, 2, &c->duration);
	cmd_arg_num(a, c, 3, &reset);
	c->reset = reset != 0;
	return 0;
}

static int cmd_result(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	int i;

	for (i = 0; i < c->nargs; i++) {
		int n = cmd_arg(a, c, i);

		if (cmd_node_type(a, n) == RTMP_AMF0_NUMBER && i == 0)
			c->stream_id = a->nodes[n].u.num;
		if (cmd_is_obj(a, n) && c->info < 0)
			c->info = n;
	}
	if (c->info < 0 && c->kind != RTMP_CMD_RESULT && cmd_is_obj(a, c->cmd_obj))
		c->info = c->cmd_obj;
	if (c->info >= 0) {
		cmd_prop_str(a, c->info, "level", &c->level);
		cmd_prop_str(a, c->info, "code", &c->code);
		cmd_prop_str(a, c->info, "description", &c->description);
	}
	return 0;
}

static int cmd_typed(const struct rtmp_amf0_arena *a, struct rtmp_cmd *c)
{
	double pause = 0;

	switch (c->kind) {
	case RTMP_CMD_CONNECT:
		return cmd_connect(a, c);
	case RTMP_CMD_RELEASE_STREAM:
	case RTMP_CMD_FCPUBLISH:
	case RTMP_CMD_FCUNPUBLISH:
	case RTMP_CMD_GET_STREAM_LENGTH:
	case RTMP_CMD_FCSUBSCRIBE:
		return cmd_stream_name(a, c);
	case RTMP_CMD_PUBLISH:
		return cmd_publish(a, c);
	case RTMP_CMD_PLAY:
		return cmd_play(a, c);
	case RTMP_CMD_DELETE_STREAM:
		if (cmd_node_type(a, cmd_arg(a, c, 0)) != RTMP_AMF0_NUMBER)
			return -RTMP_E_CMD_ARG;
		cmd_arg_num(a, c, 0, &c->stream_id);
		return 0;
	case RTMP_CMD_CLOSE_STREAM:
		cmd_arg_num(a, c, 0, &c->stream_id);
		return 0;
	case RTMP_CMD_PAUSE:
		cmd_arg_num(a, c, 0, &pause);
		c->pause = pause != 0;
		cmd_arg_num(a, c, 1, &c->pause_ms);
		return 0;
	case RTMP_CMD_RESULT:
	case RTMP_CMD_ERROR:
	case RTMP_CMD_ONSTATUS:
		return cmd_result(a, c);
	default:
		return 0;
	}
}

static enum rtmp_cmd_kind cmd_kind(struct rtmp_str name)
{
	size_t i;

	for (i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (rtmp_str_eq(name, cmd_names[i].name))
			return cmd_names[i].kind;
	return RTMP_CMD_OTHER;
}

/* Skip the AMF3 envelope byte of types 17 and 15. */
static int cmd_envelope(uint8_t type, uint8_t amf0, uint8_t amf3, const uint8_t **body,
			size_t *len)
{
	if (type == amf0)
		return 0;
	if (type != amf3)
		return -EINVAL;
	if (*len == 0)
		return -RTMP_E_CMD_SYNTAX;
	(*body)++;
	(*len)--;
	return 0;
}

int rtmp_cmd_parse(uint8_t type, const uint8_t *body, size_t len,
		   struct rtmp_amf0_arena *a, struct rtmp_cmd *out)
{
	int n, rc;

	memset(out, 0, sizeof(*out));
	out->cmd_obj = out->args = out->info = -1;
	rc = cmd_envelope(type, RTMP_MSG_COMMAND_AMF0, RTMP_MSG_COMMAND_AMF3, &body, &len);
	if (rc < 0)
		return rc;
	a->used = 0;
	n = cmd_decode(a, body, len, 2, &out->amf3_tail);
	if (n < 0)
		return n;
	if (n < 2 || !cmd_is_str(a, 0) || cmd_node_type(a, (int)a->nodes[0].end) != RTMP_AMF0_NUMBER)
		return -RTMP_E_CMD_SYNTAX;
	out->name = a->nodes[0].u.str;
	out->txn = a->nodes[a->nodes[0].end].u.num;
	out->kind = cmd_kind(out->name);
	if (n >= 3) {
		int obj = rtmp_amf0_nth(a, 0, 2);

		out->cmd_obj = cmd_is_obj(a, obj) ? obj : -1;
		if (n >= 4) {
			out->args = rtmp_amf0_nth(a, 0, 3);
			out->nargs = n - 3;
		}
	}
	if (out->kind == RTMP_CMD_CONNECT && out->amf3_tail && n < 3)
		return -RTMP_E_AMF3;
	return cmd_typed(a, out);
}

int rtmp_data_parse(uint8_t type, const uint8_t *body, size_t len,
		    struct rtmp_amf0_arena *a, struct rtmp_data *out)
{
	const uint8_t *start = body;
	int n, tail, second, rc;

	memset(out, 0, sizeof(*out));
	out->value = -1;
	rc = cmd_envelope(type, RTMP_MSG_DATA_AMF0, RTMP_MSG_DATA_AMF3, &body, &len);
	if (rc < 0)
		return rc;
	a->used = 0;
	n = cmd_decode(a, body, len, 1, &tail);
	if (n < 0)
		return n;
	if (n < 1 || !cmd_is_str(a, 0))
		return -RTMP_E_CMD_SYNTAX;
	out->handler = a->nodes[0].u.str;
	out->name = out->handler;
	out->payload_off = (uint32_t)(body - start);
	second = n >= 2 ? (int)a->nodes[0].end : -1;
	if (rtmp_str_eq(out->handler, "@setDataFrame")) {
		if (!cmd_is_str(a, second))
			return -RTMP_E_CMD_SYNTAX;
		out->set_data_frame = 1;
		out->name = a->nodes[second].u.str;
		/* The inner name's marker and length precede its characters. */
		out->payload_off = (uint32_t)((const uint8_t *)out->name.ptr - start) -
				   (a->nodes[second].type == RTMP_AMF0_STRING ? 3 : 5);
		second = n >= 3 ? (int)a->nodes[second].end : -1;
	}
	out->value = second;
	return 0;
}

int rtmp_data_strip_setdataframe(uint8_t type, const uint8_t *body, size_t len,
				 uint8_t *out, size_t cap)
{
	struct rtmp_amf0_node nodes[2];
	struct rtmp_amf0_arena a;
	const uint8_t *p = body;
	uint32_t root;
	int rc;

	rc = cmd_envelope(type, RTMP_MSG_DATA_AMF0, RTMP_MSG_DATA_AMF3, &p, &len);
	if (rc < 0)
		return rc;
	rtmp_amf0_arena_init(&a, nodes, 2);
	rc = rtmp_amf0_decode(&a, p, len, &root);
	if (rc == 0)
		return -RTMP_E_TRUNCATED;
	if (rc < 0 || !cmd_is_str(&a, (int)root))
		return -RTMP_E_CMD_SYNTAX;
	if (rtmp_amf0_str_eq(&a, root, "@setDataFrame")) {
		p += rc;
		len -= (size_t)rc;
	}
	if (len > cap)
		return -ENOSPC;
	if (len > (size_t)RTMP_MSG_LEN_MAX)
		return -EINVAL;
	memcpy(out, p, len);
	return (int)len;
}

/* ---- builders ---- */

static int cmd_begin(struct rtmp_amf0_w *w, uint8_t *buf, size_t cap, const char *name,
		     double txn)
{
	rtmp_amf0_w_init(w, buf, cap);
	rtmp_amf0_put_cstring(w, name);
	return rtmp_amf0_put_number(w, txn);
}

int rtmp_cmd_build_connect_result(uint8_t *buf, size_t cap, double txn,
				  const struct rtmp_connect_result *r)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "_result", txn);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "fmsVer", r && r->fms_ver ? r->fms_ver : "FMS/3,0,1,123");
	rtmp_amf0_put_prop_number(&w, "capabilities", r && r->capabilities ? r->capabilities : 31);
	rtmp_amf0_put_prop_number(&w, "mode", 1);
	rtmp_amf0_put_object_end(&w);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "level", "status");
	rtmp_amf0_put_prop_string(&w, "code", RTMP_NC_CONNECT_SUCCESS);
	rtmp_amf0_put_prop_string(&w, "description",
				  r && r->description ? r->description : "Connection succeeded.");
	rtmp_amf0_put_prop_number(&w, "objectEncoding", r ? r->object_encoding : 0);
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_connect_error(uint8_t *buf, size_t cap, double txn, const char *description)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "_error", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "level", "error");
	rtmp_amf0_put_prop_string(&w, "code", RTMP_NC_CONNECT_REJECTED);
	rtmp_amf0_put_prop_string(&w, "description", description ? description : "Rejected.");
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_create_stream_result(uint8_t *buf, size_t cap, double txn, double stream_id)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "_result", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_number(&w, stream_id);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_simple_result(uint8_t *buf, size_t cap, double txn)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "_result", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_undefined(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_onstatus(uint8_t *buf, size_t cap, const struct rtmp_status *st)
{
	struct rtmp_amf0_w w;

	if (!st || !st->code)
		return -EINVAL;
	cmd_begin(&w, buf, cap, "onStatus", 0);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "level", st->level ? st->level : "status");
	rtmp_amf0_put_prop_string(&w, "code", st->code);
	if (st->description)
		rtmp_amf0_put_prop_string(&w, "description", st->description);
	if (st->details)
		rtmp_amf0_put_prop_string(&w, "details", st->details);
	if (st->clientid)
		rtmp_amf0_put_prop_string(&w, "clientid", st->clientid);
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_onfcpublish(uint8_t *buf, size_t cap, int unpublish,
			       const char *code, const char *description)
{
	struct rtmp_amf0_w w;

	if (!code)
		return -EINVAL;
	cmd_begin(&w, buf, cap, unpublish ? "onFCUnpublish" : "onFCPublish", 0);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "code", code);
	if (description)
		rtmp_amf0_put_prop_string(&w, "description", description);
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_sample_access(uint8_t *buf, size_t cap)
{
	struct rtmp_amf0_w w;

	rtmp_amf0_w_init(&w, buf, cap);
	rtmp_amf0_put_cstring(&w, "|RtmpSampleAccess");
	rtmp_amf0_put_bool(&w, 1);
	rtmp_amf0_put_bool(&w, 1);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_connect(uint8_t *buf, size_t cap, double txn, const struct rtmp_connect_params *p)
{
	struct rtmp_amf0_w w;

	if (!p || !p->app || !p->tc_url)
		return -EINVAL;
	cmd_begin(&w, buf, cap, "connect", txn);
	rtmp_amf0_put_object_begin(&w);
	rtmp_amf0_put_prop_string(&w, "app", p->app);
	if (p->type)
		rtmp_amf0_put_prop_string(&w, "type", p->type);
	rtmp_amf0_put_prop_string(&w, "flashVer", p->flash_ver ? p->flash_ver : "LNX 9,0,124,2");
	if (p->swf_url)
		rtmp_amf0_put_prop_string(&w, "swfUrl", p->swf_url);
	rtmp_amf0_put_prop_string(&w, "tcUrl", p->tc_url);
	rtmp_amf0_put_prop_bool(&w, "fpad", p->fpad);
	rtmp_amf0_put_prop_number(&w, "capabilities", 15);
	rtmp_amf0_put_prop_number(&w, "audioCodecs", 4071);
	rtmp_amf0_put_prop_number(&w, "videoCodecs", 252);
	rtmp_amf0_put_prop_number(&w, "videoFunction", 1);
	if (p->page_url)
		rtmp_amf0_put_prop_string(&w, "pageUrl", p->page_url);
	rtmp_amf0_put_prop_number(&w, "objectEncoding", p->object_encoding);
	rtmp_amf0_put_object_end(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_create_stream(uint8_t *buf, size_t cap, double txn)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "createStream", txn);
	rtmp_amf0_put_null(&w);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_stream_call(uint8_t *buf, size_t cap, const char *cmd, double txn,
			       const char *stream)
{
	struct rtmp_amf0_w w;

	if (!cmd || !stream)
		return -EINVAL;
	cmd_begin(&w, buf, cap, cmd, txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_cstring(&w, stream);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_play(uint8_t *buf, size_t cap, double txn, const char *stream,
			double start, double duration, int reset)
{
	struct rtmp_amf0_w w;

	if (!stream)
		return -EINVAL;
	cmd_begin(&w, buf, cap, "play", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_cstring(&w, stream);
	rtmp_amf0_put_number(&w, start);
	if (duration >= -1) {
		rtmp_amf0_put_number(&w, duration);
		if (reset >= 0)
			rtmp_amf0_put_bool(&w, reset);
	}
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_publish(uint8_t *buf, size_t cap, double txn, const char *stream,
			   enum rtmp_publish_type type)
{
	struct rtmp_amf0_w w;

	if (!stream || (unsigned)type > RTMP_PUBLISH_APPEND)
		return -EINVAL;
	cmd_begin(&w, buf, cap, "publish", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_cstring(&w, stream);
	rtmp_amf0_put_cstring(&w, cmd_publish_types[type]);
	return rtmp_amf0_w_result(&w);
}

int rtmp_cmd_build_delete_stream(uint8_t *buf, size_t cap, double txn, double stream_id)
{
	struct rtmp_amf0_w w;

	cmd_begin(&w, buf, cap, "deleteStream", txn);
	rtmp_amf0_put_null(&w);
	rtmp_amf0_put_number(&w, stream_id);
	return rtmp_amf0_w_result(&w);
}
