/* RTMP handshake state machines, server and client, no I/O, no allocation.
 *
 * Wire format: C0/S0 is one version byte (3); C1/S1 and C2/S2 are 1536 bytes.
 * Two flavours are spoken:
 *  - plain: C1 = time(4) zero(4) random(1528); the peer echoes it in S2/C2.
 *  - digest ("Flash Player 9" handshake): bytes 4..7 of C1 carry a non-zero
 *    version and 32 bytes of C1 are an HMAC-SHA256 digest keyed with the
 *    Flash Player key. The digest sits at an offset computed from four
 *    bytes either at byte 8 (scheme 0) or at byte 772 (scheme 1). The server
 *    answers with an S1 digested with the FMS key in the same scheme, and an
 *    S2 whose last 32 bytes are HMAC(HMAC(full FMS key, C1 digest), S2[0..1504)).
 *    The client's C2 is built the same way from the S1 digest and the full
 *    Flash Player key. This is what librtmp/rtmpdump, ffmpeg and Flash expect.
 *
 * Policy for a C1 whose version field is non-zero but whose digest matches
 * neither scheme: like nginx-rtmp, the server falls back to the plain
 * handshake (S1 without digest, S2 = echo of C1) unless the config asks for
 * strict mode, in which case rtmp_hs_feed() fails with -RTMP_E_HS_DIGEST.
 * C2 is not validated by the server (real clients vary; nginx-rtmp and
 * librtmp do not either); rtmp_hs.peer_echo_ok tells whether it was a plain
 * echo of S1 or, after a digest S1, correctly signed. Checked against real
 * clients: ffmpeg (publish: echo; play: verifies S1/S2 and signs C2),
 * librtmp/rtmpdump (plain, and FP9 with 10.0.45.2), all accepted.
 *
 * Timeouts are the caller's business. Bytes that follow C2 (server) or S2
 * (client) are not consumed: they belong to the chunk layer.
 */
#ifndef RTMP_HANDSHAKE_H
#define RTMP_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#define RTMP_HS_VERSION   3
#define RTMP_HS_SIZE      1536
#define RTMP_HS_DIGEST_LEN 32
/* Largest output of one rtmp_hs_feed()/rtmp_hs_client_start() call: S0S1S2. */
#define RTMP_HS_OUT_MAX   (1 + 2 * RTMP_HS_SIZE)

/* Fill buf with len random bytes; return 0 or -errno. Called only from
 * rtmp_hs_feed()/rtmp_hs_client_start(). Tests pass a deterministic one. */
typedef int (*rtmp_hs_rand_fn)(void *ctx, uint8_t *buf, size_t len);

enum rtmp_hs_role { RTMP_HS_SERVER = 0, RTMP_HS_CLIENT = 1 };

enum rtmp_hs_state {
	RTMP_HS_S_WAIT_C0C1 = 0, /* server: waiting for C0+C1 */
	RTMP_HS_S_WAIT_C2,       /* server: S0S1S2 produced, waiting for C2 */
	RTMP_HS_C_INIT,          /* client: rtmp_hs_client_start() not called yet */
	RTMP_HS_C_WAIT_S0S1S2,   /* client: C0C1 produced, waiting for S0+S1+S2 */
	RTMP_HS_DONE,            /* finished; later bytes belong to the chunk layer */
	RTMP_HS_FAILED           /* a previous call returned an error */
};

/* Digest scheme: where the 4 offset bytes sit in C1/S1. */
enum rtmp_hs_scheme { RTMP_HS_SCHEME0 = 0 /* byte 8 */, RTMP_HS_SCHEME1 = 1 /* byte 772 */ };

struct rtmp_hs_config {
	rtmp_hs_rand_fn rand;   /* required */
	void *rand_ctx;
	uint32_t epoch;         /* our time field in C1/S1 (ms, any origin) */
	int digest;             /* client: 1 = send a digest C1 (FP9), 0 = plain */
	enum rtmp_hs_scheme scheme; /* client: digest scheme to use */
	int strict;             /* server: reject a bad digest instead of falling back;
				 * client: fail when the server's S1/S2 digest is wrong */
	uint8_t version[4];     /* our version field when digesting; 0,0,0,0 = default
				 * (server 13.14.10.13 like nginx-rtmp, client 9.0.124.2) */
};

/* Embeddable handshake state, about 3.2 KiB. Read-only for callers except
 * through the functions below; the public fields describe the outcome. */
struct rtmp_hs {
	enum rtmp_hs_role role;
	enum rtmp_hs_state state;
	struct rtmp_hs_config cfg;
	/* outcome, valid once DONE */
	int peer_digest;        /* 1 when the peer's C1/S1 carried a valid digest */
	enum rtmp_hs_scheme peer_scheme; /* scheme of that digest */
	int peer_echo_ok;       /* 1 when C2/S2 echoed or correctly signed ours */
	uint32_t peer_epoch;    /* peer's time field */
	uint8_t peer_version[4];/* peer's version field (bytes 4..7) */
	/* internals */
	uint32_t have;          /* bytes buffered in in[] */
	uint8_t my_digest[RTMP_HS_DIGEST_LEN]; /* digest of our C1/S1 */
	uint8_t peer_dig[RTMP_HS_DIGEST_LEN];  /* digest of the peer's C1/S1 */
	uint8_t mine[RTMP_HS_SIZE];            /* our C1/S1, to check the echo */
	uint8_t in[1 + 2 * RTMP_HS_SIZE];      /* peer bytes being collected */
};

/* Prepare a server handshake. cfg is copied; cfg->rand is required.
 * Returns 0 or -EINVAL. */
int rtmp_hs_server_init(struct rtmp_hs *hs, const struct rtmp_hs_config *cfg);

/* Prepare a client handshake; then call rtmp_hs_client_start().
 * Returns 0 or -EINVAL. */
int rtmp_hs_client_init(struct rtmp_hs *hs, const struct rtmp_hs_config *cfg);

/* Client: write C0+C1 (1537 bytes) into out (cap >= 1537). Returns the number
 * of bytes written, -ENOSPC, -RTMP_E_HS_STATE, or the rand callback's error. */
int rtmp_hs_client_start(struct rtmp_hs *hs, uint8_t *out, size_t cap);

/* Feed peer bytes. Consumes at most up to the end of the handshake and never
 * reads past len. Bytes to send, if any, are written to out (cap must be at
 * least RTMP_HS_OUT_MAX) and their count stored in *out_len (0 when there is
 * nothing to send). Returns the number of input bytes consumed (>= 0; all of
 * them unless the handshake completed inside in), or a negative error:
 * -RTMP_E_HS_VERSION, -RTMP_E_HS_DIGEST (strict only), -RTMP_E_HS_STATE
 * (already DONE/FAILED), -ENOSPC, -EINVAL, or the rand callback's error.
 * After an error the state is FAILED. Check rtmp_hs_done() after each call. */
int rtmp_hs_feed(struct rtmp_hs *hs, const uint8_t *in, size_t len,
		 uint8_t *out, size_t cap, size_t *out_len);

/* 1 when the handshake has completed, else 0. */
static inline int rtmp_hs_done(const struct rtmp_hs *hs)
{
	return hs->state == RTMP_HS_DONE;
}

/* Digest helpers, exported for tests and tools that build C1s by hand.
 * Offset of the 32-byte digest inside a 1536-byte C1/S1 for a scheme. */
uint32_t rtmp_hs_digest_offset(const uint8_t *c1, enum rtmp_hs_scheme scheme);

/* Compute the digest of a 1536-byte packet for a scheme: HMAC-SHA256 keyed
 * with key/klen over the packet with the 32 digest bytes left out. Writes 32
 * bytes to digest. Returns 0 or -EIO (crypto failure). */
int rtmp_hs_digest_calc(const uint8_t *pkt, enum rtmp_hs_scheme scheme,
			const uint8_t *key, size_t klen, uint8_t *digest);

/* Write the digest of pkt in place for a scheme. Returns 0 or -EIO. */
int rtmp_hs_digest_write(uint8_t *pkt, enum rtmp_hs_scheme scheme,
			 const uint8_t *key, size_t klen);

/* 1 when pkt carries a valid digest for scheme under key/klen, else 0. */
int rtmp_hs_digest_check(const uint8_t *pkt, enum rtmp_hs_scheme scheme,
			 const uint8_t *key, size_t klen);

/* The published keys. The partial keys (first 30 / 36 bytes, the ASCII
 * "Genuine Adobe ..." text) sign C1 and S1; the full ones (62 / 68 bytes)
 * derive the C2/S2 keys. */
#define RTMP_HS_FP_KEY_PARTIAL   30
#define RTMP_HS_FP_KEY_FULL      62
#define RTMP_HS_FMS_KEY_PARTIAL  36
#define RTMP_HS_FMS_KEY_FULL     68
extern const uint8_t rtmp_hs_fp_key[RTMP_HS_FP_KEY_FULL];
extern const uint8_t rtmp_hs_fms_key[RTMP_HS_FMS_KEY_FULL];

#endif
