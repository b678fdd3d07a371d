/* Minimal AMF0 encoder and skipping reader for onMetaData. */
#include <string.h>

#include "flv/flv_amf.h"
#include "flv/flv_tag.h"

void flv_amf_put_bytes(struct flv_amf_out *o, const void *b, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	if (n)
		memcpy(o->p + o->len, b, n);
	o->len += n;
}

void flv_amf_put_u8(struct flv_amf_out *o, uint8_t v)
{
	flv_amf_put_bytes(o, &v, 1);
}

void flv_amf_put_u32(struct flv_amf_out *o, uint32_t v)
{
	uint8_t b[4];
	flv_put_be32(b, v);
	flv_amf_put_bytes(o, b, 4);
}

void flv_amf_put_number(struct flv_amf_out *o, double v)
{
	uint64_t bits;
	uint8_t b[9];

	/* AMF0 numbers are IEEE-754 doubles in network order. */
	memcpy(&bits, &v, sizeof(bits));
	b[0] = FLV_AMF_NUMBER;
	flv_put_be32(b + 1, (uint32_t)(bits >> 32));
	flv_put_be32(b + 5, (uint32_t)bits);
	flv_amf_put_bytes(o, b, sizeof(b));
}

void flv_amf_put_bool(struct flv_amf_out *o, int v)
{
	uint8_t b[2] = { FLV_AMF_BOOLEAN, v ? 1 : 0 };
	flv_amf_put_bytes(o, b, 2);
}

void flv_amf_put_string(struct flv_amf_out *o, const char *s, size_t n)
{
	uint8_t b[3];
	if (n > 0xFFFF) {
		o->overflow = 1;
		return;
	}
	b[0] = FLV_AMF_STRING;
	flv_put_be16(b + 1, (uint32_t)n);
	flv_amf_put_bytes(o, b, 3);
	flv_amf_put_bytes(o, s, n);
}

void flv_amf_put_name(struct flv_amf_out *o, const char *s)
{
	uint8_t b[2];
	size_t n = strlen(s);
	flv_put_be16(b, (uint32_t)n);
	flv_amf_put_bytes(o, b, 2);
	flv_amf_put_bytes(o, s, n);
}

void flv_amf_put_object_end(struct flv_amf_out *o)
{
	uint8_t b[3] = { 0, 0, FLV_AMF_OBJECT_END };
	flv_amf_put_bytes(o, b, 3);
}

/* ---- reader ---- */

static int flv_amf_skip_props(const uint8_t *buf, size_t len, int depth, int ecma);

static int flv_amf_skip_strict(const uint8_t *buf, size_t len, int depth)
{
	if (len < 5)
		return -FLV_E_AMF;
	uint32_t n = flv_be32(buf + 1);
	size_t pos = 5;
	/* Every element takes at least one byte, so n is bounded by len. */
	for (uint32_t i = 0; i < n; i++) {
		int rc = flv_amf_skip_value(buf + pos, len - pos, depth + 1);
		if (rc < 0)
			return rc;
		pos += (size_t)rc;
	}
	return (int)pos;
}

int flv_amf_skip_value(const uint8_t *buf, size_t len, int depth)
{
	if (len < 1 || depth > FLV_AMF_MAX_DEPTH)
		return -FLV_E_AMF;
	size_t need;
	switch (buf[0]) {
	case FLV_AMF_NUMBER:
		need = 9;
		break;
	case FLV_AMF_BOOLEAN:
		need = 2;
		break;
	case FLV_AMF_STRING:
		if (len < 3)
			return -FLV_E_AMF;
		need = 3 + (size_t)flv_be16(buf + 1);
		break;
	case FLV_AMF_NULL:
	case FLV_AMF_UNDEFINED:
	case FLV_AMF_UNSUPPORTED:
		need = 1;
		break;
	case FLV_AMF_REFERENCE:
		need = 3;
		break;
	case FLV_AMF_DATE:
		need = 11;
		break;
	case FLV_AMF_LONG_STRING:
	case FLV_AMF_XML:
		if (len < 5)
			return -FLV_E_AMF;
		need = 5 + (size_t)flv_be32(buf + 1);
		break;
	case FLV_AMF_OBJECT:
		return flv_amf_skip_props(buf, len, depth, 0);
	case FLV_AMF_ECMA_ARRAY:
		return flv_amf_skip_props(buf, len, depth, 1);
	case FLV_AMF_STRICT_ARRAY:
		return flv_amf_skip_strict(buf, len, depth);
	case FLV_AMF_TYPED_OBJECT: {
		if (len < 3)
			return -FLV_E_AMF;
		size_t cn = 3 + (size_t)flv_be16(buf + 1);
		if (cn > len)
			return -FLV_E_AMF;
		/* class name, then properties as an object (marker reused). */
		int rc = flv_amf_skip_props(buf + cn - 1, len - cn + 1, depth, 0);
		return rc < 0 ? rc : (int)(cn - 1 + (size_t)rc);
	}
	default:
		return -FLV_E_AMF; /* movieclip, recordset, AMF3 switch, unknown */
	}
	if (need > len || need > (size_t)INT32_MAX)
		return -FLV_E_AMF;
	return (int)need;
}

struct flv_amf_iter {
	int depth;
	void (*fn)(void *arg, const struct flv_amf_prop *p);
	void *arg;
};

static int flv_amf_walk(const uint8_t *buf, size_t len, size_t start, int ecma,
			const struct flv_amf_iter *it)
{
	size_t pos = start;
	for (;;) {
		if (ecma && pos == len)
			return (int)pos; /* ECMA array whose end marker is missing */
		if (len - pos < 2)
			return -FLV_E_AMF;
		size_t nl = flv_be16(buf + pos);
		if (nl == 0) {
			if (len - pos < 3 || buf[pos + 2] != FLV_AMF_OBJECT_END)
				return -FLV_E_AMF;
			return (int)(pos + 3);
		}
		if (nl > len - pos - 2)
			return -FLV_E_AMF;
		size_t vpos = pos + 2 + nl;
		int rc = flv_amf_skip_value(buf + vpos, len - vpos, it->depth + 1);
		if (rc < 0)
			return rc;
		if (it->fn) {
			struct flv_amf_prop p = {
				.name = buf + pos + 2, .name_len = nl,
				.value = buf + vpos, .value_len = (size_t)rc,
				.raw = buf + pos, .raw_len = 2 + nl + (size_t)rc,
			};
			it->fn(it->arg, &p);
		}
		pos = vpos + (size_t)rc;
	}
}

static int flv_amf_skip_props(const uint8_t *buf, size_t len, int depth, int ecma)
{
	struct flv_amf_iter it = { .depth = depth };
	size_t start = ecma ? 5 : 1;
	if (len < start)
		return -FLV_E_AMF;
	return flv_amf_walk(buf, len, start, ecma, &it);
}

int flv_amf_each_prop(const uint8_t *buf, size_t len,
		      void (*fn)(void *arg, const struct flv_amf_prop *p), void *arg)
{
	struct flv_amf_iter it = { .depth = 0, .fn = fn, .arg = arg };
	if (len < 1)
		return -FLV_E_AMF;
	if (buf[0] == FLV_AMF_OBJECT)
		return flv_amf_walk(buf, len, 1, 0, &it);
	if (buf[0] == FLV_AMF_ECMA_ARRAY && len >= 5)
		return flv_amf_walk(buf, len, 5, 1, &it);
	return -FLV_E_AMF;
}

int flv_amf_read_string(const uint8_t *buf, size_t len, const uint8_t **s, size_t *n)
{
	if (len < 3 || buf[0] != FLV_AMF_STRING)
		return -FLV_E_AMF;
	size_t l = flv_be16(buf + 1);
	if (l > len - 3)
		return -FLV_E_AMF;
	*s = buf + 3;
	*n = l;
	return (int)(3 + l);
}

int flv_amf_get_number(const uint8_t *value, size_t len, double *out)
{
	if (len >= 9 && value[0] == FLV_AMF_NUMBER) {
		uint64_t bits = ((uint64_t)flv_be32(value + 1) << 32) | flv_be32(value + 5);
		memcpy(out, &bits, sizeof(*out));
		return 0;
	}
	if (len >= 2 && value[0] == FLV_AMF_BOOLEAN) {
		*out = value[1] ? 1.0 : 0.0;
		return 0;
	}
	return -FLV_E_AMF;
}
