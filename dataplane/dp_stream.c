/* Stream log entries (canonical bytes written once), per-worker views and
 * the shared stream table. */
#include "dataplane/dp_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flv/flv_codec.h"
#include "rtmp/rtmp_be.h"
#include "rtmp/rtmp_chunk.h"

_Static_assert(sizeof(struct dp_entry_meta) <= RTE_PKTMBUF_HEADROOM,
	       "entry metadata lives in the headroom");

uint8_t dp_entry_classify(uint8_t type, const uint8_t *p, size_t len)
{
	struct flv_media_info mi;

	if (type == RTMP_MSG_DATA_AMF0 || type == RTMP_MSG_DATA_AMF3)
		return DP_ENTRY_METADATA;
	if (type != RTMP_MSG_AUDIO && type != RTMP_MSG_VIDEO)
		return 0;
	if (flv_sniff(type, p, len, &mi) != 0)
		return type == RTMP_MSG_VIDEO ? DP_ENTRY_VIDEO : DP_ENTRY_AUDIO;
	if (mi.is_video) {
		if (mi.sequence_header)
			return DP_ENTRY_VIDEO | DP_ENTRY_SEQHDR;
		/* A keyframe that carries a picture: command frames and
		 * end-of-sequence markers cannot start a decoder. */
		if (mi.keyframe && !mi.command_frame && !mi.end_of_sequence)
			return DP_ENTRY_VIDEO | DP_ENTRY_KEYFRAME;
		return DP_ENTRY_VIDEO;
	}
	return DP_ENTRY_AUDIO | (mi.sequence_header ? DP_ENTRY_SEQHDR : 0);
}

/* ---- canonical writer into an mbuf chain ---- */

struct chain_wr {
	struct rte_mempool *pool;
	struct rte_mbuf *head, *tail;
};

/* Append m to w's chain; m is freed when it cannot be. 0 or -ENOMEM. */
static int chain_link(struct chain_wr *w, struct rte_mbuf *m)
{
	if (!w->head) {
		w->head = m;
	} else if (rte_pktmbuf_chain(w->head, m) != 0) {
		rte_pktmbuf_free(m);
		return -ENOMEM;
	}
	w->tail = m;
	return 0;
}

static int chain_put(struct chain_wr *w, const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		uint16_t room = w->tail ? rte_pktmbuf_tailroom(w->tail) : 0;
		uint16_t take;
		char *dst;

		if (room == 0) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

			if (!m || chain_link(w, m) != 0)
				return -ENOMEM;
			continue;
		}
		take = n < room ? (uint16_t)n : room;
		dst = rte_pktmbuf_append(w->tail, take);
		/* rte_pktmbuf_append on the tail does not grow the head's
		 * pkt_len when the tail is not the head. */
		if (w->tail != w->head)
			w->head->pkt_len += take;
		memcpy(dst, p, take);
		p += take;
		n -= take;
	}
	return 0;
}

static size_t canon_first_hdr(uint8_t *h, const struct dp_entry_meta *e, uint32_t csid)
{
	int ext = e->ts >= RTMP_EXT_TS;
	size_t n = 12;

	h[0] = (uint8_t)csid; /* fmt 0, csid < 64 */
	rtmp_put_be24(h + 1, ext ? RTMP_EXT_TS : e->ts);
	rtmp_put_be24(h + 4, e->plen);
	h[7] = e->type;
	rtmp_put_le32(h + 8, RTMP_CANONICAL_MSID);
	if (ext) {
		rtmp_put_be32(h + 12, e->ts);
		n += 4;
	}
	return n;
}

static size_t canon_cont_hdr(uint8_t *h, const struct dp_entry_meta *e, uint32_t csid)
{
	h[0] = (uint8_t)(0xC0 | csid);
	if (e->ts >= RTMP_EXT_TS) {
		rtmp_put_be32(h + 1, e->ts);
		return 5;
	}
	return 1;
}

#define EXT_SLICE_MAX 32768u /* mbuf buf_len is 16 bits */

/* Chain payload[off, off + n) as extbuf-attached mbufs. */
static int chain_ext(struct chain_wr *w, uint8_t *payload, rte_iova_t iova,
		     struct rte_mbuf_ext_shared_info *shinfo, uint32_t off, uint32_t n)
{
	while (n > 0) {
		uint32_t take = n < EXT_SLICE_MAX ? n : EXT_SLICE_MAX;
		struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

		if (!m)
			return -ENOMEM;
		rte_mbuf_ext_refcnt_update(shinfo, 1);
		rte_pktmbuf_attach_extbuf(m, payload + off, iova + off, (uint16_t)take, shinfo);
		m->data_off = 0;
		m->data_len = (uint16_t)take;
		m->pkt_len = take;
		if (chain_link(w, m) != 0)
			return -ENOMEM;
		off += take;
		n -= take;
	}
	return 0;
}

/* Where an entry's payload bytes come from: copied into pool mbufs, or
 * (attach) referenced as extbufs of ext, so they are never copied. */
struct entry_src {
	int attach;
	const uint8_t *copy;
	uint8_t *ext;
	rte_iova_t iova;
	struct rte_mbuf_ext_shared_info *shinfo;
};

static int put_payload(struct chain_wr *w, const struct entry_src *src, uint32_t off,
		       uint32_t n)
{
	if (src->attach)
		return chain_ext(w, src->ext, src->iova, src->shinfo, off, n);
	return chain_put(w, src->copy + off, n);
}

/* The canonical chunked form of one message (see dp_stream.h): headers
 * written into w's pool, payload from src, chunk bytes per chunk. Returns
 * the entry with its metadata in the headroom, or NULL with errno set. */
static struct rte_mbuf *entry_build(struct chain_wr *w, const struct dp_entry_meta *meta,
				    const struct entry_src *src, uint32_t chunk)
{
	struct dp_entry_meta e = *meta;
	uint32_t csid = rtmp_chunk_canonical_csid(meta->type);
	uint8_t h[RTMP_CHUNK_HDR_MAX];
	uint32_t done = 0;
	int rc;

	if (chunk == 0 || meta->plen > RTMP_MSG_LEN_MAX || csid >= 64) {
		errno = EINVAL;
		return NULL;
	}
	e.chunk = chunk;
	e.clen = (uint32_t)rtmp_chunk_canonical_size(meta->plen, meta->ts, chunk);
	rc = chain_put(w, h, (uint32_t)canon_first_hdr(h, &e, csid));
	while (rc == 0 && done < meta->plen) {
		uint32_t n = meta->plen - done < chunk ? meta->plen - done : chunk;

		if (done > 0)
			rc = chain_put(w, h, (uint32_t)canon_cont_hdr(h, &e, csid));
		if (rc == 0)
			rc = put_payload(w, src, done, n);
		done += n;
	}
	if (rc != 0 || w->head->pkt_len != e.clen) {
		rte_pktmbuf_free(w->head);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(w->head->buf_addr, &e, sizeof(e));
	return w->head;
}

struct rte_mbuf *dp_entry_build(struct rte_mempool *pool, const struct dp_entry_meta *meta,
				const uint8_t *payload, uint32_t chunk, uint64_t *copied)
{
	struct chain_wr w = { pool, NULL, NULL };
	struct entry_src src = { .copy = payload };
	struct rte_mbuf *m = entry_build(&w, meta, &src, chunk);

	if (m)
		*copied += meta->plen;
	return m;
}

struct rte_mbuf *dp_entry_build_ext(struct rte_mempool *hdr_pool,
				    const struct dp_entry_meta *meta, uint8_t *payload,
				    rte_iova_t iova, struct rte_mbuf_ext_shared_info *shinfo,
				    uint32_t chunk)
{
	struct chain_wr w = { hdr_pool, NULL, NULL };
	struct entry_src src = { .attach = 1, .ext = payload, .iova = iova, .shinfo = shinfo };

	return entry_build(&w, meta, &src, chunk);
}

void dp_entry_ref(struct rte_mbuf *m)
{
	for (; m; m = m->next)
		rte_mbuf_refcnt_update(m, 1);
}

/* Add canonical bytes [off, off + n) of m as iovecs; *done grows by the
 * bytes described. -ENOSPC when max iovecs ran out first. */
static int iov_add(const struct rte_mbuf *m, uint32_t off, uint32_t n, struct iovec *iov,
		   int *cnt, int max, uint32_t *done)
{
	while (m && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	while (n > 0) {
		uint32_t take;

		if (!m)
			return -EINVAL;
		take = m->data_len - off;
		if (take > n)
			take = n;
		if (*cnt == max)
			return -ENOSPC;
		iov[*cnt].iov_base = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
		iov[*cnt].iov_len = take;
		(*cnt)++;
		*done += take;
		n -= take;
		off = 0;
		m = m->next;
	}
	return 0;
}

int dp_entry_payload_iov(const struct rte_mbuf *m, uint32_t from, uint32_t n,
			 struct iovec *iov, int max, uint32_t *mapped)
{
	const struct dp_entry_meta *e = dp_entry_meta(m);
	uint32_t ext = e->ts >= RTMP_EXT_TS ? 4 : 0;
	uint32_t h0 = 12 + ext, hc = 1 + ext;
	int cnt = 0;

	*mapped = 0;
	if ((uint64_t)from + n > e->plen)
		return -EINVAL;
	while (n > 0) {
		uint32_t k = from / e->chunk, in = from % e->chunk;
		uint32_t coff = h0 + k * e->chunk + k * hc + in;
		uint32_t take = e->chunk - in;
		int rc;

		if (take > n)
			take = n;
		rc = iov_add(m, coff, take, iov, &cnt, max, mapped);
		if (rc == -ENOSPC)
			break; /* a prefix: the caller sends less */
		if (rc != 0)
			return rc;
		from += take;
		n -= take;
	}
	return cnt;
}

/* ---- views ---- */

int dp_view_init(struct dp_view *v, uint64_t stream, uint32_t slot, uint32_t entries,
		 uint64_t bytes_max)
{
	uint32_t n = rte_align32pow2(entries < 16 ? 16 : entries);

	memset(v, 0, sizeof(*v));
	v->ring = calloc(n, sizeof(*v->ring));
	if (!v->ring)
		return -ENOMEM;
	v->stream = stream;
	v->slot = slot;
	v->mask = n - 1;
	v->bytes_max = bytes_max;
	return 0;
}

static void view_set_ref(struct rte_mbuf **dst, struct rte_mbuf *m)
{
	rte_pktmbuf_free(*dst);
	*dst = m;
	if (m)
		dp_entry_ref(m);
}

/* Drop the ring's entries; metadata and sequence headers stay (they are
 * still what a decoder needs after a hole in the log). */
static void view_drop_entries(struct dp_view *v)
{
	for (uint64_t s = v->first_seq; s && s <= v->last_seq; s++) {
		struct dp_view_slot *sl = &v->ring[s & v->mask];

		rte_pktmbuf_free(sl->m);
		sl->m = NULL;
	}
	v->first_seq = v->last_seq = 0;
	v->bytes_held = 0;
	v->key_seq = 0;
	v->epoch_key_seq = 0;
}

void dp_view_clear(struct dp_view *v)
{
	view_drop_entries(v);
	view_set_ref(&v->meta, NULL);
	view_set_ref(&v->vsh, NULL);
	view_set_ref(&v->ash, NULL);
}

void dp_view_fini(struct dp_view *v)
{
	if (!v->ring)
		return;
	dp_view_clear(v);
	free(v->ring);
	v->ring = NULL;
}

static void view_evict_one(struct dp_view *v)
{
	struct dp_view_slot *sl = &v->ring[v->first_seq & v->mask];

	if (sl->m) {
		v->bytes_held -= dp_entry_meta(sl->m)->clen;
		rte_pktmbuf_free(sl->m);
		sl->m = NULL;
	}
	v->evicted++;
	if (v->key_seq == v->first_seq)
		v->key_seq = 0;
	if (v->epoch_key_seq == v->first_seq)
		v->epoch_key_seq = 0;
	if (v->first_seq == v->last_seq)
		v->first_seq = v->last_seq = 0;
	else
		v->first_seq++;
}

/* Keep a reference to m when it is part of the preamble a new viewer needs
 * (metadata, video or audio sequence header), replacing the previous one. */
static void view_keep_preamble(struct dp_view *v, struct rte_mbuf *m,
			       const struct dp_entry_meta *e)
{
	if (e->flags & DP_ENTRY_METADATA)
		view_set_ref(&v->meta, m);
	if ((e->flags & DP_ENTRY_SEQHDR) && (e->flags & DP_ENTRY_VIDEO))
		view_set_ref(&v->vsh, m);
	if ((e->flags & DP_ENTRY_SEQHDR) && (e->flags & DP_ENTRY_AUDIO))
		view_set_ref(&v->ash, m);
}

static void view_track(struct dp_view *v, struct rte_mbuf *m, const struct dp_entry_meta *e)
{
	if (e->epoch != v->epoch) {
		v->epoch = e->epoch;
		v->epoch_key_seq = 0;
	}
	if (e->flags & DP_ENTRY_KEYFRAME) {
		v->key_seq = e->seq;
		if (!v->epoch_key_seq)
			v->epoch_key_seq = e->seq;
	}
	view_keep_preamble(v, m, e);
}

int dp_view_append(struct dp_view *v, struct rte_mbuf *m)
{
	const struct dp_entry_meta *e = dp_entry_meta(m);

	if (v->last_seq && e->seq <= v->last_seq) {
		rte_pktmbuf_free(m);
		return -EINVAL;
	}
	if (v->last_seq && e->seq != v->last_seq + 1) {
		/* Lost entries: what we hold is older than the hole and
		 * cannot be continued; start over from this entry, keeping
		 * the preamble. */
		view_drop_entries(v);
		v->gap = 1;
		v->gaps++;
	}
	/* Make room: one ring slot and bytes_max. */
	while (v->first_seq && (e->seq - v->first_seq > v->mask ||
				v->bytes_held + e->clen > v->bytes_max))
		view_evict_one(v);
	if (!v->first_seq)
		v->first_seq = e->seq;
	v->ring[e->seq & v->mask] = (struct dp_view_slot){ m, v->end_off };
	v->last_seq = e->seq;
	v->end_off += e->clen;
	v->bytes_held += e->clen;
	v->appended++;
	view_track(v, m, e);
	return 0;
}

void dp_view_note_preamble(struct dp_view *v, struct rte_mbuf *m)
{
	const struct dp_entry_meta *e = dp_entry_meta(m);

	view_keep_preamble(v, m, e);
	rte_pktmbuf_free(m);
}

struct rte_mbuf *dp_view_get(const struct dp_view *v, uint64_t seq)
{
	if (!v->first_seq || seq < v->first_seq || seq > v->last_seq)
		return NULL;
	return v->ring[seq & v->mask].m;
}

uint64_t dp_view_offset(const struct dp_view *v, uint64_t seq)
{
	if (!v->first_seq || seq < v->first_seq)
		return v->first_seq ? v->ring[v->first_seq & v->mask].off : v->end_off;
	if (seq > v->last_seq)
		return v->end_off;
	return v->ring[seq & v->mask].off;
}

uint64_t dp_view_next_key(const struct dp_view *v, uint64_t seq)
{
	if (!v->first_seq)
		return 0;
	if (seq < v->first_seq)
		seq = v->first_seq;
	for (; seq <= v->last_seq; seq++) {
		const struct rte_mbuf *m = v->ring[seq & v->mask].m;

		if (m && (dp_entry_meta(m)->flags & DP_ENTRY_KEYFRAME))
			return seq;
	}
	return 0;
}

/* ---- shared table ---- */

int dp_streams_lookup(struct dp_streams *t, uint64_t id, int create)
{
	int free_slot = -1;

	if (id == 0)
		return -ENOENT;
	for (int i = 0; i < DP_STREAMS_MAX; i++) {
		uint64_t cur = atomic_load(&t->slot[i].id);

		if (cur == id)
			return i;
		if (cur == 0 && free_slot < 0)
			free_slot = i;
	}
	if (!create)
		return -ENOENT;
	if (free_slot < 0)
		return -ENOSPC;
	struct dp_sslot *s = &t->slot[free_slot];

	atomic_store(&s->pub_worker, -1);
	atomic_store(&s->ended, 0);
	atomic_store(&s->sub_mask, 0);
	atomic_store(&s->next_seq, 1);
	atomic_store(&s->clock_next, 0);
	atomic_store(&s->clock_valid, 0);
	atomic_store(&s->epoch, 0);
	atomic_store(&s->ar_dropped, 0);
	memset(s->app, 0, sizeof(s->app));
	memset(s->name, 0, sizeof(s->name));
	atomic_store(&s->id, id);
	return free_slot;
}

unsigned dp_streams_reap(struct dp_streams *t)
{
	unsigned n = 0;

	for (int i = 0; i < DP_STREAMS_MAX; i++) {
		struct dp_sslot *s = &t->slot[i];

		if (atomic_load(&s->id) != 0 && atomic_load(&s->ended) &&
		    atomic_load(&s->sub_mask) == 0 && atomic_load(&s->pub_worker) < 0) {
			atomic_store(&s->id, 0);
			n++;
		}
	}
	return n;
}
