/* The control-plane IPC protocol (dataplane/dp_ipc_proto.h) and the stream
 * log (dataplane/dp_stream.h): encode/decode of every message type,
 * fragmentation and reassembly, malformed and oversized input; canonical
 * entries byte-identical to the rtmp library's canonical writer, payload
 * iovecs, view bounds, GOP start, gaps and reference counts. */
#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "dataplane/dp_ipc_proto.h"
#include "dataplane/dp_stream.h"
#include "rtmp/rtmp_chunk.h"
#include "tests/unit/util_dp_eal.h"

/* ---- protocol ---- */

static size_t dgram(uint8_t *b, uint16_t type, uint32_t flags, uint64_t sess, uint64_t stream,
		    const void *p, uint32_t len)
{
	struct dp_ipc_hdr h;

	dp_ipc_hdr_init(&h, type, sess, stream, len);
	h.flags = flags;
	memcpy(b, &h, sizeof(h));
	if (len)
		memcpy(b + sizeof(h), p, len);
	return sizeof(h) + len;
}

static void test_hdr_parse(void)
{
	uint8_t b[256];
	struct dp_ipc_hello he = { DP_IPC_VERSION, 42 };
	struct dp_ipc_hdr h;
	size_t n = dgram(b, DP_IPC_HELLO, 0, 0, 0, &he, sizeof(he));

	CU_ASSERT_EQUAL(n, 40);
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, n, &h), 0);
	CU_ASSERT_EQUAL(h.type, DP_IPC_HELLO);
	CU_ASSERT_EQUAL(h.len, 8);
	/* every truncation is an error, never a read past len */
	for (size_t k = 0; k < n; k++)
		CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, k, &h), -EBADMSG);
	b[0] ^= 1; /* magic */
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, n, &h), -EBADMSG);
	b[0] ^= 1;
	b[4] = 2; /* version */
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, n, &h), -EPROTONOSUPPORT);
	b[4] = 1;
	b[6] = 99; /* type */
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, n, &h), -EBADMSG);
	b[6] = DP_IPC_HELLO;
	b[12] = 0x80; /* unknown flag */
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, n, &h), -EBADMSG);
	b[12] = 0;
	CU_ASSERT_EQUAL(dp_ipc_hdr_parse(b, DP_IPC_FRAG_MAX + 1, &h), -EMSGSIZE);
}

/* Encode then decode each fixed-part message type. */
static void test_types_roundtrip(void)
{
	static const uint16_t types[] = {
		DP_IPC_HELLO, DP_IPC_HELLO_ACK, DP_IPC_RESYNC_SESSION, DP_IPC_RESYNC_STREAM,
		DP_IPC_RESYNC_DONE, DP_IPC_SESSION_OPEN, DP_IPC_SESSION_DATA,
		DP_IPC_SESSION_HANDOVER, DP_IPC_SESSION_MSG, DP_IPC_SESSION_PUBLISH,
		DP_IPC_SESSION_UNPUBLISH, DP_IPC_SESSION_ATTACH, DP_IPC_SESSION_DETACH,
		DP_IPC_SESSION_CLOSE, DP_IPC_STREAM_STATE, DP_IPC_ARCHIVE_MSG, DP_IPC_STATS_REQ,
		DP_IPC_STATS, DP_IPC_SESSION_INFO_REQ, DP_IPC_SESSION_INFO,
	};
	uint8_t in[512], out[512], b[1024];

	CU_ASSERT_EQUAL(sizeof(types) / sizeof(types[0]), DP_IPC_TYPE_MAX);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int var = 0, fixed = dp_ipc_fixed_len(types[i], &var);
		uint32_t len = (uint32_t)fixed + (var ? 5 : 0);
		struct dp_ipc_reasm r;
		struct dp_ipc_hdr h, whole;
		const uint8_t *p, *rest;
		size_t plen, restlen;

		CU_ASSERT_FATAL(fixed >= 0);
		for (uint32_t k = 0; k < len; k++)
			in[k] = (uint8_t)(k * 7 + i);
		/* string fields must be terminated; states in range */
		if (types[i] == DP_IPC_SESSION_PUBLISH || types[i] == DP_IPC_RESYNC_STREAM ||
		    types[i] == DP_IPC_RESYNC_SESSION || types[i] == DP_IPC_SESSION_CLOSE)
			memset(in, 0, len);
		if (types[i] == DP_IPC_STREAM_STATE) {
			memset(in, 0, len);
			in[0] = DP_IPC_STREAM_GRACE;
		}
		size_t n = dgram(b, types[i], 0, 0x0100000000000003ull, 77, in, len);

		dp_ipc_reasm_init(&r, 0);
		CU_ASSERT_EQUAL_FATAL(dp_ipc_hdr_parse(b, n, &h), 0);
		CU_ASSERT_EQUAL_FATAL(dp_ipc_reasm_push(&r, &h, b + DP_IPC_HDR_LEN, &whole, &p, &plen), 1);
		CU_ASSERT_EQUAL(whole.session, 0x0100000000000003ull);
		CU_ASSERT_EQUAL(dp_ipc_session_worker(whole.session), 1);
		CU_ASSERT_EQUAL(whole.stream, 77);
		CU_ASSERT_EQUAL(plen, len);
		CU_ASSERT_EQUAL(dp_ipc_decode(types[i], p, plen, out, (size_t)fixed, &rest, &restlen), 0);
		CU_ASSERT_EQUAL(memcmp(out, in, (size_t)fixed), 0);
		CU_ASSERT_EQUAL(restlen, var ? 5u : 0u);
		if (var)
			CU_ASSERT_EQUAL(memcmp(rest, in + fixed, 5), 0);
		/* a short fixed part is an error */
		if (fixed > 0)
			CU_ASSERT_EQUAL(dp_ipc_decode(types[i], p, (size_t)fixed - 1, out, (size_t)fixed,
						      &rest, &restlen), -EBADMSG);
		/* trailing bytes after a fixed-only message are an error */
		if (!var)
			CU_ASSERT_EQUAL(dp_ipc_check_len(types[i], (size_t)fixed + 1), -EBADMSG);
		CU_ASSERT_STRING_NOT_EQUAL(dp_ipc_type_name(types[i]), "?");
		dp_ipc_reasm_fini(&r);
	}
}

/* SESSION_INFO: whole entries only, roles and states in range. */
static void test_session_info(void)
{
	struct dp_ipc_session_info e[3], o;
	uint8_t b[sizeof(e) + 1];
	const uint8_t *p = NULL;

	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		e[i].id = 0x0100000000000001ull + (uint64_t)i;
		e[i].stream = 77;
		e[i].peer_ip = 0x010012c6u;
		e[i].peer_port = (uint16_t)(40000 + i);
		e[i].worker = 1;
		e[i].role = i == 0 ? DP_IPC_ROLE_PUBLISHER : DP_IPC_ROLE_VIEWER;
		e[i].state = i == 0 ? DP_IPC_SST_PUBLISHING : DP_IPC_SST_PLAYING;
		e[i].srtt_us = 250;
		e[i].cwnd = 14600;
		e[i].bytes_in = 1000u * (uint64_t)(i + 1);
		e[i].bytes_out = 5000u * (uint64_t)(i + 1);
		e[i].skips = (uint64_t)i;
	}
	memcpy(b, e, sizeof(e));
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, sizeof(e), &p), 3);
	CU_ASSERT_PTR_EQUAL(p, b);
	memcpy(&o, p + 2 * sizeof(o), sizeof(o));
	CU_ASSERT_EQUAL(memcmp(&o, &e[2], sizeof(o)), 0);
	/* an empty list is valid */
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, 0, &p), 0);
	CU_ASSERT_EQUAL(dp_ipc_check_len(DP_IPC_SESSION_INFO_REQ, 0), 0);
	CU_ASSERT_EQUAL(dp_ipc_check_len(DP_IPC_SESSION_INFO_REQ, 1), -EBADMSG);
	/* partial entries */
	for (size_t k = 1; k < sizeof(e); k++)
		if (k % sizeof(o))
			CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, k, &p), -EBADMSG);
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, sizeof(e) + 1, &p), -EBADMSG);
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, DP_IPC_PROTO_MSG_MAX + 64, &p), -EMSGSIZE);
	/* bad role, state, id */
	b[sizeof(o) + offsetof(struct dp_ipc_session_info, role)] = 3;
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, sizeof(e), &p), -EBADMSG);
	memcpy(b, e, sizeof(e));
	b[offsetof(struct dp_ipc_session_info, state)] = DP_IPC_SST_MAX + 1;
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, sizeof(e), &p), -EBADMSG);
	memcpy(b, e, sizeof(e));
	memset(b + 2 * sizeof(o), 0, 8);
	CU_ASSERT_EQUAL(dp_ipc_session_info_decode(b, sizeof(e), &p), -EBADMSG);
	CU_ASSERT_STRING_EQUAL(dp_ipc_type_name(DP_IPC_SESSION_INFO), "SESSION_INFO");
	CU_ASSERT_STRING_EQUAL(dp_ipc_type_name(DP_IPC_SESSION_INFO_REQ), "SESSION_INFO_REQ");
}

static void test_strings_and_states(void)
{
	struct dp_ipc_publish pb, o;
	struct dp_ipc_stream_state st = { 9, 0, 0 }, so;

	dp_ipc_str_set(pb.app, sizeof(pb.app), "live");
	dp_ipc_str_set(pb.name, sizeof(pb.name), "channel");
	pb.msid = 1;
	pb.reserved = 0;
	CU_ASSERT_EQUAL(dp_ipc_decode(DP_IPC_SESSION_PUBLISH, (uint8_t *)&pb, sizeof(pb), &o,
				      sizeof(o), NULL, NULL), 0);
	CU_ASSERT_STRING_EQUAL(o.name, "channel");
	memset(pb.name, 'x', sizeof(pb.name)); /* no terminator */
	CU_ASSERT_EQUAL(dp_ipc_decode(DP_IPC_SESSION_PUBLISH, (uint8_t *)&pb, sizeof(pb), &o,
				      sizeof(o), NULL, NULL), -EBADMSG);
	CU_ASSERT_EQUAL(dp_ipc_decode(DP_IPC_STREAM_STATE, (uint8_t *)&st, sizeof(st), &so,
				      sizeof(so), NULL, NULL), -EBADMSG);
	/* wrong output size for the type */
	CU_ASSERT_EQUAL(dp_ipc_decode(DP_IPC_STREAM_STATE, (uint8_t *)&st, sizeof(st), &so, 4, NULL,
				      NULL), -EBADMSG);
}

/* A 200 KB SESSION_MSG goes out in fragments and comes back whole. */
static void test_fragments(void)
{
	size_t total = sizeof(struct dp_ipc_msg) + 200000;
	uint8_t *msg = malloc(total), *b = malloc(DP_IPC_FRAG_MAX);
	struct dp_ipc_hdr whole, h, fh, got;
	struct dp_ipc_reasm r;
	const uint8_t *p;
	size_t plen, off = 0, frags = 0;
	int rc = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (size_t i = 0; i < total; i++)
		msg[i] = (uint8_t)(i * 31 + (i >> 9));
	dp_ipc_hdr_init(&whole, DP_IPC_SESSION_MSG, 5, 0, (uint32_t)total);
	dp_ipc_reasm_init(&r, 0);
	CU_ASSERT_EQUAL(dp_ipc_frag_count(total), 4);
	do {
		uint32_t n = dp_ipc_frag_len(total, off);

		dp_ipc_frag_hdr(&fh, &whole, total, off);
		memcpy(b, &fh, sizeof(fh));
		memcpy(b + sizeof(fh), msg + off, n);
		CU_ASSERT_EQUAL_FATAL(dp_ipc_hdr_parse(b, sizeof(fh) + n, &h), 0);
		rc = dp_ipc_reasm_push(&r, &h, b + DP_IPC_HDR_LEN, &got, &p, &plen);
		off += n;
		frags++;
		CU_ASSERT_EQUAL(rc, off < total ? 0 : 1);
	} while (off < total);
	CU_ASSERT_EQUAL(frags, 4);
	CU_ASSERT_EQUAL_FATAL(rc, 1);
	CU_ASSERT_EQUAL(plen, total);
	CU_ASSERT_EQUAL(got.len, total);
	CU_ASSERT_EQUAL(got.flags, 0);
	CU_ASSERT_EQUAL(memcmp(p, msg, total), 0);

	/* a fragment of another session in the middle: error, state reset */
	dp_ipc_frag_hdr(&fh, &whole, total, 0);
	CU_ASSERT_EQUAL(dp_ipc_reasm_push(&r, &fh, msg, &got, &p, &plen), 0);
	fh.session = 6;
	CU_ASSERT_EQUAL(dp_ipc_reasm_push(&r, &fh, msg, &got, &p, &plen), -EBADMSG);
	CU_ASSERT_EQUAL(r.active, 0);
	dp_ipc_reasm_fini(&r);

	/* oversized: past the bound is refused, not allocated */
	dp_ipc_reasm_init(&r, 100000);
	dp_ipc_frag_hdr(&fh, &whole, total, 0);
	CU_ASSERT_EQUAL(dp_ipc_reasm_push(&r, &fh, msg, &got, &p, &plen), 0);
	CU_ASSERT_EQUAL(dp_ipc_reasm_push(&r, &fh, msg, &got, &p, &plen), -EMSGSIZE);
	CU_ASSERT(r.cap <= 100000);
	dp_ipc_reasm_fini(&r);
	free(msg);
	free(b);
}

/* ---- stream log ---- */

static struct rte_mbuf *mk_entry(uint64_t seq, uint8_t type, uint32_t ts, uint32_t plen,
				 uint8_t flags, uint32_t chunk, uint8_t **payload_out)
{
	struct dp_entry_meta em = { 0 };
	uint8_t *p = malloc(plen ? plen : 1);
	uint64_t copied = 0;
	struct rte_mbuf *m;

	for (uint32_t i = 0; i < plen; i++)
		p[i] = (uint8_t)(i ^ seq);
	em.stream = 9;
	em.seq = seq;
	em.ts = ts;
	em.plen = plen;
	em.type = type;
	em.flags = flags;
	m = dp_entry_build(util_dp_pool(), &em, p, chunk, &copied);
	CU_ASSERT_EQUAL(copied, plen);
	if (payload_out)
		*payload_out = p;
	else
		free(p);
	return m;
}

static void test_entry_canonical(void)
{
	static const uint32_t lens[] = { 0, 1, 127, 128, 129, 4096, 4097, 10000, 70000 };
	static const uint32_t tss[] = { 0, 1000, 0xFFFFFF, 0x12345678 };
	static const uint32_t chunks[] = { 128, 4096 };

	for (size_t a = 0; a < sizeof(lens) / sizeof(lens[0]); a++)
	for (size_t t = 0; t < sizeof(tss) / sizeof(tss[0]); t++)
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		uint8_t *payload;
		struct rte_mbuf *m = mk_entry(1, RTMP_MSG_VIDEO, tss[t], lens[a], 0, chunks[c],
					      &payload);
		struct rtmp_msg msg = { tss[t], lens[a], 7, 0, RTMP_MSG_VIDEO, payload };
		size_t cap = rtmp_chunk_canonical_size(lens[a], tss[t], chunks[c]);
		uint8_t *ref = malloc(cap), *flat = malloc(cap);
		struct iovec iov[1024];
		size_t got = 0;
		uint32_t mapped;
		int n;

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(rtmp_chunk_write_canonical(&msg, chunks[c], ref, cap), (ssize_t)cap);
		CU_ASSERT_EQUAL(m->pkt_len, cap);
		CU_ASSERT_EQUAL(dp_entry_meta(m)->clen, cap);
		CU_ASSERT_PTR_EQUAL(rte_pktmbuf_read(m, 0, (uint32_t)cap, flat) ? flat : flat, flat);
		if (rte_pktmbuf_read(m, 0, (uint32_t)cap, flat) != flat)
			memcpy(flat, rte_pktmbuf_read(m, 0, (uint32_t)cap, flat), cap);
		CU_ASSERT_EQUAL(memcmp(flat, ref, cap), 0);
		/* payload iovecs give back exactly the message body */
		n = dp_entry_payload_iov(m, 0, lens[a], iov, 1024, &mapped);
		CU_ASSERT_FATAL(n >= 0);
		for (int k = 0; k < n; k++) {
			CU_ASSERT_EQUAL(memcmp(iov[k].iov_base, payload + got, iov[k].iov_len), 0);
			got += iov[k].iov_len;
		}
		CU_ASSERT_EQUAL(got, lens[a]);
		CU_ASSERT_EQUAL(mapped, lens[a]);
		CU_ASSERT_EQUAL(dp_entry_payload_iov(m, 1, lens[a], iov, 1024, &mapped), -EINVAL);
		/* too few iovecs: a prefix (whole iovecs), never an error; the
		 * rest maps from where it stopped */
		for (int max = 0; max <= 3 && lens[a]; max++) {
			uint32_t rest;
			size_t sum = 0;
			int k = dp_entry_payload_iov(m, 0, lens[a], iov, max, &mapped);

			CU_ASSERT_FATAL(k >= 0 && k <= max);
			for (int i = 0; i < k; i++)
				sum += iov[i].iov_len;
			CU_ASSERT_EQUAL(sum, mapped);
			CU_ASSERT(max == 0 ? mapped == 0 : mapped > 0);
			CU_ASSERT(mapped <= lens[a]);
			k = dp_entry_payload_iov(m, mapped, lens[a] - mapped, iov, 1024, &rest);
			CU_ASSERT_FATAL(k >= 0);
			CU_ASSERT_EQUAL(mapped + rest, lens[a]);
			if (k > 0)
				CU_ASSERT_EQUAL(memcmp(iov[0].iov_base, payload + mapped,
						       iov[0].iov_len), 0);
		}
		rte_pktmbuf_free(m);
		free(ref);
		free(flat);
		free(payload);
	}
}

static void test_classify(void)
{
	const uint8_t avc_key[] = { 0x17, 0x01, 0, 0, 0, 1, 2 };
	const uint8_t avc_sh[] = { 0x17, 0x00, 0, 0, 0, 1 };
	const uint8_t avc_inter[] = { 0x27, 0x01, 0, 0, 0, 1 };
	const uint8_t aac_sh[] = { 0xAF, 0x00, 0x12, 0x10 };
	const uint8_t aac_raw[] = { 0xAF, 0x01, 0x21 };

	CU_ASSERT_EQUAL(dp_entry_classify(9, avc_key, sizeof(avc_key)),
			DP_ENTRY_VIDEO | DP_ENTRY_KEYFRAME);
	CU_ASSERT_EQUAL(dp_entry_classify(9, avc_sh, sizeof(avc_sh)), DP_ENTRY_VIDEO | DP_ENTRY_SEQHDR);
	CU_ASSERT_EQUAL(dp_entry_classify(9, avc_inter, sizeof(avc_inter)), DP_ENTRY_VIDEO);
	CU_ASSERT_EQUAL(dp_entry_classify(8, aac_sh, sizeof(aac_sh)), DP_ENTRY_AUDIO | DP_ENTRY_SEQHDR);
	CU_ASSERT_EQUAL(dp_entry_classify(8, aac_raw, sizeof(aac_raw)), DP_ENTRY_AUDIO);
	CU_ASSERT_EQUAL(dp_entry_classify(18, (const uint8_t *)"x", 1), DP_ENTRY_METADATA);
	CU_ASSERT_EQUAL(dp_entry_classify(9, avc_key, 0), DP_ENTRY_VIDEO); /* empty body */
}

static void test_view(void)
{
	struct rte_mempool *mp = util_dp_pool();
	unsigned before = rte_mempool_in_use_count(mp);
	struct dp_view v;
	struct rte_mbuf *held;

	CU_ASSERT_EQUAL_FATAL(dp_view_init(&v, 9, 0, 16, 1 << 20), 0);
	CU_ASSERT_EQUAL(v.mask, 15);
	/* metadata, sequence header, keyframe, 5 inter, keyframe, 3 inter */
	CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(1, 18, 0, 50, DP_ENTRY_METADATA, 4096, NULL)), 0);
	CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(2, 9, 0, 40, DP_ENTRY_VIDEO | DP_ENTRY_SEQHDR,
						    4096, NULL)), 0);
	for (uint64_t s = 3; s <= 12; s++) {
		uint8_t f = DP_ENTRY_VIDEO | ((s == 3 || s == 9) ? DP_ENTRY_KEYFRAME : 0);

		CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(s, 9, (uint32_t)s * 40, 1000, f, 4096, NULL)), 0);
	}
	CU_ASSERT_EQUAL(v.first_seq, 1);
	CU_ASSERT_EQUAL(v.last_seq, 12);
	CU_ASSERT_EQUAL(v.key_seq, 9);          /* GOP start for new viewers */
	CU_ASSERT_PTR_NOT_NULL(v.meta);
	CU_ASSERT_PTR_NOT_NULL(v.vsh);
	CU_ASSERT_PTR_NULL(v.ash);
	CU_ASSERT_EQUAL(dp_view_next_key(&v, 4), 9);
	CU_ASSERT_EQUAL(dp_view_next_key(&v, 10), 0);
	CU_ASSERT_EQUAL(dp_view_offset(&v, 2) , dp_entry_meta(dp_view_get(&v, 1))->clen);
	CU_ASSERT_EQUAL(v.end_off - dp_view_offset(&v, 9),
			4 * rtmp_chunk_canonical_size(1000, 400, 4096));
	/* older seq refused */
	CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(5, 9, 0, 10, 0, 4096, NULL)), -EINVAL);
	/* bounded: 16 slots, the oldest go, metadata stays referenced */
	for (uint64_t s = 13; s <= 30; s++)
		CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(s, 9, (uint32_t)s * 40, 1000, DP_ENTRY_VIDEO,
							    4096, NULL)), 0);
	CU_ASSERT_EQUAL(v.last_seq - v.first_seq + 1, 16);
	CU_ASSERT_PTR_NULL(dp_view_get(&v, 1));
	CU_ASSERT_EQUAL(v.key_seq, 0);          /* keyframe 9 evicted */
	CU_ASSERT_PTR_NOT_NULL(v.meta);
	/* a holder's reference survives eviction */
	held = dp_view_get(&v, 30);
	dp_entry_ref(held);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(held), 2);
	/* a gap (lost entries) restarts the view */
	CU_ASSERT_EQUAL(dp_view_append(&v, mk_entry(40, 9, 2000, 100, DP_ENTRY_VIDEO | DP_ENTRY_KEYFRAME,
						    4096, NULL)), 0);
	CU_ASSERT_EQUAL(v.gaps, 1);
	CU_ASSERT_EQUAL(v.first_seq, 40);
	CU_ASSERT_EQUAL(v.key_seq, 40);
	CU_ASSERT_EQUAL(rte_mbuf_refcnt_read(held), 1);
	/* the preamble survives the hole: late viewers still get it */
	CU_ASSERT_PTR_NOT_NULL(v.meta);
	CU_ASSERT_PTR_NOT_NULL(v.vsh);
	rte_pktmbuf_free(held);
	/* byte bound */
	dp_view_fini(&v);
	CU_ASSERT_EQUAL_FATAL(dp_view_init(&v, 9, 0, 64, 5000), 0);
	for (uint64_t s = 1; s <= 10; s++)
		dp_view_append(&v, mk_entry(s, 9, 0, 1000, DP_ENTRY_VIDEO, 4096, NULL));
	CU_ASSERT(v.bytes_held <= 5000);
	CU_ASSERT_EQUAL(v.last_seq, 10);
	dp_view_fini(&v);
	/* every mbuf came back */
	CU_ASSERT_EQUAL(rte_mempool_in_use_count(mp), before);
}

static void test_streams_table(void)
{
	struct dp_streams *t = calloc(1, sizeof(*t));
	int a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(dp_streams_lookup(t, 5, 0), -ENOENT);
	CU_ASSERT_EQUAL(dp_streams_lookup(t, 0, 1), -ENOENT);
	a = dp_streams_lookup(t, 5, 1);
	b = dp_streams_lookup(t, 6, 1);
	CU_ASSERT(a >= 0 && b >= 0 && a != b);
	CU_ASSERT_EQUAL(dp_streams_lookup(t, 5, 0), a);
	CU_ASSERT_EQUAL(atomic_load(&t->slot[a].pub_worker), -1);
	CU_ASSERT_EQUAL(dp_streams_reap(t), 0); /* not ended */
	atomic_store(&t->slot[a].ended, 1);
	atomic_store(&t->slot[a].sub_mask, 2);
	CU_ASSERT_EQUAL(dp_streams_reap(t), 0); /* a worker still watches */
	atomic_store(&t->slot[a].sub_mask, 0);
	CU_ASSERT_EQUAL(dp_streams_reap(t), 1);
	CU_ASSERT_EQUAL(dp_streams_lookup(t, 5, 0), -ENOENT);
	free(t);
}

static int suite_init(void)
{
	return util_dp_eal_init() == 0 && util_dp_pool() ? 0 : -1;
}

int test_dp_rtmp_proto_register(void)
{
	CU_pSuite s = CU_add_suite("dp_rtmp_proto", suite_init, NULL);

	if (!s)
		return -1;
	if (!CU_add_test(s, "ipc header parse", test_hdr_parse) ||
	    !CU_add_test(s, "ipc every type round trip", test_types_roundtrip) ||
	    !CU_add_test(s, "ipc strings and states", test_strings_and_states) ||
	    !CU_add_test(s, "ipc session info entries", test_session_info) ||
	    !CU_add_test(s, "ipc fragmentation and reassembly", test_fragments) ||
	    !CU_add_test(s, "entry canonical bytes and iov", test_entry_canonical) ||
	    !CU_add_test(s, "entry classify", test_classify) ||
	    !CU_add_test(s, "view bounds, GOP, gaps, refs", test_view) ||
	    !CU_add_test(s, "stream table", test_streams_table))
		return -1;
	return 0;
}
