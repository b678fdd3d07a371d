/* AMF0 decoder into a node arena, and a sticky-error encoder. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "rtmp/rtmp_amf0.h"
#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_err.h"

/* Internal "need more input" result of the decode steps (errors are < 0). */
#define AMF_NEED 1

struct amf_dec {
	struct rtmp_amf0_arena *a;
	const uint8_t *buf;
	size_t len;
	size_t pos;
	uint32_t ncomplex;    /* reference targets opened so far in the arena */
};

static int amf_is_complex(uint8_t t)
{
	return t == RTMP_AMF0_OBJECT || t == RTMP_AMF0_ECMA_ARRAY ||
	       t == RTMP_AMF0_STRICT_ARRAY || t == RTMP_AMF0_TYPED_OBJECT;
}

void rtmp_amf0_arena_init(struct rtmp_amf0_arena *a, struct rtmp_amf0_node *nodes, uint32_t cap)
{
	a->nodes = nodes;
	a->cap = cap;
	a->used = 0;
	a->max_depth = RTMP_AMF0_DEPTH_DEFAULT;
	a->max_long = RTMP_AMF0_LONG_DEFAULT;
}

static int amf_avail(const struct amf_dec *d, size_t n)
{
	return d->len - d->pos >= n;
}

static int amf_new_node(struct amf_dec *d, uint8_t type, struct rtmp_str key, uint32_t *idx)
{
	struct rtmp_amf0_arena *a = d->a;

	if (a->used >= a->cap)
		return -RTMP_E_AMF_TOO_MANY;
	*idx = a->used++;
	memset(&a->nodes[*idx], 0, sizeof(a->nodes[*idx]));
	a->nodes[*idx].type = type;
	a->nodes[*idx].key = key;
	a->nodes[*idx].end = *idx + 1;
	return 0;
}

/* Read a u16- or u32-prefixed string at pos. */
static int amf_read_str(struct amf_dec *d, int wide, uint32_t max, struct rtmp_str *out)
{
	size_t hl = wide ? 4 : 2;
	uint32_t n;

	if (!amf_avail(d, hl))
		return AMF_NEED;
	n = wide ? rtmp_be32(d->buf + d->pos) : rtmp_be16(d->buf + d->pos);
	if (n > max)
		return -RTMP_E_AMF_LENGTH;
	if (!amf_avail(d, hl + n))
		return AMF_NEED;
	out->ptr = (const char *)d->buf + d->pos + hl;
	out->len = n;
	d->pos += hl + n;
	return 0;
}

static int amf_value(struct amf_dec *d, uint32_t depth, struct rtmp_str key, uint32_t *idx);

/* Properties until the empty-key + object-end marker. */
static int amf_props(struct amf_dec *d, uint32_t depth, uint32_t parent)
{
	for (;;) {
		struct rtmp_str key;
		uint32_t child;
		int rc;

		if (!amf_avail(d, 2))
			return AMF_NEED;
		if (rtmp_be16(d->buf + d->pos) == 0) {
			if (!amf_avail(d, 3))
				return AMF_NEED;
			if (d->buf[d->pos + 2] == RTMP_AMF0_OBJECT_END) {
				d->pos += 3;
				return 0;
			}
		}
		rc = amf_read_str(d, 0, UINT16_MAX, &key);
		if (rc != 0)
			return rc;
		rc = amf_value(d, depth + 1, key, &child);
		if (rc != 0)
			return rc;
		d->a->nodes[parent].count++;
	}
}

static int amf_strict_items(struct amf_dec *d, uint32_t depth, uint32_t parent, uint32_t count)
{
	struct rtmp_str nokey = { NULL, 0 };
	uint32_t i, child;
	int rc;

	/* Every item needs a node: refuse a declared count the arena cannot
	 * hold before looping over it. */
	if (count > d->a->cap - d->a->used)
		return -RTMP_E_AMF_TOO_MANY;
	for (i = 0; i < count; i++) {
		rc = amf_value(d, depth + 1, nokey, &child);
		if (rc != 0)
			return rc;
		d->a->nodes[parent].count++;
	}
	return 0;
}

static int amf_container(struct amf_dec *d, uint8_t type, uint32_t depth, uint32_t idx)
{
	struct rtmp_amf0_node *n = &d->a->nodes[idx];
	uint32_t count;
	int rc;

	if (depth > d->a->max_depth)
		return -RTMP_E_AMF_DEPTH;
	switch (type) {
	case RTMP_AMF0_OBJECT:
		return amf_props(d, depth, idx);
	case RTMP_AMF0_TYPED_OBJECT:
		rc = amf_read_str(d, 0, UINT16_MAX, &n->u.str);
		return rc != 0 ? rc : amf_props(d, depth, idx);
	case RTMP_AMF0_ECMA_ARRAY:
		if (!amf_avail(d, 4))
			return AMF_NEED;
		n->u.ref = rtmp_be32(d->buf + d->pos); /* a hint only */
		d->pos += 4;
		return amf_props(d, depth, idx);
	default: /* RTMP_AMF0_STRICT_ARRAY */
		if (!amf_avail(d, 4))
			return AMF_NEED;
		count = rtmp_be32(d->buf + d->pos);
		d->pos += 4;
		return amf_strict_items(d, depth, idx, count);
	}
}

/* Number of complex values (reference targets) among nodes[0..upto). */
static uint32_t amf_complex_before(const struct rtmp_amf0_arena *a, uint32_t upto)
{
	uint32_t i, n = 0;

	for (i = 0; i < upto; i++)
		n += amf_is_complex(a->nodes[i].type);
	return n;
}

static int amf_scalar(struct amf_dec *d, uint8_t type, uint32_t idx)
{
	struct rtmp_amf0_node *n = &d->a->nodes[idx];

	switch (type) {
	case RTMP_AMF0_NUMBER:
		if (!amf_avail(d, 8))
			return AMF_NEED;
		n->u.num = rtmp_be_double(d->buf + d->pos);
		d->pos += 8;
		return 0;
	case RTMP_AMF0_BOOLEAN:
		if (!amf_avail(d, 1))
			return AMF_NEED;
		n->u.boolean = d->buf[d->pos] != 0;
		d->pos += 1;
		return 0;
	case RTMP_AMF0_STRING:
		return amf_read_str(d, 0, UINT16_MAX, &n->u.str);
	case RTMP_AMF0_LONG_STRING:
	case RTMP_AMF0_XML_DOCUMENT:
		return amf_read_str(d, 1, d->a->max_long, &n->u.str);
	case RTMP_AMF0_DATE:
		if (!amf_avail(d, 10))
			return AMF_NEED;
		n->u.num = rtmp_be_double(d->buf + d->pos);
		n->tz = rtmp_be16(d->buf + d->pos + 8);
		d->pos += 10;
		return 0;
	case RTMP_AMF0_REFERENCE:
		if (!amf_avail(d, 2))
			return AMF_NEED;
		n->u.ref = rtmp_be16(d->buf + d->pos);
		d->pos += 2;
		/* Only objects already opened may be referenced. */
		return n->u.ref < d->ncomplex ? 0 : -RTMP_E_AMF_REF;
	default: /* NULL, UNDEFINED, UNSUPPORTED: marker only */
		return 0;
	}
}

static int amf_value(struct amf_dec *d, uint32_t depth, struct rtmp_str key, uint32_t *idx)
{
	uint8_t type;
	int rc;

	if (!amf_avail(d, 1))
		return AMF_NEED;
	type = d->buf[d->pos];
	switch (type) {
	case RTMP_AMF0_AVMPLUS:
		return -RTMP_E_AMF3;
	case RTMP_AMF0_OBJECT_END:
		return -RTMP_E_AMF_SYNTAX;
	case RTMP_AMF0_MOVIECLIP:
	case RTMP_AMF0_RECORDSET:
		return -RTMP_E_AMF_TYPE;
	default:
		if (type > RTMP_AMF0_AVMPLUS)
			return -RTMP_E_AMF_TYPE;
	}
	rc = amf_new_node(d, type, key, idx);
	if (rc != 0)
		return rc;
	d->pos++;
	if (amf_is_complex(type)) {
		d->ncomplex++;
		rc = amf_container(d, type, depth, *idx);
	}
	else
		rc = amf_scalar(d, type, *idx);
	if (rc == 0)
		d->a->nodes[*idx].end = d->a->used;
	return rc;
}

int rtmp_amf0_decode(struct rtmp_amf0_arena *a, const uint8_t *buf, size_t len, uint32_t *root)
{
	struct amf_dec d = { a, buf, len, 0, 0 };
	struct rtmp_str nokey = { NULL, 0 };
	uint32_t saved = a->used;
	int rc;

	if (len > INT_MAX)
		return -E2BIG;
	if (a->max_depth == 0 || a->max_depth > RTMP_AMF0_DEPTH_MAX || a->used > a->cap)
		return -EINVAL;
	d.ncomplex = amf_complex_before(a, a->used);
	rc = amf_value(&d, 1, nokey, root);
	if (rc != 0) {
		a->used = saved;
		return rc == AMF_NEED ? 0 : rc;
	}
	return (int)d.pos;
}

int rtmp_amf0_decode_all(struct rtmp_amf0_arena *a, const uint8_t *buf, size_t len)
{
	uint32_t saved = a->used, root;
	size_t pos = 0;
	int n = 0, rc;

	while (pos < len) {
		rc = rtmp_amf0_decode(a, buf + pos, len - pos, &root);
		if (rc <= 0) {
			a->used = saved;
			return rc == 0 ? -RTMP_E_TRUNCATED : rc;
		}
		pos += (size_t)rc;
		n++;
	}
	return n;
}

int rtmp_amf0_nth(const struct rtmp_amf0_arena *a, uint32_t first, uint32_t n)
{
	uint32_t i = first;

	while (i < a->used && n > 0) {
		i = a->nodes[i].end;
		n--;
	}
	return i < a->used ? (int)i : -ENOENT;
}

int rtmp_str_eq(struct rtmp_str s, const char *cstr)
{
	size_t n = strlen(cstr);

	return s.len == n && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}

int rtmp_amf0_get(const struct rtmp_amf0_arena *a, uint32_t obj, const char *key)
{
	const struct rtmp_amf0_node *o;
	uint32_t i;

	if (obj >= a->used)
		return -EINVAL;
	o = &a->nodes[obj];
	if (o->type != RTMP_AMF0_OBJECT && o->type != RTMP_AMF0_ECMA_ARRAY &&
	    o->type != RTMP_AMF0_TYPED_OBJECT)
		return -EINVAL;
	for (i = obj + 1; i < o->end; i = a->nodes[i].end)
		if (rtmp_str_eq(a->nodes[i].key, key))
			return (int)i;
	return -ENOENT;
}

int rtmp_amf0_resolve(const struct rtmp_amf0_arena *a, uint32_t idx)
{
	uint32_t i, n = 0;

	if (idx >= a->used)
		return -EINVAL;
	if (a->nodes[idx].type != RTMP_AMF0_REFERENCE)
		return (int)idx;
	for (i = 0; i < a->used; i++) {
		if (!amf_is_complex(a->nodes[i].type))
			continue;
		if (n++ == a->nodes[idx].u.ref)
			return (int)i;
	}
	return -RTMP_E_AMF_REF;
}

int rtmp_amf0_str_eq(const struct rtmp_amf0_arena *a, uint32_t idx, const char *s)
{
	const struct rtmp_amf0_node *n;

	if (idx >= a->used)
		return 0;
	n = &a->nodes[idx];
	if (n->type != RTMP_AMF0_STRING && n->type != RTMP_AMF0_LONG_STRING)
		return 0;
	return rtmp_str_eq(n->u.str, s);
}

/* ---- encoder ---- */

void rtmp_amf0_w_init(struct rtmp_amf0_w *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

int rtmp_amf0_w_result(const struct rtmp_amf0_w *w)
{
	if (w->err)
		return w->err;
	return w->len > INT_MAX ? -E2BIG : (int)w->len;
}

/* Reserve n bytes; NULL (and the sticky error) when they do not fit. */
static uint8_t *amf_room(struct rtmp_amf0_w *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (w->cap - w->len < n) {
		w->err = -ENOSPC;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

static int amf_put_marker(struct rtmp_amf0_w *w, uint8_t m)
{
	uint8_t *p = amf_room(w, 1);

	if (p)
		p[0] = m;
	return w->err;
}

int rtmp_amf0_put_number(struct rtmp_amf0_w *w, double v)
{
	uint8_t *p = amf_room(w, 9);

	if (p) {
		p[0] = RTMP_AMF0_NUMBER;
		rtmp_put_be_double(p + 1, v);
	}
	return w->err;
}

int rtmp_amf0_put_bool(struct rtmp_amf0_w *w, int v)
{
	uint8_t *p = amf_room(w, 2);

	if (p) {
		p[0] = RTMP_AMF0_BOOLEAN;
		p[1] = v ? 1 : 0;
	}
	return w->err;
}

static int amf_put_wide(struct rtmp_amf0_w *w, uint8_t marker, const char *s, size_t n)
{
	uint8_t *p;

	if (n > UINT32_MAX) {
		if (!w->err)
			w->err = -EINVAL;
		return w->err;
	}
	p = amf_room(w, 5 + n);
	if (p) {
		p[0] = marker;
		rtmp_put_be32(p + 1, (uint32_t)n);
		if (n)
			memcpy(p + 5, s, n);
	}
	return w->err;
}

int rtmp_amf0_put_string(struct rtmp_amf0_w *w, const char *s, size_t n)
{
	uint8_t *p;

	if (n > UINT16_MAX)
		return amf_put_wide(w, RTMP_AMF0_LONG_STRING, s, n);
	p = amf_room(w, 3 + n);
	if (p) {
		p[0] = RTMP_AMF0_STRING;
		rtmp_put_be16(p + 1, (uint16_t)n);
		if (n)
			memcpy(p + 3, s, n);
	}
	return w->err;
}

int rtmp_amf0_put_cstring(struct rtmp_amf0_w *w, const char *s)
{
	return rtmp_amf0_put_string(w, s, strlen(s));
}

int rtmp_amf0_put_long_string(struct rtmp_amf0_w *w, const char *s, size_t n)
{
	return amf_put_wide(w, RTMP_AMF0_LONG_STRING, s, n);
}

int rtmp_amf0_put_xml(struct rtmp_amf0_w *w, const char *s, size_t n)
{
	return amf_put_wide(w, RTMP_AMF0_XML_DOCUMENT, s, n);
}

int rtmp_amf0_put_null(struct rtmp_amf0_w *w)
{
	return amf_put_marker(w, RTMP_AMF0_NULL);
}

int rtmp_amf0_put_undefined(struct rtmp_amf0_w *w)
{
	return amf_put_marker(w, RTMP_AMF0_UNDEFINED);
}

int rtmp_amf0_put_unsupported(struct rtmp_amf0_w *w)
{
	return amf_put_marker(w, RTMP_AMF0_UNSUPPORTED);
}

int rtmp_amf0_put_reference(struct rtmp_amf0_w *w, uint16_t idx)
{
	uint8_t *p = amf_room(w, 3);

	if (p) {
		p[0] = RTMP_AMF0_REFERENCE;
		rtmp_put_be16(p + 1, idx);
	}
	return w->err;
}

int rtmp_amf0_put_date(struct rtmp_amf0_w *w, double ms, uint16_t tz)
{
	uint8_t *p = amf_room(w, 11);

	if (p) {
		p[0] = RTMP_AMF0_DATE;
		rtmp_put_be_double(p + 1, ms);
		rtmp_put_be16(p + 9, tz);
	}
	return w->err;
}

int rtmp_amf0_put_object_begin(struct rtmp_amf0_w *w)
{
	return amf_put_marker(w, RTMP_AMF0_OBJECT);
}

/* A u16-length string without marker (keys, class names). */
static int amf_put_utf8(struct rtmp_amf0_w *w, const char *s, size_t n)
{
	uint8_t *p;

	if (n > UINT16_MAX) {
		if (!w->err)
			w->err = -EINVAL;
		return w->err;
	}
	p = amf_room(w, 2 + n);
	if (p) {
		rtmp_put_be16(p, (uint16_t)n);
		if (n)
			memcpy(p + 2, s, n);
	}
	return w->err;
}

int rtmp_amf0_put_typed_object_begin(struct rtmp_amf0_w *w, const char *cls, size_t n)
{
	amf_put_marker(w, RTMP_AMF0_TYPED_OBJECT);
	return amf_put_utf8(w, cls, n);
}

static int amf_put_counted(struct rtmp_amf0_w *w, uint8_t marker, uint32_t count)
{
	uint8_t *p = amf_room(w, 5);

	if (p) {
		p[0] = marker;
		rtmp_put_be32(p + 1, count);
	}
	return w->err;
}

int rtmp_amf0_put_ecma_begin(struct rtmp_amf0_w *w, uint32_t count)
{
	return amf_put_counted(w, RTMP_AMF0_ECMA_ARRAY, count);
}

int rtmp_amf0_put_strict_array_begin(struct rtmp_amf0_w *w, uint32_t count)
{
	return amf_put_counted(w, RTMP_AMF0_STRICT_ARRAY, count);
}

int rtmp_amf0_put_key(struct rtmp_amf0_w *w, const char *k, size_t n)
{
	return amf_put_utf8(w, k, n);
}

int rtmp_amf0_put_object_end(struct rtmp_amf0_w *w)
{
	uint8_t *p = amf_room(w, 3);

	if (p) {
		p[0] = 0;
		p[1] = 0;
		p[2] = RTMP_AMF0_OBJECT_END;
	}
	return w->err;
}

int rtmp_amf0_put_prop_string(struct rtmp_amf0_w *w, const char *k, const char *v)
{
	rtmp_amf0_put_key(w, k, strlen(k));
	return rtmp_amf0_put_cstring(w, v);
}

int rtmp_amf0_put_prop_number(struct rtmp_amf0_w *w, const char *k, double v)
{
	rtmp_amf0_put_key(w, k, strlen(k));
	return rtmp_amf0_put_number(w, v);
}

int rtmp_amf0_put_prop_bool(struct rtmp_amf0_w *w, const char *k, int v)
{
	rtmp_amf0_put_key(w, k, strlen(k));
	return rtmp_amf0_put_bool(w, v);
}

static int amf_put_children(struct rtmp_amf0_w *w, const struct rtmp_amf0_arena *a,
			    uint32_t idx, int keyed)
{
	const struct rtmp_amf0_node *n = &a->nodes[idx];
	uint32_t i;

	for (i = idx + 1; i < n->end && i < a->used; i = a->nodes[i].end) {
		if (keyed)
			rtmp_amf0_put_key(w, a->nodes[i].key.ptr, a->nodes[i].key.len);
		rtmp_amf0_put_node(w, a, i);
	}
	if (keyed)
		rtmp_amf0_put_object_end(w);
	return w->err;
}

int rtmp_amf0_put_node(struct rtmp_amf0_w *w, const struct rtmp_amf0_arena *a, uint32_t idx)
{
	const struct rtmp_amf0_node *n;

	if (idx >= a->used) {
		if (!w->err)
			w->err = -EINVAL;
		return w->err;
	}
	n = &a->nodes[idx];
	switch (n->type) {
	case RTMP_AMF0_NUMBER:
		return rtmp_amf0_put_number(w, n->u.num);
	case RTMP_AMF0_BOOLEAN:
		return rtmp_amf0_put_bool(w, n->u.boolean);
	case RTMP_AMF0_STRING:
		return rtmp_amf0_put_string(w, n->u.str.ptr, n->u.str.len);
	case RTMP_AMF0_LONG_STRING:
		return rtmp_amf0_put_long_string(w, n->u.str.ptr, n->u.str.len);
	case RTMP_AMF0_XML_DOCUMENT:
		return rtmp_amf0_put_xml(w, n->u.str.ptr, n->u.str.len);
	case RTMP_AMF0_DATE:
		return rtmp_amf0_put_date(w, n->u.num, n->tz);
	case RTMP_AMF0_REFERENCE:
		return rtmp_amf0_put_reference(w, (uint16_t)n->u.ref);
	case RTMP_AMF0_OBJECT:
		rtmp_amf0_put_object_begin(w);
		return amf_put_children(w, a, idx, 1);
	case RTMP_AMF0_TYPED_OBJECT:
		rtmp_amf0_put_typed_object_begin(w, n->u.str.ptr, n->u.str.len);
		return amf_put_children(w, a, idx, 1);
	case RTMP_AMF0_ECMA_ARRAY:
		rtmp_amf0_put_ecma_begin(w, n->u.ref);
		return amf_put_children(w, a, idx, 1);
	case RTMP_AMF0_STRICT_ARRAY:
		rtmp_amf0_put_strict_array_begin(w, n->count);
		return amf_put_children(w, a, idx, 0);
	default:
		return amf_put_marker(w, n->type);
	}
}
