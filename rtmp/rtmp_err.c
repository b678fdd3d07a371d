/* Reasons for RTMP_E_* codes and errno values. */
#include <string.h>

#include "rtmp/rtmp_err.h"

static const char *const rtmp_err_text[RTMP_E_LAST - RTMP_E_FIRST] = {
	[RTMP_E_HS_VERSION - RTMP_E_FIRST] = "handshake: unsupported RTMP version byte",
	[RTMP_E_HS_DIGEST - RTMP_E_FIRST] = "handshake: digest missing or invalid",
	[RTMP_E_HS_STATE - RTMP_E_FIRST] = "handshake: call not valid in this state",
	[RTMP_E_CHUNK_NO_PREV - RTMP_E_FIRST] = "chunk: compressed header without a previous header",
	[RTMP_E_CHUNK_HEADER - RTMP_E_FIRST] = "chunk: new message header inside an incomplete message",
	[RTMP_E_CHUNK_CSID - RTMP_E_FIRST] = "chunk: chunk stream id out of range",
	[RTMP_E_CHUNK_SIZE - RTMP_E_FIRST] = "chunk: invalid or too large chunk size",
	[RTMP_E_MSG_TOO_BIG - RTMP_E_FIRST] = "chunk: message larger than allowed",
	[RTMP_E_TOO_MANY_STREAMS - RTMP_E_FIRST] = "chunk: too many chunk streams",
	[RTMP_E_MEM_LIMIT - RTMP_E_FIRST] = "chunk: reassembly memory budget exceeded",
	[RTMP_E_CTL_MALFORMED - RTMP_E_FIRST] = "malformed protocol control message",
	[RTMP_E_AMF_TYPE - RTMP_E_FIRST] = "amf0: unknown or unsupported type marker",
	[RTMP_E_AMF_DEPTH - RTMP_E_FIRST] = "amf0: nesting too deep",
	[RTMP_E_AMF_TOO_MANY - RTMP_E_FIRST] = "amf0: too many values",
	[RTMP_E_AMF_LENGTH - RTMP_E_FIRST] = "amf0: declared length too large",
	[RTMP_E_AMF_REF - RTMP_E_FIRST] = "amf0: reference to an unknown object",
	[RTMP_E_AMF_SYNTAX - RTMP_E_FIRST] = "amf0: malformed structure",
	[RTMP_E_AMF3 - RTMP_E_FIRST] = "amf0: AMF3 value not supported here",
	[RTMP_E_TRUNCATED - RTMP_E_FIRST] = "message ends inside a value",
	[RTMP_E_CMD_SYNTAX - RTMP_E_FIRST] = "command: missing name or transaction id",
	[RTMP_E_CMD_ARG - RTMP_E_FIRST] = "command: missing or mistyped argument",
};

const char *rtmp_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= RTMP_E_FIRST && err < RTMP_E_LAST)
		return rtmp_err_text[err - RTMP_E_FIRST];
	if (err == 0)
		return "success";
	/* strerrordesc_np() returns constant strings (thread-safe), NULL for
	 * unknown values. */
	const char *s = strerrordesc_np(err);

	return s ? s : "unknown error";
}
