/* sw_play: RTMP viewer state machine (see sw_play.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmp/rtmp_cmd.h"
#include "rtmp/rtmp_ctl.h"
#include "rtmp/rtmp_err.h"
#include "swarm/sw_play.h"

#define CMD_BUF 1024
#define TXN_CONNECT 1
#define TXN_CREATE 2
#define AMF_NODES 128
#define BUFFER_MS 3000

static int fail(struct sw_play *p, int err, const char *what)
{
	p->state = SW_PLAY_FAILED;
	snprintf(p->reason, sizeof(p->reason), "%s", what);
	return err < 0 ? err : -EPROTO;
}

static int hs_rand(void *ctx, uint8_t *buf, size_t len)
{
	uint64_t *x = ctx;

	for (size_t k = 0; k < len; k++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		buf[k] = (uint8_t)*x;
	}
	return 0;
}

static int send_command(struct sw_play *p, const uint8_t *body, int len, uint32_t msid)
{
	struct rtmp_msg m = { 0 };

	if (len < 0)
		return len;
	m.length = (uint32_t)len;
	m.msid = msid;
	m.csid = RTMP_CSID_COMMAND;
	m.type = RTMP_MSG_COMMAND_AMF0;
	m.data = body;
	return rtmp_conn_send(&p->conn, &m);
}

static int send_connect(struct sw_play *p)
{
	uint8_t b[CMD_BUF];
	struct rtmp_connect_params cp = { .app = p->cfg->app, .tc_url = p->cfg->tc_url };

	p->state = SW_PLAY_CONNECT;
	return send_command(p, b, rtmp_cmd_build_connect(b, sizeof(b), TXN_CONNECT, &cp), 0);
}

static int send_create(struct sw_play *p)
{
	uint8_t b[CMD_BUF];
	int rc;

	/* As ffmpeg does: announce our acknowledgement window first. */
	if ((rc = rtmp_conn_send_window(&p->conn, 2500000)) != 0)
		return rc;
	p->state = SW_PLAY_CREATE;
	return send_command(p, b, rtmp_cmd_build_create_stream(b, sizeof(b), TXN_CREATE), 0);
}

static int send_play(struct sw_play *p)
{
	uint8_t b[CMD_BUF];
	uint32_t msid = (uint32_t)p->stream_id;
	struct rtmp_msg m = { 0 };
	int rc, n;

	p->state = SW_PLAY_PLAY;
	rc = send_command(p, b, rtmp_cmd_build_play(b, sizeof(b), 0, p->cfg->stream, -2, -1, -1), msid);
	if (rc != 0)
		return rc;
	n = rtmp_ctl_set_buffer_length(b, sizeof(b), msid, BUFFER_MS);
	if (n < 0)
		return n;
	m.length = (uint32_t)n;
	m.csid = RTMP_CSID_CONTROL;
	m.type = RTMP_MSG_USER_CONTROL;
	m.data = b;
	return rtmp_conn_send(&p->conn, &m);
}

/* Status codes that end a play attempt. */
static int status_is_failure(const struct rtmp_cmd *c)
{
	return rtmp_str_eq(c->level, "error") || rtmp_str_eq(c->code, RTMP_NS_PLAY_STREAMNOTFOUND);
}

static int on_command(struct sw_play *p, const struct rtmp_msg *m)
{
	struct rtmp_amf0_node nodes[AMF_NODES];
	struct rtmp_amf0_arena a;
	struct rtmp_cmd c;
	char why[SW_PLAY_REASON_MAX];

	rtmp_amf0_arena_init(&a, nodes, AMF_NODES);
	if (rtmp_cmd_parse(m->type, m->data, m->length, &a, &c) != 0)
		return 0; /* not ours to judge: servers send odd extras */
	if (c.kind == RTMP_CMD_ERROR || (c.kind == RTMP_CMD_ONSTATUS && status_is_failure(&c))) {
		snprintf(why, sizeof(why), "%.*s", (int)c.code.len, c.code.ptr ? c.code.ptr : "_error");
		return fail(p, -ECONNREFUSED, why);
	}
	if (c.kind == RTMP_CMD_RESULT && c.txn == TXN_CONNECT && p->state == SW_PLAY_CONNECT)
		return send_create(p);
	if (c.kind == RTMP_CMD_RESULT && c.txn == TXN_CREATE && p->state == SW_PLAY_CREATE) {
		if (!(c.stream_id > 0 && c.stream_id < 65536))
			return fail(p, -EPROTO, "createStream gave no stream id");
		p->stream_id = c.stream_id;
		return send_play(p);
	}
	if (c.kind == RTMP_CMD_ONSTATUS && rtmp_str_eq(c.code, RTMP_NS_PLAY_START) &&
	    p->state == SW_PLAY_PLAY)
		p->state = SW_PLAY_MEDIA;
	return 0;
}

static int on_msg(void *ctx, const struct rtmp_msg *m)
{
	struct sw_play *p = ctx;

	switch (m->type) {
	case RTMP_MSG_COMMAND_AMF0:
	case RTMP_MSG_COMMAND_AMF3:
		return on_command(p, m);
	case RTMP_MSG_AUDIO:
	case RTMP_MSG_VIDEO:
	case RTMP_MSG_DATA_AMF0:
	case RTMP_MSG_DATA_AMF3:
		/* nginx-rtmp sends media before Play.Start in some orders; count
		 * from play on. */
		if (p->state < SW_PLAY_PLAY)
			return 0;
		p->media_msgs++;
		p->media_bytes += m->length;
		return p->hooks->media(p->ctx, m);
	default:
		return 0;
	}
}

static int on_out(void *ctx, const uint8_t *b, size_t n)
{
	struct sw_play *p = ctx;

	return p->hooks->send(p->ctx, b, n);
}

int sw_play_init(struct sw_play *p, const struct sw_play_cfg *cfg,
		 const struct sw_play_hooks *hooks, void *ctx, uint64_t seed)
{
	struct rtmp_hs_config hc = { .rand = hs_rand };
	struct rtmp_conn_config cc;
	int rc;

	if (cfg == NULL || hooks == NULL || cfg->app == NULL || cfg->tc_url == NULL ||
	    cfg->stream == NULL)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->hooks = hooks;
	p->ctx = ctx;
	p->rng = seed | 1;
	p->hs = malloc(sizeof(*p->hs));
	if (p->hs == NULL)
		return -ENOMEM;
	hc.rand_ctx = &p->rng;
	hc.digest = cfg->digest;
	if ((rc = rtmp_hs_client_init(p->hs, &hc)) != 0)
		goto err_hs;
	memset(&cc, 0, sizeof(cc));
	cc.limits = (struct rtmp_chunk_limits){ RTMP_CHUNK_SIZE_MAX, SW_PLAY_MAX_MSG, 16,
						4 * SW_PLAY_MAX_MSG };
	cc.on_msg = on_msg;
	cc.on_out = on_out;
	cc.ctx = p;
	if ((rc = rtmp_conn_init(&p->conn, &cc)) != 0)
		goto err_hs;
	p->conn_ok = 1;
	return 0;
err_hs:
	free(p->hs);
	p->hs = NULL;
	return rc;
}

int sw_play_start(struct sw_play *p)
{
	uint8_t out[RTMP_HS_SIZE + 1];
	int n;

	if (p->state != SW_PLAY_INIT || p->hs == NULL)
		return -EINVAL;
	n = rtmp_hs_client_start(p->hs, out, sizeof(out));
	if (n < 0)
		return fail(p, n, "handshake start");
	p->state = SW_PLAY_HANDSHAKE;
	return p->hooks->send(p->ctx, out, (size_t)n);
}

static void drop_hs(struct sw_play *p)
{
	free(p->hs);
	p->hs = NULL;
}

/* Feed handshake bytes; returns bytes used (the rest is chunk stream). */
static int input_handshake(struct sw_play *p, const uint8_t *buf, size_t len)
{
	uint8_t out[RTMP_HS_OUT_MAX];
	size_t olen = 0;
	int used, rc;

	used = rtmp_hs_feed(p->hs, buf, len, out, sizeof(out), &olen);
	if (used < 0)
		return fail(p, used, "handshake rejected");
	if (olen > 0 && (rc = p->hooks->send(p->ctx, out, olen)) != 0)
		return fail(p, rc, "send");
	if (rtmp_hs_done(p->hs)) {
		drop_hs(p);
		if ((rc = send_connect(p)) != 0)
			return fail(p, rc, "send connect");
	}
	return used;
}

int sw_play_input(struct sw_play *p, const uint8_t *buf, size_t len)
{
	int rc;

	if (p->state == SW_PLAY_FAILED)
		return -EPROTO;
	if (p->state == SW_PLAY_HANDSHAKE) {
		int used = input_handshake(p, buf, len);
		if (used < 0)
			return used;
		buf += used;
		len -= (size_t)used;
	}
	if (len == 0)
		return 0;
	if (p->state == SW_PLAY_INIT || p->state == SW_PLAY_HANDSHAKE)
		return fail(p, -EPROTO, "bytes before handshake");
	rc = rtmp_conn_input(&p->conn, buf, len);
	if (rc != 0 && p->state != SW_PLAY_FAILED) {
		char why[SW_PLAY_REASON_MAX];
		snprintf(why, sizeof(why), "chunk layer: %s", rtmp_strerror(-rc));
		return fail(p, rc, why);
	}
	return rc;
}

void sw_play_fini(struct sw_play *p)
{
	drop_hs(p);
	if (p->conn_ok)
		rtmp_conn_fini(&p->conn);
	p->conn_ok = 0;
}
