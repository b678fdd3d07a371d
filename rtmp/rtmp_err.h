/* Typed errors of the RTMP library.
 *
 * Convention for every parser in rtmp/: a return value > 0 is a number of
 * bytes consumed, 0 means "need more input", and < 0 is -RTMP_E_<REASON> or
 * -errno (-ENOMEM, -ENOSPC, -EINVAL). Our codes start at 1000 so that they
 * never clash with errno values; rtmp_strerror() describes both kinds.
 */
#ifndef RTMP_ERR_H
#define RTMP_ERR_H

enum rtmp_err {
	RTMP_E_FIRST = 1000,
	/* handshake */
	RTMP_E_HS_VERSION = RTMP_E_FIRST, /* C0/S0 version byte is not 3 */
	RTMP_E_HS_DIGEST,       /* digest required or checked, and wrong */
	RTMP_E_HS_STATE,        /* call not valid in the current handshake state */
	/* chunk layer */
	RTMP_E_CHUNK_NO_PREV,   /* fmt 1/2/3 on a chunk stream with no previous header */
	RTMP_E_CHUNK_HEADER,    /* fmt 0/1/2 header while a message is still incomplete */
	RTMP_E_CHUNK_CSID,      /* chunk stream id outside the allowed range */
	RTMP_E_CHUNK_SIZE,      /* Set Chunk Size 0, above 2^31-1 or above the cap */
	RTMP_E_MSG_TOO_BIG,     /* message length above the configured maximum */
	RTMP_E_TOO_MANY_STREAMS,/* more live chunk streams than configured */
	RTMP_E_MEM_LIMIT,       /* reassembly buffers would exceed the memory budget */
	RTMP_E_CTL_MALFORMED,   /* protocol control / user control message malformed */
	/* AMF0 */
	RTMP_E_AMF_TYPE,        /* unknown or unsupported AMF0 type marker */
	RTMP_E_AMF_DEPTH,       /* nesting deeper than the limit */
	RTMP_E_AMF_TOO_MANY,    /* more values than the node arena holds */
	RTMP_E_AMF_LENGTH,      /* declared length above the limit */
	RTMP_E_AMF_REF,         /* reference to an object not seen before */
	RTMP_E_AMF_SYNTAX,      /* structure error (e.g. object end outside object) */
	RTMP_E_AMF3,            /* AMF3 value (switch marker 0x11) where AMF0 is needed */
	RTMP_E_TRUNCATED,       /* a complete message ends inside a value */
	/* commands */
	RTMP_E_CMD_SYNTAX,      /* command lacks name/transaction id or has wrong types */
	RTMP_E_CMD_ARG,         /* a required argument is missing or has the wrong type */
	RTMP_E_LAST
};

/* Human-readable reason for err, which may be a negative or positive
 * RTMP_E_* code or errno value. Never returns NULL; the string is static and
 * must not be freed. Thread-safe. */
const char *rtmp_strerror(int err);

#endif
