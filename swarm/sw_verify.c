/* sw_verify: message-sequence verification (see sw_verify.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

#include "flv/flv_reader.h"
#include "swarm/sw_verify.h"

#define JOIN_SEARCH 8192   /* records searched backwards for a join point */
#define SKIP_SEARCH 4096   /* records searched forwards for a skip target */
#define LOOP_SEAM 64       /* records from a file's end where a loop may restart */

enum cfg_kind { CFG_META = 0, CFG_VIDEO, CFG_AUDIO, CFG_OTHER };

uint32_t sw_crc32c(uint32_t crc, const uint8_t *p, size_t len)
{
	/* The SSE4.2 crc32 instruction (CRC-32C); loads go through memcpy so
	 * unaligned payloads are fine. No final inversion: only equality of
	 * values computed the same way matters here. */
#ifdef __SSE4_2__
	uint64_t c = crc, w;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
	}
	crc = (uint32_t)c;
	for (; len > 0; p++, len--)
		crc = _mm_crc32_u8(crc, *p);
#else
	for (; len > 0; p++, len--) {
		crc ^= *p;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
#endif
	return crc;
}

static void classify_video(struct sw_rec *r, const uint8_t *p, uint32_t len)
{
	if (len < 1)
		return;
	if (p[0] & 0x80) {
		/* Enhanced RTMP: frame type bits 4..6, packet type bits 0..3;
		 * SequenceStart (0) carries the decoder configuration. */
		if ((p[0] & 0x0f) == 0) {
			r->flags |= SW_REC_CONFIG;
			r->kind = CFG_VIDEO;
		} else if (((p[0] >> 4) & 7) == 1) {
			r->flags |= SW_REC_KEY;
		}
		return;
	}
	if (((p[0] & 0x0f) == 7 || (p[0] & 0x0f) == 12) && len >= 2 && p[1] == 0) {
		r->flags |= SW_REC_CONFIG; /* AVC/HEVC sequence header */
		r->kind = CFG_VIDEO;
	} else if ((p[0] >> 4) == 1) {
		r->flags |= SW_REC_KEY;
	}
}

/* Hash of a data message's handler name (its first AMF0 string), so that
 * different data messages (onMetaData, |RtmpSampleAccess) are told apart.
 * Type 15 bodies start with a 0x00 format byte. */
static uint32_t data_handler_key(uint8_t type, const uint8_t *p, uint32_t len)
{
	uint32_t off = type == 15 ? 1 : 0, n;

	if (len < off + 3 || p[off] != 0x02)
		return 0;
	n = (uint32_t)p[off + 1] << 8 | p[off + 2];
	if (n > len - off - 3)
		return 0;
	return sw_crc32c(0, p + off + 3, n);
}

void sw_rec_make(struct sw_rec *r, uint8_t type, uint32_t ts, const uint8_t *p, uint32_t len)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->ts = ts;
	r->len = len;
	r->crc = sw_crc32c(0, p, len);
	if (type == 9) {
		classify_video(r, p, len);
	} else if (type == 8) {
		if (len >= 2 && (p[0] >> 4) == 10 && p[1] == 0) {
			r->flags |= SW_REC_CONFIG; /* AAC AudioSpecificConfig */
			r->kind = CFG_AUDIO;
		}
	} else {
		r->flags |= SW_REC_CONFIG; /* data messages: onMetaData & co */
		r->kind = type == 18 ? CFG_META : CFG_OTHER;
		r->key = data_handler_key(type, p, len);
	}
	r->key = r->key << 2 | r->kind;
}

int sw_ref_init(struct sw_ref *ref, uint32_t max)
{
	if (max == 0)
		return -EINVAL;
	memset(ref, 0, sizeof(*ref));
	ref->max = max;
	return 0;
}

void sw_ref_fini(struct sw_ref *ref)
{
	free(ref->v);
	ref->v = NULL;
	ref->n = ref->cap = 0;
}

static int ref_append(struct sw_ref *ref, const struct sw_rec *r)
{
	if (ref->n == ref->max) {
		ref->full_drops++;
		return -ENOSPC;
	}
	if (ref->n == ref->cap) {
		uint32_t cap = ref->cap ? ref->cap * 2 : 4096;
		if (cap > ref->max)
			cap = ref->max;
		struct sw_rec *v = realloc(ref->v, (size_t)cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		ref->v = v;
		ref->cap = cap;
	}
	ref->v[ref->n++] = *r;
	return 0;
}

static const struct sw_rec *cfg_find(const struct sw_ref *ref, uint32_t key)
{
	for (uint32_t k = 0; k < ref->ncfg; k++)
		if (ref->cfg[k].key == key)
			return &ref->cfg[k];
	return NULL;
}

int sw_ref_load_flv(struct sw_ref *ref, const uint8_t *buf, size_t len, uint32_t max)
{
	struct flv_reader rd;
	struct flv_item it;
	size_t off = 0;
	int n = 0, rc;

	if ((rc = sw_ref_init(ref, max)) != 0)
		return rc;
	ref->fixed = 1;
	flv_reader_init(&rd, 0);
	while (off < len && (n = flv_reader_next(&rd, buf + off, len - off, &it)) > 0) {
		off += (size_t)n;
		if (it.kind != FLV_ITEM_TAG)
			continue;
		struct sw_rec r;
		sw_rec_make(&r, it.tag.type, it.tag.timestamp, it.tag.data, it.tag.data_size);
		if (r.flags & SW_REC_CONFIG) {
			if (cfg_find(ref, r.key) == NULL && ref->ncfg < SW_CFG_MAX)
				ref->cfg[ref->ncfg++] = r;
			continue;
		}
		if ((rc = ref_append(ref, &r)) != 0)
			break;
	}
	if (n < 0 && ref->n == 0)
		rc = n;
	if (rc == 0 && ref->n == 0)
		rc = -EINVAL;
	if (rc != 0 && rc != -ENOSPC) {
		sw_ref_fini(ref);
		return rc;
	}
	return 0;
}

static int rec_eq(const struct sw_ref *ref, const struct sw_cursor *c, const struct sw_rec *a,
		  const struct sw_rec *b)
{
	int64_t ts_ok = ref->fixed ? (int64_t)b->ts - (int64_t)a->ts == c->ts_off[b->type == 9]
				   : a->ts == b->ts;

	return a->type == b->type && a->len == b->len && a->crc == b->crc && ts_ok;
}

/* Content match regardless of timestamp (fixed reference joins). */
static int rec_same_body(const struct sw_rec *a, const struct sw_rec *b)
{
	return a->type == b->type && a->len == b->len && a->crc == b->crc;
}

static enum sw_verify_result verify_config(struct sw_ref *ref, struct sw_cursor *c,
					   const struct sw_rec *r)
{
	const struct sw_rec *x = cfg_find(ref, r->key);

	if (x == NULL) {
		/* A file reference knows every configuration message it has;
		 * a live one learns them from the first viewer that gets one. */
		if (ref->fixed && r->kind != CFG_META)
			goto bad;
		if (ref->ncfg == SW_CFG_MAX)
			return SW_V_UNVERIFIED;
		ref->cfg[ref->ncfg++] = *r;
		return SW_V_APPENDED;
	}
	/* Metadata may legitimately differ between a file and what a server
	 * forwards (servers add or rewrite properties): compare only the codec
	 * headers against a file, everything against live viewers. */
	if ((ref->fixed && r->kind == CFG_META) || rec_same_body(x, r)) {
		c->verified++;
		return SW_V_OK;
	}
bad:
	c->cfg_mismatches++;
	return SW_V_MISMATCH;
}

static enum sw_verify_result join(struct sw_ref *ref, struct sw_cursor *c, const struct sw_rec *r)
{
	uint32_t lo = ref->n > JOIN_SEARCH && !ref->fixed ? ref->n - JOIN_SEARCH : 0;

	for (uint32_t k = ref->n; k-- > lo;) {
		const struct sw_rec *x = &ref->v[k];
		if (ref->fixed ? rec_same_body(x, r) : rec_eq(ref, c, x, r)) {
			c->off_ok[0] = c->off_ok[1] = 0;
			c->ts_off[r->type == 9] = (int64_t)r->ts - (int64_t)x->ts;
			c->off_ok[r->type == 9] = 1;
			c->pos = k + 1;
			c->joined = 1;
			c->verified++;
			return SW_V_OK;
		}
	}
	if (ref->fixed)
		return SW_V_UNVERIFIED; /* keep looking: the file may start later */
	/* Not in the reference: this viewer is ahead of every other one. */
	if (ref_append(ref, r) != 0)
		return SW_V_UNVERIFIED;
	c->pos = ref->n;
	c->joined = 1;
	return SW_V_APPENDED;
}

/* r differs from ref->v[c->pos]: a server-side skip lands on a later
 * keyframe of the same sequence. */
static enum sw_verify_result try_skip(struct sw_ref *ref, struct sw_cursor *c,
				      const struct sw_rec *r)
{
	uint32_t hi = c->pos + SKIP_SEARCH < ref->n ? c->pos + SKIP_SEARCH : ref->n;

	if (!(r->flags & SW_REC_KEY))
		return SW_V_MISMATCH;
	for (uint32_t k = c->pos + 1; k < hi; k++)
		if (rec_eq(ref, c, &ref->v[k], r)) {
			c->pos = k + 1;
			c->skips++;
			c->verified++;
			return SW_V_SKIP;
		}
	return SW_V_MISMATCH;
}

/* Fixed reference, r does not follow: a looping publisher restarts the
 * file a few messages before or after our cursor reaches its end (the
 * interleaving of audio and video differs at the seam). Re-join: near the
 * end of the file that is the loop, elsewhere a mismatch. */
static enum sw_verify_result resync_fixed(struct sw_ref *ref, struct sw_cursor *c,
					  const struct sw_rec *r)
{
	uint32_t old = c->pos;

	c->joined = 0;
	if (join(ref, c, r) == SW_V_OK && old + LOOP_SEAM >= ref->n && c->pos <= LOOP_SEAM)
		return SW_V_OK;
	c->mismatches++;
	if (!c->joined) {
		c->joined = 1; /* not found at all: stay where we were */
		c->pos = old + 1 < ref->n ? old + 1 : old;
	}
	return SW_V_MISMATCH;
}

enum sw_verify_result sw_verify(struct sw_ref *ref, struct sw_cursor *c, const struct sw_rec *r)
{
	enum sw_verify_result v;

	if (r->flags & SW_REC_CONFIG)
		return verify_config(ref, c, r);
	if (!c->joined)
		return join(ref, c, r);
	if (c->pos == ref->n) {
		if (ref->fixed) {
			c->joined = 0; /* end of the file: the publisher looped */
			return join(ref, c, r);
		}
		if (ref_append(ref, r) != 0)
			return SW_V_UNVERIFIED;
		c->pos++;
		return SW_V_APPENDED;
	}
	if (ref->fixed && !c->off_ok[r->type == 9] && rec_same_body(&ref->v[c->pos], r)) {
		/* first message of the other media type since the join */
		c->ts_off[r->type == 9] = (int64_t)r->ts - (int64_t)ref->v[c->pos].ts;
		c->off_ok[r->type == 9] = 1;
	}
	if (rec_eq(ref, c, &ref->v[c->pos], r)) {
		c->pos++;
		c->verified++;
		return SW_V_OK;
	}
	v = try_skip(ref, c, r);
	if (v == SW_V_MISMATCH && ref->fixed)
		return resync_fixed(ref, c, r);
	if (v == SW_V_MISMATCH) {
		c->mismatches++;
		c->pos++; /* assume a substitution and stay aligned */
	}
	return v;
}
