/* sw_verify: checks that every viewer receives the same RTMP message
 * sequence.
 *
 * The dataplane's canonical stream is identical for every viewer, so each
 * media message is reduced to a record (type, length, timestamp, CRC-32C of
 * the payload) and compared against a reference sequence:
 *  - live reference (default): the sequence is built by the viewers
 *    themselves; whichever viewer first receives message k appends it, every
 *    other viewer is compared against it. A viewer joins at the position of
 *    its first message (a keyframe the reference already holds), or appends
 *    when it is ahead of everyone;
 *  - fixed reference (--ref FILE.flv): the records of the file's tags; a
 *    viewer joins at the first tag matching (type, length, CRC) and its
 *    timestamps are compared relative to that tag (the publisher may have
 *    rebased them); at the end of the file the viewer re-joins (a looping
 *    publisher).
 * Configuration messages (metadata, codec sequence headers) belong to the
 * play preamble, not to the ordered sequence: they are checked against a
 * small set keyed by kind and data-handler name (the first occurrence of
 * each key is the reference).
 * A viewer that was skipped forward by the server (slow-viewer policy) shows
 * as a jump to a later keyframe of the reference: counted as a skip, not a
 * mismatch.
 */
#ifndef SW_VERIFY_H
#define SW_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#define SW_REC_KEY 0x01     /* video keyframe */
#define SW_REC_CONFIG 0x02  /* metadata or codec sequence header */

struct sw_rec {
	uint32_t ts;
	uint32_t len;
	uint32_t crc;
	uint8_t type;
	uint8_t flags;
	uint8_t kind;       /* config records: metadata, video, audio, other */
	uint8_t _pad;
	uint32_t key;       /* config records: kind and, for data messages, the
			     * handler name ("onMetaData", "|RtmpSampleAccess") */
};

#define SW_CFG_MAX 8        /* distinct configuration messages tracked */

struct sw_ref {
	struct sw_rec *v;
	uint32_t n, cap, max;
	int fixed;                          /* loaded from a file: never appended */
	struct sw_rec cfg[SW_CFG_MAX];      /* first occurrence of each key */
	uint32_t ncfg;
	uint64_t full_drops;                /* appends refused: max reached */
};

/* Per viewer position in the reference. */
struct sw_cursor {
	uint32_t pos;
	uint8_t joined;
	int64_t ts_off[2];  /* fixed reference: viewer ts - file ts, audio/video
			     * apart (a looping publisher shifts them apart) */
	uint8_t off_ok[2];
	uint64_t verified, mismatches, skips, cfg_mismatches;
};

enum sw_verify_result {
	SW_V_OK = 0,
	SW_V_APPENDED,      /* this viewer is the frontier: record became reference */
	SW_V_SKIP,          /* jumped forward to a later keyframe */
	SW_V_MISMATCH,
	SW_V_UNVERIFIED     /* reference full, or not joinable yet */
};

/* Build a record from a message: CRC-32C of payload, classification of
 * keyframes and configuration messages from the FLV codec bytes. */
void sw_rec_make(struct sw_rec *r, uint8_t type, uint32_t ts, const uint8_t *p, uint32_t len);

/* CRC-32C (Castagnoli) of p[0..len), chained from crc (0 to start). */
uint32_t sw_crc32c(uint32_t crc, const uint8_t *p, size_t len);

/* Initialise an empty live reference holding at most max records.
 * Returns 0 or -EINVAL (max 0). Storage grows on demand. */
int sw_ref_init(struct sw_ref *ref, uint32_t max);

/* Load a fixed reference from an FLV file image buf[0..len): every audio,
 * video and script-data tag becomes a record (script tags as configuration).
 * Returns 0, -ENOMEM, -EINVAL (no tags) or the FLV reader's -FLV_E_* error. */
int sw_ref_load_flv(struct sw_ref *ref, const uint8_t *buf, size_t len, uint32_t max);

void sw_ref_fini(struct sw_ref *ref);

/* Check one received record of one viewer, advancing its cursor. */
enum sw_verify_result sw_verify(struct sw_ref *ref, struct sw_cursor *c, const struct sw_rec *r);

#endif /* SW_VERIFY_H */
