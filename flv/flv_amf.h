/* Minimal AMF0 for flv/ only: the encodings onMetaData needs and a bounded
 * skipping reader. Internal to flv/ (the full AMF0 codec lives in rtmp/,
 * which flv/ must not depend on). */
#ifndef FLV_AMF_H
#define FLV_AMF_H

#include <stddef.h>
#include <stdint.h>

enum flv_amf_type {
	FLV_AMF_NUMBER = 0x00,
	FLV_AMF_BOOLEAN = 0x01,
	FLV_AMF_STRING = 0x02,
	FLV_AMF_OBJECT = 0x03,
	FLV_AMF_NULL = 0x05,
	FLV_AMF_UNDEFINED = 0x06,
	FLV_AMF_REFERENCE = 0x07,
	FLV_AMF_ECMA_ARRAY = 0x08,
	FLV_AMF_OBJECT_END = 0x09,
	FLV_AMF_STRICT_ARRAY = 0x0A,
	FLV_AMF_DATE = 0x0B,
	FLV_AMF_LONG_STRING = 0x0C,
	FLV_AMF_UNSUPPORTED = 0x0D,
	FLV_AMF_XML = 0x0F,
	FLV_AMF_TYPED_OBJECT = 0x10,
};

/* Nesting bound for the skipping reader: deeper input is rejected rather
 * than recursed into. */
#define FLV_AMF_MAX_DEPTH 16

/* Append-only output buffer; an overflow is remembered, not written. */
struct flv_amf_out {
	uint8_t *p;
	size_t cap;
	size_t len;
	int overflow;
};

/* Encoders: append to o (setting o->overflow when cap is exceeded). */
void flv_amf_put_bytes(struct flv_amf_out *o, const void *b, size_t n);
void flv_amf_put_number(struct flv_amf_out *o, double v);
void flv_amf_put_bool(struct flv_amf_out *o, int v);
/* Short string value (type 0x02); n must be <= 65535. */
void flv_amf_put_string(struct flv_amf_out *o, const char *s, size_t n);
/* Property name (u16 length + bytes, no type marker). */
void flv_amf_put_name(struct flv_amf_out *o, const char *s);
void flv_amf_put_object_end(struct flv_amf_out *o);
void flv_amf_put_u8(struct flv_amf_out *o, uint8_t v);
void flv_amf_put_u32(struct flv_amf_out *o, uint32_t v);

/* Sizes of the fixed-size encodings. */
#define FLV_AMF_NUMBER_SIZE 9u
#define FLV_AMF_BOOL_SIZE 2u

/* Skip one AMF0 value (type marker included) at buf. Returns its size, or
 * -FLV_E_AMF when it is malformed, truncated, too deep, or AMF3. */
int flv_amf_skip_value(const uint8_t *buf, size_t len, int depth);

/* Read a short string value (marker 0x02). Returns bytes used or -FLV_E_AMF;
 * *s points into buf. */
int flv_amf_read_string(const uint8_t *buf, size_t len, const uint8_t **s, size_t *n);

/* One property of an object / ECMA array. */
struct flv_amf_prop {
	const uint8_t *name;
	size_t name_len;
	const uint8_t *value; /* type marker first */
	size_t value_len;
	const uint8_t *raw;   /* name length field .. end of value */
	size_t raw_len;
};

/* Iterate the properties of an object (0x03) or ECMA array (0x08) value at
 * buf: calls fn for each property until the end marker (or, for an ECMA
 * array without one, the end of buf). Returns bytes used, or -FLV_E_AMF. */
int flv_amf_each_prop(const uint8_t *buf, size_t len,
		      void (*fn)(void *arg, const struct flv_amf_prop *p), void *arg);

/* Decode a number (0x00) or boolean (0x01) value as a double. Returns 0, or
 * -FLV_E_AMF for other types. */
int flv_amf_get_number(const uint8_t *value, size_t len, double *out);

#endif
