/* AMF0 encoder and decoder, allocation-free.
 *
 * Decoder: values are decoded into a caller-provided arena of nodes laid out
 * in pre-order. Every node knows the index one past its last descendant
 * (`end`), so siblings are walked with `i = nodes[i].end`. Strings are slices
 * into the input buffer (not NUL-terminated): the input must outlive the
 * arena's use. Limits: nesting depth (recursion is bounded by it), node
 * count (arena capacity), long-string length. Object-end markers are
 * consumed, not stored. A reference (type 7) is stored as such and resolved
 * on demand with rtmp_amf0_resolve() against the complex values (object,
 * ECMA array, strict array, typed object) seen so far in the same arena, so
 * cycles cannot loop. The AMF3 switch marker 0x11 is reported as
 * -RTMP_E_AMF3 (this library has no AMF3 decoder); the command parser skips
 * trailing AMF3 values instead (see rtmp_cmd.h).
 *
 * Encoder: a sticky-error writer over (buf, cap).
 */
#ifndef RTMP_AMF0_H
#define RTMP_AMF0_H

#include <stddef.h>
#include <stdint.h>

enum rtmp_amf0_type {
	RTMP_AMF0_NUMBER = 0x00,
	RTMP_AMF0_BOOLEAN = 0x01,
	RTMP_AMF0_STRING = 0x02,
	RTMP_AMF0_OBJECT = 0x03,
	RTMP_AMF0_MOVIECLIP = 0x04,   /* reserved, rejected */
	RTMP_AMF0_NULL = 0x05,
	RTMP_AMF0_UNDEFINED = 0x06,
	RTMP_AMF0_REFERENCE = 0x07,
	RTMP_AMF0_ECMA_ARRAY = 0x08,
	RTMP_AMF0_OBJECT_END = 0x09,
	RTMP_AMF0_STRICT_ARRAY = 0x0A,
	RTMP_AMF0_DATE = 0x0B,
	RTMP_AMF0_LONG_STRING = 0x0C,
	RTMP_AMF0_UNSUPPORTED = 0x0D, /* decoded as a marker-only value */
	RTMP_AMF0_RECORDSET = 0x0E,   /* reserved, rejected */
	RTMP_AMF0_XML_DOCUMENT = 0x0F,/* decoded like a long string */
	RTMP_AMF0_TYPED_OBJECT = 0x10,
	RTMP_AMF0_AVMPLUS = 0x11      /* switch to AMF3 */
};

/* A string slice into the input (or into caller memory for encoding). */
struct rtmp_str {
	const char *ptr;
	uint32_t len;
};

struct rtmp_amf0_node {
	uint8_t type;         /* enum rtmp_amf0_type */
	uint16_t tz;          /* DATE: time zone field (reserved, usually 0) */
	uint32_t end;         /* index one past the last descendant */
	uint32_t count;       /* children of a container; ECMA_ARRAY: also the
			       * declared count is in `ref` */
	struct rtmp_str key;  /* property name when inside an object/ECMA array;
			       * len 0 and ptr NULL otherwise */
	union {
		double num;           /* NUMBER, DATE (ms since epoch) */
		int boolean;          /* BOOLEAN */
		struct rtmp_str str;  /* STRING, LONG_STRING, XML_DOCUMENT,
				       * TYPED_OBJECT (class name) */
		uint32_t ref;         /* REFERENCE index; ECMA_ARRAY declared count */
	} u;
};

/* Arena: nodes[] and its capacity come from the caller (stack, per-session
 * struct, ...). Reset with rtmp_amf0_arena_init() before each message. */
struct rtmp_amf0_arena {
	struct rtmp_amf0_node *nodes;
	uint32_t cap;         /* nodes[] capacity */
	uint32_t used;
	uint32_t max_depth;   /* nesting limit, 1..RTMP_AMF0_DEPTH_MAX */
	uint32_t max_long;    /* largest long string / XML length accepted */
};

#define RTMP_AMF0_DEPTH_DEFAULT 16
#define RTMP_AMF0_DEPTH_MAX     64
#define RTMP_AMF0_LONG_DEFAULT  (1u << 20)

/* Set up an arena over nodes[cap] with default limits. */
void rtmp_amf0_arena_init(struct rtmp_amf0_arena *a, struct rtmp_amf0_node *nodes, uint32_t cap);

/* Decode ONE value from buf[0..len) into the arena; its root node index is
 * stored in *root. Returns bytes consumed (> 0), 0 when the value is
 * incomplete (need more input), or -RTMP_E_AMF_TYPE / _DEPTH / _TOO_MANY /
 * _LENGTH / _REF / _SYNTAX / -RTMP_E_AMF3 / -E2BIG (len > INT_MAX). On 0 or
 * error the arena is restored to its state before the call. Never reads
 * past len. */
int rtmp_amf0_decode(struct rtmp_amf0_arena *a, const uint8_t *buf, size_t len, uint32_t *root);

/* Decode values until buf[0..len) is exhausted (a complete message body).
 * Returns the number of top-level values (>= 0), or a negative error; an
 * incomplete last value gives -RTMP_E_TRUNCATED. Top-level values are the
 * nodes reachable from the first value's index (a->used at call time) via
 * `end`. */
int rtmp_amf0_decode_all(struct rtmp_amf0_arena *a, const uint8_t *buf, size_t len);

/* Index of the index'th (0-based) top-level value after first, or -ENOENT. */
int rtmp_amf0_nth(const struct rtmp_amf0_arena *a, uint32_t first, uint32_t n);

/* Property lookup in an OBJECT, ECMA_ARRAY or TYPED_OBJECT node (exact,
 * case-sensitive key). Returns the child node index or -ENOENT / -EINVAL. */
int rtmp_amf0_get(const struct rtmp_amf0_arena *a, uint32_t obj, const char *key);

/* Follow a REFERENCE node to the complex node it names. Returns the node
 * index, the same index if it is not a reference, or -RTMP_E_AMF_REF. */
int rtmp_amf0_resolve(const struct rtmp_amf0_arena *a, uint32_t idx);

/* 1 when node idx is a (long) string equal to the NUL-terminated s. */
int rtmp_amf0_str_eq(const struct rtmp_amf0_arena *a, uint32_t idx, const char *s);

/* 1 when the two slices hold the same bytes. */
int rtmp_str_eq(struct rtmp_str s, const char *cstr);

/* ---- encoder ---- */

struct rtmp_amf0_w {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;      /* 0 or -ENOSPC, sticky */
};

void rtmp_amf0_w_init(struct rtmp_amf0_w *w, uint8_t *buf, size_t cap);
/* Bytes written so far, or the sticky error (-ENOSPC, -EINVAL). Lengths
 * above INT_MAX give -E2BIG. */
int rtmp_amf0_w_result(const struct rtmp_amf0_w *w);

/* Each put returns 0 or the sticky error; after an error nothing more is
 * written. Strings longer than 65535 bytes are written as LONG_STRING. */
int rtmp_amf0_put_number(struct rtmp_amf0_w *w, double v);
int rtmp_amf0_put_bool(struct rtmp_amf0_w *w, int v);
int rtmp_amf0_put_string(struct rtmp_amf0_w *w, const char *s, size_t n);
int rtmp_amf0_put_cstring(struct rtmp_amf0_w *w, const char *s);
int rtmp_amf0_put_long_string(struct rtmp_amf0_w *w, const char *s, size_t n);
int rtmp_amf0_put_xml(struct rtmp_amf0_w *w, const char *s, size_t n);
int rtmp_amf0_put_null(struct rtmp_amf0_w *w);
int rtmp_amf0_put_undefined(struct rtmp_amf0_w *w);
int rtmp_amf0_put_unsupported(struct rtmp_amf0_w *w);
int rtmp_amf0_put_reference(struct rtmp_amf0_w *w, uint16_t idx);
int rtmp_amf0_put_date(struct rtmp_amf0_w *w, double ms, uint16_t tz);
/* Containers: begin, then (key, value) pairs for objects/ECMA arrays or plain
 * values for strict arrays, then end (objects/ECMA arrays only; strict
 * arrays have no end marker, their count is given up front). */
int rtmp_amf0_put_object_begin(struct rtmp_amf0_w *w);
int rtmp_amf0_put_typed_object_begin(struct rtmp_amf0_w *w, const char *cls, size_t n);
int rtmp_amf0_put_ecma_begin(struct rtmp_amf0_w *w, uint32_t count);
int rtmp_amf0_put_strict_array_begin(struct rtmp_amf0_w *w, uint32_t count);
int rtmp_amf0_put_key(struct rtmp_amf0_w *w, const char *k, size_t n);
int rtmp_amf0_put_object_end(struct rtmp_amf0_w *w);
/* Shorthands for a property: key then value. */
int rtmp_amf0_put_prop_string(struct rtmp_amf0_w *w, const char *k, const char *v);
int rtmp_amf0_put_prop_number(struct rtmp_amf0_w *w, const char *k, double v);
int rtmp_amf0_put_prop_bool(struct rtmp_amf0_w *w, const char *k, int v);
/* Re-encode the decoded value rooted at idx (children of objects with their
 * keys; the node's own key is not written). References are written as
 * references. Used to forward metadata and for round-trip tests. */
int rtmp_amf0_put_node(struct rtmp_amf0_w *w, const struct rtmp_amf0_arena *a, uint32_t idx);

#endif
