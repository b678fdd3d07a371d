/* Typed RTMP command messages (types 20 and 17) and data messages (18, 15):
 * parsing into a struct of slices, and builders for server and client.
 *
 * Type 17/15 bodies start with one 0x00 byte (AMF3 format selector) followed
 * by AMF0 values; the parser skips it. If an optional trailing argument is an
 * AMF3 value (switch marker 0x11), parsing stops there: the fields parsed so
 * far are kept and `amf3_tail` is set. An AMF3 value in a required position
 * gives -RTMP_E_AMF3.
 *
 * All string fields are slices into the message body (not NUL-terminated);
 * absent ones have ptr NULL and len 0. Node indexes refer to the arena given
 * to the parser (-1 when absent).
 */
#ifndef RTMP_CMD_H
#define RTMP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "rtmp/rtmp_amf0.h"

enum rtmp_cmd_kind {
	RTMP_CMD_OTHER = 0,     /* well-formed, unknown name */
	RTMP_CMD_CONNECT,
	RTMP_CMD_CREATE_STREAM,
	RTMP_CMD_RELEASE_STREAM,
	RTMP_CMD_FCPUBLISH,
	RTMP_CMD_FCUNPUBLISH,
	RTMP_CMD_PUBLISH,
	RTMP_CMD_DELETE_STREAM,
	RTMP_CMD_CLOSE_STREAM,
	RTMP_CMD_PLAY,
	RTMP_CMD_GET_STREAM_LENGTH,
	RTMP_CMD_CHECKBW,
	RTMP_CMD_RESULT,        /* _result (client side) */
	RTMP_CMD_ERROR,         /* _error (client side) */
	RTMP_CMD_ONSTATUS,      /* onStatus (client side) */
	RTMP_CMD_PAUSE,
	RTMP_CMD_FCSUBSCRIBE
};

enum rtmp_publish_type {
	RTMP_PUBLISH_LIVE = 0,  /* also the default when absent */
	RTMP_PUBLISH_RECORD,
	RTMP_PUBLISH_APPEND
};

struct rtmp_cmd {
	enum rtmp_cmd_kind kind;
	struct rtmp_str name;     /* command name as sent */
	double txn;               /* transaction id */
	int cmd_obj;              /* node of the command object (connect), or -1 */
	int args;                 /* node of the first argument after the
				   * command object, or -1 */
	int nargs;                /* number of arguments after the command object */
	int amf3_tail;            /* parsing stopped at an AMF3 switch */
	/* connect */
	struct rtmp_str app, tc_url, flash_ver, swf_url, page_url, type;
	double object_encoding;   /* 0 when absent */
	double audio_codecs, video_codecs, capabilities;
	/* publish/play/FCPublish/releaseStream/FCUnpublish/getStreamLength/
	 * FCSubscribe: the stream name (publish/play: may contain ?query) */
	struct rtmp_str stream;
	enum rtmp_publish_type publish_type;
	double start;             /* play: -2 (default) live or recorded */
	double duration;          /* play: -1 (default) till the end */
	int reset;                /* play: 1 (default) */
	int pause;                /* pause: 1 = pause, 0 = resume */
	double pause_ms;
	double stream_id;         /* deleteStream/closeStream argument;
				   * _result of createStream: the new id (else 0) */
	/* _result/_error/onStatus: the information object (or -1) and its
	 * level/code/description when present */
	int info;
	struct rtmp_str level, code, description;
};

/* Parse a command message body of type 20 (AMF0) or 17 (AMF3 envelope).
 * The arena is reset first and receives the whole value tree. Returns 0,
 * -RTMP_E_CMD_SYNTAX (no name string / transaction number), -RTMP_E_CMD_ARG
 * (a known command lacks a required argument or has a wrong type),
 * -RTMP_E_TRUNCATED or another AMF0 error, -EINVAL (type not 17/20). */
int rtmp_cmd_parse(uint8_t type, const uint8_t *body, size_t len,
		   struct rtmp_amf0_arena *a, struct rtmp_cmd *out);

/* A parsed data message (type 18, or 15 with its leading 0x00). */
struct rtmp_data {
	struct rtmp_str handler;  /* "@setDataFrame", "onMetaData", ... */
	int set_data_frame;       /* handler was @setDataFrame */
	struct rtmp_str name;     /* with @setDataFrame: the inner name
				   * ("onMetaData"); otherwise = handler */
	int value;                /* node of the first value after the name(s),
				   * or -1 (the metadata object/ECMA array) */
	uint32_t payload_off;     /* offset in body where the name-after-
				   * @setDataFrame starts (what is forwarded) */
};

/* Parse a data message body. Returns 0 or a negative error like
 * rtmp_cmd_parse (-RTMP_E_CMD_SYNTAX when the first value is not a string). */
int rtmp_data_parse(uint8_t type, const uint8_t *body, size_t len,
		    struct rtmp_amf0_arena *a, struct rtmp_data *out);

/* Rewrite a publisher's `@setDataFrame "onMetaData" {..}` into the
 * `onMetaData {..}` body a server stores and forwards as type 18 (for a type
 * 15 input the leading 0x00 is dropped too). Bodies without @setDataFrame
 * are copied unchanged. Writes into out (may not overlap body); returns the
 * output length, -ENOSPC, -RTMP_E_TRUNCATED or -RTMP_E_CMD_SYNTAX. Since the
 * result is a suffix of the input, rtmp_data_parse()'s payload_off gives the
 * same bytes without copying. */
int rtmp_data_strip_setdataframe(uint8_t type, const uint8_t *body, size_t len,
				 uint8_t *out, size_t cap);

/* ---- server-side builders: each writes a complete type-20 (or 18) body
 * into buf and returns its length or -ENOSPC / -EINVAL. ---- */

/* Status codes. */
#define RTMP_NC_CONNECT_SUCCESS    "NetConnection.Connect.Success"
#define RTMP_NC_CONNECT_REJECTED   "NetConnection.Connect.Rejected"
#define RTMP_NC_CONNECT_CLOSED     "NetConnection.Connect.Closed"
#define RTMP_NS_PUBLISH_START      "NetStream.Publish.Start"
#define RTMP_NS_PUBLISH_BADNAME    "NetStream.Publish.BadName"
#define RTMP_NS_UNPUBLISH_SUCCESS  "NetStream.Unpublish.Success"
#define RTMP_NS_PLAY_START         "NetStream.Play.Start"
#define RTMP_NS_PLAY_RESET         "NetStream.Play.Reset"
#define RTMP_NS_PLAY_STOP          "NetStream.Play.Stop"
#define RTMP_NS_PLAY_STREAMNOTFOUND "NetStream.Play.StreamNotFound"
#define RTMP_NS_PLAY_UNPUBLISH     "NetStream.Play.UnpublishNotify"
#define RTMP_NS_PLAY_PUBLISH       "NetStream.Play.PublishNotify"

struct rtmp_connect_result {
	const char *fms_ver;      /* NULL = "FMS/3,0,1,123" */
	double capabilities;      /* 0 = 31 */
	double object_encoding;   /* echo the client's (0 or 3) */
	const char *description;  /* NULL = "Connection succeeded." */
};

/* connect _result: "_result", txn, {fmsVer, capabilities, mode},
 * {level "status", code NetConnection.Connect.Success, description,
 * objectEncoding}. */
int rtmp_cmd_build_connect_result(uint8_t *buf, size_t cap, double txn,
				  const struct rtmp_connect_result *r);

/* connect _error: "_error", txn, null, {level "error", code
 * NetConnection.Connect.Rejected, description}. */
int rtmp_cmd_build_connect_error(uint8_t *buf, size_t cap, double txn, const char *description);

/* createStream _result: "_result", txn, null, stream_id. */
int rtmp_cmd_build_create_stream_result(uint8_t *buf, size_t cap, double txn, double stream_id);

/* Generic "_result", txn, null (+ undefined) for releaseStream, FCPublish... */
int rtmp_cmd_build_simple_result(uint8_t *buf, size_t cap, double txn);

struct rtmp_status {
	const char *level;        /* NULL = "status" */
	const char *code;         /* required */
	const char *description;  /* NULL = omitted */
	const char *details;      /* NULL = omitted (stream name) */
	const char *clientid;     /* NULL = omitted */
};

/* "onStatus", 0, null, {level, code, description, details, clientid}. */
int rtmp_cmd_build_onstatus(uint8_t *buf, size_t cap, const struct rtmp_status *st);

/* "onFCPublish" / "onFCUnpublish", 0, null, {code, description}. */
int rtmp_cmd_build_onfcpublish(uint8_t *buf, size_t cap, int unpublish,
			       const char *code, const char *description);

/* Data message (type 18): "|RtmpSampleAccess", true, true. */
int rtmp_cmd_build_sample_access(uint8_t *buf, size_t cap);

/* ---- client-side builders ---- */

struct rtmp_connect_params {
	const char *app;          /* required */
	const char *tc_url;       /* required */
	const char *flash_ver;    /* NULL = "LNX 9,0,124,2" */
	const char *swf_url;      /* NULL = omitted */
	const char *page_url;     /* NULL = omitted */
	const char *type;         /* NULL = omitted; "nonprivate" for publishers */
	double object_encoding;   /* 0 */
	int fpad;                 /* sent as fpad (false normally) */
};

int rtmp_cmd_build_connect(uint8_t *buf, size_t cap, double txn, const struct rtmp_connect_params *p);
/* "createStream", txn, null. */
int rtmp_cmd_build_create_stream(uint8_t *buf, size_t cap, double txn);
/* name, txn, null, stream: releaseStream, FCPublish, FCUnpublish,
 * getStreamLength, FCSubscribe. */
int rtmp_cmd_build_stream_call(uint8_t *buf, size_t cap, const char *cmd, double txn,
			       const char *stream);
/* "play", 0, null, stream, start, duration, reset (duration < -1 and
 * reset < 0 mean "omit"). */
int rtmp_cmd_build_play(uint8_t *buf, size_t cap, double txn, const char *stream,
			double start, double duration, int reset);
/* "publish", 0, null, stream, "live"/"record"/"append". */
int rtmp_cmd_build_publish(uint8_t *buf, size_t cap, double txn, const char *stream,
			   enum rtmp_publish_type type);
/* "deleteStream", 0, null, stream_id. */
int rtmp_cmd_build_delete_stream(uint8_t *buf, size_t cap, double txn, double stream_id);

#endif
